/*-------------------------------------------------------------------------
 *
 * slowdns.c
 *		LD_PRELOAD shim for test/t/087_dns.pl: getaddrinfo() of a name
 *		ending in ".slow.test" takes RR_SLOWDNS_MS (default 3000) and then
 *		answers 127.0.0.1, as a slow resolver would; every other name goes
 *		to the real getaddrinfo().  Test code only.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*gai_fn) (const char *, const char *, const struct addrinfo *,
					   struct addrinfo **);

int			getaddrinfo(const char *node, const char *service,
						const struct addrinfo *hints, struct addrinfo **res);

int
getaddrinfo(const char *node, const char *service,
			const struct addrinfo *hints, struct addrinfo **res)
{
	gai_fn		real = (gai_fn) dlsym(RTLD_NEXT, "getaddrinfo");
	size_t		len = node ? strlen(node) : 0;

	if (len > 10 && strcmp(node + len - 10, ".slow.test") == 0)
	{
		const char *ms = getenv("RR_SLOWDNS_MS");
		long		wait = ms ? atol(ms) : 3000;
		struct timespec ts = {wait / 1000, (wait % 1000) * 1000000};

		nanosleep(&ts, NULL);
		return real("127.0.0.1", service, hints, res);
	}
	return real(node, service, hints, res);
}
