/*-------------------------------------------------------------------------
 *
 * fuzz_common.c
 *		Helpers shared by the libFuzzer targets (see fuzz_common.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

extern char **environ;

/* The input being run, for fuzz_fail's report; NULL between runs. */
static const char *current_input = NULL;

/*
 * fuzz_fail
 *		Report a violated invariant with the input that broke it (as a C
 *		string literal) and abort.  Does not return.
 */
void
fuzz_fail(const char *file, int line, const char *cond)
{
	const unsigned char *p;

	fprintf(stderr, "\n%s:%d: invariant violated: %s\n", file, line, cond);
	if (current_input != NULL)
	{
		fprintf(stderr, "input: \"");
		for (p = (const unsigned char *) current_input; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				fprintf(stderr, "\\%c", *p);
			else if (*p >= 0x20 && *p < 0x7f)
				fputc(*p, stderr);
			else
				fprintf(stderr, "\\x%02x", *p);
		}
		fprintf(stderr, "\"\n");
	}
	fflush(stderr);
	abort();
}

/*
 * fuzz_input_copy
 *		Returns a malloc'd NUL-terminated copy of the input (which ends at its
 *		first NUL byte, as a C string would) and remembers it for fuzz_fail.
 *		Release it with fuzz_input_done.
 */
char *
fuzz_input_copy(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size + 1);

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	current_input = copy;
	return copy;
}

/*
 * fuzz_input_done
 *		Forget and free a copy made by fuzz_input_copy.
 */
void
fuzz_input_done(char *copy)
{
	current_input = NULL;
	free(copy);
}

/*
 * fuzz_clear_pg_environment
 *		Unset every PG* variable (PGHOST, PGHOSTADDR, PGPORT, PGSERVICE,
 *		PGSERVICEFILE, PGSYSCONFDIR, PGCONNECT_TIMEOUT, ...), so that libpq's
 *		defaults, and hence the nodes a connection string gives, depend on the
 *		input only.
 */
void
fuzz_clear_pg_environment(void)
{
	for (;;)
	{
		char	  **e;
		char		name[256];
		size_t		len;

		/* unsetenv changes environ: find one, unset it, start over */
		for (e = environ; *e != NULL; e++)
			if (strncmp(*e, "PG", 2) == 0)
				break;
		if (*e == NULL)
			return;
		len = strcspn(*e, "=");
		if (len >= sizeof(name))
			abort();
		memcpy(name, *e, len);
		name[len] = '\0';
		if (unsetenv(name) != 0)
			abort();
	}
}

/*
 * fuzz_guard_fill
 *		Fill an error buffer of len usable bytes, followed by FUZZ_GUARD_LEN
 *		guard bytes, with the guard pattern.
 */
void
fuzz_guard_fill(char *buf, size_t len)
{
	memset(buf, FUZZ_GUARD_BYTE, len + FUZZ_GUARD_LEN);
}

/*
 * fuzz_guard_intact
 *		Returns 1 if nothing was written past the first len bytes of buf.
 *		AddressSanitizer cannot see such a write: it stays inside the array.
 */
int
fuzz_guard_intact(const char *buf, size_t len)
{
	size_t		i;

	for (i = len; i < len + FUZZ_GUARD_LEN; i++)
		if ((unsigned char) buf[i] != FUZZ_GUARD_BYTE)
			return 0;
	return 1;
}

/*
 * fuzz_check_message
 *		An error message in a buffer of len usable bytes (len >= 2) must be
 *		non-empty, NUL-terminated inside the buffer and followed by intact
 *		guard bytes.
 */
void
fuzz_check_message(const char *buf, size_t len)
{
	FUZZ_CHECK(fuzz_guard_intact(buf, len));
	FUZZ_CHECK(memchr(buf, '\0', len) != NULL);
	FUZZ_CHECK(buf[0] != '\0');
}

/*
 * fuzz_streq / fuzz_strneq
 *		Returns 1 if the strings are equal (in their first n bytes).  Used
 *		for the checks instead of strcmp: libFuzzer hooks every strcmp call
 *		made during a run to steer its mutations, and the checks' own
 *		comparisons would only slow it down and mislead it.
 */
int
fuzz_streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b)
	{
		a++;
		b++;
	}
	return *a == *b;
}

int
fuzz_strneq(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++)
	{
		if (*a != *b)
			return 0;
		if (*a == '\0')
			return 1;
	}
	return 1;
}
