// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle: exec and exit.
 *
 * Each hook exists twice: as tp_btf (typed arguments, cheapest) and as a raw
 * tracepoint for kernels whose BTF cannot be used to attach (for example an
 * external --btf file). The daemon enables one flavour before load. Both
 * read the same kernel objects through CO-RE, so the bodies are shared.
 *
 *   execve() -> bprm_execve() -> exec_binprm() -> trace_sched_process_exec()
 *   exit()   -> do_exit() -> exit_notify() ... trace_sched_process_exit()
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "maps.bpf.h"

static __always_inline int handle_exec(struct task_struct *task, struct linux_binprm *bprm)
{
	struct mw_exec_event *e;
	__u64 arg_start, arg_end, len;
	struct mm_struct *mm;
	const char *filename;
	__u32 ppid;
	__u64 ug;

	ppid = BPF_CORE_READ(task, real_parent, tgid);
	/*
	 * The daemon runs nothing but its self-check canary: a child of the
	 * daemon exec'ing is that canary. Counted, never recorded.
	 */
	if (ppid == mw_self_tgid) {
		mw_canary_seen(MW_CANARY_EXEC);
		return 0;
	}
	/* Built in place in the ring: no copy of the 576-byte record. */
	e = mw_reserve(sizeof(*e), MW_EV_EXEC);
	if (!e)
		return 0;
	e->hdr.type = MW_EV_EXEC;
	e->hdr.pid = BPF_CORE_READ(task, tgid);
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->ppid = ppid;
	ug = bpf_get_current_uid_gid();
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	e->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));

	filename = BPF_CORE_READ(bprm, filename);
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename) < 0) {
		e->filename[0] = '\0';
		MW_COUNT(read_errors);
	}

	/* The new image's argv was just copied in by exec, so it is resident. */
	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	len = arg_end - arg_start;
	if (len > MW_ARGS_LEN)
		len = MW_ARGS_LEN;
	e->args_len = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
		e->args_len = len;
	else if (len > 0)
		MW_COUNT(read_errors);

	mw_submit(e, sizeof(*e), MW_EV_EXEC);
	return 0;
}

static __always_inline int handle_exit(struct task_struct *task)
{
	struct mw_exit_event *e;
	__u32 tid = BPF_CORE_READ(task, pid);
	__u32 tgid = BPF_CORE_READ(task, tgid);

	/*
	 * Most short-lived tasks were never sampled: a lookup, which takes no
	 * lock, spares them the delete, which takes the bucket's.
	 */
	if (bpf_map_lookup_elem(&mw_cpu_thread, &tid))
		bpf_map_delete_elem(&mw_cpu_thread, &tid);

	/*
	 * do_exit() has already decremented signal->live: zero means this is
	 * the last thread of the group, whichever thread it is.
	 */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (bpf_map_lookup_elem(&mw_cpu_proc, &tgid))
		bpf_map_delete_elem(&mw_cpu_proc, &tgid);
	/* The self-check canary (see handle_exec) leaves without a record. */
	if (BPF_CORE_READ(task, real_parent, tgid) == mw_self_tgid) {
		mw_canary_seen(MW_CANARY_EXIT);
		return 0;
	}

	e = mw_reserve(sizeof(*e), MW_EV_EXIT);
	if (!e)
		return 0;
	e->hdr.type = MW_EV_EXIT;
	e->hdr.pid = tgid;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	mw_submit(e, sizeof(*e), MW_EV_EXIT);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(mw_exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return handle_exec(p, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(mw_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return handle_exec(p, bprm);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(mw_exit_btf, struct task_struct *p)
{
	return handle_exit(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(mw_exit_raw, struct task_struct *p)
{
	return handle_exit(p);
}
