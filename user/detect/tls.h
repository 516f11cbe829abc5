/* SPDX-License-Identifier: Apache-2.0 */
/* The server name a TLS client asks for (SNI), from its ClientHello. Pure. */
#ifndef MW_TLS_H
#define MW_TLS_H

#include <stddef.h>

/*
 * Parses a ClientHello at the start of buf (one TLS record, possibly cut at
 * the capture limit) and copies the host_name of the server_name extension,
 * lower-cased, into out. Returns 1 when found, 0 otherwise.
 */
int tls__sni(const void *buf, size_t len, char *out, size_t outsz);

#endif
