/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): inputs
 * copied into heap buffers of exactly their size, so that ASan sees a read
 * one byte past the end, and checks of what a parser promises about its
 * output. A broken promise aborts, which libFuzzer reports as a crash and
 * saves the input under build/fuzz/artifacts/.
 */
#ifndef MW_FUZZ_UTIL_H
#define MW_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond, what)                                                      \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", what, \
				__FILE__, __LINE__);                              \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* len bytes in a buffer of exactly len bytes (1 when len is 0). */
static inline void *fz_dup(const void *data, size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		abort();
	if (len)
		memcpy(p, data, len);
	return p;
}

/* len bytes followed by a NUL: what a C string taken from the input is. */
static inline char *fz_strdup(const void *data, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		abort();
	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

/* A fixed-size string field is NUL-terminated. */
static inline bool fz_terminated(const char *s, size_t sz)
{
	return memchr(s, '\0', sz) != NULL;
}

/* Every byte of s is in set (s NUL-terminated). */
static inline bool fz_only(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

/* The field is all zero bytes. */
static inline bool fz_zeroed(const void *p, size_t sz)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < sz; i++)
		if (b[i])
			return false;
	return true;
}

#endif
