// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "proc_table.h"

/* Entries looked at, at most, to find one to evict when the table is full. */
#define EVICT_SCAN 64

struct proc_table {
	struct htab *h;
	size_t max;
	size_t dropped;
	size_t evicted;
	size_t evict_cursor;  /* bucket where the next eviction scan starts */
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

/* The exe of a process not yet known: shared, never freed, never written. */
static char no_exe[1];

static void proc_free(struct proc_table *t, struct proc *p)
{
	if (!p)
		return;
	if (t->release)
		t->release(p, t->release_arg);
	free(p->cmdline);
	if (p->exe != no_exe)
		free(p->exe);
	free(p->act);
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

/*
 * A full table makes room by forgetting a process that has done nothing of
 * note: no finding, no CPU or network activity, no connection. Should it
 * become interesting later, the daemon reads it back from /proc. Suspects
 * are never evicted; when every entry looked at is one, the new process is
 * dropped and counted instead. The scan is bounded and starts where the
 * last one stopped, so a full table costs O(1) per insert.
 */
static bool evict_one(struct proc_table *t)
{
	struct htab_iter it;
	size_t seen = 0;
	uint64_t k;
	void *v;

	for (int pass = 0; pass < 2 && seen < EVICT_SCAN; pass++) {
		htab__iter_init_at(&it, t->h, pass ? 0 : t->evict_cursor);
		while (seen < EVICT_SCAN && htab__iter_next(&it, &k, &v)) {
			struct proc *p = v;

			seen++;
			if (p->finding || p->act || p->nconns)
				continue;
			t->evict_cursor = it.bucket + 1;
			htab__del(t->h, k);
			proc_free(t, p);
			t->evicted++;
			return true;
		}
		t->evict_cursor = 0;
	}
	return false;
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
	} else if (htab__count(t->h) >= t->max && !evict_one(t)) {
		t->dropped++;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->exe = no_exe;
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

size_t proc_table__evicted(const struct proc_table *t)
{
	return t->evicted;
}

int proc_table__set_exe(struct proc *p, const char *path)
{
	size_t len = strnlen(path, PROC_PATH_LEN - 1);
	char *e = malloc(len + 1);

	if (!e)
		return -ENOMEM;
	memcpy(e, path, len);
	e[len] = '\0';
	if (p->exe != no_exe)
		free(p->exe);
	p->exe = e;
	return 0;
}

struct proc_act *proc__act(struct proc *p)
{
	if (!p->act)
		p->act = calloc(1, sizeof(*p->act));
	return p->act;
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
	struct proc_act *a = proc__act(p);
	struct peer *pe;

	if (!a)
		return NULL;
	for (uint32_t i = 0; i < a->npeers; i++) {
		pe = &a->peers[i];
		if (pe->family == family && pe->port == port && !memcmp(pe->addr, addr, 16))
			return pe;
	}
	if (a->npeers >= PROC_MAX_PEERS)
		return NULL;
	pe = &a->peers[a->npeers++];
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
