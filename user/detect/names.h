/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lists of names: mining-pool domains (matched against TLS SNI and DNS
 * queries) loaded from a file, one domain per line, "#" comments. A name
 * matches a listed domain or any subdomain of it.
 */
#ifndef MW_NAMES_H
#define MW_NAMES_H

#include <stdbool.h>
#include <stddef.h>

struct name_list;

/* NULL path gives an empty list. On error returns -errno with a message. */
int names__load(const char *path, struct name_list **ret, char *err, size_t errsz);
void names__free(struct name_list *l);
size_t names__count(const struct name_list *l);
/* The listed domain that name falls under, or NULL. */
const char *names__match(const struct name_list *l, const char *name);

#endif
