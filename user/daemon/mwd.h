/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon: one thread, one epoll loop over the ring buffer, a 1 s timer,
 * signals and the control socket.
 *
 *   ring buffer --events.c--> proc/conn tables
 *   timer -------------------> cpu reader -> detector -> sink
 *   control socket --status.c-> status / findings JSON
 *   context thread (IMDS, ECS agent) --eventfd--> detector (waiting Creates)
 */
#ifndef MW_MWD_H
#define MW_MWD_H

#include <stdbool.h>
#include <stdint.h>

#include "cloudctx.h"
#include "config.h"
#include "conn_table.h"
#include "cpu.h"
#include "detector.h"
#include "loader.h"
#include "minerwatch.h"
#include "proc_table.h"
#include "selfcheck.h"
#include "sink.h"

struct ring_buffer;
struct canary;
struct control;
struct name_list;
struct suppress_list;

/* Exit codes of SPEC 4. */
enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_ENV = 2 };

struct mwd {
	struct config cfg;
	char config_path[CFG_PATH_LEN];
	bool config_required;
	char reload_error[512];
	/* Command-line settings, re-applied over the file on every reload. */
	struct { const char *key, *value; } overrides[32];
	int noverrides;

	struct loader *loader;
	struct ring_buffer *rb;
	struct proc_table *procs;
	struct conn_table *conns;
	struct cpu_reader *cpu;
	struct detector *det;
	struct sink *sink;
	struct control *ctl;
	struct host_info host;
	struct name_list *pool_names;
	struct suppress_list *suppress;
	char instance_missing[128];
	struct cloudctx *cloud;    /* NULL when it could not start */
	struct cloudctx_opts cloud_opts; /* what it runs with, from the config */
	bool asff;                 /* cfg.format == FORMAT_ASFF, for the detector */
	uint64_t caps_kept;        /* effective capabilities after the drop */
	unsigned int watchdog_s;   /* seconds between WATCHDOG=1, 0 for none */
	bool host_cgroupns;        /* joined the host's cgroup namespace (container mode) */
	/*
	 * What the environment lacks that costs detail but not detection (a
	 * capability for reading other users' processes, an unreadable /proc
	 * entry): each names the piece, its cost and the fix. In status.
	 */
	char env_warnings[4][320];
	int nenv_warnings;

	int epfd, sigfd, timerfd;
	uint64_t start_boot_ns, ready_boot_ns, last_cpu_boot_ns;
	bool ready, stopping;

	/* User-space counters: records handled, by type. */
	uint64_t handled[MW_EV_TYPE_MAX];
	/*
	 * Connections announced by their first payload record (there is no
	 * connect record): status' connect_handled.
	 */
	uint64_t conns_announced;
	uint64_t bad_records;
	uint64_t scanned_procs, scanned_conns;
	struct mw_stats kstats;   /* summed over CPUs at the last tick */
	uint64_t lost_total_prev; /* to notice new losses */
	uint64_t lost_last_change_ns;
	uint64_t health_lost_reported; /* lost.total as of the last health record */
	uint64_t health_last_ns;       /* when that record was written, boot clock */
	uint64_t health_records;       /* health records written */
	/* The findings journal in state_dir (user/report/journal.h). */
	int journal_error;             /* errno of the last failed save, 0 when saved */
	uint64_t journal_saves;
	uint64_t journal_replayed;     /* records an earlier run left queued, written now */
	uint64_t journal_already_written; /* of those, found already in the output */
	uint64_t ticks;
	uint64_t drains;          /* timer expiries since the last tick */

	/* The self-check against blinding (selfcheck.h, canary.h). */
	struct selfcheck selfcheck;
	struct canary *canary;     /* NULL until ready */
};

/* Defaults, file, environment, overrides: the whole configuration. */
int mwd__load_config(const struct mwd *m, struct config *ret, char *err, size_t errsz);
int mwd__load_lists(const struct config *c, struct name_list **ret_names,
		    struct suppress_list **ret_sup, char *err, size_t errsz);
/* Logs a warning about the environment and keeps it for status. */
void mwd__env_warning(struct mwd *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs until SIGTERM/SIGINT; returns an exit code. */
int mwd__run(struct mwd *m);

/* events.c */
int mwd__handle_event(void *ctx, void *data, size_t size);
struct proc *mwd__proc_for(struct mwd *m, uint32_t pid);
void mwd__scan(struct mwd *m);
void mwd__sweep(struct mwd *m);

/* status.c */
char *mwd__control(const char *cmd, void *arg);
/* True when the sensor is healthy; else reasons are appended to buf. */
bool mwd__healthy(struct mwd *m, char *reasons, size_t sz);
/* Kernel events lost since start: ring-buffer drops of every type and full maps. */
uint64_t mwd__lost_total(const struct mw_stats *k);

uint64_t mwd__boot_ns(void);

#endif
