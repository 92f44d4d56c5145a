/*-------------------------------------------------------------------------
 *
 * rr_options.c
 *		Parse the options string: space-separated key=value, with units as
 *		PostgreSQL writes them ("16MB", "500ms").
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"

typedef struct rr_unit
{
	const char *name;
	double		multiplier;		/* to the option's base unit */
} rr_unit;

/* base unit: byte */
static const rr_unit byte_units[] = {
	{"B", 1.0}, {"kB", 1024.0}, {"MB", 1024.0 * 1024}, {"GB", 1024.0 * 1024 * 1024},
	{"TB", 1024.0 * 1024 * 1024 * 1024}, {NULL, 0}
};

/* base unit: microsecond */
static const rr_unit time_units[] = {
	{"us", 1.0}, {"ms", 1000.0}, {"s", 1000000.0}, {"min", 60000000.0}, {NULL, 0}
};

#define UNITS_HINT_BYTES	"valid units are \"B\", \"kB\", \"MB\", \"GB\" and \"TB\""
#define UNITS_HINT_TIME		"valid units are \"us\", \"ms\", \"s\" and \"min\""

/* largest accepted time: a day, far beyond any sane lag or wait */
#define MAX_TIME_US			(86400.0 * 1000000.0)

void
rr_options_init(rr_options *opts)
{
	opts->max_lag_bytes = 16 * 1024 * 1024;
	opts->max_lag_seconds = 1.0;
	opts->check_interval_us = 100 * 1000;
	opts->policy = RR_POLICY_ROUND_ROBIN;
	opts->fallback = RR_FALLBACK_PRIMARY;
	opts->consistency = RR_CONSISTENCY_NONE;
	opts->causal_wait_us = 100 * 1000;
	opts->primary_lost = RR_PRIMARY_LOST_SERVE;
	opts->node_timeout_us = 2 * 1000 * 1000;
	opts->statement_timeout_us = 0;
}

/*
 * parse_quantity
 *		Parse "<number>[unit]" where number is decimal digits with an optional
 *		fraction.  A bare number is in default_unit's terms.  Stores the value
 *		in base units.  Returns 0, or -1 with a reason in why.
 */
static int
parse_quantity(const char *val, const rr_unit *units, double default_mult,
			   const char *units_hint, double max_value, double *out,
			   char *why, size_t whylen)
{
	const char *p = val;
	double		number = 0.0;
	double		scale = 0.1;
	bool		digits = false;
	const rr_unit *u;

	if (*p == '-')
	{
		rr_format(why, whylen, "must not be negative");
		return -1;
	}
	while (isdigit((unsigned char) *p))
	{
		number = number * 10.0 + (*p - '0');
		digits = true;
		p++;
	}
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
		{
			number += (*p - '0') * scale;
			scale /= 10.0;
			digits = true;
			p++;
		}
	}
	if (!digits)
	{
		rr_format(why, whylen, "expected a number");
		return -1;
	}
	if (*p == '\0')
		number *= default_mult;
	else
	{
		for (u = units; u->name != NULL; u++)
		{
			if (strcmp(p, u->name) == 0)
				break;
		}
		if (u->name == NULL)
		{
			rr_format(why, whylen, "unknown unit \"%s\"; %s", p, units_hint);
			return -1;
		}
		number *= u->multiplier;
	}
	if (!isfinite(number) || number > max_value)
	{
		rr_format(why, whylen, "out of range");
		return -1;
	}
	*out = number;
	return 0;
}

static int
parse_choice(const char *val, const char *const *choices, int *out)
{
	int			i;

	for (i = 0; choices[i] != NULL; i++)
	{
		if (strcmp(val, choices[i]) == 0)
		{
			*out = i;
			return 0;
		}
	}
	return -1;
}

static const char *const policy_names[] = {"round_robin", "random", "least_lag", NULL};
static const char *const fallback_names[] = {"primary", "error", NULL};
static const char *const consistency_names[] = {"none", "session", NULL};
static const char *const primary_lost_names[] = {"serve", "refuse", NULL};

/* Keys in the order of the documentation; index used to detect repeats. */
static const char *const option_keys[] = {
	"max_lag_bytes", "max_lag_seconds", "check_interval", "policy",
	"fallback", "consistency", "causal_wait", "primary_lost", "node_timeout",
	"statement_timeout", NULL
};

/*
 * set_option
 *		Apply one key=value.  Returns 0, or -1 with the message in errbuf.
 */
static int
set_option(rr_options *opts, int key, const char *val,
		   char *errbuf, size_t errlen)
{
	char		why[200];
	double		d;
	int			choice;

	why[0] = '\0';
	switch (key)
	{
		case 0:					/* max_lag_bytes */
			if (parse_quantity(val, byte_units, 1.0, UNITS_HINT_BYTES,
							   9.0e18, &d, why, sizeof(why)) < 0)
				break;
			if (d != floor(d) && strpbrk(val, "kMGT") == NULL)
			{
				rr_format(why, sizeof(why), "a byte count must be a whole number");
				break;
			}
			opts->max_lag_bytes = (int64_t) llround(d);
			return 0;
		case 1:					/* max_lag_seconds: base unit second */
			if (parse_quantity(val, time_units, 1000000.0, UNITS_HINT_TIME,
							   MAX_TIME_US, &d, why, sizeof(why)) < 0)
				break;
			opts->max_lag_seconds = d / 1000000.0;
			return 0;
		case 2:					/* check_interval: base unit millisecond */
			if (parse_quantity(val, time_units, 1000.0, UNITS_HINT_TIME,
							   MAX_TIME_US, &d, why, sizeof(why)) < 0)
				break;
			opts->check_interval_us = (int64_t) llround(d);
			return 0;
		case 3:
			if (parse_choice(val, policy_names, &choice) < 0)
			{
				rr_format(why, sizeof(why), "expected round_robin, random or least_lag");
				break;
			}
			opts->policy = (rr_policy) choice;
			return 0;
		case 4:
			if (parse_choice(val, fallback_names, &choice) < 0)
			{
				rr_format(why, sizeof(why), "expected primary or error");
				break;
			}
			opts->fallback = (rr_fallback) choice;
			return 0;
		case 5:
			if (parse_choice(val, consistency_names, &choice) < 0)
			{
				rr_format(why, sizeof(why), "expected none or session");
				break;
			}
			opts->consistency = (rr_consistency) choice;
			return 0;
		case 6:					/* causal_wait: base unit millisecond, sent as int ms */
			if (parse_quantity(val, time_units, 1000.0, UNITS_HINT_TIME,
							   2147483647.0 * 1000.0, &d, why, sizeof(why)) < 0)
				break;
			opts->causal_wait_us = (int64_t) llround(d);
			return 0;
		case 7:
			if (parse_choice(val, primary_lost_names, &choice) < 0)
			{
				rr_format(why, sizeof(why), "expected serve or refuse");
				break;
			}
			opts->primary_lost = (rr_primary_lost) choice;
			return 0;
		case 8:					/* node_timeout: base unit millisecond */
			if (parse_quantity(val, time_units, 1000.0, UNITS_HINT_TIME,
							   MAX_TIME_US, &d, why, sizeof(why)) < 0)
				break;
			if (d < 1000.0)
			{
				rr_format(why, sizeof(why), "must be at least 1ms");
				break;
			}
			opts->node_timeout_us = (int64_t) llround(d);
			return 0;
		case 9:					/* statement_timeout: base unit millisecond, 0 off */
			if (parse_quantity(val, time_units, 1000.0, UNITS_HINT_TIME,
							   MAX_TIME_US, &d, why, sizeof(why)) < 0)
				break;
			opts->statement_timeout_us = (int64_t) llround(d);
			return 0;
	}
	rr_format(errbuf, errlen, "invalid value for option \"%s\": \"%s\" (%s)",
			  option_keys[key], val, why);
	return -1;
}

/*
 * rr_options_parse
 *		Parse str (NULL or empty: defaults) into *opts, which must have been
 *		set by rr_options_init.  Returns 0, or -1 with a message naming the
 *		offending key in errbuf; *opts may then be partly updated.
 */
int
rr_options_parse(rr_options *opts, const char *str, char *errbuf, size_t errlen)
{
	bool		seen[sizeof(option_keys) / sizeof(option_keys[0])] = {false};
	const char *p = str;

	if (str == NULL)
		return 0;

	for (;;)
	{
		char		token[512];
		size_t		len;
		char	   *eq;
		int			key;

		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			return 0;
		len = strcspn(p, " \t\r\n\f\v");
		if (len >= sizeof(token))
		{
			rr_format(errbuf, errlen, "option \"%.40s...\" is too long", p);
			return -1;
		}
		memcpy(token, p, len);
		token[len] = '\0';
		p += len;

		eq = strchr(token, '=');
		if (eq == NULL || eq == token)
		{
			rr_format(errbuf, errlen,
					  "invalid option \"%s\": expected key=value", token);
			return -1;
		}
		*eq = '\0';
		for (key = 0; option_keys[key] != NULL; key++)
		{
			if (strcmp(token, option_keys[key]) == 0)
				break;
		}
		if (option_keys[key] == NULL)
		{
			rr_format(errbuf, errlen,
					  "unknown option \"%s\" (known: max_lag_bytes, max_lag_seconds, "
					  "check_interval, policy, fallback, consistency, causal_wait, "
					  "primary_lost, node_timeout, statement_timeout)",
					  token);
			return -1;
		}
		if (seen[key])
		{
			rr_format(errbuf, errlen, "option \"%s\" is given more than once", token);
			return -1;
		}
		seen[key] = true;
		if (eq[1] == '\0')
		{
			rr_format(errbuf, errlen, "option \"%s\" has no value", token);
			return -1;
		}
		if (set_option(opts, key, eq + 1, errbuf, errlen) < 0)
			return -1;
	}
}
