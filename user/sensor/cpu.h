/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads the per-process and per-thread CPU sample maps once a tick and turns
 * them into per-second core usage in the process table.
 */
#ifndef MW_CPU_H
#define MW_CPU_H

#include <stdint.h>

#include "proc_table.h"

struct cpu_reader;
struct mw_cpu;

struct cpu_reader *cpu_reader__new(int proc_map_fd, int thread_map_fd, uint32_t sample_hz,
				   uint32_t max_entries);
void cpu_reader__free(struct cpu_reader *r);
/*
 * Credits the samples taken since the last poll, dt_ns ago, to processes in
 * the table. Processes unknown to the table are created through lookup_fn
 * (which may return NULL to ignore them). Returns entries read, or -errno.
 */
int cpu_reader__poll(struct cpu_reader *r, struct proc_table *t, uint64_t dt_ns,
		     struct proc *(*lookup_fn)(uint32_t tgid, void *arg), void *arg);

/*
 * The two halves of a poll, on values already read from the maps (no map
 * access, so tests can feed them): per_core is the samples one busy core gives in the interval.
 * Per-process entries (keys are tgids) push a second of CPU history to the
 * processes lookup_fn returns; per-thread entries (keys are tids) count the
 * threads busy for at least half of the interval, against the last poll.
 */
void cpu__credit_procs(const uint32_t *keys, const struct mw_cpu *vals, uint32_t n,
		       double per_core, struct proc *(*lookup_fn)(uint32_t tgid, void *arg),
		       void *arg);
void cpu_reader__credit_threads(struct cpu_reader *r, struct proc_table *t,
				const uint32_t *keys, const struct mw_cpu *vals, uint32_t n,
				double per_core);

/* Average cores over the last n seconds of history (fewer if not available). */
double proc__cpu_avg(const struct proc *p, uint32_t n, uint32_t *ret_seconds);
/* Mean and coefficient of variation over the last n seconds. */
void proc__cpu_steadiness(const struct proc *p, uint32_t n, double *ret_mean, double *ret_cv,
			  uint32_t *ret_seconds);

#endif
