/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracked outbound TCP connections, keyed by socket cookie, with the first
 * payload bytes each way held only until the protocol recogniser has decided.
 */
#ifndef MW_CONN_TABLE_H
#define MW_CONN_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "minerwatch.h"
#include "protocol.h"

#define CONN_CAPTURE_MAX (MW_PAYLOAD_LEN * MW_PAYLOAD_SEGS)
#define CONN_SNI_MAX 128  /* longest server name kept, with its NUL */

struct conn {
	uint64_t cookie;
	uint32_t pid;
	uint16_t family;
	uint16_t dport;
	uint8_t daddr[16];
	uint64_t connect_ns;     /* boot-time clock; sensor start for preexisting ones */
	bool preexisting;        /* found by the start-up scan */

	/* Reassembly of the first payload segments, per direction. */
	unsigned char *cap[2];
	uint32_t cap_len[2];
	uint32_t cap_size[2];     /* allocated, grown as segments arrive */
	uint32_t cap_segs[2];
	bool decided[2];         /* recogniser done for that direction */
	struct proto_match proto;
	uint32_t proto_dir;
	uint64_t proto_ns;
	enum stream_kind stream;  /* what the client's first captured bytes look like */
	char *sni;                /* server name from the client's TLS ClientHello, or NULL */
};

struct conn_table;

struct conn_table *conn_table__new(size_t max);
void conn_table__free(struct conn_table *t);
struct conn *conn_table__lookup(const struct conn_table *t, uint64_t cookie);
struct conn *conn_table__insert(struct conn_table *t, uint64_t cookie);
void conn_table__remove(struct conn_table *t, uint64_t cookie);
size_t conn_table__count(const struct conn_table *t);
size_t conn_table__dropped(const struct conn_table *t);
void conn_table__each(struct conn_table *t, void (*fn)(struct conn *c, void *arg), void *arg);

/*
 * Appends one captured segment and runs the recogniser over what that
 * direction has sent so far. Returns 1 when this segment made the protocol
 * known, else 0. Buffers are released once a direction is decided.
 */
int conn__add_payload(struct conn *c, uint32_t dir, uint32_t seg, const void *data,
		      uint32_t len, uint32_t seg_len, uint64_t ts_ns);

#endif
