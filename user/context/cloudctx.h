/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cloud context, gathered off the hot path: one worker thread asks IMDS for
 * the instance (and refreshes it periodically) and the ECS agent for the
 * cluster and for the task of each container the detector asks about. The
 * daemon's loop only reads cached answers under a mutex, and an eventfd tells
 * it when a lookup it waits for has finished.
 */
#ifndef MW_CLOUDCTX_H
#define MW_CLOUDCTX_H

#include <stdbool.h>
#include <stdint.h>

#include "ecs.h"
#include "imds.h"

struct cloudctx_opts {
	bool imds_enabled;
	char imds_disabled_why[128];  /* when !imds_enabled */
	struct imds_opts imds;        /* sleep_ms is set by cloudctx */
	uint32_t imds_refresh_s;      /* metadata refresh after a success */
	bool ecs_enabled;
	char ecs_url[512];
	long ecs_timeout_ms;
	uint32_t ecs_ttl_s;           /* how long a found task is trusted */
	uint32_t ecs_negative_ttl_s;  /* how long "no task" is believed */
};

enum ctx_answer {
	CTX_READY = 0,   /* filled in */
	CTX_PENDING,     /* asked; the wake fd fires when the answer is there */
	CTX_NONE,        /* there is none; why says so */
};

struct cloudctx_status {
	enum imds_state imds;
	char imds_why[256];
	struct instance_info instance;
	uint64_t imds_fetches, imds_failures, imds_tokens, imds_unauthorized;
	uint64_t imds_last_ok_unix_ms;
	bool ecs_enabled;
	enum ecs_lookup agent;        /* ECS_FOUND when the agent answered last time */
	bool agent_checked;
	char agent_why[256];
	struct ecs_agent_info agent_info;
	uint64_t task_lookups, task_cached;
};

struct cloudctx;

struct cloudctx *cloudctx__start(const struct cloudctx_opts *o, char *err, size_t errsz);
/* Stops the worker (within about one request time limit) and frees. */
void cloudctx__stop(struct cloudctx *c);
/* Readable when an answer arrived; cloudctx__drain() clears it. */
int cloudctx__wake_fd(const struct cloudctx *c);
void cloudctx__drain(struct cloudctx *c);

/* The instance, or false with why (missing, disabled, unreachable, ...). */
bool cloudctx__instance(struct cloudctx *c, struct instance_info *out, char *why, size_t whysz);
/*
 * The ECS task of a container. ecs_shaped: its cgroup path has an ECS shape,
 * so the agent is asked even when it did not answer before; other Docker
 * containers are looked up only while the agent answers. agent may be NULL.
 */
enum ctx_answer cloudctx__task(struct cloudctx *c, const char *docker_id, bool ecs_shaped,
			       struct ecs_task_info *task, struct ecs_agent_info *agent, char *why,
			       size_t whysz);
void cloudctx__status(struct cloudctx *c, struct cloudctx_status *out);

#endif
