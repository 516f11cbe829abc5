// SPDX-License-Identifier: Apache-2.0
/*
 * dns__query_name(): the name a DNS query asks for, from the UDP payload.
 *
 * Queries are assembled here byte by byte (12-byte header, the question's
 * labels, QTYPE and QCLASS). Every input is handed over in a heap buffer of
 * exactly its length and every output is followed by a canary, so a read or
 * write past either end shows up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dns.h"
#include "testutil.h"

#define CANARY 0xee

enum { QTYPE_A = 1, QTYPE_AAAA = 28, QTYPE_TXT = 16 };

struct query {
	uint8_t b[1024];
	size_t n;
	size_t name_end;   /* one past the name's terminating zero label */
};

static void put8(struct query *q, unsigned v)
{
	assert_true(q->n < sizeof(q->b));
	q->b[q->n++] = (uint8_t)v;
}

static void put16(struct query *q, unsigned v)
{
	put8(q, v >> 8);
	put8(q, v & 0xff);
}

/* A header: id, flags, then qdcount and no answer, authority or additional records. */
static void header(struct query *q, unsigned flags, unsigned qdcount)
{
	memset(q, 0, sizeof(*q));
	put16(q, 0x4d57);
	put16(q, flags);
	put16(q, qdcount);
	put16(q, 0);
	put16(q, 0);
	put16(q, 0);
}

/* Labels of a dotted name, exactly as given (no case folding, no checks). */
static void labels(struct query *q, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");

		put8(q, (unsigned)l);
		for (size_t i = 0; i < l; i++)
			put8(q, (unsigned char)name[i]);
		name += l;
		if (*name == '.')
			name++;
	}
}

static void finish(struct query *q, unsigned qtype)
{
	put8(q, 0);
	q->name_end = q->n;
	put16(q, qtype);
	put16(q, 1); /* IN */
}

/* A standard recursive query (RD set) for name. */
static void query(struct query *q, const char *name, unsigned qtype)
{
	header(q, 0x0100, 1);
	labels(q, name);
	finish(q, qtype);
}

/* Calls dns__query_name on exact-size heap copies; returns what it returned. */
static int qname(const void *buf, size_t len, size_t outsz, char *ret, size_t retsz)
{
	uint8_t *in = malloc(len ? len : 1);
	char *out = malloc(outsz + 1);
	int r;

	assert_non_null(in);
	assert_non_null(out);
	memcpy(in, buf, len);
	memset(out, CANARY, outsz + 1);
	r = dns__query_name(in, len, out, outsz);
	assert_true(r == 0 || r == 1);
	assert_int_equal((unsigned char)out[outsz], CANARY);
	if (r) {
		assert_non_null(memchr(out, '\0', outsz));
		snprintf(ret, retsz, "%s", out);
	}
	free(out);
	free(in);
	return r;
}

static void expect_name(const struct query *q, const char *want)
{
	char got[300];

	if (!qname(q->b, q->n, 256, got, sizeof(got)))
		fail_msg("no name found, want \"%s\"", want);
	assert_string_equal(got, want);
}

static void expect_none(const struct query *q)
{
	char got[300];

	if (qname(q->b, q->n, 256, got, sizeof(got)))
		fail_msg("name \"%s\" returned for a query that must be refused", got);
}

static void test_a_query(void **state)
{
	struct query q;

	(void)state;
	query(&q, "Pool.MineXMR.com", QTYPE_A);
	expect_name(&q, "pool.minexmr.com");
	/* RD clear, and with an EDNS OPT record counted in the header. */
	query(&q, "POOL.minexmr.COM", QTYPE_A);
	q.b[2] = 0;
	q.b[11] = 1;
	expect_name(&q, "pool.minexmr.com");
	/* One label; digits, hyphens and underscores. */
	query(&q, "localhost", QTYPE_A);
	expect_name(&q, "localhost");
	query(&q, "_stratum._tcp.xmr-eu1.pool.test", QTYPE_TXT);
	expect_name(&q, "_stratum._tcp.xmr-eu1.pool.test");
}

static void test_aaaa_query(void **state)
{
	struct query q;

	(void)state;
	query(&q, "gulf.MoneroOcean.stream", QTYPE_AAAA);
	expect_name(&q, "gulf.moneroocean.stream");
	/* Without QTYPE and QCLASS, as a capture cut after the name. */
	q.n = q.name_end;
	expect_name(&q, "gulf.moneroocean.stream");
}

static void test_response(void **state)
{
	struct query q;

	(void)state;
	header(&q, 0x8180, 1);
	labels(&q, "pool.minexmr.com");
	finish(&q, QTYPE_A);
	expect_none(&q);
	/* QR alone. */
	q.b[2] = 0x80;
	q.b[3] = 0;
	expect_none(&q);
}

static void test_opcode(void **state)
{
	struct query q;

	(void)state;
	for (unsigned op = 1; op < 16; op++) {
		header(&q, op << 11 | 0x0100, 1);
		labels(&q, "pool.minexmr.com");
		finish(&q, QTYPE_A);
		expect_none(&q);
	}
	/* The other flag bits (AA, TC, RD, RA, Z, AD, CD, rcode) do not matter. */
	header(&q, 0x07ff, 1);
	labels(&q, "pool.minexmr.com");
	finish(&q, QTYPE_A);
	expect_name(&q, "pool.minexmr.com");
}

static void test_qdcount(void **state)
{
	struct query q;

	(void)state;
	header(&q, 0x0100, 0);
	labels(&q, "pool.minexmr.com");
	finish(&q, QTYPE_A);
	expect_none(&q);
	/* A count with only its high byte set is not zero. */
	q.b[4] = 1;
	expect_name(&q, "pool.minexmr.com");
	/* The root name, and a header alone. */
	query(&q, "", QTYPE_A);
	expect_none(&q);
	header(&q, 0x0100, 1);
	expect_none(&q);
}

static void test_label_length(void **state)
{
	char name[80];
	struct query q;

	(void)state;
	memset(name, 'a', 63);
	snprintf(name + 63, sizeof(name) - 63, ".test");
	query(&q, name, QTYPE_A);
	expect_name(&q, name);
	memset(name, 'a', 64);
	snprintf(name + 64, sizeof(name) - 64, ".test");
	query(&q, name, QTYPE_A);
	expect_none(&q);
	/* 64 in the second label, and the extended label types 0x40 and 0x80. */
	query(&q, "pool.test", QTYPE_A);
	q.b[12 + 5] = 64;
	expect_none(&q);
	query(&q, "pool.test", QTYPE_A);
	q.b[12] = 0x41;
	expect_none(&q);
	q.b[12] = 0x81;
	expect_none(&q);
}

static void test_compression_pointer(void **state)
{
	struct query q;

	(void)state;
	/* A pointer as the whole name, to the header. */
	header(&q, 0x0100, 1);
	put8(&q, 0xc0);
	put8(&q, 0x0c);
	put16(&q, QTYPE_A);
	put16(&q, 1);
	expect_none(&q);
	/* A pointer after a first label, back to that label. */
	header(&q, 0x0100, 1);
	labels(&q, "pool");
	put8(&q, 0xc0);
	put8(&q, 0x0c);
	put16(&q, QTYPE_A);
	put16(&q, 1);
	expect_none(&q);
}

static void test_truncated_mid_label(void **state)
{
	struct query q;

	(void)state;
	query(&q, "pool.minexmr.com", QTYPE_A);
	/* Inside "minexmr": its length byte is at 17. */
	q.n = 17 + 4;
	expect_none(&q);
	/* Right after a length byte. */
	q.n = 18;
	expect_none(&q);
	/* The last byte of the last label is missing. */
	q.n = q.name_end - 2;
	expect_none(&q);
}

/* Cut between labels: the labels seen so far are not the name. */
static void test_truncated_at_label_boundary(void **state)
{
	struct query q;

	(void)state;
	query(&q, "pool.minexmr.com", QTYPE_A);
	q.n = 17; /* "pool", then the capture ends */
	expect_none(&q);
	q.n = 25; /* "pool.minexmr" */
	expect_none(&q);
	q.n = 29; /* "pool.minexmr.com" without its zero label */
	expect_none(&q);
	q.n = 30;
	expect_name(&q, "pool.minexmr.com");
}

static void test_invalid_chars(void **state)
{
	static const char *const bad[] = { "pool minexmr.com", "pool.min!xmr.com", "pool/x.com",
					   "pool.test:3333",    "p\xc3\xa9ol.test", "pool.test\r",
					   "pool*.test" };
	struct query q;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		query(&q, bad[i], QTYPE_A);
		expect_none(&q);
	}
	/* A NUL and a dot inside a label. */
	query(&q, "poolx.test", QTYPE_A);
	q.b[12 + 1 + 4] = '\0';
	expect_none(&q);
	query(&q, "poolx.test", QTYPE_A);
	q.b[12 + 1 + 4] = '.';
	expect_none(&q);
}

static void test_tiny_output(void **state)
{
	struct query q;
	char got[64];

	(void)state;
	query(&q, "pool.minexmr.com", QTYPE_A);
	/* 16 characters need 17 bytes. */
	assert_int_equal(qname(q.b, q.n, 17, got, sizeof(got)), 1);
	assert_string_equal(got, "pool.minexmr.com");
	for (size_t outsz = 0; outsz < 17; outsz++)
		if (qname(q.b, q.n, outsz, got, sizeof(got)))
			fail_msg("\"%s\" returned in %zu bytes", got, outsz);
	query(&q, "a", QTYPE_A);
	assert_int_equal(qname(q.b, q.n, 2, got, sizeof(got)), 1);
	assert_string_equal(got, "a");
	assert_int_equal(qname(q.b, q.n, 1, got, sizeof(got)), 0);
}

/*
 * Every prefix of a query, in a buffer of exactly that size: nothing is read
 * past the end, and a name comes back only once it is whole (its zero label
 * captured) and then it is the whole name, never the labels seen so far.
 */
static void check_every_prefix(const struct query *q, const char *want)
{
	char got[300];

	for (size_t n = 0; n <= q->n; n++) {
		int r = qname(q->b, n, 256, got, sizeof(got));

		if (r && strcmp(got, want))
			fail_msg("prefix of %zu of %zu bytes: partial name \"%s\"", n, q->n, got);
		if (r != (n >= q->name_end))
			fail_msg("prefix of %zu of %zu bytes (name ends at %zu): returned %d", n,
				 q->n, q->name_end, r);
	}
}

static void test_every_prefix(void **state)
{
	struct query q;

	(void)state;
	query(&q, "Pool.MineXMR.com", QTYPE_A);
	check_every_prefix(&q, "pool.minexmr.com");
	query(&q, "a.b.c.d.e.f.pool.test", QTYPE_AAAA);
	check_every_prefix(&q, "a.b.c.d.e.f.pool.test");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_query),
		cmocka_unit_test(test_aaaa_query),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_opcode),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_label_length),
		cmocka_unit_test(test_compression_pointer),
		cmocka_unit_test(test_truncated_mid_label),
		cmocka_unit_test(test_truncated_at_label_boundary),
		cmocka_unit_test(test_invalid_chars),
		cmocka_unit_test(test_tiny_output),
		cmocka_unit_test(test_every_prefix),
	};

	return cmocka_run_group_tests_name("dns", tests, NULL, NULL);
}
