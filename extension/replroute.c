/*-------------------------------------------------------------------------
 *
 * replroute.c
 *		Module entry point and the replroute.* settings.
 *
 * IDENTIFICATION
 *		extension/replroute.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "replroute_ext.h"

PG_MODULE_MAGIC;

/* replroute.max_lag_bytes: default limit for is_routable(), in bytes */
int			rr_max_lag_bytes = 16 * 1024 * 1024;

/* replroute.max_lag_seconds: default limit for is_routable(), in seconds */
double		rr_max_lag_seconds = 1.0;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the settings.  Runs when a backend first calls one of our
 *		functions; a value set earlier (postgresql.conf, SET) is validated
 *		then.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("replroute.max_lag_bytes",
							"Replay lag, in bytes, above which replroute.is_routable() reports a standby as not routable.",
							"Used when is_routable() is called with a NULL max_lag_bytes.",
							&rr_max_lag_bytes,
							16 * 1024 * 1024,
							0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomRealVariable("replroute.max_lag_seconds",
							 "Replay lag, in seconds, above which replroute.is_routable() reports a standby as not routable.",
							 "Used when is_routable() is called with a NULL max_lag_seconds.",
							 &rr_max_lag_seconds,
							 1.0,
							 0.0, 1e9,
							 PGC_USERSET,
							 GUC_UNIT_S,
							 NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("replroute");
#else
	EmitWarningsOnPlaceholders("replroute");
#endif
}
