/*-------------------------------------------------------------------------
 *
 * rr_lag.c
 *		How far behind the primary a standby is, measured on the client's
 *		own clock: the one place the client computes lag.
 *
 * Every health round that reaches the primary records (now, primary's
 * wal_lsn) when that position moved.  A standby that has replayed up to R
 * is missing the WAL the primary had at the earliest recorded moment whose
 * position is beyond R, so its lag in seconds is the time since then, and 0
 * if it has everything the primary had at the last round.  Only our clock
 * is involved: no clock skew between servers, and an idle primary (whose
 * position does not move) never makes a caught-up standby look late.
 *
 * The history only means something while we keep watching: if the primary
 * was not observed for a while (the application made no calls), a standby
 * may have fallen behind at any moment of that gap.  So the history is
 * dropped after a gap, and a standby behind even the oldest sample is
 * reported as "not exact": the caller then takes the standby's own figure
 * (measured on its own clock) if that is larger.
 *
 * Lag in bytes is simply primary wal_lsn - standby wal_lsn (rr_route.c).
 *
 *-------------------------------------------------------------------------
 */
#include "rr_int.h"

/*
 * rr_lag_forget
 *		Drop the samples (the primary changed).
 */
void
rr_lag_forget(RRcluster *rr)
{
	rr->history_len = 0;
	rr->history_start = 0;
	rr->history_primary = -1;
	rr->history_timeline = 0;
}

/*
 * rr_lag_record_primary
 *		Remember that the primary (node index, timeline) was at lsn at time
 *		at_us.  Only moves forward are recorded; the oldest sample goes when
 *		the ring is full.
 */
void
rr_lag_record_primary(RRcluster *rr, int primary, int timeline,
					  uint64_t lsn, int64_t at_us)
{
	int			last;
	int64_t		max_gap = 2 * rr->opts.check_interval_us + 50 * 1000;

	if (rr->history_primary != primary || rr->history_timeline != timeline ||
		at_us - rr->history_seen_us > max_gap)
	{
		rr_lag_forget(rr);
		rr->history_primary = primary;
		rr->history_timeline = timeline;
	}
	rr->history_seen_us = at_us;
	if (rr->history_len > 0)
	{
		last = (rr->history_start + rr->history_len - 1) % RR_LSN_HISTORY;
		if (lsn <= rr->history[last].lsn)
			return;
	}
	if (rr->history_len == RR_LSN_HISTORY)
	{
		rr->history_start = (rr->history_start + 1) % RR_LSN_HISTORY;
		rr->history_len--;
	}
	last = (rr->history_start + rr->history_len) % RR_LSN_HISTORY;
	rr->history[last].at_us = at_us;
	rr->history[last].lsn = lsn;
	rr->history_len++;
}

/*
 * rr_lag_seconds_behind
 *		Seconds a standby that replayed up to "replayed" has been missing WAL
 *		the primary had.  0 when it has all the primary had at the last
 *		sample.  If it is behind even the oldest sample, the age of that
 *		sample, a lower bound: *exact is then false.
 */
double
rr_lag_seconds_behind(const RRcluster *rr, uint64_t replayed, int64_t now_us,
					  bool *exact)
{
	int			lo = 0,
				hi = rr->history_len;

	*exact = true;
	if (rr->history_len == 0)
		return 0.0;

	/* samples are in increasing lsn order: find the first one > replayed */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			idx = (rr->history_start + mid) % RR_LSN_HISTORY;

		if (rr->history[idx].lsn > replayed)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == rr->history_len)
		return 0.0;
	*exact = (lo > 0);
	{
		int64_t		since = rr->history[(rr->history_start + lo) % RR_LSN_HISTORY].at_us;

		return now_us > since ? (double) (now_us - since) / 1e6 : 0.0;
	}
}
