/*-------------------------------------------------------------------------
 *
 * cli_exec.c
 *		"replroute route" (where would this go?) and "replroute exec" (run
 *		one SQL string through the router, print like psql -At).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * cli_cmd_route
 *		replroute route (--read | --write) [-o OPTIONS] CONNINFO
 *
 * Prints "host=H port=P" of the node RRreadConn/RRwriteConn hands out, in
 * connection-string syntax (quoted when needed) so it can be reused.
 */
int
cli_cmd_route(const cli_args *args)
{
	RRcluster  *rr = NULL;
	PGconn	   *conn;
	const char *host;
	const char *port;
	int			node;
	int			rc;

	if ((rc = cli_connect_or_report(args->conninfo, args->options, &rr)) != CLI_EXIT_OK)
		return rc;

	conn = args->intent == RR_READ ? RRreadConn(rr) : RRwriteConn(rr);
	if (conn == NULL)
	{
		cli_error("%s", RRerrorMessage(rr));
		cli_disconnect(&rr);
		return CLI_EXIT_FAILURE;
	}
	node = RRlastNode(rr);
	host = node >= 0 ? RRnodeHost(rr, node) : PQhost(conn);
	port = node >= 0 ? RRnodePort(rr, node) : PQport(conn);

	fputs("host=", stdout);
	cli_print_conninfo_value(stdout, host ? host : "");
	fputs(" port=", stdout);
	cli_print_conninfo_value(stdout, port ? port : "");
	fputc('\n', stdout);

	cli_disconnect(&rr);
	return cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}

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
 *		error printed) for a result that is an error or that psql would need
 *		a protocol exchange for (COPY).
 */
static bool
print_result(PGresult *res)
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
		const char *msg = PQresultErrorMessage(res);
		size_t		len = strlen(msg);

		while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			len--;
		if (len == 0)
			cli_error("%s", PQresStatus(PQresultStatus(res)));
		else
			cli_error("%.*s", (int) len, msg);
	}
	return false;
}

/*
 * cli_cmd_exec
 *		replroute exec (--read | --write) [--token] [--after-token LSN]
 *			[-o OPTIONS] CONNINFO SQL
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

	res = RRexec(rr, args->intent, args->sql);
	if (res == NULL)
	{
		cli_error("%s", RRerrorMessage(rr));
		cli_disconnect(&rr);
		return CLI_EXIT_FAILURE;
	}
	ok = print_result(res);
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
