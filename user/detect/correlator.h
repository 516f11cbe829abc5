/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Turns the signals measured for one process into a verdict: a severity, a
 * confidence and a plain-language explanation naming every signal that
 * counted, with its value. Pure: no I/O, no clocks.
 *
 * Scoring (weights and thresholds are config keys, defaults in
 * correlator__defaults and README):
 *  - A recognised mining protocol decides alone: High (4). With any other
 *    signal that carries weight it is Critical (5).
 *  - Otherwise each signal adds its weight to a score. The process must use
 *    CPU like a miner (saturated, or steady) and show something beyond CPU
 *    (a pool-like connection, a pool name, miner arguments or name) to be
 *    reported: score >= medium_score gives Medium (3), >= high_score High (4).
 *    Exec signals alone (a binary in /tmp) never raise a finding.
 */
#ifndef MW_CORRELATOR_H
#define MW_CORRELATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "execsig.h"
#include "protocol.h"

struct detect_cfg {
	/* CPU */
	double cpu_busy_cores;     /* average cores that count as saturating */
	uint32_t cpu_window_s;     /* seconds the average is taken over */
	double cpu_steady_cores;   /* lowest average that can count as steady use */
	double cpu_steady_cv;      /* highest coefficient of variation that is steady */
	uint32_t cpu_steady_s;     /* seconds of steady use needed */
	/* Connections */
	uint32_t long_conn_s;      /* connection age that counts as long-lived */
	uint64_t low_rate_bpm;     /* bytes/minute each way that counts as low-rate */
	uint32_t small_msg_bytes;  /* average message size that counts as small */
	uint32_t min_pushes;       /* unprompted server messages a pool sends */
	/* Weights */
	int w_cpu_saturated;
	int w_cpu_steady;
	int w_pool_conn;
	int w_pool_port;
	int w_pool_name;
	int w_temp_path;
	int w_hidden_binary;
	int w_miner_name;
	int w_miner_args;
	int w_wallet;
	int medium_score;
	int high_score;
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
	uint32_t threads;          /* threads of the process, 0 if unknown */
	double steady_cores;       /* average over cpu_steady_s */
	double steady_cv;          /* its coefficient of variation */
	uint32_t steady_seconds;
	double container_cores;    /* all processes of its cgroup, when containerised */

	/* Protocol, from any connection of the process. */
	struct proto_match proto;
	uint32_t proto_dir;        /* enum mw_dir */
	char proto_peer[64];       /* "ip:port" */

	/* The most pool-like live outbound connection. */
	bool has_conn;
	char conn_peer[64];
	uint16_t conn_port;
	bool pool_port;            /* conn_port is a well-known pool port */
	enum stream_kind stream;
	uint32_t conn_age_s;
	uint64_t conn_bytes_out;
	uint64_t conn_bytes_in;
	uint64_t conn_msgs_out;
	uint64_t conn_msgs_in;
	uint64_t conn_pushes;      /* unprompted messages from the server */
	uint64_t conn_client_unprompted;
	double push_interval_s;    /* mean interval between pushes, 0 if < 2 */
	double submit_interval_s;  /* mean interval between unprompted client messages */
	uint32_t nconns;

	/* Names and exec */
	char pool_name[128];       /* a listed pool domain the process asked for */
	char pool_name_via[8];     /* "sni" or "dns" */
	struct execsig exec;
};

#define VERDICT_MAX_PARTS 12

struct contribution {
	const char *signal;        /* stable key, e.g. "cpu_saturated" */
	int weight;
};

struct verdict {
	int severity_id;           /* OCSF: 0 none .. 5 critical */
	int confidence;            /* 0-100 */
	int score;
	bool cpu_saturated;
	bool cpu_steady;
	bool pool_like_conn;
	uint32_t signal_mask;      /* one bit per contribution kind, to notice change */
	struct contribution parts[VERDICT_MAX_PARTS];
	int nparts;
	char title[128];
	char why[1536];
};

void correlator__judge(const struct detect_cfg *cfg, const struct signals *s, struct verdict *v);

/* Bytes per minute of a connection of this age; age 0 counts as one second. */
uint64_t correlator__per_minute(uint64_t bytes, uint32_t age_s);

/* Whether a connection's shape is pool-like (see README for the rule). */
bool correlator__pool_like(const struct detect_cfg *cfg, const struct signals *s);

#endif
