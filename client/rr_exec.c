/*-------------------------------------------------------------------------
 *
 * rr_exec.c
 *		Running statements: the per-node statement connections, RRexec,
 *		RRexecParams, RRreadConn and RRwriteConn, and the one retry of a
 *		read whose node went away.
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
 *		Drop the node's statement connection.
 */
void
rr_node_conn_close(rr_node *node)
{
	if (node->conn)
		PQfinish(node->conn);
	node->conn = NULL;
}

/*
 * connect_bounded
 *		Connect with libpq's asynchronous API so that connect_timeout is a
 *		real bound (libpq's own applies only to blocking connects).  Returns
 *		the connection, or NULL with libpq's message in errbuf.
 */
static PGconn *
connect_bounded(const rr_node_params *params, char *errbuf, size_t errlen)
{
	int64_t		deadline = rr_now_us() + (int64_t) params->connect_timeout_ms * 1000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn	   *conn;

	conn = PQconnectStartParams(params->keywords, params->values, 0);
	if (conn == NULL)
	{
		rr_format(errbuf, errlen, "out of memory");
		return NULL;
	}
	while (PQstatus(conn) != CONNECTION_BAD)
	{
		struct pollfd pfd;
		int64_t		now = rr_now_us();
		int			rc;

		if (st == PGRES_POLLING_OK)
			return conn;
		if (now >= deadline)
		{
			rr_format(errbuf, errlen, "could not connect within connect_timeout (%d ms)",
					  params->connect_timeout_ms);
			PQfinish(conn);
			return NULL;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = (st == PGRES_POLLING_READING) ? POLLIN : POLLOUT;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int) ((deadline - now + 999) / 1000));
		if (rc < 0 && errno != EINTR)
			break;
		if (rc > 0)
		{
			st = PQconnectPoll(conn);
			if (st == PGRES_POLLING_FAILED)
				break;
		}
	}
	rr_trim(PQerrorMessage(conn), errbuf, errlen);
	PQfinish(conn);
	return NULL;
}

/*
 * rr_node_conn
 *		The node's statement connection, opened (or reopened) if needed.
 *		NULL with the handle's error set if it cannot be opened; the node is
 *		then marked down.
 */
PGconn *
rr_node_conn(RRcluster *rr, rr_node *node)
{
	char		err[RR_ERRBUF_SIZE];

	if (node->conn && PQstatus(node->conn) == CONNECTION_OK)
		return node->conn;
	rr_node_conn_close(node);
	node->conn = connect_bounded(node->params, err, sizeof(err));
	if (node->conn == NULL)
	{
		rr_set_error(rr, "could not connect to %s:%s: %s",
					 RRnodeHost(rr, node->index), node->params->port, err);
		rr_node_down(rr, node, err);
		return NULL;
	}
	return node->conn;
}

/* Can a failed read be retried on another node? */
static bool
read_retryable(const rr_node *node, PGconn *conn, const PGresult *res)
{
	const char *state;

	if (res == NULL || PQstatus(conn) == CONNECTION_BAD)
		return true;			/* the node went away */
	if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		return false;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL)
		return false;
	/* canceled by a recovery conflict (snapshot, lock, buffer pin) */
	if (node->health.role != RR_ROLE_PRIMARY &&
		(strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
		return true;
	/* server shutting down or restarting under us */
	return strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
		strcmp(state, "57P03") == 0;
}

static PGresult *
run(RRcluster *rr, PGconn *conn, const char *sql, int nParams,
	const char *const *paramValues)
{
	/* session consistency needs the extended protocol: use it throughout */
	if (nParams > 0 || rr->opts.consistency == RR_CONSISTENCY_SESSION)
		return PQexecParams(conn, sql, nParams, NULL, paramValues, NULL, NULL, 0);
	return PQexec(conn, sql);
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
 * exec_write
 *		Send a write to the primary.  Never retried once sent.
 */
static PGresult *
exec_write(RRcluster *rr, const char *sql, int nParams,
		   const char *const *paramValues)
{
	rr_node    *node = rr_route_write(rr);
	PGconn	   *conn;
	PGresult   *res = NULL;
	char		msg[RR_ERRBUF_SIZE];

	if (node == NULL)
		return NULL;
	if ((conn = rr_node_conn(rr, node)) == NULL)
		return NULL;
	rr->last_node = node->index;
	node->writes++;

	if (rr->opts.consistency == RR_CONSISTENCY_SESSION)
	{
		if (rr_session_write(rr, node, sql, nParams, paramValues, &res) < 0)
			return NULL;
	}
	else
		res = run(rr, conn, sql, nParams, paramValues);

	if (res == NULL || PQstatus(conn) == CONNECTION_BAD)
	{
		rr_trim(PQerrorMessage(conn), msg, sizeof(msg));
		rr_set_error(rr, "connection to the primary %s:%s was lost during a write; "
					 "it may or may not have been committed: %s",
					 RRnodeHost(rr, node->index), node->params->port, msg);
		PQclear(res);
		rr_node_down(rr, node, msg);
		return NULL;
	}
	return res;
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

	if (rr->opts.fallback == RR_FALLBACK_PRIMARY && rr->primary >= 0)
		return &rr->nodes[rr->primary];
	rr_format_lsn(rr->session_lsn, tok, sizeof(tok));
	rr_set_error(rr, "no standby has replayed this session's writes "
				 "(token %s) within causal_wait (%.0f ms)%s",
				 tok, rr->opts.causal_wait_us / 1000.0,
				 rr->primary < 0 ? " and no primary is reachable" : "");
	return NULL;
}

/*
 * exec_read
 *		Send a read where routing says; retry once elsewhere if that node
 *		went away or cancelled the read for a recovery conflict, unless the
 *		connection was inside a transaction block.
 */
static PGresult *
exec_read(RRcluster *rr, const char *sql, int nParams,
		  const char *const *paramValues)
{
	const rr_node *avoid = NULL;
	uint64_t	min_lsn = rr->opts.consistency == RR_CONSISTENCY_SESSION ?
		rr->session_lsn : RR_INVALID_LSN;
	int			attempt;

	for (attempt = 0; attempt < 2; attempt++)
	{
		bool		needs_wait;
		bool		in_block;
		rr_node    *node = rr_route_read(rr, avoid, min_lsn, &needs_wait);
		PGconn	   *conn;
		PGresult   *res;
		char		msg[RR_ERRBUF_SIZE];

		if (node == NULL)
			return NULL;
		if ((conn = rr_node_conn(rr, node)) == NULL)
		{
			avoid = node;
			continue;
		}
		in_block = PQtransactionStatus(conn) != PQTRANS_IDLE;
		rr->last_node = node->index;
		node->reads++;

		if (needs_wait)
		{
			bool		caught_up;

			res = rr_session_read(rr, node, sql, nParams, paramValues, &caught_up);
			if (!caught_up && PQstatus(conn) != CONNECTION_BAD)
			{
				/* nobody caught up in time: the primary has the write */
				node->reads--;
				PQclear(res);
				if ((node = session_fallback(rr)) == NULL ||
					(conn = rr_node_conn(rr, node)) == NULL)
					return NULL;
				rr->last_node = node->index;
				node->reads++;
				res = run(rr, conn, sql, nParams, paramValues);
			}
		}
		else
			res = run(rr, conn, sql, nParams, paramValues);

		if (!read_retryable(node, conn, res))
			return res;

		rr_trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn), msg, sizeof(msg));
		if (msg[0] == '\0' || strcmp(msg, "no error message available") == 0)
			rr_trim(PQerrorMessage(conn), msg, sizeof(msg));
		if (attempt == 0 && !in_block)
		{
			PQclear(res);
			if (PQstatus(conn) == CONNECTION_BAD)
				rr_node_down(rr, node, msg);
			avoid = node;
			continue;
		}
		if (res != NULL && PQstatus(conn) != CONNECTION_BAD)
			return res;			/* a server error the caller can inspect */
		PQclear(res);
		rr_set_error(rr, "read on %s:%s failed: %s",
					 RRnodeHost(rr, node->index), node->params->port, msg);
		rr_node_down(rr, node, msg);
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
	rr_refresh_if_stale(rr);
	switch (intent)
	{
		case RR_READ:
			return exec_read(rr, sql, nParams, paramValues);
		case RR_WRITE:
			return exec_write(rr, sql, nParams, paramValues);
	}
	rr_set_error(rr, "invalid intent %d (expected RR_READ or RR_WRITE)", (int) intent);
	return NULL;
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
	int			attempt;

	if (rr == NULL || !check_args(rr, "", 0, NULL))
		return NULL;
	rr_refresh_if_stale(rr);
	for (attempt = 0; attempt < 2; attempt++)
	{
		bool		needs_wait;
		uint64_t	min_lsn = rr->opts.consistency == RR_CONSISTENCY_SESSION ?
			rr->session_lsn : RR_INVALID_LSN;
		rr_node    *node = rr_route_read(rr, avoid, min_lsn, &needs_wait);
		PGconn	   *conn;

		if (node == NULL)
			return NULL;
		if ((conn = rr_node_conn(rr, node)) == NULL)
		{
			avoid = node;
			continue;
		}
		if (needs_wait)
		{
			bool		caught_up;
			PGresult   *res = rr_session_read(rr, node, NULL, 0, NULL, &caught_up);

			PQclear(res);
			if (!caught_up &&
				((node = session_fallback(rr)) == NULL ||
				 (conn = rr_node_conn(rr, node)) == NULL))
				return NULL;
		}
		rr->last_node = node->index;
		node->reads++;
		return conn;
	}
	return NULL;
}

PGconn *
RRwriteConn(RRcluster *rr)
{
	rr_node    *node;
	PGconn	   *conn;

	if (rr == NULL || !check_args(rr, "", 0, NULL))
		return NULL;
	rr_refresh_if_stale(rr);
	if ((node = rr_route_write(rr)) == NULL)
		return NULL;
	if ((conn = rr_node_conn(rr, node)) == NULL)
		return NULL;
	rr->last_node = node->index;
	node->writes++;
	return conn;
}
