// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "clock.h"
#include "cloudctx.h"
#include "container.h"
#include "cpu.h"
#include "hashcache.h"
#include "htab.h"
#include "journal.h"
#include "detector.h"
#include "finding.h"
#include "log.h"
#include "names.h"
#include "procfs.h"
#include "suppress.h"

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
	const char *suppressed_by; /* rule that silenced it: no records written */
	struct container_ref ct;  /* read once, when the finding opens */
	bool in_container;
	bool create_pending;      /* the Create waits (briefly) for ECS context */
	uint64_t wait_until_ms;
	char *last_line;          /* the last record written, for the journal */
	bool restored;            /* continued from the journal: current is a placeholder
				   * until the process is judged at least as severe again */
	bool closed;              /* the Close is written: no longer in the journal */
};

#define TOP_SUSPECTS 5

struct suspect {
	uint32_t pid;
	char name[PROC_COMM_LEN];
	int score;
	struct verdict v;
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
	const struct name_list *pool_names;
	const struct suppress_list *suppress;
	struct htab *cgroup_cores;        /* cgroup id -> cores x 1000, per tick */
	struct suspect top[TOP_SUSPECTS]; /* below threshold, last tick */
	int ntop;
	struct suspect next_top[TOP_SUSPECTS];
	int nnext_top;
	struct cloudctx *cloud;
	struct hashcache *hashes;         /* executables hashed, by file identity */
	bool warned_asff;
};

uint64_t detector__boot_to_unix_ms(uint64_t boot_ns)
{
	struct timespec rt, bt;
	int64_t off;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	off = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	/* Boot times come from kernel records: a corrupt one must not overflow. */
	if (boot_ns > (uint64_t)(INT64_MAX - (off > 0 ? off : 0)))
		boot_ns = (uint64_t)(INT64_MAX - (off > 0 ? off : 0));
	return (uint64_t)(((int64_t)boot_ns + off) / 1000000);
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
	d->cgroup_cores = htab__new();
	d->hashes = hashcache__new();
	if (!d->cgroup_cores || !d->hashes) {
		htab__free(d->cgroup_cores);
		hashcache__free(d->hashes);
		free(d);
		return NULL;
	}
	return d;
}

static void free_f(struct fstate *f)
{
	free(f->last_line);
	free(f);
}

void detector__free(struct detector *d)
{
	if (!d)
		return;
	/* Open findings stay open (the journal has them): shutdown is not an exit. */
	while (d->open) {
		struct fstate *f = d->open;

		d->open = f->next;
		if (f->p)
			f->p->finding = NULL;
		free_f(f);
	}
	htab__free(d->cgroup_cores);
	hashcache__free(d->hashes);
	free(d);
}

void detector__set_lists(struct detector *d, const struct name_list *pool_names,
			 const struct suppress_list *suppress)
{
	d->pool_names = pool_names;
	d->suppress = suppress;
}

const struct name_list *detector__pool_names(const struct detector *d)
{
	return d->pool_names;
}

void detector__set_cloud(struct detector *d, struct cloudctx *cloud)
{
	d->cloud = cloud;
}

/* Asks for the ECS task of the finding's container; CTX_NONE when there is none to ask. */
static enum ctx_answer task_of(struct detector *d, struct fstate *f, struct ecs_task_info *task,
			       struct ecs_agent_info *agent, char *why, size_t whysz)
{
	if (!f->in_container) {
		snprintf(why, whysz, "not containerised");
		return CTX_NONE;
	}
	if (!d->cloud) {
		snprintf(why, whysz, "no cloud context in this run");
		return CTX_NONE;
	}
	if (strcmp(f->ct.runtime, "docker")) {
		snprintf(why, whysz, "a %s container%s%s: ECS runs Docker containers",
			 f->ct.runtime, f->ct.orch == ORCH_KUBERNETES ? " in Kubernetes pod " : "",
			 f->ct.pod_uid);
		return CTX_NONE;
	}
	return cloudctx__task(d->cloud, f->ct.id, f->ct.orch == ORCH_ECS, task, agent, why, whysz);
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

/* pid inside the process's own pid namespace (the last NSpid field), 0 when unknown. */
static uint32_t ns_pid(const char *host_root, uint32_t pid)
{
	char path[PATH_MAX], line[256];
	uint32_t last = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/proc/%u/status", host_root, pid);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		char *tok, *save = NULL;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (tok = strtok_r(line + 6, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save))
			last = (uint32_t)strtoul(tok, NULL, 10);
		break;
	}
	fclose(fp);
	return last;
}

/*
 * The Close made from the last record written for a finding (finding__closed);
 * *closed (when given) is set before the record is queued, so that the
 * journal no longer lists the finding as open.
 */
static void write_closed(struct detector *d, const char *last_line, bool *closed)
{
	char *line = finding__closed(last_line, clock__ms(CLOCK_REALTIME));

	if (!line) {
		d->st.build_failures++;
		return;
	}
	if (closed)
		*closed = true;
	sink__write(d->sink, line);
	free(line);
	d->st.closed++;
}

static void emit(struct detector *d, struct fstate *f, enum finding_activity act)
{
	struct proc *p = f->p;
	struct finding_in in = { 0 };
	char user[64], parent[PROC_COMM_LEN], *line;
	char inst_why[320], task_why[256];
	struct instance_info inst;
	struct ecs_task_info task;
	struct ecs_agent_info agent;
	bool have_user, have_parent, no_context = false;

	if (f->suppressed_by)
		return;
	if (f->restored) {
		/*
		 * Continued from before a restart and not yet judged as severe
		 * again: there is nothing new to report, and the Close is the last
		 * record written, closed.
		 */
		if (act == FINDING_CLOSE && f->last_line)
			write_closed(d, f->last_line, &f->closed);
		return;
	}
	if (!f->have_sha && act == FINDING_CREATE)
		f->have_sha = procfs__exe_sha256(d->o.host_root, p->pid, d->hashes, f->sha256) == 0;
	have_user = procfs__user_name(d->o.host_root, p->uid, user, sizeof(user)) == 0;
	have_parent = p->ppid && procfs__comm(d->o.host_root, p->ppid, parent, sizeof(parent)) == 0;

	in.activity = act;
	in.uid = f->uid;
	in.time_ms = clock__ms(CLOCK_REALTIME);
	in.first_seen_ms = f->first_seen_ms;
	in.last_seen_ms = f->last_seen_ms;
	in.verdict = &f->current;
	in.signals = &f->sig;
	in.hostname = d->o.host->hostname;
	in.boot_id = d->o.host->boot_id;
	in.os_name = d->o.host->os_name;
	in.kernel_release = d->o.host->kernel_release;
	in.instance_missing = d->o.instance_missing;
	if (d->cloud) {
		if (cloudctx__instance(d->cloud, &inst, inst_why, sizeof(inst_why)))
			in.instance = &inst;
		else
			in.instance_missing = inst_why;
	}
	if (f->in_container) {
		in.container = &f->ct;
		memset(&agent, 0, sizeof(agent));
		if (task_of(d, f, &task, &agent, task_why, sizeof(task_why)) == CTX_READY) {
			in.task = &task;
			in.ecs = agent.cluster[0] ? &agent : NULL;
		} else {
			in.task_missing = task_why;
		}
		if (act != FINDING_CLOSE)
			in.ns_pid = ns_pid(d->o.host_root, p->pid);
	}
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
	in.parent_comm = have_parent ? parent : NULL;
	in.cgroup_id = p->cgroup_id;
	for (uint32_t i = 0; p->act && i < p->act->npeers && in.npeers < FINDING_MAX_PEERS; i++) {
		const struct peer *pe = &p->act->peers[i];
		struct finding_peer *fp = &in.peers[in.npeers++];

		inet_ntop(pe->family == 2 ? AF_INET : AF_INET6, pe->addr, fp->ip, sizeof(fp->ip));
		fp->port = pe->port;
	}
	line = NULL;
	if (d->o.asff && *d->o.asff) {
		line = finding__build_asff(&in, &no_context);
		if (no_context) {
			/* Never invent an account: say so, and keep the finding as OCSF. */
			d->st.asff_without_context++;
			if (!d->warned_asff)
				log_warn("ASFF needs the AWS account and region (%s): findings are "
					 "written as OCSF until instance metadata is available",
					 in.instance_missing ? in.instance_missing : "unknown");
			d->warned_asff = true;
		}
	}
	if (!line && (!d->o.asff || !*d->o.asff || no_context))
		line = finding__build(&in);
	if (!line) {
		d->st.build_failures++;
		return;
	}
	/*
	 * The finding's state changes before the record is queued: the sink
	 * journals both together before writing, so that a restart neither
	 * raises the finding again nor loses the record.
	 */
	f->last_emit_ms = in.time_ms;
	f->last = f->current;
	f->peers_reported = proc__npeers(p);
	f->dirty = false;
	f->closed = act == FINDING_CLOSE;
	free(f->last_line);
	f->last_line = strdup(line);
	sink__write(d->sink, line);
	free(line);
	if (act == FINDING_CREATE)
		d->st.created++;
	else if (act == FINDING_UPDATE)
		d->st.updated++;
	else
		d->st.closed++;
}

/* Hangs a new finding on its process and the open list; reads its container once. */
static void link_f(struct detector *d, struct fstate *f)
{
	f->p->finding = f;
	f->next = d->open;
	if (d->open)
		d->open->prev = f;
	d->open = f;
	d->st.open++;
	f->in_container = container__of_pid(d->o.host_root, f->p->pid, &f->ct) == 1;
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
	f->last_seen_ms = clock__ms(CLOCK_REALTIME);
	if (f->create_pending) {
		f->create_pending = false;
		emit(d, f, FINDING_CREATE);
	}
	emit(d, f, FINDING_CLOSE);
	if (f->suppressed_by)
		d->st.suppressed--;
	unlink_f(d, f);
	free_f(f);
	p->finding = NULL;
}

static void summarise_conn(struct conn *c, void *arg)
{
	struct detector *d = arg;
	struct proc *p = proc_table__lookup(d->procs, c->pid);
	struct proc_act *a = p ? proc__act(p) : NULL;

	if (!a)
		return;
	if (a->agg_tick != d->tick) {
		a->agg_tick = d->tick;
		a->agg_conns = 0;
		memset(a->tick_conns, 0, sizeof(a->tick_conns));
	}
	/* Keep the oldest few, sorted by age: pools are long-lived. */
	for (int i = 0; i < PROC_TICK_CONNS; i++) {
		struct conn *o = a->tick_conns[i];

		if (!o || c->connect_ns < o->connect_ns) {
			memmove(&a->tick_conns[i + 1], &a->tick_conns[i],
				(size_t)(PROC_TICK_CONNS - 1 - i) * sizeof(a->tick_conns[0]));
			a->tick_conns[i] = c;
			break;
		}
	}
	a->agg_conns++;
}

/*
 * A connection's traffic, read from the kernel when it is judged: only the
 * few oldest connections of a process worth judging, so the daemon keeps no
 * copy of its own for the thousands it tracks.
 */
static void read_flows(struct detector *d, struct conn *c, struct mw_flow flow[2])
{
	uint32_t i = (uint32_t)(c->cookie & (MW_CONN_SLOTS - 1));
	struct mw_conn_slot s;
	struct mw_conn kc;
	bool found;

	/*
	 * Its slot, where nearly every connection stays, then mw_conns. A
	 * connection is announced at its first payload, so its slot says
	 * payload if it still holds it.
	 */
	found = d->o.conn_slots_fd >= 0 &&
		bpf_map_lookup_elem(d->o.conn_slots_fd, &i, &s) == 0 &&
		s.cookie == c->cookie && s.payload &&
		bpf_map_lookup_elem(d->o.slot_conns_fd, &i, &kc) == 0;
	if (!found)
		found = d->o.conns_map_fd >= 0 &&
			bpf_map_lookup_elem(d->o.conns_map_fd, &c->cookie, &kc) == 0;
	if (found) {
		flow[0] = kc.flow[0];
		flow[1] = kc.flow[1];
	} else {
		memset(flow, 0, 2 * sizeof(flow[0]));
	}
}

static bool is_pool_port(const struct detector *d, uint16_t port)
{
	size_t lo = 0, hi = *d->o.npool_ports;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (d->o.pool_ports[mid] == port)
			return true;
		if (d->o.pool_ports[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Mean seconds between a direction's unprompted messages, 0 with fewer than 2. */
static double mean_interval(const struct mw_flow *f)
{
	if (f->unprompted < 2 || f->last_unprompted_ns <= f->first_unprompted_ns)
		return 0;
	return (double)(f->last_unprompted_ns - f->first_unprompted_ns) / 1e9 /
	       (double)(f->unprompted - 1);
}

static void conn_signals(struct detector *d, const struct conn *c, const struct mw_flow flow[2],
			 struct signals *s)
{
	const struct mw_flow *out = &flow[MW_DIR_OUT], *in = &flow[MW_DIR_IN];

	s->has_conn = true;
	format_peer(c->family, c->daddr, c->dport, s->conn_peer, sizeof(s->conn_peer));
	s->conn_port = c->dport;
	s->pool_port = is_pool_port(d, c->dport);
	s->stream = c->stream;
	s->conn_age_s = d->now_boot_ns > c->connect_ns ?
				(uint32_t)((d->now_boot_ns - c->connect_ns) / 1000000000ULL) : 0;
	s->conn_bytes_out = out->bytes;
	s->conn_bytes_in = in->bytes;
	s->conn_msgs_out = out->messages;
	s->conn_msgs_in = in->messages;
	s->conn_pushes = in->unprompted;
	s->conn_client_unprompted = out->unprompted;
	s->push_interval_s = mean_interval(in);
	s->submit_interval_s = mean_interval(out);
}

/* How much a connection looks like a pool: pool-like, then pushes, then age. */
static int conn_rank(const struct detect_cfg *cfg, const struct signals *s)
{
	return (correlator__pool_like(cfg, s) ? 4 : 0) + (s->conn_pushes ? 2 : 0) +
	       (s->pool_port ? 1 : 0);
}

/* The cgroup v2 path of a process (for suppression rules), or "". */
static void cgroup_of(struct detector *d, struct proc *p, char *path, size_t pathsz)
{
	if (procfs__cgroup_path(d->o.host_root, p->pid, path, pathsz))
		path[0] = '\0';
}

/*
 * The exec record carries the first MW_ARGS_LEN bytes of argv; the rest is
 * read from procfs once, when the process is first judged. procfs shows argv
 * as it is now: if it no longer starts as it did at exec, the process has
 * rewritten it (a common disguise) and the exec-time prefix is the truer
 * record, so it is kept.
 */
static void complete_cmdline(struct detector *d, struct proc *p)
{
	size_t len;
	char *buf;

	if (!p->cmdline_cut)
		return;
	p->cmdline_cut = false;
	buf = malloc(PROC_CMDLINE_MAX);
	if (!buf)
		return;
	if (procfs__cmdline(d->o.host_root, p->pid, buf, PROC_CMDLINE_MAX, &len) == 0 &&
	    len > p->cmdline_len && p->cmdline && !memcmp(buf, p->cmdline, p->cmdline_len))
		proc_table__set_cmdline(p, buf, len);
	free(buf);
}

/*
 * The exec record holds the path as passed to execve: relative ("./x"),
 * through "..", or a descriptor ("/dev/fd/3"). Once, when the process is
 * first judged, the kernel's own absolute path replaces it (without the
 * " (deleted)" mark, which execsig reads from the link itself), so that
 * findings and path suppression rules see the file that really runs.
 */
static void resolve_exe(struct proc *p, const char *link, size_t len)
{
	static const char deleted[] = " (deleted)";
	char path[PROC_PATH_LEN];

	if (p->exe_resolved || link[0] != '/')
		return;
	p->exe_resolved = true;
	if (len >= sizeof(deleted) - 1 &&
	    !strcmp(link + len - (sizeof(deleted) - 1), deleted))
		len -= sizeof(deleted) - 1;
	if (len >= sizeof(path))
		len = sizeof(path) - 1;
	memcpy(path, link, len);
	path[len] = '\0';
	proc_table__set_exe(p, path);
}

static void gather(struct detector *d, struct proc *p, struct signals *s)
{
	const struct detect_cfg *cfg = d->o.cfg;
	char exe[PROC_PATH_LEN + 16], link[PATH_MAX];
	const struct proc_act *a = p->act;
	int best = -1;
	ssize_t n;

	/* A process may rename itself after exec (prctl PR_SET_NAME): re-read. */
	procfs__comm(d->o.host_root, p->pid, p->comm, sizeof(p->comm));
	complete_cmdline(d, p);
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", p->comm);
	s->pid = p->pid;
	s->cpu_cores = proc__cpu_avg(p, cfg->cpu_window_s, &s->cpu_seconds);
	s->busy_threads = p->act ? p->act->busy_threads : 0;
	s->threads = procfs__threads(d->o.host_root, p->pid);
	proc__cpu_steadiness(p, cfg->cpu_steady_s, &s->steady_cores, &s->steady_cv,
			     &s->steady_seconds);
	if (p->cgroup_id > 1)
		s->container_cores =
			(double)(uintptr_t)htab__get(d->cgroup_cores, p->cgroup_id) / 1000.0;
	for (uint32_t i = 0; a && i < a->npeers; i++) {
		const struct peer *pe = &a->peers[i];

		if (pe->proto.kind == PROTO_NONE)
			continue;
		s->proto = pe->proto;
		s->proto_dir = pe->dir;
		format_peer(pe->family, pe->addr, pe->port, s->proto_peer, sizeof(s->proto_peer));
		break;
	}
	for (int i = 0; a && a->agg_tick == d->tick && i < PROC_TICK_CONNS; i++) {
		struct conn *c = a->tick_conns[i];
		struct mw_flow flow[2];
		struct signals cs;
		int rank;

		if (!c)
			break;
		read_flows(d, c, flow);
		memset(&cs, 0, sizeof(cs));
		conn_signals(d, c, flow, &cs);
		rank = conn_rank(cfg, &cs);
		if (rank > best) {
			best = rank;
			conn_signals(d, c, flow, s);
		}
	}
	s->nconns = a && a->agg_tick == d->tick ? a->agg_conns : 0;
	if (a && a->pool_name[0]) {
		snprintf(s->pool_name, sizeof(s->pool_name), "%s", a->pool_name);
		snprintf(s->pool_name_via, sizeof(s->pool_name_via), "%s", a->pool_name_via);
	}
	/* The link tells what exec could not: a deleted file, a memfd. */
	snprintf(link, sizeof(link), "%s/proc/%u/exe", d->o.host_root, p->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		resolve_exe(p, exe, (size_t)n);
	} else {
		snprintf(exe, sizeof(exe), "%s", p->exe);
	}
	execsig__analyse(exe, p->comm, p->cmdline, p->cmdline_len, d->o.miner_names, &s->exec);
}

static bool worth_judging(const struct detector *d, const struct proc *p)
{
	uint32_t secs;

	const struct proc_act *a = p->act;

	if (p->finding)
		return true;
	/* Nothing of note yet: no CPU, no connection, no pool name. */
	if (!a)
		return false;
	for (uint32_t i = 0; i < a->npeers; i++)
		if (a->peers[i].proto.kind != PROTO_NONE)
			return true;
	/* Behaviour needs CPU (its own or its container's) and a connection or a name. */
	if (a->agg_tick != d->tick && !a->pool_name[0])
		return false;
	if (proc__cpu_avg(p, d->o.cfg->cpu_window_s, &secs) >= d->o.cfg->cpu_steady_cores)
		return true;
	return p->cgroup_id > 1 && (double)(uintptr_t)htab__get(d->cgroup_cores, p->cgroup_id) /
					   1000.0 >= d->o.cfg->cpu_busy_cores;
}

static void note_suspect(struct detector *d, struct proc *p, const struct verdict *v)
{
	struct suspect *sl = d->next_top;
	int i;

	if (v->score <= 0)
		return;
	for (i = d->nnext_top; i > 0 && sl[i - 1].score < v->score; i--)
		if (i < TOP_SUSPECTS)
			sl[i] = sl[i - 1];
	if (i >= TOP_SUSPECTS)
		return;
	sl[i].pid = p->pid;
	memcpy(sl[i].name, p->comm, sizeof(sl[i].name));
	sl[i].score = v->score;
	sl[i].v = *v;
	if (d->nnext_top < TOP_SUSPECTS)
		d->nnext_top++;
}

/* Whether the suppression list silences this process; fills f's hash. */
static const char *suppressed(struct detector *d, struct proc *p, struct fstate *f)
{
	struct suppress_subject subj = { 0 };
	struct ecs_task_info task;
	struct ecs_agent_info agent;
	char cgroup[512], why[256];

	if (!suppress__count(d->suppress))
		return NULL;
	f->have_sha = procfs__exe_sha256(d->o.host_root, p->pid, d->hashes, f->sha256) == 0;
	cgroup_of(d, p, cgroup, sizeof(cgroup));
	subj.sha256 = f->have_sha ? f->sha256 : NULL;
	subj.exe = p->exe;
	subj.cgroup = cgroup[0] ? cgroup : NULL;
	/* The image is known once the ECS agent named the container's task. */
	if (task_of(d, f, &task, &agent, why, sizeof(why)) == CTX_READY && task.image[0])
		subj.image = task.image;
	return suppress__match(d->suppress, &subj);
}

/*
 * Raises the Create, unless the finding's container is being looked up in the
 * ECS agent right now: then it waits, at most context_wait_ms, so that the
 * first record already names the task.
 */
static void create_or_wait(struct detector *d, struct fstate *f, uint64_t now_ms)
{
	struct ecs_task_info task;
	struct ecs_agent_info agent;
	char why[256];
	uint32_t wait = d->o.context_wait_ms ? *d->o.context_wait_ms : 0;

	if (!f->suppressed_by && wait && task_of(d, f, &task, &agent, why, sizeof(why)) ==
						 CTX_PENDING) {
		if (!f->create_pending) {
			f->create_pending = true;
			f->wait_until_ms = now_ms + wait;
			d->st.context_waits++;
			return;
		}
		if (now_ms < f->wait_until_ms)
			return;
	}
	if (f->create_pending && !f->suppressed_by) {
		/* The wait may have brought the image: suppression rules see it now. */
		f->suppressed_by = suppressed(d, f->p, f);
		if (f->suppressed_by)
			d->st.suppressed++;
	}
	f->create_pending = false;
	emit(d, f, FINDING_CREATE);
}

void detector__context_ready(struct detector *d)
{
	uint64_t now_ms = clock__ms(CLOCK_REALTIME);

	for (struct fstate *f = d->open; f; f = f->next)
		if (f->create_pending)
			create_or_wait(d, f, now_ms);
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
	now_ms = clock__ms(CLOCK_REALTIME);
	if (!f) {
		if (v.severity_id < 3) {
			note_suspect(d, p, &v);
			return;
		}
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
		link_f(d, f);
		f->suppressed_by = suppressed(d, p, f);
		if (f->suppressed_by)
			d->st.suppressed++;
		create_or_wait(d, f, now_ms);
		return;
	}
	if (f->create_pending) {
		if (v.severity_id >= f->current.severity_id) {
			f->current = v;
			f->sig = s;
		}
		f->last_seen_ms = now_ms;
		create_or_wait(d, f, now_ms);
		return;
	}
	/* An open finding keeps its highest verdict: evidence does not expire. */
	if (v.severity_id >= f->current.severity_id) {
		f->restored = false;
		if (v.severity_id > f->current.severity_id ||
		    (v.signal_mask & ~f->last.signal_mask))
			f->dirty = true;
		f->current = v;
		f->sig = s;
	}
	if (v.severity_id >= 3)
		f->last_seen_ms = now_ms;
	if (proc__npeers(p) != f->peers_reported)
		f->dirty = true;
	if (f->dirty && now_ms - f->last_emit_ms >= (uint64_t)*d->o.update_interval_s * 1000)
		emit(d, f, FINDING_UPDATE);
}

static void sum_cgroup(struct proc *p, void *arg)
{
	struct detector *d = arg;
	uintptr_t cur;
	uint32_t secs;
	double c;

	if (p->cgroup_id <= 1 || !p->act || !p->act->cpu_len)
		return;
	c = proc__cpu_avg(p, d->o.cfg->cpu_window_s, &secs);
	if (c < 0.01)
		return;
	/* No host has a billion cores: only corrupt samples get here, and must not overflow. */
	if (c > 1e9)
		c = 1e9;
	cur = (uintptr_t)htab__get(d->cgroup_cores, p->cgroup_id);
	htab__put(d->cgroup_cores, p->cgroup_id, (void *)(cur + (uintptr_t)(c * 1000)));
}

void detector__tick(struct detector *d, uint64_t now_boot_ns)
{
	struct htab *fresh = htab__new();

	d->tick++;
	d->now_boot_ns = now_boot_ns;
	if (fresh) {
		htab__free(d->cgroup_cores);
		d->cgroup_cores = fresh;
		proc_table__each(d->procs, sum_cgroup, d);
	}
	conn_table__each(d->conns, summarise_conn, d);
	d->nnext_top = 0;
	proc_table__each(d->procs, judge, d);
	memcpy(d->top, d->next_top, sizeof(d->top));
	d->ntop = d->nnext_top;
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
			.kind = f->suppressed_by ? SUSPECT_SUPPRESSED : SUSPECT_FINDING,
			.uid = f->uid,
			.pid = f->p->pid,
			.name = f->p->comm,
			.severity_id = f->current.severity_id,
			.confidence = f->current.confidence,
			.score = f->current.score,
			.why = f->current.why,
			.suppressed_by = f->suppressed_by,
			.first_seen_ms = f->first_seen_ms,
		};

		fn(&of, arg);
	}
	for (int i = 0; i < d->ntop; i++) {
		const struct suspect *sp = &d->top[i];
		struct open_finding of = {
			.kind = SUSPECT_BELOW_THRESHOLD,
			.pid = sp->pid,
			.name = sp->name,
			.severity_id = sp->v.severity_id,
			.confidence = sp->v.confidence,
			.score = sp->score,
			.why = sp->v.why,
		};

		fn(&of, arg);
	}
}

void detector__each_durable(const struct detector *d,
			    void (*fn)(const struct journal_open *o, void *arg), void *arg)
{
	for (const struct fstate *f = d->open; f; f = f->next) {
		struct journal_open o = { 0 };

		/* Only what has been reported: the rest is judged afresh after a restart. */
		if (!f->last_line || f->closed || f->suppressed_by || f->create_pending)
			continue;
		memcpy(o.uid, f->uid, sizeof(o.uid));
		o.pid = f->p->pid;
		o.start_ticks = proc__start_ticks(f->p->start_ns);
		o.first_seen_ms = f->first_seen_ms;
		o.last_seen_ms = f->last_seen_ms;
		o.last_emit_ms = f->last_emit_ms;
		o.severity_id = f->last.severity_id;
		o.signal_mask = f->last.signal_mask;
		o.peers_reported = f->peers_reported;
		o.line = f->last_line;
		fn(&o, arg);
	}
}

static bool restore_one(struct detector *d, const struct journal_open *o)
{
	struct proc *p = proc_table__lookup(d->procs, o->pid);
	struct fstate *f;

	if (!p || p->finding || proc__start_ticks(p->start_ns) != o->start_ticks)
		return false;
	f = calloc(1, sizeof(*f));
	if (!f)
		return false;
	f->last_line = strdup(o->line);
	if (!f->last_line) {
		free(f);
		return false;
	}
	f->d = d;
	f->p = p;
	memcpy(f->uid, o->uid, sizeof(f->uid));
	f->first_seen_ms = o->first_seen_ms;
	f->last_seen_ms = o->last_seen_ms;
	f->last_emit_ms = o->last_emit_ms;
	f->peers_reported = o->peers_reported;
	f->last.severity_id = o->severity_id;
	f->last.signal_mask = o->signal_mask;
	f->current = f->last;
	snprintf(f->current.why, sizeof(f->current.why),
		 "reported before the sensor restarted (severity %d); judged again as evidence "
		 "returns", o->severity_id);
	f->restored = true;
	link_f(d, f);
	return true;
}

size_t detector__restore(struct detector *d, const struct journal *j, bool *continued)
{
	size_t n = 0;

	for (size_t i = 0; i < j->nopen; i++) {
		/* A finding of an earlier boot names a process that is gone. */
		continued[i] = !strcmp(j->boot_id, d->o.host->boot_id) &&
			       restore_one(d, &j->open[i]);
		n += continued[i];
	}
	d->st.restored += n;
	return n;
}

void detector__close_gone(struct detector *d, const struct journal *j, const bool *continued)
{
	for (size_t i = 0; i < j->nopen; i++)
		if (!continued[i])
			write_closed(d, j->open[i].line, NULL);
}
