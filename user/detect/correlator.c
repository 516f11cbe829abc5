// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "correlator.h"

enum { SEV_NONE = 0, SEV_MEDIUM = 3, SEV_HIGH = 4, SEV_CRITICAL = 5 };

void correlator__defaults(struct detect_cfg *cfg)
{
	cfg->cpu_busy_cores = 0.8;
	cfg->cpu_window_s = 10;
	cfg->long_conn_s = 60;
	cfg->low_rate_bpm = 64 * 1024;
}

uint64_t correlator__per_minute(uint64_t bytes, uint32_t age_s)
{
	return bytes * 60 / (age_s ? age_s : 1);
}

static void append(char *buf, size_t bufsz, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n >= bufsz - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, bufsz - n, fmt, ap);
	va_end(ap);
}

void correlator__judge(const struct detect_cfg *cfg, const struct signals *s, struct verdict *v)
{
	bool proto = s->proto.kind != PROTO_NONE;
	uint64_t out_bpm, in_bpm;

	memset(v, 0, sizeof(*v));
	v->cpu_saturated = s->cpu_seconds >= cfg->cpu_window_s && s->cpu_cores >= cfg->cpu_busy_cores;
	out_bpm = correlator__per_minute(s->conn_bytes_out, s->conn_age_s);
	in_bpm = correlator__per_minute(s->conn_bytes_in, s->conn_age_s);
	v->pool_like_conn = s->has_conn && s->conn_age_s >= cfg->long_conn_s &&
			    out_bpm <= cfg->low_rate_bpm && in_bpm <= cfg->low_rate_bpm;

	if (proto && v->cpu_saturated) {
		v->severity_id = SEV_CRITICAL;
		v->confidence = 95;
	} else if (proto) {
		v->severity_id = SEV_HIGH;
		v->confidence = 85;
	} else if (v->cpu_saturated && v->pool_like_conn) {
		v->severity_id = SEV_MEDIUM;
		v->confidence = 60;
	} else {
		return;
	}

	snprintf(v->title, sizeof(v->title), "Cryptocurrency miner suspected: %s (pid %u)",
		 s->name, s->pid);
	snprintf(v->why, sizeof(v->why), "Process %s (pid %u)", s->name, s->pid);
	if (proto)
		append(v->why, sizeof(v->why),
		       " %s the %s mining protocol (method \"%s\") with %s.",
		       s->proto_dir == 0 ? "spoke" : "was spoken to in", proto__name(s->proto.kind),
		       s->proto.method, s->proto_peer);
	else
		append(v->why, sizeof(v->why), " behaves like a miner.");
	if (v->cpu_saturated)
		append(v->why, sizeof(v->why),
		       " It kept %.2f CPU cores busy on average over the last %u s (%u threads "
		       "on CPU).",
		       s->cpu_cores, cfg->cpu_window_s, s->busy_threads);
	if (s->has_conn)
		append(v->why, sizeof(v->why),
		       " Its outbound connection to %s has been open %u s, sending %llu bytes "
		       "(%llu/min) and receiving %llu bytes (%llu/min)%s.",
		       s->conn_peer, s->conn_age_s, (unsigned long long)s->conn_bytes_out,
		       (unsigned long long)out_bpm, (unsigned long long)s->conn_bytes_in,
		       (unsigned long long)in_bpm,
		       v->pool_like_conn ? ": long-lived and low-rate, like a pool connection" : "");
}
