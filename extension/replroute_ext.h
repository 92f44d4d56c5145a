/*-------------------------------------------------------------------------
 *
 * replroute_ext.h
 *		Declarations shared by the replroute extension's source files.
 *
 * IDENTIFICATION
 *		extension/replroute_ext.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef REPLROUTE_EXT_H
#define REPLROUTE_EXT_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

/* Settings (replroute.c) */
extern int	rr_max_lag_bytes;
extern double rr_max_lag_seconds;

typedef enum RRNodeRole
{
	RR_NODE_PRIMARY,
	RR_NODE_STANDBY,
	RR_NODE_PROMOTING
} RRNodeRole;

/*
 * Everything node_status() reports, read once from shared memory.
 * Timestamps are 0 and LSNs InvalidXLogRecPtr where the value is unknown.
 */
typedef struct RRNodeState
{
	RRNodeRole	role;
	uint64		system_identifier;
	TimeLineID	timeline;
	XLogRecPtr	wal_lsn;
	XLogRecPtr	receive_lsn;
	XLogRecPtr	upstream_lsn;
	uint64		lag_bytes;
	bool		lag_seconds_known;
	double		lag_seconds;
	bool		streaming;
	TimestampTz upstream_contact;
	bool		replay_paused;
	TimestampTz last_replay_time;
	TimestampTz now;
} RRNodeState;

/* node_state.c */
extern void rr_read_node_state(RRNodeState *st);
extern const char *rr_role_name(RRNodeRole role);

/* shared_memo.c */
extern TimestampTz rr_memo_upstream_contact(TimestampTz seen);
extern TimestampTz rr_memo_caught_up(TimestampTz seen);

#endif							/* REPLROUTE_EXT_H */
