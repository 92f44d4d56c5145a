/*-------------------------------------------------------------------------
 *
 * wait_for_lsn.c
 *		CALL replroute.wait_for_lsn(target, timeout_ms): wait, without a
 *		snapshot, until this standby has replayed a WAL position.
 *
 * A session that waits for replay while holding a snapshot can conflict
 * with the very WAL it waits for (a cleanup record removing rows its
 * snapshot can still see): replay then stalls for
 * max_standby_streaming_delay and cancels the waiter.  So this is a
 * procedure, run by a top-level CALL outside a transaction block, which
 * ends its transaction before waiting (SPI_commit(), as a procedure's
 * COMMIT does): the wait runs with no snapshot, no xmin and no locks.
 *
 * A target already replayed answers at once, without ending anything.
 * Before PostgreSQL 19 there is no replay wake-up an extension could hook,
 * so we poll: every 100 us for the first 10 ms (replay usually catches up
 * in well under that), then backing off to 5 ms latch waits.
 * On 19 the wait is core's own (WaitForLSN(), what WAIT FOR LSN runs),
 * woken by replay itself; its results map one to one onto ours.
 *
 * IDENTIFICATION
 *		extension/wait_for_lsn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#if PG_VERSION_NUM >= 150000
#include "access/xlogrecovery.h"
#endif
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 140000
#include "utils/wait_event.h"
#else
#include "pgstat.h"			/* PG_WAIT_EXTENSION before 14 */
#endif

#if PG_VERSION_NUM >= 190000
#include "access/xlogwait.h"
#endif

#include "replroute_ext.h"

PG_FUNCTION_INFO_V1(replroute_wait_for_lsn);

/*
 * Poll every 100 us for the first 10 ms (replay usually catches up in well
 * under that, and a doubling sleep would overshoot by as much as it waited
 * so far), then back off to 5 ms.
 */
#define WAIT_FIRST_SLEEP_US		100
#define WAIT_FAST_FOR_US		10000
#define WAIT_MAX_SLEEP_US		5000

/*
 * rr_holds_snapshot
 *		True if this backend still has an active or registered snapshot.
 */
static bool
rr_holds_snapshot(void)
{
#if PG_VERSION_NUM >= 150000
	return HaveRegisteredOrActiveSnapshot();
#else
	return GetOldestSnapshot() != NULL;
#endif
}

/*
 * rr_check_call_context
 *		Raise an error unless we were run by a top-level CALL outside any
 *		transaction block, the only place where it may end its transaction.
 */
static void
rr_check_call_context(FunctionCallInfo fcinfo)
{
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("replroute.wait_for_lsn() cannot run inside a transaction block"),
				 errdetail("A transaction block keeps its snapshot and locks while it waits, which can hold back the replay it waits for."),
				 errhint("Call it with CALL outside BEGIN ... COMMIT, then start the transaction.")));

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic ||
		SPI_inside_nonatomic_context())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("replroute.wait_for_lsn() must be run by a top-level CALL"),
				 errdetail("Called from a function, procedure or DO block, it cannot end the caller's transaction to drop its snapshot.")));
}

/*
 * rr_wait_for_replay
 *		Poll until target is replayed, recovery ends or timeout_ms passes.
 *		Returns the status text (a constant string).
 *
 * Must be called without a snapshot.  Checks for interrupts, so cancel and
 * statement_timeout end the wait with an ERROR.
 */
static const char *
rr_wait_for_replay(XLogRecPtr target, int32 timeout_ms)
{
	TimestampTz deadline;
	TimestampTz fast_until;
	long		sleep_us = WAIT_FIRST_SLEEP_US;

#if PG_VERSION_NUM >= 190000
	/* core's wait; 0 means "forever" there and "look once" here */
	if (timeout_ms > 0)
	{
		switch (WaitForLSN(WAIT_LSN_TYPE_STANDBY_REPLAY, target, timeout_ms))
		{
			case WAIT_LSN_RESULT_SUCCESS:
				return "success";
			case WAIT_LSN_RESULT_NOT_IN_RECOVERY:
				return GetXLogReplayRecPtr(NULL) >= target ? "success" : "not in recovery";
			case WAIT_LSN_RESULT_TIMEOUT:
				return "timeout";
		}
	}
#endif

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	fast_until = GetCurrentTimestamp() + WAIT_FAST_FOR_US;

	for (;;)
	{
		TimestampTz now;
		long		remaining_ms;

		if (GetXLogReplayRecPtr(NULL) >= target)
			return "success";

		if (!RecoveryInProgress())
		{
			/* promoted meanwhile: the target may have been reached first */
			return GetXLogReplayRecPtr(NULL) >= target ? "success" : "not in recovery";
		}

		now = GetCurrentTimestamp();
		if (now >= deadline)
			return "timeout";
		remaining_ms = (long) ((deadline - now + 999) / 1000);

		if (sleep_us < 1000)
		{
			/* a signal (cancel, termination) ends the sleep early */
			pg_usleep(Min(sleep_us, (long) (deadline - now)));
		}
		else
		{
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(sleep_us / 1000, remaining_ms),
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();

		if (now >= fast_until)
			sleep_us = Min(Max(sleep_us * 2, 1000), WAIT_MAX_SLEEP_US);
	}
}

/*
 * CALL replroute.wait_for_lsn(target pg_lsn, timeout_ms integer DEFAULT 1000,
 *							   INOUT status text DEFAULT NULL)
 *
 * Returns a one-column row: 'success', 'timeout' or 'not in recovery'.
 * The incoming status value is ignored.  On a standby it ends the CALL's
 * transaction before waiting.
 */
Datum
replroute_wait_for_lsn(PG_FUNCTION_ARGS)
{
	XLogRecPtr	target;
	int32		timeout_ms;
	const char *status;
	TupleDesc	tupdesc;
	Datum		values[1];
	bool		nulls[1] = {false};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("\"target\" must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("\"timeout_ms\" must not be null")));
	target = PG_GETARG_LSN(0);
	timeout_ms = PG_GETARG_INT32(1);
	if (timeout_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"timeout_ms\" must not be negative"),
				 errdetail("The value given was %d.", timeout_ms)));

	rr_check_call_context(fcinfo);

	if (!RecoveryInProgress())
	{
		/*
		 * A primary has nothing to wait for.  A just-promoted standby may
		 * already have replayed the target, as in core's WAIT FOR LSN.
		 */
		status = (PromoteIsTriggered() && GetXLogReplayRecPtr(NULL) >= target) ?
			"success" : "not in recovery";
	}
	else if (GetXLogReplayRecPtr(NULL) >= target)
	{
		/* already there: nothing to wait for, so no transaction to end */
		status = "success";
	}
	else
	{
		/*
		 * End the CALL's transaction, as a procedure's COMMIT does: that
		 * releases the statement's snapshots (including the one the portal
		 * holds for our result row), our xmin and any locks.  The waiting
		 * happens in a fresh transaction that takes no snapshot.  A standby
		 * runs no writes, so nothing of the caller's is committed early.
		 */
		SPI_connect_ext(SPI_OPT_NONATOMIC);
		SPI_commit();
		if (rr_holds_snapshot())
			elog(ERROR, "replroute.wait_for_lsn() still holds a snapshot after ending its transaction");

		status = rr_wait_for_replay(target, timeout_ms);
		SPI_finish();
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE ||
		tupdesc->natts != 1)
		elog(ERROR, "replroute.wait_for_lsn() must return a single INOUT column");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(status);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
