// SPDX-License-Identifier: Apache-2.0
/*
 * The ECS agent reply parsers on arbitrary bodies (not NUL-terminated):
 * /v1/metadata, and a /v1/tasks?dockerid= task object looked up for
 * container ids that the seed corpus (tests/corpus/ecs) uses, so that the
 * fuzzer can reach the per-container fields.
 */
#include "ecs.h"
#include "fuzz_util.h"

static const char *const docker_ids[] = {
	"3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
	"9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b",
	"3f2a1b0c9d8e",
};

#define ARN_START(s) (!strncmp((s), "arn:aws:", 8) || !strncmp((s), "arn:aws-cn:", 11) || \
		      !strncmp((s), "arn:aws-us-gov:", 15))

static void metadata(const char *body, size_t size)
{
	struct ecs_agent_info ai;
	char err[256] = "";
	int r;

	memset(&ai, 0xa5, sizeof(ai));
	r = ecs__parse_metadata(body, size, &ai, err, sizeof(err));
	FZ_CHECK(r == 0 || r == -1, "ecs__parse_metadata returns 0 or -1");
	if (r) {
		FZ_CHECK(err[0] && fz_terminated(err, sizeof(err)), "a rejection says why");
		return;
	}
	FZ_CHECK(fz_terminated(ai.cluster, sizeof(ai.cluster)) &&
			 fz_terminated(ai.cluster_arn, sizeof(ai.cluster_arn)) &&
			 fz_terminated(ai.container_instance_arn,
				       sizeof(ai.container_instance_arn)) &&
			 fz_terminated(ai.version, sizeof(ai.version)),
		 "every field is NUL-terminated");
	FZ_CHECK(ai.cluster[0], "an accepted reply names the cluster");
	FZ_CHECK(!ai.cluster_arn[0] || ARN_START(ai.cluster_arn), "cluster ARN is an ARN");
	FZ_CHECK(!ai.container_instance_arn[0] || ARN_START(ai.container_instance_arn),
		 "container instance ARN is an ARN");
	FZ_CHECK(!strpbrk(ai.cluster, "\"\\ \t\r\n"), "cluster name holds no quoting or spaces");
}

static void task(const char *body, size_t size, const char *id)
{
	struct ecs_task_info ti;
	char err[256] = "";
	int r;

	memset(&ti, 0xa5, sizeof(ti));
	r = ecs__parse_task(body, size, id, &ti, err, sizeof(err));
	FZ_CHECK(r == 0 || r == -1, "ecs__parse_task returns 0 or -1");
	if (r) {
		FZ_CHECK(err[0] && fz_terminated(err, sizeof(err)), "a rejection says why");
		return;
	}
	FZ_CHECK(fz_terminated(ti.task_arn, sizeof(ti.task_arn)) &&
			 fz_terminated(ti.family, sizeof(ti.family)) &&
			 fz_terminated(ti.revision, sizeof(ti.revision)) &&
			 fz_terminated(ti.known_status, sizeof(ti.known_status)) &&
			 fz_terminated(ti.desired_status, sizeof(ti.desired_status)) &&
			 fz_terminated(ti.container_name, sizeof(ti.container_name)) &&
			 fz_terminated(ti.docker_name, sizeof(ti.docker_name)) &&
			 fz_terminated(ti.image, sizeof(ti.image)) &&
			 fz_terminated(ti.image_id, sizeof(ti.image_id)),
		 "every field is NUL-terminated");
	FZ_CHECK(ARN_START(ti.task_arn) && strstr(ti.task_arn, ":task/"),
		 "an accepted task has a task ARN");
	FZ_CHECK(!strpbrk(ti.image, "\"\\ \t\r\n") && !strpbrk(ti.container_name, "\"\\ \t\r\n"),
		 "image and container name hold no quoting or spaces");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fz_dup(data, size);

	metadata(body, size);
	for (size_t i = 0; i < sizeof(docker_ids) / sizeof(docker_ids[0]); i++)
		task(body, size, docker_ids[i]);
	free(body);
	return 0;
}
