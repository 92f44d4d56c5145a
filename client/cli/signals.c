/*-------------------------------------------------------------------------
 *
 * signals.c
 *		SIGINT, SIGTERM and SIGHUP end the tool at once, also while a
 *		statement runs inside the library: exit code 128 + the signal's
 *		number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
 *
 * A flag alone would do nothing while a statement runs: libpq retries its
 * waits on EINTR.  So the handler ends the process itself with _exit().
 * Before that, if a statement is running, it asks the server to cancel it
 * (otherwise the backend would go on until the statement ends, holding
 * its locks and snapshot): RRcancel is async-signal-safe like PQcancel,
 * but like PQcancel it waits for the server's answer, which never comes
 * from a frozen server.  So the request is made by a child process
 * (_Fork, async-signal-safe) under an alarm, and the parent exits at once
 * without waiting for it.  The child closes every inherited descriptor
 * first, so that a reader of our stdout or stderr sees the end at once.
 *
 * status --watch is the exception: it runs until interrupted, so there a
 * signal stops it with exit code 0 (during the sleep between two pictures
 * the loop ends normally; during a picture the process ends at once, the
 * pictures before it having been flushed).
 *
 * Everything the handler touches is a volatile sig_atomic_t or a pointer
 * written only outside it; it calls only async-signal-safe functions.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* _Fork */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* seconds the cancelling child may wait for the server before it is killed */
#define CANCEL_ALARM_SECONDS	5
/* descriptors the child closes (the tool opens a handful per node) */
#define CANCEL_CLOSE_FDS		1024

static RRcluster *volatile sig_handle = NULL;	/* whose statement to cancel */
static volatile sig_atomic_t sig_in_statement = 0;
static volatile sig_atomic_t sig_watch = 0;
static volatile sig_atomic_t sig_sleeping = 0;
static volatile sig_atomic_t sig_stop = 0;

/*
 * cancel_in_child
 *		Ask the server to cancel the running statement, from a child process
 *		that the parent does not wait for.  Async-signal-safe.
 */
static void
cancel_in_child(RRcluster *rr)
{
	pid_t		pid;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	pid = _Fork();				/* no atfork handlers: async-signal-safe */
#else
	pid = fork();
#endif
	if (pid == 0)
	{
		char		errbuf[256];
		int			fd;

		/* SIGINT, SIGTERM and SIGHUP stay blocked (the handler's mask) */
		for (fd = 0; fd < CANCEL_CLOSE_FDS; fd++)
			(void) close(fd);
		alarm(CANCEL_ALARM_SECONDS);
		(void) RRcancel(rr, errbuf, (int) sizeof(errbuf));
		_exit(0);
	}
	/* the parent goes on at once (a failed fork: no cancel, still exit) */
}

/* The handler of SIGINT, SIGTERM and SIGHUP. */
static void
handle_signal(int signo)
{
	int			saved_errno = errno;
	int			code = 128 + signo;

	if (sig_watch)
	{
		sig_stop = 1;
		if (sig_sleeping)
		{
			errno = saved_errno;
			return;				/* the sleep ends early; the loop stops */
		}
		code = CLI_EXIT_OK;
	}
	if (sig_handle != NULL && sig_in_statement)
		cancel_in_child(sig_handle);
	_exit(code);
}

/*
 * cli_signals_init
 *		Install the handlers.  SIGPIPE is ignored: a reader that goes away
 *		("replroute status --watch | head") makes writes fail with EPIPE,
 *		which is handled (libpq never raises SIGPIPE on its sockets either).
 */
void
cli_signals_init(void)
{
	struct sigaction sa;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sa.sa_flags = 0;			/* no SA_RESTART: a signal interrupts the sleep */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/*
 * cli_signals_set_handle
 *		The handle whose running statement a signal cancels (NULL: none).
 *		Set to NULL before the handle is released.
 */
void
cli_signals_set_handle(RRcluster *rr)
{
	sig_handle = rr;
}

/* Around a call that runs a statement (RRexec): a signal cancels it. */
void
cli_signals_statement(bool running)
{
	sig_in_statement = running ? 1 : 0;
}

/* status --watch: a signal stops the watch with exit code 0. */
void
cli_signals_watch(bool on)
{
	sig_watch = on ? 1 : 0;
}

/* Has a signal asked --watch to stop? */
bool
cli_signals_stop_requested(void)
{
	return sig_stop != 0;
}

/*
 * cli_signals_sleep
 *		Sleep, ending early when a signal asks to stop.  Sleeps in steps of
 *		at most 100 ms, so that a signal arriving just before a step does
 *		not wait for the whole interval.
 */
void
cli_signals_sleep(double seconds)
{
	struct timespec step;
	struct timespec left;
	double		remaining = seconds;

	sig_sleeping = 1;
	while (!sig_stop && remaining > 0)
	{
		double		s = remaining > 0.1 ? 0.1 : remaining;

		step.tv_sec = 0;
		step.tv_nsec = (long) (s * 1e9);
		if (step.tv_nsec >= 1000000000L)
			step.tv_nsec = 999999999L;
		if (nanosleep(&step, &left) != 0 && errno == EINTR)
			remaining -= s - ((double) left.tv_sec + (double) left.tv_nsec / 1e9);
		else
			remaining -= s;
	}
	sig_sleeping = 0;
}
