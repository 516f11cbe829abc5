/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The findings sink: JSON lines appended to a file (or stdout), durable once
 * written (fdatasync), never half-written (a short write is rolled back), and
 * never dropped on a write error: lines wait in order and are retried.
 */
#ifndef MW_SINK_H
#define MW_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;

struct sink_stats {
	uint64_t written;      /* lines written and synced */
	uint64_t pending;      /* lines waiting for a retry */
	uint64_t dropped;      /* lines dropped because the queue was full */
	int last_error;        /* errno of the last failed write, 0 when healthy */
};

/* path "-" is stdout. max_pending_bytes bounds the retry queue. */
int sink__open(const char *path, size_t max_pending_bytes, struct sink **ret, char *err,
	       size_t errsz);
void sink__close(struct sink *s);
/* Queues the line and tries to write everything queued. 0, or -errno if it waits. */
int sink__write(struct sink *s, const char *line);
/* Retries what is queued. */
int sink__flush(struct sink *s);
/* Reopens the file at the same path (after log rotation). */
int sink__reopen(struct sink *s);
void sink__stats(const struct sink *s, struct sink_stats *ret);
/*
 * Durability: fn is called each time the queue changes, after a line is
 * queued and before it is written, and again once lines have been written,
 * so that the caller can keep a journal of what is still to be written.
 */
void sink__set_journal(struct sink *s, void (*fn)(void *arg), void *arg);
/*
 * Each line still queued, oldest first, as a malloc'd string without its
 * newline that fn owns (keeps or frees); NULL when out of memory.
 */
void sink__each_pending(const struct sink *s, void (*fn)(char *line, void *arg), void *arg);
/*
 * Queues lines left over from an earlier run, skipping any already among the
 * last lines of the output file (written just before that run was killed),
 * and tries to write them. Returns how many were skipped as already written.
 */
size_t sink__replay(struct sink *s, char *const *lines, size_t n);
const char *sink__path(const struct sink *s);

#endif
