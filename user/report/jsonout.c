// SPDX-License-Identifier: Apache-2.0
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"
#include "text.h"

json_object *jout_safe_str(const void *s, size_t len, size_t outsz)
{
	char *buf = malloc(outsz);
	json_object *o;

	if (!buf)
		return NULL;
	text__utf8_safe(s, len, buf, outsz);
	o = json_object_new_string(buf);
	free(buf);
	return o;
}

json_object *jout_cstr(const char *s, size_t outsz)
{
	return jout_safe_str(s, strlen(s), outsz);
}

void jout_add(json_object *o, const char *k, json_object *v)
{
	if (v)
		json_object_object_add(o, k, v);
}

void jout_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

void jout_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

void jout_ratio(json_object *o, const char *k, double v)
{
	double r = v * 100 + 0.5;

	/* Beyond what int64_t holds (only corrupt samples get there): nothing to round. */
	if (!(r > (double)INT64_MIN && r < (double)INT64_MAX)) {
		json_object_object_add(o, k, json_object_new_double(isfinite(v) ? v : 0));
		return;
	}
	json_object_object_add(o, k, json_object_new_double((double)(int64_t)r / 100));
}

char *jout_line(json_object *root)
{
	char *line;

	if (!root)
		return NULL;
	line = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return line;
}
