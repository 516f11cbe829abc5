/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minerwatchd configuration: defaults, then the config file (INI, parsed with
 * inih), then environment conventions, then command-line flags. Every key is
 * validated by one setter, so the file and the flags accept the same values.
 */
#ifndef MW_CONFIG_H
#define MW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "correlator.h"
#include "loader.h"
#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/minerwatch/minerwatch.conf"
#define CFG_PATH_LEN 512
#define CFG_MAX_PORTS 64

enum finding_format { FORMAT_OCSF = 0, FORMAT_ASFF };

struct config {
	char output[CFG_PATH_LEN];
	enum finding_format format;
	char socket[CFG_PATH_LEN];
	char state_dir[CFG_PATH_LEN];
	char host_root[CFG_PATH_LEN];
	char imds_endpoint[CFG_PATH_LEN];  /* "": the default of imds_endpoint_mode */
	bool imds_ipv6;                    /* imds_endpoint_mode = ipv6 */
	bool imds_disabled;
	char imds_disabled_by[64];         /* the setting that disabled it */
	bool imds_v1_fallback;
	uint32_t imds_timeout_ms;
	uint32_t imds_retries;
	uint32_t imds_refresh_s;
	uint32_t imds_token_ttl_s;
	char ecs_agent_url[CFG_PATH_LEN];
	bool ecs_disabled;
	uint32_t ecs_timeout_ms;
	uint32_t ecs_cache_s;
	uint32_t ecs_negative_cache_s;
	uint32_t context_wait_ms;          /* how long a Create waits for ECS context */
	char btf[CFG_PATH_LEN];
	char cgroup_root[CFG_PATH_LEN];
	enum log_level log_level;
	enum hook_mode hooks;
	uint32_t cpu_sample_hz;
	uint32_t ringbuf_kib;
	uint32_t max_processes;
	uint32_t max_connections;
	uint32_t update_interval_s;
	struct detect_cfg detect;
	char pool_names_file[CFG_PATH_LEN];
	bool pool_names_file_set;  /* named explicitly: must exist */
	char suppress_file[CFG_PATH_LEN];
	bool suppress_file_set;
	char miner_names[1024];
	uint16_t pool_ports[CFG_MAX_PORTS];  /* sorted */
	size_t npool_ports;
};

void config__defaults(struct config *c);
/* Sets one key; on error returns -EINVAL with the reason in err. */
int config__set(struct config *c, const char *key, const char *value, char *err, size_t errsz);
/*
 * Loads a file over c. A missing file is fine when !required. On error the
 * message names the file, the line and the reason.
 */
int config__load_file(struct config *c, const char *path, bool required, char *err,
		      size_t errsz);
/*
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE
 * and AWS_EC2_METADATA_DISABLED.
 */
int config__apply_env(struct config *c, char *err, size_t errsz);
/* The IMDS base URL in effect: imds_endpoint, or the default of the mode. */
const char *config__imds_endpoint(const struct config *c);

#endif
