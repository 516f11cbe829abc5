// SPDX-License-Identifier: Apache-2.0
/*
 * container__parse() and container__of_pid() against recorded /proc/PID/cgroup
 * contents in tests/corpus/cgroup, one file per case:
 *
 *   docker-*, k8s-*, podman-*, ecs-*   containers, by runtime, cgroup driver
 *                                      and cgroup version (v1 files hold one
 *                                      line per hierarchy, hybrid ones end in
 *                                      a "0::" line, v2 files hold just it)
 *   host-*                             processes outside any container
 *   format-*                           CRLF, no final newline, blanks, the
 *                                      kernel's " (deleted)" mark
 *   hostile-*, bad-*                   ids that are not ids, paths and lines
 *                                      the kernel never writes
 *
 * The expected result of each file is in the table below, and every file of
 * the directory must be in it. Ids, task ids and pod uids were made up for
 * the corpus. Inputs are handed over in heap buffers of exactly their length,
 * so a read past the end shows up under valgrind or ASan.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "container.h"
#include "testutil.h"

#define D1 "f602cf3c934142d5c8df0e0377369d942f5d66157c8ba46f29c1a1a60598961b"
#define D2 "a1fde4b9cb9cae43cc1bc4585635f660a26b0d59610dce1b3aea98b0f83ee036"
#define D3 "ee37cd5b81b7e4253705ff6bfade9f75446a4674df09353a61953ff10ac689a9"
#define D4 "b15c39e8322c6d403ad18363d19bd37071262eca9cbc9f0fa385e8620e292fb9"
#define D5 "d5ddf6398d13f6b245b8572267232752e7614d9f5b85e58ad8332519413fcbc4"
#define K1 "7aee73b886350dd8dd03ccd3ea46c7d239b9af8b412d975bb2f5d40827eb58c3"
#define K2 "71cf6e1b6a622f65a08604f19db33bff80b3107a21eb1aa31be2cc1bc817d731"
#define K3 "77d238a2fdff353a478cc2beb397e611b6395cbdf5ffd9c5555f41002602dc6b"
#define K4 "23cab72e8e70fc07fbbc0461e0974ba1b67e267ab73b385f11e0b57f64e9fe11"
#define K5 "6095428204529411a60af854039a296c041e9f65ebd6281cd7f0e0a76793c39f"
#define K6 "253c0d707c234e9d97811d01ee29a947cb6ad88eb9289b7c14da761a41ae2afc"
#define K8 "8d968ca0cbc22c181eda9b9ad4c62738d855506c7a6b811c27c4c556e47a690e"
#define P1 "c548dd24fba199c61d60a45e14d4a9a5b334ab0d27ef71b7ece914c3ede828fe"
#define P2 "26fa27ddbe2297f3ac7034c1347040d14f2c5dcb19c8ff9391433a012a04cf1d"
#define P3 "8c53f9fcfaf0195071a95e5f2139bc1b900d1a271668ad0a21b6e1404e4aba3d"
#define P4 "c960fbc0c25ec033a0b8146ee1122896a2d03c7f7a5f80718c10701030e6fba3"
#define E1 "de29943c8db9621ec5f12c0877f4c78df6a47ab9a7b02b9305cfa96d5bd13f2e"
#define E2 "047061df67ea6352475dcc31e2a7848ce2cc9183c61f366c73285a6f6e653b73"
#define E3 "aeca940e3be3a8f4a49bb1b9c083e64b57c27f70e9143491684a1b770df235d9"
#define E4 "e9226b31d345f6206cb4f3683bc47728e86fda806d4dd713cce3978409326b67"
#define X1 "9c1400e2d328db81c896cd5e33f7e1b66b51c0c73158029d06060668f8fee3d7"
#define X2 "c92f5a5feb50735272b353b6052b17e5f2fb21e21fa9161af134da082ebace00"
#define X3 "9191dc609d5735dbfefedd49294ebc17e5271c17c807476db1cf3e6a789c9edf"

#define U1 "a92ce3ba-29e9-41e4-8e78-13e935423e05"
#define U2 "53a6dfe9-3dd9-4b5a-a577-aa7e7bd36ba7"
#define U3 "bc5f5c90-e658-4010-a6c8-32c2784344fe"
#define U4 "3c28192d-11fa-4c74-bf37-9ed1824296db"
#define U5 "c3664bcd-4458-4f92-ae8f-201bc67f9086"
#define U6 "95e4d7bb-f700-4527-bf02-860f65773ede"
#define U7 "0f4c2a8e-7b61-4d3e-9a05-c1d2e3f4a5b6"
#define U8 "6a1d9e2c-4f03-4b7a-8e55-2c9d0b7f1e48"
#define STATIC_POD "4e3b2f8a6d1c09e7b5a4f3c2d1e0b9a8"
#define T1 "9689791168550fb0303310343a84bea1"
#define T2 "90c0bc46406d247160eb06028f90043c"
#define TU1 "a3f1c6d2-5e7b-4c89-b0d4-6f2e8a1c9b37"
#define TU2 "d29d35a7-7c51-49fa-96fd-569abfb88509"

struct cg_case {
	const char *file;
	int ret;
	const char *runtime;
	const char *id;
	enum container_orchestrator orch;
	const char *task;
	const char *pod;
};

#define HOST(f) { f, 0, "", "", ORCH_NONE, "", "" }
#define BAD(f) { f, -1, "", "", ORCH_NONE, "", "" }
#define PLAIN(f, rt, id) { f, 1, rt, id, ORCH_NONE, "", "" }
#define K8S(f, rt, id, pod) { f, 1, rt, id, ORCH_KUBERNETES, "", pod }
#define ECS(f, id, task) { f, 1, "docker", id, ORCH_ECS, task, "" }

static const struct cg_case cases[] = {
	/* Docker: cgroupfs driver (v1, hybrid, v2), systemd driver, rootless. */
	PLAIN("docker-cgroupfs-v1-al2.txt", "docker", D1),
	PLAIN("docker-cgroupfs-hybrid-ubuntu2004.txt", "docker", D2),
	PLAIN("docker-cgroupfs-hybrid-v2-elsewhere.txt", "docker", D2),
	PLAIN("docker-cgroupfs-v2.txt", "docker", D3),
	PLAIN("docker-systemd-v2.txt", "docker", D4),
	PLAIN("docker-systemd-v1-centos7.txt", "docker", D5),
	PLAIN("docker-systemd-v2-systemd-inside.txt", "docker", X1),
	PLAIN("docker-in-docker-v2.txt", "docker", D3),
	PLAIN("docker-rootless-v2.txt", "docker", X3),
	/* Kubernetes: containerd and CRI-O, both drivers; dockershim. */
	K8S("k8s-containerd-cgroupfs-burstable-v1.txt", "containerd", K1, U1),
	K8S("k8s-containerd-cgroupfs-besteffort-v2.txt", "containerd", K2, U2),
	K8S("k8s-containerd-cgroupfs-guaranteed-v1.txt", "containerd", K3, U3),
	K8S("k8s-containerd-systemd-burstable-v2.txt", "containerd", K4, U4),
	K8S("k8s-containerd-systemd-guaranteed-v1.txt", "containerd", K5, U5),
	K8S("k8s-containerd-systemd-static-pod-v2.txt", "containerd", K1, STATIC_POD),
	K8S("k8s-crio-systemd-besteffort-v2.txt", "cri-o", K6, U6),
	HOST("k8s-crio-systemd-conmon-v2.txt"),
	K8S("k8s-crio-cgroupfs-burstable-v1.txt", "cri-o", K6, U7),
	K8S("k8s-dockershim-systemd-burstable-v1.txt", "docker", K8, U8),
	/* A kind node: the host's Docker container holding the pods. */
	PLAIN("k8s-kind-node-v2.txt", "docker", X2),
	HOST("k8s-invalid-pod-uid-v2.txt"),
	/* podman */
	PLAIN("podman-systemd-rootful-v2.txt", "podman", P1),
	PLAIN("podman-systemd-rootful-container-v2.txt", "podman", P2),
	PLAIN("podman-systemd-rootless-v2.txt", "podman", P3),
	PLAIN("podman-cgroupfs-v1.txt", "podman", P4),
	PLAIN("podman-pod-v2.txt", "podman", P2),
	HOST("podman-conmon-v2.txt"),
	/* ECS: Amazon Linux 2 (v1) and Amazon Linux 2023 (v2). */
	ECS("ecs-al2-v1.txt", E1, T1),
	ECS("ecs-al2-v1-uuid-task.txt", E2, TU1),
	ECS("ecs-al2023-v2.txt", E3, T2),
	ECS("ecs-al2023-v2-uuid-task.txt", E4, TU2),
	PLAIN("ecs-al2023-agent-v2.txt", "docker", D1),
	/* Host processes. */
	HOST("host-sshd-v2.txt"),
	HOST("host-session-v2.txt"),
	HOST("host-init-v2.txt"),
	HOST("host-root-v2.txt"),
	HOST("host-dockerd-v2.txt"),
	HOST("host-sshd-v1-al2.txt"),
	HOST("host-kernel-thread-hybrid.txt"),
	/* Formatting the parser tolerates. */
	PLAIN("format-crlf.txt", "docker", X2),
	PLAIN("format-no-final-newline.txt", "docker", X3),
	PLAIN("format-deleted-v2.txt", "docker", X3),
	PLAIN("format-spaces-blank-lines.txt", "docker", D3),
	/* Not ids: well-formed paths that name no container. */
	HOST("hostile-id-nonhex.txt"),
	HOST("hostile-id-nonhex-scope.txt"),
	HOST("hostile-id-too-long.txt"),
	HOST("hostile-id-65.txt"),
	HOST("hostile-id-too-short.txt"),
	HOST("hostile-id-uppercase.txt"),
	HOST("hostile-id-quote.txt"),
	HOST("hostile-prefix-only.txt"),
	HOST("hostile-ecs-v1-bad-task.txt"),
	BAD("hostile-ecs-bad-task.txt"),
	/* Not what the kernel writes. */
	BAD("bad-empty.txt"),
	BAD("bad-blank.txt"),
	BAD("bad-garbage.txt"),
	BAD("bad-no-colons.txt"),
	BAD("bad-one-colon.txt"),
	BAD("bad-hierarchy.txt"),
	BAD("bad-v2-with-controllers.txt"),
	BAD("bad-v1-without-controllers.txt"),
	BAD("bad-relative-path.txt"),
	BAD("bad-traversal.txt"),
	BAD("bad-dot-component.txt"),
	BAD("bad-empty-component.txt"),
	BAD("bad-v2-twice.txt"),
	BAD("bad-v2-not-last.txt"),
	BAD("bad-hierarchy-twice.txt"),
	BAD("bad-disagree.txt"),
	BAD("bad-control-char.txt"),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static char corpus[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	return tu_corpus_setup("cgroup", corpus);
}

static void read_case(const char *name, unsigned char **buf, size_t *len)
{
	tu_read_case(corpus, name, buf, len);
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!lower_hex(s + i, 1)) {
			return false;
		}
	}
	return true;
}

/* Whatever the input, the result is one of three values and well-formed. */
static void check_sane(int r, const struct container_ref *c)
{
	static const struct container_ref empty;
	size_t idn = strnlen(c->id, sizeof(c->id));

	assert_true(r >= -1 && r <= 1);
	if (r != 1) {
		MW_FAIL_IF(memcmp(c, &empty, sizeof(*c)), "no container but the result is not empty");
		return;
	}
	assert_true(!strcmp(c->runtime, "docker") || !strcmp(c->runtime, "containerd") ||
		    !strcmp(c->runtime, "cri-o") || !strcmp(c->runtime, "podman"));
	MW_FAIL_IF(idn < 12 || idn > 64 || !lower_hex(c->id, idn), "container id is not 12-64 hex");
	switch (c->orch) {
	case ORCH_NONE:
		assert_string_equal(c->ecs_task_id, "");
		assert_string_equal(c->pod_uid, "");
		break;
	case ORCH_ECS:
		assert_string_equal(c->pod_uid, "");
		MW_FAIL_IF(!is_uuid(c->ecs_task_id) &&
				   !(strlen(c->ecs_task_id) == 32 && lower_hex(c->ecs_task_id, 32)),
			   "ECS task id is neither 32 hex digits nor a UUID");
		break;
	case ORCH_KUBERNETES:
		assert_string_equal(c->ecs_task_id, "");
		MW_FAIL_IF(!is_uuid(c->pod_uid) &&
				   !(strlen(c->pod_uid) == 32 && lower_hex(c->pod_uid, 32)),
			   "pod uid is neither a UUID nor 32 hex digits");
		break;
	default:
		fail_msg("orchestrator %d", (int)c->orch);
	}
}

static void expect_field(const char *file, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("%s: %s \"%s\", want \"%s\"", file, what, got, want);
}

static void expect_case(const struct cg_case *k, int r, const struct container_ref *c)
{
	if (r != k->ret)
		fail_msg("%s: container__parse returned %d, want %d (runtime \"%s\" id \"%s\")",
			 k->file, r, k->ret, c->runtime, c->id);
	check_sane(r, c);
	expect_field(k->file, "runtime", c->runtime, k->runtime);
	expect_field(k->file, "id", c->id, k->id);
	expect_field(k->file, "orchestrator", container__orch_name(c->orch),
		     container__orch_name(k->orch));
	expect_field(k->file, "ECS task id", c->ecs_task_id, k->task);
	expect_field(k->file, "pod uid", c->pod_uid, k->pod);
}

static void test_corpus(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		struct container_ref c;
		unsigned char *buf;
		size_t len;
		int r;

		read_case(cases[i].file, &buf, &len);
		memset(&c, 0xa5, sizeof(c));
		r = container__parse((const char *)buf, len, &c);
		expect_case(&cases[i], r, &c);
		free(buf);
	}
}

static int txt_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 4 && !strcmp(de->d_name + n - 4, ".txt");
}

/* Every recorded file has an expectation and every expectation a file. */
static void test_corpus_complete(void **state)
{
	struct dirent **list;
	int n = scandir(corpus, &list, txt_filter, alphasort);

	(void)state;
	if (n < 0)
		fail_msg("cannot list %s: %s", corpus, strerror(errno));
	for (int i = 0; i < n; i++) {
		bool known = false;

		for (size_t k = 0; k < NCASES; k++)
			known = known || !strcmp(cases[k].file, list[i]->d_name);
		if (!known)
			fail_msg("%s/%s has no expected result in test_container.c", corpus,
				 list[i]->d_name);
		free(list[i]);
	}
	free(list);
	assert_int_equal((size_t)n, NCASES);
}

/* Each cut of each file: a valid answer, never a read past the cut. */
static void test_every_prefix(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		unsigned char *buf;
		size_t len;

		read_case(cases[i].file, &buf, &len);
		for (size_t plen = 0; plen <= len; plen++) {
			char *p = malloc(plen ? plen : 1);
			struct container_ref c;

			assert_non_null(p);
			memcpy(p, buf, plen);
			check_sane(container__parse(p, plen, &c), &c);
			free(p);
		}
		free(buf);
	}
}

/* Every byte of every file replaced by bytes that matter to the parser. */
static void test_every_byte(void **state)
{
	static const unsigned char subst[] = { 0, '\n', '\r', ':', '/', '-', '.', '_', 'g',
					       'A', '0', ' ', 0x80, 0xff };

	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		unsigned char *buf;
		size_t len;

		read_case(cases[i].file, &buf, &len);
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t s = 0; s < sizeof(subst); s++) {
				char *p = malloc(len);
				struct container_ref c;

				assert_non_null(p);
				memcpy(p, buf, len);
				p[pos] = (char)subst[s];
				check_sane(container__parse(p, len, &c), &c);
				free(p);
			}
		}
		free(buf);
	}
}

static int parse_str(const char *s, struct container_ref *c)
{
	size_t n = strlen(s);
	char *p = malloc(n ? n : 1);
	int r;

	assert_non_null(p);
	memcpy(p, s, n);
	r = container__parse(p, n, c);
	free(p);
	check_sane(r, c);
	return r;
}

static void test_nul_bytes(void **state)
{
	static const char mid[] = "0::/system.slice/docker-" D4 ".scope\0garbage\n";
	static const char tail[] = "0::/system.slice/docker-" D4 ".scope\n\0\0";
	static const char inpath[] = "0::/docker/\0" D4 "\n";
	struct container_ref c;

	(void)state;
	/* The terminator of a C string counted in len is not an error. */
	assert_int_equal(container__parse(tail, sizeof(tail), &c), 1);
	assert_string_equal(c.id, D4);
	assert_int_equal(container__parse(tail, sizeof(tail) - 1, &c), 1);
	assert_int_equal(container__parse(mid, sizeof(mid) - 1, &c), -1);
	check_sane(-1, &c);
	assert_int_equal(container__parse(inpath, sizeof(inpath) - 1, &c), -1);
	assert_int_equal(container__parse("\0\0\0", 3, &c), -1);
	assert_int_equal(container__parse(NULL, 0, &c), -1);
	assert_int_equal(container__parse("", 0, &c), -1);
}

/* The bytes after len are never looked at: the text needs no terminator. */
static void test_len_bounds(void **state)
{
	static const char two[] = "0::/docker/" D3 "\n0::/docker/" D1 "\n";
	static const char id_cut[] = "0::/docker/" D3;
	struct container_ref c;

	(void)state;
	/* Only the first line is inside len; the second would be an error. */
	assert_int_equal(container__parse(two, strlen("0::/docker/" D3 "\n"), &c), 1);
	assert_string_equal(c.id, D3);
	/* A cut id shorter than 12 digits is no id. */
	assert_int_equal(container__parse(id_cut, strlen("0::/docker/") + 11, &c), 0);
	assert_int_equal(container__parse(id_cut, strlen("0::/docker/") + 12, &c), 1);
	assert_int_equal(strlen(c.id), 12);
}

/* "0::/x/x.../yyy/docker/D1", exactly total bytes long (total >= 80). */
static void deep_line(char *p, size_t total)
{
	static const char tail[] = "/docker/" D1;
	size_t fixed = 3 + 1 + strlen(tail), m = (total - fixed - 1) / 2, off = 3;

	memcpy(p, "0::", 3);
	for (size_t i = 0; i < m; i++, off += 2)
		memcpy(p + off, "/x", 2);
	p[off++] = '/';
	memset(p + off, 'y', total - strlen(tail) - off);
	memcpy(p + total - strlen(tail), tail, strlen(tail));
}

static void test_long_lines(void **state)
{
	size_t n = 3 * CONTAINER_LINE_MAX, off;
	char *p = malloc(n);
	struct container_ref c;

	(void)state;
	assert_non_null(p);
	/* One endless path component. */
	memcpy(p, "0::/", 4);
	memset(p + 4, 'a', n - 4);
	assert_int_equal(container__parse(p, n, &c), -1);
	check_sane(-1, &c);
	/* A deep path exactly at the limit, the container at the end: accepted. */
	deep_line(p, CONTAINER_LINE_MAX);
	assert_int_equal(container__parse(p, CONTAINER_LINE_MAX, &c), 1);
	assert_string_equal(c.id, D1);
	/* One byte more: refused. */
	deep_line(p, CONTAINER_LINE_MAX + 1);
	assert_int_equal(container__parse(p, CONTAINER_LINE_MAX + 1, &c), -1);
	/* An endless id after a container prefix. */
	off = (size_t)snprintf(p, n, "0::/system.slice/docker-");
	memset(p + off, 'f', CONTAINER_LINE_MAX - off - 6);
	memcpy(p + CONTAINER_LINE_MAX - 6, ".scope", 6);
	assert_int_equal(container__parse(p, CONTAINER_LINE_MAX, &c), 0);
	free(p);
}

static void test_too_many_lines(void **state)
{
	size_t cap = (CONTAINER_LINES_MAX + 2) * 96, off = 0;
	char *p = malloc(cap);
	struct container_ref c;

	(void)state;
	assert_non_null(p);
	for (int h = CONTAINER_LINES_MAX; h >= 1; h--)
		off += (size_t)snprintf(p + off, cap - off, "%d:c%d:/docker/" D2 "\n", h, h);
	assert_int_equal(container__parse(p, off, &c), 1);
	assert_string_equal(c.id, D2);
	off = 0;
	for (int h = CONTAINER_LINES_MAX + 1; h >= 1; h--)
		off += (size_t)snprintf(p + off, cap - off, "%d:c%d:/docker/" D2 "\n", h, h);
	assert_int_equal(container__parse(p, off, &c), -1);
	free(p);
}

/* The v2 line wins over v1 lines; v1 lines agree; the orchestrator follows. */
static void test_preference(void **state)
{
	struct container_ref c;

	(void)state;
	/* name=systemd names the ECS task, cpu only the container: same id. */
	assert_int_equal(parse_str("3:memory:/docker/" E1 "\n"
				   "2:cpu,cpuacct:/docker/" E1 "\n"
				   "1:name=systemd:/ecs/" T1 "/" E1 "\n",
				   &c),
			 1);
	assert_int_equal(c.orch, ORCH_ECS);
	assert_string_equal(c.ecs_task_id, T1);
	/* ... and the v2 line outranks it. */
	assert_int_equal(parse_str("2:cpu:/ecs/" T1 "/" E1 "\n"
				   "1:name=systemd:/ecs/" T1 "/" E1 "\n"
				   "0::/docker/" E1 "\n",
				   &c),
			 1);
	assert_int_equal(c.orch, ORCH_NONE);
	/* Lines naming no container do not outvote one that does. */
	assert_int_equal(parse_str("2:cpu:/\n1:name=systemd:/user.slice\n0::/docker/" D3 "\n", &c),
			 1);
	assert_string_equal(c.id, D3);
	/* Same id, different runtime: not one container. */
	assert_int_equal(parse_str("2:cpu:/docker/" D3 "\n"
				   "1:name=systemd:/machine.slice/libpod-" D3 ".scope\n",
				   &c),
			 -1);
	/* Hierarchy numbers need not be in order, but are unique. */
	assert_int_equal(parse_str("1:name=systemd:/docker/" D3 "\n4:cpu:/docker/" D3 "\n", &c), 1);
}

static void test_shapes(void **state)
{
	struct container_ref c;

	(void)state;
	/* A 12-digit id is the shortest accepted, 64 the longest. */
	assert_int_equal(parse_str("0::/system.slice/docker-0123456789ab.scope\n", &c), 1);
	assert_string_equal(c.id, "0123456789ab");
	assert_int_equal(parse_str("0::/system.slice/docker-0123456789a.scope\n", &c), 0);
	/* Monitor scopes are not the container even with a valid id after them. */
	assert_int_equal(parse_str("0::/machine.slice/libpod-conmon-" P1 ".scope\n", &c), 0);
	/* A plain id needs the docker, pod or ECS task parent. */
	assert_int_equal(parse_str("0::/system.slice/" D1 "\n", &c), 0);
	assert_int_equal(parse_str("0::/" D1 "\n", &c), 0);
	assert_int_equal(parse_str("0::/docker\n", &c), 0);
	assert_int_equal(parse_str("0::/docker/buildkit/" D1 "\n", &c), 0);
	/* A pod cgroup counts only below kubepods. */
	assert_int_equal(parse_str("0::/pod" U1 "/" K1 "\n", &c), 0);
	assert_int_equal(parse_str("0::/kubepods/pod" U1 "/" K1 "\n", &c), 1);
	/* Sub-cgroups a container makes cannot rename it or its task. */
	assert_int_equal(parse_str("0::/ecstasks.slice/ecstasks-" T2 ".slice/docker-" E3 ".scope"
				   "/x/docker/" D1 "\n",
				   &c),
			 1);
	assert_string_equal(c.id, E3);
	assert_string_equal(c.ecs_task_id, T2);
	/* The ECS v2 slice with a bad task id is an ordinary Docker container. */
	assert_int_equal(parse_str("0::/ecstasks.slice/ecstasks-XYZ.slice/docker-" E3 ".scope\n",
				   &c),
			 1);
	assert_int_equal(c.orch, ORCH_NONE);
	assert_string_equal(c.ecs_task_id, "");
	/* A colon in the path is part of it. */
	assert_int_equal(parse_str("0::/odd:name/docker/" D1 "\n", &c), 1);
	/* " (deleted)" only as the kernel writes it, at the end. */
	assert_int_equal(parse_str("0::/docker/" D1 " (deleted)x\n", &c), 0);
}

static void test_orch_names(void **state)
{
	(void)state;
	assert_string_equal(container__orch_name(ORCH_NONE), "");
	assert_string_equal(container__orch_name(ORCH_ECS), "ecs");
	assert_string_equal(container__orch_name(ORCH_KUBERNETES), "kubernetes");
}

static int root_setup(void **state)
{
	return tu_file_setup(state, "root");
}

static int root_teardown(void **state)
{
	return tu_file_teardown(state);
}

static void put_cgroup(const struct tu_file_fixture *f, uint32_t pid, const char *text)
{
	char path[PATH_MAX];

	assert_int_equal(tu_mkdirs(tu_path(path, "%s/proc/%u", f->dir, pid)), 0);
	assert_int_equal(tu_write_str(tu_path(path, "%s/proc/%u/cgroup", f->dir, pid), text), 0);
}

static void test_of_pid(void **state)
{
	struct tu_file_fixture *f = *state;
	char root[PATH_MAX];
	struct container_ref c;
	unsigned char *buf;
	size_t len;
	char *big;

	read_case("ecs-al2023-v2.txt", &buf, &len);
	buf = realloc(buf, len + 1);
	assert_non_null(buf);
	buf[len] = '\0';
	put_cgroup(f, 4242, (const char *)buf);
	free(buf);
	assert_int_equal(container__of_pid(f->dir, 4242, &c), 1);
	assert_string_equal(c.id, E3);
	assert_string_equal(c.ecs_task_id, T2);
	assert_int_equal(container__of_pid(tu_path(root, "%s//", f->dir), 4242, &c), 1);
	assert_string_equal(c.id, E3);

	put_cgroup(f, 7, "0::/system.slice/sshd.service\n");
	assert_int_equal(container__of_pid(f->dir, 7, &c), 0);

	put_cgroup(f, 8, "garbage\n");
	errno = 0;
	assert_int_equal(container__of_pid(f->dir, 8, &c), -1);
	assert_int_equal(errno, EINVAL);

	errno = 0;
	assert_int_equal(container__of_pid(f->dir, 9, &c), -1);
	assert_int_equal(errno, ENOENT);
	check_sane(-1, &c);

	/* Larger than any genuine file: refused rather than cut. */
	big = malloc(256 * 1024 + 1);
	assert_non_null(big);
	memset(big, '\n', 256 * 1024);
	memcpy(big, "0::/docker/" D1, strlen("0::/docker/" D1));
	big[256 * 1024] = '\0';
	put_cgroup(f, 10, big);
	free(big);
	errno = 0;
	assert_int_equal(container__of_pid(f->dir, 10, &c), -1);
	assert_int_equal(errno, EFBIG);
}

/* This very process, through the real /proc: whatever it is, not malformed. */
static void test_of_pid_self(void **state)
{
	struct container_ref c;
	int r;

	(void)state;
	r = container__of_pid("/", (uint32_t)getpid(), &c);
	check_sane(r, &c);
	assert_int_not_equal(r, -1);
	assert_int_equal(container__of_pid("", (uint32_t)getpid(), &c), r);
	assert_int_equal(container__of_pid(NULL, (uint32_t)getpid(), &c), r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_complete),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_len_bounds),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_too_many_lines),
		cmocka_unit_test(test_preference),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_orch_names),
		cmocka_unit_test_setup_teardown(test_of_pid, root_setup, root_teardown),
		cmocka_unit_test(test_of_pid_self),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
