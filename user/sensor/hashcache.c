// SPDX-License-Identifier: Apache-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hashcache.h"

struct slot {
	bool used;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
	char sha256[65];
};

struct hashcache {
	struct slot slots[HASHCACHE_SLOTS];
	unsigned int next;      /* slot the next new hash replaces */
	struct hashcache_stats st;
};

struct hashcache *hashcache__new(void)
{
	return calloc(1, sizeof(struct hashcache));
}

void hashcache__free(struct hashcache *c)
{
	free(c);
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool same_file(const struct slot *s, const struct stat *st)
{
	return s->used && s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
	       same_time(&s->mtime, &st->st_mtim) && same_time(&s->ctime, &st->st_ctim);
}

const char *hashcache__get(struct hashcache *c, const struct stat *st)
{
	for (unsigned int i = 0; i < HASHCACHE_SLOTS; i++) {
		if (same_file(&c->slots[i], st)) {
			c->st.hits++;
			return c->slots[i].sha256;
		}
	}
	c->st.misses++;
	return NULL;
}

void hashcache__put(struct hashcache *c, const struct stat *st, const char sha256[65])
{
	struct slot *s = NULL;

	/* The same inode with new times replaces its old entry. */
	for (unsigned int i = 0; i < HASHCACHE_SLOTS && !s; i++)
		if (c->slots[i].used && c->slots[i].dev == st->st_dev &&
		    c->slots[i].ino == st->st_ino)
			s = &c->slots[i];
	if (!s) {
		s = &c->slots[c->next];
		c->next = (c->next + 1) % HASHCACHE_SLOTS;
	}
	s->used = true;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
	s->ctime = st->st_ctim;
	memcpy(s->sha256, sha256, 64);
	s->sha256[64] = '\0';
}

void hashcache__stats(const struct hashcache *c, struct hashcache_stats *ret)
{
	*ret = c->st;
}
