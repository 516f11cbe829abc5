/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ECS container agent's introspection API (on the host, port 51678):
 * /v1/metadata names the cluster and the container instance, and
 * /v1/tasks?dockerid=ID the task a container belongs to. The agent is absent
 * on plain EC2, which is normal, not an error.
 */
#ifndef MW_ECS_H
#define MW_ECS_H

#include <stdbool.h>
#include <stddef.h>

#define ECS_ARN_LEN 256
#define ECS_MAX_REPLY (256 * 1024)

struct ecs_agent_info {
	char cluster[256];            /* name, as the agent reports it */
	char cluster_arn[ECS_ARN_LEN];  /* "" when it cannot be formed from the ARNs */
	char container_instance_arn[ECS_ARN_LEN];
	char version[128];
};

struct ecs_task_info {
	char task_arn[ECS_ARN_LEN];
	char family[256];
	char revision[16];
	char known_status[32];
	char desired_status[32];
	char container_name[256];     /* the container's name in the task definition */
	char docker_name[256];
	char image[256];              /* as the task definition names it */
	char image_id[80];            /* "sha256:..." */
};

enum ecs_lookup {
	ECS_FOUND = 0,
	ECS_NOT_FOUND,    /* the agent knows no task with that container */
	ECS_AGENT_DOWN,   /* no reply: not an ECS container instance, or the agent stopped */
	ECS_ERROR,        /* an unexpected status or a malformed reply */
};
const char *ecs__lookup_name(enum ecs_lookup l);

/* Pure parsers (tested on recorded replies). 0, or -1 with the reason. */
int ecs__parse_metadata(const char *body, size_t len, struct ecs_agent_info *out, char *err,
			size_t errsz);
/* A task object (the ?dockerid= reply); picks the container whose DockerId is id. */
int ecs__parse_task(const char *body, size_t len, const char *docker_id,
		    struct ecs_task_info *out, char *err, size_t errsz);

struct http;
/* Blocking lookups with a time limit; the reason goes to why. */
enum ecs_lookup ecs__get_metadata(struct http *h, const char *base_url, long timeout_ms,
				  struct ecs_agent_info *out, char *why, size_t whysz);
enum ecs_lookup ecs__get_task(struct http *h, const char *base_url, long timeout_ms,
			      const char *docker_id, struct ecs_task_info *out, char *why,
			      size_t whysz);

#endif
