/*-------------------------------------------------------------------------
 *
 * metrics.c
 *		"replroute metrics": the cluster as the router sees it, in the
 *		Prometheus text exposition format (version 0.0.4), for the
 *		node_exporter textfile collector or a scrape wrapper.
 *
 * Every series of a node carries the labels host and port; slots carry
 * slot_name.  Figures that are unknown (the lag of a node that is down)
 * are left out rather than exported as NaN, so that absent() finds them.
 * Role and reason are info-style gauges: one series per node, value 1,
 * whose label (role="standby", reason="replay_paused") is the current one.
 * No counters: a one-shot process has no history worth counting.
 *
 *	replroute_cluster_up			1 if some node answered
 *	replroute_cluster_info			system_identifier label, value 1
 *	replroute_cluster_timeline		the cluster's timeline
 *	replroute_cluster_primary_known	1 if writes have a primary
 *	replroute_node_up				1 if the node answered its health query
 *	replroute_node_role				info: role label
 *	replroute_node_reason			info: reason label (RRreasonName)
 *	replroute_node_routable			1 if fit for reads now
 *	replroute_node_timeline			the node's timeline
 *	replroute_node_lag_bytes		lag in bytes
 *	replroute_node_lag_seconds		lag in seconds (an upper bound)
 *	replroute_node_replay_paused	1 if replay is paused (standbys)
 *	replroute_node_streaming		1 if the WAL receiver streams (standbys)
 *	replroute_slots_readable		1 if the primary's slots could be read
 *	replroute_slot_active			1 if the slot is in use
 *	replroute_slot_retained_bytes	WAL the slot holds back
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * print_label_value
 *		A label value in double quotes, escaped as the text format wants:
 *		backslash, double quote and line feed.
 */
static void
print_label_value(const char *s)
{
	fputc('"', stdout);
	for (; s && *s; s++)
	{
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '"')
			fputs("\\\"", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else
			fputc(*s, stdout);
	}
	fputc('"', stdout);
}

/* "# HELP" and "# TYPE gauge" of a family. */
static void
family(const char *name, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* The start of a node's series: name{host="...",port="..." (the caller closes). */
static void
node_series(const RRcluster *rr, const char *name, int i)
{
	printf("%s{host=", name);
	print_label_value(cli_node_host(rr, i));
	fputs(",port=", stdout);
	print_label_value(cli_node_port(rr, i));
}

/* A node's series with an integer value. */
static void
node_int(const RRcluster *rr, const char *name, int i, int64_t value)
{
	node_series(rr, name, i);
	printf("} %" PRId64 "\n", value);
}

/* A 1/0/-1 accessor: the series only when known. */
static void
node_flag(const RRcluster *rr, const char *name, int i, int value)
{
	if (value == 0 || value == 1)
		node_int(rr, name, i, value);
}

/* The cluster's families. */
static void
print_cluster(const RRcluster *rr)
{
	uint64_t	sysid = RRsystemIdentifier(rr);
	int			tli = cli_cluster_timeline(rr);
	bool		any = false;
	int			i;

	for (i = 0; i < RRnodeCount(rr); i++)
		if (cli_node_answered(rr, i))
			any = true;
	family("replroute_cluster_up", "Whether some node of the cluster answered (1) or none (0).");
	printf("replroute_cluster_up %d\n", any ? 1 : 0);
	if (sysid != 0)
	{
		family("replroute_cluster_info",
			   "The cluster's system identifier, as a label; always 1.");
		printf("replroute_cluster_info{system_identifier=\"%" PRIu64 "\"} 1\n", sysid);
	}
	if (tli >= 0)
	{
		family("replroute_cluster_timeline", "The cluster's timeline (the primary's).");
		printf("replroute_cluster_timeline %d\n", tli);
	}
	family("replroute_cluster_primary_known",
		   "Whether writes have a primary to go to (1) or not (0).");
	printf("replroute_cluster_primary_known %d\n", RRprimaryNode(rr) >= 0 ? 1 : 0);
}

/* The nodes' families, each with one series per node. */
static void
print_nodes(const RRcluster *rr)
{
	int			n = RRnodeCount(rr);
	int			i;

	family("replroute_node_up", "Whether the node answered its health query (1) or not (0).");
	for (i = 0; i < n; i++)
		node_int(rr, "replroute_node_up", i, cli_node_answered(rr, i) ? 1 : 0);

	family("replroute_node_role",
		   "The node's role as a label (primary, standby, promoting, unknown); always 1.");
	for (i = 0; i < n; i++)
	{
		const char *role = cli_role_name(RRnodeRole(rr, i));

		node_series(rr, "replroute_node_role", i);
		fputs(",role=", stdout);
		print_label_value(role ? role : "unknown");
		fputs("} 1\n", stdout);
	}

	family("replroute_node_reason",
		   "Why the node is or is not used, as a label (ok, down, replay_paused, ...); always 1.");
	for (i = 0; i < n; i++)
	{
		node_series(rr, "replroute_node_reason", i);
		fputs(",reason=", stdout);
		print_label_value(cli_node_condition(rr, i));
		fputs("} 1\n", stdout);
	}

	family("replroute_node_routable", "Whether reads may go to the node now (1) or not (0).");
	for (i = 0; i < n; i++)
		node_int(rr, "replroute_node_routable", i, RRnodeRoutable(rr, i));

	family("replroute_node_timeline", "The node's timeline.");
	for (i = 0; i < n; i++)
		if (RRnodeTimeline(rr, i) >= 0)
			node_int(rr, "replroute_node_timeline", i, RRnodeTimeline(rr, i));

	family("replroute_node_lag_bytes",
		   "WAL the node has not replayed yet, in bytes, against the primary.");
	for (i = 0; i < n; i++)
		if (RRnodeLagBytes(rr, i) >= 0)
			node_int(rr, "replroute_node_lag_bytes", i, RRnodeLagBytes(rr, i));

	family("replroute_node_lag_seconds",
		   "An upper bound on how long the node has been missing WAL the primary had, in seconds.");
	for (i = 0; i < n; i++)
	{
		double		s = RRnodeLagSeconds(rr, i);

		if (s >= 0 && isfinite(s))
		{
			node_series(rr, "replroute_node_lag_seconds", i);
			printf("} %.3f\n", s);
		}
	}

	family("replroute_node_replay_paused", "Whether the standby's replay is paused (1) or not (0).");
	for (i = 0; i < n; i++)
		if (cli_node_is_standby(rr, i))
			node_flag(rr, "replroute_node_replay_paused", i, RRnodeReplayPaused(rr, i));

	family("replroute_node_streaming",
		   "Whether the standby's WAL receiver is streaming (1) or not (0).");
	for (i = 0; i < n; i++)
		if (cli_node_is_standby(rr, i))
			node_flag(rr, "replroute_node_streaming", i, RRnodeStreaming(rr, i));
}

/* The primary's slots. */
static void
print_slots(const cli_slots *slots)
{
	int			i;

	family("replroute_slots_readable",
		   "Whether the primary's replication slots could be read (1) or not (0).");
	printf("replroute_slots_readable %d\n", slots->res != NULL ? 1 : 0);
	if (slots->res == NULL)
		return;

	family("replroute_slot_active", "Whether the replication slot is in use (1) or not (0).");
	for (i = 0; i < cli_slots_count(slots); i++)
	{
		int			active = cli_slot_active(slots, i);

		if (active < 0)
			continue;
		fputs("replroute_slot_active{slot_name=", stdout);
		print_label_value(cli_slot_name(slots, i));
		printf("} %d\n", active);
	}
	family("replroute_slot_retained_bytes", "WAL the replication slot holds back, in bytes.");
	for (i = 0; i < cli_slots_count(slots); i++)
	{
		int64_t		retained;

		if (!cli_slot_retained(slots, i, &retained))
			continue;
		fputs("replroute_slot_retained_bytes{slot_name=", stdout);
		print_label_value(cli_slot_name(slots, i));
		printf("} %" PRId64 "\n", retained);
	}
}

/*
 * cli_cmd_metrics
 *		replroute metrics [-o OPTIONS] [CONNINFO]
 *
 * Prints the exposition whenever the arguments are valid, also when no
 * node answers (every node then has replroute_node_up 0): a collector must
 * see the outage.  Exit 0 once it is written.
 */
int
cli_cmd_metrics(const cli_args *args)
{
	RRcluster  *rr = NULL;
	cli_slots	slots;
	int			rc;

	if ((rc = cli_connect_picture(args->conninfo, args->options, &rr)) >= 0)
		return rc;

	cli_slots_read(rr, &slots);
	print_cluster(rr);
	print_nodes(rr);
	print_slots(&slots);
	cli_slots_free(&slots);
	cli_disconnect(&rr);
	return cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
