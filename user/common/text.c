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

bool text__utf8_safe(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = in;
	size_t o = 0, i = 0;

	if (outsz == 0)
		return false;
	while (i < len) {
		size_t n = text__utf8_seq_len(s + i, len - i);
		char esc[16];
		const char *piece;
		size_t plen;

		if (n == 1 && s[i] == '\0') {
			piece = " ";
			plen = 1;
		} else if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f)) || is_c1(s + i, n)) {
			/* Escape one byte at a time; a C1 pair becomes two escapes. */
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			piece = esc;
			plen = 4;
			n = 1;
		} else {
			piece = (const char *)s + i;
			plen = n;
		}
		if (o + plen + 4 > outsz) {
			/* Keep room for "..." and the terminator. */
			if (outsz >= 4) {
				while (o + 4 > outsz)
					o--;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			out[o < outsz ? o : outsz - 1] = '\0';
			return false;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
	}
	out[o] = '\0';
	return true;
}
