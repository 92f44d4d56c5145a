/*-------------------------------------------------------------------------
 *
 * cli_check.c
 *		"replroute check": one summary line and the monitoring-plugin exit
 *		code (Nagios, Icinga, Sensu, ...).
 *
 * The decision is made from one picture of the cluster (the health round
 * of RRconnect) plus the primary's slots, in three steps that each add
 * findings, and one rule that turns findings into the verdict:
 *
 *	judge_node		per node: down, excluded, lagging, split brain
 *	judge_cluster	no primary, no node fit for reads
 *	judge_slots		lost, inactive or at-risk slots, unreadable slots
 *	verdict			the most severe finding, by
 *					CRITICAL > UNKNOWN > WARNING > OK
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One thing worth reporting, and how bad it is. */
typedef struct check_finding
{
	cli_check_state state;
	char	   *text;
} check_finding;

typedef struct check_report
{
	check_finding *items;
	int			n;
	int			cap;
	int			standbys_routable;
} check_report;

/*
 * severity_rank
 *		Order of precedence: CRITICAL > UNKNOWN > WARNING > OK.  (UNKNOWN
 *		outranks WARNING because something could not be judged at all, but
 *		a known CRITICAL problem must never be hidden behind it.)
 */
static int
severity_rank(cli_check_state s)
{
	switch (s)
	{
		case CHECK_OK:
			return 0;
		case CHECK_WARNING:
			return 1;
		case CHECK_UNKNOWN:
			return 2;
		case CHECK_CRITICAL:
			return 3;
	}
	return 2;
}

/* The state as the summary line names it. */
static const char *
state_label(cli_check_state s)
{
	switch (s)
	{
		case CHECK_OK:
			return "OK";
		case CHECK_WARNING:
			return "WARNING";
		case CHECK_CRITICAL:
			return "CRITICAL";
		case CHECK_UNKNOWN:
			return "UNKNOWN";
	}
	return "UNKNOWN";
}

/*
 * add_finding
 *		Record a finding; the text is made one line.
 */
static void
add_finding(check_report *r, cli_check_state state, const char *fmt,...)
	CLI_PRINTF(3, 4);

static void
add_finding(check_report *r, cli_check_state state, const char *fmt,...)
{
	va_list		ap;
	char	   *text;

	va_start(ap, fmt);
	text = cli_vpsprintf(fmt, ap);
	va_end(ap);

	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 16;
		r->items = cli_realloc(r->items, sizeof(check_finding) * (size_t) r->cap);
	}
	r->items[r->n].state = state;
	r->items[r->n].text = cli_one_line(text);
	r->n++;
	free(text);
}

/*
 * is_foreign
 *		Is an excluded node one of another cluster?  The library's reason
 *		then names the system identifier.
 */
static bool
is_foreign(const char *why)
{
	return strstr(why, "system identifier") != NULL;
}

/*
 * judge_node
 *		Findings about node i:
 *
 *		down, or not answering yet			WARNING
 *		excluded, of another cluster		CRITICAL
 *		excluded, extension not installed	UNKNOWN
 *		excluded, any other reason			WARNING (e.g. an old primary)
 *		standby not fit for reads			WARNING (over a lag limit, ...)
 *		claims primary beside another one	CRITICAL (split brain)
 */
static void
judge_node(const RRcluster *rr, int i, check_report *r)
{
	const char *host = cli_node_host(rr, i);
	const char *port = cli_node_port(rr, i);
	const char *why = RRnodeError(rr, i) ? RRnodeError(rr, i) : "";
	RRrole		role = RRnodeRole(rr, i);

	switch (RRnodeStatus(rr, i))
	{
		case RR_NODE_DOWN:
			add_finding(r, CHECK_WARNING, "node %s:%s down: %s", host, port,
						why[0] ? why : "no answer");
			return;
		case RR_NODE_CONNECTING:
			add_finding(r, CHECK_WARNING, "node %s:%s not answering yet", host, port);
			return;
		case RR_NODE_EXCLUDED:
			if (is_foreign(why))
				add_finding(r, CHECK_CRITICAL,
							"node %s:%s belongs to another cluster: %s", host, port, why);
			else if (strstr(why, "not installed") != NULL)
				add_finding(r, CHECK_UNKNOWN,
							"replroute extension missing on %s:%s", host, port);
			else
				add_finding(r, CHECK_WARNING, "node %s:%s excluded: %s",
							host, port, why[0] ? why : "no reason given");
			return;
		case RR_NODE_UP:
			break;
	}

	if (RRnodeWalLsn(rr, i) == NULL)
	{
		/* reconnecting after being down: no health answer yet */
		add_finding(r, CHECK_WARNING, "node %s:%s not answering yet", host, port);
		return;
	}
	if (role == RR_ROLE_PRIMARY)
	{
		if (RRprimaryNode(rr) != i)
			add_finding(r, CHECK_CRITICAL, "node %s:%s: %s", host, port,
						why[0] ? why : "claims to be primary but is not used as one");
		return;
	}
	if (RRnodeRoutable(rr, i))
		r->standbys_routable++;
	else if (strncmp(why, "lags ", 5) == 0)
		add_finding(r, CHECK_WARNING, "standby %s:%s %s", host, port, why);
	else
		add_finding(r, CHECK_WARNING, "standby %s:%s not fit for reads: %s",
					host, port, why[0] ? why : "no reason given");
}

/*
 * judge_cluster
 *		Findings about the whole: no primary (CRITICAL), no node that a read
 *		could go to (CRITICAL).  reads_need_standby: the options say
 *		fallback=error, so the primary does not count for reads.
 */
static void
judge_cluster(const RRcluster *rr, bool reads_need_standby, check_report *r)
{
	int			primary = RRprimaryNode(rr);

	if (primary < 0)
		add_finding(r, CHECK_CRITICAL, "no primary reachable");
	if (r->standbys_routable == 0 && (primary < 0 || reads_need_standby))
		add_finding(r, CHECK_CRITICAL, "no node fit for reads%s",
					primary >= 0 ? " (no standby within the lag limits, fallback=error)" : "");
}

/*
 * judge_slots
 *		Findings about the primary's slots: lost (CRITICAL); inactive, or
 *		wal_status extended/unreserved (WARNING); unreadable (WARNING).
 */
static void
judge_slots(const cli_slots *slots, check_report *r)
{
	int			i;

	if (slots->res == NULL)
	{
		add_finding(r, CHECK_WARNING, "replication slots unreadable: %s", slots->error);
		return;
	}
	for (i = 0; i < cli_slots_count(slots); i++)
	{
		const char *name = cli_slot_name(slots, i);
		const char *ws = cli_slot_wal_status(slots, i);

		if (ws && strcmp(ws, "lost") == 0)
			add_finding(r, CHECK_CRITICAL, "slot %s lost", name);
		else if (ws && (strcmp(ws, "extended") == 0 || strcmp(ws, "unreserved") == 0))
			add_finding(r, CHECK_WARNING, "slot %s wal_status %s", name, ws);
		if (cli_slot_active(slots, i) == 0)
			add_finding(r, CHECK_WARNING, "slot %s inactive", name);
	}
}

/*
 * verdict
 *		The most severe state among the findings (OK when there are none).
 */
static cli_check_state
verdict(const check_report *r)
{
	cli_check_state worst = CHECK_OK;
	int			i;

	for (i = 0; i < r->n; i++)
		if (severity_rank(r->items[i].state) > severity_rank(worst))
			worst = r->items[i].state;
	return worst;
}

/*
 * print_summary
 *		"REPLROUTE <STATE> - <findings, most severe first>; <context>", where
 *		the context is "primary h:p, N standbys routable" when there is a
 *		primary.  With no findings the context alone follows.
 */
static void
print_summary(const RRcluster *rr, const check_report *r, cli_check_state state)
{
	int			primary = RRprimaryNode(rr);
	int			rank,
				i;
	bool		first = true;

	printf("REPLROUTE %s - ", state_label(state));
	for (rank = 3; rank >= 1; rank--)
		for (i = 0; i < r->n; i++)
		{
			if (severity_rank(r->items[i].state) != rank)
				continue;
			printf("%s%s", first ? "" : "; ", r->items[i].text);
			first = false;
		}
	if (primary >= 0)
		printf("%sprimary %s:%s, %d standby%s routable", first ? "" : "; ",
			   cli_node_host(rr, primary), cli_node_port(rr, primary),
			   r->standbys_routable, r->standbys_routable == 1 ? "" : "s");
	fputc('\n', stdout);
}

/*
 * print_connect_failure
 *		The summary line when there is no picture at all.
 */
static void
print_connect_failure(cli_check_state state, const char *msg)
{
	char	   *line = cli_one_line(msg);

	printf("REPLROUTE %s - %s\n", state_label(state), line);
	free(line);
}

/*
 * cli_cmd_check
 *		replroute check [-o OPTIONS] CONNINFO
 */
int
cli_cmd_check(const cli_args *args)
{
	RRcluster  *rr = NULL;
	check_report report = {NULL, 0, 0, 0};
	cli_check_state state;
	char	   *fallback;
	bool		reads_need_standby;
	int			i;

	switch (cli_connect(args->conninfo, args->options, &rr))
	{
		case CONNECT_OK:
			/* RRconnect returns once it can route: judge every node */
			(void) RRrefresh(rr);
			break;
		case CONNECT_INVALID:
			cli_error("%s", RRerrorMessage(rr));
			cli_hint_help();
			print_connect_failure(CHECK_UNKNOWN, RRerrorMessage(rr));
			cli_disconnect(&rr);
			(void) cli_finish_stdout();
			return CHECK_UNKNOWN;
		case CONNECT_FAILED:
			print_connect_failure(CHECK_CRITICAL, RRerrorMessage(rr));
			cli_disconnect(&rr);
			return cli_finish_stdout() ? CHECK_CRITICAL : CHECK_UNKNOWN;
		case CONNECT_NO_MEMORY:
			print_connect_failure(CHECK_UNKNOWN, "out of memory");
			(void) cli_finish_stdout();
			return CHECK_UNKNOWN;
	}

	fallback = cli_option_value(args->options, "fallback");
	reads_need_standby = fallback != NULL && strcmp(fallback, "error") == 0;
	free(fallback);

	for (i = 0; i < RRnodeCount(rr); i++)
		judge_node(rr, i, &report);
	judge_cluster(rr, reads_need_standby, &report);
	if (RRprimaryNode(rr) >= 0)
	{
		cli_slots	slots;

		cli_slots_read(rr, &slots);
		judge_slots(&slots, &report);
		cli_slots_free(&slots);
	}

	state = verdict(&report);
	print_summary(rr, &report, state);

	for (i = 0; i < report.n; i++)
		free(report.items[i].text);
	free(report.items);
	cli_disconnect(&rr);
	return cli_finish_stdout() ? (int) state : CHECK_UNKNOWN;
}
