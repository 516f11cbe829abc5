// SPDX-License-Identifier: Apache-2.0
/* The self-check's canary events and rounds: see canary.h and selfcheck.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "canary.h"
#include "clock.h"
#include "health.h"
#include "log.h"
#include "mwd.h"
#include "selfcheck.h"

#define NS_PER_S 1000000000ULL
#define MAX_CPUS 1024

/* One TCP canary: a socket connecting to a port held by a bound, unlistening anchor. */
struct tcp_canary {
	int fd, anchor;
	bool connected;  /* connect() reached the hooks (returned EINPROGRESS or a result) */
	bool refused;    /* the RST came back: SYN out, RST in, the socket in CLOSE */
	bool settled;    /* nothing more to wait for */
	char note[96];
};

struct canary {
	bool active;
	uint64_t started_ns, next_ns;
	uint64_t seen_before[MW_CANARY_MAX];

	pid_t child;           /* 0 when none is running */
	int spawn_err;         /* posix_spawn's error, 0 when it ran */
	bool child_ran;        /* reaped, exit status 0: it exec'd and exited */
	char child_note[96];

	struct tcp_canary tcp[2]; /* IPv4, IPv6 */
	bool udp_sent[2];
	char udp_note[2][96];

	/* The sampler per CPU now and at the previous judgement. */
	struct sc_cpu *cpu_now, *cpu_prev;
	bool *sampled, *online;
	int ncpu;
	bool cpu_have_prev;
	long user_hz;

	bool warned_spawn;
};

static const char *const prog_names[MW_PROG_N] = {
	[MW_PROG_EXEC] = "exec", [MW_PROG_EXIT] = "exit", [MW_PROG_CPU] = "cpu_sample",
	[MW_PROG_CONNECT4] = "connect4", [MW_PROG_CONNECT6] = "connect6",
	[MW_PROG_SENDMSG4] = "sendmsg4", [MW_PROG_SENDMSG6] = "sendmsg6",
	[MW_PROG_EGRESS] = "skb_egress", [MW_PROG_INGRESS] = "skb_ingress",
	[MW_PROG_CLOSE] = "sock_close",
};

struct canary *canary__new(void)
{
	struct canary *c = calloc(1, sizeof(*c));
	int n = libbpf_num_possible_cpus();

	if (!c)
		return NULL;
	c->tcp[0].fd = c->tcp[0].anchor = c->tcp[1].fd = c->tcp[1].anchor = -1;
	c->ncpu = n > 0 && n <= MAX_CPUS ? n : 0;
	if (c->ncpu) {
		c->cpu_now = calloc((size_t)c->ncpu, sizeof(*c->cpu_now));
		c->cpu_prev = calloc((size_t)c->ncpu, sizeof(*c->cpu_prev));
		c->sampled = calloc((size_t)c->ncpu, sizeof(*c->sampled));
		c->online = calloc((size_t)c->ncpu, sizeof(*c->online));
		if (!c->cpu_now || !c->cpu_prev || !c->sampled || !c->online)
			c->ncpu = 0;
	}
	c->user_hz = sysconf(_SC_CLK_TCK);
	return c;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Ends the round's child and sockets, whatever state they are in. */
static void end_round(struct canary *c, struct mwd *m)
{
	volatile struct mw_canary *k = m && m->loader ? loader__canary(m->loader) : NULL;

	if (c->child > 0) {
		kill(c->child, SIGKILL);
		while (waitpid(c->child, NULL, 0) < 0 && errno == EINTR)
			;
		c->child = 0;
	}
	for (int i = 0; i < 2; i++) {
		close_fd(&c->tcp[i].fd);
		close_fd(&c->tcp[i].anchor);
	}
	if (k) {
		k->cookie[0] = k->cookie[1] = 0;
		k->udp_port = 0;
	}
	c->active = false;
}

void canary__free(struct canary *c)
{
	if (!c)
		return;
	end_round(c, NULL);
	free(c->cpu_now);
	free(c->cpu_prev);
	free(c->sampled);
	free(c->online);
	free(c);
}

/* The loopback address of a family, port 0. */
static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
						((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* A socket bound to the family's loopback address, port chosen by the kernel. */
static int bound_socket(int family, int type, struct sockaddr_storage *addr, socklen_t *len,
			char *note, size_t notesz)
{
	int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		snprintf(note, notesz, "socket: %s", strerror(errno));
		return -1;
	}
	*len = loopback(family, addr);
	if (bind(fd, (struct sockaddr *)addr, *len) ||
	    getsockname(fd, (struct sockaddr *)addr, len)) {
		snprintf(note, notesz, "bind to loopback: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The sendmsg hook runs inside sendto(), before the datagram goes anywhere:
 * once sendto() has succeeded the hook has run. The datagram (empty) goes to
 * the socket itself, bound to loopback for the instant of this one send, so
 * it reaches nobody else's service and never leaves the daemon.
 */
static void udp_canary(struct canary *c, volatile struct mw_canary *k, int i, int family)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd = bound_socket(family, SOCK_DGRAM, &addr, &len, c->udp_note[i],
			      sizeof(c->udp_note[i]));

	c->udp_sent[i] = false;
	if (fd < 0)
		return;
	k->udp_port = port_of(&addr);
	if (sendto(fd, "", 0, 0, (struct sockaddr *)&addr, len) == 0)
		c->udp_sent[i] = true;
	else
		snprintf(c->udp_note[i], sizeof(c->udp_note[i]), "sendto: %s", strerror(errno));
	k->udp_port = 0;
	close(fd);
}

/*
 * The connect hook runs inside connect(); the SYN leaves through egress and
 * the RST of the port nobody listens on comes back through ingress, which
 * the socket's error (ECONNREFUSED) shows. The RST leaves the socket in
 * CLOSE, so closing it in end_round() destroys it there and then. The
 * socket's cookie, asked for before connect(), is how the skb and close
 * hooks know it.
 */
static void tcp_canary(struct tcp_canary *t, volatile struct mw_canary *k, int i, int family)
{
	struct sockaddr_storage addr;
	socklen_t len;
	uint64_t cookie = 0;
	socklen_t clen = sizeof(cookie);

	memset(t->note, 0, sizeof(t->note));
	t->connected = t->refused = false;
	t->settled = true;
	t->anchor = bound_socket(family, SOCK_STREAM, &addr, &len, t->note, sizeof(t->note));
	if (t->anchor < 0)
		return;
	t->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->fd < 0) {
		snprintf(t->note, sizeof(t->note), "socket: %s", strerror(errno));
		return;
	}
	if (getsockopt(t->fd, SOL_SOCKET, SO_COOKIE, &cookie, &clen) || !cookie) {
		snprintf(t->note, sizeof(t->note), "SO_COOKIE: %s", strerror(errno));
		return;
	}
	k->cookie[i] = cookie;
	if (connect(t->fd, (struct sockaddr *)&addr, len) == 0) {
		/* Nobody listens there: accepted means something is wrong with the anchor. */
		t->connected = true;
		snprintf(t->note, sizeof(t->note), "connect to an unlistened port succeeded");
		return;
	}
	if (errno == EINPROGRESS) {
		t->connected = true;
		t->settled = false;
	} else if (errno == ECONNREFUSED) {
		t->connected = t->refused = true;
	} else {
		/* Refused before the hooks (no route, a policy): not a verdict. */
		snprintf(t->note, sizeof(t->note), "connect: %s", strerror(errno));
	}
}

/* Has the RST come back? Settles the canary when there is nothing more to wait for. */
static void tcp_settle(struct tcp_canary *t)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int err = 0;
	socklen_t elen = sizeof(err);

	if (t->settled)
		return;
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err) {
		t->settled = true;
		t->refused = err == ECONNREFUSED;
		if (!t->refused)
			snprintf(t->note, sizeof(t->note), "connect: %s", strerror(err));
		return;
	}
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(t->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state == TCP_SYN_SENT)
		return; /* the RST is still on its way */
	t->settled = true;
	snprintf(t->note, sizeof(t->note), "connect ended in TCP state %u", ti.tcpi_state);
}

static void spawn_child(struct canary *c)
{
	char *const argv[] = { "minerwatchd", CANARY_ARG, NULL };
	char *const envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	int e;

	c->child = 0;
	c->child_ran = false;
	c->child_note[0] = '\0';
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	/* The findings may be on stdout: the child gets neither stdin nor stdout. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, STDIN_FILENO);
	posix_spawn_file_actions_addclose(&fa, STDOUT_FILENO);
	e = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	c->spawn_err = e;
	if (e) {
		snprintf(c->child_note, sizeof(c->child_note), "cannot run /proc/self/exe: %s",
			 strerror(e));
		if (!c->warned_spawn)
			log_warn("self-check: %s; the exec and exit hooks cannot be verified",
				 c->child_note);
		c->warned_spawn = true;
		return;
	}
	c->child = pid;
}

static bool child_done(struct canary *c)
{
	int st;
	pid_t r;

	if (c->child <= 0)
		return true;
	r = waitpid(c->child, &st, WNOHANG);
	if (r == 0)
		return false;
	if (r == c->child && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		c->child_ran = true;
	else if (r == c->child)
		snprintf(c->child_note, sizeof(c->child_note), "the canary child ended with status %#x",
			 st);
	else
		snprintf(c->child_note, sizeof(c->child_note), "waitpid: %s", strerror(errno));
	c->child = 0;
	return true;
}

/* /proc/stat of the host, whole, or NULL. */
static char *read_stat(const char *host_root)
{
	char path[CFG_PATH_LEN + 16], *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/stat", strcmp(host_root, "/") ? host_root : "");
	f = fopen(path, "re");
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = cap < (1U << 20) ? realloc(buf, cap + 16384) : NULL;

			if (!nb)
				break;
			buf = nb;
			cap += 16384;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (!n)
			break;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/* The sampler on every CPU now: its runs, the CPU's busy time, its perf event's count. */
static bool read_cpus(struct canary *c, struct mwd *m)
{
	struct mw_stats *per;
	uint32_t zero = 0;
	char *stat;
	bool ok;

	if (!c->ncpu)
		return false;
	per = calloc((size_t)c->ncpu, sizeof(*per));
	if (!per)
		return false;
	memset(c->cpu_now, 0, sizeof(*c->cpu_now) * (size_t)c->ncpu);
	ok = bpf_map_lookup_elem(loader__stats_fd(m->loader), &zero, per) == 0;
	for (int i = 0; ok && i < c->ncpu; i++) {
		c->cpu_now[i].runs = per[i].sampler_runs;
		c->cpu_now[i].perf_ok = loader__perf_count(m->loader, i,
							    &c->cpu_now[i].perf_count) == 0;
	}
	free(per);
	stat = ok ? read_stat(m->cfg.host_root) : NULL;
	if (stat)
		selfcheck__parse_stat(stat, c->cpu_now, c->ncpu);
	free(stat);
	return ok;
}

static void start_round(struct canary *c, struct mwd *m, uint64_t now)
{
	volatile struct mw_canary *k = loader__canary(m->loader);

	c->started_ns = now;
	c->next_ns = now + SELFCHECK_INTERVAL_S * NS_PER_S;
	if (!k)
		return;
	c->active = true;
	for (int h = 0; h < MW_CANARY_MAX; h++)
		c->seen_before[h] = k->seen[h];
	udp_canary(c, k, 0, AF_INET);
	udp_canary(c, k, 1, AF_INET6);
	tcp_canary(&c->tcp[0], k, 0, AF_INET);
	tcp_canary(&c->tcp[1], k, 1, AF_INET6);
	spawn_child(c);
}

/* One hook's canary evidence. */
static void evidence(struct sc_obs *o, const struct canary *c, volatile struct mw_canary *k,
		     int hook, bool exercised, const char *what)
{
	o->exercised = exercised;
	o->fired = k->seen[hook] > c->seen_before[hook];
	if (exercised && !o->fired)
		snprintf(o->canary_why, sizeof(o->canary_why), "%s was not seen", what);
}

static void cpu_evidence(struct canary *c, struct mwd *m, struct sc_obs *o)
{
	struct sc_cpu_result r;
	struct sc_cpu *t;

	if (!read_cpus(c, m))
		return;
	if (c->cpu_have_prev) {
		loader__sampled_cpus(m->loader, c->sampled, c->ncpu);
		if (loader__online_cpus(c->online, c->ncpu) <= 0)
			memset(c->online, 1, sizeof(*c->online) * (size_t)c->ncpu);
		selfcheck__cpu(c->cpu_prev, c->cpu_now, c->sampled, c->online, c->ncpu,
			       m->cfg.cpu_sample_hz, (unsigned)(c->user_hz > 0 ? c->user_hz : 100),
			       &r);
		o->exercised = r.judged > 0;
		o->fired = r.bad == 0;
		o->why_has_cause = r.bad && r.disabled;
		if (r.bad && r.disabled)
			snprintf(o->canary_why, sizeof(o->canary_why),
				 "its perf event stopped counting on %d CPU(s) (CPU %d): disabled "
				 "from outside", r.bad, r.first);
		else if (r.bad)
			snprintf(o->canary_why, sizeof(o->canary_why),
				 "the sampler ran %llu times on CPU %d while it was busy for %llu ms "
				 "(%d CPU(s) short of %d%% of %u Hz)",
				 (unsigned long long)r.runs, r.first, (unsigned long long)r.busy_ms,
				 r.bad, SELFCHECK_CPU_MIN_SHARE_PCT, m->cfg.cpu_sample_hz);
	}
	t = c->cpu_prev;
	c->cpu_prev = c->cpu_now;
	c->cpu_now = t;
	c->cpu_have_prev = true;
}

static void report(struct mwd *m, uint32_t due, uint64_t now)
{
	struct health_hook hooks[MW_PROG_N];
	uint64_t wall_ms = clock__ms(CLOCK_REALTIME);
	struct health_blind b = {
		.time_ms = wall_ms,
		.hooks = hooks,
		.check_interval_s = SELFCHECK_INTERVAL_S,
		.interval_s = SELFCHECK_REPORT_INTERVAL_S,
		.blinded_total = m->selfcheck.blinded,
		.hostname = m->host.hostname[0] ? m->host.hostname : NULL,
		.boot_id = m->host.boot_id[0] ? m->host.boot_id : NULL,
		.os_name = m->host.os_name[0] ? m->host.os_name : NULL,
		.kernel_release = m->host.kernel_release[0] ? m->host.kernel_release : NULL,
	};
	char *line;

	for (int p = 0; p < MW_PROG_N; p++) {
		const struct sc_hook *h = &m->selfcheck.hook[p];
		const struct prog_state *ps = loader__prog(m->loader, p);

		if (!(due & (1U << p)))
			continue;
		hooks[b.nhooks++] = (struct health_hook){
			.name = prog_names[p],
			.hook = ps ? ps->hook : NULL,
			.why = h->state == SC_BLIND ? h->why : "fired again before this report",
			.since_ms = wall_ms - (now - h->since_ns) / 1000000ULL,
			.still_blind = h->state == SC_BLIND,
		};
	}
	line = health__hooks_blinded(&b);
	if (!line)
		return;
	/* The sink keeps what it cannot write yet: the record is not lost either. */
	sink__write(m->sink, line);
	free(line);
	m->selfcheck.health_records++;
}

static void judge_round(struct canary *c, struct mwd *m, uint64_t now)
{
	volatile struct mw_canary *k = loader__canary(m->loader);
	struct sc_obs obs[MW_PROG_N];
	const struct tcp_canary *t4 = &c->tcp[0], *t6 = &c->tcp[1];
	bool refused = t4->refused || t6->refused;
	enum sc_state before[MW_PROG_N];
	uint32_t due;

	memset(obs, 0, sizeof(obs));
	for (int p = 0; p < MW_PROG_N; p++)
		obs[p].link = loader__check_links(m->loader, p, obs[p].link_why,
						  sizeof(obs[p].link_why));
	evidence(&obs[MW_PROG_EXEC], c, k, MW_CANARY_EXEC, c->child_ran,
		 "the self-check's exec of its own child");
	evidence(&obs[MW_PROG_EXIT], c, k, MW_CANARY_EXIT, c->child_ran,
		 "the self-check child's exit");
	evidence(&obs[MW_PROG_CONNECT4], c, k, MW_CANARY_CONNECT4, t4->connected,
		 "the self-check's TCP connect to 127.0.0.1");
	evidence(&obs[MW_PROG_CONNECT6], c, k, MW_CANARY_CONNECT6, t6->connected,
		 "the self-check's TCP connect to ::1");
	evidence(&obs[MW_PROG_SENDMSG4], c, k, MW_CANARY_SENDMSG4, c->udp_sent[0],
		 "the self-check's UDP datagram to 127.0.0.1");
	evidence(&obs[MW_PROG_SENDMSG6], c, k, MW_CANARY_SENDMSG6, c->udp_sent[1],
		 "the self-check's UDP datagram to ::1");
	evidence(&obs[MW_PROG_EGRESS], c, k, MW_CANARY_EGRESS, refused,
		 "the SYN of the self-check's TCP connect");
	evidence(&obs[MW_PROG_INGRESS], c, k, MW_CANARY_INGRESS, refused,
		 "the RST answering the self-check's TCP connect");
	/* Refused, the socket is in CLOSE: closing it in end_round() destroyed it. */
	evidence(&obs[MW_PROG_CLOSE], c, k, MW_CANARY_SOCK_CLOSE, refused,
		 "the close of the self-check's TCP socket");
	cpu_evidence(c, m, &obs[MW_PROG_CPU]);

	for (int p = 0; p < MW_PROG_N; p++)
		before[p] = m->selfcheck.hook[p].state;
	selfcheck__judge(&m->selfcheck, obs, now);
	for (int p = 0; p < MW_PROG_N; p++) {
		const struct sc_hook *h = &m->selfcheck.hook[p];

		if (h->state == SC_BLIND && before[p] != SC_BLIND)
			log_error("self-check: %s hook not firing: %s", prog_names[p], h->why);
		else if (h->state == SC_OK && before[p] == SC_BLIND)
			log_info("self-check: %s hook fires again", prog_names[p]);
	}
	due = selfcheck__due(&m->selfcheck, now);
	if (due)
		report(m, due, now);
	log_debug("self-check round %llu: exec %s, tcp4 %s%s, tcp6 %s%s, udp %d/%d",
		  (unsigned long long)m->selfcheck.rounds, c->child_ran ? "ran" : c->child_note,
		  t4->refused ? "refused" : "not refused ", t4->note,
		  t6->refused ? "refused" : "not refused ", t6->note, c->udp_sent[0],
		  c->udp_sent[1]);
}

void canary__tick(struct canary *c, struct mwd *m, uint64_t now)
{
	bool done;

	if (!c || !m->loader)
		return;
	if (!c->active) {
		if (now >= c->next_ns)
			start_round(c, m, now);
		return;
	}
	done = child_done(c);
	for (int i = 0; i < 2; i++) {
		tcp_settle(&c->tcp[i]);
		if (!c->tcp[i].settled && now - c->started_ns >= SELFCHECK_TCP_WAIT_S * NS_PER_S) {
			c->tcp[i].settled = true;
			snprintf(c->tcp[i].note, sizeof(c->tcp[i].note), "no RST after %d s",
				 SELFCHECK_TCP_WAIT_S);
		}
		done = done && c->tcp[i].settled;
	}
	if (!done && now - c->started_ns < SELFCHECK_ROUND_TIMEOUT_S * NS_PER_S)
		return;
	/* Whatever has not happened by now is no evidence either way. */
	end_round(c, m);
	judge_round(c, m, now);
}
