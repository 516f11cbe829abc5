// SPDX-License-Identifier: Apache-2.0
/*
 * names__load() and names__match(): the mining-pool domain list, read from
 * files written under a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "names.h"
#include "testutil.h"

static int setup(void **state)
{
	return tu_file_setup(state, "pool-names.txt");
}

/* Writes text to the fixture's file and loads it; the error text is in f->err. */
static int load(struct tu_file_fixture *f, const char *text, struct name_list **ret)
{
	assert_int_equal(tu_file_put(f, text), 0);
	*ret = NULL;
	return names__load(f->path, ret, f->err, sizeof(f->err));
}

static struct name_list *load_ok(struct tu_file_fixture *f, const char *text)
{
	struct name_list *l;
	int e = load(f, text, &l);

	if (e)
		fail_msg("load failed (%d): %s", e, f->err);
	assert_non_null(l);
	return l;
}

static void expect_match(const struct name_list *l, const char *name, const char *listed)
{
	const char *hit = names__match(l, name);

	if (!listed) {
		if (hit)
			fail_msg("\"%s\" matched the listed \"%s\"", name, hit);
		return;
	}
	if (!hit)
		fail_msg("\"%s\" did not match \"%s\"", name, listed);
	assert_string_equal(hit, listed);
}

static const char list_text[] =
	"# Mining pools, one domain per line.\n"
	"\n"
	"pool.test\r\n"
	"   Gulf.MoneroOcean.Stream   \n"
	"\t# an indented comment\n"
	"XMR-EU1.NanoPool.ORG # trailing comment\r\n"
	"   \t  \n"
	"\r\n"
	"minexmr.com#no space before the comment\n"
	"pool_with_underscore.test\n"
	"last.test"; /* no final newline */

static void test_load(void **state)
{
	struct tu_file_fixture *f = *state;
	struct name_list *l = load_ok(f, list_text);

	assert_int_equal(names__count(l), 6);
	/* Lower-cased when loaded, so a match returns the lower-case form. */
	expect_match(l, "gulf.moneroocean.stream", "gulf.moneroocean.stream");
	expect_match(l, "xmr-eu1.nanopool.org", "xmr-eu1.nanopool.org");
	expect_match(l, "minexmr.com", "minexmr.com");
	expect_match(l, "pool_with_underscore.test", "pool_with_underscore.test");
	expect_match(l, "last.test", "last.test");
	/* No CR kept from CRLF lines. */
	expect_match(l, "pool.test", "pool.test");
	names__free(l);
}

static void test_match(void **state)
{
	struct tu_file_fixture *f = *state;
	struct name_list *l = load_ok(f, list_text);

	/* Exact, any case. */
	expect_match(l, "pool.test", "pool.test");
	expect_match(l, "POOL.Test", "pool.test");
	expect_match(l, "GULF.MONEROOCEAN.STREAM", "gulf.moneroocean.stream");
	/* Subdomains. */
	expect_match(l, "a.pool.test", "pool.test");
	expect_match(l, "a.b.pool.test", "pool.test");
	expect_match(l, "x.Gulf.MoneroOcean.Stream", "gulf.moneroocean.stream");
	/* The fully qualified form. */
	expect_match(l, "pool.test.", "pool.test");
	expect_match(l, "a.b.pool.test.", "pool.test");
	/* Not a subdomain, a parent, or a sibling. */
	expect_match(l, "xpool.test", NULL);
	expect_match(l, "a.xpool.test", NULL);
	expect_match(l, "pool.test.example", NULL);
	expect_match(l, "pool.tes", NULL);
	expect_match(l, "test", NULL);
	expect_match(l, "moneroocean.stream", NULL);
	expect_match(l, "eu1.nanopool.org", NULL);
	expect_match(l, "pool-test", NULL);
	expect_match(l, "apool_with_underscore.test", NULL);
	expect_match(l, "", NULL);
	expect_match(l, ".", NULL);
	expect_match(l, "..", NULL);
	names__free(l);
}

/* A listed name written in its fully qualified form still matches. */
static void test_listed_with_trailing_dot(void **state)
{
	struct tu_file_fixture *f = *state;
	struct name_list *l = load_ok(f, "pool.test.\n");

	expect_match(l, "pool.test", "pool.test");
	expect_match(l, "a.pool.test", "pool.test");
	expect_match(l, "pool.test.", "pool.test");
	names__free(l);
}

static void expect_error(struct tu_file_fixture *f, const char *text, const char *where,
			 const char *what)
{
	struct name_list *l;
	int e = load(f, text, &l);

	if (e == 0) {
		size_t n = names__count(l);

		names__free(l);
		fail_msg("loaded %zu names from an invalid list:\n%s", n, text);
	}
	assert_int_equal(e, -EINVAL);
	assert_null(l);
	if (!strstr(f->err, where))
		fail_msg("error \"%s\" does not name %s", f->err, where);
	if (what && !strstr(f->err, what))
		fail_msg("error \"%s\" does not show \"%s\"", f->err, what);
}

static void test_invalid_lines(void **state)
{
	struct tu_file_fixture *f = *state;
	char where[PATH_MAX + 16];

	expect_error(f, "pool.test\npoo!l\n", tu_path(where, "%s:2:", f->path), "poo!l");
	expect_error(f, "# c\n\n*.pool.test\n", tu_path(where, "%s:3:", f->path), "*.pool.test");
	expect_error(f, "pool.test\r\nhttp://pool.test/\r\n", tu_path(where, "%s:2:", f->path),
		     NULL);
	expect_error(f, "pool.test:3333\n", tu_path(where, "%s:1:", f->path), NULL);
	expect_error(f, "a.test\nb.test\nc.test\npool\xc3\xa9.test\n",
		     tu_path(where, "%s:4:", f->path), NULL);
	/* Two names on one line are not one domain. */
	expect_error(f, "a.test\npool test\n", tu_path(where, "%s:2:", f->path), NULL);
	expect_error(f, "pool.test\tother.test\n", tu_path(where, "%s:1:", f->path), NULL);
	/* A name that is only the root. */
	expect_error(f, "pool.test\n.\n", tu_path(where, "%s:2:", f->path), NULL);
	/* A "name" longer than the line buffer, and than any domain name. */
	{
		char text[1200];

		memset(text, 'a', sizeof(text) - 2);
		text[sizeof(text) - 2] = '\n';
		text[sizeof(text) - 1] = '\0';
		expect_error(f, text, tu_path(where, "%s:1:", f->path), NULL);
	}
}

/* A comment longer than the line buffer is still one comment. */
static void test_long_comment(void **state)
{
	struct tu_file_fixture *f = *state;
	char text[2200];
	struct name_list *l;

	memset(text, 'x', sizeof(text));
	memcpy(text, "# ", 2);
	snprintf(text + 1500, sizeof(text) - 1500, "\npool.test\n");
	l = load_ok(f, text);
	assert_int_equal(names__count(l), 1);
	expect_match(l, "pool.test", "pool.test");
	names__free(l);
	/* And the error after it names the right line. */
	memset(text, 'x', sizeof(text));
	memcpy(text, "# ", 2);
	snprintf(text + 1500, sizeof(text) - 1500, "\npool.test\npoo!l\n");
	{
		char where[PATH_MAX + 16];

		expect_error(f, text, tu_path(where, "%s:3:", f->path), "poo!l");
	}
}

static void test_null_and_empty(void **state)
{
	struct tu_file_fixture *f = *state;
	struct name_list *l = NULL;

	assert_int_equal(names__load(NULL, &l, f->err, sizeof(f->err)), 0);
	assert_non_null(l);
	assert_int_equal(names__count(l), 0);
	expect_match(l, "pool.test", NULL);
	names__free(l);
	l = NULL;
	assert_int_equal(names__load("", &l, f->err, sizeof(f->err)), 0);
	assert_non_null(l);
	assert_int_equal(names__count(l), 0);
	names__free(l);
	/* A file with only comments and blank lines, and an empty file. */
	l = load_ok(f, "# nothing here\n\n   \n\t# still nothing\r\n");
	assert_int_equal(names__count(l), 0);
	names__free(l);
	l = load_ok(f, "");
	assert_int_equal(names__count(l), 0);
	names__free(l);
	/* NULL lists are empty. */
	assert_int_equal(names__count(NULL), 0);
	assert_null(names__match(NULL, "pool.test"));
	names__free(NULL);
}

static void test_missing_file(void **state)
{
	struct tu_file_fixture *f = *state;
	struct name_list *l = NULL;
	char path[PATH_MAX];

	tu_path(path, "%s/no-such-file.txt", f->dir);
	assert_int_equal(names__load(path, &l, f->err, sizeof(f->err)), -ENOENT);
	assert_null(l);
	assert_non_null(strstr(f->err, path));
	/* A directory. */
	memset(f->err, 0, sizeof(f->err));
	l = NULL;
	if (names__load(f->dir, &l, f->err, sizeof(f->err)) == 0) {
		names__free(l);
		fail_msg("a directory loaded as a name list");
	}
	assert_null(l);
	assert_true(f->err[0] != '\0');
}

/* Many names: all kept, and the last one still matches. */
static void test_many(void **state)
{
	struct tu_file_fixture *f = *state;
	size_t cap = 5000 * 24, off = 0;
	char *text = malloc(cap);
	struct name_list *l;

	assert_non_null(text);
	for (unsigned i = 0; i < 5000; i++)
		off += (size_t)snprintf(text + off, cap - off, "p%u.pool.test\n", i);
	l = load_ok(f, text);
	assert_int_equal(names__count(l), 5000);
	expect_match(l, "x.p4999.pool.test", "p4999.pool.test");
	expect_match(l, "p0.pool.test", "p0.pool.test");
	expect_match(l, "p5000.pool.test", NULL);
	names__free(l);
	free(text);
}

/* The list shipped in deploy/ loads and matches what it lists. */
static void test_shipped_list(void **state)
{
	static const char *const roots[] = { "deploy", "../deploy", "../../deploy" };
	struct tu_file_fixture *f = *state;
	struct name_list *l = NULL;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (access(tu_path(path, "%s/pool-names.txt", roots[i]), R_OK) == 0)
			break;
	if (i == sizeof(roots) / sizeof(roots[0])) {
		print_message("deploy/pool-names.txt not found (run from the repository root)\n");
		skip();
	}
	if (names__load(path, &l, f->err, sizeof(f->err)))
		fail_msg("%s", f->err);
	assert_true(names__count(l) >= 20);
	expect_match(l, "gulf.moneroocean.stream", "moneroocean.stream");
	expect_match(l, "xmr.2miners.com.", "2miners.com");
	expect_match(l, "pool.supportxmr.com", "supportxmr.com");
	expect_match(l, "www.binance.com", NULL);
	expect_match(l, "github.com", NULL);
	names__free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_match, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_listed_with_trailing_dot, setup,
						tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_lines, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_long_comment, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_null_and_empty, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_shipped_list, setup, tu_file_teardown),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
