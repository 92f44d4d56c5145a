/*-------------------------------------------------------------------------
 *
 * traffic.c
 *		The demo's application: one RRcluster handle doing a read every
 *		10 ms and a write every 100 ms for as long as it runs, through
 *		whatever happens to the cluster.  Built by the demo against the
 *		installed library:
 *
 *			cc traffic.c $(pkg-config --cflags --libs replroute) -o traffic
 *
 * Usage: traffic CONNINFO [OPTIONS]
 *
 * On SIGUSR1 it prints what happened since the previous SIGUSR1 (reads
 * and writes per node, failures, the last error) and starts a new window;
 * SIGTERM or SIGINT end it.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <replroute.h>

#define MAXNODES 16

static volatile sig_atomic_t report_requested = 0;
static volatile sig_atomic_t stop_requested = 0;

static void
on_usr1(int sig)
{
	(void) sig;
	report_requested = 1;
}

static void
on_stop(int sig)
{
	(void) sig;
	stop_requested = 1;
}

typedef struct window
{
	long		reads[MAXNODES];
	long		writes[MAXNODES];
	long		failed_reads;
	long		failed_writes;
	char		last_error[300];
} window;

static void
note_error(window *w, const char *msg)
{
	size_t		i;

	snprintf(w->last_error, sizeof(w->last_error), "%s", msg);
	for (i = 0; w->last_error[i]; i++)
		if (w->last_error[i] == '\n' || w->last_error[i] == '\t')
			w->last_error[i] = ' ';
}

/* Run one statement; count where it ran or that it failed. */
static void
run(RRcluster *rr, RRintent intent, const char *sql, window *w)
{
	PGresult   *res = RRexec(rr, intent, sql);
	int			node = RRlastNode(rr);

	if (res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
						PQresultStatus(res) == PGRES_COMMAND_OK) &&
		node >= 0 && node < MAXNODES)
	{
		if (intent == RR_READ)
			w->reads[node]++;
		else
			w->writes[node]++;
	}
	else
	{
		if (intent == RR_READ)
			w->failed_reads++;
		else
			w->failed_writes++;
		note_error(w, res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
	}
	PQclear(res);
}

static void
report(RRcluster *rr, const window *w)
{
	int			i;

	printf("reads:");
	for (i = 0; i < RRnodeCount(rr) && i < MAXNODES; i++)
		printf(" %s=%ld", RRnodePort(rr, i), w->reads[i]);
	printf(" | writes:");
	for (i = 0; i < RRnodeCount(rr) && i < MAXNODES; i++)
		printf(" %s=%ld", RRnodePort(rr, i), w->writes[i]);
	printf(" | failed reads=%ld failed writes=%ld", w->failed_reads, w->failed_writes);
	if (w->last_error[0])
		printf(" | last error: %s", w->last_error);
	printf("\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	RRcluster  *rr;
	window		w;
	long		tick = 0;
	struct timespec pause = {0, 10 * 1000 * 1000};

	if (argc < 2 || argc > 3)
	{
		fprintf(stderr, "usage: traffic CONNINFO [OPTIONS]\n");
		return 2;
	}
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = on_usr1;
		sigaction(SIGUSR1, &sa, NULL);
		sa.sa_handler = on_stop;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}

	rr = RRconnect(argv[1], argc > 2 ? argv[2] : NULL);
	if (RRstatus(rr) != RR_OK)
	{
		fprintf(stderr, "traffic: %s\n", RRerrorMessage(rr));
		RRfinish(rr);
		return 1;
	}
	memset(&w, 0, sizeof(w));
	printf("traffic: connected to %d nodes\n", RRnodeCount(rr));
	fflush(stdout);

	while (!stop_requested)
	{
		run(rr, RR_READ, "SELECT inet_server_port()", &w);
		if (tick++ % 10 == 0)
			run(rr, RR_WRITE, "INSERT INTO demo_traffic VALUES (now())", &w);
		if (report_requested)
		{
			report_requested = 0;
			report(rr, &w);
			memset(&w, 0, sizeof(w));
		}
		nanosleep(&pause, NULL);
	}
	RRfinish(rr);
	return 0;
}
