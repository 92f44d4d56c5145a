/*-------------------------------------------------------------------------
 *
 * rr_route.c
 *		Choosing the node for a read or a write, from the decision
 *		(rr_decide.c) taken on the newest facts as of now.
 *
 * Before routing, a call takes whatever answers have arrived and sends the
 * questions that are due (rr_health_pump), without waiting.  It waits only
 * if it cannot route with what it knows (after an idle spell every answer
 * is old, and aged lags exceed the limits), and then only for answers to
 * questions sent within the last check_interval, at most for the grace of
 * max(2 * check_interval, 250 ms): never for a node that is slow or hung,
 * which stays out of the way until it answers.
 *
 * Routing itself is a choice among fit standbys (round robin, random or
 * least lag), the primary as fallback.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

#define RR_GRACE_MIN_US		(250 * 1000)

/* Tell the event handler, if any. */
static void
emit(RRcluster *rr, RReventType type, int node)
{
	RRevent		ev;

	if (rr->event_handler == NULL)
		return;
	ev.type = type;
	ev.node = node;
	ev.reason = node >= 0 ? rr->verdicts[node].reason : RR_REASON_OK;
	ev.message = node >= 0 ? RRnodeError(rr, node) : "";
	ev.timeline = rr->mem.max_timeline;
	rr->event_handler(rr->event_arg, &ev);
}

/*
 * report_changes
 *		Compare the new view with the last one and emit the events.
 */
static void
report_changes(RRcluster *rr)
{
	int			i;

	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];
		bool		up = node->fact->link != RR_LINK_DOWN && node->fact->answered;
		bool		fit = node->verdict->routable;

		if (up && !node->was_up)
			emit(rr, RR_EVENT_NODE_UP, i);
		else if (!up && node->was_up && node->fact->link == RR_LINK_DOWN)
			emit(rr, RR_EVENT_NODE_DOWN, i);
		if (up && i != rr->decision.primary)
		{
			if (!fit && (node->was_fit || !node->was_up))
				emit(rr, RR_EVENT_NODE_EXCLUDED, i);
			else if (fit && !node->was_fit && node->was_up)
				emit(rr, RR_EVENT_NODE_READMITTED, i);
		}
		if (up || node->fact->link == RR_LINK_DOWN)
		{
			node->was_up = up;
			node->was_fit = up && fit;
		}
	}
	if (rr->decision.primary != rr->seen_primary)
	{
		rr->seen_primary = rr->decision.primary;
		emit(rr, RR_EVENT_PRIMARY_CHANGED, rr->decision.primary);
	}
	if (rr->mem.max_timeline != rr->seen_timeline)
	{
		if (rr->seen_timeline > 0)
			emit(rr, RR_EVENT_TIMELINE_CHANGED, -1);
		rr->seen_timeline = rr->mem.max_timeline;
	}
}

/*
 * rr_update_view
 *		Decide again on the facts as of now; remember the primary; tell the
 *		event handler what changed.
 */
void
rr_update_view(RRcluster *rr)
{
	uint64_t	token = rr->opts.consistency == RR_CONSISTENCY_SESSION ?
		rr->session_lsn : RR_INVALID_LSN;

	rr_decide(rr->nnodes, rr->facts, &rr->mem, &rr->opts, token, rr_now_us(),
			  rr->verdicts, &rr->decision);
	if (rr->decision.primary >= 0)
		rr->last_primary = rr->decision.primary;
	report_changes(rr);
}

/* Some standby is fit for reads. */
static bool
standby_fit(const RRcluster *rr)
{
	int			i;

	for (i = 0; i < rr->nnodes; i++)
		if (i != rr->decision.primary && rr->verdicts[i].routable)
			return true;
	return false;
}

/*
 * asked_recently
 *		An answer from node is on its way and is worth waiting for: its
 *		question (or its connection) started within the last check_interval,
 *		and it has answered before, so it is not a stranger that may never
 *		answer.
 */
static bool
asked_recently(const RRcluster *rr, const rr_node *node, int64_t now)
{
	int64_t		since = now - rr->opts.check_interval_us;

	if (!node->ever_answered)
		return false;
	if (node->probe_state == RR_PROBE_QUERYING)
		return node->sent_us >= since;
	if (node->probe_state == RR_PROBE_CONNECTING)
		return node->connect_started_us >= since;
	return false;
}

/*
 * stale_only
 *		A fresh answer could make node fit: it has none, or it is unfit only
 *		because its newest answer is old (its lag, less that age, is within
 *		the limits).
 */
static bool
stale_only(const RRcluster *rr, const rr_node *node, int64_t now)
{
	const rr_verdict *v = node->verdict;
	double		age;

	if (!node->fact->answered || v->lag_seconds < 0)
		return true;
	if (v->reason != RR_REASON_LAG_OVER_LIMIT || v->lag_bytes > rr->opts.max_lag_bytes)
		return false;
	age = (double) (now - node->fact->asked_us) / 1e6;
	return v->lag_seconds - age <= rr->opts.max_lag_seconds;
}

/* rr_prepare's wait condition: routable now, or nothing worth waiting for. */
static bool
can_route(RRcluster *rr, void *arg)
{
	RRintent	intent = *(RRintent *) arg;
	int64_t		now = rr_now_us();
	int			i;

	rr_update_view(rr);
	if (intent == RR_READ ? standby_fit(rr) : rr->decision.primary >= 0)
		return true;
	for (i = 0; i < rr->nnodes; i++)
	{
		const rr_node *node = &rr->nodes[i];

		/* a write waits only for nodes that may be the primary */
		if (intent == RR_WRITE && node->fact->answered &&
			node->fact->h.role != RR_ROLE_PRIMARY)
			continue;
		if (intent == RR_READ &&
			(i == rr->decision.primary || !stale_only(rr, node, now)))
			continue;
		if (asked_recently(rr, node, now))
			return false;
	}
	return true;
}

/*
 * rr_prepare
 *		Bring the facts up to date for a call with this intent; see the
 *		file header.  For a write with no primary known, a last primary
 *		that was refusing connections (a restart) is tried again at once,
 *		as a plain libpq client would on its next attempt.
 */
void
rr_prepare(RRcluster *rr, RRintent intent)
{
	int64_t		start = rr_now_us();
	int64_t		grace = 2 * rr->opts.check_interval_us;

	if (grace < RR_GRACE_MIN_US)
		grace = RR_GRACE_MIN_US;
	rr_health_pump(rr);
	rr_update_view(rr);
	if (intent == RR_WRITE && rr->decision.primary < 0 && rr->last_primary >= 0)
	{
		rr_node    *old = &rr->nodes[rr->last_primary];

		if (old->probe_state == RR_PROBE_DOWN && old->refused)
			rr_health_expedite(rr, old);
	}
	rr_wait_health(rr, start + grace, can_route, &intent);
}

/*
 * rr_describe_nodes
 *		Append "host:port: why" for every node to the handle's error.
 */
void
rr_describe_nodes(RRcluster *rr)
{
	int			i;

	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];
		const rr_verdict *v = node->verdict;
		const char *why;

		switch (v->reason)
		{
			case RR_REASON_DOWN:
			case RR_REASON_EXTENSION_MISSING:
			case RR_REASON_EXTENSION_VERSION:
			case RR_REASON_HEALTH_QUERY_FAILED:
				why = node->error[0] ? node->error : "down";
				break;
			case RR_REASON_CONNECTING:
				why = "connecting, no answer yet";
				break;
			case RR_REASON_OK:
				why = (i == rr->decision.primary) ? "primary" : "fit for reads";
				break;
			default:
				why = v->why;
				break;
		}
		rr_append_error(rr, "\n  %s:%s: %s", rr_node_host(rr, node),
						node->params->port, why);
	}
}

/* Index among n candidates chosen by the policy. */
static int
choose(RRcluster *rr, rr_node **cand, int n)
{
	int			i,
				best = 0,
				ties = 0;

	switch (rr->opts.policy)
	{
		case RR_POLICY_RANDOM:
			return (int) (rr_random(&rr->rng) % (uint64_t) n);
		case RR_POLICY_LEAST_LAG:
			for (i = 1; i < n; i++)
			{
				if (cand[i]->verdict->lag_bytes < cand[best]->verdict->lag_bytes ||
					(cand[i]->verdict->lag_bytes == cand[best]->verdict->lag_bytes &&
					 cand[i]->verdict->lag_seconds < cand[best]->verdict->lag_seconds))
					best = i;
			}
			/* among equals, rotate so that equal standbys share the load */
			for (i = 0; i < n; i++)
				if (cand[i]->verdict->lag_bytes == cand[best]->verdict->lag_bytes &&
					cand[i]->verdict->lag_seconds == cand[best]->verdict->lag_seconds)
					ties++;
			if (ties > 1)
			{
				int			k = (int) (rr->rr_counter++ % (uint64_t) ties);

				for (i = 0; i < n; i++)
					if (cand[i]->verdict->lag_bytes == cand[best]->verdict->lag_bytes &&
						cand[i]->verdict->lag_seconds == cand[best]->verdict->lag_seconds &&
						k-- == 0)
						return i;
			}
			return best;
		case RR_POLICY_ROUND_ROBIN:
		default:
			return (int) (rr->rr_counter++ % (uint64_t) n);
	}
}

/*
 * rr_route_read
 *		The node a read goes to, or NULL with the handle's error set.
 *
 * avoid: a node that just failed (not chosen again, unless nothing else
 * can serve).  min_lsn: with session consistency, the position the read
 * must see; a standby known to have replayed it is preferred, and if none
 * is, a fit standby is returned with *needs_wait set (the caller waits
 * there, or falls back).  The primary is the fallback when no standby is
 * fit and fallback=primary.
 */
rr_node *
rr_route_read(RRcluster *rr, const rr_node *avoid, uint64_t min_lsn,
			  bool *needs_wait)
{
	rr_node   **cand;
	int			n = 0,
				ncaught,
				i;
	rr_node    *chosen = NULL;
	int			primary = rr->decision.primary;

	*needs_wait = false;
	cand = malloc(sizeof(rr_node *) * (size_t) rr->nnodes);
	if (cand == NULL)
	{
		rr_set_error(rr, "out of memory");
		return NULL;
	}

	/* standbys known to have replayed min_lsn first */
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		if (node->verdict->routable && i != primary && node != avoid &&
			node->fact->replayed_lsn >= min_lsn)
			cand[n++] = node;
	}
	ncaught = n;
	if (n == 0 && min_lsn != RR_INVALID_LSN)
	{
		for (i = 0; i < rr->nnodes; i++)
		{
			rr_node    *node = &rr->nodes[i];

			if (node->verdict->routable && i != primary && node != avoid)
				cand[n++] = node;
		}
	}
	if (n > 0)
	{
		chosen = cand[choose(rr, cand, n)];
		*needs_wait = (ncaught == 0);
	}
	free(cand);
	if (chosen)
		return chosen;

	if (rr->opts.fallback == RR_FALLBACK_PRIMARY && primary >= 0 &&
		&rr->nodes[primary] != avoid)
		return &rr->nodes[primary];

	if (rr->opts.fallback == RR_FALLBACK_PRIMARY)
		rr_set_error(rr, "no node fit for reads: no standby within the lag limits and no primary reachable");
	else
		rr_set_error(rr, "no standby fit for reads (max_lag_bytes %" PRId64
					 ", max_lag_seconds %g s, fallback=error)",
					 rr->opts.max_lag_bytes, rr->opts.max_lag_seconds);
	rr_describe_nodes(rr);
	return NULL;
}

/*
 * rr_route_write
 *		The current primary, or NULL with the handle's error set.
 */
rr_node *
rr_route_write(RRcluster *rr)
{
	if (rr->decision.primary >= 0)
		return &rr->nodes[rr->decision.primary];
	rr_set_error(rr, "no primary reachable for a write");
	rr_describe_nodes(rr);
	return NULL;
}
