/*-------------------------------------------------------------------------
 *
 * node_state.c
 *		Read this server's role, WAL positions and replay lag from shared
 *		memory: the one place where the extension computes a node's lag.
 *
 * lag_bytes is what this standby knows exists upstream but has not
 * replayed: greatest(received, upstream's reported end) - replayed.  A
 * lower bound: WAL the upstream wrote since its last message is unknown.
 *
 * lag_seconds is an upper bound on how long this standby has been missing
 * WAL its upstream had (README, "Lag"; SPEC 1.1.1).  WAL beyond the replay
 * position r appeared after each of these moments, so the figure is "now"
 * minus the latest of them that is known:
 *
 * - the newest upstream proof whose end is at or below r: a message from
 *	 the upstream said its WAL ended there (shared_state.c);
 * - while in contact only (receiver streaming, and a real message from the
 *	 upstream within replroute.contact_timeout): the newest delivery proof
 *	 at or below r (nothing beyond it had been delivered then, so what is
 *	 missing now is at most that old, net of delivery delay), and the
 *	 commit time of the last replayed transaction, moved onto this server's
 *	 clock by the smallest receipt-minus-send time seen (WAL beyond r was
 *	 written after that commit record).
 *
 * In contact with everything the upstream reported replayed, the figure is
 * 0; so it is when all that is left is the head of a record whose tail the
 * upstream has not flushed yet (a record crossing a page boundary, as a
 * read-only query's page pruning leaves in an idle cluster): nothing
 * complete is missing, and replay is only waiting, so the figure is 0 and
 * never a positive figure that merely rounds to it.  Cut off (not streaming, or silent for contact_timeout) only upstream
 * proofs count, so the figure grows with the time since the upstream last
 * showed it had nothing this standby lacks, whether or not the upstream is
 * still writing.  NULL when no proof exists at all.
 *
 * Every call also records what it sees as new proofs, so frequent callers
 * (a router's health checks, or the optional sampler) make the figure
 * precise to their interval.  Nothing here reads the WAL receiver's conninfo.
 *
 * IDENTIFICATION
 *		extension/node_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "access/xlog.h"
#include "access/xlog_internal.h"
#if PG_VERSION_NUM >= 150000
#include "access/xlogrecovery.h"
#endif
#include "access/xlogrecord.h"
#include "replication/walreceiver.h"
#include "storage/fd.h"
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
 * contact_timeout_us
 *		replroute.contact_timeout in microseconds (-1: wal_receiver_timeout;
 *		0 there means no timeout).
 */
static int64
contact_timeout_us(void)
{
	int			ms = rr_contact_timeout_ms >= 0 ? rr_contact_timeout_ms : wal_receiver_timeout;

	return ms > 0 ? (int64) ms * 1000 : PG_INT64_MAX;
}

/* Figures below this are not worth reading the WAL to refine. */
#define RR_TAIL_CHECK_US		50000

/*
 * wal_read
 *		Read len bytes of WAL at ptr from timeline tli's segment in pg_wal.
 *		Returns false if they cannot be read (no such file, short read).
 *
 * Opens and closes the segment file itself; raises no error.
 */
static bool
wal_read(TimeLineID tli, XLogRecPtr ptr, char *buf, int len)
{
	XLogSegNo	segno;
	char		path[MAXPGPATH];
	int			fd;
	ssize_t		got;

	XLByteToSeg(ptr, segno, wal_segment_size);
	if (XLogSegmentOffset(ptr, wal_segment_size) + len > wal_segment_size)
		return false;
	snprintf(path, sizeof(path), XLOGDIR "/%08X%08X%08X", tli,
			 (uint32) (segno / XLogSegmentsPerXLogId(wal_segment_size)),
			 (uint32) (segno % XLogSegmentsPerXLogId(wal_segment_size)));
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	got = pg_pread(fd, buf, len, XLogSegmentOffset(ptr, wal_segment_size));
	CloseTransientFile(fd);
	return got == len;
}

/*
 * record_incomplete
 *		True if the record that starts at "start" (the end of the last
 *		replayed record) does not end within the "received" bytes of WAL
 *		the receiver has flushed on timeline tli.  False when in doubt.
 */
static bool
record_incomplete(XLogRecPtr start, XLogRecPtr received, TimeLineID tli)
{
	XLogRecPtr	pos = start;
	uint32		tot_len;
	uint64		left;

	if (pos % XLOG_BLCKSZ == 0)
	{
		XLogPageHeaderData hdr;

		/* the record starts after this page's header */
		if (!wal_read(tli, pos, (char *) &hdr, sizeof(hdr)))
			return false;
		pos += XLogPageHeaderSize(&hdr);
	}
	if (pos + sizeof(tot_len) > received ||
		!wal_read(tli, pos, (char *) &tot_len, sizeof(tot_len)) ||
		tot_len < SizeOfXLogRecord)
		return false;

	/* walk over the pages the record spans, skipping their headers */
	left = tot_len;
	for (;;)
	{
		uint64		room = XLOG_BLCKSZ - pos % XLOG_BLCKSZ;

		if (left <= room)
			return pos + left > received;
		left -= room;
		pos += room;
		if (pos >= received)
			return true;
		pos += (XLogSegmentOffset(pos, wal_segment_size) == 0) ?
			SizeOfXLogLongPHD : SizeOfXLogShortPHD;
	}
}

/*
 * rr_read_node_state
 *		Fill *st with this node's current facts.
 *
 * Takes the WAL receiver's spinlock and replroute's own only to copy a few
 * fields, and nothing else happens while either is held.  Allocates
 * nothing.  Never fails because of the node's role; may raise an ERROR only
 * if replroute's shared struct cannot be created (shared_state.c).
 */
void
rr_read_node_state(RRNodeState *st)
{
	WalRcvData *walrcv = WalRcv;
	WalRcvState rcv_state;
	bool		rcv_connected;
	XLogRecPtr	received;
	XLogRecPtr	upstream;
	XLogRecPtr	known_end;
	TimeLineID	received_tli;
	TimestampTz last_send;
	TimestampTz last_receipt;
	TimestampTz xtime;
	TimestampTz observed;
	TimestampTz bound;
	RRSharedData d;
	bool		changed = false;
	bool		heard;
	bool		in_contact;

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
		st->lag_seconds_known = true;
		st->now = GetCurrentTimestamp();
		return;
	}

	st->role = PromoteIsTriggered() ? RR_NODE_PROMOTING : RR_NODE_STANDBY;

	/*
	 * Read in this order: the last commit time, the replay position, the
	 * time, then the receiver.  Each only moves forward, so a race can only
	 * make the figure larger: the commit time belongs to a record at or
	 * before the replay position, and the receiver's positions were reached
	 * no earlier than "observed".
	 */
	xtime = GetLatestXTime();
	st->wal_lsn = GetXLogReplayRecPtr(&st->timeline);
	observed = GetCurrentTimestamp();

	SpinLockAcquire(&walrcv->mutex);
	rcv_state = walrcv->walRcvState;
	rcv_connected = walrcv->ready_to_display;
	received = walrcv->flushedUpto;
	received_tli = walrcv->receivedTLI;
	upstream = walrcv->latestWalEnd;
	last_send = walrcv->lastMsgSendTime;
	last_receipt = walrcv->lastMsgReceiptTime;
	SpinLockRelease(&walrcv->mutex);

	st->now = GetCurrentTimestamp();
	st->replay_paused = rr_replay_paused();
	st->last_replay_time = xtime;
	st->receive_lsn = received;
	st->upstream_lsn = upstream;

	/*
	 * The receiver sets ready_to_display once its connection is established
	 * and clears it when it exits; before PostgreSQL 19 its state stays
	 * STREAMING while it is still trying to connect, so both are needed.
	 * 19 reports that phase as WALRCV_CONNECTING, which this test already
	 * counts as not streaming: no version guard is needed.
	 */
	st->streaming = (rcv_state == WALRCV_STREAMING && rcv_connected);

	known_end = Max(received, upstream);
	st->lag_bytes = (known_end > st->wal_lsn) ? known_end - st->wal_lsn : 0;

	rr_shared_read(&d);

	/*
	 * A message from the upstream.  Each receiver start sets both message
	 * times to its start time, which is no contact at all; a real message
	 * has its send time from the upstream's clock, so the two differ.
	 */
	heard = (last_receipt != 0 && last_send != last_receipt);
	if (heard && last_receipt > d.last_contact)
	{
		int64		transit = last_receipt - last_send;
		TimestampTz at;

		if (!d.have_transit || transit < d.min_transit)
		{
			d.min_transit = transit;
			d.have_transit = true;
		}
		d.last_contact = last_receipt;
		/* when the message left, on our clock, as late as can be */
		at = Min(last_receipt, last_send + d.min_transit);
		(void) rr_proof_add(&d.upstream, at, known_end);
		changed = true;
	}
	st->upstream_contact = d.last_contact;

	/*
	 * In contact only once this receiver has heard from its upstream: a
	 * receiver that has just (re)connected still holds the positions of
	 * before, and until the upstream's first message nothing says that they
	 * are still its end (a standby reconnecting after a cut would otherwise
	 * look caught up for that moment, its old contact still recent).
	 */
	in_contact = st->streaming && heard && d.last_contact != 0 &&
		st->now - d.last_contact <= contact_timeout_us();

	if (in_contact && !XLogRecPtrIsInvalid(received))
		changed |= rr_proof_add(&d.delivered, observed, received);

	if (in_contact && st->wal_lsn >= known_end)
	{
		st->lag_seconds_known = true;
		st->lag_seconds = 0.0;
	}
	else
	{
		bound = rr_proof_before(&d.upstream, st->wal_lsn);
		if (in_contact)
		{
			bound = Max(bound, rr_proof_before(&d.delivered, st->wal_lsn));
			if (xtime != 0 && d.have_transit)
				bound = Max(bound, Min(xtime + d.min_transit, st->now));
		}
		st->lag_seconds_known = (bound != 0);
		/* 0 is kept for "caught up": a positive figure never rounds to it */
		st->lag_seconds = Max(st->now - bound, 1) / (double) USECS_PER_SEC;

		if (in_contact && upstream <= received && st->wal_lsn < received &&
			(bound == 0 || st->now - bound > RR_TAIL_CHECK_US) &&
			record_incomplete(st->wal_lsn, received, received_tli))
		{
			st->lag_seconds_known = true;
			st->lag_seconds = 0.0;
		}
	}

	if (changed)
		rr_shared_write(&d);
}
