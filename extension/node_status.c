/*-------------------------------------------------------------------------
 *
 * node_status.c
 *		SQL interface to a node's health: replroute.node_status() and
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
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "replroute_ext.h"

PG_FUNCTION_INFO_V1(replroute_node_status);
PG_FUNCTION_INFO_V1(replroute_is_routable);

#define NODE_STATUS_COLS	13

/*
 * replroute.node_status() returns record (13 OUT columns)
 *
 * One row describing this node.  Columns that only make sense on a standby
 * are NULL on a primary, as the SQL reference says.  Allocates the result
 * tuple in the caller's memory context.
 */
Datum
replroute_node_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[NODE_STATUS_COLS];
	bool		nulls[NODE_STATUS_COLS];
	RRNodeState st;
	bool		standby;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != NODE_STATUS_COLS)
		elog(ERROR, "replroute.node_status() has %d result columns, expected %d",
			 tupdesc->natts, NODE_STATUS_COLS);

	rr_read_node_state(&st);
	standby = (st.role != RR_NODE_PRIMARY);
	memset(nulls, 0, sizeof(nulls));

	/* role */
	values[i++] = CStringGetTextDatum(rr_role_name(st.role));
	/* system_identifier: shown as bigint, like pg_control_system() */
	values[i++] = Int64GetDatum((int64) st.system_identifier);
	/* timeline */
	values[i++] = Int32GetDatum((int32) st.timeline);
	/* wal_lsn */
	values[i++] = LSNGetDatum(st.wal_lsn);
	/* receive_lsn */
	nulls[i] = !standby || XLogRecPtrIsInvalid(st.receive_lsn);
	values[i++] = LSNGetDatum(st.receive_lsn);
	/* upstream_lsn */
	nulls[i] = !standby || XLogRecPtrIsInvalid(st.upstream_lsn);
	values[i++] = LSNGetDatum(st.upstream_lsn);
	/* lag_bytes; WAL positions stay far below 2^63 */
	values[i++] = Int64GetDatum((int64) st.lag_bytes);
	/* lag_seconds */
	nulls[i] = !st.lag_seconds_known && standby;
	values[i++] = Float8GetDatum(st.lag_seconds);
	/* streaming */
	nulls[i] = !standby;
	values[i++] = BoolGetDatum(st.streaming);
	/* upstream_contact_seconds */
	nulls[i] = !standby || st.upstream_contact == 0;
	values[i++] = Float8GetDatum(st.upstream_contact == 0 ||
								 st.now <= st.upstream_contact ? 0.0 :
								 (double) (st.now - st.upstream_contact) / USECS_PER_SEC);
	/* replay_paused */
	values[i++] = BoolGetDatum(st.replay_paused);
	/* last_replay_time */
	nulls[i] = !standby || st.last_replay_time == 0;
	values[i++] = TimestampTzGetDatum(st.last_replay_time);
	/* server_time */
	values[i++] = TimestampTzGetDatum(st.now);

	Assert(i == NODE_STATUS_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
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
