/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small json-c helpers shared by the finding formats: untrusted bytes become
 * bounded, valid UTF-8 strings with control characters escaped.
 */
#ifndef MW_JSONOUT_H
#define MW_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* @len raw bytes as a string of at most @outsz bytes (escaped, valid UTF-8). */
json_object *jout_safe_str(const void *s, size_t len, size_t outsz);
json_object *jout_cstr(const char *s, size_t outsz);
/* Adds @v to @o under @k; a NULL v (allocation failure) is skipped. */
void jout_add(json_object *o, const char *k, json_object *v);
void jout_bool(json_object *o, const char *k, bool v);
void jout_int(json_object *o, const char *k, int64_t v);
/* Rounded to two decimals. */
void jout_ratio(json_object *o, const char *k, double v);
/* The object as one line (no newline), malloc'd; frees root. NULL on failure. */
char *jout_line(json_object *root);

#endif
