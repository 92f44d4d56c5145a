/*-------------------------------------------------------------------------
 *
 * rr_health.c
 *		The health probe: one connection per node, replroute.node_status()
 *		asked of every node at once, answers gathered with poll().
 *
 * A refresh is a "round": answers that arrived since the last round are
 * taken first, every node with an idle probe connection gets the health
 * query, down nodes whose back-off has expired start reconnecting, and we
 * wait (at most check_interval, and never for a node that has never
 * answered or still owes an answer from an earlier round) until the nodes
 * asked this round, and those reconnecting after having answered before,
 * are done.  Slow nodes keep connecting or answering in the background of
 * later rounds; a node that neither connects nor answers within
 * connect_timeout is declared down and retried with exponential back-off.
 * Nothing here ever blocks on one node for longer than a round.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

/* Column order matters: see parse_health(). */
#define HEALTH_QUERY \
	"SELECT role, system_identifier, timeline, wal_lsn, lag_bytes, " \
	"lag_seconds, streaming, replay_paused FROM replroute.node_status()"
#define HEALTH_NCOLS	8

/* Never wait less than this for a round's answers, even with check_interval=0. */
#define RR_MIN_ROUND_WAIT_US	(20 * 1000)
/* RRconnect waits this long for stragglers once some node has answered. */
#define RR_INITIAL_GRACE_MIN_US	(250 * 1000)

/*
 * rr_probe_close
 *		Drop the node's probe connection.  The node's state is unchanged.
 */
void
rr_probe_close(rr_node *node)
{
	if (node->probe)
		PQfinish(node->probe);
	node->probe = NULL;
}

/*
 * rr_node_down
 *		Mark node down with a reason, close its connections and schedule a
 *		reconnect with exponential back-off.
 */
void
rr_node_down(RRcluster *rr, rr_node *node, const char *why)
{
	char		msg[RR_ERRBUF_SIZE];

	rr_trim(why, msg, sizeof(msg));
	rr_format(node->error, sizeof(node->error), "%s", msg);
	rr_probe_close(node);
	rr_node_conn_close(node);
	node->probe_state = RR_PROBE_DOWN;
	node->have_health = false;
	node->excluded = false;
	node->replayed_lsn = RR_INVALID_LSN;
	node->retry_at_us = rr_now_us() + (int64_t) node->retry_delay_ms * 1000;
	node->retry_delay_ms = node->retry_delay_ms * 2 > RR_RETRY_MAX_MS ?
		RR_RETRY_MAX_MS : node->retry_delay_ms * 2;
	if (rr->primary == node->index)
		rr->primary = -1;
}

/* Server notices on probe connections are not the application's business. */
static void
quiet_notices(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/*
 * start_connect
 *		Begin connecting the probe.  On immediate failure the node goes down.
 */
static void
start_connect(RRcluster *rr, rr_node *node, int64_t now)
{
	node->probe = PQconnectStartParams(node->params->keywords,
									   node->params->values, 0);
	if (node->probe == NULL)
	{
		rr_node_down(rr, node, "out of memory");
		return;
	}
	if (PQstatus(node->probe) == CONNECTION_BAD)
	{
		rr_node_down(rr, node, PQerrorMessage(node->probe));
		return;
	}
	PQsetNoticeProcessor(node->probe, quiet_notices, NULL);
	node->probe_state = RR_PROBE_CONNECTING;
	node->probe_deadline_us = now + (int64_t) node->params->connect_timeout_ms * 1000;
	node->poll_write = true;	/* as if PQconnectPoll returned WRITING */
}

/*
 * send_query
 *		Send the health query on an idle probe connection.
 */
static void
send_query(RRcluster *rr, rr_node *node, int64_t now)
{
	if (PQsetnonblocking(node->probe, 1) != 0 ||
		!PQsendQuery(node->probe, HEALTH_QUERY))
	{
		rr_node_down(rr, node, PQerrorMessage(node->probe));
		return;
	}
	node->probe_state = RR_PROBE_QUERYING;
	node->answer_failed = false;
	node->sent_round = rr->round;
	node->probe_deadline_us = now + (int64_t) node->params->connect_timeout_ms * 1000;
	node->poll_write = (PQflush(node->probe) == 1);
}

static int
parse_int64(const char *s, int64_t *out)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = (int64_t) v;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "t") == 0)
		*out = true;
	else if (strcmp(s, "f") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/*
 * parse_health
 *		Read one row of HEALTH_QUERY.  Returns 0, or -1 if the answer does not
 *		have the shape this library expects (why says what was wrong).
 */
static int
parse_health(const PGresult *res, rr_health *h, char *why, size_t whylen)
{
	const char *role;
	int64_t		v;
	char	   *end;
	int			col;

	if (PQntuples(res) != 1 || PQnfields(res) != HEALTH_NCOLS)
	{
		rr_format(why, whylen, "expected 1 row of %d columns, got %d rows of %d",
				  HEALTH_NCOLS, PQntuples(res), PQnfields(res));
		return -1;
	}
	role = PQgetvalue(res, 0, 0);
	if (strcmp(role, "primary") == 0)
		h->role = RR_ROLE_PRIMARY;
	else if (strcmp(role, "standby") == 0)
		h->role = RR_ROLE_STANDBY;
	else if (strcmp(role, "promoting") == 0)
		h->role = RR_ROLE_PROMOTING;
	else
	{
		rr_format(why, whylen, "unknown role \"%.40s\"", role);
		return -1;
	}
	col = 1;
	if (PQgetisnull(res, 0, col) || parse_int64(PQgetvalue(res, 0, col), &v) < 0)
		goto bad;
	h->system_identifier = (uint64_t) v;
	col = 2;
	if (PQgetisnull(res, 0, col) || parse_int64(PQgetvalue(res, 0, col), &v) < 0 ||
		v < 0 || v > INT32_MAX)
		goto bad;
	h->timeline = (int) v;
	col = 3;
	if (PQgetisnull(res, 0, col) || rr_parse_lsn(PQgetvalue(res, 0, col), &h->wal_lsn) < 0)
		goto bad;
	col = 4;
	if (PQgetisnull(res, 0, col) || parse_int64(PQgetvalue(res, 0, col), &h->own_lag_bytes) < 0 ||
		h->own_lag_bytes < 0)
		goto bad;
	col = 5;
	if (PQgetisnull(res, 0, col))
		h->own_lag_seconds = -1.0;
	else
	{
		h->own_lag_seconds = strtod(PQgetvalue(res, 0, col), &end);
		if (*end != '\0' || !(h->own_lag_seconds >= 0.0))
			goto bad;
	}
	col = 6;
	h->streaming = false;
	if (!PQgetisnull(res, 0, col) && parse_bool(PQgetvalue(res, 0, col), &h->streaming) < 0)
		goto bad;
	col = 7;
	if (PQgetisnull(res, 0, col) || parse_bool(PQgetvalue(res, 0, col), &h->replay_paused) < 0)
		goto bad;
	return 0;

bad:
	if (PQgetisnull(res, 0, col))
		rr_format(why, whylen, "column \"%s\" is NULL", PQfname(res, col));
	else
		rr_format(why, whylen, "column \"%s\" has an unexpected value \"%.40s\"",
				  PQfname(res, col), PQgetvalue(res, 0, col));
	return -1;
}

/*
 * absorb_result
 *		Take one result of the health query.
 */
static void
absorb_result(rr_node *node, PGresult *res)
{
	char		why[256];
	char		msg[RR_ERRBUF_SIZE];
	const char *state;
	const char *db = PQdb(node->probe);

	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
			node->ever_answered = true;
			if (parse_health(res, &node->health, why, sizeof(why)) < 0)
			{
				rr_format(node->error, sizeof(node->error),
						  "unexpected answer from replroute.node_status(): %s "
						  "(is the extension at the version this client expects?)", why);
				node->excluded = true;
				node->have_health = false;
				node->answer_failed = true;
				return;
			}
			node->have_health = true;
			node->excluded = false;
			node->ever_answered = true;
			node->answered_round = node->sent_round;
			node->answered_at_us = rr_now_us();
			node->retry_delay_ms = RR_RETRY_MIN_MS;
			node->error[0] = '\0';
			if (node->health.role == RR_ROLE_PRIMARY)
				node->replayed_lsn = node->health.wal_lsn;
			else if (node->health.wal_lsn > node->replayed_lsn)
				node->replayed_lsn = node->health.wal_lsn;
			return;

		case PGRES_FATAL_ERROR:
			/* one answer can bring several errors: the first one says why */
			if (node->answer_failed)
				return;
			node->answer_failed = true;
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			rr_trim(PQresultErrorMessage(res), msg, sizeof(msg));
			node->ever_answered = true;
			node->excluded = true;
			node->have_health = false;
			if (state && strcmp(state, "3F000") == 0)
				rr_format(node->error, sizeof(node->error),
						  "the replroute extension is not installed in database \"%s\" "
						  "(run CREATE EXTENSION replroute on the primary): %s",
						  db ? db : "?", msg);
			else if (state && strcmp(state, "42883") == 0)
				rr_format(node->error, sizeof(node->error),
						  "replroute.node_status() does not exist in database \"%s\": the "
						  "replroute extension is not installed, or not at a version this "
						  "client knows: %s", db ? db : "?", msg);
			else if (state && (strcmp(state, "42703") == 0 || strcmp(state, "42804") == 0))
				rr_format(node->error, sizeof(node->error),
						  "replroute.node_status() has an unexpected shape "
						  "(is the extension at the version this client expects?): %s", msg);
			else
				rr_format(node->error, sizeof(node->error),
						  "health query failed: %s", msg);
			return;

		default:
			rr_format(node->error, sizeof(node->error),
					  "unexpected answer to the health query (%s)",
					  PQresStatus(PQresultStatus(res)));
			node->excluded = true;
			node->have_health = false;
			return;
	}
}

/*
 * advance_connecting
 *		Drive PQconnectPoll once.  On success the probe becomes idle.
 */
static void
advance_connecting(RRcluster *rr, rr_node *node)
{
	switch (PQconnectPoll(node->probe))
	{
		case PGRES_POLLING_OK:
			node->probe_state = RR_PROBE_IDLE;
			if (node->params->host[0] == '\0' && PQhost(node->probe))
				rr_format(node->shown_host, sizeof(node->shown_host), "%s",
						  PQhost(node->probe));
			break;
		case PGRES_POLLING_READING:
			node->poll_write = false;
			break;
		case PGRES_POLLING_WRITING:
			node->poll_write = true;
			break;
		default:
			rr_node_down(rr, node, PQerrorMessage(node->probe));
			break;
	}
}

/*
 * advance_querying
 *		Read what the server sent; absorb complete results.
 */
static void
advance_querying(RRcluster *rr, rr_node *node)
{
	PGresult   *res;

	if (node->poll_write)
	{
		int			r = PQflush(node->probe);

		if (r < 0)
		{
			rr_node_down(rr, node, PQerrorMessage(node->probe));
			return;
		}
		node->poll_write = (r == 1);
	}
	if (!PQconsumeInput(node->probe))
	{
		rr_node_down(rr, node, PQerrorMessage(node->probe));
		return;
	}
	while (!PQisBusy(node->probe))
	{
		res = PQgetResult(node->probe);
		if (res == NULL)
		{
			node->probe_state = RR_PROBE_IDLE;
			break;
		}
		absorb_result(node, res);
		PQclear(res);
	}
	/* a connection that broke while answering: down, with the first reason */
	if (PQstatus(node->probe) == CONNECTION_BAD)
		rr_node_down(rr, node, node->answer_failed && node->error[0] ?
					 node->error : PQerrorMessage(node->probe));
}

/*
 * check_deadline
 *		A node that has neither connected nor answered within
 *		connect_timeout is down.
 */
static void
check_deadline(RRcluster *rr, rr_node *node, int64_t now)
{
	char		why[128];

	if ((node->probe_state == RR_PROBE_CONNECTING ||
		 node->probe_state == RR_PROBE_QUERYING) &&
		now >= node->probe_deadline_us)
	{
		rr_format(why, sizeof(why), "%s within connect_timeout (%d ms)",
				  node->probe_state == RR_PROBE_CONNECTING ?
				  "could not connect" : "no answer to the health query",
				  node->params->connect_timeout_ms);
		rr_node_down(rr, node, why);
	}
}

/* Did node answer the current round (or fail in it)? */
static bool
round_done(const RRcluster *rr, const rr_node *node)
{
	return node->probe_state == RR_PROBE_DOWN ||
		(node->probe_state == RR_PROBE_IDLE && node->sent_round == rr->round);
}

/*
 * poll_nodes
 *		Wait up to timeout_ms (0: just look) for any node that is connecting
 *		or owes an answer, and advance those that are ready.  A node that
 *		connects is asked at once and becomes a member of this round.
 *		fds and which have room for every node.
 */
static void
poll_nodes(RRcluster *rr, struct pollfd *fds, int *which, bool *member,
		   int timeout_ms)
{
	int			i,
				nfds = 0,
				rc;

	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		if (node->probe_state != RR_PROBE_CONNECTING &&
			node->probe_state != RR_PROBE_QUERYING)
			continue;
		fds[nfds].fd = PQsocket(node->probe);
		fds[nfds].events = node->poll_write ? POLLOUT : POLLIN;
		if (node->probe_state == RR_PROBE_QUERYING && node->poll_write)
			fds[nfds].events |= POLLIN;
		fds[nfds].revents = 0;
		which[nfds++] = i;
	}
	if (nfds == 0 && timeout_ms == 0)
		return;
	rc = poll(fds, nfds, timeout_ms);
	for (i = 0; rc > 0 && i < nfds; i++)
	{
		rr_node    *node = &rr->nodes[which[i]];

		if (fds[i].revents == 0)
			continue;
		if (node->probe_state == RR_PROBE_CONNECTING)
		{
			advance_connecting(rr, node);
			if (node->probe_state == RR_PROBE_IDLE)
			{
				send_query(rr, node, rr_now_us());
				member[which[i]] = true;
			}
		}
		else if (node->probe_state == RR_PROBE_QUERYING)
			advance_querying(rr, node);
	}
}

/*
 * rr_refresh
 *		One health round; see the file header.  The round waits for the
 *		nodes asked now and for nodes reconnecting that have answered before
 *		(so a restarted node is back within a round or two), never for a
 *		node that has never answered, except in the initial round
 *		("initial", RRconnect): that one waits for every node, up to
 *		connect_timeout, but stops waiting for stragglers once some node
 *		answered and a grace period of max(2 * check_interval, 250 ms) has
 *		passed.
 *
 * Returns the number of nodes that answered this round.  Updates the
 * routing view (rr_route_update) before returning.
 */
int
rr_refresh(RRcluster *rr, bool initial)
{
	int64_t		start = rr_now_us();
	int64_t		round_end;
	int64_t		grace_end;
	struct pollfd *fds;
	int		   *which;
	bool	   *member;
	int			i,
				answered = 0;

	fds = calloc(rr->nnodes, sizeof(struct pollfd));
	which = calloc(rr->nnodes, sizeof(int));
	member = calloc(rr->nnodes, sizeof(bool));
	if (fds == NULL || which == NULL || member == NULL)
	{
		free(fds);
		free(which);
		free(member);
		return 0;
	}

	rr->round++;
	rr->round_started_us = start;

	/*
	 * First take what arrived while the application was not calling us:
	 * answers waiting in a socket must not be mistaken for silence.
	 */
	poll_nodes(rr, fds, which, member, 0);
	memset(member, 0, sizeof(bool) * (size_t) rr->nnodes);

	/* start work on every node */
	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		if (node->probe_state == RR_PROBE_DOWN && start >= node->retry_at_us)
			start_connect(rr, node, start);
		if (node->probe_state == RR_PROBE_IDLE)
		{
			send_query(rr, node, start);
			member[i] = true;
		}
		else if (node->probe_state == RR_PROBE_CONNECTING &&
				 (initial || node->ever_answered))
			member[i] = true;
	}

	round_end = start + (rr->opts.check_interval_us > RR_MIN_ROUND_WAIT_US ?
						 rr->opts.check_interval_us : RR_MIN_ROUND_WAIT_US);
	grace_end = start + (2 * rr->opts.check_interval_us > RR_INITIAL_GRACE_MIN_US ?
						 2 * rr->opts.check_interval_us : RR_INITIAL_GRACE_MIN_US);

	for (;;)
	{
		int64_t		now = rr_now_us();
		int64_t		wake;
		int			pending = 0,
					timeout_ms;

		answered = 0;
		for (i = 0; i < rr->nnodes; i++)
		{
			rr_node    *node = &rr->nodes[i];

			check_deadline(rr, node, now);
			if (node->answered_round == rr->round && node->have_health)
				answered++;
			if (member[i] && !round_done(rr, node))
				pending++;
		}
		if (pending == 0)
			break;
		if (initial)
		{
			if (answered > 0 && now >= grace_end)
				break;
		}
		else if (now >= round_end)
			break;

		/* sleep until a socket is ready, a deadline passes or the round ends */
		wake = initial ? (answered > 0 ? grace_end : INT64_MAX) : round_end;
		for (i = 0; i < rr->nnodes; i++)
		{
			rr_node    *node = &rr->nodes[i];

			if ((node->probe_state == RR_PROBE_CONNECTING ||
				 node->probe_state == RR_PROBE_QUERYING) &&
				node->probe_deadline_us < wake)
				wake = node->probe_deadline_us;
		}
		timeout_ms = (int) ((wake - now + 999) / 1000);
		if (timeout_ms < 0)
			timeout_ms = 0;
		poll_nodes(rr, fds, which, member, timeout_ms);
	}

	free(fds);
	free(which);
	free(member);

	rr->refreshed = true;
	rr_route_update(rr);
	return answered;
}

/*
 * rr_refresh_if_stale
 *		Refresh when the last round is older than check_interval.
 */
void
rr_refresh_if_stale(RRcluster *rr)
{
	if (!rr->refreshed ||
		rr_now_us() - rr->round_started_us >= rr->opts.check_interval_us)
		(void) rr_refresh(rr, false);
}
