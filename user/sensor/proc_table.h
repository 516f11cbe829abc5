/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the sensor knows about each live process, keyed by pid. A process is
 * identified for life by (pid, start time): a reused pid replaces the entry.
 */
#ifndef MW_PROC_TABLE_H
#define MW_PROC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

#define PROC_COMM_LEN 16
#define PROC_PATH_LEN 256
#define PROC_CMDLINE_MAX 4096
#define PROC_CPU_HIST 64   /* seconds of per-second CPU history */
#define PROC_MAX_PEERS 4   /* distinct pool endpoints kept as evidence */
#define PROC_TICK_CONNS 4  /* connections judged per process and tick */

struct peer {
	uint16_t family;
	uint16_t port;
	uint8_t addr[16];
	struct proto_match proto;  /* kind PROTO_NONE until recognised */
	uint64_t proto_ns;         /* when the protocol was recognised */
	uint32_t dir;              /* direction that matched: enum mw_dir */
};

/*
 * What only a process doing something worth a look needs: CPU history once
 * it used CPU, endpoints once it talked, a pool name once it asked for one.
 * Allocated on first use (proc__act), so the thousands of idle processes of
 * a busy host cost only their struct proc.
 */
struct proc_act {
	/* CPU: samples per second, newest at cpu_pos - 1. */
	float cpu_hist[PROC_CPU_HIST];
	uint32_t cpu_pos;
	uint32_t cpu_len;
	uint32_t busy_threads;    /* threads on CPU most of the last second */

	/* Evidence that outlives the connections it came from. */
	struct peer peers[PROC_MAX_PEERS];
	uint32_t npeers;

	/* A listed pool domain the process asked for (TLS SNI or DNS). */
	char pool_name[128];
	char pool_name_via[8];

	/* Per-tick connection summary, rebuilt by the detector. */
	uint64_t agg_tick;
	void *tick_conns[PROC_TICK_CONNS]; /* struct conn *, oldest first */
	uint32_t agg_conns;
};

struct proc {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	uint64_t start_ns;        /* boot-time clock */
	uint64_t cgroup_id;
	uint64_t seen_ns;         /* when the sensor first knew of it */
	bool from_scan;           /* found by the start-up scan, not an exec */
	char comm[PROC_COMM_LEN];
	char *exe;                /* never NULL: "" until known; proc_table__set_exe */
	char *cmdline;            /* NUL-separated argv, bounded */
	size_t cmdline_len;
	bool cmdline_cut;         /* only the first MW_ARGS_LEN bytes, from exec */
	bool exe_resolved;        /* exe is the kernel's path (/proc/PID/exe), not exec's argument */
	uint64_t cpu_samples;     /* cumulative, as last read from the kernel */
	uint32_t nconns;          /* live tracked connections */
	void *finding;            /* open finding state, owned by the detector */
	struct proc_act *act;     /* NULL until the process did anything of note */
};

struct proc_table;

struct proc_table *proc_table__new(size_t max);
void proc_table__free(struct proc_table *t);
struct proc *proc_table__lookup(const struct proc_table *t, uint32_t pid);
/*
 * Returns the entry for (pid, start_ns), creating it (or replacing a stale one
 * for a reused pid) as needed; NULL when the table is full or out of memory.
 * *ret_created says whether the entry is new.
 */
struct proc *proc_table__upsert(struct proc_table *t, uint32_t pid, uint64_t start_ns,
				bool *ret_created);
void proc_table__remove(struct proc_table *t, uint32_t pid);
size_t proc_table__count(const struct proc_table *t);
size_t proc_table__dropped(const struct proc_table *t);
int proc_table__set_cmdline(struct proc *p, const void *args, size_t len);
/* Copies at most PROC_PATH_LEN - 1 bytes of path; keeps the old one on ENOMEM. */
int proc_table__set_exe(struct proc *p, const char *path);
/* The process's activity record, allocated on first use; NULL only when out of memory. */
struct proc_act *proc__act(struct proc *p);
/* Records a peer, or finds the existing one; NULL when the list is full. */
struct peer *proc__peer(struct proc *p, uint16_t family, const uint8_t addr[16], uint16_t port);

/* Iteration; the callback may remove the entry it is given. */
void proc_table__each(struct proc_table *t, void (*fn)(struct proc *p, void *arg), void *arg);
/* Processes evicted to make room for new ones (never one with a finding or activity). */
size_t proc_table__evicted(const struct proc_table *t);

/* Called on removal so owners of p->finding can release it. */
void proc_table__set_release(struct proc_table *t, void (*fn)(struct proc *p, void *arg),
			     void *arg);

/* Start times as /proc and the kernel agree on them: clock ticks. */
static inline uint32_t proc__npeers(const struct proc *p)
{
	return p->act ? p->act->npeers : 0;
}

static inline uint64_t proc__start_ticks(uint64_t start_ns)
{
	return start_ns / 10000000ULL; /* USER_HZ is 100 on every Linux ABI */
}

#endif
