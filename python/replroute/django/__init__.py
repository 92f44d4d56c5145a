"""replroute for Django: DATABASES from one connection string, a database
router that asks libreplroute where each read goes, and a middleware that
carries read-your-writes tokens between requests.

settings.py:

    from replroute.django import databases

    DATABASES = databases("host=db1,db2,db3 dbname=app user=app",
                          options="max_lag_seconds=0.5s causal_wait=200ms")
    DATABASE_ROUTERS = ["replroute.django.ReplrouteRouter"]
    MIDDLEWARE = [
        ...,
        "django.contrib.sessions.middleware.SessionMiddleware",   # if used
        "replroute.django.SessionTokenMiddleware",
        ...,
    ]

See the package README for what goes where, and why.
"""

from ..conninfo import node_params, parse
from ..errors import Error

# The ENGINE of every alias databases() builds: Django's PostgreSQL
# backend, plus what routing needs (backend/base.py).
ENGINE = "replroute.django.backend"
DEFAULT = "default"

# libpq keywords that become Django's own settings, not OPTIONS
_DJANGO_KEYS = {"dbname": "NAME", "user": "USER", "password": "PASSWORD"}

# Connection defaults for every alias: a node that vanishes (powered off,
# partitioned) is noticed by the kernel within seconds instead of the TCP
# defaults' minutes.  The conninfo and base["OPTIONS"] override them.
_OPTION_DEFAULTS = {
    "connect_timeout": "2",         # libpq's minimum: smaller values mean 2
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "1",
    "keepalives_count": "3",
    "tcp_user_timeout": "5000",     # ms of unacknowledged data
}


def node_alias(index):
    """The Django alias of node number index (conninfo order)."""
    return "node%d" % index


def databases(conninfo, base=None, options=None):
    """A DATABASES dict for the cluster conninfo lists (libpq syntax,
    keyword/value or URI, one host/port pair per node).

    'default' is the whole host list with target_session_attrs=read-write:
    writes, atomic() blocks and migrations go there, and on a reconnect
    libpq finds whichever node is primary now.  'node0', 'node1', ... (one
    per node, in conninfo order) are the read aliases: the router sends a
    read to the alias of the node the library picks; they are test mirrors
    of 'default', never migrated, never run ATOMIC_REQUESTS.

    base: settings applied to every alias (CONN_MAX_AGE, TIME_ZONE,
    OPTIONS, ATOMIC_REQUESTS for 'default', ...); the conninfo's values win
    over base's, base's over replroute's defaults.  options: libreplroute's
    options string, for the router's Cluster.  Credentials belong in the
    conninfo (or libpq's environment and passfile): the library connects
    to every node with it too.
    """
    params = parse(conninfo)
    nodes = node_params(params)
    base = dict(base or {})
    base_options = dict(base.pop("OPTIONS", {}) or {})
    for key in ("ENGINE", "HOST", "PORT"):
        base.pop(key, None)

    def entry(p):
        d = dict(base)
        d["ENGINE"] = ENGINE
        opts = dict(_OPTION_DEFAULTS)
        opts.update(base_options)
        for k, v in p.items():
            if k in _DJANGO_KEYS:
                d[_DJANGO_KEYS[k]] = v
            elif k not in ("host", "port"):
                opts[k] = v
        d["HOST"] = p.get("host", "")
        d["PORT"] = p.get("port", "")
        d["OPTIONS"] = opts
        return d

    out = {}
    default = entry(params)
    default["OPTIONS"]["target_session_attrs"] = "read-write"
    default["REPLROUTE"] = {
        "conninfo": conninfo,
        "options": options or "",
        "nodes": [node_alias(i) for i in range(len(nodes))],
    }
    out[DEFAULT] = default
    for i, p in enumerate(nodes):
        d = entry(p)
        d["OPTIONS"].pop("target_session_attrs", None)
        d["ATOMIC_REQUESTS"] = False    # would connect to every node per request
        d["TEST"] = dict(d.get("TEST") or {}, MIRROR=DEFAULT)
        d["REPLROUTE_NODE"] = i
        out[node_alias(i)] = d
    return out


def __getattr__(name):
    # the router and the middleware import Django's database layer: only
    # when asked for, so that settings.py can import databases()
    if name == "ReplrouteRouter":
        from .router import ReplrouteRouter
        return ReplrouteRouter
    if name == "SessionTokenMiddleware":
        from .middleware import SessionTokenMiddleware
        return SessionTokenMiddleware
    if name in ("stats", "note_write", "current_token"):
        from . import runtime
        return getattr(runtime, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


__all__ = ["databases", "node_alias", "ReplrouteRouter", "SessionTokenMiddleware",
           "Error", "DEFAULT", "ENGINE"]
