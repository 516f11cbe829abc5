// SPDX-License-Identifier: Apache-2.0
/*
 * Which capabilities loading and attaching lacks, from an effective set: the
 * message that replaces the kernel's bare EPERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "caps.h"

#define BIT(c) (1ULL << (c))
enum { NET_ADMIN = 12, SYS_PTRACE = 19, SYS_ADMIN = 21, PERFMON = 38, BPF = 39, LAST = 40 };

static int missing(uint64_t eff, int last, char *out, size_t sz)
{
	memset(out, 'x', sz);
	return caps__missing_for_attach(eff, last, out, sz);
}

static void test_root_and_the_unit_set_need_nothing(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(missing(~0ULL, LAST, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* The systemd unit's set, without CAP_SYS_ADMIN. */
	assert_int_equal(missing(BIT(BPF) | BIT(PERFMON) | BIT(NET_ADMIN), LAST, out, sizeof(out)), 0);
	/* ECS: CAP_SYS_ADMIN alone stands in for the three. */
	assert_int_equal(missing(BIT(SYS_ADMIN), LAST, out, sizeof(out)), 0);
}

static void test_each_missing_one_is_named(void **state)
{
	const uint64_t all = BIT(BPF) | BIT(PERFMON) | BIT(NET_ADMIN) | BIT(SYS_PTRACE);
	char out[256];

	(void)state;
	assert_int_equal(missing(all & ~BIT(BPF), LAST, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "CAP_BPF"));
	assert_null(strstr(out, "CAP_PERFMON"));
	assert_int_equal(missing(all & ~BIT(PERFMON), LAST, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "CAP_PERFMON"));
	assert_null(strstr(out, "CAP_BPF"));
	assert_int_equal(missing(all & ~BIT(NET_ADMIN), LAST, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "CAP_NET_ADMIN"));
	assert_int_equal(missing(BIT(SYS_PTRACE), LAST, out, sizeof(out)), 3);
	assert_non_null(strstr(out, "CAP_BPF"));
	assert_non_null(strstr(out, "CAP_PERFMON"));
	assert_non_null(strstr(out, "CAP_NET_ADMIN"));
}

static void test_old_kernels_need_sys_admin(void **state)
{
	char out[256];

	(void)state;
	/* Before 5.8 the kernel has no CAP_BPF: cap_last_cap is 37. */
	assert_int_equal(missing(BIT(BPF) | BIT(PERFMON) | BIT(NET_ADMIN), 37, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "CAP_SYS_ADMIN"));
	assert_int_equal(missing(BIT(SYS_ADMIN), 37, out, sizeof(out)), 0);
}

static void test_small_buffers_stay_terminated(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(missing(0, LAST, out, sizeof(out)), 3);
	assert_true(memchr(out, '\0', sizeof(out)) != NULL);
	assert_int_equal(caps__missing_for_attach(0, LAST, NULL, 0), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_and_the_unit_set_need_nothing),
		cmocka_unit_test(test_each_missing_one_is_named),
		cmocka_unit_test(test_old_kernels_need_sys_admin),
		cmocka_unit_test(test_small_buffers_stay_terminated),
	};

	return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
