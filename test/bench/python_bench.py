#!/usr/bin/python3
"""python_bench.py: figures for the Python package's Django router.

    python_bench.py blackhole CONNINFO [SECONDS]
    python_bench.py tokens    CONNINFO [READS]
    python_bench.py failover  CONNINFO

CONNINFO lists every node of a running cluster with the replroute
extension (primary first or not).  Prints "name: value" lines on stdout
("#" lines are comments), progress on stderr.  Each phase runs the example
project (examples/django) in-process with Django's test client; its tables
are created with migrate (in CONNINFO's database) if missing.

blackhole  adds a listener that accepts TCP and never answers to the
           list, then times db_for_read() for SECONDS (default 8, over the
           connect timeout of 2 s and the library's reconnects):
           django_blackhole_db_for_read_median_ms / _max_ms (targets: under
           1 ms and 50 ms).
tokens     READS times (default 200): a write request, then, once every
           standby has replayed its token, the next request's read:
           django_token_read_replica_share (target: at least 0.9).
failover   writes every 20 ms and prints "# writing"; then waits for a
           line "promoted EPOCH" on stdin (sent right after a standby was
           promoted, the old primary being dead or not) and prints
           django_failover_first_write_ms, the time from EPOCH to the end
           of the first write that succeeded on a node other than the old
           primary (target: under 2000).  Destroys the cluster's topology:
           run it last (test/bench/PythonBench.pm does it on a cluster of
           its own).

Environment: REPLROUTE_EXAMPLE (default ../../examples/django from here),
REPLROUTE_OPTIONS (default "max_lag_seconds=1s causal_wait=200ms").
The package is imported from ../../python unless installed.
"""

import os
import socket
import statistics
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
EXAMPLE = os.environ.get("REPLROUTE_EXAMPLE", os.path.join(HERE, "..", "..", "examples", "django"))


def progress(msg):
    sys.stderr.write("python_bench: %s\n" % msg)
    sys.stderr.flush()


def figure(name, value):
    sys.stdout.write("%s: %s\n" % (name, value))
    sys.stdout.flush()


def black_hole():
    """A listener that accepts and never answers; returns its port."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    held = []

    def accept():
        while True:
            held.append(s.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    return s.getsockname()[1]


def setup(conninfo):
    os.environ["REPLROUTE_CONNINFO"] = conninfo
    os.environ.setdefault("REPLROUTE_OPTIONS", "max_lag_seconds=1s causal_wait=200ms")
    os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    sys.path.insert(0, EXAMPLE)
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0, interactive=False)


def with_extra_node(conninfo, host, port):
    from replroute import conninfo as ci
    params = ci.parse(conninfo)
    nodes = ci.node_params(params)
    hosts = [n.get("host", "") for n in nodes] + [host]
    ports = [n.get("port", "") for n in nodes] + [str(port)]
    params.pop("hostaddr", None)
    params["host"] = ",".join(hosts)
    params["port"] = ",".join(ports)
    params.setdefault("connect_timeout", "2")
    return ci.build(params)


def phase_blackhole(conninfo, seconds="8"):
    port = black_hole()
    setup(with_extra_node(conninfo, "127.0.0.1", port))
    from django.db import router
    from notes.models import Note
    times, aliases = [], {}
    end = time.monotonic() + float(seconds)
    router.db_for_read(Note)        # the first call creates the Cluster
    while time.monotonic() < end:
        t = time.perf_counter()
        a = router.db_for_read(Note)
        times.append((time.perf_counter() - t) * 1000)
        aliases[a] = aliases.get(a, 0) + 1
        time.sleep(0.002)
    from replroute import conninfo as ci
    hole = "node%d" % len(ci.node_params(ci.parse(conninfo)))
    progress("db_for_read() x %d, black hole %s got %d" % (len(times), hole, aliases.get(hole, 0)))
    figure("django_blackhole_db_for_read_calls", len(times))
    figure("django_blackhole_db_for_read_median_ms", "%.4f" % statistics.median(times))
    figure("django_blackhole_db_for_read_p99_ms", "%.4f" % sorted(times)[int(len(times) * 0.99)])
    figure("django_blackhole_db_for_read_max_ms", "%.3f" % max(times))
    figure("django_blackhole_reads_on_hole", aliases.get(hole, 0))


def _standby_conns(conninfo):
    import psycopg2
    import replroute
    from replroute import conninfo as ci
    nodes = ci.node_params(ci.parse(conninfo))
    with replroute.Cluster(conninfo) as c:
        c.refresh()
        standbys = [n.index for n in c.nodes if n.role == "standby"]
    out = []
    for i in standbys:
        conn = psycopg2.connect(ci.build(nodes[i]))
        conn.autocommit = True
        out.append(conn)
    return out


def _replayed(conns, token):
    for conn in conns:
        with conn.cursor() as cur:
            cur.execute("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", [token])
            if not cur.fetchone()[0]:
                return False
    return True


def phase_tokens(conninfo, reads="200"):
    setup(conninfo)
    from django.test import Client
    from replroute.django import runtime as rt
    conns = _standby_conns(conninfo)
    if not conns:
        raise SystemExit("python_bench: no standby in %s" % conninfo)
    on_standby, lat = 0, []
    for _ in range(int(reads)):
        client = Client()
        pk = client.post("/notes/", {"text": uuid.uuid4().hex}).json()["id"]
        # the token the middleware kept, as the next request will see it
        token = client.session.get("_replroute_token") if "sessionid" in client.cookies else None
        end = time.monotonic() + 10
        while token and not _replayed(conns, token) and time.monotonic() < end:
            time.sleep(0.005)
        t = time.perf_counter()
        r = client.get("/notes/%d/" % pk)
        lat.append((time.perf_counter() - t) * 1000)
        if r.json().get("read_from", "default") != "default":
            on_standby += 1
    s = rt.stats()
    progress("token reads: %d of %s on standbys; router %s" % (on_standby, reads, s))
    figure("django_token_reads", reads)
    figure("django_token_read_replica_share", "%.3f" % (on_standby / int(reads)))
    figure("django_token_read_request_median_ms", "%.3f" % statistics.median(lat))
    figure("django_token_read_causal_waits", s.get("wait", 0))


def phase_failover(conninfo):
    setup(conninfo)
    from django.db import connections
    from django.test import Client
    log, stop = [], threading.Event()
    old = {}

    def port():
        conn = connections["default"].connection
        return conn.info.port if conn is not None and not conn.closed else None

    def writer():
        client = Client()
        while not stop.is_set():
            t = time.time()
            try:
                ok = client.post("/notes/", {"text": "w"}).status_code == 200
            except Exception:  # noqa: BLE001 (a failed write is data here)
                ok = False
            log.append((t, time.time(), ok, port() if ok else None))
            time.sleep(0.02)

    th = threading.Thread(target=writer)
    th.start()
    while not any(ok for _, _, ok, _ in log):
        time.sleep(0.01)
    old["port"] = next(p for _, _, ok, p in log if ok)
    sys.stdout.write("# writing (primary port %s)\n" % old["port"])
    sys.stdout.flush()
    line = sys.stdin.readline().split()
    at = float(line[1]) if len(line) == 2 and line[0] == "promoted" else time.time()
    first, end = None, time.time() + 30
    while first is None and time.time() < end:
        for t, t_end, ok, p in list(log):
            if ok and t >= at and p != old["port"]:
                first = t_end
                break
        time.sleep(0.005)
    stop.set()
    th.join()
    failed = sum(1 for t, _, ok, _ in log if not ok and t >= at - 5)
    figure("django_failover_first_write_ms", "%.0f" % ((first - at) * 1000) if first else "n/a")
    figure("django_failover_failed_writes", failed)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("blackhole", "tokens", "failover"):
        sys.stderr.write(__doc__)
        return 2
    globals()["phase_" + sys.argv[1]](*sys.argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
