"""Server-less tests of the replroute package (python3 -m unittest).

Needs libpq (for PQconninfoParse) and, for the version and reason checks,
libreplroute; REPLROUTE_HEADER names client/replroute.h (default: the one
in this source tree) to check the binding against the C header.
"""

import os
import re
import unittest

import replroute
from replroute import conninfo
from replroute.cluster import Reason

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.environ.get("REPLROUTE_HEADER",
                        os.path.join(HERE, "..", "..", "client", "replroute.h"))


class Tokens(unittest.TestCase):
    def test_round_trip(self):
        for text in ("0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF", "0/1"):
            self.assertEqual(replroute.int_to_lsn(replroute.lsn_to_int(text)), text.upper())
        self.assertEqual(replroute.lsn_to_int("1/0"), 1 << 32)
        self.assertLess(replroute.lsn_to_int("0/FFFFFFFF"), replroute.lsn_to_int("1/0"))

    def test_malformed(self):
        for bad in ("", "16", "/1", "1/", "G/1", "1/2/3", "123456789/0", " 1/2", None, 12):
            with self.assertRaises(ValueError, msg=repr(bad)):
                replroute.lsn_to_int(bad)


class Conninfo(unittest.TestCase):
    def test_keyword_value(self):
        p = conninfo.parse("host=a,b port=5432,5433 dbname=app user=u connect_timeout=3")
        self.assertEqual(p["host"], "a,b")
        self.assertEqual(p["dbname"], "app")
        nodes = conninfo.node_params(p)
        self.assertEqual([(n["host"], n["port"]) for n in nodes], [("a", "5432"), ("b", "5433")])
        self.assertEqual(nodes[1]["connect_timeout"], "3")

    def test_uri(self):
        p = conninfo.parse("postgresql://u@h1:1,h2:2/app?sslmode=disable")
        nodes = conninfo.node_params(p)
        self.assertEqual([(n["host"], n["port"]) for n in nodes], [("h1", "1"), ("h2", "2")])
        self.assertEqual(nodes[0]["sslmode"], "disable")

    def test_one_port_for_all(self):
        nodes = conninfo.node_params(conninfo.parse("host=a,b,c port=7"))
        self.assertEqual([n["port"] for n in nodes], ["7", "7", "7"])

    def test_malformed(self):
        with self.assertRaises(replroute.Error) as cm:
            conninfo.parse("host='unterminated")
        self.assertIn("invalid connection string", cm.exception.message)
        with self.assertRaises(replroute.Error):
            conninfo.parse("nosuchkeyword=1")

    def test_quote(self):
        self.assertEqual(conninfo.build({"a": "x y", "b": "it's", "c": ""}),
                         "a='x y' b='it\\'s' c=''")


class Library(unittest.TestCase):
    def test_version_in_step(self):
        self.assertEqual(replroute.__version__, replroute.library_version())
        if os.path.exists(HEADER):
            with open(HEADER) as f:
                m = re.search(r'#define\s+REPLROUTE_VERSION_STR\s+"([^"]+)"', f.read())
            self.assertEqual(replroute.__version__, m.group(1))

    def test_pyproject_in_step(self):
        path = os.path.join(HERE, "..", "pyproject.toml")
        with open(path) as f:
            m = re.search(r'^version = "([^"]+)"', f.read(), re.M)
        self.assertEqual(m.group(1), replroute.__version__)

    def test_reasons_match_header(self):
        if not os.path.exists(HEADER):
            self.skipTest("no replroute.h at " + HEADER)
        with open(HEADER) as f:
            body = re.search(r"typedef enum\s*\{([^}]*)\}\s*RRreason;", f.read()).group(1)
        names = re.findall(r"RR_REASON_(\w+)", body)
        self.assertEqual(names, [r.name for r in Reason])

    def test_reason_names(self):
        lib = replroute._lib.library()
        for r in Reason:
            self.assertEqual(lib.RRreasonName(r).decode(), r.name.lower())

    def test_replroute_library_variable(self):
        import subprocess
        import sys
        code = ("import replroute\n"
                "try:\n    replroute.Cluster('host=127.0.0.1 port=1')\n"
                "except replroute.LibraryError as e:\n    print('LibraryError', e.message)\n")
        env = dict(os.environ, REPLROUTE_LIBRARY="/nonexistent/libreplroute.so.1")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True).stdout
        self.assertIn("LibraryError could not load libreplroute: /nonexistent/libreplroute.so.1", out)

    def test_bad_arguments(self):
        with self.assertRaises(replroute.Error) as cm:
            replroute.Cluster("host=127.0.0.1 port=1", "no_such_option=1")
        self.assertIn('unknown option "no_such_option"', cm.exception.message)
        self.assertIsNone(cm.exception.reason)
        with self.assertRaises(replroute.Error) as cm:
            replroute.Cluster("host=127.0.0.1 port=1", "max_lag_seconds=-1")
        self.assertIn("max_lag_seconds", cm.exception.message)
        with self.assertRaises(TypeError):
            replroute.Cluster(None)

    def test_nothing_answers(self):
        with self.assertRaises(replroute.Error) as cm:
            replroute.Cluster("host=127.0.0.1 port=1 connect_timeout=2")
        e = cm.exception
        self.assertIn("no node answered", e.message)
        self.assertEqual(e.reason, Reason.DOWN)
        self.assertEqual([(n.port, n.state) for n in e.nodes], [(1, "down")])


class Databases(unittest.TestCase):
    CI = "host=h0,h1,h2 port=5432,5433,5434 dbname=app user=u connect_timeout=3 sslmode=disable"

    def setUp(self):
        from replroute.django import databases
        self.db = databases(self.CI, base={"CONN_MAX_AGE": 30, "ATOMIC_REQUESTS": True,
                                           "OPTIONS": {"application_name": "x",
                                                       "keepalives_idle": "9"}},
                            options="causal_wait=250ms")

    def test_default(self):
        d = self.db["default"]
        self.assertEqual(d["ENGINE"], "replroute.django.backend")
        self.assertEqual((d["HOST"], d["PORT"]), ("h0,h1,h2", "5432,5433,5434"))
        self.assertEqual((d["NAME"], d["USER"]), ("app", "u"))
        self.assertEqual(d["OPTIONS"]["target_session_attrs"], "read-write")
        self.assertEqual(d["OPTIONS"]["connect_timeout"], "3")       # the conninfo's
        self.assertEqual(d["OPTIONS"]["sslmode"], "disable")
        self.assertEqual(d["OPTIONS"]["keepalives_idle"], "9")       # base's
        self.assertEqual(d["OPTIONS"]["tcp_user_timeout"], "5000")   # replroute's
        self.assertTrue(d["ATOMIC_REQUESTS"])
        self.assertEqual(d["CONN_MAX_AGE"], 30)
        self.assertEqual(d["REPLROUTE"], {"conninfo": self.CI, "options": "causal_wait=250ms",
                                          "nodes": ["node0", "node1", "node2"]})

    def test_read_aliases(self):
        self.assertEqual(sorted(self.db), ["default", "node0", "node1", "node2"])
        for i in range(3):
            d = self.db["node%d" % i]
            self.assertEqual((d["HOST"], d["PORT"]), ("h%d" % i, "543%d" % (2 + i)))
            self.assertEqual(d["TEST"], {"MIRROR": "default"})
            self.assertNotIn("target_session_attrs", d["OPTIONS"])
            self.assertFalse(d["ATOMIC_REQUESTS"])
            self.assertEqual(d["REPLROUTE_NODE"], i)
            for k in ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                      "keepalives_count", "tcp_user_timeout"):
                self.assertIn(k, d["OPTIONS"])

    def test_reorder(self):
        from replroute.django.backend.base import _reorder
        p = {"host": "a,b,c", "port": "1,2,3"}
        _reorder(p, [2, 0])
        self.assertEqual(p, {"host": "c,a", "port": "3,1"})
        p = {"host": "a,b,c", "port": "1"}
        _reorder(p, [1])
        self.assertEqual(p, {"host": "b", "port": "1"})
        p = {"host": "a"}
        _reorder(p, [0])
        self.assertEqual(p, {"host": "a"})

    def test_first_word(self):
        from replroute.django.backend.base import _first_word
        self.assertEqual(_first_word("  select 1"), "SELECT")
        self.assertEqual(_first_word("(SELECT 1) UNION (SELECT 2)"), "SELECT")
        self.assertEqual(_first_word('INSERT INTO "x"'), "INSERT")
        self.assertEqual(_first_word(b"update x"), "UPDATE")
        self.assertEqual(_first_word(object()), "")

    def test_causal_wait(self):
        from replroute.django.runtime import causal_wait_ms
        self.assertEqual(causal_wait_ms(""), 100)
        self.assertEqual(causal_wait_ms("causal_wait=250ms"), 250)
        self.assertEqual(causal_wait_ms("policy=random causal_wait=1.5s"), 1500)
        self.assertEqual(causal_wait_ms("causal_wait=300"), 300)
        self.assertEqual(causal_wait_ms("causal_wait=0"), 0)
        self.assertEqual(causal_wait_ms("causal_wait=100us"), 1)


if __name__ == "__main__":
    unittest.main()
