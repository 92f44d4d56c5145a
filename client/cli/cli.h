/*-------------------------------------------------------------------------
 *
 * cli.h
 *		Declarations shared by the files of the replroute command-line
 *		tool.  The tool uses only libreplroute's public header, like any
 *		application would.
 *
 * Files:
 *	cli_main.c		argument parsing, --help, --version, connecting, main()
 *	cli_status.c	"status": the node table, its JSON form, --watch
 *	cli_check.c		"check": the monitoring-plugin verdict
 *	cli_exec.c		"route" and "exec"
 *	cli_slots.c		reading the primary's replication slots
 *	cli_output.c	messages, colour, tables, JSON and unit formatting
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

#define CLI_VERSION_STR		"1.0.0"

#ifndef CLI_PRINTF
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/*
 * Exit codes.  status, route and exec: 0 success, 1 failure, 2 usage.
 * check follows the monitoring-plugin convention (cli_check_state).
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
	CMD_ROUTE,
	CMD_EXEC
} cli_command;

/* The parsed command line. */
typedef struct cli_args
{
	cli_command command;
	const char *conninfo;
	const char *sql;			/* exec only */
	const char *options;		/* -o/--options, or NULL */
	bool		json;			/* status --json */
	bool		watch;			/* status --watch */
	double		watch_seconds;
	bool		have_intent;	/* --read or --write given */
	RRintent	intent;
	bool		token;			/* exec --write --token */
	const char *after_token;	/* exec --read --after-token LSN, or NULL */
} cli_args;

/* Outcome of cli_connect. */
typedef enum
{
	CONNECT_OK,
	CONNECT_INVALID,			/* conninfo or options invalid: a usage error */
	CONNECT_FAILED,				/* no node answered */
	CONNECT_NO_MEMORY
} cli_connect_result;

/* cli_main.c */
extern cli_connect_result cli_connect(const char *conninfo, const char *options,
									  RRcluster **rrp);
extern int	cli_connect_or_report(const char *conninfo, const char *options,
								  RRcluster **rrp);
extern void cli_disconnect(RRcluster **rrp);

/* cli_status.c, cli_check.c, cli_exec.c: each returns the exit code */
extern int	cli_cmd_status(const cli_args *args);
extern int	cli_cmd_check(const cli_args *args);
extern int	cli_cmd_route(const cli_args *args);
extern int	cli_cmd_exec(const cli_args *args);

/* cli_slots.c */
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

/* cli_output.c: messages */
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

/* cli_output.c: node facts as text */
extern const char *cli_node_host(const RRcluster *rr, int node);
extern const char *cli_node_port(const RRcluster *rr, int node);
extern const char *cli_node_condition(const RRcluster *rr, int node);
extern const char *cli_state_name(const RRcluster *rr, int node);
extern const char *cli_role_name(RRrole role);
extern void cli_format_bytes(int64_t bytes, char *buf, size_t len);
extern void cli_format_seconds(double seconds, char *buf, size_t len);
extern void cli_print_conninfo_value(FILE *out, const char *value);

/* cli_output.c: colour */
#define CLI_GREEN	"\033[32m"
#define CLI_RED		"\033[31m"
#define CLI_YELLOW	"\033[33m"
#define CLI_RESET	"\033[0m"
extern bool cli_use_colour(void);

/* cli_output.c: aligned tables */
typedef struct cli_table cli_table;

extern cli_table *cli_table_create(int ncols, const char *const *headers,
								   const bool *right_align);
extern void cli_table_cell(cli_table *t, const char *colour, const char *text);
extern void cli_table_print(const cli_table *t, FILE *out, bool colour);
extern void cli_table_free(cli_table *t);

/* cli_output.c: JSON */
extern void cli_json_string(FILE *out, const char *s);

/* cli_main.c: the value of key in an options string, malloc'd, or NULL */
extern char *cli_option_value(const char *options, const char *key);

#endif							/* CLI_H */
