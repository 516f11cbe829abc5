// SPDX-License-Identifier: Apache-2.0
/*
 * suppress__load() and suppress__match(): the per-host list of known-good
 * software, read from files written under a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>

#include "suppress.h"
#include "testutil.h"

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_A_UPPER "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
#define SHA_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int setup(void **state)
{
	return tu_file_setup(state, "suppress.conf");
}

static int load(struct tu_file_fixture *f, const char *text, struct suppress_list **ret)
{
	assert_int_equal(tu_file_put(f, text), 0);
	*ret = NULL;
	return suppress__load(f->path, ret, f->err, sizeof(f->err));
}

static struct suppress_list *load_ok(struct tu_file_fixture *f, const char *text)
{
	struct suppress_list *l;
	int e = load(f, text, &l);

	if (e)
		fail_msg("load failed (%d): %s", e, f->err);
	assert_non_null(l);
	return l;
}

static const char *match(const struct suppress_list *l, const char *sha, const char *exe,
			 const char *image, const char *cgroup)
{
	const struct suppress_subject s = { sha, exe, image, cgroup };

	return suppress__match(l, &s);
}

static void expect(const struct suppress_list *l, const char *sha, const char *exe,
		   const char *image, const char *cgroup, const char *rule)
{
	const char *hit = match(l, sha, exe, image, cgroup);

	if (!rule) {
		if (hit)
			fail_msg("suppressed by \"%s\" (exe %s, cgroup %s)", hit, exe ? exe : "-",
				 cgroup ? cgroup : "-");
		return;
	}
	if (!hit)
		fail_msg("not suppressed, want \"%s\" (exe %s, cgroup %s)", rule,
			 exe ? exe : "-", cgroup ? cgroup : "-");
	assert_string_equal(hit, rule);
}

static void test_each_kind(void **state)
{
	struct tu_file_fixture *f = *state;
	static const char text[] = "# known good\n"
				   "\n"
				   "sha256 " SHA_A "\n"
				   "path /opt/research/bin/hash-benchmark\n"
				   "  image registry.test/render:1.2   # the render farm\n"
				   "cgroup /system.slice/render-farm.service\r\n";
	struct suppress_list *l = load_ok(f, text);

	assert_int_equal(suppress__count(l), 4);
	expect(l, SHA_A, "/usr/bin/x", NULL, NULL, "sha256 " SHA_A);
	expect(l, NULL, "/opt/research/bin/hash-benchmark", NULL, NULL,
	       "path /opt/research/bin/hash-benchmark");
	expect(l, NULL, "/usr/bin/x", "registry.test/render:1.2", NULL,
	       "image registry.test/render:1.2");
	expect(l, NULL, "/usr/bin/x", NULL, "/system.slice/render-farm.service",
	       "cgroup /system.slice/render-farm.service");
	/* Nothing listed. */
	expect(l, SHA_B, "/usr/bin/x", "registry.test/other:1", "/user.slice", NULL);
	expect(l, NULL, NULL, NULL, NULL, NULL);
	/* The first rule that matches is the one returned. */
	expect(l, SHA_A, "/opt/research/bin/hash-benchmark", NULL, NULL, "sha256 " SHA_A);
	suppress__free(l);
}

static void test_sha256_case(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = load_ok(f, "sha256 " SHA_A_UPPER "\n");

	/* Lower-cased when loaded; the subject may be either case. */
	expect(l, SHA_A, NULL, NULL, NULL, "sha256 " SHA_A);
	expect(l, SHA_A_UPPER, NULL, NULL, NULL, "sha256 " SHA_A);
	expect(l, SHA_B, NULL, NULL, NULL, NULL);
	/* A prefix of the hash, and the hash with more after it. */
	expect(l, "9f86d081884c7d659a2feaa0c55ad015", NULL, NULL, NULL, NULL);
	expect(l, SHA_A "00", NULL, NULL, NULL, NULL);
	/* The rule needs the subject's hash: an unknown hash is no match. */
	expect(l, NULL, "/usr/bin/x", NULL, NULL, NULL);
	suppress__free(l);
}

static void test_cgroup_prefix(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = load_ok(f, "cgroup /system.slice\n");

	expect(l, NULL, "/x", NULL, "/system.slice", "cgroup /system.slice");
	expect(l, NULL, "/x", NULL, "/system.slice/x.service", "cgroup /system.slice");
	expect(l, NULL, "/x", NULL, "/system.slice/a/b/c", "cgroup /system.slice");
	expect(l, NULL, "/x", NULL, "/system.slicex", NULL);
	expect(l, NULL, "/x", NULL, "/system.slicex/y.service", NULL);
	expect(l, NULL, "/x", NULL, "/system.slic", NULL);
	expect(l, NULL, "/x", NULL, "/user.slice/system.slice", NULL);
	expect(l, NULL, "/x", NULL, "/", NULL);
	expect(l, NULL, "/x", NULL, "", NULL);
	expect(l, NULL, "/x", NULL, NULL, NULL);
	suppress__free(l);

	/* Written with a trailing slash: everything below, not the cgroup itself. */
	l = load_ok(f, "cgroup /kubepods/\n");
	expect(l, NULL, "/x", NULL, "/kubepods/pod1/c1", "cgroup /kubepods/");
	expect(l, NULL, "/x", NULL, "/kubepodsx/pod1", NULL);
	suppress__free(l);

	/* The root cgroup: everything. */
	l = load_ok(f, "cgroup /\n");
	expect(l, NULL, "/x", NULL, "/", "cgroup /");
	expect(l, NULL, "/x", NULL, "/system.slice/x.service", "cgroup /");
	expect(l, NULL, "/x", NULL, NULL, NULL);
	suppress__free(l);
}

static void test_path_exact(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = load_ok(f, "path /usr/bin/x\n");

	expect(l, NULL, "/usr/bin/x", NULL, NULL, "path /usr/bin/x");
	expect(l, NULL, "/usr/bin/xy", NULL, NULL, NULL);
	expect(l, NULL, "/usr/bin/x/y", NULL, NULL, NULL);
	expect(l, NULL, "/usr/bin", NULL, NULL, NULL);
	expect(l, NULL, "/usr/bin/", NULL, NULL, NULL);
	expect(l, NULL, "/USR/BIN/X", NULL, NULL, NULL);
	expect(l, NULL, "/tmp/usr/bin/x", NULL, NULL, NULL);
	expect(l, NULL, NULL, NULL, NULL, NULL);
	/* A path rule is not a cgroup rule. */
	expect(l, NULL, "/bin/sh", NULL, "/usr/bin/x", NULL);
	suppress__free(l);
}

static void test_image(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = load_ok(f, "image registry.test/render:1.2\n");

	expect(l, NULL, "/usr/bin/x", "registry.test/render:1.2", NULL,
	       "image registry.test/render:1.2");
	/* Only when the subject's image is known, and then exactly. */
	expect(l, NULL, "/usr/bin/x", NULL, NULL, NULL);
	expect(l, NULL, "registry.test/render:1.2", NULL, "registry.test/render:1.2", NULL);
	expect(l, NULL, "/usr/bin/x", "registry.test/render:1.3", NULL, NULL);
	expect(l, NULL, "/usr/bin/x", "registry.test/render", NULL, NULL);
	expect(l, NULL, "/usr/bin/x", "", NULL, NULL);
	suppress__free(l);
}

static void expect_error(struct tu_file_fixture *f, const char *text, unsigned line,
			 const char *what)
{
	struct suppress_list *l;
	char where[PATH_MAX + 16];
	int e = load(f, text, &l);

	if (e == 0) {
		size_t n = suppress__count(l);

		suppress__free(l);
		fail_msg("loaded %zu rules from an invalid list:\n%s", n, text);
	}
	assert_int_equal(e, -EINVAL);
	assert_null(l);
	tu_path(where, "%s:%u: ", f->path, line);
	if (strncmp(f->err, where, strlen(where)))
		fail_msg("error \"%s\" does not start with \"%s\"", f->err, where);
	if (!strstr(f->err, what))
		fail_msg("error \"%s\" does not say \"%s\"", f->err, what);
	assert_null(strchr(f->err, '\n'));
}

static void test_errors(void **state)
{
	struct tu_file_fixture *f = *state;

	expect_error(f, "# c\npath /usr/bin/x\nhash " SHA_A "\n", 3, "unknown rule \"hash\"");
	expect_error(f, "Path /usr/bin/x\n", 1, "unknown rule");
	expect_error(f, "sha256 " SHA_A "0\n", 1, "64 hex digits");
	expect_error(f, "\n\nsha256 9f86d081\n", 3, "64 hex digits");
	expect_error(f, "sha256 9g86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
		     1, "64 hex digits");
	expect_error(f, "path usr/bin/x\n", 1, "absolute");
	expect_error(f, "path ./x\n", 1, "absolute");
	expect_error(f, "cgroup system.slice\n", 1, "absolute");
	expect_error(f, "path\t  \n", 1, "path needs a value");
	expect_error(f, "image   # nothing\n", 1, "image needs a value");
	expect_error(f, "cgroup", 1, "cgroup needs a value");
	{
		char text[400];

		memset(text, 'a', sizeof(text));
		memcpy(text, "path /", 6);
		snprintf(text + 300, sizeof(text) - 300, "\n");
		expect_error(f, text, 1, "255");
	}
}

/* A keyword alone on its line (with its newline) is a rule without a value. */
static void test_missing_value(void **state)
{
	struct tu_file_fixture *f = *state;

	expect_error(f, "path\n", 1, "path needs a value");
	expect_error(f, "path /x\nsha256\r\n", 2, "sha256 needs a value");
	expect_error(f, "image\n", 1, "image needs a value");
}

static void test_null_and_empty(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = NULL;

	assert_int_equal(suppress__load(NULL, &l, f->err, sizeof(f->err)), 0);
	assert_non_null(l);
	assert_int_equal(suppress__count(l), 0);
	expect(l, SHA_A, "/usr/bin/x", "img", "/", NULL);
	suppress__free(l);
	l = NULL;
	assert_int_equal(suppress__load("", &l, f->err, sizeof(f->err)), 0);
	assert_non_null(l);
	assert_int_equal(suppress__count(l), 0);
	suppress__free(l);
	l = load_ok(f, "# only comments\n\n  \t\n\r\n   # indented\n");
	assert_int_equal(suppress__count(l), 0);
	suppress__free(l);
	assert_int_equal(suppress__count(NULL), 0);
	assert_null(match(NULL, SHA_A, "/usr/bin/x", NULL, "/"));
	suppress__free(NULL);
}

static void test_missing_file(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = NULL;
	char path[PATH_MAX];

	tu_path(path, "%s/none.conf", f->dir);
	assert_int_equal(suppress__load(path, &l, f->err, sizeof(f->err)), -ENOENT);
	assert_null(l);
	assert_non_null(strstr(f->err, path));
}

/*
 * Many rules, so the table grows several times while loading: every rule
 * still matches afterwards. glibc fills freed memory with a perturb byte
 * meanwhile, so that a rule still pointing into a table that was moved
 * reads garbage even without valgrind.
 */
static void test_many_rules(void **state)
{
	struct tu_file_fixture *f = *state;
	size_t cap = 1000 * 64, off = 0;
	char *text = malloc(cap), want[64], exe[64];
	struct suppress_list *l;

	assert_non_null(text);
	for (unsigned i = 0; i < 1000; i++)
		off += (size_t)snprintf(text + off, cap - off, "path /opt/app%u/bin/agent\n", i);
	mallopt(M_PERTURB, 'Z');
	l = load_ok(f, text);
	mallopt(M_PERTURB, 0);
	assert_int_equal(suppress__count(l), 1000);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(exe, sizeof(exe), "/opt/app%u/bin/agent", i);
		snprintf(want, sizeof(want), "path %s", exe);
		expect(l, NULL, exe, NULL, NULL, want);
	}
	expect(l, NULL, "/opt/app1000/bin/agent", NULL, NULL, NULL);
	suppress__free(l);
	free(text);
}

/* A comment longer than the line buffer is one comment, not a rule after it. */
static void test_long_comment(void **state)
{
	struct tu_file_fixture *f = *state;
	char text[3000];
	struct suppress_list *l;

	memset(text, 'x', sizeof(text));
	memcpy(text, "# ", 2);
	snprintf(text + 2500, sizeof(text) - 2500, "\npath /usr/bin/x\n");
	l = load_ok(f, text);
	assert_int_equal(suppress__count(l), 1);
	expect(l, NULL, "/usr/bin/x", NULL, NULL, "path /usr/bin/x");
	suppress__free(l);
}

/*
 * A path with a space: the rule holds the whole path or is refused, never
 * a shorter path than was written.
 */
static void test_path_with_space(void **state)
{
	struct tu_file_fixture *f = *state;
	struct suppress_list *l;

	if (load(f, "path /opt/Vendor Agent/bin/agent\n", &l))
		return;
	expect(l, NULL, "/opt/Vendor Agent/bin/agent", NULL, NULL,
	       "path /opt/Vendor Agent/bin/agent");
	expect(l, NULL, "/opt/Vendor", NULL, NULL, NULL);
	suppress__free(l);
}

/* The file shipped in deploy/ loads: comments only. */
static void test_shipped_file(void **state)
{
	static const char *const roots[] = { "deploy", "../deploy", "../../deploy" };
	struct tu_file_fixture *f = *state;
	struct suppress_list *l = NULL;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (access(tu_path(path, "%s/suppress.conf", roots[i]), R_OK) == 0)
			break;
	if (i == sizeof(roots) / sizeof(roots[0])) {
		print_message("deploy/suppress.conf not found (run from the repository root)\n");
		skip();
	}
	if (suppress__load(path, &l, f->err, sizeof(f->err)))
		fail_msg("%s", f->err);
	assert_int_equal(suppress__count(l), 0);
	suppress__free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_each_kind, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_sha256_case, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_prefix, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_path_exact, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_image, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_missing_value, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_null_and_empty, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_many_rules, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_long_comment, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_path_with_space, setup, tu_file_teardown),
		cmocka_unit_test_setup_teardown(test_shipped_file, setup, tu_file_teardown),
	};

	return cmocka_run_group_tests_name("suppress", tests, NULL, NULL);
}
