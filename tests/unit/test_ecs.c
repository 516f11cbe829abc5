// SPDX-License-Identifier: Apache-2.0
/*
 * The pure ECS agent parsers against recorded replies in tests/corpus/ecs:
 *
 *   metadata-*        /v1/metadata: the cluster by name or as an ARN, with
 *                     and without the container instance ARN (long and old
 *                     short format, aws-cn), fields carrying escapes
 *   task-*            /v1/tasks?dockerid=ID: one task object with its
 *                     containers (names and images); the wanted container
 *                     first, second, third or not there; a stopped task;
 *                     fields carrying escapes
 *   bad-metadata-*,   replies that must be refused: no usable Cluster or
 *   bad-task-*        task Arn, not JSON, not a task object
 *
 * The expected result of each (file, requested docker id) is in the tables
 * below, and every file of the directory must be in one of them. Accounts,
 * ids and names were made up for the corpus. Inputs are handed over in heap
 * buffers of exactly their length, so a read past the end shows up under
 * valgrind or ASan. Replies over ECS_MAX_REPLY are generated here.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "ecs.h"
#include "testutil.h"

#define ACCT "123456789012"
#define CI_LONG "arn:aws:ecs:us-east-1:" ACCT ":container-instance/mycluster/" \
		"5e1c0b7a9d3f4e2b8c6a1d0f9e8b7a65"
#define CLUSTER_ARN "arn:aws:ecs:us-east-1:" ACCT ":cluster/mycluster"
#define VER "Amazon ECS Agent - v1.82.4 (4b1c2d3e)"

struct md_case {
	const char *file;
	int ret;
	const char *cluster;
	const char *cluster_arn;
	const char *ci_arn;
	const char *version;
};

#define MD_BAD(f) { f, -1, "", "", "", "" }

static const struct md_case md_cases[] = {
	{ "metadata-cluster-name.json", 0, "mycluster", CLUSTER_ARN, CI_LONG, VER },
	/* A cluster given as an ARN: the ARN kept, the name taken from it. */
	{ "metadata-cluster-arn.json", 0, "mycluster", CLUSTER_ARN, CI_LONG, VER },
	/* No container instance ARN: nothing to form the cluster ARN from. */
	{ "metadata-no-container-instance.json", 0, "mycluster", "", "", VER },
	{ "metadata-old-arn-format.json", 0, "default",
	  "arn:aws:ecs:eu-west-1:" ACCT ":cluster/default",
	  "arn:aws:ecs:eu-west-1:" ACCT ":container-instance/0d5e8a2f-6b3c-4e71-9a04-b8c2d6e1f357",
	  "Amazon ECS Agent - v1.14.5 (f94beb4)" },
	{ "metadata-aws-cn.json", 0, "prod_batch-2",
	  "arn:aws-cn:ecs:cn-north-1:210987654321:cluster/prod_batch-2",
	  "arn:aws-cn:ecs:cn-north-1:210987654321:container-instance/prod_batch-2/"
	  "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d",
	  VER },
	/* An ARN, but not a container instance's: kept, no cluster ARN made from it. */
	{ "metadata-ci-not-container-instance.json", 0, "mycluster", "",
	  "arn:aws:ecs:us-east-1:" ACCT ":task/mycluster/abc", VER },
	/* Escapes in the optional fields: those fields refused, the cluster kept. */
	{ "metadata-hostile-fields.json", 0, "mycluster", "", "", "" },
	{ "metadata-nul-escape.json", 0, "mycluster", "", "", "" },
	MD_BAD("bad-metadata-cluster-quote.json"),
	MD_BAD("bad-metadata-cluster-newline.json"),
	MD_BAD("bad-metadata-cluster-ansi.json"),
	MD_BAD("bad-metadata-cluster-nul-escape.json"),
	MD_BAD("bad-metadata-no-cluster.json"),
	MD_BAD("bad-metadata-cluster-number.json"),
	MD_BAD("bad-metadata-not-json.txt"),
};

#define NMD (sizeof(md_cases) / sizeof(md_cases[0]))

#define D1 "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
#define D2 "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b"
#define D3 "b0a1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define DX "0000000000000000000000000000000000000000000000000000000000000001"
#define TASK_ARN "arn:aws:ecs:us-east-1:" ACCT ":task/mycluster/0c6f2d4e8a1b4c3d9e7f5a2b1c0d9e8f"

struct task_case {
	const char *file;
	const char *docker_id;
	int ret;
	const char *task_arn;
	const char *family;
	const char *revision;
	const char *known;
	const char *desired;
	const char *name;
	const char *docker_name;
	const char *image;
	const char *image_id;
};

#define TASK_BAD(f) { f, D1, -1, "", "", "", "", "", "", "", "", "" }
#define H1 "sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac"
#define H2 "sha256:8e2b7c1d9a3f4e5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d"
#define H3 "sha256:1f2e3d4c5b6a79880f1e2d3c4b5a69788f7e6d5c4b3a29180f1e2d3c4b5a6978"
#define H4 "sha256:a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"

static const struct task_case task_cases[] = {
	{ "task-one-container.json", D1, 0, TASK_ARN, "web-frontend", "17", "RUNNING", "RUNNING",
	  "nginx", "ecs-web-frontend-17-nginx-c8e2a6b4d0f1e3a5b701",
	  "123456789012.dkr.ecr.us-east-1.amazonaws.com/web/nginx:1.25.3", H1 },
	/* The requested container is the second of three; then the first, the third. */
	{ "task-three-containers.json", D1, 0, TASK_ARN, "batch_jobs", "4", "RUNNING", "RUNNING",
	  "worker", "ecs-batch_jobs-4-worker-a2c4e6f8b0d2e4f6a801",
	  "public.ecr.aws/docker/library/python@" H3, H3 },
	{ "task-three-containers.json", D2, 0, TASK_ARN, "batch_jobs", "4", "RUNNING", "RUNNING",
	  "log-router", "ecs-batch_jobs-4-log-router-e4f6a8c0b2d4e6f80901",
	  "amazon/aws-for-fluent-bit:stable", H2 },
	{ "task-three-containers.json", D3, 0, TASK_ARN, "batch_jobs", "4", "RUNNING", "RUNNING",
	  "sidecar.proxy", "ecs-batch_jobs-4-sidecar.proxy-f0e1d2c3b4a5968778",
	  "registry.example.com:5000/envoy", H4 },
	/* Not in the list: the task is still the task, the container unnamed. */
	{ "task-three-containers.json", DX, 0, TASK_ARN, "batch_jobs", "4", "RUNNING", "RUNNING",
	  "", "", "", "" },
	{ "task-three-containers.json", "3f2a1b0c9d8e", 0, TASK_ARN, "batch_jobs", "4", "RUNNING",
	  "RUNNING", "", "", "", "" },
	{ "task-stopped.json", D1, 0,
	  "arn:aws:ecs:us-east-1:" ACCT ":task/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
	  "nightly-report", "2", "STOPPED", "STOPPED", "report",
	  "ecs-nightly-report-2-report-d1e2f3a4b5c6d7e8f901", "busybox", H1 },
	{ "task-pending-no-containers.json", D1, 0, TASK_ARN, "web-frontend", "17", "PENDING",
	  "RUNNING", "", "", "", "" },
	/* Every optional field hostile: each left empty, the task ARN kept. */
	{ "task-hostile-fields.json", D1, 0, TASK_ARN, "", "", "", "", "", "", "", "" },
	{ "task-nul-escape.json", D1, 0, TASK_ARN, "", "", "", "RUNNING", "", "", "", "" },
	/* Ids that only start like the requested one, a NUL escape, non-objects. */
	{ "task-id-prefix.json", D1, 0, TASK_ARN, "web-frontend", "17", "RUNNING", "RUNNING", "",
	  "", "", "" },
	TASK_BAD("bad-task-no-arn.json"),
	TASK_BAD("bad-task-arn-not-task.json"),
	TASK_BAD("bad-task-arn-not-arn.json"),
	TASK_BAD("bad-task-arn-newline.json"),
	TASK_BAD("bad-task-arn-quote.json"),
	TASK_BAD("bad-task-arn-nul-escape.json"),
	TASK_BAD("bad-task-not-json.txt"),
	TASK_BAD("bad-task-array.json"),
	TASK_BAD("bad-task-truncated.json"),
	TASK_BAD("bad-task-tasks-list.json"),
};

#define NTASK (sizeof(task_cases) / sizeof(task_cases[0]))

static char corpus[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return tu_corpus_setup("ecs", corpus);
}

static void read_case(const char *name, unsigned char **buf, size_t *len)
{
	tu_read_case(corpus, name, buf, len);
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* Only printable ASCII from the set: nothing that could break a log line or JSON. */
static void check_chars(const char *what, const char *s, size_t size, const char *set)
{
	size_t n = strnlen(s, size);

	if (n == size)
		fail_msg("%s is not terminated inside its buffer", what);
	if (strspn(s, set) != n)
		fail_msg("%s \"%s\" holds a character outside its set", what, s);
}

static void check_md_sane(int r, const struct ecs_agent_info *a, const char *err)
{
	static const struct ecs_agent_info empty;

	assert_true(r == 0 || r == -1);
	if (r) {
		MW_FAIL_IF(memcmp(a, &empty, sizeof(*a)), "refused metadata left fields set");
		MW_FAIL_IF(!err[0], "refused metadata without a reason");
		return;
	}
	assert_true(a->cluster[0] != '\0');
	check_chars("Cluster", a->cluster, sizeof(a->cluster), ALNUM ":/_.-+=,@");
	check_chars("cluster ARN", a->cluster_arn, sizeof(a->cluster_arn), ALNUM ":/_.-+=,@");
	check_chars("ContainerInstanceArn", a->container_instance_arn,
		    sizeof(a->container_instance_arn), ALNUM ":/_.-+=,@");
	check_chars("Version", a->version, sizeof(a->version), ALNUM " _.-()");
	if (a->cluster_arn[0]) {
		MW_FAIL_IF(strncmp(a->cluster_arn, "arn:aws", 7) || !strstr(a->cluster_arn, ":cluster/"),
			   "cluster ARN is not a cluster ARN");
	}
}

static void check_task_sane(int r, const struct ecs_task_info *t, const char *err)
{
	static const struct ecs_task_info empty;

	assert_true(r == 0 || r == -1);
	if (r) {
		MW_FAIL_IF(memcmp(t, &empty, sizeof(*t)), "refused task left fields set");
		MW_FAIL_IF(!err[0], "refused task without a reason");
		return;
	}
	MW_FAIL_IF(strncmp(t->task_arn, "arn:aws", 7) || !strstr(t->task_arn, ":task/"),
		   "task ARN is not a task ARN");
	check_chars("task ARN", t->task_arn, sizeof(t->task_arn), ALNUM ":/_.-+=,@");
	check_chars("Family", t->family, sizeof(t->family), ALNUM "_.-");
	check_chars("Version", t->revision, sizeof(t->revision), "0123456789");
	check_chars("KnownStatus", t->known_status, sizeof(t->known_status), ALNUM "_.-");
	check_chars("DesiredStatus", t->desired_status, sizeof(t->desired_status), ALNUM "_.-");
	check_chars("Name", t->container_name, sizeof(t->container_name), ALNUM "_.-");
	check_chars("DockerName", t->docker_name, sizeof(t->docker_name), ALNUM "_.-");
	check_chars("Image", t->image, sizeof(t->image), ALNUM "_.-/:@");
	check_chars("ImageID", t->image_id, sizeof(t->image_id), ALNUM ":");
}

static void expect_field(const char *file, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("%s: %s \"%s\", want \"%s\"", file, what, got, want);
}

static int parse_md(const void *data, size_t len, struct ecs_agent_info *a, char *err,
		    size_t errsz)
{
	char *p = malloc(len ? len : 1);
	int r;

	assert_non_null(p);
	memcpy(p, data, len);
	memset(a, 0xa5, sizeof(*a));
	err[0] = '\0';
	r = ecs__parse_metadata(p, len, a, err, errsz);
	free(p);
	check_md_sane(r, a, err);
	return r;
}

static int parse_task(const void *data, size_t len, const char *id, struct ecs_task_info *t,
		      char *err, size_t errsz)
{
	char *p = malloc(len ? len : 1);
	int r;

	assert_non_null(p);
	memcpy(p, data, len);
	memset(t, 0xa5, sizeof(*t));
	err[0] = '\0';
	r = ecs__parse_task(p, len, id, t, err, errsz);
	free(p);
	check_task_sane(r, t, err);
	return r;
}

static void test_metadata_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < NMD; i++) {
		const struct md_case *k = &md_cases[i];
		struct ecs_agent_info a;
		unsigned char *buf;
		char err[256];
		size_t len;
		int r;

		read_case(k->file, &buf, &len);
		r = parse_md(buf, len, &a, err, sizeof(err));
		if (r != k->ret)
			fail_msg("%s: ecs__parse_metadata returned %d, want %d (%s)", k->file, r,
				 k->ret, r ? err : "accepted");
		expect_field(k->file, "Cluster", a.cluster, k->cluster);
		expect_field(k->file, "cluster ARN", a.cluster_arn, k->cluster_arn);
		expect_field(k->file, "ContainerInstanceArn", a.container_instance_arn, k->ci_arn);
		expect_field(k->file, "Version", a.version, k->version);
		free(buf);
	}
}

static void test_task_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTASK; i++) {
		const struct task_case *k = &task_cases[i];
		struct ecs_task_info t;
		unsigned char *buf;
		char err[256];
		size_t len;
		int r;

		read_case(k->file, &buf, &len);
		r = parse_task(buf, len, k->docker_id, &t, err, sizeof(err));
		if (r != k->ret)
			fail_msg("%s (%.12s): ecs__parse_task returned %d, want %d (%s)", k->file,
				 k->docker_id, r, k->ret, r ? err : "accepted");
		expect_field(k->file, "Arn", t.task_arn, k->task_arn);
		expect_field(k->file, "Family", t.family, k->family);
		expect_field(k->file, "Version", t.revision, k->revision);
		expect_field(k->file, "KnownStatus", t.known_status, k->known);
		expect_field(k->file, "DesiredStatus", t.desired_status, k->desired);
		expect_field(k->file, "container Name", t.container_name, k->name);
		expect_field(k->file, "DockerName", t.docker_name, k->docker_name);
		expect_field(k->file, "Image", t.image, k->image);
		expect_field(k->file, "ImageID", t.image_id, k->image_id);
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
	size_t files = NMD;

	(void)state;
	if (n < 0)
		fail_msg("cannot list %s: %s", corpus, strerror(errno));
	for (int i = 0; i < n; i++) {
		bool known = false;

		for (size_t k = 0; k < NMD; k++)
			known = known || !strcmp(md_cases[k].file, list[i]->d_name);
		for (size_t k = 0; k < NTASK; k++)
			known = known || !strcmp(task_cases[k].file, list[i]->d_name);
		if (!known)
			fail_msg("%s/%s has no expected result in test_ecs.c", corpus,
				 list[i]->d_name);
		free(list[i]);
	}
	free(list);
	/* Distinct files named by the tables: each must have been listed. */
	for (size_t k = 0; k < NTASK; k++) {
		bool seen = false;

		for (size_t j = 0; j < k; j++)
			seen = seen || !strcmp(task_cases[j].file, task_cases[k].file);
		files += !seen;
	}
	assert_int_equal((size_t)n, files);
}

/* Each cut of each accepted reply: refused until the object is whole. */
static void test_every_prefix(void **state)
{
	(void)state;
	for (size_t i = 0; i < NMD + NTASK; i++) {
		const char *file = i < NMD ? md_cases[i].file : task_cases[i - NMD].file;
		int want = i < NMD ? md_cases[i].ret : task_cases[i - NMD].ret;
		unsigned char *buf, *end;
		size_t len;

		if (want)
			continue;
		read_case(file, &buf, &len);
		end = memrchr(buf, '}', len);
		assert_non_null(end);
		for (size_t plen = 0; plen <= len; plen++) {
			struct ecs_agent_info a;
			struct ecs_task_info t;
			char err[256];
			int r = i < NMD ? parse_md(buf, plen, &a, err, sizeof(err)) :
					  parse_task(buf, plen, task_cases[i - NMD].docker_id, &t,
						     err, sizeof(err));

			if ((plen > (size_t)(end - buf)) != (r == 0))
				fail_msg("%s cut to %zu of %zu bytes: %d", file, plen, len, r);
		}
		free(buf);
	}
}

/* Every byte of two replies replaced: never a crash, never a bad character kept. */
static void test_every_byte(void **state)
{
	static const unsigned char subst[] = { 0, '\n', '"', '\\', '{', '}', '[', ',', ':', 'x',
					       ' ', 0x1b, 0x80, 0xff };
	static const char *const files[] = { "metadata-cluster-name.json",
					     "task-three-containers.json" };

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		unsigned char *buf;
		size_t len;

		read_case(files[f], &buf, &len);
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t s = 0; s < sizeof(subst); s++) {
				unsigned char saved = buf[pos];
				struct ecs_agent_info a;
				struct ecs_task_info t;
				char err[256];

				buf[pos] = subst[s];
				if (f == 0)
					parse_md(buf, len, &a, err, sizeof(err));
				else
					parse_task(buf, len, D1, &t, err, sizeof(err));
				buf[pos] = saved;
			}
		}
		free(buf);
	}
}

static void test_cluster_arn_derivation(void **state)
{
	static const struct {
		const char *cluster, *ci, *want;
	} cases[] = {
		{ "mycluster", "arn:aws:ecs:us-east-1:123456789012:container-instance/mycluster/abc",
		  "arn:aws:ecs:us-east-1:123456789012:cluster/mycluster" },
		{ "other", "arn:aws:ecs:us-east-1:123456789012:container-instance/abc",
		  "arn:aws:ecs:us-east-1:123456789012:cluster/other" },
		{ "gov", "arn:aws-us-gov:ecs:us-gov-west-1:345678901234:container-instance/gov/f00d",
		  "arn:aws-us-gov:ecs:us-gov-west-1:345678901234:cluster/gov" },
		/* A cluster given as an ARN is the cluster ARN, whatever the instance says. */
		{ "arn:aws:ecs:eu-west-1:123456789012:cluster/named",
		  "arn:aws:ecs:eu-west-1:123456789012:container-instance/named/abc",
		  "arn:aws:ecs:eu-west-1:123456789012:cluster/named" },
		{ "arn:aws:ecs:eu-west-1:123456789012:cluster/named", "",
		  "arn:aws:ecs:eu-west-1:123456789012:cluster/named" },
		/* Not a container instance ARN: no cluster ARN is made up. */
		{ "mycluster", "arn:aws:ecs:us-east-1:123456789012:instance/mycluster/abc", "" },
		{ "mycluster", "arn:aws:ecs:us-east-1:container-instance/mycluster/abc", "" },
		{ "mycluster", "arn:aws:ecs:us-east-1:123456789012", "" },
		{ "mycluster", "container-instance/mycluster/abc", "" },
		{ "mycluster", "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object *o = json_object_new_object();
		struct ecs_agent_info a;
		const char *body;
		char err[256];

		json_object_object_add(o, "Cluster", json_object_new_string(cases[i].cluster));
		if (cases[i].ci[0])
			json_object_object_add(o, "ContainerInstanceArn",
					       json_object_new_string(cases[i].ci));
		json_object_object_add(o, "Version", json_object_new_string(VER));
		body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (parse_md(body, strlen(body), &a, err, sizeof(err)))
			fail_msg("refused %s: %s", body, err);
		if (strcmp(a.cluster_arn, cases[i].want))
			fail_msg("Cluster \"%s\", ContainerInstanceArn \"%s\": cluster ARN \"%s\", "
				 "want \"%s\"", cases[i].cluster, cases[i].ci, a.cluster_arn,
				 cases[i].want);
		if (!strncmp(cases[i].cluster, "arn:", 4))
			assert_string_equal(a.cluster, strstr(cases[i].cluster, ":cluster/") + 9);
		else
			assert_string_equal(a.cluster, cases[i].cluster);
		json_object_put(o);
	}
}

/* Strings no field may carry: each is refused whole, never copied in part. */
static const char *const hostile[] = {
	"a\"b", "a\nb", "a\r\nb", "\x1b[31mred\x1b[0m", "a\x1b]0;title\x07", "a\tb", "a\\b",
	"a\x7f", "a\xc2\x9b" "31m", "caf\xc3\xa9", "a<b>", "a'b", "a;b", "a$(id)",
};

/* A JSON string value with a NUL escape in it (json-c keeps the NUL in the value). */
static json_object *nul_string(const char *before)
{
	char buf[300];
	size_t n = strlen(before);

	memcpy(buf, before, n);
	buf[n] = '\0';
	memcpy(buf + n + 1, "tail", 4);
	return json_object_new_string_len(buf, (int)(n + 5));
}

static void test_metadata_hostile(void **state)
{
	static const char *const keys[] = { "Cluster", "ContainerInstanceArn", "Version" };
	static const char *const good[] = { "mycluster", CI_LONG, VER };

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		for (size_t h = 0; h <= sizeof(hostile) / sizeof(hostile[0]); h++) {
			json_object *o = json_object_new_object();
			struct ecs_agent_info a;
			char val[300], err[256];
			const char *body;
			int r;

			for (size_t j = 0; j < 3; j++) {
				if (j != k) {
					json_object_object_add(o, keys[j],
							       json_object_new_string(good[j]));
				} else if (h < sizeof(hostile) / sizeof(hostile[0])) {
					snprintf(val, sizeof(val), "%s%s", good[j], hostile[h]);
					json_object_object_add(o, keys[j], json_object_new_string(val));
				} else {
					snprintf(val, sizeof(val), "%s\\u0000tail", good[j]);
					json_object_object_add(o, keys[j], nul_string(good[j]));
				}
			}
			body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
			r = parse_md(body, strlen(body), &a, err, sizeof(err));
			if (k == 0) {
				/* The cluster is required: no cluster, no metadata. */
				if (r != -1)
					fail_msg("Cluster \"%s\" accepted as \"%s\"", val, a.cluster);
			} else {
				const char *got = k == 1 ? a.container_instance_arn : a.version;

				if (r)
					fail_msg("refused for a bad %s: %s", keys[k], err);
				if (got[0])
					fail_msg("%s \"%s\" kept as \"%s\"", keys[k], val, got);
				assert_string_equal(a.cluster, "mycluster");
				if (k == 1)
					assert_string_equal(a.cluster_arn, "");
				else
					assert_string_equal(a.cluster_arn, CLUSTER_ARN);
			}
			json_object_put(o);
		}
	}
}

static void test_task_hostile(void **state)
{
	static const char *const keys[] = { "Arn", "Family", "Version", "KnownStatus",
					    "DesiredStatus", "Name", "DockerName", "Image", "ImageID" };
	static const char *const good[] = { TASK_ARN, "web-frontend", "17", "RUNNING", "RUNNING",
					    "nginx", "ecs-web-frontend-17-nginx-c8e2",
					    "public.ecr.aws/nginx/nginx:1.25", H1 };
	const size_t nkeys = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	for (size_t k = 0; k < nkeys; k++) {
		for (size_t h = 0; h <= sizeof(hostile) / sizeof(hostile[0]); h++) {
			json_object *o = json_object_new_object(), *arr = json_object_new_array();
			json_object *c = json_object_new_object();
			struct ecs_task_info t;
			char val[300], err[256];
			const char *body;
			int r;

			json_object_object_add(c, "DockerId", json_object_new_string(D1));
			for (size_t j = 0; j < nkeys; j++) {
				json_object *target = j >= 5 ? c : o, *v;

				if (j != k) {
					v = json_object_new_string(good[j]);
				} else if (h < sizeof(hostile) / sizeof(hostile[0])) {
					snprintf(val, sizeof(val), "%s%s", good[j], hostile[h]);
					v = json_object_new_string(val);
				} else {
					snprintf(val, sizeof(val), "%s\\u0000tail", good[j]);
					v = nul_string(good[j]);
				}
				json_object_object_add(target, keys[j], v);
			}
			json_object_array_add(arr, c);
			json_object_object_add(o, "Containers", arr);
			body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
			r = parse_task(body, strlen(body), D1, &t, err, sizeof(err));
			if (k == 0) {
				if (r != -1)
					fail_msg("Arn \"%s\" accepted as \"%s\"", val, t.task_arn);
			} else {
				const char *got[] = { t.task_arn, t.family, t.revision,
						      t.known_status, t.desired_status,
						      t.container_name, t.docker_name, t.image,
						      t.image_id };

				if (r)
					fail_msg("refused for a bad %s: %s", keys[k], err);
				for (size_t j = 0; j < nkeys; j++) {
					if (j == k && got[j][0])
						fail_msg("%s \"%s\" kept as \"%s\"", keys[j], val,
							 got[j]);
					if (j != k && strcmp(got[j], good[j]))
						fail_msg("%s lost beside a bad %s", keys[j], keys[k]);
				}
			}
			json_object_put(o);
		}
	}
}

/* A reply padded (inside a string member) to exactly total bytes. */
static char *padded(const char *head, size_t total)
{
	static const char tail[] = "\"}";
	size_t h = strlen(head);
	char *p = malloc(total);

	assert_non_null(p);
	assert_true(total > h + sizeof(tail));
	memcpy(p, head, h);
	memset(p + h, 'x', total - h - (sizeof(tail) - 1));
	memcpy(p + total - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	return p;
}

static void test_huge(void **state)
{
	static const char md_head[] = "{\"Cluster\":\"mycluster\",\"Pad\":\"";
	static const char task_head[] = "{\"Arn\":\"" TASK_ARN "\",\"Containers\":[{\"DockerId\":\""
					D1 "\",\"Name\":\"nginx\"}],\"Pad\":\"";
	static const size_t sizes[] = { ECS_MAX_REPLY, ECS_MAX_REPLY + 1, 8 * ECS_MAX_REPLY };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct ecs_agent_info a;
		struct ecs_task_info t;
		char err[256];
		int want = sizes[i] <= ECS_MAX_REPLY ? 0 : -1;
		char *body = padded(md_head, sizes[i]);

		assert_int_equal(parse_md(body, sizes[i], &a, err, sizeof(err)), want);
		if (want)
			assert_non_null(strstr(err, "limit"));
		free(body);
		body = padded(task_head, sizes[i]);
		assert_int_equal(parse_task(body, sizes[i], D1, &t, err, sizeof(err)), want);
		if (!want)
			assert_string_equal(t.container_name, "nginx");
		else
			assert_non_null(strstr(err, "limit"));
		free(body);
	}
}

/* Many containers, the wanted one last: found, within the scan limit. */
static void test_many_containers(void **state)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	struct ecs_task_info t;
	const char *body;
	char err[256], id[65];

	(void)state;
	json_object_object_add(o, "Arn", json_object_new_string(TASK_ARN));
	for (int i = 0; i < 200; i++) {
		json_object *c = json_object_new_object();
		char name[32];

		snprintf(id, sizeof(id), "%064x", (unsigned int)i);
		snprintf(name, sizeof(name), "c%d", i);
		json_object_object_add(c, "DockerId", json_object_new_string(id));
		json_object_object_add(c, "Name", json_object_new_string(name));
		json_object_array_add(arr, c);
	}
	json_object_object_add(o, "Containers", arr);
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	snprintf(id, sizeof(id), "%064x", 199u);
	assert_int_equal(parse_task(body, strlen(body), id, &t, err, sizeof(err)), 0);
	assert_string_equal(t.container_name, "c199");
	snprintf(id, sizeof(id), "%064x", 0u);
	assert_int_equal(parse_task(body, strlen(body), id, &t, err, sizeof(err)), 0);
	assert_string_equal(t.container_name, "c0");
	/* An empty requested id matches nothing. */
	assert_int_equal(parse_task(body, strlen(body), "", &t, err, sizeof(err)), 0);
	assert_string_equal(t.container_name, "");
	json_object_put(o);
}

static void test_nul_bytes(void **state)
{
	static const char md[] = "{\"Cluster\":\"mycluster\"}";
	static const char md_mid[] = "{\"Cluster\":\"my\0cluster\"}";
	struct ecs_agent_info a;
	char err[256];

	(void)state;
	assert_int_equal(parse_md(md, sizeof(md) - 1, &a, err, sizeof(err)), 0);
	assert_string_equal(a.cluster, "mycluster");
	assert_int_equal(parse_md(md, sizeof(md), &a, err, sizeof(err)), -1);
	assert_int_equal(parse_md(md_mid, sizeof(md_mid) - 1, &a, err, sizeof(err)), -1);
	assert_int_equal(parse_md("", 0, &a, err, sizeof(err)), -1);
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(ecs__parse_metadata(NULL, 0, &a, err, sizeof(err)), -1);
	check_md_sane(-1, &a, err);
}

static void test_lookup_names(void **state)
{
	(void)state;
	assert_string_equal(ecs__lookup_name(ECS_FOUND), "found");
	assert_string_equal(ecs__lookup_name(ECS_NOT_FOUND), "not_found");
	assert_string_equal(ecs__lookup_name(ECS_AGENT_DOWN), "agent_unreachable");
	assert_string_equal(ecs__lookup_name(ECS_ERROR), "error");
	assert_string_equal(ecs__lookup_name((enum ecs_lookup)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata_corpus),
		cmocka_unit_test(test_task_corpus),
		cmocka_unit_test(test_corpus_complete),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_cluster_arn_derivation),
		cmocka_unit_test(test_metadata_hostile),
		cmocka_unit_test(test_task_hostile),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_many_containers),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_lookup_names),
	};

	return cmocka_run_group_tests_name("ecs", tests, setup, NULL);
}
