/*-------------------------------------------------------------------------
 *
 * rr_decide.c
 *		The routing decision: which node is the primary, and for every node
 *		whether it is fit for reads and why, as a pure function of the
 *		observed facts (each with the moment it was observed), the time now
 *		and the options.  No socket, no clock, no allocation: the unit tests
 *		walk every state with made-up facts.
 *
 * The facts (rr_fact) come from the health probes; the cluster's memory
 * (rr_memory: its system identifier, its highest timeline, the primary's
 * WAL history) grows as answers arrive (rr_memory_note).
 *
 * - The cluster's system identifier is the one most answering nodes share,
 *	 locked once a majority of the list agrees; a node with another one
 *	 belongs to another cluster and is never used.
 * - The primary is the node claiming the primary role on the highest
 *	 timeline any member ever reported, if it is the only one and its
 *	 health connection is not down.  A node claiming primary on a lower
 *	 timeline (an old primary started again after a failover) is never used;
 *	 two claims on the highest timeline mean no primary at all.
 * - A standby's lag is rr_lag_of() against the primary's history; it is fit
 *	 for reads while both figures are within the limits.  A standby on an
 *	 older timeline than the primary cannot be compared and is not fit.
 * - Primary lost: with no primary reachable, the newest WAL known to exist
 *	 is the largest of the primary's last position seen and every
 *	 reachable standby's received and upstream positions; with
 *	 primary_lost=serve a standby that replayed it stays fit
 *	 (RR_REASON_PRIMARY_LOST), its lag still reported as its growing bound.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rr_int.h"

/*
 * update_sysid
 *		Decide the cluster's system identifier: plurality among answering
 *		nodes (ties go to the earliest node in the list); locked once a
 *		majority of the whole list shares it.
 */
static void
update_sysid(rr_memory *mem, int nnodes, const rr_fact *facts)
{
	int			i,
				j,
				best = -1,
				best_votes = 0;

	if (mem->sysid_locked)
		return;
	for (i = 0; i < nnodes; i++)
	{
		int			votes = 0;

		if (!facts[i].answered)
			continue;
		for (j = 0; j < nnodes; j++)
			if (facts[j].answered &&
				facts[j].h.system_identifier == facts[i].h.system_identifier)
				votes++;
		if (votes > best_votes)
		{
			best = i;
			best_votes = votes;
		}
	}
	if (best < 0)
		return;
	mem->have_sysid = true;
	mem->sysid = facts[best].h.system_identifier;
	if (2 * best_votes > nnodes)
		mem->sysid_locked = true;
}

static bool
is_foreign(const rr_memory *mem, const rr_fact *f)
{
	return f->answered && mem->have_sysid &&
		f->h.system_identifier != mem->sysid;
}

/*
 * rr_memory_note
 *		Learn from node's new answer (facts[node] must hold it): the cluster's
 *		identity and highest timeline, and the primary's WAL position.
 */
void
rr_memory_note(rr_memory *mem, int nnodes, const rr_fact *facts, int node)
{
	const rr_fact *f = &facts[node];

	update_sysid(mem, nnodes, facts);
	if (!f->answered || is_foreign(mem, f))
		return;
	if (f->h.timeline > mem->max_timeline)
		mem->max_timeline = f->h.timeline;
	if (f->h.role != RR_ROLE_PRIMARY || f->h.timeline < mem->max_timeline)
		return;
	if (mem->history_node != node || mem->history_timeline != f->h.timeline)
		rr_history_reset(mem, node, f->h.timeline);
	rr_history_note(&mem->hist, f->h.wal_lsn, f->asked_us, f->answered_us);
}

static void
format_bytes(int64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1024 * 1024 * 1024)
		rr_format(buf, len, "%.1f GB", bytes / (1024.0 * 1024 * 1024));
	else if (bytes >= 1024 * 1024)
		rr_format(buf, len, "%.1f MB", bytes / (1024.0 * 1024));
	else if (bytes >= 1024)
		rr_format(buf, len, "%.1f kB", bytes / 1024.0);
	else
		rr_format(buf, len, "%" PRId64 " bytes", bytes);
}

/*
 * over_limit
 *		Mark a standby that is over a lag limit, naming the most specific
 *		cause the facts show.
 */
static void
over_limit(rr_verdict *v, const rr_fact *f, const char *what)
{
	if (f->h.replay_paused)
	{
		v->reason = RR_REASON_REPLAY_PAUSED;
		rr_format(v->why, sizeof(v->why), "%s; replay is paused", what);
	}
	else if (!f->h.streaming)
	{
		v->reason = RR_REASON_NOT_STREAMING;
		rr_format(v->why, sizeof(v->why), "%s; its WAL receiver is not streaming", what);
	}
	else
	{
		v->reason = RR_REASON_LAG_OVER_LIMIT;
		rr_format(v->why, sizeof(v->why), "%s", what);
	}
}

/*
 * judge_standby
 *		The verdict on an answering standby of this cluster whose position
 *		can be compared with the history.
 */
static void
judge_standby(rr_verdict *v, const rr_fact *f, const rr_history *hist,
			  const rr_options *opts, const rr_decision *d, int64_t now)
{
	rr_lag		lag;
	char		what[200];
	char		a[64],
				b[64];

	rr_lag_of(hist, f, now, &lag);
	v->lag_bytes = lag.bytes;
	v->lag_seconds = lag.seconds;
	v->lag_at_least = lag.at_least;

	if (d->primary_lost && opts->primary_lost == RR_PRIMARY_LOST_SERVE &&
		d->newest_lsn != RR_INVALID_LSN &&
		(f->h.wal_lsn >= d->newest_lsn ||
		 (f->h.own_lag_seconds == 0.0 && f->h.streaming &&
		  f->h.receive_lsn >= d->newest_lsn)))
	{
		v->reason = RR_REASON_PRIMARY_LOST;
		v->routable = true;
		rr_format(v->why, sizeof(v->why),
				  "no primary reachable; this standby has replayed the newest WAL "
				  "known to exist (primary_lost=serve)");
		return;
	}
	if (lag.bytes > opts->max_lag_bytes)
	{
		format_bytes(lag.bytes, a, sizeof(a));
		format_bytes(opts->max_lag_bytes, b, sizeof(b));
		rr_format(what, sizeof(what), "lags %s behind, over max_lag_bytes (%s)", a, b);
		over_limit(v, f, what);
	}
	else if (lag.seconds < 0 && lag.at_least > opts->max_lag_seconds)
	{
		rr_format(what, sizeof(what),
				  "lags at least %.3f s behind, over max_lag_seconds (%g s)",
				  lag.at_least, opts->max_lag_seconds);
		over_limit(v, f, what);
	}
	else if (lag.seconds < 0)
	{
		v->reason = RR_REASON_LAG_UNKNOWN;
		rr_format(v->why, sizeof(v->why),
				  "its lag in seconds cannot be bounded yet (at least %.3f s)",
				  lag.at_least);
	}
	else if (lag.seconds > opts->max_lag_seconds)
	{
		rr_format(what, sizeof(what),
				  "lags up to %.3f s behind, over max_lag_seconds (%g s)",
				  lag.seconds, opts->max_lag_seconds);
		over_limit(v, f, what);
	}
	else
		v->routable = true;
}

/*
 * rr_decide
 *		Decide about every node; see the file header.  token is the session
 *		token reads must see (RR_INVALID_LSN: none).  Fills verdicts[nnodes]
 *		and *decision.
 */
void
rr_decide(int nnodes, const rr_fact *facts, const rr_memory *mem,
		  const rr_options *opts, uint64_t token, int64_t now,
		  rr_verdict *verdicts, rr_decision *decision)
{
	static const rr_history empty;
	int			i,
				claims = 0;
	const rr_history *hist;

	decision->primary = -1;
	decision->primary_lost = false;
	decision->newest_lsn = RR_INVALID_LSN;

	for (i = 0; i < nnodes; i++)
	{
		memset(&verdicts[i], 0, sizeof(rr_verdict));
		verdicts[i].lag_bytes = -1;
		verdicts[i].lag_seconds = -1.0;
	}

	/* the primary: role primary on the highest timeline, and only one */
	for (i = 0; i < nnodes; i++)
	{
		const rr_fact *f = &facts[i];

		if (f->link == RR_LINK_DOWN || !f->answered || is_foreign(mem, f) ||
			f->h.role != RR_ROLE_PRIMARY)
			continue;
		if (f->h.timeline < mem->max_timeline)
		{
			verdicts[i].reason = RR_REASON_OLD_PRIMARY;
			rr_format(verdicts[i].why, sizeof(verdicts[i].why),
					  "claims to be primary on timeline %d, but timeline %d exists "
					  "(an old primary: never used)",
					  f->h.timeline, mem->max_timeline);
			continue;
		}
		claims++;
		decision->primary = i;
	}
	if (claims > 1)
	{
		for (i = 0; i < nnodes; i++)
		{
			const rr_fact *f = &facts[i];

			if (f->link != RR_LINK_DOWN && f->answered && !is_foreign(mem, f) &&
				f->h.role == RR_ROLE_PRIMARY && f->h.timeline >= mem->max_timeline)
			{
				verdicts[i].reason = RR_REASON_COMPETING_PRIMARY;
				rr_format(verdicts[i].why, sizeof(verdicts[i].why),
						  "%d nodes claim to be primary on timeline %d (split brain): "
						  "none is written to", claims, mem->max_timeline);
			}
		}
		decision->primary = -1;
	}

	/* the history describes the standbys' timeline only if it is current */
	hist = (mem->history_timeline == mem->max_timeline &&
			(decision->primary < 0 || decision->primary == mem->history_node)) ?
		&mem->hist : &empty;

	/* primary lost: the newest WAL known to exist */
	if (decision->primary < 0)
	{
		uint64_t	newest = rr_history_newest(hist);

		decision->primary_lost = true;
		for (i = 0; i < nnodes; i++)
		{
			const rr_fact *f = &facts[i];

			if (f->link == RR_LINK_DOWN || !f->answered || is_foreign(mem, f) ||
				f->h.role == RR_ROLE_PRIMARY || f->h.timeline < mem->max_timeline)
				continue;
			if (f->h.receive_lsn > newest)
				newest = f->h.receive_lsn;
			if (f->h.upstream_lsn > newest)
				newest = f->h.upstream_lsn;
			if (f->h.wal_lsn > newest)
				newest = f->h.wal_lsn;
		}
		decision->newest_lsn = newest;
	}

	for (i = 0; i < nnodes; i++)
	{
		const rr_fact *f = &facts[i];
		rr_verdict *v = &verdicts[i];

		if (v->reason != RR_REASON_OK)
			continue;			/* old or competing primary, said above */
		if (f->link == RR_LINK_DOWN)
		{
			v->reason = RR_REASON_DOWN;
			continue;
		}
		if (!f->answered)
		{
			v->reason = f->failure != RR_REASON_OK ? f->failure : RR_REASON_CONNECTING;
			continue;
		}
		if (is_foreign(mem, f))
		{
			v->reason = RR_REASON_FOREIGN_CLUSTER;
			rr_format(v->why, sizeof(v->why),
					  "system identifier %" PRIu64 " differs from the cluster's %" PRIu64
					  " (a node of another cluster?)",
					  f->h.system_identifier, mem->sysid);
			continue;
		}
		if (i == decision->primary)
		{
			v->lag_bytes = 0;
			v->lag_seconds = 0.0;
			v->has_token = true;
			v->routable = (opts->fallback == RR_FALLBACK_PRIMARY);
			continue;
		}
		if (f->h.timeline < mem->max_timeline)
		{
			v->reason = RR_REASON_LAG_UNKNOWN;
			rr_format(v->why, sizeof(v->why),
					  "on timeline %d, older than the cluster's %d: its position "
					  "cannot be compared", f->h.timeline, mem->max_timeline);
			continue;
		}
		judge_standby(v, f, hist, opts, decision, now);
		v->has_token = (token == RR_INVALID_LSN || f->replayed_lsn >= token);
		if (v->routable && !v->has_token && v->reason == RR_REASON_OK)
		{
			char		tok[32];

			rr_format_lsn(token, tok, sizeof(tok));
			v->reason = RR_REASON_BEHIND_TOKEN;
			rr_format(v->why, sizeof(v->why),
					  "not known to have replayed the session token %s yet", tok);
		}
	}
}
