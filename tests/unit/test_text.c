// SPDX-License-Identifier: Apache-2.0
/*
 * text__utf8_safe() and text__utf8_seq_len(): what attacker-controlled bytes
 * become before they are put in a finding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "text.h"

#define CANARY 0xee

/* Whole string valid UTF-8 with no control characters at all. */
static void assert_clean_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		size_t n = text__utf8_seq_len(u + i, len - i);

		if (!n)
			fail_msg("invalid UTF-8 at offset %zu of \"%s\"", i, s);
		if (n == 1)
			assert_true(u[i] >= 0x20 && u[i] != 0x7f);
		if (n == 2)
			assert_false(u[i] == 0xc2 && u[i + 1] <= 0x9f);
		i += n;
	}
}

/* Converts into a heap buffer of exactly outsz bytes followed by a canary. */
static bool convert(const void *in, size_t len, size_t outsz, char **ret)
{
	char *out = malloc(outsz + 1);
	bool fit;

	assert_non_null(out);
	memset(out, CANARY, outsz + 1);
	fit = text__utf8_safe(in, len, out, outsz);
	assert_int_equal((unsigned char)out[outsz], CANARY);
	if (outsz)
		assert_non_null(memchr(out, '\0', outsz));
	*ret = out;
	return fit;
}

static void expect(const void *in, size_t len, const char *want)
{
	char *out;

	assert_true(convert(in, len, 256, &out));
	assert_string_equal(out, want);
	assert_clean_utf8(out);
	free(out);
}

/* For literals, which may hold NUL bytes. */
#define EXPECT(lit, want) expect(lit, sizeof(lit) - 1, want)

static void test_valid_unchanged(void **state)
{
	static const char *const valid[] = {
		"",
		"xmrig --donate-level 1 -o pool.example.org:443",
		"h\xc3\xa9llo w\xc3\xb6rld",           /* héllo wörld */
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", /* three CJK characters */
		"\xf0\x9f\x98\x80 grin",                /* U+1F600 */
		"\xc2\xa0nbsp",                         /* U+00A0, first after C1 */
		"\xdf\xbf",                             /* U+07FF */
		"\xe0\xa0\x80",                         /* U+0800, shortest 3-byte */
		"\xed\x9f\xbf",                         /* U+D7FF, just below surrogates */
		"\xee\x80\x80",                         /* U+E000, just above them */
		"\xef\xbf\xbf",                         /* U+FFFF */
		"\xf0\x90\x80\x80",                     /* U+10000 */
		"\xf4\x8f\xbf\xbf",                     /* U+10FFFF */
		"\xe2\x80\xa8",                         /* U+2028 is not a control */
		"~ !\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		expect(valid[i], strlen(valid[i]), valid[i]);
}

static void test_invalid_bytes(void **state)
{
	(void)state;
	EXPECT("\xff", "\\xff");
	EXPECT("\xfe\xff", "\\xfe\\xff");
	EXPECT("a\x80z", "a\\x80z");                 /* lone continuation */
	EXPECT("\xbf\xbf", "\\xbf\\xbf");
	EXPECT("end\xc3", "end\\xc3");               /* lead byte, input ends */
	EXPECT("\xc3(", "\\xc3(");                   /* lead byte, no continuation */
	EXPECT("\xe6\x97", "\\xe6\\x97");            /* 3-byte sequence cut short */
	EXPECT("\xe6\x97z", "\\xe6\\x97z");
	EXPECT("\xf0\x9f\x98", "\\xf0\\x9f\\x98");   /* 4-byte sequence cut short */
	EXPECT("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	EXPECT("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	/* Valid text resumes right after the bad byte. */
	EXPECT("\xff\xc3\xa9", "\\xff\xc3\xa9");
}

static void test_controls(void **state)
{
	(void)state;
	EXPECT("\t\n\r", "\\x09\\x0a\\x0d");
	EXPECT("\x01\x1f", "\\x01\\x1f");
	EXPECT("a\x7f" "b", "a\\x7fb");
	EXPECT("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	EXPECT("\x1b]0;evil\x07", "\\x1b]0;evil\\x07");
	EXPECT("\x08\x08\x08ok", "\\x08\\x08\\x08ok");
	/* C1 controls are valid UTF-8 but act like ESC sequences on terminals. */
	EXPECT("\xc2\x80", "\\xc2\\x80");
	EXPECT("\xc2\x9b" "31m", "\\xc2\\x9b31m");   /* CSI */
	EXPECT("\xc2\x9d" "0;x\xc2\x9c", "\\xc2\\x9d0;x\\xc2\\x9c");
	EXPECT("\xc2\x9f", "\\xc2\\x9f");
}

static void test_nul_is_space(void **state)
{
	(void)state;
	EXPECT("xmrig\0-o\0pool:3333", "xmrig -o pool:3333");
	EXPECT("\0", " ");
	EXPECT("\0\0a", "  a");
}

static void test_overlong_and_surrogates(void **state)
{
	(void)state;
	EXPECT("\xc0\xaf", "\\xc0\\xaf");                 /* '/' in two bytes */
	EXPECT("\xc1\xbf", "\\xc1\\xbf");
	EXPECT("\xc0\x80", "\\xc0\\x80");                 /* "modified UTF-8" NUL */
	EXPECT("\xe0\x80\xaf", "\\xe0\\x80\\xaf");
	EXPECT("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");        /* U+07FF in three bytes */
	EXPECT("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
	EXPECT("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"); /* U+FFFF in four bytes */
	EXPECT("\xed\xa0\x80", "\\xed\\xa0\\x80");        /* U+D800 */
	EXPECT("\xed\xbf\xbf", "\\xed\\xbf\\xbf");        /* U+DFFF */
	EXPECT("\xed\xa0\xbd\xed\xb8\x80", "\\xed\\xa0\\xbd\\xed\\xb8\\x80"); /* CESU-8 */
}

static void test_seq_len(void **state)
{
	static const struct {
		const char *s;
		size_t avail;
		size_t want;
	} cases[] = {
		{ "a", 1, 1 },
		{ "\x7f", 1, 1 },
		{ "\xc2\x80", 2, 2 },
		{ "\xc2\x80", 1, 0 },          /* truncated */
		{ "\xdf\xbf", 2, 2 },
		{ "\xe0\xa0\x80", 3, 3 },
		{ "\xe0\xa0\x80", 2, 0 },
		{ "\xf0\x90\x80\x80", 4, 4 },
		{ "\xf0\x90\x80\x80", 3, 0 },
		{ "\xf4\x8f\xbf\xbf", 4, 4 },
		{ "\x80", 1, 0 },
		{ "\xc0\x80", 2, 0 },
		{ "\xc1\xbf", 2, 0 },
		{ "\xe0\x9f\xbf", 3, 0 },
		{ "\xed\xa0\x80", 3, 0 },
		{ "\xf0\x8f\xbf\xbf", 4, 0 },
		{ "\xf4\x90\x80\x80", 4, 0 },
		{ "\xf5\x80\x80\x80", 4, 0 },
		{ "\xff", 1, 0 },
		{ "\xc3\x28", 2, 0 },
		{ "\xe2\x28\xa1", 3, 0 },
		{ "\xf0\x9f\x98\x28", 4, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Exactly avail bytes on the heap, so nothing past them is read. */
		unsigned char *p = malloc(cases[i].avail);

		assert_non_null(p);
		memcpy(p, cases[i].s, cases[i].avail);
		if (text__utf8_seq_len(p, cases[i].avail) != cases[i].want)
			fail_msg("case %zu: want %zu", i, cases[i].want);
		free(p);
	}
}

/*
 * Input made of pieces whose escaped forms are known, so every place the
 * output may legally be cut is known: a truncated output must be a prefix of
 * the full output ending at one of those places, followed by "...".
 */
static const struct {
	const char *in;
	size_t inlen;
	const char *out;
} pieces[] = {
	{ "\xc3\xa9", 2, "\xc3\xa9" },
	{ "\xff", 1, "\\xff" },
	{ "a", 1, "a" },
	{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },
	{ "\x1b", 1, "\\x1b" },
	{ "\xe6\x97\xa5", 3, "\xe6\x97\xa5" },
	{ "\0", 1, " " },
	{ "\xc2", 1, "\\xc2" },  /* with the next: a C1 control, two escapes */
	{ "\x85", 1, "\\x85" },
};

#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))
#define ROUNDS 6

static void test_truncation(void **state)
{
	char in[ROUNDS * NPIECES * 4], full[ROUNDS * NPIECES * 8 + 1];
	size_t cuts[ROUNDS * NPIECES + 1], ncuts = 0, inlen = 0, flen = 0;

	(void)state;
	cuts[ncuts++] = 0;
	for (size_t r = 0; r < ROUNDS; r++) {
		for (size_t i = 0; i < NPIECES; i++) {
			memcpy(in + inlen, pieces[i].in, pieces[i].inlen);
			inlen += pieces[i].inlen;
			memcpy(full + flen, pieces[i].out, strlen(pieces[i].out));
			flen += strlen(pieces[i].out);
			cuts[ncuts++] = flen;
		}
	}
	full[flen] = '\0';

	for (size_t outsz = 1; outsz <= flen + 8; outsz++) {
		char *out;
		bool fit = convert(in, inlen, outsz, &out);
		size_t olen = strlen(out);

		assert_true(olen < outsz);
		assert_clean_utf8(out);
		if (fit) {
			assert_string_equal(out, full);
		} else if (outsz < 4) {
			assert_string_equal(out, ""); /* no room even for "..." */
		} else {
			size_t k = olen - 3;
			bool at_cut = false;

			assert_true(olen >= 3);
			assert_string_equal(out + k, "...");
			assert_memory_equal(out, full, k);
			for (size_t c = 0; c < ncuts; c++)
				at_cut |= cuts[c] == k;
			if (!at_cut)
				fail_msg("outsz %zu: cut at %zu splits a piece: \"%s\"", outsz, k,
					 out);
			/* Not wasteful: short by at most one piece and the "...". */
			assert_true(olen + 8 >= outsz);
		}
		free(out);
	}
}

static void test_tiny_buffers(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} inputs[] = {
		{ "abcdefghijklmnop", 16 },
		{ "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10 },
		{ "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 12 },
		{ "\xff\xfe\xfd\xfc\xfb", 5 },
		{ "\x1b]0;evil\x07", 9 },
		{ "\0\0\0\0\0\0\0\0\0\0", 10 },
		{ "\xc2\x9b\xc2\x9b", 4 },
		{ "a", 1 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		for (size_t outsz = 0; outsz <= 8; outsz++) {
			char *out;
			bool fit = convert(inputs[i].s, inputs[i].len, outsz, &out);

			if (outsz) {
				assert_true(strlen(out) < outsz);
				assert_clean_utf8(out);
				if (!fit && outsz >= 4)
					assert_string_equal(out + strlen(out) - 3, "...");
			} else {
				assert_false(fit); /* nowhere to put even the terminator */
			}
			free(out);
		}
	}
}

/* Long hostile input into a realistic buffer: bounded, terminated, clean. */
static void test_long_random(void **state)
{
	size_t len = 1 << 16;
	unsigned char *in = malloc(len);
	uint32_t x = 0x2545f491;
	char *out;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		in[i] = (unsigned char)x;
	}
	assert_false(convert(in, len, 8192, &out));
	assert_true(strlen(out) < 8192);
	assert_clean_utf8(out);
	free(out);
	free(in);
}

/*
 * "Returns true when the whole input fit": input that fits exactly (with its
 * terminator) must come out whole, not as "...".
 */
static void test_exact_fit(void **state)
{
	bool fit, whole_abc, whole_e;
	char *out;

	(void)state;
	/* Room to spare: always whole. */
	assert_true(convert("abc", 3, 8, &out));
	assert_string_equal(out, "abc");
	free(out);

	fit = convert("abc", 3, 4, &out);
	whole_abc = fit && !strcmp(out, "abc");
	free(out);
	fit = convert("\xc3\xa9", 2, 3, &out);
	whole_e = fit && !strcmp(out, "\xc3\xa9");
	free(out);
	MW_FAIL_IF(!whole_abc || !whole_e,
		     "text__utf8_safe keeps room for \"...\" even when the rest fits: "
		     "\"abc\" in 4 bytes becomes \"...\" and returns false");
	assert_true(whole_abc);
	assert_true(whole_e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_unchanged),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_nul_is_space),
		cmocka_unit_test(test_overlong_and_surrogates),
		cmocka_unit_test(test_seq_len),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_tiny_buffers),
		cmocka_unit_test(test_long_random),
		cmocka_unit_test(test_exact_fit),
	};

	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
