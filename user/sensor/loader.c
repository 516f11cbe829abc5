// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "minerwatch.h" /* before the skeleton: it names struct mw_canary */
#include "minerwatch.skel.h"
#include "loader.h"
#include "log.h"

#define KERNEL_BTF "/sys/kernel/btf/vmlinux"
#define MAX_CPUS 1024

enum prog_idx {
	P_EXEC = MW_PROG_EXEC, P_EXIT = MW_PROG_EXIT, P_CPU = MW_PROG_CPU,
	P_CONNECT4 = MW_PROG_CONNECT4, P_CONNECT6 = MW_PROG_CONNECT6,
	P_SENDMSG4 = MW_PROG_SENDMSG4, P_SENDMSG6 = MW_PROG_SENDMSG6, P_EGRESS = MW_PROG_EGRESS,
	P_INGRESS = MW_PROG_INGRESS, P_CLOSE = MW_PROG_CLOSE, P_N = MW_PROG_N
};

static const char *const prog_names[P_N] = {
	[P_EXEC] = "exec", [P_EXIT] = "exit", [P_CPU] = "cpu_sample",
	[P_CONNECT4] = "connect4", [P_CONNECT6] = "connect6", [P_SENDMSG4] = "sendmsg4",
	[P_SENDMSG6] = "sendmsg6", [P_EGRESS] = "skb_egress",
	[P_INGRESS] = "skb_ingress", [P_CLOSE] = "sock_close",
};

struct loader {
	struct minerwatch_bpf *skel;
	struct prog_state progs[P_N];
	struct bpf_link *links[P_N];
	struct bpf_link **cpu_links;
	int *cpu_fds;
	/* Each link as attached, and what the self-check last found of it. */
	struct link_expect expect[P_N];
	struct link_expect *cpu_expect;
	enum link_verdict verdict[P_N];
	enum link_verdict *cpu_verdict;
	int ncpus;
	int cgroup_fd;
	char btf_source[128];
	char cgroup_root[256];
};

/*
 * libbpf's warnings, so a failure can say what libbpf said: the first since
 * the last reset (usually the cause: which program or map the kernel
 * refused) and the last (usually the step that failed).
 */
static char first_libbpf_msg[256], last_libbpf_msg[256];

static void libbpf_msgs_reset(void)
{
	first_libbpf_msg[0] = last_libbpf_msg[0] = '\0';
}

/* "first; last", or one of them when there is one only. */
static const char *libbpf_said(void)
{
	static char both[sizeof(first_libbpf_msg) + sizeof(last_libbpf_msg) + 2];

	if (!first_libbpf_msg[0])
		return "no message";
	if (!strcmp(first_libbpf_msg, last_libbpf_msg))
		return first_libbpf_msg;
	snprintf(both, sizeof(both), "%s; %s", first_libbpf_msg, last_libbpf_msg);
	return both;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[512];
	const char *msg = buf;
	size_t n;
	va_list copy;

	/* Verifier logs are long: at debug level pass them through whole. */
	if (log__level() >= LOG_LVL_DEBUG) {
		va_copy(copy, ap);
		vfprintf(stderr, fmt, copy);
		va_end(copy);
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (!strncmp(msg, "libbpf: ", 8))
		msg += 8;
	if (level == LIBBPF_WARN) {
		if (!first_libbpf_msg[0])
			snprintf(first_libbpf_msg, sizeof(first_libbpf_msg), "%s", msg);
		snprintf(last_libbpf_msg, sizeof(last_libbpf_msg), "%s", msg);
	}
	return 0;
}

static int find_cgroup2(char *out, size_t outsz)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[256], mnt[256], fstype[64];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*d %*d %*s %255s %255s", root, mnt) != 2)
			continue;
		/* Only a mount of the hierarchy's root sees every process. */
		if (strcmp(root, "/"))
			continue;
		snprintf(out, outsz, "%s", mnt);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static void set_flavour(struct minerwatch_bpf *s, bool btf)
{
	bpf_program__set_autoload(s->progs.mw_exec_btf, btf);
	bpf_program__set_autoload(s->progs.mw_exit_btf, btf);
	bpf_program__set_autoload(s->progs.mw_sock_close_btf, btf);
	bpf_program__set_autoload(s->progs.mw_exec_raw, !btf);
	bpf_program__set_autoload(s->progs.mw_exit_raw, !btf);
	bpf_program__set_autoload(s->progs.mw_sock_close_raw, !btf);
}

static int open_and_load(const struct loader_opts *o, bool btf, struct minerwatch_bpf **ret,
			 char *err, size_t errsz)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct minerwatch_bpf *s;
	int e;

	libbpf_msgs_reset();
	s = minerwatch_bpf__open_opts(&oo);
	if (!s) {
		e = -errno;
		snprintf(err, errsz, "cannot open the BPF object: %s (libbpf: %s)", strerror(-e),
			 libbpf_said());
		return e;
	}
	s->rodata->mw_self_tgid = (uint32_t)getpid();
	/* Batches of an eighth of the ring: far from full, yet few wake-ups. */
	s->rodata->mw_wakeup_bytes = o->ringbuf_bytes / 8;
	bpf_map__set_max_entries(s->maps.mw_events, o->ringbuf_bytes);
	bpf_map__set_max_entries(s->maps.mw_conns, o->max_conns);
	bpf_map__set_max_entries(s->maps.mw_cpu_proc, o->max_procs);
	bpf_map__set_max_entries(s->maps.mw_cpu_thread, o->max_procs * 2);
	set_flavour(s, btf);
	e = minerwatch_bpf__load(s);
	if (e) {
		snprintf(err, errsz, "cannot load the BPF programs (%s hooks): %s (libbpf: %s)",
			 btf ? "tp_btf" : "raw_tp", strerror(-e), libbpf_said());
		minerwatch_bpf__destroy(s);
		return e;
	}
	*ret = s;
	return 0;
}

/* What the kernel says of a link descriptor now. */
static void query_link(int fd, struct link_seen *out)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	memset(out, 0, sizeof(*out));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		out->err = fd < 0 ? -EBADF : -errno;
		return;
	}
	out->id = info.id;
	out->prog_id = info.prog_id;
	out->type = info.type;
	if (info.type == BPF_LINK_TYPE_CGROUP)
		out->cgroup_id = info.cgroup.cgroup_id;
}

/* Remembers a fresh link's identity, for the self-check to compare against. */
static void remember(struct bpf_link *link, struct link_expect *want)
{
	struct link_seen now;

	memset(want, 0, sizeof(*want));
	query_link(bpf_link__fd(link), &now);
	if (now.err)
		return; /* id 0: never judged */
	want->id = now.id;
	want->prog_id = now.prog_id;
	want->type = now.type;
	want->cgroup_id = now.cgroup_id;
}

static void record(struct loader *l, int idx, const char *hook, struct bpf_link *link, int e)
{
	struct prog_state *p = &l->progs[idx];

	if (link)
		remember(link, &l->expect[idx]);
	else
		l->verdict[idx] = LINK_NONE;

	p->name = prog_names[idx];
	snprintf(p->hook, sizeof(p->hook), "%s", hook);
	l->links[idx] = link;
	p->attached = link != NULL;
	if (!link)
		snprintf(p->error, sizeof(p->error), "attach failed: %s (libbpf: %s)", strerror(-e),
			 libbpf_said());
}

static struct bpf_link *attach_trace(struct bpf_program *prog, int *ret_err)
{
	struct bpf_link *link;

	libbpf_msgs_reset();
	link = bpf_program__attach(prog);

	*ret_err = link ? 0 : -errno;
	return link;
}

static struct bpf_link *attach_cgroup(struct loader *l, struct bpf_program *prog, int *ret_err)
{
	struct bpf_link *link;

	libbpf_msgs_reset();
	link = bpf_program__attach_cgroup(prog, l->cgroup_fd);

	*ret_err = link ? 0 : -errno;
	return link;
}

int loader__online_cpus(bool *online, int max)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int a, b, n = 0;
	char sep;

	memset(online, 0, sizeof(bool) * max);
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = '\n';
		}
		for (int c = a; c <= b && c < max; c++, n++)
			online[c] = true;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

/*
 * One software cpu-clock event per online CPU, each running the sampler. A
 * CPU that refuses is reported; the sampler counts as attached when at least
 * one CPU has it, since CPU accounting is then only partial.
 */
static void attach_sampler(struct loader *l, uint32_t hz)
{
	static bool online[MAX_CPUS];
	int n = loader__online_cpus(online, MAX_CPUS), ok = 0, first_err = 0;
	struct prog_state *p = &l->progs[P_CPU];

	p->name = prog_names[P_CPU];
	l->cpu_links = calloc(MAX_CPUS, sizeof(*l->cpu_links));
	l->cpu_fds = calloc(MAX_CPUS, sizeof(*l->cpu_fds));
	l->cpu_expect = calloc(MAX_CPUS, sizeof(*l->cpu_expect));
	l->cpu_verdict = calloc(MAX_CPUS, sizeof(*l->cpu_verdict));
	if (n <= 0 || !l->cpu_links || !l->cpu_fds || !l->cpu_expect || !l->cpu_verdict) {
		l->verdict[P_CPU] = LINK_NONE;
		snprintf(p->error, sizeof(p->error), "cannot list online CPUs");
		return;
	}
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.freq = 1,
			.sample_freq = hz,
		};
		int fd;

		l->cpu_fds[cpu] = -1;
		if (!online[cpu])
			continue;
		fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			first_err = first_err ? first_err : -errno;
			continue;
		}
		l->cpu_fds[cpu] = fd;
		l->cpu_links[cpu] = bpf_program__attach_perf_event(l->skel->progs.mw_cpu_sample, fd);
		if (!l->cpu_links[cpu]) {
			first_err = first_err ? first_err : -errno;
			continue;
		}
		remember(l->cpu_links[cpu], &l->cpu_expect[cpu]);
		ok++;
	}
	l->ncpus = MAX_CPUS;
	snprintf(p->hook, sizeof(p->hook), "perf_event/cpu-clock %uHz on %d/%d CPUs", hz, ok, n);
	p->attached = ok > 0;
	if (!ok)
		l->verdict[P_CPU] = LINK_NONE;
	if (ok < n)
		snprintf(p->error, sizeof(p->error), "%d CPU(s) not sampled: %s", n - ok,
			 strerror(-first_err));
}

/*
 * An external BTF file must parse and describe a kernel; otherwise the load
 * would fail later with a bare libbpf error code.
 */
static int check_btf_file(const char *path, char *err, size_t errsz)
{
	struct utsname un;
	struct stat st;
	char why[128];
	struct btf *b = NULL;
	int e = 0;

	libbpf_msgs_reset();
	/* A FIFO would block the start for ever, a device feed it endless bytes. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		e = -EINVAL;
		snprintf(why, sizeof(why), "not a regular file");
	} else if (!(b = btf__parse(path, NULL))) {
		e = -errno;
		libbpf_strerror(e, why, sizeof(why));
	} else if (btf__find_by_name_kind(b, "task_struct", BTF_KIND_STRUCT) < 0) {
		e = -EINVAL;
		snprintf(why, sizeof(why), "it has no task_struct: not the BTF of a kernel");
	}
	btf__free(b);
	if (e) {
		if (uname(&un))
			snprintf(un.release, sizeof(un.release), "running");
		snprintf(err, errsz,
			 "BTF file %s is not usable (%s): pass --btf the BTF of kernel %s, as a "
			 "raw BTF file (BTFHub publishes them for distribution kernels) or a "
			 "vmlinux with a .BTF section",
			 path, why, un.release);
	}
	return e;
}

int loader__start(const struct loader_opts *o, struct loader **ret, char *err, size_t errsz)
{
	struct loader *l = calloc(1, sizeof(*l));
	bool want_btf;
	int e, cgroup_err = 0;

	if (!l)
		return -ENOMEM;
	l->cgroup_fd = -1;
	libbpf_set_print(libbpf_print);

	if (o->btf_path) {
		if (access(o->btf_path, R_OK)) {
			e = -errno;
			snprintf(err, errsz, "cannot read BTF file %s: %s", o->btf_path,
				 strerror(-e));
			goto fail;
		}
		e = check_btf_file(o->btf_path, err, errsz);
		if (e)
			goto fail;
		snprintf(l->btf_source, sizeof(l->btf_source), "%s", o->btf_path);
	} else if (access(KERNEL_BTF, R_OK) == 0) {
		snprintf(l->btf_source, sizeof(l->btf_source), "%s", KERNEL_BTF);
	} else {
		e = -ENOENT;
		snprintf(err, errsz,
			 "this kernel exposes no BTF (%s is missing): run on a kernel built with "
			 "CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE with the BTF of this kernel",
			 KERNEL_BTF);
		goto fail;
	}

	/* tp_btf attaches through the kernel's own BTF; an external file cannot. */
	want_btf = o->hooks != HOOK_RAW && !o->btf_path;
	e = open_and_load(o, want_btf, &l->skel, err, errsz);
	/* Raw tracepoints need the same privileges: no second try on EPERM. */
	if (e && e != -EPERM && want_btf && o->hooks == HOOK_AUTO) {
		log_warn("%s; retrying with raw tracepoints", err);
		want_btf = false;
		e = open_and_load(o, false, &l->skel, err, errsz);
	}
	if (e) {
		/* The daemon checked the capabilities before: something else refuses. */
		if (e == -EPERM)
			snprintf(err + strlen(err), errsz - strlen(err),
				 ": the kernel refused although CAP_BPF, CAP_PERFMON and "
				 "CAP_NET_ADMIN (or CAP_SYS_ADMIN) are held; they must be held "
				 "in the initial user namespace, a security module or lockdown "
				 "may forbid BPF, and kernels before 5.11 also need an unlimited "
				 "memlock limit (ulimit -l) or CAP_SYS_RESOURCE");
		goto fail;
	}

	if (o->cgroup_root)
		snprintf(l->cgroup_root, sizeof(l->cgroup_root), "%s", o->cgroup_root);
	else if (find_cgroup2(l->cgroup_root, sizeof(l->cgroup_root)))
		l->cgroup_root[0] = '\0';
	if (l->cgroup_root[0]) {
		l->cgroup_fd = open(l->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l->cgroup_fd < 0)
			cgroup_err = errno;
	}

	{
		struct minerwatch_bpf *s = l->skel;
		const char *fl = want_btf ? "tp_btf" : "raw_tp";
		char hook[64];
		struct bpf_link *link;

		snprintf(hook, sizeof(hook), "%s/sched_process_exec", fl);
		link = attach_trace(want_btf ? s->progs.mw_exec_btf : s->progs.mw_exec_raw, &e);
		record(l, P_EXEC, hook, link, e);
		snprintf(hook, sizeof(hook), "%s/sched_process_exit", fl);
		link = attach_trace(want_btf ? s->progs.mw_exit_btf : s->progs.mw_exit_raw, &e);
		record(l, P_EXIT, hook, link, e);
		snprintf(hook, sizeof(hook), "%s/tcp_destroy_sock", fl);
		link = attach_trace(want_btf ? s->progs.mw_sock_close_btf :
					       s->progs.mw_sock_close_raw, &e);
		record(l, P_CLOSE, hook, link, e);

		if (l->cgroup_fd >= 0) {
			link = attach_cgroup(l, s->progs.mw_connect4, &e);
			record(l, P_CONNECT4, "cgroup/connect4", link, e);
			link = attach_cgroup(l, s->progs.mw_connect6, &e);
			record(l, P_CONNECT6, "cgroup/connect6", link, e);
			link = attach_cgroup(l, s->progs.mw_sendmsg4, &e);
			record(l, P_SENDMSG4, "cgroup/sendmsg4", link, e);
			link = attach_cgroup(l, s->progs.mw_sendmsg6, &e);
			record(l, P_SENDMSG6, "cgroup/sendmsg6", link, e);
			link = attach_cgroup(l, s->progs.mw_egress, &e);
			record(l, P_EGRESS, "cgroup_skb/egress", link, e);
			link = attach_cgroup(l, s->progs.mw_ingress, &e);
			record(l, P_INGRESS, "cgroup_skb/ingress", link, e);
		} else {
			const int cg[] = { P_CONNECT4, P_CONNECT6, P_SENDMSG4, P_SENDMSG6,
					   P_EGRESS, P_INGRESS };

			for (unsigned i = 0; i < sizeof(cg) / sizeof(cg[0]); i++) {
				struct prog_state *p = &l->progs[cg[i]];

				p->name = prog_names[cg[i]];
				l->verdict[cg[i]] = LINK_NONE;
				snprintf(p->hook, sizeof(p->hook), "cgroup");
				if (cgroup_err)
					snprintf(p->error, sizeof(p->error),
						 "cannot open the cgroup v2 root %s: %s; set "
						 "cgroup_root to the cgroup2 mount",
						 l->cgroup_root, strerror(cgroup_err));
				else
					snprintf(p->error, sizeof(p->error),
						 "no cgroup v2 hierarchy found: mount cgroup2 or set "
						 "cgroup_root in the config");
			}
		}
		attach_sampler(l, o->sample_hz);
	}
	*ret = l;
	return 0;
fail:
	loader__stop(l);
	return e;
}

void loader__stop(struct loader *l)
{
	if (!l)
		return;
	for (int i = 0; i < P_N; i++)
		bpf_link__destroy(l->links[i]);
	for (int c = 0; l->cpu_links && c < l->ncpus; c++) {
		bpf_link__destroy(l->cpu_links[c]);
		if (l->cpu_fds[c] >= 0)
			close(l->cpu_fds[c]);
	}
	free(l->cpu_links);
	free(l->cpu_fds);
	free(l->cpu_expect);
	free(l->cpu_verdict);
	if (l->cgroup_fd >= 0)
		close(l->cgroup_fd);
	minerwatch_bpf__destroy(l->skel);
	free(l);
}

int loader__ringbuf_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_events);
}

int loader__stats_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_stats_map);
}

int loader__conns_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_conns);
}

int loader__conn_slots_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_conn_slots);
}

int loader__slot_conns_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_slot_conns);
}

int loader__cpu_proc_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_cpu_proc);
}

int loader__cpu_thread_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_cpu_thread);
}

int loader__prog_count(const struct loader *l)
{
	(void)l;
	return P_N;
}

const struct prog_state *loader__prog(const struct loader *l, int i)
{
	return i >= 0 && i < P_N ? &l->progs[i] : NULL;
}

bool loader__all_attached(const struct loader *l)
{
	for (int i = 0; i < P_N; i++)
		if (!l->progs[i].attached)
			return false;
	return true;
}

const char *loader__btf_source(const struct loader *l)
{
	return l->btf_source;
}

const char *loader__cgroup_root(const struct loader *l)
{
	return l->cgroup_root;
}

/* What the kernel charges for a map (fdinfo "memlock"), or 0 when it does not say. */
static uint64_t map_memlock(int fd)
{
	char path[64], line[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * BPF map memory as the kernel accounts it: the sum of memlock over every
 * map of the object (hash maps carry per-element overhead and per-CPU
 * spare lists beyond key plus value). An estimate from the configured sizes
 * where fdinfo has no memlock line.
 */
uint64_t loader__map_bytes(const struct loader *l)
{
	int ncpu = libbpf_num_possible_cpus();
	const struct bpf_map *m;
	uint64_t total = 0;

	bpf_object__for_each_map(m, l->skel->obj) {
		uint64_t v = map_memlock(bpf_map__fd(m));

		if (!v) {
			if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF)
				v = bpf_map__max_entries(m);
			else if (bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY)
				v = (uint64_t)bpf_map__value_size(m) * bpf_map__max_entries(m) *
				    (ncpu > 0 ? ncpu : 1);
			else
				v = (uint64_t)(bpf_map__key_size(m) + bpf_map__value_size(m)) *
				    bpf_map__max_entries(m);
		}
		total += v;
	}
	return total;
}

volatile struct mw_canary *loader__canary(const struct loader *l)
{
	return l->skel->bss ? &l->skel->bss->mw_canary : NULL;
}

int loader__perf_count(const struct loader *l, int cpu, uint64_t *count)
{
	if (cpu < 0 || cpu >= l->ncpus || !l->cpu_fds || l->cpu_fds[cpu] < 0 || !l->cpu_links[cpu])
		return -ENOENT;
	if (read(l->cpu_fds[cpu], count, sizeof(*count)) != sizeof(*count))
		return -errno;
	return 0;
}

int loader__sampled_cpus(const struct loader *l, bool *sampled, int max)
{
	int n = max < l->ncpus ? max : l->ncpus;

	for (int c = 0; c < n; c++)
		sampled[c] = l->cpu_links && l->cpu_links[c];
	return n < 0 ? 0 : n;
}

const char *loader__link_verdict_name(enum link_verdict v)
{
	switch (v) {
	case LINK_OK: return "attached";
	case LINK_NONE: return "never attached";
	case LINK_DETACHED: return "BPF link detached from its target from outside";
	case LINK_CLOSED: return "BPF link closed from outside";
	case LINK_REPLACED: return "BPF link now runs another program";
	}
	return "?";
}

/*
 * A link detached with BPF_LINK_DETACH (bpftool link detach) stays a valid
 * link object with its target cleared: a cgroup link then reports cgroup id
 * 0. On 6.18 only cgroup links (among ours) can be detached that way;
 * tracepoint and perf-event links answer EOPNOTSUPP and go away only with
 * their last descriptor, which only someone inside the process (ptrace) or
 * its end can close. A descriptor that no longer names our link (an error,
 * or another object with the number reused) means that happened.
 */
enum link_verdict loader__judge_link(const struct link_expect *want, const struct link_seen *got)
{
	if (!want->id)
		return LINK_OK; /* never known: nothing to compare */
	if (got->err || got->id != want->id)
		return LINK_CLOSED;
	if (got->prog_id != want->prog_id)
		return LINK_REPLACED;
	if (want->type == BPF_LINK_TYPE_CGROUP && got->cgroup_id != want->cgroup_id)
		return LINK_DETACHED;
	return LINK_OK;
}

/* One link: its verdict, sticky once bad (a link never comes back). */
static enum link_verdict check_one(struct bpf_link *link, const struct link_expect *want,
				   enum link_verdict *verdict)
{
	struct link_seen got;

	if (!link || *verdict != LINK_OK)
		return *verdict;
	query_link(bpf_link__fd(link), &got);
	*verdict = loader__judge_link(want, &got);
	/*
	 * Closed or replaced: the descriptor number is no longer ours to close
	 * (it may be reused by now), so teardown must not close it.
	 */
	if (*verdict == LINK_CLOSED)
		bpf_link__disconnect(link);
	return *verdict;
}

enum link_verdict loader__check_links(struct loader *l, int p, char *why, size_t whysz)
{
	enum link_verdict worst = LINK_OK;
	int bad = 0, first = -1;

	if (whysz)
		why[0] = '\0';
	if (p < 0 || p >= P_N)
		return LINK_OK;
	if (p != P_CPU) {
		worst = check_one(l->links[p], &l->expect[p], &l->verdict[p]);
		if (worst != LINK_OK && worst != LINK_NONE) {
			if (l->expect[p].type == BPF_LINK_TYPE_CGROUP && worst == LINK_DETACHED)
				snprintf(why, whysz, "%s (link %u now reports cgroup id 0)",
					 loader__link_verdict_name(worst), l->expect[p].id);
			else
				snprintf(why, whysz, "%s (link %u)", loader__link_verdict_name(worst),
					 l->expect[p].id);
		}
		return worst;
	}
	if (l->verdict[P_CPU] == LINK_NONE)
		return LINK_NONE;
	for (int c = 0; l->cpu_links && c < l->ncpus; c++) {
		enum link_verdict v;

		if (!l->cpu_links[c])
			continue;
		v = check_one(l->cpu_links[c], &l->cpu_expect[c], &l->cpu_verdict[c]);
		if (v == LINK_OK)
			continue;
		bad++;
		if (first < 0) {
			first = c;
			worst = v;
		}
	}
	if (bad)
		snprintf(why, whysz, "%s on %d CPU(s) (CPU %d, link %u)",
			 loader__link_verdict_name(worst), bad, first, l->cpu_expect[first].id);
	return worst;
}
