/*-------------------------------------------------------------------------
 *
 * replroute.h
 *		libreplroute: one libpq-style handle over a replicated PostgreSQL
 *		cluster that sends each read to a standby fresh enough for it and
 *		each write to whichever node is primary now.
 *
 * Every node runs the replroute extension; the library asks every node for
 * replroute.node_status() in parallel, again once an answer is older than
 * check_interval, and routes from the newest answers, each aged by the
 * time since it was asked.  Health probing goes on while a call waits for a
 * statement, so no call waits on a node that stopped answering for longer
 * than node_timeout (see RRexec).  Threads of one process can share one
 * health connection and one probe stream per node instead: handles created
 * from an RRmonitor (see "Sharing health between threads" below).
 *
 * Thread safety: the library has no global mutable state.  Distinct
 * RRcluster handles may be used concurrently from different threads; one
 * handle (and the PGconn objects it returns) must be used by one thread at
 * a time, exactly as libpq requires for a PGconn.  An RRmonitor may be used
 * by any number of threads at once (see RRmonitorStart for the exact
 * rules).  A node given by host name is looked up in a short-lived thread
 * the library starts for each connection attempt (so that a slow resolver
 * never delays a call; the attempt, lookup included, ends at
 * connect_timeout); that thread touches nothing but its own lookup.
 *
 * Memory: every pointer returned by the library belongs to the handle and
 * stays valid until the next call on that handle, unless stated otherwise.
 * PGresult objects returned by RRexec/RRexecParams belong to the caller
 * (free them with PQclear).  All "free" functions accept NULL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef REPLROUTE_H
#define REPLROUTE_H

#include <stdint.h>

#include <libpq-fe.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define REPLROUTE_VERSION_STR	"1.1.0"
#define REPLROUTE_VERSION_NUM	10100	/* major * 10000 + minor * 100 + patch */

/* Opaque handle over one cluster. */
typedef struct RRcluster RRcluster;

/* Status of a handle.  Values are only ever added. */
typedef enum
{
	RR_OK,						/* usable: at least one node answered */
	RR_BAD						/* invalid arguments, or no node answered */
} RRstatusType;

/* What a statement does: decides where it is sent. */
typedef enum
{
	RR_READ,					/* may run on a standby fresh enough */
	RR_WRITE					/* must run on the current primary */
} RRintent;

/* A node's reachability, as the last health refresh saw it. */
typedef enum
{
	RR_NODE_DOWN,				/* not reachable (connect or query failed) */
	RR_NODE_UP,					/* answered replroute.node_status() */
	RR_NODE_EXCLUDED,			/* reachable but unusable: see RRnodeError */
	RR_NODE_CONNECTING			/* (re)connecting, no answer yet */
} RRnodeState;

/*
 * Why a node is, or is not, used: one value per node (RRnodeReason), with
 * the details in RRnodeError.  Values are only ever added; RRreasonName
 * gives each a stable lower-case name.
 */
typedef enum
{
	RR_REASON_OK,				/* fit: a usable primary, or a standby within limits */
	RR_REASON_DOWN,				/* could not connect, or no health answer for node_timeout */
	RR_REASON_CONNECTING,		/* connecting, no answer yet */
	RR_REASON_FOREIGN_CLUSTER,	/* another system identifier than the cluster's */
	RR_REASON_EXTENSION_MISSING,	/* replroute is not installed in that database */
	RR_REASON_EXTENSION_VERSION,	/* replroute answers in a shape this library does not know */
	RR_REASON_OLD_PRIMARY,		/* claims primary on a timeline older than the cluster's */
	RR_REASON_COMPETING_PRIMARY,	/* two nodes claim primary on the newest timeline */
	RR_REASON_LAG_OVER_LIMIT,	/* lag above max_lag_bytes or max_lag_seconds */
	RR_REASON_LAG_UNKNOWN,		/* lag cannot be bounded (yet) */
	RR_REASON_NOT_STREAMING,	/* over the limit, with its WAL receiver not streaming */
	RR_REASON_REPLAY_PAUSED,	/* over the limit, with replay paused */
	RR_REASON_BEHIND_TOKEN,		/* fit, but not known to have replayed the session token */
	RR_REASON_PRIMARY_LOST,		/* primary unreachable: serving what it last had (primary_lost=serve) */
	RR_REASON_HEALTH_QUERY_FAILED	/* reachable, but its health query raised an error */
} RRreason;

/* A node's role, from replroute.node_status(). */
typedef enum
{
	RR_ROLE_UNKNOWN,
	RR_ROLE_PRIMARY,
	RR_ROLE_STANDBY,
	RR_ROLE_PROMOTING
} RRrole;

/*
 * RRconnect
 *		Parse conninfo (libpq keyword/value or URI syntax; a multi-host list
 *		gives one node per host/port pair) and options ("key=value ..."),
 *		then probe every node in parallel.
 *
 * Returns NULL only when out of memory.  Check RRstatus(): RR_BAD means the
 * arguments were invalid or no node answered within connect_timeout;
 * RRerrorMessage() says why.  Nodes that are down do not make the handle
 * bad.  The handle must always be released with RRfinish().
 */
extern RRcluster *RRconnect(const char *conninfo, const char *options);

/* RR_OK or RR_BAD (also for a NULL handle). */
extern RRstatusType RRstatus(const RRcluster *rr);

/*
 * The last error on this handle, "" if none; with the node named and
 * libpq's or the server's message appended.  Valid until the next call.
 */
extern const char *RRerrorMessage(const RRcluster *rr);

/*
 * RRreadConn / RRwriteConn
 *		A connection to a node fit for reads now (a standby within the lag
 *		limits, or the primary as fallback), or to the current primary.
 *
 * The connection belongs to the handle: do not PQfinish it.  It is valid
 * until the next call on the handle, which may close it (its node went
 * down) or hand it out again; so finish with it (no open transaction, no
 * pending results) before calling the library again.  NULL on error (see
 * RRerrorMessage).
 */
extern PGconn *RRreadConn(RRcluster *rr);
extern PGconn *RRwriteConn(RRcluster *rr);

/*
 * RRexec / RRexecParams
 *		Run one SQL string on the node the intent calls for, like PQexec /
 *		PQexecParams (text parameters, text results).
 *
 * Returns a PGresult owned by the caller, which may carry a server error
 * (check PQresultStatus as with libpq).  Returns NULL when no node could
 * run the statement (no primary for a write, no node for a read, the node
 * went away, libpq refused to send it); RRerrorMessage() says why.
 *
 * Liveness: the statement runs under poll() while the health probing of
 * every node goes on.  If its node gives no health answer for node_timeout
 * (frozen, partitioned), the statement is abandoned (its connection is
 * closed): a read is retried once on another fit node, a write fails with
 * an error saying its outcome is unknown.  A slow statement on a node that
 * keeps answering is never cut short, unless the statement_timeout option
 * is set.  A read whose node goes away (or is cancelled by a recovery
 * conflict) outside a transaction block is retried once; a write is never
 * retried once sent.  A connection found dead before a statement is sent
 * is reopened at once; only if that fails is its node marked down.
 *
 * Transactions: a statement that leaves its connection inside a
 * transaction block (BEGIN) keeps the handle on that node, whatever the
 * intent, until the block ends; if the node goes away meanwhile, the
 * statements fail.  With consistency=session, RR_WRITE statements go
 * through the extended protocol (one statement per call) and record the
 * session token.  COPY is not supported here (use RRwriteConn).
 */
extern PGresult *RRexec(RRcluster *rr, RRintent intent, const char *sql);
extern PGresult *RRexecParams(RRcluster *rr, RRintent intent, const char *sql,
							  int nParams, const char *const *paramValues);

/*
 * RRcancel
 *		Ask the server running this handle's statement (if one is running
 *		inside RRexec/RRexecParams right now) to cancel it, as PQcancel does;
 *		returns 1 if a request was sent, 0 if no statement was running, -1
 *		with a message in errbuf on failure.  Safe to call from a signal
 *		handler (it only reads state and calls PQcancel).  Like PQcancel it
 *		may block on a server that stopped answering: a program that must
 *		exit promptly calls it in a child process (fork) with a timer.
 */
extern int	RRcancel(RRcluster *rr, char *errbuf, int errbufsize);

/*
 * Session tokens (read-your-writes).  RRsessionToken returns the primary's
 * WAL insert position after this handle's last write as text ("16/B374D848"),
 * or "" if none.  RRsetSessionToken adopts a token carried from elsewhere
 * (another process, a cookie); it never lowers the current one.  Returns 0,
 * or -1 if the token is malformed or empty (RRerrorMessage says why; the
 * handle is unchanged).  Tokens are honoured by reads only with
 * consistency=session.
 */
extern const char *RRsessionToken(RRcluster *rr);
extern int	RRsetSessionToken(RRcluster *rr, const char *token);

/*
 * RRrecordWrite
 *		Record the session token for a write the application committed itself
 *		on RRwriteConn(): fetches the primary's current WAL insert position
 *		(one round trip).  Call it after COMMIT.  Returns 0 or -1.
 */
extern int	RRrecordWrite(RRcluster *rr);

/* Close every connection and free the handle.  NULL is a no-op. */
extern void RRfinish(RRcluster *rr);

/*
 * Inspection, for monitoring tools and tests.
 *
 * RRrefresh asks every connected node for its health now and waits until
 * each has answered or failed, at most max(2 * check_interval, 250 ms): a
 * node slower than that stays "connecting" (or keeps its older answer) and
 * is judged once it answers or node_timeout passes.  Returns 0, or -1 if
 * no node answered.
 * Nodes are numbered from 0 in conninfo order.  The figures describe the
 * handle's view as of its last call (lags aged to that moment).  Strings
 * stay valid until the next call on the handle.  Unknown numbers are -1
 * (NULL for strings, NaN never returned).
 */
extern int	RRrefresh(RRcluster *rr);
extern int	RRnodeCount(const RRcluster *rr);
extern const char *RRnodeHost(const RRcluster *rr, int node);
extern const char *RRnodePort(const RRcluster *rr, int node);
extern RRnodeState RRnodeStatus(const RRcluster *rr, int node);
extern RRrole RRnodeRole(const RRcluster *rr, int node);
extern int	RRnodeTimeline(const RRcluster *rr, int node);
extern const char *RRnodeWalLsn(const RRcluster *rr, int node);	/* "X/Y" or NULL */
extern int64_t RRnodeLagBytes(const RRcluster *rr, int node);
extern double RRnodeLagSeconds(const RRcluster *rr, int node);	/* upper bound; -1 if unknown */
extern int	RRnodeRoutable(const RRcluster *rr, int node); /* 1 fit for reads, 0 not */
extern const char *RRnodeError(const RRcluster *rr, int node);	/* why down/excluded, or "" */
extern RRreason RRnodeReason(const RRcluster *rr, int node);	/* RR_REASON_DOWN if no such node */
extern int	RRnodeStreaming(const RRcluster *rr, int node);	/* standby's receiver: 1, 0, -1 unknown */
extern int	RRnodeReplayPaused(const RRcluster *rr, int node);	/* 1, 0, -1 unknown */
extern double RRnodeAnswerAge(const RRcluster *rr, int node); /* seconds since its newest answer was asked, -1 none */
extern const char *RRreasonName(RRreason reason);	/* "lag_over_limit"...; "unknown" if out of range */
extern int64_t RRnodeReads(const RRcluster *rr, int node);	/* reads routed there */
extern int64_t RRnodeWrites(const RRcluster *rr, int node);	/* writes routed there */
extern int64_t RRnodeHealthQueries(const RRcluster *rr, int node);	/* see below */
extern int	RRprimaryNode(const RRcluster *rr);	/* current primary, or -1 */

/*
 * The cluster's system identifier (the one most answering nodes of the
 * list share; a node with another one is RR_REASON_FOREIGN_CLUSTER), or 0
 * while no node has answered.
 */
extern uint64_t RRsystemIdentifier(const RRcluster *rr);
extern int	RRlastNode(const RRcluster *rr);	/* node of the last routed call, or -1 */

/*
 * Per-node counters, since RRconnect: reads and writes sent there, reads
 * retried away from it, reads that fell back to it as the primary (no
 * standby fit, or a session read no standby caught up with), session-
 * consistency waits on it and how many of those saw the token in time.
 * -1 for no such node.
 */
extern int64_t RRnodeRetries(const RRcluster *rr, int node);
extern int64_t RRnodeFallbacks(const RRcluster *rr, int node);
extern int64_t RRnodeCausalWaits(const RRcluster *rr, int node);
extern int64_t RRnodeCausalWaitsOk(const RRcluster *rr, int node);

/*
 * RRnodeHealthQueries: health queries sent to the node since RRconnect by
 * the probes this handle routes with: its own, or, for a handle of a
 * monitor, the monitor's (shared by all its handles; as of the handle's
 * last call).  -1 for no such node.
 */

/*
 * RRchooseNode
 *		The routing decision alone: the node a statement of this intent
 *		would go to now, without connecting to it or running anything (the
 *		facts are brought up to date first, as a call would).  token is a
 *		session token the read must see (NULL: the handle's own, with
 *		consistency=session; "" for none); *needs_wait (may be NULL) is set
 *		to 1 when no standby is known to have replayed it, so a
 *		"CALL replroute.wait_for_lsn(token, causal_wait)" on that node is
 *		needed first (falling back to the primary if it does not succeed).
 *		Returns the node number, or -1 with RRerrorMessage set (no node can
 *		serve, a malformed token).  An open transaction block is not
 *		consulted: it belongs to RRexec.
 */
extern int	RRchooseNode(RRcluster *rr, RRintent intent, const char *token,
						 int *needs_wait);

/*
 * Events, in the style of libpq's notice processor: a function called from
 * inside library calls when the handle's view of a node changes.  The
 * RRevent and its strings are valid only during the call; the handler must
 * not call the library on the same handle.  RRsetEventHandler returns the
 * previous handler (NULL: none).
 */
typedef enum
{
	RR_EVENT_NODE_UP,			/* answered its health query (first time, or after down) */
	RR_EVENT_NODE_DOWN,			/* could not connect, or no answer for node_timeout */
	RR_EVENT_NODE_EXCLUDED,		/* up, but not fit for reads: see reason */
	RR_EVENT_NODE_READMITTED,	/* fit for reads again */
	RR_EVENT_PRIMARY_CHANGED,	/* writes go to another node, or to none (node -1) */
	RR_EVENT_TIMELINE_CHANGED	/* the cluster's newest timeline went up */
} RReventType;

typedef struct RRevent
{
	RReventType type;
	int			node;			/* -1 where no node applies */
	RRreason	reason;			/* the node's reason after the change */
	const char *message;		/* as RRnodeError, "" if none */
	int			timeline;		/* the cluster's newest timeline */
} RRevent;

typedef void (*RReventHandler) (void *arg, const RRevent *event);

extern RReventHandler RRsetEventHandler(RRcluster *rr, RReventHandler handler,
										void *arg);
extern const char *RReventName(RReventType type);	/* "node_up"...; "unknown" */

/*
 * Sharing health between threads: RRmonitor
 *
 * A handle from RRconnect probes every node itself: one health connection
 * per node and a question every check_interval while the handle is inside
 * a call, so that N threads with a handle each cost every node N health
 * backends and N times the questions.  A monitor owns one health connection
 * per node, the facts it learns and the cluster's memory (its system
 * identifier, timelines, the primary's WAL history), and a thread of its
 * own that asks every node every check_interval from RRmonitorStart to its
 * end, whether or not any thread is inside a call.  Handles created from it
 * with RRconnectMonitor never probe: each keeps its own statement
 * connections, options, counters, session token, transaction and event
 * handler, and routes on a copy of the monitor's facts, taken when it
 * needs to decide.  One handle per thread, as always.
 */

/* Opaque shared monitor. */
typedef struct RRmonitor RRmonitor;

/*
 * RRmonitorStart
 *		Parse conninfo and options exactly as RRconnect does, connect to
 *		every node in parallel and wait as RRconnect does (until both kinds
 *		of statement can be routed, every node answered or failed, or the
 *		grace ran out), then start the monitor's thread, which drives the
 *		health probes from then on: a question every check_interval per
 *		node, node_timeout, reconnects with back-off (the rules of RRexec
 *		and RRconnect).
 *
 * Options: every RRconnect option.  check_interval and node_timeout (and
 * conninfo's connect_timeout) govern the monitor's probes, so they belong
 * to the monitor alone: RRconnectMonitor refuses them.  Every other option
 * (max_lag_bytes, max_lag_seconds, policy, fallback, consistency,
 * causal_wait, primary_lost, statement_timeout) is a default for the
 * monitor's handles, which may override it.
 *
 * Returns NULL only when out of memory.  Check RRmonitorStatus(): RR_BAD
 * means invalid arguments, no node answered within connect_timeout (as
 * for RRconnect), or no thread could be started; RRmonitorErrorMessage()
 * says why, and no thread runs.  Status and message never change
 * afterwards.  The monitor must always be released with RRmonitorFinish().
 *
 * Threads: RRconnectMonitor, RRmonitorStatus, RRmonitorErrorMessage,
 * RRmonitorNodeCount and RRmonitorHealthQueries may be called from any
 * thread, concurrently with each other and with calls on the monitor's
 * handles, from the moment RRmonitorStart returns until RRmonitorFinish is
 * called (hand the pointer to other threads with the usual
 * synchronization: before pthread_create, under a mutex).  RRmonitorFinish
 * is called once, by one thread; the monitor must not be used after it.
 * Each handle of the monitor is used by one thread at a time, as any
 * handle.  The monitor's thread runs no application code (event handlers
 * are called inside the handle's own calls, in the caller's thread), takes
 * no signal (all are blocked in it), and touches only the monitor's health
 * connections and the state it shares under its mutex.
 *
 * Liveness: a statement of a monitor's handle waits on its socket and on a
 * wake-up the monitor's thread sends the moment it declares a node down
 * (no health answer for node_timeout), so a statement on a node that
 * stopped answering is abandoned within node_timeout plus check_interval,
 * exactly as with RRconnect's handles: a read is retried on another fit
 * node, a write fails with its outcome unknown.  A handle that cannot open
 * a statement connection to a node keeps that node out of its own routing
 * for a back-off (20 ms when refused fast, else 250 ms doubling to 2 s),
 * without changing the monitor's or the other handles' view.  Handles of a
 * monitor never take over a health connection for their first statement.
 *
 * fork(): a child process inherits no thread.  In the child neither the
 * monitor nor its handles may be used or finished (not even RRfinish or
 * RRmonitorFinish: they would wait for a thread that does not exist there
 * and write to connections the parent still uses); RRcancel remains
 * usable, as a child that cancels for its parent does.  A child that needs
 * replroute starts its own monitor; the parent is unaffected.
 */
extern RRmonitor *RRmonitorStart(const char *conninfo, const char *options);

/* RR_OK or RR_BAD (also for NULL); fixed once RRmonitorStart returns. */
extern RRstatusType RRmonitorStatus(const RRmonitor *mon);

/*
 * Why RRmonitorStart gave RR_BAD, "" if it did not.  Valid until
 * RRmonitorFinish.
 */
extern const char *RRmonitorErrorMessage(const RRmonitor *mon);

/* Number of nodes (numbered as in every handle of it); 0 if RR_BAD or NULL. */
extern int	RRmonitorNodeCount(const RRmonitor *mon);

/*
 * Health queries the monitor has sent to the node since RRmonitorStart
 * (its first connection's included): the health cost the whole process
 * puts on that node.  -1 for no such node, or a monitor in RR_BAD state.
 */
extern int64_t RRmonitorHealthQueries(const RRmonitor *mon, int node);

/*
 * RRconnectMonitor
 *		A handle that routes on mon's facts: it opens no health connection
 *		and sends no health query; its statement connections, counters,
 *		session token, transaction and event handler are its own, and so
 *		are its options (mon's, overridden by options, which may not set
 *		check_interval or node_timeout).  Returns at once: the monitor's
 *		facts are current.
 *
 * Returns NULL only when out of memory.  RR_BAD (see RRerrorMessage) for a
 * NULL monitor or one in RR_BAD state, invalid options, or no file
 * descriptor for the handle's wake-up pipe; an RR_OK handle stays RR_OK
 * even when every node is down for a while (its calls fail, as an
 * RRconnect handle's do, until nodes answer the monitor again).  Every
 * function of this header works on it as on an RRconnect handle; its
 * inspection figures are its view as of its last call.  RRrefresh makes
 * the monitor ask every node now (handles asking at once share the
 * question) and waits as described there.  Release it with RRfinish().
 *
 * Lifetime: the handle keeps its monitor alive.  After RRmonitorFinish the
 * handles already created keep working; the monitor's thread and health
 * connections end with the last of RRmonitorFinish and the RRfinish of
 * its handles, in whatever order and thread they come (that call stops and
 * joins the thread: promptly, since the thread never blocks but in
 * poll()).
 */
extern RRcluster *RRconnectMonitor(RRmonitor *mon, const char *options);

/*
 * RRmonitorFinish
 *		Let go of the monitor: see RRconnectMonitor for what its handles
 *		keep.  NULL is a no-op.
 */
extern void RRmonitorFinish(RRmonitor *mon);

/* Library version, REPLROUTE_VERSION_NUM of the library actually loaded. */
extern int	RRlibVersion(void);

#ifdef __cplusplus
}
#endif

#endif							/* REPLROUTE_H */
