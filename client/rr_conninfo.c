/*-------------------------------------------------------------------------
 *
 * rr_conninfo.c
 *		Turn a libpq connection string into one set of connection
 *		parameters per node.
 *
 * libpq does the parsing (PQconninfoParse: keyword/value and URI syntax);
 * we only split the host, hostaddr and port lists the way libpq pairs them
 * for a multi-host connection, and give every node all other keywords.
 * Keywords not in the string are left out, so libpq applies environment
 * defaults (PGUSER, PGPASSFILE, ...) itself at connect time; host and port
 * come from PGHOST/PGHOSTADDR/PGPORT when the string has none, so that a
 * host list in PGHOST also gives several nodes.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

#define RR_MAX_NODES	128


/*
 * TCP keepalives and tcp_user_timeout for every connection, unless the
 * conninfo sets them: they are the only bound libpq itself offers for the
 * connections handed out by RRreadConn/RRwriteConn once the node's network
 * goes silent (they do not help against a frozen server process, whose
 * kernel still acknowledges; the library's own calls are bounded by its
 * health probes instead).  Ignored for Unix sockets.
 */
const char *const rr_keepalive_defaults[RR_N_KEEPALIVE_DEFAULTS][2] = {
	{"keepalives", "1"},
	{"keepalives_idle", "5"},
	{"keepalives_interval", "2"},
	{"keepalives_count", "3"},
	{"tcp_user_timeout", "10000"},
};

/* Keywords that make no sense per node: replroute does this routing. */
static const char *const dropped_keywords[] = {
	"host", "hostaddr", "port", "target_session_attrs", "load_balance_hosts", NULL
};

static bool
is_dropped(const char *keyword)
{
	int			i;

	for (i = 0; dropped_keywords[i] != NULL; i++)
		if (strcmp(keyword, dropped_keywords[i]) == 0)
			return true;
	return false;
}

/* Remember s as owned by ci; returns s, or NULL if out of memory. */
static char *
own(rr_conninfo *ci, char *s)
{
	char	  **grown;

	if (s == NULL)
		return NULL;
	grown = realloc(ci->strings, sizeof(char *) * (ci->nstrings + 1));
	if (grown == NULL)
	{
		free(s);
		return NULL;
	}
	ci->strings = grown;
	ci->strings[ci->nstrings++] = s;
	return s;
}

static char *
own_dup(rr_conninfo *ci, const char *s, size_t len)
{
	char	   *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return own(ci, copy);
}

/*
 * split_list
 *		Split a comma-separated list into owned strings.  Returns the count,
 *		or -1 if out of memory.  An empty list (NULL or "") gives 0 items.
 */
static int
split_list(rr_conninfo *ci, const char *list, char ***items)
{
	int			n = 1;
	int			i;
	const char *p;

	*items = NULL;
	if (list == NULL || *list == '\0')
		return 0;
	for (p = list; *p; p++)
		if (*p == ',')
			n++;
	if (n > RR_MAX_NODES)
		return n;				/* caller reports too many */
	*items = calloc(n, sizeof(char *));
	if (*items == NULL)
		return -1;
	for (i = 0, p = list; i < n; i++)
	{
		size_t		len = strcspn(p, ",");

		(*items)[i] = own_dup(ci, p, len);
		if ((*items)[i] == NULL)
		{
			free(*items);
			*items = NULL;
			return -1;
		}
		p += len + (p[len] == ',' ? 1 : 0);
	}
	return n;
}

/* The value of keyword in a PQconninfoOption array, or NULL. */
static const char *
option_value(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts && opts->keyword; opts++)
		if (strcmp(opts->keyword, keyword) == 0)
			return opts->val;
	return NULL;
}

/*
 * parse_int
 *		An integer option the way libpq reads one: optional leading and
 *		trailing whitespace, nothing else, within int range.  Returns 0 or -1.
 */
static int
parse_int(const char *val, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (end == val || errno != 0 || v < INT_MIN || v > INT_MAX)
		return -1;
	while (isspace((unsigned char) *end))
		end++;
	if (*end != '\0')
		return -1;
	*out = (int) v;
	return 0;
}

/*
 * parse_connect_timeout
 *		libpq's connect_timeout (whole seconds) as our deadline in ms.  Unset,
 *		zero or negative means "wait forever" to libpq; replroute always
 *		bounds connecting, so those give -1: the node_timeout option applies.
 */
static int
parse_connect_timeout(const char *val, int *ms, char *errbuf, size_t errlen)
{
	int			secs;

	if (val == NULL || *val == '\0')
	{
		*ms = -1;
		return 0;
	}
	if (parse_int(val, &secs) < 0)
	{
		rr_format(errbuf, errlen,
				  "invalid integer value \"%s\" for connection option \"connect_timeout\"",
				  val);
		return -1;
	}
	if (secs <= 0)
		*ms = -1;
	else if (secs > INT_MAX / 1000)
		*ms = INT_MAX;
	else
		*ms = (int) secs * 1000;
	return 0;
}

/*
 * find_secrets
 *		Store in secrets[] (up to max, owned copies) the passwords conninfo
 *		may carry: the value after a "password" keyword, and the password of
 *		a URI's user:password@ part.  Found by a plain scan, since this is
 *		used precisely when libpq could not parse the string.  Returns the
 *		count.
 */
static int
find_secrets(const char *conninfo, char **secrets, int max)
{
	int			n = 0;
	const char *p;

	for (p = conninfo; p && *p && n < max; p++)
	{
		const char *v = NULL;
		size_t		len = 0;

		if (strncmp(p, "password", 8) == 0)
		{
			const char *q = p + 8;

			while (isspace((unsigned char) *q))
				q++;
			if (*q != '=')
				continue;
			q++;
			while (isspace((unsigned char) *q))
				q++;
			if (*q == '\'')
				q++;
			v = q;
			len = strcspn(q, "' \t\n&");
		}
		else if (strncmp(p, "://", 3) == 0)
		{
			const char *auth = p + 3;
			size_t		authlen = strcspn(auth, "/?");
			const char *at = NULL;
			const char *c;
			const char *colon;

			for (c = auth; c < auth + authlen; c++)
				if (*c == '@')
					at = c;
			if (at == NULL)
				continue;
			colon = memchr(auth, ':', (size_t) (at - auth));
			if (colon == NULL)
				continue;
			v = colon + 1;
			len = (size_t) (at - v);
		}
		if (v != NULL && len > 0 && (secrets[n] = malloc(len + 1)) != NULL)
		{
			memcpy(secrets[n], v, len);
			secrets[n][len] = '\0';
			n++;
		}
	}
	return n;
}

/*
 * redact_message
 *		Copy libpq's parse error into buf with any password of conninfo in it
 *		masked.  libpq quotes the offending token, which can be the password
 *		itself (a bad percent-escape) or a whole URI; when a password is too
 *		short to mask reliably, the detail is withheld altogether.
 */
static void
redact_message(const char *conninfo, const char *msg, char *buf, size_t len)
{
	char	   *secrets[8];
	int			n = find_secrets(conninfo, secrets, 8);
	int			i;

	rr_trim(msg, buf, len);
	for (i = 0; i < n; i++)
	{
		size_t		slen = strlen(secrets[i]);
		char	   *hit;

		if (slen < 4)
		{
			if (strstr(buf, secrets[i]) != NULL)
				rr_format(buf, len, "details withheld: they would show the password");
			continue;
		}
		while ((hit = strstr(buf, secrets[i])) != NULL)
		{
			/* replace the secret by "********" in place */
			size_t		tail = strlen(hit + slen);
			size_t		mask = slen < 8 ? slen : 8;

			memset(hit, '*', mask);
			memmove(hit + mask, hit + slen, tail + 1);
		}
	}
	for (i = 0; i < n; i++)
		free(secrets[i]);
}

/*
 * rr_conninfo_parse
 *		Returns the nodes of conninfo, or NULL with a message in errbuf
 *		(an empty message means out of memory).  Free with rr_conninfo_free.
 */
rr_conninfo *
rr_conninfo_parse(const char *conninfo, char *errbuf, size_t errlen)
{
	PQconninfoOption *opts = NULL;
	PQconninfoOption *defaults = NULL;
	PQconninfoOption *o;
	char	   *perr = NULL;
	rr_conninfo *ci;
	const char *host_list;
	const char *addr_list;
	const char *port_list;
	char	  **hosts = NULL;
	char	  **addrs = NULL;
	char	  **ports = NULL;
	int			nhosts,
				naddrs,
				nports,
				n,
				i,
				j,
				nkeep = 0,
				timeout_ms;

	errbuf[0] = '\0';
	ci = calloc(1, sizeof(rr_conninfo));
	if (ci == NULL)
		return NULL;

	opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
	if (opts == NULL)
	{
		if (perr != NULL)
		{
			char		msg[RR_ERRBUF_SIZE];

			redact_message(conninfo ? conninfo : "", perr, msg, sizeof(msg));
			rr_format(errbuf, errlen, "invalid connection string: %s", msg);
			PQfreemem(perr);
		}
		goto fail;
	}

	host_list = option_value(opts, "host");
	addr_list = option_value(opts, "hostaddr");
	port_list = option_value(opts, "port");
	if ((host_list == NULL || *host_list == '\0') &&
		(addr_list == NULL || *addr_list == '\0'))
	{
		/* no host in the string: libpq's environment defaults apply */
		defaults = PQconndefaults();
		if (defaults == NULL)
			goto fail;
		host_list = option_value(defaults, "host");
		addr_list = option_value(defaults, "hostaddr");
	}
	if (port_list == NULL || *port_list == '\0')
	{
		if (defaults == NULL && (defaults = PQconndefaults()) == NULL)
			goto fail;
		port_list = option_value(defaults, "port");
	}

	if ((nhosts = split_list(ci, host_list, &hosts)) < 0 ||
		(naddrs = split_list(ci, addr_list, &addrs)) < 0 ||
		(nports = split_list(ci, port_list, &ports)) < 0)
		goto fail;

	n = nhosts > naddrs ? nhosts : naddrs;
	if (n == 0)
		n = 1;					/* libpq's default host */
	if (n > RR_MAX_NODES || nports > RR_MAX_NODES)
	{
		rr_format(errbuf, errlen, "too many hosts in connection string (at most %d)",
				  RR_MAX_NODES);
		goto fail;
	}
	if (nhosts > 0 && naddrs > 0 && nhosts != naddrs)
	{
		rr_format(errbuf, errlen,
				  "invalid connection string: could not match %d host names to %d hostaddr values",
				  nhosts, naddrs);
		goto fail;
	}
	if (nports > 1 && nports != n)
	{
		rr_format(errbuf, errlen,
				  "invalid connection string: could not match %d port numbers to %d hosts",
				  nports, n);
		goto fail;
	}
	for (i = 0; i < nports; i++)
	{
		int			port;
		char	   *p = ports[i];
		size_t		len;

		/* as libpq: surrounding whitespace is allowed; keep the number only */
		while (isspace((unsigned char) *p))
			p++;
		len = strlen(p);
		while (len > 0 && isspace((unsigned char) p[len - 1]))
			len--;
		memmove(ports[i], p, len);
		ports[i][len] = '\0';
		if (ports[i][0] == '\0')
			continue;			/* empty: libpq's default */
		if (parse_int(ports[i], &port) < 0 || port < 1 || port > 65535)
		{
			rr_format(errbuf, errlen,
					  "invalid connection string: invalid port number \"%s\"", ports[i]);
			goto fail;
		}
	}
	if (parse_connect_timeout(option_value(opts, "connect_timeout"), &timeout_ms,
							  errbuf, errlen) < 0)
		goto fail;

	for (o = opts; o->keyword; o++)
		if (o->val != NULL && !is_dropped(o->keyword))
			nkeep++;

	ci->nodes = calloc(n, sizeof(rr_node_params));
	if (ci->nodes == NULL)
		goto fail;
	ci->nnodes = n;

	for (i = 0; i < n; i++)
	{
		rr_node_params *np = &ci->nodes[i];
		const char *h = (i < nhosts) ? hosts[i] : NULL;
		const char *a = (i < naddrs) ? addrs[i] : NULL;
		const char *p = nports == 0 ? NULL : ports[nports == 1 ? 0 : i];
		int			k = 0;

		/*
		 * keywords: everything kept, host, hostaddr, port, app name, the
		 * keepalive defaults, the slot for a resolved hostaddr, end
		 */
		np->keywords = calloc(nkeep + 6 + RR_N_KEEPALIVE_DEFAULTS, sizeof(char *));
		np->values = calloc(nkeep + 6 + RR_N_KEEPALIVE_DEFAULTS, sizeof(char *));
		if (np->keywords == NULL || np->values == NULL)
			goto fail;
		for (o = opts; o->keyword; o++)
		{
			if (o->val == NULL || is_dropped(o->keyword))
				continue;
			np->keywords[k] = own_dup(ci, o->keyword, strlen(o->keyword));
			np->values[k] = own_dup(ci, o->val, strlen(o->val));
			if (np->keywords[k] == NULL || np->values[k] == NULL)
				goto fail;
			k++;
		}
		if (h && *h)
		{
			np->keywords[k] = "host";
			np->values[k++] = h;
		}
		if (a && *a)
		{
			np->keywords[k] = "hostaddr";
			np->values[k++] = a;
		}
		if (p && *p)
		{
			np->keywords[k] = "port";
			np->values[k++] = p;
		}
		if (option_value(opts, "application_name") == NULL &&
			option_value(opts, "fallback_application_name") == NULL)
		{
			np->keywords[k] = "fallback_application_name";
			np->values[k++] = "replroute";
		}
		for (j = 0; j < (int) RR_N_KEEPALIVE_DEFAULTS; j++)
		{
			if (option_value(opts, rr_keepalive_defaults[j][0]) != NULL)
				continue;
			np->keywords[k] = rr_keepalive_defaults[j][0];
			np->values[k++] = rr_keepalive_defaults[j][1];
		}
		np->addr_slot = k;
		np->lookup_host = (h && *h && !(a && *a) && rr_host_needs_lookup(h)) ? h : NULL;
		np->keywords[k] = NULL;
		np->values[k] = NULL;

		{
			/* shown to users; "" (libpq's default socket) is filled in later */
			const char *shown = (h && *h) ? h : (a && *a) ? a : "";

			np->host = own_dup(ci, shown, strlen(shown));
		}
		np->port = own_dup(ci, (p && *p) ? p : "5432", strlen((p && *p) ? p : "5432"));
		if (np->host == NULL || np->port == NULL)
			goto fail;
		np->connect_timeout_ms = timeout_ms;
	}

	free(hosts);
	free(addrs);
	free(ports);
	PQconninfoFree(opts);
	PQconninfoFree(defaults);
	return ci;

fail:
	free(hosts);
	free(addrs);
	free(ports);
	PQconninfoFree(opts);
	PQconninfoFree(defaults);
	rr_conninfo_free(ci);
	return NULL;
}

void
rr_conninfo_free(rr_conninfo *ci)
{
	int			i;

	if (ci == NULL)
		return;
	for (i = 0; i < ci->nnodes; i++)
	{
		free(ci->nodes[i].keywords);
		free(ci->nodes[i].values);
	}
	free(ci->nodes);
	for (i = 0; i < ci->nstrings; i++)
		free(ci->strings[i]);
	free(ci->strings);
	free(ci);
}
