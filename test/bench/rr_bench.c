/*-------------------------------------------------------------------------
 *
 * rr_bench.c
 *		The C side of "make bench": timed loops through libreplroute, plain
 *		libpq and Pgpool-II against a cluster that bench.pl has started.
 *
 * One program, one subcommand per measurement (the libpq_pipeline model):
 *
 *	 latency  ROUNDS BLOCK S1_CI S2_CI RR_CI RR_ONE_CI RR_OPTS PGPOOL_CI|-
 *	 refresh  ROUNDS BLOCK DELAY_US PRIMARY_PORT S1 S2 S3 S4
 *	 deadnode REPS CONNECT_TIMEOUT HOSTS PORTS
 *	 session  ROUNDS BLOCK CI KEY_SESSION KEY_PLAIN
 *	 detect   REPS STANDBY_CI STANDBY_PORT RR_CI PGPOOL_CI|- LABEL OPTS [LABEL OPTS...]
 *	 memory   READS CI RR_OPTS
 *	 monitor  SECONDS ROUNDS CI THREADS [THREADS...]
 *
 * Contenders are always run in alternating blocks (A B A B ... or
 * A B C A B C ...) so that the noise of a shared machine hits all of them.
 * Figures go to stdout as "name: value" lines (bench.pl collects them);
 * progress goes to stderr.  Times come from CLOCK_MONOTONIC.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* ppoll */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "replroute.h"

/* libreplroute's health probe (client/rr_health.c, extension 1.1) */
#define HEALTH_QUERY "SELECT replroute.probe()"

/* ---- small helpers ---- */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static void
sleep_us(long us)
{
	struct timespec ts;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
die(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "rr_bench: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
progress(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "bench:   ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* One figure: "name: value". */
static void
figure(const char *name, const char *fmt,...)
{
	va_list		ap;

	printf("%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static long
parse_long(const char *s, const char *what)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0)
		die("invalid %s \"%s\"", what, s);
	return v;
}

/* ---- samples ---- */

typedef struct samples
{
	double	   *v;
	size_t		n;
	size_t		cap;
} samples;

static void
add(samples *s, double x)
{
	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = realloc(s->v, s->cap * sizeof(double));
		if (s->v == NULL)
			die("out of memory");
	}
	s->v[s->n++] = x;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile (0 < p <= 100); sorts in place. */
static double
pct(samples *s, double p)
{
	size_t		k;

	if (s->n == 0)
		return -1;
	qsort(s->v, s->n, sizeof(double), cmp_double);
	k = (size_t) ((p / 100.0) * (double) s->n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > s->n)
		k = s->n;
	return s->v[k - 1];
}

static double
median(samples *s)
{
	return pct(s, 50);
}

static double
mean(const samples *s)
{
	double		sum = 0;
	size_t		i;

	for (i = 0; i < s->n; i++)
		sum += s->v[i];
	return s->n ? sum / (double) s->n : -1;
}

static double
maxv(const samples *s)
{
	double		m = -1;
	size_t		i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

/*
 * Median of the ratios a[i] / b[i]: a and b hold one value per round, in
 * round order (not sorted: call before median() or pct() on them).
 */
static double
paired(const samples *a, const samples *b)
{
	samples		r = {0};
	size_t		i;
	double		m;

	for (i = 0; i < a->n && i < b->n; i++)
		add(&r, a->v[i] / b->v[i]);
	m = median(&r);
	free(r.v);
	return m;
}

/* ---- connections ---- */

static PGconn *
pq_connect(const char *ci)
{
	PGconn	   *conn = PQconnectdb(ci);

	if (PQstatus(conn) != CONNECTION_OK)
		die("could not connect (%s): %s", ci, PQerrorMessage(conn));
	return conn;
}

static RRcluster *
rr_connect(const char *ci, const char *opts)
{
	RRcluster  *rr = RRconnect(ci, opts);

	if (rr == NULL)
		die("RRconnect: out of memory");
	if (RRstatus(rr) != RR_OK)
		die("RRconnect (%s / %s): %s", ci, opts, RRerrorMessage(rr));
	return rr;
}

/* PQexec, insisting on success; returns the result (caller clears). */
static PGresult *
pq_must(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		die("\"%s\" failed: %s", sql, PQerrorMessage(conn));
	return res;
}

static PGresult *
rr_must(RRcluster *rr, RRintent intent, const char *sql)
{
	PGresult   *res = RRexec(rr, intent, sql);

	if (res == NULL)
		die("RRexec(\"%s\"): %s", sql, RRerrorMessage(rr));
	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		die("RRexec(\"%s\"): %s", sql, PQresultErrorMessage(res));
	return res;
}

/* Was the last routed call served by a standby? */
static int
rr_on_standby(const RRcluster *rr)
{
	int			n = RRlastNode(rr);

	return n >= 0 && n != RRprimaryNode(rr) && RRnodeRole(rr, n) == RR_ROLE_STANDBY;
}

/* ---- latency: RRexec vs PQexec vs Pgpool-II ---- */

/*
 * Contenders of the read loop.  "direct" is the baseline (PQexec to
 * one standby); "direct_alternating" does by hand what replroute does (one
 * read on each standby in turn), so that the cost of spreading reads over
 * two server processes is not charged to the library; "replroute_one" is
 * replroute with one standby in its list, the library's own overhead.
 */
enum
{
	L_DIRECT, L_DIRECT_ALT, L_RR, L_RR_ONE, L_POOL, L_N
};

static int
cmd_latency(int argc, char **argv)
{
	long		rounds,
				block,
				r,
				i;
	PGconn	   *s1,
			   *s2,
			   *pool = NULL;
	RRcluster  *rr,
			   *rr_one;
	samples		s[L_N] = {{0}};
	samples		bm[L_N] = {{0}};	/* per-block medians, one per round */
	const char *names[L_N] = {"direct", "direct_alternating", "replroute",
	"replroute_one_standby", "pgpool"};
	long		rr_standby = 0,
				rr_total = 0,
				alt = 0;
	int			ncont,
				c;

	if (argc < 8)
		die("usage: latency ROUNDS BLOCK S1_CI S2_CI RR_CI RR_ONE_CI RR_OPTS PGPOOL_CI|-");
	rounds = parse_long(argv[0], "rounds");
	block = parse_long(argv[1], "block");
	s1 = pq_connect(argv[2]);
	s2 = pq_connect(argv[3]);
	rr = rr_connect(argv[4], argv[6]);
	rr_one = rr_connect(argv[5], argv[6]);
	if (strcmp(argv[7], "-") != 0)
	{
		PGresult   *res;

		pool = pq_connect(argv[7]);
		res = pq_must(pool, "SELECT inet_server_port()");
		progress("the Pgpool-II session is balanced to backend port %s",
				 PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	ncont = pool ? L_N : L_N - 1;

	/* warm up every connection (replroute opens its statement connections) */
	for (i = 0; i < 500; i++)
	{
		PQclear(pq_must(s1, "SELECT 1"));
		PQclear(pq_must(s2, "SELECT 1"));
		PQclear(rr_must(rr, RR_READ, "SELECT 1"));
		PQclear(rr_must(rr_one, RR_READ, "SELECT 1"));
		if (pool)
			PQclear(pq_must(pool, "SELECT 1"));
	}

	for (r = 0; r < rounds; r++)
	{
		int			k;

		/* A B C D E, then B C D E A, ...: no contender always goes first */
		for (k = 0; k < ncont; k++)
		{
			samples		blk = {0};

			c = (int) ((k + r) % ncont);
			for (i = 0; i < block; i++)
			{
				double		t0 = now_us(),
							t1;
				PGresult   *res;
				PGconn	   *conn = NULL;

				switch (c)
				{
					case L_DIRECT:
						res = PQexec(conn = s1, "SELECT 1");
						break;
					case L_DIRECT_ALT:
						res = PQexec(conn = (alt++ % 2 ? s2 : s1), "SELECT 1");
						break;
					case L_RR:
						res = RRexec(rr, RR_READ, "SELECT 1");
						break;
					case L_RR_ONE:
						res = RRexec(rr_one, RR_READ, "SELECT 1");
						break;
					default:
						res = PQexec(conn = pool, "SELECT 1");
						break;
				}
				t1 = now_us();
				if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
					die("%s: SELECT 1 failed: %s", names[c],
						conn ? PQerrorMessage(conn) :
						RRerrorMessage(c == L_RR ? rr : rr_one));
				PQclear(res);
				add(&s[c], t1 - t0);
				add(&blk, t1 - t0);
				if (c == L_RR || c == L_RR_ONE)
				{
					rr_total++;
					rr_standby += rr_on_standby(c == L_RR ? rr : rr_one);
				}
			}
			add(&bm[c], median(&blk));
			free(blk.v);
		}
	}

	figure("latency_queries_per_contender", "%ld", rounds * block);
	for (c = 0; c < ncont; c++)
	{
		char		name[128];
		double		mn = mean(&s[c]);

		snprintf(name, sizeof(name), "latency_%s_median_us", names[c]);
		figure(name, "%.1f", median(&s[c]));
		snprintf(name, sizeof(name), "latency_%s_p99_us", names[c]);
		figure(name, "%.1f", pct(&s[c], 99));
		snprintf(name, sizeof(name), "latency_%s_mean_us", names[c]);
		figure(name, "%.1f", mn);
	}
	figure("latency_replroute_standby_share", "%.3f", (double) rr_standby / (double) rr_total);
	/*
	 * Ratios of medians are paired: per round, the median of one
	 * contender's block over the other's (blocks of one round ran within
	 * milliseconds of each other), then the median of those ratios.  This
	 * keeps a burst of load from another process on one block out of it.
	 */
	figure("latency_ratio_replroute_vs_direct", "%.3f", paired(&bm[L_RR], &bm[L_DIRECT]));
	figure("latency_ratio_replroute_vs_direct_pooled", "%.3f",
		   median(&s[L_RR]) / median(&s[L_DIRECT]));
	figure("latency_ratio_replroute_vs_direct_mean", "%.3f", mean(&s[L_RR]) / mean(&s[L_DIRECT]));
	figure("latency_ratio_replroute_vs_direct_alternating", "%.3f",
		   paired(&bm[L_RR], &bm[L_DIRECT_ALT]));
	figure("latency_ratio_replroute_one_standby_vs_direct", "%.3f",
		   paired(&bm[L_RR_ONE], &bm[L_DIRECT]));
	figure("latency_ratio_direct_alternating_vs_direct", "%.3f",
		   paired(&bm[L_DIRECT_ALT], &bm[L_DIRECT]));
	if (pool)
	{
		figure("latency_ratio_pgpool_vs_replroute", "%.3f", paired(&bm[L_POOL], &bm[L_RR]));
		figure("latency_ratio_pgpool_vs_replroute_mean", "%.3f", mean(&s[L_POOL]) / mean(&s[L_RR]));
		figure("latency_ratio_pgpool_vs_direct", "%.3f", paired(&bm[L_POOL], &bm[L_DIRECT]));
	}

	PQfinish(s1);
	PQfinish(s2);
	PQfinish(pool);
	RRfinish(rr);
	RRfinish(rr_one);
	return 0;
}

/* ---- a TCP proxy that delays every byte: a network, on loopback ---- */

/*
 * Loopback has no network latency, so on it a health refresh is bound by
 * CPU (the servers' and ours), not by round trips: asking nodes in
 * parallel cannot show there.  delay_proxy() forks a process that listens
 * on one free port per backend and forwards both ways after delay_us (one
 * way), like a network with a round trip of 2 * delay_us.
 */
#define PROXY_MAX_CONN	64
#define PROXY_CHUNK		16384

typedef struct chunk
{
	struct chunk *next;
	double		due;
	size_t		len;
	size_t		off;
	char		data[];
} chunk;

typedef struct pipe_end
{
	int			fd;				/* reads from here ... */
	int			peer;			/* ... and delivers there */
	chunk	   *head,
			   *tail;
} pipe_end;

static pid_t proxy_pid = 0;

static int
tcp_listener(int *port)
{
	struct sockaddr_in a;
	socklen_t	len = sizeof(a);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;				/* a free port, chosen by the kernel */
	if (bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0 ||
		listen(fd, 512) != 0 ||
		getsockname(fd, (struct sockaddr *) &a, &len) != 0)
		die("listener: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	return fd;
}

static int
tcp_connect_local(int port)
{
	struct sockaddr_in a;
	int			fd = socket(AF_INET, SOCK_STREAM, 0),
				one = 1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short) port);
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
	{
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
pipe_close(pipe_end *p)
{
	while (p->head)
	{
		chunk	   *n = p->head->next;

		free(p->head);
		p->head = n;
	}
	p->tail = NULL;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->peer = -1;
}

static void
proxy_main(int n, const int *lfd, const int *backend, double delay_us)
{
	pipe_end	pe[2 * PROXY_MAX_CONN];
	int			i,
				k;

	for (i = 0; i < 2 * PROXY_MAX_CONN; i++)
	{
		pe[i].fd = pe[i].peer = -1;
		pe[i].head = pe[i].tail = NULL;
	}
	for (;;)
	{
		struct pollfd fds[16 + 2 * PROXY_MAX_CONN];
		int			map[16 + 2 * PROXY_MAX_CONN];
		int			nfds = 0;
		double		now = now_us(),
					next = now + 1e6;
		struct timespec ts;

		/* deliver what is due */
		for (i = 0; i < 2 * PROXY_MAX_CONN; i++)
		{
			pipe_end   *p = &pe[i];

			while (p->fd >= 0 && p->head && p->head->due <= now)
			{
				chunk	   *c = p->head;
				ssize_t		w = write(p->peer, c->data + c->off, c->len - c->off);

				if (w < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (w < 0)
				{
					pipe_close(p);
					pipe_close(&pe[i ^ 1]);
					break;
				}
				c->off += (size_t) w;
				if (c->off < c->len)
					break;
				p->head = c->next;
				if (p->head == NULL)
					p->tail = NULL;
				free(c);
			}
			if (p->fd >= 0 && p->head && p->head->due < next)
				next = p->head->due;
		}

		for (k = 0; k < n; k++)
		{
			fds[nfds].fd = lfd[k];
			fds[nfds].events = POLLIN;
			map[nfds++] = -1 - k;
		}
		for (i = 0; i < 2 * PROXY_MAX_CONN; i++)
		{
			if (pe[i].fd < 0)
				continue;
			fds[nfds].fd = pe[i].fd;
			fds[nfds].events = POLLIN;
			map[nfds++] = i;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = next > now ? (long) ((next - now) * 1000.0) : 0;
		if (ts.tv_nsec >= 1000000000L)
		{
			ts.tv_sec = ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
		}
		if (ppoll(fds, (nfds_t) nfds, &ts, NULL) <= 0)
			continue;

		for (k = 0; k < nfds; k++)
		{
			if (fds[k].revents == 0)
				continue;
			if (map[k] < 0)
			{
				int			which = -1 - map[k];
				int			cfd = accept(lfd[which], NULL, NULL),
							sfd,
							one = 1;

				if (cfd < 0)
					continue;
				sfd = tcp_connect_local(backend[which]);
				for (i = 0; i < 2 * PROXY_MAX_CONN && pe[i].fd >= 0; i += 2)
					;
				if (sfd < 0 || i >= 2 * PROXY_MAX_CONN)
				{
					close(cfd);
					if (sfd >= 0)
						close(sfd);
					continue;
				}
				setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
				fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
				pe[i].fd = cfd;
				pe[i].peer = sfd;
				pe[i + 1].fd = sfd;
				pe[i + 1].peer = cfd;
			}
			else
			{
				pipe_end   *p = &pe[map[k]];
				chunk	   *c;
				ssize_t		got;

				if (p->fd < 0)
					continue;
				c = malloc(sizeof(chunk) + PROXY_CHUNK);
				if (c == NULL)
					_exit(1);
				got = read(p->fd, c->data, PROXY_CHUNK);
				if (got <= 0)
				{
					free(c);
					if (got < 0 && (errno == EAGAIN || errno == EINTR))
						continue;
					pipe_close(p);
					pipe_close(&pe[map[k] ^ 1]);
					continue;
				}
				c->next = NULL;
				c->due = now_us() + delay_us;
				c->len = (size_t) got;
				c->off = 0;
				if (p->tail)
					p->tail->next = c;
				else
					p->head = c;
				p->tail = c;
			}
		}
	}
}

/* Start the proxy for n backends; proxy ports are written to port_out. */
static void
delay_proxy(int n, const int *backend, int *port_out, double delay_us)
{
	int			lfd[16];
	int			k;

	if (n > 16)
		die("too many backends for the proxy");
	for (k = 0; k < n; k++)
		lfd[k] = tcp_listener(&port_out[k]);
	fflush(stdout);
	fflush(stderr);
	proxy_pid = fork();
	if (proxy_pid < 0)
		die("fork: %s", strerror(errno));
	if (proxy_pid == 0)
	{
		signal(SIGPIPE, SIG_IGN);
		proxy_main(n, lfd, backend, delay_us);
		_exit(0);
	}
	for (k = 0; k < n; k++)
		close(lfd[k]);
}

static void
delay_proxy_stop(void)
{
	if (proxy_pid > 0)
	{
		kill(proxy_pid, SIGTERM);
		waitpid(proxy_pid, NULL, 0);
	}
	proxy_pid = 0;
}

/* ---- refresh: RRrefresh wall time over 1, 2, 4 standbys ---- */

/*
 * One set of refresh measurements: RRrefresh on handles over the primary
 * and 1, 2 and 4 standbys, plus the same health query sent to the five
 * nodes one after another.  ports[0] is the primary.
 */
static void
refresh_set(const char *prefix, long rounds, long block, const int *ports)
{
	const int	sizes[3] = {2, 3, 5};
	const char *labels[3] = {"1_standby", "2_standbys", "4_standbys"};
	RRcluster  *rr[3];
	PGconn	   *seq[5];
	samples		s[4] = {{0}};
	samples		bm[4] = {{0}};	/* per-block medians, one per round */
	char		ci[1024];
	char		name[128];
	long		r,
				i;
	int			c,
				k;

	for (c = 0; c < 3; c++)
	{
		int			len = snprintf(ci, sizeof(ci), "host=127.0.0.1");

		for (k = 1; k < sizes[c]; k++)
			len += snprintf(ci + len, sizeof(ci) - (size_t) len, ",127.0.0.1");
		len += snprintf(ci + len, sizeof(ci) - (size_t) len, " port=%d", ports[0]);
		for (k = 1; k < sizes[c]; k++)
			len += snprintf(ci + len, sizeof(ci) - (size_t) len, ",%d", ports[k]);
		snprintf(ci + len, sizeof(ci) - (size_t) len, " dbname=postgres connect_timeout=5");
		rr[c] = rr_connect(ci, "");
	}
	for (k = 0; k < 5; k++)
	{
		snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%d dbname=postgres", ports[k]);
		seq[k] = pq_connect(ci);
	}

	/* warm up */
	for (i = 0; i < 20; i++)
		for (c = 0; c < 3; c++)
			if (RRrefresh(rr[c]) != 0)
				die("RRrefresh: %s", RRerrorMessage(rr[c]));

	for (r = 0; r < rounds; r++)
	{
		for (c = 0; c < 4; c++)
		{
			samples		blk = {0};

			for (i = 0; i < block; i++)
			{
				double		t0 = now_us();

				if (c < 3)
				{
					if (RRrefresh(rr[c]) != 0)
						die("RRrefresh: %s", RRerrorMessage(rr[c]));
				}
				else
				{
					/* the same health query, one node after another */
					for (k = 0; k < 5; k++)
						PQclear(pq_must(seq[k], HEALTH_QUERY));
				}
				add(&s[c], now_us() - t0);
				add(&blk, s[c].v[s[c].n - 1]);
			}
			add(&bm[c], median(&blk));
			free(blk.v);
		}
	}
	/* every node must have answered every time: else the figure is void */
	for (c = 0; c < 3; c++)
		for (k = 0; k < RRnodeCount(rr[c]); k++)
			if (RRnodeStatus(rr[c], k) != RR_NODE_UP)
				die("refresh: node %d of handle %d is not up: %s", k, c,
					RRnodeError(rr[c], k));

	for (c = 0; c < 3; c++)
	{
		snprintf(name, sizeof(name), "%s_%s_median_us", prefix, labels[c]);
		figure(name, "%.1f", median(&s[c]));
		snprintf(name, sizeof(name), "%s_%s_p99_us", prefix, labels[c]);
		figure(name, "%.1f", pct(&s[c], 99));
	}
	/* ratios paired by round, as in cmd_latency */
	snprintf(name, sizeof(name), "%s_ratio_2_vs_1", prefix);
	figure(name, "%.3f", paired(&bm[1], &bm[0]));
	snprintf(name, sizeof(name), "%s_ratio_4_vs_1", prefix);
	figure(name, "%.3f", paired(&bm[2], &bm[0]));
	snprintf(name, sizeof(name), "%s_sequential_4_standbys_median_us", prefix);
	figure(name, "%.1f", median(&s[3]));
	snprintf(name, sizeof(name), "%s_ratio_sequential_vs_parallel_4", prefix);
	figure(name, "%.3f", paired(&bm[3], &bm[2]));

	for (c = 0; c < 4; c++)
	{
		free(s[c].v);
		free(bm[c].v);
	}
	for (c = 0; c < 3; c++)
		RRfinish(rr[c]);
	for (k = 0; k < 5; k++)
		PQfinish(seq[k]);
}

static int
cmd_refresh(int argc, char **argv)
{
	long		rounds,
				block,
				delay;
	int			ports[5],
				proxied[5],
				k;

	if (argc < 8)
		die("usage: refresh ROUNDS BLOCK DELAY_US PRIMARY_PORT S1 S2 S3 S4");
	rounds = parse_long(argv[0], "rounds");
	block = parse_long(argv[1], "block");
	delay = parse_long(argv[2], "delay");
	for (k = 0; k < 5; k++)
		ports[k] = (int) parse_long(argv[3 + k], "port");

	figure("refresh_samples_per_contender", "%ld", rounds * block);
	refresh_set("refresh", rounds, block, ports);

	if (delay > 0)
	{
		delay_proxy(5, ports, proxied, (double) delay);
		progress("refresh again through a proxy adding %ld us each way (RTT %.1f ms)",
				 delay, 2.0 * (double) delay / 1000.0);
		figure("refresh_rtt_ms", "%.1f", 2.0 * (double) delay / 1000.0);
		refresh_set("refresh_rtt", rounds, block > 10 ? block / 4 : block, proxied);
		delay_proxy_stop();
	}
	return 0;
}

/* ---- deadnode: first successful read with a silent host in the list ---- */

/*
 * A TCP socket on 127.0.0.1 that accepts connections (the kernel completes
 * the handshake) but never says anything.  Returns the fd; *port is set.
 */
static int
silent_listener(int *port)
{
	int			fd = tcp_listener(port);

	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
		die("fcntl: %s", strerror(errno));
	return fd;
}

/* Drop the connections a trial left queued (between trials only). */
static void
drain_listener(int fd)
{
	int			c;

	while ((c = accept(fd, NULL, NULL)) >= 0)
		close(c);
}

enum
{
	D_RR, D_PQ_PREFER, D_PQ_ANY, D_RR_HEALTHY, D_PQ_HEALTHY, D_N
};

/* One trial: ms from nothing to the first successful read. */
static double
deadnode_trial(int c, const char *ci_dead, const char *ci_ok, int *on_standby)
{
	double		t0 = now_us(),
				t1;
	PGresult   *res;

	*on_standby = 0;
	if (c == D_RR || c == D_RR_HEALTHY)
	{
		RRcluster  *rr = rr_connect(c == D_RR ? ci_dead : ci_ok, "");

		res = rr_must(rr, RR_READ, "SELECT 1");
		t1 = now_us();
		*on_standby = rr_on_standby(rr);
		PQclear(res);
		RRfinish(rr);
	}
	else
	{
		char		ci[2200];
		PGconn	   *conn;

		snprintf(ci, sizeof(ci), "%s target_session_attrs=%s",
				 c == D_PQ_HEALTHY ? ci_ok : ci_dead,
				 c == D_PQ_ANY ? "any" : "prefer-standby");
		conn = pq_connect(ci);
		res = pq_must(conn, "SELECT 1");
		t1 = now_us();
		PQclear(res);
		res = pq_must(conn, "SELECT pg_is_in_recovery()");
		*on_standby = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		PQfinish(conn);
	}
	return (t1 - t0) / 1000.0;
}

static int
cmd_deadnode(int argc, char **argv)
{
	long		reps,
				timeout,
				r;
	int			port,
				fd,
				c;
	char		ci_dead[2048],
				ci_ok[2048];
	samples		s[D_N] = {{0}};
	int			standby[D_N] = {0};
	const char *names[D_N] = {"replroute", "libpq_prefer_standby", "libpq_any",
	"healthy_replroute", "healthy_libpq_prefer_standby"};

	if (argc < 4)
		die("usage: deadnode REPS CONNECT_TIMEOUT HOSTS PORTS");
	reps = parse_long(argv[0], "reps");
	timeout = parse_long(argv[1], "connect_timeout");
	fd = silent_listener(&port);
	/* the silent host first: the worst place for libpq, which tries in order */
	snprintf(ci_dead, sizeof(ci_dead),
			 "host=127.0.0.1,%s port=%d,%s dbname=postgres connect_timeout=%ld",
			 argv[2], port, argv[3], timeout);
	snprintf(ci_ok, sizeof(ci_ok), "host=%s port=%s dbname=postgres connect_timeout=%ld",
			 argv[2], argv[3], timeout);
	progress("silent host on 127.0.0.1:%d, connect_timeout=%ld", port, timeout);

	for (r = 0; r < reps; r++)
	{
		for (c = 0; c < D_N; c++)
		{
			int			sb;

			drain_listener(fd);
			add(&s[c], deadnode_trial(c, ci_dead, ci_ok, &sb));
			standby[c] += sb;
		}
	}
	close(fd);

	figure("deadnode_trials_per_contender", "%ld", reps);
	for (c = 0; c < D_N; c++)
	{
		char		name[128];

		snprintf(name, sizeof(name), "deadnode_%s_median_ms", names[c]);
		figure(name, "%.1f", median(&s[c]));
		snprintf(name, sizeof(name), "deadnode_%s_max_ms", names[c]);
		figure(name, "%.1f", maxv(&s[c]));
		snprintf(name, sizeof(name), "deadnode_%s_standby_share", names[c]);
		figure(name, "%.2f", (double) standby[c] / (double) reps);
	}
	figure("deadnode_ratio_libpq_prefer_standby_vs_replroute", "%.2f",
		   median(&s[D_PQ_PREFER]) / median(&s[D_RR]));
	figure("deadnode_ratio_libpq_any_vs_replroute", "%.2f",
		   median(&s[D_PQ_ANY]) / median(&s[D_RR]));
	figure("deadnode_healthy_ratio_libpq_prefer_standby_vs_replroute", "%.2f",
		   median(&s[D_PQ_HEALTHY]) / median(&s[D_RR_HEALTHY]));
	return 0;
}

/* ---- session: a read right after a write ---- */

static long
get_long(const PGresult *res)
{
	if (PQntuples(res) != 1)
		die("expected one row, got %d", PQntuples(res));
	return atol(PQgetvalue(res, 0, 0));
}

static int
cmd_session(int argc, char **argv)
{
	long		rounds,
				block,
				r,
				i;
	RRcluster  *rr[2];
	const char *key[2];
	const char *names[2] = {"session", "plain"};
	samples		rd[2] = {{0}},
				wr[2] = {{0}};
	long		stale[2] = {0},
				on_standby[2] = {0},
				total[2] = {0};
	int			c;

	if (argc < 5)
		die("usage: session ROUNDS BLOCK CI KEY_SESSION KEY_PLAIN");
	rounds = parse_long(argv[0], "rounds");
	block = parse_long(argv[1], "block");
	rr[0] = rr_connect(argv[2], "consistency=session");
	rr[1] = rr_connect(argv[2], "");
	key[0] = argv[3];
	key[1] = argv[4];

	for (r = 0; r < rounds + 1; r++)
	{
		for (c = 0; c < 2; c++)
		{
			for (i = 0; i < block; i++)
			{
				const char *p[1] = {key[c]};
				double		t0 = now_us(),
							t1,
							t2;
				PGresult   *res;
				long		written,
							seen;

				res = RRexecParams(rr[c], RR_WRITE,
								   "UPDATE bench_kv SET v = v + 1 WHERE k = $1 RETURNING v",
								   1, p);
				t1 = now_us();
				if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
					die("session write: %s", res ? PQresultErrorMessage(res) :
						RRerrorMessage(rr[c]));
				written = get_long(res);
				PQclear(res);

				res = RRexecParams(rr[c], RR_READ,
								   "SELECT v FROM bench_kv WHERE k = $1", 1, p);
				t2 = now_us();
				if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
					die("session read: %s", res ? PQresultErrorMessage(res) :
						RRerrorMessage(rr[c]));
				seen = get_long(res);
				PQclear(res);

				if (r == 0)
					continue;	/* the first round warms up */
				add(&wr[c], t1 - t0);
				add(&rd[c], t2 - t1);
				total[c]++;
				stale[c] += seen < written;
				on_standby[c] += rr_on_standby(rr[c]);
			}
		}
	}

	figure("session_pairs_per_contender", "%ld", total[0]);
	for (c = 0; c < 2; c++)
	{
		char		name[128];

		snprintf(name, sizeof(name), "%s_read_after_write_median_us", names[c]);
		figure(name, "%.1f", median(&rd[c]));
		snprintf(name, sizeof(name), "%s_read_after_write_p99_us", names[c]);
		figure(name, "%.1f", pct(&rd[c], 99));
		snprintf(name, sizeof(name), "%s_read_after_write_max_us", names[c]);
		figure(name, "%.1f", maxv(&rd[c]));
		snprintf(name, sizeof(name), "%s_write_median_us", names[c]);
		figure(name, "%.1f", median(&wr[c]));
		snprintf(name, sizeof(name), "%s_standby_share", names[c]);
		figure(name, "%.3f", (double) on_standby[c] / (double) total[c]);
		snprintf(name, sizeof(name), "%s_stale_reads", names[c]);
		figure(name, "%ld", stale[c]);
	}
	figure("session_ratio_read_median_session_vs_plain", "%.2f",
		   median(&rd[0]) / median(&rd[1]));
	figure("session_ratio_read_p99_session_vs_plain", "%.2f",
		   pct(&rd[0], 99) / pct(&rd[1], 99));
	RRfinish(rr[0]);
	RRfinish(rr[1]);
	return 0;
}

/* ---- detect: how fast reads leave a paused standby and come back ---- */

typedef struct router
{
	const char *label;
	RRcluster  *rr;				/* either this ... */
	PGconn	   *pool;			/* ... or a Pgpool-II session */
	samples		out;
	samples		back;
	int			missed;
} router;

/* One read through the router; returns the backend port that served it. */
static int
routed_port(router *rt)
{
	PGresult   *res;
	int			port;

	if (rt->rr)
		res = rr_must(rt->rr, RR_READ, "SELECT inet_server_port()");
	else
		res = pq_must(rt->pool, "SELECT inet_server_port()");
	port = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return port;
}

/*
 * A Pgpool-II session whose load-balance node is the standby on port
 * (Pgpool-II picks the node per session, at random by weight).
 */
static PGconn *
pool_session_on(const char *ci, int port)
{
	int			tries;

	for (tries = 0; tries < 60; tries++)
	{
		PGconn	   *conn = pq_connect(ci);
		PGresult   *res = pq_must(conn, "SELECT inet_server_port()");
		int			p = atoi(PQgetvalue(res, 0, 0));

		PQclear(res);
		if (p == port)
			return conn;
		PQfinish(conn);
	}
	die("no Pgpool-II session was balanced to port %d in 60 tries", port);
	return NULL;
}

/* Keep reading through the router for us microseconds. */
static void
reads_for(router *rt, double us)
{
	double		start = now_us();

	while (now_us() - start < us)
	{
		(void) routed_port(rt);
		sleep_us(1000);
	}
}

#define DETECT_QUIET_US		1500000.0	/* no read there for this long: gone */
#define DETECT_WINDOW_US	6000000.0	/* give up waiting for detection */
#define DETECT_BACK_US		10000000.0	/* give up waiting for the return */
#define DETECT_GAP_US		1000		/* between reads */

static void
detect_trial(router *rt, PGconn *sb, int sb_port)
{
	double		t0,
				t,
				last = -1,
				start;

	/* reads must be reaching the standby before we pause it */
	start = now_us();
	while (routed_port(rt) != sb_port)
	{
		if (now_us() - start > DETECT_BACK_US)
			die("%s: reads do not reach the standby on port %d", rt->label, sb_port);
		sleep_us(DETECT_GAP_US);
	}
	/*
	 * Pause at a random moment of the routers' check cycles (replroute's
	 * 100 ms, Pgpool-II's 1 s): without this, trials lock onto the cycle
	 * (the previous trial ended on one of its checks) and every sample
	 * sees the same phase.
	 */
	reads_for(rt, 200000.0 + (double) (rand() % 1000000));

	t0 = now_us();
	PQclear(pq_must(sb, "SELECT pg_wal_replay_pause()"));
	for (;;)
	{
		int			p = routed_port(rt);

		t = now_us();
		if (p == sb_port)
			last = t;
		if (t - (last > 0 ? last : t0) >= DETECT_QUIET_US)
			break;
		if (t - t0 >= DETECT_WINDOW_US)
		{
			rt->missed++;
			break;
		}
		sleep_us(DETECT_GAP_US);
	}
	add(&rt->out, last > 0 ? (last - t0) / 1000.0 : 0.0);

	/* the same for the moment of the resume */
	reads_for(rt, (double) (rand() % 1000000));
	t0 = now_us();
	PQclear(pq_must(sb, "SELECT pg_wal_replay_resume()"));
	for (;;)
	{
		int			p = routed_port(rt);

		t = now_us();
		if (p == sb_port)
		{
			add(&rt->back, (t - t0) / 1000.0);
			break;
		}
		if (t - t0 >= DETECT_BACK_US)
		{
			add(&rt->back, (t - t0) / 1000.0);
			rt->missed++;
			break;
		}
		sleep_us(DETECT_GAP_US);
	}
}

static int
cmd_detect(int argc, char **argv)
{
	long		reps,
				r;
	PGconn	   *sb;
	int			sb_port,
				n = 0,
				i;
	router		rt[8];

	if (argc < 7 || (argc - 5) % 2 != 0)
		die("usage: detect REPS STANDBY_CI STANDBY_PORT RR_CI PGPOOL_CI|- LABEL OPTS [LABEL OPTS...]");
	reps = parse_long(argv[0], "reps");
	sb = pq_connect(argv[1]);
	sb_port = (int) parse_long(argv[2], "port");
	memset(rt, 0, sizeof(rt));
	for (i = 5; i + 1 < argc && n < 7; i += 2, n++)
	{
		rt[n].label = argv[i];
		rt[n].rr = rr_connect(argv[3], argv[i + 1]);
	}
	if (strcmp(argv[4], "-") != 0)
	{
		rt[n].label = "pgpool";
		rt[n].pool = pool_session_on(argv[4], sb_port);
		n++;
	}
	srand(4242);
	PQclear(pq_must(sb, "SELECT pg_wal_replay_resume()"));

	for (r = 0; r < reps; r++)
	{
		for (i = 0; i < n; i++)
		{
			detect_trial(&rt[i], sb, sb_port);
			progress("detect %s #%ld: out %.0f ms, back %.0f ms", rt[i].label, r + 1,
					 rt[i].out.v[rt[i].out.n - 1], rt[i].back.v[rt[i].back.n - 1]);
		}
	}
	PQclear(pq_must(sb, "SELECT pg_wal_replay_resume()"));

	figure("detect_trials_per_contender", "%ld", reps);
	for (i = 0; i < n; i++)
	{
		char		name[128];

		snprintf(name, sizeof(name), "detect_%s_out_median_ms", rt[i].label);
		figure(name, "%.0f", median(&rt[i].out));
		snprintf(name, sizeof(name), "detect_%s_out_max_ms", rt[i].label);
		figure(name, "%.0f", maxv(&rt[i].out));
		snprintf(name, sizeof(name), "detect_%s_back_median_ms", rt[i].label);
		figure(name, "%.0f", median(&rt[i].back));
		snprintf(name, sizeof(name), "detect_%s_back_max_ms", rt[i].label);
		figure(name, "%.0f", maxv(&rt[i].back));
		snprintf(name, sizeof(name), "detect_%s_missed", rt[i].label);
		figure(name, "%d", rt[i].missed);
		RRfinish(rt[i].rr);
		PQfinish(rt[i].pool);
	}
	PQfinish(sb);
	return 0;
}

/* ---- memory: RSS over a million routed reads ---- */

/* VmRSS and VmHWM of this process, in kB. */
static void
rss_kb(long *rss, long *hwm)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];

	*rss = *hwm = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = atol(line + 6);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = atol(line + 6);
	}
	fclose(f);
}

static int
cmd_memory(int argc, char **argv)
{
	long		reads,
				i,
				warm,
				rss0,
				hwm0,
				rss1,
				hwm1,
				rss,
				hwm;
	RRcluster  *rr;
	double		t0,
				t1;
	long		standby = 0;

	if (argc < 3)
		die("usage: memory READS CI RR_OPTS");
	reads = parse_long(argv[0], "reads");
	warm = reads / 100 > 1000 ? reads / 100 : 1000;
	rr = rr_connect(argv[1], argv[2]);

	t0 = now_us();
	rss0 = hwm0 = -1;
	for (i = 1; i <= reads; i++)
	{
		PGresult   *res = RRexec(rr, RR_READ, "SELECT 1");

		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
			die("read %ld: %s", i, res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
		PQclear(res);
		standby += rr_on_standby(rr);
		if (i == warm)
			rss_kb(&rss0, &hwm0);
		if (i % (reads / 10 > 0 ? reads / 10 : 1) == 0)
		{
			rss_kb(&rss, &hwm);
			progress("memory: %ld reads, RSS %ld kB, peak %ld kB", i, rss, hwm);
		}
	}
	t1 = now_us();
	rss_kb(&rss1, &hwm1);

	figure("memory_reads", "%ld", reads);
	figure("memory_rss_start_kb", "%ld", rss0);
	figure("memory_peak_rss_start_kb", "%ld", hwm0);
	figure("memory_rss_end_kb", "%ld", rss1);
	figure("memory_peak_rss_end_kb", "%ld", hwm1);
	figure("memory_peak_rss_growth_kb", "%ld", hwm1 - hwm0);
	figure("memory_standby_share", "%.3f", (double) standby / (double) reads);
	figure("memory_reads_per_second", "%.0f", (double) reads / ((t1 - t0) / 1e6));
	RRfinish(rr);
	return 0;
}

/*
 * ---- monitor: the health cost of T reading threads, one shared monitor
 *		against a handle of their own each ----
 *
 * For each thread count and each contender, in alternating blocks: T
 * threads read SELECT 1 as fast as they can for SECONDS through handles of
 * one RRmonitor started for the block, or through RRconnect handles.
 * Health queries per second: the monitor's count (RRmonitorHealthQueries),
 * or the sum of the handles' own (RRnodeHealthQueries), over the timed
 * window.  Health backends per node: pg_stat_activity on every node half
 * way through (the library's backends whose last query is the health
 * query), the largest over the nodes.
 */

#define MON_MAX_THREADS	64
#define MON_MAX_NODES	8
#define MON_HEALTH_SQL \
	"SELECT count(*) FILTER (WHERE query LIKE '%replroute.probe()%' " \
	"OR query LIKE '%node_status()%'), count(*) FROM pg_stat_activity " \
	"WHERE application_name = 'replroute' AND pid <> pg_backend_pid()"

typedef struct mon_block
{
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int			ready;			/* threads connected */
	bool		go;
	atomic_bool stop;
} mon_block;

typedef struct mon_reader
{
	mon_block  *b;
	RRmonitor  *mon;			/* NULL: a plain RRconnect handle */
	const char *ci;
	long		reads;
	int64_t		hq;				/* plain: health queries its probes sent meanwhile */
} mon_reader;

static int64_t
handle_health_queries(const RRcluster *rr)
{
	int64_t		sum = 0;
	int			i;

	for (i = 0; i < RRnodeCount(rr); i++)
		sum += RRnodeHealthQueries(rr, i);
	return sum;
}

static int64_t
monitor_health_queries(const RRmonitor *mon)
{
	int64_t		sum = 0;
	int			i;

	for (i = 0; i < RRmonitorNodeCount(mon); i++)
		sum += RRmonitorHealthQueries(mon, i);
	return sum;
}

static void *
mon_reader_main(void *arg)
{
	mon_reader *r = arg;
	RRcluster  *rr = r->mon ? RRconnectMonitor(r->mon, NULL) : RRconnect(r->ci, NULL);
	int64_t		hq0;

	if (rr == NULL || RRstatus(rr) != RR_OK)
		die("monitor: connect: %s", rr ? RRerrorMessage(rr) : "out of memory");
	pthread_mutex_lock(&r->b->lock);
	r->b->ready++;
	pthread_cond_broadcast(&r->b->cond);
	while (!r->b->go)
		pthread_cond_wait(&r->b->cond, &r->b->lock);
	pthread_mutex_unlock(&r->b->lock);

	hq0 = handle_health_queries(rr);
	while (!atomic_load(&r->b->stop))
	{
		PGresult   *res = RRexec(rr, RR_READ, "SELECT 1");

		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
			die("monitor: read: %s", res ? PQresultErrorMessage(res) : RRerrorMessage(rr));
		PQclear(res);
		r->reads++;
	}
	r->hq = handle_health_queries(rr) - hq0;
	RRfinish(rr);
	return NULL;
}

/* One block: T threads, one contender.  Figures of the block in *out. */
typedef struct mon_result
{
	double		hq_per_s;
	double		health_backends;	/* per node, the largest */
	double		backends;			/* all the library's, per node, the largest */
	double		reads_per_s;
} mon_result;

static void
mon_run_block(const char *ci, bool shared, int threads, long seconds,
			  PGconn **samplers, int nnodes, mon_result *out)
{
	mon_block	b;
	mon_reader	readers[MON_MAX_THREADS];
	pthread_t	tids[MON_MAX_THREADS];
	RRmonitor  *mon = NULL;
	int64_t		mon_hq0 = 0,
				mon_hq1 = 0,
				hq = 0;
	double		t0,
				t1;
	long		reads = 0;
	int			i;

	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	atomic_store(&b.stop, false);
	if (shared)
	{
		mon = RRmonitorStart(ci, NULL);
		if (mon == NULL || RRmonitorStatus(mon) != RR_OK)
			die("RRmonitorStart: %s", RRmonitorErrorMessage(mon));
	}
	memset(readers, 0, sizeof(readers));
	for (i = 0; i < threads; i++)
	{
		readers[i].b = &b;
		readers[i].mon = mon;
		readers[i].ci = ci;
		if (pthread_create(&tids[i], NULL, mon_reader_main, &readers[i]) != 0)
			die("pthread_create");
	}
	pthread_mutex_lock(&b.lock);
	while (b.ready < threads)
		pthread_cond_wait(&b.cond, &b.lock);
	t0 = now_us();
	if (mon)
		mon_hq0 = monitor_health_queries(mon);
	b.go = true;
	pthread_cond_broadcast(&b.cond);
	pthread_mutex_unlock(&b.lock);

	sleep_us(seconds * 500000L);
	out->health_backends = out->backends = 0;
	for (i = 0; i < nnodes; i++)
	{
		PGresult   *res = pq_must(samplers[i], MON_HEALTH_SQL);

		if (atof(PQgetvalue(res, 0, 0)) > out->health_backends)
			out->health_backends = atof(PQgetvalue(res, 0, 0));
		if (atof(PQgetvalue(res, 0, 1)) > out->backends)
			out->backends = atof(PQgetvalue(res, 0, 1));
		PQclear(res);
	}
	sleep_us(seconds * 500000L);

	atomic_store(&b.stop, true);
	t1 = now_us();
	if (mon)
		mon_hq1 = monitor_health_queries(mon);
	for (i = 0; i < threads; i++)
	{
		pthread_join(tids[i], NULL);
		reads += readers[i].reads;
		hq += readers[i].hq;
	}
	if (mon)
		hq = mon_hq1 - mon_hq0;
	RRmonitorFinish(mon);
	out->hq_per_s = (double) hq / ((t1 - t0) / 1e6);
	out->reads_per_s = (double) reads / ((t1 - t0) / 1e6);
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
}

static int
cmd_monitor(int argc, char **argv)
{
	static const char *const who[2] = {"plain", "monitor"};
	long		seconds,
				rounds,
				r;
	const char *ci;
	int			nt = argc - 3,
				threads[16],
				nnodes,
				i,
				t,
				k;
	PGconn	   *samplers[MON_MAX_NODES];
	RRcluster  *rr;
	samples		hqs[2][16],
				hb[2][16],
				all[2][16],
				rps[2][16];

	if (argc < 4 || nt > 16)
		die("usage: monitor SECONDS ROUNDS CI THREADS [THREADS...] (at most 16 counts)");
	seconds = parse_long(argv[0], "seconds");
	rounds = parse_long(argv[1], "rounds");
	ci = argv[2];
	for (t = 0; t < nt; t++)
	{
		threads[t] = (int) parse_long(argv[3 + t], "threads");
		if (threads[t] < 1 || threads[t] > MON_MAX_THREADS)
			die("threads: 1 to %d", MON_MAX_THREADS);
	}
	memset(hqs, 0, sizeof(hqs));
	memset(hb, 0, sizeof(hb));
	memset(all, 0, sizeof(all));
	memset(rps, 0, sizeof(rps));

	/* one sampling connection per node: the conninfo, with that node's host and port */
	rr = rr_connect(ci, "");
	nnodes = RRnodeCount(rr);
	if (nnodes > MON_MAX_NODES)
		die("at most %d nodes", MON_MAX_NODES);
	for (i = 0; i < nnodes; i++)
	{
		const char *kw[] = {"dbname", "host", "port", "application_name", NULL};
		const char *val[] = {ci, RRnodeHost(rr, i), RRnodePort(rr, i), "rr_bench", NULL};

		samplers[i] = PQconnectdbParams(kw, val, 1);
		if (PQstatus(samplers[i]) != CONNECTION_OK)
			die("could not connect to node %d: %s", i, PQerrorMessage(samplers[i]));
	}
	RRfinish(rr);

	for (r = 0; r < rounds; r++)
	{
		for (t = 0; t < nt; t++)
		{
			for (k = 0; k < 2; k++)
			{
				int			shared = (int) ((r + t + k) % 2);	/* alternate who goes first */
				mon_result	res;

				mon_run_block(ci, shared, threads[t], seconds, samplers, nnodes, &res);
				add(&hqs[shared][t], res.hq_per_s);
				add(&hb[shared][t], res.health_backends);
				add(&all[shared][t], res.backends);
				add(&rps[shared][t], res.reads_per_s);
				progress("monitor #%ld, %d threads, %s: %.0f health queries/s, "
						 "%.0f health backends per node (%.0f in all), %.0f reads/s",
						 r + 1, threads[t], who[shared], res.hq_per_s,
						 res.health_backends, res.backends, res.reads_per_s);
			}
		}
	}

	figure("monitor_rounds", "%ld", rounds);
	figure("monitor_seconds_per_block", "%ld", seconds);
	figure("monitor_nodes", "%d", nnodes);
	for (t = 0; t < nt; t++)
	{
		for (k = 1; k >= 0; k--)
		{
			char		name[128];

			snprintf(name, sizeof(name), "%s_%d_threads_health_queries_per_s", who[k], threads[t]);
			figure(name, "%.0f", median(&hqs[k][t]));
			snprintf(name, sizeof(name), "%s_%d_threads_health_backends_per_node", who[k], threads[t]);
			figure(name, "%.0f", median(&hb[k][t]));
			snprintf(name, sizeof(name), "%s_%d_threads_backends_per_node", who[k], threads[t]);
			figure(name, "%.0f", median(&all[k][t]));
			snprintf(name, sizeof(name), "%s_%d_threads_reads_per_s", who[k], threads[t]);
			figure(name, "%.0f", median(&rps[k][t]));
		}
	}
	if (nt > 1)
	{
		for (k = 1; k >= 0; k--)
		{
			char		name[128];

			snprintf(name, sizeof(name), "%s_health_queries_ratio_%d_vs_%d_threads",
					 who[k], threads[nt - 1], threads[0]);
			figure(name, "%.2f", median(&hqs[k][nt - 1]) / median(&hqs[k][0]));
		}
	}
	for (i = 0; i < nnodes; i++)
		PQfinish(samplers[i]);
	for (k = 0; k < 2; k++)
	{
		for (t = 0; t < nt; t++)
		{
			free(hqs[k][t].v);
			free(hb[k][t].v);
			free(all[k][t].v);
			free(rps[k][t].v);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
	{
		fprintf(stderr, "usage: rr_bench latency|refresh|deadnode|session|detect|memory|monitor ARGS...\n");
		return 2;
	}
	if (strcmp(argv[1], "latency") == 0)
		return cmd_latency(argc - 2, argv + 2);
	if (strcmp(argv[1], "refresh") == 0)
		return cmd_refresh(argc - 2, argv + 2);
	if (strcmp(argv[1], "deadnode") == 0)
		return cmd_deadnode(argc - 2, argv + 2);
	if (strcmp(argv[1], "session") == 0)
		return cmd_session(argc - 2, argv + 2);
	if (strcmp(argv[1], "detect") == 0)
		return cmd_detect(argc - 2, argv + 2);
	if (strcmp(argv[1], "memory") == 0)
		return cmd_memory(argc - 2, argv + 2);
	if (strcmp(argv[1], "monitor") == 0)
		return cmd_monitor(argc - 2, argv + 2);
	die("unknown subcommand \"%s\"", argv[1]);
	return 2;
}
