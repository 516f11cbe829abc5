/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records and map values shared by the BPF programs and the daemon.
 *
 * This header is the single definition of the kernel/user ABI: both sides
 * include it, every field is fixed width, padding is explicit and the sizes
 * are pinned with static asserts so that neither side can drift.
 */
#ifndef MINERWATCH_H
#define MINERWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MW_COMM_LEN 16
#define MW_PATH_LEN 256
#define MW_ARGS_LEN 256
/* Enough for a Stratum/XMRig login or a TLS ClientHello with its SNI. */
#define MW_PAYLOAD_LEN 512
/* Data-bearing segments captured per direction of each connection. */
#define MW_PAYLOAD_SEGS 4
/*
 * Payload separated by more than this from the previous payload the same way
 * starts a new message: segments of one response arrive back to back.
 */
#define MW_MSG_GAP_NS (100ULL * 1000 * 1000)
#define MW_DNS_PORT 53

enum mw_event_type {
	MW_EV_EXEC = 1,
	MW_EV_EXIT = 2,
	/*
	 * Not a record of its own: counts the connections announced, each by
	 * its first payload record (struct mw_payload_event).
	 */
	MW_EV_CONNECT = 3,
	MW_EV_CLOSE = 4,
	MW_EV_PAYLOAD = 5,
	MW_EV_DNS = 6,     /* a DNS query sent over UDP, as an mw_payload_event */
	MW_EV_TYPE_MAX,
};

enum mw_dir {
	MW_DIR_OUT = 0,
	MW_DIR_IN = 1,
};

/*
 * Everything the kernel side counts, one copy per CPU (a per-CPU array of
 * one element), summed by the daemon. Losses are never silent.
 */
struct mw_stats {
	__u64 events[MW_EV_TYPE_MAX];    /* records submitted, by type */
	__u64 ringbuf_drops[MW_EV_TYPE_MAX]; /* reserve failures, by type */
	__u64 conn_map_full;             /* connection not tracked: map full */
	__u64 cpu_map_full;              /* CPU sample not accounted: map full */
	__u64 thread_map_full;
	__u64 cpu_samples;               /* perf samples taken on a task */
	__u64 read_errors;               /* a bounded kernel/user read failed */
	/*
	 * Every run of the sampler on this CPU, idle and the daemon included:
	 * the self-check's proof that this CPU's perf event still fires.
	 */
	__u64 sampler_runs;
};

struct mw_event_hdr {
	__u32 type;
	__u32 pid;      /* thread group id */
	__u64 ts_ns;    /* bpf_ktime_get_boot_ns() */
};

struct mw_exec_event {
	struct mw_event_hdr hdr;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 args_len;   /* bytes valid in args, NUL separated */
	__u64 start_ns;   /* task start, boot-time clock */
	__u64 cgroup_id;  /* cgroup v2 id */
	char comm[MW_COMM_LEN];
	char filename[MW_PATH_LEN];
	char args[MW_ARGS_LEN];
};

struct mw_exit_event {
	struct mw_event_hdr hdr;
	__u64 start_ns;
	__u32 exit_code;
	__u32 pad;
	char comm[MW_COMM_LEN];
};

/*
 * Per-direction traffic of one tracked connection. A message is "unprompted"
 * when nothing came the other way since this side's previous message: a
 * pool pushing a job, a client submitting a share, but not the answer to a
 * request.
 */
struct mw_flow {
	__u64 bytes;        /* TCP payload bytes */
	__u64 packets;      /* all segments, including pure ACKs */
	__u64 data_packets; /* segments that carried payload */
	__u64 messages;     /* bursts of payload, see MW_MSG_GAP_NS */
	__u64 unprompted;   /* messages not answering the other side */
	__u64 first_ns;     /* first payload, boot-time clock */
	__u64 last_ns;      /* last payload */
	__u64 first_unprompted_ns;
	__u64 last_unprompted_ns;
	__u32 captured;     /* payload segments handed to user space */
	__u32 pad;
};

/* Value of the connection map, keyed by socket cookie. */
struct mw_conn {
	__u32 pid;
	__u16 family;     /* AF_INET or AF_INET6 */
	__u16 dport;      /* host byte order */
	__u8 daddr[16];   /* IPv4 in the first 4 bytes */
	__u64 connect_ns;
	__u64 closed_ns;
	struct mw_flow flow[2]; /* indexed by enum mw_dir */
	__u32 state;      /* last TCP state seen */
	__u32 announced;  /* a payload record told user space of it */
};

/*
 * A connection in the slot of its cookie in mw_conn_slots (cookie %
 * MW_CONN_SLOTS), where it is counted from connect to close: an array slot
 * is found by the JIT without a hash or a lock. Cookies are handed out in
 * sequence, so a slot is taken again only after that many newer sockets;
 * connect moves a slot's earlier owner, if still open, into mw_conns first.
 *
 * A slot is one cache line, which is all a connection that never carries
 * payload touches: connect fills it, its segments count in packets[]. Its
 * first payload either way fills the struct mw_conn of the same index in
 * mw_slot_conns (payload = 1), where it is counted in full from then on.
 * Close marks the slot closed but leaves the cookie, so the segments that
 * follow a close (the RST of an aborted connection, the last ACKs) end at
 * the slot instead of in a hash lookup that would miss.
 */
#define MW_CONN_SLOTS 32768
struct mw_conn_slot {
	__u64 cookie;     /* 0: never used, being rewritten, or moved to mw_conns */
	__u32 pid;        /* as in struct mw_conn */
	__u16 family;
	__u16 dport;
	__u8 daddr[16];
	__u64 connect_ns;
	__u32 packets[2]; /* segments each way before the first payload */
	__u8 payload;     /* carried payload: counted in mw_slot_conns */
	__u8 closed;      /* closed: free for the next connect */
	__u8 pad[14];
};

/*
 * MW_EV_CLOSE (hdr.ts_ns the close) for a connection user space was told
 * of: who opened it and to where. Its traffic stays in the kernel's maps,
 * read when judged.
 */
struct mw_conn_event {
	struct mw_event_hdr hdr;
	__u64 cookie;
	__u32 pid;
	__u16 family;
	__u16 dport;
	__u8 daddr[16];
	__u64 connect_ns;
};

/*
 * A captured segment (MW_EV_PAYLOAD) or DNS query (MW_EV_DNS). The record
 * ends after MW_PAYLOAD_CLASS_S, MW_PAYLOAD_CLASS_M or MW_PAYLOAD_LEN bytes
 * of data, the first that holds len, so a short line costs a short record.
 *
 * A segment also says whose connection it is (hdr.pid, family, dport,
 * daddr, connect_ns): user space learns of a connection from its first
 * captured segment, with no record of its own, and tells a socket's new
 * connection from its old one by connect_ns. DNS queries leave these zero.
 */
struct mw_payload_event {
	struct mw_event_hdr hdr;
	__u64 cookie;
	__u32 dir;      /* enum mw_dir */
	__u32 seg;      /* index of the segment in its direction */
	__u32 len;      /* bytes valid in data */
	__u32 seg_len;  /* payload length of the whole segment */
	__u16 family;   /* as in struct mw_conn */
	__u16 dport;
	__u32 pad;
	__u8 daddr[16];
	__u64 connect_ns;
	__u8 data[MW_PAYLOAD_LEN];
};
#define MW_PAYLOAD_HDR_LEN 72  /* offsetof(struct mw_payload_event, data) */
#define MW_PAYLOAD_CLASS_S 64  /* data bytes of the short records */
#define MW_PAYLOAD_CLASS_M 192 /* ... of the medium ones; the long hold MW_PAYLOAD_LEN */

/*
 * The self-check (user/daemon/selfcheck.c). Every few seconds the daemon
 * causes one event of each kind a hook watches: it spawns a child that execs
 * and exits at once, connects a TCP socket to a closed port on loopback
 * (SYN out, RST in, socket destroyed at close) over IPv4 and IPv6, and sends an
 * empty UDP datagram to a socket of its own. Each hook recognises the
 * daemon's canary (its child, its pid, or the cookie of its canary socket),
 * counts it in seen[] and hands nothing to user space, so the canary is
 * neither noise nor a finding. A count that does not move while its event
 * certainly happened means the hook no longer runs: its link was detached
 * or closed from outside.
 */
enum mw_canary_hook {
	MW_CANARY_EXEC = 0,
	MW_CANARY_EXIT,
	MW_CANARY_CONNECT4,
	MW_CANARY_CONNECT6,
	MW_CANARY_SENDMSG4,
	MW_CANARY_SENDMSG6,
	MW_CANARY_EGRESS,
	MW_CANARY_INGRESS,
	MW_CANARY_SOCK_CLOSE,
	MW_CANARY_MAX,
};

/* The BPF side's global mw_canary (.bss), mapped into the daemon. */
struct mw_canary {
	__u64 cookie[2];             /* written by the daemon: its canary TCP sockets */
	__u32 udp_port;              /* written by the daemon: its UDP canary's port, host order */
	__u32 pad;
	__u64 seen[MW_CANARY_MAX];   /* written by the hooks */
};

/* Value of the per-process and per-thread CPU sample maps. */
struct mw_cpu {
	__u64 samples;
	__u64 last_ns;
	__u32 tgid;
	__u32 pad;
};

_Static_assert(sizeof(struct mw_event_hdr) == 16, "mw_event_hdr layout");
_Static_assert(sizeof(struct mw_exec_event) == 576, "mw_exec_event layout");
_Static_assert(sizeof(struct mw_exit_event) == 48, "mw_exit_event layout");
_Static_assert(sizeof(struct mw_flow) == 80, "mw_flow layout");
_Static_assert(sizeof(struct mw_conn) == 208, "mw_conn layout");
_Static_assert(sizeof(struct mw_conn_event) == 56, "mw_conn_event layout");
_Static_assert(sizeof(struct mw_conn_slot) == 64, "mw_conn_slot layout");
_Static_assert((MW_CONN_SLOTS & (MW_CONN_SLOTS - 1)) == 0, "a power of two");
_Static_assert(sizeof(struct mw_payload_event) == 584, "mw_payload_event layout");
_Static_assert(__builtin_offsetof(struct mw_payload_event, data) == MW_PAYLOAD_HDR_LEN,
	       "mw_payload_event header");
_Static_assert(sizeof(struct mw_cpu) == 24, "mw_cpu layout");
_Static_assert(sizeof(struct mw_canary) == 24 + 8 * MW_CANARY_MAX, "mw_canary layout");

#endif /* MINERWATCH_H */
