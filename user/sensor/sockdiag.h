/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lists the outbound TCP connections that existed before the sensor started,
 * through NETLINK_SOCK_DIAG, with the same socket cookie the BPF programs use.
 */
#ifndef MW_SOCKDIAG_H
#define MW_SOCKDIAG_H

#include <stdint.h>

struct sockdiag_conn {
	uint64_t cookie;
	uint64_t inode;
	uint16_t family;
	uint16_t dport;
	uint8_t daddr[16];
	uint8_t state;
};

/*
 * Calls fn for every connecting or established TCP socket whose local port
 * is not a listening port (those are accepted, not outbound).
 */
int sockdiag__outbound(void (*fn)(const struct sockdiag_conn *c, void *arg), void *arg);

#endif
