// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>

#include "htab.h"

struct node {
	struct node *next;
	uint64_t key;
	void *value;
};

struct htab {
	struct node **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

static size_t slot(const struct htab *h, uint64_t key)
{
	/* Fibonacci hashing spreads sequential pids and cookies. */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (h->nbuckets - 1);
}

struct htab *htab__new(void)
{
	struct htab *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->nbuckets = 64;
	h->buckets = calloc(h->nbuckets, sizeof(*h->buckets));
	if (!h->buckets) {
		free(h);
		return NULL;
	}
	return h;
}

void htab__free(struct htab *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct node *n = h->buckets[i];

		while (n) {
			struct node *next = n->next;

			free(n);
			n = next;
		}
	}
	free(h->buckets);
	free(h);
}

static void grow(struct htab *h)
{
	size_t nb = h->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));
	struct htab tmp = { .buckets = b, .nbuckets = nb };

	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct node *n = h->buckets[i];

		while (n) {
			struct node *next = n->next;
			size_t s = slot(&tmp, n->key);

			n->next = b[s];
			b[s] = n;
			n = next;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

void *htab__get(const struct htab *h, uint64_t key)
{
	for (struct node *n = h->buckets[slot(h, key)]; n; n = n->next)
		if (n->key == key)
			return n->value;
	return NULL;
}

int htab__put(struct htab *h, uint64_t key, void *value)
{
	size_t s = slot(h, key);
	struct node *n;

	for (n = h->buckets[s]; n; n = n->next) {
		if (n->key == key) {
			n->value = value;
			return 0;
		}
	}
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->key = key;
	n->value = value;
	n->next = h->buckets[s];
	h->buckets[s] = n;
	if (++h->count > h->nbuckets)
		grow(h);
	return 0;
}

void *htab__del(struct htab *h, uint64_t key)
{
	struct node **pp = &h->buckets[slot(h, key)];

	for (; *pp; pp = &(*pp)->next) {
		struct node *n = *pp;

		if (n->key == key) {
			void *v = n->value;

			*pp = n->next;
			free(n);
			h->count--;
			return v;
		}
	}
	return NULL;
}

size_t htab__count(const struct htab *h)
{
	return h->count;
}

void htab__iter_init(struct htab_iter *it, const struct htab *h)
{
	htab__iter_init_at(it, h, 0);
}

void htab__iter_init_at(struct htab_iter *it, const struct htab *h, size_t start)
{
	it->h = h;
	it->bucket = start & (h->nbuckets - 1);
	it->next = h->buckets[it->bucket];
}

int htab__iter_next(struct htab_iter *it, uint64_t *ret_key, void **ret_value)
{
	struct node *n = it->next;

	while (!n) {
		if (++it->bucket >= it->h->nbuckets)
			return 0;
		n = it->h->buckets[it->bucket];
	}
	/* Remember the successor now so the caller may delete n. */
	it->next = n->next;
	*ret_key = n->key;
	*ret_value = n->value;
	return 1;
}
