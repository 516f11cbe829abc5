// SPDX-License-Identifier: Apache-2.0
/*
 * correlator__judge() with the default weights and thresholds: which
 * combinations of signals raise a finding, at what severity and confidence,
 * and what the explanation says. correlator__pool_like() at its boundaries.
 *
 * The expected scores are sums of the defaults in correlator__defaults();
 * test_defaults pins the ones these cases rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "correlator.h"
#include "testutil.h"

enum { NONE = 0, MEDIUM = 3, HIGH = 4, CRITICAL = 5 };

static struct detect_cfg cfg;

static int setup(void **state)
{
	(void)state;
	correlator__defaults(&cfg);
	return 0;
}

/* A process with no signal at all. */
static void quiet(struct signals *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "xmrig");
	s->pid = 4242;
}

/* Over the full window, nearly four cores busy. */
static void cpu_saturated(struct signals *s)
{
	s->cpu_seconds = cfg.cpu_window_s;
	s->cpu_cores = 3.9;
	s->busy_threads = 4;
}

/* A throttled miner: a quarter of a core, steadily, for long enough. */
static void cpu_steady(struct signals *s, double cv)
{
	s->cpu_seconds = cfg.cpu_window_s;
	s->cpu_cores = 0.25;
	s->steady_seconds = 30;
	s->steady_cores = 0.25;
	s->steady_cv = cv;
}

/* Ten minutes of a small, slow, pushed-to JSON connection. */
static void pool_conn(struct signals *s)
{
	s->has_conn = true;
	snprintf(s->conn_peer, sizeof(s->conn_peer), "203.0.113.7:14444");
	s->conn_port = 14444;
	s->stream = STREAM_JSON;
	s->conn_age_s = 600;
	s->conn_bytes_out = 6000;
	s->conn_bytes_in = 30000;
	s->conn_msgs_out = 40;
	s->conn_msgs_in = 60;
	s->conn_pushes = 20;
	s->push_interval_s = 30;
	s->nconns = 1;
}

static void pool_port(struct signals *s)
{
	s->has_conn = true;
	s->pool_port = true;
	s->conn_port = 3333;
	if (!s->conn_peer[0])
		snprintf(s->conn_peer, sizeof(s->conn_peer), "203.0.113.7:3333");
}

static void pool_name(struct signals *s)
{
	snprintf(s->pool_name, sizeof(s->pool_name), "gulf.moneroocean.stream");
	snprintf(s->pool_name_via, sizeof(s->pool_name_via), "sni");
}

static void protocol(struct signals *s)
{
	s->proto.kind = PROTO_STRATUM_V1;
	snprintf(s->proto.method, sizeof(s->proto.method), "mining.subscribe");
	s->proto_dir = 0;
	snprintf(s->proto_peer, sizeof(s->proto_peer), "203.0.113.7:3333");
}

static void exec_flags(struct signals *s, uint32_t flags, const char *detail)
{
	s->exec.flags |= flags;
	if (flags & EXECSIG_MINER_NAME)
		snprintf(s->exec.name, sizeof(s->exec.name), "xmrig");
	if (detail)
		snprintf(s->exec.detail, sizeof(s->exec.detail), "%s", detail);
}

/* Judges with cfg; checks what must hold of every verdict. */
static void judge_with(const struct detect_cfg *c, const struct signals *s, struct verdict *v)
{
	int sum = 0;

	memset(v, 0x5a, sizeof(*v));
	correlator__judge(c, s, v);
	assert_true(v->nparts >= 0 && v->nparts <= VERDICT_MAX_PARTS);
	for (int i = 0; i < v->nparts; i++) {
		assert_non_null(v->parts[i].signal);
		sum += v->parts[i].weight;
	}
	assert_int_equal(sum, v->score);
	assert_true(v->confidence >= 0 && v->confidence <= 100);
	assert_true(v->severity_id == NONE || v->severity_id == MEDIUM ||
		    v->severity_id == HIGH || v->severity_id == CRITICAL);
	assert_non_null(memchr(v->why, '\0', sizeof(v->why)));
	assert_non_null(memchr(v->title, '\0', sizeof(v->title)));
	{
		char pid[16];

		snprintf(pid, sizeof(pid), "(pid %u)", s->pid);
		assert_non_null(strstr(v->why, "xmrig"));
		assert_non_null(strstr(v->why, pid));
		assert_non_null(strstr(v->title, pid));
	}
}

static void judge(const struct signals *s, struct verdict *v)
{
	judge_with(&cfg, s, v);
}

static void expect(const struct signals *s, int severity, int score, int confidence)
{
	struct verdict v;

	judge(s, &v);
	if (v.severity_id != severity || v.score != score || v.confidence != confidence)
		fail_msg("got severity %d score %d confidence %d, want %d %d %d: %s",
			 v.severity_id, v.score, v.confidence, severity, score, confidence, v.why);
}

static bool has_part(const struct verdict *v, const char *key, int weight)
{
	for (int i = 0; i < v->nparts; i++)
		if (!strcmp(v->parts[i].signal, key))
			return v->parts[i].weight == weight;
	return false;
}

static void expect_why(const struct verdict *v, const char *text)
{
	if (!strstr(v->why, text))
		fail_msg("the explanation does not say \"%s\": %s", text, v->why);
}

static void expect_not_why(const struct verdict *v, const char *text)
{
	if (strstr(v->why, text))
		fail_msg("the explanation says \"%s\": %s", text, v->why);
}

/* The defaults the expected numbers below are computed from. */
static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(cfg.w_cpu_saturated, 30);
	assert_int_equal(cfg.w_cpu_steady, 25);
	assert_int_equal(cfg.w_pool_conn, 30);
	assert_int_equal(cfg.w_pool_port, 10);
	assert_int_equal(cfg.w_pool_name, 40);
	assert_int_equal(cfg.w_temp_path, 15);
	assert_int_equal(cfg.w_hidden_binary, 20);
	assert_int_equal(cfg.w_miner_name, 25);
	assert_int_equal(cfg.w_miner_args, 40);
	assert_int_equal(cfg.w_wallet, 25);
	assert_int_equal(cfg.medium_score, 55);
	assert_int_equal(cfg.high_score, 90);
	assert_int_equal(cfg.cpu_window_s, 10);
	assert_true(cfg.cpu_busy_cores > 0.5 && cfg.cpu_busy_cores < 1.0);
	assert_int_equal(cfg.cpu_steady_s, 30);
	assert_true(cfg.cpu_steady_cores <= 0.25);
	assert_true(cfg.cpu_steady_cv >= 0.1 && cfg.cpu_steady_cv < 0.8);
	assert_int_equal(cfg.long_conn_s, 30);
	assert_int_equal(cfg.low_rate_bpm, 64 * 1024);
	assert_int_equal(cfg.small_msg_bytes, 4096);
	assert_int_equal(cfg.min_pushes, 1);
}

static void test_nothing(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	judge(&s, &v);
	assert_int_equal(v.severity_id, NONE);
	assert_int_equal(v.score, 0);
	assert_int_equal(v.confidence, 0);
	assert_int_equal(v.nparts, 0);
	assert_int_equal(v.signal_mask, 0);
	assert_false(v.cpu_saturated || v.cpu_steady || v.pool_like_conn);
}

/* (a) A recognised mining protocol decides alone. */
static void test_protocol(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	protocol(&s);
	judge(&s, &v);
	assert_int_equal(v.severity_id, HIGH);
	assert_int_equal(v.confidence, 90);
	assert_true(has_part(&v, "mining_protocol", 0));
	expect_why(&v, "stratum-v1 mining protocol");
	expect_why(&v, "mining.subscribe");
	expect_why(&v, "203.0.113.7:3333");

	/* A pool port is weak: it does not make it Critical. */
	pool_port(&s);
	judge(&s, &v);
	assert_int_equal(v.severity_id, HIGH);
	assert_int_equal(v.confidence, 90);
	assert_int_equal(v.score, cfg.w_pool_port);

	/* With CPU, or a miner's name, it is Critical. */
	quiet(&s);
	protocol(&s);
	cpu_saturated(&s);
	judge(&s, &v);
	assert_int_equal(v.severity_id, CRITICAL);
	assert_int_equal(v.confidence, 97);
	quiet(&s);
	protocol(&s);
	exec_flags(&s, EXECSIG_MINER_NAME, NULL);
	judge(&s, &v);
	assert_int_equal(v.severity_id, CRITICAL);
	/* Spoken to rather than speaking. */
	quiet(&s);
	protocol(&s);
	s.proto_dir = 1;
	judge(&s, &v);
	assert_int_equal(v.severity_id, HIGH);
	expect_why(&v, "was spoken to in");
}

/* (b) Without a protocol: weighted signals, CPU and something beyond it. */
static void test_cpu_and_connection(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	pool_conn(&s);
	expect(&s, MEDIUM, 60, 60);
	judge(&s, &v);
	assert_true(v.cpu_saturated && v.pool_like_conn && !v.cpu_steady);
	/* A pool port adds its weight. */
	pool_port(&s);
	expect(&s, MEDIUM, 70, 70);
	/* A pool name makes it High; confidence stays at most 95 without a protocol. */
	pool_name(&s);
	expect(&s, HIGH, 110, 95);
	/* Each alone with CPU. */
	quiet(&s);
	cpu_saturated(&s);
	expect(&s, NONE, 30, 30);
	quiet(&s);
	pool_conn(&s);
	expect(&s, NONE, 30, 30);
}

static void test_cpu_window(void **state)
{
	struct signals s;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	pool_conn(&s);
	/* Not a full window of history yet. */
	s.cpu_seconds = cfg.cpu_window_s - 1;
	expect(&s, NONE, 30, 30);
	/* Exactly at the busy threshold. */
	s.cpu_seconds = cfg.cpu_window_s;
	s.cpu_cores = cfg.cpu_busy_cores;
	expect(&s, MEDIUM, 60, 60);
	s.cpu_cores = cfg.cpu_busy_cores - 0.01;
	expect(&s, NONE, 30, 30);
}

static void test_cpu_steady(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	cpu_steady(&s, 0.1);
	pool_conn(&s);
	expect(&s, MEDIUM, 55, 55);
	judge(&s, &v);
	assert_true(v.cpu_steady && !v.cpu_saturated);
	assert_true(has_part(&v, "cpu_steady", 25));
	expect_why(&v, "steady 0.25 cores for 30 s");
	/* Too variable to be steady. */
	cpu_steady(&s, 0.8);
	expect(&s, NONE, 30, 30);
	/* Not long enough, or too little. */
	cpu_steady(&s, 0.1);
	s.steady_seconds = 29;
	expect(&s, NONE, 30, 30);
	cpu_steady(&s, 0.1);
	s.steady_cores = 0.1;
	expect(&s, NONE, 30, 30);
	/* Saturated wins over steady: never both. */
	cpu_steady(&s, 0.1);
	cpu_saturated(&s);
	judge(&s, &v);
	assert_true(v.cpu_saturated && !v.cpu_steady);
	assert_int_equal(v.score, 60);
}

/* Exec signals alone never raise a finding. */
static void test_exec_alone(void **state)
{
	struct signals s;

	(void)state;
	quiet(&s);
	exec_flags(&s, EXECSIG_TEMP_PATH | EXECSIG_DELETED | EXECSIG_MINER_NAME, NULL);
	expect(&s, NONE, 60, 50);
	exec_flags(&s, EXECSIG_MINER_ARGS | EXECSIG_WALLET, "--donate-level=1");
	expect(&s, NONE, 125, 50);
	/* With a connection that is not pool-like either. */
	pool_port(&s);
	expect(&s, NONE, 135, 50);
}

/* CPU with only a temporary path and a hidden binary: nothing beyond CPU. */
static void test_nothing_beyond_cpu(void **state)
{
	struct signals s;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_TEMP_PATH | EXECSIG_MEMFD, NULL);
	expect(&s, NONE, 65, 50);
	/* And a pool port on a connection that is not pool-like. */
	pool_port(&s);
	expect(&s, NONE, 75, 50);
}

static void test_cpu_and_exec(void **state)
{
	struct signals s;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_MINER_ARGS, "--donate-level=1");
	expect(&s, MEDIUM, 70, 70);
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_POOL_URL, "stratum+tcp://pool.test:3333");
	expect(&s, MEDIUM, 70, 70);
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_MINER_NAME, NULL);
	expect(&s, MEDIUM, 55, 55);
	quiet(&s);
	cpu_steady(&s, 0.1);
	exec_flags(&s, EXECSIG_WALLET, "4AbC");
	expect(&s, NONE, 50, 50);
	/* A URL and options together count once. */
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_POOL_URL | EXECSIG_MINER_ARGS, "stratum+tcp://pool.test:3333");
	expect(&s, MEDIUM, 70, 70);
}

static void test_cpu_and_pool_name(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	pool_name(&s);
	expect(&s, MEDIUM, 70, 70);
	judge(&s, &v);
	assert_false(v.pool_like_conn);
	expect_why(&v, "gulf.moneroocean.stream (sni)");
	expect_not_why(&v, "pushed unasked");
}

static void test_container_cpu(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	s.cpu_seconds = cfg.cpu_window_s;
	s.cpu_cores = 0.1;
	s.container_cores = 3.5;
	pool_conn(&s);
	expect(&s, MEDIUM, 60, 60);
	judge(&s, &v);
	assert_true(v.cpu_saturated);
	expect_why(&v, "container");
	expect_why(&v, "3.50");
	/* Its own CPU is what the explanation gives when that is saturating. */
	s.cpu_cores = 2.0;
	judge(&s, &v);
	expect_not_why(&v, "container");
	expect_why(&v, "2.00 CPU cores");
}

/* (c) The pool-like connection rule at its edges. */
static void test_pool_like(void **state)
{
	struct signals s;

	(void)state;
	quiet(&s);
	pool_conn(&s);
	assert_true(correlator__pool_like(&cfg, &s));

	s.has_conn = false;
	assert_false(correlator__pool_like(&cfg, &s));
	pool_conn(&s);
	/* Age. */
	s.conn_age_s = cfg.long_conn_s - 1;
	assert_false(correlator__pool_like(&cfg, &s));
	s.conn_age_s = cfg.long_conn_s;
	assert_true(correlator__pool_like(&cfg, &s));
	/* Pushes and messages sent. */
	pool_conn(&s);
	s.conn_pushes = 0;
	assert_false(correlator__pool_like(&cfg, &s));
	s.conn_pushes = 1;
	assert_true(correlator__pool_like(&cfg, &s));
	s.conn_msgs_out = 1;
	s.conn_bytes_out = 100;
	assert_false(correlator__pool_like(&cfg, &s));
	s.conn_msgs_out = 2;
	assert_true(correlator__pool_like(&cfg, &s));
}

static void test_pool_like_rate_and_size(void **state)
{
	struct signals s;

	(void)state;
	/* A minute old, 16 messages each way: bytes are bytes per minute. */
	quiet(&s);
	pool_conn(&s);
	s.conn_age_s = 60;
	s.conn_msgs_out = 16;
	s.conn_msgs_in = 16;
	s.conn_bytes_out = cfg.low_rate_bpm;
	s.conn_bytes_in = 1000;
	assert_true(correlator__pool_like(&cfg, &s));
	s.conn_bytes_out = cfg.low_rate_bpm + 1;
	assert_false(correlator__pool_like(&cfg, &s));
	s.conn_bytes_out = 1000;
	s.conn_bytes_in = cfg.low_rate_bpm;
	assert_true(correlator__pool_like(&cfg, &s));
	s.conn_bytes_in = cfg.low_rate_bpm + 1;
	assert_false(correlator__pool_like(&cfg, &s));
	/* Average message size each way. */
	pool_conn(&s);
	s.conn_msgs_out = 2;
	s.conn_bytes_out = 2 * (uint64_t)cfg.small_msg_bytes;
	assert_true(correlator__pool_like(&cfg, &s));
	s.conn_bytes_out += 2;
	assert_false(correlator__pool_like(&cfg, &s));
	pool_conn(&s);
	s.conn_msgs_in = 3;
	s.conn_bytes_in = 3 * (uint64_t)cfg.small_msg_bytes;
	assert_true(correlator__pool_like(&cfg, &s));
	s.conn_bytes_in += 3;
	assert_false(correlator__pool_like(&cfg, &s));
	/* Nothing received: no average to hold against it. */
	pool_conn(&s);
	s.conn_msgs_in = 0;
	s.conn_bytes_in = 0;
	assert_true(correlator__pool_like(&cfg, &s));

	assert_int_equal(correlator__per_minute(1000, 60), 1000);
	assert_int_equal(correlator__per_minute(1000, 600), 100);
	assert_int_equal(correlator__per_minute(100, 0), 6000);
	assert_int_equal(correlator__per_minute(0, 0), 0);
}

static void test_pool_like_stream(void **state)
{
	static const enum stream_kind ok[] = { STREAM_TLS, STREAM_UNKNOWN, STREAM_JSON,
					       STREAM_UNSEEN };
	static const enum stream_kind not_ok[] = { STREAM_HTTP, STREAM_SSH };
	struct signals s;

	(void)state;
	quiet(&s);
	pool_conn(&s);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		s.stream = ok[i];
		if (!correlator__pool_like(&cfg, &s))
			fail_msg("a %s stream is never pool-like", proto__stream_name(ok[i]));
	}
	for (size_t i = 0; i < sizeof(not_ok) / sizeof(not_ok[0]); i++) {
		s.stream = not_ok[i];
		if (correlator__pool_like(&cfg, &s))
			fail_msg("a %s stream taken for a pool", proto__stream_name(not_ok[i]));
	}
}

/* (d) The explanation names each signal that counted. */
static void test_why(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	pool_conn(&s);
	judge(&s, &v);
	expect_why(&v, "3.90 CPU cores busy");
	expect_why(&v, "4 threads");
	expect_why(&v, "203.0.113.7:14444");
	expect_why(&v, "20 of them pushed unasked");
	expect_why(&v, "every 30 s");
	expect_why(&v, "like a pool");
	expect_why(&v, "(json)");
	expect_not_why(&v, "mining-pool port");
	expect_not_why(&v, "mining-pool name");

	pool_port(&s);
	judge(&s, &v);
	expect_why(&v, "Port 3333 is a common mining-pool port");
	pool_name(&s);
	judge(&s, &v);
	expect_why(&v, "mining-pool name gulf.moneroocean.stream");
	exec_flags(&s, EXECSIG_TEMP_PATH, NULL);
	judge(&s, &v);
	expect_why(&v, "world-writable");
	exec_flags(&s, EXECSIG_DELETED, NULL);
	judge(&s, &v);
	expect_why(&v, "deleted");
	exec_flags(&s, EXECSIG_MINER_NAME, NULL);
	judge(&s, &v);
	expect_why(&v, "named like the miner \"xmrig\"");

	/* Wallet, options and URL, each with the argument that matched. */
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_WALLET, "4AbCdEf.rig01");
	judge(&s, &v);
	expect_why(&v, "wallet");
	expect_why(&v, "4AbCdEf.rig01");
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_MINER_ARGS, "--donate-level=1");
	judge(&s, &v);
	expect_why(&v, "miner options");
	expect_why(&v, "--donate-level=1");
	quiet(&s);
	cpu_saturated(&s);
	exec_flags(&s, EXECSIG_POOL_URL, "stratum+tcp://pool.test:3333");
	judge(&s, &v);
	expect_why(&v, "mining-pool URL");
	/* memfd rather than deleted. */
	quiet(&s);
	exec_flags(&s, EXECSIG_MEMFD | EXECSIG_DELETED, NULL);
	judge(&s, &v);
	expect_why(&v, "memfd");
	/* A connection that is not pool-like is described but not called a pool. */
	quiet(&s);
	pool_conn(&s);
	s.stream = STREAM_HTTP;
	judge(&s, &v);
	expect_why(&v, "(http)");
	expect_not_why(&v, "like a pool");
	/* Without a protocol the score is given. */
	quiet(&s);
	cpu_saturated(&s);
	pool_conn(&s);
	judge(&s, &v);
	expect_why(&v, "score 60");
	assert_non_null(strstr(v.title, "xmrig"));
	assert_non_null(strstr(v.title, "4242"));
}

/* Every field at its longest: the explanation still reaches its last sentence. */
static void test_why_long_fields(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	memset(s.name, 'n', sizeof(s.name) - 1);
	memcpy(s.name, "xmrig", 5);
	s.pid = UINT32_MAX;
	cpu_saturated(&s);
	pool_conn(&s);
	pool_port(&s);
	memset(s.conn_peer, 'p', sizeof(s.conn_peer) - 1);
	s.conn_bytes_out = s.conn_bytes_in = s.conn_msgs_out = s.conn_msgs_in = UINT64_MAX;
	s.conn_pushes = UINT64_MAX;
	memset(s.pool_name, 'd', sizeof(s.pool_name) - 1);
	snprintf(s.pool_name_via, sizeof(s.pool_name_via), "dns");
	exec_flags(&s, 0x7f, NULL);
	memset(s.exec.name, 'm', sizeof(s.exec.name) - 1);
	memset(s.exec.detail, 'a', sizeof(s.exec.detail) - 1);
	judge(&s, &v);
	expect_why(&v, "4294967295");
	expect_why(&v, "lives only in memory");
	assert_true(strlen(v.why) < sizeof(v.why) - 1);
}

/* parts[] lists the signal keys with their weights; the mask changes with them. */
static void test_parts_and_mask(void **state)
{
	static const struct {
		void (*add)(struct signals *s);
		const char *key;
	} steps[] = {
		{ pool_port, "pool_port" },
		{ pool_name, "pool_name" },
	};
	static const struct {
		uint32_t flag;
		const char *key;
		int weight;
	} execs[] = {
		{ EXECSIG_TEMP_PATH, "temp_path", 15 },
		{ EXECSIG_MEMFD, "hidden_binary", 20 },
		{ EXECSIG_MINER_NAME, "miner_name", 25 },
		{ EXECSIG_MINER_ARGS, "miner_arguments", 40 },
		{ EXECSIG_WALLET, "wallet", 25 },
	};
	uint32_t masks[16];
	size_t nmasks = 0;
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	pool_conn(&s);
	judge(&s, &v);
	assert_int_equal(v.nparts, 2);
	assert_true(has_part(&v, "cpu_saturated", 30));
	assert_true(has_part(&v, "pool_connection", 30));
	masks[nmasks++] = v.signal_mask;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		steps[i].add(&s);
		judge(&s, &v);
		if (!has_part(&v, steps[i].key, i == 0 ? 10 : 40))
			fail_msg("no part %s", steps[i].key);
		masks[nmasks++] = v.signal_mask;
	}
	for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
		exec_flags(&s, execs[i].flag, "x");
		judge(&s, &v);
		if (!has_part(&v, execs[i].key, execs[i].weight))
			fail_msg("no part %s of weight %d", execs[i].key, execs[i].weight);
		masks[nmasks++] = v.signal_mask;
	}
	/* All of them, each once. */
	assert_int_equal(v.nparts, 9);
	assert_int_equal(v.score, 30 + 30 + 10 + 40 + 15 + 20 + 25 + 40 + 25);
	for (int i = 0; i < v.nparts; i++)
		for (int j = i + 1; j < v.nparts; j++)
			assert_string_not_equal(v.parts[i].signal, v.parts[j].signal);
	for (size_t i = 0; i < nmasks; i++)
		for (size_t j = i + 1; j < nmasks; j++)
			if (masks[i] == masks[j])
				fail_msg("signal masks %zu and %zu are both 0x%x", i, j, masks[i]);
	/* The same signals give the same mask; a deleted binary is the same kind as memfd. */
	exec_flags(&s, EXECSIG_DELETED, NULL);
	judge(&s, &v);
	assert_int_equal(v.signal_mask, masks[nmasks - 1]);
	/* A protocol adds its own bit and part. */
	protocol(&s);
	judge(&s, &v);
	assert_true(has_part(&v, "mining_protocol", 0));
	assert_int_not_equal(v.signal_mask, masks[nmasks - 1]);
	/* Steady CPU is a different key from saturated. */
	quiet(&s);
	cpu_steady(&s, 0.1);
	pool_conn(&s);
	judge(&s, &v);
	assert_true(has_part(&v, "cpu_steady", 25));
	assert_false(has_part(&v, "cpu_saturated", 30));
	assert_int_not_equal(v.signal_mask, masks[0]);
}

/* (e) The weights and thresholds in cfg decide. */
static void test_cfg_changes(void **state)
{
	struct detect_cfg c = cfg;
	struct signals s;
	struct verdict v;

	(void)state;
	quiet(&s);
	cpu_saturated(&s);
	pool_conn(&s);
	judge_with(&c, &s, &v);
	assert_int_equal(v.severity_id, MEDIUM);

	c.medium_score = 100;
	judge_with(&c, &s, &v);
	assert_int_equal(v.severity_id, NONE);

	c = cfg;
	c.high_score = 60;
	judge_with(&c, &s, &v);
	assert_int_equal(v.severity_id, HIGH);

	c = cfg;
	c.w_pool_conn = 10;
	judge_with(&c, &s, &v);
	assert_int_equal(v.score, 40);
	assert_int_equal(v.severity_id, NONE);

	/* A stricter connection rule. */
	c = cfg;
	c.long_conn_s = 3600;
	judge_with(&c, &s, &v);
	assert_false(v.pool_like_conn);
	assert_int_equal(v.severity_id, NONE);
	c = cfg;
	c.min_pushes = 21;
	judge_with(&c, &s, &v);
	assert_false(v.pool_like_conn);

	/* A lower busy threshold makes a light process saturating. */
	c = cfg;
	c.cpu_busy_cores = 0.2;
	quiet(&s);
	cpu_steady(&s, 0.1);
	pool_conn(&s);
	judge_with(&c, &s, &v);
	assert_true(v.cpu_saturated);
	assert_int_equal(v.score, 60);

	/* Weight on exec signals does not let them raise a finding alone. */
	c = cfg;
	c.w_temp_path = 100;
	quiet(&s);
	exec_flags(&s, EXECSIG_TEMP_PATH, NULL);
	judge_with(&c, &s, &v);
	assert_int_equal(v.score, 100);
	assert_int_equal(v.severity_id, NONE);

	/* However heavy, a pool port never makes a protocol Critical. */
	c = cfg;
	c.w_pool_port = 50;
	quiet(&s);
	protocol(&s);
	pool_port(&s);
	judge_with(&c, &s, &v);
	assert_int_equal(v.severity_id, HIGH);
	/* A zero weight still lists the part but adds nothing. */
	c = cfg;
	c.w_miner_name = 0;
	quiet(&s);
	protocol(&s);
	exec_flags(&s, EXECSIG_MINER_NAME, NULL);
	judge_with(&c, &s, &v);
	assert_true(has_part(&v, "miner_name", 0));
	assert_int_equal(v.severity_id, HIGH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_protocol),
		cmocka_unit_test(test_cpu_and_connection),
		cmocka_unit_test(test_cpu_window),
		cmocka_unit_test(test_cpu_steady),
		cmocka_unit_test(test_exec_alone),
		cmocka_unit_test(test_nothing_beyond_cpu),
		cmocka_unit_test(test_cpu_and_exec),
		cmocka_unit_test(test_cpu_and_pool_name),
		cmocka_unit_test(test_container_cpu),
		cmocka_unit_test(test_pool_like),
		cmocka_unit_test(test_pool_like_rate_and_size),
		cmocka_unit_test(test_pool_like_stream),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_why_long_fields),
		cmocka_unit_test(test_parts_and_mask),
		cmocka_unit_test(test_cfg_changes),
	};

	return cmocka_run_group_tests_name("correlator", tests, setup, NULL);
}
