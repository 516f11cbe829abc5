// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file.h"
#include "names.h"

#define NAMES_MAX 100000

struct name_list {
	char **names;
	size_t n;
};

static int add(struct name_list *l, const char *s, size_t n, size_t *cap)
{
	char *d;

	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		char **nn = realloc(l->names, nc * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		l->names = nn;
		*cap = nc;
	}
	d = strndup(s, n);
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	l->names[l->n++] = d;
	return 0;
}

int names__load(const char *path, struct name_list **ret, char *err, size_t errsz)
{
	struct name_list *l = calloc(1, sizeof(*l));
	size_t cap = 0, lineno = 0;
	char line[512];
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
		char *s = line;
		size_t n;

		lineno++;
		s += strspn(s, " \t");
		if (!strchr(line, '\n') && !feof(f)) {
			/* Longer than the buffer: a long comment is skipped, a name refused. */
			int ch;

			while ((ch = getc(f)) != EOF && ch != '\n')
				;
			if (*s == '#')
				continue;
			snprintf(err, errsz, "%s:%zu: line too long for a domain name", path,
				 lineno);
			e = -EINVAL;
			goto out;
		}
		n = strcspn(s, " \t\r\n#");
		if (!n)
			continue;
		for (size_t i = 0; i < n || (s[i] && !strchr("#\r\n", s[i])); i++) {
			/* One name per line: after it only blanks or a comment. */
			if (i >= n && (s[i] == ' ' || s[i] == '\t'))
				continue;
			if (i >= n || (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' &&
				       s[i] != '_')) {
				snprintf(err, errsz, "%s:%zu: \"%.*s\" is not one domain name", path,
					 lineno, (int)strcspn(s, "#\r\n"), s);
				e = -EINVAL;
				goto out;
			}
		}
		/* "pool.test." is the fully qualified form of "pool.test". */
		while (n && s[n - 1] == '.')
			n--;
		if (!n) {
			snprintf(err, errsz, "%s:%zu: \".\" is not a domain name", path, lineno);
			e = -EINVAL;
			goto out;
		}
		if (l->n >= NAMES_MAX) {
			snprintf(err, errsz, "%s: more than %d names", path, NAMES_MAX);
			e = -E2BIG;
			goto out;
		}
		e = add(l, s, n, &cap);
		if (e)
			goto out;
	}
	if (!e && ferror(f)) {
		e = -EIO;
		snprintf(err, errsz, "%s: cannot read: %s", path, strerror(errno));
	}
out:
	fclose(f);
	if (e) {
		names__free(l);
		return e;
	}
	*ret = l;
	return 0;
}

void names__free(struct name_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l);
}

size_t names__count(const struct name_list *l)
{
	return l ? l->n : 0;
}

const char *names__match(const struct name_list *l, const char *name)
{
	size_t nl = strlen(name);

	while (nl && name[nl - 1] == '.')
		nl--; /* fully qualified form */
	for (size_t i = 0; l && i < l->n; i++) {
		const char *d = l->names[i];
		size_t dl = strlen(d);

		if (nl < dl || strncasecmp(name + nl - dl, d, dl))
			continue;
		if (nl == dl || name[nl - dl - 1] == '.')
			return d;
	}
	return NULL;
}
