/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turns the signals measured for one process into a verdict: a severity, a
 * confidence and a plain-language explanation. Pure: no I/O, no clocks.
 */
#ifndef MW_CORRELATOR_H
#define MW_CORRELATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol.h"

struct detect_cfg {
	double cpu_busy_cores;     /* average cores that count as saturating */
	uint32_t cpu_window_s;     /* seconds the average is taken over */
	uint32_t long_conn_s;      /* connection age that counts as long-lived */
	uint64_t low_rate_bpm;     /* bytes/minute each way that counts as low-rate */
};

void correlator__defaults(struct detect_cfg *cfg);

struct signals {
	/* Process, for the explanation. */
	char name[64];
	uint32_t pid;

	/* CPU */
	double cpu_cores;          /* average over cpu_window_s */
	uint32_t cpu_seconds;      /* seconds of history behind the average */
	uint32_t busy_threads;

	/* Protocol, from any connection of the process. */
	struct proto_match proto;
	uint32_t proto_dir;        /* enum mw_dir */
	char proto_peer[64];       /* "ip:port" */

	/* The longest-lived live outbound connection. */
	bool has_conn;
	char conn_peer[64];
	uint16_t conn_port;
	uint32_t conn_age_s;
	uint64_t conn_bytes_out;
	uint64_t conn_bytes_in;
	uint64_t conn_msgs_out;
	uint64_t conn_msgs_in;
	uint32_t nconns;
};

struct verdict {
	int severity_id;           /* OCSF: 0 none .. 5 critical */
	int confidence;            /* 0-100 */
	bool cpu_saturated;
	bool pool_like_conn;
	char title[128];
	char why[1024];
};

void correlator__judge(const struct detect_cfg *cfg, const struct signals *s, struct verdict *v);

/* Bytes per minute of a connection of this age; age 0 counts as one second. */
uint64_t correlator__per_minute(uint64_t bytes, uint32_t age_s);

#endif
