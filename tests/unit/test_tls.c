// SPDX-License-Identifier: Apache-2.0
/*
 * tls__sni(): the server name from a ClientHello as first captured.
 *
 * ClientHellos are assembled byte by byte here (record header, handshake
 * header, version, random, session id, cipher suites, compression methods and
 * the extensions), so each field can be cut short or made to lie. Two real
 * ones come from OpenSSL at run time, and the copies recorded in
 * tests/corpus/tls are checked too. Every input is handed over in a heap
 * buffer of exactly its length, so a read past the end shows up under
 * valgrind or ASan.
 *
 * MW_SAVE_TLS_CORPUS=1 rewrites tests/corpus/tls from the OpenSSL captures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "protocol.h"
#include "testutil.h"
#include "tls.h"

#define CANARY 0xee

struct bytes {
	uint8_t b[2048];
	size_t n;
};

struct ext {
	uint16_t type;
	const uint8_t *data;
	size_t len;
};

/* Where the fields of a built ClientHello ended up. */
struct layout {
	size_t sid_len_at;   /* the session id length byte */
	size_t ciphers_at;   /* the cipher suites length */
	size_t exts_at;      /* the extensions block length */
	size_t sni_at;       /* the server_name extension's type, 0 if none */
	size_t sni_end;      /* one past its last byte */
};

static void put8(struct bytes *o, unsigned v)
{
	assert_true(o->n < sizeof(o->b));
	o->b[o->n++] = (uint8_t)v;
}

static void put16(struct bytes *o, unsigned v)
{
	put8(o, v >> 8);
	put8(o, v & 0xff);
}

static void putn(struct bytes *o, const void *p, size_t n)
{
	assert_true(n <= sizeof(o->b) - o->n);
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void patch16(struct bytes *o, size_t at, size_t v)
{
	o->b[at] = (uint8_t)(v >> 8);
	o->b[at + 1] = (uint8_t)v;
}

static void patch24(struct bytes *o, size_t at, size_t v)
{
	o->b[at] = (uint8_t)(v >> 16);
	patch16(o, at + 1, v & 0xffff);
}

/* server_name extension data: list<2> { name_type(1)=0 host_name<2> } */
static size_t sni_data(uint8_t *out, const char *name, size_t n)
{
	out[0] = (uint8_t)((n + 3) >> 8);
	out[1] = (uint8_t)(n + 3);
	out[2] = 0;
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
	memcpy(out + 5, name, n);
	return n + 5;
}

/* Extensions a browser sends around server_name. */
static const uint8_t groups[] = { 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17 };
static const uint8_t point_formats[] = { 0x01, 0x00 };
static const uint8_t sig_algs[] = { 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01 };
static const uint8_t alpn[] = { 0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1',
				'.', '1' };
static const uint8_t versions[] = { 0x04, 0x03, 0x04, 0x03, 0x03 };

#define EXT(t, a) ((struct ext){ (t), (a), sizeof(a) })

/*
 * A ClientHello record with the given extensions, session id sid_len bytes
 * long (at most 32) and record/handshake types as given.
 */
static void build(struct bytes *o, struct layout *lay, unsigned rec_type, unsigned hs_type,
		  size_t sid_len, const struct ext *exts, size_t nexts)
{
	static const uint8_t suites[] = { 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f, 0x00, 0xff };
	size_t rec_len_at, hs_len_at;

	memset(o, 0, sizeof(*o));
	memset(lay, 0, sizeof(*lay));
	put8(o, rec_type);
	put16(o, 0x0301);
	rec_len_at = o->n;
	put16(o, 0);
	put8(o, hs_type);
	hs_len_at = o->n;
	put16(o, 0);
	put8(o, 0);
	put16(o, 0x0303);
	for (unsigned i = 0; i < 32; i++)
		put8(o, 0xa0 + i); /* random */
	lay->sid_len_at = o->n;
	put8(o, (unsigned)sid_len);
	for (size_t i = 0; i < sid_len; i++)
		put8(o, 0x50 + (unsigned)i);
	lay->ciphers_at = o->n;
	put16(o, sizeof(suites));
	putn(o, suites, sizeof(suites));
	put8(o, 1); /* compression methods: null */
	put8(o, 0);
	lay->exts_at = o->n;
	put16(o, 0);
	for (size_t i = 0; i < nexts; i++) {
		if (exts[i].type == 0)
			lay->sni_at = o->n;
		put16(o, exts[i].type);
		put16(o, (unsigned)exts[i].len);
		putn(o, exts[i].data, exts[i].len);
		if (exts[i].type == 0)
			lay->sni_end = o->n;
	}
	patch16(o, lay->exts_at, o->n - lay->exts_at - 2);
	patch24(o, hs_len_at, o->n - hs_len_at - 3);
	patch16(o, rec_len_at, o->n - rec_len_at - 2);
}

/* ClientHello with server_name for name as extension number pos (0-based) of 5. */
static void build_sni(struct bytes *o, struct layout *lay, const char *name, size_t n,
		      size_t pos)
{
	static uint8_t sni[300];
	struct ext all[5] = { EXT(10, groups), EXT(11, point_formats), EXT(13, sig_algs),
			      EXT(16, alpn), EXT(43, versions) };
	struct ext exts[6];
	size_t k = 0;

	assert_true(n + 5 <= sizeof(sni));
	for (size_t i = 0; i <= 5; i++) {
		if (i == pos)
			exts[k++] = (struct ext){ 0, sni, sni_data(sni, name, n) };
		if (i < 5)
			exts[k++] = all[i];
	}
	build(o, lay, 22, 1, 32, exts, 6);
}

/*
 * Calls tls__sni on an exact-size heap copy of buf, with an exact-size heap
 * output of outsz bytes followed by a canary. Returns what it returned.
 */
static int sni(const void *buf, size_t len, size_t outsz, char *ret, size_t retsz)
{
	uint8_t *in = malloc(len ? len : 1);
	char *out = malloc(outsz + 1);
	int r;

	assert_non_null(in);
	assert_non_null(out);
	memcpy(in, buf, len);
	memset(out, CANARY, outsz + 1);
	r = tls__sni(in, len, out, outsz);
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

static void expect_name(const void *buf, size_t len, const char *want)
{
	char got[256];

	if (!sni(buf, len, 256, got, sizeof(got)))
		fail_msg("no server name found, want \"%s\"", want);
	assert_string_equal(got, want);
}

static void expect_none(const void *buf, size_t len)
{
	char got[256];

	if (sni(buf, len, 256, got, sizeof(got)))
		fail_msg("server name \"%s\" found where there is none", got);
}

static void test_found_lower_cased(void **state)
{
	struct layout lay;
	struct bytes o;

	(void)state;
	build_sni(&o, &lay, "Pool.Example.COM", 16, 0);
	expect_name(o.b, o.n, "pool.example.com");
	/* Digits, hyphens and underscores are allowed. */
	build_sni(&o, &lay, "xmr-EU1.some_pool.test", 22, 0);
	expect_name(o.b, o.n, "xmr-eu1.some_pool.test");
	/* A one-byte name. */
	build_sni(&o, &lay, "X", 1, 0);
	expect_name(o.b, o.n, "x");
}

static void test_third_and_last(void **state)
{
	struct layout lay;
	struct bytes o;

	(void)state;
	build_sni(&o, &lay, "Pool.Example.COM", 16, 2);
	expect_name(o.b, o.n, "pool.example.com");
	build_sni(&o, &lay, "pool.example.com", 16, 5);
	assert_int_equal(lay.sni_end, o.n);
	expect_name(o.b, o.n, "pool.example.com");
	/* With an empty session id, as TLS 1.2 clients without resumption send. */
	{
		uint8_t data[64];
		struct ext exts[3] = { EXT(10, groups), { 0, data, 0 }, EXT(13, sig_algs) };

		exts[1].len = sni_data(data, "a.pool.test", 11);
		build(&o, &lay, 22, 1, 0, exts, 3);
		expect_name(o.b, o.n, "a.pool.test");
	}
}

static void test_no_sni(void **state)
{
	struct ext exts[4] = { EXT(10, groups), EXT(11, point_formats), EXT(13, sig_algs),
			       EXT(43, versions) };
	struct layout lay;
	struct bytes o;

	(void)state;
	build(&o, &lay, 22, 1, 32, exts, 4);
	expect_none(o.b, o.n);
	/* No extensions at all, and no extensions block. */
	build(&o, &lay, 22, 1, 32, NULL, 0);
	expect_none(o.b, o.n);
	expect_none(o.b, o.n - 2);
	/* server_name with an empty list, and with an empty host name. */
	{
		static const uint8_t empty_list[] = { 0x00, 0x00 };
		static const uint8_t empty_name[] = { 0x00, 0x03, 0x00, 0x00, 0x00 };
		struct ext e1[2] = { EXT(10, groups), EXT(0, empty_list) };
		struct ext e2[2] = { EXT(0, empty_name), EXT(10, groups) };

		build(&o, &lay, 22, 1, 32, e1, 2);
		expect_none(o.b, o.n);
		build(&o, &lay, 22, 1, 32, e2, 2);
		expect_none(o.b, o.n);
	}
}

static void test_not_client_hello(void **state)
{
	uint8_t data[64];
	struct ext exts[1] = { { 0, data, 0 } };
	struct layout lay;
	struct bytes o;

	(void)state;
	exts[0].len = sni_data(data, "pool.test", 9);
	build(&o, &lay, 22, 1, 32, exts, 1);
	expect_name(o.b, o.n, "pool.test");
	/* Application data, alert, change cipher spec. */
	build(&o, &lay, 23, 1, 32, exts, 1);
	expect_none(o.b, o.n);
	build(&o, &lay, 21, 1, 32, exts, 1);
	expect_none(o.b, o.n);
	build(&o, &lay, 20, 1, 32, exts, 1);
	expect_none(o.b, o.n);
	/* ServerHello, Certificate, and a byte that is no handshake type. */
	build(&o, &lay, 22, 2, 32, exts, 1);
	expect_none(o.b, o.n);
	build(&o, &lay, 22, 11, 32, exts, 1);
	expect_none(o.b, o.n);
	build(&o, &lay, 22, 0x81, 32, exts, 1);
	expect_none(o.b, o.n);
	/* Plain text that happens to contain the name. */
	expect_none("GET / HTTP/1.1\r\nHost: pool.test\r\n\r\n", 35);
}

/* Every cut of the hello: the whole name once server_name is complete, else nothing. */
static void check_every_cut(const struct bytes *o, const struct layout *lay, const char *want)
{
	char got[256];

	for (size_t n = 0; n <= o->n; n++) {
		int r = sni(o->b, n, 256, got, sizeof(got));

		if (r && strcmp(got, want))
			fail_msg("cut at %zu of %zu: partial or wrong name \"%s\"", n, o->n, got);
		if (r != (n >= lay->sni_end))
			fail_msg("cut at %zu of %zu (server_name ends at %zu): returned %d", n,
				 o->n, lay->sni_end, r);
	}
}

static void test_every_truncation(void **state)
{
	struct layout lay;
	struct bytes o;

	(void)state;
	for (size_t pos = 0; pos <= 5; pos++) {
		build_sni(&o, &lay, "Pool.Example.COM", 16, pos);
		check_every_cut(&o, &lay, "pool.example.com");
	}
}

static void test_lying_lengths(void **state)
{
	struct layout lay;
	struct bytes o;

	(void)state;
	/* The server_name extension claims more than was captured. */
	build_sni(&o, &lay, "pool.example.com", 16, 2);
	patch16(&o, lay.sni_at + 2, 0xffff);
	expect_none(o.b, o.n);
	build_sni(&o, &lay, "pool.example.com", 16, 5);
	patch16(&o, lay.sni_at + 2, lay.sni_end - lay.sni_at - 4 + 1);
	expect_none(o.b, o.n);
	/* An extension before it claims more than was captured. */
	build_sni(&o, &lay, "pool.example.com", 16, 2);
	patch16(&o, lay.exts_at + 2 + 2, 0x4000);
	expect_none(o.b, o.n);
	/* The name list claims more than its extension holds. */
	build_sni(&o, &lay, "pool.example.com", 16, 2);
	patch16(&o, lay.sni_at + 4, 0x1000);
	expect_none(o.b, o.n);
	/* The host name claims more than its extension holds, by one and by a lot. */
	build_sni(&o, &lay, "pool.example.com", 16, 2);
	patch16(&o, lay.sni_at + 7, 17);
	expect_none(o.b, o.n);
	patch16(&o, lay.sni_at + 7, 0xffff);
	expect_none(o.b, o.n);
	/* A session id of 200 bytes (at most 32 are allowed), longer than the rest. */
	build_sni(&o, &lay, "pool.example.com", 16, 0);
	o.b[lay.sid_len_at] = 200;
	expect_none(o.b, o.n);
	o.b[lay.sid_len_at] = 0xff;
	expect_none(o.b, o.n);
	/* Cipher suites and compression methods running off the end. */
	build_sni(&o, &lay, "pool.example.com", 16, 0);
	patch16(&o, lay.ciphers_at, 0xfffe);
	expect_none(o.b, o.n);
	build_sni(&o, &lay, "pool.example.com", 16, 0);
	o.b[lay.exts_at - 2] = 0xff;
	expect_none(o.b, o.n);
	/* Record and handshake longer than captured: a hello cut at the limit. */
	build_sni(&o, &lay, "pool.example.com", 16, 0);
	patch16(&o, 3, 0x4000);
	o.b[6] = 0x01;
	expect_name(o.b, o.n, "pool.example.com");
}

static void test_invalid_host(void **state)
{
	static const char *const bad[] = { "pool example.com", "pool/example.com",
					   "pool:3333",        "pool\texample",
					   "pool\xc3\xa9.test", "pool.test\r\n" };
	struct layout lay;
	struct bytes o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_sni(&o, &lay, bad[i], strlen(bad[i]), 1);
		expect_none(o.b, o.n);
	}
	/* A NUL inside, at the start and at the end of the name. */
	build_sni(&o, &lay, "pool\0example.com", 16, 1);
	expect_none(o.b, o.n);
	build_sni(&o, &lay, "\0pool.example.com", 17, 1);
	expect_none(o.b, o.n);
	build_sni(&o, &lay, "pool.example.com\0", 17, 1);
	expect_none(o.b, o.n);
}

/* A list entry that is not a host_name (type 1) comes before the host name. */
static void test_other_name_type(void **state)
{
	static const uint8_t data[] = { 0x00, 0x0d, 0x01, 0x00, 0x03, 'a', 'b', 'c', 0x00,
					0x00, 0x04, 'P',  'o',  'o',  'l' };
	struct ext exts[2] = { EXT(10, groups), EXT(0, data) };
	struct layout lay;
	struct bytes o;

	(void)state;
	build(&o, &lay, 22, 1, 32, exts, 2);
	expect_name(o.b, o.n, "pool");
}

static void test_output_too_small(void **state)
{
	struct layout lay;
	struct bytes o;
	char got[64];

	(void)state;
	build_sni(&o, &lay, "pool.example.com", 16, 2);
	/* 16 characters need 17 bytes. */
	assert_int_equal(sni(o.b, o.n, 17, got, sizeof(got)), 1);
	assert_string_equal(got, "pool.example.com");
	assert_int_equal(sni(o.b, o.n, 16, got, sizeof(got)), 0);
	assert_int_equal(sni(o.b, o.n, 1, got, sizeof(got)), 0);
	assert_int_equal(sni(o.b, o.n, 0, got, sizeof(got)), 0);
}

/* The first bytes OpenSSL sends as a client offering at most max_version. */
static size_t openssl_hello(long max_version, uint8_t *buf, size_t bufsz)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	BIO *ours = NULL, *theirs = NULL;
	size_t len = 0;
	SSL *ssl;
	int r;

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max_version), 1);
	ssl = SSL_new(ctx);
	assert_non_null(ssl);
	assert_int_equal(BIO_new_bio_pair(&ours, 0, &theirs, 0), 1);
	SSL_set_bio(ssl, ours, ours);
	assert_int_equal(SSL_set_tlsext_host_name(ssl, "pool.test"), 1);
	SSL_set_connect_state(ssl);
	r = SSL_do_handshake(ssl);
	assert_int_equal(r, -1);
	assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
	while (len < bufsz) {
		r = BIO_read(theirs, buf + len, (int)(bufsz - len));
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	assert_true(len < bufsz);
	BIO_free(theirs);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return len;
}

static void save_capture(const char *name, const uint8_t *buf, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *env = getenv("MW_SAVE_TLS_CORPUS");

	if (!env || strcmp(env, "1"))
		return;
	assert_int_equal(tu_corpus_dir("tls", dir), 0);
	assert_int_equal(tu_write_file(tu_path(path, "%s/%s", dir, name), buf, len), 0);
	print_message("saved %s (%zu bytes)\n", path, len);
}

/* Where server_name ends in a real hello, found without tls__sni. */
static size_t find_sni_end(const uint8_t *b, size_t len)
{
	size_t i = 5 + 4 + 2 + 32;

	i += 1 + b[i];
	i += 2 + ((size_t)b[i] << 8 | b[i + 1]);
	i += 1 + b[i];
	i += 2;
	while (i + 4 <= len) {
		size_t type = (size_t)b[i] << 8 | b[i + 1];
		size_t elen = (size_t)b[i + 2] << 8 | b[i + 3];

		i += 4 + elen;
		if (type == 0)
			return i;
	}
	fail_msg("no server_name in the capture");
	return 0;
}

static void check_real_hello(const uint8_t *buf, size_t len)
{
	struct layout lay = { 0 };
	struct bytes o;

	assert_true(len > 100 && len <= sizeof(o.b));
	assert_int_equal(buf[0], 22);
	assert_int_equal(buf[5], 1);
	assert_int_equal(proto__stream_kind(buf, len), STREAM_TLS);
	memcpy(o.b, buf, len);
	o.n = len;
	lay.sni_end = find_sni_end(buf, len);
	expect_name(buf, len, "pool.test");
	check_every_cut(&o, &lay, "pool.test");
}

static void test_openssl_tls12(void **state)
{
	uint8_t buf[2048];
	size_t len;

	(void)state;
	len = openssl_hello(TLS1_2_VERSION, buf, sizeof(buf));
	save_capture("clienthello-tls12.bin", buf, len);
	check_real_hello(buf, len);
}

static void test_openssl_tls13(void **state)
{
	uint8_t buf[2048];
	size_t len;

	(void)state;
	len = openssl_hello(TLS1_3_VERSION, buf, sizeof(buf));
	save_capture("clienthello-tls13.bin", buf, len);
	check_real_hello(buf, len);
}

/* The captures recorded in tests/corpus/tls. */
static void test_recorded(void **state)
{
	static const char *const files[] = { "clienthello-tls12.bin", "clienthello-tls13.bin" };
	char dir[PATH_MAX], path[PATH_MAX];

	(void)state;
	if (tu_corpus_dir("tls", dir))
		fail_msg("tls corpus not found (run from the repository root or set "
			 "MW_CORPUS_DIR)");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		unsigned char *buf = NULL;
		size_t len = 0;
		int e = tu_read_file(tu_path(path, "%s/%s", dir, files[i]), &buf, &len);

		if (e)
			fail_msg("cannot read %s: %s", path, strerror(-e));
		check_real_hello(buf, len);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_lower_cased),
		cmocka_unit_test(test_third_and_last),
		cmocka_unit_test(test_no_sni),
		cmocka_unit_test(test_not_client_hello),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_invalid_host),
		cmocka_unit_test(test_other_name_type),
		cmocka_unit_test(test_output_too_small),
		cmocka_unit_test(test_openssl_tls12),
		cmocka_unit_test(test_openssl_tls13),
		cmocka_unit_test(test_recorded),
	};

	return cmocka_run_group_tests_name("tls", tests, NULL, NULL);
}
