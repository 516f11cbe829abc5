/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sensor's own health, written to the findings stream: an attacker who
 * floods the host until the ring buffer drops records, or who detaches the
 * sensor's hooks, is trying to blind the sensor, and whoever reads the
 * findings must learn that detection may be impaired. One JSON line, OCSF 1.8.0 Application Error (class 6008), so that
 * a pipeline routing Detection Findings neither mistakes it for one nor loses
 * it. Pure: every value comes from the caller.
 */
#ifndef MW_HEALTH_H
#define MW_HEALTH_H

#include <stdint.h>

#include "minerwatch.h"

struct health_lost {
	uint64_t time_ms;             /* Unix epoch, ms */
	uint64_t total;               /* every kernel event lost since start */
	uint64_t since_last;          /* lost since the previous health record */
	uint32_t interval_s;          /* the least time between two such records */
	const struct mw_stats *kstats; /* the kernel's counters, for the breakdown */
	uint64_t proc_table_full;     /* processes the daemon could not track */
	uint64_t conn_table_full;
	const char *hostname;         /* may be NULL */
	const char *boot_id;
	const char *os_name;
	const char *kernel_release;
};

/* The record as one JSON line (malloc'd, no newline), or NULL when out of memory. */
char *health__events_lost(const struct health_lost *in);

/* One hook the self-check found not firing (user/daemon/selfcheck.h). */
struct health_hook {
	const char *name;        /* "exec", "connect4", ... */
	const char *hook;        /* "tp_btf/sched_process_exec", ... */
	const char *why;
	uint64_t since_ms;       /* Unix epoch, ms: when it was found not firing */
	int still_blind;         /* 0 when it fired again before this record */
};

struct health_blind {
	uint64_t time_ms;
	const struct health_hook *hooks;
	int nhooks;
	uint32_t check_interval_s;   /* the self-check's period */
	uint32_t interval_s;         /* the least time between two records about one hook */
	uint64_t blinded_total;      /* times a hook went blind since start */
	const char *hostname;
	const char *boot_id;
	const char *os_name;
	const char *kernel_release;
};

/*
 * Hooks of the sensor that stopped running: an Application Error like the
 * record of lost events, severity High, since the sensor is then blind to
 * what those hooks watch, not merely short of a few events.
 */
char *health__hooks_blinded(const struct health_blind *in);

#endif
