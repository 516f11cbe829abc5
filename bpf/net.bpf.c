// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Outbound TCP connections: who opened them, to where, and how they talk.
 *
 *   connect() -> __cgroup_bpf_run_filter_sock_addr()  mw_connect4/6: record
 *                                                     pid, destination, cookie
 *   every segment, either way, of a socket in any cgroup under the root
 *            -> cgroup_skb egress/ingress              mw_egress/mw_ingress:
 *                                                     bytes, cadence, first
 *                                                     payload segments
 *   tcp_set_state() -> trace_inet_sock_set_state()    mw_sock_state:
 *                                                     established, closed
 *
 * The connect hooks run in the caller's context, which is what ties a socket
 * to a process; the skb hooks only count for sockets found in mw_conns, so
 * untracked traffic costs one hash lookup.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "maps.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define SK_PASS 1

static __always_inline void track_connect(struct bpf_sock_addr *ctx, __u16 family)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mw_conn_event *e;
	struct mw_conn c = {};
	__u64 cookie;

	if (ctx->protocol != IPPROTO_TCP)
		return;
	c.pid = id >> 32;
	if (c.pid == mw_self_tgid)
		return;
	cookie = bpf_get_socket_cookie(ctx);
	c.family = family;
	c.dport = bpf_ntohs((__u16)ctx->user_port);
	if (family == AF_INET) {
		__builtin_memcpy(c.daddr, &ctx->user_ip4, 4);
	} else {
		__u32 *a = (__u32 *)c.daddr;

		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
	}
	c.cgroup_id = bpf_get_current_cgroup_id();
	c.connect_ns = bpf_ktime_get_boot_ns();
	if (bpf_map_update_elem(&mw_conns, &cookie, &c, BPF_ANY)) {
		MW_COUNT(conn_map_full);
		return;
	}

	e = mw_reserve(sizeof(*e), MW_EV_CONNECT);
	if (!e)
		return;
	e->hdr.type = MW_EV_CONNECT;
	e->hdr.pid = c.pid;
	e->hdr.ts_ns = c.connect_ns;
	e->cookie = cookie;
	e->conn = c;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("cgroup/connect4")
int mw_connect4(struct bpf_sock_addr *ctx)
{
	track_connect(ctx, AF_INET);
	return SK_PASS;
}

SEC("cgroup/connect6")
int mw_connect6(struct bpf_sock_addr *ctx)
{
	track_connect(ctx, AF_INET6);
	return SK_PASS;
}

/* Offset and length of the TCP payload of a segment, or -1 if not TCP. */
static __always_inline int tcp_payload(struct __sk_buff *skb, __u32 *off, __u32 *len)
{
	__u32 l3 = 0;
	__u8 b;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &b, 1))
			return -1;
		l3 = (b & 0x0f) * 4;
		if (bpf_skb_load_bytes(skb, 9, &b, 1) || b != IPPROTO_TCP)
			return -1;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		/* Extension headers are not walked: such segments are counted only. */
		if (bpf_skb_load_bytes(skb, 6, &b, 1) || b != IPPROTO_TCP)
			return -1;
		l3 = 40;
	} else {
		return -1;
	}
	if (bpf_skb_load_bytes(skb, l3 + 12, &b, 1))
		return -1;
	*off = l3 + (b >> 4) * 4;
	*len = skb->len > *off ? skb->len - *off : 0;
	return 0;
}

static __always_inline void capture(struct __sk_buff *skb, __u64 cookie, struct mw_flow *f,
				    __u32 dir, __u32 off, __u32 len)
{
	struct mw_payload_event *e;
	__u64 cap;
	__u32 seg;

	/*
	 * Not atomic: fetching atomics need kernel 5.12 and a 5.10 kernel must
	 * load this. Two CPUs racing on one socket may both take a slot; user
	 * space orders segments by time, so nothing is misread.
	 */
	seg = f->captured;
	if (seg >= MW_PAYLOAD_SEGS)
		return;
	f->captured = seg + 1;
	e = mw_reserve(sizeof(*e), MW_EV_PAYLOAD);
	if (!e)
		return;
	e->hdr.type = MW_EV_PAYLOAD;
	e->hdr.pid = 0;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->cookie = cookie;
	e->dir = dir;
	e->seg = seg;
	e->seg_len = len;
	__builtin_memset(e->data, 0, sizeof(e->data));
	cap = len < MW_PAYLOAD_LEN ? len : MW_PAYLOAD_LEN;
	/*
	 * Keep clang from folding the bounds check into the computation above,
	 * so the verifier sees cap in 1..MW_PAYLOAD_LEN at the call.
	 */
	asm volatile("" : "+r"(cap));
	if (cap >= 1 && cap <= MW_PAYLOAD_LEN && bpf_skb_load_bytes(skb, off, e->data, cap) == 0) {
		e->len = cap;
	} else {
		e->len = 0;
		MW_COUNT(read_errors);
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int account(struct __sk_buff *skb, __u32 dir)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct mw_conn *c;
	struct mw_flow *f;
	__u32 off, len;
	__u64 now;

	c = bpf_map_lookup_elem(&mw_conns, &cookie);
	if (!c)
		return SK_PASS;
	f = dir == MW_DIR_OUT ? &c->flow[MW_DIR_OUT] : &c->flow[MW_DIR_IN];
	__sync_fetch_and_add(&f->packets, 1);
	if (tcp_payload(skb, &off, &len) || len == 0)
		return SK_PASS;
	now = bpf_ktime_get_boot_ns();
	__sync_fetch_and_add(&f->bytes, len);
	__sync_fetch_and_add(&f->data_packets, 1);
	if (!f->first_ns)
		f->first_ns = now;
	f->last_ns = now;
	capture(skb, cookie, f, dir, off, len);
	return SK_PASS;
}

SEC("cgroup_skb/egress")
int mw_egress(struct __sk_buff *skb)
{
	return account(skb, MW_DIR_OUT);
}

SEC("cgroup_skb/ingress")
int mw_ingress(struct __sk_buff *skb)
{
	return account(skb, MW_DIR_IN);
}

static __always_inline int handle_state(const struct sock *sk, int newstate)
{
	struct mw_conn_event *e;
	struct mw_conn *c;
	__u64 cookie;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	/* Zero until someone asked for it: then it cannot be one of ours. */
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!cookie)
		return 0;
	c = bpf_map_lookup_elem(&mw_conns, &cookie);
	if (!c)
		return 0;
	c->state = newstate;
	if (newstate == TCP_ESTABLISHED) {
		c->established_ns = bpf_ktime_get_boot_ns();
		return 0;
	}
	if (newstate != TCP_CLOSE)
		return 0;

	c->closed_ns = bpf_ktime_get_boot_ns();
	e = mw_reserve(sizeof(*e), MW_EV_CLOSE);
	if (e) {
		e->hdr.type = MW_EV_CLOSE;
		e->hdr.pid = c->pid;
		e->hdr.ts_ns = c->closed_ns;
		e->cookie = cookie;
		e->conn = *c;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&mw_conns, &cookie);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(mw_sock_state_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	return handle_state(sk, newstate);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(mw_sock_state_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	return handle_state(sk, newstate);
}
