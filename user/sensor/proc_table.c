// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "proc_table.h"

struct proc_table {
	struct htab *h;
	size_t max;
	size_t dropped;
	void (*release)(struct proc *p, void *arg);
	void *release_arg;
};

struct proc_table *proc_table__new(size_t max)
{
	struct proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->h = htab__new();
	if (!t->h) {
		free(t);
		return NULL;
	}
	t->max = max;
	return t;
}

static void proc_free(struct proc_table *t, struct proc *p)
{
	if (!p)
		return;
	if (t->release)
		t->release(p, t->release_arg);
	free(p->cmdline);
	free(p);
}

void proc_table__free(struct proc_table *t)
{
	struct htab_iter it;
	uint64_t k;
	void *v;

	if (!t)
		return;
	htab__iter_init(&it, t->h);
	while (htab__iter_next(&it, &k, &v))
		proc_free(t, v);
	htab__free(t->h);
	free(t);
}

void proc_table__set_release(struct proc_table *t, void (*fn)(struct proc *p, void *arg),
			     void *arg)
{
	t->release = fn;
	t->release_arg = arg;
}

struct proc *proc_table__lookup(const struct proc_table *t, uint32_t pid)
{
	return htab__get(t->h, pid);
}

struct proc *proc_table__upsert(struct proc_table *t, uint32_t pid, uint64_t start_ns,
				bool *ret_created)
{
	struct proc *p = htab__get(t->h, pid);

	*ret_created = false;
	if (p && proc__start_ticks(p->start_ns) == proc__start_ticks(start_ns))
		return p;
	if (p) {
		/* The pid was reused: the old process is gone. */
		htab__del(t->h, pid);
		proc_free(t, p);
	} else if (htab__count(t->h) >= t->max) {
		t->dropped++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->start_ns = start_ns;
	if (htab__put(t->h, pid, p)) {
		free(p);
		return NULL;
	}
	*ret_created = true;
	return p;
}

void proc_table__remove(struct proc_table *t, uint32_t pid)
{
	proc_free(t, htab__del(t->h, pid));
}

size_t proc_table__count(const struct proc_table *t)
{
	return htab__count(t->h);
}

size_t proc_table__dropped(const struct proc_table *t)
{
	return t->dropped;
}

int proc_table__set_cmdline(struct proc *p, const void *args, size_t len)
{
	char *c;

	if (len > PROC_CMDLINE_MAX)
		len = PROC_CMDLINE_MAX;
	c = malloc(len + 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, args, len);
	c[len] = '\0';
	free(p->cmdline);
	p->cmdline = c;
	p->cmdline_len = len;
	return 0;
}

struct peer *proc__peer(struct proc *p, uint16_t family, const uint8_t addr[16], uint16_t port)
{
	struct peer *pe;

	for (uint32_t i = 0; i < p->npeers; i++) {
		pe = &p->peers[i];
		if (pe->family == family && pe->port == port && !memcmp(pe->addr, addr, 16))
			return pe;
	}
	if (p->npeers >= PROC_MAX_PEERS)
		return NULL;
	pe = &p->peers[p->npeers++];
	memset(pe, 0, sizeof(*pe));
	pe->family = family;
	pe->port = port;
	memcpy(pe->addr, addr, 16);
	return pe;
}

void proc_table__each(struct proc_table *t, void (*fn)(struct proc *p, void *arg), void *arg)
{
	struct htab_iter it;
	uint64_t k;
	void *v;

	htab__iter_init(&it, t->h);
	while (htab__iter_next(&it, &k, &v))
		fn(v, arg);
}
