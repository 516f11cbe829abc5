// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "correlator.h"

enum { SEV_NONE = 0, SEV_MEDIUM = 3, SEV_HIGH = 4, SEV_CRITICAL = 5 };

void correlator__defaults(struct detect_cfg *c)
{
	c->cpu_busy_cores = 0.8;
	c->cpu_window_s = 10;
	c->cpu_steady_cores = 0.2;
	c->cpu_steady_cv = 0.35;
	c->cpu_steady_s = 30;
	c->long_conn_s = 30;
	c->low_rate_bpm = 64 * 1024;
	c->small_msg_bytes = 4096;
	c->min_pushes = 1;
	/*
	 * CPU and a pool-like connection together (30 + 30) reach Medium (55);
	 * either with a pool name, miner arguments or a miner name reaches High.
	 */
	c->w_cpu_saturated = 30;
	c->w_cpu_steady = 25;
	c->w_pool_conn = 30;
	c->w_pool_port = 10;
	c->w_pool_name = 40;
	c->w_temp_path = 15;
	c->w_hidden_binary = 20;
	c->w_miner_name = 25;
	c->w_miner_args = 40;
	c->w_wallet = 25;
	c->medium_score = 55;
	c->high_score = 90;
}

uint64_t correlator__per_minute(uint64_t bytes, uint32_t age_s)
{
	return bytes * 60 / (age_s ? age_s : 1);
}

bool correlator__pool_like(const struct detect_cfg *cfg, const struct signals *s)
{
	uint64_t avg_out, avg_in;

	if (!s->has_conn || s->conn_age_s < cfg->long_conn_s)
		return false;
	/* Request/response protocols and interactive shells are not pools. */
	if (s->stream == STREAM_HTTP || s->stream == STREAM_SSH)
		return false;
	if (correlator__per_minute(s->conn_bytes_out, s->conn_age_s) > cfg->low_rate_bpm ||
	    correlator__per_minute(s->conn_bytes_in, s->conn_age_s) > cfg->low_rate_bpm)
		return false;
	avg_out = s->conn_msgs_out ? s->conn_bytes_out / s->conn_msgs_out : 0;
	avg_in = s->conn_msgs_in ? s->conn_bytes_in / s->conn_msgs_in : 0;
	if (avg_out > cfg->small_msg_bytes || avg_in > cfg->small_msg_bytes)
		return false;
	/* A pool pushes work unasked; a polled API only ever answers. */
	return s->conn_pushes >= cfg->min_pushes && s->conn_msgs_out >= 2;
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

static void add(struct verdict *v, const char *signal, int weight, uint32_t bit)
{
	if (v->nparts < VERDICT_MAX_PARTS) {
		v->parts[v->nparts].signal = signal;
		v->parts[v->nparts].weight = weight;
		v->nparts++;
	}
	v->score += weight;
	v->signal_mask |= bit;
}

static void explain_exec(const struct signals *s, struct verdict *v)
{
	const struct execsig *x = &s->exec;

	if (x->flags & EXECSIG_MINER_NAME)
		append(v->why, sizeof(v->why), " It is named like the miner \"%s\".", x->name);
	if (x->flags & (EXECSIG_POOL_URL | EXECSIG_MINER_ARGS | EXECSIG_WALLET))
		append(v->why, sizeof(v->why), " Its command line carries %s (\"%s\").",
		       x->flags & EXECSIG_POOL_URL ? "a mining-pool URL" :
		       x->flags & EXECSIG_MINER_ARGS ? "miner options" : "a wallet address",
		       x->detail);
	if (x->flags & EXECSIG_TEMP_PATH)
		append(v->why, sizeof(v->why), " Its binary runs from a world-writable temporary "
					       "directory.");
	if (x->flags & (EXECSIG_MEMFD | EXECSIG_DELETED))
		append(v->why, sizeof(v->why), " Its binary %s.",
		       x->flags & EXECSIG_MEMFD ? "lives only in memory (memfd)" :
						  "was deleted after it started");
}

void correlator__judge(const struct detect_cfg *cfg, const struct signals *s, struct verdict *v)
{
	bool proto = s->proto.kind != PROTO_NONE;
	bool cpu, beyond_cpu = false;
	int strong;

	memset(v, 0, sizeof(*v));
	v->cpu_saturated = s->cpu_seconds >= cfg->cpu_window_s &&
			   (s->cpu_cores >= cfg->cpu_busy_cores ||
			    s->container_cores >= cfg->cpu_busy_cores);
	v->cpu_steady = !v->cpu_saturated && s->steady_seconds >= cfg->cpu_steady_s &&
			s->steady_cores >= cfg->cpu_steady_cores && s->steady_cv <= cfg->cpu_steady_cv;
	v->pool_like_conn = correlator__pool_like(cfg, s);
	cpu = v->cpu_saturated || v->cpu_steady;

	if (v->cpu_saturated)
		add(v, "cpu_saturated", cfg->w_cpu_saturated, 1u << 0);
	if (v->cpu_steady)
		add(v, "cpu_steady", cfg->w_cpu_steady, 1u << 1);
	if (v->pool_like_conn) {
		add(v, "pool_connection", cfg->w_pool_conn, 1u << 2);
		beyond_cpu = true;
	}
	if (s->has_conn && s->pool_port)
		add(v, "pool_port", cfg->w_pool_port, 1u << 3);
	if (s->pool_name[0]) {
		add(v, "pool_name", cfg->w_pool_name, 1u << 4);
		beyond_cpu = true;
	}
	if (s->exec.flags & EXECSIG_TEMP_PATH)
		add(v, "temp_path", cfg->w_temp_path, 1u << 5);
	if (s->exec.flags & (EXECSIG_MEMFD | EXECSIG_DELETED))
		add(v, "hidden_binary", cfg->w_hidden_binary, 1u << 6);
	if (s->exec.flags & EXECSIG_MINER_NAME) {
		add(v, "miner_name", cfg->w_miner_name, 1u << 7);
		beyond_cpu = true;
	}
	if (s->exec.flags & (EXECSIG_POOL_URL | EXECSIG_MINER_ARGS)) {
		add(v, "miner_arguments", cfg->w_miner_args, 1u << 8);
		beyond_cpu = true;
	}
	if (s->exec.flags & EXECSIG_WALLET) {
		add(v, "wallet", cfg->w_wallet, 1u << 9);
		beyond_cpu = true;
	}
	/* A pool port is weak: it never makes a protocol finding Critical. */
	strong = v->score - (s->has_conn && s->pool_port ? cfg->w_pool_port : 0);

	if (proto) {
		add(v, "mining_protocol", 0, 1u << 10);
		v->severity_id = strong > 0 ? SEV_CRITICAL : SEV_HIGH;
		v->confidence = strong > 0 ? 97 : 90;
	} else if (cpu && beyond_cpu && v->score >= cfg->medium_score) {
		v->severity_id = v->score >= cfg->high_score ? SEV_HIGH : SEV_MEDIUM;
		v->confidence = v->score > 95 ? 95 : v->score;
	} else {
		v->severity_id = SEV_NONE;
		v->confidence = v->score > 50 ? 50 : v->score;
	}

	snprintf(v->title, sizeof(v->title), "Cryptocurrency miner suspected: %s (pid %u)",
		 s->name, s->pid);
	snprintf(v->why, sizeof(v->why), "Process %s (pid %u)", s->name, s->pid);
	if (proto)
		append(v->why, sizeof(v->why), " %s the %s mining protocol (method \"%s\") with %s.",
		       s->proto_dir == 0 ? "spoke" : "was spoken to in", proto__name(s->proto.kind),
		       s->proto.method, s->proto_peer);
	else
		append(v->why, sizeof(v->why), " behaves like a miner (score %d).", v->score);
	if (v->cpu_saturated && s->cpu_cores >= cfg->cpu_busy_cores)
		append(v->why, sizeof(v->why),
		       " It kept %.2f CPU cores busy on average over the last %u s (%u of %u "
		       "threads on CPU).",
		       s->cpu_cores, cfg->cpu_window_s, s->busy_threads,
		       s->threads > s->busy_threads ? s->threads : s->busy_threads);
	else if (v->cpu_saturated)
		append(v->why, sizeof(v->why),
		       " Its container kept %.2f CPU cores busy over the last %u s.",
		       s->container_cores, cfg->cpu_window_s);
	if (v->cpu_steady)
		append(v->why, sizeof(v->why),
		       " It used a steady %.2f cores for %u s (variation %.0f%%), like a throttled "
		       "miner.",
		       s->steady_cores, s->steady_seconds, s->steady_cv * 100);
	if (s->has_conn) {
		append(v->why, sizeof(v->why),
		       " Its outbound connection to %s (%s) has been open %u s, sending %llu bytes "
		       "in %llu messages and receiving %llu bytes in %llu, %llu of them pushed "
		       "unasked",
		       s->conn_peer, proto__stream_name(s->stream), s->conn_age_s,
		       (unsigned long long)s->conn_bytes_out, (unsigned long long)s->conn_msgs_out,
		       (unsigned long long)s->conn_bytes_in, (unsigned long long)s->conn_msgs_in,
		       (unsigned long long)s->conn_pushes);
		if (s->push_interval_s > 0)
			append(v->why, sizeof(v->why), " every %.0f s", s->push_interval_s);
		if (s->submit_interval_s > 0)
			append(v->why, sizeof(v->why), ", the client sending on its own every %.0f s",
			       s->submit_interval_s);
		append(v->why, sizeof(v->why), "%s.",
		       v->pool_like_conn ? ": long-lived, small and low-rate, like a pool" : "");
		if (s->pool_port)
			append(v->why, sizeof(v->why), " Port %u is a common mining-pool port.",
			       s->conn_port);
	}
	if (s->pool_name[0])
		append(v->why, sizeof(v->why), " It asked for the mining-pool name %s (%s).",
		       s->pool_name, s->pool_name_via);
	explain_exec(s, v);
}
