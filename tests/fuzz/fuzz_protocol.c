// SPDX-License-Identifier: Apache-2.0
/*
 * The mining-protocol recogniser on arbitrary bytes, whole and as the daemon
 * feeds it: captured segments appended to a connection (conn__add_payload),
 * in either direction, cut at any length, possibly marked as cut short.
 *
 * Input: one control byte, then the bytes one side of a connection sent.
 *   control & 0x3f   segment length in units of 8 bytes; 0 means
 *                    MW_PAYLOAD_LEN, a whole captured segment
 *   control & 0x40   the bytes travel server to client (MW_DIR_IN)
 *   control & 0x80   every segment was longer than what was captured
 *                    (seg_len > len, as when the kernel side cut it)
 */
#include "conn_table.h"
#include "fuzz_util.h"
#include "minerwatch.h"
#include "protocol.h"

static void check_match(int r, const struct proto_match *m)
{
	FZ_CHECK(r == 0 || r == 1, "proto__recognise returns 0 or 1");
	if (!r)
		return;
	FZ_CHECK(m->kind == PROTO_STRATUM_V1 || m->kind == PROTO_XMRIG ||
			 m->kind == PROTO_ETH_STRATUM,
		 "a match names a mining protocol");
	FZ_CHECK(fz_terminated(m->method, sizeof(m->method)), "method is NUL-terminated");
	FZ_CHECK(m->method[0], "a match names its method");
}

static void whole(const uint8_t *data, size_t size)
{
	void *buf = fz_dup(data, size);
	struct proto_match m;
	enum stream_kind k;
	int r;

	memset(&m, 0xa5, sizeof(m));
	r = proto__recognise(buf, size, &m);
	check_match(r, &m);
	k = proto__stream_kind(buf, size);
	FZ_CHECK(k <= STREAM_JSON, "stream kind in range");
	FZ_CHECK((k == STREAM_UNSEEN) == (size == 0), "unseen only for no bytes");
	FZ_CHECK(proto__stream_name(k) != NULL, "stream kind has a name");
	free(buf);
}

static void segmented(uint8_t ctl, const uint8_t *data, size_t size)
{
	struct conn *c = calloc(1, sizeof(*c));
	uint32_t dir = ctl & 0x40 ? MW_DIR_IN : MW_DIR_OUT;
	size_t step = ctl & 0x3f ? (size_t)(ctl & 0x3f) * 8 : MW_PAYLOAD_LEN;
	uint32_t seg = 0;

	if (!c)
		abort();
	for (size_t off = 0; off < size && !c->decided[dir]; off += step, seg++) {
		size_t len = size - off < step ? size - off : step;
		void *buf = fz_dup(data + off, len);
		uint32_t seg_len = (uint32_t)len + (ctl & 0x80 ? 100 : 0);
		int newly = conn__add_payload(c, dir, seg, buf, (uint32_t)len, seg_len, seg);

		FZ_CHECK(newly == 0 || newly == 1, "conn__add_payload returns 0 or 1");
		if (newly)
			check_match(1, &c->proto);
		FZ_CHECK(c->cap_len[dir] <= CONN_CAPTURE_MAX, "capture stays within its buffer");
		FZ_CHECK(c->cap_len[dir] <= c->cap_size[dir], "capture stays within its allocation");
		FZ_CHECK(!c->sni || strnlen(c->sni, CONN_SNI_MAX) < CONN_SNI_MAX,
			 "SNI is bounded and NUL-terminated");
		free(buf);
	}
	FZ_CHECK(c->cap_segs[dir] <= MW_PAYLOAD_SEGS, "at most MW_PAYLOAD_SEGS segments kept");
	free(c->cap[0]);
	free(c->cap[1]);
	free(c->sni);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	whole(data + 1, size - 1);
	segmented(data[0], data + 1, size - 1);
	return 0;
}
