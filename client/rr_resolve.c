/*-------------------------------------------------------------------------
 *
 * rr_resolve.c
 *		Host names resolved off the caller's path: each lookup runs
 *		getaddrinfo() in a short-lived thread of its own and signals its end
 *		on a socket the health loop polls, so a slow or hung resolver delays
 *		only the node being looked up, never a call.
 *
 * A node given by name (not an address, not a socket directory, no
 * hostaddr) is looked up again on every reconnect attempt; its
 * connections then get hostaddr=<address> beside host=<name> (libpq
 * connects to the address and still uses the name for TLS and the
 * password file).  With several addresses, successive attempts take them
 * in turn.
 *
 * Ownership: a lookup has two owners, the handle and the thread; whoever
 * lets go last frees it, under the lookup's own mutex.  A handle that
 * finishes while a lookup is still running simply lets go of it.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE				/* MSG_NOSIGNAL, socketpair flags */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rr_int.h"

struct rr_lookup
{
	pthread_mutex_t mutex;
	int			owners;			/* 2 while both the handle and the thread hold it */
	bool		done;
	int			sock[2];		/* [0]: polled by the handle; [1]: written when done */
	char	   *host;
	char	   *port;
	int			naddrs;
	char		addrs[RR_MAX_ADDRS][RR_ADDR_LEN];
	char		error[256];
};

static void
lookup_free(rr_lookup *lk)
{
	close(lk->sock[0]);
	close(lk->sock[1]);
	pthread_mutex_destroy(&lk->mutex);
	free(lk->host);
	free(lk->port);
	free(lk);
}

/* Drop one owner's hold; the last one frees. */
static void
let_go(rr_lookup *lk)
{
	bool		last;

	pthread_mutex_lock(&lk->mutex);
	last = (--lk->owners == 0);
	pthread_mutex_unlock(&lk->mutex);
	if (last)
		lookup_free(lk);
}

static void *
lookup_thread(void *arg)
{
	rr_lookup  *lk = (rr_lookup *) arg;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char		addrs[RR_MAX_ADDRS][RR_ADDR_LEN];
	char		error[256] = "";
	int			n = 0;
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(lk->host, lk->port, &hints, &res);
	if (rc != 0)
		snprintf(error, sizeof(error), "could not translate host name \"%s\" to address: %s",
				 lk->host, gai_strerror(rc));
	for (ai = res; ai != NULL && n < RR_MAX_ADDRS; ai = ai->ai_next)
	{
		const void *a = ai->ai_family == AF_INET ?
			(const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr :
			ai->ai_family == AF_INET6 ?
			(const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr : NULL;

		if (a != NULL && inet_ntop(ai->ai_family, a, addrs[n], RR_ADDR_LEN) != NULL)
			n++;
	}
	if (res)
		freeaddrinfo(res);

	pthread_mutex_lock(&lk->mutex);
	memcpy(lk->addrs, addrs, sizeof(addrs));
	lk->naddrs = n;
	snprintf(lk->error, sizeof(lk->error), "%s", error);
	lk->done = true;
	/* under the mutex, so the handle cannot close the socket meanwhile */
	(void) send(lk->sock[1], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	pthread_mutex_unlock(&lk->mutex);
	let_go(lk);
	return NULL;
}

/*
 * rr_lookup_start
 *		Start resolving host (port as the service).  Returns the lookup, or
 *		NULL with a reason in errbuf (out of memory, no thread).
 */
rr_lookup *
rr_lookup_start(const char *host, const char *port, char *errbuf, size_t errlen)
{
	rr_lookup  *lk = calloc(1, sizeof(rr_lookup));
	pthread_t	tid;
	pthread_attr_t attr;
	int			rc;

	if (lk == NULL)
	{
		rr_format(errbuf, errlen, "out of memory");
		return NULL;
	}
	lk->host = strdup(host);
	lk->port = strdup(port);
	if (lk->host == NULL || lk->port == NULL ||
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, lk->sock) != 0)
	{
		rr_format(errbuf, errlen, "could not start a host name lookup: %s", strerror(errno));
		free(lk->host);
		free(lk->port);
		free(lk);
		return NULL;
	}
	pthread_mutex_init(&lk->mutex, NULL);
	lk->owners = 2;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, lookup_thread, lk);
	pthread_attr_destroy(&attr);
	if (rc != 0)
	{
		rr_format(errbuf, errlen, "could not start a host name lookup: %s", strerror(rc));
		lookup_free(lk);
		return NULL;
	}
	return lk;
}

/* The socket that becomes readable when the lookup is done. */
int
rr_lookup_fd(const rr_lookup *lk)
{
	return lk->sock[0];
}

/*
 * rr_lookup_result
 *		If the lookup is done, copy its addresses (naddrs of them, the
 *		error text if none) and return true; false while it runs.
 */
bool
rr_lookup_result(rr_lookup *lk, char addrs[][RR_ADDR_LEN], int *naddrs,
				 char *errbuf, size_t errlen)
{
	bool		done;

	pthread_mutex_lock(&lk->mutex);
	done = lk->done;
	if (done)
	{
		memcpy(addrs, lk->addrs, sizeof(lk->addrs));
		*naddrs = lk->naddrs;
		rr_format(errbuf, errlen, "%s", lk->error[0] ? lk->error :
				  "the host name has no address");
	}
	pthread_mutex_unlock(&lk->mutex);
	return done;
}

/* The handle lets go of a lookup (done or not).  NULL is a no-op. */
void
rr_lookup_release(rr_lookup *lk)
{
	if (lk != NULL)
		let_go(lk);
}

/*
 * rr_host_needs_lookup
 *		True if host is a name to resolve: not empty, not a socket
 *		directory, not a numeric address.
 */
bool
rr_host_needs_lookup(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (host == NULL || host[0] == '\0' || host[0] == '/' || host[0] == '@')
		return false;
	return inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}
