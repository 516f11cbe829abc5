/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in for the daemon's struct mwd (user/daemon/mwd.h) with the real
 * parts behind the ring-buffer and control-socket handlers: process and
 * connection tables, the detector with its pool-name and suppression lists,
 * a CPU reader and a findings sink. What needs the kernel is
 * left out: no loader (m->loader NULL, as the handlers allow), no BPF maps
 * (fd -1), no cloud context. host_root points at a directory that does not
 * exist, so every procfs lookup fails as it does for a process that is gone.
 */
#ifndef MW_FUZZ_MWD_H
#define MW_FUZZ_MWD_H

#include <unistd.h>

#include "detector.h"
#include "fuzz_util.h"
#include "log.h"
#include "minerwatch.h"
#include "mwd.h"
#include "names.h"
#include "suppress.h"

#define FZ_NO_HOST "/nonexistent/minerwatch-fuzz-host"
/* Small tables, so that the fuzzer also reaches "table full". */
#define FZ_MAX_PROCS 256
#define FZ_MAX_CONNS 256
#define FZ_CPU_ENTRIES 64

static struct name_list *fz_pool_names;
static struct suppress_list *fz_suppress;

/* The shipped pool-name list when run from the repository root, else none. */
static inline void fz_load_lists(void)
{
	const char *path = getenv("MW_FUZZ_POOL_NAMES");
	char err[256];

	if (!path)
		path = "deploy/pool-names.txt";
	if (access(path, R_OK) || names__load(path, &fz_pool_names, err, sizeof(err)))
		names__load(NULL, &fz_pool_names, err, sizeof(err));
	suppress__load(NULL, &fz_suppress, err, sizeof(err));
	if (!fz_pool_names || !fz_suppress)
		abort();
}

/* sink: where findings go; NULL for /dev/null. */
static inline struct mwd *fz_mwd_new(const char *sink)
{
	struct mwd *m = calloc(1, sizeof(*m));
	struct detector_opts o = { 0 };
	char err[256];

	if (!m)
		abort();
	config__defaults(&m->cfg);
	snprintf(m->cfg.host_root, sizeof(m->cfg.host_root), "%s", FZ_NO_HOST);
	snprintf(m->instance_missing, sizeof(m->instance_missing), "fuzzing: no cloud context");
	snprintf(m->host.hostname, sizeof(m->host.hostname), "fuzz-host");
	m->epfd = m->sigfd = m->timerfd = -1;
	if (sink__open(sink ? sink : "/dev/null", 1 << 20, &m->sink, err, sizeof(err))) {
		fprintf(stderr, "sink: %s\n", err);
		abort();
	}
	m->procs = proc_table__new(FZ_MAX_PROCS);
	m->conns = conn_table__new(FZ_MAX_CONNS);
	m->cpu = cpu_reader__new(-1, -1, m->cfg.cpu_sample_hz, FZ_CPU_ENTRIES);
	o.cfg = &m->cfg.detect;
	o.update_interval_s = &m->cfg.update_interval_s;
	o.host_root = m->cfg.host_root;
	o.host = &m->host;
	o.instance_missing = m->instance_missing;
	o.asff = &m->asff;
	o.context_wait_ms = &m->cfg.context_wait_ms;
	o.conn_slots_fd = -1;
	o.slot_conns_fd = -1;
	o.conns_map_fd = -1;
	o.miner_names = m->cfg.miner_names;
	o.pool_ports = m->cfg.pool_ports;
	o.npool_ports = &m->cfg.npool_ports;
	if (!m->procs || !m->conns || !m->cpu)
		abort();
	m->det = detector__new(&o, m->procs, m->conns, m->sink);
	if (!m->det)
		abort();
	proc_table__set_release(m->procs, detector__release, m->det);
	detector__set_lists(m->det, fz_pool_names, fz_suppress);
	m->ready = true;
	m->start_boot_ns = m->ready_boot_ns = mwd__boot_ns();
	return m;
}

/*
 * Frees everything. Unlike the daemon's shutdown (which keeps findings open
 * across a restart), processes are released through the detector so that
 * their findings are closed and freed: LeakSanitizer checks every input.
 */
static inline void fz_mwd_free(struct mwd *m)
{
	proc_table__free(m->procs);
	conn_table__free(m->conns);
	detector__free(m->det);
	cpu_reader__free(m->cpu);
	sink__close(m->sink);
	free(m);
}

static inline void fz_free_lists(void)
{
	names__free(fz_pool_names);
	suppress__free(fz_suppress);
	fz_pool_names = NULL;
	fz_suppress = NULL;
}

/* Hands one record to the daemon's handler in a buffer of exactly its size. */
static inline void fz_record(struct mwd *m, const void *rec, size_t size)
{
	void *buf = fz_dup(rec, size);

	mwd__handle_event(m, buf, size);
	free(buf);
}

/*
 * The input of fuzz_records: chunks, each a little-endian u16 header
 * followed by its data.
 *   0x0000..0x7fff   a record of that many bytes (fewer if the input ends)
 *   0x8000 | n       n entries of the per-process CPU map: {u32 tgid, struct mw_cpu}
 *   0xa000 | n       n entries of the per-thread CPU map: {u32 tid, struct mw_cpu}
 *   0xc000 | s       a detector tick, s seconds after the previous one
 * (n is taken modulo 8192 and capped by what is left of the input and by
 * FZ_CPU_ENTRIES). Replayed here so that the unit tests can replay the
 * inputs that once crashed it (tests/unit/test_fuzz_regressions.c).
 */
#define FZ_OP_MASK 0xe000
#define FZ_OP_CPU_PROCS 0x8000
#define FZ_OP_CPU_THREADS 0xa000
#define FZ_OP_TICK 0xc000
#define FZ_CPU_ENTRY (sizeof(uint32_t) + sizeof(struct mw_cpu))

static inline struct proc *fz_cpu_lookup(uint32_t tgid, void *arg)
{
	return mwd__proc_for(arg, tgid);
}

/* Sample map entries as the tick reads them, copied into aligned arrays. */
static inline size_t fz_cpu_entries(struct mwd *m, bool threads, size_t n, const uint8_t *p,
				    size_t left)
{
	uint32_t keys[FZ_CPU_ENTRIES];
	struct mw_cpu vals[FZ_CPU_ENTRIES];
	/* One second at the configured rate, as most ticks are. */
	double per_core = (double)m->cfg.cpu_sample_hz;

	if (n > left / FZ_CPU_ENTRY)
		n = left / FZ_CPU_ENTRY;
	if (n > FZ_CPU_ENTRIES)
		n = FZ_CPU_ENTRIES;
	for (size_t k = 0; k < n; k++) {
		memcpy(&keys[k], p + k * FZ_CPU_ENTRY, sizeof(keys[k]));
		memcpy(&vals[k], p + k * FZ_CPU_ENTRY + sizeof(keys[k]), sizeof(vals[k]));
	}
	if (threads)
		cpu_reader__credit_threads(m->cpu, m->procs, keys, vals, (uint32_t)n, per_core);
	else
		cpu__credit_procs(keys, vals, (uint32_t)n, per_core, fz_cpu_lookup, m);
	return n * FZ_CPU_ENTRY;
}

/* Replays an input; returns the number of records handed to the handler. */
static inline uint64_t fz_replay_records(struct mwd *m, const uint8_t *data, size_t size)
{
	uint64_t now = mwd__boot_ns(), records = 0;
	size_t pos = 0;

	while (size - pos >= 2) {
		uint16_t h = (uint16_t)(data[pos] | data[pos + 1] << 8);
		size_t left, n;

		pos += 2;
		left = size - pos;
		switch (h & FZ_OP_MASK) {
		case FZ_OP_CPU_PROCS:
		case FZ_OP_CPU_THREADS:
			pos += fz_cpu_entries(m, (h & FZ_OP_MASK) == FZ_OP_CPU_THREADS, h & 0x1fff,
					      data + pos, left);
			break;
		case FZ_OP_TICK:
		case FZ_OP_TICK | 0x2000:
			now += (uint64_t)(h & 0x1fff) * 1000000000ULL;
			detector__tick(m->det, now);
			break;
		default:
			n = h < left ? h : left;
			fz_record(m, data + pos, n);
			records++;
			pos += n;
			break;
		}
	}
	return records;
}

/* Records the handler accounted for: handled by type, or counted as bad. */
static inline uint64_t fz_records_counted(const struct mwd *m)
{
	uint64_t n = m->bad_records;

	for (int i = 0; i < MW_EV_TYPE_MAX; i++)
		n += m->handled[i];
	return n;
}

#endif
