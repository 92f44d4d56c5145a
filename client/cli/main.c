/*-------------------------------------------------------------------------
 *
 * main.c
 *		The replroute command-line tool: main(), --help, --version,
 *		connecting, and dispatch to the commands.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The handle currently open, released at exit on every path. */
static RRcluster *open_handle = NULL;

/*
 * print_help
 *		--help: usage, commands, options, exit codes.
 */
static void
print_help(void)
{
	fputs(
		  "replroute sends reads to a PostgreSQL standby that is fresh enough and writes\n"
		  "to the current primary; this tool shows, checks and uses that routing.\n"
		  "\n"
		  "Usage:\n"
		  "  replroute status  [--json] [--watch [SECONDS]] [-o OPTIONS] [CONNINFO]\n"
		  "  replroute check   [-w THRESHOLD]... [-c THRESHOLD]... [-o OPTIONS] [CONNINFO]\n"
		  "  replroute metrics [-o OPTIONS] [CONNINFO]\n"
		  "  replroute route   (--read | --write) [--explain] [-o OPTIONS] [CONNINFO]\n"
		  "  replroute exec    (--read | --write) [--token] [--after-token LSN]\n"
		  "                    [-o OPTIONS] [CONNINFO] SQL\n"
		  "  replroute --help | --version\n"
		  "\n"
		  "Commands:\n"
		  "  status   the cluster (system identifier, primary, timeline), every node as\n"
		  "           the router sees it (state, role, timeline, WAL position, lag), notes\n"
		  "           on the nodes not in use and why, then the primary's replication slots\n"
		  "  check    monitoring-plugin check (Nagios, Icinga, ...): one line with\n"
		  "           perfdata, and the exit code\n"
		  "  metrics  the same facts in the Prometheus text format (node_exporter textfile\n"
		  "           collector, or a scrape wrapper)\n"
		  "  route    print \"host=H port=P\" of the node a read or a write would go to\n"
		  "  exec     run SQL there and print the rows as \"psql -At\" does\n"
		  "\n"
		  "Options:\n"
		  "  -o, --options=OPTIONS   routing options, \"key=value ...\": max_lag_bytes\n"
		  "                          (16MB), max_lag_seconds (1s), check_interval (100ms),\n"
		  "                          policy (round_robin|random|least_lag), fallback\n"
		  "                          (primary|error), consistency (none|session),\n"
		  "                          causal_wait (100ms), primary_lost (serve|refuse),\n"
		  "                          node_timeout (2s), statement_timeout (0)\n"
		  "      --json              status: print one JSON object (one per line with\n"
		  "                          --watch)\n"
		  "      --watch [SECONDS]   status: show again every SECONDS (default 2) until\n"
		  "                          interrupted; redraws the screen on a terminal\n"
		  "  -w, --warning=THRESHOLD\n"
		  "  -c, --critical=THRESHOLD\n"
		  "                          check: WARNING or CRITICAL when a standby's lag or a\n"
		  "                          slot's retained WAL is above THRESHOLD, given as\n"
		  "                          lag=TIME (ms, s, min, h; e.g. lag=1s), bytes=SIZE\n"
		  "                          (B, kB, MB, GB, TB; e.g. bytes=16MB) or retained=SIZE;\n"
		  "                          a bare value with a unit is lag or bytes by its unit\n"
		  "                          (-w 1s -c 5s).  Repeat for several.  Without lag or\n"
		  "                          bytes thresholds, a standby over the routing limits\n"
		  "                          is WARNING\n"
		  "      --read, --write     route, exec: the statement reads, or writes\n"
		  "      --explain           route: also say, for each node, why it was or was not\n"
		  "                          chosen\n"
		  "      --token             exec --write: print the session token on stderr\n"
		  "      --after-token=LSN   exec --read: read only where that token's writes are\n"
		  "                          visible (read-your-writes across processes)\n"
		  "  -h, --help              show this help, then exit\n"
		  "  -V, --version           show the version, then exit\n"
		  "\n"
		  "CONNINFO is a libpq connection string naming every node, e.g.\n"
		  "  \"host=db1,db2,db3 port=5432,5432,5432 dbname=app\"\n"
		  "It may be left out when the libpq environment names the nodes (PGHOST and\n"
		  "PGPORT, which may hold lists, or PGSERVICE).  Roles are discovered, never\n"
		  "configured.  Options may come before or after the other arguments; \"--\" ends\n"
		  "the options.\n"
		  "\n"
		  "Exit codes:\n"
		  "  status:          0 some node can serve (a primary, or a standby fit for\n"
		  "                   reads); 1 none can (no node answered, or none is usable);\n"
		  "                   2 bad arguments (including an invalid CONNINFO, OPTIONS or\n"
		  "                   token)\n"
		  "  route, exec:     0 success; 1 failure (no node for the request, the statement\n"
		  "                   failed, or its outcome is unknown); 2 bad arguments\n"
		  "  metrics:         0 the exposition was printed (also when nodes are down);\n"
		  "                   1 it could not be written; 2 bad arguments\n"
		  "  check:           0 OK; 1 WARNING (a standby down or over a lag limit or a -w\n"
		  "                   threshold, a slot inactive or at risk or over -w); 2 CRITICAL\n"
		  "                   (no primary, no node fit for reads, over a -c threshold, a\n"
		  "                   slot lost, a node of another cluster, an old primary still\n"
		  "                   writable on an older timeline, two primaries); 3 UNKNOWN\n"
		  "                   (bad arguments, extension missing)\n"
		  "  SIGINT, SIGTERM: the tool ends at once with 130 or 143 (128 + the signal's\n"
		  "                   number), after asking the server to cancel a running\n"
		  "                   statement; status --watch ends with 0\n"
		  "\n"
		  "Environment: libpq's variables (PGHOST, PGPORT, PGSERVICE, PGUSER, PGPASSFILE,\n"
		  "...) apply to every node; NO_COLOR (set to anything) turns colour off.\n",
		  stdout);
}

/*
 * print_version
 *		--version: the tool's version and the library's it runs with.
 */
static void
print_version(void)
{
	int			v = RRlibVersion();

	printf("replroute %s (libreplroute %d.%d.%d)\n", CLI_VERSION_STR,
		   v / 10000, (v / 100) % 100, v % 100);
}

/*
 * cli_option_value
 *		The value of key in an options string ("key=value ..."), split the
 *		way libreplroute splits it; malloc'd, or NULL when key is absent.
 */
char *
cli_option_value(const char *options, const char *key)
{
	const char *p = options;
	size_t		keylen = strlen(key);

	if (options == NULL)
		return NULL;
	for (;;)
	{
		size_t		len;

		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			return NULL;
		len = strcspn(p, " \t\r\n\f\v");
		if (len > keylen && strncmp(p, key, keylen) == 0 && p[keylen] == '=')
		{
			char	   *value = cli_malloc(len - keylen);

			memcpy(value, p + keylen + 1, len - keylen - 1);
			value[len - keylen - 1] = '\0';
			return value;
		}
		p += len;
	}
}

/*
 * cli_connect
 *		RRconnect, and classify the outcome on the handle's status.  *rrp is
 *		set even on failure (for RRerrorMessage and the nodes); release it
 *		with cli_disconnect.
 *
 * The library parses conninfo and options before it probes anything, and
 * a handle whose arguments were invalid has no nodes; a handle with nodes
 * but RR_BAD is one where no node answered.
 */
cli_connect_result
cli_connect(const char *conninfo, const char *options, RRcluster **rrp)
{
	RRcluster  *rr = RRconnect(conninfo, options);

	*rrp = rr;
	open_handle = rr;
	cli_signals_set_handle(rr);
	if (rr == NULL)
		return CONNECT_NO_MEMORY;
	if (RRstatus(rr) == RR_OK)
		return CONNECT_OK;
	if (RRnodeCount(rr) == 0)
		return CONNECT_INVALID;
	return CONNECT_FAILED;
}

/*
 * cli_connect_or_report
 *		cli_connect for the commands that exit 1 when no node answers:
 *		returns CLI_EXIT_OK with *rrp usable, or the exit code after printing
 *		the error (the handle is then released).
 */
int
cli_connect_or_report(const char *conninfo, const char *options, RRcluster **rrp)
{
	switch (cli_connect(conninfo, options, rrp))
	{
		case CONNECT_OK:
			return CLI_EXIT_OK;
		case CONNECT_INVALID:
			cli_error("%s", RRerrorMessage(*rrp));
			cli_hint_help();
			cli_disconnect(rrp);
			return CLI_EXIT_USAGE;
		case CONNECT_FAILED:
			cli_error("%s", RRerrorMessage(*rrp));
			cli_disconnect(rrp);
			return CLI_EXIT_FAILURE;
		case CONNECT_NO_MEMORY:
			cli_error("out of memory");
			return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_FAILURE;
}

/*
 * cli_connect_picture
 *		cli_connect for the commands that describe the cluster even when no
 *		node answers (status, metrics): returns -1 to go on, with *rrp set
 *		and every node answered or failed (RRconnect returns as soon as it
 *		can route; a refresh waits for the rest), the error on stderr when no
 *		node answered; or the exit code after printing the error.
 */
int
cli_connect_picture(const char *conninfo, const char *options, RRcluster **rrp)
{
	switch (cli_connect(conninfo, options, rrp))
	{
		case CONNECT_OK:
			(void) RRrefresh(*rrp);
			return -1;
		case CONNECT_FAILED:
			cli_error("%s", RRerrorMessage(*rrp));
			return -1;
		case CONNECT_INVALID:
			cli_error("%s", RRerrorMessage(*rrp));
			cli_hint_help();
			cli_disconnect(rrp);
			return CLI_EXIT_USAGE;
		case CONNECT_NO_MEMORY:
			cli_error("out of memory");
			return CLI_EXIT_FAILURE;
	}
	return CLI_EXIT_FAILURE;
}

/*
 * cli_disconnect
 *		RRfinish the handle and forget it.  NULL is fine.
 */
void
cli_disconnect(RRcluster **rrp)
{
	cli_signals_set_handle(NULL);
	if (*rrp == open_handle)
		open_handle = NULL;
	RRfinish(*rrp);
	*rrp = NULL;
}

/* atexit: a handle still open when exit() is called (out of memory) */
static void
release_open_handle(void)
{
	cli_signals_set_handle(NULL);
	RRfinish(open_handle);
	open_handle = NULL;
}

/*
 * report_usage_error
 *		The message, the hint, and for check the plugin's UNKNOWN line on
 *		stdout (monitoring systems read stdout).  Returns the exit code.
 */
static int
report_usage_error(const cli_args *args, const char *error)
{
	cli_error("%s", error);
	cli_hint_help();
	if (args->command == CMD_CHECK)
	{
		printf("REPLROUTE UNKNOWN - %s\n", error);
		(void) cli_finish_stdout();
		return CHECK_UNKNOWN;
	}
	return CLI_EXIT_USAGE;
}

/*
 * main
 *		Parse, then run the command.  Returns the command's exit code.
 */
int
main(int argc, char **argv)
{
	cli_args	args;
	char		error[512];

	cli_signals_init();
	atexit(release_open_handle);

	switch (cli_parse_args(argc, argv, &args, error, sizeof(error)))
	{
		case PARSE_HELP:
			print_help();
			return cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
		case PARSE_VERSION:
			print_version();
			return cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
		case PARSE_ERROR:
			return report_usage_error(&args, error);
		case PARSE_OK:
			break;
	}

	switch (args.command)
	{
		case CMD_STATUS:
			return cli_cmd_status(&args);
		case CMD_CHECK:
			return cli_cmd_check(&args);
		case CMD_METRICS:
			return cli_cmd_metrics(&args);
		case CMD_ROUTE:
			return cli_cmd_route(&args);
		case CMD_EXEC:
			return cli_cmd_exec(&args);
		case CMD_NONE:
			break;
	}
	return CLI_EXIT_USAGE;
}
