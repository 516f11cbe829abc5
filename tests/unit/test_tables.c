// SPDX-License-Identifier: Apache-2.0
/*
 * The hash table and the two tables built on it: processes keyed by pid and
 * connections keyed by socket cookie, with the payload reassembly that feeds
 * the protocol recogniser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conn_table.h"
#include "htab.h"
#include "proc_table.h"
#include "testutil.h"

/* --- htab ---------------------------------------------------------------- */

#define TAG(k) ((void *)(uintptr_t)((k) * 2 + 1)) /* never NULL */

static void test_htab_basic(void **state)
{
	struct htab *h = htab__new();
	int a, b;

	(void)state;
	assert_non_null(h);
	assert_int_equal(htab__count(h), 0);
	assert_null(htab__get(h, 42));
	assert_null(htab__del(h, 42));

	assert_int_equal(htab__put(h, 42, &a), 0);
	assert_ptr_equal(htab__get(h, 42), &a);
	assert_int_equal(htab__count(h), 1);

	/* Replacing keeps one entry. */
	assert_int_equal(htab__put(h, 42, &b), 0);
	assert_ptr_equal(htab__get(h, 42), &b);
	assert_int_equal(htab__count(h), 1);

	/* Extreme keys are ordinary keys. */
	assert_int_equal(htab__put(h, 0, &a), 0);
	assert_int_equal(htab__put(h, UINT64_MAX, &b), 0);
	assert_ptr_equal(htab__get(h, 0), &a);
	assert_ptr_equal(htab__get(h, UINT64_MAX), &b);
	assert_int_equal(htab__count(h), 3);

	assert_ptr_equal(htab__del(h, 42), &b);
	assert_null(htab__get(h, 42));
	assert_null(htab__del(h, 42));
	assert_int_equal(htab__count(h), 2);
	htab__free(h);
	htab__free(NULL);
}

static void test_htab_growth(void **state)
{
	const uint64_t n = 20000;
	struct htab *h = htab__new();

	(void)state;
	assert_non_null(h);
	/* Sequential pids and cookie-like keys that differ only in high bits. */
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(htab__put(h, i, TAG(i)), 0);
		assert_int_equal(htab__put(h, i << 40 | 1, TAG(i << 40 | 1)), 0);
	}
	/* Key 1 is in both sets (i = 1 and i = 0), so one fewer entry. */
	assert_int_equal(htab__count(h), 2 * n - 1);
	for (uint64_t i = 0; i < n; i++) {
		assert_ptr_equal(htab__get(h, i), TAG(i));
		assert_ptr_equal(htab__get(h, i << 40 | 1), TAG(i << 40 | 1));
	}
	assert_null(htab__get(h, n));
	for (uint64_t i = 1; i < n; i += 2)
		assert_ptr_equal(htab__del(h, i), TAG(i));
	for (uint64_t i = 0; i < n; i++) {
		if (i & 1)
			assert_null(htab__get(h, i));
		else
			assert_ptr_equal(htab__get(h, i), TAG(i));
	}
	htab__free(h);
}

static void test_htab_iter_delete(void **state)
{
	const uint64_t n = 12345;
	struct htab *h = htab__new();
	unsigned char *seen = calloc(n, 1);
	struct htab_iter it;
	uint64_t k, visits = 0;
	void *v;

	(void)state;
	assert_non_null(h);
	assert_non_null(seen);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(htab__put(h, i * 7919, TAG(i)), 0);

	htab__iter_init(&it, h);
	while (htab__iter_next(&it, &k, &v)) {
		uint64_t i = k / 7919;

		assert_int_equal(k % 7919, 0);
		assert_true(i < n);
		assert_ptr_equal(v, TAG(i));
		seen[i]++;
		visits++;
		/* Delete what is being visited. */
		assert_ptr_equal(htab__del(h, k), v);
	}
	assert_int_equal(visits, n);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(htab__count(h), 0);

	/* An empty table iterates to nothing. */
	htab__iter_init(&it, h);
	assert_int_equal(htab__iter_next(&it, &k, &v), 0);
	free(seen);
	htab__free(h);
}

/* --- proc_table ---------------------------------------------------------- */

struct released {
	unsigned calls;
	uint32_t pid;
	uint64_t start_ns;
	void *arg;
};

static void on_release(struct proc *p, void *arg)
{
	struct released *r = arg;

	r->calls++;
	r->pid = p->pid;
	r->start_ns = p->start_ns;
	r->arg = arg;
}

#define TICK 10000000ULL

static void test_proc_upsert(void **state)
{
	struct proc_table *t = proc_table__new(16);
	struct released rel = { 0 };
	struct proc *p, *q;
	bool created;

	(void)state;
	assert_non_null(t);
	proc_table__set_release(t, on_release, &rel);

	p = proc_table__upsert(t, 4242, 1000 * TICK, &created);
	assert_non_null(p);
	assert_true(created);
	assert_int_equal(p->pid, 4242);
	assert_int_equal(p->start_ns, 1000 * TICK);
	assert_int_equal(proc_table__count(t), 1);
	assert_ptr_equal(proc_table__lookup(t, 4242), p);
	assert_null(proc_table__lookup(t, 4243));

	/* Same process: the start time agrees to the clock tick. */
	q = proc_table__upsert(t, 4242, 1000 * TICK + TICK / 2, &created);
	assert_ptr_equal(q, p);
	assert_false(created);
	assert_int_equal(rel.calls, 0);

	/* The pid was reused by a later process: the old entry is released once. */
	p->cmdline = strdup("old");
	q = proc_table__upsert(t, 4242, 2000 * TICK, &created);
	assert_non_null(q);
	assert_true(created);
	assert_int_equal(rel.calls, 1);
	assert_int_equal(rel.pid, 4242);
	assert_int_equal(rel.start_ns, 1000 * TICK);
	assert_ptr_equal(rel.arg, &rel);
	assert_int_equal(q->start_ns, 2000 * TICK);
	assert_null(q->cmdline);
	assert_null(q->act);
	assert_string_equal(q->exe, "");
	assert_int_equal(proc_table__count(t), 1);
	assert_ptr_equal(proc_table__lookup(t, 4242), q);

	proc_table__remove(t, 4242);
	assert_int_equal(rel.calls, 2);
	assert_int_equal(proc_table__count(t), 0);
	proc_table__remove(t, 4242); /* absent: nothing to release */
	assert_int_equal(rel.calls, 2);
	proc_table__free(t);
	proc_table__free(NULL);
}

static void test_proc_max(void **state)
{
	struct proc_table *t = proc_table__new(3);
	struct released rel = { 0 };
	struct proc *busy[3];
	bool created;
	int fake_finding;

	(void)state;
	assert_non_null(t);
	proc_table__set_release(t, on_release, &rel);
	for (uint32_t pid = 100; pid < 103; pid++)
		assert_non_null(proc_table__upsert(t, pid, pid * TICK, &created));
	assert_int_equal(proc_table__dropped(t), 0);

	/* Full of idle processes: a new one takes the place of one of them. */
	assert_non_null(proc_table__upsert(t, 200, TICK, &created));
	assert_true(created);
	assert_int_equal(proc_table__count(t), 3);
	assert_int_equal(proc_table__evicted(t), 1);
	assert_int_equal(proc_table__dropped(t), 0);
	assert_int_equal(rel.calls, 1);
	assert_non_null(proc_table__lookup(t, 200));

	/* Make every entry a suspect of some kind: none may be evicted. */
	{
		int i = 0;

		for (uint32_t pid = 100; pid <= 200; pid++) {
			struct proc *p = proc_table__lookup(t, pid);

			if (p)
				busy[i++] = p;
		}
		assert_int_equal(i, 3);
	}
	busy[0]->finding = &fake_finding;
	assert_non_null(proc__act(busy[1]));
	busy[2]->nconns = 1;
	assert_null(proc_table__upsert(t, 300, TICK, &created));
	assert_false(created);
	assert_null(proc_table__upsert(t, 301, TICK, &created));
	assert_int_equal(proc_table__dropped(t), 2);
	assert_int_equal(proc_table__evicted(t), 1);
	assert_int_equal(proc_table__count(t), 3);
	assert_null(proc_table__lookup(t, 300));
	for (int i = 0; i < 3; i++)
		assert_ptr_equal(proc_table__lookup(t, busy[i]->pid), busy[i]);

	/* Known processes are still found, and a reused pid still replaces. */
	assert_non_null(proc_table__upsert(t, busy[1]->pid, busy[1]->start_ns, &created));
	assert_false(created);
	busy[0]->finding = NULL;
	assert_non_null(proc_table__upsert(t, busy[0]->pid, 999 * TICK, &created));
	assert_true(created);
	assert_int_equal(rel.calls, 2);
	assert_int_equal(proc_table__dropped(t), 2);

	/* Freeing the table releases what is left. */
	proc_table__free(t);
	assert_int_equal(rel.calls, 5);
}

/* Eviction keeps working on a big table and scans only a bounded part of it. */
static void test_proc_evict_many(void **state)
{
	struct proc_table *t = proc_table__new(1000);
	bool created;

	(void)state;
	assert_non_null(t);
	for (uint32_t pid = 1; pid <= 1000; pid++) {
		struct proc *p = proc_table__upsert(t, pid, TICK, &created);

		assert_non_null(p);
		if (pid % 2) /* every other one has done something */
			assert_non_null(proc__act(p));
	}
	for (uint32_t pid = 5000; pid < 5400; pid++)
		assert_non_null(proc_table__upsert(t, pid, TICK, &created));
	assert_int_equal(proc_table__count(t), 1000);
	assert_int_equal(proc_table__evicted(t), 400);
	assert_int_equal(proc_table__dropped(t), 0);
	for (uint32_t pid = 1; pid <= 1000; pid += 2)
		assert_non_null(proc_table__lookup(t, pid));
	proc_table__free(t);
}

static void test_proc_exe(void **state)
{
	struct proc_table *t = proc_table__new(4);
	char longpath[PROC_PATH_LEN * 2];
	struct proc *p;
	bool created;

	(void)state;
	assert_non_null(t);
	p = proc_table__upsert(t, 9, TICK, &created);
	assert_non_null(p);
	assert_string_equal(p->exe, "");
	assert_int_equal(proc_table__set_exe(p, "/usr/bin/xmrig"), 0);
	assert_string_equal(p->exe, "/usr/bin/xmrig");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(proc_table__set_exe(p, longpath), 0);
	assert_int_equal(strlen(p->exe), PROC_PATH_LEN - 1);
	proc_table__free(t);
}

static void test_proc_cmdline(void **state)
{
	struct proc_table *t = proc_table__new(4);
	size_t big = PROC_CMDLINE_MAX * 3;
	char *args = malloc(big);
	struct proc *p;
	bool created;

	(void)state;
	assert_non_null(t);
	assert_non_null(args);
	p = proc_table__upsert(t, 7, TICK, &created);
	assert_non_null(p);

	assert_int_equal(proc_table__set_cmdline(p, "xmrig\0-o\0pool:3333", 18), 0);
	assert_int_equal(p->cmdline_len, 18);
	assert_memory_equal(p->cmdline, "xmrig\0-o\0pool:3333", 19);

	memset(args, 'A', big);
	assert_int_equal(proc_table__set_cmdline(p, args, big), 0);
	assert_int_equal(p->cmdline_len, PROC_CMDLINE_MAX);
	assert_int_equal(p->cmdline[PROC_CMDLINE_MAX], '\0');
	assert_int_equal(p->cmdline[PROC_CMDLINE_MAX - 1], 'A');

	assert_int_equal(proc_table__set_cmdline(p, args, PROC_CMDLINE_MAX), 0);
	assert_int_equal(p->cmdline_len, PROC_CMDLINE_MAX);
	assert_int_equal(proc_table__set_cmdline(p, "", 0), 0);
	assert_int_equal(p->cmdline_len, 0);
	assert_string_equal(p->cmdline, "");
	free(args);
	proc_table__free(t);
}

static void test_proc_peers(void **state)
{
	struct proc p;
	uint8_t a[16] = { 10, 0, 0, 1 }, b[16] = { 10, 0, 0, 2 };
	struct peer *first, *pe;

	(void)state;
	memset(&p, 0, sizeof(p));
	first = proc__peer(&p, 2, a, 3333);
	assert_non_null(first);
	assert_int_equal(proc__npeers(&p), 1);
	assert_int_equal(first->family, 2);
	assert_int_equal(first->port, 3333);
	assert_memory_equal(first->addr, a, 16);
	assert_int_equal(first->proto.kind, PROTO_NONE);

	/* The same endpoint is found again, not added. */
	first->proto.kind = PROTO_STRATUM_V1;
	assert_ptr_equal(proc__peer(&p, 2, a, 3333), first);
	assert_int_equal(proc__npeers(&p), 1);
	assert_int_equal(first->proto.kind, PROTO_STRATUM_V1);

	/* Any difference makes a new peer: port, address, family. */
	assert_non_null(proc__peer(&p, 2, a, 4444));
	assert_non_null(proc__peer(&p, 2, b, 3333));
	assert_non_null(proc__peer(&p, 10, a, 3333));
	assert_int_equal(proc__npeers(&p), PROC_MAX_PEERS);

	/* Full: new endpoints are refused, known ones still found. */
	assert_null(proc__peer(&p, 2, b, 4444));
	assert_int_equal(proc__npeers(&p), PROC_MAX_PEERS);
	pe = proc__peer(&p, 10, a, 3333);
	assert_non_null(pe);
	assert_int_equal(pe->family, 10);
	assert_ptr_equal(proc__peer(&p, 2, a, 3333), first);
	free(p.act);
}

static void remove_each(struct proc *p, void *arg)
{
	struct proc_table *t = arg;

	proc_table__remove(t, p->pid);
}

static void test_proc_each_remove(void **state)
{
	struct proc_table *t = proc_table__new(4096);
	struct released rel = { 0 };
	bool created;

	(void)state;
	assert_non_null(t);
	proc_table__set_release(t, on_release, &rel);
	for (uint32_t pid = 1; pid <= 3000; pid++)
		assert_non_null(proc_table__upsert(t, pid, TICK, &created));
	proc_table__each(t, remove_each, t);
	assert_int_equal(proc_table__count(t), 0);
	assert_int_equal(rel.calls, 3000);
	proc_table__free(t);
	assert_int_equal(rel.calls, 3000);
}

/* --- conn_table ---------------------------------------------------------- */

static void test_conn_table(void **state)
{
	struct conn_table *t = conn_table__new(2);
	struct conn *a, *b;

	(void)state;
	assert_non_null(t);
	a = conn_table__insert(t, 0xc00c1e);
	assert_non_null(a);
	assert_int_equal(a->cookie, 0xc00c1e);
	assert_int_equal(a->proto.kind, PROTO_NONE);
	assert_ptr_equal(conn_table__insert(t, 0xc00c1e), a);
	assert_ptr_equal(conn_table__lookup(t, 0xc00c1e), a);
	assert_null(conn_table__lookup(t, 1));

	b = conn_table__insert(t, 1);
	assert_non_null(b);
	assert_int_equal(conn_table__count(t), 2);

	/* Full: new cookies are dropped and counted, known ones still found. */
	assert_null(conn_table__insert(t, 2));
	assert_null(conn_table__insert(t, 3));
	assert_int_equal(conn_table__dropped(t), 2);
	assert_ptr_equal(conn_table__insert(t, 1), b);
	assert_int_equal(conn_table__dropped(t), 2);

	/* A connection with a live capture buffer is freed with it. */
	assert_int_equal(conn__add_payload(a, 0, 0, "GET /", 5, 5, 1), 0);
	assert_non_null(a->cap[0]);
	conn_table__remove(t, 0xc00c1e);
	assert_null(conn_table__lookup(t, 0xc00c1e));
	assert_int_equal(conn_table__count(t), 1);
	conn_table__remove(t, 0xc00c1e);
	assert_non_null(conn_table__insert(t, 2));

	b = conn_table__lookup(t, 2);
	assert_int_equal(conn__add_payload(b, 1, 0, "HTTP/1.1", 8, 8, 1), 0);
	conn_table__free(t);
	conn_table__free(NULL);
}

static const char xmrig_login[] =
	"{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"48HtAQnq"
	"xQN2FmkLzf8x4TPpLkf6C82DM1GLLuTSEuWgkojQTvGwn4pdHQJRFvEbAUk4uxjwR2NumaSQ7jTnVNsy4"
	"8dfCk4\",\"pass\":\"x\",\"agent\":\"XMRig/6.21.3 (Linux x86_64) libuv/1.48.0 "
	"gcc/13.2.1\",\"algo\":[\"rx/0\"]}}\n";

static void test_payload_split_login(void **state)
{
	static const char job[] = "{\"id\":1,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":{"
				  "\"id\":\"1\",\"job\":{\"blob\":\"0e0e\",\"job_id\":\"q\","
				  "\"target\":\"b88d0600\"},\"status\":\"OK\"}}\n";
	size_t len = sizeof(xmrig_login) - 1, cut = 30; /* inside "method" */
	struct conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(conn__add_payload(&c, 0, 0, xmrig_login, cut, cut, 100), 0);
	assert_int_equal(c.proto.kind, PROTO_NONE);
	assert_false(c.decided[0]);
	assert_non_null(c.cap[0]);

	assert_int_equal(conn__add_payload(&c, 0, 1, xmrig_login + cut, len - cut, len - cut, 200),
			 1);
	assert_int_equal(c.proto.kind, PROTO_XMRIG);
	assert_string_equal(c.proto.method, "login");
	assert_int_equal(c.proto_dir, 0);
	assert_int_equal(c.proto_ns, 200);
	assert_true(c.decided[0]);
	assert_null(c.cap[0]);
	assert_int_equal(c.cap_len[0], 0);

	/* Known once: later segments, either way, do not report it again. */
	assert_int_equal(conn__add_payload(&c, 0, 2, xmrig_login, len, len, 300), 0);
	assert_int_equal(conn__add_payload(&c, 1, 0, job, sizeof(job) - 1, sizeof(job) - 1, 400),
			 0);
	assert_true(c.decided[1]);
	assert_null(c.cap[1]);
	assert_int_equal(c.proto_ns, 200);
	assert_int_equal(c.proto_dir, 0);

	/* Nonsense directions are ignored. */
	assert_int_equal(conn__add_payload(&c, 2, 0, job, 4, 4, 500), 0);
}

static void test_payload_cut_segment(void **state)
{
	static const char head[] = "{\"id\":1,\"method\":\"mining.sub";
	static const char tail[] = "scribe\",\"params\":[\"cpuminer/2.5.1\"]}\n";
	uint32_t hlen = sizeof(head) - 1, tlen = sizeof(tail) - 1;
	struct conn c;

	(void)state;
	/* Control: the same two pieces from one unbroken stream do match. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(conn__add_payload(&c, 0, 0, head, hlen, hlen, 1), 0);
	assert_int_equal(conn__add_payload(&c, 0, 1, tail, tlen, tlen, 2), 1);
	assert_int_equal(c.proto.kind, PROTO_STRATUM_V1);
	assert_string_equal(c.proto.method, "mining.subscribe");

	/*
	 * The first segment was 1400 bytes long but only hlen were captured:
	 * the next segment does not continue those bytes.
	 */
	memset(&c, 0, sizeof(c));
	assert_int_equal(conn__add_payload(&c, 0, 0, head, hlen, 1400, 1), 0);
	assert_int_equal(conn__add_payload(&c, 0, 1, tail, tlen, tlen, 2), 0);
	assert_int_equal(c.proto.kind, PROTO_NONE);
	assert_false(c.decided[0]);
	free(c.cap[0]);
}

static void test_payload_undecided(void **state)
{
	static const char *const segs[] = {
		"GET /index.html HTTP/1.1\r\n",
		"Host: www.example.org\r\n",
		"User-Agent: Wget/1.21.4\r\n",
		"Accept: */*\r\n\r\n",
	};
	unsigned char big[MW_PAYLOAD_LEN * 2];
	struct conn c;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (uint32_t i = 0; i < MW_PAYLOAD_SEGS; i++) {
		uint32_t n = (uint32_t)strlen(segs[i % 4]);

		assert_int_equal(conn__add_payload(&c, 0, i, segs[i % 4], n, n, i), 0);
		if (i + 1 < MW_PAYLOAD_SEGS)
			assert_non_null(c.cap[0]);
	}
	assert_true(c.decided[0]);
	assert_null(c.cap[0]);
	assert_int_equal(c.cap_len[0], 0);
	assert_int_equal(c.proto.kind, PROTO_NONE);
	/* Decided: a mining message now is not looked at. */
	assert_int_equal(conn__add_payload(&c, 0, 9, xmrig_login, sizeof(xmrig_login) - 1,
					   sizeof(xmrig_login) - 1, 9), 0);
	assert_null(c.cap[0]);
	assert_false(c.decided[1]);

	/* Oversized segments fill the capture without overflowing it. */
	memset(big, 'x', sizeof(big));
	for (uint32_t i = 0; i < MW_PAYLOAD_SEGS; i++) {
		assert_int_equal(conn__add_payload(&c, 1, i, big, sizeof(big), 65535, i), 0);
		if (i + 1 < MW_PAYLOAD_SEGS)
			assert_true(c.cap_len[1] <= CONN_CAPTURE_MAX);
	}
	assert_true(c.decided[1]);
	assert_null(c.cap[1]);
}

/* Every split point of a login into two full segments is recognised once. */
static void test_payload_every_split(void **state)
{
	uint32_t len = sizeof(xmrig_login) - 1;

	(void)state;
	for (uint32_t cut = 0; cut <= len; cut++) {
		struct conn c;
		int hits;

		memset(&c, 0, sizeof(c));
		hits = conn__add_payload(&c, 0, 0, xmrig_login, cut, cut, 1);
		hits += conn__add_payload(&c, 0, 1, xmrig_login + cut, len - cut, len - cut, 2);
		assert_int_equal(hits, 1);
		assert_int_equal(c.proto.kind, PROTO_XMRIG);
		assert_null(c.cap[0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_htab_basic),
		cmocka_unit_test(test_htab_growth),
		cmocka_unit_test(test_htab_iter_delete),
		cmocka_unit_test(test_proc_upsert),
		cmocka_unit_test(test_proc_max),
		cmocka_unit_test(test_proc_evict_many),
		cmocka_unit_test(test_proc_exe),
		cmocka_unit_test(test_proc_cmdline),
		cmocka_unit_test(test_proc_peers),
		cmocka_unit_test(test_proc_each_remove),
		cmocka_unit_test(test_conn_table),
		cmocka_unit_test(test_payload_split_login),
		cmocka_unit_test(test_payload_cut_segment),
		cmocka_unit_test(test_payload_undecided),
		cmocka_unit_test(test_payload_every_split),
	};

	return cmocka_run_group_tests_name("tables", tests, NULL, NULL);
}
