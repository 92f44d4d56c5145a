"""The database backend of the aliases replroute.django.databases() builds:
Django's PostgreSQL backend with three additions.

- 'default': when it connects, the library's current primary is listed
  first (and nodes that are down are left out), so libpq, which follows
  target_session_attrs=read-write, goes straight to the primary after a
  promotion and never waits on a dead host; the node it reached is
  remembered, so that the router can drop a connection that is no longer
  to the primary.  Every statement that may write (anything but SELECT,
  SHOW, SET and transaction control) marks the request as having written,
  so that its next read first fetches the session token.
- the read aliases: a SELECT, outside a transaction, whose node fails
  (cannot be connected to, connection lost, server shutting down,
  cancelled by a recovery conflict) is retried once, on the node the
  library picks then, or on 'default' if it picks the same node again.
  A standby cannot write, and only SELECTs are retried, so a retry never
  runs a write twice.
- the read aliases: replroute_wait_for_lsn(token, ms), the causal wait
  the router runs before a read that must see a token.

Why a backend: the retry has to happen inside the statement, after the
router has chosen (Django gives a router no say once a query failed), and
must cover a failed connect as well as a lost connection; a backend sees
both, and hands the caller a cursor whose results come from the node that
answered.  An execute_wrapper sees only the statement, not the connect.
"""

from django.db import connections
from django.db.backends.postgresql import base as pg
from django.db.utils import DatabaseError, InterfaceError, OperationalError

from ..runtime import _in_transaction, note_write, runtime

Database = pg.Database

# statements that never write (the first keyword)
_READ_ONLY = {"SELECT", "SHOW", "SET", "RESET", "BEGIN", "START", "COMMIT", "END",
              "ROLLBACK", "SAVEPOINT", "RELEASE", "DECLARE", "FETCH", "MOVE", "CLOSE",
              "EXPLAIN", "VALUES", "TABLE", "DISCARD", "DEALLOCATE", "LISTEN", "UNLISTEN"}

# SQLSTATEs after which a read may run elsewhere: connection exceptions,
# the server shutting down or refusing connections, recovery conflicts
_NODE_FAILED_CLASSES = ("08",)
_NODE_FAILED_CODES = {"57P01", "57P02", "57P03", "40001", "40P01"}


def _first_word(sql):
    if isinstance(sql, bytes):
        sql = sql.decode("utf-8", "replace")
    elif not isinstance(sql, str):     # psycopg2.sql.Composed and the like
        return ""
    sql = sql.lstrip(" \t\r\n(")
    end = 0
    while end < len(sql) and sql[end].isalpha():
        end += 1
    return sql[:end].upper()


def _note_writes(execute, sql, params, many, context):
    if _first_word(sql) not in _READ_ONLY:
        note_write()
    return execute(sql, params, many, context)


def _node_failed(error, wrapper):
    """The error says the node went away (not that the query was wrong)."""
    conn = wrapper.connection
    if conn is not None and (getattr(conn, "closed", 0) or getattr(conn, "broken", False)):
        return True
    code = getattr(error, "pgcode", None) or getattr(getattr(error, "diag", None), "sqlstate", None)
    return bool(code) and (code[:2] in _NODE_FAILED_CLASSES or code in _NODE_FAILED_CODES)


class _RetryCursor:
    """A read alias's DB-API cursor that moves a failed SELECT to another
    node once; every other attribute is the current cursor's."""

    def __init__(self, wrapper, cursor, name):
        self._wrapper = wrapper
        self._cursor = cursor
        self._name = name
        self._retried = False

    def __getattr__(self, attr):
        return getattr(self._cursor, attr)

    def __setattr__(self, attr, value):
        if attr.startswith("_"):
            object.__setattr__(self, attr, value)
        else:
            setattr(self._cursor, attr, value)

    def __iter__(self):
        return iter(self._cursor)

    def execute(self, sql, params=None):
        try:
            return self._cursor.execute(sql, params)
        except Database.Error as e:
            target = self._retry_target(e, sql)
            if target is None:
                raise
        return self._switch(target).execute(sql, params)

    def _retry_target(self, error, sql):
        w = self._wrapper
        if self._retried or _first_word(sql) not in ("SELECT", "VALUES", "TABLE"):
            return None
        if w.in_atomic_block or not w.autocommit or not _node_failed(error, w):
            return None
        self._retried = True
        return runtime().retry_alias(w)

    def _switch(self, alias):
        target = connections[alias]
        target.ensure_connection()
        cursor = pg.DatabaseWrapper.create_cursor(target, self._name)
        try:
            self._cursor.close()
        except Database.Error:
            pass
        self._cursor = cursor
        return cursor


class DatabaseWrapper(pg.DatabaseWrapper):
    """See the module docstring."""

    def __init__(self, settings_dict, *args, **kwargs):
        super().__init__(settings_dict, *args, **kwargs)
        self.replroute_node = settings_dict.get("REPLROUTE_NODE")
        self.replroute_writes = bool(settings_dict.get("REPLROUTE"))
        self.replroute_connected_node = None
        if self.replroute_writes:
            self.execute_wrappers.append(_note_writes)

    # -- 'default' -----------------------------------------------------

    def get_connection_params(self):
        params = super().get_connection_params()
        if self.replroute_writes:
            order = runtime().write_order()
            if order:
                _reorder(params, order)
        return params

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        info = getattr(conn, "info", None)
        try:
            self.replroute_connected_node = runtime().node_of(info.host, info.port)
        except Exception:
            self.replroute_connected_node = None
        return conn

    # -- read aliases --------------------------------------------------

    def create_cursor(self, name=None):
        cursor = super().create_cursor(name)
        if self.replroute_node is None:
            return cursor
        return _RetryCursor(self, cursor, name)

    def _cursor(self, name=None):
        if self.replroute_node is None or self.connection is not None:
            return super()._cursor(name)
        try:
            self.ensure_connection()
        except (OperationalError, InterfaceError):
            if _in_transaction(self):
                raise
            alias = runtime().retry_alias(self)
            if alias == self.alias:
                raise
            # once only: the other node's connect and statement are not
            # retried again
            target = connections[alias]
            target.ensure_connection()
            cursor = pg.DatabaseWrapper._cursor(target, name)
            if isinstance(cursor.cursor, _RetryCursor):
                cursor.cursor._retried = True
            return cursor
        return super()._cursor(name)

    def replroute_wait_for_lsn(self, token, timeout_ms):
        """CALL replroute.wait_for_lsn(token, timeout_ms) on this node (no
        retry elsewhere); returns its status: 'success', 'timeout' or
        'not in recovery'."""
        self.ensure_connection()
        with self.wrap_database_errors:
            cur = pg.DatabaseWrapper.create_cursor(self)
            try:
                cur.execute("CALL replroute.wait_for_lsn(%s::pg_lsn, %s, NULL)",
                            [token, int(timeout_ms)])
                row = cur.fetchone()
            finally:
                cur.close()
        return row[0] if row else None


def _reorder(params, order):
    """List the nodes of params' host/hostaddr/port in this order."""
    keys = [k for k in ("host", "hostaddr", "port") if params.get(k)]
    lists = {k: str(params[k]).split(",") for k in keys}
    count = max((len(v) for v in lists.values()), default=0)
    if count < 2 or any(i >= count for i in order):
        return
    for k, items in lists.items():
        if len(items) == 1:
            continue            # one value for every host
        if len(items) != count:
            return              # not a list libpq would accept either
    for k, items in lists.items():
        if len(items) > 1:
            params[k] = ",".join(items[i] for i in order)


__all__ = ["DatabaseWrapper", "DatabaseError"]
