"""Connection strings, parsed by libpq's own PQconninfoParse."""

import ctypes

from . import _lib
from .errors import Error


def parse(conninfo):
    """The keywords set in a libpq connection string, as a dict.

    Keyword/value and URI syntax alike (libpq parses it); environment
    defaults are not applied.  Raises Error with libpq's message if the
    string is malformed.
    """
    pq = _lib.libpq()
    err = ctypes.c_void_p()
    opts = pq.PQconninfoParse(_lib.encode(conninfo), ctypes.byref(err))
    if not opts:
        msg = "out of memory"
        if err.value:
            msg = ctypes.cast(err, ctypes.c_char_p).value.decode("utf-8", "replace").strip()
            pq.PQfreemem(err)
        raise Error("invalid connection string: " + msg)
    try:
        out = {}
        i = 0
        while opts[i].keyword is not None:
            if opts[i].val is not None:
                out[opts[i].keyword.decode()] = opts[i].val.decode("utf-8", "replace")
            i += 1
        return out
    finally:
        pq.PQconninfoFree(opts)


def split_list(value, count):
    """A libpq comma-separated host/port list as count entries (a single
    entry applies to every host; a missing one is '')."""
    items = [] if value is None or value == "" else value.split(",")
    if len(items) == 1 and count > 1:
        items = items * count
    items += [""] * (count - len(items))
    return items[:count]


def node_params(params):
    """One dict of keywords per node (host, hostaddr and port split)."""
    def length(key):
        value = params.get(key)
        return len(value.split(",")) if value else 0

    count = max(length("host"), length("hostaddr"), 1)
    hosts = split_list(params.get("host"), count)
    addrs = split_list(params.get("hostaddr"), count)
    ports = split_list(params.get("port"), count)
    nodes = []
    for i in range(count):
        p = {k: v for k, v in params.items() if k not in ("host", "hostaddr", "port")}
        if hosts[i]:
            p["host"] = hosts[i]
        if addrs[i]:
            p["hostaddr"] = addrs[i]
        if ports[i]:
            p["port"] = ports[i]
        nodes.append(p)
    return nodes


def quote(value):
    """A value as libpq keyword/value syntax needs it."""
    if value != "" and not any(c in value for c in " \t\n\\'"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def build(params):
    """A keyword/value connection string from a dict."""
    return " ".join("%s=%s" % (k, quote(str(v))) for k, v in params.items())
