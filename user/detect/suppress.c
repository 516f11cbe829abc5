// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file.h"
#include "suppress.h"

#define RULES_MAX 10000

enum rule_kind { R_SHA256, R_PATH, R_IMAGE, R_CGROUP };

struct rule {
	enum rule_kind kind;
	char text[300];   /* "kind value", as written, for status */
	size_t voff;      /* where value starts in text: rules move when the table grows */
};

struct suppress_list {
	struct rule *rules;
	size_t n;
};

static int parse_line(char *s, struct rule *r, char *why, size_t whysz)
{
	static const char *const kinds[] = { "sha256", "path", "image", "cgroup" };
	char *kw = s, *v;
	size_t kl = strcspn(s, " \t\r\n#"), vl;
	unsigned k;

	v = s + kl;
	v += strspn(v, " \t");
	/* The value runs to the end of the line or a comment: paths may hold spaces. */
	vl = strcspn(v, "#\r\n");
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	for (k = 0; k < 4; k++)
		if (kl == strlen(kinds[k]) && !strncmp(kw, kinds[k], kl))
			break;
	if (k == 4) {
		snprintf(why, whysz, "unknown rule \"%.*s\" (sha256, path, image or cgroup)",
			 (int)kl, kw);
		return -EINVAL;
	}
	if (!vl) {
		snprintf(why, whysz, "%s needs a value", kinds[k]);
		return -EINVAL;
	}
	if (k == R_SHA256) {
		if (vl != 64) {
			snprintf(why, whysz, "a SHA-256 is 64 hex digits");
			return -EINVAL;
		}
		for (size_t i = 0; i < vl; i++) {
			if (!isxdigit((unsigned char)v[i])) {
				snprintf(why, whysz, "a SHA-256 is 64 hex digits");
				return -EINVAL;
			}
			v[i] = (char)tolower((unsigned char)v[i]);
		}
	}
	if ((k == R_PATH || k == R_CGROUP) && v[0] != '/') {
		snprintf(why, whysz, "%s must be absolute", kinds[k]);
		return -EINVAL;
	}
	if (vl > 255) {
		snprintf(why, whysz, "value longer than 255 characters");
		return -EINVAL;
	}
	r->kind = (enum rule_kind)k;
	snprintf(r->text, sizeof(r->text), "%s %.*s", kinds[k], (int)vl, v);
	r->voff = strlen(kinds[k]) + 1;
	return 0;
}

int suppress__load(const char *path, struct suppress_list **ret, char *err, size_t errsz)
{
	struct suppress_list *l = calloc(1, sizeof(*l));
	size_t cap = 0, lineno = 0;
	char line[1024], why[160];
	FILE *f;
	int e = 0;

	if (!l)
		return -ENOMEM;
	if (!path || !path[0]) {
		*ret = l;
		return 0;
	}
	f = file__open_regular(path);
	if (!f) {
		e = -errno;
		snprintf(err, errsz, "%s: %s", path, file__strerror(-e));
		free(l);
		return e;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			/* Longer than the buffer: a long comment is skipped, a rule refused. */
			int ch;

			while ((ch = getc(f)) != EOF && ch != '\n')
				;
			if (*s == '#')
				continue;
			snprintf(err, errsz, "%s:%zu: line too long", path, lineno);
			e = -EINVAL;
			break;
		}
		if (!*s || *s == '#' || *s == '\n' || *s == '\r')
			continue;
		if (l->n == cap) {
			struct rule *nr;

			cap = cap ? cap * 2 : 16;
			nr = realloc(l->rules, cap * sizeof(*nr));
			if (!nr) {
				e = -ENOMEM;
				break;
			}
			l->rules = nr;
		}
		if (l->n >= RULES_MAX) {
			snprintf(err, errsz, "%s: more than %d rules", path, RULES_MAX);
			e = -E2BIG;
			break;
		}
		e = parse_line(s, &l->rules[l->n], why, sizeof(why));
		if (e) {
			snprintf(err, errsz, "%s:%zu: %s", path, lineno, why);
			break;
		}
		l->n++;
	}
	fclose(f);
	if (e) {
		suppress__free(l);
		return e;
	}
	*ret = l;
	return 0;
}

void suppress__free(struct suppress_list *l)
{
	if (!l)
		return;
	free(l->rules);
	free(l);
}

size_t suppress__count(const struct suppress_list *l)
{
	return l ? l->n : 0;
}

const char *suppress__match(const struct suppress_list *l, const struct suppress_subject *s)
{
	for (size_t i = 0; l && i < l->n; i++) {
		const struct rule *r = &l->rules[i];
		const char *value = r->text + r->voff;
		size_t vl = strlen(value);

		switch (r->kind) {
		case R_SHA256:
			if (s->sha256 && !strcasecmp(s->sha256, value))
				return r->text;
			break;
		case R_PATH:
			if (s->exe && !strcmp(s->exe, value))
				return r->text;
			break;
		case R_IMAGE:
			if (s->image && !strcmp(s->image, value))
				return r->text;
			break;
		case R_CGROUP:
			/* The cgroup itself or one below it, at a path boundary. */
			if (s->cgroup && !strncmp(s->cgroup, value, vl) &&
			    (s->cgroup[vl] == '\0' || s->cgroup[vl] == '/' || value[vl - 1] == '/'))
				return r->text;
			break;
		}
	}
	return NULL;
}
