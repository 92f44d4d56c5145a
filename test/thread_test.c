/*-------------------------------------------------------------------------
 *
 * thread_test.c
 *		Several threads, each with its own RRcluster handle, reading and
 *		writing at the same time.  Built with ThreadSanitizer over the
 *		library's own sources (see test/Makefile), so that any state the
 *		library shares between handles behind the caller's back is reported
 *		as a data race.  test/t/076_threads.pl runs it against a primary and
 *		two standbys.
 *
 * Usage: thread_test CONNINFO [NTHREADS [ITERATIONS]]
 *		  thread_test --monitor CONNINFO NTHREADS SECONDS
 *
 * Each thread connects with options of its own (round_robin, random,
 * least_lag, consistency=session, in turn), then ITERATIONS times: a write
 * (INSERT of its own row), a read of its own row count, and every tenth
 * time RRreadConn/RRwriteConn used directly, RRrefresh, the session token
 * and every node inspection call.  Threads with consistency=session check
 * that each read sees the thread's own writes.  Then RRfinish.  One line per
 * thread on stdout; exit 0 when every statement succeeded and no session
 * read was stale, 1 otherwise, 2 on bad arguments.
 *
 * With --monitor, every thread's handle comes from one shared RRmonitor
 * (RRconnectMonitor, called in the threads at once), and the threads loop
 * for SECONDS instead; once all are connected the program prints
 * "connected N" (the TAP script then pauses replay and stops a standby),
 * the main thread reads the monitor's counters meanwhile and calls
 * RRmonitorFinish half way, so the last thread's RRfinish ends the monitor.
 * A statement run directly on a connection from RRreadConn/RRwriteConn is
 * outside the library's liveness rules: with --monitor its failures (a
 * standby stopped under it) are counted apart, as direct_fail.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replroute.h"

#define MAX_THREADS		16
#define TABLE			"regress_replroute_threads"

static const char *const thread_options[] = {
	"",
	"policy=random",
	"policy=least_lag",
	"consistency=session",
};

typedef struct worker
{
	/* in */
	int			id;
	const char *conninfo;
	const char *options;
	long		iterations;
	RRmonitor  *mon;			/* --monitor: connect through it, until deadline */
	double		deadline;
	/* out */
	long		writes;
	long		reads;
	long		standby_reads;
	long		stale;
	long		fail;
	long		direct_fail;
	long		retries;		/* reads the library retried on another node */
	char		first_error[512];
} worker;

/* --monitor: how many threads are connected, and the main thread's wait */
static pthread_mutex_t connected_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t connected_cond = PTHREAD_COND_INITIALIZER;
static int	nconnected = 0;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
note_connected(void)
{
	pthread_mutex_lock(&connected_lock);
	nconnected++;
	pthread_cond_broadcast(&connected_cond);
	pthread_mutex_unlock(&connected_lock);
}

static void
record_error(worker *w, const char *what, const char *msg)
{
	w->fail++;
	if (w->first_error[0] == '\0')
	{
		size_t		i;

		snprintf(w->first_error, sizeof(w->first_error), "%s: %s", what,
				 msg ? msg : "(null)");
		for (i = 0; w->first_error[i]; i++)
			if (w->first_error[i] == '\n')
				w->first_error[i] = ' ';
	}
}

/* Run sql with intent; true if it succeeded.  *res is left to the caller. */
static int
exec_ok(worker *w, RRcluster *rr, RRintent intent, const char *sql, PGresult **res)
{
	*res = RRexec(rr, intent, sql);
	if (*res == NULL)
	{
		record_error(w, sql, RRerrorMessage(rr));
		return 0;
	}
	if (PQresultStatus(*res) != PGRES_COMMAND_OK &&
		PQresultStatus(*res) != PGRES_TUPLES_OK)
	{
		record_error(w, sql, PQresultErrorMessage(*res));
		return 0;
	}
	return 1;
}

/* Direct use of the handle's connections and the inspection calls. */
static void
side_calls(worker *w, RRcluster *rr)
{
	PGconn	   *conn;
	PGresult   *res;
	int			i;
	const char *token;

	conn = RRreadConn(rr);
	if (conn == NULL)
		record_error(w, "RRreadConn", RRerrorMessage(rr));
	else
	{
		res = PQexec(conn, "SELECT 1");
		if (PQresultStatus(res) != PGRES_TUPLES_OK && w->mon)
			w->direct_fail++;
		else if (PQresultStatus(res) != PGRES_TUPLES_OK)
			record_error(w, "SELECT 1 on RRreadConn", PQresultErrorMessage(res));
		PQclear(res);
	}
	conn = RRwriteConn(rr);
	if (conn == NULL)
		record_error(w, "RRwriteConn", RRerrorMessage(rr));
	else
	{
		res = PQexec(conn, "SELECT pg_current_wal_lsn()");
		if (PQresultStatus(res) != PGRES_TUPLES_OK && w->mon)
			w->direct_fail++;
		else if (PQresultStatus(res) != PGRES_TUPLES_OK)
			record_error(w, "SELECT on RRwriteConn", PQresultErrorMessage(res));
		PQclear(res);
		if (RRrecordWrite(rr) != 0)
			record_error(w, "RRrecordWrite", RRerrorMessage(rr));
	}
	if (RRrefresh(rr) != 0)
		record_error(w, "RRrefresh", RRerrorMessage(rr));
	token = RRsessionToken(rr);
	if (token[0] != '\0' && RRsetSessionToken(rr, token) != 0)
		record_error(w, "RRsetSessionToken", RRerrorMessage(rr));
	for (i = 0; i < RRnodeCount(rr); i++)
	{
		const char *lsn = RRnodeWalLsn(rr, i);
		const char *err = RRnodeError(rr, i);

		if (RRnodeHost(rr, i) == NULL || RRnodePort(rr, i) == NULL || err == NULL)
			record_error(w, "node inspection", "NULL host, port or error");
		(void) RRnodeStatus(rr, i);
		(void) RRnodeRole(rr, i);
		(void) RRnodeTimeline(rr, i);
		(void) RRnodeLagBytes(rr, i);
		(void) RRnodeLagSeconds(rr, i);
		(void) RRnodeRoutable(rr, i);
		(void) RRnodeReads(rr, i);
		(void) RRnodeWrites(rr, i);
		(void) RRnodeHealthQueries(rr, i);
		(void) RRnodeAnswerAge(rr, i);
		(void) lsn;
	}
	(void) RRlibVersion();
}

static void *
run_worker(void *arg)
{
	worker	   *w = arg;
	RRcluster  *rr = w->mon ? RRconnectMonitor(w->mon, w->options) :
		RRconnect(w->conninfo, w->options);
	int			session = strstr(w->options, "consistency=session") != NULL;
	long		i;
	char		sql[256];

	if (w->mon)
		note_connected();		/* the monitor must not be used after this */
	if (rr == NULL)
	{
		record_error(w, "RRconnect", "out of memory");
		return NULL;
	}
	if (RRstatus(rr) != RR_OK)
	{
		record_error(w, "RRconnect", RRerrorMessage(rr));
		RRfinish(rr);
		return NULL;
	}

	for (i = 0; w->mon ? now_s() < w->deadline : i < w->iterations; i++)
	{
		PGresult   *res;

		snprintf(sql, sizeof(sql), "INSERT INTO " TABLE " (t, i) VALUES (%d, %ld)", w->id, i);
		if (exec_ok(w, rr, RR_WRITE, sql, &res))
			w->writes++;
		PQclear(res);

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM " TABLE " WHERE t = %d", w->id);
		if (exec_ok(w, rr, RR_READ, sql, &res))
		{
			w->reads++;
			if (RRlastNode(rr) != RRprimaryNode(rr))
				w->standby_reads++;
			/* with read-your-writes the count includes the row just written */
			if (session && atol(PQgetvalue(res, 0, 0)) != w->writes)
				w->stale++;
		}
		PQclear(res);

		if (i % 10 == 0)
			side_calls(w, rr);
	}
	for (i = 0; i < RRnodeCount(rr); i++)
		w->retries += RRnodeRetries(rr, (int) i);
	RRfinish(rr);
	return NULL;
}

/*
 * wait_for_table
 *		Wait (up to 60 s) until TABLE exists on every node of rr, so that no
 *		thread's first read reaches a standby that has not replayed its
 *		creation yet.  Returns 0, or -1 with a message on stderr.
 */
static int
wait_for_table(RRcluster *rr, const char *conninfo)
{
	int			i;

	for (i = 0; i < RRnodeCount(rr); i++)
	{
		/* the conninfo, its host and port lists replaced by node i's */
		const char *kw[] = {"dbname", "host", "port", NULL};
		const char *val[] = {conninfo, RRnodeHost(rr, i), RRnodePort(rr, i), NULL};
		PGconn	   *conn = PQconnectdbParams(kw, val, 1);
		int			tries;

		for (tries = 0; tries < 600; tries++)
		{
			PGresult   *res = PQexec(conn, "SELECT to_regclass('" TABLE "') IS NOT NULL");
			int			found = PQresultStatus(res) == PGRES_TUPLES_OK &&
				strcmp(PQgetvalue(res, 0, 0), "t") == 0;

			PQclear(res);
			if (found)
				break;
			nanosleep(&(struct timespec) {0, 100 * 1000 * 1000}, NULL);
		}
		if (tries == 600)
		{
			fprintf(stderr, "thread_test: %s on node %d never appeared: %s\n", TABLE, i,
					PQerrorMessage(conn));
			PQfinish(conn);
			return -1;
		}
		PQfinish(conn);
	}
	return 0;
}

/*
 * --monitor: while the threads run, use the monitor from the main thread
 * too, then let go of it half way (the handles keep it alive).
 */
static void
watch_monitor(RRmonitor *mon, int nthreads, double start, double seconds)
{
	int64_t		last = 0;

	pthread_mutex_lock(&connected_lock);
	while (nconnected < nthreads)
		pthread_cond_wait(&connected_cond, &connected_lock);
	pthread_mutex_unlock(&connected_lock);
	printf("connected %d\n", nthreads);
	fflush(stdout);
	while (now_s() < start + seconds / 2)
	{
		int64_t		sum = 0;
		int			i;

		for (i = 0; i < RRmonitorNodeCount(mon); i++)
			sum += RRmonitorHealthQueries(mon, i);
		if (sum < last)
			fprintf(stderr, "thread_test: the monitor's health query count went down\n");
		last = sum;
		(void) RRmonitorStatus(mon);
		(void) RRmonitorErrorMessage(mon);
		nanosleep(&(struct timespec) {0, 50 * 1000 * 1000}, NULL);
	}
	printf("monitor health_queries=%lld\n", (long long) last);
	fflush(stdout);
	RRmonitorFinish(mon);
}

int
main(int argc, char **argv)
{
	bool		monitor = argc > 1 && strcmp(argv[1], "--monitor") == 0;
	int			a = monitor ? 2 : 1;
	int			nthreads = argc > a + 1 ? atoi(argv[a + 1]) : 4;
	long		iterations = argc > a + 2 ? atol(argv[a + 2]) : 100;
	pthread_t	tids[MAX_THREADS];
	worker		workers[MAX_THREADS];
	RRcluster  *rr;
	RRmonitor  *mon = NULL;
	PGresult   *res;
	double		start;
	int			i,
				rc,
				bad = 0;

	if (argc < a + 1 || argc > a + 3 || (monitor && argc != a + 3) ||
		nthreads < 1 || nthreads > MAX_THREADS || iterations < 1)
	{
		fprintf(stderr, "usage: thread_test CONNINFO [NTHREADS (1-%d) [ITERATIONS]]\n"
				"       thread_test --monitor CONNINFO NTHREADS SECONDS\n",
				MAX_THREADS);
		return 2;
	}
	argv += a - 1;

	/* a fresh table, through a handle of the main thread, finished first */
	rr = RRconnect(argv[1], NULL);
	res = rr ? RRexec(rr, RR_WRITE, "SET client_min_messages = warning; "
					  "DROP TABLE IF EXISTS " TABLE "; "
					  "CREATE TABLE " TABLE " (t int, i bigint)") : NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "thread_test: could not create the table: %s\n",
				res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
		PQclear(res);
		RRfinish(rr);
		return 1;
	}
	PQclear(res);
	if (wait_for_table(rr, argv[1]) < 0)
	{
		RRfinish(rr);
		return 1;
	}
	RRfinish(rr);

	if (monitor)
	{
		mon = RRmonitorStart(argv[1], NULL);
		if (mon == NULL || RRmonitorStatus(mon) != RR_OK)
		{
			fprintf(stderr, "thread_test: could not start the monitor: %s\n",
					RRmonitorErrorMessage(mon));
			RRmonitorFinish(mon);
			return 1;
		}
	}
	start = now_s();
	memset(workers, 0, sizeof(workers));
	for (i = 0; i < nthreads; i++)
	{
		workers[i].id = i;
		workers[i].conninfo = argv[1];
		workers[i].options = thread_options[i % 4];
		workers[i].iterations = iterations;
		workers[i].mon = mon;
		workers[i].deadline = start + (double) iterations;
		rc = pthread_create(&tids[i], NULL, run_worker, &workers[i]);
		if (rc != 0)
		{
			fprintf(stderr, "thread_test: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	if (monitor)
		watch_monitor(mon, nthreads, start, (double) iterations);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);

	for (i = 0; i < nthreads; i++)
	{
		worker	   *w = &workers[i];
		int			ok = w->fail == 0 && w->stale == 0 &&
			(monitor ? w->reads > 0 && w->writes == w->reads :
			 w->writes == iterations && w->reads == iterations);

		printf("thread %d options=\"%s\" writes=%ld reads=%ld standby_reads=%ld "
			   "retries=%ld direct_fail=%ld stale=%ld fail=%ld %s err=%s\n",
			   w->id, w->options, w->writes, w->reads, w->standby_reads,
			   w->retries, w->direct_fail, w->stale, w->fail, ok ? "ok" : "FAILED",
			   w->first_error[0] ? w->first_error : "-");
		if (!ok)
			bad = 1;
	}
	return bad;
}
