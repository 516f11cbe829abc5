/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every map and tunable of the BPF side, in one place.
 *
 * The programs are split by concern into several objects that bpftool links
 * into one (bpftool gen object). maps.bpf.c defines MW_DEFINE_MAPS before
 * including this header and so owns the definitions; every other object sees
 * them as extern, so there is exactly one definition of each map.
 *
 * All maps are bounded: sizes below are the defaults and the daemon may
 * resize them between open and load.
 */
#ifndef MW_MAPS_BPF_H
#define MW_MAPS_BPF_H

#include "minerwatch.h"

#ifdef MW_DEFINE_MAPS
#define MW_MAP
#define MW_RODATA(type, name, init) const volatile type name = init
#else
#define MW_MAP extern
#define MW_RODATA(type, name, init) extern const volatile type name
#endif

/* The daemon's own tgid: its own connections and samples are not tracked. */
MW_RODATA(__u32, mw_self_tgid, 0);
/*
 * Wake-up batching: a record wakes user space only once this many bytes
 * wait. The daemon drains the ring on its own every 100 ms anyway, so a
 * storm costs one wake-up per batch instead of one per record (and on a
 * virtual machine one self-IPI per record, to run the wake-up). That holds
 * for payload and DNS records too: a protocol match waits at most 100 ms
 * for them, against a budget of seconds. 0 wakes for every record.
 */
MW_RODATA(__u64, mw_wakeup_bytes, 0);

/*
 * The self-check's canary: see struct mw_canary. Plain global data (.bss),
 * so the daemon reads and writes it through a mapping, without a syscall.
 */
#ifdef MW_DEFINE_MAPS
struct mw_canary mw_canary SEC(".bss");
#else
extern struct mw_canary mw_canary;
#endif

/* Events to user space. Reserve failures are counted in mw_stats_map. */
MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 2 * 1024 * 1024);
} mw_events SEC(".maps");

/* Counters, one struct per CPU; see struct mw_stats. */
MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_stats);
} mw_stats_map SEC(".maps");

/*
 * Outbound TCP connections outside mw_conn_slots, keyed by socket cookie:
 * those whose slot a newer connection took while they were still open, and
 * those the daemon found already open when it started.
 */
MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct mw_conn);
} mw_conns SEC(".maps");

/*
 * Outbound TCP connections, one slot per cookie modulo the size, and the
 * full record of a slot's connection once it carried payload, at the same
 * index: see struct mw_conn_slot. A connection that opens and closes in its
 * slot, as nearly all do, never costs a hash insert, lookup or delete; one
 * that stays silent touches one cache line.
 */
MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_CONN_SLOTS);
	__type(key, __u32);
	__type(value, struct mw_conn_slot);
} mw_conn_slots SEC(".maps");

MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_CONN_SLOTS);
	__type(key, __u32);
	__type(value, struct mw_conn);
} mw_slot_conns SEC(".maps");

/*
 * UDP sockets that send to port 53, keyed by socket cookie, valued by pid:
 * their queries are captured on egress. LRU: an entry is only needed for
 * the moment between sendmsg/connect and the packet leaving.
 */
MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} mw_dns_socks SEC(".maps");

/* CPU samples per process (tgid) and per thread (tid). */
MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct mw_cpu);
} mw_cpu_proc SEC(".maps");

MW_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct mw_cpu);
} mw_cpu_thread SEC(".maps");

static __always_inline struct mw_stats *mw_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mw_stats_map, &zero);
}

/* The daemon's canary reached this hook. */
static __always_inline void mw_canary_seen(__u32 hook)
{
	if (hook < MW_CANARY_MAX)
		__sync_fetch_and_add(&mw_canary.seen[hook], 1);
}

/* A socket cookie is one of the daemon's canary TCP sockets. */
static __always_inline bool mw_canary_cookie(__u64 cookie)
{
	return cookie && (cookie == mw_canary.cookie[0] || cookie == mw_canary.cookie[1]);
}

#define MW_COUNT(field)                                 \
	do {                                            \
		struct mw_stats *__s = mw_stats();      \
		if (__s)                                \
			__s->field++;                   \
	} while (0)

/*
 * The wake-up for a record of size bytes, reserved and about to be
 * submitted: forced when it takes what waits past a multiple of
 * mw_wakeup_bytes, so a daemon that is slow to drain is nudged once per
 * mw_wakeup_bytes, not by every record after the first mark (each wake-up
 * is an interrupt). Two CPUs may both miss a mark; the next mark, or the
 * daemon's own drain, follows.
 */
static __always_inline __u64 mw_wakeup(__u64 size)
{
	__u64 avail;

	if (!mw_wakeup_bytes)
		return 0; /* the kernel wakes a waiting consumer */
	avail = bpf_ringbuf_query(&mw_events, BPF_RB_AVAIL_DATA);
	if (avail >= mw_wakeup_bytes &&
	    (avail < size || avail / mw_wakeup_bytes != (avail - size) / mw_wakeup_bytes))
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Submit a record built in place, or count it as dropped. Per-CPU counters
 * need no atomics: a program does not migrate while it runs.
 */
static __always_inline void *mw_reserve(__u64 size, __u32 type)
{
	void *rec = bpf_ringbuf_reserve(&mw_events, size, 0);

	if (!rec) {
		struct mw_stats *s = mw_stats();

		if (s && type < MW_EV_TYPE_MAX)
			s->ringbuf_drops[type]++;
	}
	return rec;
}

static __always_inline void mw_submit(void *rec, __u64 size, __u32 type)
{
	struct mw_stats *s = mw_stats();

	if (s && type < MW_EV_TYPE_MAX)
		s->events[type]++;
	bpf_ringbuf_submit(rec, mw_wakeup(size));
}

#endif /* MW_MAPS_BPF_H */
