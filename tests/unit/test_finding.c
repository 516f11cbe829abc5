// SPDX-License-Identifier: Apache-2.0
/*
 * The verdict (correlator__judge) and the finding built from it
 * (finding__build, finding__uid): severities for each combination of
 * signals, the OCSF shape of the line, and hostile process data.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "correlator.h"
#include "finding.h"
#include "testutil.h"
#include "text.h"

/* --- correlator ---------------------------------------------------------- */

static struct detect_cfg cfg;

static int setup_cfg(void **state)
{
	(void)state;
	correlator__defaults(&cfg);
	return 0;
}

static void base_signals(struct signals *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "kworkerds");
	s->pid = 4242;
	s->cpu_cores = 0.05;
	s->cpu_seconds = cfg.cpu_window_s;
}

static void with_proto(struct signals *s)
{
	s->proto.kind = PROTO_STRATUM_V1;
	snprintf(s->proto.method, sizeof(s->proto.method), "mining.subscribe");
	s->proto_dir = 0;
	snprintf(s->proto_peer, sizeof(s->proto_peer), "203.0.113.7:3333");
}

static void with_cpu(struct signals *s)
{
	s->cpu_cores = 3.9;
	s->cpu_seconds = cfg.cpu_window_s;
	s->busy_threads = 4;
}

/* A pool-like connection: open 10 minutes, a few KiB each way. */
static void with_conn(struct signals *s)
{
	s->has_conn = true;
	snprintf(s->conn_peer, sizeof(s->conn_peer), "203.0.113.7:3333");
	s->conn_port = 3333;
	s->conn_age_s = 600;
	s->conn_bytes_out = 60000;
	s->conn_bytes_in = 240000;
	s->conn_msgs_out = 120;
	s->conn_msgs_in = 300;
	s->conn_pushes = 20; /* the pool pushed work unasked */
	s->nconns = 1;
}

static void test_judge_protocol(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	base_signals(&s);
	with_proto(&s);
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 4);
	assert_false(v.cpu_saturated);
	assert_true(v.confidence > 0 && v.confidence <= 100);
	assert_non_null(strstr(v.title, "kworkerds"));
	assert_non_null(strstr(v.why, "stratum-v1"));
	assert_non_null(strstr(v.why, "mining.subscribe"));
	assert_non_null(strstr(v.why, "203.0.113.7:3333"));

	/* Plus CPU saturated over the whole window: critical. */
	with_cpu(&s);
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 5);
	assert_true(v.cpu_saturated);
	assert_non_null(strstr(v.why, "stratum-v1"));
	assert_non_null(strstr(v.why, "3.90"));

	/* Busy, but for less than the window: not yet saturated. */
	s.cpu_seconds = cfg.cpu_window_s - 1;
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 4);
	assert_false(v.cpu_saturated);

	/* With the connection too, the explanation carries all three signals. */
	s.cpu_seconds = cfg.cpu_window_s;
	with_conn(&s);
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 5);
	assert_non_null(strstr(v.why, "stratum-v1"));
	assert_non_null(strstr(v.why, "3.90 CPU cores"));
	assert_non_null(strstr(v.why, "open 600 s"));
	s.has_conn = false;

	/* Exactly at the thresholds counts. */
	s.cpu_seconds = cfg.cpu_window_s;
	s.cpu_cores = cfg.cpu_busy_cores;
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 5);
}

static void test_judge_behaviour(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	/* CPU and a long-lived low-rate connection, no protocol: medium. */
	base_signals(&s);
	with_cpu(&s);
	with_conn(&s);
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 3);
	assert_true(v.cpu_saturated);
	assert_true(v.pool_like_conn);
	assert_non_null(strstr(v.why, "3.90"));
	assert_non_null(strstr(v.why, "600 s"));
	assert_non_null(strstr(v.why, "203.0.113.7:3333"));
	assert_null(strstr(v.why, "protocol"));

	/* The same connection, younger than long_conn_s: nothing. */
	s.conn_age_s = cfg.long_conn_s - 1;
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 0);

	/* CPU with no connection at all: nothing. */
	base_signals(&s);
	with_cpu(&s);
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 0);
	assert_true(v.cpu_saturated);

	/* A connection that only ever answers (no pushes) is not pool-like. */
	base_signals(&s);
	with_cpu(&s);
	with_conn(&s);
	s.conn_pushes = 0;
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 0);
	assert_false(v.pool_like_conn);

	/* A long connection but an idle process: nothing. */
	base_signals(&s);
	with_conn(&s);
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 0);
	assert_true(v.pool_like_conn);
	assert_false(v.cpu_saturated);

	/* A busy process streaming data (a backup, a build): nothing. */
	base_signals(&s);
	with_cpu(&s);
	with_conn(&s);
	s.conn_bytes_in = (cfg.low_rate_bpm + 1) * 10; /* over 600 s: above the rate */
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 0);
	assert_false(v.pool_like_conn);
	s.conn_bytes_in = 1000;
	s.conn_bytes_out = 500ULL << 20;
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 0);
}

static void test_per_minute(void **state)
{
	(void)state;
	assert_int_equal(correlator__per_minute(6000, 60), 6000);
	assert_int_equal(correlator__per_minute(6000, 600), 600);
	assert_int_equal(correlator__per_minute(100, 0), 6000); /* age 0 counts as 1 s */
	assert_int_equal(correlator__per_minute(0, 0), 0);
}

/* A hostile name cannot overflow the explanation. */
static void test_judge_long_name(void **state)
{
	struct signals s;
	struct verdict v;

	(void)state;
	base_signals(&s);
	with_proto(&s);
	with_cpu(&s);
	with_conn(&s);
	memset(s.name, 'N', sizeof(s.name) - 1);
	s.name[sizeof(s.name) - 1] = '\0';
	correlator__judge(&cfg, &s, &v);
	assert_int_equal(v.severity_id, 5);
	assert_true(strlen(v.title) < sizeof(v.title));
	assert_true(strlen(v.why) < sizeof(v.why));
}

/* --- finding__build ------------------------------------------------------ */

#define BOOT_ID "0f6c1f3a-9a51-4d0e-8b43-2a6f1e9b7c55"
#define T0 1718000000000ULL

struct fixture {
	struct signals s;
	struct verdict v;
	struct finding_in in;
	char uid[37];
	char *cmdline;
};

static void build_input(struct fixture *f)
{
	static const char args[] = "/opt/.cache/xmrig\0-o\0pool.example.org:3333\0-u\0"
				   "48HtAQnqxQN2FmkLzf8x4TPpLkf6C82DM1GLLuTSEuWgkojQ\0--tls";

	memset(f, 0, sizeof(*f));
	base_signals(&f->s);
	with_proto(&f->s);
	with_cpu(&f->s);
	with_conn(&f->s);
	snprintf(f->s.name, sizeof(f->s.name), "xmrig");
	correlator__judge(&cfg, &f->s, &f->v);
	finding__uid(BOOT_ID, 4242, 424242, f->uid);

	f->in.activity = FINDING_CREATE;
	f->in.uid = f->uid;
	f->in.time_ms = T0 + 5000;
	f->in.first_seen_ms = T0;
	f->in.last_seen_ms = T0 + 5000;
	f->in.verdict = &f->v;
	f->in.signals = &f->s;
	f->in.hostname = "ip-10-0-1-23.ec2.internal";
	f->in.boot_id = BOOT_ID;
	f->in.os_name = "Amazon Linux";
	f->in.kernel_release = "6.1.92-99.174.amzn2023.x86_64";
	f->in.instance_missing = "IMDS disabled by configuration";
	f->in.pid = 4242;
	f->in.comm = "xmrig";
	f->in.exe = "/opt/.cache/xmrig";
	f->in.cmdline = args;
	f->in.cmdline_len = sizeof(args) - 1;
	f->in.sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	f->in.created_ms = T0 - 60000;
	f->in.user_uid = 1000;
	f->in.user_name = "miner";
	f->in.ppid = 1;
	f->in.parent_comm = "systemd";
	f->in.cgroup_id = 7777;
	snprintf(f->in.peers[0].ip, sizeof(f->in.peers[0].ip), "203.0.113.7");
	f->in.peers[0].port = 3333;
	snprintf(f->in.peers[1].ip, sizeof(f->in.peers[1].ip), "2001:db8::7");
	f->in.peers[1].port = 443;
	f->in.npeers = 2;
}

static int setup_fixture(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	setup_cfg(NULL);
	build_input(f);
	*state = f;
	return 0;
}

static int teardown_fixture(void **state)
{
	struct fixture *f = *state;

	if (f)
		free(f->cmdline);
	free(f);
	return 0;
}

/* Follows "a/b/0/c": object keys, or array indices where the value is an array. */
static json_object *jpath(json_object *root, const char *path)
{
	char buf[256], *save = NULL, *tok;
	json_object *o = root;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && o; tok = strtok_r(NULL, "/", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			o = json_object_array_get_idx(o, (size_t)strtoul(tok, NULL, 10));
		} else if (!json_object_object_get_ex(o, tok, &o)) {
			o = NULL;
		}
	}
	if (!o)
		fail_msg("no %s in the finding", path);
	return o;
}

static int64_t jint(json_object *root, const char *path)
{
	json_object *o = jpath(root, path);

	assert_true(json_object_is_type(o, json_type_int));
	return json_object_get_int64(o);
}

static const char *jstr(json_object *root, const char *path)
{
	json_object *o = jpath(root, path);

	assert_true(json_object_is_type(o, json_type_string));
	return json_object_get_string(o);
}

/* One line, valid UTF-8, no control bytes, bounded, parses as a JSON object. */
static json_object *check_line(const char *line)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t len = strlen(line);
	json_object *root;

	assert_true(len > 0 && len < 64 * 1024);
	for (size_t i = 0; i < len;) {
		size_t n = text__utf8_seq_len(u + i, len - i);

		if (!n)
			fail_msg("invalid UTF-8 at offset %zu", i);
		if (n == 1 && u[i] < 0x20)
			fail_msg("control byte 0x%02x at offset %zu", u[i], i);
		i += n;
	}
	root = json_tokener_parse(line);
	assert_non_null(root);
	assert_true(json_object_is_type(root, json_type_object));
	return root;
}

static void test_build_fields(void **state)
{
	struct fixture *f = *state;
	char *line = finding__build(&f->in);
	json_object *root;

	assert_non_null(line);
	root = check_line(line);
	assert_int_equal(jint(root, "class_uid"), 2004);
	assert_int_equal(jint(root, "category_uid"), 2);
	assert_int_equal(jint(root, "activity_id"), FINDING_CREATE);
	assert_int_equal(jint(root, "type_uid"), 2004 * 100 + FINDING_CREATE);
	assert_int_equal(jint(root, "time"), (int64_t)(T0 + 5000));
	assert_int_equal(jint(root, "severity_id"), 5);
	assert_int_equal(jint(root, "severity_id"), f->v.severity_id);
	assert_int_equal(jint(root, "confidence_score"), f->v.confidence);
	assert_string_equal(jstr(root, "metadata/version"), "1.8.0");
	assert_string_equal(jstr(root, "metadata/product/name"), "minerwatch");
	assert_string_equal(jstr(root, "metadata/uid"), f->uid);
	assert_string_equal(jstr(root, "finding_info/uid"), f->uid);
	assert_int_equal(jint(root, "finding_info/first_seen_time"), (int64_t)T0);
	assert_string_equal(jstr(root, "finding_info/title"), f->v.title);
	assert_string_equal(jstr(root, "finding_info/desc"), f->v.why);
	assert_string_equal(jstr(root, "finding_info/attacks/0/technique/uid"), "T1496");

	assert_int_equal(jint(root, "evidences/0/process/pid"), 4242);
	assert_string_equal(jstr(root, "evidences/0/process/name"), "xmrig");
	assert_string_equal(jstr(root, "evidences/0/process/cmd_line"),
			    "/opt/.cache/xmrig -o pool.example.org:3333 -u "
			    "48HtAQnqxQN2FmkLzf8x4TPpLkf6C82DM1GLLuTSEuWgkojQ --tls");
	assert_string_equal(jstr(root, "evidences/0/process/file/name"), "xmrig");
	assert_string_equal(jstr(root, "evidences/0/process/file/path"), "/opt/.cache/xmrig");
	assert_string_equal(jstr(root, "evidences/0/process/file/hashes/0/value"), f->in.sha256);
	assert_string_equal(jstr(root, "evidences/0/process/user/uid"), "1000");
	assert_string_equal(jstr(root, "evidences/0/process/user/name"), "miner");
	assert_int_equal(jint(root, "evidences/0/process/parent_process/pid"), 1);
	assert_string_equal(jstr(root, "evidences/0/process/parent_process/name"), "systemd");
	assert_string_equal(jstr(root, "evidences/1/dst_endpoint/ip"), "203.0.113.7");
	assert_int_equal(jint(root, "evidences/1/dst_endpoint/port"), 3333);
	assert_string_equal(jstr(root, "evidences/2/dst_endpoint/ip"), "2001:db8::7");
	assert_int_equal(jint(root, "evidences/2/dst_endpoint/port"), 443);
	assert_int_equal(json_object_array_length(jpath(root, "evidences")), 3);

	assert_string_equal(jstr(root, "device/hostname"), "ip-10-0-1-23.ec2.internal");
	assert_string_equal(jstr(root, "device/os/name"), "Amazon Linux");
	assert_string_equal(jstr(root, "unmapped/protocol/name"), "stratum-v1");
	assert_string_equal(jstr(root, "unmapped/protocol/method"), "mining.subscribe");
	assert_int_equal(jint(root, "unmapped/connection/age_seconds"), 600);
	json_object_put(root);
	free(line);
}

static void test_build_activities(void **state)
{
	struct fixture *f = *state;
	static const enum finding_activity acts[] = { FINDING_CREATE, FINDING_UPDATE,
						      FINDING_CLOSE };

	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		json_object *root;
		char *line;

		f->in.activity = acts[i];
		line = finding__build(&f->in);
		assert_non_null(line);
		root = check_line(line);
		assert_int_equal(jint(root, "activity_id"), acts[i]);
		assert_int_equal(jint(root, "type_uid"), 200400 + acts[i]);
		json_object_put(root);
		free(line);
	}
}

/* Everything optional left out: still a complete finding. */
static void test_build_minimal(void **state)
{
	struct fixture *f = *state;
	json_object *root, *o;
	char *line;

	f->in.exe = "";
	f->in.cmdline = NULL;
	f->in.cmdline_len = 0;
	f->in.sha256 = NULL;
	f->in.user_name = NULL;
	f->in.ppid = 0;
	f->in.parent_comm = NULL;
	f->in.hostname = NULL;
	f->in.boot_id = NULL;
	f->in.os_name = NULL;
	f->in.kernel_release = NULL;
	f->in.instance_missing = NULL;
	f->in.npeers = 0;
	line = finding__build(&f->in);
	assert_non_null(line);
	root = check_line(line);
	assert_int_equal(jint(root, "evidences/0/process/pid"), 4242);
	assert_false(json_object_object_get_ex(jpath(root, "evidences/0/process"), "cmd_line",
					       &o));
	assert_false(json_object_object_get_ex(jpath(root, "evidences/0/process"), "file", &o));
	assert_string_equal(jstr(root, "device/os/name"), "Linux");
	assert_int_equal(json_object_array_length(jpath(root, "evidences")), 1);
	json_object_put(root);
	free(line);
}

static void fill_hostile_cmdline(struct fixture *f, size_t len)
{
	uint32_t x = 0xdeadbeef;

	f->cmdline = malloc(len);
	assert_non_null(f->cmdline);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		f->cmdline[i] = i % 97 == 0 ? '\0' : i % 89 == 0 ? '\n' : (char)x;
	}
	memcpy(f->cmdline, "xmrig\0--url\0\x1b]0;evil\x07\0\xff\xfe\0", 26);
	f->in.cmdline = f->cmdline;
	f->in.cmdline_len = len;
}

static void set_hostile(struct fixture *f)
{
	f->in.comm = "a\nb\x1b]0;evil\x07\xff\xfe";
	f->in.exe = "/tmp/\x1b[2J\xff/kthreadd\n";
	f->in.user_name = "\xc2\x9b" "31mroot";
	f->in.parent_comm = "\x7f\x01";
	f->in.hostname = "host\r\nX-Injected: 1";
	f->in.kernel_release = "6.1\xed\xa0\x80";
	snprintf(f->s.name, sizeof(f->s.name), "%s", f->in.comm);
	correlator__judge(&cfg, &f->s, &f->v);
	fill_hostile_cmdline(f, 128 * 1024);
}

static void test_build_hostile(void **state)
{
	struct fixture *f = *state;
	json_object *root;
	const char *cmd;
	char *line;

	set_hostile(f);
	line = finding__build(&f->in);
	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	root = check_line(line);
	assert_string_equal(jstr(root, "evidences/0/process/name"),
			    "a\\x0ab\\x1b]0;evil\\x07\\xff\\xfe");
	assert_string_equal(jstr(root, "evidences/0/process/file/path"),
			    "/tmp/\\x1b[2J\\xff/kthreadd\\x0a");
	assert_string_equal(jstr(root, "evidences/0/process/file/name"), "kthreadd\\x0a");
	assert_string_equal(jstr(root, "evidences/0/process/user/name"), "\\xc2\\x9b31mroot");
	assert_string_equal(jstr(root, "evidences/0/process/parent_process/name"), "\\x7f\\x01");
	assert_string_equal(jstr(root, "device/hostname"), "host\\x0d\\x0aX-Injected: 1");
	assert_string_equal(jstr(root, "device/os/kernel_release"), "6.1\\xed\\xa0\\x80");
	cmd = jstr(root, "evidences/0/process/cmd_line");
	assert_true(strncmp(cmd, "xmrig --url \\x1b]0;evil\\x07 \\xff\\xfe ", 37) == 0);
	assert_true(strlen(cmd) < 16 * 1024);
	assert_string_equal(cmd + strlen(cmd) - 3, "...");
	assert_null(strstr(jstr(root, "finding_info/title"), "\x1b"));
	assert_null(strchr(jstr(root, "finding_info/desc"), '\n'));
	json_object_put(root);
	free(line);
}

/* --- OCSF schema --------------------------------------------------------- */

static bool validator_path(char *out)
{
	const char *env = getenv("MW_OCSF_VALIDATE");

	if (env && env[0])
		snprintf(out, PATH_MAX, "%s", env);
	else
		snprintf(out, PATH_MAX, "../shared/tools/ocsf-validate");
	return access(out, X_OK) == 0 && !strchr(out, '\'');
}

static void validate(const char *validator, const char *line)
{
	char path[] = "/tmp/mw-unit-finding-XXXXXX.json", cmd[2 * PATH_MAX];
	int fd = mkstemps(path, 5), rc;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tu_write_file(path, line, strlen(line)), 0);
	snprintf(cmd, sizeof(cmd), "'%s' --quiet '%s' >/dev/null", validator, path);
	rc = system(cmd);
	if (rc != 0) {
		/* Again, to show what it objects to. */
		snprintf(cmd, sizeof(cmd), "'%s' '%s'", validator, path);
		if (system(cmd) == -1)
			print_error("cannot run %s\n", validator);
	}
	unlink(path);
	if (rc != 0)
		fail_msg("ocsf-validate rejected the finding (status %d): %s", rc, line);
}

static void test_ocsf_schema(void **state)
{
	struct fixture *f = *state;
	char validator[PATH_MAX], *lines[3];

	if (!validator_path(validator)) {
		print_message("ocsf-validate not found at %s (set MW_OCSF_VALIDATE)\n", validator);
		skip();
	}
	lines[0] = finding__build(&f->in);
	f->in.activity = FINDING_CLOSE;
	set_hostile(f);
	lines[1] = finding__build(&f->in);
	f->in.activity = FINDING_UPDATE;
	f->in.exe = "";
	f->in.sha256 = NULL;
	f->in.user_name = NULL;
	f->in.ppid = 0;
	f->in.npeers = 0;
	lines[2] = finding__build(&f->in);
	for (int i = 0; i < 3; i++) {
		assert_non_null(lines[i]);
		validate(validator, lines[i]);
		free(lines[i]);
	}
}

/* --- finding__uid -------------------------------------------------------- */

static void assert_uuid_shaped(const char *u)
{
	assert_int_equal(strlen(u), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else if (!isxdigit((unsigned char)u[i]) || isupper((unsigned char)u[i]))
			fail_msg("\"%s\": not lower-case hex at %d", u, i);
	}
	assert_int_equal(u[14], '5');                      /* version */
	assert_non_null(strchr("89ab", u[19]));            /* RFC 4122 variant */
}

/* Leaves a pattern on the stack below the caller, then computes a uid. */
static __attribute__((noinline)) void uid_after_noise(unsigned char noise, const char *boot,
						      uint32_t pid, uint64_t ticks, char out[37])
{
	volatile unsigned char junk[2048];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = noise;
	(void)junk[noise];
	finding__uid(boot, pid, ticks, out);
}

static void test_uid(void **state)
{
	char a[37], b[37], c[37], d[37], e[37];

	(void)state;
	finding__uid(BOOT_ID, 4242, 424242, a);
	finding__uid(BOOT_ID, 4242, 424242, b);
	assert_uuid_shaped(a);
	assert_string_equal(a, b);

	finding__uid(BOOT_ID, 4242, 424243, c);    /* pid reused later */
	assert_uuid_shaped(c);
	assert_string_not_equal(a, c);
	finding__uid(BOOT_ID, 4243, 424242, d);
	assert_string_not_equal(a, d);
	finding__uid("9d7e5c1b-0000-4000-8000-000000000000", 4242, 424242, e);
	assert_string_not_equal(a, e);
	finding__uid("", 0, 0, e);
	assert_uuid_shaped(e);
	finding__uid(BOOT_ID, UINT32_MAX, UINT64_MAX, e);
	assert_uuid_shaped(e);
}

/* Whatever was on the stack before, a long boot id gives one uid. */
static void test_uid_long_boot_id(void **state)
{
	char boot[300], a[37], b[37];
	bool stable;

	(void)state;
	memset(boot, 'b', sizeof(boot) - 1);
	boot[sizeof(boot) - 1] = '\0';
	uid_after_noise(0x00, boot, 4242, 424242, a);
	uid_after_noise(0xff, boot, 4242, 424242, b);
	assert_uuid_shaped(a);
	assert_uuid_shaped(b);
	stable = strcmp(a, b) == 0;
	MW_FAIL_IF(!stable, "finding__uid hashes snprintf's would-be length: a boot id over "
			      "~100 bytes reads past its 128-byte key buffer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_judge_protocol, setup_cfg),
		cmocka_unit_test_setup(test_judge_behaviour, setup_cfg),
		cmocka_unit_test(test_per_minute),
		cmocka_unit_test_setup(test_judge_long_name, setup_cfg),
		cmocka_unit_test_setup_teardown(test_build_fields, setup_fixture, teardown_fixture),
		cmocka_unit_test_setup_teardown(test_build_activities, setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_build_minimal, setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_build_hostile, setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_ocsf_schema, setup_fixture, teardown_fixture),
		cmocka_unit_test(test_uid),
		cmocka_unit_test(test_uid_long_boot_id),
	};

	return cmocka_run_group_tests_name("finding", tests, NULL, NULL);
}
