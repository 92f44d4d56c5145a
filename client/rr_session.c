/*-------------------------------------------------------------------------
 *
 * rr_session.c
 *		Read-your-writes: the session token (the primary's WAL insert
 *		position after this handle's last write) and reads that honour it.
 *
 * A write with consistency=session is sent in pipeline mode followed by a
 * Sync and "SELECT pg_current_wal_insert_lsn()": the write commits at the
 * Sync (unless inside a transaction block), the position is read in the
 * next transaction, both in one network round trip (rr_run drives both,
 * with the health probes going on).  A read then goes to a
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

/* Note the token an INSERT_LSN_QUERY result carries, if it is one. */
static void
note_token_result(RRcluster *rr, const PGresult *res)
{
	uint64_t	lsn;

	if (res && PQresultStatus(res) == PGRES_TUPLES_OK &&
		PQntuples(res) == 1 && PQnfields(res) == 1 &&
		rr_parse_lsn(PQgetvalue(res, 0, 0), &lsn) == 0)
		note_token(rr, lsn);
}

/*
 * rr_session_write
 *		Run a write on node's connection and record the token, in one round
 *		trip (see the file header).  Returns the write's own result; *st is
 *		the outcome (rr_run), err its reason.
 */
PGresult *
rr_session_write(RRcluster *rr, rr_node *node, const char *sql, int nParams,
				 const char *const *paramValues, rr_run_status *st,
				 char *err, size_t errlen)
{
	rr_query	q[2];
	PGresult   *res[2];

	if (PQpipelineStatus(node->conn) != PQ_PIPELINE_OFF)
	{
		rr_format(err, errlen, "the connection is in pipeline mode; leave it before calling RRexec");
		*st = RR_RUN_REFUSED;
		return NULL;
	}
	q[0].sql = sql;
	q[0].nparams = nParams;
	q[0].params = paramValues;
	q[0].extended = true;
	q[1].sql = INSERT_LSN_QUERY;
	q[1].nparams = 0;
	q[1].params = NULL;
	q[1].extended = true;
	*st = rr_run(rr, node, q, 2, res, err, errlen);
	if (*st != RR_RUN_DONE)
		return NULL;
	note_token_result(rr, res[1]);
	PQclear(res[1]);
	return res[0];
}

/*
 * rr_session_read
 *		On node, wait for the session token with wait_for_lsn, then run the
 *		read (sql may be NULL: wait only), in one round trip.  *caught_up
 *		says whether the wait succeeded; if not, the returned result (if
 *		any) must be discarded by the caller.  *st is the outcome (rr_run).
 */
PGresult *
rr_session_read(RRcluster *rr, rr_node *node, const char *sql, int nParams,
				const char *const *paramValues, bool *caught_up,
				rr_run_status *st, char *err, size_t errlen)
{
	char		token[32];
	char		wait_ms[32];
	const char *wait_params[2];
	rr_query	q[2];
	PGresult   *res[2] = {NULL, NULL};
	int			nq = (sql != NULL) ? 2 : 1;

	*caught_up = false;
	if (PQpipelineStatus(node->conn) != PQ_PIPELINE_OFF)
	{
		rr_format(err, errlen, "the connection is in pipeline mode; leave it before calling RRexec");
		*st = RR_RUN_REFUSED;
		return NULL;
	}
	rr_format_lsn(rr->session_lsn, token, sizeof(token));
	rr_format(wait_ms, sizeof(wait_ms), "%lld",
			  (long long) ((rr->opts.causal_wait_us + 999) / 1000));
	wait_params[0] = token;
	wait_params[1] = wait_ms;
	q[0].sql = WAIT_CALL;
	q[0].nparams = 2;
	q[0].params = wait_params;
	q[0].extended = true;
	q[1].sql = sql;
	q[1].nparams = nParams;
	q[1].params = paramValues;
	q[1].extended = true;

	*st = rr_run(rr, node, q, nq, res, err, errlen);
	if (*st != RR_RUN_DONE)
		return NULL;
	if (res[0] && PQresultStatus(res[0]) == PGRES_TUPLES_OK &&
		PQntuples(res[0]) == 1 && strcmp(PQgetvalue(res[0], 0, 0), "success") == 0)
	{
		*caught_up = true;
		if (rr->session_lsn > node->fact->replayed_lsn)
			node->fact->replayed_lsn = rr->session_lsn;
	}
	PQclear(res[0]);
	return res[1];
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
	rr_query	q;
	PGresult   *res = NULL;
	rr_run_status st;
	uint64_t	lsn;
	char		err[RR_ERRBUF_SIZE];

	if (rr == NULL)
		return -1;
	if (rr->status != RR_OK)
	{
		rr_set_error(rr, "the replroute handle is not usable");
		return -1;
	}
	rr_prepare(rr, RR_WRITE);
	if ((node = rr_route_write(rr)) == NULL || rr_node_conn(rr, node) == NULL)
		return -1;
	q.sql = INSERT_LSN_QUERY;
	q.nparams = 0;
	q.params = NULL;
	q.extended = false;
	st = rr_run(rr, node, &q, 1, &res, err, sizeof(err));
	if (st == RR_RUN_DONE && res && PQresultStatus(res) == PGRES_TUPLES_OK &&
		PQntuples(res) == 1 && rr_parse_lsn(PQgetvalue(res, 0, 0), &lsn) == 0)
	{
		PQclear(res);
		note_token(rr, lsn);
		return 0;
	}
	if (st == RR_RUN_DONE)
		rr_trim(res ? PQresultErrorMessage(res) : "no result", err, sizeof(err));
	rr_set_error(rr, "could not read the WAL position on the primary %s:%s: %s",
				 rr_node_host(rr, node), node->params->port, err);
	PQclear(res);
	return -1;
}
