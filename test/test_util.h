/*-------------------------------------------------------------------------
 *
 * test_util.h
 *		Small helpers the TAP tests' drivers share (rr_test, monitor_test):
 *		a monotonic clock in microseconds, a sleep, and the health queries a
 *		handle or a monitor has sent over all its nodes.  (rr_bench keeps
 *		its own clock: it times in fractions of a microsecond.)
 *
 * Copyright (c) 2026, The replroute Developers (see LICENSE)
 *
 * IDENTIFICATION
 *		test/test_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef RR_TEST_UTIL_H
#define RR_TEST_UTIL_H

#include <stdint.h>
#include <time.h>

#include "replroute.h"

static inline int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void
sleep_us(long us)
{
	struct timespec ts;

	if (us <= 0)
		return;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

/* health queries sent to all of a handle's nodes */
static inline int64_t
handle_health_queries(const RRcluster *rr)
{
	int64_t		sum = 0;
	int			i;

	for (i = 0; i < RRnodeCount(rr); i++)
		sum += RRnodeHealthQueries(rr, i);
	return sum;
}

/* health queries a monitor has sent to all its nodes */
static inline int64_t
monitor_health_queries(const RRmonitor *mon)
{
	int64_t		sum = 0;
	int			i;

	for (i = 0; i < RRmonitorNodeCount(mon); i++)
		sum += RRmonitorHealthQueries(mon, i);
	return sum;
}

#endif							/* RR_TEST_UTIL_H */
