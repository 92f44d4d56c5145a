/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *		Helpers shared by the libFuzzer targets of libreplroute: invariant
 *		checks that abort with the offending input, a NUL-terminated copy of
 *		the input, and a libpq environment that does not depend on the
 *		caller's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points (defined by each target) */
extern int	LLVMFuzzerInitialize(int *argc, char ***argv);
extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes after the usable part of an error buffer, to catch overruns. */
#define FUZZ_GUARD_LEN		16
#define FUZZ_GUARD_BYTE		0x5A

/*
 * FUZZ_CHECK
 *		Abort, printing the failed condition and the current input, when an
 *		invariant does not hold.  libFuzzer then saves the input as a crash
 *		artifact.
 */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

extern void fuzz_fail(const char *file, int line, const char *cond)
			__attribute__((noreturn));
extern char *fuzz_input_copy(const uint8_t *data, size_t size);
extern void fuzz_input_done(char *copy);
extern void fuzz_clear_pg_environment(void);
extern void fuzz_guard_fill(char *buf, size_t len);
extern int	fuzz_guard_intact(const char *buf, size_t len);
extern void fuzz_check_message(const char *buf, size_t len);
extern int	fuzz_streq(const char *a, const char *b);
extern int	fuzz_strneq(const char *a, const char *b, size_t n);

#endif							/* FUZZ_COMMON_H */
