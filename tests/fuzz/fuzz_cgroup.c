// SPDX-License-Identifier: Apache-2.0
/*
 * The /proc/PID/cgroup parser (container__parse) on arbitrary text, not
 * NUL-terminated, checked against what container.h promises: out is always
 * written, all empty unless a container was found, and what it names has
 * been validated (ids lowercase hex of 12 to 64 digits, ECS task ids 32 hex
 * digits or a UUID, pod uids a UUID or 32 hex digits for a static pod).
 */
#include "container.h"
#include "fuzz_util.h"

#define LOWER_HEX "0123456789abcdef"

static bool uuid_shaped(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr(LOWER_HEX, s[i])) {
			return false;
		}
	}
	return true;
}

static bool hex32(const char *s)
{
	return strlen(s) == 32 && fz_only(s, LOWER_HEX);
}

static void check_found(const struct container_ref *r)
{
	static const char *const runtimes[] = { "docker", "containerd", "cri-o", "podman" };
	bool known = false;
	size_t n;

	FZ_CHECK(fz_terminated(r->runtime, sizeof(r->runtime)) &&
			 fz_terminated(r->id, sizeof(r->id)) &&
			 fz_terminated(r->ecs_task_id, sizeof(r->ecs_task_id)) &&
			 fz_terminated(r->pod_uid, sizeof(r->pod_uid)),
		 "every field is NUL-terminated");
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++)
		known |= !strcmp(r->runtime, runtimes[i]);
	FZ_CHECK(known, "runtime is one of the known ones");
	n = strlen(r->id);
	FZ_CHECK(n >= 12 && n <= 64 && fz_only(r->id, LOWER_HEX),
		 "container id is 12 to 64 lowercase hex digits");
	switch (r->orch) {
	case ORCH_NONE:
		FZ_CHECK(!r->ecs_task_id[0] && !r->pod_uid[0], "no orchestrator, no task or pod");
		break;
	case ORCH_ECS:
		FZ_CHECK(hex32(r->ecs_task_id) || uuid_shaped(r->ecs_task_id),
			 "ECS task id is 32 hex digits or a UUID");
		FZ_CHECK(!r->pod_uid[0], "an ECS container has no pod");
		break;
	case ORCH_KUBERNETES:
		FZ_CHECK(hex32(r->pod_uid) || uuid_shaped(r->pod_uid),
			 "pod uid is a dashed UUID or 32 hex digits");
		FZ_CHECK(!r->ecs_task_id[0], "a pod has no ECS task");
		break;
	default:
		FZ_CHECK(false, "orchestrator in range");
	}
	FZ_CHECK(container__orch_name(r->orch) != NULL, "orchestrator has a name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_dup(data, size);
	struct container_ref out;
	int r;

	memset(&out, 0xa5, sizeof(out));
	r = container__parse(text, size, &out);
	FZ_CHECK(r == -1 || r == 0 || r == 1, "container__parse returns -1, 0 or 1");
	if (r == 1)
		check_found(&out);
	else
		FZ_CHECK(fz_zeroed(&out, sizeof(out)),
			 "out is all empty unless a container was found");
	free(text);
	return 0;
}
