/*-------------------------------------------------------------------------
 *
 * rr_route.c
 *		The routing decision: which node is the primary, which standbys are
 *		fit for reads, and which one a read goes to.
 *
 * After every health round rr_route_update() recomputes, from the latest
 * answers:
 *
 * - the cluster's system identifier: the one most nodes in the list share
 *	 (locked for good once a majority of the list agrees); a node with
 *	 another one belongs to a different cluster and is excluded;
 * - the primary: the node claiming the primary role on the highest timeline
 *	 any node of the cluster has ever reported to this handle.  A node
 *	 claiming primary on a lower timeline (an old primary started again
 *	 after a failover) is never written to nor read from; two nodes claiming
 *	 primary on the same highest timeline means no primary at all;
 * - each standby's lag against the primary (rr_lag.c) when the primary
 *	 answered this round, else the standby's own figures;
 * - which standbys are routable: answered this round, same cluster, not on
 *	 an older timeline than the primary, lag within both limits.
 *
 * Routing itself is then a choice among routable standbys (round robin,
 * random or least lag), the primary as fallback.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

/* Did node answer the latest round? */
static bool
fresh(const RRcluster *rr, const rr_node *node)
{
	return node->have_health && node->probe_state != RR_PROBE_DOWN &&
		node->answered_round == rr->round;
}

/*
 * update_sysid
 *		Decide the cluster's system identifier: plurality among answering
 *		nodes (ties go to the earliest node in the list); locked once a
 *		majority of the whole list shares it.
 */
static void
update_sysid(RRcluster *rr)
{
	int			i,
				j,
				best = -1,
				best_votes = 0;

	if (rr->sysid_locked)
		return;
	for (i = 0; i < rr->nnodes; i++)
	{
		int			votes = 0;

		if (!rr->nodes[i].have_health)
			continue;
		for (j = 0; j < rr->nnodes; j++)
			if (rr->nodes[j].have_health &&
				rr->nodes[j].health.system_identifier == rr->nodes[i].health.system_identifier)
				votes++;
		if (votes > best_votes)
		{
			best = i;
			best_votes = votes;
		}
	}
	if (best < 0)
		return;
	rr->have_sysid = true;
	rr->sysid = rr->nodes[best].health.system_identifier;
	if (2 * best_votes > rr->nnodes)
		rr->sysid_locked = true;
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
 * rr_route_update
 *		Recompute the primary, lags and routability; see the file header.
 */
void
rr_route_update(RRcluster *rr)
{
	int64_t		now = rr_now_us();
	int			i,
				primary = -1,
				claims = 0;
	rr_node    *p;

	update_sysid(rr);

	/* membership and the highest timeline of this cluster */
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		node->foreign = node->have_health && rr->have_sysid &&
			node->health.system_identifier != rr->sysid;
		node->stale_primary = false;
		node->routable = false;
		node->lag_bytes = -1;
		node->lag_seconds = -1.0;
		node->reason[0] = '\0';
		if (node->have_health && !node->foreign &&
			node->health.timeline > rr->max_timeline)
			rr->max_timeline = node->health.timeline;
	}

	/* the primary: role primary on the highest timeline, and only one */
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		if (!node->have_health || node->foreign ||
			node->health.role != RR_ROLE_PRIMARY)
			continue;
		if (node->health.timeline < rr->max_timeline)
		{
			node->stale_primary = true;
			rr_format(node->reason, sizeof(node->reason),
					  "claims to be primary on timeline %d, but timeline %d exists "
					  "(an old primary: never used)",
					  node->health.timeline, rr->max_timeline);
			continue;
		}
		claims++;
		if (primary < 0)
			primary = i;
	}
	if (claims > 1)
	{
		for (i = 0; i < rr->nnodes; i++)
		{
			rr_node    *node = &rr->nodes[i];

			if (node->have_health && !node->foreign && !node->stale_primary &&
				node->health.role == RR_ROLE_PRIMARY)
				rr_format(node->reason, sizeof(node->reason),
						  "%d nodes claim to be primary on timeline %d (split brain): "
						  "none is written to", claims, rr->max_timeline);
		}
		primary = -1;
	}
	rr->primary = primary;

	p = primary >= 0 ? &rr->nodes[primary] : NULL;
	if (p && fresh(rr, p))
		rr_lag_record_primary(rr, primary, p->health.timeline, p->health.wal_lsn,
							  p->answered_at_us);
	if (p)
	{
		p->lag_bytes = 0;
		p->lag_seconds = 0.0;
		/* fit for reads as the fallback, unless fallback=error */
		p->routable = (rr->opts.fallback == RR_FALLBACK_PRIMARY);
		if (!p->routable)
			rr_format(p->reason, sizeof(p->reason),
					  "the primary takes no reads (fallback=error)");
	}

	/* standbys */
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];
		char		a[64],
					b[64];

		if (node->foreign)
		{
			rr_format(node->reason, sizeof(node->reason),
					  "system identifier %" PRIu64 " differs from the cluster's %" PRIu64
					  " (a node of another cluster?)",
					  node->health.system_identifier, rr->sysid);
			continue;
		}
		if (!node->have_health || node->health.role == RR_ROLE_PRIMARY)
			continue;
		if (p && fresh(rr, p))
		{
			bool		exact;

			node->lag_bytes = p->health.wal_lsn > node->health.wal_lsn ?
				(int64_t) (p->health.wal_lsn - node->health.wal_lsn) : 0;
			node->lag_seconds = rr_lag_seconds_behind(rr, node->health.wal_lsn, now,
													  &exact);
			/* we have not watched long enough to know: ask the standby too */
			if (!exact && node->health.own_lag_seconds > node->lag_seconds)
				node->lag_seconds = node->health.own_lag_seconds;
		}
		else
		{
			/* no primary to compare with: the standby's own figures */
			node->lag_bytes = node->health.own_lag_bytes;
			node->lag_seconds = node->health.own_lag_seconds;
		}

		if (!fresh(rr, node))
			rr_format(node->reason, sizeof(node->reason),
					  "did not answer the latest health check in time");
		else if (p && node->health.timeline < p->health.timeline)
			rr_format(node->reason, sizeof(node->reason),
					  "on timeline %d, older than the primary's %d",
					  node->health.timeline, p->health.timeline);
		else if (node->lag_bytes > rr->opts.max_lag_bytes)
		{
			format_bytes(node->lag_bytes, a, sizeof(a));
			format_bytes(rr->opts.max_lag_bytes, b, sizeof(b));
			rr_format(node->reason, sizeof(node->reason),
					  "lags %s behind, over max_lag_bytes (%s)", a, b);
		}
		else if (node->lag_seconds < 0)
			rr_format(node->reason, sizeof(node->reason), "lag in seconds unknown yet");
		else if (node->lag_seconds > rr->opts.max_lag_seconds)
			rr_format(node->reason, sizeof(node->reason),
					  "lags %.3f s behind, over max_lag_seconds (%g s)",
					  node->lag_seconds, rr->opts.max_lag_seconds);
		else
			node->routable = true;
	}
}

/*
 * describe_nodes
 *		Append "host:port: why" for every node to the handle's error.
 */
static void
describe_nodes(RRcluster *rr)
{
	int			i;

	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];
		const char *why;

		if (node->probe_state == RR_PROBE_DOWN)
			why = node->error[0] ? node->error : "down";
		else if (node->excluded)
			why = node->error;
		else if (node->probe_state == RR_PROBE_CONNECTING && !node->ever_answered)
			why = "still connecting";
		else if (node->reason[0])
			why = node->reason;
		else if (node->health.role == RR_ROLE_PRIMARY && rr->primary == i)
			why = "primary";
		else if (node->routable)
			why = "fit for reads";
		else
			why = "no health answer yet";
		rr_append_error(rr, "\n  %s:%s: %s", RRnodeHost(rr, i), node->params->port, why);
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
				if (cand[i]->lag_bytes < cand[best]->lag_bytes ||
					(cand[i]->lag_bytes == cand[best]->lag_bytes &&
					 cand[i]->lag_seconds < cand[best]->lag_seconds))
					best = i;
			}
			/* among equals, rotate so that equal standbys share the load */
			for (i = 0; i < n; i++)
				if (cand[i]->lag_bytes == cand[best]->lag_bytes &&
					cand[i]->lag_seconds == cand[best]->lag_seconds)
					ties++;
			if (ties > 1)
			{
				int			k = (int) (rr->rr_counter++ % (uint64_t) ties);

				for (i = 0; i < n; i++)
					if (cand[i]->lag_bytes == cand[best]->lag_bytes &&
						cand[i]->lag_seconds == cand[best]->lag_seconds &&
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
 * avoid: a node that just failed (not chosen again).  min_lsn: with session
 * consistency, the position the read must see; a standby known to have
 * replayed it is preferred, and if none is, a routable standby is returned
 * with *needs_wait set (the caller waits there, or falls back).  The
 * primary is the fallback when no standby is routable and fallback=primary.
 */
rr_node *
rr_route_read(RRcluster *rr, const rr_node *avoid, uint64_t min_lsn,
			  bool *needs_wait)
{
	rr_node   **cand;
	int			n = 0,
				ncaught = 0,
				i;
	rr_node    *chosen = NULL;

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

		if (node->routable && i != rr->primary && node != avoid &&
			node->probe_state != RR_PROBE_DOWN && node->replayed_lsn >= min_lsn)
			cand[n++] = node;
	}
	ncaught = n;
	if (n == 0 && min_lsn != RR_INVALID_LSN)
	{
		for (i = 0; i < rr->nnodes; i++)
		{
			rr_node    *node = &rr->nodes[i];

			if (node->routable && i != rr->primary && node != avoid &&
				node->probe_state != RR_PROBE_DOWN)
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

	if (rr->opts.fallback == RR_FALLBACK_PRIMARY && rr->primary >= 0 &&
		&rr->nodes[rr->primary] != avoid)
		return &rr->nodes[rr->primary];

	if (rr->opts.fallback == RR_FALLBACK_PRIMARY)
		rr_set_error(rr, "no node fit for reads: no standby within the lag limits and no primary reachable");
	else
		rr_set_error(rr, "no standby fit for reads (max_lag_bytes %" PRId64
					 ", max_lag_seconds %g s, fallback=error)",
					 rr->opts.max_lag_bytes, rr->opts.max_lag_seconds);
	describe_nodes(rr);
	return NULL;
}

/*
 * rr_route_write
 *		The current primary, or NULL with the handle's error set.
 */
rr_node *
rr_route_write(RRcluster *rr)
{
	if (rr->primary >= 0 && rr->nodes[rr->primary].probe_state != RR_PROBE_DOWN)
		return &rr->nodes[rr->primary];
	rr_set_error(rr, "no primary reachable for a write");
	describe_nodes(rr);
	return NULL;
}
