/*-------------------------------------------------------------------------
 *
 * rr_int.h
 *		Internal declarations of libreplroute.  Not installed.
 *
 * Where things are:
 *	rr_options.c	the options string
 *	rr_conninfo.c	conninfo to one parameter set per node
 *	rr_health.c		the health probes: connections, queries, answers, timers
 *	rr_resolve.c	host name lookups off the caller's path
 *	rr_wait.c		waiting on one socket while the probes go on
 *	rr_lag.c		the primary's WAL positions over time, and every lag figure
 *	rr_decide.c		the routing decision: a pure function of facts, now, options
 *	rr_route.c		choosing the node for a read or a write
 *	rr_exec.c		statements: connections, RRexec, retries, transactions
 *	rr_session.c	read-your-writes tokens
 *	rr_cluster.c	the handle, and node inspection
 *	rr_monitor.c	the shared monitor: one probe stream per node for many
 *					handles, driven by a thread of its own
 *	rr_util.c		time, LSNs, numbers, messages
 *
 *-------------------------------------------------------------------------
 */
#ifndef RR_INT_H
#define RR_INT_H

#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "replroute.h"

#define RR_ERRBUF_SIZE		1024
#define RR_RETRY_MIN_MS		250		/* first reconnect delay for a node that timed out */
#define RR_RETRY_MAX_MS		2000	/* back-off cap */
#define RR_RETRY_FAST_MS	20		/* reconnect delay while connections are refused */
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

typedef enum
{
	RR_PRIMARY_LOST_SERVE,
	RR_PRIMARY_LOST_REFUSE
} rr_primary_lost;

typedef struct rr_options
{
	int64_t		max_lag_bytes;
	double		max_lag_seconds;
	int64_t		check_interval_us;
	rr_policy	policy;
	rr_fallback fallback;
	rr_consistency consistency;
	int64_t		causal_wait_us;
	rr_primary_lost primary_lost;
	int64_t		node_timeout_us;
	int64_t		statement_timeout_us;	/* 0: none */
} rr_options;

extern void rr_options_init(rr_options *opts);
extern int	rr_options_parse(rr_options *opts, const char *str,
							 char *errbuf, size_t errlen);

/* ---- conninfo (rr_conninfo.c) ---- */

/*
 * One node's connection parameters, ready for PQconnectStartParams.  A node
 * given by name has lookup_host set: keywords[addr_slot] is then NULL (the
 * end) except while a connection is being started with a resolved address
 * (rr_resolve.c), when it is "hostaddr"; the slot after it is always NULL.
 */
typedef struct rr_node_params
{
	char	   *host;			/* as given (name, address or socket dir) */
	char	   *port;
	const char **keywords;		/* NULL-terminated */
	const char **values;
	int			connect_timeout_ms; /* -1: not given (node_timeout applies) */
	const char *lookup_host;	/* the name to resolve, or NULL */
	int			addr_slot;
} rr_node_params;

typedef struct rr_conninfo
{
	int			nnodes;
	rr_node_params *nodes;
	char	  **strings;		/* every string owned, for freeing */
	int			nstrings;
} rr_conninfo;

/* keepalives and tcp_user_timeout every node gets unless the conninfo sets them */
#define RR_N_KEEPALIVE_DEFAULTS	5
extern const char *const rr_keepalive_defaults[RR_N_KEEPALIVE_DEFAULTS][2];

extern rr_conninfo *rr_conninfo_parse(const char *conninfo,
									  char *errbuf, size_t errlen);
extern void rr_conninfo_free(rr_conninfo *ci);

/* ---- host name lookups off the caller's path (rr_resolve.c) ---- */

#define RR_MAX_ADDRS		8
#define RR_ADDR_LEN			64

typedef struct rr_lookup rr_lookup;

extern rr_lookup *rr_lookup_start(const char *host, const char *port,
								  char *errbuf, size_t errlen);
extern int	rr_lookup_fd(const rr_lookup *lk);
extern bool rr_lookup_result(rr_lookup *lk, char addrs[][RR_ADDR_LEN], int *naddrs,
							 char *errbuf, size_t errlen);
extern void rr_lookup_release(rr_lookup *lk);
extern bool rr_host_needs_lookup(const char *host);

/* ---- utilities (rr_util.c) ---- */

extern int64_t rr_now_us(void);
extern int	rr_parse_lsn(const char *s, uint64_t *lsn);
extern void rr_format_lsn(uint64_t lsn, char *buf, size_t len);
extern int	rr_parse_int64(const char *s, int64_t *out);
extern int	rr_parse_double(const char *s, double *out);
extern void rr_set_error(RRcluster *rr, const char *fmt,...) RR_PRINTF(2, 3);
extern void rr_append_error(RRcluster *rr, const char *fmt,...) RR_PRINTF(2, 3);
extern void rr_vformat(char *buf, size_t len, const char *fmt, va_list ap);
extern void rr_format(char *buf, size_t len, const char *fmt,...) RR_PRINTF(3, 4);
extern const char *rr_trim(const char *msg, char *buf, size_t len);
extern uint64_t rr_random(uint64_t *state);

/* ---- facts: what the health probes observed (rr_health.c fills them) ---- */

/* One answer of replroute.node_status(). */
typedef struct rr_health
{
	RRrole		role;
	uint64_t	system_identifier;
	int			timeline;
	uint64_t	wal_lsn;
	uint64_t	receive_lsn;	/* RR_INVALID_LSN if NULL */
	uint64_t	upstream_lsn;	/* RR_INVALID_LSN if NULL */
	int64_t		own_lag_bytes;
	double		own_lag_seconds;	/* < 0 if NULL */
	bool		streaming;
	bool		replay_paused;
} rr_health;

/* State of a node's health connection, as the decision sees it. */
typedef enum
{
	RR_LINK_DOWN,				/* no connection: failed, retried with back-off */
	RR_LINK_CONNECTING,			/* connecting (first time, or again) */
	RR_LINK_UP					/* connected */
} rr_link;

/* What the decision knows about one node, each fact with its moment. */
typedef struct rr_fact
{
	rr_link		link;
	bool		answered;		/* h holds this connection's newest good answer */
	int64_t		asked_us;		/* when the query that produced h was sent */
	int64_t		answered_us;	/* when its answer arrived */
	rr_health	h;
	RRreason	failure;		/* why the newest answer was unusable, or OK */
	uint64_t	replayed_lsn;	/* known replay position (answers, waits) */
} rr_fact;

/*
 * The primary's WAL positions over time (rr_lag.c).  Each sample is a
 * distinct position, with the first moment an answer showing it arrived
 * and the latest moment a query that found it was sent.
 */
#define RR_HISTORY_SLOTS	256

typedef struct rr_sample
{
	uint64_t	lsn;
	int64_t		first_seen_us;
	int64_t		last_asked_us;
} rr_sample;

typedef struct rr_history
{
	int			n;
	rr_sample	s[RR_HISTORY_SLOTS];
} rr_history;

/* Cluster-wide facts that only grow (rr_lag.c and rr_decide.c). */
typedef struct rr_memory
{
	bool		have_sysid;
	bool		sysid_locked;	/* agreed by a majority of the list */
	uint64_t	sysid;
	int			max_timeline;	/* highest timeline any member reported */
	int			history_node;	/* whose positions hist holds, -1 none */
	int			history_timeline;
	rr_history	hist;
} rr_memory;

/* The decision about one node (rr_decide.c). */
typedef struct rr_verdict
{
	RRreason	reason;
	bool		routable;		/* fit for reads now (the primary: as fallback) */
	int64_t		lag_bytes;		/* -1 unknown */
	double		lag_seconds;	/* upper bound now, -1 unknown */
	double		lag_at_least;	/* a lower bound, 0 if none */
	bool		has_token;		/* known to have replayed the session token */
	char		why[256];		/* the reason in words, "" if OK */
} rr_verdict;

/* The decision about the whole cluster. */
typedef struct rr_decision
{
	int			primary;		/* node writes go to, -1 none */
	bool		primary_lost;	/* no primary reachable now */
	uint64_t	newest_lsn;		/* when lost: newest WAL known to exist */
} rr_decision;

/* rr_lag.c: the one place lag is computed */
typedef struct rr_lag
{
	int64_t		bytes;			/* -1 unknown */
	double		seconds;		/* upper bound now, -1 unknown */
	double		at_least;		/* lower bound */
} rr_lag;

extern void rr_history_reset(rr_memory *mem, int node, int timeline);
extern void rr_history_note(rr_history *hist, uint64_t lsn, int64_t asked_us,
							int64_t answered_us);
extern uint64_t rr_history_newest(const rr_history *hist);
extern void rr_lag_of(const rr_history *hist, const rr_fact *standby,
					  int64_t now, rr_lag *out);

/* rr_decide.c: pure, no I/O */
extern void rr_memory_note(rr_memory *mem, int nnodes, const rr_fact *facts,
						   int node);
extern void rr_decide(int nnodes, const rr_fact *facts, const rr_memory *mem,
					  const rr_options *opts, uint64_t token, int64_t now,
					  rr_verdict *verdicts, rr_decision *decision);

/* ---- one node ---- */

typedef enum
{
	RR_PROBE_DOWN,				/* no health connection; retry at retry_at */
	RR_PROBE_RESOLVING,			/* its host name is being looked up */
	RR_PROBE_CONNECTING,		/* PQconnectPoll in progress */
	RR_PROBE_IDLE,				/* connected, no query in flight */
	RR_PROBE_QUERYING			/* health query sent, answer awaited */
} rr_probe_state;

typedef struct rr_node
{
	int			index;
	rr_node_params *params;		/* points into the handle's rr_conninfo */
	int			connect_timeout_ms; /* conninfo's, or node_timeout */

	/* health probing (rr_health.c) */
	PGconn	   *probe;
	rr_probe_state probe_state;
	bool		poll_write;		/* wait for writability, not readability */
	int64_t		probe_deadline_us;	/* connect or answer deadline */
	int64_t		connect_started_us;
	int64_t		sent_us;		/* when the query in flight was sent */
	int64_t		retry_at_us;
	int			retry_delay_ms;
	bool		refused;		/* the last connect was refused (cheap to retry) */
	bool		ever_answered;
	bool		answer_failed;	/* the answer in flight already gave an error */
	bool		legacy_probe;	/* this connection asks node_status() (extension 1.0) */
	PQnoticeProcessor default_notices;	/* libpq's, for a probe handed over */
	bool		ask_again;		/* send the health query again once this answer ends */
	char		error[RR_ERRBUF_SIZE];	/* why down or unusable */
	rr_lookup  *lookup;			/* the host name lookup in progress */
	char		addrs[RR_MAX_ADDRS][RR_ADDR_LEN];	/* from the latest lookup */
	int			naddrs;
	unsigned	addr_turn;		/* which of them the next connection uses */
	rr_fact    *fact;			/* &rr->facts[index] */

	/* the decision (rr_decide.c), as of the handle's last look */
	rr_verdict *verdict;		/* &rr->verdicts[index] */

	/* statements (rr_exec.c) */
	PGconn	   *conn;			/* opened on first use */
	PGcancel   *cancel;			/* for RRcancel, while conn is open */
	bool		conn_busy;		/* a statement is running on conn */
	bool		conn_abandon;	/* the node went down under that statement */
	int64_t		reads;
	int64_t		writes;
	int64_t		retries;		/* reads retried away from this node */
	int64_t		fallbacks;		/* reads that fell back to it as primary */
	int64_t		waits;			/* session waits sent here */
	int64_t		waits_ok;		/* ... that saw the token */
	int64_t		health_queries; /* health queries sent (a monitor handle: its monitor's) */
	uint64_t	downs;			/* a monitor handle: times the monitor saw it go down */
	bool		was_up;			/* events: the last view showed it up */
	bool		was_fit;		/* events: ... fit for reads */
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

	/* facts about every node and the whole cluster, and the latest decision */
	rr_fact    *facts;
	rr_verdict *verdicts;
	rr_memory	mem;
	rr_decision decision;
	int			last_primary;	/* the node last seen as primary, -1 none */
	int			seen_primary;	/* events: the primary of the last view */
	int			seen_timeline;	/* events: the newest timeline of the last view */
	RReventHandler event_handler;
	void	   *event_arg;

	/* routing */
	uint64_t	rr_counter;
	uint64_t	rng;
	int			last_node;
	int			txn_node;		/* node holding our open transaction, -1 none */
	volatile sig_atomic_t running;	/* node of the statement in flight, -1 none */

	/* scratch space for poll(), one slot per node plus one */
	struct pollfd *pfds;
	int		   *pfd_node;

	/* session consistency (rr_session.c) */
	uint64_t	session_lsn;
	char		token_text[32];

	/* a handle of a monitor (rr_monitor.c), NULL for one that probes itself */
	struct rr_mon_handle *mh;
};

/* rr_cluster.c */
extern RRcluster *rr_cluster_alloc(void);
extern int	rr_cluster_setup(RRcluster *rr, const char *conninfo,
							 const char *options, const rr_options *base);

/* rr_health.c */
extern void rr_health_pump(RRcluster *rr);
extern int	rr_health_pollfds(RRcluster *rr, struct pollfd *fds, int *which);
extern void rr_health_after_poll(RRcluster *rr, const struct pollfd *fds,
								 const int *which, int nfds);
extern void rr_health_timers(RRcluster *rr, int64_t now);
extern int64_t rr_health_next_wake(const RRcluster *rr, int64_t now);
extern void rr_health_ask_all(RRcluster *rr);
extern void rr_health_expedite(RRcluster *rr, rr_node *node);
extern void rr_node_down(RRcluster *rr, rr_node *node, const char *why);
extern void rr_node_forget(rr_node *node, const char *why);
extern void rr_probe_close(rr_node *node);
extern PGconn *rr_probe_take(RRcluster *rr, rr_node *node);
extern const char *rr_node_host(const RRcluster *rr, const rr_node *node);
extern PGconn *rr_node_connect_start(rr_node *node);

/* rr_monitor.c: the side of a monitor's handle (rr->mh != NULL) */
extern void rr_monitor_sync(RRcluster *rr);
extern bool rr_monitor_wait(RRcluster *rr, int fd, short events,
							int64_t deadline_us);
extern void rr_monitor_ask_all(RRcluster *rr);
extern void rr_monitor_expedite(RRcluster *rr, rr_node *node);
extern void rr_monitor_node_down(RRcluster *rr, rr_node *node, const char *why);
extern void rr_monitor_detach(RRcluster *rr);

/* rr_wait.c */
typedef enum
{
	RR_WAIT_READY,				/* the socket is ready */
	RR_WAIT_TIMEOUT,			/* the deadline passed */
	RR_WAIT_NODE_DOWN			/* the watched node went down */
} rr_wait_result;

typedef bool (*rr_wait_done_fn) (RRcluster *rr, void *arg);

extern rr_wait_result rr_wait_socket(RRcluster *rr, int fd, short events,
									 int64_t deadline_us, const rr_node *watch);
extern void rr_wait_health(RRcluster *rr, int64_t deadline_us,
						   rr_wait_done_fn done, void *arg);

/* rr_route.c */
extern void rr_update_view(RRcluster *rr);
extern void rr_prepare(RRcluster *rr, RRintent intent);
extern rr_node *rr_route_read(RRcluster *rr, const rr_node *avoid,
							  uint64_t min_lsn, bool *needs_wait);
extern rr_node *rr_route_write(RRcluster *rr);
extern void rr_describe_nodes(RRcluster *rr);

/* rr_exec.c */
typedef struct rr_query
{
	const char *sql;
	int			nparams;
	const char *const *params;
	bool		extended;		/* extended protocol (always, in a pipeline) */
} rr_query;

typedef enum
{
	RR_RUN_DONE,				/* every query answered (results may be errors) */
	RR_RUN_REFUSED,				/* libpq refused to send: nothing was sent */
	RR_RUN_LOST,				/* the connection broke */
	RR_RUN_NODE_DOWN,			/* abandoned: the node stopped answering */
	RR_RUN_TIMEOUT				/* abandoned: statement_timeout */
} rr_run_status;

extern PGconn *rr_node_conn(RRcluster *rr, rr_node *node);
extern void rr_node_conn_close(rr_node *node);
extern rr_run_status rr_run(RRcluster *rr, rr_node *node, const rr_query *q,
							int nq, PGresult **res, char *err, size_t errlen);

/* rr_session.c */
extern PGresult *rr_session_write(RRcluster *rr, rr_node *node, const char *sql,
								  int nParams, const char *const *paramValues,
								  rr_run_status *st, char *err, size_t errlen);
extern PGresult *rr_session_read(RRcluster *rr, rr_node *node, const char *sql,
								 int nParams, const char *const *paramValues,
								 bool *caught_up, rr_run_status *st,
								 char *err, size_t errlen);

#endif							/* RR_INT_H */
