// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "cpu.h"
#include "detector.h"
#include "finding.h"
#include "procfs.h"

/* One open finding, hung on its process. */
struct fstate {
	struct fstate *prev, *next;
	struct detector *d;
	struct proc *p;
	char uid[37];
	char sha256[65];
	bool have_sha;
	uint64_t first_seen_ms;
	uint64_t last_seen_ms;
	uint64_t last_emit_ms;
	struct verdict last;      /* as last reported */
	struct verdict current;   /* as last judged */
	struct signals sig;       /* as last judged */
	uint32_t peers_reported;
	bool dirty;               /* evidence changed since the last report */
};

struct detector {
	struct detector_opts o;
	struct proc_table *procs;
	struct conn_table *conns;
	struct sink *sink;
	struct fstate *open;
	uint64_t tick;
	uint64_t now_boot_ns;
	struct detector_stats st;
};

uint64_t detector__boot_to_unix_ms(uint64_t boot_ns)
{
	struct timespec rt, bt;
	int64_t off;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	off = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	return (uint64_t)(((int64_t)boot_ns + off) / 1000000);
}

static uint64_t unix_ms_now(void)
{
	struct timespec rt;

	clock_gettime(CLOCK_REALTIME, &rt);
	return (uint64_t)rt.tv_sec * 1000 + (uint64_t)rt.tv_nsec / 1000000;
}

struct detector *detector__new(const struct detector_opts *o, struct proc_table *procs,
			       struct conn_table *conns, struct sink *sink)
{
	struct detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->o = *o;
	d->procs = procs;
	d->conns = conns;
	d->sink = sink;
	return d;
}

void detector__free(struct detector *d)
{
	free(d);
}

static void format_peer(uint16_t family, const uint8_t addr[16], uint16_t port, char *out,
			size_t outsz)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == 2 ? AF_INET : AF_INET6, addr, ip, sizeof(ip));
	if (family == 2)
		snprintf(out, outsz, "%s:%u", ip, port);
	else
		snprintf(out, outsz, "[%s]:%u", ip, port);
}

static void emit(struct detector *d, struct fstate *f, enum finding_activity act)
{
	struct proc *p = f->p;
	struct finding_in in = { 0 };
	struct procfs_info *parent = NULL;
	char user[64], *line;
	bool have_user;

	if (!f->have_sha && act == FINDING_CREATE)
		f->have_sha = procfs__exe_sha256(d->o.host_root, p->pid, f->sha256) == 0;
	have_user = procfs__user_name(d->o.host_root, p->uid, user, sizeof(user)) == 0;
	if (p->ppid) {
		parent = malloc(sizeof(*parent));
		if (parent && procfs__read(d->o.host_root, p->ppid, parent)) {
			free(parent);
			parent = NULL;
		}
	}

	in.activity = act;
	in.uid = f->uid;
	in.time_ms = unix_ms_now();
	in.first_seen_ms = f->first_seen_ms;
	in.last_seen_ms = f->last_seen_ms;
	in.verdict = &f->current;
	in.signals = &f->sig;
	in.hostname = d->o.host->hostname;
	in.boot_id = d->o.host->boot_id;
	in.os_name = d->o.host->os_name;
	in.kernel_release = d->o.host->kernel_release;
	in.instance_missing = d->o.instance_missing;
	in.pid = p->pid;
	in.comm = p->comm;
	in.exe = p->exe;
	in.cmdline = p->cmdline;
	in.cmdline_len = p->cmdline_len;
	in.sha256 = f->have_sha ? f->sha256 : NULL;
	in.created_ms = detector__boot_to_unix_ms(p->start_ns);
	in.user_uid = p->uid;
	in.user_name = have_user ? user : NULL;
	in.ppid = p->ppid;
	in.parent_comm = parent ? parent->comm : NULL;
	in.cgroup_id = p->cgroup_id;
	for (uint32_t i = 0; i < p->npeers && in.npeers < FINDING_MAX_PEERS; i++) {
		struct finding_peer *fp = &in.peers[in.npeers++];

		inet_ntop(p->peers[i].family == 2 ? AF_INET : AF_INET6, p->peers[i].addr, fp->ip,
			  sizeof(fp->ip));
		fp->port = p->peers[i].port;
		fp->protocol = p->peers[i].proto.kind ? proto__name(p->peers[i].proto.kind) : NULL;
	}
	line = finding__build(&in);
	free(parent);
	if (!line) {
		d->st.build_failures++;
		return;
	}
	sink__write(d->sink, line);
	free(line);
	f->last_emit_ms = in.time_ms;
	f->last = f->current;
	f->peers_reported = p->npeers;
	f->dirty = false;
	if (act == FINDING_CREATE)
		d->st.created++;
	else if (act == FINDING_UPDATE)
		d->st.updated++;
	else
		d->st.closed++;
}

static void unlink_f(struct detector *d, struct fstate *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		d->open = f->next;
	if (f->next)
		f->next->prev = f->prev;
	d->st.open--;
}

void detector__release(struct proc *p, void *arg)
{
	struct detector *d = arg;
	struct fstate *f = p->finding;

	if (!f)
		return;
	f->last_seen_ms = unix_ms_now();
	emit(d, f, FINDING_CLOSE);
	unlink_f(d, f);
	free(f);
	p->finding = NULL;
}

static void summarise_conn(struct conn *c, void *arg)
{
	struct detector *d = arg;
	struct proc *p = proc_table__lookup(d->procs, c->pid);

	if (!p)
		return;
	if (p->agg_tick != d->tick) {
		p->agg_tick = d->tick;
		p->agg_conns = 0;
		p->oldest_conn = NULL;
	}
	p->agg_conns++;
	if (!p->oldest_conn || c->connect_ns < ((struct conn *)p->oldest_conn)->connect_ns)
		p->oldest_conn = c;
}

static void refresh_flows(struct detector *d, struct conn *c)
{
	struct mw_conn kc;

	if (d->o.conns_map_fd >= 0 && bpf_map_lookup_elem(d->o.conns_map_fd, &c->cookie, &kc) == 0) {
		c->flow[0] = kc.flow[0];
		c->flow[1] = kc.flow[1];
		if (kc.established_ns)
			c->established_ns = kc.established_ns;
	}
}

static void gather(struct detector *d, struct proc *p, struct signals *s)
{
	const struct detect_cfg *cfg = d->o.cfg;
	struct conn *c = p->agg_tick == d->tick ? p->oldest_conn : NULL;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", p->comm);
	s->pid = p->pid;
	s->cpu_cores = proc__cpu_avg(p, cfg->cpu_window_s, &s->cpu_seconds);
	s->busy_threads = p->busy_threads;
	for (uint32_t i = 0; i < p->npeers; i++) {
		struct peer *pe = &p->peers[i];

		if (pe->proto.kind == PROTO_NONE)
			continue;
		s->proto = pe->proto;
		s->proto_dir = pe->dir;
		format_peer(pe->family, pe->addr, pe->port, s->proto_peer, sizeof(s->proto_peer));
		break;
	}
	if (c) {
		refresh_flows(d, c);
		s->has_conn = true;
		s->nconns = p->agg_conns;
		format_peer(c->family, c->daddr, c->dport, s->conn_peer, sizeof(s->conn_peer));
		s->conn_port = c->dport;
		s->conn_age_s = d->now_boot_ns > c->connect_ns ?
					(uint32_t)((d->now_boot_ns - c->connect_ns) / 1000000000ULL) :
					0;
		s->conn_bytes_out = c->flow[MW_DIR_OUT].bytes;
		s->conn_bytes_in = c->flow[MW_DIR_IN].bytes;
		s->conn_msgs_out = c->flow[MW_DIR_OUT].data_packets;
		s->conn_msgs_in = c->flow[MW_DIR_IN].data_packets;
	}
}

static bool worth_judging(const struct detector *d, const struct proc *p)
{
	uint32_t secs;

	if (p->finding)
		return true;
	for (uint32_t i = 0; i < p->npeers; i++)
		if (p->peers[i].proto.kind != PROTO_NONE)
			return true;
	/* Behaviour alone needs a connection and real CPU use. */
	return p->agg_tick == d->tick &&
	       proc__cpu_avg(p, d->o.cfg->cpu_window_s, &secs) >= d->o.cfg->cpu_busy_cores / 2;
}

static void judge(struct proc *p, void *arg)
{
	struct detector *d = arg;
	struct fstate *f = p->finding;
	struct signals s;
	struct verdict v;
	uint64_t now_ms;

	if (!worth_judging(d, p))
		return;
	gather(d, p, &s);
	correlator__judge(d->o.cfg, &s, &v);
	now_ms = unix_ms_now();
	if (!f) {
		if (v.severity_id < 3)
			return;
		f = calloc(1, sizeof(*f));
		if (!f)
			return;
		f->d = d;
		f->p = p;
		finding__uid(d->o.host->boot_id, p->pid, proc__start_ticks(p->start_ns), f->uid);
		f->first_seen_ms = now_ms;
		f->last_seen_ms = now_ms;
		f->current = v;
		f->sig = s;
		p->finding = f;
		f->next = d->open;
		if (d->open)
			d->open->prev = f;
		d->open = f;
		d->st.open++;
		emit(d, f, FINDING_CREATE);
		return;
	}
	/* An open finding keeps its highest verdict: evidence does not expire. */
	if (v.severity_id >= f->current.severity_id) {
		if (v.severity_id > f->current.severity_id)
			f->dirty = true;
		f->current = v;
		f->sig = s;
	}
	if (v.severity_id >= 3)
		f->last_seen_ms = now_ms;
	if (p->npeers != f->peers_reported)
		f->dirty = true;
	if (f->dirty && now_ms - f->last_emit_ms >= (uint64_t)d->o.update_interval_s * 1000)
		emit(d, f, FINDING_UPDATE);
}

void detector__tick(struct detector *d, uint64_t now_boot_ns)
{
	d->tick++;
	d->now_boot_ns = now_boot_ns;
	conn_table__each(d->conns, summarise_conn, d);
	proc_table__each(d->procs, judge, d);
}

void detector__judge_now(struct detector *d, struct proc *p, uint64_t now_boot_ns)
{
	/* Rare (once per recognised connection), so a full summary pass is fine. */
	d->tick++;
	d->now_boot_ns = now_boot_ns;
	conn_table__each(d->conns, summarise_conn, d);
	judge(p, d);
}

void detector__stats(const struct detector *d, struct detector_stats *ret)
{
	*ret = d->st;
}

void detector__each_open(const struct detector *d,
			 void (*fn)(const struct open_finding *f, void *arg), void *arg)
{
	for (const struct fstate *f = d->open; f; f = f->next) {
		struct open_finding of = {
			.uid = f->uid,
			.pid = f->p->pid,
			.name = f->p->comm,
			.severity_id = f->current.severity_id,
			.confidence = f->current.confidence,
			.why = f->current.why,
			.first_seen_ms = f->first_seen_ms,
		};

		fn(&of, arg);
	}
}
