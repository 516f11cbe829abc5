/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds one finding as a single JSON line (OCSF 1.8.0 Detection Finding).
 * Pure: every value comes from the caller; attacker-controlled strings are
 * escaped and bounded here, so the line is always valid UTF-8 JSON.
 */
#ifndef MW_FINDING_H
#define MW_FINDING_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "container.h"
#include "correlator.h"
#include "ecs.h"
#include "imds.h"

#define FINDING_MAX_PEERS 4

enum finding_activity { FINDING_CREATE = 1, FINDING_UPDATE = 2, FINDING_CLOSE = 3 };

struct finding_peer {
	char ip[46];
	uint16_t port;
};

struct finding_in {
	enum finding_activity activity;
	const char *uid;
	uint64_t time_ms;
	uint64_t first_seen_ms;
	uint64_t last_seen_ms;
	const struct verdict *verdict;
	const struct signals *signals;

	/* Host */
	const char *hostname;
	const char *boot_id;
	const char *os_name;
	const char *kernel_release;
	const struct instance_info *instance; /* NULL: instance_missing says why */
	const char *instance_missing;

	/* Container and ECS task (NULL when not containerised / not known) */
	const struct container_ref *container;
	const struct ecs_task_info *task;     /* NULL: task_missing says why */
	const struct ecs_agent_info *ecs;     /* the cluster, with task */
	const char *task_missing;
	uint32_t ns_pid;                      /* pid inside the container, 0 unknown */

	/* Process (raw bytes; escaped by the builder) */
	uint32_t pid;
	const char *comm;
	const char *exe;
	const char *cmdline;         /* NUL-separated argv */
	size_t cmdline_len;
	const char *sha256;          /* NULL when unreadable */
	uint64_t created_ms;
	uint32_t user_uid;
	const char *user_name;       /* NULL when unknown */
	uint32_t ppid;
	const char *parent_comm;     /* NULL when unknown */
	uint64_t cgroup_id;

	struct finding_peer peers[FINDING_MAX_PEERS];
	int npeers;
};

/* Returns a malloc'd single line (no newline), or NULL on allocation failure. */
char *finding__build(const struct finding_in *in);

/* Parts every record minerwatch writes shares: OCSF metadata (product, version) and device. */
json_object *finding__metadata(void);
json_object *finding__device(const char *hostname, const char *boot_id, const char *os_name,
			     const char *kernel_release);
/*
 * The same finding in the AWS Security Finding Format. ASFF needs the account
 * and region: without instance context it returns NULL and sets *no_context.
 */
char *finding__build_asff(const struct finding_in *in, bool *no_context);

/*
 * The Close of a finding whose process ended while no sensor was running,
 * made from the last record written for it (OCSF or ASFF): the same
 * finding, marked closed at now_ms. NULL when the record does not parse.
 */
char *finding__closed(const char *last_line, uint64_t now_ms);
/* The ASFF part of finding__closed: false when root is not an ASFF finding. */
bool finding__asff_close(json_object *root, uint64_t now_ms);

/* A stable uid for (boot id, pid, start ticks), formatted like a UUID. */
void finding__uid(const char *boot_id, uint32_t pid, uint64_t start_ticks, char out[37]);

#endif
