// SPDX-License-Identifier: Apache-2.0
/* Start-up, the event loop, reload and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "canary.h"
#include "caps.h"
#include "cloudctx.h"
#include "clock.h"
#include "control.h"
#include "health.h"
#include "journal.h"
#include "log.h"
#include "mwd.h"
#include "names.h"
#include "notify.h"
#include "procfs.h"
#include "suppress.h"

#define SINK_MAX_PENDING (16U << 20)
#define SWEEP_TICKS 30 /* seconds between sweeps for lost exits and closes */
/*
 * The timer fires every DRAIN_MS: each expiry drains the ring buffer (records
 * do not wake the daemon one by one, see mw_wakeup_bytes) and every
 * TICK_DRAINS-th one runs the 1 s tick.
 */
#define DRAIN_MS 100
#define TICK_DRAINS (1000 / DRAIN_MS)

int mwd__load_config(const struct mwd *m, struct config *c, char *err, size_t errsz)
{
	int e;

	config__defaults(c);
	e = config__load_file(c, m->config_path, m->config_required, err, errsz);
	if (!e)
		e = config__apply_env(c, err, errsz);
	for (int i = 0; !e && i < m->noverrides; i++) {
		char msg[384];

		e = config__set(c, m->overrides[i].key, m->overrides[i].value, msg, sizeof(msg));
		if (e)
			snprintf(err, errsz, "--%s: %s", m->overrides[i].key, msg);
	}
	return e;
}

void mwd__env_warning(struct mwd *m, const char *fmt, ...)
{
	char *w;
	va_list ap;

	if (m->nenv_warnings >= (int)(sizeof(m->env_warnings) / sizeof(m->env_warnings[0])))
		return;
	w = m->env_warnings[m->nenv_warnings++];
	va_start(ap, fmt);
	vsnprintf(w, sizeof(m->env_warnings[0]), fmt, ap);
	va_end(ap);
	log_warn("%s", w);
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void host_info(struct mwd *m)
{
	struct host_info *h = &m->host;
	char path[CFG_PATH_LEN + 32], line[256];
	struct utsname un;
	FILE *f;
	int e;

	if (gethostname(h->hostname, sizeof(h->hostname) - 1))
		h->hostname[0] = '\0';
	e = procfs__boot_id(m->cfg.host_root, h->boot_id);
	if (e) {
		/* The nil UUID: "unknown", rather than an id made up here. */
		snprintf(h->boot_id, sizeof(h->boot_id), "00000000-0000-0000-0000-000000000000");
		mwd__env_warning(m, "cannot read %s/proc/sys/kernel/random/boot_id (%s): findings "
				 "carry the nil boot id and their uids do not tell boots apart; "
				 "mount procfs in full there (not with subset=pid)",
				 strcmp(m->cfg.host_root, "/") ? m->cfg.host_root : "",
				 strerror(-e));
	}
	if (uname(&un) == 0)
		snprintf(h->kernel_release, sizeof(h->kernel_release), "%s", un.release);
	snprintf(h->os_name, sizeof(h->os_name), "Linux");
	snprintf(path, sizeof(path), "%s/etc/os-release", m->cfg.host_root);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(h->os_name, sizeof(h->os_name), "%.*s", (int)strcspn(line + 13, "\""),
			 line + 13);
	}
	if (f)
		fclose(f);
	snprintf(m->instance_missing, sizeof(m->instance_missing),
		 "the cloud context thread could not start");
}

static void cloud_opts(const struct config *c, struct cloudctx_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->imds_enabled = !c->imds_disabled;
	snprintf(o->imds_disabled_why, sizeof(o->imds_disabled_why), "%s", c->imds_disabled_by);
	snprintf(o->imds.endpoint, sizeof(o->imds.endpoint), "%s", config__imds_endpoint(c));
	o->imds.timeout_ms = c->imds_timeout_ms;
	o->imds.retries = (int)c->imds_retries;
	o->imds.token_ttl_s = c->imds_token_ttl_s;
	o->imds.v1_fallback = c->imds_v1_fallback;
	o->imds_refresh_s = c->imds_refresh_s;
	o->ecs_enabled = !c->ecs_disabled;
	snprintf(o->ecs_url, sizeof(o->ecs_url), "%s", c->ecs_agent_url);
	o->ecs_timeout_ms = c->ecs_timeout_ms;
	o->ecs_ttl_s = c->ecs_cache_s;
	o->ecs_negative_ttl_s = c->ecs_negative_cache_s;
}

/* Starts (or restarts) the context thread with m->cloud_opts; findings flow without it. */
static void start_cloud(struct mwd *m)
{
	const struct cloudctx_opts *o = &m->cloud_opts;
	char err[256];

	if (m->cloud) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, cloudctx__wake_fd(m->cloud), NULL);
		detector__set_cloud(m->det, NULL);
		cloudctx__stop(m->cloud);
		m->cloud = NULL;
	}
	m->cloud = cloudctx__start(o, err, sizeof(err));
	if (!m->cloud) {
		log_error("no cloud context: %s", err);
		return;
	}
	if (add_fd(m->epfd, cloudctx__wake_fd(m->cloud))) {
		log_error("no cloud context: epoll: %s", strerror(errno));
		cloudctx__stop(m->cloud);
		m->cloud = NULL;
		return;
	}
	detector__set_cloud(m->det, m->cloud);
	if (o->imds_enabled)
		log_info("instance metadata from %s", o->imds.endpoint);
	else
		log_info("instance metadata disabled by %s", o->imds_disabled_why);
}

static void read_kstats(struct mwd *m)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mw_stats *per = NULL, sum = { 0 };
	uint32_t zero = 0;
	uint64_t total = 0;

	if (ncpu <= 0)
		return;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per || bpf_map_lookup_elem(loader__stats_fd(m->loader), &zero, per)) {
		free(per);
		return;
	}
	for (int c = 0; c < ncpu; c++) {
		for (int i = 0; i < MW_EV_TYPE_MAX; i++) {
			sum.events[i] += per[c].events[i];
			sum.ringbuf_drops[i] += per[c].ringbuf_drops[i];
		}
		sum.conn_map_full += per[c].conn_map_full;
		sum.cpu_map_full += per[c].cpu_map_full;
		sum.thread_map_full += per[c].thread_map_full;
		sum.cpu_samples += per[c].cpu_samples;
		sum.read_errors += per[c].read_errors;
	}
	free(per);
	m->kstats = sum;
	total = mwd__lost_total(&sum);
	if (total != m->lost_total_prev) {
		log_warn("kernel events lost: %llu so far (ring buffer or map full)",
			 (unsigned long long)total);
		m->lost_total_prev = total;
		m->lost_last_change_ns = mwd__boot_ns();
	}
}

static struct proc *cpu_lookup(uint32_t tgid, void *arg)
{
	return mwd__proc_for(arg, tgid);
}

/*
 * Losses also go to the findings stream, as a health record: whoever reads
 * findings must learn that detection may be impaired, and flooding the
 * sensor is an evasion technique. At most one record a minute, so that the
 * flood cannot turn the stream into a flood of its own; each record says how
 * many were lost since the one before.
 */
#define HEALTH_INTERVAL_S 60

static void report_losses(struct mwd *m)
{
	uint64_t total = mwd__lost_total(&m->kstats), now = mwd__boot_ns();
	struct health_lost h = {
		.total = total,
		.since_last = total - m->health_lost_reported,
		.interval_s = HEALTH_INTERVAL_S,
		.kstats = &m->kstats,
		.proc_table_full = proc_table__dropped(m->procs),
		.conn_table_full = conn_table__dropped(m->conns),
		.hostname = m->host.hostname[0] ? m->host.hostname : NULL,
		.boot_id = m->host.boot_id[0] ? m->host.boot_id : NULL,
		.os_name = m->host.os_name[0] ? m->host.os_name : NULL,
		.kernel_release = m->host.kernel_release[0] ? m->host.kernel_release : NULL,
	};
	char *line;

	if (total <= m->health_lost_reported ||
	    (m->health_last_ns && now - m->health_last_ns < HEALTH_INTERVAL_S * 1000000000ULL))
		return;
	h.time_ms = clock__ms(CLOCK_REALTIME);
	line = health__events_lost(&h);
	if (!line)
		return;
	/* The sink keeps what it cannot write yet: the record is not lost either. */
	sink__write(m->sink, line);
	free(line);
	m->health_records++;
	m->health_lost_reported = total;
	m->health_last_ns = now;
}

/* --- the findings journal ------------------------------------------------- */

struct journal_build {
	struct journal j;
	size_t cap_open, cap_pending;
	bool oom;
};

static void add_open(const struct journal_open *o, void *arg)
{
	struct journal_build *b = arg;

	if (b->j.nopen == b->cap_open) {
		size_t cap = b->cap_open ? b->cap_open * 2 : 16;
		struct journal_open *n = realloc(b->j.open, cap * sizeof(*n));

		if (!n) {
			b->oom = true;
			return;
		}
		b->j.open = n;
		b->cap_open = cap;
	}
	b->j.open[b->j.nopen++] = *o; /* borrows o->line */
}

/* Keeps the sink's copy of the line; a journal missing one is not saved. */
static void add_pending(char *line, void *arg)
{
	struct journal_build *b = arg;

	if (!line) {
		b->oom = true;
		return;
	}
	if (b->j.npending == b->cap_pending) {
		size_t cap = b->cap_pending ? b->cap_pending * 2 : 16;
		char **n = realloc(b->j.pending, cap * sizeof(*n));

		if (!n) {
			free(line);
			b->oom = true;
			return;
		}
		b->j.pending = n;
		b->cap_pending = cap;
	}
	b->j.pending[b->j.npending++] = line;
}

/*
 * Called by the sink whenever its queue changes: the journal then holds the
 * open findings and every record not yet written. A failure (the state
 * directory's disk full, say) keeps everything in memory and shows in status.
 */
static void save_journal(void *arg)
{
	struct mwd *m = arg;
	struct journal_build b = { 0 };
	int e;

	snprintf(b.j.boot_id, sizeof(b.j.boot_id), "%s", m->host.boot_id);
	detector__each_durable(m->det, add_open, &b);
	sink__each_pending(m->sink, add_pending, &b);
	e = b.oom ? -ENOMEM : journal__save(m->cfg.state_dir, &b.j);
	for (size_t i = 0; i < b.j.npending; i++)
		free(b.j.pending[i]);
	free(b.j.pending);
	free(b.j.open);
	if (e && -e != m->journal_error)
		log_error("cannot save the findings journal in %s: %s (findings are kept in "
			  "memory until it can be saved)", m->cfg.state_dir, strerror(-e));
	else if (!e && m->journal_error)
		log_info("findings journal saved again in %s", m->cfg.state_dir);
	m->journal_error = e ? -e : 0;
	m->journal_saves += !e;
}

/*
 * After the /proc scan: open findings of the run before are continued (same
 * uid, no new Create) while their processes live and closed when they do
 * not, and the records it had not written yet are written now.
 */
static void resume_journal(struct mwd *m)
{
	struct journal j;
	char err[256] = "";
	bool *continued;
	size_t n;
	int e = journal__load(m->cfg.state_dir, &j, err, sizeof(err));

	if (e == -ENOENT) {
		sink__set_journal(m->sink, save_journal, m);
		return;
	}
	if (e) {
		/* Kept aside for whoever investigates; the sensor starts afresh. */
		char from[PATH_MAX], to[PATH_MAX];

		snprintf(from, sizeof(from), "%s/%s", m->cfg.state_dir, JOURNAL_FILE);
		snprintf(to, sizeof(to), "%s/%s.unreadable", m->cfg.state_dir, JOURNAL_FILE);
		log_error("findings journal unreadable (%s): moved to %s, starting without it",
			  err, to);
		rename(from, to);
		sink__set_journal(m->sink, save_journal, m);
		return;
	}
	continued = calloc(j.nopen + 1, sizeof(*continued));
	if (!continued) {
		log_error("out of memory reading the findings journal");
		journal__free(&j);
		sink__set_journal(m->sink, save_journal, m);
		return;
	}
	/* Continued findings first: each save from here on must include them. */
	n = detector__restore(m->det, &j, continued);
	sink__set_journal(m->sink, save_journal, m);
	m->journal_already_written = sink__replay(m->sink, j.pending, j.npending);
	m->journal_replayed = j.npending - m->journal_already_written;
	detector__close_gone(m->det, &j, continued);
	save_journal(m);
	log_info("findings journal: %zu open findings continued, %zu closed (process ended), "
		 "%llu queued records written now, %llu found already written",
		 n, j.nopen - n, (unsigned long long)m->journal_replayed,
		 (unsigned long long)m->journal_already_written);
	free(continued);
	journal__free(&j);
}

static void tick(struct mwd *m)
{
	uint64_t now = mwd__boot_ns();
	struct sink_stats ss;
	int e;

	read_kstats(m);
	report_losses(m);
	canary__tick(m->canary, m, now);
	e = cpu_reader__poll(m->cpu, m->procs, now - m->last_cpu_boot_ns, cpu_lookup, m);
	if (e < 0)
		log_warn("reading CPU samples failed: %s", strerror(-e));
	m->last_cpu_boot_ns = now;
	detector__tick(m->det, now);
	if (++m->ticks % SWEEP_TICKS == 0)
		mwd__sweep(m);
	/* The loop is alive and ticking: tell systemd's watchdog. */
	if (m->watchdog_s && m->ticks % m->watchdog_s == 0)
		notify__send("WATCHDOG=1");
	sink__stats(m->sink, &ss);
	if (ss.pending)
		sink__flush(m->sink);
	control__expire(m->ctl);
}

/*
 * The pool-name and suppression lists. A default file that does not exist
 * is an empty list; a file named in the config must exist and parse.
 */
int mwd__load_lists(const struct config *c, struct name_list **ret_names,
		    struct suppress_list **ret_sup, char *err, size_t errsz)
{
	const char *np = c->pool_names_file, *sp = c->suppress_file;
	int e;

	if (!c->pool_names_file_set && access(np, F_OK))
		np = NULL;
	if (!c->suppress_file_set && access(sp, F_OK))
		sp = NULL;
	e = names__load(np, ret_names, err, errsz);
	if (e)
		return e;
	e = suppress__load(sp, ret_sup, err, errsz);
	if (e) {
		names__free(*ret_names);
		*ret_names = NULL;
	}
	return e;
}

static void reload(struct mwd *m)
{
	struct suppress_list *sup = NULL;
	struct name_list *names = NULL;
	struct config c;
	char err[512];

	if (mwd__load_config(m, &c, err, sizeof(err)) ||
	    mwd__load_lists(&c, &names, &sup, err, sizeof(err))) {
		log_error("config reload rejected, keeping the running config: %s", err);
		snprintf(m->reload_error, sizeof(m->reload_error), "%s", err);
	} else {
		/* Settings that need no re-attach take effect now. */
		m->cfg.log_level = c.log_level;
		m->cfg.detect = c.detect;
		m->cfg.update_interval_s = c.update_interval_s;
		memcpy(m->cfg.miner_names, c.miner_names, sizeof(c.miner_names));
		memcpy(m->cfg.pool_ports, c.pool_ports, sizeof(c.pool_ports));
		m->cfg.npool_ports = c.npool_ports;
		m->cfg.format = c.format;
		m->asff = c.format == FORMAT_ASFF;
		m->cfg.context_wait_ms = c.context_wait_ms;
		{
			struct cloudctx_opts o;

			/* The context thread restarts only when its settings changed. */
			cloud_opts(&c, &o);
			if (memcmp(&o, &m->cloud_opts, sizeof(o)) || !m->cloud) {
				m->cloud_opts = o;
				start_cloud(m);
			}
		}
		detector__set_lists(m->det, names, sup);
		names__free(m->pool_names);
		suppress__free(m->suppress);
		m->pool_names = names;
		m->suppress = sup;
		log__set_level(c.log_level);
		m->reload_error[0] = '\0';
		log_info("config reloaded from %s: %zu pool names, %zu suppression rules",
			 m->config_path, names__count(names), suppress__count(sup));
	}
	if (sink__reopen(m->sink))
		log_error("cannot reopen the output %s", sink__path(m->sink));
}


/*
 * In a container (--host-root), other processes' /proc/PID/cgroup reads as
 * paths relative to the container's own cgroup namespace ("/../.."), which
 * hides their container and ECS task. Joining the initial cgroup namespace
 * (CAP_SYS_ADMIN, which a container sensor has anyway) makes them absolute.
 * kthreadd (pid 2) is always in it and, having no memory map, is open to
 * root's namespace queries where pid 1 may not be.
 */
static void join_host_cgroupns(struct mwd *m)
{
	char path[CFG_PATH_LEN + 32];
	struct stat host, self;
	int fd;

	if (!strcmp(m->cfg.host_root, "/") || !m->cfg.host_root[0])
		return;
	snprintf(path, sizeof(path), "%s/proc/2/ns/cgroup", m->cfg.host_root);
	if (stat(path, &host) || stat("/proc/self/ns/cgroup", &self)) {
		log_warn("cannot compare cgroup namespaces with %s: %s", path, strerror(errno));
		return;
	}
	if (host.st_ino == self.st_ino && host.st_dev == self.st_dev)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWCGROUP)) {
		log_warn("cannot join the host's cgroup namespace (%s): containers of other "
			 "processes will not be named; run with the host's cgroup namespace",
			 strerror(errno));
	} else {
		log_info("joined the host's cgroup namespace");
		m->host_cgroupns = true;
	}
	if (fd >= 0)
		close(fd);
}

/*
 * Processes, mounts and capabilities are read from procfs: without it the
 * sensor would attach and then see nothing it could name. Container mode
 * reads the host's processes under --host-root as well as its own /proc.
 */
static int check_procfs(const struct mwd *m)
{
	const char *root = m->cfg.host_root;
	bool host = root[0] && strcmp(root, "/");
	char path[CFG_PATH_LEN + 8];

	for (int i = 0; i < (host ? 2 : 1); i++) {
		struct statfs sf;
		const char *why;

		snprintf(path, sizeof(path), "%s/proc", i ? root : "");
		if (statfs(path, &sf))
			why = strerror(errno);
		else if (sf.f_type != PROC_SUPER_MAGIC)
			why = "not a procfs mount";
		else
			continue;
		if (i)
			log_error("no procfs at %s (%s): container mode reads the host's processes "
				  "there; mount the host's /proc at %s (read-only is enough)",
				  path, why, path);
		else
			log_error("no procfs at /proc (%s): the sensor reads processes, its mounts "
				  "and its capabilities there; mount it (mount -t proc proc /proc)",
				  why);
		return -ENOENT;
	}
	return 0;
}

/*
 * Capabilities, before anything is loaded: the kernel answers a missing one
 * with a bare EPERM, and libbpf then suggests raising the memlock limit.
 * Those that cost detail rather than detection are warnings.
 */
static int check_caps(struct mwd *m)
{
	uint64_t eff = caps__effective();
	char missing[256];
	int n = caps__missing_for_attach(eff, caps__last(), missing, sizeof(missing));

	if (n) {
		log_error("missing capabilit%s %s: run minerwatchd as root with the capabilities "
			  "CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (the shipped systemd unit grants "
			  "them), or in a container where CAP_BPF and CAP_PERFMON cannot be "
			  "granted, as on ECS, with CAP_SYS_ADMIN",
			  n > 1 ? "ies" : "y", missing);
		return -EPERM;
	}
	if (!(eff & (1ULL << CAP_SYS_PTRACE)))
		mwd__env_warning(m, "CAP_SYS_PTRACE is missing: /proc/PID/exe of other users' "
				 "processes cannot be read, so their findings carry no SHA-256 of "
				 "the executable; grant CAP_SYS_PTRACE");
	if (!(eff & (1ULL << CAP_DAC_READ_SEARCH | 1ULL << CAP_DAC_OVERRIDE)))
		mwd__env_warning(m, "CAP_DAC_READ_SEARCH is missing: executables this user may "
				 "not read cannot be hashed; grant CAP_DAC_READ_SEARCH (or "
				 "CAP_DAC_OVERRIDE)");
	return 0;
}

static int setup(struct mwd *m)
{
	struct loader_opts lo = {
		.btf_path = m->cfg.btf[0] ? m->cfg.btf : NULL,
		.cgroup_root = m->cfg.cgroup_root[0] ? m->cfg.cgroup_root : NULL,
		.hooks = m->cfg.hooks,
		.ringbuf_bytes = m->cfg.ringbuf_kib * 1024,
		.max_conns = m->cfg.max_connections,
		.max_procs = m->cfg.max_processes,
		.sample_hz = m->cfg.cpu_sample_hz,
	};
	struct detector_opts dopt = { 0 };
	struct itimerspec its = { .it_interval = { 0, DRAIN_MS * 1000000L },
				  .it_value = { 0, DRAIN_MS * 1000000L } };
	char err[1024] = "";
	sigset_t mask;
	int e;

	if (check_procfs(m) || check_caps(m))
		return EXIT_ENV;
	host_info(m);
	join_host_cgroupns(m);
	e = mwd__load_lists(&m->cfg, &m->pool_names, &m->suppress, err, sizeof(err));
	if (e) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	e = sink__open(m->cfg.output, SINK_MAX_PENDING, &m->sink, err, sizeof(err));
	if (e) {
		log_error("%s", err);
		return EXIT_ENV;
	}
	m->procs = proc_table__new(m->cfg.max_processes);
	m->conns = conn_table__new(m->cfg.max_connections);
	if (!m->procs || !m->conns) {
		log_error("out of memory");
		return EXIT_ENV;
	}
	e = control__open(m->cfg.socket, mwd__control, m, &m->ctl, err, sizeof(err));
	if (e) {
		log_error("%s", err);
		return EXIT_ENV;
	}
	e = loader__start(&lo, &m->loader, err, sizeof(err));
	if (e) {
		log_error("%s", err);
		return EXIT_ENV;
	}
	for (int i = 0; i < loader__prog_count(m->loader); i++) {
		const struct prog_state *p = loader__prog(m->loader, i);

		if (p->attached)
			log_info("attached %s: %s", p->name, p->hook);
		else
			log_error("program %s not attached (%s): %s", p->name, p->hook, p->error);
	}
	m->rb = ring_buffer__new(loader__ringbuf_fd(m->loader), mwd__handle_event, m, NULL);
	m->cpu = cpu_reader__new(loader__cpu_proc_fd(m->loader), loader__cpu_thread_fd(m->loader),
				 m->cfg.cpu_sample_hz, m->cfg.max_processes * 2);
	dopt.cfg = &m->cfg.detect;
	dopt.update_interval_s = &m->cfg.update_interval_s;
	dopt.host_root = m->cfg.host_root;
	dopt.miner_names = m->cfg.miner_names;
	dopt.pool_ports = m->cfg.pool_ports;
	dopt.npool_ports = &m->cfg.npool_ports;
	dopt.host = &m->host;
	dopt.instance_missing = m->instance_missing;
	m->asff = m->cfg.format == FORMAT_ASFF;
	dopt.asff = &m->asff;
	dopt.context_wait_ms = &m->cfg.context_wait_ms;
	dopt.conn_slots_fd = loader__conn_slots_fd(m->loader);
	dopt.slot_conns_fd = loader__slot_conns_fd(m->loader);
	dopt.conns_map_fd = loader__conns_fd(m->loader);
	m->det = detector__new(&dopt, m->procs, m->conns, m->sink);
	if (!m->rb || !m->cpu || !m->det) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		return EXIT_ENV;
	}
	proc_table__set_release(m->procs, detector__release, m->det);
	detector__set_lists(m->det, m->pool_names, m->suppress);
	m->last_cpu_boot_ns = mwd__boot_ns();

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	m->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->sigfd < 0 || m->timerfd < 0 || m->epfd < 0 || timerfd_settime(m->timerfd, 0, &its, NULL) ||
	    add_fd(m->epfd, m->sigfd) || add_fd(m->epfd, m->timerfd) ||
	    add_fd(m->epfd, ring_buffer__epoll_fd(m->rb)) || add_fd(m->epfd, control__fd(m->ctl))) {
		log_error("cannot set up the event loop: %s", strerror(errno));
		return EXIT_ENV;
	}
	cloud_opts(&m->cfg, &m->cloud_opts);
	start_cloud(m);

	mwd__scan(m);
	/*
	 * Before any record is handled: a miner's share already in the ring
	 * would otherwise raise its finding afresh before it is continued.
	 */
	resume_journal(m);
	ring_buffer__consume(m->rb);
	/*
	 * Loading parsed the kernel's BTF (several MiB) and the scan read all of
	 * /proc; give that freed heap back so the steady-state RSS is what the
	 * sensor really holds.
	 */
	malloc_trim(0);
	{
		char cerr[160];

		/* Attached and scanned: what made that possible is no longer needed. */
		if (caps__drop_after_attach(cerr, sizeof(cerr)))
			log_warn("cannot drop capabilities: %s", cerr);
		m->caps_kept = caps__effective();
	}
	/* From the first tick on, every hook proves every few seconds that it still runs. */
	m->canary = canary__new();
	if (!m->canary)
		log_warn("self-check disabled: out of memory");
	m->ready = true;
	m->ready_boot_ns = mwd__boot_ns();
	m->watchdog_s = notify__watchdog_interval();
	notify__send("READY=1\nSTATUS=sensing");
	log_info("ready in %llu ms: %zu processes, %zu connections tracked%s",
		 (unsigned long long)((m->ready_boot_ns - m->start_boot_ns) / 1000000),
		 proc_table__count(m->procs), conn_table__count(m->conns),
		 loader__all_attached(m->loader) ? "" : " (degraded: see status)");
	return EXIT_OK;
}

static void teardown(struct mwd *m)
{
	if (m->rb)
		ring_buffer__consume(m->rb);
	/* Open findings stay open across a restart: shutdown is not a process exit. */
	if (m->procs)
		proc_table__set_release(m->procs, NULL, NULL);
	/* A last attempt at what is queued; the journal keeps whatever remains. */
	if (m->sink && m->det) {
		sink__flush(m->sink);
		sink__set_journal(m->sink, NULL, NULL);
	}
	ring_buffer__free(m->rb);
	canary__free(m->canary);
	m->canary = NULL;
	loader__stop(m->loader);
	cloudctx__stop(m->cloud);
	m->cloud = NULL;
	detector__free(m->det);
	cpu_reader__free(m->cpu);
	control__close(m->ctl);
	proc_table__free(m->procs);
	conn_table__free(m->conns);
	sink__close(m->sink);
	names__free(m->pool_names);
	suppress__free(m->suppress);
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->sigfd >= 0)
		close(m->sigfd);
	if (m->timerfd >= 0)
		close(m->timerfd);
}

static void on_signal(struct mwd *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(m);
		} else {
			log_info("signal %u: stopping", si.ssi_signo);
			m->stopping = true;
		}
	}
}

int mwd__run(struct mwd *m)
{
	int rc;

	m->epfd = m->sigfd = m->timerfd = -1;
	m->start_boot_ns = mwd__boot_ns();
	log__set_level(m->cfg.log_level);
	rc = setup(m);
	while (rc == EXIT_OK && !m->stopping) {
		struct epoll_event evs[8];
		int n = epoll_wait(m->epfd, evs, 8, 1000);

		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			rc = EXIT_ENV;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == m->sigfd) {
				on_signal(m);
			} else if (fd == m->timerfd) {
				uint64_t exp;

				if (read(m->timerfd, &exp, sizeof(exp)) != sizeof(exp))
					continue;
				ring_buffer__consume(m->rb);
				m->drains += exp;
				if (m->drains >= TICK_DRAINS) {
					m->drains = 0;
					tick(m);
				}
			} else if (fd == control__fd(m->ctl)) {
				control__process(m->ctl);
			} else if (m->cloud && fd == cloudctx__wake_fd(m->cloud)) {
				cloudctx__drain(m->cloud);
				detector__context_ready(m->det);
			} else {
				ring_buffer__consume(m->rb);
			}
		}
	}
	notify__send("STOPPING=1");
	teardown(m);
	return rc;
}
