// SPDX-License-Identifier: Apache-2.0
/*
 * Container identity from /proc/PID/cgroup (see container.h).
 *
 * Path shapes recognised, by runtime and cgroup driver:
 *
 *   docker, systemd driver      /system.slice/docker-ID.scope
 *   docker, cgroupfs driver     /docker/ID
 *   docker, rootless            /user.slice/.../user@UID.service/user.slice/docker-ID.scope
 *   containerd (CRI), systemd   .../kubepods-QOS-podUID.slice/cri-containerd-ID.scope
 *                               (UID with '_' for '-')
 *   containerd (CRI), cgroupfs  /kubepods[/QOS]/podUID/ID
 *   CRI-O                       .../crio-ID.scope, or .../podUID/crio-ID with cgroupfs
 *   podman, systemd driver      /machine.slice/libpod-ID.scope[/container]
 *   podman, rootless            /user.slice/.../user@UID.service/user.slice/libpod-ID.scope
 *   podman, cgroupfs driver     /libpod_parent/libpod-ID
 *   ECS on cgroup v1            /ecs/TASK/ID (docker, cgroupfs driver)
 *   ECS on cgroup v2            /ecstasks.slice/ecstasks-TASK.slice/docker-ID.scope
 *
 * The ECS shapes are those of the Amazon ECS container agent
 * (github.com/aws/amazon-ecs-agent). With task CPU and memory limits on (the
 * default) the agent makes the task's cgroup the Docker cgroup parent of its
 * containers: agent/api/task/task_linux.go, BuildCgroupRoot(), joins the
 * prefix DefaultTaskCgroupV1Prefix ("/ecs", agent/config/config_unix.go) and
 * the task id on cgroup v1, and on cgroup v2 (buildCgroupV2Root()) names a
 * systemd slice "ecstasks-TASK.slice" from DefaultTaskCgroupV2Prefix
 * ("ecstasks", same file). systemd nests that slice under ecstasks.slice, and
 * Docker's systemd driver puts each container in docker-ID.scope below it;
 * agent/taskresource/cgroup/control/cgroupv2_controller_linux.go,
 * fullCgroupPath(), builds the same /sys/fs/cgroup/ecstasks.slice/... path.
 * TASK is the last part of the task ARN: 32 hex digits, or a UUID for tasks
 * with an old-format ARN (systemd then nests one slice per dash, the
 * innermost still named ecstasks-UUID.slice). With task limits off, ECS
 * containers look like any other Docker container.
 *
 * A plain kubepods/podUID/ID path does not say whether containerd or the
 * removed dockershim made it; it is reported as containerd, the usual
 * runtime since Kubernetes 1.24.
 *
 * The outermost matching component names the container, not the deepest: a
 * process inside a container can make sub-cgroups below its own (systemd in
 * a container, Docker in Docker, ".../init") and so choose what appears
 * deeper, but cannot leave the container's cgroup. The outermost match is
 * also the container the host's runtime and the ECS agent know.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"

#define ID_MIN 12
#define ID_MAX 64
#define UUID_LEN 36
#define TASK_HEX_LEN 32
/* Large enough for any genuine file; a bigger one is refused, not cut. */
#define CGROUP_FILE_MAX (128 * 1024)

struct span {
	const char *p;
	size_t n;
};

/* What the parent of a matching component must be. */
enum cg_context {
	CTX_ANY,        /* nothing: the name alone says it is a container */
	CTX_DOCKER,     /* the component "docker" (cgroupfs driver) */
	CTX_POD,        /* a Kubernetes pod cgroup (cgroupfs driver) */
	CTX_ECS_TASK,   /* an ECS task under "ecs" (cgroup v1) */
};

/* A container cgroup: prefix + ID + suffix, under a parent of a given kind. */
struct cg_shape {
	const char *prefix;
	const char *suffix;
	enum cg_context ctx;
	const char *runtime;
};

static const struct cg_shape shapes[] = {
	{ "docker-", ".scope", CTX_ANY, "docker" },
	{ "cri-containerd-", ".scope", CTX_ANY, "containerd" },
	{ "crio-", ".scope", CTX_ANY, "cri-o" },
	{ "crio-", "", CTX_ANY, "cri-o" },
	{ "libpod-", ".scope", CTX_ANY, "podman" },
	{ "libpod-", "", CTX_ANY, "podman" },
	{ "", "", CTX_DOCKER, "docker" },
	{ "", "", CTX_ECS_TASK, "docker" },
	{ "", "", CTX_POD, "containerd" },
};

/* Cgroups of a runtime's monitor process, next to the container: not it. */
static const char *const monitors[] = {
	"libpod-conmon-",
	"crio-conmon-",
};

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_starts(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static bool span_ends(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p + s.n - n, lit, n) == 0;
}

static bool span_contains(struct span s, const char *lit)
{
	return memmem(s.p, s.n, lit, strlen(lit)) != NULL;
}

static bool is_lower_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	}
	return true;
}

static bool valid_id(const char *p, size_t n)
{
	return n >= ID_MIN && n <= ID_MAX && is_lower_hex(p, n);
}

/* 8-4-4-4-12 lowercase hex digits separated by sep. */
static bool valid_uuid(const char *p, size_t n, char sep)
{
	if (n != UUID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (p[i] != sep)
				return false;
		} else if (!is_lower_hex(p + i, 1)) {
			return false;
		}
	}
	return true;
}

/* The last part of a task ARN: 32 hex digits, or a UUID (old ARN format). */
static bool valid_task_id(const char *p, size_t n)
{
	return (n == TASK_HEX_LEN && is_lower_hex(p, n)) || valid_uuid(p, n, '-');
}

/* Copies n validated bytes into out (size >= n + 1), mapping from (0: none) to '-'. */
static void copy_id(char *out, const char *p, size_t n, char from)
{
	for (size_t i = 0; i < n; i++)
		out[i] = p[i] == from ? '-' : p[i];
	out[n] = '\0';
}

/*
 * A Kubernetes pod cgroup below a kubepods cgroup: "podUID" (cgroupfs) or
 * "...kubepods[-QOS]-podUID.slice" with '_' for '-' in UID (systemd). UID is
 * a UUID, or 32 hex digits for a static pod (its config hash). Writes the
 * uid in dashed form to uid (37 bytes) when it is one.
 */
static bool pod_cgroup(struct span c, bool in_kubepods, char *uid)
{
	struct span u;
	char sep;

	if (!in_kubepods)
		return false;
	if (span_starts(c, "pod")) {
		u = (struct span){ c.p + 3, c.n - 3 };
		sep = '-';
	} else if (span_ends(c, ".slice") && span_contains(c, "kubepods")) {
		const char *dash = NULL;
		size_t body = c.n - strlen(".slice");

		for (size_t i = body; i > 0; i--) {
			if (c.p[i - 1] == '-') {
				dash = c.p + i - 1;
				break;
			}
		}
		if (!dash)
			return false;
		u = (struct span){ dash + 1, (size_t)(c.p + body - (dash + 1)) };
		if (!span_starts(u, "pod"))
			return false;
		u.p += 3;
		u.n -= 3;
		sep = '_';
	} else {
		return false;
	}
	if (valid_uuid(u.p, u.n, sep)) {
		copy_id(uid, u.p, u.n, sep);
		return true;
	}
	if (u.n == TASK_HEX_LEN && is_lower_hex(u.p, u.n)) {
		copy_id(uid, u.p, u.n, sep);
		return true;
	}
	return false;
}

/* ECS task cgroups: "ecstasks-TASK.slice" (v2), or TASK under "ecs" (v1). */
static bool ecs_task_v2(struct span c, struct span *task)
{
	static const char pre[] = "ecstasks-", suf[] = ".slice";

	if (c.n <= strlen(pre) + strlen(suf) || !span_starts(c, pre) || !span_ends(c, suf))
		return false;
	task->p = c.p + strlen(pre);
	task->n = c.n - strlen(pre) - strlen(suf);
	return valid_task_id(task->p, task->n);
}

static bool ecs_task_v1(struct span c, struct span parent)
{
	return span_eq(parent, "ecs") && valid_task_id(c.p, c.n);
}

static bool is_monitor(struct span c)
{
	for (size_t i = 0; i < sizeof(monitors) / sizeof(monitors[0]); i++) {
		if (span_starts(c, monitors[i]))
			return true;
	}
	return false;
}

/*
 * Does component c, below parent and grandparent, name a container? On a
 * match fills out (runtime, id, and the orchestrator the parent names).
 */
static bool match_component(struct span c, struct span parent, struct span grand,
			    bool in_kubepods, struct container_ref *out)
{
	char uid[UUID_LEN + 1];
	struct span task;

	if (is_monitor(c))
		return false;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct cg_shape *s = &shapes[i];
		size_t pre = strlen(s->prefix), suf = strlen(s->suffix);
		const char *id;
		size_t n;

		if (c.n <= pre + suf || !span_starts(c, s->prefix) || !span_ends(c, s->suffix))
			continue;
		id = c.p + pre;
		n = c.n - pre - suf;
		if (!valid_id(id, n))
			continue;
		switch (s->ctx) {
		case CTX_ANY:
			break;
		case CTX_DOCKER:
			if (!span_eq(parent, "docker"))
				continue;
			break;
		case CTX_POD:
			if (!pod_cgroup(parent, in_kubepods, uid))
				continue;
			break;
		case CTX_ECS_TASK:
			if (!ecs_task_v1(parent, grand))
				continue;
			break;
		}

		memset(out, 0, sizeof(*out));
		snprintf(out->runtime, sizeof(out->runtime), "%s", s->runtime);
		copy_id(out->id, id, n, '\0');
		if (pod_cgroup(parent, in_kubepods, uid)) {
			out->orch = ORCH_KUBERNETES;
			memcpy(out->pod_uid, uid, strlen(uid) + 1);
		} else if (ecs_task_v2(parent, &task)) {
			out->orch = ORCH_ECS;
			copy_id(out->ecs_task_id, task.p, task.n, '\0');
		} else if (ecs_task_v1(parent, grand)) {
			out->orch = ORCH_ECS;
			copy_id(out->ecs_task_id, parent.p, parent.n, '\0');
		}
		return true;
	}
	return false;
}

/*
 * Walks an absolute cgroup path from the root down. 1 with out filled when a
 * component names a container, 0 when none does, -1 when the path is not
 * one the kernel writes.
 */
static int parse_path(struct span path, struct container_ref *out)
{
	struct span parent = { "", 0 }, grand = { "", 0 };
	bool in_kubepods = false, found = false;
	size_t i = 1;

	if (!path.n || path.p[0] != '/')
		return -1;
	for (size_t k = 0; k < path.n; k++) {
		unsigned char ch = (unsigned char)path.p[k];

		if (ch < 0x20 || ch == 0x7f)
			return -1;
	}
	if (path.n == 1)
		return 0;
	while (i <= path.n) {
		const char *slash = memchr(path.p + i, '/', path.n - i);
		struct span c = { path.p + i, slash ? (size_t)(slash - path.p) - i : path.n - i };

		if (!c.n || span_eq(c, ".") || span_eq(c, ".."))
			return -1;
		/* The rest is still checked for dot components. */
		if (!found && match_component(c, parent, grand, in_kubepods, out))
			found = true;
		if (span_contains(c, "kubepods"))
			in_kubepods = true;
		grand = parent;
		parent = c;
		i += c.n + 1;
	}
	return found ? 1 : 0;
}

struct cg_line {
	unsigned long hier;
	struct span ctrl;
	struct span path;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* "HIERARCHY:CONTROLLERS:PATH", already trimmed; 0 or -1. */
static int split_line(struct span l, struct cg_line *ret)
{
	const char *c1 = memchr(l.p, ':', l.n), *c2;
	static const char deleted[] = " (deleted)";
	size_t digits;

	if (!c1)
		return -1;
	digits = (size_t)(c1 - l.p);
	if (!digits || digits > 9)
		return -1;
	ret->hier = 0;
	for (size_t i = 0; i < digits; i++) {
		if (l.p[i] < '0' || l.p[i] > '9')
			return -1;
		ret->hier = ret->hier * 10 + (unsigned long)(l.p[i] - '0');
	}
	c2 = memchr(c1 + 1, ':', l.n - digits - 1);
	if (!c2)
		return -1;
	ret->ctrl = (struct span){ c1 + 1, (size_t)(c2 - c1 - 1) };
	for (size_t i = 0; i < ret->ctrl.n; i++) {
		unsigned char ch = (unsigned char)ret->ctrl.p[i];

		if (ch <= 0x20 || ch >= 0x7f)
			return -1;
	}
	/* v2 has no controller list; each v1 hierarchy has one. */
	if ((ret->hier == 0) != (ret->ctrl.n == 0))
		return -1;
	ret->path = (struct span){ c2 + 1, (size_t)(l.p + l.n - (c2 + 1)) };
	/* The kernel marks a process still in a removed v2 cgroup this way. */
	if (span_ends(ret->path, deleted))
		ret->path.n -= strlen(deleted);
	return 0;
}

static bool has_controller(struct span ctrl, const char *name)
{
	size_t i = 0;

	while (i < ctrl.n) {
		const char *comma = memchr(ctrl.p + i, ',', ctrl.n - i);
		size_t end = comma ? (size_t)(comma - ctrl.p) : ctrl.n;

		if (span_eq((struct span){ ctrl.p + i, end - i }, name))
			return true;
		i = end + 1;
	}
	return false;
}

/* Lower is preferred: the v2 line, then name=systemd, cpu, memory, others. */
static int line_rank(const struct cg_line *l)
{
	if (l->hier == 0)
		return 0;
	if (has_controller(l->ctrl, "name=systemd"))
		return 1;
	if (has_controller(l->ctrl, "cpu"))
		return 2;
	if (has_controller(l->ctrl, "memory"))
		return 3;
	return 4;
}

int container__parse(const char *text, size_t len, struct container_ref *out)
{
	unsigned long seen[CONTAINER_LINES_MAX];
	int best = INT_MAX, found = 0;
	size_t nlines = 0, pos = 0;
	bool v2_seen = false;

	memset(out, 0, sizeof(*out));
	if (!text)
		return -1;
	/* A C string handed over with its terminator counted. */
	while (len && text[len - 1] == '\0')
		len--;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct span l = { text + pos, end - pos };
		struct container_ref cand;
		struct cg_line cl;
		int r, rank;

		pos = end + 1;
		if (l.n > CONTAINER_LINE_MAX)
			goto malformed;
		while (l.n && is_blank(l.p[0])) {
			l.p++;
			l.n--;
		}
		while (l.n && is_blank(l.p[l.n - 1]))
			l.n--;
		if (!l.n)
			continue;
		/* The v2 line comes last; nothing follows it. */
		if (v2_seen || nlines == CONTAINER_LINES_MAX || split_line(l, &cl))
			goto malformed;
		for (size_t i = 0; i < nlines; i++) {
			if (seen[i] == cl.hier)
				goto malformed;
		}
		seen[nlines++] = cl.hier;
		v2_seen = cl.hier == 0;

		r = parse_path(cl.path, &cand);
		if (r < 0)
			goto malformed;
		if (!r)
			continue;
		rank = line_rank(&cl);
		if (found && (strcmp(cand.id, out->id) || strcmp(cand.runtime, out->runtime)))
			goto malformed;
		if (!found || rank < best) {
			*out = cand;
			best = rank;
		}
		found = 1;
	}
	if (!nlines)
		goto malformed;
	if (!found)
		memset(out, 0, sizeof(*out));
	return found;

malformed:
	memset(out, 0, sizeof(*out));
	return -1;
}

int container__of_pid(const char *host_root, uint32_t pid, struct container_ref *out)
{
	char path[PATH_MAX];
	size_t rootlen = host_root ? strlen(host_root) : 0, len = 0;
	char *buf;
	int fd, r, saved;

	memset(out, 0, sizeof(*out));
	while (rootlen && host_root[rootlen - 1] == '/')
		rootlen--;
	if ((size_t)snprintf(path, sizeof(path), "%.*s/proc/%u/cgroup", (int)rootlen,
			     rootlen ? host_root : "", pid) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf = malloc(CGROUP_FILE_MAX + 1);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		free(buf);
		errno = saved;
		return -1;
	}
	/* One byte more than allowed tells a full buffer from a cut file. */
	while (len <= CGROUP_FILE_MAX) {
		ssize_t n = read(fd, buf + len, CGROUP_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			close(fd);
			free(buf);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > CGROUP_FILE_MAX) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	r = container__parse(buf, len, out);
	free(buf);
	if (r < 0)
		errno = EINVAL;
	return r;
}

const char *container__orch_name(enum container_orchestrator orch)
{
	switch (orch) {
	case ORCH_ECS:
		return "ecs";
	case ORCH_KUBERNETES:
		return "kubernetes";
	case ORCH_NONE:
		break;
	}
	return "";
}
