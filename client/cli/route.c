/*-------------------------------------------------------------------------
 *
 * route.c
 *		"replroute route": where would a read or a write go now?  The
 *		routing decision alone (RRchooseNode): nothing is connected to and
 *		nothing is run.  With --explain, each node follows with why it was
 *		or was not chosen, decided on the node's reason and the options.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * explain_node
 *		One line on node i for a decision that chose node chosen (-1:
 *		none): "  host:port (role) chosen ...", "... fit, not chosen ...",
 *		"... excluded, REASON: message".
 */
static void
explain_node(const RRcluster *rr, const cli_args *args, int i, int chosen,
			 const char *policy, const char *fallback)
{
	const char *role = cli_role_name(RRnodeRole(rr, i));
	int			primary = RRprimaryNode(rr);
	RRreason	reason = RRnodeReason(rr, i);
	char	   *why = cli_node_why(rr, i);
	char	   *first = cli_psprintf("  %s:%s (%s) ", cli_node_host(rr, i),
									 cli_node_port(rr, i), role ? role : "role unknown");
	char	   *text;

	if (i == chosen)
		text = args->intent == RR_WRITE ? cli_strdup("chosen: the primary") :
			i == primary ? cli_psprintf("chosen: no standby is fit for reads, and "
										"fallback=%s", fallback) :
			cli_psprintf("chosen: fit for reads%s (policy %s)",
						 reason == RR_REASON_PRIMARY_LOST ?
						 " while the primary is lost" : "", policy);
	else if (args->intent == RR_WRITE)
		text = reason == RR_REASON_OK || reason == RR_REASON_PRIMARY_LOST ||
			reason == RR_REASON_BEHIND_TOKEN ?
			cli_strdup("not chosen: writes go to the primary only") :
			cli_psprintf("excluded, %s: %s", RRreasonName(reason), why);
	else if (i == primary && RRnodeRoutable(rr, i))
		text = cli_strdup("fit, not chosen: the primary takes reads only when no "
						  "standby is fit (fallback=primary)");
	else if (i == primary)
		text = cli_strdup("not chosen: the primary takes no reads (fallback=error)");
	else if (RRnodeRoutable(rr, i))
		text = cli_psprintf("fit, not chosen: the policy (%s) chose another fit standby",
							policy);
	else
		text = cli_psprintf("excluded, %s: %s", RRreasonName(reason), why);

	cli_print_wrapped(stdout, first, "      ", text, 80);
	free(text);
	free(first);
	free(why);
}

/*
 * cli_cmd_route
 *		replroute route (--read | --write) [--explain] [-o OPTIONS] [CONNINFO]
 *
 * Prints "host=H port=P" of the node chosen, in connection-string syntax
 * (quoted when needed) so it can be reused; with --explain, the nodes
 * follow on stdout.  When no node can serve, the error and every node's
 * reason go to stderr (and the explanation to stdout), exit 1.
 */
int
cli_cmd_route(const cli_args *args)
{
	RRcluster  *rr = NULL;
	char	   *policy;
	char	   *fallback;
	int			node;
	int			i;
	int			rc;

	if ((rc = cli_connect_or_report(args->conninfo, args->options, &rr)) != CLI_EXIT_OK)
		return rc;

	/* RRconnect returns once it can route: --explain judges every node */
	if (args->explain)
		(void) RRrefresh(rr);
	node = RRchooseNode(rr, args->intent, "", NULL);
	if (node < 0)
	{
		char	   *headline = args->intent == RR_WRITE ?
			cli_no_primary_headline(rr) : cli_no_read_headline(rr);

		cli_error("%s", headline);
		cli_print_node_reasons(stderr, rr);
		free(headline);
		rc = CLI_EXIT_FAILURE;
	}
	else
	{
		fputs("host=", stdout);
		cli_print_conninfo_value(stdout, cli_node_host(rr, node));
		fputs(" port=", stdout);
		cli_print_conninfo_value(stdout, cli_node_port(rr, node));
		fputc('\n', stdout);
	}

	if (args->explain)
	{
		policy = cli_option_value(args->options, "policy");
		fallback = cli_option_value(args->options, "fallback");
		printf("%s: %s\n", args->intent == RR_WRITE ? "write" : "read",
			   node >= 0 ? "one node chosen" : "no node can serve");
		for (i = 0; i < RRnodeCount(rr); i++)
			explain_node(rr, args, i, node, policy ? policy : "round_robin",
						 fallback ? fallback : "primary");
		free(policy);
		free(fallback);
	}

	cli_disconnect(&rr);
	if (!cli_finish_stdout())
		return CLI_EXIT_FAILURE;
	return rc;
}
