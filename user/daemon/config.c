// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "file.h"

/* Known miner programs, matched against comm and the executable's file name. */
#define DEFAULT_MINER_NAMES                                                           \
	"xmrig,xmr-stak,xmr-stak-rx,cpuminer,cpuminer-multi,cpuminer-opt,minerd,cgminer,"     \
	"bfgminer,ethminer,nbminer,t-rex,lolminer,phoenixminer,nanominer,teamredminer,"      \
	"gminer,srbminer,srbminer-multi,wildrig,ccminer,kdevtmpfsi,xmrigminer,xmrigdaemon"
/* Ports mining pools commonly listen on; they add weight, never decide. */
#define DEFAULT_POOL_PORTS                                                             \
	"1800,2222,3032,3333,3334,3335,3336,3357,4028,4444,4445,5555,5556,5588,5730,6099,"   \
	"6666,7777,7778,8008,8888,9000,9999,10001,10128,10343,12222,13333,14433,14444,"     \
	"15555,17777,19999,20535,20580,45560,45700"

void config__defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->output, sizeof(c->output), "/var/log/minerwatch/findings.jsonl");
	snprintf(c->socket, sizeof(c->socket), "/run/minerwatch/minerwatch.sock");
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/minerwatch");
	snprintf(c->host_root, sizeof(c->host_root), "/");
	c->imds_timeout_ms = 300;
	c->imds_retries = 2;
	c->imds_refresh_s = 300;
	c->imds_token_ttl_s = 21600;
	snprintf(c->ecs_agent_url, sizeof(c->ecs_agent_url), "http://127.0.0.1:51678");
	c->ecs_timeout_ms = 500;
	c->ecs_cache_s = 300;
	c->ecs_negative_cache_s = 30;
	c->context_wait_ms = 2000;
	c->format = FORMAT_OCSF;
	c->log_level = LOG_LVL_INFO;
	c->hooks = HOOK_AUTO;
	c->cpu_sample_hz = 99;
	c->ringbuf_kib = 1024;
	c->max_processes = 65536;
	c->max_connections = 16384;
	c->update_interval_s = 60;
	correlator__defaults(&c->detect);
	snprintf(c->pool_names_file, sizeof(c->pool_names_file),
		 "/etc/minerwatch/pool-names.txt");
	snprintf(c->suppress_file, sizeof(c->suppress_file), "/etc/minerwatch/suppress.conf");
	snprintf(c->miner_names, sizeof(c->miner_names), "%s", DEFAULT_MINER_NAMES);
	config__set(c, "pool_ports", DEFAULT_POOL_PORTS, NULL, 0);
}

static int set_str(char *dst, size_t dstsz, const char *key, const char *v, char *err,
		   size_t errsz)
{
	if (!v[0]) {
		snprintf(err, errsz, "%s: empty value", key);
		return -EINVAL;
	}
	if (strlen(v) >= dstsz) {
		snprintf(err, errsz, "%s: value longer than %zu characters", key, dstsz - 1);
		return -EINVAL;
	}
	snprintf(dst, dstsz, "%s", v);
	return 0;
}

static int set_u32(uint32_t *dst, const char *key, const char *v, uint32_t min, uint32_t max,
		   char *err, size_t errsz)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!v[0] || *end || errno || v[0] == '-') {
		snprintf(err, errsz, "%s: \"%s\" is not a whole number", key, v);
		return -EINVAL;
	}
	if (n < min || n > max) {
		snprintf(err, errsz, "%s: %llu is out of range (%u to %u)", key, n, min, max);
		return -EINVAL;
	}
	*dst = (uint32_t)n;
	return 0;
}

static int set_double(double *dst, const char *key, const char *v, double min, double max,
		      char *err, size_t errsz)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (!v[0] || *end || errno) {
		snprintf(err, errsz, "%s: \"%s\" is not a number", key, v);
		return -EINVAL;
	}
	if (!(d >= min && d <= max)) {
		snprintf(err, errsz, "%s: %s is out of range (%g to %g)", key, v, min, max);
		return -EINVAL;
	}
	*dst = d;
	return 0;
}

static int set_url(char *dst, size_t dstsz, const char *key, const char *v, char *err,
		   size_t errsz)
{
	/* Both local services speak plain HTTP; the client speaks nothing else. */
	if (!strncmp(v, "https://", 8)) {
		snprintf(err, errsz, "%s: \"%s\": https is not supported (IMDS and the ECS agent "
			 "serve plain http://)", key, v);
		return -EINVAL;
	}
	if (strncmp(v, "http://", 7)) {
		snprintf(err, errsz, "%s: \"%s\" is not an http:// URL", key, v);
		return -EINVAL;
	}
	return set_str(dst, dstsz, key, v, err, errsz);
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int set_bool(bool *dst, const char *key, const char *v, char *err, size_t errsz)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
		*dst = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
		*dst = false;
		return 0;
	}
	snprintf(err, errsz, "%s: \"%s\" is not true or false", key, v);
	return -EINVAL;
}

static int set_ports(struct config *c, const char *key, const char *v, char *err, size_t errsz)
{
	uint16_t ports[CFG_MAX_PORTS];
	size_t n = 0;

	while (*v) {
		char *end;
		unsigned long p;

		v += strspn(v, " ,");
		if (!*v)
			break;
		errno = 0;
		p = strtoul(v, &end, 10);
		if (end == v || errno || p == 0 || p > 65535 || (*end && *end != ',' && *end != ' ')) {
			snprintf(err, errsz, "%s: \"%.*s\" is not a port number", key,
				 (int)strcspn(v, ", "), v);
			return -EINVAL;
		}
		if (n >= CFG_MAX_PORTS) {
			snprintf(err, errsz, "%s: more than %d ports", key, CFG_MAX_PORTS);
			return -EINVAL;
		}
		ports[n++] = (uint16_t)p;
		v = end;
	}
	qsort(ports, n, sizeof(ports[0]), cmp_u16);
	memcpy(c->pool_ports, ports, n * sizeof(ports[0]));
	c->npool_ports = n;
	return 0;
}

static int set_names(char *dst, size_t dstsz, const char *key, const char *v, char *err,
		     size_t errsz)
{
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(",-_.", *p)) {
			snprintf(err, errsz, "%s: names are letters, digits, '-', '_' and '.', "
				 "separated by commas", key);
			return -EINVAL;
		}
	}
	return set_str(dst, dstsz, key, v, err, errsz);
}

static int set_weight(int *dst, const char *key, const char *v, char *err, size_t errsz)
{
	uint32_t u;
	int e = set_u32(&u, key, v, 0, 1000, err, errsz);

	if (!e)
		*dst = (int)u;
	return e;
}

int config__set(struct config *c, const char *key, const char *v, char *err, size_t errsz)
{
	uint32_t u;
	int e;

#define IS(k) (strcmp(key, k) == 0)
	if (IS("output"))
		return set_str(c->output, sizeof(c->output), key, v, err, errsz);
	if (IS("socket"))
		return set_str(c->socket, sizeof(c->socket), key, v, err, errsz);
	if (IS("state_dir"))
		return set_str(c->state_dir, sizeof(c->state_dir), key, v, err, errsz);
	if (IS("host_root"))
		return set_str(c->host_root, sizeof(c->host_root), key, v, err, errsz);
	if (IS("btf"))
		return set_str(c->btf, sizeof(c->btf), key, v, err, errsz);
	if (IS("cgroup_root"))
		return set_str(c->cgroup_root, sizeof(c->cgroup_root), key, v, err, errsz);
	if (IS("imds_endpoint"))
		return set_url(c->imds_endpoint, sizeof(c->imds_endpoint), key, v, err, errsz);
	if (IS("imds_endpoint_mode")) {
		if (!strcasecmp(v, "ipv4"))
			c->imds_ipv6 = false;
		else if (!strcasecmp(v, "ipv6"))
			c->imds_ipv6 = true;
		else
			goto bad_choice;
		return 0;
	}
	if (IS("imds")) {
		bool on;

		e = set_bool(&on, key, v, err, errsz);
		if (!e) {
			c->imds_disabled = !on;
			snprintf(c->imds_disabled_by, sizeof(c->imds_disabled_by), "imds = %s", v);
		}
		return e;
	}
	if (IS("imds_v1_fallback"))
		return set_bool(&c->imds_v1_fallback, key, v, err, errsz);
	if (IS("imds_timeout_ms"))
		return set_u32(&c->imds_timeout_ms, key, v, 50, 10000, err, errsz);
	if (IS("imds_retries"))
		return set_u32(&c->imds_retries, key, v, 0, 10, err, errsz);
	if (IS("imds_refresh_seconds"))
		return set_u32(&c->imds_refresh_s, key, v, 1, 86400, err, errsz);
	if (IS("imds_token_ttl_seconds"))
		return set_u32(&c->imds_token_ttl_s, key, v, 1, 21600, err, errsz);
	if (IS("ecs_agent_url"))
		return set_url(c->ecs_agent_url, sizeof(c->ecs_agent_url), key, v, err, errsz);
	if (IS("ecs")) {
		bool on;

		e = set_bool(&on, key, v, err, errsz);
		if (!e)
			c->ecs_disabled = !on;
		return e;
	}
	if (IS("ecs_timeout_ms"))
		return set_u32(&c->ecs_timeout_ms, key, v, 50, 10000, err, errsz);
	if (IS("ecs_cache_seconds"))
		return set_u32(&c->ecs_cache_s, key, v, 1, 86400, err, errsz);
	if (IS("ecs_negative_cache_seconds"))
		return set_u32(&c->ecs_negative_cache_s, key, v, 1, 86400, err, errsz);
	if (IS("context_wait_ms"))
		return set_u32(&c->context_wait_ms, key, v, 0, 30000, err, errsz);
	if (IS("format")) {
		if (!strcmp(v, "ocsf"))
			c->format = FORMAT_OCSF;
		else if (!strcmp(v, "asff"))
			c->format = FORMAT_ASFF;
		else
			goto bad_choice;
		return 0;
	}
	if (IS("log_level")) {
		if (log__parse_level(v, &c->log_level))
			goto bad_choice;
		return 0;
	}
	if (IS("hooks")) {
		if (!strcmp(v, "auto"))
			c->hooks = HOOK_AUTO;
		else if (!strcmp(v, "tp_btf"))
			c->hooks = HOOK_BTF;
		else if (!strcmp(v, "raw_tp"))
			c->hooks = HOOK_RAW;
		else
			goto bad_choice;
		return 0;
	}
	if (IS("cpu_sample_hz"))
		return set_u32(&c->cpu_sample_hz, key, v, 1, 1000, err, errsz);
	if (IS("ringbuf_kib")) {
		e = set_u32(&u, key, v, 64, 262144, err, errsz);
		if (e)
			return e;
		if (u & (u - 1)) {
			snprintf(err, errsz, "%s: %u is not a power of two", key, u);
			return -EINVAL;
		}
		c->ringbuf_kib = u;
		return 0;
	}
	if (IS("max_processes"))
		return set_u32(&c->max_processes, key, v, 256, 4194304, err, errsz);
	if (IS("max_connections"))
		return set_u32(&c->max_connections, key, v, 256, 4194304, err, errsz);
	if (IS("update_interval_seconds"))
		return set_u32(&c->update_interval_s, key, v, 1, 86400, err, errsz);
	if (IS("cpu_busy_cores"))
		return set_double(&c->detect.cpu_busy_cores, key, v, 0.05, 1024, err, errsz);
	if (IS("cpu_window_seconds"))
		return set_u32(&c->detect.cpu_window_s, key, v, 1, 60, err, errsz);
	if (IS("long_connection_seconds"))
		return set_u32(&c->detect.long_conn_s, key, v, 1, 86400, err, errsz);
	if (IS("cpu_steady_cores"))
		return set_double(&c->detect.cpu_steady_cores, key, v, 0.01, 1024, err, errsz);
	if (IS("cpu_steady_variation"))
		return set_double(&c->detect.cpu_steady_cv, key, v, 0.01, 10, err, errsz);
	if (IS("cpu_steady_seconds"))
		return set_u32(&c->detect.cpu_steady_s, key, v, 5, 60, err, errsz);
	if (IS("small_message_bytes"))
		return set_u32(&c->detect.small_msg_bytes, key, v, 16, 1 << 20, err, errsz);
	if (IS("min_pool_pushes"))
		return set_u32(&c->detect.min_pushes, key, v, 0, 1000, err, errsz);
	if (IS("pool_ports"))
		return set_ports(c, key, v, err, errsz);
	if (IS("miner_names"))
		return set_names(c->miner_names, sizeof(c->miner_names), key, v, err, errsz);
	if (IS("pool_names_file")) {
		c->pool_names_file_set = true;
		return set_str(c->pool_names_file, sizeof(c->pool_names_file), key, v, err, errsz);
	}
	if (IS("suppress_file")) {
		c->suppress_file_set = true;
		return set_str(c->suppress_file, sizeof(c->suppress_file), key, v, err, errsz);
	}
	{
		static const struct {
			const char *key;
			size_t off;
		} weights[] = {
			{ "weight_cpu_saturated", offsetof(struct detect_cfg, w_cpu_saturated) },
			{ "weight_cpu_steady", offsetof(struct detect_cfg, w_cpu_steady) },
			{ "weight_pool_connection", offsetof(struct detect_cfg, w_pool_conn) },
			{ "weight_pool_port", offsetof(struct detect_cfg, w_pool_port) },
			{ "weight_pool_name", offsetof(struct detect_cfg, w_pool_name) },
			{ "weight_temp_path", offsetof(struct detect_cfg, w_temp_path) },
			{ "weight_hidden_binary", offsetof(struct detect_cfg, w_hidden_binary) },
			{ "weight_miner_name", offsetof(struct detect_cfg, w_miner_name) },
			{ "weight_miner_arguments", offsetof(struct detect_cfg, w_miner_args) },
			{ "weight_wallet", offsetof(struct detect_cfg, w_wallet) },
			{ "medium_score", offsetof(struct detect_cfg, medium_score) },
			{ "high_score", offsetof(struct detect_cfg, high_score) },
		};

		for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
			if (IS(weights[i].key))
				return set_weight((int *)((char *)&c->detect + weights[i].off), key, v,
						  err, errsz);
	}
	if (IS("low_rate_bytes_per_minute")) {
		e = set_u32(&u, key, v, 1, UINT32_MAX, err, errsz);
		if (e)
			return e;
		c->detect.low_rate_bpm = u;
		return 0;
	}
#undef IS
	snprintf(err, errsz, "unknown option \"%s\"", key);
	return -EINVAL;
bad_choice:
	snprintf(err, errsz, "%s: \"%s\" is not one of the accepted values", key, v);
	return -EINVAL;
}

struct load_ctx {
	struct config *c;
	FILE *f;
	char *err;
	size_t errsz;
	int line;        /* lines read so far */
	int failed_line; /* first line we rejected, with the reason in err */
};

static void fail_at(struct load_ctx *ctx, const char *msg)
{
	if (ctx->failed_line)
		return;
	snprintf(ctx->err, ctx->errsz, "%s", msg);
	ctx->failed_line = ctx->line;
}

/*
 * Hands inih one whole line at a time, so its line numbers are the file's: a
 * line longer than inih's buffer is consumed here (ignored if a comment, an
 * error otherwise) instead of being read as several lines. Leading blanks are
 * dropped: inih would take an indented line as a continuation of the previous
 * value, and no option has multi-line values.
 */
static char *read_line(char *str, int num, void *arg)
{
	struct load_ctx *ctx = arg;
	size_t n, skip;

	if (!fgets(str, num, ctx->f))
		return NULL;
	ctx->line++;
	n = strlen(str);
	skip = strspn(str, " \t");
	if (n && str[n - 1] != '\n' && !feof(ctx->f)) {
		int ch;

		while ((ch = fgetc(ctx->f)) != EOF && ch != '\n')
			;
		if (str[skip] != '#' && str[skip] != ';')
			fail_at(ctx, "line too long");
	}
	memmove(str, str + skip, n - skip + 1);
	return str;
}

static int on_entry(void *arg, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = arg;
	char msg[384];

	if (ctx->failed_line)
		return 1;
	if (section[0] && strcmp(section, "minerwatchd")) {
		snprintf(msg, sizeof(msg), "unknown section [%s]", section);
	} else if (!name || !value) {
		return 1;
	} else if (config__set(ctx->c, name, value, msg, sizeof(msg)) == 0) {
		return 1;
	}
	fail_at(ctx, msg);
	return 0;
}

int config__load_file(struct config *c, const char *path, bool required, char *err,
		      size_t errsz)
{
	char msg[384] = "";
	struct load_ctx ctx = { .c = c, .err = msg, .errsz = sizeof(msg) };
	FILE *f = file__open_regular(path);
	int r, e;

	if (!f) {
		e = errno;
		if (e == ENOENT && !required)
			return 0;
		snprintf(err, errsz, "%s: %s", path, file__strerror(e));
		return -e;
	}
	ctx.f = f;
	r = ini_parse_stream(read_line, &ctx, on_entry, &ctx);
	fclose(f);
	if (r < 0) {
		snprintf(err, errsz, "%s: cannot read the file", path);
		return -EIO;
	}
	/* inih reports the first line it, or we, found wrong. */
	if (ctx.failed_line && (r == 0 || ctx.failed_line < r))
		r = ctx.failed_line;
	if (r == 0)
		return 0;
	snprintf(err, errsz, "%s:%d: %s", path, r, r == ctx.failed_line ? msg : "syntax error");
	return -EINVAL;
}

int config__apply_env(struct config *c, char *err, size_t errsz)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *dis = getenv("AWS_EC2_METADATA_DISABLED");
	int e;

	if (dis && !strcasecmp(dis, "true")) {
		c->imds_disabled = true;
		snprintf(c->imds_disabled_by, sizeof(c->imds_disabled_by),
			 "AWS_EC2_METADATA_DISABLED=true");
	}
	if (mode && mode[0]) {
		e = config__set(c, "imds_endpoint_mode", mode, err, errsz);
		if (e) {
			snprintf(err, errsz, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: \"%s\" is not "
				 "IPv4 or IPv6", mode);
			return e;
		}
	}
	if (ep && ep[0])
		return set_url(c->imds_endpoint, sizeof(c->imds_endpoint),
			       "AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, err, errsz);
	return 0;
}

const char *config__imds_endpoint(const struct config *c)
{
	if (c->imds_endpoint[0])
		return c->imds_endpoint;
	return c->imds_ipv6 ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
}
