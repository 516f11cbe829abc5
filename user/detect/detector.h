/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Once a tick, gathers each process's signals from the tables, asks the
 * correlator for a verdict, and keeps one finding per suspect process:
 * Create when first reported, Update when severity or evidence changes (at
 * most once per update interval), Close when the process exits.
 */
#ifndef MW_DETECTOR_H
#define MW_DETECTOR_H

#include <stdint.h>

#include "conn_table.h"
#include "correlator.h"
#include "proc_table.h"
#include "sink.h"

struct host_info {
	char hostname[256];
	char boot_id[37];
	char kernel_release[128];
	char os_name[128];
};

struct name_list;
struct suppress_list;
struct cloudctx;

struct detector_opts {
	const struct detect_cfg *cfg;
	const uint32_t *update_interval_s;
	const char *host_root;
	const struct host_info *host;
	const char *instance_missing;  /* why findings carry no cloud context (no cloudctx) */
	const bool *asff;              /* write ASFF instead of OCSF */
	const uint32_t *context_wait_ms; /* how long a Create may wait for ECS context */
	int conn_slots_fd;             /* to refresh traffic counters: mw_conn_slots, */
	int slot_conns_fd;             /* mw_slot_conns, */
	int conns_map_fd;              /* and mw_conns, for those out of their slot */
	const char *miner_names;       /* comma-separated */
	const uint16_t *pool_ports;    /* sorted; both may change on reload */
	const size_t *npool_ports;
};

struct detector;

struct detector *detector__new(const struct detector_opts *o, struct proc_table *procs,
			       struct conn_table *conns, struct sink *sink);
/* Lists may be swapped on reload; the detector does not own them. */
void detector__set_lists(struct detector *d, const struct name_list *pool_names,
			 const struct suppress_list *suppress);
const struct name_list *detector__pool_names(const struct detector *d);
/* The cloud context to enrich findings with; NULL for none. May change on reload. */
void detector__set_cloud(struct detector *d, struct cloudctx *cloud);
/* Context answers arrived: raise the Creates that were waiting for them. */
void detector__context_ready(struct detector *d);
void detector__free(struct detector *d);
/* Judges every process; now_boot_ns is the boot-time clock. */
void detector__tick(struct detector *d, uint64_t now_boot_ns);
/*
 * Judges one process now (a mining protocol was just recognised) instead of
 * waiting for the next tick.
 */
void detector__judge_now(struct detector *d, struct proc *p, uint64_t now_boot_ns);
/* To be installed as the process table's release callback. */
void detector__release(struct proc *p, void *arg);

struct detector_stats {
	uint64_t created;
	uint64_t updated;
	uint64_t closed;
	uint64_t open;
	uint64_t suppressed;
	uint64_t build_failures;
	uint64_t context_waits;     /* Creates held back for ECS context */
	uint64_t asff_without_context; /* ASFF findings written as OCSF: no account/region */
	uint64_t restored;          /* open findings continued from the journal */
};
void detector__stats(const struct detector *d, struct detector_stats *ret);

/* Open findings, suppressed suspects and top suspects below Medium, for status. */
enum suspect_kind { SUSPECT_FINDING, SUSPECT_SUPPRESSED, SUSPECT_BELOW_THRESHOLD };

struct open_finding {
	enum suspect_kind kind;
	const char *uid;            /* NULL below threshold */
	uint32_t pid;
	const char *name;
	int severity_id;
	int confidence;
	int score;
	const char *why;
	const char *suppressed_by;  /* the matching rule, for SUSPECT_SUPPRESSED */
	uint64_t first_seen_ms;
};
void detector__each_open(const struct detector *d,
			 void (*fn)(const struct open_finding *f, void *arg), void *arg);

/*
 * The journal (user/report/journal.h): the findings reported and still open,
 * each with the last record written for it.
 */
struct journal;
struct journal_open;
void detector__each_durable(const struct detector *d,
			    void (*fn)(const struct journal_open *o, void *arg), void *arg);
/*
 * After a restart, with the process table filled by the /proc scan: continues
 * each journalled finding whose process still runs (same boot, pid and start
 * time) under its uid, with no new Create. continued[i] (j->nopen entries)
 * says which; returns how many.
 */
size_t detector__restore(struct detector *d, const struct journal *j, bool *continued);
/* Writes the Close of each journalled finding not continued: its process ended. */
void detector__close_gone(struct detector *d, const struct journal *j, const bool *continued);

/* Boot-time nanoseconds to Unix milliseconds. */
uint64_t detector__boot_to_unix_ms(uint64_t boot_ns);

#endif
