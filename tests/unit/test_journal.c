// SPDX-License-Identifier: Apache-2.0
/*
 * The findings journal (journal__text/parse/save/load) and the sink's side of
 * durability: the journal hook, the pending lines, and the replay after a
 * restart that writes what an earlier run left queued exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "sink.h"

static const char UID1[] = "0a1b2c3d-0000-4000-8000-00000000a001";

static void sample(struct journal *j, struct journal_open *open, char **pending)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->boot_id, sizeof(j->boot_id), "6b1c0d0e-boot");
	memset(open, 0, sizeof(*open));
	memcpy(open->uid, UID1, sizeof(open->uid));
	open->pid = 4242;
	open->start_ticks = 123456789;
	open->first_seen_ms = 1718000000000ULL;
	open->last_seen_ms = 1718000005000ULL;
	open->last_emit_ms = 1718000005000ULL;
	open->severity_id = 4;
	open->signal_mask = 0x15;
	open->peers_reported = 2;
	open->line = "{\"class_uid\":2004,\"note\":\"line\\nwith \\u001b escapes\"}";
	j->open = open;
	j->nopen = 1;
	pending[0] = "{\"a\":1}";
	pending[1] = "{\"b\":\"\\u00e9\"}";
	j->pending = pending;
	j->npending = 2;
}

static void test_roundtrip(void **state)
{
	struct journal j, back;
	struct journal_open open;
	char *pending[2], err[256] = "", *text;

	(void)state;
	sample(&j, &open, pending);
	text = journal__text(&j);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	assert_int_equal(journal__parse(text, &back, err, sizeof(err)), 0);
	assert_string_equal(back.boot_id, j.boot_id);
	assert_int_equal(back.nopen, 1);
	assert_string_equal(back.open[0].uid, UID1);
	assert_int_equal(back.open[0].pid, 4242);
	assert_int_equal(back.open[0].start_ticks, 123456789);
	assert_int_equal(back.open[0].first_seen_ms, 1718000000000ULL);
	assert_int_equal(back.open[0].last_seen_ms, 1718000005000ULL);
	assert_int_equal(back.open[0].last_emit_ms, 1718000005000ULL);
	assert_int_equal(back.open[0].severity_id, 4);
	assert_int_equal(back.open[0].signal_mask, 0x15);
	assert_int_equal(back.open[0].peers_reported, 2);
	assert_string_equal(back.open[0].line, open.line);
	assert_int_equal(back.npending, 2);
	assert_string_equal(back.pending[0], pending[0]);
	assert_string_equal(back.pending[1], pending[1]);
	journal__free(&back);
	free(text);
}

static void expect_bad(const char *text)
{
	struct journal j;
	char err[256] = "";

	if (journal__parse(text, &j, err, sizeof(err)) == 0)
		fail_msg("accepted: %s", text);
	assert_true(err[0]);
	assert_null(j.open);
	assert_null(j.pending);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_bad("");
	expect_bad("not json");
	expect_bad("[]");
	expect_bad("{\"version\":1,\"boot_id\":\"b\",\"open\":[]}");
	expect_bad("{\"version\":2,\"boot_id\":\"b\",\"open\":[],\"pending\":[]}");
	expect_bad("{\"version\":1,\"boot_id\":7,\"open\":[],\"pending\":[]}");
	expect_bad("{\"version\":1,\"boot_id\":\"b\",\"open\":[],\"pending\":[3]}");
	expect_bad("{\"version\":1,\"boot_id\":\"b\",\"open\":[],\"pending\":[\"a\\nb\"]}");
	expect_bad("{\"version\":1,\"boot_id\":\"b\",\"open\":[{\"uid\":\"short\"}],\"pending\":[]}");
	/* A negative pid, a severity out of range, a pid above 32 bits. */
	{
		static const char *const fields[] = {
			"\"pid\":-1", "\"pid\":4294967296", "\"severity_id\":9",
		};

		for (size_t i = 0; i < 3; i++) {
			char text[1024];

			snprintf(text, sizeof(text),
				 "{\"version\":1,\"boot_id\":\"b\",\"pending\":[],\"open\":[{"
				 "\"uid\":\"%s\",\"start_ticks\":1,\"first_seen_ms\":1,"
				 "\"last_seen_ms\":1,\"last_emit_ms\":1,\"signal_mask\":1,"
				 "\"peers_reported\":0,\"line\":\"{}\",%s%s}]}",
				 UID1, fields[i],
				 i < 2 ? ",\"severity_id\":3" : ",\"pid\":1");
			expect_bad(text);
		}
	}
}

static char dir[] = "/tmp/mw-journal-XXXXXX";

static int setup_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/mw-journal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_save_load(void **state)
{
	struct journal j, back;
	struct journal_open open;
	char *pending[2], err[256] = "", path[512];
	struct stat sb;

	(void)state;
	assert_int_equal(journal__load(dir, &back, err, sizeof(err)), -ENOENT);
	sample(&j, &open, pending);
	assert_int_equal(journal__save(dir, &j), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, JOURNAL_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(journal__load(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nopen, 1);
	assert_int_equal(back.npending, 2);
	journal__free(&back);
	/* Replaced, not appended: an empty journal reads back empty. */
	j.nopen = 0;
	j.npending = 0;
	assert_int_equal(journal__save(dir, &j), 0);
	assert_int_equal(journal__load(dir, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nopen, 0);
	assert_int_equal(back.npending, 0);
	journal__free(&back);
	/* A torn or foreign file is refused with a reason, not half read. */
	{
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		fputs("{\"version\":1,\"boot_id\":\"b\",\"open\":[", fp);
		fclose(fp);
	}
	assert_int_not_equal(journal__load(dir, &back, err, sizeof(err)), 0);
	assert_true(err[0]);
}

/* --- the sink ------------------------------------------------------------ */

struct seen {
	int calls;
	size_t pending_at_last_call;
	struct sink *s;
};

static void count_pending(char *line, void *arg)
{
	free(line);
	(*(size_t *)arg)++;
}

static void on_journal(void *arg)
{
	struct seen *w = arg;

	w->calls++;
	w->pending_at_last_call = 0;
	sink__each_pending(w->s, count_pending, &w->pending_at_last_call);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void test_sink_journal_hook(void **state)
{
	char path[512], err[256];
	struct sink *s;
	struct seen w = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/out.jsonl", dir);
	assert_int_equal(sink__open(path, 1 << 20, &s, err, sizeof(err)), 0);
	w.s = s;
	sink__set_journal(s, on_journal, &w);
	assert_int_equal(sink__write(s, "{\"n\":1}"), 0);
	/* Once with the line queued (before the write), once after it is written. */
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.pending_at_last_call, 0);
	assert_string_equal(slurp(path), "{\"n\":1}\n");
	sink__close(s);
}

static void test_sink_replay_writes_once(void **state)
{
	char path[512], err[256];
	struct sink *s;
	char *lines[3] = { "{\"n\":2}", "{\"n\":3}", "{\"n\":4}" };
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/replay.jsonl", dir);
	/*
	 * An earlier run wrote n=1 and n=2 and was killed before it struck
	 * n=2 from its journal; n=3 and n=4 it never wrote. "{\"n\":3}" also
	 * appears inside a longer line, which is not the same record.
	 */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"n\":1}\n{\"x\":{\"n\":3}}\n{\"n\":2}\n", fp);
	fclose(fp);
	assert_int_equal(sink__open(path, 1 << 20, &s, err, sizeof(err)), 0);
	assert_int_equal(sink__replay(s, lines, 3), 1);
	assert_string_equal(slurp(path),
			    "{\"n\":1}\n{\"x\":{\"n\":3}}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
	sink__close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test_setup_teardown(test_save_load, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_sink_journal_hook, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_sink_replay_writes_once, setup_dir,
						teardown_dir),
	};

	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
