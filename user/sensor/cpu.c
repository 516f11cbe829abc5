// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cpu.h"
#include "htab.h"
#include "minerwatch.h"

struct cpu_reader {
	int proc_fd;
	int thread_fd;
	uint32_t hz;
	uint32_t max;
	uint32_t *keys;
	struct mw_cpu *vals;
	struct htab *thread_prev;  /* tid -> last cumulative samples */
	bool batch_ok;
};

struct cpu_reader *cpu_reader__new(int proc_map_fd, int thread_map_fd, uint32_t sample_hz,
				   uint32_t max_entries)
{
	struct cpu_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->proc_fd = proc_map_fd;
	r->thread_fd = thread_map_fd;
	r->hz = sample_hz;
	r->max = max_entries;
	r->keys = calloc(max_entries, sizeof(*r->keys));
	r->vals = calloc(max_entries, sizeof(*r->vals));
	r->thread_prev = htab__new();
	r->batch_ok = true;
	if (!r->keys || !r->vals || !r->thread_prev) {
		cpu_reader__free(r);
		return NULL;
	}
	return r;
}

void cpu_reader__free(struct cpu_reader *r)
{
	if (!r)
		return;
	free(r->keys);
	free(r->vals);
	htab__free(r->thread_prev);
	free(r);
}

/*
 * Reads a whole map: one batched syscall per chunk where the kernel has
 * batch lookups (5.6+), else key by key.
 */
static int read_map(struct cpu_reader *r, int fd, uint32_t *ret_n)
{
	uint32_t n = 0;

	if (r->batch_ok) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		uint32_t out_batch = 0, count;
		void *in = NULL;
		int e;

		for (;;) {
			count = r->max - n;
			if (!count)
				break;
			e = bpf_map_lookup_batch(fd, in, &out_batch, r->keys + n, r->vals + n,
						 &count, &opts);
			n += count;
			if (e) {
				if (errno == ENOENT)
					break; /* end of map */
				if (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP) {
					r->batch_ok = false;
					n = 0;
					break;
				}
				return -errno;
			}
			in = &out_batch;
		}
		if (r->batch_ok) {
			*ret_n = n;
			return 0;
		}
	}
	{
		uint32_t key, next;
		void *prev = NULL;

		while (n < r->max && bpf_map_get_next_key(fd, prev, &next) == 0) {
			if (bpf_map_lookup_elem(fd, &next, &r->vals[n]) == 0)
				r->keys[n++] = next;
			key = next;
			prev = &key;
		}
	}
	*ret_n = n;
	return 0;
}

/* A process that never used CPU keeps no history: zero is what it would hold. */
static void push(struct proc *p, float cores)
{
	struct proc_act *a = p->act;

	if (!a && cores <= 0)
		return;
	if (!a && !(a = proc__act(p)))
		return;
	a->cpu_hist[a->cpu_pos % PROC_CPU_HIST] = cores;
	a->cpu_pos = (a->cpu_pos + 1) % PROC_CPU_HIST;
	if (a->cpu_len < PROC_CPU_HIST)
		a->cpu_len++;
}

void cpu__credit_procs(const uint32_t *keys, const struct mw_cpu *vals, uint32_t n,
		       double per_core, struct proc *(*lookup_fn)(uint32_t tgid, void *arg),
		       void *arg)
{
	for (uint32_t i = 0; i < n; i++) {
		struct proc *p = lookup_fn(keys[i], arg);
		uint64_t delta;

		if (!p)
			continue;
		delta = vals[i].samples >= p->cpu_samples ? vals[i].samples - p->cpu_samples :
							    vals[i].samples;
		/* The map starts empty at load, so even a first read is a delta. */
		push(p, (float)(delta / per_core));
		p->cpu_samples = vals[i].samples;
		if (p->act)
			p->act->busy_threads = 0;
	}
}

void cpu_reader__credit_threads(struct cpu_reader *r, struct proc_table *t,
				const uint32_t *keys, const struct mw_cpu *vals, uint32_t n,
				double per_core)
{
	struct htab *next = htab__new();

	for (uint32_t i = 0; i < n; i++) {
		uint64_t prev = (uint64_t)(uintptr_t)htab__get(r->thread_prev, keys[i]);
		uint64_t cur = vals[i].samples;
		struct proc *p;

		if (next)
			htab__put(next, keys[i], (void *)(uintptr_t)cur);
		if (cur <= prev || (double)(cur - prev) < per_core / 2)
			continue;
		p = proc_table__lookup(t, vals[i].tgid);
		if (p && proc__act(p))
			p->act->busy_threads++;
	}
	if (next) {
		htab__free(r->thread_prev);
		r->thread_prev = next;
	}
}

int cpu_reader__poll(struct cpu_reader *r, struct proc_table *t, uint64_t dt_ns,
		     struct proc *(*lookup_fn)(uint32_t tgid, void *arg), void *arg)
{
	double per_core = (double)r->hz * (double)dt_ns / 1e9;
	uint32_t n;
	int e;

	if (per_core <= 0)
		return 0;
	e = read_map(r, r->proc_fd, &n);
	if (e)
		return e;
	cpu__credit_procs(r->keys, r->vals, n, per_core, lookup_fn, arg);

	/* Threads: busy when on CPU for at least half of the interval. */
	e = read_map(r, r->thread_fd, &n);
	if (e)
		return e;
	cpu_reader__credit_threads(r, t, r->keys, r->vals, n, per_core);
	return (int)n;
}

double proc__cpu_avg(const struct proc *p, uint32_t n, uint32_t *ret_seconds)
{
	const struct proc_act *a = p->act;
	uint32_t k = a ? (n < a->cpu_len ? n : a->cpu_len) : 0;
	double sum = 0;

	for (uint32_t i = 0; i < k; i++)
		sum += a->cpu_hist[(a->cpu_pos + PROC_CPU_HIST - 1 - i) % PROC_CPU_HIST];
	if (ret_seconds)
		*ret_seconds = k;
	return k ? sum / k : 0;
}

void proc__cpu_steadiness(const struct proc *p, uint32_t n, double *ret_mean, double *ret_cv,
			  uint32_t *ret_seconds)
{
	double mean = proc__cpu_avg(p, n, ret_seconds), var = 0;
	uint32_t k = *ret_seconds;

	for (uint32_t i = 0; i < k; i++) {
		double d = p->act->cpu_hist[(p->act->cpu_pos + PROC_CPU_HIST - 1 - i) %
					    PROC_CPU_HIST] - mean;

		var += d * d;
	}
	*ret_mean = mean;
	*ret_cv = k && mean > 0 ? sqrt(var / k) / mean : 0;
}
