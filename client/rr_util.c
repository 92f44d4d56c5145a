/*-------------------------------------------------------------------------
 *
 * rr_util.c
 *		Small helpers: monotonic time, LSN text, numbers (independent of
 *		the locale), error messages, a per-handle random number generator.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rr_int.h"

/*
 * rr_now_us
 *		Microseconds on the monotonic clock: immune to wall-clock changes.
 */
int64_t
rr_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * rr_parse_lsn
 *		Parse PostgreSQL's "X/Y" LSN text (each part 1 to 8 hex digits, nothing
 *		else).  Returns 0 and sets *lsn, or -1.
 */
int
rr_parse_lsn(const char *s, uint64_t *lsn)
{
	uint64_t	parts[2] = {0, 0};
	int			p;

	if (s == NULL)
		return -1;
	for (p = 0; p < 2; p++)
	{
		int			ndigits = 0;

		while (isxdigit((unsigned char) *s))
		{
			int			c = (unsigned char) *s;
			int			v = isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);

			if (++ndigits > 8)
				return -1;
			parts[p] = parts[p] * 16 + (uint64_t) v;
			s++;
		}
		if (ndigits == 0)
			return -1;
		if (p == 0)
		{
			if (*s != '/')
				return -1;
			s++;
		}
	}
	if (*s != '\0')
		return -1;
	*lsn = (parts[0] << 32) | parts[1];
	return 0;
}

/*
 * rr_format_lsn
 *		Write lsn as "X/Y", as PostgreSQL prints it.
 */
void
rr_format_lsn(uint64_t lsn, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIX32 "/%" PRIX32,
			 (uint32_t) (lsn >> 32), (uint32_t) lsn);
}

/*
 * rr_parse_int64
 *		Parse a decimal integer (optional sign, digits, nothing else).
 *		Returns 0 and sets *out, or -1.  Independent of the locale.
 */
int
rr_parse_int64(const char *s, int64_t *out)
{
	bool		neg = false;
	uint64_t	v = 0;
	int			ndigits = 0;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	for (; *s >= '0' && *s <= '9'; s++, ndigits++)
	{
		unsigned	d = (unsigned) (*s - '0');

		if (v > (UINT64_C(9223372036854775808) - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (ndigits == 0 || *s != '\0' ||
		(!neg && v > (uint64_t) INT64_MAX))
		return -1;
	*out = neg ? (int64_t) (0 - v) : (int64_t) v;
	return 0;
}

/*
 * rr_parse_double
 *		Parse a number as PostgreSQL prints a float8: optional sign, digits
 *		with an optional fraction, an optional exponent ("1.5e-05"), and
 *		nothing else; "Infinity" and "NaN" are refused.  Returns 0 and sets
 *		*out, or -1.  Independent of the locale (strtod is not: in a
 *		comma-decimal locale it stops at the point).
 */
int
rr_parse_double(const char *s, double *out)
{
	bool		neg = false;
	uint64_t	mant = 0;
	int			exp10 = 0;
	int			ndigits = 0;
	double		v;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	for (; *s >= '0' && *s <= '9'; s++, ndigits++)
	{
		if (mant < UINT64_C(100000000000000000))
			mant = mant * 10 + (uint64_t) (*s - '0');
		else
			exp10++;			/* digits beyond double's precision */
	}
	if (*s == '.')
	{
		for (s++; *s >= '0' && *s <= '9'; s++, ndigits++)
		{
			if (mant < UINT64_C(100000000000000000))
			{
				mant = mant * 10 + (uint64_t) (*s - '0');
				exp10--;
			}
		}
	}
	if (ndigits == 0)
		return -1;
	if (*s == 'e' || *s == 'E')
	{
		bool		eneg = false;
		int			e = 0,
					edigits = 0;

		s++;
		if (*s == '-' || *s == '+')
			eneg = (*s++ == '-');
		for (; *s >= '0' && *s <= '9'; s++, edigits++)
			if (e < 10000)
				e = e * 10 + (*s - '0');
		if (edigits == 0)
			return -1;
		exp10 += eneg ? -e : e;
	}
	if (*s != '\0')
		return -1;
	v = (double) mant;
	if (exp10 > 0)
		v *= pow(10.0, exp10);
	else if (exp10 < 0)
		v /= pow(10.0, -exp10);
	if (!isfinite(v))
		return -1;
	*out = neg ? -v : v;
	return 0;
}

void
rr_vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	int			n = vsnprintf(buf, len, fmt, ap);

	if (n < 0 && len > 0)
		buf[0] = '\0';
}

void
rr_format(char *buf, size_t len, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	rr_vformat(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * rr_set_error / rr_append_error
 *		Replace, or add a line to, the handle's error message.  Messages are
 *		truncated to RR_ERRBUF_SIZE - 1 bytes.
 */
void
rr_set_error(RRcluster *rr, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	rr_vformat(rr->errmsg, sizeof(rr->errmsg), fmt, ap);
	va_end(ap);
}

void
rr_append_error(RRcluster *rr, const char *fmt,...)
{
	size_t		used = strlen(rr->errmsg);
	va_list		ap;

	if (used + 1 >= sizeof(rr->errmsg))
		return;
	va_start(ap, fmt);
	rr_vformat(rr->errmsg + used, sizeof(rr->errmsg) - used, fmt, ap);
	va_end(ap);
}

/*
 * rr_trim
 *		Copy msg into buf without its trailing newlines and spaces (libpq and
 *		server messages end with a newline).  Returns buf.
 */
const char *
rr_trim(const char *msg, char *buf, size_t len)
{
	size_t		n;

	if (msg == NULL || *msg == '\0')
		msg = "no error message available";
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

/*
 * rr_random
 *		xorshift64* over a per-handle state: no global state, good enough to
 *		spread reads.
 */
uint64_t
rr_random(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}
