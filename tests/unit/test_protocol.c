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
	if (tu_corpus_dir("protocol", corpus)) {
		print_error("protocol corpus not found (run from the repository root or set "
			    "MW_CORPUS_DIR)\n");
		return -1;
	}
	return 0;
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
	};

	return cmocka_run_group_tests_name("protocol", tests, setup, NULL);
}
