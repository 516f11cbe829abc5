// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU time by sampling.
 *
 * The daemon opens one software cpu-clock perf event per online CPU at a
 * fixed frequency and attaches this program to each. Every sample credits
 * the interrupted thread and its process, so a process's share of samples
 * over a window, divided by the frequency, is the number of cores it used.
 *
 * Sampling was chosen over sched_switch accounting because its cost is fixed
 * (frequency x CPUs) whatever the workload does, while sched_switch runs on
 * every context switch and so taxes exactly the switch-heavy workloads a
 * sensor must not slow down. BENCHMARKS.md has the measured comparison.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

static __always_inline void credit(void *map, __u32 key, __u32 tgid, __u64 now, int full_is_thread)
{
	struct mw_cpu *c = bpf_map_lookup_elem(map, &key);
	struct mw_cpu init = {};

	if (c) {
		__sync_fetch_and_add(&c->samples, 1);
		c->last_ns = now;
		return;
	}
	init.samples = 1;
	init.last_ns = now;
	init.tgid = tgid;
	if (bpf_map_update_elem(map, &key, &init, BPF_NOEXIST) == 0)
		return;
	/* Lost a race with another CPU inserting the same key: count there. */
	c = bpf_map_lookup_elem(map, &key);
	if (c) {
		__sync_fetch_and_add(&c->samples, 1);
		return;
	}
	if (full_is_thread)
		MW_COUNT(thread_map_full);
	else
		MW_COUNT(cpu_map_full);
}

SEC("perf_event")
int mw_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u32 tid = (__u32)id;
	struct mw_stats *s = mw_stats();
	__u64 now;

	/* Counted first, idle included: the self-check's proof that this CPU samples. */
	if (s)
		s->sampler_runs++;
	/* The idle task, and the daemon itself, are not of interest. */
	if (tgid == 0 || tgid == mw_self_tgid)
		return 0;
	now = bpf_ktime_get_boot_ns();
	if (s)
		s->cpu_samples++;
	credit(&mw_cpu_proc, tgid, tgid, now, 0);
	credit(&mw_cpu_thread, tid, tgid, now, 1);
	return 0;
}
