/*-------------------------------------------------------------------------
 *
 * shared_state.c
 *		The small shared-memory struct in which a standby remembers what
 *		it has learnt about its upstream: the newest real contact, the
 *		smallest message transit time, and the proofs of how far WAL had
 *		reached at given moments (see replroute_ext.h).
 *
 * Core keeps only the WAL receiver's latest message, and overwrites its
 * times whenever a new receiver process starts; what we learn must survive
 * both, so it lives here.
 *
 * Where the struct lives, by the supported mechanism for each case:
 * - replroute in shared_preload_libraries: reserved at server start by
 *	 shmem_request_hook and created by shmem_startup_hook;
 * - otherwise, PostgreSQL 17 and later: the DSM registry;
 * - otherwise (15, 16): the main segment's spare space, the first time a
 *	 backend needs it (ShmemInitStruct under AddinShmemInitLock).  If that
 *	 space is exhausted the ERROR propagates as raised: nothing here catches
 *	 an error, so no lock or interrupt holdoff can be left behind.
 * The name carries the layout's version, so a newer replroute library
 * installed without a restart creates its own struct next to the old one
 * instead of misreading it.
 *
 * Access: one spinlock; readers copy the whole struct under it, writers
 * copy a modified struct back under it if nobody wrote in between.
 *
 * IDENTIFICATION
 *		extension/shared_state.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#if PG_VERSION_NUM >= 170000
#include "storage/dsm_registry.h"
#endif

#include "replroute_ext.h"

#define RR_SHARED_NAME	"replroute shared state v2"

typedef struct RRSharedState
{
	slock_t		mutex;
	RRSharedData d;
} RRSharedState;

/* Per-process pointer into shared memory; set once, never freed. */
static RRSharedState *rr_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * init_state
 *		Initialize a freshly allocated struct.
 */
static void
init_state(void *ptr)
{
	RRSharedState *s = (RRSharedState *) ptr;

	SpinLockInit(&s->mutex);
	memset(&s->d, 0, sizeof(s->d));
}

#if PG_VERSION_NUM >= 190000
/* PostgreSQL 19's DSM registry passes an argument to the callback */
static void
init_state_arg(void *ptr, void *arg)
{
	init_state(ptr);
}
#endif

/*
 * shmem_request
 *		shmem_request_hook: reserve room for the struct (preloaded only).
 */
static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RRSharedState)));
}

/*
 * shmem_startup
 *		shmem_startup_hook: create the struct at server start (preloaded
 *		only).
 */
static void
shmem_startup(void)
{
	bool		found;
	RRSharedState *s;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	s = ShmemInitStruct(RR_SHARED_NAME, sizeof(RRSharedState), &found);
	if (!found)
		init_state(s);
	LWLockRelease(AddinShmemInitLock);
	rr_shared = s;
}

/*
 * rr_shared_request
 *		Install the hooks that create the struct at server start.  Called
 *		from _PG_init while shared_preload_libraries is being processed.
 */
void
rr_shared_request(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

/*
 * attach
 *		Find (or create) the struct.  Raises an ERROR if it cannot exist
 *		(spare shared memory exhausted on PostgreSQL 15 and 16 without
 *		preloading).  The caller must hold no LWLock.
 */
static RRSharedState *
attach(void)
{
	bool		found;
	RRSharedState *s;

	if (rr_shared != NULL)
		return rr_shared;

#if PG_VERSION_NUM >= 170000
	if (!rr_preloaded)
	{
#if PG_VERSION_NUM >= 190000
		rr_shared = GetNamedDSMSegment(RR_SHARED_NAME, sizeof(RRSharedState),
									   init_state_arg, &found, NULL);
#else
		rr_shared = GetNamedDSMSegment(RR_SHARED_NAME, sizeof(RRSharedState),
									   init_state, &found);
#endif
		return rr_shared;
	}
#endif

	/*
	 * Preloaded: the struct exists and this only looks it up.  Not
	 * preloaded (before 17): it is carved out of the spare space the first
	 * time; ShmemInitStruct releases its own lock before raising, and the
	 * abort of our transaction releases AddinShmemInitLock.
	 */
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	s = ShmemInitStruct(RR_SHARED_NAME, sizeof(RRSharedState), &found);
	if (!found)
		init_state(s);
	LWLockRelease(AddinShmemInitLock);
	rr_shared = s;
	return s;
}

/*
 * rr_shared_read
 *		Copy the shared data into *out.
 */
void
rr_shared_read(RRSharedData *out)
{
	RRSharedState *s = attach();

	SpinLockAcquire(&s->mutex);
	memcpy(out, &s->d, sizeof(*out));
	SpinLockRelease(&s->mutex);
}

/*
 * rr_shared_write
 *		Store *in, a modified copy of what rr_shared_read returned, unless
 *		another process stored something in between (then nothing is
 *		stored: what we learnt is learnt again on the next call, and losing
 *		a proof only makes later figures larger, never smaller).
 */
void
rr_shared_write(const RRSharedData *in)
{
	RRSharedState *s = attach();

	SpinLockAcquire(&s->mutex);
	if (s->d.version == in->version)
	{
		memcpy(&s->d, in, sizeof(s->d));
		s->d.version++;
	}
	SpinLockRelease(&s->mutex);
}

/*
 * thin_one
 *		Drop the proof whose removal loses the least precision relative to
 *		its age.  The oldest and the newest proofs are always kept.
 *
 * Removing proof i makes replay positions in [end(i), end(i+1)) fall back
 * to proof i-1, which overstates their lag by at(i) - at(i-1); that cost is
 * weighed against how old the proof already is.
 */
static void
thin_one(RRProofRing *ring, TimestampTz now)
{
	int			best = 1;
	double		best_cost = -1.0;
	int			i;

	for (i = 1; i < ring->n - 1; i++)
	{
		double		loss = (double) (ring->p[i].at - ring->p[i - 1].at);
		double		age = (double) (now - ring->p[i].at) + 1000.0;
		double		cost = loss / age;

		if (best_cost < 0 || cost < best_cost)
		{
			best = i;
			best_cost = cost;
		}
	}
	memmove(&ring->p[best], &ring->p[best + 1],
			sizeof(RRProof) * (ring->n - best - 1));
	ring->n--;
}

/*
 * rr_proof_add
 *		Record in *ring (part of a local copy) that position "end" had not
 *		been passed at time "at".  Returns true if the ring changed.
 */
bool
rr_proof_add(RRProofRing *ring, TimestampTz at, XLogRecPtr end)
{
	if (ring->n > 0)
	{
		RRProof    *last = &ring->p[ring->n - 1];

		if (at <= last->at)
			return false;		/* nothing newer */
		if (end < last->end)
		{
			/*
			 * The position went backwards: another upstream, or one
			 * restored from an older state.  Earlier proofs described
			 * someone else; keep only this one.
			 */
			ring->n = 0;
		}
		else if (end == last->end)
		{
			last->at = at;
			return true;
		}
	}
	if (ring->n == RR_PROOF_SLOTS)
		thin_one(ring, at);
	ring->p[ring->n].at = at;
	ring->p[ring->n].end = end;
	ring->n++;
	return true;
}

/*
 * rr_proof_before
 *		The latest moment at which "replayed" had not been passed according
 *		to *ring, or 0 if no proof says so.
 */
TimestampTz
rr_proof_before(const RRProofRing *ring, XLogRecPtr replayed)
{
	int			lo = 0,
				hi = ring->n;

	/* first proof whose end is beyond replayed */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ring->p[mid].end > replayed)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo > 0 ? ring->p[lo - 1].at : 0;
}
