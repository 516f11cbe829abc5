/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-host suppression list: known-good software that must not raise
 * findings. One rule per line, "#" comments:
 *   sha256 HEX        the executable's SHA-256
 *   path /ABS/PATH    the executable's path
 *   image NAME        the container image (matched when container identity is known)
 *   cgroup /PREFIX    the process's cgroup v2 path, or a parent of it
 * Suppressed suspects are still shown in status.
 */
#ifndef MW_SUPPRESS_H
#define MW_SUPPRESS_H

#include <stddef.h>

struct suppress_list;

struct suppress_subject {
	const char *sha256;   /* NULL when unknown */
	const char *exe;
	const char *image;    /* NULL when not containerised or unknown */
	const char *cgroup;   /* NULL when unknown */
};

/* NULL or empty path gives an empty list. Errors name the line. */
int suppress__load(const char *path, struct suppress_list **ret, char *err, size_t errsz);
void suppress__free(struct suppress_list *l);
size_t suppress__count(const struct suppress_list *l);
/* The rule ("path /usr/bin/x") that matches, or NULL. */
const char *suppress__match(const struct suppress_list *l, const struct suppress_subject *s);

#endif
