/* SPDX-License-Identifier: Apache-2.0 */
/* The name asked for in a DNS query (RFC 1035 4.1). Pure. */
#ifndef MW_DNS_H
#define MW_DNS_H

#include <stddef.h>

/*
 * Copies the first question's name, dotted and lower-cased, into out.
 * Returns 1 for a well-formed standard query, 0 otherwise (responses,
 * compression pointers in a question, bad labels).
 */
int dns__query_name(const void *buf, size_t len, char *out, size_t outsz);

#endif
