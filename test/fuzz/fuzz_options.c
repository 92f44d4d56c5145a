/*-------------------------------------------------------------------------
 *
 * fuzz_options.c
 *		libFuzzer target: the options parser (rr_options_parse) and the LSN
 *		text functions (rr_parse_lsn, rr_format_lsn).
 *
 * Each input is parsed as an options string twice, with a full-size and a
 * tiny error buffer, and the results are checked against what rr_options.c
 * promises: values in range, identical outcome whatever the buffer size,
 * messages non-empty and truncated in place, a re-parse of the accepted
 * values giving them back.  The whole input, each of its whitespace-separated
 * words and the value after each '=' are also tried as LSN text, against a
 * reference parser; its first 8 bytes give an LSN to format and parse back.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_int.h"
#include "fuzz_common.h"

/* Limits rr_options.c enforces (see parse_quantity's callers there). */
#define MAX_LAG_BYTES		9.0e18
#define MAX_TIME_US			(86400.0 * 1000000.0)
#define MAX_CAUSAL_WAIT_US	(2147483647.0 * 1000.0)

/* Small enough to truncate every message. */
#define SMALL_ERRLEN		8

/* Integers a double holds exactly: the re-parse check stays below this. */
#define EXACT_DOUBLE_LIMIT	(INT64_C(1) << 53)

/*
 * check_ranges
 *		Every field of *o holds a value the parser could have accepted (or
 *		the default).  Holds after a failed parse too: a field is only
 *		assigned once its value passed the checks.
 */
static void
check_ranges(const rr_options *o)
{
	FUZZ_CHECK(o->max_lag_bytes >= 0);
	FUZZ_CHECK((double) o->max_lag_bytes <= MAX_LAG_BYTES);
	FUZZ_CHECK(isfinite(o->max_lag_seconds));
	FUZZ_CHECK(o->max_lag_seconds >= 0.0);
	FUZZ_CHECK(o->max_lag_seconds <= MAX_TIME_US / 1000000.0);
	FUZZ_CHECK(o->check_interval_us >= 0);
	FUZZ_CHECK((double) o->check_interval_us <= MAX_TIME_US);
	FUZZ_CHECK(o->causal_wait_us >= 0);
	FUZZ_CHECK((double) o->causal_wait_us <= MAX_CAUSAL_WAIT_US);
	FUZZ_CHECK(o->policy == RR_POLICY_ROUND_ROBIN ||
			   o->policy == RR_POLICY_RANDOM ||
			   o->policy == RR_POLICY_LEAST_LAG);
	FUZZ_CHECK(o->fallback == RR_FALLBACK_PRIMARY ||
			   o->fallback == RR_FALLBACK_ERROR);
	FUZZ_CHECK(o->consistency == RR_CONSISTENCY_NONE ||
			   o->consistency == RR_CONSISTENCY_SESSION);
}

/*
 * same_options
 *		Returns 1 if a and b hold the same values.
 */
static int
same_options(const rr_options *a, const rr_options *b)
{
	return a->max_lag_bytes == b->max_lag_bytes &&
		a->max_lag_seconds == b->max_lag_seconds &&
		a->check_interval_us == b->check_interval_us &&
		a->policy == b->policy &&
		a->fallback == b->fallback &&
		a->consistency == b->consistency &&
		a->causal_wait_us == b->causal_wait_us;
}

/*
 * check_reparse
 *		Write the accepted integer-valued options back in base units ("B",
 *		"us") and the choices by name; parsing that must succeed and give
 *		the same values.  Values a double cannot hold exactly are left out.
 */
static void
check_reparse(const rr_options *o)
{
	static const char *const policies[] = {"round_robin", "random", "least_lag"};
	static const char *const fallbacks[] = {"primary", "error"};
	static const char *const consistencies[] = {"none", "session"};
	char		str[512];
	char		err[RR_ERRBUF_SIZE];
	rr_options	back;
	int			n;

	n = snprintf(str, sizeof(str),
				 "check_interval=%" PRId64 "us causal_wait=%" PRId64 "us "
				 "policy=%s fallback=%s consistency=%s",
				 o->check_interval_us, o->causal_wait_us,
				 policies[o->policy], fallbacks[o->fallback],
				 consistencies[o->consistency]);
	FUZZ_CHECK(n > 0 && (size_t) n < sizeof(str));
	if (o->max_lag_bytes < EXACT_DOUBLE_LIMIT)
		snprintf(str + n, sizeof(str) - n, " max_lag_bytes=%" PRId64 "B",
				 o->max_lag_bytes);

	rr_options_init(&back);
	back.max_lag_bytes = o->max_lag_bytes;
	back.max_lag_seconds = o->max_lag_seconds;
	err[0] = '\0';
	FUZZ_CHECK(rr_options_parse(&back, str, err, sizeof(err)) == 0);
	FUZZ_CHECK(same_options(o, &back));
}

/*
 * check_options
 *		Parse str as an options string with a full-size and a tiny error
 *		buffer and check the outcome.
 */
static void
check_options(const char *str)
{
	char		err[RR_ERRBUF_SIZE + FUZZ_GUARD_LEN];
	char		small[SMALL_ERRLEN + FUZZ_GUARD_LEN];
	rr_options	a;
	rr_options	b;
	int			rc;
	int			rc_small;

	rr_options_init(&a);
	fuzz_guard_fill(err, RR_ERRBUF_SIZE);
	rc = rr_options_parse(&a, str, err, RR_ERRBUF_SIZE);
	FUZZ_CHECK(rc == 0 || rc == -1);
	check_ranges(&a);
	if (rc == 0)
	{
		FUZZ_CHECK(fuzz_guard_intact(err, RR_ERRBUF_SIZE));
		check_reparse(&a);
	}
	else
		fuzz_check_message(err, RR_ERRBUF_SIZE);

	/* same outcome with a tiny buffer; the message is truncated in place */
	rr_options_init(&b);
	fuzz_guard_fill(small, SMALL_ERRLEN);
	rc_small = rr_options_parse(&b, str, small, SMALL_ERRLEN);
	FUZZ_CHECK(rc_small == rc);
	FUZZ_CHECK(same_options(&a, &b));
	if (rc != 0)
	{
		size_t		full = strlen(err);
		size_t		cut = full < SMALL_ERRLEN - 1 ? full : SMALL_ERRLEN - 1;

		fuzz_check_message(small, SMALL_ERRLEN);
		FUZZ_CHECK(strlen(small) == cut);
		FUZZ_CHECK(fuzz_strneq(small, err, cut));
	}
}

/*
 * reference_lsn
 *		An independent reading of the LSN syntax rr_parse_lsn documents: 1 to
 *		8 hex digits, '/', 1 to 8 hex digits, nothing else.  Returns 1 and
 *		sets *lsn if s is valid, else 0.
 */
static int
reference_lsn(const char *s, uint64_t *lsn)
{
	const char *slash = strchr(s, '/');
	size_t		hi_len;
	size_t		lo_len;
	char		hi[9];
	char		lo[9];

	if (slash == NULL)
		return 0;
	hi_len = (size_t) (slash - s);
	lo_len = strlen(slash + 1);
	if (hi_len < 1 || hi_len > 8 || lo_len < 1 || lo_len > 8)
		return 0;
	if (strspn(s, "0123456789abcdefABCDEF") != hi_len ||
		strspn(slash + 1, "0123456789abcdefABCDEF") != lo_len)
		return 0;
	memcpy(hi, s, hi_len);
	hi[hi_len] = '\0';
	memcpy(lo, slash + 1, lo_len);
	lo[lo_len] = '\0';
	*lsn = (strtoull(hi, NULL, 16) << 32) | strtoull(lo, NULL, 16);
	return 1;
}

/*
 * check_lsn_value
 *		Formatting lsn gives text rr_parse_lsn reads back as lsn, in
 *		PostgreSQL's form (upper case, no leading zeros).
 */
static void
check_lsn_value(uint64_t lsn)
{
	char		text[32];
	char		expect[32];
	uint64_t	back = ~lsn;

	memset(text, 0, sizeof(text));
	rr_format_lsn(lsn, text, sizeof(text));
	snprintf(expect, sizeof(expect), "%X/%X",
			 (unsigned int) (lsn >> 32), (unsigned int) (lsn & 0xFFFFFFFF));
	FUZZ_CHECK(fuzz_streq(text, expect));
	FUZZ_CHECK(rr_parse_lsn(text, &back) == 0);
	FUZZ_CHECK(back == lsn);
}

/*
 * check_lsn_text
 *		rr_parse_lsn agrees with the reference parser on s, and an accepted
 *		value survives a format/parse round trip.
 */
static void
check_lsn_text(const char *s)
{
	uint64_t	lsn = 0;
	uint64_t	expect = 0;
	int			valid = reference_lsn(s, &expect);
	int			rc = rr_parse_lsn(s, &lsn);

	FUZZ_CHECK(rc == (valid ? 0 : -1));
	if (rc == 0)
	{
		FUZZ_CHECK(lsn == expect);
		check_lsn_value(lsn);
	}
}

/*
 * check_lsn_words
 *		Try the whole string, each whitespace-separated word and the part of
 *		each word after its first '=' as LSN text.
 */
static void
check_lsn_words(const char *str)
{
	char		word[64];
	const char *p = str;

	check_lsn_text(str);
	for (;;)
	{
		size_t		len;
		const char *eq;

		p += strspn(p, " \t\r\n\f\v");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t\r\n\f\v");
		if (len < sizeof(word))
		{
			memcpy(word, p, len);
			word[len] = '\0';
			check_lsn_text(word);
			eq = strchr(word, '=');
			if (eq != NULL)
				check_lsn_text(eq + 1);
		}
		p += len;
	}
}

/*
 * LLVMFuzzerInitialize
 *		Called once by libFuzzer.  Checks the documented behaviour for NULL
 *		and empty strings: success, defaults untouched.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	rr_options	def;
	rr_options	o;
	char		err[RR_ERRBUF_SIZE];
	uint64_t	lsn;

	(void) argc;
	(void) argv;
	fuzz_clear_pg_environment();

	rr_options_init(&def);
	check_ranges(&def);
	o = def;
	FUZZ_CHECK(rr_options_parse(&o, NULL, err, sizeof(err)) == 0);
	FUZZ_CHECK(same_options(&o, &def));
	FUZZ_CHECK(rr_options_parse(&o, "", err, sizeof(err)) == 0);
	FUZZ_CHECK(same_options(&o, &def));
	FUZZ_CHECK(rr_parse_lsn(NULL, &lsn) == -1);
	return 0;
}

/*
 * LLVMFuzzerTestOneInput
 *		One run: the input (up to its first NUL) as options and as LSN text.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *str = fuzz_input_copy(data, size);

	check_options(str);
	check_lsn_words(str);
	if (size >= 8)
	{
		uint64_t	raw;

		memcpy(&raw, data, sizeof(raw));
		check_lsn_value(raw);
	}
	fuzz_input_done(str);
	return 0;
}
