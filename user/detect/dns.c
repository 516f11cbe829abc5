// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <stdint.h>

#include "dns.h"

#define DNS_HEADER 12

int dns__query_name(const void *buf, size_t len, char *out, size_t outsz)
{
	const uint8_t *p = buf;
	size_t i = DNS_HEADER, o = 0;
	unsigned qdcount;
	int whole = 0;

	if (len < DNS_HEADER + 1 || outsz < 2)
		return 0;
	/* QR must be 0 (a query), opcode 0 (standard), at least one question. */
	if ((p[2] & 0x80) || ((p[2] >> 3) & 0x0f) != 0)
		return 0;
	qdcount = (unsigned)p[4] << 8 | p[5];
	if (qdcount == 0)
		return 0;
	while (i < len) {
		unsigned l = p[i++];

		if (l == 0) {
			whole = 1;
			break;
		}
		if (l > 63 || i + l > len)
			return 0; /* pointers (0xc0) never start a question name */
		if (o && o + 1 < outsz)
			out[o++] = '.';
		for (unsigned k = 0; k < l; k++, i++) {
			uint8_t ch = p[i];

			if (!isalnum(ch) && ch != '-' && ch != '_')
				return 0;
			if (o + 1 >= outsz)
				return 0;
			out[o++] = (char)tolower(ch);
		}
	}
	if (o == 0 || !whole)
		return 0; /* the capture ended before the name's zero label */
	out[o] = '\0';
	return 1;
}
