// SPDX-License-Identifier: Apache-2.0
/*
 * proto__recognise() against the recorded corpus in tests/corpus/protocol:
 *
 *   positive/KIND__METHOD[__VARIANT].txt  must match with that kind and method
 *                                          ('+' in METHOD stands for a space)
 *   negative/ *.txt                        must not match
 *   split/KIND__METHOD.1 and .2            two captured pieces of one message
 *
 * Every input is handed over in a heap buffer of exactly its length, so a read
 * past the end shows up under valgrind or ASan.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "protocol.h"
#include "testutil.h"

#define MIN_POSITIVES 24
#define MIN_NEGATIVES 15
#define MIN_SPLITS 3

struct expect {
	char kind[32];
	char method[64];
};

static char corpus[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return tu_corpus_setup("protocol", corpus);
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int txt_filter(const struct dirent *de)
{
	return de->d_name[0] != '.' && has_suffix(de->d_name, ".txt");
}

static int first_piece_filter(const struct dirent *de)
{
	return de->d_name[0] != '.' && has_suffix(de->d_name, ".1");
}

/* "KIND__METHOD[__VARIANT].EXT" -> kind, method; 0 or -1 if malformed. */
static int parse_name(const char *name, struct expect *e)
{
	const char *sep = strstr(name, "__"), *m, *end;
	size_t klen, mlen;

	if (!sep)
		return -1;
	klen = (size_t)(sep - name);
	m = sep + 2;
	end = strstr(m, "__");
	if (!end)
		end = strrchr(m, '.');
	if (!end || klen >= sizeof(e->kind))
		return -1;
	mlen = (size_t)(end - m);
	if (!mlen || mlen >= sizeof(e->method))
		return -1;
	memcpy(e->kind, name, klen);
	e->kind[klen] = '\0';
	for (size_t i = 0; i < mlen; i++)
		e->method[i] = m[i] == '+' ? ' ' : m[i];
	e->method[mlen] = '\0';
	return 0;
}

static int list_dir(const char *sub, int (*filter)(const struct dirent *), struct dirent ***ret)
{
	char path[PATH_MAX];
	int n = scandir(tu_path(path, "%s/%s", corpus, sub), ret, filter, alphasort);

	if (n < 0)
		fail_msg("cannot list %s: %s", path, strerror(errno));
	return n;
}

static void free_list(struct dirent **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void read_corpus(const char *sub, const char *name, unsigned char **buf, size_t *len)
{
	char path[PATH_MAX];
	int e = tu_read_file(tu_path(path, "%s/%s/%s", corpus, sub, name), buf, len);

	if (e)
		fail_msg("cannot read %s: %s", path, strerror(-e));
}

/* A match must leave a well-formed result whatever the input was. */
static void check_match_sane(const struct proto_match *m)
{
	assert_true(m->kind == PROTO_STRATUM_V1 || m->kind == PROTO_XMRIG ||
		    m->kind == PROTO_ETH_STRATUM);
	assert_true(memchr(m->method, '\0', sizeof(m->method)) != NULL);
}

static void test_positive_corpus(void **state)
{
	struct dirent **list;
	int n = list_dir("positive", txt_filter, &list), bad = 0;
	int seen[PROTO_ETH_STRATUM + 1] = { 0 };

	(void)state;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		struct proto_match m;
		struct expect e;
		unsigned char *buf;
		size_t len;

		if (parse_name(name, &e)) {
			print_error("positive/%s: name is not KIND__METHOD[__VARIANT].txt\n", name);
			bad++;
			continue;
		}
		read_corpus("positive", name, &buf, &len);
		memset(&m, 0xa5, sizeof(m));
		if (!proto__recognise(buf, len, &m)) {
			print_error("positive/%s: not recognised\n", name);
			bad++;
		} else if (strcmp(proto__name(m.kind), e.kind) || strcmp(m.method, e.method)) {
			print_error("positive/%s: got %s \"%s\", want %s \"%s\"\n", name,
				    proto__name(m.kind), m.method, e.kind, e.method);
			bad++;
		} else {
			seen[m.kind]++;
		}
		free(buf);
	}
	free_list(list, n);
	assert_int_equal(bad, 0);
	assert_true(n >= MIN_POSITIVES);
	assert_true(seen[PROTO_STRATUM_V1] >= 7);
	assert_true(seen[PROTO_XMRIG] >= 6);
	assert_true(seen[PROTO_ETH_STRATUM] >= 3);
}

static void test_negative_corpus(void **state)
{
	struct dirent **list;
	int n = list_dir("negative", txt_filter, &list), bad = 0;

	(void)state;
	for (int i = 0; i < n; i++) {
		struct proto_match m;
		unsigned char *buf;
		size_t len;

		read_corpus("negative", list[i]->d_name, &buf, &len);
		if (proto__recognise(buf, len, &m)) {
			print_error("negative/%s: recognised as %s \"%s\"\n", list[i]->d_name,
				    proto__name(m.kind), m.method);
			bad++;
		}
		free(buf);
	}
	free_list(list, n);
	assert_int_equal(bad, 0);
	assert_true(n >= MIN_NEGATIVES);
}

/* The two captured pieces together are one message; the first alone is partial. */
static void test_split_corpus(void **state)
{
	struct dirent **list;
	int n = list_dir("split", first_piece_filter, &list), bad = 0;

	(void)state;
	for (int i = 0; i < n; i++) {
		char second[NAME_MAX + 1];
		unsigned char *a, *b, *joined;
		size_t alen, blen;
		struct proto_match m;
		struct expect e;
		size_t nlen = strlen(list[i]->d_name);

		assert_int_equal(parse_name(list[i]->d_name, &e), 0);
		snprintf(second, sizeof(second), "%.*s.2", (int)(nlen - 2), list[i]->d_name);
		read_corpus("split", list[i]->d_name, &a, &alen);
		read_corpus("split", second, &b, &blen);

		/* The first piece alone may or may not match; it must be handled. */
		if (proto__recognise(a, alen, &m))
			check_match_sane(&m);

		joined = malloc(alen + blen);
		assert_non_null(joined);
		memcpy(joined, a, alen);
		memcpy(joined + alen, b, blen);
		if (!proto__recognise(joined, alen + blen, &m) ||
		    strcmp(proto__name(m.kind), e.kind) || strcmp(m.method, e.method)) {
			print_error("split/%s + .2: not recognised as %s \"%s\"\n",
				    list[i]->d_name, e.kind, e.method);
			bad++;
		}
		free(joined);
		free(a);
		free(b);
	}
	free_list(list, n);
	assert_int_equal(bad, 0);
	assert_true(n >= MIN_SPLITS);
}

/*
 * Every prefix of every positive message, in a buffer of exactly that size:
 * nothing may read past the end, and whatever matches must be well formed.
 */
static void test_every_prefix(void **state)
{
	struct dirent **list;
	int n = list_dir("positive", txt_filter, &list);
	size_t calls = 0;

	(void)state;
	for (int i = 0; i < n; i++) {
		unsigned char *buf;
		size_t len;

		read_corpus("positive", list[i]->d_name, &buf, &len);
		for (size_t plen = 0; plen <= len; plen++) {
			unsigned char *p = malloc(plen ? plen : 1);
			struct proto_match m;

			assert_non_null(p);
			memcpy(p, buf, plen);
			if (proto__recognise(p, plen, &m))
				check_match_sane(&m);
			else
				assert_true(plen < len); /* the whole message does match */
			free(p);
			calls++;
		}
		free(buf);
	}
	free_list(list, n);
	assert_true(calls > 1000);
}

/* The same for what follows a cut: every suffix must be handled too. */
static void test_every_suffix(void **state)
{
	struct dirent **list;
	int n = list_dir("positive", txt_filter, &list);

	(void)state;
	for (int i = 0; i < n; i++) {
		unsigned char *buf;
		size_t len;

		read_corpus("positive", list[i]->d_name, &buf, &len);
		for (size_t off = 0; off <= len; off++) {
			size_t slen = len - off;
			unsigned char *p = malloc(slen ? slen : 1);
			struct proto_match m;

			assert_non_null(p);
			memcpy(p, buf + off, slen);
			if (proto__recognise(p, slen, &m))
				check_match_sane(&m);
			free(p);
		}
		free(buf);
	}
	free_list(list, n);
}

static void expect_match(const char *s, enum proto_kind kind, const char *method)
{
	struct proto_match m;

	memset(&m, 0, sizeof(m));
	if (!proto__recognise(s, strlen(s), &m))
		fail_msg("not recognised: %s", s);
	assert_int_equal(m.kind, kind);
	assert_string_equal(m.method, method);
}

static void expect_none(const void *s, size_t len)
{
	struct proto_match m;

	assert_int_equal(proto__recognise(s, len, &m), 0);
}

/* For literals, which may hold NUL bytes. */
#define EXPECT_NONE_LIT(lit) expect_none(lit, sizeof(lit) - 1)

/* Mining after other lines, on the same connection. */
static void test_later_line(void **state)
{
	(void)state;
	expect_match("\r\n\n{\"id\":1,\"method\":\"status\",\"params\":[]}\n"
		     "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"w\",\"x\"]}\n",
		     PROTO_STRATUM_V1, "mining.authorize");
	expect_match("hello\n{\"id\":3,\"method\":\"eth_getWork\",\"params\":[]}",
		     PROTO_ETH_STRATUM, "eth_getWork");
	/* The first recognised line wins. */
	expect_match("{\"method\":\"keepalived\",\"id\":9}\n"
		     "{\"method\":\"mining.subscribe\",\"params\":[]}\n",
		     PROTO_XMRIG, "keepalived");
}

/* A line cut at the capture limit may match on the method alone. */
static void test_cut_line(void **state)
{
	static const char stratum[] = "{\"id\":1,\"method\":\"mining.subscribe\",\"par";

	(void)state;
	expect_match(stratum, PROTO_STRATUM_V1, "mining.subscribe");
	/* The same bytes as a complete line say nothing about the parameters. */
	EXPECT_NONE_LIT("{\"id\":1,\"method\":\"mining.subscribe\",\"par\n");
	/* A cut login is XMRig only when the login is wallet-shaped. */
	EXPECT_NONE_LIT("{\"id\":1,\"method\":\"login\",\"params\":{\"login\":\"bob\",\"pa");
	EXPECT_NONE_LIT("{\"id\":1,\"method\":\"login\",\"params\":{\"login\":\"4AbC");
}

static void test_hostile_lines(void **state)
{
	char big[8192];
	size_t n;

	(void)state;
	/* NUL bytes before and inside a line. */
	EXPECT_NONE_LIT("\0\0\0{\"method\"\0:\"mining.subscribe\",\"params\":[]}\n");
	/* A method name longer than the result can hold. */
	n = (size_t)snprintf(big, sizeof(big), "{\"method\":\"mining.%0200d\",\"params\":[]}\n", 0);
	expect_none(big, n);
	/* An unterminated method string running to the end of the buffer. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"method\":\"", 11);
	expect_none(big, sizeof(big));
	/* Keys with no colon, colons with no value. */
	EXPECT_NONE_LIT("{\"method\"\"method\" \"method\":");
	EXPECT_NONE_LIT("{\"login\":");
	/* Many short lines. */
	memset(big, '\n', sizeof(big));
	for (size_t i = 0; i + 1 < sizeof(big); i += 2)
		big[i] = '{';
	expect_none(big, sizeof(big));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(proto__name(PROTO_NONE), "none");
	assert_string_equal(proto__name(PROTO_STRATUM_V1), "stratum-v1");
	assert_string_equal(proto__name(PROTO_XMRIG), "xmrig-jsonrpc");
	assert_string_equal(proto__name(PROTO_ETH_STRATUM), "eth-stratum");
	assert_string_equal(proto__name((enum proto_kind)99), "none");
}

/* proto__stream_kind on an exact-size heap copy of len bytes. */
static enum stream_kind stream_kind(const void *buf, size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	enum stream_kind k;

	assert_non_null(p);
	memcpy(p, buf, len);
	k = proto__stream_kind(p, len);
	free(p);
	return k;
}

static void expect_stream(const void *buf, size_t len, enum stream_kind want)
{
	enum stream_kind got = stream_kind(buf, len);

	if (got != want)
		fail_msg("%zu bytes starting %02x: %s, want %s", len,
			 len ? *(const unsigned char *)buf : 0, proto__stream_name(got),
			 proto__stream_name(want));
}

#define EXPECT_STREAM_LIT(lit, want) expect_stream(lit, sizeof(lit) - 1, want)

static void test_stream_tls(void **state)
{
	(void)state;
	EXPECT_STREAM_LIT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", STREAM_TLS);
	EXPECT_STREAM_LIT("\x16\x03\x03\x00\x7a\x01", STREAM_TLS);
	EXPECT_STREAM_LIT("\x16\x03\x02", STREAM_TLS);
	EXPECT_STREAM_LIT("\x16\x03\x04", STREAM_TLS);
	/* Not a handshake record, not TLS 1.x, or too short to tell. */
	EXPECT_STREAM_LIT("\x17\x03\x03\x00\x20", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\x15\x03\x03\x00\x02", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\x16\x03\x05\x00\x20", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\x16\x02\x00\x00\x20", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\x16\x03", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\x16", STREAM_UNKNOWN);
}

static void test_stream_http(void **state)
{
	static const char *const requests[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST /rpc HTTP/1.1\r\n",
		"PUT /x HTTP/1.0\r\n",               "HEAD / HTTP/1.1\r\n",
		"DELETE /x HTTP/1.1\r\n",            "PATCH /x HTTP/1.1\r\n",
		"OPTIONS * HTTP/1.1\r\n",            "CONNECT pool.test:443 HTTP/1.1\r\n",
		"GET ",
	};
	static const char *const others[] = {
		"get / HTTP/1.1\r\n", "GET", "GETX / HTTP/1.1", "HTTP/1.1 200 OK\r\n", " GET / HTTP/1.1",
		"POST",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		expect_stream(requests[i], strlen(requests[i]), STREAM_HTTP);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		expect_stream(others[i], strlen(others[i]), STREAM_UNKNOWN);
}

static void test_stream_ssh(void **state)
{
	(void)state;
	EXPECT_STREAM_LIT("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n", STREAM_SSH);
	EXPECT_STREAM_LIT("SSH-2.0-OpenSSH", STREAM_SSH);
	EXPECT_STREAM_LIT("SSH-", STREAM_SSH);
	EXPECT_STREAM_LIT("SSH", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("ssh-2.0-x", STREAM_UNKNOWN);
}

static void test_stream_json(void **state)
{
	(void)state;
	EXPECT_STREAM_LIT("{\"id\":1,\"method\":\"login\"}\n", STREAM_JSON);
	EXPECT_STREAM_LIT("  \t\r\n {\"id\":1}", STREAM_JSON);
	EXPECT_STREAM_LIT("\n\n[1,2]", STREAM_JSON);
	EXPECT_STREAM_LIT("{", STREAM_JSON);
	/* Whitespace alone, text before the brace, a bare value. */
	EXPECT_STREAM_LIT("   \r\n", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("x{\"id\":1}", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\"id\"", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\0{\"id\":1}", STREAM_UNKNOWN);
}

static void test_stream_binary_and_empty(void **state)
{
	unsigned char noise[256];

	(void)state;
	EXPECT_STREAM_LIT("\x00\x01\x02\x03", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("\x80\xff\xfe", STREAM_UNKNOWN);
	EXPECT_STREAM_LIT("*1\r\n$4\r\nPING\r\n", STREAM_UNKNOWN);
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (unsigned char)(i * 151 + 7);
	expect_stream(noise, sizeof(noise), STREAM_UNKNOWN);
	expect_stream("GET / HTTP/1.1", 0, STREAM_UNSEEN);
	expect_stream("", 0, STREAM_UNSEEN);
}

/* Every prefix of each kind, in exact-size buffers: never read past the end. */
static void test_stream_prefixes(void **state)
{
	static const char *const samples[] = { "\x16\x03\x01\x02\x00", "OPTIONS * HTTP/1.1",
					       "CONNECT x:1 HTTP/1.1", "SSH-2.0-x",
					       "   \n\t{\"a\":1}" };

	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		size_t len = strlen(samples[i]);
		enum stream_kind full = stream_kind(samples[i], len);

		assert_int_not_equal(full, STREAM_UNKNOWN);
		for (size_t n = 0; n < len; n++) {
			enum stream_kind k = stream_kind(samples[i], n);

			assert_true(k == STREAM_UNSEEN || k == STREAM_UNKNOWN || k == full);
			assert_int_equal(k == STREAM_UNSEEN, n == 0);
		}
	}
}

/* The recorded corpus: mining lines are JSON; the negatives that are something else. */
static void test_stream_corpus(void **state)
{
	static const struct {
		const char *file;
		enum stream_kind kind;
	} negatives[] = {
		{ "empty.txt", STREAM_UNSEEN },
		{ "http-request.txt", STREAM_HTTP },
		{ "http-post-json.txt", STREAM_HTTP },
		{ "http-response.txt", STREAM_UNKNOWN },
		{ "ssh-banner.txt", STREAM_SSH },
		{ "tls-clienthello.txt", STREAM_TLS },
		{ "redis-ping.txt", STREAM_UNKNOWN },
		{ "random-bytes.txt", STREAM_UNKNOWN },
		{ "one-byte.txt", STREAM_JSON },
		{ "eth-node-getbalance.txt", STREAM_JSON },
	};
	struct dirent **list;
	int n = list_dir("positive", txt_filter, &list);

	(void)state;
	for (int i = 0; i < n; i++) {
		unsigned char *buf;
		size_t len;

		read_corpus("positive", list[i]->d_name, &buf, &len);
		if (proto__stream_kind(buf, len) != STREAM_JSON)
			fail_msg("positive/%s: %s, not json", list[i]->d_name,
				 proto__stream_name(proto__stream_kind(buf, len)));
		free(buf);
	}
	free_list(list, n);
	for (size_t i = 0; i < sizeof(negatives) / sizeof(negatives[0]); i++) {
		unsigned char *buf;
		size_t len;

		read_corpus("negative", negatives[i].file, &buf, &len);
		if (proto__stream_kind(buf, len) != negatives[i].kind)
			fail_msg("negative/%s: %s, want %s", negatives[i].file,
				 proto__stream_name(proto__stream_kind(buf, len)),
				 proto__stream_name(negatives[i].kind));
		free(buf);
	}
}

static void test_stream_names(void **state)
{
	(void)state;
	assert_string_equal(proto__stream_name(STREAM_UNSEEN), "unseen");
	assert_string_equal(proto__stream_name(STREAM_UNKNOWN), "unknown");
	assert_string_equal(proto__stream_name(STREAM_TLS), "tls");
	assert_string_equal(proto__stream_name(STREAM_HTTP), "http");
	assert_string_equal(proto__stream_name(STREAM_SSH), "ssh");
	assert_string_equal(proto__stream_name(STREAM_JSON), "json");
	assert_string_equal(proto__stream_name((enum stream_kind)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_corpus),
		cmocka_unit_test(test_negative_corpus),
		cmocka_unit_test(test_split_corpus),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_every_suffix),
		cmocka_unit_test(test_later_line),
		cmocka_unit_test(test_cut_line),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stream_tls),
		cmocka_unit_test(test_stream_http),
		cmocka_unit_test(test_stream_ssh),
		cmocka_unit_test(test_stream_json),
		cmocka_unit_test(test_stream_binary_and_empty),
		cmocka_unit_test(test_stream_prefixes),
		cmocka_unit_test(test_stream_corpus),
		cmocka_unit_test(test_stream_names),
	};

	return cmocka_run_group_tests_name("protocol", tests, setup, NULL);
}
