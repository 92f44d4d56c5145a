/*-------------------------------------------------------------------------
 *
 * args.c
 *		The command line of the replroute tool, parsed with getopt_long:
 *		options may come anywhere after the program name (GNU getopt moves
 *		the other arguments behind them), "--" ends the options, the first
 *		other argument is the command and the rest are its arguments.
 *
 * Two things getopt_long cannot say alone: "--watch [SECONDS]" takes a
 * separate value only when it looks like a number (so "status --watch
 * CONNINFO" still works), and CONNINFO may be left out when the libpq
 * environment (PGHOST, PGHOSTADDR, PGPORT, PGSERVICE) names the nodes.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define WATCH_DEFAULT_SECONDS	2.0
#define WATCH_MIN_SECONDS		0.1
#define WATCH_MAX_SECONDS		86400.0

/* getopt_long's values for options without a short form */
enum
{
	OPT_JSON = 256,
	OPT_WATCH,
	OPT_READ,
	OPT_WRITE,
	OPT_TOKEN,
	OPT_AFTER_TOKEN,
	OPT_EXPLAIN
};

static const struct option long_options[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"options", required_argument, NULL, 'o'},
	{"warning", required_argument, NULL, 'w'},
	{"critical", required_argument, NULL, 'c'},
	{"json", no_argument, NULL, OPT_JSON},
	{"watch", optional_argument, NULL, OPT_WATCH},
	{"read", no_argument, NULL, OPT_READ},
	{"write", no_argument, NULL, OPT_WRITE},
	{"token", no_argument, NULL, OPT_TOKEN},
	{"after-token", required_argument, NULL, OPT_AFTER_TOKEN},
	{"explain", no_argument, NULL, OPT_EXPLAIN},
	{NULL, 0, NULL, 0}
};

/* Options that may be given more than once (the rest may not). */
#define REPEATABLE(c)	((c) == 'h' || (c) == 'V' || (c) == 'w' || (c) == 'c')

/* Which options each command accepts (besides --help and --version). */
typedef struct command_def
{
	const char *name;
	cli_command command;
	int			npositional;	/* CONNINFO, and SQL for exec */
	const int  *accepts;		/* option values, 0-terminated */
} command_def;

static const int status_opts[] = {'o', OPT_JSON, OPT_WATCH, 0};
static const int check_opts[] = {'o', 'w', 'c', 0};
static const int metrics_opts[] = {'o', 0};
static const int route_opts[] = {'o', OPT_READ, OPT_WRITE, OPT_EXPLAIN, 0};
static const int exec_opts[] = {'o', OPT_READ, OPT_WRITE, OPT_TOKEN, OPT_AFTER_TOKEN, 0};

static const command_def commands[] = {
	{"status", CMD_STATUS, 1, status_opts},
	{"check", CMD_CHECK, 1, check_opts},
	{"metrics", CMD_METRICS, 1, metrics_opts},
	{"route", CMD_ROUTE, 1, route_opts},
	{"exec", CMD_EXEC, 2, exec_opts},
	{NULL, CMD_NONE, 0, NULL}
};

/* Does command d take option c? */
static bool
accepts(const command_def *d, int c)
{
	const int  *o;

	for (o = d->accepts; *o != 0; o++)
		if (*o == c)
			return true;
	return false;
}

#define COMMAND_LIST	"status, check, metrics, route or exec"

/* Parser state: what was seen, and the first problem found. */
typedef struct parser
{
	cli_args   *args;
	bool		help;
	bool		version;
	int			seen[OPT_EXPLAIN + 1];	/* times each option was given */
	bool		seen_long[OPT_EXPLAIN + 1]; /* ... last typed in its long form */
	char	   *error;
	size_t		errlen;
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
	vsnprintf(p->error, p->errlen, fmt, ap);
	va_end(ap);
}

/*
 * option_shown
 *		Option c as messages show it: "-o" when typed short (or when it has
 *		only a short form), "--options" when typed long or long-only.
 */
static const char *
option_shown(int c, bool typed_long)
{
	static char buf[40];
	const struct option *o;

	if (c < 256 && !typed_long)
	{
		snprintf(buf, sizeof(buf), "-%c", c);
		return buf;
	}
	for (o = long_options; o->name != NULL; o++)
		if (o->val == c)
		{
			snprintf(buf, sizeof(buf), "--%s", o->name);
			return buf;
		}
	snprintf(buf, sizeof(buf), "-%c", c);
	return buf;
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

/* ---- thresholds of "check" ---- */

static const char *const threshold_names[THRESHOLD_COUNT] = {
	"lag", "bytes", "retained"
};

/* The name of a threshold kind, as -w/-c spell it ("lag", "bytes", ...). */
const char *
cli_threshold_name(cli_threshold_kind kind)
{
	return threshold_names[kind];
}

/* Units: a multiplier to seconds or bytes, and what kind of figure it measures. */
typedef struct unit
{
	const char *name;
	double		factor;
	bool		time;
} unit;

static const unit units[] = {
	{"ms", 0.001, true}, {"s", 1.0, true}, {"min", 60.0, true}, {"h", 3600.0, true},
	{"B", 1.0, false}, {"kB", 1024.0, false}, {"MB", 1024.0 * 1024, false},
	{"GB", 1024.0 * 1024 * 1024, false}, {"TB", 1024.0 * 1024 * 1024 * 1024, false},
	{NULL, 0, false}
};

/*
 * parse_threshold
 *		One -w/-c value: "KIND=VALUE" (lag=1s, bytes=16MB, retained=1GB), or
 *		a bare VALUE whose unit says the kind (1s: lag, 16MB: bytes).  A
 *		number without unit is seconds for lag and bytes otherwise.
 */
static void
parse_threshold(parser *p, int which, const char *arg)
{
	cli_thresholds *t = &p->args->thresholds;
	const char *eq = strchr(arg, '=');
	const char *value = eq ? eq + 1 : arg;
	const char *flag = which == 'w' ? "-w/--warning" : "-c/--critical";
	int			kind = -1;
	char	   *end;
	double		v;
	const unit *u = NULL;
	char		buf[64];

	if (eq != NULL)
	{
		int			k;

		for (k = 0; k < THRESHOLD_COUNT; k++)
			if (strlen(threshold_names[k]) == (size_t) (eq - arg) &&
				strncmp(arg, threshold_names[k], (size_t) (eq - arg)) == 0)
				kind = k;
		if (kind < 0)
		{
			parse_error(p, "invalid threshold \"%s\" for %s: expected lag=, bytes= or "
						"retained= (e.g. lag=1s, bytes=16MB, retained=1GB)",
						cli_shorten(arg, buf, sizeof(buf)), flag);
			return;
		}
	}
	v = strtod(value, &end);
	if (end == value || !isfinite(v) || v < 0 || isspace((unsigned char) *value))
	{
		parse_error(p, "invalid threshold \"%s\" for %s: expected a number with a unit "
					"(ms, s, min, h or B, kB, MB, GB, TB)",
					cli_shorten(arg, buf, sizeof(buf)), flag);
		return;
	}
	while (*end == ' ')
		end++;
	if (*end != '\0')
	{
		for (u = units; u->name != NULL; u++)
			if (strcmp(u->name, end) == 0)
				break;
		if (u->name == NULL)
		{
			parse_error(p, "invalid unit \"%s\" in threshold \"%s\" for %s: expected ms, s, "
						"min, h (lag) or B, kB, MB, GB, TB (bytes, retained)",
						end, cli_shorten(arg, buf, sizeof(buf)), flag);
			return;
		}
	}
	if (kind < 0)
	{
		if (u == NULL)
		{
			parse_error(p, "threshold \"%s\" for %s needs a unit or a name "
						"(lag=1s, bytes=16MB, retained=1GB)",
						cli_shorten(arg, buf, sizeof(buf)), flag);
			return;
		}
		kind = u->time ? THRESHOLD_LAG_SECONDS : THRESHOLD_LAG_BYTES;
	}
	if (u != NULL && u->time != (kind == THRESHOLD_LAG_SECONDS))
	{
		parse_error(p, "threshold \"%s\" for %s: %s takes %s", cli_shorten(arg, buf, sizeof(buf)),
					flag, threshold_names[kind],
					kind == THRESHOLD_LAG_SECONDS ? "a time (ms, s, min, h)" :
					"a size (B, kB, MB, GB, TB)");
		return;
	}
	v *= u ? u->factor : 1.0;
	if (which == 'w')
	{
		if (t->has_warning[kind])
			parse_error(p, "the warning threshold for %s is given more than once",
						threshold_names[kind]);
		t->has_warning[kind] = true;
		t->warning[kind] = v;
	}
	else
	{
		if (t->has_critical[kind])
			parse_error(p, "the critical threshold for %s is given more than once",
						threshold_names[kind]);
		t->has_critical[kind] = true;
		t->critical[kind] = v;
	}
}

/* ---- options and positional arguments ---- */

/*
 * apply_option
 *		Record one option returned by getopt_long.
 */
static void
apply_option(parser *p, int c, const char *value, bool typed_long)
{
	cli_args   *a = p->args;
	char		buf[64];

	if (c >= 0 && c <= OPT_EXPLAIN)
	{
		if (p->seen[c] > 0 && !REPEATABLE(c))
			parse_error(p, "option %s is given more than once", option_shown(c, typed_long));
		p->seen[c]++;
		p->seen_long[c] = typed_long;
	}
	switch (c)
	{
		case 'h':
			p->help = true;
			break;
		case 'V':
			p->version = true;
			break;
		case 'o':
			a->options = value;
			break;
		case 'w':
		case 'c':
			parse_threshold(p, c, value);
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_WATCH:
			a->watch = true;
			a->watch_seconds = WATCH_DEFAULT_SECONDS;
			if (value != NULL && !parse_seconds(value, &a->watch_seconds))
				parse_error(p, "invalid interval \"%s\" for --watch: expected seconds "
							"from %g to %g", cli_shorten(value, buf, sizeof(buf)),
							WATCH_MIN_SECONDS, WATCH_MAX_SECONDS);
			break;
		case OPT_READ:
		case OPT_WRITE:
			if (p->seen[OPT_READ] && p->seen[OPT_WRITE])
				parse_error(p, "--read and --write cannot be used together");
			a->have_intent = true;
			a->intent = c == OPT_READ ? RR_READ : RR_WRITE;
			break;
		case OPT_TOKEN:
			a->token = true;
			break;
		case OPT_AFTER_TOKEN:
			a->after_token = value;
			break;
		case OPT_EXPLAIN:
			a->explain = true;
			break;
	}
}

/* Does the libpq environment name the nodes (so CONNINFO may be left out)? */
static bool
environment_names_nodes(void)
{
	static const char *const vars[] = {"PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE", NULL};
	int			i;

	for (i = 0; vars[i] != NULL; i++)
	{
		const char *v = getenv(vars[i]);

		if (v != NULL && *v != '\0')
			return true;
	}
	return false;
}

/*
 * check_command
 *		What the command requires of the options and positional arguments
 *		pos[0..npos).
 */
static void
check_command(parser *p, const command_def *d, char **pos, int npos)
{
	cli_args   *a = p->args;
	char		buf[64];
	int			c;
	bool		env = environment_names_nodes();

	for (c = 1; c <= OPT_EXPLAIN; c++)
		if (p->seen[c] && c != 'h' && c != 'V' && !accepts(d, c))
			parse_error(p, "option %s cannot be used with \"%s\"", option_shown(c, p->seen_long[c]),
						d->name);

	if (npos > d->npositional)
		parse_error(p, "too many arguments: \"%s\" is one too many%s",
					cli_shorten(pos[d->npositional], buf, sizeof(buf)),
					d->command == CMD_EXEC ? " (quote the SQL)" : "");
	else if (npos == d->npositional)
	{
		a->conninfo = pos[0];
		a->sql = npos > 1 ? pos[1] : NULL;
	}
	else if (npos == d->npositional - 1 && env)
	{
		/* CONNINFO left out: the environment names the nodes */
		a->conninfo = "";
		a->sql = npos > 0 ? pos[0] : NULL;
	}
	else if (npos == 0)
		parse_error(p, "missing CONNINFO (a connection string listing the nodes; or set "
					"PGHOST and PGPORT, or PGSERVICE)");
	else
		parse_error(p, "missing SQL (the statement to run)");

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
	for (c = 0; c < THRESHOLD_COUNT; c++)
		if (a->thresholds.has_warning[c] && a->thresholds.has_critical[c] &&
			a->thresholds.warning[c] > a->thresholds.critical[c])
			parse_error(p, "the warning threshold for %s is above the critical one",
						threshold_names[c]);
}

/*
 * cli_parse_args
 *		Fill *args from argv.  Returns PARSE_HELP or PARSE_VERSION when those
 *		were asked for (they win over any problem), PARSE_ERROR with a
 *		one-line message in error, or PARSE_OK.  args->command is set
 *		whenever the command word was recognised, also on error (check
 *		reports bad arguments its own way).
 */
cli_parse_result
cli_parse_args(int argc, char **argv, cli_args *args, char *error, size_t errlen)
{
	parser		p;
	const command_def *d = NULL;
	char		buf[64];
	char	  **pos;
	int			npos = 0;
	int			c;

	memset(args, 0, sizeof(*args));
	args->command = CMD_NONE;
	memset(&p, 0, sizeof(p));
	p.args = args;
	p.error = error;
	p.errlen = errlen;
	error[0] = '\0';

	/*
	 * "-" first: arguments that are not options come back in order as
	 * value 1 (whatever POSIXLY_CORRECT says); ":" next: a missing value is
	 * told apart from an unknown option.  Messages are our own.
	 */
	opterr = 0;
	optind = 1;
	pos = cli_malloc(sizeof(char *) * (size_t) (argc + 1));
	for (;;)
	{
		int			li = -1;

		c = getopt_long(argc, argv, "-:ho:Vw:c:", long_options, &li);
		if (c == -1)
			break;
		switch (c)
		{
			case 1:
				pos[npos++] = optarg;
				break;
			case '?':
				if (optopt == 0)
					parse_error(&p, "unknown option \"%s\"",
								cli_shorten(argv[optind - 1], buf, sizeof(buf)));
				else if (optopt == 'h' || optopt == 'V' || optopt >= 256)
					parse_error(&p, "option %s takes no value", option_shown(optopt, true));
				else
					parse_error(&p, "unknown option \"-%c\"",
								isprint(optopt) ? optopt : '?');
				break;
			case ':':
				parse_error(&p, "option %s needs a value",
							option_shown(optopt, strncmp(argv[optind - 1], "--", 2) == 0));
				break;
			case OPT_WATCH:
				/* "--watch 5": take the next argument when it is a number */
				if (optarg == NULL && optind < argc && looks_like_number(argv[optind]))
					optarg = argv[optind++];
				apply_option(&p, c, optarg, li >= 0);
				break;
			default:
				apply_option(&p, c, optarg, li >= 0);
				break;
		}
	}
	/* after "--" */
	while (optind < argc)
		pos[npos++] = argv[optind++];

	if (npos > 0)
	{
		for (d = commands; d->name != NULL; d++)
			if (strcmp(d->name, pos[0]) == 0)
				break;
		if (d->name == NULL)
		{
			parse_error(&p, "unknown command \"%s\" (expected " COMMAND_LIST ")",
						cli_shorten(pos[0], buf, sizeof(buf)));
			d = NULL;
		}
		else
			args->command = d->command;
	}
	if (p.help || p.version)
	{
		free(pos);
		return p.help ? PARSE_HELP : PARSE_VERSION;
	}
	if (npos == 0)
		parse_error(&p, "no command given (expected " COMMAND_LIST ")");
	else if (d != NULL)
		check_command(&p, d, pos + 1, npos - 1);
	free(pos);
	return error[0] != '\0' ? PARSE_ERROR : PARSE_OK;
}
