/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container identity from the text of /proc/PID/cgroup.
 *
 * The cgroup path a runtime puts a container in names the runtime, the
 * container id and, for Kubernetes and ECS, the pod or task. A static table
 * of path shapes (docker-ID.scope, cri-containerd-ID.scope, crio-ID[.scope],
 * libpod-ID[.scope], /docker/ID, /kubepods/.../podUID/ID, /ecs/TASK/ID,
 * /ecstasks.slice/ecstasks-TASK.slice/docker-ID.scope) is matched against
 * the path components; the outermost component that matches names the
 * container, so sub-cgroups a container makes below its own (".../init",
 * ".../container", a nested runtime) neither hide nor replace it.
 *
 * Everything taken from the path is validated (ids lowercase hex of 12 to 64
 * digits, task ids 32 hex digits or a UUID, pod uids a UUID) so the strings
 * handed back are safe to print as they are. The parser reads at most len
 * bytes and never needs a NUL terminator.
 */
#ifndef MW_CONTAINER_H
#define MW_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

enum container_orchestrator { ORCH_NONE = 0, ORCH_ECS, ORCH_KUBERNETES };

struct container_ref {
	char runtime[16];      /* "docker", "containerd", "cri-o", "podman"; "" when not containerised */
	char id[65];           /* container id, lowercase hex (64 chars usually) */
	enum container_orchestrator orch;
	char ecs_task_id[65];  /* ECS task id taken from the path, "" when not ECS */
	char pod_uid[37];      /* Kubernetes pod uid in canonical dashed form, "" otherwise */
};

/* The longest line (hierarchy, controllers and path) accepted as genuine. */
#define CONTAINER_LINE_MAX 8192
/* The most lines accepted: v1 has one per mounted hierarchy, v2 just one. */
#define CONTAINER_LINES_MAX 64

/*
 * Parses the text of /proc/PID/cgroup (len bytes, not necessarily NUL-terminated).
 * 1: a container was found; 0: not containerised (host process); -1: malformed.
 *
 * Lines are "HIERARCHY:CONTROLLERS:PATH". Every line whose path names a
 * container must name the same one (same runtime and id); the orchestrator
 * fields come from the preferred such line: the v2 "0::" line, then
 * name=systemd, cpu, memory, any other. Malformed means not what the kernel
 * writes: a line without two colons, a bad or repeated hierarchy number, a
 * "0::" line that is not the last, a path not starting with '/' or holding
 * "." or ".." components, NUL or control bytes, a line longer than
 * CONTAINER_LINE_MAX, more than CONTAINER_LINES_MAX lines, no line at all,
 * or lines naming different containers. CR, spaces and tabs around a line,
 * a missing final newline, NUL bytes at the very end of the buffer and the
 * kernel's " (deleted)" mark after a removed cgroup are accepted.
 * out is always written; on 0 and -1 it is all empty (ORCH_NONE).
 */
int container__parse(const char *text, size_t len, struct container_ref *out);

/*
 * Reads HOST_ROOT/proc/PID/cgroup (host_root NULL, "" or "/" means /) and
 * parses it; -1 with errno if unreadable (ENOENT or ESRCH when the process is
 * gone, EFBIG when the file is larger than any genuine one, EINVAL when it is
 * malformed).
 */
int container__of_pid(const char *host_root, uint32_t pid, struct container_ref *out);

/* "ecs", "kubernetes" or "" for ORCH_NONE. */
const char *container__orch_name(enum container_orchestrator orch);

#endif
