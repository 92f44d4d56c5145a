/*-------------------------------------------------------------------------
 *
 * node_state.c
 *		Read this server's role, WAL positions and replay lag from shared
 *		memory: the one place where replroute computes a node's lag.
 *
 * Lag semantics (see README.md, "Lag"):
 *
 * - lag_bytes is what this standby knows exists upstream but has not
 *	 replayed: greatest(received, upstream's reported end) - replayed.
 * - lag_seconds is 0 when every received byte is replayed; otherwise it is
 *	 the time since the oldest received-but-unreplayed WAL arrived, on this
 *	 server's clock.  The startup process records that arrival time
 *	 ("current chunk replay start time") whenever it finds fresh WAL after
 *	 having replayed everything before it, which is the same figure core
 *	 uses for max_standby_streaming_delay and in GetReplicationApplyDelay();
 *	 we also remember when a caller last saw the standby caught up
 *	 (shared_memo.c) and count from the later of the two.  An idle primary
 *	 therefore never shows as lag, unlike
 *	 now() - pg_last_xact_replay_timestamp().
 *
 * Nothing here reads the WAL receiver's conninfo or primary_conninfo.
 *
 * IDENTIFICATION
 *		extension/node_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#if PG_VERSION_NUM >= 150000
#include "access/xlogrecovery.h"
#endif
#include "replication/walreceiver.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "replroute_ext.h"

/*
 * rr_role_name
 *		The text node_status() shows for a role.  Returns a constant string.
 */
const char *
rr_role_name(RRNodeRole role)
{
	switch (role)
	{
		case RR_NODE_PRIMARY:
			return "primary";
		case RR_NODE_STANDBY:
			return "standby";
		case RR_NODE_PROMOTING:
			return "promoting";
	}
	return "unknown";			/* keep compiler quiet */
}

/*
 * rr_replay_paused
 *		True if replay is paused or a pause has been requested.
 */
static bool
rr_replay_paused(void)
{
#if PG_VERSION_NUM >= 140000
	return GetRecoveryPauseState() != RECOVERY_NOT_PAUSED;
#else
	return RecoveryIsPaused();
#endif
}

/*
 * rr_read_node_state
 *		Fill *st with this node's current facts.
 *
 * Takes the WAL receiver's spinlock only to copy the few fields needed, and
 * nothing else happens while it is held.  Allocates nothing.  Never fails
 * because of the node's role.
 */
void
rr_read_node_state(RRNodeState *st)
{
	WalRcvData *walrcv = WalRcv;
	WalRcvState rcv_state;
	bool		rcv_connected;
	XLogRecPtr	received;
	XLogRecPtr	upstream;
	TimestampTz last_send_time;
	TimestampTz last_receipt_time;
	TimestampTz chunk_start;

	memset(st, 0, sizeof(*st));
	st->system_identifier = GetSystemIdentifier();

	if (!RecoveryInProgress())
	{
		st->role = RR_NODE_PRIMARY;
#if PG_VERSION_NUM >= 150000
		st->wal_lsn = GetFlushRecPtr(&st->timeline);
#else
		/* RecoveryInProgress() returning false has set ThisTimeLineID */
		st->wal_lsn = GetFlushRecPtr();
		st->timeline = ThisTimeLineID;
#endif
		st->now = GetCurrentTimestamp();
		return;
	}

	st->role = PromoteIsTriggered() ? RR_NODE_PROMOTING : RR_NODE_STANDBY;

	/*
	 * Read the replay position before the receive position: both only move
	 * forward, so any race can only overstate the lag, never hide it.
	 */
	st->wal_lsn = GetXLogReplayRecPtr(&st->timeline);
	chunk_start = GetCurrentChunkReplayStartTime();

	SpinLockAcquire(&walrcv->mutex);
	rcv_state = walrcv->walRcvState;
	rcv_connected = walrcv->ready_to_display;
	received = walrcv->flushedUpto;
	upstream = walrcv->latestWalEnd;
	last_send_time = walrcv->lastMsgSendTime;
	last_receipt_time = walrcv->lastMsgReceiptTime;
	SpinLockRelease(&walrcv->mutex);

	st->now = GetCurrentTimestamp();
	st->replay_paused = rr_replay_paused();
	st->last_replay_time = GetLatestXTime();
	st->receive_lsn = received;
	st->upstream_lsn = upstream;

	/*
	 * The receiver sets ready_to_display once its connection is established
	 * and clears it when it exits; its state stays STREAMING while it is
	 * still trying to connect, so both are needed.
	 */
	st->streaming = (rcv_state == WALRCV_STREAMING && rcv_connected);

	/* lag_bytes: known-to-exist WAL not yet replayed */
	{
		XLogRecPtr	known_end = Max(received, upstream);

		st->lag_bytes = (known_end > st->wal_lsn) ? known_end - st->wal_lsn : 0;
	}

	/*
	 * lag_seconds: age of the oldest received but unreplayed WAL.  It
	 * arrived after the startup process last found fresh WAL with everything
	 * before replayed (chunk_start), and after the last time a caller saw
	 * this standby caught up (see shared_memo.c): take the later of the two.
	 */
	if (XLogRecPtrIsInvalid(received) || st->wal_lsn >= received)
	{
		st->lag_seconds_known = true;
		st->lag_seconds = 0.0;
		(void) rr_memo_caught_up(st->now);
	}
	else
	{
		TimestampTz since = Max(chunk_start, rr_memo_caught_up(0));

		/* unknown only before anything was ever seen caught up */
		st->lag_seconds_known = (since != 0);
		st->lag_seconds = (since != 0 && st->now > since) ?
			(double) (st->now - since) / USECS_PER_SEC : 0.0;
	}

	/*
	 * Upstream contact.  Each WAL receiver start resets lastMsgReceiptTime
	 * (and lastMsgSendTime) to its start time, and the startup process
	 * restarts the receiver every wal_retrieve_retry_interval while the
	 * upstream is unreachable, so the shared value alone would make a dead
	 * upstream look freshly contacted.  A receipt time is a real contact
	 * only if the receiver is connected, or if a message arrived since the
	 * reset (the upstream's send time then differs from our receipt time).
	 * Real contacts are remembered across receiver restarts.
	 */
	if (last_receipt_time != 0 &&
		(rcv_connected || last_send_time != last_receipt_time))
		st->upstream_contact = rr_memo_upstream_contact(last_receipt_time);
	else
		st->upstream_contact = rr_memo_upstream_contact(0);
}
