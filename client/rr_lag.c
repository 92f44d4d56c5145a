/*-------------------------------------------------------------------------
 *
 * rr_lag.c
 *		How far behind the primary a standby is: the one place the client
 *		computes lag, in bytes and in seconds.
 *
 * The history.  Every answer of the primary adds its WAL position to a
 * history: one sample per distinct position, with the first moment an
 * answer showing it arrived and the latest moment a query that found it
 * was sent.  Only the client's monotonic clock is involved, so there is no
 * clock skew, and an idle primary (whose position does not move) never
 * makes a caught-up standby look late.  When the history is full, the
 * sample whose loss costs the least precision relative to its age goes;
 * the oldest sample stays, so the history spans the handle's life and a
 * figure is never capped: a standby behind even the oldest sample gets
 * "at least" figures only, and routing treats them as such.
 *
 * A standby that replayed up to R (answer asked at time a):
 *
 * - U, an upper bound now: the primary was at or below R when the query of
 *	 the newest sample at or below R was sent, so WAL beyond R appeared only
 *	 after that: U = now - that moment.  It ages by itself as now moves.
 * - X, a lower bound at moment a: the first answer showing the primary
 *	 beyond R arrived at f, so at a the standby had been missing WAL for at
 *	 least a - f.
 * - its own figure (replroute's lag_seconds, an upper bound net of delivery
 *	 delay, on the standby's clock), raised to X where it says less (WAL
 *	 the standby had not even received), then aged by now - a.
 *
 * The figure is min(U, max(own, X) + (now - a)); with no own figure, U; with
 * neither, unknown (X remains as "at least").  So after an idle spell, on
 * the first answers, and beyond the history, the standby's own figure is
 * the bound, never smaller than what the client knows; while the client
 * watches, U is exact to one check interval.
 *
 * A standby whose own figure is exactly 0 while streaming has replayed
 * every complete record it received: replroute reports 0 only then (the
 * rest being the head of a record the upstream has not finished flushing).
 * Its effective position is then what it received.
 *
 * Lag in bytes: the primary's newest position minus the standby's replay
 * position, or the standby's own figure when there is no history.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "rr_int.h"

/*
 * rr_history_reset
 *		Start a new history for the primary "node" on "timeline".
 */
void
rr_history_reset(rr_memory *mem, int node, int timeline)
{
	mem->hist.n = 0;
	mem->history_node = node;
	mem->history_timeline = timeline;
}

/*
 * thin_one
 *		Drop the sample whose loss costs the least precision relative to its
 *		age; the oldest and the newest stay.
 */
static void
thin_one(rr_history *hist, int64_t now)
{
	int			best = 1;
	double		best_cost = -1.0;
	int			i;

	for (i = 1; i < hist->n - 1; i++)
	{
		double		loss = (double) (hist->s[i].last_asked_us - hist->s[i - 1].last_asked_us);
		double		age = (double) (now - hist->s[i].last_asked_us) + 1000.0;
		double		cost = loss / age;

		if (best_cost < 0 || cost < best_cost)
		{
			best = i;
			best_cost = cost;
		}
	}
	/* what the dropped sample proved: its successor was seen no earlier */
	memmove(&hist->s[best], &hist->s[best + 1],
			sizeof(rr_sample) * (size_t) (hist->n - best - 1));
	hist->n--;
}

/*
 * rr_history_note
 *		The primary was at lsn in an answer to a query sent at asked_us that
 *		arrived at answered_us.
 */
void
rr_history_note(rr_history *hist, uint64_t lsn, int64_t asked_us,
				int64_t answered_us)
{
	if (hist->n > 0)
	{
		rr_sample  *last = &hist->s[hist->n - 1];

		if (lsn == last->lsn)
		{
			if (asked_us > last->last_asked_us)
				last->last_asked_us = asked_us;
			return;
		}
		if (lsn < last->lsn)
			return;				/* an answer overtaken by a newer one */
	}
	if (hist->n == RR_HISTORY_SLOTS)
		thin_one(hist, answered_us);
	hist->s[hist->n].lsn = lsn;
	hist->s[hist->n].first_seen_us = answered_us;
	hist->s[hist->n].last_asked_us = asked_us;
	hist->n++;
}

/*
 * rr_history_newest
 *		The newest position in the history, or RR_INVALID_LSN.
 */
uint64_t
rr_history_newest(const rr_history *hist)
{
	return hist->n > 0 ? hist->s[hist->n - 1].lsn : RR_INVALID_LSN;
}

/*
 * effective_replay
 *		The standby's replay position for comparisons: what it received
 *		when its own figure says everything complete is replayed.
 */
static uint64_t
effective_replay(const rr_fact *f)
{
	if (f->h.own_lag_seconds == 0.0 && f->h.streaming &&
		f->h.receive_lsn > f->h.wal_lsn)
		return f->h.receive_lsn;
	return f->h.wal_lsn;
}

/*
 * rr_lag_of
 *		The lag of the standby described by *standby (which must hold an
 *		answer) against the primary whose history is *hist (may be empty),
 *		as of now.  See the file header.
 */
void
rr_lag_of(const rr_history *hist, const rr_fact *standby, int64_t now,
		  rr_lag *out)
{
	uint64_t	r = effective_replay(standby);
	int			lo = 0,
				hi = hist->n;
	double		u = INFINITY;
	double		x = 0.0;
	double		own = standby->h.own_lag_seconds;
	double		best = INFINITY;

	/* bytes */
	if (hist->n > 0)
	{
		uint64_t	newest = rr_history_newest(hist);

		out->bytes = newest > standby->h.wal_lsn ?
			(int64_t) (newest - standby->h.wal_lsn) : 0;
	}
	else
		out->bytes = standby->h.own_lag_bytes;

	/* first sample beyond r: samples are in increasing lsn order */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (hist->s[mid].lsn > r)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo > 0 && now > hist->s[lo - 1].last_asked_us)
		u = (double) (now - hist->s[lo - 1].last_asked_us) / 1e6;
	else if (lo > 0)
		u = 0.0;
	if (lo < hist->n && standby->asked_us > hist->s[lo].first_seen_us)
		x = (double) (standby->asked_us - hist->s[lo].first_seen_us) / 1e6;

	if (own >= 0.0)
	{
		double		age = now > standby->asked_us ?
			(double) (now - standby->asked_us) / 1e6 : 0.0;

		best = (own > x ? own : x) + age;
	}
	if (u < best)
		best = u;

	out->seconds = isinf(best) ? -1.0 : best;
	out->at_least = x;
}
