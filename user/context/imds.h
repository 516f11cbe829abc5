/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EC2 Instance Metadata Service, version 2: a session token from
 * PUT /latest/api/token, cached and renewed before it expires (and once more
 * on a 401), then the instance identity document, the hostname and the local
 * IPv4 address. Short time limits, so that an unanswered PUT (a hop limit of
 * 1 seen from a container) is noticed in a fraction of a second; bounded
 * retries with exponential backoff and jitter. IMDSv1 (no token) only when
 * configured.
 */
#ifndef MW_IMDS_H
#define MW_IMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMDS_DEFAULT_ENDPOINT_V4 "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define IMDS_MAX_DOC 16384

struct instance_info {
	char account_id[16];
	char region[32];
	char zone[40];
	char instance_id[24];
	char image_id[32];
	char instance_type[32];
	char architecture[16];
	char private_ip[48];   /* from the document */
	char hostname[256];    /* meta-data/hostname, "" when not fetched */
	char local_ipv4[16];   /* meta-data/local-ipv4, "" when not fetched */
	char partition[16];    /* "aws", "aws-cn", "aws-us-gov" from the region */
};

/* Why instance metadata is missing; IMDS_OK when it is there. */
enum imds_state {
	IMDS_OK = 0,
	IMDS_PENDING,          /* not tried yet */
	IMDS_DISABLED,         /* AWS_EC2_METADATA_DISABLED or configuration */
	IMDS_UNREACHABLE,      /* no reply: refused, timed out (hop limit), no route */
	IMDS_TOKEN_REFUSED,    /* the token PUT was answered 4xx */
	IMDS_UNAUTHORIZED,     /* metadata refused even with a fresh token */
	IMDS_SERVER_ERROR,     /* 5xx, or another unexpected status */
	IMDS_MALFORMED,        /* a reply that is not what IMDS sends */
};
const char *imds__state_name(enum imds_state s);

struct imds_opts {
	char endpoint[512];    /* base URL, no trailing slash needed */
	long timeout_ms;       /* per attempt */
	int retries;           /* extra attempts after the first */
	uint32_t token_ttl_s;  /* requested token lifetime */
	bool v1_fallback;      /* try without a token when the PUT is refused */
	/* Waits between retries; returns false to give up (the daemon stops). */
	bool (*sleep_ms)(void *arg, long ms);
	void *sleep_arg;
};

struct imds;

struct imds *imds__new(const struct imds_opts *o);
void imds__free(struct imds *c);
/*
 * Fetches everything. On failure returns the state and a one-line reason
 * (with the HTTP status or transport error) in why. Blocks for at most about
 * (retries + 1) x timeout plus backoff per request; call it off the hot path.
 * A token PUT that gets no reply at all is not retried here: that is the hop
 * limit (or no IMDS), and the caller's next refresh tries again.
 */
enum imds_state imds__fetch(struct imds *c, struct instance_info *out, char *why, size_t whysz);
/* Token bookkeeping, for status: tokens obtained and 401 retries so far. */
void imds__token_stats(const struct imds *c, uint64_t *tokens, uint64_t *unauthorized);

/* Pure parsers (tested on recorded replies). 0, or -1 with the reason. */
int imds__parse_identity(const char *body, size_t len, struct instance_info *out, char *err,
			 size_t errsz);
int imds__parse_hostname(const char *body, size_t len, char *out, size_t outsz);
int imds__parse_ipv4(const char *body, size_t len, char *out, size_t outsz);
/* The token TTL header value: seconds 1..21600, or 0 when absent or invalid. */
uint32_t imds__parse_ttl(const char *v);
/* The AWS partition of a region ("aws", "aws-cn", "aws-us-gov"). */
const char *imds__partition(const char *region);

#endif
