/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What any configuration the setters accepted must look like: the ranges
 * and shapes config.c enforces. Shared by fuzz_config.c (whole files) and
 * fuzz_config_set.c (single settings).
 */
#ifndef MW_FUZZ_CONFIG_CHECK_H
#define MW_FUZZ_CONFIG_CHECK_H

#include "config.h"
#include "fuzz_util.h"

static inline bool fz_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static inline void fz_check_config(const struct config *c)
{
	FZ_CHECK(fz_terminated(c->output, sizeof(c->output)) && c->output[0] &&
			 fz_terminated(c->socket, sizeof(c->socket)) && c->socket[0] &&
			 fz_terminated(c->state_dir, sizeof(c->state_dir)) &&
			 fz_terminated(c->host_root, sizeof(c->host_root)) &&
			 fz_terminated(c->imds_endpoint, sizeof(c->imds_endpoint)) &&
			 fz_terminated(c->imds_disabled_by, sizeof(c->imds_disabled_by)) &&
			 fz_terminated(c->ecs_agent_url, sizeof(c->ecs_agent_url)) &&
			 fz_terminated(c->btf, sizeof(c->btf)) &&
			 fz_terminated(c->cgroup_root, sizeof(c->cgroup_root)) &&
			 fz_terminated(c->pool_names_file, sizeof(c->pool_names_file)) &&
			 fz_terminated(c->suppress_file, sizeof(c->suppress_file)) &&
			 fz_terminated(c->miner_names, sizeof(c->miner_names)),
		 "every string setting is NUL-terminated and the required ones are set");
	FZ_CHECK(!c->imds_endpoint[0] || fz_url(c->imds_endpoint), "imds_endpoint is a URL");
	FZ_CHECK(fz_url(c->ecs_agent_url), "ecs_agent_url is a URL");
	FZ_CHECK(fz_url(config__imds_endpoint(c)), "the IMDS endpoint in effect is a URL");
	FZ_CHECK(c->format == FORMAT_OCSF || c->format == FORMAT_ASFF, "format in range");
	FZ_CHECK(c->log_level <= LOG_LVL_DEBUG, "log level in range");
	FZ_CHECK(c->hooks == HOOK_AUTO || c->hooks == HOOK_BTF || c->hooks == HOOK_RAW,
		 "hooks in range");
	FZ_CHECK(c->imds_timeout_ms >= 50 && c->imds_timeout_ms <= 10000, "imds_timeout_ms range");
	FZ_CHECK(c->imds_retries <= 10, "imds_retries range");
	FZ_CHECK(c->imds_token_ttl_s >= 1 && c->imds_token_ttl_s <= 21600, "token TTL range");
	FZ_CHECK(c->cpu_sample_hz >= 1 && c->cpu_sample_hz <= 1000, "cpu_sample_hz range");
	FZ_CHECK(c->ringbuf_kib >= 64 && c->ringbuf_kib <= 262144 &&
			 !(c->ringbuf_kib & (c->ringbuf_kib - 1)),
		 "ringbuf_kib is a power of two in range");
	FZ_CHECK(c->max_processes >= 256 && c->max_connections >= 256, "table sizes range");
	FZ_CHECK(c->update_interval_s >= 1 && c->update_interval_s <= 86400,
		 "update interval range");
	FZ_CHECK(c->detect.cpu_busy_cores >= 0.05 && c->detect.cpu_busy_cores <= 1024,
		 "cpu_busy_cores range");
	FZ_CHECK(c->detect.cpu_window_s >= 1 && c->detect.cpu_window_s <= 60,
		 "cpu_window_seconds range");
	FZ_CHECK(fz_only(c->miner_names, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789,-_."),
		 "miner names are names and commas");
	FZ_CHECK(c->npool_ports <= CFG_MAX_PORTS, "at most CFG_MAX_PORTS pool ports");
	for (size_t i = 0; i < c->npool_ports; i++) {
		FZ_CHECK(c->pool_ports[i] != 0, "no port 0");
		FZ_CHECK(!i || c->pool_ports[i - 1] <= c->pool_ports[i], "pool ports sorted");
	}
}

#endif
