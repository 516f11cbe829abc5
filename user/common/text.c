// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t text__utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool is_c1(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

/* The escaped form of the character at s; returns the input bytes it stands for. */
static size_t next_piece(const unsigned char *s, size_t avail, char esc[8], const char **ret,
			 size_t *ret_len)
{
	size_t n = text__utf8_seq_len(s, avail);

	if (n == 1 && s[0] == '\0') {
		*ret = " ";
		*ret_len = 1;
	} else if (n == 0 || (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || is_c1(s, n)) {
		/* Escape one byte at a time; a C1 pair becomes two escapes. */
		snprintf(esc, 8, "\\x%02x", s[0]);
		*ret = esc;
		*ret_len = 4;
		n = 1;
	} else {
		*ret = (const char *)s;
		*ret_len = n;
	}
	return n;
}

bool text__utf8_safe(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = in;
	size_t o = 0, i = 0, need = 0, reserve, plen;
	const char *piece;
	char esc[8];

	if (outsz == 0)
		return false;
	/* Room for "..." is kept only when the escaped input cannot fit whole. */
	while (i < len && need < outsz) {
		i += next_piece(s + i, len - i, esc, &piece, &plen);
		need += plen;
	}
	reserve = i == len && need < outsz ? 1 : 4;
	for (i = 0; i < len;) {
		size_t n = next_piece(s + i, len - i, esc, &piece, &plen);

		if (o + plen + reserve > outsz) {
			/* o + 4 <= outsz here: every piece so far kept that room. */
			if (outsz >= 4) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			out[o] = '\0';
			return false;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
	}
	out[o] = '\0';
	return true;
}
