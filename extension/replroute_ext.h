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
extern int	rr_contact_timeout_ms;
extern int	rr_sampler_interval_ms;

/* True in processes forked from a postmaster that preloaded replroute. */
extern bool rr_preloaded;

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
	TimestampTz upstream_contact;	/* newest real contact, 0 if none */
	bool		replay_paused;
	TimestampTz last_replay_time;
	TimestampTz now;
} RRNodeState;

/* node_state.c */
extern void rr_read_node_state(RRNodeState *st);
extern const char *rr_role_name(RRNodeRole role);

/*
 * shared_state.c: what this standby has learnt about its upstream, kept
 * across calls and processes.
 *
 * A proof (at, end) says that at time "at" (this server's clock) some WAL
 * position had not been passed yet, so WAL beyond a replay position r
 * appeared only after the "at" of the newest proof whose end is at or below
 * r.  Two kinds are kept, each in a ring ordered by both fields:
 *
 * - upstream proofs: the upstream's own WAL end, from its messages ("at
 *	 'at' the upstream's WAL ended at or before 'end'");
 * - delivery proofs: what the receiver had been given ("by 'at' nothing
 *	 beyond 'end' had been delivered here"), observed by callers; they bound
 *	 the lag net of delivery delay, so they count only while streaming.
 *
 * When a ring is full the proof whose loss costs the least precision
 * relative to its age is dropped, so a ring spans the server's uptime; the
 * oldest proof is never dropped.
 */
#define RR_PROOF_SLOTS		64

typedef struct RRProof
{
	TimestampTz at;
	XLogRecPtr	end;
} RRProof;

typedef struct RRProofRing
{
	int			n;
	RRProof		p[RR_PROOF_SLOTS];
} RRProofRing;

typedef struct RRSharedData
{
	uint64		version;		/* bumped by every store */
	TimestampTz last_contact;	/* newest real upstream message, 0 never */
	bool		have_transit;
	int64		min_transit;	/* smallest receipt - send time seen, usecs */
	RRProofRing upstream;
	RRProofRing delivered;
} RRSharedData;

extern void rr_shared_request(void);
extern void rr_shared_read(RRSharedData *out);
extern void rr_shared_write(const RRSharedData *in);
extern bool rr_proof_add(RRProofRing *ring, TimestampTz at, XLogRecPtr end);
extern TimestampTz rr_proof_before(const RRProofRing *ring, XLogRecPtr replayed);

/* sampler.c */
extern void rr_sampler_register(void);

#endif							/* REPLROUTE_EXT_H */
