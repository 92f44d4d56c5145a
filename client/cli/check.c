/*-------------------------------------------------------------------------
 *
 * check.c
 *		"replroute check": one summary line with perfdata, and the
 *		monitoring-plugin exit code (Nagios, Icinga, Sensu, ...).
 *
 * The decision is made from one picture of the cluster (RRconnect, then
 * RRrefresh so that every node is seen) plus the primary's slots, in steps
 * that each add findings, and one rule that turns findings into the
 * verdict.  Every node finding is chosen on the node's reason (RRreason),
 * never on message text.
 *
 *	judge_node		per node, on its reason: down, connecting, another
 *					cluster, extension missing, old or competing primary,
 *					a standby not fit for reads
 *	judge_lag		a standby's lag against the -w/-c thresholds
 *	judge_cluster	no primary, no node fit for reads
 *	judge_slots		lost, inactive or at-risk slots, retained WAL against
 *					-w/-c, unreadable slots
 *	verdict			the most severe finding, by
 *					CRITICAL > UNKNOWN > WARNING > OK
 *
 * Perfdata follows " | " in the monitoring-plugins format
 * 'label'=value[UOM];warn;crit;min: every node's lag in seconds and bytes
 * ("U" when unknown), every slot's retained bytes.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <math.h>
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
 *		Record a finding; the text is made one line, and "|" (which starts
 *		the perfdata) is replaced.
 */
static void
add_finding(check_report *r, cli_check_state state, const char *fmt,...)
	CLI_PRINTF(3, 4);

static void
add_finding(check_report *r, cli_check_state state, const char *fmt,...)
{
	va_list		ap;
	char	   *text;
	char	   *p;

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
	for (p = r->items[r->n].text; *p; p++)
		if (*p == '|')
			*p = '/';
	r->n++;
	free(text);
}

/* Were lag thresholds (seconds or bytes) given? */
static bool
have_lag_thresholds(const cli_thresholds *t)
{
	return t->has_warning[THRESHOLD_LAG_SECONDS] || t->has_critical[THRESHOLD_LAG_SECONDS] ||
		t->has_warning[THRESHOLD_LAG_BYTES] || t->has_critical[THRESHOLD_LAG_BYTES];
}

/*
 * judge_node
 *		Findings about node i, on its reason:
 *
 *		ok, primary_lost, behind_token			none (a fit standby is counted)
 *		down, connecting						WARNING
 *		foreign_cluster							CRITICAL
 *		extension_missing						UNKNOWN
 *		extension_version, health_query_failed	WARNING
 *		old_primary, competing_primary			CRITICAL (writable on an older
 *												timeline; split brain)
 *		lag_over_limit, replay_paused,
 *		not_streaming							WARNING, unless lag thresholds
 *												are given: then judge_lag decides
 *		lag_unknown								WARNING
 */
static void
judge_node(const RRcluster *rr, int i, const cli_thresholds *t, check_report *r)
{
	const char *host = cli_node_host(rr, i);
	const char *port = cli_node_port(rr, i);
	RRreason	reason = RRnodeReason(rr, i);
	const char *word = RRreasonName(reason);
	char	   *why = cli_node_why(rr, i);

	switch (reason)
	{
		case RR_REASON_OK:
		case RR_REASON_PRIMARY_LOST:
		case RR_REASON_BEHIND_TOKEN:
			if (i != RRprimaryNode(rr) && RRnodeRoutable(rr, i))
				r->standbys_routable++;
			break;
		case RR_REASON_DOWN:
		case RR_REASON_CONNECTING:
		case RR_REASON_EXTENSION_VERSION:
		case RR_REASON_HEALTH_QUERY_FAILED:
		case RR_REASON_LAG_UNKNOWN:
		default:				/* a reason newer than this tool */
			add_finding(r, CHECK_WARNING, "node %s:%s %s: %s", host, port, word, why);
			break;
		case RR_REASON_FOREIGN_CLUSTER:
		case RR_REASON_OLD_PRIMARY:
		case RR_REASON_COMPETING_PRIMARY:
			add_finding(r, CHECK_CRITICAL, "node %s:%s %s: %s", host, port, word, why);
			break;
		case RR_REASON_EXTENSION_MISSING:
			add_finding(r, CHECK_UNKNOWN, "node %s:%s %s: %s", host, port, word, why);
			break;
		case RR_REASON_LAG_OVER_LIMIT:
		case RR_REASON_REPLAY_PAUSED:
		case RR_REASON_NOT_STREAMING:
			if (!have_lag_thresholds(t))
				add_finding(r, CHECK_WARNING, "standby %s:%s %s: %s", host, port, word, why);
			break;
	}
	free(why);
}

/*
 * over
 *		The state of a figure against the thresholds of kind: CRITICAL above
 *		the critical one, WARNING above the warning one, else OK.
 */
static cli_check_state
over(const cli_thresholds *t, cli_threshold_kind kind, double value)
{
	if (t->has_critical[kind] && value > t->critical[kind])
		return CHECK_CRITICAL;
	if (t->has_warning[kind] && value > t->warning[kind])
		return CHECK_WARNING;
	return CHECK_OK;
}

/* The threshold a state was decided on. */
static double
limit(const cli_thresholds *t, cli_threshold_kind kind, cli_check_state s)
{
	return s == CHECK_CRITICAL ? t->critical[kind] : t->warning[kind];
}

/*
 * judge_lag
 *		A standby's lag figures against the -w/-c thresholds.
 */
static void
judge_lag(const RRcluster *rr, int i, const cli_thresholds *t, check_report *r)
{
	double		seconds = RRnodeLagSeconds(rr, i);
	int64_t		bytes = RRnodeLagBytes(rr, i);
	RRreason	reason = RRnodeReason(rr, i);
	cli_check_state s;
	char		a[32],
				b[32];

	if (!cli_node_is_standby(rr, i))
		return;
	if (seconds >= 0 && (s = over(t, THRESHOLD_LAG_SECONDS, seconds)) != CHECK_OK)
		add_finding(r, s, "standby %s:%s %s: lags %.3f s behind, over the %s threshold "
					"lag=%gs", cli_node_host(rr, i), cli_node_port(rr, i), RRreasonName(reason),
					seconds, s == CHECK_CRITICAL ? "critical" : "warning",
					limit(t, THRESHOLD_LAG_SECONDS, s));
	if (bytes >= 0 && (s = over(t, THRESHOLD_LAG_BYTES, (double) bytes)) != CHECK_OK)
	{
		cli_format_bytes(bytes, a, sizeof(a));
		cli_format_bytes((int64_t) limit(t, THRESHOLD_LAG_BYTES, s), b, sizeof(b));
		add_finding(r, s, "standby %s:%s %s: lags %s behind, over the %s threshold "
					"bytes=%s", cli_node_host(rr, i), cli_node_port(rr, i), RRreasonName(reason),
					a, s == CHECK_CRITICAL ? "critical" : "warning", b);
	}
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
	{
		char	   *headline = cli_no_primary_headline(rr);

		add_finding(r, CHECK_CRITICAL, "%s", headline);
		free(headline);
	}
	if (r->standbys_routable == 0 && (primary < 0 || reads_need_standby))
		add_finding(r, CHECK_CRITICAL, "no node fit for reads%s",
					primary >= 0 ? " (no standby within the lag limits, fallback=error)" : "");
}

/*
 * judge_slots
 *		Findings about the primary's slots: lost (CRITICAL); inactive, or
 *		wal_status extended/unreserved (WARNING); retained WAL over -w/-c;
 *		unreadable (WARNING).
 */
static void
judge_slots(const cli_slots *slots, const cli_thresholds *t, check_report *r)
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
		int64_t		retained;
		cli_check_state s;

		if (ws && strcmp(ws, "lost") == 0)
			add_finding(r, CHECK_CRITICAL, "slot %s lost", name);
		else if (ws && (strcmp(ws, "extended") == 0 || strcmp(ws, "unreserved") == 0))
			add_finding(r, CHECK_WARNING, "slot %s wal_status %s", name, ws);
		if (cli_slot_active(slots, i) == 0)
			add_finding(r, CHECK_WARNING, "slot %s inactive", name);
		if (cli_slot_retained(slots, i, &retained) &&
			(s = over(t, THRESHOLD_RETAINED, (double) retained)) != CHECK_OK)
		{
			char		a[32],
						b[32];

			cli_format_bytes(retained, a, sizeof(a));
			cli_format_bytes((int64_t) limit(t, THRESHOLD_RETAINED, s), b, sizeof(b));
			add_finding(r, s, "slot %s retains %s of WAL, over the %s threshold retained=%s",
						name, a, s == CHECK_CRITICAL ? "critical" : "warning", b);
		}
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
 * print_label
 *		A perfdata label in single quotes; quotes and "=" (not allowed in a
 *		label) become "_".
 */
static void
print_label(const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	int			k;

	fputc('\'', stdout);
	for (k = 0; k < 3; k++)
	{
		const char *p;

		for (p = parts[k]; p && *p; p++)
			fputc((*p == '\'' || *p == '=' || *p == '|') ? '_' : *p, stdout);
	}
	fputc('\'', stdout);
}

/* ";warn;crit;0" of a perfdata value, empty where no threshold is given. */
static void
print_thresholds(const cli_thresholds *t, cli_threshold_kind kind)
{
	fputc(';', stdout);
	if (t->has_warning[kind])
		printf(kind == THRESHOLD_LAG_SECONDS ? "%g" : "%.0f", t->warning[kind]);
	fputc(';', stdout);
	if (t->has_critical[kind])
		printf(kind == THRESHOLD_LAG_SECONDS ? "%g" : "%.0f", t->critical[kind]);
	fputs(";0", stdout);
}

/*
 * print_perfdata
 *		" | " and the perfdata: per node 'HOST:PORT lag_seconds'=Ns and
 *		'HOST:PORT lag_bytes'=NB ("U" when unknown), per slot
 *		'SLOT retained_bytes'=NB.
 */
static void
print_perfdata(const RRcluster *rr, const cli_slots *slots, const cli_thresholds *t)
{
	int			i;
	const char *sep = " | ";

	for (i = 0; i < RRnodeCount(rr); i++)
	{
		char		node[300];
		double		seconds = RRnodeLagSeconds(rr, i);
		int64_t		bytes = RRnodeLagBytes(rr, i);

		snprintf(node, sizeof(node), "%s:%s", cli_node_host(rr, i), cli_node_port(rr, i));
		fputs(sep, stdout);
		sep = " ";
		print_label(node, " ", "lag_seconds");
		if (seconds >= 0 && isfinite(seconds))
			printf("=%.3fs", seconds);
		else
			fputs("=U", stdout);
		print_thresholds(t, THRESHOLD_LAG_SECONDS);
		fputc(' ', stdout);
		print_label(node, " ", "lag_bytes");
		if (bytes >= 0)
			printf("=%" PRId64 "B", bytes);
		else
			fputs("=U", stdout);
		print_thresholds(t, THRESHOLD_LAG_BYTES);
	}
	for (i = 0; slots != NULL && i < cli_slots_count(slots); i++)
	{
		int64_t		retained;

		fputs(sep, stdout);
		sep = " ";
		print_label(cli_slot_name(slots, i), " ", "retained_bytes");
		if (cli_slot_retained(slots, i, &retained))
			printf("=%" PRId64 "B", retained);
		else
			fputs("=U", stdout);
		print_thresholds(t, THRESHOLD_RETAINED);
	}
}

/*
 * print_summary
 *		"REPLROUTE <STATE> - <findings, most severe first>; <context>", where
 *		the context is "primary h:p, N standbys routable" when there is a
 *		primary, then the perfdata.
 */
static void
print_summary(const RRcluster *rr, const check_report *r, cli_check_state state,
			  const cli_slots *slots, const cli_thresholds *t)
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
	print_perfdata(rr, slots, t);
	fputc('\n', stdout);
}

/*
 * print_connect_failure
 *		The summary line when there is no picture at all: the library's
 *		message (its headline, then each node's reason) made one line.
 */
static void
print_connect_failure(cli_check_state state, const char *msg)
{
	char	   *line = cli_one_line(msg);
	char	   *p;

	for (p = line; *p; p++)
		if (*p == '|')
			*p = '/';
	printf("REPLROUTE %s - %s\n", state_label(state), line);
	free(line);
}

/*
 * cli_cmd_check
 *		replroute check [-w THRESHOLD]... [-c THRESHOLD]... [-o OPTIONS] [CONNINFO]
 */
int
cli_cmd_check(const cli_args *args)
{
	RRcluster  *rr = NULL;
	check_report report = {NULL, 0, 0, 0};
	cli_check_state state;
	cli_slots	slots;
	bool		have_slots = false;
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
	{
		judge_node(rr, i, &args->thresholds, &report);
		judge_lag(rr, i, &args->thresholds, &report);
	}
	judge_cluster(rr, reads_need_standby, &report);
	if (RRprimaryNode(rr) >= 0)
	{
		cli_slots_read(rr, &slots);
		have_slots = true;
		judge_slots(&slots, &args->thresholds, &report);
	}

	state = verdict(&report);
	print_summary(rr, &report, state, have_slots ? &slots : NULL, &args->thresholds);

	if (have_slots)
		cli_slots_free(&slots);
	for (i = 0; i < report.n; i++)
		free(report.items[i].text);
	free(report.items);
	cli_disconnect(&rr);
	return cli_finish_stdout() ? (int) state : CHECK_UNKNOWN;
}
