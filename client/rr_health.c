/*-------------------------------------------------------------------------
 *
 * rr_health.c
 *		The health probes: one connection per node, the health query asked
 *		of every node independently, answers gathered with poll().
 *
 * Each node has its own schedule and nothing here waits: callers (RRexec
 * while it routes and while its statement runs, RRconnect, RRrefresh) add
 * the probe sockets to their poll() (rr_health_pollfds), hand back what
 * poll() saw (rr_health_after_poll), and run the timers
 * (rr_health_timers), which
 *
 * - ask a connected node again once its last question is check_interval
 *	 old;
 * - declare a node down when it has not connected within connect_timeout
 *	 (default node_timeout) or has not answered within node_timeout;
 * - reconnect a down node when its back-off expires: 20 ms while its
 *	 connections are refused fast and it answered within the last 10 s (a
 *	 restart: retrying costs nothing and ends the outage as soon as the
 *	 server is back), else from 250 ms doubling to 2 s.
 *
 * A node given by host name is looked up again before each connection
 * attempt, in a thread (rr_resolve.c): the lookup's socket is polled like a
 * connection's, and a resolver slower than connect_timeout makes the node
 * down, never a call late.  A health connection that breaks (its backend
 * terminated, a pooler restart) is reconnected at once, and the node keeps its facts meanwhile;
 * only if that fails does the node go down.  Every answer is kept with the
 * moment its question was sent and the moment it arrived (rr_fact), and
 * feeds the cluster's memory (rr_memory_note).
 *
 * A handle of a monitor (rr->mh set) has no probes of its own: the entry
 * points a handle calls (rr_health_pump, rr_health_ask_all,
 * rr_health_expedite, rr_probe_take, rr_node_down) hand over to
 * rr_monitor.c, whose thread runs this file's code on its own probes.
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

/*
 * The health query: replroute.probe() (extension 1.1), one line of text as
 * cheap for the server as SELECT 1; on a server still at 1.0 it does not
 * exist (42883), and that connection asks node_status() instead (column
 * order matters: see parse_health()).  Neither is a prepared statement, on
 * purpose: a pooler in transaction mode (PgBouncer before 1.21) would lose
 * it between transactions; the simple protocol costs about 1 us more.
 */
#define PROBE_QUERY		"SELECT replroute.probe()"
#define HEALTH_QUERY \
	"SELECT role, system_identifier, timeline, wal_lsn, receive_lsn, " \
	"upstream_lsn, lag_bytes, lag_seconds, streaming, replay_paused " \
	"FROM replroute.node_status()"
#define HEALTH_NCOLS	10
#define PROBE_NFIELDS	11

/* A connect failing faster than this, soon after an answer, is a restart. */
#define RR_FAST_FAILURE_US		(50 * 1000)
#define RR_RECENT_ANSWER_US		(10 * 1000 * 1000)

/*
 * rr_node_host
 *		The host to show for node: as given, or libpq's default once known.
 */
const char *
rr_node_host(const RRcluster *rr, const rr_node *node)
{
	(void) rr;
	if (node->params->host[0] == '\0')
		return node->shown_host[0] ? node->shown_host : "(default)";
	return node->params->host;
}

/*
 * rr_probe_close
 *		Drop the node's probe connection.  The node's state is unchanged.
 */
void
rr_probe_close(rr_node *node)
{
	if (node->probe)
	{
		/* never block on a full send buffer towards a silent server */
		PQsetnonblocking(node->probe, 1);
		PQfinish(node->probe);
	}
	node->probe = NULL;
}

/*
 * rr_node_forget
 *		What a down node means in any handle's view: the reason recorded
 *		(copied first: why may point into a connection closed here), the
 *		statement connection gone (abandoned by its runner if a statement
 *		runs on it) and the node's facts no longer trusted.
 */
void
rr_node_forget(rr_node *node, const char *why)
{
	char		msg[RR_ERRBUF_SIZE];

	rr_trim(why, msg, sizeof(msg));
	rr_format(node->error, sizeof(node->error), "%s", msg);
	if (node->conn_busy)
		node->conn_abandon = true;
	else
		rr_node_conn_close(node);
	node->probe_state = RR_PROBE_DOWN;
	node->fact->link = RR_LINK_DOWN;
	node->fact->answered = false;
	node->fact->replayed_lsn = RR_INVALID_LSN;
}

/*
 * rr_node_down
 *		Mark node down with a reason, close its connections (a statement
 *		running on one is abandoned by its runner) and schedule a reconnect.
 */
void
rr_node_down(RRcluster *rr, rr_node *node, const char *why)
{
	int64_t		now = rr_now_us();
	int			delay;

	if (rr->mh != NULL)
	{
		/* a monitor's handle: down in this handle's view only */
		rr_monitor_node_down(rr, node, why);
		return;
	}
	rr_node_forget(node, why);
	rr_probe_close(node);
	rr_lookup_release(node->lookup);
	node->lookup = NULL;

	if (node->refused && node->ever_answered &&
		now - node->fact->answered_us < RR_RECENT_ANSWER_US)
		delay = RR_RETRY_FAST_MS;
	else
	{
		delay = node->retry_delay_ms;
		node->retry_delay_ms = node->retry_delay_ms * 2 > RR_RETRY_MAX_MS ?
			RR_RETRY_MAX_MS : node->retry_delay_ms * 2;
	}
	node->retry_at_us = now + (int64_t) delay * 1000;
}

/* Server notices on probe connections are not the application's business. */
static void
quiet_notices(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/*
 * rr_node_connect_start
 *		PQconnectStartParams for node: with the address of its latest host
 *		name lookup if it has a name (each call takes the next address).
 *		NULL if out of memory.  Never resolves a name itself.
 */
PGconn *
rr_node_connect_start(rr_node *node)
{
	rr_node_params *np = node->params;
	PGconn	   *conn;

	if (np->lookup_host != NULL && node->naddrs > 0)
	{
		np->keywords[np->addr_slot] = "hostaddr";
		np->values[np->addr_slot] = node->addrs[node->addr_turn++ % (unsigned) node->naddrs];
	}
	else if (np->lookup_host != NULL)
	{
		/* never looked up: an address no name resolves to, failing at once */
		np->keywords[np->addr_slot] = "hostaddr";
		np->values[np->addr_slot] = "0.0.0.0";
	}
	conn = PQconnectStartParams(np->keywords, np->values, 0);
	np->keywords[np->addr_slot] = NULL;
	np->values[np->addr_slot] = NULL;
	return conn;
}

/*
 * start_connect
 *		Begin a connection attempt of the probe: first the host name
 *		lookup if the node has a name (off the caller's path, rr_resolve.c),
 *		then the connection.  On immediate failure the node goes down.
 */
static void
start_connect(RRcluster *rr, rr_node *node, int64_t now)
{
	char		err[RR_ERRBUF_SIZE];

	node->connect_started_us = now;
	node->refused = false;
	node->probe_deadline_us = now + (int64_t) node->connect_timeout_ms * 1000;
	if (node->params->lookup_host != NULL && node->probe_state != RR_PROBE_RESOLVING)
	{
		node->lookup = rr_lookup_start(node->params->lookup_host, node->params->port,
									   err, sizeof(err));
		if (node->lookup == NULL)
		{
			rr_node_down(rr, node, err);
			return;
		}
		node->probe_state = RR_PROBE_RESOLVING;
		if (node->fact->link == RR_LINK_DOWN)
			node->fact->link = RR_LINK_CONNECTING;
		return;
	}
	node->probe = rr_node_connect_start(node);
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
	node->default_notices = PQsetNoticeProcessor(node->probe, quiet_notices, NULL);
	node->probe_state = RR_PROBE_CONNECTING;
	if (node->fact->link == RR_LINK_DOWN)
		node->fact->link = RR_LINK_CONNECTING;
	node->poll_write = true;	/* as if PQconnectPoll returned WRITING */
}

/*
 * advance_resolving
 *		The lookup's socket is readable: take its addresses and connect, or
 *		go down if the name did not resolve.
 */
static void
advance_resolving(RRcluster *rr, rr_node *node)
{
	char		err[RR_ERRBUF_SIZE];
	int			n;

	if (!rr_lookup_result(node->lookup, node->addrs, &n, err, sizeof(err)))
		return;
	rr_lookup_release(node->lookup);
	node->lookup = NULL;
	if (n == 0)
	{
		rr_node_down(rr, node, err);
		return;
	}
	node->naddrs = n;
	start_connect(rr, node, node->connect_started_us);
}

/*
 * connection_broke
 *		The probe connection failed after it was established: reconnect at
 *		once, keeping the node's facts; it goes down only if that fails.
 */
static void
connection_broke(RRcluster *rr, rr_node *node, const char *why)
{
	if (node->probe_state == RR_PROBE_CONNECTING)
	{
		rr_node_down(rr, node, why);
		return;
	}
	rr_probe_close(node);
	rr_format(node->error, sizeof(node->error), "%s", why);
	node->fact->link = RR_LINK_CONNECTING;
	start_connect(rr, node, rr_now_us());
}

/*
 * send_query
 *		Send the health query on an idle probe connection.
 */
static void
send_query(RRcluster *rr, rr_node *node, int64_t now)
{
	if (PQsetnonblocking(node->probe, 1) != 0 ||
		!PQsendQuery(node->probe, node->legacy_probe ? HEALTH_QUERY : PROBE_QUERY))
	{
		char		why[RR_ERRBUF_SIZE];

		rr_trim(PQerrorMessage(node->probe), why, sizeof(why));
		connection_broke(rr, node, why);
		return;
	}
	node->probe_state = RR_PROBE_QUERYING;
	node->health_queries++;
	node->answer_failed = false;
	node->sent_us = now;
	node->probe_deadline_us = now + rr->opts.node_timeout_us;
	node->poll_write = (PQflush(node->probe) == 1);
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

/* An optional LSN column: NULL is RR_INVALID_LSN. */
static int
parse_opt_lsn(const PGresult *res, int col, uint64_t *out)
{
	*out = RR_INVALID_LSN;
	return PQgetisnull(res, 0, col) ? 0 : rr_parse_lsn(PQgetvalue(res, 0, col), out);
}

/*
 * parse_probe
 *		Read the answer of PROBE_QUERY: one row, one text value, fields as
 *		replroute--1.0--1.1.sql describes.  Returns 0, or -1 (why says what
 *		was wrong).
 */
static int
parse_probe(const PGresult *res, rr_health *h, char *why, size_t whylen)
{
	char		line[512];
	char	   *field[PROBE_NFIELDS + 1];
	char	   *p;
	char	   *save = NULL;
	int			n = 0;
	int64_t		v;

	if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0))
	{
		rr_format(why, whylen, "expected 1 row of 1 column from replroute.probe(), "
				  "got %d rows of %d", PQntuples(res), PQnfields(res));
		return -1;
	}
	if (strlen(PQgetvalue(res, 0, 0)) >= sizeof(line))
	{
		rr_format(why, whylen, "replroute.probe() answered %zu bytes, more than a version 1 line",
				  strlen(PQgetvalue(res, 0, 0)));
		return -1;
	}
	rr_format(line, sizeof(line), "%s", PQgetvalue(res, 0, 0));
	/* strtok_r: handles of other threads parse their answers at the same time */
	for (p = strtok_r(line, " ", &save); p != NULL && n <= PROBE_NFIELDS;
		 p = strtok_r(NULL, " ", &save))
		field[n++] = p;
	if (n != PROBE_NFIELDS || strcmp(field[0], "1") != 0)
	{
		rr_format(why, whylen, "replroute.probe() answered \"%.60s\", not a version 1 line",
				  PQgetvalue(res, 0, 0));
		return -1;
	}
	if (strcmp(field[1], "primary") == 0)
		h->role = RR_ROLE_PRIMARY;
	else if (strcmp(field[1], "standby") == 0)
		h->role = RR_ROLE_STANDBY;
	else if (strcmp(field[1], "promoting") == 0)
		h->role = RR_ROLE_PROMOTING;
	else
		goto bad;
	if (rr_parse_int64(field[2], &v) < 0)
		goto bad;
	h->system_identifier = (uint64_t) v;
	if (rr_parse_int64(field[3], &v) < 0 || v < 0 || v > INT32_MAX)
		goto bad;
	h->timeline = (int) v;
	if (rr_parse_lsn(field[4], &h->wal_lsn) < 0)
		goto bad;
	h->receive_lsn = h->upstream_lsn = RR_INVALID_LSN;
	if ((strcmp(field[5], "-") != 0 && rr_parse_lsn(field[5], &h->receive_lsn) < 0) ||
		(strcmp(field[6], "-") != 0 && rr_parse_lsn(field[6], &h->upstream_lsn) < 0))
		goto bad;
	if (rr_parse_int64(field[7], &h->own_lag_bytes) < 0 || h->own_lag_bytes < 0)
		goto bad;
	if (strcmp(field[8], "-") == 0)
		h->own_lag_seconds = -1.0;
	else if (rr_parse_double(field[8], &h->own_lag_seconds) < 0 || !(h->own_lag_seconds >= 0.0))
		goto bad;
	h->streaming = (strcmp(field[9], "t") == 0);
	if (strcmp(field[9], "t") != 0 && strcmp(field[9], "f") != 0 && strcmp(field[9], "-") != 0)
		goto bad;
	if (strcmp(field[10], "t") != 0 && strcmp(field[10], "f") != 0)
		goto bad;
	h->replay_paused = (strcmp(field[10], "t") == 0);
	return 0;

bad:
	rr_format(why, whylen, "replroute.probe() answered \"%.60s\", which does not parse",
			  PQgetvalue(res, 0, 0));
	return -1;
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
	if (PQgetisnull(res, 0, col) || rr_parse_int64(PQgetvalue(res, 0, col), &v) < 0)
		goto bad;
	h->system_identifier = (uint64_t) v;
	col = 2;
	if (PQgetisnull(res, 0, col) || rr_parse_int64(PQgetvalue(res, 0, col), &v) < 0 ||
		v < 0 || v > INT32_MAX)
		goto bad;
	h->timeline = (int) v;
	col = 3;
	if (PQgetisnull(res, 0, col) || rr_parse_lsn(PQgetvalue(res, 0, col), &h->wal_lsn) < 0)
		goto bad;
	col = 4;
	if (parse_opt_lsn(res, col, &h->receive_lsn) < 0)
		goto bad;
	col = 5;
	if (parse_opt_lsn(res, col, &h->upstream_lsn) < 0)
		goto bad;
	col = 6;
	if (PQgetisnull(res, 0, col) ||
		rr_parse_int64(PQgetvalue(res, 0, col), &h->own_lag_bytes) < 0 ||
		h->own_lag_bytes < 0)
		goto bad;
	col = 7;
	if (PQgetisnull(res, 0, col))
		h->own_lag_seconds = -1.0;
	else if (rr_parse_double(PQgetvalue(res, 0, col), &h->own_lag_seconds) < 0 ||
			 !(h->own_lag_seconds >= 0.0))
		goto bad;
	col = 8;
	h->streaming = false;
	if (!PQgetisnull(res, 0, col) && parse_bool(PQgetvalue(res, 0, col), &h->streaming) < 0)
		goto bad;
	col = 9;
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
 * answer_unusable
 *		The node answered, but not with health facts: record why.
 */
static void
answer_unusable(rr_node *node, RRreason reason)
{
	node->ever_answered = true;
	node->answer_failed = true;
	node->fact->answered = false;
	node->fact->failure = reason;
}

/*
 * absorb_result
 *		Take one result of the health query.
 */
static void
absorb_result(RRcluster *rr, rr_node *node, PGresult *res, int64_t now)
{
	char		why[256];
	char		msg[RR_ERRBUF_SIZE];
	const char *state;
	const char *db = PQdb(node->probe);
	rr_health	h;

	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
			if ((node->legacy_probe ? parse_health(res, &h, why, sizeof(why)) :
				 parse_probe(res, &h, why, sizeof(why))) < 0)
			{
				rr_format(node->error, sizeof(node->error),
						  "unexpected answer from replroute.node_status(): %s "
						  "(is the extension at the version this client expects?)", why);
				answer_unusable(node, RR_REASON_EXTENSION_VERSION);
				return;
			}
			node->ever_answered = true;
			node->retry_delay_ms = RR_RETRY_MIN_MS;
			node->error[0] = '\0';
			node->fact->link = RR_LINK_UP;
			node->fact->answered = true;
			node->fact->failure = RR_REASON_OK;
			node->fact->h = h;
			node->fact->asked_us = node->sent_us;
			node->fact->answered_us = now;
			if (h.role == RR_ROLE_PRIMARY)
				node->fact->replayed_lsn = h.wal_lsn;
			else if (h.wal_lsn > node->fact->replayed_lsn)
				node->fact->replayed_lsn = h.wal_lsn;
			rr_memory_note(&rr->mem, rr->nnodes, rr->facts, node->index);
			return;

		case PGRES_FATAL_ERROR:
			/* one answer can bring several errors: the first one says why */
			if (node->answer_failed)
				return;
			state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			if (!node->legacy_probe && state && strcmp(state, "42883") == 0)
			{
				/* an extension at 1.0: ask node_status() at once instead */
				node->legacy_probe = true;
				node->ask_again = true;
				node->answer_failed = true;
				return;
			}
			rr_trim(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
					PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
					PQresultErrorMessage(res), msg, sizeof(msg));
			if (state && (strcmp(state, "3F000") == 0 || strcmp(state, "42883") == 0))
			{
				rr_format(node->error, sizeof(node->error),
						  "the replroute extension is not installed in database \"%s\" "
						  "(run CREATE EXTENSION replroute on the primary): %s",
						  db ? db : "?", msg);
				answer_unusable(node, RR_REASON_EXTENSION_MISSING);
			}
			else if (state && (strcmp(state, "42703") == 0 || strcmp(state, "42804") == 0))
			{
				rr_format(node->error, sizeof(node->error),
						  "replroute.node_status() has an unexpected shape "
						  "(is the extension at the version this client expects?): %s", msg);
				answer_unusable(node, RR_REASON_EXTENSION_VERSION);
			}
			else
			{
				rr_format(node->error, sizeof(node->error),
						  "health query failed: %s", msg);
				answer_unusable(node, RR_REASON_HEALTH_QUERY_FAILED);
			}
			return;

		default:
			rr_format(node->error, sizeof(node->error),
					  "unexpected answer to the health query (%s)",
					  PQresStatus(PQresultStatus(res)));
			answer_unusable(node, RR_REASON_EXTENSION_VERSION);
			return;
	}
}

/*
 * advance_connecting
 *		Drive PQconnectPoll once.  Once connected the question goes out.
 */
static void
advance_connecting(RRcluster *rr, rr_node *node)
{
	int64_t		now;

	switch (PQconnectPoll(node->probe))
	{
		case PGRES_POLLING_OK:
			node->probe_state = RR_PROBE_IDLE;
			node->fact->link = RR_LINK_UP;
			/* a new connection tries probe() first: the server may be at 1.1 now */
			node->legacy_probe = false;
			node->ask_again = false;
			if (node->params->host[0] == '\0' && PQhost(node->probe))
				rr_format(node->shown_host, sizeof(node->shown_host), "%s",
						  PQhost(node->probe));
			send_query(rr, node, rr_now_us());
			break;
		case PGRES_POLLING_READING:
			node->poll_write = false;
			break;
		case PGRES_POLLING_WRITING:
			node->poll_write = true;
			break;
		default:
			now = rr_now_us();
			node->refused = (now - node->connect_started_us < RR_FAST_FAILURE_US);
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
	int64_t		now = rr_now_us();
	char		why[RR_ERRBUF_SIZE];

	if (node->poll_write)
	{
		int			r = PQflush(node->probe);

		if (r < 0)
		{
			rr_trim(PQerrorMessage(node->probe), why, sizeof(why));
			connection_broke(rr, node, why);
			return;
		}
		node->poll_write = (r == 1);
	}
	if (!PQconsumeInput(node->probe))
	{
		rr_trim(PQerrorMessage(node->probe), why, sizeof(why));
		connection_broke(rr, node, why);
		return;
	}
	while (!PQisBusy(node->probe))
	{
		res = PQgetResult(node->probe);
		if (res == NULL)
		{
			node->probe_state = RR_PROBE_IDLE;
			if (node->ask_again)
			{
				node->ask_again = false;
				send_query(rr, node, now);
			}
			break;
		}
		absorb_result(rr, node, res, now);
		PQclear(res);
	}
	/* a connection that broke while answering: again, with the first reason */
	if (PQstatus(node->probe) == CONNECTION_BAD)
	{
		rr_trim(node->answer_failed && node->error[0] ? node->error :
				PQerrorMessage(node->probe), why, sizeof(why));
		connection_broke(rr, node, why);
	}
}

/*
 * rr_probe_take
 *		Hand node's idle health connection over as its statement connection
 *		(which saves a connection setup, for the first statement on a node
 *		above all), and start a new health connection at once; the node
 *		keeps its facts meanwhile, as after a broken health connection.
 *		Returns the connection, in blocking mode with libpq's own notice
 *		processor, or NULL if the health connection is not idle (always,
 *		for a monitor's handle: its probes belong to the monitor's thread).
 */
PGconn *
rr_probe_take(RRcluster *rr, rr_node *node)
{
	PGconn	   *conn = node->probe;

	if (rr->mh != NULL || node->probe_state != RR_PROBE_IDLE || conn == NULL)
		return NULL;
	PQsetNoticeProcessor(conn, node->default_notices, NULL);
	PQsetnonblocking(conn, 0);
	node->probe = NULL;
	node->fact->link = RR_LINK_CONNECTING;
	start_connect(rr, node, rr_now_us());
	return conn;
}

/*
 * rr_health_pollfds
 *		Fill fds (room for one per node) with the probe sockets that wait
 *		for something, and which[] with their nodes.  Returns the count.
 */
int
rr_health_pollfds(RRcluster *rr, struct pollfd *fds, int *which)
{
	int			i,
				n = 0;

	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		if (node->probe_state == RR_PROBE_RESOLVING)
		{
			fds[n].fd = rr_lookup_fd(node->lookup);
			fds[n].events = POLLIN;
			fds[n].revents = 0;
			which[n++] = i;
			continue;
		}
		if (node->probe_state != RR_PROBE_CONNECTING &&
			node->probe_state != RR_PROBE_QUERYING)
			continue;
		fds[n].fd = PQsocket(node->probe);
		fds[n].events = node->poll_write ? POLLOUT : POLLIN;
		if (node->probe_state == RR_PROBE_QUERYING && node->poll_write)
			fds[n].events |= POLLIN;
		fds[n].revents = 0;
		which[n++] = i;
	}
	return n;
}

/*
 * rr_health_after_poll
 *		Advance the probes whose sockets poll() found ready.
 */
void
rr_health_after_poll(RRcluster *rr, const struct pollfd *fds, const int *which,
					 int nfds)
{
	int			i;

	for (i = 0; i < nfds; i++)
	{
		rr_node    *node = &rr->nodes[which[i]];

		if (fds[i].revents == 0)
			continue;
		if (node->probe_state == RR_PROBE_RESOLVING)
			advance_resolving(rr, node);
		else if (node->probe_state == RR_PROBE_CONNECTING)
			advance_connecting(rr, node);
		else if (node->probe_state == RR_PROBE_QUERYING)
			advance_querying(rr, node);
	}
}

/*
 * rr_health_timers
 *		Run every node's timers as of now: questions due, deadlines passed,
 *		reconnects due.  See the file header.
 */
void
rr_health_timers(RRcluster *rr, int64_t now)
{
	int			i;
	char		why[160];

	for (i = 0; i < rr->nnodes; i++)
	{
		rr_node    *node = &rr->nodes[i];

		switch (node->probe_state)
		{
			case RR_PROBE_DOWN:
				if (now >= node->retry_at_us)
					start_connect(rr, node, now);
				break;
			case RR_PROBE_RESOLVING:
				if (now >= node->probe_deadline_us)
				{
					rr_format(why, sizeof(why),
							  "could not resolve \"%.80s\" within connect_timeout (%d ms)",
							  node->params->lookup_host, node->connect_timeout_ms);
					rr_node_down(rr, node, why);
				}
				break;
			case RR_PROBE_CONNECTING:
				if (now >= node->probe_deadline_us)
				{
					rr_format(why, sizeof(why),
							  "could not connect within connect_timeout (%d ms)",
							  node->connect_timeout_ms);
					rr_node_down(rr, node, why);
				}
				break;
			case RR_PROBE_QUERYING:
				if (now >= node->probe_deadline_us)
				{
					rr_format(why, sizeof(why),
							  "no answer to the health query within node_timeout (%.0f ms)",
							  rr->opts.node_timeout_us / 1000.0);
					rr_node_down(rr, node, why);
				}
				break;
			case RR_PROBE_IDLE:
				if (now - node->sent_us >= rr->opts.check_interval_us)
					send_query(rr, node, now);
				break;
		}
	}
}

/*
 * rr_health_next_wake
 *		The earliest moment a timer of some node is due (INT64_MAX: none).
 */
int64_t
rr_health_next_wake(const RRcluster *rr, int64_t now)
{
	int64_t		wake = INT64_MAX;
	int			i;

	for (i = 0; i < rr->nnodes; i++)
	{
		const rr_node *node = &rr->nodes[i];
		int64_t		t = INT64_MAX;

		switch (node->probe_state)
		{
			case RR_PROBE_DOWN:
				t = node->retry_at_us;
				break;
			case RR_PROBE_RESOLVING:
			case RR_PROBE_CONNECTING:
			case RR_PROBE_QUERYING:
				t = node->probe_deadline_us;
				break;
			case RR_PROBE_IDLE:
				t = node->sent_us + rr->opts.check_interval_us;
				break;
		}
		if (t < wake)
			wake = t;
	}
	return wake < now ? now : wake;
}

/*
 * rr_health_pump
 *		Without waiting: take what arrived, then run the timers (a
 *		monitor's handle: take the monitor's newest facts).
 */
void
rr_health_pump(RRcluster *rr)
{
	int			n;

	if (rr->mh != NULL)
	{
		rr_monitor_sync(rr);
		return;
	}
	n = rr_health_pollfds(rr, rr->pfds, rr->pfd_node);
	if (n > 0 && poll(rr->pfds, n, 0) > 0)
		rr_health_after_poll(rr, rr->pfds, rr->pfd_node, n);
	rr_health_timers(rr, rr_now_us());
}

/*
 * rr_health_ask_all
 *		Ask every connected, idle node now, whatever its schedule (a
 *		monitor's handle: ask the monitor to).
 */
void
rr_health_ask_all(RRcluster *rr)
{
	int64_t		now = rr_now_us();
	int			i;

	if (rr->mh != NULL)
	{
		rr_monitor_ask_all(rr);
		return;
	}
	for (i = 0; i < rr->nnodes; i++)
		if (rr->nodes[i].probe_state == RR_PROBE_IDLE)
			send_query(rr, &rr->nodes[i], now);
}

/*
 * rr_health_expedite
 *		Reconnect a down node now, ignoring its back-off (a monitor's
 *		handle: ask the monitor to).
 */
void
rr_health_expedite(RRcluster *rr, rr_node *node)
{
	if (rr->mh != NULL)
		rr_monitor_expedite(rr, node);
	else if (node->probe_state == RR_PROBE_DOWN)
		start_connect(rr, node, rr_now_us());
}
