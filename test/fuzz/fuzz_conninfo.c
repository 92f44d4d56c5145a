/*-------------------------------------------------------------------------
 *
 * fuzz_conninfo.c
 *		libFuzzer target: connection string to nodes (rr_conninfo_parse).
 *
 * Each input is split into nodes and the nodes are checked against what
 * rr_conninfo.c promises, and against libpq's own reading of the string
 * (PQconninfoParse): a node per host/hostaddr list item, port lists paired
 * with them, every other keyword copied to every node unchanged, keyword and
 * value arrays NULL-terminated and paired, no keyword twice, only keywords
 * libpq knows.  A failure must leave a non-empty message, truncated in place
 * in a tiny buffer.  The PG* environment is cleared first, so the result
 * depends on the input only.
 *
 *-------------------------------------------------------------------------
 */
#include <limits.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"
#include "fuzz_common.h"

/* RR_MAX_NODES in rr_conninfo.c */
#define MAX_NODES			128

/* Small enough to truncate every message. */
#define SMALL_ERRLEN		8

/* Keywords rr_conninfo.c handles itself rather than copying to each node. */
static const char *const per_node_keywords[] = {
	"host", "hostaddr", "port", "target_session_attrs", "load_balance_hosts", NULL
};

/* libpq's keywords, and its defaults for host, hostaddr and port */
static char **libpq_keywords = NULL;
static int	nlibpq_keywords = 0;
static char *default_host = NULL;
static char *default_hostaddr = NULL;
static char *default_port = NULL;

/*
 * option_value
 *		The value of keyword in a PQconninfoOption array, or NULL.
 */
static const char *
option_value(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts->keyword != NULL; opts++)
		if (fuzz_streq(opts->keyword, keyword))
			return opts->val;
	return NULL;
}

/*
 * in_list
 *		Returns 1 if s is one of the NULL-terminated list's strings.
 */
static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (fuzz_streq(s, *list))
			return 1;
	return 0;
}

/*
 * item_count
 *		Number of items in a comma-separated list; 0 for NULL or "".
 */
static int
item_count(const char *list)
{
	int			n = 1;

	if (list == NULL || *list == '\0')
		return 0;
	for (; *list != '\0'; list++)
		if (*list == ',')
			n++;
	return n;
}

/*
 * item
 *		Start of the i-th item (from 0) of a comma-separated list, its length
 *		in *len.  i must be below item_count(list).
 */
static const char *
item(const char *list, int i, size_t *len)
{
	for (; i > 0; i--)
		list = strchr(list, ',') + 1;
	*len = strcspn(list, ",");
	return list;
}

/*
 * check_arrays
 *		A node's keyword and value arrays are NULL-terminated within the
 *		bound the code allows, paired, and hold only libpq's keywords, each
 *		once.  Returns the number of keywords.
 */
static int
check_arrays(const rr_node_params *np)
{
	int			k;

	FUZZ_CHECK(np->keywords != NULL && np->values != NULL);
	for (k = 0; np->keywords[k] != NULL; k++)
	{
		int			j;

		/* libpq's keywords less the dropped ones, plus 4 set per node */
		FUZZ_CHECK(k < nlibpq_keywords + 4);
		FUZZ_CHECK(np->values[k] != NULL);
		FUZZ_CHECK(in_list(np->keywords[k], (const char *const *) libpq_keywords));
		for (j = 0; j < k; j++)
			FUZZ_CHECK(!fuzz_streq(np->keywords[j], np->keywords[k]));
	}
	FUZZ_CHECK(np->values[k] == NULL);
	return k;
}

/*
 * node_value
 *		The value a node gives keyword, or NULL.  The arrays must have passed
 *		check_arrays.
 */
static const char *
node_value(const rr_node_params *np, const char *keyword)
{
	int			k;

	for (k = 0; np->keywords[k] != NULL; k++)
		if (fuzz_streq(np->keywords[k], keyword))
			return np->values[k];
	return NULL;
}

/*
 * check_list_value
 *		Node i's value for keyword is the i-th item of list (the only item
 *		if the list has one), or absent if that item is empty.  With trim,
 *		surrounding whitespace of the item does not count (ports: libpq
 *		accepts it around numbers).
 */
static void
check_list_value(const rr_node_params *np, int i, const char *keyword,
				 const char *list, bool trim)
{
	const char *v = node_value(np, keyword);
	int			n = item_count(list);
	const char *it;
	size_t		len;

	if (n == 0)
	{
		FUZZ_CHECK(v == NULL);
		return;
	}
	it = item(list, n == 1 ? 0 : i, &len);
	while (trim && len > 0 && isspace((unsigned char) *it))
	{
		it++;
		len--;
	}
	while (trim && len > 0 && isspace((unsigned char) it[len - 1]))
		len--;
	if (len == 0)
		FUZZ_CHECK(v == NULL);
	else
		FUZZ_CHECK(v != NULL && strlen(v) == len && fuzz_strneq(v, it, len));
}

/*
 * expected_timeout_ms
 *		The deadline a plain connect_timeout gives (-1: unset or 0, so that
 *		node_timeout applies), or -2 when the value is not a plain number of
 *		seconds (then only its shape is checked).
 */
static int
expected_timeout_ms(const char *val)
{
	long		secs;

	if (val == NULL || *val == '\0')
		return -1;
	if (strspn(val, "0123456789") != strlen(val) || strlen(val) > 7)
		return -2;
	secs = strtol(val, NULL, 10);
	if (secs == 0)
		return -1;
	return secs > INT_MAX / 1000 ? INT_MAX : (int) secs * 1000;
}

/*
 * check_nodes
 *		ci, parsed from a string libpq reads as opts, holds the nodes that
 *		string describes.
 */
static void
check_nodes(const rr_conninfo *ci, const PQconninfoOption *opts)
{
	const char *hosts = option_value(opts, "host");
	const char *addrs = option_value(opts, "hostaddr");
	const char *ports = option_value(opts, "port");
	int			nhosts;
	int			naddrs;
	int			want;
	int			want_ms;
	int			i;

	/* the string's host and port lists, else libpq's defaults */
	if ((hosts == NULL || *hosts == '\0') && (addrs == NULL || *addrs == '\0'))
	{
		hosts = default_host;
		addrs = default_hostaddr;
	}
	if (ports == NULL || *ports == '\0')
		ports = default_port;
	nhosts = item_count(hosts);
	naddrs = item_count(addrs);
	want = nhosts > naddrs ? nhosts : naddrs;
	if (want == 0)
		want = 1;
	want_ms = expected_timeout_ms(option_value(opts, "connect_timeout"));

	FUZZ_CHECK(ci->nnodes >= 1 && ci->nnodes <= MAX_NODES);
	FUZZ_CHECK(ci->nnodes == want);
	FUZZ_CHECK(ci->nodes != NULL);
	FUZZ_CHECK(ci->nstrings >= 0);
	FUZZ_CHECK(ci->nstrings == 0 || ci->strings != NULL);

	for (i = 0; i < ci->nnodes; i++)
	{
		const rr_node_params *np = &ci->nodes[i];
		const PQconninfoOption *o;
		const char *host;
		const char *addr;
		const char *port;
		char	   *end;
		long		portnum;
		int			nkw;
		int			want_kw = 0;
		int			k;

		nkw = check_arrays(np);
		FUZZ_CHECK(np->host != NULL && np->port != NULL);
		FUZZ_CHECK(np->connect_timeout_ms > 0 || np->connect_timeout_ms == -1);
		FUZZ_CHECK(np->connect_timeout_ms == ci->nodes[0].connect_timeout_ms);
		FUZZ_CHECK(want_ms == -2 || np->connect_timeout_ms == want_ms);

		/* every other keyword the string set, unchanged */
		for (o = opts; o->keyword != NULL; o++)
		{
			const char *v;

			if (o->val == NULL || in_list(o->keyword, per_node_keywords))
				continue;
			v = node_value(np, o->keyword);
			FUZZ_CHECK(v != NULL && fuzz_streq(v, o->val));
			want_kw++;
		}
		for (o = opts; o->keyword != NULL; o++)
			if (in_list(o->keyword, per_node_keywords) &&
				!fuzz_streq(o->keyword, "host") &&
				!fuzz_streq(o->keyword, "hostaddr") &&
				!fuzz_streq(o->keyword, "port"))
				FUZZ_CHECK(node_value(np, o->keyword) == NULL);

		/* this node's items of the host, hostaddr and port lists */
		check_list_value(np, i, "host", nhosts > 0 ? hosts : NULL, false);
		check_list_value(np, i, "hostaddr", naddrs > 0 ? addrs : NULL, false);
		check_list_value(np, i, "port", ports, true);

		host = node_value(np, "host");
		addr = node_value(np, "hostaddr");
		port = node_value(np, "port");
		want_kw += (host != NULL) + (addr != NULL) + (port != NULL);
		if (option_value(opts, "application_name") == NULL &&
			option_value(opts, "fallback_application_name") == NULL)
		{
			const char *fb = node_value(np, "fallback_application_name");

			FUZZ_CHECK(fb != NULL && fuzz_streq(fb, "replroute"));
			want_kw++;
		}
		/* the keepalive defaults, where the string sets none of its own */
		for (k = 0; k < RR_N_KEEPALIVE_DEFAULTS; k++)
		{
			const char *v = node_value(np, rr_keepalive_defaults[k][0]);

			if (option_value(opts, rr_keepalive_defaults[k][0]) != NULL)
				continue;
			FUZZ_CHECK(v != NULL && fuzz_streq(v, rr_keepalive_defaults[k][1]));
			want_kw++;
		}
		FUZZ_CHECK(nkw == want_kw);

		/* the host and port shown to users */
		FUZZ_CHECK(fuzz_streq(np->host, host ? host : addr ? addr : ""));
		FUZZ_CHECK(fuzz_streq(np->port, port ? port : "5432"));
		portnum = strtol(np->port, &end, 10);
		FUZZ_CHECK(*end == '\0' && portnum >= 1 && portnum <= 65535);
	}
}

/*
 * check_failure
 *		rr_conninfo_parse rejected str with the message in err: the message
 *		must be sound, and a tiny buffer must give the same verdict with the
 *		message truncated in place.
 */
static void
check_failure(const char *str, const char *err, const PQconninfoOption *opts)
{
	char		small[SMALL_ERRLEN + FUZZ_GUARD_LEN];
	rr_conninfo *ci;
	size_t		full;
	size_t		cut;

	fuzz_check_message(err, RR_ERRBUF_SIZE);
	if (opts == NULL)
		FUZZ_CHECK(fuzz_strneq(err, "invalid connection string: ", 27));

	fuzz_guard_fill(small, SMALL_ERRLEN);
	ci = rr_conninfo_parse(str, small, SMALL_ERRLEN);
	FUZZ_CHECK(ci == NULL);
	full = strlen(err);
	cut = full < SMALL_ERRLEN - 1 ? full : SMALL_ERRLEN - 1;
	fuzz_check_message(small, SMALL_ERRLEN);
	FUZZ_CHECK(strlen(small) == cut);
	FUZZ_CHECK(fuzz_strneq(small, err, cut));
}

/*
 * LLVMFuzzerInitialize
 *		Called once by libFuzzer: clear the PG* environment, then note
 *		libpq's keywords and its defaults for host, hostaddr and port.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	PQconninfoOption *defaults;
	PQconninfoOption *o;
	int			i;

	(void) argc;
	(void) argv;
	fuzz_clear_pg_environment();

	defaults = PQconndefaults();
	FUZZ_CHECK(defaults != NULL);
	for (o = defaults; o->keyword != NULL; o++)
		nlibpq_keywords++;
	libpq_keywords = calloc(nlibpq_keywords + 1, sizeof(char *));
	FUZZ_CHECK(libpq_keywords != NULL);
	for (i = 0, o = defaults; o->keyword != NULL; o++, i++)
	{
		libpq_keywords[i] = strdup(o->keyword);
		FUZZ_CHECK(libpq_keywords[i] != NULL);
	}
	if (option_value(defaults, "host") != NULL)
		default_host = strdup(option_value(defaults, "host"));
	if (option_value(defaults, "hostaddr") != NULL)
		default_hostaddr = strdup(option_value(defaults, "hostaddr"));
	if (option_value(defaults, "port") != NULL)
		default_port = strdup(option_value(defaults, "port"));
	PQconninfoFree(defaults);

	rr_conninfo_free(NULL);
	return 0;
}

/*
 * LLVMFuzzerTestOneInput
 *		One run: the input (up to its first NUL) as a connection string.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *str = fuzz_input_copy(data, size);
	char		err[RR_ERRBUF_SIZE + FUZZ_GUARD_LEN];
	char	   *perr = NULL;
	PQconninfoOption *opts;
	rr_conninfo *ci;

	fuzz_guard_fill(err, RR_ERRBUF_SIZE);
	ci = rr_conninfo_parse(str, err, RR_ERRBUF_SIZE);
	FUZZ_CHECK(fuzz_guard_intact(err, RR_ERRBUF_SIZE));
	opts = PQconninfoParse(str, &perr);

	if (ci == NULL)
		check_failure(str, err, opts);
	else
	{
		/* libpq must have accepted what we accepted */
		FUZZ_CHECK(opts != NULL);
		check_nodes(ci, opts);
	}

	rr_conninfo_free(ci);
	PQconninfoFree(opts);
	PQfreemem(perr);
	fuzz_input_done(str);
	return 0;
}
