/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loads and attaches the BPF programs, choosing a hook flavour the kernel
 * supports, and reports what it did for each program.
 */
#ifndef MW_LOADER_H
#define MW_LOADER_H

#include <stdbool.h>
#include <stdint.h>

enum hook_mode { HOOK_AUTO = 0, HOOK_BTF, HOOK_RAW };

struct loader_opts {
	const char *btf_path;     /* external BTF, or NULL for the kernel's */
	const char *cgroup_root;  /* cgroup v2 mount, or NULL to find it */
	enum hook_mode hooks;
	uint32_t ringbuf_bytes;   /* power of two, >= page size */
	uint32_t max_conns;
	uint32_t max_procs;
	uint32_t sample_hz;
};

/* The programs, in the order status lists them. */
enum mw_prog {
	MW_PROG_EXEC, MW_PROG_EXIT, MW_PROG_CPU, MW_PROG_CONNECT4, MW_PROG_CONNECT6,
	MW_PROG_SENDMSG4, MW_PROG_SENDMSG6, MW_PROG_EGRESS, MW_PROG_INGRESS, MW_PROG_CLOSE,
	MW_PROG_N
};

struct prog_state {
	const char *name;     /* stable name shown in status */
	char hook[64];        /* e.g. "tp_btf/sched_process_exec" */
	bool attached;
	char error[160];      /* why not attached */
};

struct loader;

/*
 * Opens, loads and attaches. Returns 0 or a negative errno with a message in
 * err that says what to do. A program that cannot attach while the rest can
 * is not fatal: it is reported in its prog_state and the sensor is degraded.
 */
int loader__start(const struct loader_opts *opts, struct loader **ret, char *err, size_t errsz);
void loader__stop(struct loader *l);

int loader__ringbuf_fd(const struct loader *l);
int loader__stats_fd(const struct loader *l);
int loader__conns_fd(const struct loader *l);
int loader__conn_slots_fd(const struct loader *l);
int loader__slot_conns_fd(const struct loader *l);
int loader__cpu_proc_fd(const struct loader *l);
int loader__cpu_thread_fd(const struct loader *l);

int loader__prog_count(const struct loader *l);
const struct prog_state *loader__prog(const struct loader *l, int i);
bool loader__all_attached(const struct loader *l);
const char *loader__btf_source(const struct loader *l);
const char *loader__cgroup_root(const struct loader *l);
/* Bytes of kernel memory held by the maps (max_entries x entry size). */
uint64_t loader__map_bytes(const struct loader *l);

/*
 * The self-check's view of the kernel side (see struct mw_canary and
 * user/daemon/selfcheck.h).
 */
struct mw_canary;
/* The BPF side's canary block, mapped: read and written without a syscall. */
volatile struct mw_canary *loader__canary(const struct loader *l);
/* Online CPUs as the kernel lists them; count, or a negative errno. */
int loader__online_cpus(bool *online, int max);
/* The count of the sampler's perf event on a CPU (cpu-clock: ns while enabled). */
int loader__perf_count(const struct loader *l, int cpu, uint64_t *count);
/* The CPUs the sampler was attached on (true in sampled[]); returns how many slots. */
int loader__sampled_cpus(const struct loader *l, bool *sampled, int max);

/* What became of one link since it was attached. */
enum link_verdict {
	LINK_OK = 0,
	LINK_NONE,      /* never attached: status already says why */
	LINK_DETACHED,  /* still ours, but detached from its target (bpftool link detach) */
	LINK_CLOSED,    /* our descriptor no longer refers to it: closed from outside */
	LINK_REPLACED,  /* now runs another program (BPF_LINK_UPDATE from outside) */
};

/* A link as attached, and as the kernel describes it now. */
struct link_expect {
	uint32_t id, prog_id, type;
	uint64_t cgroup_id;  /* cgroup links only */
};
struct link_seen {
	int err;             /* 0, or the negative errno of the query */
	uint32_t id, prog_id, type;
	uint64_t cgroup_id;
};
/* Pure: the verdict on one link from what the kernel said about its descriptor. */
enum link_verdict loader__judge_link(const struct link_expect *want, const struct link_seen *got);

/*
 * Asks the kernel about every link of program p (one per CPU for the
 * sampler) and returns the worst verdict, with a sentence in why. A link
 * found closed or replaced is let go without closing its descriptor, whose
 * number may belong to something else by now.
 */
enum link_verdict loader__check_links(struct loader *l, int p, char *why, size_t whysz);
const char *loader__link_verdict_name(enum link_verdict v);

#endif
