/*-------------------------------------------------------------------------
 *
 * node_status.c
 *		SQL interface to a node's health: replroute.node_status(),
 *		replroute.probe() (its compact twin for routers, in one line; 1.1)
 *		and
 *		replroute.is_routable().
 *
 * IDENTIFICATION
 *		extension/node_status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "replroute_ext.h"

PG_FUNCTION_INFO_V1(replroute_node_status);
PG_FUNCTION_INFO_V1(replroute_probe);
PG_FUNCTION_INFO_V1(replroute_is_routable);

/* What a column of node_status() shows. */
typedef enum RRColumn
{
	COL_ROLE,
	COL_SYSTEM_IDENTIFIER,
	COL_TIMELINE,
	COL_WAL_LSN,
	COL_RECEIVE_LSN,
	COL_UPSTREAM_LSN,
	COL_LAG_BYTES,
	COL_LAG_SECONDS,
	COL_STREAMING,
	COL_UPSTREAM_CONTACT,
	COL_REPLAY_PAUSED,
	COL_LAST_REPLAY_TIME,
	COL_SERVER_TIME
} RRColumn;

/* node_status()'s OUT columns, in order */
static const RRColumn node_status_columns[] = {
	COL_ROLE, COL_SYSTEM_IDENTIFIER, COL_TIMELINE, COL_WAL_LSN, COL_RECEIVE_LSN,
	COL_UPSTREAM_LSN, COL_LAG_BYTES, COL_LAG_SECONDS, COL_STREAMING,
	COL_UPSTREAM_CONTACT, COL_REPLAY_PAUSED, COL_LAST_REPLAY_TIME, COL_SERVER_TIME
};

/*
 * fill_columns
 *		Set values[]/nulls[] for the n columns cols[] from *st.  Columns that
 *		only make sense on a standby are NULL on a primary, as the SQL
 *		reference says.  Allocates the text of role in the current context.
 */
static void
fill_columns(const RRNodeState *st, const RRColumn *cols, int n,
			 Datum *values, bool *nulls)
{
	bool		standby = (st->role != RR_NODE_PRIMARY);
	int			i;

	for (i = 0; i < n; i++)
	{
		nulls[i] = false;
		switch (cols[i])
		{
			case COL_ROLE:
				values[i] = CStringGetTextDatum(rr_role_name(st->role));
				break;
			case COL_SYSTEM_IDENTIFIER:
				/* shown as bigint, like pg_control_system() */
				values[i] = Int64GetDatum((int64) st->system_identifier);
				break;
			case COL_TIMELINE:
				values[i] = Int32GetDatum((int32) st->timeline);
				break;
			case COL_WAL_LSN:
				values[i] = LSNGetDatum(st->wal_lsn);
				break;
			case COL_RECEIVE_LSN:
				nulls[i] = !standby || XLogRecPtrIsInvalid(st->receive_lsn);
				values[i] = LSNGetDatum(st->receive_lsn);
				break;
			case COL_UPSTREAM_LSN:
				nulls[i] = !standby || XLogRecPtrIsInvalid(st->upstream_lsn);
				values[i] = LSNGetDatum(st->upstream_lsn);
				break;
			case COL_LAG_BYTES:
				/* WAL positions stay far below 2^63 */
				values[i] = Int64GetDatum((int64) st->lag_bytes);
				break;
			case COL_LAG_SECONDS:
				nulls[i] = !st->lag_seconds_known && standby;
				values[i] = Float8GetDatum(st->lag_seconds);
				break;
			case COL_STREAMING:
				nulls[i] = !standby;
				values[i] = BoolGetDatum(st->streaming);
				break;
			case COL_UPSTREAM_CONTACT:
				nulls[i] = !standby || st->upstream_contact == 0;
				values[i] = Float8GetDatum(st->upstream_contact == 0 ||
										   st->now <= st->upstream_contact ? 0.0 :
										   (double) (st->now - st->upstream_contact) / USECS_PER_SEC);
				break;
			case COL_REPLAY_PAUSED:
				values[i] = BoolGetDatum(st->replay_paused);
				break;
			case COL_LAST_REPLAY_TIME:
				nulls[i] = !standby || st->last_replay_time == 0;
				values[i] = TimestampTzGetDatum(st->last_replay_time);
				break;
			case COL_SERVER_TIME:
				values[i] = TimestampTzGetDatum(st->now);
				break;
		}
	}
}

/*
 * replroute.node_status() returns record (13 OUT columns)
 *
 * One row describing this node.  The row's shape comes from the function's
 * OUT parameters; it is built once per backend and function (a new OID after
 * DROP/CREATE builds it again) and kept blessed in TopMemoryContext.
 * Allocates the result tuple in the caller's memory context.
 */
Datum
replroute_node_status(PG_FUNCTION_ARGS)
{
	static Oid	cached_fn = InvalidOid;
	static TupleDesc cached_tupdesc = NULL;
	Datum		values[lengthof(node_status_columns)];
	bool		nulls[lengthof(node_status_columns)];
	RRNodeState st;

	if (cached_fn != fcinfo->flinfo->fn_oid)
	{
		TupleDesc	tupdesc;
		MemoryContext oldcxt;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		if (tupdesc->natts != lengthof(node_status_columns))
			elog(ERROR, "replroute.node_status() has %d result columns, expected %d",
				 tupdesc->natts, (int) lengthof(node_status_columns));
		oldcxt = MemoryContextSwitchTo(TopMemoryContext);
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(oldcxt);
		if (cached_tupdesc)
			FreeTupleDesc(cached_tupdesc);
		cached_tupdesc = tupdesc;
		cached_fn = fcinfo->flinfo->fn_oid;
	}

	rr_read_node_state(&st);
	fill_columns(&st, node_status_columns, lengthof(node_status_columns), values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cached_tupdesc, values, nulls)));
}

/*
 * replroute.probe() returns text
 *
 * node_status()'s facts that a router reads, in one line (see
 * replroute--1.0--1.1.sql for the format).  Formatting happens here, in one
 * snprintf: a backend's LC_NUMERIC is always C.  Allocates the result in the
 * caller's memory context.
 */
Datum
replroute_probe(PG_FUNCTION_ARGS)
{
	RRNodeState st;
	bool		standby;
	char		buf[256];
	char		receive[32] = "-";
	char		upstream[32] = "-";
	char		lag[32] = "-";

	rr_read_node_state(&st);
	standby = (st.role != RR_NODE_PRIMARY);
	if (standby && !XLogRecPtrIsInvalid(st.receive_lsn))
		snprintf(receive, sizeof(receive), "%X/%X", LSN_FORMAT_ARGS(st.receive_lsn));
	if (standby && !XLogRecPtrIsInvalid(st.upstream_lsn))
		snprintf(upstream, sizeof(upstream), "%X/%X", LSN_FORMAT_ARGS(st.upstream_lsn));
	if (st.lag_seconds_known || !standby)
		snprintf(lag, sizeof(lag), "%.6f", st.lag_seconds);
	snprintf(buf, sizeof(buf), "1 %s " INT64_FORMAT " %u %X/%X %s %s " INT64_FORMAT " %s %s %s",
			 rr_role_name(st.role), (int64) st.system_identifier, st.timeline,
			 LSN_FORMAT_ARGS(st.wal_lsn), receive, upstream, (int64) st.lag_bytes, lag,
			 standby ? (st.streaming ? "t" : "f") : "-",
			 st.replay_paused ? "t" : "f");
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

/*
 * replroute.is_routable(max_lag_bytes bigint DEFAULT NULL,
 *						 max_lag_seconds double precision DEFAULT NULL)
 *		returns boolean
 *
 * True on a primary; on a standby, true when both lags are within the
 * limits.  A NULL limit takes the matching replroute.* setting.  A standby
 * whose time lag cannot be known yet is not routable.
 */
Datum
replroute_is_routable(PG_FUNCTION_ARGS)
{
	int64		max_bytes;
	double		max_seconds;
	RRNodeState st;

	max_bytes = PG_ARGISNULL(0) ? (int64) rr_max_lag_bytes : PG_GETARG_INT64(0);
	max_seconds = PG_ARGISNULL(1) ? rr_max_lag_seconds : PG_GETARG_FLOAT8(1);

	if (max_bytes < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"max_lag_bytes\" must not be negative"),
				 errdetail("The value given was " INT64_FORMAT ".", max_bytes)));
	if (isnan(max_seconds))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"max_lag_seconds\" must be a number, not NaN")));
	if (max_seconds < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"max_lag_seconds\" must not be negative"),
				 errdetail("The value given was %g.", max_seconds)));

	rr_read_node_state(&st);

	if (st.role == RR_NODE_PRIMARY)
		PG_RETURN_BOOL(true);

	PG_RETURN_BOOL(st.lag_bytes <= (uint64) max_bytes &&
				   st.lag_seconds_known &&
				   st.lag_seconds <= max_seconds);
}
