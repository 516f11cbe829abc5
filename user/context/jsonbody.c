// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>

#include "jsonbody.h"

json_object *jsonbody__object(const char *what, const char *body, size_t len, size_t max,
			      char *err, size_t errsz)
{
	struct json_tokener *tok;
	json_object *root;
	size_t off;

	if (!body || !len) {
		snprintf(err, errsz, "%s: empty reply", what);
		return NULL;
	}
	if (len > max) {
		snprintf(err, errsz, "%s: reply of %zu bytes (limit %zu)", what, len, max);
		return NULL;
	}
	tok = json_tokener_new_ex(32);
	if (!tok) {
		snprintf(err, errsz, "%s: out of memory", what);
		return NULL;
	}
	root = json_tokener_parse_ex(tok, body, (int)len);
	off = (size_t)tok->char_offset; /* json_tokener_get_parse_end() is newer than some targets */
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, errsz, "%s: not valid JSON", what);
		json_object_put(root);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	for (; off < len; off++) {
		/* strchr() would match a NUL byte (the set's terminator): test it first. */
		if (!body[off] || !strchr(" \t\r\n", body[off])) {
			snprintf(err, errsz, "%s: data after the JSON value", what);
			json_object_put(root);
			return NULL;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errsz, "%s: not a JSON object", what);
		json_object_put(root);
		return NULL;
	}
	return root;
}

const char *jsonbody__str(json_object *o, const char *key)
{
	json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	s = json_object_get_string(v);
	/* A "\u0000" escape would cut the C string short: refuse the value whole. */
	if (!s || (size_t)json_object_get_string_len(v) != strlen(s))
		return "";
	return s;
}

bool jsonbody__copy_if(const char *s, const char *set, char *out, size_t outsz)
{
	size_t n = strlen(s);

	if (n < 1 || n >= outsz || strspn(s, set) != n)
		return false;
	memcpy(out, s, n + 1);
	return true;
}
