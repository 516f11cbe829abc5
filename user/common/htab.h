/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small chained hash table from 64-bit keys to pointers, used by the
 * process and connection tables. It owns neither keys nor values.
 */
#ifndef MW_HTAB_H
#define MW_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab;

struct htab *htab__new(void);
void htab__free(struct htab *h);
void *htab__get(const struct htab *h, uint64_t key);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int htab__put(struct htab *h, uint64_t key, void *value);
/* Removes and returns the value, or NULL. */
void *htab__del(struct htab *h, uint64_t key);
size_t htab__count(const struct htab *h);

/* Iteration that tolerates deleting the current entry. */
struct htab_iter {
	const struct htab *h;
	size_t bucket;
	void *next;
};
void htab__iter_init(struct htab_iter *it, const struct htab *h);
/* Starts at bucket start (taken modulo the bucket count) and runs to the end. */
void htab__iter_init_at(struct htab_iter *it, const struct htab *h, size_t start);
/* Returns 1 with the key and value set, or 0 at the end. */
int htab__iter_next(struct htab_iter *it, uint64_t *ret_key, void **ret_value);

#endif
