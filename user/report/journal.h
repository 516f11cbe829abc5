/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The findings journal in the state directory: the records not yet written
 * to the output, and the findings still open with the last record written
 * for each. One file, replaced atomically (written aside, synced, renamed,
 * directory synced), so that after a kill -9 at any point a restart finds
 * either the state before a record was queued or the state after: nothing
 * is lost, and an open finding is continued instead of raised again.
 */
#ifndef MW_JOURNAL_H
#define MW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_FILE "findings.journal"

struct journal_open {
	char uid[37];
	uint32_t pid;
	uint64_t start_ticks;     /* process start, clock ticks since boot (stable across reads) */
	uint64_t first_seen_ms;
	uint64_t last_seen_ms;
	uint64_t last_emit_ms;
	int severity_id;          /* as last reported */
	uint32_t signal_mask;     /* as last reported */
	uint32_t peers_reported;
	char *line;               /* the last record written for it */
};

struct journal {
	char boot_id[64];         /* open findings belong to this boot */
	struct journal_open *open;
	size_t nopen;
	char **pending;           /* records queued for the output, oldest first */
	size_t npending;
};

/*
 * Reads dir/JOURNAL_FILE into j (owned; journal__free). 0; -ENOENT when there
 * is none; another -errno with err set when it is unreadable or corrupt.
 */
int journal__load(const char *dir, struct journal *j, char *err, size_t errsz);
void journal__free(struct journal *j);
/* Replaces dir/JOURNAL_FILE with j (its strings are only read). 0 or -errno. */
int journal__save(const char *dir, const struct journal *j);
/* Serialises j as one JSON text (malloc'd), NULL when out of memory. For tests. */
char *journal__text(const struct journal *j);
/* Parses a journal text; as journal__load. */
int journal__parse(const char *text, struct journal *j, char *err, size_t errsz);

#endif
