"""The binding's API against a real cluster; TAP-style lines on stdout.

    python3 api_check.py CONNINFO PRIMARY_PORT STANDBY_PORT...

CONNINFO lists the primary, then the standbys, all on 127.0.0.1.  Prints
"ok - name" or "not ok - name" per check, with "# " lines of detail;
test/t/051_python.pl turns them into its own TAP.
"""

import os
import sys
import threading
import time

import replroute
from replroute import Reason

failures = 0


def ok(cond, name, detail=None):
    global failures
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        failures += 1
        if detail is not None:
            for line in str(detail).splitlines():
                print("# " + line)
    sys.stdout.flush()
    return cond


def raises(fn, name):
    try:
        fn()
    except replroute.Error as e:
        ok(True, name)
        return e
    ok(False, name, "no replroute.Error raised")
    return None


def main():
    ci = sys.argv[1]
    primary = int(sys.argv[2])
    standbys = [int(p) for p in sys.argv[3:]]
    ports = [primary] + standbys

    ok(replroute.__version__ == replroute.library_version() == "1.1.0",
       "version 1.1.0, in step with the loaded library",
       (replroute.__version__, replroute.library_version()))

    with replroute.Cluster(ci, "max_lag_seconds=5s") as c:
        c.refresh()
        nodes = c.nodes
        ok([n.port for n in nodes] == ports, "nodes in conninfo order", nodes)
        ok([n.role for n in nodes] == ["primary"] + ["standby"] * len(standbys),
           "roles discovered from node_status()", nodes)
        ok(all(n.host == "127.0.0.1" and n.state == "up" and n.reason == Reason.OK
               and n.reason_name == "ok" for n in nodes), "every node up, reason ok", nodes)
        ok(all(isinstance(n.lag_bytes, int) and n.lag_bytes >= 0 and n.lag_seconds is not None
               and n.timeline == 1 and replroute.lsn_to_int(n.wal_lsn) > 0 for n in nodes),
           "lag, timeline and WAL position of every node",
           [(n.lag_bytes, n.lag_seconds, n.timeline, n.wal_lsn) for n in nodes])
        ok(all(n.routable for n in nodes), "every node routable")
        ok(c.primary is not None and c.primary.port == primary and c.primary_index() == 0,
           "primary / primary_index()")
        ok(len(c) == len(ports), "len(cluster) is the node count")

        w = c.route_write()
        ok(w.port == primary and w.role == "primary" and w.host == "127.0.0.1",
           "route_write(): the primary", w)
        reads = [c.route_read() for _ in range(10)]
        ok(all(r.role == "standby" and r.port in standbys and not r.needs_wait for r in reads),
           "route_read(): standbys, no wait needed", reads)
        ok({r.port for r in reads} == set(standbys), "route_read(): round robin over the standbys",
           [r.port for r in reads])

        far = c.route_read("FFFFFFF/0")
        ok(far.role == "standby" and far.needs_wait,
           "route_read(token beyond every standby): a standby to wait on", (far, far.needs_wait))
        none = c.route_read("")
        ok(none.role == "standby" and not none.needs_wait, "route_read(''): no token")
        e = raises(lambda: c.route_read("junk"), "route_read(malformed token) raises Error")
        ok(e is not None and "invalid session token" in e.message and e.reason is None,
           "... with the library's message and no reason", e and e.message)
        ch = c.choose(replroute.READ, "")
        ok(ch.index in range(1, len(ports)) and ch.primary == 0 and not ch.needs_wait,
           "choose(READ): index, needs_wait, primary", ch)
        ok(c.choose(replroute.WRITE).index == 0, "choose(WRITE): the primary")

        ok(c.session_token == "", "no session token before a write", c.session_token)
        c.set_session_token("0/10")
        ok(c.session_token == "0/10", "set_session_token() adopts a token", c.session_token)
        c.set_session_token("0/5")
        ok(c.session_token == "0/10", "... and never lowers it", c.session_token)
        e = raises(lambda: c.set_session_token("bogus"), "set_session_token(malformed) raises Error")
        ok(e is not None and e.message != "", "... with the library's message", e and e.message)
        c.record_write()
        tok = c.session_token
        ok(replroute.lsn_to_int(tok) > 0x10, "record_write(): the primary's position as token", tok)

        c.refresh()
    ok(c.closed, "the context manager closes the handle")
    e = raises(lambda: c.route_read(), "a closed Cluster raises Error")
    ok(e is not None and "closed" in e.message, "... saying it is closed", e and e.message)
    c.close()
    ok(True, "close() twice is harmless")

    # a node that is down in the list: the handle is fine, the node is never used
    down_ci = ci.replace("host=", "host=127.0.0.1,", 1).replace("port=", "port=1,", 1)
    with replroute.Cluster(down_ci) as c:
        c.refresh()
        n0 = c.nodes[0]
        ok(n0.state == "down" and n0.reason == Reason.DOWN and n0.reason_name == "down"
           and n0.error != "", "a refused node: state down, reason DOWN, an error", n0)
        ok(all(c.route_read().index != 0 for _ in range(20)), "reads never go to the down node")
        ok(c.route_write().port == primary, "writes still find the primary")

    # primary alone: reads fall back to it, or, with fallback=error, fail
    p_ci = "host=127.0.0.1 port=%d dbname=postgres" % primary
    with replroute.Cluster(p_ci) as c:
        ok(c.route_read().role == "primary", "no standby listed: reads fall back to the primary")
    with replroute.Cluster(p_ci, "fallback=error") as c:
        e = raises(c.route_read, "fallback=error and no standby: route_read() raises Error")
        ok(e is not None and "no standby fit" in e.message and len(e.nodes) == 1
           and e.nodes[0].role == "primary", "... with the message and the nodes", e and e.message)
        ok(c.route_write().port == primary, "... while route_write() works")
    # standbys alone: no primary for a write
    s_ci = "host=127.0.0.1 port=%d dbname=postgres" % standbys[0]
    with replroute.Cluster(s_ci) as c:
        e = raises(c.route_write, "no primary listed: route_write() raises Error")
        ok(e is not None and "no primary" in e.message, "... saying so", e and e.message)

    # threads: one Cluster, a lock around every call
    with replroute.Cluster(ci) as c:
        errors, seen_idx = [], set()

        def worker():
            try:
                for i in range(2000):
                    ch = c.choose(replroute.READ if i % 3 else replroute.WRITE, "")
                    seen_idx.add(ch.index)
                    if i % 500 == 0:
                        c.nodes
            except Exception as ex:     # noqa: BLE001 (reported)
                errors.append(repr(ex))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok(not errors and seen_idx <= set(range(len(ports))),
           "4 threads x 2000 calls on one Cluster", errors[:3])

        # fork: the child must not use (or finish) the parent's handle
        r, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            out = []
            try:
                c.route_read()
                out.append("parent handle worked")
            except replroute.Error as ex:
                out.append("fork-error" if "fork" in ex.message else ex.message)
            try:
                with replroute.Cluster(ci) as c2:
                    out.append("child-ok:%d" % c2.route_write().port)
            except Exception as ex:     # noqa: BLE001
                out.append(repr(ex))
            del c                       # dropped, never finished
            os.write(wfd, " ".join(out).encode())
            os._exit(0)
        os.close(wfd)
        child = os.read(r, 1000).decode()
        os.waitpid(pid, 0)
        os.close(r)
        ok(child == "fork-error child-ok:%d" % primary,
           "after fork: the parent's Cluster refuses, a new one works", child)
        time.sleep(0.3)
        c.refresh()
        ok(all(n.state == "up" for n in c.nodes) and c.route_write().port == primary,
           "the parent's handle is intact after the child exited", c.nodes)

    print("1..0 # done, %d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
