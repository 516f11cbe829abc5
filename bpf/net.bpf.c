// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Outbound TCP connections: who opened them, to where, and how they talk.
 *
 *   connect() -> __cgroup_bpf_run_filter_sock_addr()  mw_connect4/6: record
 *                                                     pid, destination, cookie
 *                                                     in the cookie's slot of
 *                                                     mw_conn_slots
 *   every segment, either way, of a socket in any cgroup under the root
 *            -> cgroup_skb egress/ingress              mw_egress/mw_ingress:
 *                                                     segments; from the first
 *                                                     payload on: bytes,
 *                                                     cadence, first payload
 *                                                     segments, which tell
 *                                                     user space of the
 *                                                     connection
 *   tcp_v4_destroy_sock() -> trace_tcp_destroy_sock() mw_sock_close: closed
 *                                                     (MW_EV_CLOSE only for
 *                                                     announced ones)
 *   connect()/sendmsg() of UDP to port 53             mw_connect4/6,
 *                                                     mw_sendmsg4/6: remember
 *                                                     the socket; its query is
 *                                                     captured on egress
 *
 * The connect hooks run in the caller's context, which is what ties a socket
 * to a process; the skb hooks only count for sockets found in a slot or in
 * mw_conns (the few moved out of their slot), and a socket without a cookie
 * cannot be in either (see tcp_cookie()), so most untracked traffic costs a
 * pointer cast and one load.
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
#define IPPROTO_UDP_ 17

/*
 * A UDP socket about to send a DNS query: its packets are worth a look.
 * canary_hook names the hook for the self-check's datagram (see struct
 * mw_canary), MW_CANARY_MAX where there is none.
 */
static __always_inline void track_dns(struct bpf_sock_addr *ctx, __u32 canary_hook)
{
	__u16 port;
	__u32 pid;
	__u64 cookie;

	if (ctx->protocol != IPPROTO_UDP_)
		return;
	port = bpf_ntohs((__u16)ctx->user_port);
	if (port != MW_DNS_PORT) {
		/* Only a datagram to the canary's port costs a look at the pid. */
		if (port && port == mw_canary.udp_port &&
		    (bpf_get_current_pid_tgid() >> 32) == mw_self_tgid)
			mw_canary_seen(canary_hook);
		return;
	}
	pid = bpf_get_current_pid_tgid() >> 32;
	if (pid == mw_self_tgid)
		return;
	cookie = bpf_get_socket_cookie(ctx);
	bpf_map_update_elem(&mw_dns_socks, &cookie, &pid, BPF_ANY);
}

/* The slot of a connection, if it is (still) there, or NULL. */
static __always_inline struct mw_conn_slot *conn_slot(__u64 cookie)
{
	__u32 i = cookie & (MW_CONN_SLOTS - 1);
	struct mw_conn_slot *s = bpf_map_lookup_elem(&mw_conn_slots, &i);

	return s && s->cookie == cookie ? s : NULL;
}

/* The full record of the connection in slot s, valid once s->payload is set. */
static __always_inline struct mw_conn *slot_conn(__u64 cookie)
{
	__u32 i = cookie & (MW_CONN_SLOTS - 1);

	return bpf_map_lookup_elem(&mw_slot_conns, &i);
}

/*
 * Fills c from slot s, for a connection about to be counted in full: the
 * flows start from the segments counted in the slot so far.
 */
static __always_inline void open_conn(struct mw_conn *c, const struct mw_conn_slot *s)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->pid = s->pid;
	c->family = s->family;
	c->dport = s->dport;
	__builtin_memcpy(c->daddr, s->daddr, sizeof(c->daddr));
	c->connect_ns = s->connect_ns;
	c->flow[MW_DIR_OUT].packets = s->packets[MW_DIR_OUT];
	c->flow[MW_DIR_IN].packets = s->packets[MW_DIR_IN];
}

/*
 * Moves the open connection in slot s out of a newer one's way, into
 * mw_conns, where it goes on being counted. With mw_conns full it is lost
 * track of, and counted.
 */
static __always_inline void evict(struct mw_conn_slot *s, __u64 cookie)
{
	struct mw_conn c, *full;
	long err;

	full = s->payload ? slot_conn(cookie) : NULL;
	if (full)
		c = *full;
	else
		open_conn(&c, s);
	/* -EEXIST: another CPU moved it a moment ago; that entry stands. */
	err = bpf_map_update_elem(&mw_conns, &cookie, &c, BPF_NOEXIST);
	if (err && err != -17)
		MW_COUNT(conn_map_full);
}

/* The goodbye record of a connection user space was told of. */
static __always_inline void goodbye(struct mw_conn *c, __u64 cookie)
{
	struct mw_conn_event *e;

	c->state = TCP_CLOSE;
	c->closed_ns = bpf_ktime_get_boot_ns();
	e = mw_reserve(sizeof(*e), MW_EV_CLOSE);
	if (!e)
		return;
	e->hdr.type = MW_EV_CLOSE;
	e->hdr.pid = c->pid;
	e->hdr.ts_ns = c->closed_ns;
	e->cookie = cookie;
	e->pid = c->pid;
	e->family = c->family;
	e->dport = c->dport;
	__builtin_memcpy(e->daddr, c->daddr, sizeof(e->daddr));
	e->connect_ns = c->connect_ns;
	mw_submit(e, sizeof(*e), MW_EV_CLOSE);
}

/*
 * Ends the connection in slot s, once: its last segments stop at the slot,
 * and user space, if it was told of it, gets its goodbye.
 */
static __always_inline void close_slot(struct mw_conn_slot *s, __u64 cookie)
{
	struct mw_conn *c;

	if (s->closed)
		return;
	s->closed = 1;
	/* Closed silent, or never announced: nothing to tell. */
	c = s->payload ? slot_conn(cookie) : NULL;
	if (c && c->announced)
		goodbye(c, cookie);
}

static __always_inline void track_connect(struct bpf_sock_addr *ctx, __u16 family)
{
	struct mw_conn_slot *s;
	__u64 cookie, prev;
	__u32 pid, i;

	if (ctx->protocol == IPPROTO_UDP_) {
		track_dns(ctx, MW_CANARY_MAX);
		return;
	}
	if (ctx->protocol != IPPROTO_TCP)
		return;
	pid = bpf_get_current_pid_tgid() >> 32;
	/*
	 * The daemon's own connections are not tracked. One of them is the
	 * self-check's canary; any of them shows that this hook runs.
	 */
	if (pid == mw_self_tgid) {
		mw_canary_seen(family == AF_INET ? MW_CANARY_CONNECT4 : MW_CANARY_CONNECT6);
		return;
	}
	cookie = bpf_get_socket_cookie(ctx);
	i = cookie & (MW_CONN_SLOTS - 1);
	s = bpf_map_lookup_elem(&mw_conn_slots, &i);
	if (!s)
		return;
	/*
	 * The slot's earlier owner is still open, MW_CONN_SLOTS sockets later:
	 * it keeps being tracked, in mw_conns.
	 */
	prev = s->cookie;
	if (prev && prev != cookie && !s->closed)
		evict(s, prev);
	/*
	 * The same socket connecting again (after connect(AF_UNSPEC) or a
	 * failed connect): its first connection ended without its socket
	 * being destroyed. One moved out of its slot in between is still in
	 * mw_conns: finding it would cost every connect a hash lookup, so the
	 * daemon ends it when this connection is announced (on_connect()).
	 */
	if (prev == cookie)
		close_slot(s, cookie);
	/*
	 * Free while it is rewritten, so that a late segment of prev finds it
	 * in mw_conns, not half of this connection (the empty asm keeps the
	 * compiler from dropping or moving the stores around it).
	 */
	s->cookie = 0;
	asm volatile("" ::: "memory");
	s->pid = pid;
	s->family = family;
	s->dport = bpf_ntohs((__u16)ctx->user_port);
	if (family == AF_INET) {
		__builtin_memset(s->daddr, 0, sizeof(s->daddr));
		__builtin_memcpy(s->daddr, &ctx->user_ip4, 4);
	} else {
		__u32 *a = (__u32 *)s->daddr;

		a[0] = ctx->user_ip6[0];
		a[1] = ctx->user_ip6[1];
		a[2] = ctx->user_ip6[2];
		a[3] = ctx->user_ip6[3];
	}
	s->connect_ns = bpf_ktime_get_boot_ns();
	s->packets[MW_DIR_OUT] = 0;
	s->packets[MW_DIR_IN] = 0;
	s->payload = 0;
	s->closed = 0;
	/*
	 * Only remembered here: user space hears of a connection from its first
	 * captured segment (capture() below). Every judgement the daemon makes
	 * about a connection needs its payload or its message cadence, so a
	 * connect storm of silent connections costs no records at all. Its
	 * cgroup is not taken: findings name the cgroup of the process.
	 */
	asm volatile("" ::: "memory");
	s->cookie = cookie;
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

SEC("cgroup/sendmsg4")
int mw_sendmsg4(struct bpf_sock_addr *ctx)
{
	track_dns(ctx, MW_CANARY_SENDMSG4);
	return SK_PASS;
}

SEC("cgroup/sendmsg6")
int mw_sendmsg6(struct bpf_sock_addr *ctx)
{
	track_dns(ctx, MW_CANARY_SENDMSG6);
	return SK_PASS;
}

/* Length of the IP header and the L4 protocol of a packet, or -1. */
static __always_inline int l3_header(struct __sk_buff *skb, __u32 *l3, __u8 *proto)
{
	__u8 b;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, &b, 1))
			return -1;
		*l3 = (b & 0x0f) * 4;
		return bpf_skb_load_bytes(skb, 9, proto, 1) ? -1 : 0;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		/* Extension headers are not walked: such packets are counted only. */
		*l3 = 40;
		return bpf_skb_load_bytes(skb, 6, proto, 1) ? -1 : 0;
	}
	return -1;
}

/* Offset and length of the TCP payload of a segment, or -1 if not TCP. */
static __always_inline int tcp_payload_copied(struct __sk_buff *skb, __u32 *off, __u32 *len)
{
	__u32 l3;
	__u8 proto, b;

	if (l3_header(skb, &l3, &proto) || proto != IPPROTO_TCP)
		return -1;
	if (bpf_skb_load_bytes(skb, l3 + 12, &b, 1))
		return -1;
	*off = l3 + (b >> 4) * 4;
	*len = skb->len > *off ? skb->len - *off : 0;
	return 0;
}

/*
 * The same, read in place: a cgroup_skb program sees the packet from its IP
 * header on, and the headers are nearly always in the linear part. That
 * spares every segment of a tracked connection three helper calls. Headers
 * that are not linear take the copying path above.
 */
static __always_inline int tcp_payload(struct __sk_buff *skb, __u32 *off, __u32 *len)
{
	__u8 *data = (__u8 *)(long)skb->data;
	__u8 *end = (__u8 *)(long)skb->data_end;
	__u32 l3 = 0, proto = 0;
	__u8 *th;

	if (skb->protocol == bpf_htons(ETH_P_IP) && data + 20 <= end) {
		proto = data[9];
		l3 = (data[0] & 0x0f) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6) && data + 40 <= end) {
		/* Extension headers are not walked: such packets are counted only. */
		proto = data[6];
		l3 = 40;
	}
	if (l3) {
		if (proto != IPPROTO_TCP)
			return -1;
		th = data + l3;
		if (th + 13 <= end) {
			*off = l3 + (th[12] >> 4) * 4;
			*len = skb->len > *off ? skb->len - *off : 0;
			return 0;
		}
	}
	return tcp_payload_copied(skb, off, len);
}

/*
 * What a payload record says about where its bytes come from: the segment's
 * connection, or for a DNS query only its socket and sender (conn NULL).
 */
struct seg_from {
	const struct mw_conn *conn;
	__u32 pid;
	__u64 cookie;
	__u64 ts;
	__u32 dir;
	__u32 seg;
};

/*
 * Hands up to n bytes at off to user space in a record of n bytes of data;
 * false if the ring was full. n is a constant in each inlined copy, which is
 * what the reserve helper needs.
 */
static __always_inline bool emit_class(struct __sk_buff *skb, __u32 type,
				       const struct seg_from *from, __u32 off, __u32 len,
				       const __u32 n)
{
	const struct mw_conn *c = from->conn;
	struct mw_payload_event *e;
	__u64 cap;

	e = mw_reserve(MW_PAYLOAD_HDR_LEN + n, type);
	if (!e)
		return false;
	e->hdr.type = type;
	e->hdr.pid = from->pid;
	e->hdr.ts_ns = from->ts;
	e->cookie = from->cookie;
	e->dir = from->dir;
	e->seg = from->seg;
	e->seg_len = len;
	e->pad = 0;
	if (c) {
		e->family = c->family;
		e->dport = c->dport;
		__builtin_memcpy(e->daddr, c->daddr, sizeof(e->daddr));
		e->connect_ns = c->connect_ns;
	} else {
		e->family = 0;
		e->dport = 0;
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		e->connect_ns = 0;
	}
	__builtin_memset(e->data, 0, n);
	cap = len < n ? len : n;
	/*
	 * Each bound is tested on cap's own register, one at a time: clang
	 * otherwise folds "1 <= cap <= MAX" into one test of cap - 1, whose
	 * bounds older verifiers (5.10, 6.1, 6.12) do not carry back to cap.
	 */
	asm volatile("" : "+r"(cap));
	if (cap > n)
		cap = 0;
	asm volatile("" : "+r"(cap));
	if ((__s64)cap > 0 && bpf_skb_load_bytes(skb, off, e->data, cap) == 0) {
		e->len = cap;
	} else {
		e->len = 0;
		MW_COUNT(read_errors);
	}
	mw_submit(e, MW_PAYLOAD_HDR_LEN + n, type);
	return true;
}

/*
 * Hands up to MW_PAYLOAD_LEN bytes at off to user space in the shortest
 * record that holds them; false if the ring was full. A line of a few bytes
 * costs a tenth of the ring a full record does.
 */
static __always_inline bool emit_payload(struct __sk_buff *skb, __u32 type,
					 const struct seg_from *from, __u32 off, __u32 len)
{
	if (len <= MW_PAYLOAD_CLASS_S)
		return emit_class(skb, type, from, off, len, MW_PAYLOAD_CLASS_S);
	if (len <= MW_PAYLOAD_CLASS_M)
		return emit_class(skb, type, from, off, len, MW_PAYLOAD_CLASS_M);
	return emit_class(skb, type, from, off, len, MW_PAYLOAD_LEN);
}

/*
 * Hands one of the first payload segments each way to user space, which
 * learns of the connection from the first of them. A race between two CPUs
 * may announce it twice; the daemon's table ignores the second, which names
 * the same connect time.
 */
static __always_inline void capture(struct __sk_buff *skb, struct mw_conn *c, __u64 cookie,
				    struct mw_flow *f, __u32 dir, __u32 off, __u32 len, __u64 now)
{
	struct seg_from from = { .conn = c, .pid = c->pid, .cookie = cookie, .ts = now,
				 .dir = dir };
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
	from.seg = seg;
	/*
	 * A segment the ring had no room for gives its slot back: a flood must
	 * not use up the few segments a connection is looked at by, and the
	 * connection is announced by the next one that fits.
	 */
	if (!emit_payload(skb, MW_EV_PAYLOAD, &from, off, len)) {
		f->captured = seg;
		return;
	}
	if (!c->announced) {
		c->announced = 1;
		MW_COUNT(events[MW_EV_CONNECT]);
	}
}

/*
 * Message cadence. Segments closer than MW_MSG_GAP_NS are one message; a
 * message is unprompted when the other side sent nothing since this side's
 * previous message. The first message each way has no previous one and is
 * not judged. Plain stores: a race loses at most one count.
 */
static __always_inline void cadence(struct mw_flow *f, const struct mw_flow *other, __u64 now)
{
	__u64 last = f->last_ns;

	if (last && now - last <= MW_MSG_GAP_NS)
		return;
	f->messages++;
	if (last && other->last_ns <= last) {
		f->unprompted++;
		if (!f->first_unprompted_ns)
			f->first_unprompted_ns = now;
		f->last_unprompted_ns = now;
	}
}

static __always_inline void account(struct __sk_buff *skb, struct mw_conn *c, __u64 cookie,
				    __u32 dir)
{
	struct mw_flow *f, *other;
	__u32 off, len;
	__u64 now;

	if (dir == MW_DIR_OUT) {
		f = &c->flow[MW_DIR_OUT];
		other = &c->flow[MW_DIR_IN];
	} else {
		f = &c->flow[MW_DIR_IN];
		other = &c->flow[MW_DIR_OUT];
	}
	/*
	 * Plain adds, not atomics: one direction of one socket is fed by one
	 * CPU at a time but for rare overlaps (a retransmit timer beside a
	 * send), which lose at most one count; a locked add on every segment
	 * costs every connection.
	 */
	f->packets++;
	if (tcp_payload(skb, &off, &len) || len == 0)
		return;
	now = bpf_ktime_get_boot_ns();
	f->bytes += len;
	f->data_packets++;
	cadence(f, other, now);
	if (!f->first_ns)
		f->first_ns = now;
	f->last_ns = now;
	capture(skb, c, cookie, f, dir, off, len, now);
}

/* A DNS query leaving a socket seen sending to port 53: capture it. */
static __always_inline void dns_query(struct __sk_buff *skb)
{
	struct seg_from from = { .dir = MW_DIR_OUT };
	__u32 *pid, l3;
	__u8 proto;

	if (l3_header(skb, &l3, &proto) || proto != IPPROTO_UDP_ || skb->len <= l3 + 8)
		return;
	from.cookie = bpf_get_socket_cookie(skb);
	pid = bpf_map_lookup_elem(&mw_dns_socks, &from.cookie);
	if (!pid)
		return;
	from.pid = *pid;
	from.ts = bpf_ktime_get_boot_ns();
	emit_payload(skb, MW_EV_DNS, &from, l3 + 8, skb->len - l3 - 8);
}

/*
 * The cookie a TCP socket already has, without handing it one. Every socket
 * this side tracks got its cookie when it was tracked (in the connect hook,
 * or from the daemon's sock_diag scan at start), so a socket still without
 * one is not tracked: the server end of a loopback connection, for one.
 * That spares most untracked traffic the atomic that hands out cookies and
 * the hash lookup. *tcp says whether the packet's socket is a full TCP
 * socket at all (request and time-wait sockets are not).
 */
static __always_inline __u64 tcp_cookie(struct __sk_buff *skb, bool *tcp)
{
	struct bpf_sock *sk = skb->sk;
	struct tcp_sock *tp;

	*tcp = false;
	if (!sk)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	*tcp = true;
	return tp->inet_conn.icsk_inet.sk.__sk_common.skc_cookie.counter;
}

/*
 * A segment of a socket with a cookie. A connection in its slot only counts
 * segments there until its first payload, from which on it is counted in
 * full in mw_slot_conns; once closed, its last segments stop at the slot.
 * One moved out of its slot is counted in mw_conns.
 */
static __always_inline void segment(struct __sk_buff *skb, __u64 cookie, __u32 dir,
				    __u32 canary_hook)
{
	struct mw_conn_slot *s = conn_slot(cookie);
	struct mw_conn *c;
	__u32 off, len;

	if (s) {
		if (s->closed)
			return;
		if (!s->payload && (tcp_payload(skb, &off, &len) || len == 0)) {
			s->packets[dir]++;
			return;
		}
		c = slot_conn(cookie);
		if (!c)
			return;
		if (!s->payload) {
			/* Plain stores: a first payload each way at once may lose a count. */
			open_conn(c, s);
			s->payload = 1;
		}
	} else {
		c = bpf_map_lookup_elem(&mw_conns, &cookie);
		if (!c) {
			if (mw_canary_cookie(cookie))
				mw_canary_seen(canary_hook);
			return;
		}
	}
	account(skb, c, cookie, dir);
}

SEC("cgroup_skb/egress")
int mw_egress(struct __sk_buff *skb)
{
	__u64 cookie;
	bool tcp;

	cookie = tcp_cookie(skb, &tcp);
	if (!tcp) {
		dns_query(skb);
		return SK_PASS;
	}
	/* The self-check's canary shows here as its SYN. */
	if (cookie)
		segment(skb, cookie, MW_DIR_OUT, MW_CANARY_EGRESS);
	return SK_PASS;
}

SEC("cgroup_skb/ingress")
int mw_ingress(struct __sk_buff *skb)
{
	__u64 cookie;
	bool tcp;

	cookie = tcp_cookie(skb, &tcp);
	/* The self-check's canary shows here as the RST answering it. */
	if (cookie)
		segment(skb, cookie, MW_DIR_IN, MW_CANARY_INGRESS);
	return SK_PASS;
}

/*
 * A TCP socket is destroyed: the end of its connection, if it was tracked.
 * An untracked socket, still without a cookie, returns before any lookup.
 */
static __always_inline int handle_close(__u64 cookie)
{
	struct mw_conn_slot *s;
	struct mw_conn *c;

	if (!cookie)
		return 0;
	s = conn_slot(cookie);
	if (s) {
		close_slot(s, cookie);
		return 0;
	}
	c = bpf_map_lookup_elem(&mw_conns, &cookie);
	if (!c) {
		if (mw_canary_cookie(cookie))
			mw_canary_seen(MW_CANARY_SOCK_CLOSE);
		return 0;
	}
	/* A connection user space never heard of needs no goodbye. */
	if (c->announced)
		goodbye(c, cookie);
	bpf_map_delete_elem(&mw_conns, &cookie);
	return 0;
}

/*
 * The end of a connection is the destruction of its socket, which happens
 * once per socket: where its close has nothing left to send (TIME_WAIT
 * reached, the last ACK received, a reset) and the process has let go of
 * it. inet_sock_set_state would show it a moment sooner when a connection
 * dies under a descriptor still open, but runs at every state change of
 * every TCP socket on the host, three times as often as this.
 */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(mw_sock_close_btf, struct sock *sk)
{
	/* A typed argument: a plain load, no probe-read helper. */
	return handle_close(sk->__sk_common.skc_cookie.counter);
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(mw_sock_close_raw, struct sock *sk)
{
	return handle_close(BPF_CORE_READ(sk, __sk_common.skc_cookie.counter));
}
