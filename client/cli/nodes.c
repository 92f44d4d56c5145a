/*-------------------------------------------------------------------------
 *
 * nodes.c
 *		A node's facts as the tool shows them, in the same words
 *		everywhere (status table, notes, JSON, check, metrics, route
 *		--explain): its condition is RRreasonName() of its RRnodeReason(),
 *		its state "up" or "down", its message RRnodeError() on one line.
 *		Every decision is made on the enums, never on message text.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The node's host as shown to users; never NULL. */
const char *
cli_node_host(const RRcluster *rr, int node)
{
	const char *h = RRnodeHost(rr, node);

	return h ? h : "?";
}

/* The node's port as shown to users; never NULL. */
const char *
cli_node_port(const RRcluster *rr, int node)
{
	const char *p = RRnodePort(rr, node);

	return p ? p : "?";
}

/*
 * cli_node_condition
 *		The one word for what the router makes of the node: the name of its
 *		reason ("ok", "down", "connecting", "replay_paused", ...).
 */
const char *
cli_node_condition(const RRcluster *rr, int node)
{
	return RRreasonName(RRnodeReason(rr, node));
}

/*
 * cli_node_answered
 *		Did the node answer its health query (well, or with an answer that
 *		excludes it)?  That is the interface contract's "up".
 */
bool
cli_node_answered(const RRcluster *rr, int node)
{
	RRnodeState s = RRnodeStatus(rr, node);

	return s == RR_NODE_UP || s == RR_NODE_EXCLUDED;
}

/* "up" or "down", the "state" of the interface contract. */
const char *
cli_node_state(const RRcluster *rr, int node)
{
	return cli_node_answered(rr, node) ? "up" : "down";
}

/*
 * cli_node_is_standby
 *		Is the node a standby of this cluster whose lag means something
 *		(not the primary, not an old or competing primary, not foreign)?
 */
bool
cli_node_is_standby(const RRcluster *rr, int node)
{
	RRrole		role = RRnodeRole(rr, node);

	if (node == RRprimaryNode(rr) || RRnodeReason(rr, node) == RR_REASON_FOREIGN_CLUSTER)
		return false;
	return role == RR_ROLE_STANDBY || role == RR_ROLE_PROMOTING;
}

/* "primary", "standby", "promoting", or NULL when unknown. */
const char *
cli_role_name(RRrole role)
{
	switch (role)
	{
		case RR_ROLE_PRIMARY:
			return "primary";
		case RR_ROLE_STANDBY:
			return "standby";
		case RR_ROLE_PROMOTING:
			return "promoting";
		case RR_ROLE_UNKNOWN:
			break;
	}
	return NULL;
}

/*
 * cli_node_why
 *		RRnodeError on one line, or a few words when the library gives none
 *		(an ok node: "", a node still connecting: "no answer yet").
 *		malloc'd; caller frees.
 */
char *
cli_node_why(const RRcluster *rr, int node)
{
	const char *why = RRnodeError(rr, node);

	if (why != NULL && *why != '\0')
		return cli_one_line(why);
	switch (RRnodeReason(rr, node))
	{
		case RR_REASON_OK:
			return cli_strdup("");
		case RR_REASON_DOWN:
			return cli_strdup("no answer");
		case RR_REASON_CONNECTING:
			return cli_strdup("no answer yet");
		default:
			return cli_strdup("no details");
	}
}

/*
 * cli_reason_colour
 *		Green for a node that serves, red for one that is gone or must never
 *		be used, yellow for one held back for now.
 */
const char *
cli_reason_colour(RRreason reason)
{
	switch (reason)
	{
		case RR_REASON_OK:
		case RR_REASON_PRIMARY_LOST:
		case RR_REASON_BEHIND_TOKEN:
			return CLI_GREEN;
		case RR_REASON_DOWN:
		case RR_REASON_FOREIGN_CLUSTER:
		case RR_REASON_OLD_PRIMARY:
		case RR_REASON_COMPETING_PRIMARY:
			return CLI_RED;
		default:
			return CLI_YELLOW;
	}
}

/*
 * cli_cluster_can_serve
 *		Can any statement be served: is there a primary, or a node fit for
 *		reads?
 */
bool
cli_cluster_can_serve(const RRcluster *rr)
{
	int			i;

	if (RRprimaryNode(rr) >= 0)
		return true;
	for (i = 0; i < RRnodeCount(rr); i++)
		if (RRnodeRoutable(rr, i))
			return true;
	return false;
}

/*
 * cli_cluster_timeline
 *		The cluster's timeline: the primary's, else the highest any node of
 *		this cluster reports; -1 if none answered.
 */
int
cli_cluster_timeline(const RRcluster *rr)
{
	int			primary = RRprimaryNode(rr);
	int			best = -1;
	int			i;

	if (primary >= 0)
		return RRnodeTimeline(rr, primary);
	for (i = 0; i < RRnodeCount(rr); i++)
		if (RRnodeReason(rr, i) != RR_REASON_FOREIGN_CLUSTER &&
			RRnodeTimeline(rr, i) > best)
			best = RRnodeTimeline(rr, i);
	return best;
}

/* How many nodes have this reason? */
static int
count_reason(const RRcluster *rr, RRreason reason)
{
	int			i,
				n = 0;

	for (i = 0; i < RRnodeCount(rr); i++)
		if (RRnodeReason(rr, i) == reason)
			n++;
	return n;
}

/*
 * cli_no_primary_headline
 *		Why there is no primary, in a few words chosen on the reasons (a
 *		node that lacks the extension may well be the primary: then it is
 *		not "unreachable").  malloc'd.
 */
char *
cli_no_primary_headline(const RRcluster *rr)
{
	int			n = RRnodeCount(rr);
	int			missing = count_reason(rr, RR_REASON_EXTENSION_MISSING) +
		count_reason(rr, RR_REASON_EXTENSION_VERSION);
	int			competing = count_reason(rr, RR_REASON_COMPETING_PRIMARY);
	int			old = count_reason(rr, RR_REASON_OLD_PRIMARY);
	int			gone = count_reason(rr, RR_REASON_DOWN) +
		count_reason(rr, RR_REASON_CONNECTING);

	if (competing > 0)
		return cli_psprintf("no primary: %d nodes claim to be primary on the newest "
							"timeline (competing_primary)", competing);
	if (missing > 0)
		return cli_psprintf("no primary known: %d node%s could not be judged "
							"(the replroute extension is missing or unexpected there)",
							missing, missing == 1 ? "" : "s");
	if (old > 0)
		return cli_strdup("no primary: only an old primary on an older timeline answers "
						  "(old_primary)");
	if (gone == n)
		return cli_strdup("no primary reachable: no node answered");
	return cli_strdup("no primary reachable");
}

/*
 * cli_no_read_headline
 *		Why no node can take a read.  malloc'd.
 */
char *
cli_no_read_headline(const RRcluster *rr)
{
	if (RRprimaryNode(rr) >= 0)
		return cli_strdup("no node fit for reads: no standby within the lag limits "
						  "(fallback=error)");
	return cli_strdup("no node fit for reads: no standby within the lag limits and "
					  "no primary");
}

/*
 * cli_print_node_reasons
 *		"  host:port condition: message" for every node, one line each.
 */
void
cli_print_node_reasons(FILE *out, const RRcluster *rr)
{
	int			i;

	for (i = 0; i < RRnodeCount(rr); i++)
	{
		char	   *why = cli_node_why(rr, i);

		fprintf(out, "  %s:%s %s%s%s\n", cli_node_host(rr, i), cli_node_port(rr, i),
				cli_node_condition(rr, i), why[0] ? ": " : "", why);
		free(why);
	}
}

/*
 * cli_result_error
 *		A server error as one line: the primary message, then the detail
 *		and hint if any (never the statement position, "LINE 1:" and its
 *		caret, which only make sense under the statement).  For a result
 *		without those fields, libpq's message on one line.  malloc'd.
 */
char *
cli_result_error(const PGresult *res)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	char	   *text;
	char	   *line;

	if (primary == NULL)
	{
		const char *msg = PQresultErrorMessage(res);

		if (msg == NULL || *msg == '\0')
			return cli_strdup(PQresStatus(PQresultStatus(res)));
		return cli_one_line(msg);
	}
	text = cli_psprintf("%s%s%s%s%s%s%s", primary,
						detail ? " (detail: " : "", detail ? detail : "", detail ? ")" : "",
						hint ? " (hint: " : "", hint ? hint : "", hint ? ")" : "");
	line = cli_one_line(text);
	free(text);
	return line;
}
