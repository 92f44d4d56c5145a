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
 *
 * The table regress_replroute_threads (t int, i bigint) must exist, empty,
 * on every node: the caller creates it and waits for the standbys to replay
 * it (a read of a thread without read-your-writes may go to any standby
 * within its lag limit, one that has not replayed the CREATE yet too).
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
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	/* out */
	long		writes;
	long		reads;
	long		standby_reads;
	long		stale;
	long		fail;
	char		first_error[512];
} worker;

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
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			record_error(w, "SELECT 1 on RRreadConn", PQresultErrorMessage(res));
		PQclear(res);
	}
	conn = RRwriteConn(rr);
	if (conn == NULL)
		record_error(w, "RRwriteConn", RRerrorMessage(rr));
	else
	{
		res = PQexec(conn, "SELECT pg_current_wal_lsn()");
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
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
		(void) lsn;
	}
	(void) RRlibVersion();
}

static void *
run_worker(void *arg)
{
	worker	   *w = arg;
	RRcluster  *rr = RRconnect(w->conninfo, w->options);
	int			session = strstr(w->options, "consistency=session") != NULL;
	long		i;
	char		sql[256];

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

	for (i = 0; i < w->iterations; i++)
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
	RRfinish(rr);
	return NULL;
}

int
main(int argc, char **argv)
{
	int			nthreads = argc > 2 ? atoi(argv[2]) : 4;
	long		iterations = argc > 3 ? atol(argv[3]) : 100;
	pthread_t	tids[MAX_THREADS];
	worker		workers[MAX_THREADS];
	int			i,
				rc,
				bad = 0;

	if (argc < 2 || argc > 4 || nthreads < 1 || nthreads > MAX_THREADS || iterations < 1)
	{
		fprintf(stderr, "usage: thread_test CONNINFO [NTHREADS (1-%d) [ITERATIONS]]\n",
				MAX_THREADS);
		return 2;
	}

	memset(workers, 0, sizeof(workers));
	for (i = 0; i < nthreads; i++)
	{
		workers[i].id = i;
		workers[i].conninfo = argv[1];
		workers[i].options = thread_options[i % 4];
		workers[i].iterations = iterations;
		rc = pthread_create(&tids[i], NULL, run_worker, &workers[i]);
		if (rc != 0)
		{
			fprintf(stderr, "thread_test: pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);

	for (i = 0; i < nthreads; i++)
	{
		worker	   *w = &workers[i];
		int			ok = w->fail == 0 && w->stale == 0 &&
			w->writes == iterations && w->reads == iterations;

		printf("thread %d options=\"%s\" writes=%ld reads=%ld standby_reads=%ld "
			   "stale=%ld fail=%ld %s err=%s\n",
			   w->id, w->options, w->writes, w->reads, w->standby_reads,
			   w->stale, w->fail, ok ? "ok" : "FAILED",
			   w->first_error[0] ? w->first_error : "-");
		if (!ok)
			bad = 1;
	}
	return bad;
}
