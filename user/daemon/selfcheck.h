/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The self-check against blinding: is every hook still running?
 *
 * Someone with root can take a sensor's hooks away without stopping it:
 * `bpftool link detach` detaches a cgroup link, and a descriptor closed
 * inside the process (ptrace) or a perf event disabled through a copy of
 * its descriptor (pidfd_getfd) silences a tracepoint or the CPU sampler.
 * The daemon would go on looking healthy while seeing nothing. So every
 * SELFCHECK_INTERVAL_S it causes, itself, one event of each kind its hooks
 * watch (the canary, user/daemon/canary.c), and checks that each hook
 * counted it (struct mw_canary), and asks the kernel whether each of its
 * links is still attached to what it was attached to (loader__check_links).
 *
 * This file is the pure part: what one round's observations mean for each
 * hook, which hooks are owed a health record, and the reasons status shows.
 * A hook is judged only on evidence: a canary event that certainly happened
 * (the child was reaped, the RST arrived) and was not counted, or a link the
 * kernel says is gone. Anything less leaves its state as it was, so a slow
 * machine cannot produce a false alarm, only a later verdict.
 */
#ifndef MW_SELFCHECK_H
#define MW_SELFCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

/* A canary round every 5 s: a blinded hook shows in status within about 6 s. */
#define SELFCHECK_INTERVAL_S 5
/* A hook's blinding goes to the findings stream at most once a minute. */
#define SELFCHECK_REPORT_INTERVAL_S 60
/* A round whose events have not all completed by then is judged on what did. */
#define SELFCHECK_ROUND_TIMEOUT_S 30
/*
 * The RST of the loopback canary connect comes back within microseconds;
 * one not back after this (a firewall dropping loopback SYNs) proves nothing
 * and does not hold the round up.
 */
#define SELFCHECK_TCP_WAIT_S 3
/*
 * The CPU sampler is judged per CPU on two kinds of evidence, since a
 * sampler that is merely quiet is normal: on this kernel a CPU that sleeps
 * in NOHZ idle takes samples only while it is busy (measured: runs per
 * second on an idle CPU follow its busy share, not the 99 Hz asked for).
 *   - its perf event's count (cpu-clock: time while enabled) must grow: it
 *     stops when someone disables the event through a copy of its
 *     descriptor;
 *   - over a period in which the CPU was busy for at least
 *     SELFCHECK_CPU_MIN_BUSY_MS, the sampler must have run at least
 *     SELFCHECK_CPU_MIN_SHARE_PCT percent of sample_hz x busy time: it does
 *     not when its program is gone or its period was stretched. Lenient on
 *     purpose (measured: runs track busy time within a few percent).
 */
#define SELFCHECK_CPU_MIN_BUSY_MS 1000
#define SELFCHECK_CPU_MIN_SHARE_PCT 10

/* One CPU at one moment. */
struct sc_cpu {
	uint64_t runs;        /* sampler runs (struct mw_stats.sampler_runs) */
	uint64_t busy_ticks;  /* non-idle time from /proc/stat, USER_HZ ticks */
	uint64_t perf_count;  /* the perf event's count */
	bool perf_ok;         /* perf_count could be read */
	bool busy_ok;         /* busy_ticks could be read */
};

/* What a period says of the sampler. */
struct sc_cpu_result {
	int judged;           /* CPUs for which there was evidence */
	int bad;              /* CPUs found not sampling */
	int first;            /* the first of them, -1 when none */
	bool disabled;        /* first's perf event stopped counting */
	uint64_t runs;        /* else first's runs, while busy for busy_ms */
	uint64_t busy_ms;
};

enum sc_state {
	SC_UNVERIFIED = 0, /* no conclusive round yet */
	SC_OK,
	SC_BLIND,
};

/* What one round found out about one hook. */
struct sc_obs {
	enum link_verdict link;  /* from loader__check_links */
	char link_why[160];
	bool exercised;          /* the canary's event certainly happened */
	bool fired;              /* and the hook counted it */
	char canary_why[160];    /* what was not seen, when exercised and not fired */
	bool why_has_cause;      /* canary_why already says what happened */
};

struct sc_hook {
	enum sc_state state;
	char why[352];           /* when blind */
	uint64_t since_ns;       /* blind since, boot clock */
	uint64_t reported_ns;    /* the last health record naming this hook */
	bool unreported;         /* went blind since that record */
	uint64_t silent_rounds;  /* rounds whose canary it missed */
};

struct selfcheck {
	struct sc_hook hook[MW_PROG_N];
	uint64_t rounds;          /* rounds judged */
	uint64_t failed_checks;   /* hook-rounds judged not firing */
	uint64_t blinded;         /* times a hook went blind */
	uint64_t health_records;  /* records written about it */
};

const char *selfcheck__state_name(enum sc_state s);

/*
 * Folds one round into the state. Returns the number of hooks that went
 * blind in this round (each also counted in sc->blinded).
 */
int selfcheck__judge(struct selfcheck *sc, const struct sc_obs obs[MW_PROG_N], uint64_t now_ns);

/*
 * Hooks owed a health record now, as a bit mask over enum mw_prog: they went
 * blind since their last record, and that record is at least
 * SELFCHECK_REPORT_INTERVAL_S old. Marks them reported at now_ns.
 */
uint32_t selfcheck__due(struct selfcheck *sc, uint64_t now_ns);

bool selfcheck__any_blind(const struct selfcheck *sc);

/* "exec hook not firing: ...; ..." for every blind hook; returns the length. */
size_t selfcheck__reasons(const struct selfcheck *sc, const char *const names[MW_PROG_N],
			  char *buf, size_t sz);

/*
 * The sampler's verdict over a period, for the CPUs it was attached on
 * (sampled[]) that are online. user_hz: the unit of busy_ticks.
 */
void selfcheck__cpu(const struct sc_cpu *before, const struct sc_cpu *after, const bool *sampled,
		    const bool *online, int ncpu, uint32_t hz, unsigned user_hz,
		    struct sc_cpu_result *r);

/*
 * Busy ticks per CPU from the text of /proc/stat (user, nice, system, irq,
 * softirq; guest time is inside user). Sets busy_ok for each CPU found;
 * returns how many were.
 */
int selfcheck__parse_stat(const char *text, struct sc_cpu *cpus, int ncpu);

#endif
