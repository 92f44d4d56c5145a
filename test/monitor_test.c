/*-------------------------------------------------------------------------
 *
 * monitor_test.c
 *		Test driver for the shared monitor (RRmonitor) against real nodes,
 *		driven by test/t/077_monitor.pl like rr_test: one monitor for the
 *		whole run, a control handle of it in the main thread, and on command
 *		a set of reader threads with a handle each (of the monitor, or, for
 *		comparison, plain RRconnect handles) reading until told to stop.
 *		Built with AddressSanitizer and UBSan like rr_test, so that the run's
 *		end (every handle finished, then the monitor) is checked for leaks.
 *
 * Usage: monitor_test CONNINFO [MONITOR_OPTIONS]
 *
 * The first line is "connect ok nodes=N" or "connect bad MESSAGE".  Then
 * commands, one per line, each answered with one line:
 *	start N DELAY_US SQL	 -> started N: N threads, each with a handle of the
 *								monitor, read SQL every DELAY_US until "stop"
 *	plain N DELAY_US SQL	 -> started N: the same with RRconnect handles
 *	stop					 -> loop ok=.. fail=.. maxus=.. ports=P:C,... hq=..
 *								secs=.. err=..; hq: health queries sent during
 *								the run by the probes the readers used (the
 *								monitor's, or the sum of the plain handles')
 *	probes					 -> probes n0=.. n1=.. ...: RRmonitorHealthQueries
 *	age						 -> age us=.. a0=.. a1=.. ...: RRchooseNode(RR_READ)
 *								on the control handle, its duration, then each
 *								node's RRnodeAnswerAge (seconds)
 *	read SQL / write SQL	 -> ok PORT VALUE | null MSG (the control handle)
 *	connect OPTIONS			 -> ok | bad MSG: RRconnectMonitor with OPTIONS,
 *								finished at once
 *	finishmon				 -> ok: RRmonitorFinish while the control handle
 *								lives on (it must keep working)
 *	quit					 -> exits after finishing everything
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replroute.h"
#include "test_util.h"

#define MAX_THREADS		64
#define MAX_NODES		16
#define MAXPORTS		16

/* One line of text: newlines become spaces. */
static void
one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

typedef struct reader
{
	/* in */
	const char *conninfo;		/* plain: RRconnect with this */
	RRmonitor  *mon;			/* else: RRconnectMonitor */
	const char *sql;
	long		delay_us;
	atomic_bool *stop;
	/* out */
	long		ok;
	long		fail;
	int64_t		maxus;
	int64_t		hq;				/* plain: health queries its probes sent */
	int			ports[MAXPORTS];
	long		port_count[MAXPORTS];
	char		err[512];
} reader;

static void
count_port(reader *r, const char *port)
{
	int			p = port ? atoi(port) : 0;
	int			i;

	for (i = 0; i < MAXPORTS; i++)
	{
		if (r->ports[i] == p || r->ports[i] == 0)
		{
			r->ports[i] = p;
			r->port_count[i]++;
			return;
		}
	}
}

static void *
run_reader(void *arg)
{
	reader	   *r = arg;
	RRcluster  *rr = r->mon ? RRconnectMonitor(r->mon, NULL) : RRconnect(r->conninfo, NULL);
	int64_t		hq0;

	if (rr == NULL || RRstatus(rr) != RR_OK)
	{
		r->fail++;
		snprintf(r->err, sizeof(r->err), "connect: %s", rr ? RRerrorMessage(rr) : "out of memory");
		one_line(r->err);
		RRfinish(rr);
		return NULL;
	}
	hq0 = handle_health_queries(rr);
	while (!atomic_load(r->stop))
	{
		int64_t		t0 = now_us();
		PGresult   *res = RRexec(rr, RR_READ, r->sql);
		int64_t		us = now_us() - t0;

		if (us > r->maxus)
			r->maxus = us;
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			r->ok++;
			count_port(r, RRnodePort(rr, RRlastNode(rr)));
		}
		else
		{
			r->fail++;
			if (r->err[0] == '\0')
			{
				snprintf(r->err, sizeof(r->err), "%s",
						 res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
				one_line(r->err);
			}
		}
		PQclear(res);
		sleep_us(r->delay_us);
	}
	r->hq = handle_health_queries(rr) - hq0;
	RRfinish(rr);
	return NULL;
}

/* The running set of readers. */
typedef struct run
{
	int			n;
	bool		plain;
	pthread_t	tids[MAX_THREADS];
	reader		readers[MAX_THREADS];
	atomic_bool stop;
	int64_t		started_us;
	int64_t		mon_hq0;
	char		sql[4096];
} run;

static void
cmd_start(run *rn, RRmonitor *mon, const char *conninfo, bool plain, char *args)
{
	int			n;
	long		delay;
	int			pos = 0;
	int			i;

	if (rn->n > 0)
	{
		printf("error already running\n");
		return;
	}
	if (sscanf(args, "%d %ld %n", &n, &delay, &pos) < 2 || pos == 0 ||
		n < 1 || n > MAX_THREADS)
	{
		printf("error usage: start|plain N (1-%d) DELAY_US SQL\n", MAX_THREADS);
		return;
	}
	snprintf(rn->sql, sizeof(rn->sql), "%s", args + pos);
	memset(rn->readers, 0, sizeof(rn->readers));
	atomic_store(&rn->stop, false);
	rn->plain = plain;
	rn->mon_hq0 = monitor_health_queries(mon);
	rn->started_us = now_us();
	for (i = 0; i < n; i++)
	{
		reader	   *r = &rn->readers[i];

		r->conninfo = conninfo;
		r->mon = plain ? NULL : mon;
		r->sql = rn->sql;
		r->delay_us = delay;
		r->stop = &rn->stop;
		if (pthread_create(&rn->tids[i], NULL, run_reader, r) != 0)
		{
			printf("error pthread_create\n");
			atomic_store(&rn->stop, true);
			rn->n = i;
			return;
		}
	}
	rn->n = n;
	printf("started %d\n", n);
}

static void
cmd_stop(run *rn, RRmonitor *mon)
{
	long		ok = 0,
				fail = 0;
	int64_t		maxus = 0,
				hq = 0;
	int			ports[MAXPORTS] = {0};
	long		counts[MAXPORTS] = {0};
	const char *err = "-";
	double		secs;
	int			i,
				j,
				k;

	atomic_store(&rn->stop, true);
	for (i = 0; i < rn->n; i++)
		pthread_join(rn->tids[i], NULL);
	secs = (double) (now_us() - rn->started_us) / 1e6;
	for (i = 0; i < rn->n; i++)
	{
		reader	   *r = &rn->readers[i];

		ok += r->ok;
		fail += r->fail;
		if (r->maxus > maxus)
			maxus = r->maxus;
		hq += r->hq;
		if (r->err[0] && strcmp(err, "-") == 0)
			err = r->err;
		for (j = 0; j < MAXPORTS && r->ports[j]; j++)
		{
			for (k = 0; k < MAXPORTS; k++)
			{
				if (ports[k] == r->ports[j] || ports[k] == 0)
				{
					ports[k] = r->ports[j];
					counts[k] += r->port_count[j];
					break;
				}
			}
		}
	}
	if (!rn->plain)
		hq = monitor_health_queries(mon) - rn->mon_hq0;
	printf("loop ok=%ld fail=%ld maxus=%lld ports=", ok, fail, (long long) maxus);
	for (k = 0; k < MAXPORTS && ports[k]; k++)
		printf("%s%d:%ld", k ? "," : "", ports[k], counts[k]);
	printf(" hq=%lld secs=%.3f err=%s\n", (long long) hq, secs, err);
	rn->n = 0;
}

int
main(int argc, char **argv)
{
	RRmonitor  *mon;
	RRcluster  *ctl;
	run		   *rn;
	char		line[8192];
	bool		mon_finished = false;

	if (argc < 2 || argc > 3)
	{
		fprintf(stderr, "usage: monitor_test CONNINFO [MONITOR_OPTIONS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	mon = RRmonitorStart(argv[1], argc > 2 ? argv[2] : NULL);
	if (mon == NULL)
	{
		printf("connect bad out of memory\n");
		return 1;
	}
	ctl = RRconnectMonitor(mon, NULL);
	if (RRmonitorStatus(mon) != RR_OK || RRstatus(ctl) != RR_OK)
	{
		snprintf(line, sizeof(line), "%s", RRmonitorStatus(mon) != RR_OK ?
				 RRmonitorErrorMessage(mon) : RRerrorMessage(ctl));
		one_line(line);
		printf("connect bad %s\n", line);
	}
	else
		printf("connect ok nodes=%d\n", RRmonitorNodeCount(mon));
	rn = calloc(1, sizeof(run));
	if (rn == NULL)
		return 1;

	while (fgets(line, sizeof(line), stdin))
	{
		char	   *nl = strchr(line, '\n');
		int			i;

		if (nl)
			*nl = '\0';
		if (strncmp(line, "start ", 6) == 0 && !mon_finished)
			cmd_start(rn, mon, argv[1], false, line + 6);
		else if (strncmp(line, "plain ", 6) == 0 && !mon_finished)
			cmd_start(rn, mon, argv[1], true, line + 6);
		else if (strcmp(line, "stop") == 0 && !mon_finished)
			cmd_stop(rn, mon);
		else if (strcmp(line, "probes") == 0 && !mon_finished)
		{
			printf("probes");
			for (i = 0; i < RRmonitorNodeCount(mon); i++)
				printf(" n%d=%lld", i, (long long) RRmonitorHealthQueries(mon, i));
			printf("\n");
		}
		else if (strcmp(line, "age") == 0)
		{
			int64_t		t0 = now_us();
			int			node = RRchooseNode(ctl, RR_READ, NULL, NULL);
			int64_t		us = now_us() - t0;

			printf("age us=%lld node=%d", (long long) us, node);
			for (i = 0; i < RRnodeCount(ctl); i++)
				printf(" a%d=%.3f", i, RRnodeAnswerAge(ctl, i));
			printf("\n");
		}
		else if (strncmp(line, "read ", 5) == 0 || strncmp(line, "write ", 6) == 0)
		{
			bool		write = line[0] == 'w';
			PGresult   *res = RRexec(ctl, write ? RR_WRITE : RR_READ, line + (write ? 6 : 5));

			if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
				printf("ok %s %s\n", RRnodePort(ctl, RRlastNode(ctl)),
					   PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "-");
			else
			{
				snprintf(line, sizeof(line), "%s",
						 res ? PQresultErrorMessage(res) : RRerrorMessage(ctl));
				one_line(line);
				printf("null %s\n", line);
			}
			PQclear(res);
		}
		else if (strncmp(line, "connect ", 8) == 0 && !mon_finished)
		{
			RRcluster  *rr = RRconnectMonitor(mon, line + 8);

			snprintf(line, sizeof(line), "%s", rr ? RRerrorMessage(rr) : "out of memory");
			one_line(line);
			if (rr && RRstatus(rr) == RR_OK)
				printf("ok\n");
			else
				printf("bad %s\n", line);
			RRfinish(rr);
		}
		else if (strcmp(line, "finishmon") == 0 && !mon_finished)
		{
			if (rn->n > 0)
				cmd_stop(rn, mon);
			RRmonitorFinish(mon);
			mon_finished = true;
			printf("ok\n");
		}
		else if (strcmp(line, "quit") == 0)
			break;
		else
			printf("error unknown command \"%s\"\n", line);
	}
	if (rn->n > 0)
		cmd_stop(rn, mon);
	free(rn);
	if (!mon_finished)
		RRmonitorFinish(mon);
	RRfinish(ctl);				/* the last reference: the monitor ends here */
	return 0;
}
