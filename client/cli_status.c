/*-------------------------------------------------------------------------
 *
 * cli_status.c
 *		"replroute status": every node as the router sees it, then the
 *		primary's replication slots; as an aligned table or as one JSON
 *		object, once or again and again (--watch).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define STATUS_NCOLS	9

static const char *const status_headers[STATUS_NCOLS] = {
	"host", "port", "state", "role", "timeline", "wal_lsn", "lag_bytes",
	"lag_seconds", "routable"
};
static const bool status_right[STATUS_NCOLS] = {
	false, true, false, false, true, false, true, true, false
};

/* Set by SIGINT/SIGTERM during --watch. */
static volatile sig_atomic_t stop_requested = 0;

/*
 * node_reason
 *		Why the node is not up and fit for reads, for the notes; never NULL.
 */
static const char *
node_reason(const RRcluster *rr, int i)
{
	const char *why = RRnodeError(rr, i);

	if (why != NULL && *why != '\0')
		return why;
	if (RRnodeStatus(rr, i) == RR_NODE_DOWN)
		return "no answer";
	if (RRnodeStatus(rr, i) != RR_NODE_EXCLUDED && RRnodeWalLsn(rr, i) == NULL)
		return "reconnecting, no health answer yet";
	return "no reason given";
}

/* Is node i a standby held back only by its lag? */
static bool
is_lagging(const RRcluster *rr, int i)
{
	const char *why = RRnodeError(rr, i);

	return !RRnodeRoutable(rr, i) && why != NULL && strncmp(why, "lags ", 5) == 0;
}

/*
 * add_node_row
 *		One table row for node i.
 */
static void
add_node_row(cli_table *t, const RRcluster *rr, int i)
{
	const char *state = cli_state_name(rr, i);
	const char *condition = cli_node_condition(rr, i);
	const char *role = cli_role_name(RRnodeRole(rr, i));
	const char *lsn = RRnodeWalLsn(rr, i);
	const char *lag_colour = is_lagging(rr, i) ? CLI_YELLOW : NULL;
	const char *state_colour;
	int			tli = RRnodeTimeline(rr, i);
	int64_t		lag_bytes = RRnodeLagBytes(rr, i);
	double		lag_seconds = RRnodeLagSeconds(rr, i);
	bool		routable = RRnodeRoutable(rr, i) == 1;
	char		buf[64];

	if (strcmp(condition, "up") == 0)
		state_colour = CLI_GREEN;
	else if (strcmp(condition, "down") == 0)
		state_colour = CLI_RED;
	else
		state_colour = CLI_YELLOW;	/* excluded or connecting */

	cli_table_cell(t, NULL, cli_node_host(rr, i));
	cli_table_cell(t, NULL, cli_node_port(rr, i));
	cli_table_cell(t, state_colour, state);
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
	cli_table_cell(t, routable ? CLI_GREEN : CLI_RED, routable ? "yes" : "no");
}

/*
 * print_notes
 *		One line per node that is not up and routable, saying why.
 */
static void
print_notes(const RRcluster *rr)
{
	int			n = RRnodeCount(rr);
	int			i;
	bool		header = false;

	for (i = 0; i < n; i++)
	{
		const char *state = cli_node_condition(rr, i);
		char	   *why;

		if (strcmp(state, "up") == 0 && RRnodeRoutable(rr, i))
			continue;
		if (!header)
		{
			fputs("\nNotes:\n", stdout);
			header = true;
		}
		why = cli_one_line(node_reason(rr, i));
		printf("  %s:%s %s: %s\n", cli_node_host(rr, i), cli_node_port(rr, i),
			   strcmp(state, "up") == 0 ? "not routable" : state, why);
		free(why);
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
		printf("\nReplication slots: not available (%s)\n", slots->error);
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
 *		The human form: node table, notes, slots.
 */
static void
print_table(const RRcluster *rr, const cli_slots *slots, bool colour)
{
	cli_table  *t = cli_table_create(STATUS_NCOLS, status_headers, status_right);
	int			n = RRnodeCount(rr);
	int			i;

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

/*
 * print_json
 *		The machine form: one JSON object on one line (one per refresh with
 *		--watch, i.e. JSON lines).  Unknown values are null.
 */
static void
print_json(const RRcluster *rr, const cli_slots *slots)
{
	int			n = RRnodeCount(rr);
	int			i;

	fputs("{\"nodes\":[", stdout);
	for (i = 0; i < n; i++)
	{
		int			tli = RRnodeTimeline(rr, i);
		int64_t		lag_bytes = RRnodeLagBytes(rr, i);
		double		lag_seconds = RRnodeLagSeconds(rr, i);
		const char *why = RRnodeError(rr, i);
		const char *state = cli_state_name(rr, i);

		if (i > 0)
			fputc(',', stdout);
		fputs("{\"host\":", stdout);
		cli_json_string(stdout, cli_node_host(rr, i));
		fputs(",\"port\":", stdout);
		json_port(RRnodePort(rr, i));
		fputs(",\"state\":", stdout);
		cli_json_string(stdout, state);
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
		if ((why && *why) || strcmp(state, "up") != 0)
			cli_json_string(stdout, node_reason(rr, i));
		else
			fputs("null", stdout);
		fputc('}', stdout);
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
	fputs("}\n", stdout);
}

/*
 * print_status
 *		One picture of the cluster, from the handle's latest health round.
 */
static void
print_status(RRcluster *rr, bool json, bool colour)
{
	cli_slots	slots;

	cli_slots_read(rr, &slots);
	if (json)
		print_json(rr, &slots);
	else
		print_table(rr, &slots, colour);
	cli_slots_free(&slots);
}

/* SIGINT/SIGTERM handler during --watch: stop after this picture. */
static void
request_stop(int signo)
{
	(void) signo;
	stop_requested = 1;
}

/*
 * sleep_seconds
 *		Sleep, returning early when a stop is requested.
 */
static void
sleep_seconds(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t) seconds;
	ts.tv_nsec = (long) ((seconds - (double) ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
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
 *		Picture after picture until SIGINT/SIGTERM or a closed stdout.  On a
 *		terminal each one replaces the last (clear screen, cursor home);
 *		elsewhere they follow each other, separated by a blank line.
 *		Returns the exit code: 0 once a picture was printed.
 */
static int
watch(RRcluster *rr, const cli_args *args)
{
	struct sigaction sa;
	bool		tty = isatty(STDOUT_FILENO) == 1;
	bool		colour = !args->json && cli_use_colour();
	int			shown = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = request_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;			/* no SA_RESTART: interrupt the sleep */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!stop_requested)
	{
		if (shown > 0)
			(void) RRrefresh(rr);	/* all nodes down still makes a picture */
		if (stop_requested)
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
		print_status(rr, args->json, colour);
		if (!cli_finish_stdout())
			return shown > 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
		shown++;
		sleep_seconds(args->watch_seconds);
	}
	return CLI_EXIT_OK;
}

/*
 * cli_cmd_status
 *		replroute status [--json] [--watch [SECONDS]] [-o OPTIONS] CONNINFO
 */
int
cli_cmd_status(const cli_args *args)
{
	RRcluster  *rr = NULL;
	int			rc;

	if ((rc = cli_connect_or_report(args->conninfo, args->options, &rr)) != CLI_EXIT_OK)
		return rc;
	/* RRconnect returns once it can route: show every node */
	(void) RRrefresh(rr);

	if (args->watch)
		rc = watch(rr, args);
	else
	{
		print_status(rr, args->json, !args->json && cli_use_colour());
		rc = cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
	}
	cli_disconnect(&rr);
	return rc;
}
