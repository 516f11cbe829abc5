// SPDX-License-Identifier: Apache-2.0
/*
 * execsig__analyse() and execsig__wallet_shaped(): what a process's
 * executable path, comm and command line say about it.
 *
 * Command lines are NUL-separated argv handed over with their length in a
 * heap buffer of exactly that length, as /proc/PID/cmdline reads (every
 * argument ends in a NUL) or with the last argument unterminated, so a read
 * past the end shows up under valgrind or ASan. Wallets are made up: the
 * right length and alphabet, no valid checksum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "execsig.h"
#include "testutil.h"

#define NAMES "xmrig,xmr-stak,cpuminer,minerd"
#define MAX_ARGS 128
#define DETAIL_MAX 95

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char base58_alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* A made-up base58 string of n characters starting with first. */
static char *base58_str(char *buf, size_t n, char first)
{
	uint32_t x = 0x4d57u + (uint32_t)n;

	buf[0] = first;
	for (size_t i = 1; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = base58_alphabet[(x >> 16) % (sizeof(base58_alphabet) - 1)];
	}
	buf[n] = '\0';
	return buf;
}

/* n lower-case hex digits after prefix. */
static char *hex_str(char *buf, const char *prefix, size_t n)
{
	size_t p = strlen(prefix);

	memcpy(buf, prefix, p);
	for (size_t i = 0; i < n; i++)
		buf[p + i] = "0123456789abcdef"[(i * 7 + 3) % 16];
	buf[p + n] = '\0';
	return buf;
}

/*
 * argv joined with NUL separators into an exact-size heap buffer; with
 * terminated, the last argument ends in a NUL too (as procfs has it).
 */
static char *join(const char *const *argv, bool terminated, size_t *ret_len)
{
	size_t len = 0, off = 0, n = 0;
	char *buf;

	while (argv[n])
		len += strlen(argv[n++]) + 1;
	if (n && !terminated)
		len--;
	buf = malloc(len ? len : 1);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(argv[i]);

		memcpy(buf + off, argv[i], l);
		off += l;
		if (off < len)
			buf[off++] = '\0';
	}
	assert_int_equal(off, len);
	*ret_len = len;
	return buf;
}

static void check_sane(const struct execsig *x)
{
	assert_non_null(memchr(x->name, '\0', sizeof(x->name)));
	assert_non_null(memchr(x->detail, '\0', sizeof(x->detail)));
	assert_true(strlen(x->detail) <= DETAIL_MAX);
	assert_int_equal(x->flags & ~0x7fu, 0);
}

/* Analyses with exe and comm and argv (may be NULL), both argv forms agreeing. */
static uint32_t analyse(const char *exe, const char *comm, const char *const *argv,
			struct execsig *ret)
{
	struct execsig other;
	size_t len = 0;
	char *buf;

	if (!argv) {
		execsig__analyse(exe, comm, NULL, 0, NAMES, ret);
		check_sane(ret);
		return ret->flags;
	}
	buf = join(argv, true, &len);
	memset(ret, 0x5a, sizeof(*ret));
	execsig__analyse(exe, comm, buf, len, NAMES, ret);
	check_sane(ret);
	free(buf);

	buf = join(argv, false, &len);
	memset(&other, 0x5a, sizeof(other));
	execsig__analyse(exe, comm, buf, len, NAMES, &other);
	check_sane(&other);
	free(buf);
	assert_int_equal(other.flags, ret->flags);
	assert_string_equal(other.name, ret->name);
	assert_string_equal(other.detail, ret->detail);
	return ret->flags;
}

static uint32_t args_flags(const char *const *argv, struct execsig *ret)
{
	return analyse("/usr/bin/prog", "prog", argv, ret);
}

static uint32_t exe_flags(const char *exe)
{
	struct execsig x;

	return analyse(exe, "prog", NULL, &x);
}

static void test_temp_path(void **state)
{
	static const char *const yes[] = { "/tmp/x", "/dev/shm/x", "/var/tmp/x", "/tmp/.X11/.a",
					   "/tmp/a b" };
	static const char *const no[] = { "/tmpfoo/x", "/usr/bin/x", "/tmp", "tmp/x",
					   "/dev/shmx/y", "/var/tmpx/y", "/home/u/tmp/x",
					   "/var/lib/x", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!(exe_flags(yes[i]) & EXECSIG_TEMP_PATH))
			fail_msg("%s: not a temporary directory", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (exe_flags(no[i]) & EXECSIG_TEMP_PATH)
			fail_msg("%s: taken for a temporary directory", no[i]);
	/* No exe at all. */
	{
		struct execsig x;

		execsig__analyse(NULL, NULL, NULL, 0, NAMES, &x);
		assert_int_equal(x.flags, 0);
	}
}

static void test_memfd_and_deleted(void **state)
{
	(void)state;
	assert_int_equal(exe_flags("/memfd:abc (deleted)"), EXECSIG_MEMFD | EXECSIG_DELETED);
	assert_int_equal(exe_flags("memfd:x"), EXECSIG_MEMFD);
	assert_int_equal(exe_flags("/memfd:"), EXECSIG_MEMFD);
	assert_int_equal(exe_flags("/usr/bin/x (deleted)"), EXECSIG_DELETED);
	assert_int_equal(exe_flags("/tmp/x (deleted)"), EXECSIG_TEMP_PATH | EXECSIG_DELETED);
	/* " (deleted)" alone, or not at the end, or without the space. */
	assert_int_equal(exe_flags(" (deleted)"), 0);
	assert_int_equal(exe_flags("/usr/bin/x (deleted) y"), 0);
	assert_int_equal(exe_flags("/usr/bin/x(deleted)"), 0);
	assert_int_equal(exe_flags("/usr/bin/memfd:x"), 0);
	assert_int_equal(exe_flags("/usr/bin/x"), 0);
}

static void expect_name(const char *exe, const char *comm, const char *want)
{
	struct execsig x;

	analyse(exe, comm, NULL, &x);
	if (!want) {
		if (x.flags & EXECSIG_MINER_NAME)
			fail_msg("exe %s comm %s: taken for the miner \"%s\"", exe, comm, x.name);
		return;
	}
	if (!(x.flags & EXECSIG_MINER_NAME))
		fail_msg("exe %s comm %s: miner name not recognised", exe, comm);
	assert_string_equal(x.name, want);
}

static void test_miner_name(void **state)
{
	(void)state;
	/* By comm, exact or with a suffix after - _ or ., in any case. */
	expect_name("/usr/bin/prog", "xmrig", "xmrig");
	expect_name("/usr/bin/prog", "XMRig", "XMRig");
	expect_name("/usr/bin/prog", "xmrig-notls", "xmrig-notls");
	expect_name("/usr/bin/prog", "xmrig_6.21", "xmrig_6.21");
	expect_name("/usr/bin/prog", "xmrig.exe", "xmrig.exe");
	expect_name("/usr/bin/prog", "xmr-stak", "xmr-stak");
	expect_name("/usr/bin/prog", "minerd", "minerd");
	/* By file name when comm was changed; comm wins when both match. */
	expect_name("/opt/x/xmrig", "kworker/0:1", "xmrig");
	expect_name("/opt/x/XMRig-6.21.0", "bash", "XMRig-6.21.0");
	expect_name("xmrig", "sh", "xmrig");
	expect_name("/opt/xmrig/cpuminer", "minerd", "minerd");
	/* Not a listed name. */
	expect_name("/usr/bin/prog", "xmrigger", NULL);
	expect_name("/usr/bin/prog", "myxmrig", NULL);
	expect_name("/usr/bin/prog", "xmri", NULL);
	expect_name("/usr/bin/prog", "xmr", NULL);
	expect_name("/opt/xmrig/prog", "prog", NULL); /* the directory does not count */
	expect_name("/usr/bin/prog", "", NULL);
	expect_name("/usr/bin/prog", NULL, NULL);
	/* An empty list, and empty entries in a list. */
	{
		struct execsig x;

		execsig__analyse("/tmp/xmrig", "xmrig", NULL, 0, "", &x);
		assert_int_equal(x.flags & EXECSIG_MINER_NAME, 0);
		execsig__analyse("/tmp/xmrig", "xmrig", NULL, 0, NULL, &x);
		assert_int_equal(x.flags & EXECSIG_MINER_NAME, 0);
		execsig__analyse("/usr/bin/prog", "minerd", NULL, 0, ",,xmrig,,minerd,", &x);
		assert_int_equal(x.flags & EXECSIG_MINER_NAME, EXECSIG_MINER_NAME);
		execsig__analyse("/usr/bin/prog", "bash", NULL, 0, ",,,", &x);
		assert_int_equal(x.flags & EXECSIG_MINER_NAME, 0);
	}
}

/* A deleted or memfd binary keeps its file name in exe, after which comes " (deleted)". */
static void test_miner_name_deleted(void **state)
{
	(void)state;
	expect_name("/tmp/xmrig (deleted)", "kworker/0:1", "xmrig");
	expect_name("/usr/local/bin/xmrig-notls (deleted)", "sshd", "xmrig-notls");
	expect_name("/tmp/xmrigger (deleted)", "sshd", NULL);
}

/* The list the daemon ships with. */
static void test_default_names(void **state)
{
	static const char *const yes[] = { "xmrig", "xmr-stak-rx", "cpuminer-opt", "kdevtmpfsi",
					   "t-rex", "lolMiner", "SRBMiner-MULTI", "nbminer" };
	static const char *const no[] = { "bash", "sshd", "systemd", "kworker/0:1", "java",
					  "node", "miner", "stak", "python3" };
	struct config *c = calloc(1, sizeof(*c));
	struct execsig x;

	(void)state;
	assert_non_null(c);
	config__defaults(c);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		execsig__analyse("/usr/bin/prog", yes[i], NULL, 0, c->miner_names, &x);
		if (!(x.flags & EXECSIG_MINER_NAME))
			fail_msg("%s: not in the default miner names", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		execsig__analyse("/usr/bin/prog", no[i], NULL, 0, c->miner_names, &x);
		if (x.flags & EXECSIG_MINER_NAME)
			fail_msg("%s: taken for the miner %s", no[i], x.name);
	}
	free(c);
}

static void test_pool_url(void **state)
{
	static const char *const urls[] = {
		"stratum+tcp://pool.test:3333", "stratum+ssl://pool.test:443",
		"stratum+tcps://pool.test:443", "stratum2+tcp://pool.test:3333",
		"STRATUM+TCP://POOL.TEST:3333", "Stratum+Ssl://pool.test:443",
		"--url=stratum+tcp://pool.test:3333", "-ostratum+tcp://pool.test:3333",
		"stratum1+tcp://pool.test:3333",
	};
	static const char *const not_urls[] = { "https://pool.test/", "stratum://pool.test",
						"tcp://pool.test:3333", "stratum+udp://x",
						"stratum tcp://x" };
	struct execsig x;

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (!(args_flags(ARGV("miner", urls[i]), &x) & EXECSIG_POOL_URL))
			fail_msg("%s: not a pool URL", urls[i]);
		assert_string_equal(x.detail, urls[i]);
	}
	for (size_t i = 0; i < sizeof(not_urls) / sizeof(not_urls[0]); i++)
		if (args_flags(ARGV("prog", not_urls[i]), &x) & EXECSIG_POOL_URL)
			fail_msg("%s: taken for a pool URL", not_urls[i]);
	/* The URL as the first argument (argv[0]) counts too. */
	assert_true(args_flags(ARGV("stratum+tcp://p:1"), &x) & EXECSIG_POOL_URL);
}

static void expect_args(const char *const *argv, const char *detail)
{
	struct execsig x;
	uint32_t f = args_flags(argv, &x);

	if (!(f & EXECSIG_MINER_ARGS))
		fail_msg("miner options not recognised (first: %s %s)", argv[0], argv[1]);
	assert_int_equal(f & (EXECSIG_POOL_URL | EXECSIG_WALLET), 0);
	assert_string_equal(x.detail, detail);
}

static void expect_no_args(const char *const *argv)
{
	struct execsig x;

	if (args_flags(argv, &x))
		fail_msg("flags 0x%x on an ordinary command line (%s %s)", x.flags, argv[0],
			 argv[1]);
}

static void test_miner_args(void **state)
{
	(void)state;
	expect_args(ARGV("prog", "--donate-level=1"), "--donate-level=1");
	expect_args(ARGV("prog", "--donate-level", "1"), "--donate-level");
	expect_args(ARGV("prog", "-o", "pool:3333", "-u", "wallet"), "pool:3333");
	expect_args(ARGV("prog", "-u", "wallet", "-p", "x", "-o", "pool:3333"), "pool:3333");
	expect_args(ARGV("prog", "--url", "host:port", "--user", "x"), "host:port");
	expect_args(ARGV("prog", "--coin", "monero"), "--coin");
	expect_args(ARGV("prog", "--coin=monero"), "--coin=monero");
	expect_args(ARGV("prog", "--algo=rx/0"), "--algo=rx/0");
	expect_args(ARGV("prog", "-a=rx/0"), "-a=rx/0");
	expect_args(ARGV("prog", "--cpu-max-threads-hint=50"), "--cpu-max-threads-hint=50");
	expect_args(ARGV("prog", "--randomx-1gb-pages"), "--randomx-1gb-pages");
	/* The first miner argument is the one explained. */
	expect_args(ARGV("prog", "--coin", "monero", "--donate-level=0"), "--coin");

	/* Look-alikes from ordinary programs. */
	expect_no_args(ARGV("curl", "-o", "out.html", "-u", "bob", "https_example"));
	expect_no_args(ARGV("ssh", "-o", "StrictHostKeyChecking=no", "host"));
	expect_no_args(ARGV("prog", "-o", "pool:3333"));
	expect_no_args(ARGV("prog", "-o", "pool:3333", "-user", "x"));
	expect_no_args(ARGV("prog", "-u", "x", "-o"));
	expect_no_args(ARGV("prog", "--coinbase", "x"));
	expect_no_args(ARGV("prog", "--algo=sha256"));
	expect_no_args(ARGV("prog", "--algo", "rx/0"));
	expect_no_args(ARGV("prog", "--donate"));
	expect_no_args(ARGV("prog", "x--donate-level=1"));
	expect_no_args(ARGV("ls", "-la", "/tmp"));
}

static void expect_wallet(const char *const *argv, const char *detail)
{
	struct execsig x;
	uint32_t f = args_flags(argv, &x);

	if (!(f & EXECSIG_WALLET))
		fail_msg("wallet not recognised in %s %s", argv[0], argv[1]);
	/* The explanation shows the wallet, or enough of it to recognise. */
	if (strncmp(detail, x.detail, strlen(x.detail)) ||
	    strlen(x.detail) < (strlen(detail) < 64 ? strlen(detail) : 64))
		fail_msg("detail \"%s\" for the wallet \"%s\"", x.detail, detail);
}

static void test_wallets(void **state)
{
	char xmr[128], integrated[128], sub[128], worker[160], user[160], eth[64], bech[64];
	struct execsig x;

	(void)state;
	base58_str(xmr, 95, '4');
	base58_str(integrated, 106, '4');
	base58_str(sub, 95, '8');
	snprintf(worker, sizeof(worker), "%s.rig01", xmr);
	snprintf(user, sizeof(user), "--user=%s", xmr);
	hex_str(eth, "0x", 40);
	snprintf(bech, sizeof(bech), "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
	assert_int_equal(strlen(bech), 42);

	expect_wallet(ARGV("prog", xmr), xmr);
	expect_wallet(ARGV("prog", integrated), integrated);
	expect_wallet(ARGV("prog", sub), sub);
	expect_wallet(ARGV("prog", "-u", worker), worker);
	expect_wallet(ARGV("prog", user), xmr);
	expect_wallet(ARGV("prog", eth), eth);
	expect_wallet(ARGV("prog", bech), bech);
	/* A wallet together with miner options. */
	{
		uint32_t f = args_flags(ARGV("prog", "-o", "pool:3333", "-u", worker, "-p", "x"),
					&x);

		assert_int_equal(f, EXECSIG_MINER_ARGS | EXECSIG_WALLET);
		assert_string_equal(x.detail, "pool:3333");
	}
}

static void test_wallet_detail_bounded(void **state)
{
	char integrated[128], url[600];
	struct execsig x;

	(void)state;
	base58_str(integrated, 106, '4');
	args_flags(ARGV("prog", integrated), &x);
	assert_true(x.flags & EXECSIG_WALLET);
	assert_true(strlen(x.detail) <= DETAIL_MAX);
	assert_memory_equal(x.detail, integrated, strlen(x.detail));

	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "stratum+tcp://", 14);
	args_flags(ARGV("prog", url), &x);
	assert_true(x.flags & EXECSIG_POOL_URL);
	assert_true(strlen(x.detail) <= DETAIL_MAX);
	assert_memory_equal(x.detail, url, strlen(x.detail));
}

static bool wallet(const char *s)
{
	size_t n = strlen(s);
	char *buf = malloc(n ? n : 1);
	int r;

	assert_non_null(buf);
	memcpy(buf, s, n);
	r = execsig__wallet_shaped(buf, n);
	free(buf);
	assert_true(r == 0 || r == 1);
	return r;
}

static void test_wallet_shaped(void **state)
{
	char s[200], t[200];

	(void)state;
	assert_true(wallet(base58_str(s, 95, '4')));
	assert_true(wallet(base58_str(s, 95, '8')));
	assert_true(wallet(base58_str(s, 106, '4')));
	snprintf(t, sizeof(t), "%s.worker", base58_str(s, 95, '4'));
	assert_true(wallet(t));
	snprintf(t, sizeof(t), "%s+50000", base58_str(s, 95, '4'));
	assert_true(wallet(t));
	snprintf(t, sizeof(t), "%s/rig", base58_str(s, 95, '4'));
	assert_true(wallet(t));
	assert_true(wallet(hex_str(s, "0x", 40)));
	assert_true(wallet(hex_str(s, "0X", 40)));
	assert_true(wallet("0x52908400098527886E0F7030069857D2E4169EE7"));
	assert_true(wallet("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
	assert_true(wallet("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"));

	/* Monero: one short, one long, between the two lengths, wrong first character. */
	assert_false(wallet(base58_str(s, 94, '4')));
	assert_false(wallet(base58_str(s, 96, '4')));
	assert_false(wallet(base58_str(s, 100, '4')));
	assert_false(wallet(base58_str(s, 107, '4')));
	assert_false(wallet(base58_str(s, 95, '5')));
	assert_false(wallet(base58_str(s, 95, '1')));
	/* Monero with a character outside base58: 0 O I l, and others. */
	for (const char *c = "0OIl-_+=:!"; *c; c++) {
		base58_str(s, 95, '4');
		s[50] = *c;
		if (wallet(s))
			fail_msg("Monero address with '%c' taken for a wallet", *c);
	}
	/* Ethereum: 39 and 41 hex digits, a non-hex digit, no 0x. */
	assert_false(wallet(hex_str(s, "0x", 39)));
	assert_false(wallet(hex_str(s, "0x", 41)));
	hex_str(s, "0x", 40);
	s[20] = 'g';
	assert_false(wallet(s));
	assert_false(wallet(hex_str(s, "00", 40)));
	assert_false(wallet(hex_str(s, "", 42)));
	/* Bech32: too short, too long, upper case, wrong prefix. */
	assert_false(wallet("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5md"));
	memset(s, 'q', 63);
	memcpy(s, "bc1", 3);
	s[63] = '\0';
	assert_false(wallet(s));
	assert_false(wallet("bc1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"));
	assert_false(wallet("tb1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
	/* Things that are not wallets. */
	assert_false(wallet("123e4567-e89b-12d3-a456-426614174000"));
	assert_false(wallet(hex_str(s, "", 64))); /* a SHA-256 */
	assert_false(wallet(hex_str(s, "", 40))); /* a SHA-1 / git commit */
	assert_false(wallet("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"));
	assert_false(wallet("--config=/etc/app.json"));
	assert_false(wallet(""));
	assert_false(wallet("4"));
	assert_false(wallet("0x"));
	assert_false(wallet("bc1"));
	/* Only the first n bytes count. */
	base58_str(s, 95, '4');
	assert_true(execsig__wallet_shaped(s, 95));
	assert_false(execsig__wallet_shaped(s, 94));
	assert_false(execsig__wallet_shaped(s, 0));
}

static void test_no_wallet_args(void **state)
{
	char sha[80], s[128];

	(void)state;
	hex_str(sha, "", 64);
	expect_no_args(ARGV("sha256sum", "-c", sha));
	expect_no_args(ARGV("prog", "--id=123e4567-e89b-12d3-a456-426614174000"));
	expect_no_args(ARGV("prog", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"));
	expect_no_args(ARGV("prog", base58_str(s, 94, '4')));
	expect_no_args(ARGV("prog", hex_str(s, "0x", 39)));
	/* A wallet after "=" counts only as the whole value. */
	snprintf(sha, sizeof(sha), "--key=x%s", hex_str(s, "0x", 40));
	expect_no_args(ARGV("prog", sha));
}

/* Command lines of 64 and more arguments: every argument is looked at. */
static void test_many_args(void **state)
{
	const char *argv[MAX_ARGS + 2];
	char xmr[128];
	struct execsig x;

	(void)state;
	argv[0] = "prog";
	for (size_t i = 1; i < MAX_ARGS; i++)
		argv[i] = (i % 3) ? "--verbose" : "";
	argv[MAX_ARGS] = NULL;
	assert_int_equal(args_flags(argv, &x), 0);
	/* Signals early on. */
	argv[1] = "--donate-level=1";
	argv[2] = base58_str(xmr, 95, '4');
	assert_int_equal(args_flags(argv, &x), EXECSIG_MINER_ARGS | EXECSIG_WALLET);
	assert_string_equal(x.detail, "--donate-level=1");
	/* Exactly at the 64th argument (argv[63]). */
	argv[1] = argv[2] = "--verbose";
	argv[63] = "stratum+tcp://pool.test:3333";
	assert_int_equal(args_flags(argv, &x), EXECSIG_POOL_URL);
	/* After 64 junk arguments, as a miner padding its argv would have it. */
	argv[63] = "--verbose";
	argv[64] = "stratum+tcp://pool.test:3333";
	assert_int_equal(args_flags(argv, &x), EXECSIG_POOL_URL);
	argv[64] = "--verbose";
	argv[MAX_ARGS - 4] = "-o";
	argv[MAX_ARGS - 3] = "pool.test:3333";
	argv[MAX_ARGS - 2] = "-u";
	argv[MAX_ARGS - 1] = xmr;
	assert_int_equal(args_flags(argv, &x), EXECSIG_MINER_ARGS | EXECSIG_WALLET);
	assert_string_equal(x.detail, "pool.test:3333");
}

/*
 * The last argument without its NUL, in a buffer of exactly len bytes: the
 * analysis stops at len. Bytes after len in a larger buffer that would match
 * must not be seen.
 */
static void test_unterminated(void **state)
{
	static const char mem[] = "xmrig\0-c\0cfg" /* len stops here */
				  "stratum+tcp://pool.test:3333 --donate-level=1";
	static const char mem2[] = "prog\0-o\0pool.test:3333\0-u" /* here */ "ser";
	static const char mem3[] = "prog\0--coin" /* here */ "=monero";
	struct execsig x;
	char *buf;

	(void)state;
	execsig__analyse("/usr/bin/prog", "prog", mem, 12, NAMES, &x);
	assert_int_equal(x.flags, 0);
	execsig__analyse("/usr/bin/prog", "prog", mem2, 25, NAMES, &x);
	assert_int_equal(x.flags, EXECSIG_MINER_ARGS);
	execsig__analyse("/usr/bin/prog", "prog", mem3, 11, NAMES, &x);
	assert_int_equal(x.flags, EXECSIG_MINER_ARGS);
	assert_string_equal(x.detail, "--coin");

	/* Exact-size heap copies (valgrind or ASan catch a read past the end). */
	buf = malloc(12);
	assert_non_null(buf);
	memcpy(buf, mem, 12);
	execsig__analyse("/usr/bin/prog", "prog", buf, 12, NAMES, &x);
	assert_int_equal(x.flags, 0);
	memcpy(buf, "-o\0h:1\0-u\0--do", 12);
	execsig__analyse("/usr/bin/prog", "prog", buf, 12, NAMES, &x);
	assert_int_equal(x.flags, EXECSIG_MINER_ARGS);
	free(buf);
	/* Every cut of a miner's command line. */
	{
		char xmr[128];
		const char *const *argv = ARGV("xmrig", "-o", "stratum+tcp://pool.test:3333", "-u",
					       base58_str(xmr, 95, '4'), "--donate-level=1");
		size_t len;
		char *full = join(argv, true, &len);

		for (size_t n = 0; n <= len; n++) {
			char *p = malloc(n ? n : 1);

			assert_non_null(p);
			memcpy(p, full, n);
			execsig__analyse("/tmp/xmrig", "xmrig", p, n, NAMES, &x);
			check_sane(&x);
			free(p);
		}
		assert_int_equal(x.flags, EXECSIG_TEMP_PATH | EXECSIG_MINER_NAME |
						  EXECSIG_POOL_URL | EXECSIG_MINER_ARGS |
						  EXECSIG_WALLET);
		free(full);
	}
}

/* Odd command lines: empty arguments, only NULs, a single NUL. */
static void test_odd_cmdlines(void **state)
{
	struct execsig x;

	(void)state;
	execsig__analyse("/usr/bin/prog", "prog", "\0\0\0\0", 4, NAMES, &x);
	assert_int_equal(x.flags, 0);
	execsig__analyse("/usr/bin/prog", "prog", "", 1, NAMES, &x);
	assert_int_equal(x.flags, 0);
	execsig__analyse("/usr/bin/prog", "prog", "--coin", 0, NAMES, &x);
	assert_int_equal(x.flags, 0);
	execsig__analyse("/usr/bin/prog", "prog", "\0\0-o\0\0h:1\0-u", 12, NAMES, &x);
	assert_int_equal(x.flags, 0); /* the value after -o is the empty argument */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_temp_path),
		cmocka_unit_test(test_memfd_and_deleted),
		cmocka_unit_test(test_miner_name),
		cmocka_unit_test(test_miner_name_deleted),
		cmocka_unit_test(test_default_names),
		cmocka_unit_test(test_pool_url),
		cmocka_unit_test(test_miner_args),
		cmocka_unit_test(test_wallets),
		cmocka_unit_test(test_wallet_detail_bounded),
		cmocka_unit_test(test_wallet_shaped),
		cmocka_unit_test(test_no_wallet_args),
		cmocka_unit_test(test_many_args),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_odd_cmdlines),
	};

	return cmocka_run_group_tests_name("execsig", tests, NULL, NULL);
}
