/*-------------------------------------------------------------------------
 *
 * output.c
 *		Output helpers of the replroute tool: error messages, memory,
 *		wrapped text, colour, aligned tables, JSON strings and
 *		human-readable units.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- messages and memory ---- */

/*
 * cli_error
 *		Print "replroute: error: <message>" on stderr.
 */
void
cli_error(const char *fmt,...)
{
	va_list		ap;

	fputs("replroute: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * cli_hint_help
 *		The one-line hint printed after every usage error.
 */
void
cli_hint_help(void)
{
	fputs("Try \"replroute --help\" for more information.\n", stderr);
}

/*
 * cli_out_of_memory
 *		Report and exit.  The atexit handler of main.c releases the
 *		cluster handle, if any.
 */
void
cli_out_of_memory(void)
{
	cli_error("out of memory");
	exit(CLI_EXIT_FAILURE);
}

/*
 * cli_malloc / cli_realloc / cli_strdup
 *		Allocation that never returns NULL (exits on out of memory).
 */
void *
cli_malloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		cli_out_of_memory();
	return p;
}

void *
cli_realloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		cli_out_of_memory();
	return p;
}

char *
cli_strdup(const char *s)
{
	size_t		len = strlen(s);
	char	   *copy = cli_malloc(len + 1);

	memcpy(copy, s, len + 1);
	return copy;
}

/*
 * cli_vpsprintf / cli_psprintf
 *		printf into a malloc'd string of the right size.  Caller frees.
 */
char *
cli_vpsprintf(const char *fmt, va_list ap)
{
	va_list		ap2;
	int			n;
	char	   *buf;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return cli_strdup("");
	buf = cli_malloc((size_t) n + 1);
	vsnprintf(buf, (size_t) n + 1, fmt, ap);
	return buf;
}

char *
cli_psprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *buf;

	va_start(ap, fmt);
	buf = cli_vpsprintf(fmt, ap);
	va_end(ap);
	return buf;
}

/*
 * cli_one_line
 *		A malloc'd copy of msg on one line: every run of white space that
 *		contains a line break or tab (libpq's multi-line messages, hints)
 *		becomes one space (". " when no punctuation ends the line before),
 *		and the ends are trimmed.  NULL gives "".
 */
char *
cli_one_line(const char *msg)
{
	char	   *out;
	size_t		o = 0;
	const char *p;

	if (msg == NULL)
		msg = "";
	out = cli_malloc(2 * strlen(msg) + 1);	/* ". " may replace one byte */
	for (p = msg; *p != '\0'; p++)
	{
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ')
		{
			const char *q = p;
			bool		breaks = false;

			while (*q == '\n' || *q == '\r' || *q == '\t' || *q == ' ')
			{
				if (*q != ' ')
					breaks = true;
				q++;
			}
			if (o > 0 && *q != '\0')
			{
				/* a line break ends a sentence: keep it visible */
				if (breaks && strchr(".:;,!?", out[o - 1]) == NULL)
				{
					out[o++] = '.';
					out[o++] = ' ';
				}
				else if (breaks)
					out[o++] = ' ';
				else
				{
					memcpy(out + o, p, (size_t) (q - p));
					o += (size_t) (q - p);
				}
			}
			p = q - 1;
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

/*
 * cli_shorten
 *		An argument as it may be quoted in a message: at most about 60 bytes
 *		(cut on a UTF-8 character boundary) followed by "..." when longer.
 *		Returns buf, which must hold at least 64 bytes.
 */
const char *
cli_shorten(const char *arg, char *buf, size_t len)
{
	size_t		n = strlen(arg);
	size_t		keep = len > 4 ? len - 4 : 0;

	if (keep > 60)
		keep = 60;
	if (n <= keep)
	{
		memcpy(buf, arg, n + 1);
		return buf;
	}
	while (keep > 0 && ((unsigned char) arg[keep] & 0xC0) == 0x80)
		keep--;
	memcpy(buf, arg, keep);
	memcpy(buf + keep, "...", 4);
	return buf;
}

/*
 * cli_stdout_ok
 *		False once a write to stdout has failed (a closed pipe, a full disk):
 *		long outputs stop early.
 */
bool
cli_stdout_ok(void)
{
	return !ferror(stdout);
}

/*
 * cli_finish_stdout
 *		Flush stdout and say whether everything written reached it.  A
 *		reader that went away (EPIPE: "replroute ... | head") is not worth a
 *		message; anything else is reported.
 */
bool
cli_finish_stdout(void)
{
	int			err = 0;

	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		err = errno ? errno : EIO;
	if (err == 0)
		return true;
	if (err != EPIPE)
		cli_error("could not write to standard output: %s", strerror(err));
	return false;
}

/*
 * cli_print_wrapped
 *		Print text after first (the start of the first line), broken at
 *		spaces so that no line is longer than width columns where a word
 *		allows; continuation lines start with cont.  Ends with a newline.
 */
void
cli_print_wrapped(FILE *out, const char *first, const char *cont, const char *text,
				  size_t width)
{
	size_t		col = strlen(first);
	const char *p = text;

	fputs(first, out);
	while (*p != '\0')
	{
		size_t		wlen = strcspn(p, " ");

		if (col > strlen(cont) && col + 1 + wlen > width && p != text)
		{
			fputc('\n', out);
			fputs(cont, out);
			col = strlen(cont);
		}
		else if (p != text)
		{
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, wlen, out);
		col += wlen;
		p += wlen;
		while (*p == ' ')
			p++;
	}
	fputc('\n', out);
}

/* ---- units ---- */

/*
 * cli_format_bytes
 *		A size in at most 7 characters: "0 B", "1023 B", "9.9 kB", "123 kB",
 *		"1023 MB" (binary multiples, named as PostgreSQL's pg_size_pretty
 *		names them; one decimal below 10).
 */
void
cli_format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
	double		v = (double) bytes;
	int			u = -1;

	if (bytes < 1024)
	{
		snprintf(buf, len, "%" PRId64 " B", bytes);
		return;
	}
	while (v >= 1024.0 && u < 5)
	{
		v /= 1024.0;
		u++;
	}
	if (v < 9.95)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.0f %s", v, units[u]);
}

/*
 * cli_format_seconds
 *		Seconds in at most 5 characters while below a day: "0.00", "10.02",
 *		"123.4", "12345".
 */
void
cli_format_seconds(double seconds, char *buf, size_t len)
{
	if (!isfinite(seconds))
		snprintf(buf, len, "?");
	else if (seconds < 99.995)
		snprintf(buf, len, "%.2f", seconds);
	else if (seconds < 999.95)
		snprintf(buf, len, "%.1f", seconds);
	else
		snprintf(buf, len, "%.0f", seconds);
}

/*
 * cli_print_conninfo_value
 *		Print a connection-string value, quoted the way libpq expects when it
 *		is empty or holds white space, quotes or backslashes.
 */
void
cli_print_conninfo_value(FILE *out, const char *value)
{
	const char *p;

	if (*value != '\0' && strpbrk(value, " \t\n\r\f\v'\\") == NULL)
	{
		fputs(value, out);
		return;
	}
	fputc('\'', out);
	for (p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('\'', out);
}

/* ---- colour ---- */

/*
 * cli_use_colour
 *		Colour only on a terminal, never when NO_COLOR is set to anything
 *		(https://no-color.org/) or the terminal is "dumb".
 */
bool
cli_use_colour(void)
{
	const char *term = getenv("TERM");

	if (getenv("NO_COLOR") != NULL)
		return false;
	if (term != NULL && strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO) == 1;
}

/* ---- tables ---- */

struct cli_table
{
	int			ncols;
	char	  **headers;
	bool	   *right;			/* right-align this column */
	int			ncells;
	int			cap;
	char	  **text;
	const char **colour;
};

/*
 * cli_table_create
 *		A table with ncols columns; headers and right_align (may be NULL) are
 *		copied.  Free with cli_table_free.
 */
cli_table *
cli_table_create(int ncols, const char *const *headers, const bool *right_align)
{
	cli_table  *t = cli_malloc(sizeof(cli_table));
	int			i;

	t->ncols = ncols;
	t->headers = cli_malloc(sizeof(char *) * (size_t) ncols);
	t->right = cli_malloc(sizeof(bool) * (size_t) ncols);
	for (i = 0; i < ncols; i++)
	{
		t->headers[i] = cli_strdup(headers[i]);
		t->right[i] = right_align ? right_align[i] : false;
	}
	t->ncells = 0;
	t->cap = 0;
	t->text = NULL;
	t->colour = NULL;
	return t;
}

/*
 * cli_table_cell
 *		Append a cell (rows fill left to right).  text is copied; colour is
 *		one of the CLI_ colour constants, or NULL.
 */
void
cli_table_cell(cli_table *t, const char *colour, const char *text)
{
	if (t->ncells == t->cap)
	{
		t->cap = t->cap ? t->cap * 2 : 32;
		t->text = cli_realloc(t->text, sizeof(char *) * (size_t) t->cap);
		t->colour = cli_realloc(t->colour, sizeof(char *) * (size_t) t->cap);
	}
	t->text[t->ncells] = cli_strdup(text ? text : "");
	t->colour[t->ncells] = colour;
	t->ncells++;
}

/* Display width of UTF-8 text: characters, not bytes. */
static size_t
display_width(const char *s)
{
	size_t		w = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			w++;
	return w;
}

/* n spaces */
static void
print_padding(FILE *out, size_t n)
{
	while (n-- > 0)
		fputc(' ', out);
}

/*
 * print_row
 *		One line of the table: cells separated by two spaces, each padded to
 *		its column's width, no trailing blanks.
 */
static void
print_row(const cli_table *t, FILE *out, const size_t *width,
		  char *const *text, const char *const *colour, bool use_colour)
{
	int			c;

	for (c = 0; c < t->ncols; c++)
	{
		const char *s = text[c];
		size_t		pad = width[c] - display_width(s);
		bool		last = (c == t->ncols - 1);

		if (c > 0)
			fputs("  ", out);
		if (t->right[c])
			print_padding(out, pad);
		if (use_colour && colour && colour[c])
			fprintf(out, "%s%s%s", colour[c], s, CLI_RESET);
		else
			fputs(s, out);
		if (!t->right[c] && !last)
			print_padding(out, pad);
	}
	fputc('\n', out);
}

/*
 * cli_table_print
 *		Print the header, a rule and every complete row, aligned.
 */
void
cli_table_print(const cli_table *t, FILE *out, bool colour)
{
	size_t	   *width = cli_malloc(sizeof(size_t) * (size_t) t->ncols);
	char	  **rule = cli_malloc(sizeof(char *) * (size_t) t->ncols);
	int			nrows = t->ncells / t->ncols;
	int			r,
				c;

	memset(width, 0, sizeof(size_t) * (size_t) t->ncols);
	for (c = 0; c < t->ncols; c++)
		width[c] = display_width(t->headers[c]);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < t->ncols; c++)
		{
			size_t		w = display_width(t->text[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (c = 0; c < t->ncols; c++)
	{
		rule[c] = cli_malloc(width[c] + 1);
		memset(rule[c], '-', width[c]);
		rule[c][width[c]] = '\0';
	}

	print_row(t, out, width, t->headers, NULL, colour);
	print_row(t, out, width, rule, NULL, colour);
	for (r = 0; r < nrows; r++)
		print_row(t, out, width, &t->text[r * t->ncols],
				  &t->colour[r * t->ncols], colour);

	for (c = 0; c < t->ncols; c++)
		free(rule[c]);
	free(rule);
	free(width);
}

/* Release the table; NULL is a no-op. */
void
cli_table_free(cli_table *t)
{
	int			i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncols; i++)
		free(t->headers[i]);
	for (i = 0; i < t->ncells; i++)
		free(t->text[i]);
	free(t->headers);
	free(t->right);
	free(t->text);
	free(t->colour);
	free(t);
}

/* ---- JSON ---- */

/*
 * utf8_sequence_length
 *		Length of the valid UTF-8 sequence at s, or 0 if s does not start one
 *		(overlong forms, surrogates and values past U+10FFFF are invalid).
 */
static int
utf8_sequence_length(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		return (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xE0 && s[0] <= 0xEF)
	{
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (s[0] == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (s[0] == 0xED && s[1] >= 0xA0)
			return 0;			/* surrogate */
		return 3;
	}
	if (s[0] >= 0xF0 && s[0] <= 0xF4)
	{
		if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (s[0] == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (s[0] == 0xF4 && s[1] >= 0x90)
			return 0;			/* past U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * cli_json_string
 *		Print s as a JSON string (NULL as null): quotes, backslashes and
 *		control characters escaped, invalid UTF-8 replaced by U+FFFD so the
 *		document is always valid.
 */
void
cli_json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	if (s == NULL)
	{
		fputs("null", out);
		return;
	}
	fputc('"', out);
	while (*p)
	{
		int			n;

		switch (*p)
		{
			case '"':
				fputs("\\\"", out);
				break;
			case '\\':
				fputs("\\\\", out);
				break;
			case '\b':
				fputs("\\b", out);
				break;
			case '\f':
				fputs("\\f", out);
				break;
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			default:
				if (*p < 0x20 || *p == 0x7F)
				{
					fprintf(out, "\\u%04x", (unsigned int) *p);
					break;
				}
				n = utf8_sequence_length(p);
				if (n == 0)
				{
					fputs("\\ufffd", out);
					break;
				}
				fwrite(p, 1, (size_t) n, out);
				p += n;
				continue;
		}
		p++;
	}
	fputc('"', out);
}
