"""What the router, the middleware and the backend share in one process.

One replroute.Cluster per process (created on first use, again after
fork), shared by every thread under the Cluster's own lock, and the
per-request routing state (a ContextVar, so that threads and asyncio tasks
each see their own request's):

  token    the session token reads must see (from the middleware, raised
           by this request's own writes)
  dirty    a statement that may have written ran on 'default' since the
           token was last fetched: the next read fetches it first (one
           round trip, pg_current_wal_insert_lsn(), after the commit)
  waited   read aliases known to have replayed the token (a causal wait
           succeeded there), so later reads of the request skip the wait
  pinned   the token could not be fetched: reads stay on 'default'

Decisions are the library's: a read goes to the alias of the node that
RRchooseNode picks (a standby known to have replayed the token, or one to
wait on, or the primary, which is 'default').  Nothing here waits on a
node that does not answer: the library never picks one, and the only
statement run here on a read alias is the causal wait, on a node the
library has just heard from, bounded by causal_wait.
"""

import contextvars
import logging
import os
import re
import threading
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import DatabaseError

from .. import READ, WRITE, Cluster, Error, lsn_to_int
from ..conninfo import node_params, parse

log = logging.getLogger("replroute")

DEFAULT = DEFAULT_DB_ALIAS
# a Cluster that could not be created is tried again after this long;
# until then everything goes to 'default'
RETRY_CLUSTER_SECONDS = 5.0
# apps whose reads always go to 'default': the session carries the token,
# so it must never be read from a standby that has not seen it yet
PRIMARY_APPS = ("sessions",)


class State:
    """The routing state of one request (see the module docstring)."""

    __slots__ = ("token", "token_int", "dirty", "wrote", "waited", "pinned")

    def __init__(self, token=""):
        self.token = ""
        self.token_int = -1
        self.dirty = False
        self.wrote = False
        self.waited = {}
        self.pinned = False
        if token:
            self.raise_token(token)

    def raise_token(self, token):
        """Adopt token if it is newer; False if it is malformed."""
        try:
            value = lsn_to_int(token)
        except ValueError:
            return False
        if value > self.token_int:
            self.token, self.token_int = token, value
        return True


_state = contextvars.ContextVar("replroute_state", default=None)


def state():
    """This context's State (outside a request: one per thread or task)."""
    s = _state.get()
    if s is None:
        s = State()
        _state.set(s)
    return s


def note_write():
    """Say that this request wrote on 'default' by a way the backend cannot
    see (a SELECT calling a function that writes, callproc): the next read
    fetches the token first."""
    s = state()
    s.dirty = s.wrote = True


def current_token():
    """The token this request's reads honour ('' if none)."""
    return state().token


_stats_lock = threading.Lock()
_stats = {}


def _count(key, n=1):
    with _stats_lock:
        _stats[key] = _stats.get(key, 0) + n


def stats(reset=False):
    """Counters since start (or the last reset), for tests and benchmarks:
    read:<alias> reads routed there, wait / wait_ok causal waits and those
    that succeeded, fallback reads sent to 'default' because no standby
    could serve, retry reads retried after their node failed,
    token_fetch, default_dropped (a stale or dead 'default' connection
    closed)."""
    with _stats_lock:
        out = dict(_stats)
        if reset:
            _stats.clear()
    return out


_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(us|ms|s|min)?$")
_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60000.0, None: 1.0}


def causal_wait_ms(options):
    """The causal_wait option in whole milliseconds (default 100 ms, the
    library's); the library has validated the string."""
    value = 100.0
    for item in (options or "").split():
        key, _, text = item.partition("=")
        m = _DURATION.match(text) if key == "causal_wait" else None
        if m:
            value = float(m.group(1)) * _MS[m.group(2)]
    return 0 if value <= 0 else max(1, int(round(value)))


def _broken(conn):
    """A DB-API connection that is closed or lost (psycopg2: closed is 2
    once an operation found the server gone; psycopg 3: broken)."""
    closed = getattr(conn, "closed", 0)
    return bool(closed) or bool(getattr(conn, "broken", False))


def _in_transaction(wrapper):
    """An atomic block or a manual transaction is open on this alias."""
    return wrapper.in_atomic_block or (wrapper.connection is not None and not wrapper.autocommit)


class Runtime:
    """The process's view of the cluster that DATABASES describes."""

    def __init__(self, cfg):
        self.conninfo = cfg["conninfo"]
        self.options = cfg.get("options") or ""
        self.aliases = list(cfg["nodes"])
        self.all_aliases = {DEFAULT, *self.aliases}
        self.causal_wait_ms = causal_wait_ms(self.options)
        self.addresses = []
        for p in node_params(parse(self.conninfo)):
            port = p.get("port") or os.environ.get("PGPORT") or "5432"
            self.addresses.append(({p.get("host"), p.get("hostaddr")} - {None}, port))
        rr = getattr(settings, "REPLROUTE", {}) or {}
        self.primary_apps = set(rr.get("PRIMARY_APPS", PRIMARY_APPS))
        self._lock = threading.Lock()
        self._cluster = None
        self._pid = None
        self._next_try = 0.0

    # -- the Cluster ---------------------------------------------------

    def cluster(self):
        """The process's Cluster, or None while it cannot be created."""
        c = self._cluster
        if c is not None and self._pid == os.getpid():
            return c
        with self._lock:
            if self._cluster is not None and self._pid == os.getpid():
                return self._cluster
            # after fork the parent's handle is dropped, never finished
            # (finishing would end the parent's sessions)
            self._cluster = None
            if time.monotonic() < self._next_try and self._pid == os.getpid():
                return None
            self._pid = os.getpid()
            try:
                self._cluster = Cluster(self.conninfo, self.options, on_event=self._event)
            except Error as e:
                self._next_try = time.monotonic() + RETRY_CLUSTER_SECONDS
                log.warning("replroute: no cluster view, everything goes to %r for %g s: %s",
                            DEFAULT, RETRY_CLUSTER_SECONDS, e.message)
                return None
            return self._cluster

    def _event(self, ev):
        alias = self.aliases[ev.node] if 0 <= ev.node < len(self.aliases) else None
        if ev.type in ("node_down", "primary_changed"):
            level = logging.WARNING
        else:
            level = logging.INFO
        log.log(level, "replroute: %s %s%s", ev.type, alias or "",
                (": " + ev.message) if ev.message else "")

    # -- routing -------------------------------------------------------

    def read_alias(self, model=None, avoid=None):
        """Where a read goes now (see the module docstring).  avoid: a node
        index that just failed (a retry): if the library picks it again,
        the read goes to 'default'."""
        dflt = connections[DEFAULT]
        if _in_transaction(dflt):
            return DEFAULT      # the open transaction's reads stay in it
        if model is not None and model._meta.app_label in self.primary_apps:
            return self.default_alias(None)
        st = state()
        if st.dirty:
            self.fetch_token(st)
        if st.pinned:
            _count("fallback")
            return self.default_alias(None)
        cl = self.cluster()
        if cl is None:
            _count("fallback")
            return self.default_alias(None)
        try:
            ch = cl.choose(READ, st.token)
        except Error:
            _count("fallback")
            return self.default_alias(None)
        if ch.index == ch.primary or ch.index == avoid or ch.index >= len(self.aliases):
            if ch.index != ch.primary:
                _count("fallback")
            return self.default_alias(ch.primary)
        alias = self.aliases[ch.index]
        if ch.needs_wait and st.token and st.waited.get(alias, -1) < st.token_int:
            if not self._wait(alias, st.token):
                _count("fallback")
                return self.default_alias(ch.primary)
            st.waited[alias] = st.token_int
        wrapper = connections[alias]
        if wrapper.connection is not None and not _in_transaction(wrapper) and _broken(wrapper.connection):
            wrapper.close()
        _count("read:" + alias)
        return alias

    def _wait(self, alias, token):
        """CALL replroute.wait_for_lsn(token, causal_wait) on alias: True if
        it returned 'success'."""
        if self.causal_wait_ms <= 0:
            return False
        wrapper = connections[alias]
        if _in_transaction(wrapper) or not hasattr(wrapper, "replroute_wait_for_lsn"):
            return False
        _count("wait")
        try:
            ok = wrapper.replroute_wait_for_lsn(token, self.causal_wait_ms) == "success"
        except DatabaseError as e:
            log.info("replroute: causal wait on %r failed: %s", alias, e)
            return False
        if ok:
            _count("wait_ok")
        return ok

    def write_alias(self):
        """'default', after dropping its connection if it is dead or not to
        the node the library knows as primary."""
        primary = None
        cl = self.cluster()
        if cl is not None:
            try:
                primary = cl.choose(WRITE).index
            except Error:
                primary = -1
        return self.default_alias(primary)

    def default_alias(self, primary):
        """'default'; its connection is closed first (outside a transaction)
        if it is lost, or open to another node than primary (an index, or
        None/-1 when unknown), so that Django reconnects, and libpq finds
        the primary (the backend lists the library's primary first)."""
        w = connections[DEFAULT]
        if w.connection is not None and not _in_transaction(w):
            node = getattr(w, "replroute_connected_node", None)
            if _broken(w.connection):
                _count("default_dropped")
                w.close()
            elif primary is not None and primary >= 0 and node is not None and node != primary:
                log.warning("replroute: %r is connected to node %d, the primary is node %d: "
                            "reconnecting", DEFAULT, node, primary)
                _count("default_dropped")
                w.close()
        return DEFAULT

    def retry_alias(self, wrapper):
        """Where a read that failed on wrapper's node goes instead."""
        _count("retry")
        if wrapper.connection is not None and _broken(wrapper.connection):
            wrapper.close()
        return self.read_alias(avoid=getattr(wrapper, "replroute_node", None))

    def fetch_token(self, st=None):
        """The token after this request's writes: the primary's WAL insert
        position now (after the commit), on 'default'."""
        st = st or state()
        w = connections[DEFAULT]
        st.dirty = False
        try:
            with w.cursor() as cur:
                cur.execute("SELECT pg_current_wal_insert_lsn()::text")
                token = cur.fetchone()[0]
        except DatabaseError as e:
            log.warning("replroute: could not fetch the session token, reads of this "
                        "request stay on %r: %s", DEFAULT, e)
            st.pinned = True
            return None
        _count("token_fetch")
        st.raise_token(token)
        return token

    def write_order(self):
        """The node indexes 'default' should list when it connects: the
        library's primary first, then the other nodes that answer (read-
        only ones, which libpq skips at once); nodes that are down or have
        never answered are left out, so a connect never waits on them.
        None: keep the configured list (nothing known)."""
        cl = self.cluster()
        if cl is None:
            return None
        try:
            primary = cl.choose(WRITE).index
        except Error:
            primary = -1
        up = [n.index for n in cl.nodes if n.state == "up" and n.index != primary]
        if primary < 0 and not up:
            return None
        return ([primary] if primary >= 0 else []) + up

    def node_of(self, host, port):
        """The index of the node at host:port, or None."""
        port = str(port)
        for i, (names, p) in enumerate(self.addresses):
            if host in names and p == port:
                return i
        return None


_runtime = None
_runtime_lock = threading.Lock()


def runtime():
    """The process's Runtime, from DATABASES['default']['REPLROUTE']."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                cfg = settings.DATABASES.get(DEFAULT, {}).get("REPLROUTE")
                if not cfg:
                    raise ImproperlyConfigured(
                        "replroute: DATABASES was not built by replroute.django.databases()")
                _runtime = Runtime(cfg)
    return _runtime


def _reset_for_tests():
    global _runtime
    with _runtime_lock:
        _runtime = None
