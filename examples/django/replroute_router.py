"""A Django database router that sends reads only to fresh-enough standbys.

Django's classic primary/replica router picks a replica at random, however
far behind it is.  This one asks each replica, from inside the server, whether
it is fit for reads::

    SELECT replroute.is_routable(max_lag_bytes, max_lag_seconds)

(see the replroute README) and spreads reads round-robin over the replicas
that answer true.  Writes, migrations and reads inside a transaction on the
primary go to the primary; when no replica is fit, reads go to the primary.

Settings (all optional)::

    DATABASE_ROUTERS = ['replroute_router.ReplrouteRouter']
    REPLROUTE = {
        'PRIMARY': 'default',           # alias of the primary
        'REPLICAS': ['replica1', 'replica2'],  # default: every other alias
        'MAX_LAG_BYTES': None,          # None: the server's
        'MAX_LAG_SECONDS': None,        #   replroute.max_lag_* settings
        'CHECK_INTERVAL': 0.1,          # seconds a health answer is reused
        'REQUIRE_STREAMING': True,      # a standby cut off from its
                                        #   upstream is not fit either
        'CONNECT_TIMEOUT': 2,           # seconds, for health connections
        'RETRY_INTERVAL': 1.0,          # seconds before reconnecting to a
                                        #   replica whose check failed
        'PIN_IN_TRANSACTION': True,     # reads inside atomic() on the
                                        #   primary stay on the primary
    }

Each process keeps, per replica, one dedicated health connection (psycopg2,
autocommit, built from that alias's DATABASES entry), so a check never runs
inside an application transaction.  A check that fails (replica down,
extension missing, ...) marks the replica unfit, is logged at WARNING on the
logger ``replroute`` and never raises into the request.
"""

import logging
import os
import threading
import time

import psycopg2
from django.conf import settings
from django.db import connections

__all__ = ['ReplrouteRouter', 'primary_lsn', 'wait_for_lsn']

logger = logging.getLogger('replroute')

# Health query.  is_routable() is true on a primary; streaming is NULL there.
# A standby whose WAL receiver is not streaming cannot tell how far behind
# it is falling (its lag only counts WAL it has heard of), so unless
# REQUIRE_STREAMING is off it is not fit either.
_CHECK_SQL = ('SELECT replroute.is_routable(%s::bigint, %s::float8)'
              ' AND (%s OR coalesce(s.streaming, true))'
              ' FROM replroute.node_status() s')

# OPTIONS keys that Django's postgresql backend consumes itself: they are not
# libpq connection parameters.
_DJANGO_OPTIONS = {'isolation_level', 'assume_role', 'server_side_binding',
                   'pool'}

# Health connections inherited over fork() belong to the parent: the child
# must neither use nor close them (closing would end the parent's session),
# so it only drops them, and keeps them here so that they are never garbage
# collected (which would close them).
_inherited = []


class _Replica:
    """Health state of one replica alias, private to one process."""

    def __init__(self, alias):
        self.alias = alias
        self.lock = threading.Lock()    # held while checking
        self.conn = None                # the health connection
        self.fit = False                # last answer
        self.checked_at = float('-inf')  # time.monotonic() of that answer
        self.retry_at = float('-inf')   # no reconnect before this
        self.failing = False            # last check failed (log once)


class ReplrouteRouter:
    """Route writes to the primary and reads to replicas fit for reads."""

    def __init__(self):
        conf = getattr(settings, 'REPLROUTE', {})
        self.primary = conf.get('PRIMARY', 'default')
        replicas = conf.get('REPLICAS')
        if replicas is None:
            replicas = [a for a in settings.DATABASES if a != self.primary]
        self.replicas = list(replicas)
        self.max_lag_bytes = conf.get('MAX_LAG_BYTES')
        self.max_lag_seconds = conf.get('MAX_LAG_SECONDS')
        self.check_interval = float(conf.get('CHECK_INTERVAL', 0.1))
        self.require_streaming = bool(conf.get('REQUIRE_STREAMING', True))
        self.connect_timeout = conf.get('CONNECT_TIMEOUT', 2)
        self.retry_interval = float(conf.get('RETRY_INTERVAL', 1.0))
        self.pin_in_transaction = bool(conf.get('PIN_IN_TRANSACTION', True))
        self.aliases = {self.primary, *self.replicas}
        self._lock = threading.Lock()   # guards _pid, _state and _turn
        self._pid = None
        self._state = []
        self._turn = 0

    # -- Django's router interface --------------------------------------

    def db_for_read(self, model, **hints):
        """A replica fit for reads (round-robin), else the primary."""
        if (self.pin_in_transaction
                and connections[self.primary].in_atomic_block):
            return self.primary
        fit = [r.alias for r in self._replicas() if self._is_fit(r)]
        if not fit:
            return self.primary
        with self._lock:
            self._turn += 1
            return fit[(self._turn - 1) % len(fit)]

    def db_for_write(self, model, **hints):
        return self.primary

    def allow_relation(self, obj1, obj2, **hints):
        """Objects on any of our aliases are the same data."""
        if obj1._state.db in self.aliases and obj2._state.db in self.aliases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        """Migrate on the primary only; replicas get it by replication."""
        if db == self.primary:
            return True
        if db in self.replicas:
            return False
        return None

    # -- health checks ----------------------------------------------------

    def _replicas(self):
        """This process's health state (fresh after a fork)."""
        with self._lock:
            if self._pid != os.getpid():
                _inherited.extend(r.conn for r in self._state if r.conn)
                self._state = [_Replica(a) for a in self.replicas]
                self._pid = os.getpid()
            return self._state

    def _is_fit(self, replica):
        """The replica's health, asked at most once per CHECK_INTERVAL."""
        if time.monotonic() - replica.checked_at < self.check_interval:
            return replica.fit
        # One thread checks; the others go on with the previous answer
        # rather than queue behind a slow replica.
        if not replica.lock.acquire(blocking=False):
            return replica.fit
        try:
            now = time.monotonic()
            if now - replica.checked_at >= self.check_interval:
                replica.fit = self._check(replica, now)
                replica.checked_at = now
            return replica.fit
        finally:
            replica.lock.release()

    def _check(self, replica, now):
        """Run the health query on the replica's health connection."""
        try:
            if replica.conn is None:
                if now < replica.retry_at:
                    return False
                replica.conn = self._connect(replica.alias)
            with replica.conn.cursor() as cur:
                cur.execute(_CHECK_SQL, (self.max_lag_bytes,
                                         self.max_lag_seconds,
                                         not self.require_streaming))
                fit = bool(cur.fetchone()[0])
        except Exception as exc:    # never fail the request over a check
            if not replica.failing:
                logger.warning('replica %r is not used for reads: '
                               'health check failed: %s',
                               replica.alias, ' '.join(str(exc).split()))
            replica.failing = True
            replica.retry_at = now + self.retry_interval
            self._close(replica)
            return False
        if replica.failing:
            logger.info('replica %r answers health checks again',
                        replica.alias)
            replica.failing = False
        if fit != replica.fit:
            logger.debug('replica %r is %s', replica.alias,
                         'fit for reads' if fit else 'too far behind')
        return fit

    def _connect(self, alias):
        """A new health connection to alias, from its DATABASES entry."""
        db = settings.DATABASES[alias]
        params = {k: v for k, v in db.get('OPTIONS', {}).items()
                  if k not in _DJANGO_OPTIONS}
        for key, param in (('NAME', 'dbname'), ('USER', 'user'),
                           ('PASSWORD', 'password'), ('HOST', 'host'),
                           ('PORT', 'port')):
            if db.get(key):
                params[param] = db[key]
        params['connect_timeout'] = self.connect_timeout
        params.setdefault('application_name', 'replroute health check')
        conn = psycopg2.connect(**params)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                # a server that hangs must not hang the request for long
                cur.execute('SET statement_timeout = %s',
                            (int(float(self.connect_timeout) * 1000),))
        except Exception:
            conn.close()
            raise
        return conn

    @staticmethod
    def _close(replica):
        if replica.conn is not None:
            try:
                replica.conn.close()
            except Exception:
                pass
            replica.conn = None


# -- read-your-writes helpers ------------------------------------------------

def primary_lsn(using='default'):
    """The primary's WAL insert position, as text, e.g. '0/3000148'.

    Call it after a write has committed; a replica that has replayed this
    position sees that write.
    """
    with connections[using].cursor() as cur:
        cur.execute('SELECT pg_current_wal_insert_lsn()::text')
        return cur.fetchone()[0]


def wait_for_lsn(alias, lsn, timeout_ms=100):
    """Wait until replica alias has replayed lsn.

    Returns 'success', 'timeout' or 'not in recovery' (alias is a primary).
    The wait holds no snapshot, so it never holds back replay; it must not
    run inside transaction.atomic() on alias (SQLSTATE 25001).
    """
    with connections[alias].cursor() as cur:
        cur.execute('CALL replroute.wait_for_lsn(%s::pg_lsn, %s, NULL)',
                    (lsn, int(timeout_ms)))
        return cur.fetchone()[0]
