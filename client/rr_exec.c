/*-------------------------------------------------------------------------
 *
 * rr_exec.c
 *		Running statements: the per-node statement connections, the one
 *		function that drives a statement (or a pipeline) to completion under
 *		poll() with the health probes going on, RRexec, RRexecParams,
 *		RRreadConn and RRwriteConn, the one retry of a read, and transaction
 *		affinity.
 *
 * Outcomes of a statement (rr_run), and what the callers do with them:
 *
 * - answered: the result goes to the caller (a read cancelled by a
 *	 recovery conflict, or by a server shutting down, is retried once
 *	 elsewhere, outside a transaction block);
 * - refused by libpq before anything was sent (too many parameters, out of
 *	 memory): the call fails alone, nothing is marked down;
 * - connection lost, node down (no health answer for node_timeout: the
 *	 connection is closed, since libpq 15 has no cancel that cannot block),
 *	 or statement_timeout: a read is retried once on another fit node, a
 *	 write fails saying its outcome is unknown.  A lost connection does not
 *	 mark its node down: the next call reconnects at once, and only if that
 *	 fails is the node down.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

/*
 * rr_node_conn_close
 *		Drop the node's statement connection, without ever blocking.
 */
void
rr_node_conn_close(rr_node *node)
{
	if (node->conn)
	{
		PQsetnonblocking(node->conn, 1);
		PQfinish(node->conn);
	}
	node->conn = NULL;
	PQfreeCancel(node->cancel);
	node->cancel = NULL;
}

/*
 * conn_alive
 *		False if an idle connection is known dead: its server closed it
 *		(terminated backend, idle_session_timeout, a restart) and the
 *		farewell is waiting in the socket.  Reads nothing if nothing waits.
 */
static bool
conn_alive(PGconn *conn)
{
	int			i;

	for (i = 0; i < 3; i++)
	{
		struct pollfd pfd;

		if (PQstatus(conn) != CONNECTION_OK)
			return false;
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			return true;
		/* notices, notifications, or a FATAL message and the end */
		if (!PQconsumeInput(conn))
			return false;
		(void) PQisBusy(conn);
	}
	return PQstatus(conn) == CONNECTION_OK;
}

/*
 * connect_node
 *		Open a statement connection to node under the health probes: it
 *		ends at connect_timeout or when the node goes down.  Returns the
 *		connection, or NULL with libpq's message in errbuf.
 */
static PGconn *
connect_node(RRcluster *rr, rr_node *node, char *errbuf, size_t errlen)
{
	int64_t		start = rr_now_us();
	int64_t		deadline = start + (int64_t) node->connect_timeout_ms * 1000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn	   *conn;

	/* a node given by name connects to its probe's latest address */
	conn = rr_node_connect_start(node);
	if (conn == NULL)
	{
		rr_format(errbuf, errlen, "out of memory");
		return NULL;
	}
	while (PQstatus(conn) != CONNECTION_BAD)
	{
		rr_wait_result wr;

		if (st == PGRES_POLLING_OK)
			return conn;
		wr = rr_wait_socket(rr, PQsocket(conn),
							st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
							deadline, node);
		if (wr == RR_WAIT_TIMEOUT)
		{
			rr_format(errbuf, errlen, "could not connect within connect_timeout (%d ms)",
					  node->connect_timeout_ms);
			PQfinish(conn);
			return NULL;
		}
		if (wr == RR_WAIT_NODE_DOWN)
		{
			rr_format(errbuf, errlen, "%s", node->error);
			PQfinish(conn);
			return NULL;
		}
		st = PQconnectPoll(conn);
		if (st == PGRES_POLLING_FAILED)
			break;
	}
	node->refused = (rr_now_us() - start < 50 * 1000);
	rr_trim(PQerrorMessage(conn), errbuf, errlen);
	PQfinish(conn);
	return NULL;
}

/*
 * rr_node_conn
 *		The node's statement connection, opened if needed (taking over the
 *		idle health connection when there is one), or reopened at once if
 *		found dead.  NULL with the handle's error set if it cannot
 *		be opened; the node is then marked down.
 */
PGconn *
rr_node_conn(RRcluster *rr, rr_node *node)
{
	char		err[RR_ERRBUF_SIZE];

	if (node->conn && conn_alive(node->conn))
		return node->conn;
	rr_node_conn_close(node);
	/* the idle health connection is ready at once: a new one replaces it */
	if ((node->conn = rr_probe_take(rr, node)) != NULL)
	{
		node->cancel = PQgetCancel(node->conn);
		return node->conn;
	}
	node->conn = connect_node(rr, node, err, sizeof(err));
	node->cancel = node->conn ? PQgetCancel(node->conn) : NULL;
	if (node->conn == NULL)
	{
		rr_set_error(rr, "could not connect to %s:%s: %s",
					 rr_node_host(rr, node), node->params->port, err);
		if (node->probe_state != RR_PROBE_DOWN)
			rr_node_down(rr, node, err);
		return NULL;
	}
	return node->conn;
}

/* Keep the first error of a simple query's results, else the last result. */
static void
keep_result(PGresult **slot, PGresult *r)
{
	if (*slot == NULL)
		*slot = r;
	else if (PQresultStatus(*slot) == PGRES_FATAL_ERROR)
		PQclear(r);
	else
	{
		PQclear(*slot);
		*slot = r;
	}
}

/*
 * collect
 *		Take every result libpq has complete.  Returns 1 when all queries
 *		are answered, 0 when more is to come, -1 for a COPY (unsupported).
 */
static int
collect(PGconn *conn, int nq, PGresult **res, int *seg)
{
	bool		pipeline = nq > 1;

	while (!PQisBusy(conn))
	{
		PGresult   *r = PQgetResult(conn);

		if (r == NULL)
		{
			/* end of one query's results; in a pipeline, a Sync follows */
			if (!pipeline || *seg >= nq)
				return 1;
			continue;
		}
		switch (PQresultStatus(r))
		{
			case PGRES_COPY_IN:
			case PGRES_COPY_OUT:
			case PGRES_COPY_BOTH:
				PQclear(r);
				return -1;
			case PGRES_PIPELINE_SYNC:
				PQclear(r);
				if (++*seg >= nq)
					return 1;
				break;
			default:
				if (pipeline)
				{
					if (res[*seg] == NULL)
						res[*seg] = r;
					else
						PQclear(r);
				}
				else
					keep_result(&res[0], r);
				break;
		}
	}
	return 0;
}

/*
 * rr_run
 *		Send nq queries on node's statement connection (one query; or, for
 *		nq > 1, a pipeline with a Sync after each) and wait for all their
 *		results under the health probes.  res[i] gets query i's result (the
 *		caller frees them); err gets the reason of any outcome but
 *		RR_RUN_DONE.  On RR_RUN_LOST, RR_RUN_NODE_DOWN and RR_RUN_TIMEOUT
 *		the connection is closed and res[] is empty.  See the file header.
 */
rr_run_status
rr_run(RRcluster *rr, rr_node *node, const rr_query *q, int nq,
	   PGresult **res, char *err, size_t errlen)
{
	PGconn	   *conn = node->conn;
	bool		pipeline = nq > 1;
	int64_t		deadline = rr->opts.statement_timeout_us > 0 ?
		rr_now_us() + rr->opts.statement_timeout_us : INT64_MAX;
	rr_run_status status = RR_RUN_DONE;
	int			seg = 0;
	int			i;

	err[0] = '\0';
	for (i = 0; i < nq; i++)
		res[i] = NULL;

	PQsetnonblocking(conn, 1);
	if (pipeline && !PQenterPipelineMode(conn))
	{
		rr_trim(PQerrorMessage(conn), err, errlen);
		PQsetnonblocking(conn, 0);
		return RR_RUN_REFUSED;
	}
	for (i = 0; i < nq; i++)
	{
		int			ok = (q[i].extended || pipeline) ?
			PQsendQueryParams(conn, q[i].sql, q[i].nparams, NULL, q[i].params,
							  NULL, NULL, 0) :
			PQsendQuery(conn, q[i].sql);

		if (ok && pipeline)
			ok = PQpipelineSync(conn);
		if (!ok)
		{
			rr_trim(PQerrorMessage(conn), err, errlen);
			if (PQstatus(conn) == CONNECTION_BAD)
			{
				rr_node_conn_close(node);
				return RR_RUN_LOST;
			}
			if (i == 0)
			{
				/* nothing is queued: the connection stays as it was */
				if (pipeline)
					(void) PQexitPipelineMode(conn);
				PQsetnonblocking(conn, 0);
				return RR_RUN_REFUSED;
			}
			/* earlier queries are queued: this connection cannot be reused */
			rr_node_conn_close(node);
			return RR_RUN_REFUSED;
		}
	}

	node->conn_busy = true;
	node->conn_abandon = false;
	rr->running = node->index;
	for (;;)
	{
		int			flush = PQflush(conn);
		int			done;
		rr_wait_result wr;

		if (flush < 0)
		{
			rr_trim(PQerrorMessage(conn), err, errlen);
			status = RR_RUN_LOST;
			break;
		}
		done = collect(conn, nq, res, &seg);
		if (done < 0)
		{
			rr_format(err, errlen, "COPY is not supported by RRexec (use RRwriteConn or RRreadConn)");
			status = RR_RUN_REFUSED;
			break;
		}
		if (done > 0)
			break;
		if (PQstatus(conn) == CONNECTION_BAD)
		{
			rr_trim(PQerrorMessage(conn), err, errlen);
			status = RR_RUN_LOST;
			break;
		}
		wr = rr_wait_socket(rr, PQsocket(conn),
							(short) (POLLIN | (flush ? POLLOUT : 0)), deadline, node);
		if (node->conn_abandon || wr == RR_WAIT_NODE_DOWN)
		{
			rr_format(err, errlen, "%s", node->error);
			status = RR_RUN_NODE_DOWN;
			break;
		}
		if (wr == RR_WAIT_TIMEOUT)
		{
			rr_format(err, errlen, "statement_timeout (%.0f ms) reached",
					  rr->opts.statement_timeout_us / 1000.0);
			status = RR_RUN_TIMEOUT;
			break;
		}
		if (!PQconsumeInput(conn))
		{
			rr_trim(PQerrorMessage(conn), err, errlen);
			status = RR_RUN_LOST;
			break;
		}
	}
	rr->running = -1;
	node->conn_busy = false;

	if (status == RR_RUN_DONE)
	{
		if (pipeline)
			(void) PQexitPipelineMode(conn);
		PQsetnonblocking(conn, 0);
		return status;
	}
	for (i = 0; i < nq; i++)
	{
		PQclear(res[i]);
		res[i] = NULL;
	}
	rr_node_conn_close(node);
	node->conn_abandon = false;
	return status;
}

/* Did a statement end because its node, or its backend, went away? */
static bool
node_went_away(const rr_node *node, const PGresult *res)
{
	const char *state;

	if (res == NULL || node->conn == NULL || PQstatus(node->conn) == CONNECTION_BAD)
		return true;
	if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		return false;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state != NULL &&
		(strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
		 strcmp(state, "57P03") == 0);
}

/* Can a read that ended this way be retried on another node? */
static bool
read_retryable(const rr_node *node, const PGresult *res)
{
	const char *state;

	if (node_went_away(node, res))
		return true;
	if (PQresultStatus(res) != PGRES_FATAL_ERROR ||
		node->fact->h.role == RR_ROLE_PRIMARY)
		return false;
	/* cancelled by a recovery conflict (snapshot, lock, buffer pin) */
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state != NULL &&
		(strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

static bool
check_args(RRcluster *rr, const char *sql, int nParams,
		   const char *const *paramValues)
{
	if (rr->status != RR_OK)
	{
		rr_set_error(rr, "the replroute handle is not usable: %s", rr->bad_reason);
		return false;
	}
	if (sql == NULL)
	{
		rr_set_error(rr, "the SQL string is NULL");
		return false;
	}
	if (nParams < 0 || (nParams > 0 && paramValues == NULL))
	{
		rr_set_error(rr, "invalid parameters: nParams is %d and paramValues is %s",
					 nParams, paramValues ? "set" : "NULL");
		return false;
	}
	rr->errmsg[0] = '\0';
	return true;
}

/*
 * note_transaction
 *		After a statement on node: keep the handle on it while its
 *		connection is inside a transaction block.
 */
static void
note_transaction(RRcluster *rr, rr_node *node)
{
	PGTransactionStatusType ts = node->conn ? PQtransactionStatus(node->conn) :
		PQTRANS_UNKNOWN;

	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		rr->txn_node = node->index;
	else if (rr->txn_node == node->index)
		rr->txn_node = -1;
}

/*
 * transaction_node
 *		The node holding this handle's open transaction block, or NULL.  If
 *		that transaction was lost (its connection closed), forget it and
 *		set *lost with the handle's error set.
 */
static rr_node *
transaction_node(RRcluster *rr, bool *lost)
{
	rr_node    *node;

	*lost = false;
	if (rr->txn_node < 0)
		return NULL;
	node = &rr->nodes[rr->txn_node];
	if (node->conn == NULL || !conn_alive(node->conn))
	{
		rr_set_error(rr, "the transaction block open on %s:%s was lost (%s): "
					 "it was rolled back",
					 rr_node_host(rr, node), node->params->port,
					 node->error[0] ? node->error : "its connection closed");
		rr_node_conn_close(node);
		rr->txn_node = -1;
		*lost = true;
		return NULL;
	}
	return node;
}

/* The error for a write whose outcome cannot be known. */
static void
write_outcome_unknown(RRcluster *rr, const rr_node *node, const char *why)
{
	rr_set_error(rr, "the outcome of the write on the primary %s:%s is unknown "
				 "(it may or may not have been committed): %s",
				 rr_node_host(rr, node), node->params->port, why);
}

/*
 * run_one
 *		Run one statement on node (already connected).  *st is the outcome.
 */
static PGresult *
run_one(RRcluster *rr, rr_node *node, const char *sql, int nParams,
		const char *const *paramValues, rr_run_status *st, char *err,
		size_t errlen)
{
	rr_query	q;
	PGresult   *res = NULL;

	/* session consistency needs the extended protocol: use it throughout */
	q.sql = sql;
	q.nparams = nParams;
	q.params = paramValues;
	q.extended = nParams > 0 || rr->opts.consistency == RR_CONSISTENCY_SESSION;
	*st = rr_run(rr, node, &q, 1, &res, err, errlen);
	return res;
}

/*
 * exec_write
 *		Send a write to the primary (or to the node of the open transaction
 *		block).  Never retried once sent.
 */
static PGresult *
exec_write(RRcluster *rr, const char *sql, int nParams,
		   const char *const *paramValues)
{
	bool		lost;
	rr_node    *node = transaction_node(rr, &lost);
	PGresult   *res;
	rr_run_status st;
	char		err[RR_ERRBUF_SIZE];

	if (lost)
		return NULL;
	if (node == NULL && (node = rr_route_write(rr)) == NULL)
		return NULL;
	if (rr_node_conn(rr, node) == NULL)
		return NULL;
	rr->last_node = node->index;
	node->writes++;

	if (rr->opts.consistency == RR_CONSISTENCY_SESSION)
		res = rr_session_write(rr, node, sql, nParams, paramValues, &st, err, sizeof(err));
	else
		res = run_one(rr, node, sql, nParams, paramValues, &st, err, sizeof(err));

	switch (st)
	{
		case RR_RUN_DONE:
			if (node_went_away(node, res))
			{
				/* the backend ended under the write (terminated, shut down) */
				rr_trim(PQresultErrorMessage(res), err, sizeof(err));
				PQclear(res);
				rr_node_conn_close(node);
				if (rr->txn_node == node->index)
					rr->txn_node = -1;
				write_outcome_unknown(rr, node, err);
				return NULL;
			}
			note_transaction(rr, node);
			return res;
		case RR_RUN_REFUSED:
			rr_set_error(rr, "the statement was not sent to %s:%s: %s",
						 rr_node_host(rr, node), node->params->port, err);
			note_transaction(rr, node);
			return NULL;
		case RR_RUN_LOST:
		case RR_RUN_NODE_DOWN:
		case RR_RUN_TIMEOUT:
			break;
	}
	if (rr->txn_node == node->index)
		rr->txn_node = -1;
	write_outcome_unknown(rr, node, err);
	return NULL;
}

/*
 * session_fallback
 *		No standby replayed the session token within causal_wait: the primary
 *		(which has the write), or NULL with the error set when fallback=error
 *		or no primary is reachable.
 */
static rr_node *
session_fallback(RRcluster *rr)
{
	char		tok[32];

	if (rr->opts.fallback == RR_FALLBACK_PRIMARY && rr->decision.primary >= 0)
		return &rr->nodes[rr->decision.primary];
	rr_format_lsn(rr->session_lsn, tok, sizeof(tok));
	rr_set_error(rr, "no standby has replayed this session's writes "
				 "(token %s) within causal_wait (%.0f ms)%s",
				 tok, rr->opts.causal_wait_us / 1000.0,
				 rr->decision.primary < 0 ? " and no primary is reachable" : "");
	return NULL;
}

/*
 * read_on
 *		Run a read on node, with the session wait if needed (falling back
 *		to the primary when it does not succeed).  *served is the node that
 *		answered.
 */
static PGresult *
read_on(RRcluster *rr, rr_node *node, bool needs_wait, const char *sql,
		int nParams, const char *const *paramValues, rr_node **served,
		rr_run_status *st, char *err, size_t errlen)
{
	PGresult   *res;
	bool		caught_up;

	*served = node;
	rr->last_node = node->index;
	node->reads++;
	if (node->index == rr->decision.primary)
		node->fallbacks++;
	if (!needs_wait)
		return run_one(rr, node, sql, nParams, paramValues, st, err, errlen);

	node->waits++;
	res = rr_session_read(rr, node, sql, nParams, paramValues, &caught_up,
						  st, err, errlen);
	if (*st != RR_RUN_DONE || caught_up)
	{
		if (caught_up)
			node->waits_ok++;
		return res;
	}
	/* nobody caught up in time: the primary has the write */
	PQclear(res);
	node->reads--;
	if ((node = session_fallback(rr)) == NULL || rr_node_conn(rr, node) == NULL)
	{
		*served = NULL;
		return NULL;
	}
	*served = node;
	rr->last_node = node->index;
	node->reads++;
	node->fallbacks++;
	return run_one(rr, node, sql, nParams, paramValues, st, err, errlen);
}

/*
 * exec_read
 *		Send a read where routing says; retry once elsewhere if that node
 *		went away, stopped answering, ran out of statement_timeout or
 *		cancelled the read for a recovery conflict, unless the read ran in
 *		a transaction block.
 */
static PGresult *
exec_read(RRcluster *rr, const char *sql, int nParams,
		  const char *const *paramValues)
{
	const rr_node *avoid = NULL;
	uint64_t	min_lsn = rr->opts.consistency == RR_CONSISTENCY_SESSION ?
		rr->session_lsn : RR_INVALID_LSN;
	bool		lost;
	rr_node    *txn = transaction_node(rr, &lost);
	int			attempt;
	char		err[RR_ERRBUF_SIZE];

	if (lost)
		return NULL;
	for (attempt = 0; attempt < 2; attempt++)
	{
		bool		needs_wait = false;
		rr_node    *node = txn;
		rr_node    *served;
		PGresult   *res;
		rr_run_status st;

		if (node == NULL)
		{
			node = rr_route_read(rr, avoid, min_lsn, &needs_wait);
			/* nothing else can serve: the same node, on a fresh connection */
			if (node == NULL && avoid != NULL && avoid->verdict->routable &&
				avoid->probe_state != RR_PROBE_DOWN)
				node = (rr_node *) avoid;
			if (node == NULL)
				return NULL;
		}
		if (rr_node_conn(rr, node) == NULL)
		{
			if (txn != NULL)
			{
				rr->txn_node = -1;
				return NULL;
			}
			avoid = node;
			continue;
		}
		res = read_on(rr, node, needs_wait, sql, nParams, paramValues, &served,
					  &st, err, sizeof(err));
		if (served == NULL)
			return NULL;		/* session fallback failed: error set */

		if (st == RR_RUN_REFUSED)
		{
			rr_set_error(rr, "the statement was not sent to %s:%s: %s",
						 rr_node_host(rr, served), served->params->port, err);
			return NULL;
		}
		if (st == RR_RUN_DONE && !read_retryable(served, res))
		{
			note_transaction(rr, served);
			return res;
		}
		if (st == RR_RUN_DONE)
		{
			rr_trim(PQresultErrorMessage(res), err, sizeof(err));
			if (node_went_away(served, res))
				rr_node_conn_close(served);
		}
		if (txn == NULL && attempt == 0)
		{
			PQclear(res);
			served->retries++;
			avoid = served;
			continue;
		}
		if (st == RR_RUN_DONE && !node_went_away(served, res))
			return res;			/* a server error the caller can inspect */
		PQclear(res);
		if (txn != NULL)
		{
			rr->txn_node = -1;
			rr_set_error(rr, "the transaction block open on %s:%s was lost (%s): "
						 "it was rolled back",
						 rr_node_host(rr, served), served->params->port, err);
			return NULL;
		}
		rr_set_error(rr, "read on %s:%s failed: %s",
					 rr_node_host(rr, served), served->params->port, err);
		return NULL;
	}
	return NULL;
}

PGresult *
RRexecParams(RRcluster *rr, RRintent intent, const char *sql, int nParams,
			 const char *const *paramValues)
{
	if (rr == NULL || !check_args(rr, sql, nParams, paramValues))
		return NULL;
	if (intent != RR_READ && intent != RR_WRITE)
	{
		rr_set_error(rr, "invalid intent %d (expected RR_READ or RR_WRITE)", (int) intent);
		return NULL;
	}
	rr_prepare(rr, intent);
	return intent == RR_READ ? exec_read(rr, sql, nParams, paramValues) :
		exec_write(rr, sql, nParams, paramValues);
}

PGresult *
RRexec(RRcluster *rr, RRintent intent, const char *sql)
{
	return RRexecParams(rr, intent, sql, 0, NULL);
}

PGconn *
RRreadConn(RRcluster *rr)
{
	const rr_node *avoid = NULL;
	bool		lost;
	rr_node    *node;
	int			attempt;
	char		err[RR_ERRBUF_SIZE];

	if (rr == NULL || !check_args(rr, "", 0, NULL))
		return NULL;
	rr_prepare(rr, RR_READ);
	if ((node = transaction_node(rr, &lost)) != NULL || lost)
		return node ? node->conn : NULL;
	for (attempt = 0; attempt < 2; attempt++)
	{
		bool		needs_wait;
		uint64_t	min_lsn = rr->opts.consistency == RR_CONSISTENCY_SESSION ?
			rr->session_lsn : RR_INVALID_LSN;
		rr_node    *served;
		rr_run_status st;

		node = rr_route_read(rr, avoid, min_lsn, &needs_wait);
		if (node == NULL)
			return NULL;
		if (rr_node_conn(rr, node) == NULL)
		{
			avoid = node;
			continue;
		}
		if (needs_wait)
		{
			PGresult   *res = read_on(rr, node, true, NULL, 0, NULL, &served,
									  &st, err, sizeof(err));

			PQclear(res);
			if (served == NULL)
				return NULL;
			if (st != RR_RUN_DONE)
			{
				avoid = served;
				continue;
			}
			served->reads--;	/* counted again below */
			node = served;
		}
		rr->last_node = node->index;
		node->reads++;
		return node->conn;
	}
	rr_set_error(rr, "no node fit for reads could be connected to");
	rr_describe_nodes(rr);
	return NULL;
}

PGconn *
RRwriteConn(RRcluster *rr)
{
	rr_node    *node;
	bool		lost;

	if (rr == NULL || !check_args(rr, "", 0, NULL))
		return NULL;
	rr_prepare(rr, RR_WRITE);
	if ((node = transaction_node(rr, &lost)) == NULL)
	{
		if (lost || (node = rr_route_write(rr)) == NULL)
			return NULL;
	}
	if (rr_node_conn(rr, node) == NULL)
		return NULL;
	rr->last_node = node->index;
	node->writes++;
	return node->conn;
}

int
RRchooseNode(RRcluster *rr, RRintent intent, const char *token, int *needs_wait)
{
	uint64_t	min_lsn = RR_INVALID_LSN;
	bool		wait = false;
	rr_node    *node;

	if (needs_wait)
		*needs_wait = 0;
	if (rr == NULL || !check_args(rr, "", 0, NULL))
		return -1;
	if (intent != RR_READ && intent != RR_WRITE)
	{
		rr_set_error(rr, "invalid intent %d (expected RR_READ or RR_WRITE)", (int) intent);
		return -1;
	}
	if (token == NULL)
		min_lsn = rr->opts.consistency == RR_CONSISTENCY_SESSION ?
			rr->session_lsn : RR_INVALID_LSN;
	else if (*token != '\0' && rr_parse_lsn(token, &min_lsn) < 0)
	{
		rr_set_error(rr, "invalid session token \"%.64s\": expected a WAL position such as \"16/B374D848\"",
					 token);
		return -1;
	}
	rr_prepare(rr, intent);
	node = intent == RR_READ ? rr_route_read(rr, NULL, min_lsn, &wait) :
		rr_route_write(rr);
	if (node == NULL)
		return -1;
	if (needs_wait)
		*needs_wait = wait ? 1 : 0;
	return node->index;
}

int
RRcancel(RRcluster *rr, char *errbuf, int errbufsize)
{
	int			i;
	PGcancel   *cancel;

	if (rr == NULL)
		return 0;
	i = rr->running;
	if (i < 0 || i >= rr->nnodes || (cancel = rr->nodes[i].cancel) == NULL)
		return 0;
	return PQcancel(cancel, errbuf, errbufsize) ? 1 : -1;
}
