// SPDX-License-Identifier: Apache-2.0
/*
 * procfs parsing on recorded /proc/PID/stat lines, and the readers against a
 * fake host root built under /tmp (DIR/proc/PID/..., DIR/etc/passwd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "htab.h"
#include "hashcache.h"
#include "procfs.h"
#include "testutil.h"

#define TICK_NS 10000000ULL

/* Parses a stat line held in a heap buffer of exactly its length. */
static int parse(const char *line, size_t len, struct procfs_info *info)
{
	char *buf = malloc(len ? len : 1);
	int e;

	assert_non_null(buf);
	memcpy(buf, line, len);
	memset(info, 0x5a, sizeof(*info));
	e = procfs__parse_stat(buf, len, info);
	free(buf);
	return e;
}

#define PARSE(lit, info) parse(lit, sizeof(lit) - 1, info)

static void test_stat_normal(void **state)
{
	struct procfs_info info;

	(void)state;
	assert_int_equal(PARSE("31337 (xmrig) S 1 31337 31337 0 -1 4194560 1893 0 0 0 88412 "
			       "1520 0 0 20 0 9 0 424242 2498441216 627328 "
			       "18446744073709551615 94720466538496 94720472149293 "
			       "140736591766432 0 0 0 0 4096 1260 0 0 0 17 3 0 0 0 0 0 "
			       "94720474250064 94720474464104 94720505417728 "
			       "140736591773431 140736591773497 140736591773497 "
			       "140736591777768 0\n",
			       &info),
			 0);
	assert_string_equal(info.comm, "xmrig");
	assert_int_equal(info.ppid, 1);
	assert_int_equal(info.start_ns, 424242ULL * TICK_NS);

	/* A kernel thread: ppid 2, early start, comm with a slash. */
	assert_int_equal(PARSE("57 (kworker/3:1H-kblockd) I 2 0 0 0 -1 69238880 0 0 0 0 0 5 0 0 "
			       "0 -20 1 0 9 0 0 18446744073709551615 0 0 0 0 0 0 0 "
			       "2147483647 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			       &info),
			 0);
	assert_string_equal(info.comm, "kworker/3:1H-kb"); /* bounded to 15 */
	assert_int_equal(info.ppid, 2);
	assert_int_equal(info.start_ns, 9 * TICK_NS);

	/* Large values: pid_max-sized ppid, a start after years of uptime. */
	assert_int_equal(PARSE("4194303 (a) R 4194302 1 1 34816 1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
			       "1099511627776 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 "
			       "0 0 17 0 0 0 0 0 0",
			       &info),
			 0);
	assert_int_equal(info.ppid, 4194302);
	assert_int_equal(info.start_ns, 1099511627776ULL * TICK_NS);
}

static void test_stat_hostile_comm(void **state)
{
	struct procfs_info info;

	(void)state;
	/* The comm ends at the last ')'. */
	assert_int_equal(PARSE("1234 (a) b (c)) S 77 1234 1234 0 -1 4194304 0 0 0 0 0 0 0 0 20 "
			       "0 1 0 5555 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 "
			       "0 0 0 0 0 0\n",
			       &info),
			 0);
	assert_string_equal(info.comm, "a) b (c)");
	assert_int_equal(info.ppid, 77);
	assert_int_equal(info.start_ns, 5555 * TICK_NS);

	/* A comm written to look like the fields that follow it. */
	assert_int_equal(PARSE("300 () R 31337 1 1 0) S 12 300 300 0 -1 4194304 0 0 0 0 0 0 0 0 "
			       "20 0 1 0 600 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 "
			       "0 17 0 0 0 0 0 0\n",
			       &info),
			 0);
	assert_string_equal(info.comm, ") R 31337 1 1 0");
	assert_int_equal(info.ppid, 12);
	assert_int_equal(info.start_ns, 600 * TICK_NS);

	/* A newline inside comm. */
	assert_int_equal(PARSE("77 (evil\nname) R 5 77 77 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 "
			       "42 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 "
			       "0 0\n",
			       &info),
			 0);
	assert_string_equal(info.comm, "evil\nname");
	assert_int_equal(info.ppid, 5);
	assert_int_equal(info.start_ns, 42 * TICK_NS);

	/* Empty comm; comm of bytes that are not text. */
	assert_int_equal(PARSE("5 () S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0", &info), 0);
	assert_string_equal(info.comm, "");
	assert_int_equal(info.ppid, 2);
	assert_int_equal(PARSE("6 (\x1b]0;x\x07\xff\xfe) S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
			       "8 0",
			       &info),
			 0);
	assert_string_equal(info.comm, "\x1b]0;x\x07\xff\xfe");
	assert_int_equal(info.start_ns, 8 * TICK_NS);

	/* A comm longer than the kernel allows is still bounded. */
	assert_int_equal(PARSE("8 (0123456789abcdefghijklmnopqrstuvwxyz) S 2 0 0 0 -1 0 0 0 0 0 0 "
			       "0 0 0 20 0 1 0 9 0",
			       &info),
			 0);
	assert_string_equal(info.comm, "0123456789abcde");
}

static void test_stat_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"1",
		"1234 (xmrig) S 1 1234 1234 0 -1 4194560",      /* cut before starttime */
		"1234 (xmrig) S 1 1234 1234 0 -1 4194560 1 0 0 0 5 5 0 0 20 0 9 0",
		"1234 (xmrig) S",
		"1234 (xmrig)",
		"1234 (xmrig",                                   /* no closing paren */
		"1234 xmrig) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0",
		") ( S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0", /* parens reversed */
		"hello world",
		"1234 (xmrig) S one 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0",
		"1234 (xmrig) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 x 0",
		"\xff\xfe\x00\x01(\x02)\x03",
	};
	struct procfs_info info;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], strlen(bad[i]), &info) != -EINVAL)
			fail_msg("case %zu accepted: \"%s\"", i, bad[i]);
	}
	/* Bytes after len are not looked at. */
	assert_int_equal(parse("1 (a) S 2 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0", 10, &info),
			 -EINVAL);
}

/* Random bytes, with and without parens: only 0 or -EINVAL, no crash. */
static void test_stat_fuzz(void **state)
{
	uint32_t x = 0x9e3779b9;
	char buf[700];
	struct procfs_info info;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(round % (int)sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (char)(round & 1 ? " ()0123456789-S"[x % 15] : (char)x);
		}
		int e = parse(buf, len, &info);

		assert_true(e == 0 || e == -EINVAL);
	}
}

/* --- a fake host root ---------------------------------------------------- */

struct fake_root {
	char dir[PATH_MAX];
};

static void put(struct fake_root *r, const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX], parent[PATH_MAX];
	char *slash;

	tu_path(path, "%s/%s", r->dir, rel);
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	*slash = '\0';
	assert_int_equal(tu_mkdirs(parent), 0);
	assert_int_equal(tu_write_file(path, data, len), 0);
}

#define PUT(r, rel, lit) put(r, rel, lit, sizeof(lit) - 1)

static void mkdir_in(struct fake_root *r, const char *rel)
{
	char path[PATH_MAX];

	assert_int_equal(tu_mkdirs(tu_path(path, "%s/%s", r->dir, rel)), 0);
}

static void link_to(struct fake_root *r, const char *rel, const char *target)
{
	char path[PATH_MAX];

	assert_int_equal(symlink(target, tu_path(path, "%s/%s", r->dir, rel)), 0);
}

static const char stat_4242[] =
	"4242 (xmrig) S 1 4242 4242 0 -1 4194560 1893 0 0 0 88412 1520 0 0 20 0 9 0 "
	"424242 2498441216 627328 18446744073709551615 1 1 0 0 0 0 0 4096 1260 0 0 0 17 3 "
	"0 0 0 0 0 0 0 0 0 0 0 0 0\n";
static const char status_4242[] =
	"Name:\txmrig\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\n"
	"Pid:\t4242\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\n"
	"Gid:\t1001\t1001\t1001\t1001\nFDSize:\t64\nGroups:\t1001 27\nThreads:\t9\n";
static const char cmdline_4242[] = "./xmrig\0-o\0pool.example.org:3333\0-u\0wallet\0";

static int setup_root(void **state)
{
	struct fake_root *r = calloc(1, sizeof(*r));

	if (!r || tu_mkdtemp(r->dir)) {
		free(r);
		return -1;
	}
	*state = r;
	return 0;
}

static int teardown_root(void **state)
{
	struct fake_root *r = *state;

	if (r) {
		tu_rmtree(r->dir);
		free(r);
	}
	return 0;
}

static void build_procs(struct fake_root *r)
{
	PUT(r, "proc/4242/stat", stat_4242);
	PUT(r, "proc/4242/status", status_4242);
	PUT(r, "proc/4242/cmdline", cmdline_4242);
	PUT(r, "proc/4242/exe", "abc"); /* a regular file: not a link, but hashable */

	PUT(r, "proc/4243/stat",
	    "4243 (sh) S 4242 4243 4243 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 500000 0 0 "
	    "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
	PUT(r, "proc/4243/status", "Name:\tsh\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
	PUT(r, "proc/4243/cmdline", "");
	link_to(r, "proc/4243/exe", "/tmp/.x/kdevtmpfsi (deleted)");

	/* Not processes, or processes that went away mid-scan. */
	PUT(r, "proc/4244/stat", "garbage");
	mkdir_in(r, "proc/4245");
	mkdir_in(r, "proc/self");
	PUT(r, "proc/0/stat", stat_4242);
	PUT(r, "proc/uptime", "12345.67 45678.90\n");
	PUT(r, "proc/42x/stat", stat_4242);
}

static void test_read(void **state)
{
	struct fake_root *r = *state;
	struct procfs_info info;

	build_procs(r);
	assert_int_equal(procfs__read(r->dir, 4242, &info), 0);
	assert_int_equal(info.pid, 4242);
	assert_int_equal(info.ppid, 1);
	assert_int_equal(info.uid, 1000);
	assert_int_equal(info.gid, 1001);
	assert_int_equal(info.start_ns, 424242ULL * TICK_NS);
	assert_string_equal(info.comm, "xmrig");
	assert_string_equal(info.exe, "");
	assert_int_equal(info.cmdline_len, sizeof(cmdline_4242) - 2); /* no trailing NUL */
	assert_memory_equal(info.cmdline, cmdline_4242, info.cmdline_len);

	assert_int_equal(procfs__read(r->dir, 4243, &info), 0);
	assert_int_equal(info.ppid, 4242);
	assert_int_equal(info.uid, 0);
	assert_int_equal(info.cmdline_len, 0);
	assert_string_equal(info.exe, "/tmp/.x/kdevtmpfsi (deleted)");

	assert_int_equal(procfs__read(r->dir, 4244, &info), -EINVAL);
	assert_int_equal(procfs__read(r->dir, 4245, &info), -ENOENT);
	assert_int_equal(procfs__read(r->dir, 99999, &info), -ENOENT);
}

/* A cmdline larger than the buffer is cut, not overrun. */
static void test_read_long_cmdline(void **state)
{
	struct fake_root *r = *state;
	size_t big = 3 * sizeof(((struct procfs_info *)0)->cmdline);
	char *args = malloc(big);
	struct procfs_info info;

	assert_non_null(args);
	for (size_t i = 0; i < big; i++)
		args[i] = i % 8 == 7 ? '\0' : 'a';
	PUT(r, "proc/7/stat", "7 (x) S 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0\n");
	put(r, "proc/7/cmdline", args, big);
	assert_int_equal(procfs__read(r->dir, 7, &info), 0);
	/* The buffer's last byte is a separator here, and trailing NULs go. */
	assert_int_equal(info.cmdline_len, sizeof(info.cmdline) - 1);
	assert_memory_equal(info.cmdline, args, info.cmdline_len);
	free(args);
}

struct scan_seen {
	uint32_t pids[16];
	struct procfs_info first;
	unsigned n;
	int stop_with;
};

static int on_proc(const struct procfs_info *info, void *arg)
{
	struct scan_seen *s = arg;

	if (s->n < 16)
		s->pids[s->n] = info->pid;
	if (info->pid == 4242)
		s->first = *info;
	s->n++;
	return s->stop_with;
}

static void test_scan(void **state)
{
	struct fake_root *r = *state;
	struct scan_seen seen = { 0 };
	bool saw_4242 = false, saw_4243 = false;
	char missing[PATH_MAX];

	build_procs(r);
	assert_int_equal(procfs__scan(r->dir, on_proc, &seen), 0);
	assert_int_equal(seen.n, 2);
	for (unsigned i = 0; i < seen.n; i++) {
		saw_4242 |= seen.pids[i] == 4242;
		saw_4243 |= seen.pids[i] == 4243;
	}
	assert_true(saw_4242);
	assert_true(saw_4243);
	assert_int_equal(seen.first.uid, 1000);
	assert_string_equal(seen.first.comm, "xmrig");
	assert_int_equal(seen.first.cmdline_len, sizeof(cmdline_4242) - 2);

	/* The callback stops the scan, and its value is returned. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_with = 7;
	assert_int_equal(procfs__scan(r->dir, on_proc, &seen), 7);
	assert_int_equal(seen.n, 1);

	assert_int_equal(procfs__scan(tu_path(missing, "%s/nothing", r->dir), on_proc, &seen),
			 -ENOENT);
}

static void test_exe_sha256(void **state)
{
	struct fake_root *r = *state;
	char hex[65];

	build_procs(r);
	assert_int_equal(procfs__exe_sha256(r->dir, 4242, NULL, hex), 0);
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(procfs__exe_sha256(r->dir, 4243, NULL, hex), -ENOENT); /* dangling */
	assert_int_equal(procfs__exe_sha256(r->dir, 1, NULL, hex), -ENOENT);
}

/* A hash is reused while the file is the same, and recomputed once it is rewritten. */
static void test_exe_sha256_cache(void **state)
{
	struct fake_root *r = *state;
	struct hashcache *c = hashcache__new();
	struct hashcache_stats st;
	struct timespec keep[2];
	struct stat sb;
	char hex[65], path[PATH_MAX];
	int fd;

	assert_non_null(c);
	build_procs(r);
	snprintf(path, sizeof(path), "%s/proc/4242/exe", r->dir);
	assert_int_equal(procfs__exe_sha256(r->dir, 4242, c, hex), 0);
	assert_int_equal(procfs__exe_sha256(r->dir, 4242, c, hex), 0);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hashcache__stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);

	/*
	 * Rewritten in place, same size, its mtime set back: only ctime tells,
	 * and ctime cannot be set back. The new content must be hashed.
	 */
	assert_int_equal(stat(path, &sb), 0);
	keep[0] = sb.st_atim;
	keep[1] = sb.st_mtim;
	usleep(20000); /* coarse file-system clocks: make ctime move */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "abd", 3, 0), 3);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, path, keep, 0), 0);
	assert_int_equal(procfs__exe_sha256(r->dir, 4242, c, hex), 0);
	/* SHA-256("abd") */
	assert_string_equal(hex,
			    "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");
	hashcache__stats(c, &st);
	assert_int_equal(st.misses, 2);
	hashcache__free(c);
}

/* The table is bounded: past its size the oldest entries make room. */
static void test_hashcache_bounded(void **state)
{
	struct hashcache *c = hashcache__new();
	char sha[65];
	struct stat st;

	(void)state;
	assert_non_null(c);
	memset(&st, 0, sizeof(st));
	memset(sha, 'a', 64);
	sha[64] = '\0';
	for (int i = 0; i < HASHCACHE_SLOTS + 10; i++) {
		st.st_ino = (ino_t)i + 1;
		hashcache__put(c, &st, sha);
	}
	st.st_ino = HASHCACHE_SLOTS + 10; /* the newest is kept */
	assert_non_null(hashcache__get(c, &st));
	st.st_ino = 1;                    /* the oldest made room */
	assert_null(hashcache__get(c, &st));
	/* Same inode, new ctime: a miss, and the entry is replaced, not duplicated. */
	st.st_ino = HASHCACHE_SLOTS + 10;
	st.st_ctim.tv_sec = 5;
	assert_null(hashcache__get(c, &st));
	sha[0] = 'b';
	hashcache__put(c, &st, sha);
	assert_string_equal(hashcache__get(c, &st), sha);
	hashcache__free(c);
}

static void test_boot_id(void **state)
{
	struct fake_root *r = *state;
	char id[37];

	assert_int_equal(procfs__boot_id(r->dir, id), -ENOENT);
	PUT(r, "proc/sys/kernel/random/boot_id", "0f6c1f3a-9a51-4d0e-8b43-2a6f1e9b7c55\n");
	assert_int_equal(procfs__boot_id(r->dir, id), 0);
	assert_string_equal(id, "0f6c1f3a-9a51-4d0e-8b43-2a6f1e9b7c55");
	PUT(r, "proc/sys/kernel/random/boot_id", "0f6c1f3a\n");
	assert_int_equal(procfs__boot_id(r->dir, id), -EINVAL);
}

/* Only the kernel's own newline is dropped: a name may end in newlines too. */
static void test_comm(void **state)
{
	struct fake_root *r = *state;
	char comm[16];

	assert_int_equal(procfs__comm(r->dir, 4242, comm, sizeof(comm)), -ENOENT);
	PUT(r, "proc/4242/comm", "xmrig\n");
	assert_int_equal(procfs__comm(r->dir, 4242, comm, sizeof(comm)), 0);
	assert_string_equal(comm, "xmrig");
	PUT(r, "proc/4242/comm", "\x1b[31m\x07\xff\xc2\x9b\x1b]0;x\n\n");
	assert_int_equal(procfs__comm(r->dir, 4242, comm, sizeof(comm)), 0);
	assert_string_equal(comm, "\x1b[31m\x07\xff\xc2\x9b\x1b]0;x\n");
	PUT(r, "proc/4242/comm", "\n\n");
	assert_int_equal(procfs__comm(r->dir, 4242, comm, sizeof(comm)), 0);
	assert_string_equal(comm, "\n");
	PUT(r, "proc/4242/comm", "");
	assert_int_equal(procfs__comm(r->dir, 4242, comm, sizeof(comm)), 0);
	assert_string_equal(comm, "");
}

static void test_user_name(void **state)
{
	struct fake_root *r = *state;
	char name[64], small[3];

	assert_int_equal(procfs__user_name(r->dir, 0, name, sizeof(name)), -ENOENT);
	PUT(r, "etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "broken line without colons\n"
	    "nouid:x::0::/:/bin/false\n"
	    "baduid:x:10a0:0::/:/bin/false\n"
	    "onecolon:x\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "miner:x:1000:1000:,,,:/home/miner:/bin/sh\n"
	    "dup:x:1000:1000::/home/dup:/bin/sh\n"
	    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin");
	assert_int_equal(procfs__user_name(r->dir, 0, name, sizeof(name)), 0);
	assert_string_equal(name, "root");
	assert_int_equal(procfs__user_name(r->dir, 1000, name, sizeof(name)), 0);
	assert_string_equal(name, "miner"); /* the first entry wins */
	assert_int_equal(procfs__user_name(r->dir, 65534, name, sizeof(name)), 0);
	assert_string_equal(name, "nobody");
	assert_int_equal(procfs__user_name(r->dir, 10, name, sizeof(name)), -ENOENT);
	assert_int_equal(procfs__user_name(r->dir, 4242, name, sizeof(name)), -ENOENT);
	assert_int_equal(procfs__user_name(r->dir, 1000, small, sizeof(small)), 0);
	assert_string_equal(small, "mi");
}

static void test_socket_owners(void **state)
{
	struct fake_root *r = *state;
	struct htab *h = htab__new();
	uintptr_t owner;

	assert_non_null(h);
	build_procs(r);
	mkdir_in(r, "proc/4242/fd");
	mkdir_in(r, "proc/4243/fd");
	link_to(r, "proc/4242/fd/0", "/dev/null");
	link_to(r, "proc/4242/fd/3", "socket:[991]");
	link_to(r, "proc/4242/fd/4", "socket:[992]");
	link_to(r, "proc/4242/fd/5", "pipe:[993]");
	link_to(r, "proc/4243/fd/3", "socket:[991]"); /* shared with its parent */
	link_to(r, "proc/4243/fd/4", "socket:[994]");
	link_to(r, "proc/4243/fd/5", "anon_inode:[eventfd]");

	assert_int_equal(procfs__socket_owners(r->dir, h), 0);
	assert_int_equal(htab__count(h), 3);
	assert_int_equal((uintptr_t)htab__get(h, 992), 4242);
	assert_int_equal((uintptr_t)htab__get(h, 994), 4243);
	owner = (uintptr_t)htab__get(h, 991);
	assert_true(owner == 4242 || owner == 4243);
	assert_null(htab__get(h, 993));
	htab__free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_normal),
		cmocka_unit_test(test_stat_hostile_comm),
		cmocka_unit_test(test_stat_errors),
		cmocka_unit_test(test_stat_fuzz),
		cmocka_unit_test_setup_teardown(test_read, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_read_long_cmdline, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_scan, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_exe_sha256, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_exe_sha256_cache, setup_root, teardown_root),
		cmocka_unit_test(test_hashcache_bounded),
		cmocka_unit_test_setup_teardown(test_boot_id, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_comm, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_user_name, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_socket_owners, setup_root, teardown_root),
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
