// SPDX-License-Identifier: Apache-2.0
/*
 * The pure IMDS parsers against recorded replies in tests/corpus/imds:
 *
 *   identity-*              instance identity documents as the service sends
 *                           them (x86_64 in us-east-1, a Graviton arm64
 *                           instance, cn-north-1, us-gov-west-1, the 8-digit
 *                           ids of older instances, CRLF line ends)
 *   bad-*                   replies that must be refused: not JSON, cut
 *                           short, not an object, a bad or missing required
 *                           field, data after the object, NUL bytes
 *   hostile-*               documents whose required fields are fine but
 *                           whose optional ones carry escapes, control
 *                           characters or the wrong JSON type: parsed, with
 *                           those fields dropped rather than kept
 *   hostname-*, local-ipv4* meta-data text replies
 *
 * The expected result of each file is in the tables below and every file of
 * the directory must be in one of them. Accounts, ids and addresses were made
 * up for the corpus. Inputs are handed over in heap buffers of exactly their
 * length, so a read past the end shows up under valgrind or ASan. The
 * document too large to keep (over IMDS_MAX_DOC) is generated here.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "imds.h"
#include "testutil.h"

struct id_case {
	const char *file;
	int ret;
	const char *account;
	const char *region;
	const char *zone;
	const char *instance_id;
	const char *image_id;
	const char *instance_type;
	const char *arch;
	const char *private_ip;
	const char *partition;
};

#define DOC(f, acct, region, zone, iid, ami, type, arch, ip, part) \
	{ f, 0, acct, region, zone, iid, ami, type, arch, ip, part }
#define BAD(f) { f, -1, "", "", "", "", "", "", "", "", "" }
/* The us-east-1 document's required fields, with every optional one dropped. */
#define STRIPPED(f) DOC(f, "123456789012", "us-east-1", "", "i-0a1b2c3d4e5f60718", "", "", "", \
			"", "aws")

static const struct id_case id_cases[] = {
	DOC("identity-x86_64-us-east-1.json", "123456789012", "us-east-1", "us-east-1c",
	    "i-0a1b2c3d4e5f60718", "ami-0e3f5a7c9b1d24680", "m5.xlarge", "x86_64", "10.0.1.23",
	    "aws"),
	DOC("identity-graviton-arm64-us-west-2.json", "123456789012", "us-west-2", "us-west-2b",
	    "i-09f8e7d6c5b4a3921", "ami-07d1c5e9a3b2f4608", "c7g.2xlarge", "arm64", "172.31.40.7",
	    "aws"),
	DOC("identity-cn-north-1.json", "210987654321", "cn-north-1", "cn-north-1a",
	    "i-0c2d4e6f8a0b1c3d5", "ami-0b6a3c1d2e4f59788", "t3.medium", "x86_64", "10.20.3.4",
	    "aws-cn"),
	DOC("identity-us-gov-west-1.json", "345678901234", "us-gov-west-1", "us-gov-west-1a",
	    "i-0f1e2d3c4b5a69788", "ami-05e4d3c2b1a098765", "m6i.large", "x86_64", "10.100.0.12",
	    "aws-us-gov"),
	DOC("identity-short-ids.json", "123456789012", "eu-west-1", "eu-west-1a", "i-5e6f7a8b",
	    "ami-1a2b3c4d", "m3.medium", "x86_64", "10.0.0.5", "aws"),
	DOC("identity-crlf.json", "123456789012", "us-east-1", "us-east-1c", "i-0a1b2c3d4e5f60718",
	    "ami-0e3f5a7c9b1d24680", "m5.xlarge", "x86_64", "10.0.1.23", "aws"),

	BAD("bad-empty.txt"),
	BAD("bad-not-json.txt"),
	BAD("bad-plain-text.txt"),
	BAD("bad-truncated.json"),
	BAD("bad-array.json"),
	BAD("bad-string.json"),
	BAD("bad-account-11-digits.json"),
	BAD("bad-account-13-digits.json"),
	BAD("bad-account-number.json"),
	BAD("bad-account-letters.json"),
	BAD("bad-account-nul-escape.json"),
	BAD("bad-instance-id-nonhex.json"),
	BAD("bad-instance-id-quote.json"),
	BAD("bad-instance-id-newline.json"),
	BAD("bad-instance-id-prefix.json"),
	BAD("bad-instance-id-too-long.json"),
	BAD("bad-region-missing.json"),
	BAD("bad-region-null.json"),
	BAD("bad-region-escape.json"),
	BAD("bad-trailing-garbage.json"),
	BAD("bad-two-objects.json"),
	BAD("bad-embedded-nul.json"),
	BAD("bad-nul-after-object.json"),

	STRIPPED("hostile-optional-escapes.json"),
	STRIPPED("hostile-optional-nul-escape.json"),
	STRIPPED("hostile-optional-types.json"),
	STRIPPED("hostile-optional-raw-controls.json"),
};

#define NID (sizeof(id_cases) / sizeof(id_cases[0]))

/* meta-data text replies: which parser, and what it must give. */
struct text_case {
	const char *file;
	bool ipv4;
	const char *want;
};

static const struct text_case text_cases[] = {
	{ "hostname-ip-name.txt", false, "ip-10-0-1-23.ec2.internal" },
	{ "hostname-resource-name.txt", false, "i-09f8e7d6c5b4a3921.us-west-2.compute.internal" },
	{ "local-ipv4.txt", true, "10.0.1.23" },
};

#define NTEXT (sizeof(text_cases) / sizeof(text_cases[0]))

static char corpus[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return tu_corpus_setup("imds", corpus);
}

static void read_case(const char *name, unsigned char **buf, size_t *len)
{
	tu_read_case(corpus, name, buf, len);
}

/* A heap copy of exactly len bytes (1 when len is 0), no terminator. */
static char *exact(const void *data, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, data, len);
	return p;
}

static bool all_of(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static bool nul_filled_after(const char *field, size_t size)
{
	size_t n = strnlen(field, size);

	if (n == size)
		return false;
	for (size_t i = n; i < size; i++)
		if (field[i])
			return false;
	return true;
}

/* Whatever the input: all empty on failure, well-formed fields on success. */
static void check_sane(int r, const struct instance_info *in, const char *err)
{
	static const struct instance_info empty;

	assert_true(r == 0 || r == -1);
	if (r) {
		MW_FAIL_IF(memcmp(in, &empty, sizeof(*in)), "a refused document left fields set");
		MW_FAIL_IF(!err[0], "a refused document without a reason");
		return;
	}
	MW_FAIL_IF(strlen(in->account_id) != 12 || !all_of(in->account_id, "0123456789"),
		   "accountId is not 12 digits");
	MW_FAIL_IF(!in->region[0] || !all_of(in->region, "abcdefghijklmnopqrstuvwxyz0123456789-"),
		   "region is not a region");
	MW_FAIL_IF(strncmp(in->instance_id, "i-", 2) ||
			   !all_of(in->instance_id + 2, "0123456789abcdef"),
		   "instanceId is not i- and hex");
	MW_FAIL_IF(strcmp(in->partition, imds__partition(in->region)),
		   "partition does not follow the region");
	MW_FAIL_IF(!all_of(in->zone, "abcdefghijklmnopqrstuvwxyz0123456789-"), "zone chars");
	MW_FAIL_IF(in->image_id[0] && (strncmp(in->image_id, "ami-", 4) ||
				       !all_of(in->image_id + 4, "0123456789abcdef")),
		   "imageId is not ami- and hex");
	MW_FAIL_IF(!all_of(in->instance_type, "abcdefghijklmnopqrstuvwxyz0123456789.-"),
		   "instanceType chars");
	MW_FAIL_IF(!all_of(in->architecture, "abcdefghijklmnopqrstuvwxyz0123456789_"),
		   "architecture chars");
	MW_FAIL_IF(!all_of(in->private_ip, "0123456789."), "privateIp chars");
	/* The document never fills what meta-data/ replies are for. */
	assert_string_equal(in->hostname, "");
	assert_string_equal(in->local_ipv4, "");
	/* Every field terminated inside its buffer. */
	assert_true(nul_filled_after(in->account_id, sizeof(in->account_id)));
	assert_true(nul_filled_after(in->instance_id, sizeof(in->instance_id)));
	assert_true(nul_filled_after(in->zone, sizeof(in->zone)));
}

static void expect_field(const char *file, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("%s: %s \"%s\", want \"%s\"", file, what, got, want);
}

static void expect_id(const struct id_case *k, int r, const struct instance_info *in,
		      const char *err)
{
	if (r != k->ret)
		fail_msg("%s: imds__parse_identity returned %d, want %d (%s)", k->file, r, k->ret,
			 r ? err : "accepted");
	check_sane(r, in, err);
	expect_field(k->file, "accountId", in->account_id, k->account);
	expect_field(k->file, "region", in->region, k->region);
	expect_field(k->file, "availabilityZone", in->zone, k->zone);
	expect_field(k->file, "instanceId", in->instance_id, k->instance_id);
	expect_field(k->file, "imageId", in->image_id, k->image_id);
	expect_field(k->file, "instanceType", in->instance_type, k->instance_type);
	expect_field(k->file, "architecture", in->architecture, k->arch);
	expect_field(k->file, "privateIp", in->private_ip, k->private_ip);
	expect_field(k->file, "partition", in->partition, k->partition);
}

static int parse_buf(const void *data, size_t len, struct instance_info *in, char *err,
		     size_t errsz)
{
	char *p = exact(data, len);
	int r;

	memset(in, 0xa5, sizeof(*in));
	err[0] = '\0';
	r = imds__parse_identity(p, len, in, err, errsz);
	free(p);
	check_sane(r, in, err);
	return r;
}

/* Every recorded document gives exactly the fields of its table row. */
static void test_identity_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < NID; i++) {
		struct instance_info in;
		unsigned char *buf;
		char err[256] = "";
		size_t len;
		int r;

		read_case(id_cases[i].file, &buf, &len);
		memset(&in, 0xa5, sizeof(in));
		r = imds__parse_identity((const char *)buf, len, &in, err, sizeof(err));
		expect_id(&id_cases[i], r, &in, err);
		free(buf);
	}
}

static int corpus_filter(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Every recorded file has an expectation and every expectation a file. */
static void test_corpus_complete(void **state)
{
	struct dirent **list;
	int n = scandir(corpus, &list, corpus_filter, alphasort);

	(void)state;
	if (n < 0)
		fail_msg("cannot list %s: %s", corpus, strerror(errno));
	for (int i = 0; i < n; i++) {
		bool known = false;

		for (size_t k = 0; k < NID; k++)
			known = known || !strcmp(id_cases[k].file, list[i]->d_name);
		for (size_t k = 0; k < NTEXT; k++)
			known = known || !strcmp(text_cases[k].file, list[i]->d_name);
		if (!known)
			fail_msg("%s/%s has no expected result in test_imds.c", corpus,
				 list[i]->d_name);
		free(list[i]);
	}
	free(list);
	assert_int_equal((size_t)n, NID + NTEXT);
}

/* Each cut of each good document: refused, or (whitespace cut) the same fields. */
static void test_identity_every_prefix(void **state)
{
	(void)state;
	for (size_t i = 0; i < NID; i++) {
		unsigned char *buf;
		size_t len;

		if (id_cases[i].ret)
			continue;
		read_case(id_cases[i].file, &buf, &len);
		for (size_t plen = 0; plen <= len; plen++) {
			struct instance_info in;
			char err[256];
			int r = parse_buf(buf, plen, &in, err, sizeof(err));
			bool whole = memchr(buf, '}', len) &&
				     plen > (size_t)((unsigned char *)memrchr(buf, '}', len) - buf);

			if (whole)
				expect_id(&id_cases[i], r, &in, err);
			else if (r != -1)
				fail_msg("%s cut to %zu of %zu bytes was accepted", id_cases[i].file,
					 plen, len);
		}
		free(buf);
	}
}

/* Every byte of a document replaced: never a crash, never a malformed field. */
static void test_identity_every_byte(void **state)
{
	static const unsigned char subst[] = { 0, '\n', '"', '\\', '{', '}', ',', ':', 'x',
					       '0', ' ', 0x1b, 0x80, 0xff };
	unsigned char *buf;
	size_t len;

	(void)state;
	read_case("identity-x86_64-us-east-1.json", &buf, &len);
	for (size_t pos = 0; pos < len; pos++) {
		for (size_t s = 0; s < sizeof(subst); s++) {
			unsigned char saved = buf[pos];
			struct instance_info in;
			char err[256];

			buf[pos] = subst[s];
			parse_buf(buf, len, &in, err, sizeof(err));
			buf[pos] = saved;
		}
	}
	free(buf);
}

/* A document padded (inside a string member) to exactly total bytes. */
static char *padded_doc(size_t total)
{
	static const char head[] = "{\"accountId\":\"123456789012\",\"region\":\"us-east-1\","
				   "\"instanceId\":\"i-0a1b2c3d4e5f60718\",\"pad\":\"";
	static const char tail[] = "\"}";
	char *p = malloc(total);

	assert_non_null(p);
	assert_true(total > sizeof(head) + sizeof(tail));
	memcpy(p, head, sizeof(head) - 1);
	memset(p + sizeof(head) - 1, 'x', total - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(p + total - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	return p;
}

static void test_identity_huge(void **state)
{
	struct instance_info in;
	char err[256] = "";
	char *doc;

	(void)state;
	/* At the limit: still a document. */
	doc = padded_doc(IMDS_MAX_DOC);
	assert_int_equal(imds__parse_identity(doc, IMDS_MAX_DOC, &in, err, sizeof(err)), 0);
	assert_string_equal(in.instance_id, "i-0a1b2c3d4e5f60718");
	free(doc);

	/* One byte over, and far over: refused before parsing, with the reason. */
	doc = padded_doc(IMDS_MAX_DOC + 1);
	memset(&in, 0xa5, sizeof(in));
	assert_int_equal(imds__parse_identity(doc, IMDS_MAX_DOC + 1, &in, err, sizeof(err)), -1);
	check_sane(-1, &in, err);
	assert_non_null(strstr(err, "limit"));
	free(doc);

	doc = padded_doc(4 * 1024 * 1024);
	memset(&in, 0xa5, sizeof(in));
	assert_int_equal(imds__parse_identity(doc, 4 * 1024 * 1024, &in, err, sizeof(err)), -1);
	check_sane(-1, &in, err);
	free(doc);

	/* Deep nesting within the size limit is refused, not recursed into. */
	doc = malloc(IMDS_MAX_DOC);
	assert_non_null(doc);
	memset(doc, '[', IMDS_MAX_DOC / 2);
	memset(doc + IMDS_MAX_DOC / 2, ']', IMDS_MAX_DOC / 2);
	memset(&in, 0xa5, sizeof(in));
	assert_int_equal(imds__parse_identity(doc, IMDS_MAX_DOC, &in, err, sizeof(err)), -1);
	check_sane(-1, &in, err);
	free(doc);
}

#define GOOD_DOC "{\"accountId\":\"123456789012\",\"region\":\"us-east-1\"," \
		 "\"instanceId\":\"i-0a1b2c3d4e5f60718\",\"instanceType\":\"m5.large\"}"

static void test_identity_nul_bytes(void **state)
{
	static const char mid_value[] = "{\"accountId\":\"1234\0" "56789012\",\"region\":"
					"\"us-east-1\",\"instanceId\":\"i-0a1b2c3d4e5f60718\"}";
	static const char lead[] = "\0" GOOD_DOC;
	static const char after[] = GOOD_DOC "\0";
	static const char after_ws[] = GOOD_DOC "\n\0\n";
	static const char between[] = "{\"accountId\":\"123456789012\",\0\"region\":\"us-east-1\","
				      "\"instanceId\":\"i-0a1b2c3d4e5f60718\"}";
	struct instance_info in;
	char err[256];

	(void)state;
	assert_int_equal(parse_buf(GOOD_DOC, sizeof(GOOD_DOC) - 1, &in, err, sizeof(err)), 0);
	assert_string_equal(in.instance_type, "m5.large");
	assert_int_equal(parse_buf(mid_value, sizeof(mid_value) - 1, &in, err, sizeof(err)), -1);
	assert_int_equal(parse_buf(lead, sizeof(lead) - 1, &in, err, sizeof(err)), -1);
	assert_int_equal(parse_buf(between, sizeof(between) - 1, &in, err, sizeof(err)), -1);
	/* After the object only whitespace may follow, and NUL is not whitespace. */
	assert_int_equal(parse_buf(after, sizeof(after) - 1, &in, err, sizeof(err)), -1);
	assert_int_equal(parse_buf(after_ws, sizeof(after_ws) - 1, &in, err, sizeof(err)), -1);
	assert_int_equal(parse_buf("\0", 1, &in, err, sizeof(err)), -1);
	assert_int_equal(imds__parse_identity(NULL, 0, &in, err, sizeof(err)), -1);
	check_sane(-1, &in, err);
}

/* Each optional field with a hostile value: dropped, the rest kept. */
static void test_identity_optional_dropped(void **state)
{
	static const char *const keys[] = { "availabilityZone", "imageId", "instanceType",
					    "architecture", "privateIp" };
	static const char *const good[] = { "us-east-1c", "ami-0e3f5a7c9b1d24680", "m5.xlarge",
					    "x86_64", "10.0.1.23" };
	/* Put before and after the good value, as written in the document (JSON escapes). */
	static const struct {
		const char *pre, *post;
		bool whole;	/* the value is just pre, without the good one */
	} evil[] = {
		{ "", "\\u001b[31m", false }, { "\\u001b]0;pwned\\u0007", "", false },
		{ "", "\\n", false }, { "", "\\r", false }, { "", "\\t", false },
		{ "", "\\u0000", false }, { "", "\\u0000\\u001b[2J", false },
		{ "\\u0000", "", false }, { "", "\\\"", false }, { "", "\\\\", false },
		{ "", "\\u00e9", false }, { "", "\\u009b", false }, { "", "\\u007f", false },
		{ "", " ", false }, { " ", "", false }, { "", "\\/..", false },
		{ "", "\\ud83d\\ude00", false }, { "", "", true }, { "\\u0000", "", true },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t e = 0; e < sizeof(evil) / sizeof(evil[0]); e++) {
			char doc[1024], val[256], err[256];
			struct instance_info in;
			size_t n = 0;

			snprintf(val, sizeof(val), "%s%s%s", evil[e].pre,
				 evil[e].whole ? "" : good[k], evil[e].post);
			n += (size_t)snprintf(doc + n, sizeof(doc) - n,
					      "{\"accountId\":\"123456789012\",\"region\":"
					      "\"us-east-1\",\"instanceId\":\"i-0a1b2c3d4e5f60718\"");
			for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
				n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",\"%s\":\"%s\"",
						      keys[j], j == k ? val : good[j]);
			n += (size_t)snprintf(doc + n, sizeof(doc) - n, "}");
			assert_true(n < sizeof(doc));
			if (parse_buf(doc, n, &in, err, sizeof(err)))
				fail_msg("refused: %s (%s)", doc, err);
			{
				const char *got[] = { in.zone, in.image_id, in.instance_type,
						      in.architecture, in.private_ip };

				for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++) {
					if (j == k && got[j][0])
						fail_msg("%s \"%s\" was kept as \"%s\"", keys[j], val,
							 got[j]);
					if (j != k && strcmp(got[j], good[j]))
						fail_msg("%s lost beside a bad %s", keys[j], keys[k]);
				}
			}
			assert_string_equal(in.instance_id, "i-0a1b2c3d4e5f60718");
		}
	}
}

/* --- meta-data text replies -------------------------------------------- */

static int hostname(const char *s, char *out, size_t outsz)
{
	char *p = exact(s, strlen(s));
	int r = imds__parse_hostname(p, strlen(s), out, outsz);

	free(p);
	return r;
}

static int ipv4(const char *s, char *out, size_t outsz)
{
	char *p = exact(s, strlen(s));
	int r = imds__parse_ipv4(p, strlen(s), out, outsz);

	free(p);
	return r;
}

static void test_text_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTEXT; i++) {
		char out[256];
		unsigned char *buf;
		size_t len;
		int r;

		read_case(text_cases[i].file, &buf, &len);
		memset(out, 0xa5, sizeof(out));
		r = text_cases[i].ipv4 ? imds__parse_ipv4((const char *)buf, len, out, 16) :
					 imds__parse_hostname((const char *)buf, len, out,
							      sizeof(out));
		if (r)
			fail_msg("%s refused", text_cases[i].file);
		expect_field(text_cases[i].file, "value", out, text_cases[i].want);
		free(buf);
	}
}

static void test_hostname(void **state)
{
	static const char *const refused[] = {
		"", " ", "\n", "\r\n\t ",
		"ip-10-0-1-23.ec2.internal\nip-10-0-1-24.ec2.internal",
		"ip-10-0-1-23.ec2.internal\r\nX-Injected: 1",
		"ip-10-0-1-23 .ec2.internal", "ip-10-0-1-23\t.ec2.internal",
		"ip_10_0_1_23.ec2.internal", "host;id", "host\"name", "host\\name", "host/name",
		"host:80", "h\x1b[31mst", "h\x7fst", "hóst", "\xff\xfe", "<html>",
	};
	char out[256], small[8], big[300];

	(void)state;
	assert_int_equal(hostname("ip-10-0-1-23.ec2.internal", out, sizeof(out)), 0);
	assert_string_equal(out, "ip-10-0-1-23.ec2.internal");
	/* Surrounding whitespace and a final newline are not part of the name. */
	assert_int_equal(hostname("ip-10-0-1-23.ec2.internal\n", out, sizeof(out)), 0);
	assert_string_equal(out, "ip-10-0-1-23.ec2.internal");
	assert_int_equal(hostname("  ip-10-0-1-23.ec2.internal \r\n", out, sizeof(out)), 0);
	assert_string_equal(out, "ip-10-0-1-23.ec2.internal");
	assert_int_equal(hostname("\tIP-10-0-1-23.EC2.Internal\t", out, sizeof(out)), 0);
	assert_string_equal(out, "IP-10-0-1-23.EC2.Internal");
	assert_int_equal(hostname("localhost", out, sizeof(out)), 0);

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(out, sizeof(out), "unchanged");
		if (!hostname(refused[i], out, sizeof(out)))
			fail_msg("hostname \"%s\" accepted as \"%s\"", refused[i], out);
		assert_string_equal(out, "unchanged");
	}
	/* NUL bytes are no part of a text reply, not even at an end. */
	assert_int_equal(imds__parse_hostname("host\0name", 9, out, sizeof(out)), -1);
	assert_int_equal(imds__parse_hostname("hostname\0", 9, out, sizeof(out)), -1);
	assert_int_equal(imds__parse_hostname("\0hostname", 9, out, sizeof(out)), -1);
	assert_int_equal(imds__parse_hostname("hostname\n\0", 10, out, sizeof(out)), -1);
	assert_int_equal(imds__parse_hostname(NULL, 0, out, sizeof(out)), -1);

	/* Longest kept: 255 characters; one more is refused. */
	memset(big, 'a', sizeof(big));
	big[255] = '\0';
	assert_int_equal(hostname(big, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 255);
	big[255] = 'a';
	big[256] = '\0';
	assert_int_equal(hostname(big, out, sizeof(out)), -1);
	big[299] = '\0';
	memset(big, 'a', 299);
	assert_int_equal(hostname(big, out, sizeof(out)), -1);
	/* Nor truncated to fit a small buffer. */
	snprintf(small, sizeof(small), "same");
	assert_int_equal(hostname("ip-10-0-1-23", small, sizeof(small)), -1);
	assert_string_equal(small, "same");
	assert_int_equal(hostname("ip-10-0", small, sizeof(small)), 0);
	assert_string_equal(small, "ip-10-0");
}

static void test_ipv4(void **state)
{
	static const char *const refused[] = {
		"", "\n", "10.0.1", "10.0.1.256", "10.0.1.23.4", "10.0.1.23/24", "10.0.1.23:80",
		"10.0.1.23 10.0.1.24", "10.0.1.23\n10.0.1.24", "10.0.1.23\r\n10.0.1.24\r\n",
		"0x0a.0.1.23", "10.0.1.2a", "-10.0.1.23", "fe80::1", "::ffff:10.0.1.23", "localhost",
		"10.0.1.23\x1b[0m", "255.255.255.2550",
	};
	char out[16], small[8];

	(void)state;
	assert_int_equal(ipv4("10.0.1.23", out, sizeof(out)), 0);
	assert_string_equal(out, "10.0.1.23");
	assert_int_equal(ipv4("10.0.1.23\n", out, sizeof(out)), 0);
	assert_string_equal(out, "10.0.1.23");
	assert_int_equal(ipv4(" 172.31.40.7 \r\n", out, sizeof(out)), 0);
	assert_string_equal(out, "172.31.40.7");
	assert_int_equal(ipv4("255.255.255.255", out, sizeof(out)), 0);
	assert_string_equal(out, "255.255.255.255");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(out, sizeof(out), "unchanged");
		if (!ipv4(refused[i], out, sizeof(out)))
			fail_msg("local-ipv4 \"%s\" accepted as \"%s\"", refused[i], out);
		assert_string_equal(out, "unchanged");
	}
	assert_int_equal(imds__parse_ipv4("10.0.1.23\0", 10, out, sizeof(out)), -1);
	assert_int_equal(imds__parse_ipv4("10.0\0.1.23", 10, out, sizeof(out)), -1);
	assert_int_equal(imds__parse_ipv4(NULL, 0, out, sizeof(out)), -1);
	/* Not truncated to fit. */
	assert_int_equal(ipv4("10.0.1.23", small, sizeof(small)), -1);
	assert_int_equal(ipv4("1.2.3.4", small, sizeof(small)), 0);
	assert_string_equal(small, "1.2.3.4");
}

static void test_ttl(void **state)
{
	(void)state;
	assert_int_equal(imds__parse_ttl("1"), 1);
	assert_int_equal(imds__parse_ttl("60"), 60);
	assert_int_equal(imds__parse_ttl("21600"), 21600);
	assert_int_equal(imds__parse_ttl("0"), 0);
	assert_int_equal(imds__parse_ttl("21601"), 0);
	assert_int_equal(imds__parse_ttl("4294967297"), 0);
	assert_int_equal(imds__parse_ttl("99999999999999999999999"), 0);
	assert_int_equal(imds__parse_ttl("-5"), 0);
	assert_int_equal(imds__parse_ttl("-0"), 0);
	assert_int_equal(imds__parse_ttl("+5"), 0);
	assert_int_equal(imds__parse_ttl("12abc"), 0);
	assert_int_equal(imds__parse_ttl("abc"), 0);
	assert_int_equal(imds__parse_ttl("0x10"), 0);
	assert_int_equal(imds__parse_ttl("5 "), 0);
	assert_int_equal(imds__parse_ttl("5\r\n"), 0);
	assert_int_equal(imds__parse_ttl("1e3"), 0);
	assert_int_equal(imds__parse_ttl("21600.0"), 0);
	assert_int_equal(imds__parse_ttl(""), 0);
	assert_int_equal(imds__parse_ttl(NULL), 0);
}

static void test_partition(void **state)
{
	(void)state;
	assert_string_equal(imds__partition("us-east-1"), "aws");
	assert_string_equal(imds__partition("eu-central-2"), "aws");
	assert_string_equal(imds__partition("ap-southeast-4"), "aws");
	assert_string_equal(imds__partition("us-west-2"), "aws");
	assert_string_equal(imds__partition("cn-north-1"), "aws-cn");
	assert_string_equal(imds__partition("cn-northwest-1"), "aws-cn");
	assert_string_equal(imds__partition("us-gov-west-1"), "aws-us-gov");
	assert_string_equal(imds__partition("us-gov-east-1"), "aws-us-gov");
	/* Look-alikes are not the special partitions. */
	assert_string_equal(imds__partition("us-govcloud-1"), "aws");
	assert_string_equal(imds__partition("cnx-north-1"), "aws");
	assert_string_equal(imds__partition("eu-cn-1"), "aws");
	assert_string_equal(imds__partition(""), "aws");
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(imds__state_name(IMDS_OK), "available");
	assert_string_equal(imds__state_name(IMDS_UNREACHABLE), "unreachable");
	assert_string_equal(imds__state_name(IMDS_TOKEN_REFUSED), "token_refused");
	assert_string_equal(imds__state_name(IMDS_MALFORMED), "malformed");
	assert_string_equal(imds__state_name((enum imds_state)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_corpus),
		cmocka_unit_test(test_corpus_complete),
		cmocka_unit_test(test_identity_every_prefix),
		cmocka_unit_test(test_identity_every_byte),
		cmocka_unit_test(test_identity_huge),
		cmocka_unit_test(test_identity_nul_bytes),
		cmocka_unit_test(test_identity_optional_dropped),
		cmocka_unit_test(test_text_corpus),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_partition),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests_name("imds", tests, setup, NULL);
}
