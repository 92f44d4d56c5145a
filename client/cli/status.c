/*-------------------------------------------------------------------------
 *
 * status.c
 *		"replroute status": the cluster in one header line (system
 *		identifier, primary, timeline), every node as the router sees it,
 *		notes on the nodes not in use (and on paused or not streaming
 *		standbys), then the primary's replication slots; as an aligned table
 *		that fits 80 columns with IPv4 hosts, or as one JSON object; once, or
 *		again and again (--watch).
 *
 * The state column holds one word per node, the same word as the notes,
 * the JSON "condition", check and metrics: RRreasonName() of the node's
 * reason ("ok", "down", "connecting", "replay_paused", ...).  The JSON
 * keeps the interface contract's "state" ("up": the node answered its
 * health query; "down").
 *
 * Exit code: 0 when some node can serve (a primary, or a node fit for
 * reads), 1 when none can, also when no node answered at all (the picture
 * is printed all the same, the JSON too).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define STATUS_NCOLS	8
#define STATUS_WIDTH	80		/* notes are wrapped to this */

static const char *const status_headers[STATUS_NCOLS] = {
	"host", "port", "state", "role", "tl", "wal_lsn", "lag", "lag_s"
};
static const bool status_right[STATUS_NCOLS] = {
	false, true, false, false, true, false, true, true
};

/*
 * print_header_line
 *		"cluster SYSID, primary HOST:PORT, timeline N".
 */
static void
print_header_line(const RRcluster *rr)
{
	uint64_t	sysid = RRsystemIdentifier(rr);
	int			primary = RRprimaryNode(rr);
	int			tli = cli_cluster_timeline(rr);

	if (sysid != 0)
		printf("cluster %" PRIu64, sysid);
	else
		fputs("cluster unknown (no node answered)", stdout);
	if (primary >= 0)
		printf(", primary %s:%s", cli_node_host(rr, primary), cli_node_port(rr, primary));
	else
		fputs(", no primary", stdout);
	if (tli >= 0)
		printf(", timeline %d", tli);
	fputs("\n\n", stdout);
}

/*
 * add_node_row
 *		One table row for node i.
 */
static void
add_node_row(cli_table *t, const RRcluster *rr, int i)
{
	const char *role = cli_role_name(RRnodeRole(rr, i));
	const char *lsn = RRnodeWalLsn(rr, i);
	RRreason	reason = RRnodeReason(rr, i);
	int			tli = RRnodeTimeline(rr, i);
	int64_t		lag_bytes = RRnodeLagBytes(rr, i);
	double		lag_seconds = RRnodeLagSeconds(rr, i);
	const char *lag_colour = NULL;
	char		buf[64];

	if (reason == RR_REASON_LAG_OVER_LIMIT || reason == RR_REASON_REPLAY_PAUSED ||
		reason == RR_REASON_NOT_STREAMING)
		lag_colour = CLI_YELLOW;

	cli_table_cell(t, NULL, cli_node_host(rr, i));
	cli_table_cell(t, NULL, cli_node_port(rr, i));
	cli_table_cell(t, cli_reason_colour(reason), cli_node_condition(rr, i));
	cli_table_cell(t, NULL, role ? role : "-");
	if (tli >= 0)
		snprintf(buf, sizeof(buf), "%d", tli);
	else
		snprintf(buf, sizeof(buf), "-");
	cli_table_cell(t, NULL, buf);
	cli_table_cell(t, NULL, lsn ? lsn : "-");
	if (lag_bytes >= 0)
		cli_format_bytes(lag_bytes, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	cli_table_cell(t, lag_colour, buf);
	if (lag_seconds >= 0)
		cli_format_seconds(lag_seconds, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	cli_table_cell(t, lag_colour, buf);
}

/*
 * node_note
 *		The note on node i, or NULL if it needs none: why a node is not ok,
 *		and what an ok standby's lag does not show yet (replay paused, WAL
 *		receiver stopped).  malloc'd.
 */
static char *
node_note(const RRcluster *rr, int i)
{
	if (RRnodeReason(rr, i) != RR_REASON_OK)
		return cli_node_why(rr, i);
	if (!cli_node_is_standby(rr, i))
		return NULL;
	if (RRnodeReplayPaused(rr, i) == 1)
		return cli_strdup("replay is paused (its lag is within the limits so far)");
	if (RRnodeStreaming(rr, i) == 0)
		return cli_strdup("its WAL receiver is not streaming (its lag is within the "
						  "limits so far)");
	return NULL;
}

/*
 * print_notes
 *		One note per node that needs one, each wrapped to 80 columns.
 */
static void
print_notes(const RRcluster *rr)
{
	int			n = RRnodeCount(rr);
	int			i;
	bool		header = false;

	for (i = 0; i < n; i++)
	{
		char	   *note = node_note(rr, i);
		char	   *first;

		if (note == NULL)
			continue;
		if (!header)
		{
			fputs("\nNotes:\n", stdout);
			header = true;
		}
		first = cli_psprintf("  %s:%s %s: ", cli_node_host(rr, i), cli_node_port(rr, i),
							 cli_node_condition(rr, i));
		cli_print_wrapped(stdout, first, "      ", note, STATUS_WIDTH);
		free(first);
		free(note);
	}
}

/*
 * print_slots_table
 *		The primary's slots, or a line saying why they are not shown.
 */
static void
print_slots_table(const RRcluster *rr, const cli_slots *slots, bool colour)
{
	static const char *const headers[] = {
		"slot_name", "active", "wal_status", "retained_bytes"
	};
	static const bool right[] = {false, false, false, true};
	cli_table  *t;
	int			i,
				n = cli_slots_count(slots);

	if (slots->res == NULL)
	{
		char	   *why = cli_psprintf("(%s)", slots->error);

		cli_print_wrapped(stdout, "\nReplication slots: not available ", "  ", why,
						  STATUS_WIDTH + 1);
		free(why);
		return;
	}
	printf("\nReplication slots on the primary %s:%s:",
		   cli_node_host(rr, slots->node), cli_node_port(rr, slots->node));
	if (n == 0)
	{
		fputs(" none\n", stdout);
		return;
	}
	fputc('\n', stdout);
	t = cli_table_create(4, headers, right);
	for (i = 0; i < n; i++)
	{
		int			active = cli_slot_active(slots, i);
		const char *ws = cli_slot_wal_status(slots, i);
		const char *ws_colour = NULL;
		int64_t		retained;
		char		buf[64];

		if (ws && strcmp(ws, "lost") == 0)
			ws_colour = CLI_RED;
		else if (ws && (strcmp(ws, "extended") == 0 || strcmp(ws, "unreserved") == 0))
			ws_colour = CLI_YELLOW;
		cli_table_cell(t, NULL, cli_slot_name(slots, i));
		cli_table_cell(t, active == 1 ? CLI_GREEN : CLI_YELLOW,
					   active == 1 ? "yes" : active == 0 ? "no" : "-");
		cli_table_cell(t, ws_colour, ws ? ws : "-");
		if (cli_slot_retained(slots, i, &retained))
			cli_format_bytes(retained, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "-");
		cli_table_cell(t, NULL, buf);
	}
	cli_table_print(t, stdout, colour);
	cli_table_free(t);
}

/*
 * print_table
 *		The human form: header line, node table, notes, slots.
 */
static void
print_table(const RRcluster *rr, const cli_slots *slots, bool colour)
{
	cli_table  *t = cli_table_create(STATUS_NCOLS, status_headers, status_right);
	int			n = RRnodeCount(rr);
	int			i;

	print_header_line(rr);
	for (i = 0; i < n; i++)
		add_node_row(t, rr, i);
	cli_table_print(t, stdout, colour);
	cli_table_free(t);
	print_notes(rr);
	print_slots_table(rr, slots, colour);
}

/* A JSON number for a port string, or null. */
static void
json_port(const char *port)
{
	char	   *end;
	long		v;

	errno = 0;
	v = port ? strtol(port, &end, 10) : -1;
	if (port == NULL || errno != 0 || end == port || *end != '\0' || v < 0)
		fputs("null", stdout);
	else
		printf("%ld", v);
}

/* A JSON boolean for a 1/0/-1 accessor. */
static void
json_tristate(const char *key, int v)
{
	printf(",\"%s\":%s", key, v == 1 ? "true" : v == 0 ? "false" : "null");
}

/* The "cluster" member: system identifier (a string: 64 bits), primary, timeline. */
static void
print_json_cluster(const RRcluster *rr)
{
	uint64_t	sysid = RRsystemIdentifier(rr);
	int			primary = RRprimaryNode(rr);
	int			tli = cli_cluster_timeline(rr);

	fputs("\"cluster\":{\"system_identifier\":", stdout);
	if (sysid != 0)
		printf("\"%" PRIu64 "\"", sysid);
	else
		fputs("null", stdout);
	fputs(",\"primary\":", stdout);
	if (primary >= 0)
	{
		fputs("{\"host\":", stdout);
		cli_json_string(stdout, cli_node_host(rr, primary));
		fputs(",\"port\":", stdout);
		json_port(RRnodePort(rr, primary));
		fputc('}', stdout);
	}
	else
		fputs("null", stdout);
	if (tli >= 0)
		printf(",\"timeline\":%d}", tli);
	else
		fputs(",\"timeline\":null}", stdout);
}

/*
 * print_json
 *		The machine form: one JSON object on one line (one per refresh with
 *		--watch, i.e. JSON lines).  Unknown values are null.  error, when
 *		given, says why no node can serve.
 */
static void
print_json(const RRcluster *rr, const cli_slots *slots, const char *error)
{
	int			n = RRnodeCount(rr);
	int			i;

	fputc('{', stdout);
	print_json_cluster(rr);
	fputs(",\"nodes\":[", stdout);
	for (i = 0; i < n; i++)
	{
		int			tli = RRnodeTimeline(rr, i);
		int64_t		lag_bytes = RRnodeLagBytes(rr, i);
		double		lag_seconds = RRnodeLagSeconds(rr, i);
		char	   *why = cli_node_why(rr, i);

		if (i > 0)
			fputc(',', stdout);
		fputs("{\"host\":", stdout);
		cli_json_string(stdout, cli_node_host(rr, i));
		fputs(",\"port\":", stdout);
		json_port(RRnodePort(rr, i));
		fputs(",\"state\":", stdout);
		cli_json_string(stdout, cli_node_state(rr, i));
		fputs(",\"condition\":", stdout);
		cli_json_string(stdout, cli_node_condition(rr, i));
		fputs(",\"role\":", stdout);
		cli_json_string(stdout, cli_role_name(RRnodeRole(rr, i)));
		if (tli >= 0)
			printf(",\"timeline\":%d", tli);
		else
			fputs(",\"timeline\":null", stdout);
		fputs(",\"wal_lsn\":", stdout);
		cli_json_string(stdout, RRnodeWalLsn(rr, i));
		if (lag_bytes >= 0)
			printf(",\"lag_bytes\":%" PRId64, lag_bytes);
		else
			fputs(",\"lag_bytes\":null", stdout);
		if (lag_seconds >= 0 && isfinite(lag_seconds))
			printf(",\"lag_seconds\":%.3f", lag_seconds);
		else
			fputs(",\"lag_seconds\":null", stdout);
		printf(",\"routable\":%s", RRnodeRoutable(rr, i) ? "true" : "false");
		fputs(",\"reason\":", stdout);
		cli_json_string(stdout, why[0] ? why : NULL);
		json_tristate("streaming", RRnodeStreaming(rr, i));
		json_tristate("replay_paused", RRnodeReplayPaused(rr, i));
		fputc('}', stdout);
		free(why);
	}
	fputs("],\"slots\":[", stdout);
	for (i = 0; i < cli_slots_count(slots); i++)
	{
		int			active = cli_slot_active(slots, i);
		int64_t		retained;

		if (i > 0)
			fputc(',', stdout);
		fputs("{\"slot_name\":", stdout);
		cli_json_string(stdout, cli_slot_name(slots, i));
		printf(",\"active\":%s", active == 1 ? "true" : active == 0 ? "false" : "null");
		fputs(",\"wal_status\":", stdout);
		cli_json_string(stdout, cli_slot_wal_status(slots, i));
		if (cli_slot_retained(slots, i, &retained))
			printf(",\"retained_bytes\":%" PRId64 "}", retained);
		else
			fputs(",\"retained_bytes\":null}", stdout);
	}
	fputc(']', stdout);
	if (slots->res == NULL)
	{
		fputs(",\"slots_error\":", stdout);
		cli_json_string(stdout, slots->error);
	}
	if (error != NULL)
	{
		fputs(",\"error\":", stdout);
		cli_json_string(stdout, error);
	}
	fputs("}\n", stdout);
}

/*
 * serve_error
 *		NULL when some node can serve, else why none can (malloc'd): the
 *		library's message when no node answered at all, on one line.
 */
static char *
serve_error(const RRcluster *rr)
{
	char	   *no_primary;
	char	   *msg;

	if (RRstatus(rr) != RR_OK)
	{
		const char *m = RRerrorMessage(rr);
		size_t		len = strcspn(m, "\n");

		msg = cli_malloc(len + 1);
		memcpy(msg, m, len);
		msg[len] = '\0';
		if (len > 0 && msg[len - 1] == ':')
			msg[len - 1] = '\0';
		return msg;
	}
	if (cli_cluster_can_serve(rr))
		return NULL;
	no_primary = cli_no_primary_headline(rr);
	msg = cli_psprintf("no node can serve: %s, and no standby is fit for reads", no_primary);
	free(no_primary);
	return msg;
}

/*
 * print_status
 *		One picture of the cluster, from the handle's latest health round.
 *		Returns true when some node can serve.
 */
static bool
print_status(RRcluster *rr, bool json, bool colour)
{
	cli_slots	slots;
	char	   *error = serve_error(rr);
	bool		ok = (error == NULL);

	cli_slots_read(rr, &slots);
	if (json)
		print_json(rr, &slots, error);
	else
		print_table(rr, &slots, colour);
	cli_slots_free(&slots);
	free(error);
	return ok;
}

/*
 * print_watch_header
 *		The first line of a redrawn screen, as watch(1) writes it.
 */
static void
print_watch_header(double seconds)
{
	char		when[64];
	time_t		now = time(NULL);
	struct tm	tm;

	if (localtime_r(&now, &tm) == NULL ||
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	printf("Every %gs: replroute status (Ctrl-C to stop)    %s\n\n", seconds, when);
}

/*
 * watch
 *		Picture after picture until a signal or a closed stdout.  On a
 *		terminal each one replaces the last (clear screen, cursor home);
 *		elsewhere they follow each other, separated by a blank line.  A
 *		handle on which no node answered is connected anew each time.
 *		Returns the exit code: 0 once a picture was printed.
 */
static int
watch(RRcluster **rrp, const cli_args *args)
{
	bool		tty = isatty(STDOUT_FILENO) == 1;
	bool		colour = !args->json && cli_use_colour();
	int			shown = 0;

	cli_signals_watch(true);
	while (!cli_signals_stop_requested())
	{
		if (shown > 0)
		{
			if (RRstatus(*rrp) != RR_OK)
			{
				cli_disconnect(rrp);
				if (cli_connect(args->conninfo, args->options, rrp) == CONNECT_NO_MEMORY)
					cli_out_of_memory();
			}
			if (RRstatus(*rrp) == RR_OK)
				(void) RRrefresh(*rrp); /* all nodes down still makes a picture */
		}
		if (cli_signals_stop_requested())
			break;
		if (args->json)
			;					/* JSON lines: no separators */
		else if (tty)
		{
			fputs("\033[H\033[2J", stdout);
			print_watch_header(args->watch_seconds);
		}
		else if (shown > 0)
			fputc('\n', stdout);
		(void) print_status(*rrp, args->json, colour);
		if (!cli_finish_stdout())
			return shown > 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
		shown++;
		cli_signals_sleep(args->watch_seconds);
	}
	return CLI_EXIT_OK;
}

/*
 * cli_cmd_status
 *		replroute status [--json] [--watch [SECONDS]] [-o OPTIONS] [CONNINFO]
 */
int
cli_cmd_status(const cli_args *args)
{
	RRcluster  *rr = NULL;
	int			rc;
	bool		ok;

	if ((rc = cli_connect_picture(args->conninfo, args->options, &rr)) >= 0)
		return rc;

	if (args->watch)
		rc = watch(&rr, args);
	else
	{
		ok = print_status(rr, args->json, !args->json && cli_use_colour());
		rc = cli_finish_stdout() && ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
		if (!ok && RRstatus(rr) == RR_OK)
		{
			char	   *why = serve_error(rr);

			cli_error("%s", why);
			free(why);
		}
	}
	cli_disconnect(&rr);
	return rc;
}
