// SPDX-License-Identifier: Apache-2.0
/*
 * The self-check's verdicts (user/daemon/selfcheck.c): which hooks a round's
 * observations show not firing, that no evidence changes nothing, the rate
 * of health records, the reasons status shows, the CPU sampler's evidence,
 * /proc/stat parsing, and the verdict on a link from what the kernel says
 * of it (loader__judge_link).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/bpf.h>

#include "selfcheck.h"
#include "health.h"
#include "testutil.h"

#define S 1000000000ULL

static const char *const names[MW_PROG_N] = {
	"exec", "exit", "cpu_sample", "connect4", "connect6", "sendmsg4", "sendmsg6",
	"skb_egress", "skb_ingress", "sock_close",
};

/* A round in which every hook's canary happened and was counted. */
static void all_fired(struct sc_obs obs[MW_PROG_N])
{
	memset(obs, 0, sizeof(struct sc_obs) * MW_PROG_N);
	for (int p = 0; p < MW_PROG_N; p++)
		obs[p].exercised = obs[p].fired = true;
}

static void test_all_fired_is_ok(void **state)
{
	struct selfcheck sc = { 0 };
	struct sc_obs obs[MW_PROG_N];
	char buf[512];

	(void)state;
	for (int p = 0; p < MW_PROG_N; p++)
		assert_int_equal(sc.hook[p].state, SC_UNVERIFIED);
	all_fired(obs);
	assert_int_equal(selfcheck__judge(&sc, obs, 10 * S), 0);
	for (int p = 0; p < MW_PROG_N; p++)
		assert_int_equal(sc.hook[p].state, SC_OK);
	assert_false(selfcheck__any_blind(&sc));
	assert_int_equal(selfcheck__due(&sc, 10 * S), 0);
	assert_int_equal(selfcheck__reasons(&sc, names, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(sc.rounds, 1);
	assert_int_equal(sc.failed_checks, 0);
	assert_int_equal(sc.blinded, 0);
}

static void test_silent_canary_is_blind_and_named(void **state)
{
	struct selfcheck sc = { 0 };
	struct sc_obs obs[MW_PROG_N];
	char buf[1024];

	(void)state;
	all_fired(obs);
	selfcheck__judge(&sc, obs, 5 * S);
	obs[MW_PROG_EXEC].fired = false;
	snprintf(obs[MW_PROG_EXEC].canary_why, sizeof(obs[0].canary_why),
		 "the self-check's exec was not seen");
	assert_int_equal(selfcheck__judge(&sc, obs, 10 * S), 1);
	assert_int_equal(sc.hook[MW_PROG_EXEC].state, SC_BLIND);
	assert_int_equal(sc.hook[MW_PROG_EXIT].state, SC_OK);
	assert_true(selfcheck__any_blind(&sc));
	assert_int_equal(sc.hook[MW_PROG_EXEC].since_ns, 10 * S);
	selfcheck__reasons(&sc, names, buf, sizeof(buf));
	assert_string_equal(buf, "exec hook not firing: the self-check's exec was not seen: BPF "
				 "link detached or program unloaded from outside");
	assert_int_equal(sc.failed_checks, 1);
	assert_int_equal(sc.blinded, 1);

	/* Still silent next round: one episode, two failed checks. */
	assert_int_equal(selfcheck__judge(&sc, obs, 15 * S), 0);
	assert_int_equal(sc.blinded, 1);
	assert_int_equal(sc.failed_checks, 2);
	assert_int_equal(sc.hook[MW_PROG_EXEC].since_ns, 10 * S);
	assert_int_equal(sc.hook[MW_PROG_EXEC].silent_rounds, 2);
}

/* A canary that did not happen (child not reaped, connect refused early) proves nothing. */
static void test_no_evidence_changes_nothing(void **state)
{
	struct selfcheck sc = { 0 };
	struct sc_obs obs[MW_PROG_N];

	(void)state;
	memset(obs, 0, sizeof(obs));
	selfcheck__judge(&sc, obs, 5 * S);
	for (int p = 0; p < MW_PROG_N; p++)
		assert_int_equal(sc.hook[p].state, SC_UNVERIFIED);

	all_fired(obs);
	selfcheck__judge(&sc, obs, 10 * S);
	obs[MW_PROG_CONNECT6].exercised = false; /* no IPv6 this round */
	obs[MW_PROG_CONNECT6].fired = false;
	selfcheck__judge(&sc, obs, 15 * S);
	assert_int_equal(sc.hook[MW_PROG_CONNECT6].state, SC_OK);

	/* A blind hook stays blind, with its reason, until a canary is seen again. */
	obs[MW_PROG_CONNECT4].exercised = true;
	obs[MW_PROG_CONNECT4].fired = false;
	selfcheck__judge(&sc, obs, 20 * S);
	assert_int_equal(sc.hook[MW_PROG_CONNECT4].state, SC_BLIND);
	obs[MW_PROG_CONNECT4].exercised = false;
	selfcheck__judge(&sc, obs, 25 * S);
	assert_int_equal(sc.hook[MW_PROG_CONNECT4].state, SC_BLIND);
	assert_non_null(strstr(sc.hook[MW_PROG_CONNECT4].why, "outside"));
	assert_int_equal(sc.failed_checks, 1);
	obs[MW_PROG_CONNECT4].exercised = obs[MW_PROG_CONNECT4].fired = true;
	selfcheck__judge(&sc, obs, 30 * S);
	assert_int_equal(sc.hook[MW_PROG_CONNECT4].state, SC_OK);
	assert_string_equal(sc.hook[MW_PROG_CONNECT4].why, "");
	assert_false(selfcheck__any_blind(&sc));
}

static void test_bad_link_is_blind_even_without_canary(void **state)
{
	struct selfcheck sc = { 0 };
	struct sc_obs obs[MW_PROG_N];
	char buf[1024];

	(void)state;
	all_fired(obs);
	obs[MW_PROG_CONNECT4].link = LINK_DETACHED;
	snprintf(obs[MW_PROG_CONNECT4].link_why, sizeof(obs[0].link_why),
		 "BPF link detached (link 7 now reports cgroup id 0)");
	/* The canary ran before the detach: the link alone decides. */
	assert_int_equal(selfcheck__judge(&sc, obs, 5 * S), 1);
	assert_int_equal(sc.hook[MW_PROG_CONNECT4].state, SC_BLIND);
	assert_string_equal(sc.hook[MW_PROG_CONNECT4].why,
			    "BPF link detached (link 7 now reports cgroup id 0)");
	/* Both: the canary's absence is added. */
	obs[MW_PROG_CONNECT4].fired = false;
	snprintf(obs[MW_PROG_CONNECT4].canary_why, sizeof(obs[0].canary_why), "connect not seen");
	selfcheck__judge(&sc, obs, 10 * S);
	assert_string_equal(sc.hook[MW_PROG_CONNECT4].why,
			    "BPF link detached (link 7 now reports cgroup id 0); connect not seen");
	/* Two hooks: both named, in program order. */
	obs[MW_PROG_EXEC].link = LINK_CLOSED;
	selfcheck__judge(&sc, obs, 15 * S);
	selfcheck__reasons(&sc, names, buf, sizeof(buf));
	assert_non_null(strstr(buf, "exec hook not firing: BPF link closed from outside"));
	assert_true(strstr(buf, "exec hook") < strstr(buf, "connect4 hook"));
	/* A link that never attached is status's business, not the self-check's. */
	memset(&sc, 0, sizeof(sc));
	all_fired(obs);
	obs[MW_PROG_CONNECT6].link = LINK_NONE;
	obs[MW_PROG_CONNECT6].fired = false;
	assert_int_equal(selfcheck__judge(&sc, obs, 5 * S), 0);
	assert_int_equal(sc.hook[MW_PROG_CONNECT6].state, SC_UNVERIFIED);
}

/* One record per hook per episode, at most once a minute per hook. */
static void test_reports_are_rate_limited_per_hook(void **state)
{
	struct selfcheck sc = { 0 };
	struct sc_obs obs[MW_PROG_N];
	uint32_t due;

	(void)state;
	all_fired(obs);
	selfcheck__judge(&sc, obs, 5 * S);
	obs[MW_PROG_EXEC].fired = false;
	selfcheck__judge(&sc, obs, 10 * S);
	due = selfcheck__due(&sc, 10 * S);
	assert_int_equal(due, 1U << MW_PROG_EXEC);
	/* Still blind: no second record. */
	selfcheck__judge(&sc, obs, 15 * S);
	assert_int_equal(selfcheck__due(&sc, 15 * S), 0);
	assert_int_equal(selfcheck__due(&sc, 200 * S), 0);

	/* Another hook goes blind: its own record at once. */
	obs[MW_PROG_EGRESS].fired = false;
	selfcheck__judge(&sc, obs, 20 * S);
	assert_int_equal(selfcheck__due(&sc, 20 * S), 1U << MW_PROG_EGRESS);

	/* exec recovers and goes blind again within the minute: held back... */
	obs[MW_PROG_EXEC].fired = true;
	selfcheck__judge(&sc, obs, 25 * S);
	obs[MW_PROG_EXEC].fired = false;
	assert_int_equal(selfcheck__judge(&sc, obs, 30 * S), 1);
	assert_int_equal(sc.blinded, 3);
	assert_int_equal(selfcheck__due(&sc, 30 * S), 0);
	assert_int_equal(selfcheck__due(&sc, 69 * S), 0);
	/* ...until a minute after its last record; then once. */
	assert_int_equal(selfcheck__due(&sc, 70 * S), 1U << MW_PROG_EXEC);
	assert_int_equal(selfcheck__due(&sc, 71 * S), 0);
}

static void test_reasons_are_bounded(void **state)
{
	struct selfcheck sc = { 0 };
	struct sc_obs obs[MW_PROG_N];
	char small[40];

	/* Every canary note is a full buffer of 'x': the reasons must stop at small's end. */
	(void)state;
	memset(obs, 0, sizeof(obs));
	for (int p = 0; p < MW_PROG_N; p++) {
		obs[p].exercised = true;
		memset(obs[p].canary_why, 'x', sizeof(obs[p].canary_why) - 1);
	}
	selfcheck__judge(&sc, obs, 5 * S);
	assert_int_equal(selfcheck__reasons(&sc, names, small, sizeof(small)), sizeof(small) - 1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(strncmp(small, "exec hook not firing: xxx", 25), 0);
}

static void cpus(struct sc_cpu *c, int n, uint64_t runs, uint64_t busy, uint64_t count)
{
	for (int i = 0; i < n; i++)
		c[i] = (struct sc_cpu){ .runs = runs, .busy_ticks = busy, .perf_count = count,
					.perf_ok = true, .busy_ok = true };
}

static void test_cpu_sampler_evidence(void **state)
{
	struct sc_cpu a[4], b[4];
	bool sampled[4] = { true, true, true, true }, online[4] = { true, true, true, true };
	struct sc_cpu_result r;

	(void)state;
	/* Busy 5 s at 99 Hz, 490 runs, counting: fine. */
	cpus(a, 4, 1000, 100, 1000);
	cpus(b, 4, 1490, 600, 5000001000ULL);
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.judged, 4);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.first, -1);

	/* Idle (NOHZ: few runs) but counting: fine, and judged on the count alone. */
	cpus(b, 4, 1003, 110, 5000001000ULL);
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.judged, 4);
	assert_int_equal(r.bad, 0);

	/* CPU 2's perf event stopped counting: disabled. */
	b[2].perf_count = a[2].perf_count;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.first, 2);
	assert_true(r.disabled);
	/* ...unless it is offline, or the sampler never ran there. */
	online[2] = false;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.judged, 3);
	online[2] = true;
	sampled[2] = false;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 0);
	sampled[2] = true;

	/* CPU 1 busy for 3 s, counting, 5 runs: the program no longer runs. */
	cpus(b, 4, 1490, 600, 5000001000ULL);
	b[1].runs = 1005;
	b[1].busy_ticks = 400;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.first, 1);
	assert_false(r.disabled);
	assert_int_equal(r.runs, 5);
	assert_int_equal(r.busy_ms, 3000);
	/* 10% of 99 Hz x 3 s is 29: 30 runs pass, 28 do not. */
	b[1].runs = 1030;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 0);
	b[1].runs = 1028;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 1);
	/* Busy under a second: runs prove nothing. */
	b[1].busy_ticks = 199;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.bad, 0);

	/* Nothing readable: no evidence at all. */
	for (int i = 0; i < 4; i++)
		b[i].perf_ok = b[i].busy_ok = false;
	selfcheck__cpu(a, b, sampled, online, 4, 99, 100, &r);
	assert_int_equal(r.judged, 0);
	assert_int_equal(r.bad, 0);
}

static void test_parse_stat(void **state)
{
	const char *text =
		"cpu  110326 0 16091 141862 914 0 246 340 0 0\n"
		"cpu0 55024 1 7261 72248 140 2 50 165 0 0\n"
		"cpu1 55302 0 8829 69614 773 0 195 174 0 0\n"
		"cpu7 1 1 1 1 1 1 1 1 1 1\n"
		"cpu2 garbage\n"
		"intr 1078628 0 0\n"
		"ctxt 1459587\n";
	struct sc_cpu c[4];

	(void)state;
	memset(c, 0, sizeof(c));
	assert_int_equal(selfcheck__parse_stat(text, c, 4), 2);
	assert_true(c[0].busy_ok);
	assert_int_equal(c[0].busy_ticks, 55024 + 1 + 7261 + 2 + 50);
	assert_int_equal(c[1].busy_ticks, 55302 + 8829 + 195);
	assert_false(c[2].busy_ok);
	assert_false(c[3].busy_ok);
	assert_int_equal(selfcheck__parse_stat("", c, 4), 0);
	assert_int_equal(selfcheck__parse_stat("cpu0 1 2 3", c, 4), 0);
}

static void test_link_verdicts(void **state)
{
	struct link_expect cg = { .id = 12, .prog_id = 40, .type = BPF_LINK_TYPE_CGROUP,
				  .cgroup_id = 1 };
	struct link_expect tp = { .id = 13, .prog_id = 41, .type = BPF_LINK_TYPE_RAW_TRACEPOINT };
	struct link_seen s;

	(void)state;
	s = (struct link_seen){ .id = 12, .prog_id = 40, .type = BPF_LINK_TYPE_CGROUP,
				.cgroup_id = 1 };
	assert_int_equal(loader__judge_link(&cg, &s), LINK_OK);
	/* bpftool link detach: the same link, its cgroup gone. */
	s.cgroup_id = 0;
	assert_int_equal(loader__judge_link(&cg, &s), LINK_DETACHED);
	/* BPF_LINK_UPDATE with another program. */
	s.cgroup_id = 1;
	s.prog_id = 99;
	assert_int_equal(loader__judge_link(&cg, &s), LINK_REPLACED);
	/* The descriptor was closed, or its number now names something else. */
	s = (struct link_seen){ .err = -9 };
	assert_int_equal(loader__judge_link(&tp, &s), LINK_CLOSED);
	s = (struct link_seen){ .id = 14, .prog_id = 41, .type = BPF_LINK_TYPE_RAW_TRACEPOINT };
	assert_int_equal(loader__judge_link(&tp, &s), LINK_CLOSED);
	s.id = 13;
	assert_int_equal(loader__judge_link(&tp, &s), LINK_OK);
	/* A link whose identity was never learnt is not judged. */
	memset(&tp, 0, sizeof(tp));
	s = (struct link_seen){ .err = -9 };
	assert_int_equal(loader__judge_link(&tp, &s), LINK_OK);
}

static void test_health_record(void **state)
{
	struct health_hook hooks[2] = {
		{ .name = "exec", .hook = "tp_btf/sched_process_exec",
		  .why = "BPF link closed from outside (link 3)", .since_ms = 1700000000000ULL,
		  .still_blind = 1 },
		{ .name = "connect4", .hook = "cgroup/connect4", .why = "fired again",
		  .since_ms = 1700000000000ULL, .still_blind = 0 },
	};
	struct health_blind b = { .time_ms = 1700000001000ULL, .hooks = hooks, .nhooks = 2,
				  .check_interval_s = 5, .interval_s = 60, .blinded_total = 2,
				  .hostname = "h\"x" };
	char *line = health__hooks_blinded(&b);

	(void)state;
	assert_non_null(line);
	assert_non_null(strstr(line, "\"class_uid\":6008"));
	assert_non_null(strstr(line, "\"severity_id\":4"));
	assert_non_null(strstr(line, "the exec, connect4 hooks are not firing"));
	assert_non_null(strstr(line, "\"kind\":\"hooks_not_firing\""));
	assert_non_null(strstr(line, "\"still_not_firing\":false"));
	assert_non_null(strstr(line, "h\\\"x"));
	assert_null(strchr(line, '\n'));
	free(line);
	b.nhooks = 1;
	hooks[0].still_blind = 0;
	line = health__hooks_blinded(&b);
	assert_non_null(strstr(line, "the exec hook was not firing"));
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_fired_is_ok),
		cmocka_unit_test(test_silent_canary_is_blind_and_named),
		cmocka_unit_test(test_no_evidence_changes_nothing),
		cmocka_unit_test(test_bad_link_is_blind_even_without_canary),
		cmocka_unit_test(test_reports_are_rate_limited_per_hook),
		cmocka_unit_test(test_reasons_are_bounded),
		cmocka_unit_test(test_cpu_sampler_evidence),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_link_verdicts),
		cmocka_unit_test(test_health_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
