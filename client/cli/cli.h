/*-------------------------------------------------------------------------
 *
 * cli.h
 *		Declarations shared by the files of the replroute command-line
 *		tool.  The tool uses only libreplroute's public header, like any
 *		application would (the Makefile refuses to link it if it calls
 *		anything else of the library): two rooms, one door.
 *
 * Files:
 *	main.c		main(), --help, --version, connecting
 *	args.c		the command line (getopt_long), thresholds of "check"
 *	signals.c	SIGINT/SIGTERM/SIGHUP: cancel the running statement, exit
 *	nodes.c		node facts as words: states, reasons, one-line messages
 *	status.c	"status": header, node table, notes, slots; JSON; --watch
 *	check.c		"check": the monitoring-plugin verdict and perfdata
 *	metrics.c	"metrics": the Prometheus text exposition
 *	route.c		"route", and its --explain
 *	exec.c		"exec"
 *	slots.c		reading the primary's replication slots
 *	output.c	messages, memory, colour, tables, JSON and unit formatting
 *
 *-------------------------------------------------------------------------
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "replroute.h"

#define CLI_VERSION_STR		"1.1.0"

#ifndef CLI_PRINTF
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/*
 * Exit codes.  status, metrics, route and exec: 0 success, 1 failure,
 * 2 usage.  check follows the monitoring-plugin convention (cli_check_state).
 * A signal ends every command with 128 + its number (SIGINT 130, SIGTERM
 * 143), except status --watch, which it stops with 0.
 */
#define CLI_EXIT_OK			0
#define CLI_EXIT_FAILURE	1
#define CLI_EXIT_USAGE		2

typedef enum
{
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3
} cli_check_state;

typedef enum
{
	CMD_NONE,
	CMD_STATUS,
	CMD_CHECK,
	CMD_METRICS,
	CMD_ROUTE,
	CMD_EXEC
} cli_command;

/* What a -w/-c threshold of "check" applies to. */
typedef enum
{
	THRESHOLD_LAG_SECONDS,		/* lag=1s: a standby's lag_seconds */
	THRESHOLD_LAG_BYTES,		/* bytes=16MB: a standby's lag_bytes */
	THRESHOLD_RETAINED,			/* retained=1GB: a slot's retained_bytes */
	THRESHOLD_COUNT
} cli_threshold_kind;

typedef struct cli_thresholds
{
	bool		has_warning[THRESHOLD_COUNT];
	bool		has_critical[THRESHOLD_COUNT];
	double		warning[THRESHOLD_COUNT];	/* seconds, or bytes */
	double		critical[THRESHOLD_COUNT];
} cli_thresholds;

/* The parsed command line. */
typedef struct cli_args
{
	cli_command command;
	const char *conninfo;		/* "" when the libpq environment names the nodes */
	const char *sql;			/* exec only */
	const char *options;		/* -o/--options, or NULL */
	bool		json;			/* status --json */
	bool		watch;			/* status --watch */
	double		watch_seconds;
	bool		have_intent;	/* --read or --write given */
	RRintent	intent;
	bool		token;			/* exec --write --token */
	const char *after_token;	/* exec --read --after-token LSN, or NULL */
	bool		explain;		/* route --explain */
	cli_thresholds thresholds;	/* check -w/-c */
} cli_args;

/* args.c */
typedef enum
{
	PARSE_OK,
	PARSE_HELP,
	PARSE_VERSION,
	PARSE_ERROR					/* message in the error buffer */
} cli_parse_result;

extern cli_parse_result cli_parse_args(int argc, char **argv, cli_args *args,
									   char *error, size_t errlen);
extern const char *cli_threshold_name(cli_threshold_kind kind);

/* main.c: connecting */
typedef enum
{
	CONNECT_OK,
	CONNECT_INVALID,			/* conninfo or options invalid: a usage error */
	CONNECT_FAILED,				/* no node answered */
	CONNECT_NO_MEMORY
} cli_connect_result;

extern cli_connect_result cli_connect(const char *conninfo, const char *options,
									  RRcluster **rrp);
extern int	cli_connect_or_report(const char *conninfo, const char *options,
								  RRcluster **rrp);
extern int	cli_connect_picture(const char *conninfo, const char *options,
								RRcluster **rrp);
extern void cli_disconnect(RRcluster **rrp);
extern char *cli_option_value(const char *options, const char *key);

/* signals.c */
extern void cli_signals_init(void);
extern void cli_signals_set_handle(RRcluster *rr);
extern void cli_signals_statement(bool running);
extern void cli_signals_watch(bool on);
extern bool cli_signals_stop_requested(void);
extern void cli_signals_sleep(double seconds);

/* status.c, check.c, metrics.c, route.c, exec.c: each returns the exit code */
extern int	cli_cmd_status(const cli_args *args);
extern int	cli_cmd_check(const cli_args *args);
extern int	cli_cmd_metrics(const cli_args *args);
extern int	cli_cmd_route(const cli_args *args);
extern int	cli_cmd_exec(const cli_args *args);

/* slots.c */
typedef struct cli_slots
{
	PGresult   *res;			/* slot_name, active, wal_status, retained_bytes */
	int			node;			/* the primary they were read on, or -1 */
	char	   *error;			/* one-line reason if res is NULL */
} cli_slots;

extern void cli_slots_read(RRcluster *rr, cli_slots *slots);
extern int	cli_slots_count(const cli_slots *slots);
extern const char *cli_slot_name(const cli_slots *slots, int i);
extern int	cli_slot_active(const cli_slots *slots, int i);
extern const char *cli_slot_wal_status(const cli_slots *slots, int i);
extern bool cli_slot_retained(const cli_slots *slots, int i, int64_t *bytes);
extern void cli_slots_free(cli_slots *slots);

/* nodes.c: node facts as words */
extern const char *cli_node_host(const RRcluster *rr, int node);
extern const char *cli_node_port(const RRcluster *rr, int node);
extern const char *cli_node_condition(const RRcluster *rr, int node);
extern const char *cli_node_state(const RRcluster *rr, int node);
extern bool cli_node_answered(const RRcluster *rr, int node);
extern bool cli_node_is_standby(const RRcluster *rr, int node);
extern const char *cli_role_name(RRrole role);
extern char *cli_node_why(const RRcluster *rr, int node);
extern const char *cli_reason_colour(RRreason reason);
extern bool cli_cluster_can_serve(const RRcluster *rr);
extern int	cli_cluster_timeline(const RRcluster *rr);
extern char *cli_no_primary_headline(const RRcluster *rr);
extern char *cli_no_read_headline(const RRcluster *rr);
extern void cli_print_node_reasons(FILE *out, const RRcluster *rr);
extern char *cli_result_error(const PGresult *res);

/* output.c: messages and memory */
extern void cli_error(const char *fmt,...) CLI_PRINTF(1, 2);
extern void cli_hint_help(void);
extern char *cli_vpsprintf(const char *fmt, va_list ap) CLI_PRINTF(1, 0);
extern char *cli_psprintf(const char *fmt,...) CLI_PRINTF(1, 2);
extern char *cli_strdup(const char *s);
extern void *cli_malloc(size_t size);
extern void *cli_realloc(void *ptr, size_t size);
extern void cli_out_of_memory(void) __attribute__((noreturn));
extern char *cli_one_line(const char *msg);
extern const char *cli_shorten(const char *arg, char *buf, size_t len);
extern bool cli_stdout_ok(void);
extern bool cli_finish_stdout(void);
extern void cli_print_wrapped(FILE *out, const char *first, const char *cont,
							  const char *text, size_t width);

/* output.c: units */
extern void cli_format_bytes(int64_t bytes, char *buf, size_t len);
extern void cli_format_seconds(double seconds, char *buf, size_t len);
extern void cli_print_conninfo_value(FILE *out, const char *value);

/* output.c: colour */
#define CLI_GREEN	"\033[32m"
#define CLI_RED		"\033[31m"
#define CLI_YELLOW	"\033[33m"
#define CLI_RESET	"\033[0m"
extern bool cli_use_colour(void);

/* output.c: aligned tables */
typedef struct cli_table cli_table;

extern cli_table *cli_table_create(int ncols, const char *const *headers,
								   const bool *right_align);
extern void cli_table_cell(cli_table *t, const char *colour, const char *text);
extern void cli_table_print(const cli_table *t, FILE *out, bool colour);
extern void cli_table_free(cli_table *t);

/* output.c: JSON */
extern void cli_json_string(FILE *out, const char *s);

#endif							/* CLI_H */
