// SPDX-License-Identifier: Apache-2.0
/*
 * minerwatchd configuration: defaults, the one setter every source goes
 * through, the INI file loader and the AWS environment conventions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "testutil.h"

static void test_defaults(void **state)
{
	struct config c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	config__defaults(&c);
	assert_string_equal(c.output, "/var/log/minerwatch/findings.jsonl");
	assert_string_equal(c.socket, "/run/minerwatch/minerwatch.sock");
	assert_string_equal(c.state_dir, "/var/lib/minerwatch");
	assert_string_equal(c.host_root, "/");
	assert_string_equal(c.imds_endpoint, "");
	assert_string_equal(config__imds_endpoint(&c), "http://169.254.169.254");
	assert_int_equal(c.imds_timeout_ms, 300);
	assert_int_equal(c.imds_token_ttl_s, 21600);
	assert_false(c.imds_v1_fallback);
	assert_false(c.ecs_disabled);
	assert_string_equal(c.ecs_agent_url, "http://127.0.0.1:51678");
	assert_string_equal(c.btf, "");
	assert_string_equal(c.cgroup_root, "");
	assert_false(c.imds_disabled);
	assert_int_equal(c.format, FORMAT_OCSF);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.hooks, HOOK_AUTO);
	assert_int_equal(c.cpu_sample_hz, 99);
	assert_int_equal(c.ringbuf_kib, 1024);
	assert_int_equal(c.max_processes, 65536);
	assert_int_equal(c.max_connections, 16384);
	assert_int_equal(c.update_interval_s, 60);
	assert_true(c.detect.cpu_busy_cores > 0.79 && c.detect.cpu_busy_cores < 0.81);
	assert_int_equal(c.detect.cpu_window_s, 10);
	assert_int_equal(c.detect.long_conn_s, 30);
	assert_int_equal(c.detect.low_rate_bpm, 65536);
	assert_int_equal(c.detect.medium_score, 55);
	assert_int_equal(c.detect.high_score, 90);
	assert_true(c.npool_ports > 10);
	for (size_t i = 1; i < c.npool_ports; i++)
		assert_true(c.pool_ports[i - 1] < c.pool_ports[i]);
	assert_non_null(strstr(c.miner_names, "xmrig"));
	assert_string_equal(c.pool_names_file, "/etc/minerwatch/pool-names.txt");
	assert_false(c.pool_names_file_set);
}

static void test_detection_keys(void **state)
{
	char err[256];
	struct config c;

	(void)state;
	config__defaults(&c);
	assert_int_equal(config__set(&c, "pool_ports", "4444, 3333,80", err, sizeof(err)), 0);
	assert_int_equal(c.npool_ports, 3);
	assert_int_equal(c.pool_ports[0], 80);
	assert_int_equal(c.pool_ports[2], 4444);
	assert_int_equal(config__set(&c, "pool_ports", "3333,70000", err, sizeof(err)), -EINVAL);
	assert_int_equal(config__set(&c, "pool_ports", "33x", err, sizeof(err)), -EINVAL);
	assert_int_equal(config__set(&c, "weight_pool_name", "55", err, sizeof(err)), 0);
	assert_int_equal(c.detect.w_pool_name, 55);
	assert_int_equal(config__set(&c, "weight_wallet", "1001", err, sizeof(err)), -EINVAL);
	assert_int_equal(config__set(&c, "miner_names", "xmrig,foo-miner", err, sizeof(err)), 0);
	assert_int_equal(config__set(&c, "miner_names", "bad name", err, sizeof(err)), -EINVAL);
	assert_int_equal(config__set(&c, "cpu_steady_seconds", "4", err, sizeof(err)), -EINVAL);
	assert_int_equal(config__set(&c, "suppress_file", "/x/y", err, sizeof(err)), 0);
	assert_true(c.suppress_file_set);
}

static void set_ok(struct config *c, const char *key, const char *value)
{
	char err[256] = "";

	if (config__set(c, key, value, err, sizeof(err)))
		fail_msg("%s = \"%s\" rejected: %s", key, value, err);
}

/* Rejected, with a message naming the key; nothing else in c changes. */
static void set_bad(const char *key, const char *value, const char *msg_part)
{
	struct config before, c;
	char err[256] = "";

	config__defaults(&before);
	memcpy(&c, &before, sizeof(c)); /* padding too, for the comparison */
	if (config__set(&c, key, value, err, sizeof(err)) != -EINVAL)
		fail_msg("%s = \"%s\" accepted", key, value);
	if (!strstr(err, msg_part))
		fail_msg("%s = \"%s\": message \"%s\" lacks \"%s\"", key, value, err, msg_part);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_set_valid(void **state)
{
	struct config c;

	(void)state;
	config__defaults(&c);
	set_ok(&c, "output", "-");
	assert_string_equal(c.output, "-");
	set_ok(&c, "socket", "/run/mw/ctl.sock");
	assert_string_equal(c.socket, "/run/mw/ctl.sock");
	set_ok(&c, "state_dir", "/var/tmp/mw state");
	assert_string_equal(c.state_dir, "/var/tmp/mw state");
	set_ok(&c, "host_root", "/host");
	assert_string_equal(c.host_root, "/host");
	set_ok(&c, "btf", "/sys/kernel/btf/vmlinux");
	set_ok(&c, "cgroup_root", "/sys/fs/cgroup");
	assert_string_equal(c.cgroup_root, "/sys/fs/cgroup");
	set_ok(&c, "imds_endpoint", "http://[fd00:ec2::254]");
	assert_string_equal(c.imds_endpoint, "http://[fd00:ec2::254]");
	set_ok(&c, "ecs_agent_url", "http://ecs.internal:51678");
	assert_string_equal(c.ecs_agent_url, "http://ecs.internal:51678");

	set_ok(&c, "format", "asff");
	assert_int_equal(c.format, FORMAT_ASFF);
	set_ok(&c, "format", "ocsf");
	assert_int_equal(c.format, FORMAT_OCSF);
	set_ok(&c, "log_level", "debug");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	set_ok(&c, "log_level", "WARN");
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	set_ok(&c, "hooks", "tp_btf");
	assert_int_equal(c.hooks, HOOK_BTF);
	set_ok(&c, "hooks", "raw_tp");
	assert_int_equal(c.hooks, HOOK_RAW);
	set_ok(&c, "hooks", "auto");
	assert_int_equal(c.hooks, HOOK_AUTO);

	set_ok(&c, "cpu_sample_hz", "1");
	assert_int_equal(c.cpu_sample_hz, 1);
	set_ok(&c, "cpu_sample_hz", "1000");
	assert_int_equal(c.cpu_sample_hz, 1000);
	set_ok(&c, "ringbuf_kib", "64");
	assert_int_equal(c.ringbuf_kib, 64);
	set_ok(&c, "ringbuf_kib", "262144");
	assert_int_equal(c.ringbuf_kib, 262144);
	set_ok(&c, "max_processes", "256");
	assert_int_equal(c.max_processes, 256);
	set_ok(&c, "max_connections", "4194304");
	assert_int_equal(c.max_connections, 4194304);
	set_ok(&c, "update_interval_seconds", "86400");
	assert_int_equal(c.update_interval_s, 86400);
	set_ok(&c, "cpu_busy_cores", "1.5");
	assert_true(c.detect.cpu_busy_cores == 1.5);
	set_ok(&c, "cpu_window_seconds", "60");
	assert_int_equal(c.detect.cpu_window_s, 60);
	set_ok(&c, "long_connection_seconds", "1");
	assert_int_equal(c.detect.long_conn_s, 1);
	set_ok(&c, "low_rate_bytes_per_minute", "4294967295");
	assert_int_equal(c.detect.low_rate_bpm, 4294967295ULL);
}

static void test_set_invalid(void **state)
{
	char longpath[CFG_PATH_LEN + 16];

	(void)state;
	set_bad("colour", "blue", "unknown option \"colour\"");
	set_bad("", "x", "unknown option");
	set_bad("Output", "/tmp/x", "unknown option"); /* keys are case-sensitive */

	set_bad("output", "", "empty value");
	set_bad("state_dir", "", "empty value");
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	set_bad("output", longpath, "longer than");

	set_bad("cpu_sample_hz", "", "not a whole number");
	set_bad("cpu_sample_hz", "abc", "not a whole number");
	set_bad("cpu_sample_hz", "12abc", "not a whole number");
	set_bad("cpu_sample_hz", "1.5", "not a whole number");
	set_bad("cpu_sample_hz", "-5", "not a whole number");
	set_bad("cpu_sample_hz", "99999999999999999999999", "not a whole number");
	set_bad("cpu_sample_hz", "0", "out of range");
	set_bad("cpu_sample_hz", "1001", "out of range");
	set_bad("max_processes", "255", "out of range");
	set_bad("max_connections", "4194305", "out of range");
	set_bad("update_interval_seconds", "0", "out of range");
	set_bad("cpu_window_seconds", "61", "out of range");
	set_bad("long_connection_seconds", "86401", "out of range");
	set_bad("ringbuf_kib", "32", "out of range");
	set_bad("ringbuf_kib", "524288", "out of range");
	set_bad("ringbuf_kib", "3000", "not a power of two");
	set_bad("ringbuf_kib", "65", "not a power of two");

	set_bad("cpu_busy_cores", "lots", "not a number");
	set_bad("cpu_busy_cores", "", "not a number");
	set_bad("cpu_busy_cores", "0.01", "out of range");
	set_bad("cpu_busy_cores", "2000", "out of range");
	set_bad("cpu_busy_cores", "nan", "out of range");
	set_bad("cpu_busy_cores", "1e999", "not a number");

	set_bad("format", "json", "not one of the accepted values");
	set_bad("format", "OCSF", "not one of the accepted values");
	set_bad("log_level", "verbose", "not one of the accepted values");
	set_bad("hooks", "kprobe", "not one of the accepted values");
	set_bad("hooks", "", "not one of the accepted values");

	set_bad("imds_endpoint", "169.254.169.254", "not an http:// URL");
	set_bad("imds_endpoint_mode", "ipv5", "not one of the accepted values");
	set_bad("imds", "maybe", "not true or false");
	set_bad("imds_timeout_ms", "10", "out of range");
	set_bad("imds_token_ttl_seconds", "21601", "out of range");
	set_bad("ecs_timeout_ms", "0", "out of range");
	set_bad("context_wait_ms", "30001", "out of range");
	set_bad("imds_endpoint", "ftp://169.254.169.254", "not an http:// URL");
	set_bad("ecs_agent_url", "HTTP://x", "not an http:// URL");
	set_bad("ecs_agent_url", "", "not an http:// URL");
	set_bad("ecs_agent_url", "https://ecs.internal:51678", "https is not supported");
	set_bad("imds_endpoint", "https://169.254.169.254", "https is not supported");
}

/* A rejected value must leave the previous one in place. */
static void test_set_invalid_keeps_value(void **state)
{
	struct config c;
	char err[256];
	uint64_t after;

	(void)state;
	config__defaults(&c);
	set_ok(&c, "low_rate_bytes_per_minute", "1000");
	/* Leave something else in the setter's stack frame first. */
	set_ok(&c, "ringbuf_kib", "128");
	assert_int_equal(config__set(&c, "low_rate_bytes_per_minute", "many", err, sizeof(err)),
			 -EINVAL);
	after = c.detect.low_rate_bpm;
	assert_int_equal(config__set(&c, "low_rate_bytes_per_minute", "0", err, sizeof(err)),
			 -EINVAL);
	MW_FAIL_IF(after != 1000 || c.detect.low_rate_bpm != 1000,
		     "config__set(low_rate_bytes_per_minute) stores an uninitialised value when "
		     "the number is rejected");
}

/* --- files --------------------------------------------------------------- */

struct tmpconf {
	char path[PATH_MAX];
};

static int setup_file(void **state)
{
	struct tmpconf *t = calloc(1, sizeof(*t));
	int fd;

	if (!t)
		return -1;
	snprintf(t->path, sizeof(t->path), "/tmp/mw-unit-conf-XXXXXX");
	fd = mkstemp(t->path);
	if (fd < 0) {
		free(t);
		return -1;
	}
	close(fd);
	*state = t;
	return 0;
}

static int teardown_file(void **state)
{
	struct tmpconf *t = *state;

	if (t) {
		unlink(t->path);
		free(t);
	}
	return 0;
}

static int load(struct tmpconf *t, const char *text, struct config *c, char *err, size_t errsz)
{
	assert_int_equal(tu_write_str(t->path, text), 0);
	config__defaults(c);
	err[0] = '\0';
	return config__load_file(c, t->path, true, err, errsz);
}

/* Loads text that must fail at line; the message is "PATH:LINE: reason". */
static void load_bad(struct tmpconf *t, const char *text, int line, const char *reason)
{
	char err[512], want[PATH_MAX + 32];
	struct config c;

	assert_int_equal(load(t, text, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%d: ", t->path, line);
	if (strncmp(err, want, strlen(want)))
		fail_msg("message \"%s\" does not start with \"%s\"", err, want);
	if (!strstr(err, reason))
		fail_msg("message \"%s\" lacks \"%s\"", err, reason);
}

static void test_load_valid(void **state)
{
	struct tmpconf *t = *state;
	struct config c;
	char err[512];

	assert_int_equal(load(t,
			      "# minerwatchd settings\n"
			      "; another comment style\n"
			      "\n"
			      "[minerwatchd]\n"
			      "output = /var/log/mw/f.jsonl\n"
			      "format=asff\n"
			      "log_level   =   debug  \n"
			      "ringbuf_kib = 4096\n"
			      "cpu_busy_cores = 2.5\n"
			      "imds_endpoint = http://[fd00:ec2::254]\n"
			      "state_dir = /var/lib/mw ; trailing comment\n",
			      &c, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_string_equal(c.output, "/var/log/mw/f.jsonl");
	assert_int_equal(c.format, FORMAT_ASFF);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.ringbuf_kib, 4096);
	assert_true(c.detect.cpu_busy_cores == 2.5);
	assert_string_equal(c.imds_endpoint, "http://[fd00:ec2::254]");
	assert_string_equal(c.state_dir, "/var/lib/mw");
	/* Untouched keys keep their defaults. */
	assert_string_equal(c.socket, "/run/minerwatch/minerwatch.sock");
	assert_int_equal(c.cpu_sample_hz, 99);

	/* No section header at all; CRLF line ends. */
	assert_int_equal(load(t, "max_processes = 1024\r\nhooks = raw_tp\r\n", &c, err,
			      sizeof(err)),
			 0);
	assert_int_equal(c.max_processes, 1024);
	assert_int_equal(c.hooks, HOOK_RAW);

	/* Empty file and comments only. */
	assert_int_equal(load(t, "", &c, err, sizeof(err)), 0);
	assert_int_equal(load(t, "# nothing\n\n[minerwatchd]\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.output, "/var/log/minerwatch/findings.jsonl");
}

static void test_load_missing(void **state)
{
	struct tmpconf *t = *state;
	char err[512] = "", missing[PATH_MAX];
	struct config c;

	snprintf(missing, sizeof(missing), "%s.does-not-exist", t->path);
	config__defaults(&c);
	assert_int_equal(config__load_file(&c, missing, false, err, sizeof(err)), 0);
	assert_string_equal(c.output, "/var/log/minerwatch/findings.jsonl");

	assert_int_equal(config__load_file(&c, missing, true, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, missing));
}

static void test_load_errors(void **state)
{
	struct tmpconf *t = *state;

	load_bad(t, "[minerwatchd]\noutput = /tmp/x\n\n# c\nwhat = 1\nformat = asff\n", 5,
		 "unknown option \"what\"");
	load_bad(t, "colour = red\n", 1, "unknown option \"colour\"");
	load_bad(t, "[minerwatchd]\nformat = asff\n[daemon]\noutput = /tmp/x\n", 4,
		 "unknown section [daemon]");
	load_bad(t, "format = asff\nthis line has no equals sign\nhooks = auto\n", 2,
		 "syntax error");
	load_bad(t, "[minerwatchd\noutput = /tmp/x\n", 1, "syntax error");
	load_bad(t, "# ok\nringbuf_kib = 1000\n", 2, "not a power of two");
	load_bad(t, "cpu_sample_hz = fast\n", 1, "not a whole number");
	load_bad(t, "output =\n", 1, "empty value");
	/* Only the first error is reported. */
	load_bad(t, "a = 1\nb = 2\n", 1, "unknown option \"a\"");
}

/* The line number and the reason must describe the same line. */
static void test_load_error_consistent(void **state)
{
	struct tmpconf *t = *state;
	char err[512], want[PATH_MAX + 32];
	struct config c;
	bool consistent;

	assert_int_equal(load(t, "format = asff\nno equals here\nhooks = auto\nbogus = 1\n", &c,
			      err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:2: syntax error", t->path);
	consistent = strcmp(err, want) == 0;
	MW_FAIL_IF(!consistent, "config__load_file names the first bad line but the reason of "
				  "a later one (\"FILE:2: unknown option \\\"bogus\\\"\")");
}

static void test_load_long_line(void **state)
{
	struct tmpconf *t = *state;
	char text[600], err[512], path[300];
	struct config c;
	bool comment_ok;
	int e;

	/* A long comment is still a comment. */
	memset(text, '-', sizeof(text));
	memcpy(text, "# ", 2);
	snprintf(text + 250, sizeof(text) - 250, "\nformat = asff\n");
	e = load(t, text, &c, err, sizeof(err));
	comment_ok = e == 0 && c.format == FORMAT_ASFF;

	memset(path, 'd', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "output = %s\n", path);
	e = load(t, text, &c, err, sizeof(err));
	/* Either the whole value or an error: never a silently shortened path. */
	if (e == 0)
		assert_string_equal(c.output, path);
	MW_FAIL_IF(!comment_ok,
		     "config__load_file: a comment line over 200 bytes (inih's INI_MAX_LINE) is "
		     "read as two lines and fails as \"FILE:2: syntax error\"");
}

/* --- environment --------------------------------------------------------- */

static int clear_env(void **state)
{
	(void)state;
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	return 0;
}

static void test_env(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	config__defaults(&c);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_false(c.imds_disabled);
	assert_string_equal(config__imds_endpoint(&c), "http://169.254.169.254");

	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_string_equal(config__imds_endpoint(&c), "http://[fd00:ec2::254]");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_string_equal(config__imds_endpoint(&c), "http://169.254.169.254");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv5", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"));
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");

	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_true(c.imds_disabled);
	assert_string_equal(c.imds_disabled_by, "AWS_EC2_METADATA_DISABLED=true");

	config__defaults(&c);
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_true(c.imds_disabled);

	config__defaults(&c);
	setenv("AWS_EC2_METADATA_DISABLED", "false", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_false(c.imds_disabled);
	setenv("AWS_EC2_METADATA_DISABLED", "1", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_false(c.imds_disabled);
	unsetenv("AWS_EC2_METADATA_DISABLED");

	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://[fd00:ec2::254]", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_string_equal(c.imds_endpoint, "http://[fd00:ec2::254]");

	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), 0);
	assert_string_equal(c.imds_endpoint, "http://[fd00:ec2::254]");

	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254", 1);
	assert_int_equal(config__apply_env(&c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "AWS_EC2_METADATA_SERVICE_ENDPOINT"));
	assert_string_equal(c.imds_endpoint, "http://[fd00:ec2::254]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_detection_keys),
		cmocka_unit_test(test_set_valid),
		cmocka_unit_test(test_set_invalid),
		cmocka_unit_test(test_set_invalid_keeps_value),
		cmocka_unit_test_setup_teardown(test_load_valid, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_load_missing, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_load_errors, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_load_error_consistent, setup_file,
						teardown_file),
		cmocka_unit_test_setup_teardown(test_load_long_line, setup_file, teardown_file),
		cmocka_unit_test_setup_teardown(test_env, clear_env, clear_env),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
