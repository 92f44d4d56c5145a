/*-------------------------------------------------------------------------
 *
 * replroute.c
 *		Module entry point and the replroute.* settings.
 *
 * IDENTIFICATION
 *		extension/replroute.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "replroute_ext.h"

PG_MODULE_MAGIC;

/* replroute.max_lag_bytes: default limit for is_routable(), in bytes */
int			rr_max_lag_bytes = 16 * 1024 * 1024;

/* replroute.max_lag_seconds: default limit for is_routable(), in seconds */
double		rr_max_lag_seconds = 1.0;

/* replroute.contact_timeout: silence after which a standby is cut off, ms */
int			rr_contact_timeout_ms = -1;

/* replroute.sampler_interval: the preloaded sampler's period, ms */
int			rr_sampler_interval_ms = 10;

/* replroute was loaded by shared_preload_libraries (inherited by children) */
bool		rr_preloaded = false;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the settings.  Runs when a backend first calls one of our
 *		functions; a value set earlier (postgresql.conf, SET) is validated
 *		then.  When loaded by shared_preload_libraries, also reserves the
 *		shared struct at server start and registers the sampler.
 */
void
_PG_init(void)
{
	if (process_shared_preload_libraries_in_progress)
	{
		rr_preloaded = true;
		rr_shared_request();
	}

	DefineCustomIntVariable("replroute.max_lag_bytes",
							"Replay lag, in bytes, above which replroute.is_routable() reports a standby as not routable.",
							"Used when is_routable() is called with a NULL max_lag_bytes.",
							&rr_max_lag_bytes,
							16 * 1024 * 1024,
							0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomRealVariable("replroute.max_lag_seconds",
							 "Replay lag, in seconds, above which replroute.is_routable() reports a standby as not routable.",
							 "Used when is_routable() is called with a NULL max_lag_seconds.",
							 &rr_max_lag_seconds,
							 1.0,
							 0.0, 1e9,
							 PGC_USERSET,
							 GUC_UNIT_S,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("replroute.contact_timeout",
							"Silence from the upstream after which a standby counts as cut off.",
							"Once cut off, lag_seconds counts the time since the upstream last "
							"showed it had nothing this standby lacks. -1 uses wal_receiver_timeout.",
							&rr_contact_timeout_ms,
							-1,
							-1, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("replroute.sampler_interval",
							"How often the replroute sampler reads this standby's state.",
							"Only with replroute in shared_preload_libraries; 0 stops sampling.",
							&rr_sampler_interval_ms,
							10,
							0, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	if (process_shared_preload_libraries_in_progress)
		rr_sampler_register();

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("replroute");
#else
	EmitWarningsOnPlaceholders("replroute");
#endif
}
