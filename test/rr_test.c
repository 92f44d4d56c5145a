/*-------------------------------------------------------------------------
 *
 * rr_test.c
 *		Test driver for libreplroute against real nodes, in the spirit of
 *		PostgreSQL's libpq_pipeline: the TAP scripts in test/t/ start the
 *		cluster, start this program with a conninfo and options, and feed it
 *		commands on stdin while they stop, pause or promote nodes.  One
 *		RRcluster handle lives for the whole run, so failover is seen exactly
 *		as an application would see it.
 *
 * Usage: rr_test CONNINFO [OPTIONS]
 *
 * Commands (one per line; every answer is one line, or several ending in
 * "end"):
 *	read SQL / write SQL	  -> ok PORT VALUE | error SQLSTATE MSG | null MSG
 *	readloop N DELAY_US SQL   -> loop ok=.. fail=.. maxus=.. ports=P:C,... medus=P:US,... err=..
 *								 (medus: the median latency of the reads each port served)
 *	writeloop N DELAY_US SQL  -> same, for writes
 *	cycles N TABLE			  -> cycles total=.. stale=.. standby=.. primary=.. fail=..
 *	mixloop SECS DELAY_US WRITE_EVERY TABLE FILE
 *							  -> mix writes_ok=.. writes_fail=.. reads ok=.. fail=..
 *								 maxus=.. ports=.. err=..; every write's outcome
 *								 ("ok ID T_US" / "fail ID T_US MSG", T_US the
 *								 wall clock when it ended) goes to FILE; a line
 *								 "stop" on stdin ends the loop before SECS
 *	freshloop SECS DELAY_US FILE
 *							  -> fresh reads=.. fail=.. maxus=..; for SECS, a read
 *								 every DELAY_US that returns the serving node's
 *								 clock and replay position; each goes to FILE as
 *								 "r T_SERVER LSN|- PORT T_CLIENT LAG0 LAG1 ..."
 *								 (LAGi: RRnodeLagSeconds after the call, T_CLIENT
 *								 the client's wall clock then, in microseconds)
 *								 or "f T_CLIENT MSG"; "stop" on stdin ends it
 *	manyparams N			  -> as "write", for "SELECT $1" sent with N parameters
 *								 (libpq refuses more than 65535 locally)
 *	readconn / writeconn	  -> conn PORT | null MSG
 *	status					  -> node lines, then "end"
 *	refresh					  -> refresh 0|-1
 *	token					  -> token TEXT
 *	settoken TEXT			  -> ok | error MSG
 *	recordwrite				  -> ok | error MSG
 *	events on|off			  -> ok; while on, the event handler records every
 *								 event the library reports
 *	eventlog				  -> the events recorded since the last eventlog,
 *								 oldest first, as "event NAME NODE PORT|- REASON
 *								 TIMELINE MSG" lines (NODE -1 and PORT - where no
 *								 node applies), then "end"
 *	quit					  -> (exits after RRfinish; LeakSanitizer checks)
 *
 * PORT is the port of the node that ran the statement (from RRlastNode);
 * VALUE the first column of the first row.  Messages are on one line.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replroute.h"
#include "test_util.h"

#define MAXPORTS	16

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Print s on one line: newlines and tabs become spaces. */
static void
print_oneline(const char *s)
{
	for (; s && *s; s++)
		putchar((*s == '\n' || *s == '\t' || *s == '\r') ? ' ' : *s);
}

/* The events recorded by on_event, one line each, for "eventlog". */
typedef struct event_log
{
	RRcluster  *rr;				/* for the node's port */
	char	  **lines;
	int			n;
	int			cap;
} event_log;

/*
 * on_event
 *		The event handler: records the event as a line.  It must not call
 *		the library on the handle; RRnodePort only reads the conninfo.
 */
static void
on_event(void *arg, const RRevent *ev)
{
	event_log  *log = (event_log *) arg;
	char		buf[1200];
	char	   *p;
	int			len;

	len = snprintf(buf, sizeof(buf), "event %s %d %s %s %d %s", RReventName(ev->type),
				   ev->node, ev->node >= 0 ? RRnodePort(log->rr, ev->node) : "-",
				   RRreasonName(ev->reason), ev->timeline, ev->message ? ev->message : "");
	if (len < 0)
		return;
	for (p = buf; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	if (log->n == log->cap)
	{
		int			cap = log->cap ? log->cap * 2 : 64;
		char	  **grown = realloc(log->lines, sizeof(char *) * (size_t) cap);

		if (grown == NULL)
			return;
		log->lines = grown;
		log->cap = cap;
	}
	if ((log->lines[log->n] = strdup(buf)) != NULL)
		log->n++;
}

/* "eventlog": print and forget the recorded events. */
static void
print_events(event_log *log)
{
	int			i;

	for (i = 0; i < log->n; i++)
	{
		printf("%s\n", log->lines[i]);
		free(log->lines[i]);
	}
	log->n = 0;
	printf("end\n");
}

static const char *
last_port(RRcluster *rr)
{
	int			n = RRlastNode(rr);

	return n >= 0 ? RRnodePort(rr, n) : "-";
}

/* Run one statement and print its outcome line. */
static void
one(RRcluster *rr, RRintent intent, const char *sql)
{
	PGresult   *res = RRexec(rr, intent, sql);

	if (res == NULL)
	{
		printf("null ");
		print_oneline(RRerrorMessage(rr));
	}
	else if (PQresultStatus(res) == PGRES_FATAL_ERROR)
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		printf("error %s %s ", state ? state : "-", last_port(rr));
		print_oneline(PQresultErrorMessage(res));
	}
	else
	{
		printf("ok %s %s", last_port(rr),
			   (PQntuples(res) > 0 && PQnfields(res) > 0) ? PQgetvalue(res, 0, 0) : "");
	}
	PQclear(res);
	printf("\n");
}

typedef struct counts
{
	long		ok,
				fail;
	int			nports;
	char		port[MAXPORTS][8];
	long		count[MAXPORTS];
	int64_t		max_us;
	char		first_error[512];
	/* latencies per port, for the median */
	int64_t    *lat[MAXPORTS];
	long		nlat[MAXPORTS];
} counts;

#define MAXLAT	100000

/* Remember one statement's latency on port (counted by count_port). */
static void
note_latency(counts *c, const char *port, int64_t us)
{
	int			i;

	for (i = 0; i < c->nports; i++)
		if (strcmp(c->port[i], port) == 0)
			break;
	if (i == c->nports)
		return;
	if (c->lat[i] == NULL)
		c->lat[i] = calloc(MAXLAT, sizeof(int64_t));
	if (c->lat[i] != NULL && c->nlat[i] < MAXLAT)
		c->lat[i][c->nlat[i]++] = us;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static void
count_port(counts *c, const char *port)
{
	int			i;

	for (i = 0; i < c->nports; i++)
		if (strcmp(c->port[i], port) == 0)
			break;
	if (i == c->nports)
	{
		if (c->nports == MAXPORTS)
			return;
		snprintf(c->port[c->nports++], sizeof(c->port[0]), "%s", port);
	}
	c->count[i]++;
}

static void
print_counts(const char *what, const counts *c)
{
	int			i;

	printf("%s ok=%ld fail=%ld maxus=%lld ports=", what, c->ok, c->fail,
		   (long long) c->max_us);
	for (i = 0; i < c->nports; i++)
		printf("%s%s:%ld", i ? "," : "", c->port[i], c->count[i]);
	printf(" medus=");
	for (i = 0; i < c->nports; i++)
	{
		long long	med = 0;

		if (c->nlat[i] > 0)
		{
			qsort(c->lat[i], (size_t) c->nlat[i], sizeof(int64_t), cmp_int64);
			med = (long long) c->lat[i][c->nlat[i] / 2];
		}
		printf("%s%s:%lld", i ? "," : "", c->port[i], med);
	}
	printf(" err=");
	print_oneline(c->first_error[0] ? c->first_error : "-");
	printf("\n");
}

/* N statements, DELAY_US apart; failures counted, never fatal. */
static void
loop(RRcluster *rr, RRintent intent, long n, long delay_us, const char *sql)
{
	counts		c;
	long		i;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < n; i++)
	{
		int64_t		t0 = now_us();
		PGresult   *res = RRexec(rr, intent, sql);
		int64_t		took = now_us() - t0;

		if (took > c.max_us)
			c.max_us = took;
		if (res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
							PQresultStatus(res) == PGRES_COMMAND_OK))
		{
			c.ok++;
			count_port(&c, last_port(rr));
			note_latency(&c, last_port(rr), took);
		}
		else
		{
			c.fail++;
			if (c.first_error[0] == '\0')
				snprintf(c.first_error, sizeof(c.first_error), "%s",
						 res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
		}
		PQclear(res);
		sleep_us(delay_us);
	}
	print_counts("loop", &c);
	for (i = 0; i < c.nports; i++)
		free(c.lat[i]);
}

/*
 * Read-your-writes cycles: insert a unique value, read it back at once.
 * A read that does not find it is stale.
 */
static void
cycles(RRcluster *rr, long n, const char *table)
{
	long		i,
				stale = 0,
				fail = 0,
				on_standby = 0,
				on_primary = 0;
	char		sql[512];
	char		first_error[512] = "";

	for (i = 0; i < n; i++)
	{
		PGresult   *res;

		snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (%ld)", table, i);
		res = RRexec(rr, RR_WRITE, sql);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fail++;
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error), "%s",
						 res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
			PQclear(res);
			continue;
		}
		PQclear(res);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE v = %ld", table, i);
		res = RRexec(rr, RR_READ, sql);
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fail++;
			if (!first_error[0])
				snprintf(first_error, sizeof(first_error), "%s",
						 res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
		}
		else
		{
			if (strcmp(PQgetvalue(res, 0, 0), "1") != 0)
				stale++;
			if (RRlastNode(rr) == RRprimaryNode(rr))
				on_primary++;
			else
				on_standby++;
		}
		PQclear(res);
	}
	printf("cycles total=%ld stale=%ld standby=%ld primary=%ld fail=%ld err=",
		   n, stale, on_standby, on_primary, fail);
	print_oneline(first_error[0] ? first_error : "-");
	printf("\n");
}

/*
 * For SECS seconds: a read every DELAY_US, and every WRITE_EVERY-th
 * operation a write of the next id into TABLE, whose outcome is logged to
 * FILE so the caller can check that no acknowledged write was lost.
 */
static void
mixloop(RRcluster *rr, long secs, long delay_us, long write_every,
		const char *table, const char *file)
{
	counts		rd;
	long		wok = 0,
				wfail = 0,
				op = 0,
				id = 0;
	int64_t		end = now_us() + secs * 1000000;
	FILE	   *log = fopen(file, "w");
	char		sql[256];

	memset(&rd, 0, sizeof(rd));
	if (log == NULL)
	{
		printf("mix cannot open %s\n", file);
		return;
	}
	while (now_us() < end)
	{
		int64_t		t0 = now_us();
		bool		is_write = write_every > 0 && ++op % write_every == 0;
		struct pollfd in = {0, POLLIN, 0};

		if (op % 16 == 0 && poll(&in, 1, 0) > 0)
		{
			char		cmd[64];

			if (fgets(cmd, sizeof(cmd), stdin) == NULL || strncmp(cmd, "stop", 4) == 0)
				break;
		}
		PGresult   *res;
		int64_t		took;

		if (is_write)
		{
			snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (%ld)", table, ++id);
			res = RRexec(rr, RR_WRITE, sql);
		}
		else
			res = RRexec(rr, RR_READ, "SELECT inet_server_port()");
		took = now_us() - t0;
		if (took > rd.max_us)
			rd.max_us = took;
		if (res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
							PQresultStatus(res) == PGRES_COMMAND_OK))
		{
			if (is_write)
			{
				wok++;
				fprintf(log, "ok %ld %lld\n", id, (long long) wall_us());
			}
			else
			{
				rd.ok++;
				count_port(&rd, last_port(rr));
			}
		}
		else
		{
			const char *msg = res ? PQresultErrorMessage(res) : RRerrorMessage(rr);

			if (is_write)
			{
				wfail++;
				fprintf(log, "fail %ld %lld ", id, (long long) wall_us());
				for (; *msg; msg++)
					fputc(*msg == '\n' ? ' ' : *msg, log);
				fputc('\n', log);
			}
			else
			{
				rd.fail++;
				if (rd.first_error[0] == '\0')
					snprintf(rd.first_error, sizeof(rd.first_error), "%s", msg);
			}
		}
		PQclear(res);
		sleep_us(delay_us);
	}
	fclose(log);
	printf("mix writes_ok=%ld writes_fail=%ld ", wok, wfail);
	print_counts("reads", &rd);
}

/* Reads that say when and how fresh they were; see the header. */
static void
freshloop(RRcluster *rr, double secs, long delay_us, const char *file)
{
	int64_t		end = now_us() + (int64_t) (secs * 1e6);
	FILE	   *log = fopen(file, "w");
	long		ok = 0,
				fail = 0;
	int64_t		max_us = 0;

	if (log == NULL)
	{
		printf("fresh cannot open %s\n", file);
		return;
	}
	while (now_us() < end)
	{
		struct pollfd in = {0, POLLIN, 0};
		int64_t		t0 = now_us();
		PGresult   *res;
		int			i;

		if (poll(&in, 1, 0) > 0)
		{
			char		cmd[64];

			if (fgets(cmd, sizeof(cmd), stdin) == NULL || strncmp(cmd, "stop", 4) == 0)
				break;
		}
		res = RRexec(rr, RR_READ,
					 "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, "
					 "pg_last_wal_replay_lsn()");
		if (now_us() - t0 > max_us)
			max_us = now_us() - t0;
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		{
			ok++;
			fprintf(log, "r %s %s %s %lld", PQgetvalue(res, 0, 0),
					PQgetisnull(res, 0, 1) ? "-" : PQgetvalue(res, 0, 1),
					last_port(rr), (long long) wall_us());
			for (i = 0; i < RRnodeCount(rr); i++)
				fprintf(log, " %.6f", RRnodeLagSeconds(rr, i));
			fputc('\n', log);
		}
		else
		{
			const char *msg = res ? PQresultErrorMessage(res) : RRerrorMessage(rr);

			fail++;
			fprintf(log, "f %lld ", (long long) wall_us());
			for (; *msg; msg++)
				fputc(*msg == '\n' ? ' ' : *msg, log);
			fputc('\n', log);
		}
		PQclear(res);
		fflush(log);
		sleep_us(delay_us);
	}
	fclose(log);
	printf("fresh reads=%ld fail=%ld maxus=%lld\n", ok, fail, (long long) max_us);
}

static void
status(RRcluster *rr)
{
	int			i;
	static const char *const states[] = {"down", "up", "excluded", "connecting"};
	static const char *const roles[] = {"unknown", "primary", "standby", "promoting"};

	for (i = 0; i < RRnodeCount(rr); i++)
	{
		printf("node %d %s %s %s %s %d %lld %.3f %d %lld ", i, RRnodeHost(rr, i),
			   RRnodePort(rr, i), states[RRnodeStatus(rr, i)], roles[RRnodeRole(rr, i)],
			   RRnodeTimeline(rr, i), (long long) RRnodeLagBytes(rr, i),
			   RRnodeLagSeconds(rr, i), RRnodeRoutable(rr, i),
			   (long long) RRnodeReads(rr, i));
		print_oneline(RRnodeError(rr, i));
		printf("\n");
	}
	printf("primary %d\nend\n", RRprimaryNode(rr));
}

static void
conn_line(RRcluster *rr, PGconn *conn)
{
	if (conn == NULL)
	{
		printf("null ");
		print_oneline(RRerrorMessage(rr));
		printf("\n");
	}
	else
		printf("conn %s\n", PQport(conn));
}

int
main(int argc, char **argv)
{
	RRcluster  *rr;
	char		line[8192];
	event_log	events = {NULL, NULL, 0, 0};

	if (argc < 2 || argc > 3)
	{
		fprintf(stderr, "usage: rr_test CONNINFO [OPTIONS]\n");
		return 2;
	}
	rr = RRconnect(argv[1], argc > 2 ? argv[2] : NULL);
	if (rr == NULL)
	{
		printf("connect null out of memory\n");
		return 1;
	}
	printf("connect %s ", RRstatus(rr) == RR_OK ? "ok" : "bad");
	print_oneline(RRerrorMessage(rr));
	printf("\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin) != NULL)
	{
		char	   *nl = strchr(line, '\n');
		char	   *arg;
		long		n,
					delay;
		int			off = 0;

		if (nl)
			*nl = '\0';
		arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		else
			arg = line + strlen(line);

		if (strcmp(line, "quit") == 0)
			break;
		else if (strcmp(line, "read") == 0)
			one(rr, RR_READ, arg);
		else if (strcmp(line, "write") == 0)
			one(rr, RR_WRITE, arg);
		else if ((strcmp(line, "readloop") == 0 || strcmp(line, "writeloop") == 0) &&
				 sscanf(arg, "%ld %ld %n", &n, &delay, &off) == 2 && off > 0)
			loop(rr, line[0] == 'r' ? RR_READ : RR_WRITE, n, delay, arg + off);
		else if (strcmp(line, "cycles") == 0 && sscanf(arg, "%ld %n", &n, &off) == 1 && off > 0)
			cycles(rr, n, arg + off);
		else if (strcmp(line, "mixloop") == 0)
		{
			long		every;
			char		table[128],
						file[1024];

			if (sscanf(arg, "%ld %ld %ld %127s %1023s", &n, &delay, &every, table, file) == 5)
				mixloop(rr, n, delay, every, table, file);
			else
				printf("usage: mixloop SECS DELAY_US WRITE_EVERY TABLE FILE\n");
		}
		else if (strcmp(line, "manyparams") == 0 && sscanf(arg, "%ld", &n) == 1 && n > 0)
		{
			const char **params = calloc((size_t) n, sizeof(char *));
			PGresult   *res;
			long		i;

			for (i = 0; params && i < n; i++)
				params[i] = "1";
			res = params ? RRexecParams(rr, RR_WRITE, "SELECT $1", (int) n, params) : NULL;
			if (res == NULL)
			{
				printf("null ");
				print_oneline(RRerrorMessage(rr));
			}
			else
			{
				printf("result %s ", PQresStatus(PQresultStatus(res)));
				print_oneline(PQresultErrorMessage(res));
			}
			printf("\n");
			PQclear(res);
			free(params);
		}
		else if (strcmp(line, "freshloop") == 0)
		{
			double		secs;
			char		file[1024];

			if (sscanf(arg, "%lf %ld %1023s", &secs, &delay, file) == 3)
				freshloop(rr, secs, delay, file);
			else
				printf("usage: freshloop SECS DELAY_US FILE\n");
		}
		else if (strcmp(line, "readconn") == 0)
			conn_line(rr, RRreadConn(rr));
		else if (strcmp(line, "writeconn") == 0)
			conn_line(rr, RRwriteConn(rr));
		else if (strcmp(line, "status") == 0)
			status(rr);
		else if (strcmp(line, "refresh") == 0)
			printf("refresh %d\n", RRrefresh(rr));
		else if (strcmp(line, "events") == 0 &&
				 (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0))
		{
			events.rr = rr;
			(void) RRsetEventHandler(rr, strcmp(arg, "on") == 0 ? on_event : NULL, &events);
			printf("ok\n");
		}
		else if (strcmp(line, "eventlog") == 0)
			print_events(&events);
		else if (strcmp(line, "token") == 0)
			printf("token %s\n", RRsessionToken(rr));
		else if (strcmp(line, "settoken") == 0 || strcmp(line, "recordwrite") == 0)
		{
			int			rc = line[0] == 's' ? RRsetSessionToken(rr, arg) : RRrecordWrite(rr);

			if (rc == 0)
				printf("ok\n");
			else
			{
				printf("error ");
				print_oneline(RRerrorMessage(rr));
				printf("\n");
			}
		}
		else
			printf("unknown command \"%s\"\n", line);
		fflush(stdout);
	}
	RRfinish(rr);
	while (events.n > 0)
		free(events.lines[--events.n]);
	free(events.lines);
	return 0;
}
