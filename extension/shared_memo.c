/*-------------------------------------------------------------------------
 *
 * shared_memo.c
 *		Two facts remembered across calls, in a tiny shared memory struct:
 *		when this standby last heard from its upstream, and when it was last
 *		seen with everything it had received replayed.
 *
 * Upstream contact: core keeps the receiver's last message time in WalRcv,
 * but overwrites it with the start time of every new receiver process, so
 * once the upstream is gone the value would keep looking fresh.  We keep
 * the newest real contact any caller has observed.
 *
 * Caught up: WAL that is received but not replayed now must have arrived
 * after the last moment anyone saw this standby fully caught up.  Core's
 * own arrival time (the startup process's chunk start) is only updated when
 * the startup process reads fresh WAL, so after an idle spell it can be
 * hours old for the few milliseconds before replay picks up new WAL, or for
 * as long as a paused replay does not read it; the memo bounds that error
 * by how often node_status() is called.
 *
 * replroute is not in shared_preload_libraries, so the struct is carved out
 * of the main segment's spare space the first time it is needed, under
 * AddinShmemInitLock.  That space is meant for small late allocations like
 * this one (16 bytes); if it is ever unavailable we carry on without memory
 * and report only what the current receiver knows.  On PostgreSQL 17 and
 * later the DSM registry would be the documented way to do this.
 *
 * IDENTIFICATION
 *		extension/shared_memo.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "replroute_ext.h"

typedef struct RRSharedState
{
	pg_atomic_uint64 last_upstream_contact; /* TimestampTz, 0 if never */
	pg_atomic_uint64 last_caught_up;	/* TimestampTz, 0 if never */
} RRSharedState;

/* Per-backend pointer into shared memory; set once, never freed. */
static RRSharedState *rr_shared = NULL;
static bool rr_shared_unavailable = false;

/*
 * rr_attach_shared
 *		Find or create the shared struct.  Returns NULL if it cannot exist.
 *
 * The caller must hold no LWLock.  Allocates shared memory once per server
 * lifetime; allocates nothing in backend memory.
 */
static RRSharedState *
rr_attach_shared(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	RRSharedState *volatile result = NULL;

	if (rr_shared != NULL || rr_shared_unavailable)
		return rr_shared;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	PG_TRY();
	{
		bool		found;
		RRSharedState *s;

		s = ShmemInitStruct("replroute", sizeof(RRSharedState), &found);
		if (!found)
		{
			pg_atomic_init_u64(&s->last_upstream_contact, 0);
			pg_atomic_init_u64(&s->last_caught_up, 0);
		}
		result = s;
	}
	PG_CATCH();
	{
		/*
		 * Only ShmemInitStruct's "out of shared memory" can land here; it
		 * releases its own lock before raising.  Degrade instead of failing
		 * a health query.
		 */
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
	}
	PG_END_TRY();
	LWLockRelease(AddinShmemInitLock);

	rr_shared = result;
	rr_shared_unavailable = (result == NULL);
	return rr_shared;
}

/*
 * remember_max
 *		Raise *var to seen (0: leave it) and return the resulting value.
 */
static TimestampTz
remember_max(pg_atomic_uint64 *var, TimestampTz seen)
{
	uint64		cur = pg_atomic_read_u64(var);

	while (seen > 0 && (uint64) seen > cur)
	{
		if (pg_atomic_compare_exchange_u64(var, &cur, (uint64) seen))
			return seen;
		/* cur now holds the competing value; loop re-checks */
	}
	return (TimestampTz) cur;
}

/*
 * rr_memo_upstream_contact
 *		Record "seen" (a real contact time, or 0 for none) and return the
 *		newest contact known, or 0 if none has ever been observed.
 */
TimestampTz
rr_memo_upstream_contact(TimestampTz seen)
{
	RRSharedState *s = rr_attach_shared();

	return s ? remember_max(&s->last_upstream_contact, seen) : seen;
}

/*
 * rr_memo_caught_up
 *		Record "seen" (a time at which everything received was replayed, or
 *		0) and return the latest such time known, or 0.
 */
TimestampTz
rr_memo_caught_up(TimestampTz seen)
{
	RRSharedState *s = rr_attach_shared();

	return s ? remember_max(&s->last_caught_up, seen) : seen;
}
