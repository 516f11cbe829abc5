// SPDX-License-Identifier: Apache-2.0
/*
 * What fuzzing found (tests/fuzz), kept from coming back.
 *
 * Each input that crashed a harness is committed to that harness's seed
 * corpus as tests/fuzz/corpus/HARNESS/regress-*, so `make fuzz` and
 * `make fuzz-replay` run it under ASan and UBSan; here the record inputs
 * are replayed through the daemon's record handler as fuzz_records does,
 * and the findings they produce are checked for the values the bugs
 * corrupted. Found by fuzz_records, all from kernel records with values no
 * kernel writes (a corrupt or hostile ring buffer):
 *
 *   regress-start-time-overflow   an exec record's start_ns near INT64_MAX:
 *       detector__boot_to_unix_ms() overflowed int64_t (UB; a negative
 *       created_time in the finding)
 *   regress-cgroup-cores-overflow CPU samples near 2^64: the per-cgroup sum
 *       converted cores x 1000 past what uintptr_t holds (UB)
 *   regress-cores-ratio-overflow  the same samples in a finding:
 *       jout_ratio() converted the rounded ratio past int64_t (UB; a
 *       negative "cores" in the finding)
 *   regress-empty-payload-segment a payload record with no bytes before any
 *       capture buffer existed: memcpy of nothing to a NULL buffer (UB)
 *
 * Under `make sanitize` the replays also show any undefined behaviour.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "../fuzz/fuzz_mwd.h"
#include "jsonout.h"
#include "testutil.h"

#define MIN_RECORD_REGRESSIONS 3

static void test_boot_to_unix_ms_saturates(void **state)
{
	uint64_t now = detector__boot_to_unix_ms(mwd__boot_ns());
	uint64_t cap = (uint64_t)INT64_MAX / 1000000;
	static const uint64_t huge[] = {
		0x7468f2000000007cULL, 0x7fffffff00000000ULL, (uint64_t)INT64_MAX, UINT64_MAX,
	};

	(void)state;
	/* A real boot time still gives the wall-clock time. */
	MW_FAIL_IF(now < 1600000000000ULL || now > cap, "boot_to_unix_ms(now) is not now");
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		uint64_t ms = detector__boot_to_unix_ms(huge[i]);

		MW_FAIL_IF(ms < now || ms > cap,
			   "a boot time past int64_t overflows instead of saturating");
	}
}

static double ratio(double v)
{
	json_object *o = json_object_new_object(), *r;
	double d;

	jout_ratio(o, "r", v);
	assert_true(json_object_object_get_ex(o, "r", &r));
	d = json_object_get_double(r);
	json_object_put(o);
	return d;
}

static void test_ratio_bounded(void **state)
{
	(void)state;
	/* Ordinary values are rounded to two decimals, as before. */
	assert_true(fabs(ratio(1.234) - 1.23) < 1e-9);
	assert_true(fabs(ratio(2.345) - 2.35) < 1e-9);
	assert_true(fabs(ratio(0) - 0) < 1e-9);
	assert_true(fabs(ratio(0.004) - 0) < 1e-9);
	/* Past int64_t: kept as it is, never a wrapped negative number. */
	MW_FAIL_IF(ratio(9.31654e16) < 9.3e16, "a huge ratio wraps");
	MW_FAIL_IF(ratio(1e300) < 1e299, "a huge ratio wraps");
	MW_FAIL_IF(ratio(INFINITY) != 0 || ratio(NAN) != 0, "a non-finite ratio is written");
}

/* Every number in a finding is finite, and times and ratios are not negative. */
static void check_numbers(json_object *o, const char *key, const char *file)
{
	char what[PATH_MAX + 128];

	switch (json_object_get_type(o)) {
	case json_type_object: {
		json_object_object_foreach(o, k, v)
			check_numbers(v, k, file);
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			check_numbers(json_object_array_get_idx(o, i), key, file);
		break;
	case json_type_double:
		snprintf(what, sizeof(what), "%s: \"%s\" is %g", file, key,
			 json_object_get_double(o));
		MW_FAIL_IF(!isfinite(json_object_get_double(o)) || json_object_get_double(o) < 0,
			   what);
		break;
	case json_type_int:
		snprintf(what, sizeof(what), "%s: \"%s\" is %lld", file, key,
			 (long long)json_object_get_int64(o));
		MW_FAIL_IF(strstr(key, "time") && json_object_get_int64(o) < 0, what);
		break;
	default:
		break;
	}
}

static int regress_filter(const struct dirent *de)
{
	return !strncmp(de->d_name, "regress-", 8);
}

static int fuzz_corpus_dir(const char *harness, char *out)
{
	static const char *const roots[] = { "tests/fuzz/corpus", "../tests/fuzz/corpus",
					     "../../tests/fuzz/corpus" };

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		tu_path(out, "%s/%s", roots[i], harness);
		if (tu_is_dir(out))
			return 0;
	}
	return -ENOENT;
}

static void replay_one(const char *path, const char *findings)
{
	unsigned char *data = NULL, *text = NULL;
	size_t len = 0, tlen = 0, lines = 0;
	uint64_t records;
	struct mwd *m;
	char *line, *save;

	assert_int_equal(tu_read_file(path, &data, &len), 0);
	unlink(findings);
	m = fz_mwd_new(findings);
	records = fz_replay_records(m, data, len);
	MW_FAIL_IF(fz_records_counted(m) != records, "a record was neither handled nor counted");
	fz_mwd_free(m);
	free(data);

	assert_int_equal(tu_read_file(findings, &text, &tlen), 0);
	text = realloc(text, tlen + 1);
	assert_non_null(text);
	text[tlen] = '\0';
	for (line = strtok_r((char *)text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *f = json_tokener_parse(line);

		MW_FAIL_IF(!f || !json_object_is_type(f, json_type_object),
			   "a finding from corrupt records is not one JSON object");
		check_numbers(f, "", path);
		json_object_put(f);
		lines++;
	}
	MW_FAIL_IF(!lines, "the regression input no longer produces a finding to check");
	free(text);
}

static void test_record_regressions(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX], findings[PATH_MAX];
	struct dirent **names;
	int n;

	(void)state;
	if (fuzz_corpus_dir("fuzz_records", dir))
		fail_msg("tests/fuzz/corpus/fuzz_records not found (run from the repository root)");
	n = scandir(dir, &names, regress_filter, alphasort);
	assert_true(n >= MIN_RECORD_REGRESSIONS);
	assert_int_equal(tu_mkdtemp(tmp), 0);
	tu_path(findings, "%s/findings.jsonl", tmp);
	for (int i = 0; i < n; i++) {
		tu_path(path, "%s/%s", dir, names[i]->d_name);
		replay_one(path, findings);
		free(names[i]);
	}
	free(names);
	tu_rmtree(tmp);
}

static int setup(void **state)
{
	(void)state;
	log__set_level(LOG_LVL_ERROR);
	fz_load_lists();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fz_free_lists();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_to_unix_ms_saturates),
		cmocka_unit_test(test_ratio_bounded),
		cmocka_unit_test(test_record_regressions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
