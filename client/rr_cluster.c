/*-------------------------------------------------------------------------
 *
 * rr_cluster.c
 *		The handle: RRconnect, RRfinish, RRrefresh, status and error, node
 *		inspection, reason names.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rr_int.h"

#define RR_GRACE_MIN_US		(250 * 1000)

/* State of RRconnect's first wait. */
typedef struct initial_wait
{
	int64_t		first_answer_us;	/* 0 until some node answered */
	int64_t		grace_us;
} initial_wait;

/* A node has answered (well or not), or is down: nothing more to wait for. */
static bool
resolved(const rr_node *node)
{
	return node->probe_state == RR_PROBE_DOWN || node->ever_answered;
}

/*
 * initial_done
 *		RRconnect may return: both kinds of statement can be routed (a
 *		primary and a fit standby answered), or every node answered or
 *		failed, or the grace after the first answer ran out.
 */
static bool
initial_done(RRcluster *rr, void *arg)
{
	initial_wait *w = (initial_wait *) arg;
	int64_t		now = rr_now_us();
	bool		all = true;
	int			i;

	for (i = 0; i < rr->nnodes; i++)
	{
		if (!resolved(&rr->nodes[i]))
			all = false;
		else if (w->first_answer_us == 0 && rr->nodes[i].ever_answered)
			w->first_answer_us = now;
	}
	if (all)
		return true;
	rr_update_view(rr);
	if (rr->decision.primary >= 0)
	{
		for (i = 0; i < rr->nnodes; i++)
			if (i != rr->decision.primary && rr->verdicts[i].routable)
				return true;
	}
	return w->first_answer_us != 0 && now >= w->first_answer_us + w->grace_us;
}

/* How long to wait for stragglers: max(2 * check_interval, 250 ms). */
static int64_t
grace_us(const RRcluster *rr)
{
	return 2 * rr->opts.check_interval_us > RR_GRACE_MIN_US ?
		2 * rr->opts.check_interval_us : RR_GRACE_MIN_US;
}

/* The longest any node may take to connect and answer once. */
static int64_t
longest_first_answer_us(const RRcluster *rr)
{
	int64_t		longest = 0;
	int			i;

	for (i = 0; i < rr->nnodes; i++)
		if ((int64_t) rr->nodes[i].connect_timeout_ms * 1000 > longest)
			longest = (int64_t) rr->nodes[i].connect_timeout_ms * 1000;
	return longest + rr->opts.node_timeout_us;
}

/*
 * rr_cluster_alloc
 *		A new handle with nothing set up: RR_BAD, no nodes.  NULL if out of
 *		memory.  Free it with RRfinish.
 */
RRcluster *
rr_cluster_alloc(void)
{
	RRcluster  *rr = calloc(1, sizeof(RRcluster));

	if (rr == NULL)
		return NULL;
	rr->status = RR_BAD;
	rr->decision.primary = -1;
	rr->last_primary = -1;
	rr->last_node = -1;
	rr->txn_node = -1;
	rr->running = -1;
	rr->seen_primary = -1;
	rr->mem.history_node = -1;
	rr->rng = (uint64_t) rr_now_us() ^ ((uint64_t) (uintptr_t) rr << 16) ^
		(uint64_t) getpid();
	if (rr->rng == 0)
		rr->rng = 0x9E3779B97F4A7C15ULL;
	rr_options_init(&rr->opts);
	return rr;
}

/*
 * rr_cluster_setup
 *		Parse options (over base, or the defaults if NULL) and conninfo into
 *		rr (from rr_cluster_alloc) and set up its nodes, every one down with
 *		a connection due at once; nothing is connected.  Returns 0; -1 for
 *		invalid arguments (the handle's error and bad_reason say why; it
 *		stays RR_BAD); -2 when out of memory.  The status is left RR_BAD.
 */
int
rr_cluster_setup(RRcluster *rr, const char *conninfo, const char *options,
				 const rr_options *base)
{
	char		err[RR_ERRBUF_SIZE];
	int			i;

	if (base != NULL)
		rr->opts = *base;
	if (rr_options_parse(&rr->opts, options, err, sizeof(err)) < 0)
	{
		rr_set_error(rr, "invalid options: %s", err);
		memcpy(rr->bad_reason, rr->errmsg, sizeof(rr->bad_reason));
		return -1;
	}
	rr->ci = rr_conninfo_parse(conninfo, err, sizeof(err));
	if (rr->ci == NULL)
	{
		if (err[0] == '\0')
			return -2;			/* out of memory */
		rr_set_error(rr, "%s", err);
		memcpy(rr->bad_reason, rr->errmsg, sizeof(rr->bad_reason));
		return -1;
	}
	rr->nodes = calloc((size_t) rr->ci->nnodes, sizeof(rr_node));
	rr->facts = calloc((size_t) rr->ci->nnodes, sizeof(rr_fact));
	rr->verdicts = calloc((size_t) rr->ci->nnodes, sizeof(rr_verdict));
	rr->pfds = calloc((size_t) rr->ci->nnodes + 1, sizeof(struct pollfd));
	rr->pfd_node = calloc((size_t) rr->ci->nnodes + 1, sizeof(int));
	if (!rr->nodes || !rr->facts || !rr->verdicts || !rr->pfds || !rr->pfd_node)
		return -2;
	rr->nnodes = rr->ci->nnodes;
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		node->index = i;
		node->params = &rr->ci->nodes[i];
		node->connect_timeout_ms = node->params->connect_timeout_ms > 0 ?
			node->params->connect_timeout_ms :
			(int) ((rr->opts.node_timeout_us + 999) / 1000);
		node->probe_state = RR_PROBE_DOWN;
		node->retry_at_us = 0;	/* connect at once */
		node->retry_delay_ms = RR_RETRY_MIN_MS;
		node->fact = &rr->facts[i];
		node->fact->link = RR_LINK_DOWN;
		node->verdict = &rr->verdicts[i];
		node->verdict->lag_bytes = -1;
		node->verdict->lag_seconds = -1.0;
	}
	return 0;
}

RRcluster *
RRconnect(const char *conninfo, const char *options)
{
	RRcluster  *rr;
	initial_wait w;
	int64_t		start;
	int			i,
				rc,
				reachable = 0;

	rr = rr_cluster_alloc();
	if (rr == NULL)
		return NULL;
	rc = rr_cluster_setup(rr, conninfo, options, NULL);
	if (rc == -2)
	{
		RRfinish(rr);
		return NULL;
	}
	if (rc < 0)
		return rr;

	/* connect to every node at once, then wait as initial_done says */
	start = rr_now_us();
	memset(&w, 0, sizeof(w));
	w.grace_us = grace_us(rr);
	rr_health_timers(rr, start);
	rr_wait_health(rr, start + longest_first_answer_us(rr), initial_done, &w);
	rr_update_view(rr);

	for (i = 0; i < rr->nnodes; i++)
		if (rr->nodes[i].ever_answered)
			reachable++;
	if (reachable == 0)
	{
		rr_set_error(rr, "no node answered:");
		for (i = 0; i < rr->nnodes; i++)
			rr_append_error(rr, "\n  %s:%s: %s", rr_node_host(rr, &rr->nodes[i]),
							rr->nodes[i].params->port,
							rr->nodes[i].error[0] ? rr->nodes[i].error : "no answer");
		memcpy(rr->bad_reason, rr->errmsg, sizeof(rr->bad_reason));
		return rr;
	}
	rr->status = RR_OK;
	return rr;
}

void
RRfinish(RRcluster *rr)
{
	int			i;

	if (rr == NULL)
		return;
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_probe_close(&rr->nodes[i]);
		rr_node_conn_close(&rr->nodes[i]);
		rr_lookup_release(rr->nodes[i].lookup);
	}
	if (rr->mh != NULL)
		rr_monitor_detach(rr);
	free(rr->nodes);
	free(rr->facts);
	free(rr->verdicts);
	free(rr->pfds);
	free(rr->pfd_node);
	rr_conninfo_free(rr->ci);
	free(rr);
}

RRstatusType
RRstatus(const RRcluster *rr)
{
	return rr ? rr->status : RR_BAD;
}

const char *
RRerrorMessage(const RRcluster *rr)
{
	return rr ? rr->errmsg : "the replroute handle is NULL (out of memory?)";
}

/* RRrefresh's wait condition: every node answered the new question, or is down. */
static bool
refresh_done(RRcluster *rr, void *arg)
{
	int64_t		since = *(int64_t *) arg;
	int			i;

	for (i = 0; i < rr->nnodes; i++)
	{
		const rr_node *node = &rr->nodes[i];

		if (node->probe_state == RR_PROBE_DOWN)
			continue;
		if (node->probe_state == RR_PROBE_IDLE && node->sent_us >= since)
			continue;
		return false;
	}
	return true;
}

int
RRrefresh(RRcluster *rr)
{
	int64_t		start;
	int			i,
				answered = 0;

	if (rr == NULL || rr->status != RR_OK)
		return -1;
	start = rr_now_us();
	rr_health_pump(rr);
	rr_health_ask_all(rr);
	rr_wait_health(rr, start + grace_us(rr), refresh_done, &start);
	rr_update_view(rr);
	for (i = 0; i < rr->nnodes; i++)
		if (rr->facts[i].answered && rr->facts[i].asked_us >= start)
			answered++;
	if (answered > 0)
		return 0;
	rr_set_error(rr, "no node answered the health check");
	return -1;
}

int
RRlibVersion(void)
{
	return REPLROUTE_VERSION_NUM;
}

const char *
RRreasonName(RRreason reason)
{
	static const char *const names[] = {
		"ok", "down", "connecting", "foreign_cluster", "extension_missing",
		"extension_version", "old_primary", "competing_primary",
		"lag_over_limit", "lag_unknown", "not_streaming", "replay_paused",
		"behind_token", "primary_lost", "health_query_failed"
	};

	if ((int) reason < 0 || (size_t) reason >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[reason];
}

/* ---- node inspection ---- */

static const rr_node *
get_node(const RRcluster *rr, int node)
{
	if (rr == NULL || node < 0 || node >= rr->nnodes)
		return NULL;
	return &rr->nodes[node];
}

int
RRnodeCount(const RRcluster *rr)
{
	return rr ? rr->nnodes : 0;
}

const char *
RRnodeHost(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? rr_node_host(rr, n) : NULL;
}

const char *
RRnodePort(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->params->port : NULL;
}

RRnodeState
RRnodeStatus(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	if (n == NULL || n->probe_state == RR_PROBE_DOWN)
		return RR_NODE_DOWN;
	switch (n->verdict->reason)
	{
		case RR_REASON_FOREIGN_CLUSTER:
		case RR_REASON_EXTENSION_MISSING:
		case RR_REASON_EXTENSION_VERSION:
		case RR_REASON_HEALTH_QUERY_FAILED:
		case RR_REASON_OLD_PRIMARY:
		case RR_REASON_COMPETING_PRIMARY:
			return RR_NODE_EXCLUDED;
		default:
			break;
	}
	if (n->fact->answered)
		return RR_NODE_UP;
	return RR_NODE_CONNECTING;	/* (re)connecting, no answer yet */
}

RRrole
RRnodeRole(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->fact->answered) ? n->fact->h.role : RR_ROLE_UNKNOWN;
}

int
RRnodeTimeline(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->fact->answered) ? n->fact->h.timeline : -1;
}

const char *
RRnodeWalLsn(const RRcluster *rr, int node)
{
	rr_node    *n = (rr_node *) get_node(rr, node);

	if (n == NULL || !n->fact->answered)
		return NULL;
	rr_format_lsn(n->fact->h.wal_lsn, n->lsn_text, sizeof(n->lsn_text));
	return n->lsn_text;
}

int64_t
RRnodeLagBytes(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->fact->answered) ? n->verdict->lag_bytes : -1;
}

double
RRnodeLagSeconds(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->fact->answered && n->verdict->lag_seconds >= 0) ?
		n->verdict->lag_seconds : -1.0;
}

int
RRnodeRoutable(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->verdict->routable) ? 1 : 0;
}

const char *
RRnodeError(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	if (n == NULL)
		return NULL;
	switch (n->verdict->reason)
	{
		case RR_REASON_OK:
			return "";
		case RR_REASON_DOWN:
		case RR_REASON_CONNECTING:
		case RR_REASON_EXTENSION_MISSING:
		case RR_REASON_EXTENSION_VERSION:
		case RR_REASON_HEALTH_QUERY_FAILED:
			return n->error;
		default:
			return n->verdict->why;
	}
}

RRreason
RRnodeReason(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->verdict->reason : RR_REASON_DOWN;
}

int
RRnodeStreaming(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	if (n == NULL || !n->fact->answered || n->fact->h.role == RR_ROLE_PRIMARY)
		return -1;
	return n->fact->h.streaming ? 1 : 0;
}

int
RRnodeReplayPaused(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	if (n == NULL || !n->fact->answered)
		return -1;
	return n->fact->h.replay_paused ? 1 : 0;
}

double
RRnodeAnswerAge(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);
	int64_t		now = rr_now_us();

	if (n == NULL || !n->fact->answered)
		return -1.0;
	return now > n->fact->asked_us ? (double) (now - n->fact->asked_us) / 1e6 : 0.0;
}

int64_t
RRnodeReads(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->reads : -1;
}

int64_t
RRnodeWrites(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->writes : -1;
}

int64_t
RRnodeHealthQueries(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->health_queries : -1;
}

int
RRprimaryNode(const RRcluster *rr)
{
	return rr ? rr->decision.primary : -1;
}

uint64_t
RRsystemIdentifier(const RRcluster *rr)
{
	return (rr && rr->mem.have_sysid) ? rr->mem.sysid : 0;
}

int
RRlastNode(const RRcluster *rr)
{
	return rr ? rr->last_node : -1;
}

int64_t
RRnodeRetries(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->retries : -1;
}

int64_t
RRnodeFallbacks(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->fallbacks : -1;
}

int64_t
RRnodeCausalWaits(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->waits : -1;
}

int64_t
RRnodeCausalWaitsOk(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return n ? n->waits_ok : -1;
}

RReventHandler
RRsetEventHandler(RRcluster *rr, RReventHandler handler, void *arg)
{
	RReventHandler old;

	if (rr == NULL)
		return NULL;
	old = rr->event_handler;
	rr->event_handler = handler;
	rr->event_arg = arg;
	return old;
}

const char *
RReventName(RReventType type)
{
	static const char *const names[] = {
		"node_up", "node_down", "node_excluded", "node_readmitted",
		"primary_changed", "timeline_changed"
	};

	if ((int) type < 0 || (size_t) type >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[type];
}
