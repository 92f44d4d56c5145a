/*-------------------------------------------------------------------------
 *
 * exec.c
 *		"replroute exec": run one SQL string through the router and print
 *		the rows like psql -At.  A statement's error is one line naming the
 *		node that ran it; when no node can run it, the headline is chosen
 *		on the nodes' reasons and every node's reason follows.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * exec_options
 *		The options string to connect with: the user's, plus
 *		consistency=session when --token or --after-token needs it (a token
 *		is only recorded and honoured in that mode).  Returns a malloc'd
 *		string or NULL for none; sets *conflict (and prints the error) when
 *		the user asked for another consistency.
 */
static char *
exec_options(const cli_args *args, bool *conflict)
{
	char	   *consistency;

	*conflict = false;
	if (!args->token && args->after_token == NULL)
		return args->options ? cli_strdup(args->options) : NULL;

	consistency = cli_option_value(args->options, "consistency");
	if (consistency == NULL)
		return cli_psprintf("%s%sconsistency=session",
							args->options ? args->options : "",
							args->options ? " " : "");
	if (strcmp(consistency, "session") != 0)
	{
		char		shown[64];

		cli_error("%s needs consistency=session, but the options say consistency=%s",
				  args->token ? "--token" : "--after-token",
				  cli_shorten(consistency, shown, sizeof(shown)));
		cli_hint_help();
		*conflict = true;
		free(consistency);
		return NULL;
	}
	free(consistency);
	return cli_strdup(args->options);
}

/*
 * print_tuples
 *		Rows as psql -At prints them: fields joined by "|", NULL as nothing,
 *		one row per line.  A result without columns prints nothing.
 */
static void
print_tuples(const PGresult *res)
{
	int			nrows = PQntuples(res);
	int			ncols = PQnfields(res);
	int			r,
				c;

	if (ncols == 0)
		return;
	for (r = 0; r < nrows && cli_stdout_ok(); r++)
	{
		for (c = 0; c < ncols; c++)
		{
			if (c > 0)
				fputc('|', stdout);
			if (!PQgetisnull(res, r, c))
				fputs(PQgetvalue(res, r, c), stdout);
		}
		fputc('\n', stdout);
	}
}

/*
 * print_result
 *		A successful result as psql -At shows it.  Returns false (with the
 *		error printed on one line, naming the node that ran it) for a result
 *		that is an error or that psql would need a protocol exchange for
 *		(COPY).
 */
static bool
print_result(const RRcluster *rr, PGresult *res)
{
	const char *tag;

	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
		case PGRES_SINGLE_TUPLE:
			print_tuples(res);
			/* like psql: the command tag too for DML ... RETURNING */
			tag = PQcmdStatus(res);
			if (strncmp(tag, "INSERT", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
				strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "MERGE", 5) == 0)
				printf("%s\n", tag);
			return true;
		case PGRES_COMMAND_OK:
			printf("%s\n", PQcmdStatus(res));
			return true;
		case PGRES_EMPTY_QUERY:
			return true;
		case PGRES_COPY_OUT:
		case PGRES_COPY_IN:
		case PGRES_COPY_BOTH:
			cli_error("COPY to or from the client is not supported by replroute exec");
			return false;
		default:
			break;
	}
	{
		char	   *msg = cli_result_error(res);
		int			node = RRlastNode(rr);

		if (node >= 0)
			cli_error("%s:%s: %s", cli_node_host(rr, node), cli_node_port(rr, node), msg);
		else
			cli_error("%s", msg);
		free(msg);
	}
	return false;
}

/*
 * cli_cmd_exec
 *		replroute exec (--read | --write) [--token] [--after-token LSN]
 *			[-o OPTIONS] [CONNINFO] SQL
 */
int
cli_cmd_exec(const cli_args *args)
{
	RRcluster  *rr = NULL;
	PGresult   *res;
	char	   *options;
	bool		conflict;
	bool		ok;
	int			rc;

	options = exec_options(args, &conflict);
	if (conflict)
		return CLI_EXIT_USAGE;
	rc = cli_connect_or_report(args->conninfo, options, &rr);
	free(options);
	if (rc != CLI_EXIT_OK)
		return rc;

	if (args->after_token != NULL && RRsetSessionToken(rr, args->after_token) < 0)
	{
		cli_error("%s", RRerrorMessage(rr));
		cli_hint_help();
		cli_disconnect(&rr);
		return CLI_EXIT_USAGE;
	}

	/* a statement no node can run: say why, from the nodes' reasons */
	if (RRchooseNode(rr, args->intent, NULL, NULL) < 0)
	{
		char	   *headline = args->intent == RR_WRITE ?
			cli_no_primary_headline(rr) : cli_no_read_headline(rr);

		cli_error("%s", headline);
		cli_print_node_reasons(stderr, rr);
		free(headline);
		cli_disconnect(&rr);
		return CLI_EXIT_FAILURE;
	}

	cli_signals_statement(true);
	res = RRexec(rr, args->intent, args->sql);
	cli_signals_statement(false);
	if (res == NULL)
	{
		/* the library's message says what became of the statement */
		cli_error("%s", RRerrorMessage(rr));
		cli_disconnect(&rr);
		return CLI_EXIT_FAILURE;
	}
	ok = print_result(rr, res);
	PQclear(res);

	if (ok && args->token)
	{
		const char *token = RRsessionToken(rr);

		if (token != NULL && *token != '\0')
			fprintf(stderr, "replroute: session token: %s\n", token);
		else
			fprintf(stderr, "replroute: warning: no session token was recorded\n");
	}
	cli_disconnect(&rr);
	if (!cli_finish_stdout())
		return CLI_EXIT_FAILURE;
	return ok ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
