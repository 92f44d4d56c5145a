/*-------------------------------------------------------------------------
 *
 * sampler.c
 *		The optional "replroute sampler" background worker: when replroute
 *		is in shared_preload_libraries, it reads this node's state every
 *		replroute.sampler_interval, so that lag_seconds is precise to that
 *		interval however rarely anyone else asks (node_state.c records a
 *		proof on every read).
 *
 * Without preloading there is no sampler and the figure is as precise as
 * the interval between callers' node_status()/is_routable() calls (a
 * router's health checks usually make that 100 ms or less).
 *
 * IDENTIFICATION
 *		extension/sampler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#else
#include "pgstat.h"
#endif

#include "replroute_ext.h"

PGDLLEXPORT void replroute_sampler_main(Datum main_arg);

/*
 * rr_sampler_register
 *		Register the worker.  Called from _PG_init in the postmaster while
 *		shared_preload_libraries is processed.
 */
void
rr_sampler_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "replroute");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "replroute_sampler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "replroute sampler");
	snprintf(worker.bgw_type, BGW_MAXLEN, "replroute sampler");
	RegisterBackgroundWorker(&worker);
}

/*
 * replroute_sampler_main
 *		The worker's body: sample while in recovery, sleep otherwise.  Ends
 *		on SIGTERM; follows configuration reloads.  Needs no database.
 */
void
replroute_sampler_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	for (;;)
	{
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			proc_exit(0);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (rr_sampler_interval_ms > 0 && RecoveryInProgress())
		{
			RRNodeState st;

			rr_read_node_state(&st);
			sleep_ms = rr_sampler_interval_ms;
		}
		else
			sleep_ms = 1000;	/* a primary, or sampling off: look again later */

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
