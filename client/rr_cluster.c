/*-------------------------------------------------------------------------
 *
 * rr_cluster.c
 *		The handle: RRconnect, RRfinish, status and error, node inspection.
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

RRcluster *
RRconnect(const char *conninfo, const char *options)
{
	RRcluster  *rr;
	char		err[RR_ERRBUF_SIZE];
	int			i,
				reachable = 0;

	rr = calloc(1, sizeof(RRcluster));
	if (rr == NULL)
		return NULL;
	rr->status = RR_BAD;
	rr->primary = -1;
	rr->last_node = -1;
	rr->history_primary = -1;
	rr->rng = (uint64_t) rr_now_us() ^ ((uint64_t) (uintptr_t) rr << 16) ^
		(uint64_t) getpid();
	if (rr->rng == 0)
		rr->rng = 0x9E3779B97F4A7C15ULL;
	rr_options_init(&rr->opts);

	if (rr_options_parse(&rr->opts, options, err, sizeof(err)) < 0)
	{
		rr_set_error(rr, "invalid options: %s", err);
		memcpy(rr->bad_reason, rr->errmsg, sizeof(rr->bad_reason));
		return rr;
	}
	rr->ci = rr_conninfo_parse(conninfo, err, sizeof(err));
	if (rr->ci == NULL)
	{
		if (err[0] == '\0')
		{
			free(rr);
			return NULL;		/* out of memory */
		}
		rr_set_error(rr, "%s", err);
		memcpy(rr->bad_reason, rr->errmsg, sizeof(rr->bad_reason));
		return rr;
	}
	rr->nodes = calloc(rr->ci->nnodes, sizeof(rr_node));
	if (rr->nodes == NULL)
	{
		RRfinish(rr);
		return NULL;
	}
	rr->nnodes = rr->ci->nnodes;
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		node->index = i;
		node->params = &rr->ci->nodes[i];
		node->probe_state = RR_PROBE_DOWN;
		node->retry_at_us = 0;	/* connect at once */
		node->retry_delay_ms = RR_RETRY_MIN_MS;
		node->lag_bytes = -1;
		node->lag_seconds = -1.0;
	}

	(void) rr_refresh(rr, true);
	for (i = 0; i < rr->nnodes; i++)
		if (rr->nodes[i].ever_answered)
			reachable++;
	if (reachable == 0)
	{
		rr_set_error(rr, "no node answered:");
		for (i = 0; i < rr->nnodes; i++)
			rr_append_error(rr, "\n  %s:%s: %s", RRnodeHost(rr, i),
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
	}
	free(rr->nodes);
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

int
RRrefresh(RRcluster *rr)
{
	if (rr == NULL || rr->status != RR_OK)
		return -1;
	if (rr_refresh(rr, false) > 0)
		return 0;
	rr_set_error(rr, "no node answered the health check");
	return -1;
}

int
RRlibVersion(void)
{
	return REPLROUTE_VERSION_NUM;
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

	if (n == NULL)
		return NULL;
	if (n->params->host[0] == '\0')
		return n->shown_host[0] ? n->shown_host : "(default)";
	return n->params->host;
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
	if (n->excluded || n->foreign || n->stale_primary)
		return RR_NODE_EXCLUDED;
	if (n->have_health)
		return RR_NODE_UP;
	return RR_NODE_CONNECTING;	/* (re)connecting, no answer yet */
}

RRrole
RRnodeRole(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->have_health) ? n->health.role : RR_ROLE_UNKNOWN;
}

int
RRnodeTimeline(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->have_health) ? n->health.timeline : -1;
}

const char *
RRnodeWalLsn(const RRcluster *rr, int node)
{
	rr_node    *n = (rr_node *) get_node(rr, node);

	if (n == NULL || !n->have_health)
		return NULL;
	rr_format_lsn(n->health.wal_lsn, n->lsn_text, sizeof(n->lsn_text));
	return n->lsn_text;
}

int64_t
RRnodeLagBytes(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->have_health) ? n->lag_bytes : -1;
}

double
RRnodeLagSeconds(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->have_health && n->lag_seconds >= 0) ? n->lag_seconds : -1.0;
}

int
RRnodeRoutable(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	return (n && n->routable && n->probe_state != RR_PROBE_DOWN) ? 1 : 0;
}

const char *
RRnodeError(const RRcluster *rr, int node)
{
	const rr_node *n = get_node(rr, node);

	if (n == NULL)
		return NULL;
	if (n->probe_state == RR_PROBE_DOWN || n->excluded)
		return n->error;
	return n->reason;
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

int
RRprimaryNode(const RRcluster *rr)
{
	return rr ? rr->primary : -1;
}

int
RRlastNode(const RRcluster *rr)
{
	return rr ? rr->last_node : -1;
}
