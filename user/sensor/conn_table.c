// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>

#include "conn_table.h"
#include "htab.h"
#include "tls.h"

struct conn_table {
	struct htab *h;
	size_t max;
	size_t dropped;
};

struct conn_table *conn_table__new(size_t max)
{
	struct conn_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->h = htab__new();
	if (!t->h) {
		free(t);
		return NULL;
	}
	t->max = max;
	return t;
}

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	free(c->cap[0]);
	free(c->cap[1]);
	free(c->sni);
	free(c);
}

void conn_table__free(struct conn_table *t)
{
	struct htab_iter it;
	uint64_t k;
	void *v;

	if (!t)
		return;
	htab__iter_init(&it, t->h);
	while (htab__iter_next(&it, &k, &v))
		conn_free(v);
	htab__free(t->h);
	free(t);
}

struct conn *conn_table__lookup(const struct conn_table *t, uint64_t cookie)
{
	return htab__get(t->h, cookie);
}

struct conn *conn_table__insert(struct conn_table *t, uint64_t cookie)
{
	struct conn *c = htab__get(t->h, cookie);

	if (c)
		return c;
	if (htab__count(t->h) >= t->max) {
		t->dropped++;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cookie = cookie;
	if (htab__put(t->h, cookie, c)) {
		free(c);
		return NULL;
	}
	return c;
}

void conn_table__remove(struct conn_table *t, uint64_t cookie)
{
	conn_free(htab__del(t->h, cookie));
}

size_t conn_table__count(const struct conn_table *t)
{
	return htab__count(t->h);
}

size_t conn_table__dropped(const struct conn_table *t)
{
	return t->dropped;
}

void conn_table__each(struct conn_table *t, void (*fn)(struct conn *c, void *arg), void *arg)
{
	struct htab_iter it;
	uint64_t k;
	void *v;

	htab__iter_init(&it, t->h);
	while (htab__iter_next(&it, &k, &v))
		fn(v, arg);
}

/* Keeps the server name a TLS ClientHello asks for, if it names one. */
static void note_sni(struct conn *c, const void *data, uint32_t len)
{
	char sni[CONN_SNI_MAX];

	if (tls__sni(data, len, sni, sizeof(sni)) && sni[0])
		c->sni = strdup(sni);
}

/* Grows a direction's capture to hold need bytes, never past the limit. */
static bool cap_reserve(struct conn *c, uint32_t dir, uint32_t need)
{
	unsigned char *b;
	uint32_t size;

	if (need <= c->cap_size[dir])
		return true;
	/* Mostly one short line or one segment: start at what is needed. */
	size = c->cap_size[dir] ? c->cap_size[dir] * 2 : need;
	if (size < need)
		size = need;
	if (size > CONN_CAPTURE_MAX)
		size = CONN_CAPTURE_MAX;
	b = realloc(c->cap[dir], size);
	if (!b)
		return false;
	c->cap[dir] = b;
	c->cap_size[dir] = size;
	return need <= size;
}

static void cap_release(struct conn *c, uint32_t dir)
{
	free(c->cap[dir]);
	c->cap[dir] = NULL;
	c->cap_len[dir] = 0;
	c->cap_size[dir] = 0;
}

int conn__add_payload(struct conn *c, uint32_t dir, uint32_t seg, const void *data,
		      uint32_t len, uint32_t seg_len, uint64_t ts_ns)
{
	struct proto_match m;
	uint32_t room;
	bool line_end;
	int newly = 0;

	if (dir > 1)
		return 0;
	if (len > MW_PAYLOAD_LEN)
		len = MW_PAYLOAD_LEN; /* never trust a record's length past its buffer */
	if (dir == MW_DIR_OUT && c->stream == STREAM_UNSEEN && len) {
		c->stream = proto__stream_kind(data, len);
		if (c->stream == STREAM_TLS)
			note_sni(c, data, len);
		/*
		 * Mining protocols are JSON lines in the clear: a TLS or SSH
		 * stream never shows one, so neither direction needs capturing.
		 */
		if (c->stream == STREAM_TLS || c->stream == STREAM_SSH) {
			c->decided[MW_DIR_OUT] = c->decided[MW_DIR_IN] = true;
			cap_release(c, MW_DIR_OUT);
			cap_release(c, MW_DIR_IN);
		}
	}
	if (c->decided[dir])
		return 0;
	room = CONN_CAPTURE_MAX - c->cap_len[dir];
	if (len > room)
		len = room;
	/*
	 * A segment cut short (by the record or the capture limit) ends
	 * mid-message: the next segment does not continue it, so a line end
	 * keeps messages apart, where there is room for one.
	 */
	line_end = seg_len > len && len < room;
	/* An empty segment adds nothing (and the buffer may not exist yet). */
	if (!len && !line_end)
		return 0;
	if (!cap_reserve(c, dir, c->cap_len[dir] + len + line_end))
		return 0;
	memcpy(c->cap[dir] + c->cap_len[dir], data, len);
	c->cap_len[dir] += len;
	c->cap_segs[dir]++;
	if (line_end)
		c->cap[dir][c->cap_len[dir]++] = '\n';
	(void)seg;

	if (proto__recognise(c->cap[dir], c->cap_len[dir], &m)) {
		if (c->proto.kind == PROTO_NONE) {
			c->proto = m;
			c->proto_dir = dir;
			c->proto_ns = ts_ns;
			newly = 1;
		}
		c->decided[dir] = true;
	} else if (c->cap_segs[dir] >= MW_PAYLOAD_SEGS) {
		c->decided[dir] = true;
	}
	if (c->decided[dir])
		cap_release(c, dir);
	return newly;
}
