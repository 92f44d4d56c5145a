"""replroute.Cluster: one libreplroute handle over a replicated cluster.

The routing logic is the C library's: a Cluster only asks it which node a
read or a write would go to (RRchooseNode) and what it knows of each node.
It runs no SQL itself.

Threads: one RRcluster handle may be used by one thread at a time, so a
Cluster holds a lock around every call into the library.  Calls are short
(the library never waits on a node that does not answer; RRconnect and
refresh() wait at most for their documented grace), so one Cluster per
process, shared by its threads, is the intended use.  A Cluster does not
survive fork(): in the child every method raises Error (its sockets belong
to the parent); create a new one there.  The old one is dropped without
closing its connections, which would end the parent's sessions.
"""

import collections
import ctypes
import enum
import logging
import os
import threading

from . import _lib
from ._lib import decode, encode
from .errors import Error

log = logging.getLogger("replroute")

READ = 0                        # RR_READ
WRITE = 1                       # RR_WRITE

_STATES = {0: "down", 1: "up", 2: "excluded", 3: "connecting"}
_ROLES = {0: None, 1: "primary", 2: "standby", 3: "promoting"}


class Reason(enum.IntEnum):
    """RRreason: why a node is, or is not, used.  Values are the C ones."""
    OK = 0
    DOWN = 1
    CONNECTING = 2
    FOREIGN_CLUSTER = 3
    EXTENSION_MISSING = 4
    EXTENSION_VERSION = 5
    OLD_PRIMARY = 6
    COMPETING_PRIMARY = 7
    LAG_OVER_LIMIT = 8
    LAG_UNKNOWN = 9
    NOT_STREAMING = 10
    REPLAY_PAUSED = 11
    BEHIND_TOKEN = 12
    PRIMARY_LOST = 13
    HEALTH_QUERY_FAILED = 14


def _reason(value):
    """A Reason, or the plain int for a value newer than this binding."""
    try:
        return Reason(value)
    except ValueError:
        return value


def _port(text):
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def lsn_to_int(token):
    """'16/B374D848' -> its 64-bit position; ValueError if malformed."""
    if not isinstance(token, str):
        raise ValueError("a WAL position must be a string")
    hi, sep, lo = token.partition("/")
    if (not sep or not 0 < len(hi) <= 8 or not 0 < len(lo) <= 8
            or not all(c in "0123456789abcdefABCDEF" for c in hi + lo)):
        raise ValueError("invalid WAL position %r: expected the form 16/B374D848" % token)
    return (int(hi, 16) << 32) | int(lo, 16)


def int_to_lsn(value):
    return "%X/%X" % (value >> 32, value & 0xFFFFFFFF)


# choose(): the node index, whether a causal wait is needed there first,
# and the current primary's index (-1: none), all from one decision
Choice = collections.namedtuple("Choice", "index needs_wait primary")


class Node:
    """What the library knew of one node at one moment (a snapshot).

    index is the node's number (conninfo order); host and port as given
    (port an int when numeric); state 'up', 'down', 'excluded' or
    'connecting'; role 'primary', 'standby', 'promoting' or None (unknown);
    lag_bytes, lag_seconds (an upper bound), timeline: None when unknown;
    routable: fit for reads now; reason: a Reason (reason_name its stable
    name, as the CLI prints it); error: why it is down or excluded, or ''.
    needs_wait is only meaningful on a node returned by route_read(): no
    standby is known to have replayed the token, so the reader should run
    CALL replroute.wait_for_lsn(token, causal_wait) there first, and use
    the primary if that does not return 'success'.
    """

    __slots__ = ("index", "host", "port", "state", "role", "timeline", "wal_lsn",
                 "lag_bytes", "lag_seconds", "routable", "error", "reason",
                 "reason_name", "streaming", "replay_paused", "answer_age",
                 "reads", "writes", "needs_wait")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        if self.needs_wait is None:
            self.needs_wait = False

    def __repr__(self):
        return "<replroute.Node %d %s:%s %s %s %s>" % (
            self.index, self.host, self.port, self.state, self.role, self.reason_name)

    @property
    def is_primary(self):
        return self.role == "primary"


class Event:
    """One RRevent: type ('node_up', 'node_down', 'node_excluded',
    'node_readmitted', 'primary_changed', 'timeline_changed'), node (index
    or -1), reason, message, timeline."""

    __slots__ = ("type", "node", "reason", "message", "timeline")

    def __init__(self, type, node, reason, message, timeline):
        self.type, self.node, self.reason = type, node, reason
        self.message, self.timeline = message, timeline

    def __repr__(self):
        return "<replroute.Event %s node=%d reason=%s>" % (self.type, self.node, self.reason)


class Cluster:
    """A handle over one replicated cluster (libreplroute's RRcluster).

    conninfo is a libpq connection string listing every node (keyword/value
    or URI, e.g. 'host=db1,db2,db3 dbname=app'); options the library's
    options string ('max_lag_seconds=0.5s causal_wait=200ms ...').
    on_event, if given, is called with an Event whenever the library's view
    of a node changes; it runs inside the call that noticed the change (on
    that thread, with the Cluster's lock held), so it must be quick and
    must not call this Cluster.

    Raises Error when the arguments are invalid or no node answered.  Use
    it as a context manager, or call close().
    """

    def __init__(self, conninfo, options=None, on_event=None):
        self._lib = _lib.library()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._rr = None
        self._handler = None
        self.conninfo = conninfo
        self.options = options or ""
        if not isinstance(conninfo, str):
            raise TypeError("conninfo must be a string")
        if not isinstance(self.options, str):
            raise TypeError("options must be a string")
        # the handler can only be set once RRconnect has returned a handle:
        # what RRconnect's own probes found is reported by the next call
        self._on_event = on_event
        rr = self._lib.RRconnect(encode(conninfo), encode(self.options))
        if not rr:
            raise MemoryError("RRconnect: out of memory")
        if self._lib.RRstatus(rr) != 0:
            msg = decode(self._lib.RRerrorMessage(rr))
            reason, nodes = None, []
            try:
                nodes = [self._node(rr, i) for i in range(self._lib.RRnodeCount(rr))]
                reason = _common_reason(nodes)
            finally:
                self._lib.RRfinish(rr)
            raise Error(msg, reason=reason, nodes=nodes)
        self._rr = rr
        if on_event is not None:
            self._handler = _lib.EVENT_HANDLER(self._event)
            self._lib.RRsetEventHandler(rr, self._handler, None)

    # -- life cycle ----------------------------------------------------

    def close(self):
        """Close every connection of the handle.  Idempotent."""
        with self._lock:
            rr, self._rr = self._rr, None
            if rr and os.getpid() == self._pid:
                self._lib.RRfinish(rr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            rr = self._rr
            if rr and os.getpid() == self._pid:
                self._rr = None
                self._lib.RRfinish(rr)
        except Exception:       # interpreter shutdown
            pass

    @property
    def closed(self):
        return self._rr is None

    def _handle(self):
        """The RRcluster pointer; the caller holds the lock."""
        if os.getpid() != self._pid:
            raise Error("this replroute.Cluster was created in process %d and cannot be "
                        "used after fork(): create a new one in this process" % self._pid)
        if self._rr is None:
            raise Error("the replroute.Cluster is closed")
        return self._rr

    def _error(self, rr, with_nodes=True):
        msg = decode(self._lib.RRerrorMessage(rr))
        nodes = []
        if with_nodes:
            nodes = [self._node(rr, i) for i in range(self._lib.RRnodeCount(rr))]
        return Error(msg, reason=_common_reason(nodes), nodes=nodes)

    def _event(self, arg, ev):
        try:
            e = ev.contents
            event = Event(decode(self._lib.RReventName(e.type)), e.node,
                          _reason(e.reason), decode(e.message) or "", e.timeline)
            self._on_event(event)
        except Exception:       # never let an exception unwind through C
            log.exception("replroute: the event handler raised")

    # -- routing -------------------------------------------------------

    def choose(self, intent, token=None):
        """A Choice(index, needs_wait, primary) for a READ or WRITE.

        The cheap form of route_read()/route_write() for routers: the same
        decision (RRchooseNode), with no node snapshot built; primary is
        the current primary's index after it (-1: none).  Raises Error
        when no node can serve.
        """
        if intent not in (READ, WRITE):
            raise ValueError("intent must be replroute.READ or replroute.WRITE")
        wait = ctypes.c_int(0)
        with self._lock:
            rr = self._handle()
            i = self._lib.RRchooseNode(rr, intent, encode(token), ctypes.byref(wait))
            if i < 0:
                raise self._error(rr, with_nodes=not token or _valid(token))
            return Choice(i, bool(wait.value), self._lib.RRprimaryNode(rr))

    def route_read(self, token=None):
        """The node a read would go to now (a Node, needs_wait set).

        token: a session token the read must see; None for the handle's own
        (with the option consistency=session), '' for none.  Raises Error
        when no node can serve a read (or the token is malformed).
        """
        wait = ctypes.c_int(0)
        with self._lock:
            rr = self._handle()
            i = self._lib.RRchooseNode(rr, READ, encode(token), ctypes.byref(wait))
            if i < 0:
                raise self._error(rr, with_nodes=not token or _valid(token))
            node = self._node(rr, i)
        node.needs_wait = bool(wait.value)
        return node

    def route_write(self):
        """The current primary (a Node); Error when none is reachable."""
        with self._lock:
            rr = self._handle()
            i = self._lib.RRchooseNode(rr, WRITE, None, None)
            if i < 0:
                raise self._error(rr)
            return self._node(rr, i)

    # -- inspection ----------------------------------------------------

    def refresh(self):
        """Ask every node for its health now and wait for the answers (at
        most max(2 * check_interval, 250 ms)).  Error if none answered."""
        with self._lock:
            rr = self._handle()
            if self._lib.RRrefresh(rr) < 0:
                raise self._error(rr)

    @property
    def nodes(self):
        """Every node, in conninfo order, as Node snapshots."""
        with self._lock:
            rr = self._handle()
            return [self._node(rr, i) for i in range(self._lib.RRnodeCount(rr))]

    def __len__(self):
        with self._lock:
            return self._lib.RRnodeCount(self._handle())

    @property
    def primary(self):
        """The current primary as of the last call (a Node), or None."""
        with self._lock:
            rr = self._handle()
            i = self._lib.RRprimaryNode(rr)
            return self._node(rr, i) if i >= 0 else None

    def primary_index(self):
        """The current primary's index as of the last call, or -1."""
        with self._lock:
            return self._lib.RRprimaryNode(self._handle())

    def _node(self, rr, i):
        lib = self._lib
        lag_bytes = lib.RRnodeLagBytes(rr, i)
        lag_seconds = lib.RRnodeLagSeconds(rr, i)
        timeline = lib.RRnodeTimeline(rr, i)
        streaming = lib.RRnodeStreaming(rr, i)
        paused = lib.RRnodeReplayPaused(rr, i)
        age = lib.RRnodeAnswerAge(rr, i)
        reason = lib.RRnodeReason(rr, i)
        return Node(
            index=i,
            host=decode(lib.RRnodeHost(rr, i)),
            port=_port(decode(lib.RRnodePort(rr, i))),
            state=_STATES.get(lib.RRnodeStatus(rr, i), "unknown"),
            role=_ROLES.get(lib.RRnodeRole(rr, i)),
            timeline=timeline if timeline >= 0 else None,
            wal_lsn=decode(lib.RRnodeWalLsn(rr, i)),
            lag_bytes=lag_bytes if lag_bytes >= 0 else None,
            lag_seconds=lag_seconds if lag_seconds >= 0 else None,
            routable=lib.RRnodeRoutable(rr, i) == 1,
            error=decode(lib.RRnodeError(rr, i)) or "",
            reason=_reason(reason),
            reason_name=decode(lib.RRreasonName(reason)),
            streaming=None if streaming < 0 else bool(streaming),
            replay_paused=None if paused < 0 else bool(paused),
            answer_age=age if age >= 0 else None,
            reads=lib.RRnodeReads(rr, i),
            writes=lib.RRnodeWrites(rr, i),
        )

    # -- session tokens ------------------------------------------------

    @property
    def session_token(self):
        """The primary's WAL insert position after this handle's last write
        as text, or '' (RRsessionToken)."""
        with self._lock:
            return decode(self._lib.RRsessionToken(self._handle()))

    def set_session_token(self, token):
        """Adopt a token from elsewhere (never lowers the current one).
        Raises Error if it is malformed or empty."""
        if not isinstance(token, str):
            raise TypeError("a session token is a string such as '16/B374D848'")
        with self._lock:
            rr = self._handle()
            if self._lib.RRsetSessionToken(rr, encode(token)) < 0:
                raise self._error(rr, with_nodes=False)

    def record_write(self):
        """Record the token for a write committed on the primary by other
        means (RRrecordWrite: one round trip to the primary)."""
        with self._lock:
            rr = self._handle()
            if self._lib.RRrecordWrite(rr) < 0:
                raise self._error(rr)


def _valid(token):
    try:
        lsn_to_int(token)
        return True
    except ValueError:
        return False


def _common_reason(nodes):
    """The reason every unusable node shares, or None."""
    reasons = {n.reason for n in nodes if n.reason != Reason.OK}
    return reasons.pop() if len(reasons) == 1 else None


def library_version():
    """The loaded library's version as text ('1.1.0')."""
    return _lib.version_string(_lib.library().RRlibVersion())
