// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * minerwatch's hook set with nothing behind it, for measurement only: every
 * hook the sensor attaches (bpf/net.bpf.c, bpf/proc.bpf.c, bpf/cpu.bpf.c),
 * each with a program that returns at once. What a storm pays under these
 * is what the kernel charges for running any program at those points, the
 * floor under which no sensor on the same hooks can go; what minerwatchd
 * costs above it is its own work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define PASS 1

SEC("cgroup/connect4")
int floor_connect4(struct bpf_sock_addr *ctx)
{
	return PASS;
}

SEC("cgroup/connect6")
int floor_connect6(struct bpf_sock_addr *ctx)
{
	return PASS;
}

SEC("cgroup/sendmsg4")
int floor_sendmsg4(struct bpf_sock_addr *ctx)
{
	return PASS;
}

SEC("cgroup/sendmsg6")
int floor_sendmsg6(struct bpf_sock_addr *ctx)
{
	return PASS;
}

SEC("cgroup_skb/egress")
int floor_egress(struct __sk_buff *skb)
{
	return PASS;
}

SEC("cgroup_skb/ingress")
int floor_ingress(struct __sk_buff *skb)
{
	return PASS;
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(floor_sock_close, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_exit, struct task_struct *p)
{
	return 0;
}

SEC("perf_event")
int floor_sample(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
