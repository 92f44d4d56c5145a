"""Drives the example Django project (examples/django) in-process with
Django's test client, for test/t/05x_python*.pl.

    python3 django_driver.py EXAMPLE_DIR

Environment: REPLROUTE_CONNINFO, REPLROUTE_OPTIONS (read by the example's
settings).  Reads one command per line on stdin, answers one JSON line on
stdout; see COMMANDS below.  Nothing here talks to the network but the
database connections the package opens.
"""

import json
import logging
import os
import random
import statistics
import sys
import threading
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "examples", "django"),
                HERE]
os.environ["DJANGO_SETTINGS_MODULE"] = "example_settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections, router  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

import replroute  # noqa: E402
from replroute.django import runtime as rt  # noqa: E402
from notes.models import Note  # noqa: E402


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


records = Records()
logging.getLogger("replroute").addHandler(records)
logging.getLogger("replroute").setLevel(logging.INFO)


def default_port():
    conn = connections["default"].connection
    return conn.info.port if conn is not None and not conn.closed else None


def cmd_migrate():
    call_command("migrate", verbosity=0, interactive=False)
    return {"ok": True}


def cmd_write(text=None):
    text = text or uuid.uuid4().hex
    r = Client().post("/notes/", {"text": text})
    return {"status": r.status_code, "json": r.json(), "port": default_port()}


def cmd_read():
    r = Client().get("/test/read/")
    return dict(r.json(), status=r.status_code)


def cmd_dbr(seconds="3", sleep_ms="5"):
    """db_for_read() in a loop for this long, with a db_for_write() every
    tenth time: their latency."""
    times, wtimes, aliases = [], [], {}
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        t = time.perf_counter()
        alias = router.db_for_read(Note)
        times.append((time.perf_counter() - t) * 1000)
        aliases[alias] = aliases.get(alias, 0) + 1
        if len(times) % 10 == 0:
            t = time.perf_counter()
            router.db_for_write(Note)
            wtimes.append((time.perf_counter() - t) * 1000)
        time.sleep(float(sleep_ms) / 1000)
    return {"calls": len(times), "median_ms": statistics.median(times), "max_ms": max(times),
            "first_ms": times[0], "aliases": aliases, "write_calls": len(wtimes),
            "write_max_ms": max(wtimes) if wtimes else None}


def cmd_requests(n="20"):
    """n GET requests: the slowest, and where their reads went."""
    client, times, read_from, errors = Client(), [], {}, []
    for _ in range(int(n)):
        t = time.perf_counter()
        try:
            r = client.get("/test/read/")
            a = r.json()["read_from"]
            read_from[a] = read_from.get(a, 0) + 1
        except Exception as e:  # noqa: BLE001 (reported)
            errors.append(repr(e))
        times.append((time.perf_counter() - t) * 1000)
    return {"max_ms": max(times), "median_ms": statistics.median(times),
            "read_from": read_from, "errors": errors}


_slow = {}


def cmd_slow_start(seconds="2"):
    def run():
        try:
            r = Client().get("/test/slow/", {"seconds": seconds})
            _slow["result"] = dict(r.json(), status=r.status_code)
        except Exception as e:  # noqa: BLE001
            _slow["result"] = {"error": repr(e)}
        finally:
            connections.close_all()

    _slow.clear()
    _slow["thread"] = threading.Thread(target=run)
    _slow["thread"].start()
    return {"started": True}


def cmd_slow_result():
    _slow["thread"].join(120)
    return dict(_slow.get("result", {"error": "no result"}), stats=rt.stats())


def cmd_forced(index):
    """A read for which the library's first pick is forced to node index
    (known dead, the library not told): the connect fails, the read is
    retried."""
    cl = rt.runtime().cluster()
    real = cl.choose
    calls = []

    def fake(intent, token=None):
        ch = real(intent, token)
        if intent == replroute.READ and not calls:
            calls.append(1)
            return replroute.Choice(int(index), False, ch.primary)
        return ch

    cl.choose = fake
    before = rt.stats().get("retry", 0)
    try:
        r = Client().get("/test/slow/", {"seconds": "0"})
        out = dict(r.json(), status=r.status_code)
    except Exception as e:  # noqa: BLE001
        out = {"error": repr(e)}
    finally:
        del cl.choose
    out["retries"] = rt.stats().get("retry", 0) - before
    return out


def _pairs(n, gap_ms, stale, read_from, errors, lock):
    client = Client()
    pk = None
    try:
        for i in range(n):
            text = uuid.uuid4().hex
            try:
                if pk is None or i % 2 == 0:
                    r = client.post("/notes/", {"text": text})
                else:
                    r = client.post("/notes/%d/" % pk, {"text": text})
                j = r.json()
                pk = j["id"]
                same = j["text"] == text
                time.sleep(random.uniform(0, gap_ms / 1000.0))
                r2 = client.get("/notes/%d/" % pk)
                j2 = r2.json()
                nxt = r2.status_code == 200 and j2["text"] == text
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                stale["same"] += 0 if same else 1
                stale["next"] += 0 if nxt else 1
                for kind, a in (("same", j["read_from"]), ("next", j2.get("read_from"))):
                    key = "%s:%s" % (kind, a)
                    read_from[key] = read_from.get(key, 0) + 1
    finally:
        connections.close_all()


def cmd_pairs(n="300", threads="3", gap_ms="400", store="auto"):
    """n write-then-read request pairs over threads clients: the write
    request reads its row back, the next request (after a random pause up
    to gap_ms) reads it again; a read that misses the write is stale."""
    n, threads, gap_ms = int(n), int(threads), float(gap_ms)
    stale, read_from, errors, lock = {"same": 0, "next": 0}, {}, [], threading.Lock()
    rt.stats(reset=True)
    with override_settings(REPLROUTE={"TOKEN_STORE": store}):
        ts = [threading.Thread(target=_pairs,
                               args=(n // threads + (1 if k < n % threads else 0), gap_ms,
                                     stale, read_from, errors, lock))
              for k in range(threads)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return {"pairs": n, "stale_same": stale["same"], "stale_next": stale["next"],
            "errors": errors[:5], "nerrors": len(errors), "read_from": read_from,
            "stats": rt.stats(), "seconds": time.monotonic() - t0}


def cmd_control(n="40"):
    """The same pairs, but the next request comes from a client without
    the token (a new browser): stale reads are expected from standbys that
    apply WAL late, which shows the test can see them."""
    stale = 0
    for _ in range(int(n)):
        text = uuid.uuid4().hex
        pk = Client().post("/notes/", {"text": text}).json()["id"]
        r = Client().get("/notes/%d/" % pk)
        if r.status_code != 200 or r.json()["text"] != text:
            stale += 1
    return {"pairs": int(n), "stale": stale}


_writer = {}


def cmd_writeloop():
    """Start writing every 20 ms (one request each) until stopped."""
    log = []
    stop = threading.Event()

    def run():
        client = Client()
        while not stop.is_set():
            t = time.time()
            try:
                r = client.post("/notes/", {"text": "w"})
                ok = r.status_code == 200
                err = None if ok else str(r.status_code)
            except Exception as e:  # noqa: BLE001
                ok, err = False, "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0]
                                             if str(e).strip() else "")
            log.append((t, time.time(), ok, err, default_port() if ok else None))
            time.sleep(0.02)
        connections.close_all()

    _writer.update(log=log, stop=stop, thread=threading.Thread(target=run))
    _writer["thread"].start()
    return {"started": True}


def cmd_promoted(at, port=None, timeout="30"):
    """The writer's first success that started after epoch time at (and,
    if port is given, landed on the server at that port); then stops it.
    on_other: writes after that one that landed elsewhere."""
    at, end = float(at), time.time() + float(timeout)
    port = int(port) if port not in (None, "-") else None
    first = None
    while time.time() < end and first is None:
        for k, (t, t_end, ok, err, wport) in enumerate(list(_writer["log"])):
            if ok and t >= at and (port is None or wport == port):
                first = (k, t_end, wport)
                break
        time.sleep(0.01)
    time.sleep(0.5)     # a few more writes, to see where they go
    _writer["stop"].set()
    _writer["thread"].join(30)
    log = _writer["log"]
    errs = [e for t, _, ok, e, _ in log if not ok]
    on_other = 0
    if first is not None:
        on_other = sum(1 for t, _, ok, _, p in log[first[0]:] if ok and p != first[2])
    return {"first_ok_after_ms": None if first is None else (first[1] - at) * 1000,
            "port": first[2] if first else None, "failed": len(errs), "on_other": on_other,
            "errors": sorted(set(errs))[:5], "writes": len(log), "stats": rt.stats(),
            "events": records.lines[-20:]}


def cmd_cookie_token(kind, pk):
    """A read of note pk by a client whose cookie carries a token beyond
    every node, signed as the middleware signs it or not (forged): an
    honoured one sends the read to the primary, after a causal wait."""
    from django.core import signing
    from replroute.django.middleware import SALT
    token, name = "FFFFFFF/0", "replroute_token"
    value = signing.get_cookie_signer(salt=name + SALT).sign(token) if kind == "signed" else token
    client = Client()
    client.cookies[name] = value
    before = rt.stats().get("wait", 0)
    with override_settings(REPLROUTE={"TOKEN_STORE": "cookie"}):
        r = client.get("/notes/%s/" % pk)
    return dict(r.json(), status=r.status_code, waits=rt.stats().get("wait", 0) - before)


def cmd_stats():
    return {"stats": rt.stats(), "events": records.lines[-50:]}


COMMANDS = {name[4:]: f for name, f in globals().items() if name.startswith("cmd_")}


def main():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            out = COMMANDS[words[0]](*words[1:])
        except Exception as e:  # noqa: BLE001
            out = {"exception": repr(e), "traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    connections.close_all()


if __name__ == "__main__":
    main()
