/*-------------------------------------------------------------------------
 *
 * rr_session.c
 *		Read-your-writes: the session token (the primary's WAL insert
 *		position after this handle's last write) and reads that honour it.
 *
 * A write with consistency=session is sent in pipeline mode followed by a
 * Sync and "SELECT pg_current_wal_insert_lsn()": the write commits at the
 * Sync (unless inside a transaction block), the position is read in the
 * next transaction, both in one network round trip.  A read then goes to a
 * standby known to have replayed the token (no extra work); otherwise to a
 * fit standby with "CALL replroute.wait_for_lsn(token, causal_wait)"
 * pipelined before the read itself; if the wait does not succeed the read's
 * result is thrown away and the primary (or an error) answers instead.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

#define INSERT_LSN_QUERY	"SELECT pg_catalog.pg_current_wal_insert_lsn()"
#define WAIT_CALL			"CALL replroute.wait_for_lsn($1::pg_catalog.pg_lsn, $2::pg_catalog.int4)"

/* Raise the session token to lsn (never lowers it). */
static void
note_token(RRcluster *rr, uint64_t lsn)
{
	if (lsn > rr->session_lsn)
		rr->session_lsn = lsn;
}

/*
 * drain_pipeline
 *		Read everything up to and including the next PGRES_PIPELINE_SYNC.
 *		Returns the first real result (caller frees), or NULL if none or the
 *		connection failed.
 */
static PGresult *
drain_to_sync(PGconn *conn)
{
	PGresult   *first = NULL;
	PGresult   *res;
	int			nulls = 0;

	for (;;)
	{
		res = PQgetResult(conn);
		if (res == NULL)
		{
			/* NULL ends one query's results; two in a row means trouble */
			if (++nulls > 1 || PQstatus(conn) == CONNECTION_BAD)
				return first;
			continue;
		}
		nulls = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		{
			PQclear(res);
			return first;
		}
		if (first == NULL)
			first = res;
		else
			PQclear(res);
	}
}

/* Leave pipeline mode, discarding anything left. */
static void
leave_pipeline(PGconn *conn)
{
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn) == 0)
	{
		/* results still pending: the connection is not reusable */
		PGresult   *res;
		int			guard = 0;

		while ((res = PQgetResult(conn)) != NULL && guard++ < 100)
			PQclear(res);
		(void) PQexitPipelineMode(conn);
	}
}

/*
 * rr_session_write
 *		Run a write on node's connection and record the token.  *result is
 *		the write's own result (NULL if the connection failed).  Returns 0,
 *		or -1 with the handle's error set if the pipeline could not even be
 *		sent.
 */
int
rr_session_write(RRcluster *rr, rr_node *node, const char *sql, int nParams,
				 const char *const *paramValues, PGresult **result)
{
	PGconn	   *conn = node->conn;
	PGresult   *lsnres;
	uint64_t	lsn;

	*result = NULL;
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
	{
		rr_set_error(rr, "the connection to %s:%s is in pipeline mode; leave it before calling RRexec",
					 RRnodeHost(rr, node->index), node->params->port);
		return -1;
	}
	if (!PQenterPipelineMode(conn) ||
		!PQsendQueryParams(conn, sql, nParams, NULL, paramValues, NULL, NULL, 0) ||
		!PQpipelineSync(conn) ||
		!PQsendQueryParams(conn, INSERT_LSN_QUERY, 0, NULL, NULL, NULL, NULL, 0) ||
		!PQpipelineSync(conn))
	{
		leave_pipeline(conn);
		return 0;				/* caller sees the broken connection */
	}
	*result = drain_to_sync(conn);
	lsnres = drain_to_sync(conn);
	if (lsnres && PQresultStatus(lsnres) == PGRES_TUPLES_OK &&
		PQntuples(lsnres) == 1 && PQnfields(lsnres) == 1 &&
		rr_parse_lsn(PQgetvalue(lsnres, 0, 0), &lsn) == 0)
		note_token(rr, lsn);
	PQclear(lsnres);
	leave_pipeline(conn);
	return 0;
}

/*
 * rr_session_read
 *		On node, wait for the session token with wait_for_lsn, then run the
 *		read (sql may be NULL: wait only), in one round trip.  *caught_up says
 *		whether the wait succeeded; if not, the returned result (if any)
 *		must be discarded by the caller.
 */
PGresult *
rr_session_read(RRcluster *rr, rr_node *node, const char *sql, int nParams,
				const char *const *paramValues, bool *caught_up)
{
	PGconn	   *conn = node->conn;
	char		token[32];
	char		wait_ms[32];
	const char *wait_params[2];
	PGresult   *waitres;
	PGresult   *res = NULL;

	*caught_up = false;
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		return NULL;
	rr_format_lsn(rr->session_lsn, token, sizeof(token));
	rr_format(wait_ms, sizeof(wait_ms), "%lld",
			  (long long) ((rr->opts.causal_wait_us + 999) / 1000));
	wait_params[0] = token;
	wait_params[1] = wait_ms;

	if (!PQenterPipelineMode(conn) ||
		!PQsendQueryParams(conn, WAIT_CALL, 2, NULL, wait_params, NULL, NULL, 0) ||
		!PQpipelineSync(conn) ||
		(sql != NULL &&
		 (!PQsendQueryParams(conn, sql, nParams, NULL, paramValues, NULL, NULL, 0) ||
		  !PQpipelineSync(conn))))
	{
		leave_pipeline(conn);
		return NULL;
	}
	waitres = drain_to_sync(conn);
	if (sql != NULL)
		res = drain_to_sync(conn);
	leave_pipeline(conn);

	if (waitres && PQresultStatus(waitres) == PGRES_TUPLES_OK &&
		PQntuples(waitres) == 1 && strcmp(PQgetvalue(waitres, 0, 0), "success") == 0)
	{
		*caught_up = true;
		if (rr->session_lsn > node->replayed_lsn)
			node->replayed_lsn = rr->session_lsn;
	}
	PQclear(waitres);
	return res;
}

const char *
RRsessionToken(RRcluster *rr)
{
	if (rr == NULL)
		return "";
	if (rr->session_lsn == RR_INVALID_LSN)
		rr->token_text[0] = '\0';
	else
		rr_format_lsn(rr->session_lsn, rr->token_text, sizeof(rr->token_text));
	return rr->token_text;
}

int
RRsetSessionToken(RRcluster *rr, const char *token)
{
	uint64_t	lsn;

	if (rr == NULL)
		return -1;
	if (token == NULL || *token == '\0')
	{
		rr_set_error(rr, "invalid session token: the token is empty");
		return -1;
	}
	if (rr_parse_lsn(token, &lsn) < 0)
	{
		rr_set_error(rr, "invalid session token \"%.64s\": expected a WAL position such as \"16/B374D848\"",
					 token);
		return -1;
	}
	note_token(rr, lsn);
	return 0;
}

int
RRrecordWrite(RRcluster *rr)
{
	rr_node    *node;
	PGresult   *res;
	uint64_t	lsn;
	char		msg[RR_ERRBUF_SIZE];

	if (rr == NULL)
		return -1;
	if (rr->status != RR_OK)
	{
		rr_set_error(rr, "the replroute handle is not usable");
		return -1;
	}
	rr_refresh_if_stale(rr);
	if ((node = rr_route_write(rr)) == NULL || rr_node_conn(rr, node) == NULL)
		return -1;
	res = PQexec(node->conn, INSERT_LSN_QUERY);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
		PQntuples(res) != 1 || rr_parse_lsn(PQgetvalue(res, 0, 0), &lsn) < 0)
	{
		rr_trim(res ? PQresultErrorMessage(res) : PQerrorMessage(node->conn),
				msg, sizeof(msg));
		rr_set_error(rr, "could not read the WAL position on the primary %s:%s: %s",
					 RRnodeHost(rr, node->index), node->params->port, msg);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	note_token(rr, lsn);
	return 0;
}
