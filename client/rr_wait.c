/*-------------------------------------------------------------------------
 *
 * rr_wait.c
 *		Waiting, the one way the library waits: poll() on at most one
 *		statement or connection socket together with every probe socket, so
 *		that health probing goes on (questions every check_interval,
 *		node_timeout, reconnects) for as long as a call waits.
 *
 * Every wait has a deadline, and a wait for a node's socket also ends when
 * that node is declared down: no call waits on a node that stopped
 * answering for longer than node_timeout plus check_interval.
 *
 * A handle of a monitor has no probe sockets: it waits on its socket and
 * on the wake-up the monitor's thread sends when a node goes down (or, for
 * a wait on health alone, when any fact changes), rr_monitor_wait.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <poll.h>

#include "rr_int.h"

/*
 * wait_once
 *		One poll(): on fd for events (fd < 0: none) and the probe sockets,
 *		until something is ready, a probe timer is due or deadline_us
 *		passes; then advance the probes and run their timers.  Returns true
 *		if fd was found ready.
 */
static bool
wait_once(RRcluster *rr, int fd, short events, int64_t deadline_us)
{
	int64_t		now;
	int64_t		wake;
	int			first = (fd >= 0) ? 1 : 0;
	int			n;
	int			timeout_ms;
	int			rc;
	bool		ready = false;

	if (rr->mh != NULL)
		return rr_monitor_wait(rr, fd, events, deadline_us);
	now = rr_now_us();
	wake = rr_health_next_wake(rr, now);
	if (deadline_us < wake)
		wake = deadline_us;
	if (wake <= now)
		timeout_ms = 0;
	else if ((wake - now + 999) / 1000 > INT_MAX)
		timeout_ms = INT_MAX;
	else
		timeout_ms = (int) ((wake - now + 999) / 1000);

	if (fd >= 0)
	{
		rr->pfds[0].fd = fd;
		rr->pfds[0].events = events;
		rr->pfds[0].revents = 0;
	}
	n = rr_health_pollfds(rr, rr->pfds + first, rr->pfd_node + first);
	rc = poll(rr->pfds, (nfds_t) (n + first), timeout_ms);
	if (rc > 0)
	{
		ready = (fd >= 0 && rr->pfds[0].revents != 0);
		rr_health_after_poll(rr, rr->pfds + first, rr->pfd_node + first, n);
	}
	/* rc < 0 is EINTR (a signal) or a transient failure: look again */
	rr_health_timers(rr, rr_now_us());
	return ready;
}

/*
 * rr_wait_socket
 *		Wait until fd is ready for events, the deadline passes, or (if
 *		watch is not NULL) that node goes down.  Readiness wins over the
 *		other two when both happen at once.
 */
rr_wait_result
rr_wait_socket(RRcluster *rr, int fd, short events, int64_t deadline_us,
			   const rr_node *watch)
{
	for (;;)
	{
		if (wait_once(rr, fd, events, deadline_us))
			return RR_WAIT_READY;
		if (watch != NULL && watch->probe_state == RR_PROBE_DOWN)
			return RR_WAIT_NODE_DOWN;
		if (rr_now_us() >= deadline_us)
			return RR_WAIT_TIMEOUT;
	}
}

/*
 * rr_wait_health
 *		Let the probes work until done(rr, arg) is true or the deadline
 *		passes.  done is checked first, so a wait that is not needed costs
 *		nothing.
 */
void
rr_wait_health(RRcluster *rr, int64_t deadline_us, rr_wait_done_fn done,
			   void *arg)
{
	while (!done(rr, arg) && rr_now_us() < deadline_us)
		(void) wait_once(rr, -1, 0, deadline_us);
}
