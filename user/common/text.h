/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attacker-controlled bytes (comm, argv, paths, payloads) made safe to carry.
 *
 * text__utf8_safe() turns arbitrary bytes into valid UTF-8 with no control
 * characters: invalid bytes become the four characters "\xNN" so an analyst
 * still sees what was there; C0/C1 controls and DEL are escaped the same way;
 * NUL becomes a space (argv separators). The output is always terminated and
 * bounded: when it does not fit it ends in "..." and the return says so.
 */
#ifndef MW_TEXT_H
#define MW_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true when the whole input fit; out is always NUL-terminated. */
bool text__utf8_safe(const void *in, size_t len, char *out, size_t outsz);

/* Length of a valid UTF-8 sequence at s (1-4), or 0 if invalid/truncated. */
size_t text__utf8_seq_len(const unsigned char *s, size_t avail);

#endif
