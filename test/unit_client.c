/*-------------------------------------------------------------------------
 *
 * unit_client.c
 *		Server-less unit tests of libreplroute: options and units, conninfo
 *		split into nodes, LSN and number text, lag arithmetic, the routing
 *		decision in every state, API misuse (the monitor's too).  Prints TAP.
 *		Built with AddressSanitizer and UBSan (see test/Makefile).
 *
 *-------------------------------------------------------------------------
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

static int	ntests = 0;
static int	nfailed = 0;

static void
ok(int cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
ok(int cond, const char *fmt,...)
{
	va_list		ap;

	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void
diag(const char *msg)
{
	printf("# ");
	for (; *msg; msg++)
		printf(*msg == '\n' ? "\n# " : "%c", *msg);
	printf("\n");
}

/* ---- options ---- */

static int
parse_opts(const char *s, rr_options *o, char *err, size_t errlen)
{
	rr_options_init(o);
	err[0] = '\0';
	return rr_options_parse(o, s, err, errlen);
}

static void
test_options(void)
{
	rr_options	o;
	char		err[512];
	static const struct
	{
		const char *str;
		const char *must_mention;
	}			bad[] = {
		{"polcy=random", "unknown option \"polcy\""},
		{"policy", "invalid option \"policy\": expected key=value"},
		{"=random", "expected key=value"},
		{"policy=", "option \"policy\" has no value"},
		{"policy=fastest", "\"policy\": \"fastest\""},
		{"fallback=maybe", "\"fallback\""},
		{"consistency=strong", "\"consistency\""},
		{"max_lag_bytes=-1", "must not be negative"},
		{"max_lag_bytes=12XB", "unknown unit \"XB\""},
		{"max_lag_bytes=16mb", "unknown unit \"mb\""},
		{"max_lag_bytes=1.5", "whole number"},
		{"max_lag_bytes=99999999999TB", "out of range"},
		{"max_lag_bytes=abc", "expected a number"},
		{"max_lag_bytes=1e6", "unknown unit \"e6\""},
		{"max_lag_seconds=-0.5", "\"max_lag_seconds\""},
		{"max_lag_seconds=1h", "unknown unit \"h\""},
		{"max_lag_seconds=nan", "expected a number"},
		{"max_lag_seconds=inf", "expected a number"},
		{"max_lag_seconds=2days", "unknown unit"},
		{"max_lag_seconds=100000000", "out of range"},
		{"check_interval=.", "expected a number"},
		{"check_interval=10 check_interval=20", "given more than once"},
		{"causal_wait=9999999999s", "out of range"},
		{"causal_wait=+5", "expected a number"},
		{"policy=random  bogus", "invalid option \"bogus\""},
		{NULL, NULL}
	};
	int			i;

	ok(parse_opts(NULL, &o, err, sizeof(err)) == 0, "NULL options: defaults");
	ok(o.max_lag_bytes == 16 * 1024 * 1024, "default max_lag_bytes is 16MB");
	ok(o.max_lag_seconds == 1.0, "default max_lag_seconds is 1s");
	ok(o.check_interval_us == 100000, "default check_interval is 100ms");
	ok(o.policy == RR_POLICY_ROUND_ROBIN, "default policy is round_robin");
	ok(o.fallback == RR_FALLBACK_PRIMARY, "default fallback is primary");
	ok(o.consistency == RR_CONSISTENCY_NONE, "default consistency is none");
	ok(o.causal_wait_us == 100000, "default causal_wait is 100ms");
	ok(parse_opts("", &o, err, sizeof(err)) == 0, "empty options");
	ok(parse_opts("  \t ", &o, err, sizeof(err)) == 0, "blank options");

	ok(parse_opts("max_lag_bytes=1kB", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_bytes == 1024, "max_lag_bytes=1kB is 1024");
	ok(parse_opts("max_lag_bytes=2GB", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_bytes == 2LL * 1024 * 1024 * 1024, "max_lag_bytes=2GB");
	ok(parse_opts("max_lag_bytes=100", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_bytes == 100, "bare max_lag_bytes is bytes");
	ok(parse_opts("max_lag_bytes=0B", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_bytes == 0, "max_lag_bytes=0B");
	ok(parse_opts("max_lag_bytes=1.5MB", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_bytes == 1572864, "max_lag_bytes=1.5MB");
	ok(parse_opts("max_lag_seconds=250ms", &o, err, sizeof(err)) == 0 &&
	   fabs(o.max_lag_seconds - 0.25) < 1e-9, "max_lag_seconds=250ms is 0.25");
	ok(parse_opts("max_lag_seconds=2", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_seconds == 2.0, "bare max_lag_seconds is seconds");
	ok(parse_opts("max_lag_seconds=0.5s", &o, err, sizeof(err)) == 0 &&
	   o.max_lag_seconds == 0.5, "max_lag_seconds=0.5s");
	ok(parse_opts("check_interval=50", &o, err, sizeof(err)) == 0 &&
	   o.check_interval_us == 50000, "bare check_interval is milliseconds");
	ok(parse_opts("check_interval=1s", &o, err, sizeof(err)) == 0 &&
	   o.check_interval_us == 1000000, "check_interval=1s");
	ok(parse_opts("check_interval=0", &o, err, sizeof(err)) == 0 &&
	   o.check_interval_us == 0, "check_interval=0 allowed (refresh before every call)");
	ok(parse_opts("causal_wait=2s", &o, err, sizeof(err)) == 0 &&
	   o.causal_wait_us == 2000000, "causal_wait=2s");
	ok(parse_opts("  policy=least_lag\tfallback=error consistency=session  ", &o, err, sizeof(err)) == 0 &&
	   o.policy == RR_POLICY_LEAST_LAG && o.fallback == RR_FALLBACK_ERROR &&
	   o.consistency == RR_CONSISTENCY_SESSION, "several options, odd spacing");
	ok(parse_opts("policy=random", &o, err, sizeof(err)) == 0 &&
	   o.policy == RR_POLICY_RANDOM, "policy=random");

	for (i = 0; bad[i].str; i++)
	{
		int			rc = parse_opts(bad[i].str, &o, err, sizeof(err));

		ok(rc < 0 && strstr(err, bad[i].must_mention) != NULL,
		   "bad options \"%s\" rejected naming the problem (%s)", bad[i].str, err);
	}

	{
		/* a very long token and a value that fills the buffer */
		char		big[4096];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ok(parse_opts(big, &o, err, sizeof(err)) < 0 && strstr(err, "too long"),
		   "a 4 kB token is rejected");
		memcpy(big, "policy=", 7);
		ok(parse_opts(big, &o, err, sizeof(err)) < 0, "a 4 kB value is rejected");
	}
}

/* ---- conninfo ---- */

static const char *
kw(const rr_node_params *np, const char *key)
{
	int			i;

	for (i = 0; np->keywords[i]; i++)
		if (strcmp(np->keywords[i], key) == 0)
			return np->values[i];
	return NULL;
}

static void
test_conninfo(void)
{
	char		err[512];
	rr_conninfo *ci;
	int			i;
	static const struct
	{
		const char *str;
		const char *must_mention;
	}			bad[] = {
		{"host=a,b,c port=1,2", "could not match 2 port numbers to 3 hosts"},
		{"host=a,b hostaddr=127.0.0.1", "could not match 2 host names to 1 hostaddr values"},
		{"host=a port=70000", "invalid port number \"70000\""},
		{"host=a port=12x", "invalid port number \"12x\""},
		{"nosuchkeyword=1", "invalid connection option \"nosuchkeyword\""},
		{"host=a connect_timeout=soon", "connect_timeout"},
		{"host=a connect_timeout=' '", "connect_timeout"},
		{"host=a connect_timeout=3000000000", "connect_timeout"},
		{"host=a port=0", "invalid port number"},
		{"host='unterminated", "invalid connection string"},
		{"postgresql://host:notaport/db", "invalid"},
		{"postgres://[::1/db", "invalid"},
		{NULL, NULL}
	};

	ci = rr_conninfo_parse("host=h1 port=5433 dbname=app user=u", err, sizeof(err));
	ok(ci && ci->nnodes == 1, "one host, one node");
	if (ci)
	{
		ok(strcmp(ci->nodes[0].host, "h1") == 0 && strcmp(ci->nodes[0].port, "5433") == 0,
		   "host and port of the node");
		ok(kw(&ci->nodes[0], "dbname") && strcmp(kw(&ci->nodes[0], "dbname"), "app") == 0 &&
		   kw(&ci->nodes[0], "user") && strcmp(kw(&ci->nodes[0], "user"), "u") == 0,
		   "other keywords go to the node");
		ok(kw(&ci->nodes[0], "fallback_application_name") != NULL,
		   "fallback_application_name set");
		ok(ci->nodes[0].connect_timeout_ms == -1,
		   "no connect_timeout: node_timeout will apply");
	}
	rr_conninfo_free(ci);

	ci = rr_conninfo_parse("host=h1,h2,h3 port=5432,5433,5434 dbname=app connect_timeout=3 "
						   "target_session_attrs=read-write", err, sizeof(err));
	ok(ci && ci->nnodes == 3, "multi-host list: three nodes");
	if (ci && ci->nnodes == 3)
	{
		ok(strcmp(ci->nodes[2].host, "h3") == 0 && strcmp(ci->nodes[2].port, "5434") == 0,
		   "third node is h3:5434");
		ok(strcmp(kw(&ci->nodes[1], "host"), "h2") == 0 && strcmp(kw(&ci->nodes[1], "port"), "5433") == 0,
		   "each node connects to its own host and port only");
		ok(kw(&ci->nodes[0], "target_session_attrs") == NULL,
		   "target_session_attrs is not passed to nodes");
		ok(ci->nodes[1].connect_timeout_ms == 3000, "connect_timeout=3 is 3 s");
		ok(strcmp(kw(&ci->nodes[2], "dbname"), "app") == 0, "dbname for every node");
	}
	rr_conninfo_free(ci);

	ci = rr_conninfo_parse("host=h1 port=' 5433 ' connect_timeout='7 '", err, sizeof(err));
	ok(ci && ci->nnodes == 1 && strcmp(ci->nodes[0].port, "5433") == 0 &&
	   ci->nodes[0].connect_timeout_ms == 7000,
	   "whitespace around numbers is accepted, as libpq does");
	rr_conninfo_free(ci);

	ci = rr_conninfo_parse("host=h1,h2 port=6000", err, sizeof(err));
	ok(ci && ci->nnodes == 2 && strcmp(ci->nodes[1].port, "6000") == 0,
	   "one port applies to every host");
	rr_conninfo_free(ci);

	ci = rr_conninfo_parse("postgresql://u@h1:5001,h2:5002/app?connect_timeout=2", err, sizeof(err));
	ok(ci && ci->nnodes == 2, "URI with two hosts: two nodes (%s)", err);
	if (ci && ci->nnodes == 2)
	{
		ok(strcmp(ci->nodes[0].host, "h1") == 0 && strcmp(ci->nodes[1].port, "5002") == 0,
		   "URI hosts and ports");
		ok(strcmp(kw(&ci->nodes[1], "dbname"), "app") == 0 &&
		   strcmp(kw(&ci->nodes[1], "user"), "u") == 0, "URI dbname and user");
		ok(ci->nodes[0].connect_timeout_ms == 2000, "URI connect_timeout");
	}
	rr_conninfo_free(ci);

	ci = rr_conninfo_parse("hostaddr=127.0.0.1,127.0.0.2 port=1,2", err, sizeof(err));
	ok(ci && ci->nnodes == 2 && strcmp(ci->nodes[1].host, "127.0.0.2") == 0,
	   "hostaddr list gives nodes");
	rr_conninfo_free(ci);

	setenv("PGHOST", "e1,e2", 1);
	setenv("PGPORT", "7001,7002", 1);
	ci = rr_conninfo_parse("dbname=x", err, sizeof(err));
	ok(ci && ci->nnodes == 2 && strcmp(ci->nodes[0].host, "e1") == 0 &&
	   strcmp(ci->nodes[1].port, "7002") == 0,
	   "PGHOST/PGPORT lists give nodes when the string has no host");
	rr_conninfo_free(ci);
	setenv("PGPORT", "7001", 1);
	ci = rr_conninfo_parse("host=h9", err, sizeof(err));
	ok(ci && ci->nnodes == 1 && strcmp(ci->nodes[0].host, "h9") == 0 &&
	   strcmp(ci->nodes[0].port, "7001") == 0,
	   "a host in the string overrides PGHOST; PGPORT still applies");
	rr_conninfo_free(ci);
	unsetenv("PGHOST");
	unsetenv("PGPORT");

	ci = rr_conninfo_parse("", err, sizeof(err));
	ok(ci && ci->nnodes == 1, "empty conninfo: one node with libpq's defaults");
	rr_conninfo_free(ci);

	for (i = 0; bad[i].str; i++)
	{
		ci = rr_conninfo_parse(bad[i].str, err, sizeof(err));
		ok(ci == NULL && strstr(err, bad[i].must_mention) != NULL,
		   "bad conninfo \"%s\" rejected (%s)", bad[i].str, err);
		rr_conninfo_free(ci);
	}

	/* a password quoted in libpq's parse error is masked */
	ci = rr_conninfo_parse("postgresql://u:S3cretPW%zz@h1/db", err, sizeof(err));
	ok(ci == NULL && strstr(err, "S3cretPW") == NULL && strstr(err, "invalid") != NULL,
	   "URI parse error does not show the password (%s)", err);
	ci = rr_conninfo_parse("postgresql://u:S3cretPW@[::1", err, sizeof(err));
	ok(ci == NULL && strstr(err, "S3cretPW") == NULL, "nor with an unterminated address (%s)", err);
	ci = rr_conninfo_parse("postgresql://u:pw@[]:5432/db", err, sizeof(err));
	ok(ci == NULL && strstr(err, "pw@") == NULL && strstr(err, "withheld") != NULL,
	   "a short password: the detail is withheld (%s)", err);
	ci = rr_conninfo_parse("host=h password='S3cret PW' bogus=1", err, sizeof(err));
	ok(ci == NULL && strstr(err, "S3cret") == NULL && strstr(err, "bogus") != NULL,
	   "keyword/value: the bad keyword is named, the password is not (%s)", err);

	{
		char		many[2048];
		size_t		len = 0;

		len += snprintf(many + len, sizeof(many) - len, "host=");
		for (i = 0; i < 200; i++)
			len += snprintf(many + len, sizeof(many) - len, "%sh", i ? "," : "");
		ci = rr_conninfo_parse(many, err, sizeof(err));
		ok(ci == NULL && strstr(err, "too many hosts"), "200 hosts rejected (%s)", err);
		rr_conninfo_free(ci);
	}
}

/* ---- LSN text ---- */

static void
test_lsn(void)
{
	uint64_t	lsn = 0;
	char		buf[32];
	static const char *const badlsn[] = {
		"", "0", "0/", "/0", "g/0", "0/g", "1/2/3", "123456789/0", "0/123456789",
		" 0/0", "0/0 ", "-1/0", "0x1/0", "16/B374D848junk", NULL
	};
	int			i;

	ok(rr_parse_lsn("16/B374D848", &lsn) == 0 && lsn == ((uint64_t) 0x16 << 32 | 0xB374D848),
	   "parse 16/B374D848");
	ok(rr_parse_lsn("0/0", &lsn) == 0 && lsn == 0, "parse 0/0");
	ok(rr_parse_lsn("FFFFFFFF/FFFFFFFF", &lsn) == 0 && lsn == UINT64_MAX, "parse the largest LSN");
	ok(rr_parse_lsn("ab/cd", &lsn) == 0 && lsn == ((uint64_t) 0xab << 32 | 0xcd), "lower-case hex");
	rr_format_lsn(((uint64_t) 0x16 << 32) | 0xB374D848, buf, sizeof(buf));
	ok(strcmp(buf, "16/B374D848") == 0, "format as PostgreSQL does");
	for (i = 0; badlsn[i]; i++)
		ok(rr_parse_lsn(badlsn[i], &lsn) < 0, "reject LSN \"%s\"", badlsn[i]);
	ok(rr_parse_lsn(NULL, &lsn) < 0, "reject NULL LSN");
}

/* ---- numbers, independent of the locale ---- */

static void
test_numbers(void)
{
	double		d = -1;
	int64_t		v = 0;
	static const char *const baddouble[] = {
		"", ".", "1e", "1e+", "0,5", "1.5x", " 1", "1 ", "Infinity", "NaN", "--1", "e5", NULL
	};
	const char *comma = getenv("RR_TEST_COMMA_LOCALE");
	int			i;

	ok(rr_parse_double("0.5", &d) == 0 && d == 0.5, "parse 0.5");
	ok(rr_parse_double("0", &d) == 0 && d == 0.0, "parse 0");
	ok(rr_parse_double("1.25e-05", &d) == 0 && fabs(d - 1.25e-05) < 1e-20, "parse 1.25e-05");
	ok(rr_parse_double("3.0000000000000004", &d) == 0 && fabs(d - 3.0) < 1e-12,
	   "parse a long fraction");
	ok(rr_parse_double("12345.678", &d) == 0 && fabs(d - 12345.678) < 1e-9, "parse 12345.678");
	ok(rr_parse_double("-2.5", &d) == 0 && d == -2.5, "parse a negative number");
	ok(rr_parse_double("1.5E+3", &d) == 0 && d == 1500.0, "parse an upper-case exponent");
	for (i = 0; baddouble[i]; i++)
		ok(rr_parse_double(baddouble[i], &d) < 0, "reject number \"%s\"", baddouble[i]);
	ok(rr_parse_int64("-9223372036854775808", &v) == 0 && v == INT64_MIN, "parse INT64_MIN");
	ok(rr_parse_int64("9223372036854775807", &v) == 0 && v == INT64_MAX, "parse INT64_MAX");
	ok(rr_parse_int64("9223372036854775808", &v) < 0, "reject INT64_MAX + 1");
	ok(rr_parse_int64("12a", &v) < 0 && rr_parse_int64("", &v) < 0, "reject junk integers");

	/* a comma-decimal locale ("make check-client" compiles one when it can) */
	if (comma && setlocale(LC_NUMERIC, comma) != NULL)
	{
		char	   *end;

		ok(strtod("0.5", &end) != 0.5 || *end != '\0',
		   "in %s, strtod does not read \"0.5\" (the hazard)", comma);
		ok(rr_parse_double("0.5", &d) == 0 && d == 0.5,
		   "in %s, replroute still reads \"0.5\" as 0.5", comma);
		setlocale(LC_NUMERIC, "C");
	}
	else
		ok(1, "# SKIP no comma-decimal locale to test with");
}

/* ---- lag: the primary's history and the figures ---- */

#define S(x)	((int64_t) ((x) * 1e6))		/* seconds to microseconds */

/* A standby's answer: replayed r, own lag (-1: NULL), asked at "asked" s. */
static rr_fact
standby_fact(uint64_t r, double own, double asked)
{
	rr_fact		f;

	memset(&f, 0, sizeof(f));
	f.link = RR_LINK_UP;
	f.answered = true;
	f.asked_us = S(asked);
	f.answered_us = S(asked) + 1000;
	f.h.role = RR_ROLE_STANDBY;
	f.h.system_identifier = 42;
	f.h.timeline = 1;
	f.h.wal_lsn = r;
	f.h.receive_lsn = r;
	f.h.upstream_lsn = r;
	f.h.own_lag_seconds = own;
	f.h.streaming = true;
	f.replayed_lsn = r;
	return f;
}

static rr_fact
primary_fact(uint64_t lsn, double asked)
{
	rr_fact		f = standby_fact(lsn, 0, asked);

	f.h.role = RR_ROLE_PRIMARY;
	f.h.receive_lsn = f.h.upstream_lsn = RR_INVALID_LSN;
	f.h.streaming = false;
	return f;
}

static bool
near(double a, double b)
{
	return fabs(a - b) < 0.002;
}

static void
test_lag(void)
{
	rr_history	h;
	rr_fact		f;
	rr_lag		lag;
	int			i;

	memset(&h, 0, sizeof(h));
	/* the primary at 1000 from 0 s to 2 s, then writing: 2000 at 3 s, 3000 at 4 s */
	rr_history_note(&h, 1000, S(0), S(0.001));
	rr_history_note(&h, 1000, S(2), S(2.001));
	rr_history_note(&h, 2000, S(3), S(3.001));
	rr_history_note(&h, 3000, S(4), S(4.001));
	rr_history_note(&h, 2500, S(3.5), S(4.002));	/* overtaken answer: ignored */
	ok(h.n == 3, "one sample per distinct position (%d)", h.n);
	ok(h.s[0].last_asked_us == S(2) && h.s[0].first_seen_us == S(0.001),
	   "a repeated position keeps its first sighting and its latest question");

	f = standby_fact(3000, 0, 4.5);
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(lag.bytes == 0 && near(lag.seconds, 0.0), "caught up: 0 bytes, 0 s (%.3f)", lag.seconds);

	f = standby_fact(1500, 1.8, 4.5);
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(lag.bytes == 1500, "bytes behind the newest primary position");
	ok(near(lag.seconds, 1.8) && near(lag.at_least, 4.5 - 3.001),
	   "behind since the primary passed it: the smaller bound (own 1.8 s, history 2.5 s) "
	   "gives %.3f s, at least %.3f s", lag.seconds, lag.at_least);
	f.h.own_lag_seconds = 3.0;
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(near(lag.seconds, 2.5), "the history's bound when smaller than the standby's (%.3f)",
	   lag.seconds);

	f = standby_fact(1500, -1, 4.5);
	rr_lag_of(&h, &f, S(5.5), &lag);
	ok(near(lag.seconds, 3.5), "no own figure: the history's bound, aged (%.3f)", lag.seconds);

	/* write burst: the standby says 0 (it has all it received), the primary is ahead */
	f = standby_fact(2000, 0.0, 4.5);
	f.h.receive_lsn = 2000;
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(lag.seconds >= 4.5 - 4.001 - 0.002,
	   "an own figure below what the client knows is raised to it (%.3f >= %.3f)",
	   lag.seconds, 4.5 - 4.001);

	/* a slow standby's own figure bounds what the history cannot */
	f = standby_fact(500, 0.3, 4.0);
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(near(lag.seconds, 4.499) && near(lag.at_least, 3.999),
	   "behind the oldest sample: at least what the client saw (%.3f), plus age (%.3f)",
	   lag.at_least, lag.seconds);

	/* partial record: own 0, streaming, received more than replayed */
	f = standby_fact(2900, 0.0, 4.5);
	f.h.receive_lsn = 3000;
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(near(lag.seconds, 0.0) && lag.at_least == 0.0,
	   "nothing complete left to replay: its received position counts (%.3f)", lag.seconds);
	f.h.own_lag_seconds = 0.001;
	rr_lag_of(&h, &f, S(4.5), &lag);
	ok(lag.at_least > 0.49, "not so when its own figure is not 0: behind the primary (%.3f)",
	   lag.at_least);

	/* aging: the same answer looked at later */
	f = standby_fact(3000, 0, 4.5);
	rr_lag_of(&h, &f, S(14.5), &lag);
	ok(near(lag.seconds, 10.0), "an answer 10 s old: its lag is at least its age (%.3f)",
	   lag.seconds);

	/* empty history: own figures */
	memset(&h, 0, sizeof(h));
	f = standby_fact(3000, 0.25, 1.0);
	f.h.own_lag_bytes = 77;
	rr_lag_of(&h, &f, S(1.0), &lag);
	ok(lag.bytes == 77 && near(lag.seconds, 0.25), "no history: the standby's own figures");
	f.h.own_lag_seconds = -1;
	rr_lag_of(&h, &f, S(1.0), &lag);
	ok(lag.seconds == -1.0, "no history, no own figure: unknown");

	/* thinning: bounded, never capped, the oldest kept */
	for (i = 0; i < 3 * RR_HISTORY_SLOTS; i++)
		rr_history_note(&h, 1000 + (uint64_t) i, S(0.01 * i), S(0.01 * i) + 100);
	ok(h.n == RR_HISTORY_SLOTS, "history bounded at %d samples", RR_HISTORY_SLOTS);
	ok(h.s[0].lsn == 1000 && h.s[h.n - 1].lsn == 1000 + 3 * RR_HISTORY_SLOTS - 1,
	   "oldest and newest samples kept");
	f = standby_fact(1001, -1, 0.01 * 3 * RR_HISTORY_SLOTS);
	rr_lag_of(&h, &f, S(0.01 * 3 * RR_HISTORY_SLOTS), &lag);
	ok(lag.seconds >= 0.01 * (3 * RR_HISTORY_SLOTS - 1) - 0.02 &&
	   lag.seconds <= 0.01 * 3 * RR_HISTORY_SLOTS + 0.01,
	   "a standby behind old, thinned samples still gets a bound, never a smaller one "
	   "(%.3f s)", lag.seconds);
	{
		bool		precise = true;

		/* recent samples stay dense */
		for (i = h.n - 20; i < h.n; i++)
			if (h.s[i].last_asked_us - h.s[i - 1].last_asked_us > S(0.021))
				precise = false;
		ok(precise, "recent samples stay dense");
	}
}

/* ---- the decision, state by state ---- */

typedef struct scenario
{
	rr_fact		f[3];
	rr_memory	mem;
	rr_options	opts;
	rr_verdict	v[3];
	rr_decision d;
} scenario;

/* primary, two standbys; the primary at lsn since "since" s, asked every 0.1 s until now */
static void
scenario_init(scenario *sc, uint64_t lsn, double since, double now)
{
	double		t;
	int			i;

	memset(sc, 0, sizeof(*sc));
	rr_options_init(&sc->opts);
	sc->mem.history_node = -1;
	for (i = 1; i < 3; i++)
		sc->f[i] = standby_fact(lsn, 0, now);
	/* before "since", the primary was 100 bytes back */
	sc->f[0] = primary_fact(lsn - 100, 0);
	rr_memory_note(&sc->mem, 3, sc->f, 0);
	for (t = since; t <= now + 1e-9; t += 0.1)
	{
		sc->f[0] = primary_fact(lsn, t);
		rr_memory_note(&sc->mem, 3, sc->f, 0);
	}
	sc->f[1] = standby_fact(lsn, 0, now);
	sc->f[2] = standby_fact(lsn, 0, now);
	rr_memory_note(&sc->mem, 3, sc->f, 1);
	rr_memory_note(&sc->mem, 3, sc->f, 2);
}

static void
decide(scenario *sc, double now, uint64_t token)
{
	rr_decide(3, sc->f, &sc->mem, &sc->opts, token, S(now), sc->v, &sc->d);
}

static void
test_decide(void)
{
	scenario	sc;

	/* idle primary, caught-up standbys, fresh answers */
	scenario_init(&sc, 5000, 0, 10);
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.d.primary == 0 && !sc.d.primary_lost, "the primary is node 0");
	ok(sc.v[1].routable && sc.v[1].reason == RR_REASON_OK && sc.v[1].lag_seconds < 0.01,
	   "idle primary: a caught-up standby is fit, lag %.3f s", sc.v[1].lag_seconds);
	ok(sc.v[0].routable && sc.v[0].reason == RR_REASON_OK, "the primary is the fallback");

	/* lagging: replayed 4000 while the primary reached 5000 three seconds ago */
	scenario_init(&sc, 5000, 7, 10);
	sc.f[1] = standby_fact(4000, 0.05, 10);
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(!sc.v[1].routable && sc.v[1].reason == RR_REASON_LAG_OVER_LIMIT,
	   "lagging 3 s: over the limit (%s, %.3f s)", RRreasonName(sc.v[1].reason),
	   sc.v[1].lag_seconds);
	ok(sc.v[1].lag_at_least > 2.9, "at least %.3f s", sc.v[1].lag_at_least);

	/* paused replay */
	sc.f[1].h.replay_paused = true;
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.v[1].reason == RR_REASON_REPLAY_PAUSED, "paused: reason replay_paused");

	/* cut off: not streaming, its own figure grows */
	sc.f[1] = standby_fact(4000, 12.0, 10);
	sc.f[1].h.streaming = false;
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.v[1].reason == RR_REASON_NOT_STREAMING && !sc.v[1].routable,
	   "cut off: reason not_streaming");

	/* cut off but the primary is idle and it has everything: fit (the client sees the primary) */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[1] = standby_fact(5000, 30.0, 10);
	sc.f[1].h.streaming = false;
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.v[1].routable && sc.v[1].lag_seconds < 0.01,
	   "not streaming but caught up with an idle primary: fit");

	/* a slow answer: asked 0.15 s ago, a small lag, the primary writing: still fit */
	scenario_init(&sc, 5000, 0, 9.9);
	sc.f[0] = primary_fact(5100, 9.95);
	rr_memory_note(&sc.mem, 3, sc.f, 0);
	sc.f[1] = standby_fact(5000, 0.02, 9.85);
	decide(&sc, 10.0, RR_INVALID_LSN);
	ok(sc.v[1].routable && near(sc.v[1].lag_seconds, 0.1),
	   "a 150 ms old answer is old, not absent: fit, lag %.3f s", sc.v[1].lag_seconds);

	/* the application was idle: every answer 10 s old */
	decide(&sc, 20.0, RR_INVALID_LSN);
	ok(!sc.v[1].routable && sc.v[1].lag_seconds >= 10.0,
	   "answers 10 s old: not fit until asked again (%.3f s)", sc.v[1].lag_seconds);

	/* first answers: one primary sample, the standby's own figure */
	memset(&sc, 0, sizeof(sc));
	rr_options_init(&sc.opts);
	sc.mem.history_node = -1;
	sc.f[0] = primary_fact(5000, 1.0);
	sc.f[1] = standby_fact(4990, 0.02, 1.0);
	sc.f[2] = standby_fact(4000, 7.0, 1.0);
	rr_memory_note(&sc.mem, 3, sc.f, 0);
	rr_memory_note(&sc.mem, 3, sc.f, 1);
	rr_memory_note(&sc.mem, 3, sc.f, 2);
	decide(&sc, 1.002, RR_INVALID_LSN);
	ok(sc.v[1].routable && near(sc.v[1].lag_seconds, 0.022),
	   "first answers: the standby's own figure is the bound (%.3f)", sc.v[1].lag_seconds);
	ok(!sc.v[2].routable && sc.v[2].lag_seconds >= 7.0,
	   "first answers: a standby that says 7 s is not fit (%.3f)", sc.v[2].lag_seconds);

	/* unknown lag: no history covers it, no own figure */
	sc.f[2].h.own_lag_seconds = -1;
	decide(&sc, 1.002, RR_INVALID_LSN);
	ok(!sc.v[2].routable && sc.v[2].reason == RR_REASON_LAG_UNKNOWN,
	   "no bound at all: lag_unknown, not fit");

	/* bytes over the limit */
	scenario_init(&sc, (uint64_t) 100 << 20, 0, 10);
	sc.f[1] = standby_fact((uint64_t) 50 << 20, 0.0, 10);
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(!sc.v[1].routable && sc.v[1].reason == RR_REASON_LAG_OVER_LIMIT &&
	   sc.v[1].lag_bytes == (int64_t) 50 << 20, "50 MB behind: over max_lag_bytes");

	/* primary lost */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[0].link = RR_LINK_DOWN;
	sc.f[0].answered = false;
	sc.f[1] = standby_fact(5000, 4.0, 14);
	sc.f[1].h.streaming = false;
	sc.f[2] = standby_fact(4500, 4.0, 14);
	sc.f[2].h.streaming = false;
	decide(&sc, 14.001, RR_INVALID_LSN);
	ok(sc.d.primary < 0 && sc.d.primary_lost && sc.d.newest_lsn == 5000,
	   "primary down: lost, newest WAL known 5000");
	ok(sc.v[1].routable && sc.v[1].reason == RR_REASON_PRIMARY_LOST &&
	   sc.v[1].lag_seconds >= 4.0,
	   "primary_lost=serve: a standby with everything serves, its lag still reported (%.3f)",
	   sc.v[1].lag_seconds);
	ok(!sc.v[2].routable && sc.v[2].reason != RR_REASON_PRIMARY_LOST,
	   "a standby behind that position is judged by its lag (%s)",
	   RRreasonName(sc.v[2].reason));
	sc.opts.primary_lost = RR_PRIMARY_LOST_REFUSE;
	decide(&sc, 14.001, RR_INVALID_LSN);
	ok(!sc.v[1].routable && sc.v[1].reason == RR_REASON_NOT_STREAMING,
	   "primary_lost=refuse: judged by its growing lag");
	/* a standby's received position raises the newest known WAL */
	sc.opts.primary_lost = RR_PRIMARY_LOST_SERVE;
	sc.f[2].h.receive_lsn = 6000;
	decide(&sc, 14.001, RR_INVALID_LSN);
	ok(sc.d.newest_lsn == 6000 && !sc.v[1].routable,
	   "WAL another standby received counts: node 1 no longer has everything");

	/* old primary back on timeline 1 after a promotion to timeline 2 */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[1] = primary_fact(6000, 10);
	sc.f[1].h.timeline = 2;
	rr_memory_note(&sc.mem, 3, sc.f, 1);
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.d.primary == 1 && sc.v[0].reason == RR_REASON_OLD_PRIMARY && !sc.v[0].routable,
	   "an old primary on a lower timeline is never used");
	ok(sc.v[2].reason == RR_REASON_LAG_UNKNOWN && !sc.v[2].routable,
	   "a standby still on the old timeline cannot be compared");

	/* two primaries on one timeline */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[1] = primary_fact(5000, 10);
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.d.primary < 0 && sc.v[0].reason == RR_REASON_COMPETING_PRIMARY &&
	   sc.v[1].reason == RR_REASON_COMPETING_PRIMARY, "split brain: no primary");

	/* a node of another cluster */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[2].h.system_identifier = 99;
	sc.mem.sysid_locked = false;
	rr_memory_note(&sc.mem, 3, sc.f, 2);
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.v[2].reason == RR_REASON_FOREIGN_CLUSTER && !sc.v[2].routable,
	   "foreign system identifier: never used");

	/* down, connecting, extension missing */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[1].link = RR_LINK_DOWN;
	sc.f[1].answered = false;
	sc.f[2].answered = false;
	sc.f[2].link = RR_LINK_UP;
	sc.f[2].failure = RR_REASON_EXTENSION_MISSING;
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.v[1].reason == RR_REASON_DOWN && sc.v[2].reason == RR_REASON_EXTENSION_MISSING,
	   "down and extension_missing");
	sc.f[2].failure = RR_REASON_OK;
	sc.f[2].link = RR_LINK_CONNECTING;
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(sc.v[2].reason == RR_REASON_CONNECTING, "connecting");

	/* session token */
	scenario_init(&sc, 5000, 0, 10);
	sc.f[2].replayed_lsn = 4000;
	decide(&sc, 10.001, 4500);
	ok(sc.v[1].reason == RR_REASON_OK && sc.v[1].has_token &&
	   sc.v[2].reason == RR_REASON_BEHIND_TOKEN && sc.v[2].routable && !sc.v[2].has_token,
	   "behind the session token: still fit (a wait can catch up), not chosen first");

	/* fallback=error: the primary takes no reads */
	scenario_init(&sc, 5000, 0, 10);
	sc.opts.fallback = RR_FALLBACK_ERROR;
	decide(&sc, 10.001, RR_INVALID_LSN);
	ok(!sc.v[0].routable && sc.d.primary == 0, "fallback=error: the primary is not routable");

	/* every reason has a stable name */
	ok(strcmp(RRreasonName(RR_REASON_OK), "ok") == 0 &&
	   strcmp(RRreasonName(RR_REASON_PRIMARY_LOST), "primary_lost") == 0 &&
	   strcmp(RRreasonName(RR_REASON_HEALTH_QUERY_FAILED), "health_query_failed") == 0 &&
	   strcmp(RRreasonName((RRreason) 99), "unknown") == 0, "reason names");
	ok(strcmp(RReventName(RR_EVENT_NODE_EXCLUDED), "node_excluded") == 0 &&
	   strcmp(RReventName((RReventType) 99), "unknown") == 0, "event names");
}

/* ---- the public API without a server ---- */

static void
test_api(void)
{
	RRcluster  *rr;
	PGresult   *res;

	RRfinish(NULL);
	ok(1, "RRfinish(NULL) is harmless");
	ok(RRstatus(NULL) == RR_BAD, "RRstatus(NULL) is RR_BAD");
	ok(RRerrorMessage(NULL) != NULL, "RRerrorMessage(NULL) is a string");
	ok(RRexec(NULL, RR_READ, "SELECT 1") == NULL, "RRexec(NULL) is NULL");
	ok(RRreadConn(NULL) == NULL && RRwriteConn(NULL) == NULL, "conn accessors on NULL");
	ok(strcmp(RRsessionToken(NULL), "") == 0, "RRsessionToken(NULL) is empty");
	ok(RRnodeCount(NULL) == 0 && RRnodeHost(NULL, 0) == NULL, "node accessors on NULL");

	rr = RRconnect("host=127.0.0.1 port=1", "polcy=random");
	ok(rr != NULL && RRstatus(rr) == RR_BAD, "bad options: RR_BAD");
	ok(strstr(RRerrorMessage(rr), "unknown option \"polcy\"") != NULL,
	   "the message names the option: %s", RRerrorMessage(rr));
	res = RRexec(rr, RR_READ, "SELECT 1");
	ok(res == NULL && strstr(RRerrorMessage(rr), "not usable") != NULL,
	   "RRexec on a bad handle fails clearly: %s", RRerrorMessage(rr));
	ok(RRexec(rr, RR_READ, "SELECT 1") == NULL, "and again (double use of a failed handle)");
	ok(RRreadConn(rr) == NULL && RRwriteConn(rr) == NULL, "no connections from a bad handle");
	RRfinish(rr);

	rr = RRconnect("host=127.0.0.1 port=1 nonsense=1", NULL);
	ok(rr != NULL && RRstatus(rr) == RR_BAD &&
	   strstr(RRerrorMessage(rr), "nonsense") != NULL,
	   "bad conninfo: RR_BAD naming the keyword: %s", RRerrorMessage(rr));
	RRfinish(rr);

	/* closed ports on loopback: nobody answers, quickly */
	rr = RRconnect("host=127.0.0.1,127.0.0.1 port=1,9 connect_timeout=2", NULL);
	ok(rr != NULL && RRstatus(rr) == RR_BAD, "no node answers: RR_BAD");
	ok(strstr(RRerrorMessage(rr), "no node answered") != NULL &&
	   strstr(RRerrorMessage(rr), "127.0.0.1:1") != NULL &&
	   strstr(RRerrorMessage(rr), "127.0.0.1:9") != NULL,
	   "the message names every node");
	diag(RRerrorMessage(rr));
	ok(RRnodeCount(rr) == 2 && RRnodeStatus(rr, 0) == RR_NODE_DOWN &&
	   RRnodeRoutable(rr, 1) == 0 && RRnodeLagBytes(rr, 0) == -1,
	   "node accessors on a bad handle");
	ok(RRnodeHost(rr, 5) == NULL && RRnodeHost(rr, -1) == NULL, "out-of-range node numbers");
	ok(RRsystemIdentifier(rr) == 0 && RRsystemIdentifier(NULL) == 0,
	   "no system identifier before any node answered");
	ok(RRsetSessionToken(rr, "garbage") == -1 &&
	   strstr(RRerrorMessage(rr), "invalid session token") != NULL,
	   "garbage token rejected: %s", RRerrorMessage(rr));
	ok(RRsetSessionToken(rr, "") == -1 && strstr(RRerrorMessage(rr), "empty") != NULL,
	   "empty token rejected");
	ok(RRsetSessionToken(rr, "0/10junk") == -1, "LSN with junk rejected");
	ok(RRsetSessionToken(rr, "1/0") == 0 && strcmp(RRsessionToken(rr), "1/0") == 0,
	   "a good token is taken");
	ok(RRsetSessionToken(rr, "0/5") == 0 && strcmp(RRsessionToken(rr), "1/0") == 0,
	   "an older token never lowers a newer one");
	ok(RRexec(rr, 7, "SELECT 1") == NULL, "invalid intent on a bad handle");
	RRfinish(rr);
}

/* The monitor's API without a server: misuse, bad arguments, lifetimes. */
static void
test_monitor_api(void)
{
	RRmonitor  *mon;
	RRcluster  *rr;

	RRmonitorFinish(NULL);
	ok(1, "RRmonitorFinish(NULL) is harmless");
	ok(RRmonitorStatus(NULL) == RR_BAD && RRmonitorErrorMessage(NULL) != NULL &&
	   RRmonitorNodeCount(NULL) == 0 && RRmonitorHealthQueries(NULL, 0) == -1,
	   "monitor accessors on NULL");
	rr = RRconnectMonitor(NULL, NULL);
	ok(rr != NULL && RRstatus(rr) == RR_BAD &&
	   strstr(RRerrorMessage(rr), "monitor is NULL") != NULL,
	   "RRconnectMonitor(NULL): an RR_BAD handle: %s", RRerrorMessage(rr));
	ok(RRexec(rr, RR_READ, "SELECT 1") == NULL &&
	   strstr(RRerrorMessage(rr), "not usable") != NULL,
	   "... whose calls fail clearly: %s", RRerrorMessage(rr));
	RRfinish(rr);

	mon = RRmonitorStart("host=127.0.0.1 port=1", "check_interval=fast");
	ok(mon != NULL && RRmonitorStatus(mon) == RR_BAD &&
	   strstr(RRmonitorErrorMessage(mon), "check_interval") != NULL,
	   "bad monitor options: RR_BAD naming the key: %s", RRmonitorErrorMessage(mon));
	ok(RRmonitorNodeCount(mon) == 0 && RRmonitorHealthQueries(mon, 0) == -1,
	   "accessors on a bad monitor");
	rr = RRconnectMonitor(mon, NULL);
	ok(rr != NULL && RRstatus(rr) == RR_BAD &&
	   strstr(RRerrorMessage(rr), "monitor is not usable") != NULL &&
	   strstr(RRerrorMessage(rr), "check_interval") != NULL,
	   "a handle of a bad monitor is RR_BAD with its reason: %s", RRerrorMessage(rr));
	RRmonitorFinish(mon);
	ok(RRexec(rr, RR_READ, "SELECT 1") == NULL, "that handle outlives its monitor, failing");
	RRfinish(rr);

	/* closed ports on loopback: nobody answers, quickly */
	mon = RRmonitorStart("host=127.0.0.1,127.0.0.1 port=1,9 connect_timeout=2", NULL);
	ok(mon != NULL && RRmonitorStatus(mon) == RR_BAD &&
	   strstr(RRmonitorErrorMessage(mon), "no node answered") != NULL &&
	   strstr(RRmonitorErrorMessage(mon), "127.0.0.1:9") != NULL,
	   "no node answers: an RR_BAD monitor naming every node");
	RRmonitorFinish(mon);
}

int
main(void)
{
	test_options();
	test_conninfo();
	test_lsn();
	test_numbers();
	test_lag();
	test_decide();
	test_api();
	test_monitor_api();
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
