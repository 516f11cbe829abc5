/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 of executables, remembered by file identity.
 *
 * Hashing reads the whole file (up to 512 MiB), and a host that runs a
 * miner often runs many copies of it. A hash is kept under the file's
 * device, inode, size, mtime and ctime: any write, truncation, chmod or
 * utimes() changes ctime, which user space cannot set back, so a file
 * rewritten in place is hashed again. A small fixed table, replaced in
 * round-robin order.
 */
#ifndef MW_HASHCACHE_H
#define MW_HASHCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define HASHCACHE_SLOTS 64

struct hashcache_stats {
	uint64_t hits;
	uint64_t misses;
};

struct hashcache;

struct hashcache *hashcache__new(void);
void hashcache__free(struct hashcache *c);

/* The hash kept for the file st describes, or NULL. */
const char *hashcache__get(struct hashcache *c, const struct stat *st);
void hashcache__put(struct hashcache *c, const struct stat *st, const char sha256[65]);
void hashcache__stats(const struct hashcache *c, struct hashcache_stats *ret);

#endif
