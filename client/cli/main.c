/*-------------------------------------------------------------------------
 *
 * cli_main.c
 *		The replroute command-line tool: argument parsing, --help,
 *		--version, connecting, and dispatch to the subcommands.
 *
 * Arguments are parsed by hand (getopt_long cannot express "--watch
 * [SECONDS]" with a separate optional value): options may come anywhere
 * after the program name, the first other argument is the command, the
 * rest are its positional arguments, and "--" ends the options.  Parsing
 * never stops at the first problem, so that the command is known (check
 * reports bad arguments as UNKNOWN, exit 3; the others exit 2).
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define WATCH_DEFAULT_SECONDS	2.0
#define WATCH_MIN_SECONDS		0.1
#define WATCH_MAX_SECONDS		86400.0

/* The handle currently open, released at exit on every path. */
static RRcluster *open_handle = NULL;

typedef enum
{
	OPT_HELP,
	OPT_VERSION,
	OPT_OPTIONS,
	OPT_JSON,
	OPT_WATCH,
	OPT_READ,
	OPT_WRITE,
	OPT_TOKEN,
	OPT_AFTER_TOKEN,
	OPT_COUNT
} opt_id;

typedef enum
{
	ARG_NONE,					/* a flag */
	ARG_REQUIRED,				/* --name=value or --name value */
	ARG_OPTIONAL_NUMBER			/* --name=value, or --name N when N is a number */
} arg_kind;

typedef struct long_option
{
	const char *name;			/* without the leading "--" */
	const char *spelled;		/* as messages show it */
	opt_id		id;
	arg_kind	arg;
} long_option;

static const long_option long_options[] = {
	{"help", "--help", OPT_HELP, ARG_NONE},
	{"version", "--version", OPT_VERSION, ARG_NONE},
	{"options", "--options", OPT_OPTIONS, ARG_REQUIRED},
	{"json", "--json", OPT_JSON, ARG_NONE},
	{"watch", "--watch", OPT_WATCH, ARG_OPTIONAL_NUMBER},
	{"read", "--read", OPT_READ, ARG_NONE},
	{"write", "--write", OPT_WRITE, ARG_NONE},
	{"token", "--token", OPT_TOKEN, ARG_NONE},
	{"after-token", "--after-token", OPT_AFTER_TOKEN, ARG_REQUIRED},
	{NULL, NULL, OPT_COUNT, ARG_NONE}
};

/* Which options each command accepts (besides --help and --version). */
typedef struct command_def
{
	const char *name;
	cli_command command;
	int			npositional;	/* CONNINFO, and SQL for exec */
	bool		accepts[OPT_COUNT];
} command_def;

static const command_def commands[] = {
	{
		"status", CMD_STATUS, 1,
		{[OPT_OPTIONS] = true, [OPT_JSON] = true, [OPT_WATCH] = true}
	},
	{
		"check", CMD_CHECK, 1,
		{[OPT_OPTIONS] = true}
	},
	{
		"route", CMD_ROUTE, 1,
		{[OPT_OPTIONS] = true, [OPT_READ] = true, [OPT_WRITE] = true}
	},
	{
		"exec", CMD_EXEC, 2,
		{[OPT_OPTIONS] = true, [OPT_READ] = true, [OPT_WRITE] = true,
		[OPT_TOKEN] = true, [OPT_AFTER_TOKEN] = true}
	},
	{NULL, CMD_NONE, 0, {false}}
};

/* Parser state: the arguments so far and the first problem found. */
typedef struct parser
{
	cli_args	args;
	bool		have_command_word;	/* the first positional was seen */
	const command_def *def;		/* the command, if known */
	bool		help;
	bool		version;
	bool		seen[OPT_COUNT];
	const char *seen_as[OPT_COUNT]; /* spelling used, for messages */
	const char *positional[2];
	int			npositional;
	const char *extra;			/* first surplus positional argument */
	char		error[512];
} parser;

/*
 * parse_error
 *		Remember the first problem (later ones would only confuse).
 */
static void
parse_error(parser *p, const char *fmt,...) CLI_PRINTF(2, 3);

static void
parse_error(parser *p, const char *fmt,...)
{
	va_list		ap;

	if (p->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
}

/*
 * parse_seconds
 *		A --watch interval: a finite decimal number of seconds in range.
 */
static bool
parse_seconds(const char *s, double *out)
{
	char	   *end;
	double		v;

	if (*s == '\0' || isspace((unsigned char) *s))
		return false;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v) ||
		v < WATCH_MIN_SECONDS || v > WATCH_MAX_SECONDS)
		return false;
	*out = v;
	return true;
}

/* Does s look like a number meant as --watch's value (even a bad one)? */
static bool
looks_like_number(const char *s)
{
	char	   *end;

	if (!(isdigit((unsigned char) s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+'))
		return false;
	(void) strtod(s, &end);
	return end != s && *end == '\0';
}

/*
 * valid_token
 *		Syntax of a session token, checked before connecting: a WAL position
 *		"X/Y", each part 1 to 8 hex digits.  (RRsetSessionToken checks it
 *		again; this only lets a typo fail before any network work.)
 */
static bool
valid_token(const char *s)
{
	int			part;

	for (part = 0; part < 2; part++)
	{
		int			n = 0;

		while (isxdigit((unsigned char) *s))
		{
			s++;
			if (++n > 8)
				return false;
		}
		if (n == 0)
			return false;
		if (part == 0 && *s++ != '/')
			return false;
	}
	return *s == '\0';
}

/*
 * apply_option
 *		Record one option; shown is the spelling the user typed.
 */
static void
apply_option(parser *p, opt_id id, const char *shown, const char *value)
{
	char		buf[64];

	if (p->seen[id] && id != OPT_HELP && id != OPT_VERSION)
	{
		parse_error(p, "option %s is given more than once", shown);
		return;
	}
	p->seen[id] = true;
	p->seen_as[id] = shown;

	switch (id)
	{
		case OPT_HELP:
			p->help = true;
			break;
		case OPT_VERSION:
			p->version = true;
			break;
		case OPT_OPTIONS:
			p->args.options = value;
			break;
		case OPT_JSON:
			p->args.json = true;
			break;
		case OPT_WATCH:
			p->args.watch = true;
			p->args.watch_seconds = WATCH_DEFAULT_SECONDS;
			if (value != NULL && !parse_seconds(value, &p->args.watch_seconds))
				parse_error(p, "invalid interval \"%s\" for --watch: expected seconds "
							"from %g to %g", cli_shorten(value, buf, sizeof(buf)),
							WATCH_MIN_SECONDS, WATCH_MAX_SECONDS);
			break;
		case OPT_READ:
		case OPT_WRITE:
			if (p->seen[OPT_READ] && p->seen[OPT_WRITE])
				parse_error(p, "--read and --write cannot be used together");
			p->args.have_intent = true;
			p->args.intent = id == OPT_READ ? RR_READ : RR_WRITE;
			break;
		case OPT_TOKEN:
			p->args.token = true;
			break;
		case OPT_AFTER_TOKEN:
			p->args.after_token = value;
			break;
		case OPT_COUNT:
			break;
	}
}

/*
 * parse_long_option
 *		argv[i] starts with "--".  Returns the index of the last argument
 *		used (i, or i + 1 when the value was the next argument).
 */
static int
parse_long_option(parser *p, int argc, char **argv, int i)
{
	const char *arg = argv[i] + 2;
	const char *eq = strchr(arg, '=');
	size_t		namelen = eq ? (size_t) (eq - arg) : strlen(arg);
	const long_option *o;
	char		buf[64];

	for (o = long_options; o->name != NULL; o++)
		if (strlen(o->name) == namelen && strncmp(o->name, arg, namelen) == 0)
			break;
	if (o->name == NULL)
	{
		parse_error(p, "unknown option \"%s\"", cli_shorten(argv[i], buf, sizeof(buf)));
		return i;
	}

	switch (o->arg)
	{
		case ARG_NONE:
			if (eq != NULL)
			{
				parse_error(p, "option %s takes no value", o->spelled);
				return i;
			}
			apply_option(p, o->id, o->spelled, NULL);
			return i;
		case ARG_REQUIRED:
			if (eq != NULL)
			{
				apply_option(p, o->id, o->spelled, eq + 1);
				return i;
			}
			if (i + 1 >= argc)
			{
				parse_error(p, "option %s needs a value", o->spelled);
				return i;
			}
			apply_option(p, o->id, o->spelled, argv[i + 1]);
			return i + 1;
		case ARG_OPTIONAL_NUMBER:
			if (eq != NULL)
			{
				apply_option(p, o->id, o->spelled, eq + 1);
				return i;
			}
			if (i + 1 < argc && looks_like_number(argv[i + 1]))
			{
				apply_option(p, o->id, o->spelled, argv[i + 1]);
				return i + 1;
			}
			apply_option(p, o->id, o->spelled, NULL);
			return i;
	}
	return i;
}

/*
 * parse_short_option
 *		argv[i] is "-X..." (not "--").  -o takes a value, attached or next;
 *		-h and -V stand alone.
 */
static int
parse_short_option(parser *p, int argc, char **argv, int i)
{
	const char *arg = argv[i];
	char		buf[64];

	if (arg[1] == 'o')
	{
		if (arg[2] != '\0')
		{
			apply_option(p, OPT_OPTIONS, "-o", arg + 2);
			return i;
		}
		if (i + 1 >= argc)
		{
			parse_error(p, "option -o needs a value");
			return i;
		}
		apply_option(p, OPT_OPTIONS, "-o", argv[i + 1]);
		return i + 1;
	}
	if (arg[1] == 'h' && arg[2] == '\0')
		apply_option(p, OPT_HELP, "-h", NULL);
	else if (arg[1] == 'V' && arg[2] == '\0')
		apply_option(p, OPT_VERSION, "-V", NULL);
	else
		parse_error(p, "unknown option \"%s\"", cli_shorten(arg, buf, sizeof(buf)));
	return i;
}

/*
 * parse_positional
 *		The first positional argument names the command; the others are
 *		its arguments.
 */
static void
parse_positional(parser *p, const char *arg)
{
	const command_def *c;
	char		buf[64];

	if (!p->have_command_word)
	{
		p->have_command_word = true;
		for (c = commands; c->name != NULL; c++)
			if (strcmp(c->name, arg) == 0)
				break;
		if (c->name == NULL)
			parse_error(p, "unknown command \"%s\" (expected status, check, route or exec)",
						cli_shorten(arg, buf, sizeof(buf)));
		else
		{
			p->def = c;
			p->args.command = c->command;
		}
		return;
	}
	if (p->npositional < 2)
		p->positional[p->npositional++] = arg;
	else if (p->extra == NULL)
		p->extra = arg;
}

/*
 * check_command
 *		What a known command requires of the options and arguments.
 */
static void
check_command(parser *p)
{
	const command_def *d = p->def;
	cli_args   *a = &p->args;
	char		buf[64];
	int			id;

	for (id = 0; id < OPT_COUNT; id++)
		if (p->seen[id] && id != OPT_HELP && id != OPT_VERSION && !d->accepts[id])
			parse_error(p, "option %s cannot be used with \"%s\"", p->seen_as[id], d->name);

	if (p->npositional < 1)
		parse_error(p, "missing CONNINFO (a connection string listing the nodes)");
	else if (p->npositional < d->npositional)
		parse_error(p, "missing SQL (the statement to run)");
	else if (p->npositional > d->npositional || p->extra != NULL)
		parse_error(p, "too many arguments: \"%s\" is one too many%s",
					cli_shorten(p->npositional > d->npositional ?
								p->positional[d->npositional] : p->extra,
								buf, sizeof(buf)),
					d->command == CMD_EXEC ? " (quote the SQL)" : "");
	a->conninfo = p->npositional >= 1 ? p->positional[0] : NULL;
	a->sql = p->npositional >= 2 ? p->positional[1] : NULL;

	if ((d->command == CMD_ROUTE || d->command == CMD_EXEC) && !a->have_intent)
		parse_error(p, "\"%s\" needs --read or --write", d->name);
	if (a->token && a->have_intent && a->intent != RR_WRITE)
		parse_error(p, "--token goes with --write (it prints the token of the write)");
	if (a->after_token != NULL && a->have_intent && a->intent != RR_READ)
		parse_error(p, "--after-token goes with --read");
	if (a->after_token != NULL && !valid_token(a->after_token))
		parse_error(p, "invalid session token \"%s\" for --after-token: expected a WAL "
					"position such as \"16/B374D848\"",
					cli_shorten(a->after_token, buf, sizeof(buf)));
}

/*
 * parse_args
 *		Fill *p from argv.  p->error is "" when everything is in order.
 */
static void
parse_args(parser *p, int argc, char **argv)
{
	bool		only_positional = false;
	int			i;

	memset(p, 0, sizeof(*p));
	p->args.command = CMD_NONE;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (arg == NULL)
			break;
		if (only_positional || arg[0] != '-' || arg[1] == '\0')
			parse_positional(p, arg);
		else if (strcmp(arg, "--") == 0)
			only_positional = true;
		else if (arg[1] == '-')
			i = parse_long_option(p, argc, argv, i);
		else
			i = parse_short_option(p, argc, argv, i);
	}

	if (p->help || p->version)
		return;
	if (!p->have_command_word)
		parse_error(p, "no command given (expected status, check, route or exec)");
	else if (p->def != NULL)
		check_command(p);
}

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
		  "  replroute status [--json] [--watch [SECONDS]] [-o OPTIONS] CONNINFO\n"
		  "  replroute check  [-o OPTIONS] CONNINFO\n"
		  "  replroute route  (--read | --write) [-o OPTIONS] CONNINFO\n"
		  "  replroute exec   (--read | --write) [--token] [--after-token LSN]\n"
		  "                   [-o OPTIONS] CONNINFO SQL\n"
		  "  replroute --help | --version\n"
		  "\n"
		  "Commands:\n"
		  "  status   every node as the router sees it (state, role, timeline, WAL\n"
		  "           position, lag, fit for reads), then the primary's replication slots\n"
		  "  check    monitoring-plugin check (Nagios, Icinga, ...): one line, exit code\n"
		  "  route    print \"host=H port=P\" of the node a read or a write would go to\n"
		  "  exec     run SQL there and print the rows as \"psql -At\" does\n"
		  "\n"
		  "Options:\n"
		  "  -o, --options=OPTIONS  routing options, \"key=value ...\": max_lag_bytes (16MB),\n"
		  "                         max_lag_seconds (1s), check_interval (100ms), policy\n"
		  "                         (round_robin|random|least_lag), fallback (primary|error),\n"
		  "                         consistency (none|session), causal_wait (100ms)\n"
		  "      --json             status: print one JSON object (one per line with --watch)\n"
		  "      --watch [SECONDS]  status: show again every SECONDS (default 2) until\n"
		  "                         interrupted; redraws the screen on a terminal\n"
		  "      --read, --write    route, exec: the statement reads, or writes\n"
		  "      --token            exec --write: print the session token on stderr\n"
		  "      --after-token=LSN  exec --read: read only where that token's writes are\n"
		  "                         visible (read-your-writes across processes)\n"
		  "  -h, --help             show this help, then exit\n"
		  "  -V, --version          show the version, then exit\n"
		  "\n"
		  "CONNINFO is a libpq connection string naming every node, e.g.\n"
		  "  \"host=db1,db2,db3 port=5432,5432,5432 dbname=app\"\n"
		  "Roles are discovered, never configured.  Options may come before or after\n"
		  "CONNINFO and SQL; \"--\" ends the options.\n"
		  "\n"
		  "Exit codes:\n"
		  "  status, route, exec:  0 success; 1 failure (no node answered, no node for the\n"
		  "                        request, SQL error); 2 bad arguments (including an\n"
		  "                        invalid CONNINFO, OPTIONS or session token)\n"
		  "  check:                0 OK; 1 WARNING (a standby down or over a lag limit, a\n"
		  "                        slot inactive or at risk); 2 CRITICAL (no primary, no\n"
		  "                        node fit for reads, a slot lost, a node of another\n"
		  "                        cluster); 3 UNKNOWN (bad arguments, extension missing)\n"
		  "\n"
		  "Environment: libpq's variables (PGUSER, PGPASSFILE, ...) apply to every node;\n"
		  "NO_COLOR (set to anything) turns colour off.\n",
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
 *		RRconnect, and classify the outcome.  *rrp is set even on failure
 *		(for RRerrorMessage); release it with cli_disconnect.
 *
 * Invalid arguments are told from unreachable nodes by the node count:
 * the library parses before it probes, so an invalid conninfo or options
 * string leaves a handle without nodes.
 */
cli_connect_result
cli_connect(const char *conninfo, const char *options, RRcluster **rrp)
{
	RRcluster  *rr = RRconnect(conninfo, options);

	*rrp = rr;
	open_handle = rr;
	if (rr == NULL)
		return CONNECT_NO_MEMORY;
	if (RRstatus(rr) == RR_OK)
		return CONNECT_OK;
	if (RRnodeCount(rr) == 0 || strncmp(RRerrorMessage(rr), "invalid", 7) == 0)
		return CONNECT_INVALID;
	return CONNECT_FAILED;
}

/*
 * cli_connect_or_report
 *		cli_connect for status, route and exec: returns CLI_EXIT_OK with
 *		*rrp usable, or the exit code after printing the error (the handle
 *		is then released).
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
 * cli_disconnect
 *		RRfinish the handle and forget it.  NULL is fine.
 */
void
cli_disconnect(RRcluster **rrp)
{
	if (*rrp == open_handle)
		open_handle = NULL;
	RRfinish(*rrp);
	*rrp = NULL;
}

/* atexit: a handle still open when exit() is called (out of memory) */
static void
release_open_handle(void)
{
	RRfinish(open_handle);
	open_handle = NULL;
}

/*
 * report_usage_error
 *		The message, the hint, and for check the plugin's UNKNOWN line on
 *		stdout (monitoring systems read stdout).  Returns the exit code.
 */
static int
report_usage_error(const parser *p)
{
	cli_error("%s", p->error);
	cli_hint_help();
	if (p->args.command == CMD_CHECK)
	{
		printf("REPLROUTE UNKNOWN - %s\n", p->error);
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
	parser		p;

	/*
	 * A reader that goes away ("replroute status --watch | head") must not
	 * kill us mid-way: writes then fail with EPIPE, which is handled.
	 * (libpq never raises SIGPIPE on its sockets either.)
	 */
	signal(SIGPIPE, SIG_IGN);
	atexit(release_open_handle);

	parse_args(&p, argc, argv);
	if (p.help)
	{
		print_help();
		return cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
	}
	if (p.version)
	{
		print_version();
		return cli_finish_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
	}
	if (p.error[0] != '\0')
		return report_usage_error(&p);

	switch (p.args.command)
	{
		case CMD_STATUS:
			return cli_cmd_status(&p.args);
		case CMD_CHECK:
			return cli_cmd_check(&p.args);
		case CMD_ROUTE:
			return cli_cmd_route(&p.args);
		case CMD_EXEC:
			return cli_cmd_exec(&p.args);
		case CMD_NONE:
			break;
	}
	return CLI_EXIT_USAGE;
}
