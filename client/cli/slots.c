/*-------------------------------------------------------------------------
 *
 * slots.c
 *		The primary's replication slots, as "status", "check" and "metrics"
 *		show them: replroute.slots() run through RRexec on the primary, so
 *		that the wait is bounded like any statement's (a primary that stops
 *		answering is given up after node_timeout) and a signal cancels it.
 *
 * Reading slots needs pg_monitor and a reachable primary; when either is
 * missing the caller gets a one-line reason instead, never a failure of
 * the whole command.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SLOTS_QUERY \
	"SELECT slot_name, active, wal_status, retained_bytes " \
	"FROM replroute.slots() ORDER BY slot_name"
#define SLOTS_NCOLS		4

/*
 * cli_slots_read
 *		Fill *slots: the result of SLOTS_QUERY on the primary, or a reason.
 *		Release with cli_slots_free.
 */
void
cli_slots_read(RRcluster *rr, cli_slots *slots)
{
	PGresult   *res;

	slots->res = NULL;
	slots->node = -1;
	slots->error = NULL;

	if (RRstatus(rr) != RR_OK || RRprimaryNode(rr) < 0)
	{
		slots->error = cli_no_primary_headline(rr);
		return;
	}
	cli_signals_statement(true);
	res = RRexec(rr, RR_WRITE, SLOTS_QUERY);
	cli_signals_statement(false);
	if (res == NULL)
	{
		/* the library's first line says what happened to the statement */
		const char *msg = RRerrorMessage(rr);
		size_t		len = strcspn(msg, "\n");
		char	   *line = cli_malloc(len + 1);

		memcpy(line, msg, len);
		line[len] = '\0';
		slots->error = cli_one_line(line);
		free(line);
		return;
	}
	slots->node = RRlastNode(rr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != SLOTS_NCOLS)
	{
		slots->error = PQresultStatus(res) == PGRES_TUPLES_OK ?
			cli_psprintf("unexpected answer from replroute.slots() (%d columns)",
						 PQnfields(res)) :
			cli_result_error(res);
		PQclear(res);
		return;
	}
	slots->res = res;
}

/* Number of slots read (0 if they could not be read). */
int
cli_slots_count(const cli_slots *slots)
{
	return slots->res ? PQntuples(slots->res) : 0;
}

/* Slot i's name. */
const char *
cli_slot_name(const cli_slots *slots, int i)
{
	return PQgetvalue(slots->res, i, 0);
}

/* 1 if slot i is active, 0 if not, -1 if unknown. */
int
cli_slot_active(const cli_slots *slots, int i)
{
	if (PQgetisnull(slots->res, i, 1))
		return -1;
	return strcmp(PQgetvalue(slots->res, i, 1), "t") == 0 ? 1 : 0;
}

/* Slot i's wal_status, or NULL. */
const char *
cli_slot_wal_status(const cli_slots *slots, int i)
{
	if (PQgetisnull(slots->res, i, 2))
		return NULL;
	return PQgetvalue(slots->res, i, 2);
}

/*
 * cli_slot_retained
 *		Slot i's retained_bytes; false if NULL (or not an integer, which
 *		would be a bug of the extension: never printed as a JSON number).
 */
bool
cli_slot_retained(const cli_slots *slots, int i, int64_t *bytes)
{
	const char *s;
	char	   *end;
	long long	v;

	if (PQgetisnull(slots->res, i, 3))
		return false;
	s = PQgetvalue(slots->res, i, 3);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return false;
	*bytes = (int64_t) v;
	return true;
}

/* Release what cli_slots_read filled in. */
void
cli_slots_free(cli_slots *slots)
{
	PQclear(slots->res);
	free(slots->error);
	slots->res = NULL;
	slots->error = NULL;
}
