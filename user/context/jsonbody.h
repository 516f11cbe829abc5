/* SPDX-License-Identifier: Apache-2.0 */
/* Reply bodies from local services, parsed strictly with json-c. */
#ifndef MW_JSONBODY_H
#define MW_JSONBODY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/*
 * The body as one JSON object (trailing whitespace allowed, nothing else).
 * NULL with the reason in err; @what names the reply in the reason.
 */
json_object *jsonbody__object(const char *what, const char *body, size_t len, size_t max,
			      char *err, size_t errsz);
/* The string member @key, or "" when it is absent or not a string. */
const char *jsonbody__str(json_object *o, const char *key);
/* Copies @s to @out when it is 1..outsz-1 chars long, all from @set. */
bool jsonbody__copy_if(const char *s, const char *set, char *out, size_t outsz);

#endif
