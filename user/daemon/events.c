// SPDX-License-Identifier: Apache-2.0
/*
 * Ring-buffer records into the process and connection tables, and the
 * start-up scan that finds what was already running.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "dns.h"
#include "htab.h"
#include "names.h"
#include "log.h"
#include "mwd.h"
#include "procfs.h"
#include "sockdiag.h"

uint64_t mwd__boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void fill_from_procfs(struct mwd *m, struct proc *p, const struct procfs_info *info)
{
	char path[512], full[1024];
	struct stat sb;

	p->ppid = info->ppid;
	p->uid = info->uid;
	p->gid = info->gid;
	memcpy(p->comm, info->comm, sizeof(p->comm));
	proc_table__set_exe(p, info->exe);
	if (info->cmdline_len)
		proc_table__set_cmdline(p, info->cmdline, info->cmdline_len);
	/* Exec records carry the cgroup id; for the others, cgroup2 inode == id. */
	if (m->loader && loader__cgroup_root(m->loader)[0] &&
	    procfs__cgroup_path(m->cfg.host_root, p->pid, path, sizeof(path)) == 0) {
		snprintf(full, sizeof(full), "%s%s", loader__cgroup_root(m->loader), path);
		if (stat(full, &sb) == 0)
			p->cgroup_id = sb.st_ino;
	}
}

/*
 * The entry for a live pid, read from procfs when the sensor has not seen
 * it exec (it predates the sensor, or its exec record was lost).
 */
struct proc *mwd__proc_for(struct mwd *m, uint32_t pid)
{
	struct proc *p = proc_table__lookup(m->procs, pid);
	struct procfs_info *info;
	bool created;

	if (p)
		return p;
	info = malloc(sizeof(*info));
	if (!info)
		return NULL;
	if (procfs__read(m->cfg.host_root, pid, info) == 0) {
		p = proc_table__upsert(m->procs, pid, info->start_ns, &created);
		if (p && created) {
			fill_from_procfs(m, p, info);
			p->from_scan = true;
			p->seen_ns = mwd__boot_ns();
		}
	}
	free(info);
	return p;
}

static struct peer *note_peer(struct proc *p, const struct conn *c)
{
	return proc__peer(p, c->family, c->daddr, c->dport);
}

static void on_exec(struct mwd *m, const struct mw_exec_event *e)
{
	struct proc *p;
	uint32_t args_len;
	bool created;

	p = proc_table__upsert(m->procs, e->hdr.pid, e->start_ns, &created);
	if (!p)
		return;
	p->ppid = e->ppid;
	p->uid = e->uid;
	p->gid = e->gid;
	p->cgroup_id = e->cgroup_id;
	p->from_scan = false;
	if (created)
		p->seen_ns = e->hdr.ts_ns;
	memcpy(p->comm, e->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = '\0';
	proc_table__set_exe(p, e->filename);
	args_len = e->args_len < MW_ARGS_LEN ? e->args_len : MW_ARGS_LEN;
	/* argv ends in a NUL; keep only the separators between arguments. */
	while (args_len && e->args[args_len - 1] == '\0')
		args_len--;
	proc_table__set_cmdline(p, e->args, args_len);
	/*
	 * argv was cut at MW_ARGS_LEN: the rest is in procfs while it runs, and
	 * is read only if the process is ever judged (proc__complete_cmdline),
	 * not on every exec of a long command line.
	 */
	p->cmdline_cut = e->args_len >= MW_ARGS_LEN;
}

static void on_exit_ev(struct mwd *m, const struct mw_exit_event *e)
{
	struct proc *p = proc_table__lookup(m->procs, e->hdr.pid);

	if (p && proc__start_ticks(p->start_ns) == proc__start_ticks(e->start_ns))
		proc_table__remove(m->procs, e->hdr.pid);
}

/* Forgets connection c, whose socket has the cookie given. */
static void end_conn(struct mwd *m, struct conn *c, uint64_t cookie)
{
	struct proc *p = proc_table__lookup(m->procs, c->pid);

	if (p && p->nconns)
		p->nconns--;
	for (int i = 0; p && p->act && i < PROC_TICK_CONNS; i++)
		if (p->act->tick_conns[i] == c)
			p->act->tick_conns[i] = NULL;
	conn_table__remove(m->conns, cookie);
}

/*
 * The connection a payload record is a segment of. The kernel tells user
 * space of a connection with its first captured segment (silent ones never
 * reach it), and every segment names its connection: the first one seen
 * creates it. A segment with another connect time than the entry's is the
 * socket connecting again (after connect(AF_UNSPEC)): the kernel ends the
 * first connection itself while it is in its slot, but one moved out of
 * its slot meanwhile is still in mw_conns, which is where it ends. NULL if
 * the table is full.
 */
static struct conn *conn_of(struct mwd *m, const struct mw_payload_event *e)
{
	struct conn *c = conn_table__lookup(m->conns, e->cookie);
	struct proc *p;

	if (c && c->connect_ns == e->connect_ns)
		return c;
	if (c) {
		end_conn(m, c, e->cookie);
		if (m->loader)
			bpf_map_delete_elem(loader__conns_fd(m->loader), &e->cookie);
	}
	c = conn_table__insert(m->conns, e->cookie);
	if (!c)
		return NULL;
	m->conns_announced++;
	c->pid = e->hdr.pid;
	c->family = e->family;
	c->dport = e->dport;
	memcpy(c->daddr, e->daddr, sizeof(c->daddr));
	c->connect_ns = e->connect_ns;
	p = mwd__proc_for(m, c->pid);
	if (p) {
		p->nconns++;
		note_peer(p, c);
	}
	return c;
}

static void on_close(struct mwd *m, const struct mw_conn_event *e)
{
	struct conn *c = conn_table__lookup(m->conns, e->cookie);

	if (c)
		end_conn(m, c, e->cookie);
}

/* A listed pool domain asked for by name (TLS SNI or DNS) marks the process. */
static void note_name(struct mwd *m, struct proc *p, const char *name, const char *via)
{
	const char *hit = names__match(detector__pool_names(m->det), name);
	struct proc_act *a;

	if (!hit || (p->act && p->act->pool_name[0]) || !(a = proc__act(p)))
		return;
	snprintf(a->pool_name, sizeof(a->pool_name), "%s", name);
	snprintf(a->pool_name_via, sizeof(a->pool_name_via), "%s", via);
	log_info("pid %u asked for mining-pool name %s (%s, listed as %s)", p->pid, name, via,
		 hit);
}

/*
 * Bytes of data a payload record of size bytes holds: its len, but never
 * past the record's end (records are cut to the data, see struct
 * mw_payload_event). size is at least MW_PAYLOAD_HDR_LEN.
 */
static uint32_t payload_len(const struct mw_payload_event *e, size_t size)
{
	size_t room = size - MW_PAYLOAD_HDR_LEN;
	uint32_t n = e->len < MW_PAYLOAD_LEN ? e->len : MW_PAYLOAD_LEN;

	return n < room ? n : (uint32_t)room;
}

static void on_dns(struct mwd *m, const struct mw_payload_event *e, uint32_t len)
{
	char name[256];
	struct proc *p;

	if (!dns__query_name(e->data, len, name, sizeof(name)))
		return;
	p = mwd__proc_for(m, e->hdr.pid);
	if (p)
		note_name(m, p, name, "dns");
}

static void on_payload(struct mwd *m, const struct mw_payload_event *e, uint32_t len)
{
	bool had_sni, newly;
	struct proc *p;
	struct peer *pe;
	struct conn *c;

	if (e->dir > MW_DIR_IN || (e->family != AF_INET && e->family != AF_INET6))
		return;
	c = conn_of(m, e);
	if (!c)
		return;
	had_sni = c->sni != NULL;
	newly = conn__add_payload(c, e->dir, e->seg, e->data, len, e->seg_len, e->hdr.ts_ns);
	p = proc_table__lookup(m->procs, c->pid);
	if (!p)
		return;
	if (!had_sni && c->sni)
		note_name(m, p, c->sni, "sni");
	if (!newly)
		return;
	pe = note_peer(p, c);
	if (pe && pe->proto.kind == PROTO_NONE) {
		pe->proto = c->proto;
		pe->proto_ns = c->proto_ns;
		pe->dir = c->proto_dir;
		log_info("pid %u: %s protocol (%s) to port %u", p->pid,
			 proto__name(c->proto.kind), c->proto.method, c->dport);
		detector__judge_now(m->det, p, mwd__boot_ns());
	}
}

int mwd__handle_event(void *ctx, void *data, size_t size)
{
	struct mwd *m = ctx;
	const struct mw_event_hdr *h = data;

	if (size < sizeof(*h) || h->type == 0 || h->type >= MW_EV_TYPE_MAX) {
		m->bad_records++;
		return 0;
	}
	switch (h->type) {
	case MW_EV_EXEC:
		if (size < sizeof(struct mw_exec_event))
			goto bad;
		on_exec(m, data);
		break;
	case MW_EV_EXIT:
		if (size < sizeof(struct mw_exit_event))
			goto bad;
		on_exit_ev(m, data);
		break;
	case MW_EV_CONNECT:
		/* Counts announcements, which ride on payload records. */
		goto bad;
	case MW_EV_CLOSE:
		if (size < sizeof(struct mw_conn_event))
			goto bad;
		on_close(m, data);
		break;
	case MW_EV_PAYLOAD:
		if (size < MW_PAYLOAD_HDR_LEN)
			goto bad;
		on_payload(m, data, payload_len(data, size));
		break;
	case MW_EV_DNS:
		if (size < MW_PAYLOAD_HDR_LEN)
			goto bad;
		on_dns(m, data, payload_len(data, size));
		break;
	}
	m->handled[h->type]++;
	return 0;
bad:
	m->bad_records++;
	return 0;
}

static int scan_one(const struct procfs_info *info, void *arg)
{
	struct mwd *m = arg;
	bool created;
	struct proc *p = proc_table__upsert(m->procs, info->pid, info->start_ns, &created);

	if (p && created) {
		fill_from_procfs(m, p, info);
		p->from_scan = true;
		p->seen_ns = mwd__boot_ns();
		m->scanned_procs++;
	}
	return 0;
}

struct conn_scan {
	struct mwd *m;
	struct htab *owners;
};

static void scan_conn(const struct sockdiag_conn *sc, void *arg)
{
	struct conn_scan *cs = arg;
	struct mwd *m = cs->m;
	uint32_t pid = (uint32_t)(uintptr_t)htab__get(cs->owners, sc->inode);
	struct mw_conn kc = { 0 };
	struct conn *c;
	struct proc *p;

	if (!pid || pid == (uint32_t)getpid() || !sc->cookie)
		return;
	/* Let the kernel side count its traffic from now on. */
	kc.pid = pid;
	kc.family = sc->family;
	kc.dport = sc->dport;
	memcpy(kc.daddr, sc->daddr, sizeof(kc.daddr));
	kc.connect_ns = mwd__boot_ns();
	kc.state = sc->state;
	/* Known here from now on: its close is worth a goodbye record. */
	kc.announced = 1;
	if (bpf_map_update_elem(loader__conns_fd(m->loader), &sc->cookie, &kc, BPF_NOEXIST) &&
	    errno != EEXIST)
		return;
	c = conn_table__insert(m->conns, sc->cookie);
	if (!c)
		return;
	c->pid = pid;
	c->family = sc->family;
	c->dport = sc->dport;
	memcpy(c->daddr, sc->daddr, sizeof(c->daddr));
	c->connect_ns = kc.connect_ns;
	c->preexisting = true;
	m->scanned_conns++;
	p = mwd__proc_for(m, pid);
	if (p) {
		p->nconns++;
		note_peer(p, c);
	}
}

static bool pid_gone(uint32_t pid)
{
	return kill((pid_t)pid, 0) && errno == ESRCH;
}

static void sweep_proc(struct proc *p, void *arg)
{
	if (pid_gone(p->pid))
		proc_table__remove(arg, p->pid);
}

static void sweep_conn(struct conn *c, void *arg)
{
	struct mwd *m = arg;

	if (!pid_gone(c->pid))
		return;
	bpf_map_delete_elem(loader__conns_fd(m->loader), &c->cookie);
	conn_table__remove(m->conns, c->cookie);
}

/*
 * Exit and close records can be lost (counted, in status); without this the
 * tables would keep the dead, and their findings would never close. The BPF
 * connection map is swept too, for the goodbye records lost to a full ring
 * and a socket moved out of its slot that connected again silent (see
 * on_connect()).
 */
void mwd__sweep(struct mwd *m)
{
	int fd = loader__conns_fd(m->loader);
	uint64_t key, next, dead[256];
	struct mw_conn kc;
	void *prev = NULL;
	size_t ndead = 0;

	proc_table__each(m->procs, sweep_proc, m->procs);
	conn_table__each(m->conns, sweep_conn, m);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &kc) == 0 && pid_gone(kc.pid) &&
		    ndead < sizeof(dead) / sizeof(dead[0]))
			dead[ndead++] = next;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < ndead; i++)
		bpf_map_delete_elem(fd, &dead[i]);
}

/*
 * Processes and connections that existed before the programs were attached.
 * Runs after attach, so anything starting meanwhile is seen by both paths;
 * the tables deduplicate.
 */
void mwd__scan(struct mwd *m)
{
	struct conn_scan cs = { .m = m };
	int e;

	e = procfs__scan(m->cfg.host_root, scan_one, m);
	if (e)
		log_warn("process scan of %s/proc failed: %s", m->cfg.host_root, strerror(-e));
	cs.owners = htab__new();
	if (!cs.owners)
		return;
	e = procfs__socket_owners(m->cfg.host_root, cs.owners);
	if (!e)
		e = sockdiag__outbound(scan_conn, &cs);
	if (e)
		log_warn("connection scan failed: %s", strerror(-e));
	htab__free(cs.owners);
}
