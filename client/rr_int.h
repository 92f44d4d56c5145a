/*-------------------------------------------------------------------------
 *
 * rr_int.h
 *		Internal declarations of libreplroute.  Not installed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RR_INT_H
#define RR_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "replroute.h"

#define RR_ERRBUF_SIZE		1024
#define RR_LSN_HISTORY		256		/* primary WAL position samples kept */
#define RR_DEFAULT_CONNECT_TIMEOUT_MS	5000
#define RR_RETRY_MIN_MS		250		/* first reconnect delay for a down node */
#define RR_RETRY_MAX_MS		2000	/* back-off cap */
#define RR_INVALID_LSN		((uint64_t) 0)

#ifndef RR_PRINTF
#define RR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* ---- options (rr_options.c) ---- */

typedef enum
{
	RR_POLICY_ROUND_ROBIN,
	RR_POLICY_RANDOM,
	RR_POLICY_LEAST_LAG
} rr_policy;

typedef enum
{
	RR_FALLBACK_PRIMARY,
	RR_FALLBACK_ERROR
} rr_fallback;

typedef enum
{
	RR_CONSISTENCY_NONE,
	RR_CONSISTENCY_SESSION
} rr_consistency;

typedef struct rr_options
{
	int64_t		max_lag_bytes;
	double		max_lag_seconds;
	int64_t		check_interval_us;
	rr_policy	policy;
	rr_fallback fallback;
	rr_consistency consistency;
	int64_t		causal_wait_us;
} rr_options;

extern void rr_options_init(rr_options *opts);
extern int	rr_options_parse(rr_options *opts, const char *str,
							 char *errbuf, size_t errlen);

/* ---- conninfo (rr_conninfo.c) ---- */

/* One node's connection parameters, ready for PQconnectStartParams. */
typedef struct rr_node_params
{
	char	   *host;			/* as given (name, address or socket dir) */
	char	   *port;
	const char **keywords;		/* NULL-terminated */
	const char **values;
	int			connect_timeout_ms;
} rr_node_params;

typedef struct rr_conninfo
{
	int			nnodes;
	rr_node_params *nodes;
	char	  **strings;		/* every string owned, for freeing */
	int			nstrings;
} rr_conninfo;

extern rr_conninfo *rr_conninfo_parse(const char *conninfo,
									  char *errbuf, size_t errlen);
extern void rr_conninfo_free(rr_conninfo *ci);

/* ---- utilities (rr_util.c) ---- */

extern int64_t rr_now_us(void);
extern int	rr_parse_lsn(const char *s, uint64_t *lsn);
extern void rr_format_lsn(uint64_t lsn, char *buf, size_t len);
extern void rr_set_error(RRcluster *rr, const char *fmt,...) RR_PRINTF(2, 3);
extern void rr_append_error(RRcluster *rr, const char *fmt,...) RR_PRINTF(2, 3);
extern void rr_vformat(char *buf, size_t len, const char *fmt, va_list ap);
extern void rr_format(char *buf, size_t len, const char *fmt,...) RR_PRINTF(3, 4);
extern const char *rr_trim(const char *msg, char *buf, size_t len);
extern uint64_t rr_random(uint64_t *state);

/* ---- one node ---- */

typedef enum
{
	RR_PROBE_DOWN,				/* no health connection; retry at retry_at */
	RR_PROBE_CONNECTING,		/* PQconnectPoll in progress */
	RR_PROBE_IDLE,				/* connected, no query in flight */
	RR_PROBE_QUERYING			/* health query sent, answer awaited */
} rr_probe_state;

/* What the last answer of replroute.node_status() said. */
typedef struct rr_health
{
	RRrole		role;
	uint64_t	system_identifier;
	int			timeline;
	uint64_t	wal_lsn;
	int64_t		own_lag_bytes;
	double		own_lag_seconds;	/* < 0 if NULL */
	bool		streaming;
	bool		replay_paused;
} rr_health;

typedef struct rr_node
{
	int			index;
	rr_node_params *params;		/* points into the handle's rr_conninfo */

	/* health probing (rr_health.c) */
	PGconn	   *probe;
	rr_probe_state probe_state;
	bool		poll_write;		/* wait for writability, not readability */
	int64_t		probe_deadline_us;	/* connect or answer deadline */
	int64_t		retry_at_us;
	int			retry_delay_ms;
	uint64_t	sent_round;		/* round of the query in flight */
	uint64_t	answered_round; /* round of the last good answer */
	bool		ever_answered;
	int64_t		answered_at_us;
	bool		have_health;
	rr_health	health;
	bool		excluded;		/* answered, but unusable (error says why) */
	bool		answer_failed;	/* the answer in flight already gave an error */
	char		error[RR_ERRBUF_SIZE];

	/* routing view, recomputed after each refresh (rr_route.c) */
	int64_t		lag_bytes;		/* -1 unknown */
	double		lag_seconds;	/* -1 unknown */
	bool		routable;
	bool		foreign;		/* system identifier of another cluster */
	bool		stale_primary;	/* claims primary on an older timeline */
	char		reason[256];	/* why not routable for reads, or "" */

	/* known replay position: health answers and successful waits */
	uint64_t	replayed_lsn;

	/* statements (rr_exec.c) */
	PGconn	   *conn;			/* opened on first use */
	int64_t		reads;
	int64_t		writes;
	char		lsn_text[32];	/* for RRnodeWalLsn */
	char		shown_host[256];	/* libpq's default host, once known */
} rr_node;

/* ---- the handle ---- */

struct RRcluster
{
	RRstatusType status;
	char		errmsg[RR_ERRBUF_SIZE];
	char		bad_reason[RR_ERRBUF_SIZE];	/* why RRconnect gave RR_BAD */
	rr_options	opts;
	rr_conninfo *ci;
	int			nnodes;
	rr_node    *nodes;

	/* health rounds */
	uint64_t	round;			/* number of the latest refresh round */
	int64_t		round_started_us;
	bool		refreshed;		/* at least one round done */

	/* cluster identity and split-brain protection */
	bool		sysid_locked;	/* agreed by a majority of the list */
	bool		have_sysid;
	uint64_t	sysid;
	int			max_timeline;	/* highest timeline any node reported */
	int			primary;		/* node index, or -1 */

	/* primary WAL positions over time, for lag in seconds (rr_lag.c) */
	struct
	{
		int64_t		at_us;
		uint64_t	lsn;
	}			history[RR_LSN_HISTORY];
	int			history_len;
	int			history_start;
	int			history_primary;	/* node the samples came from */
	int64_t		history_seen_us;	/* last time the primary was observed */
	int			history_timeline;

	/* routing */
	uint64_t	rr_counter;
	uint64_t	rng;
	int			last_node;

	/* session consistency (rr_session.c) */
	uint64_t	session_lsn;
	char		token_text[32];
};

/* rr_health.c */
extern int	rr_refresh(RRcluster *rr, bool initial);
extern void rr_refresh_if_stale(RRcluster *rr);
extern void rr_node_down(RRcluster *rr, rr_node *node, const char *why);
extern void rr_probe_close(rr_node *node);

/* rr_lag.c */
extern void rr_lag_record_primary(RRcluster *rr, int primary, int timeline,
								  uint64_t lsn, int64_t at_us);
extern double rr_lag_seconds_behind(const RRcluster *rr, uint64_t replayed,
									int64_t now_us, bool *exact);
extern void rr_lag_forget(RRcluster *rr);

/* rr_route.c */
extern void rr_route_update(RRcluster *rr);
extern rr_node *rr_route_read(RRcluster *rr, const rr_node *avoid,
							  uint64_t min_lsn, bool *needs_wait);
extern rr_node *rr_route_write(RRcluster *rr);

/* rr_exec.c */
extern PGconn *rr_node_conn(RRcluster *rr, rr_node *node);
extern void rr_node_conn_close(rr_node *node);

/* rr_session.c */
extern int	rr_session_write(RRcluster *rr, rr_node *node, const char *sql,
							 int nParams, const char *const *paramValues,
							 PGresult **result);
extern PGresult *rr_session_read(RRcluster *rr, rr_node *node, const char *sql,
								 int nParams, const char *const *paramValues,
								 bool *ok);

#endif							/* RR_INT_H */
