/*-------------------------------------------------------------------------
 *
 * unit_client.c
 *		Server-less unit tests of libreplroute: options and units, conninfo
 *		split into nodes, LSN text, lag arithmetic, API misuse.  Prints TAP.
 *		Built with AddressSanitizer and UBSan (see test/Makefile).
 *
 *-------------------------------------------------------------------------
 */
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
		ok(ci->nodes[0].connect_timeout_ms == RR_DEFAULT_CONNECT_TIMEOUT_MS,
		   "no connect_timeout: the default bound");
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

/* ---- lag in seconds from primary samples ---- */

static void
test_lag(void)
{
	RRcluster  *rr = calloc(1, sizeof(RRcluster));
	int			i;
	bool		exact;

	rr_options_init(&rr->opts);
	rr->opts.check_interval_us = 1000000;	/* samples 1 s apart are continuous */
	rr_lag_forget(rr);
	ok(rr_lag_seconds_behind(rr, 100, 5000000, &exact) == 0.0 && exact, "no samples: no lag");
	rr_lag_record_primary(rr, 0, 1, 1000, 1000000);
	rr_lag_record_primary(rr, 0, 1, 1000, 2000000);	/* idle primary: not recorded */
	rr_lag_record_primary(rr, 0, 1, 2000, 3000000);
	rr_lag_record_primary(rr, 0, 1, 3000, 4000000);
	ok(rr->history_len == 3, "only moves of the primary are recorded");
	ok(rr_lag_seconds_behind(rr, 3000, 10000000, &exact) == 0.0 && exact,
	   "caught up with the last sample: 0, however old (idle primary)");
	ok(fabs(rr_lag_seconds_behind(rr, 2500, 5000000, &exact) - 1.0) < 1e-9 && exact,
	   "missing what the primary had at t=4s, now t=5s: 1 s");
	ok(fabs(rr_lag_seconds_behind(rr, 1500, 5000000, &exact) - 2.0) < 1e-9 && exact,
	   "missing what the primary had at t=3s: 2 s");
	ok(fabs(rr_lag_seconds_behind(rr, 10, 5000000, &exact) - 4.0) < 1e-9 && !exact,
	   "behind the oldest sample: its age, flagged as not exact");
	rr_lag_record_primary(rr, 0, 1, 4000, 9000000);
	ok(rr->history_len == 1, "a gap in observation drops the history");
	rr_lag_record_primary(rr, 1, 2, 5000, 9500000);
	ok(rr->history_len == 1 && rr->history_primary == 1, "a new primary starts a new history");
	for (i = 0; i < RR_LSN_HISTORY + 10; i++)
		rr_lag_record_primary(rr, 1, 2, 6000 + (uint64_t) i, 9600000 + i);
	ok(rr->history_len == RR_LSN_HISTORY, "history is bounded");
	ok(fabs(rr_lag_seconds_behind(rr, 6000 + RR_LSN_HISTORY + 8, 10000000, &exact) -
			(10000000 - (9600000 + RR_LSN_HISTORY + 9)) / 1e6) < 1e-9 && exact,
	   "lookup in a wrapped ring");
	free(rr);
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

int
main(void)
{
	test_options();
	test_conninfo();
	test_lsn();
	test_lag();
	test_api();
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
