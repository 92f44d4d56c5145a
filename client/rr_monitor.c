/*-------------------------------------------------------------------------
 *
 * rr_monitor.c
 *		The shared monitor: one health connection and one probe stream per
 *		node for every handle of a process created from it, driven by a
 *		thread of the monitor's own; and the handle's side of it.
 *
 * The monitor owns an ordinary probing handle (the "prober", made by
 * RRconnect, so its first wait is RRconnect's), whose probes, facts and
 * cluster memory only the monitor's thread touches once it runs.  That
 * thread is the one place probes are driven: it polls every probe socket
 * and its own wake-up pipe, runs rr_health.c's timers (a question every
 * check_interval, node_timeout, reconnects with back-off), and after each
 * round publishes what the handles need (rr_mon_pub per node, the cluster
 * memory) under the monitor's mutex, with a generation number.  Nothing
 * but copying happens under the mutex: no I/O, no allocation.
 *
 * A handle of the monitor has no probes.  Before routing it copies the
 * published facts and memory under the mutex when the generation moved
 * (rr_monitor_sync) and decides on its copy, outside the lock, with its own
 * options, counters, session token and transaction.  Its waits
 * (rr_monitor_wait) poll its statement socket and a pipe of its own that
 * the monitor's thread writes when something the wait cares about
 * happened: a node going down, for a wait on a statement (that is how a
 * statement on a node that stopped answering is abandoned within
 * node_timeout plus check_interval, as with a probing handle); any new
 * fact, for a wait on health alone (RRconnect's rules in rr_prepare,
 * RRrefresh).  A handle says what it waits for under the mutex and checks
 * the generation there, so no wake-up is lost; a wait costs nothing while
 * nothing happens, and a handle that is not inside a call is never woken.
 *
 * Down in one handle's view only: when a handle cannot open a statement
 * connection to a node (rr_node_down from rr_exec.c), that node is down
 * for this handle for a back-off (20 ms if refused fast, else 250 ms
 * doubling to 2 s), as a probing handle's node would be until its probe
 * reconnects; the monitor and the other handles are not affected.
 *
 * Lifetime: every handle holds a reference, and so does the application
 * until RRmonitorFinish; the last of them stops the thread and frees all.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rr_int.h"

#define WANT_ANY		1		/* wake the handle when any fact changes */
#define WANT_DOWN		2		/* ... when some node goes down */

/* A monitor handle's local down lasts from scratch again after this calm. */
#define LOCAL_CALM_US	(4 * 1000 * 1000)

/* What the handles see of one of the monitor's nodes. */
typedef struct rr_mon_pub
{
	rr_fact		fact;
	rr_probe_state probe_state;
	int64_t		sent_us;
	int64_t		connect_started_us;
	bool		ever_answered;
	bool		refused;
	uint64_t	downs;			/* times it went down after being up */
	int64_t		health_queries;
	int			naddrs;
	char		addrs[RR_MAX_ADDRS][RR_ADDR_LEN];
	char		shown_host[256];
	char		error[RR_ERRBUF_SIZE];
} rr_mon_pub;

/* A monitor's handle: rr->mh. */
typedef struct rr_mon_handle
{
	RRmonitor  *mon;
	int			wake[2];		/* the monitor's thread writes wake[1] */

	/* under mon->lock */
	int			want;			/* WANT_*: what this handle's wait waits for */
	struct rr_mon_handle *prev;
	struct rr_mon_handle *next;

	/* the handle's own */
	uint64_t	seen_gen;
	uint64_t	seen_down_gen;
	rr_mon_pub *stage;			/* nnodes: the latest copy */
	int64_t    *down_until;		/* nnodes: local down until then, 0 none */
	int64_t    *down_end;		/* nnodes: when the last local down ended */
	int		   *retry_ms;		/* nnodes: the next local back-off */
	int			nlocal;			/* nodes down locally */
} rr_mon_handle;

struct RRmonitor
{
	/* fixed once RRmonitorStart returns */
	RRstatusType status;
	char		errmsg[RR_ERRBUF_SIZE];
	char	   *conninfo;		/* for the handles (NULL: as given) */
	rr_options	opts;			/* the handles' defaults, health options included */
	int			nnodes;
	RRcluster  *prober;			/* the monitor's thread's alone, once started */
	pthread_t	thread;
	bool		started;
	bool		lock_ok;
	int			wake[2];		/* handles and the finish wake the thread */

	pthread_mutex_t lock;
	/* under lock */
	bool		stop;
	bool		finished;		/* RRmonitorFinish was called */
	int			nhandles;
	rr_mon_handle *handles;
	uint64_t	ask_all;		/* RRrefresh requests so far */
	bool	   *expedite;		/* nnodes: reconnect now, requested */
	rr_mon_pub *pub;			/* nnodes */
	rr_memory	pub_mem;
	_Atomic uint64_t gen;		/* written under lock; read without it too */
	_Atomic uint64_t down_gen;

	/* the thread's own (the starting thread's, before it runs) */
	rr_mon_pub *build;			/* nnodes */
	rr_mon_pub *last;			/* nnodes: as last published */
	uint64_t	ask_all_done;
	bool	   *expedite_now;	/* nnodes */
};

/* ---- small helpers ---- */

/* A non-blocking, close-on-exec pipe.  Returns 0 or -1 (errno set). */
static int
make_pipe(int fds[2])
{
	int			i;

	if (pipe(fds) != 0)
	{
		fds[0] = fds[1] = -1;
		return -1;
	}
	for (i = 0; i < 2; i++)
	{
		int			fl = fcntl(fds[i], F_GETFL);

		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
			fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
		{
			int			e = errno;

			close(fds[0]);
			close(fds[1]);
			fds[0] = fds[1] = -1;
			errno = e;
			return -1;
		}
	}
	return 0;
}

static void
close_pipe(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	fds[0] = fds[1] = -1;
}

/* Wake whoever polls the other end (a full pipe is awake already). */
static void
wake(int fd)
{
	char		c = 0;
	ssize_t		rc;

	do
		rc = write(fd, &c, 1);
	while (rc < 0 && errno == EINTR);
}

/* Empty a wake-up pipe. */
static void
drain(int fd)
{
	char		buf[64];
	ssize_t		rc;

	do
		rc = read(fd, buf, sizeof(buf));
	while (rc > 0 || (rc < 0 && errno == EINTR));
}

/* poll() timeout in ms until wake_at (INT64_MAX: none, -1). */
static int
timeout_until(int64_t wake_at, int64_t now)
{
	if (wake_at == INT64_MAX)
		return -1;
	if (wake_at <= now)
		return 0;
	if ((wake_at - now + 999) / 1000 > INT_MAX)
		return INT_MAX;
	return (int) ((wake_at - now + 999) / 1000);
}

/* Copy the cluster memory: its header and the samples in use. */
static void
copy_memory(rr_memory *dst, const rr_memory *src)
{
	memcpy(dst, src, offsetof(rr_memory, hist.s) +
		   (size_t) src->hist.n * sizeof(rr_sample));
}

/* ---- the monitor's thread ---- */

/*
 * build_pub
 *		What handles see of the prober's node, into *b; *b's down count
 *		goes up (and *went_down is set) if it went down after being up
 *		since *last was published.
 */
static void
build_pub(const rr_node *node, const rr_mon_pub *last, rr_mon_pub *b,
		  bool *went_down)
{
	memset(b, 0, sizeof(*b));
	b->fact = *node->fact;
	b->probe_state = node->probe_state;
	b->sent_us = node->sent_us;
	b->connect_started_us = node->connect_started_us;
	b->ever_answered = node->ever_answered;
	b->refused = node->refused;
	b->health_queries = node->health_queries;
	b->naddrs = node->naddrs;
	memcpy(b->addrs, node->addrs, sizeof(b->addrs));
	memcpy(b->shown_host, node->shown_host, sizeof(b->shown_host));
	memcpy(b->error, node->error, sizeof(b->error));
	b->downs = last->downs;
	if (b->probe_state == RR_PROBE_DOWN && last->probe_state != RR_PROBE_DOWN &&
		(last->fact.answered || last->fact.link == RR_LINK_UP))
	{
		b->downs++;
		*went_down = true;
	}
}

/*
 * publish
 *		If anything changed since the last time, hand the prober's facts and
 *		memory to the handles (under the lock: copies only) and wake the
 *		handles waiting for such a change.  Called by the monitor's thread
 *		(or, before it runs, by RRmonitorStart).
 */
static void
publish(RRmonitor *mon)
{
	RRcluster  *p = mon->prober;
	size_t		size = sizeof(rr_mon_pub) * (size_t) mon->nnodes;
	bool		went_down = false;
	rr_mon_handle *h;
	int			i;

	for (i = 0; i < mon->nnodes; i++)
		build_pub(&p->nodes[i], &mon->last[i], &mon->build[i], &went_down);
	if (memcmp(mon->build, mon->last, size) == 0)
		return;
	memcpy(mon->last, mon->build, size);

	pthread_mutex_lock(&mon->lock);
	memcpy(mon->pub, mon->last, size);
	copy_memory(&mon->pub_mem, &p->mem);
	atomic_fetch_add(&mon->gen, 1);
	if (went_down)
		atomic_fetch_add(&mon->down_gen, 1);
	for (h = mon->handles; h != NULL; h = h->next)
	{
		if ((h->want & WANT_ANY) || (went_down && (h->want & WANT_DOWN)))
		{
			wake(h->wake[1]);
			h->want = 0;
		}
	}
	pthread_mutex_unlock(&mon->lock);
}

/*
 * monitor_main
 *		The monitor's thread: take the handles' requests, wait for a probe
 *		socket, a probe timer or a request, advance the probes, publish;
 *		until told to stop.
 */
static void *
monitor_main(void *arg)
{
	RRmonitor  *mon = arg;
	RRcluster  *p = mon->prober;

	for (;;)
	{
		bool		ask;
		int64_t		now;
		int			n,
					i,
					rc;

		pthread_mutex_lock(&mon->lock);
		if (mon->stop)
		{
			pthread_mutex_unlock(&mon->lock);
			break;
		}
		ask = mon->ask_all != mon->ask_all_done;
		mon->ask_all_done = mon->ask_all;
		for (i = 0; i < mon->nnodes; i++)
		{
			mon->expedite_now[i] = mon->expedite[i];
			mon->expedite[i] = false;
		}
		pthread_mutex_unlock(&mon->lock);

		if (ask)
			rr_health_ask_all(p);
		for (i = 0; i < mon->nnodes; i++)
			if (mon->expedite_now[i])
				rr_health_expedite(p, &p->nodes[i]);
		publish(mon);

		/* the prober's poll slots: 0 is the wake-up pipe, then the probes */
		now = rr_now_us();
		p->pfds[0].fd = mon->wake[0];
		p->pfds[0].events = POLLIN;
		p->pfds[0].revents = 0;
		n = rr_health_pollfds(p, p->pfds + 1, p->pfd_node + 1);
		rc = poll(p->pfds, (nfds_t) (n + 1),
				  timeout_until(rr_health_next_wake(p, now), now));
		if (rc > 0)
		{
			if (p->pfds[0].revents != 0)
				drain(mon->wake[0]);
			rr_health_after_poll(p, p->pfds + 1, p->pfd_node + 1, n);
		}
		/* rc < 0 is EINTR or a transient failure: look again */
		rr_health_timers(p, rr_now_us());
		publish(mon);
	}
	return NULL;
}

/*
 * monitor_destroy
 *		Stop the thread (if it runs), close every health connection, free.
 *		Never called by the monitor's thread.
 */
static void
monitor_destroy(RRmonitor *mon)
{
	if (mon->started)
	{
		pthread_mutex_lock(&mon->lock);
		mon->stop = true;
		pthread_mutex_unlock(&mon->lock);
		wake(mon->wake[1]);
		pthread_join(mon->thread, NULL);
	}
	RRfinish(mon->prober);
	close_pipe(mon->wake);
	free(mon->conninfo);
	free(mon->expedite);
	free(mon->expedite_now);
	free(mon->pub);
	free(mon->build);
	free(mon->last);
	if (mon->lock_ok)
		pthread_mutex_destroy(&mon->lock);
	free(mon);
}

/* ---- the monitor's API ---- */

RRmonitor *
RRmonitorStart(const char *conninfo, const char *options)
{
	RRmonitor  *mon = calloc(1, sizeof(RRmonitor));
	size_t		n;
	sigset_t	all,
				old;
	int			rc;

	if (mon == NULL)
		return NULL;
	mon->status = RR_BAD;
	mon->wake[0] = mon->wake[1] = -1;
	if (pthread_mutex_init(&mon->lock, NULL) != 0)
	{
		free(mon);
		return NULL;
	}
	mon->lock_ok = true;

	/* RRconnect's checks and first wait, in the caller's thread */
	mon->prober = RRconnect(conninfo, options);
	if (mon->prober == NULL)
	{
		monitor_destroy(mon);
		return NULL;
	}
	if (RRstatus(mon->prober) != RR_OK)
	{
		rr_format(mon->errmsg, sizeof(mon->errmsg), "%s", RRerrorMessage(mon->prober));
		RRfinish(mon->prober);
		mon->prober = NULL;
		return mon;
	}
	mon->opts = mon->prober->opts;
	mon->nnodes = mon->prober->nnodes;
	n = (size_t) mon->nnodes;
	mon->conninfo = conninfo ? strdup(conninfo) : NULL;
	mon->expedite = calloc(n, sizeof(bool));
	mon->expedite_now = calloc(n, sizeof(bool));
	mon->pub = calloc(n, sizeof(rr_mon_pub));
	mon->build = calloc(n, sizeof(rr_mon_pub));
	mon->last = calloc(n, sizeof(rr_mon_pub));
	if ((conninfo && !mon->conninfo) || !mon->expedite || !mon->expedite_now ||
		!mon->pub || !mon->build || !mon->last)
	{
		monitor_destroy(mon);
		return NULL;
	}
	if (make_pipe(mon->wake) != 0)
	{
		rr_format(mon->errmsg, sizeof(mon->errmsg),
				  "could not create the monitor's wake-up pipe: %s", strerror(errno));
		RRfinish(mon->prober);
		mon->prober = NULL;
		return mon;
	}
	publish(mon);

	/* the thread takes no signal: they belong to the application's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&mon->thread, NULL, monitor_main, mon);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
	{
		rr_format(mon->errmsg, sizeof(mon->errmsg),
				  "could not start the monitor's thread: %s", strerror(rc));
		RRfinish(mon->prober);
		mon->prober = NULL;
		return mon;
	}
	mon->started = true;
	mon->status = RR_OK;
	return mon;
}

RRstatusType
RRmonitorStatus(const RRmonitor *mon)
{
	return mon ? mon->status : RR_BAD;
}

const char *
RRmonitorErrorMessage(const RRmonitor *mon)
{
	return mon ? mon->errmsg : "the replroute monitor is NULL (out of memory?)";
}

int
RRmonitorNodeCount(const RRmonitor *mon)
{
	return (mon && mon->status == RR_OK) ? mon->nnodes : 0;
}

int64_t
RRmonitorHealthQueries(const RRmonitor *mon, int node)
{
	RRmonitor  *m = (RRmonitor *) mon;	/* the lock is not the monitor's state */
	int64_t		v;

	if (m == NULL || m->status != RR_OK || node < 0 || node >= m->nnodes)
		return -1;
	pthread_mutex_lock(&m->lock);
	v = m->pub[node].health_queries;
	pthread_mutex_unlock(&m->lock);
	return v;
}

void
RRmonitorFinish(RRmonitor *mon)
{
	bool		last;

	if (mon == NULL)
		return;
	pthread_mutex_lock(&mon->lock);
	mon->finished = true;
	last = (mon->nhandles == 0);
	pthread_mutex_unlock(&mon->lock);
	if (last)
		monitor_destroy(mon);
}

/*
 * health_option
 *		The first option in str that belongs to the monitor, or NULL.
 */
static const char *
health_option(const char *str)
{
	static const char *const keys[] = {"check_interval", "node_timeout"};
	const char *p = str;
	size_t		i;

	while (p != NULL && *p != '\0')
	{
		size_t		len;

		while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
			p++;
		len = strcspn(p, " \t\r\n\f\v");
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		{
			size_t		k = strlen(keys[i]);

			if (len > k && strncmp(p, keys[i], k) == 0 && p[k] == '=')
				return keys[i];
		}
		p += len;
	}
	return NULL;
}

/* A handle that stays RR_BAD, for the reason given. */
static RRcluster *
bad_handle(RRcluster *rr, const char *why)
{
	rr_set_error(rr, "%s", why);
	memcpy(rr->bad_reason, rr->errmsg, sizeof(rr->bad_reason));
	return rr;
}

RRcluster *
RRconnectMonitor(RRmonitor *mon, const char *options)
{
	RRcluster  *rr = rr_cluster_alloc();
	rr_mon_handle *mh;
	const char *key;
	char		why[RR_ERRBUF_SIZE];
	size_t		n;
	int			rc;

	if (rr == NULL)
		return NULL;
	if (mon == NULL)
		return bad_handle(rr, "the replroute monitor is NULL (out of memory?)");
	if (mon->status != RR_OK)
	{
		rr_format(why, sizeof(why), "the replroute monitor is not usable: %s", mon->errmsg);
		return bad_handle(rr, why);
	}
	if ((key = health_option(options)) != NULL)
	{
		rr_format(why, sizeof(why), "invalid options: option \"%s\" belongs to the monitor "
				  "(set it in RRmonitorStart)", key);
		return bad_handle(rr, why);
	}
	rc = rr_cluster_setup(rr, mon->conninfo, options, &mon->opts);
	if (rc == -2)
	{
		RRfinish(rr);
		return NULL;
	}
	if (rc < 0)
		return rr;
	if (rr->nnodes != mon->nnodes)
	{
		rr_format(why, sizeof(why), "the monitor's conninfo now gives %d nodes instead of %d "
				  "(did the environment change?)", rr->nnodes, mon->nnodes);
		return bad_handle(rr, why);
	}

	n = (size_t) rr->nnodes;
	mh = calloc(1, sizeof(rr_mon_handle));
	if (mh == NULL)
	{
		RRfinish(rr);
		return NULL;
	}
	mh->mon = mon;
	mh->wake[0] = mh->wake[1] = -1;
	mh->stage = calloc(n, sizeof(rr_mon_pub));
	mh->down_until = calloc(n, sizeof(int64_t));
	mh->down_end = calloc(n, sizeof(int64_t));
	mh->retry_ms = calloc(n, sizeof(int));
	if (!mh->stage || !mh->down_until || !mh->down_end || !mh->retry_ms)
	{
		free(mh->stage);
		free(mh->down_until);
		free(mh->down_end);
		free(mh->retry_ms);
		free(mh);
		RRfinish(rr);
		return NULL;
	}
	if (make_pipe(mh->wake) != 0)
	{
		rr_format(why, sizeof(why), "could not create the handle's wake-up pipe: %s",
				  strerror(errno));
		free(mh->stage);
		free(mh->down_until);
		free(mh->down_end);
		free(mh->retry_ms);
		free(mh);
		return bad_handle(rr, why);
	}
	mh->seen_gen = UINT64_MAX;	/* copy at once */
	mh->seen_down_gen = UINT64_MAX;

	pthread_mutex_lock(&mon->lock);
	mh->next = mon->handles;
	if (mon->handles)
		mon->handles->prev = mh;
	mon->handles = mh;
	mon->nhandles++;
	pthread_mutex_unlock(&mon->lock);

	rr->mh = mh;
	rr_monitor_sync(rr);
	rr_update_view(rr);
	rr->status = RR_OK;
	return rr;
}

/* ---- the handle's side ---- */

/*
 * apply_node
 *		Take node i's published state (mh->stage[i]) into the handle's view,
 *		unless the handle has it down locally; a node the monitor saw go
 *		down loses its statement connection, as with rr_node_down.
 */
static void
apply_node(RRcluster *rr, rr_mon_handle *mh, int i, int64_t now)
{
	rr_node    *node = &rr->nodes[i];
	const rr_mon_pub *p = &mh->stage[i];
	bool		went_down = (p->downs != node->downs);
	uint64_t	replayed = node->fact->replayed_lsn;

	if (went_down)
	{
		node->downs = p->downs;
		if (node->conn_busy)
			node->conn_abandon = true;
		else
			rr_node_conn_close(node);
	}
	if (mh->down_until[i] != 0)
	{
		if (now < mh->down_until[i])
			return;
		mh->down_until[i] = 0;
		mh->down_end[i] = now;
		mh->nlocal--;
	}
	*node->fact = p->fact;
	/* what a session wait showed this handle, until the node goes down */
	if (!went_down && p->fact.link != RR_LINK_DOWN && replayed > node->fact->replayed_lsn)
		node->fact->replayed_lsn = replayed;
	node->probe_state = p->probe_state;
	node->sent_us = p->sent_us;
	node->connect_started_us = p->connect_started_us;
	node->ever_answered = p->ever_answered;
	node->refused = p->refused;
	node->health_queries = p->health_queries;
	node->naddrs = p->naddrs;
	memcpy(node->addrs, p->addrs, sizeof(node->addrs));
	memcpy(node->shown_host, p->shown_host, sizeof(node->shown_host));
	memcpy(node->error, p->error, sizeof(node->error));
}

/*
 * rr_monitor_sync
 *		Bring the handle's view up to the monitor's newest facts: copied
 *		under the lock only if the monitor published since the last copy
 *		(or a local down ended), applied outside it.
 */
void
rr_monitor_sync(RRcluster *rr)
{
	rr_mon_handle *mh = rr->mh;
	RRmonitor  *mon = mh->mon;
	int64_t		now = rr_now_us();
	bool		expired = false;
	int			i;

	for (i = 0; mh->nlocal > 0 && i < rr->nnodes; i++)
		if (mh->down_until[i] != 0 && now >= mh->down_until[i])
			expired = true;
	if (!expired && atomic_load(&mon->gen) == mh->seen_gen)
		return;
	pthread_mutex_lock(&mon->lock);
	memcpy(mh->stage, mon->pub, sizeof(rr_mon_pub) * (size_t) rr->nnodes);
	copy_memory(&rr->mem, &mon->pub_mem);
	mh->seen_gen = atomic_load(&mon->gen);
	mh->seen_down_gen = atomic_load(&mon->down_gen);
	pthread_mutex_unlock(&mon->lock);
	for (i = 0; i < rr->nnodes; i++)
		apply_node(rr, mh, i, now);
}

/*
 * rr_monitor_wait
 *		rr_wait.c's one poll() for a monitor's handle: on fd for events
 *		(fd < 0: none) and the handle's wake-up pipe, until fd is ready, the
 *		deadline passes, or the monitor's thread says a node went down (a
 *		wait on fd) or any fact changed (fd < 0); then take the newest
 *		facts.  Returns true if fd was found ready.
 */
bool
rr_monitor_wait(RRcluster *rr, int fd, short events, int64_t deadline_us)
{
	rr_mon_handle *mh = rr->mh;
	RRmonitor  *mon = mh->mon;
	int			want = fd >= 0 ? WANT_DOWN : WANT_ANY;
	int64_t		wake_at = deadline_us;
	struct pollfd pfd[2];
	int			nfds = 0,
				i,
				rc;
	bool		pending;
	bool		ready = false;

	pthread_mutex_lock(&mon->lock);
	pending = want == WANT_ANY ? atomic_load(&mon->gen) != mh->seen_gen :
		atomic_load(&mon->down_gen) != mh->seen_down_gen;
	if (!pending)
		mh->want = want;
	pthread_mutex_unlock(&mon->lock);
	if (pending)
	{
		rr_monitor_sync(rr);
		return false;
	}

	/* a local down that ends may make a node routable again */
	for (i = 0; mh->nlocal > 0 && i < rr->nnodes; i++)
		if (mh->down_until[i] != 0 && mh->down_until[i] < wake_at)
			wake_at = mh->down_until[i];
	if (fd >= 0)
	{
		pfd[nfds].fd = fd;
		pfd[nfds].events = events;
		pfd[nfds].revents = 0;
		nfds++;
	}
	pfd[nfds].fd = mh->wake[0];
	pfd[nfds].events = POLLIN;
	pfd[nfds].revents = 0;
	nfds++;
	rc = poll(pfd, (nfds_t) nfds, timeout_until(wake_at, rr_now_us()));
	if (rc > 0)
	{
		ready = (fd >= 0 && pfd[0].revents != 0);
		if (pfd[nfds - 1].revents != 0)
			drain(mh->wake[0]);
	}
	/* rc < 0 is EINTR (a signal) or a transient failure: the caller looks again */

	pthread_mutex_lock(&mon->lock);
	mh->want = 0;
	pthread_mutex_unlock(&mon->lock);
	if (want == WANT_ANY || mh->nlocal > 0 ||
		atomic_load(&mon->down_gen) != mh->seen_down_gen)
		rr_monitor_sync(rr);
	return ready;
}

/* RRrefresh on a monitor's handle: the monitor asks every node now. */
void
rr_monitor_ask_all(RRcluster *rr)
{
	RRmonitor  *mon = rr->mh->mon;

	pthread_mutex_lock(&mon->lock);
	mon->ask_all++;
	pthread_mutex_unlock(&mon->lock);
	wake(mon->wake[1]);
}

/* The monitor reconnects a down node now; a local down of it ends. */
void
rr_monitor_expedite(RRcluster *rr, rr_node *node)
{
	rr_mon_handle *mh = rr->mh;
	RRmonitor  *mon = mh->mon;

	if (mh->down_until[node->index] != 0)
		mh->down_until[node->index] = rr_now_us();
	pthread_mutex_lock(&mon->lock);
	mon->expedite[node->index] = true;
	pthread_mutex_unlock(&mon->lock);
	wake(mon->wake[1]);
}

/*
 * rr_monitor_node_down
 *		rr_node_down for a monitor's handle: the node is down in this
 *		handle's view for a back-off (see the file header); its statement
 *		connection goes, as with rr_node_down.
 */
void
rr_monitor_node_down(RRcluster *rr, rr_node *node, const char *why)
{
	rr_mon_handle *mh = rr->mh;
	int			i = node->index;
	int64_t		now = rr_now_us();
	int			delay;

	rr_node_forget(node, why);

	if (mh->retry_ms[i] == 0 || (mh->down_until[i] == 0 && now - mh->down_end[i] > LOCAL_CALM_US))
		mh->retry_ms[i] = RR_RETRY_MIN_MS;
	if (node->refused)
		delay = RR_RETRY_FAST_MS;
	else
	{
		delay = mh->retry_ms[i];
		mh->retry_ms[i] = mh->retry_ms[i] * 2 > RR_RETRY_MAX_MS ?
			RR_RETRY_MAX_MS : mh->retry_ms[i] * 2;
	}
	if (mh->down_until[i] == 0)
		mh->nlocal++;
	mh->down_until[i] = now + (int64_t) delay * 1000;
}

/*
 * rr_monitor_detach
 *		RRfinish of a monitor's handle: let go of the monitor, which ends
 *		if this was its last reference.
 */
void
rr_monitor_detach(RRcluster *rr)
{
	rr_mon_handle *mh = rr->mh;
	RRmonitor  *mon = mh->mon;
	bool		last;

	pthread_mutex_lock(&mon->lock);
	if (mh->prev)
		mh->prev->next = mh->next;
	else
		mon->handles = mh->next;
	if (mh->next)
		mh->next->prev = mh->prev;
	mon->nhandles--;
	last = mon->finished && mon->nhandles == 0;
	pthread_mutex_unlock(&mon->lock);

	close_pipe(mh->wake);
	free(mh->stage);
	free(mh->down_until);
	free(mh->down_end);
	free(mh->retry_ms);
	free(mh);
	rr->mh = NULL;
	if (last)
		monitor_destroy(mon);
}
