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
int loader__cpu_proc_fd(const struct loader *l);
int loader__cpu_thread_fd(const struct loader *l);

int loader__prog_count(const struct loader *l);
const struct prog_state *loader__prog(const struct loader *l, int i);
bool loader__all_attached(const struct loader *l);
const char *loader__btf_source(const struct loader *l);
const char *loader__cgroup_root(const struct loader *l);
/* Bytes of kernel memory held by the maps (max_entries x entry size). */
uint64_t loader__map_bytes(const struct loader *l);

#endif
