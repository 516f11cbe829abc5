// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The alternative to sampling, for measurement only: exact on-CPU time by
 * sched_switch accounting, as a sensor would do it (per-thread start stamp,
 * per-process sum). hookcost links this next to the real sampler from bpf/
 * and times a context-switch storm under each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} sw_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} sw_oncpu SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(hc_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), *start, *sum, delta;
	__u32 prev_tid = prev->pid, prev_tgid = prev->tgid, next_tid = next->pid;

	start = bpf_map_lookup_elem(&sw_start, &prev_tid);
	if (start && prev_tgid) {
		delta = now - *start;
		sum = bpf_map_lookup_elem(&sw_oncpu, &prev_tgid);
		if (sum)
			__sync_fetch_and_add(sum, delta);
		else
			bpf_map_update_elem(&sw_oncpu, &prev_tgid, &delta, BPF_NOEXIST);
	}
	if (next_tid)
		bpf_map_update_elem(&sw_start, &next_tid, &now, BPF_ANY);
	return 0;
}
