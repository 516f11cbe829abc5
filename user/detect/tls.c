// SPDX-License-Identifier: Apache-2.0
/*
 * ClientHello layout (RFC 8446 4.1.2, RFC 6066 3):
 *   record:    type(1)=22 version(2) length(2)
 *   handshake: type(1)=1 length(3) version(2) random(32)
 *              session_id<0..32> cipher_suites<2..> compression<1..>
 *              extensions<..>: type(2) length(2) data
 *   server_name (type 0): list<2> { name_type(1)=0 host_name<2> }
 * Every length is checked against what was captured.
 */
#include <ctype.h>
#include <stdint.h>

#include "tls.h"

struct cur {
	const uint8_t *p;
	size_t left;
};

static int take(struct cur *c, size_t n, const uint8_t **ret)
{
	if (c->left < n)
		return -1;
	if (ret)
		*ret = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static int u8(struct cur *c, unsigned *v)
{
	const uint8_t *b;

	if (take(c, 1, &b))
		return -1;
	*v = b[0];
	return 0;
}

static int u16(struct cur *c, unsigned *v)
{
	const uint8_t *b;

	if (take(c, 2, &b))
		return -1;
	*v = (unsigned)b[0] << 8 | b[1];
	return 0;
}

static int valid_host(const uint8_t *h, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum(h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return 0;
	return 1;
}

int tls__sni(const void *buf, size_t len, char *out, size_t outsz)
{
	struct cur c = { buf, len };
	const uint8_t *b;
	unsigned v, n;

	if (outsz == 0)
		return 0;
	/* Record header, then handshake type ClientHello and its 3-byte length. */
	if (u8(&c, &v) || v != 22 || take(&c, 4, NULL) || u8(&c, &v) || v != 1 ||
	    take(&c, 3, NULL))
		return 0;
	if (take(&c, 2 + 32, NULL) || u8(&c, &n) || take(&c, n, NULL))
		return 0;
	if (u16(&c, &n) || take(&c, n, NULL) || u8(&c, &n) || take(&c, n, NULL))
		return 0;
	if (u16(&c, &n))
		return 0;
	/* Extensions may be cut off at the capture limit: walk what is there. */
	while (c.left >= 4) {
		unsigned type, elen;
		struct cur e;

		u16(&c, &type);
		u16(&c, &elen);
		if (take(&c, elen, &b))
			return 0;
		if (type != 0)
			continue;
		e.p = b;
		e.left = elen;
		if (u16(&e, &n) || n > e.left)
			return 0;
		while (e.left >= 3) {
			unsigned nt, hl;
			const uint8_t *h;

			u8(&e, &nt);
			if (u16(&e, &hl) || take(&e, hl, &h))
				return 0;
			if (nt != 0 || !valid_host(h, hl) || hl >= outsz)
				continue;
			for (unsigned i = 0; i < hl; i++)
				out[i] = (char)tolower(h[i]);
			out[hl] = '\0';
			return 1;
		}
		return 0;
	}
	return 0;
}
