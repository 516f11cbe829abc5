// SPDX-License-Identifier: GPL-2.0
/*
 * holder - a large and steady population of processes and TCP connections,
 * for measuring how the sensor's memory grows with what it tracks.
 *
 *   holder [--procs N] [--conns N] [--talk] [--duration S] [--ready-file FILE]
 *
 * Starts N `noop pause` processes and opens N loopback TCP connections to a
 * listener run by a forked child (so that the two ends are in different
 * processes, as in real life), then prints "procs=N conns=N" and holds
 * everything until SIGTERM/SIGINT or --duration, and takes it all down.
 *
 * The processes cannot be told to die with us (posix_spawn() has no
 * PR_SET_PDEATHSIG), so they are put in the process group of a small
 * guardian child, which does nothing but wait for the holder's end of a
 * pipe to close and then kill its whole group. That happens however the
 * holder ends, SIGKILL included; a normal end kills the group itself and
 * reaps every process.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

#define MAX_PROCS	20000
#define MAX_CONNS	20000
/* Descriptors besides the connections: stdio, listener, pipes, epoll. */
#define FD_SPARE	100
/*
 * Setting up may take this long at most (--duration bounds it too). Starting
 * 20000 processes takes seconds, but minutes on a small machine where a
 * sensor inspects every one of them.
 */
#define SETUP_TIMEOUT	300.0
/* Look at stop signals once every this many processes or connections. */
#define CHECK_EVERY	256
#define HELLO		"hello\n"
#define REPLY		"ok\n"

static struct {
	unsigned int procs;
	unsigned int conns;
	bool talk;
	double duration;
	const char *ready_file;
} opt = {
	.duration = 600.0,
};

const char tool_name[] = "holder";

/* Counted by the server child, read by the holder. */
struct counters {
	unsigned int accepted;
	unsigned int replied;
};

static pid_t holder_pid;
static double setup_deadline;

static pid_t guard_pid;		/* also the process group of the noops */
static int guard_fd = -1;	/* our end of the guardian's pipe */
static pid_t *procs;
static unsigned int nprocs;

static pid_t server_pid;
static int server_fd = -1;	/* our end of a socketpair with the server */
static struct counters *counters;
static int *conns;
static unsigned int nconns;

/* ---- tearing down -------------------------------------------------------- */

static void reap(pid_t pid, int *st)
{
	while (waitpid(pid, st, 0) < 0 && errno == EINTR)
		;
}

/*
 * Everything we started, in any state of setting up. Registered with
 * atexit(), so that die() takes it all down too; idempotent.
 */
static void teardown(void)
{
	static const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	unsigned int i, early = 0;
	int st = 0;

	/* die() in a forked child runs our atexit handlers as well. */
	if (getpid() != holder_pid)
		return;
	/* Reset rather than FIN: no TIME_WAIT left to hold ports for the next run. */
	for (i = 0; i < nconns; i++) {
		setsockopt(conns[i], SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(conns[i]);
	}
	nconns = 0;
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		reap(server_pid, NULL);
		server_pid = 0;
		close(server_fd);
		server_fd = -1;
	}
	if (guard_pid > 0) {
		/* One signal for the whole group: the noops die in parallel, the guardian with them. */
		if (kill(-guard_pid, SIGKILL) < 0) {
			for (i = 0; i < nprocs; i++)
				kill(procs[i], SIGKILL);
			kill(guard_pid, SIGKILL);
		}
		for (i = 0; i < nprocs; i++) {
			reap(procs[i], &st);
			if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
				early++;
		}
		reap(guard_pid, NULL);
		guard_pid = 0;
		close(guard_fd);
		guard_fd = -1;
		if (early)
			logmsg("%u of %u processes had ended before the teardown", early, nprocs);
		nprocs = 0;
	}
}

/* A stop signal during setting up: the same clean end as after holding. */
static void check_stop(void)
{
	/* A zero-timeout ppoll() is where blocked SIGTERM/SIGINT get delivered. */
	poll_wait(NULL, 0, 0);
	if (stop_signal) {
		log_stop_signal();
		exit(0);
	}
}

static void check_setup_time(const char *what)
{
	if (now_mono() > setup_deadline)
		die("timed out %s", what);
}

/* ---- processes ------------------------------------------------------------ */

/* The guardian: waits for the holder to go, then kills its own process group. */
static void __attribute__((noreturn)) guardian_main(int rfd)
{
	sigset_t all;
	char c;

	/* Only the holder going away may end it, not a signal meant for the holder. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	setpgid(0, 0);
	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	kill(0, SIGKILL);
	_exit(0);
}

static void start_guardian(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	guard_pid = fork();
	if (guard_pid < 0)
		die("fork: %s", strerror(errno));
	if (guard_pid == 0) {
		close(p[1]);
		/* Holding the server's socketpair would keep the server from seeing us go. */
		if (server_fd >= 0)
			close(server_fd);
		guardian_main(p[0]);
	}
	close(p[0]);
	guard_fd = p[1];
	/* Here too, so that the group exists before the first posix_spawn() joins it. */
	if (setpgid(guard_pid, guard_pid) < 0 && errno != EACCES)
		die("setpgid: %s", strerror(errno));
}

/* noop, next to holder itself. */
static char *noop_path(void)
{
	char *exe = sibling_path("noop");

	if (access(exe, X_OK) < 0)
		die("cannot execute %s: %s", exe, strerror(errno));
	return exe;
}

static void spawn_procs(void)
{
	static char arg0[] = "noop", arg1[] = "pause";
	static char *argv[] = { arg0, arg1, NULL };
	static char *envp[] = { NULL };
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	char *exe = noop_path();
	unsigned int i;
	int err;

	procs = calloc(opt.procs, sizeof(*procs));
	if (!procs)
		die("out of memory");
	/* Unblocked, default signals: `kill PID` works on them as on any process. */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	err = posix_spawnattr_init(&attr);
	if (!err)
		err = posix_spawnattr_setpgroup(&attr, guard_pid);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &dfl);
	if (!err)
		err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					       POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (err)
		die("posix_spawnattr: %s", strerror(err));

	for (i = 0; i < opt.procs; i++) {
		err = posix_spawn(&procs[nprocs], exe, NULL, &attr, argv, envp);
		if (err)
			die("cannot start process %u of %u: %s", i + 1, opt.procs, strerror(err));
		nprocs++;
		if (i % CHECK_EVERY == 0) {
			check_stop();
			check_setup_time("starting processes");
		}
	}
	posix_spawnattr_destroy(&attr);
	free(exe);
}

/* ---- connections: the server child ---------------------------------------- */

static void server_accept(int ep, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* The holder sees us go and fails clearly. */
			logmsg("server: accept: %s", strerror(errno));
			_exit(1);
		}
		__atomic_add_fetch(&counters->accepted, 1, __ATOMIC_RELAXED);
		if (!opt.talk)
			continue;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			logmsg("server: epoll_ctl: %s", strerror(errno));
			_exit(1);
		}
	}
}

/* --talk: answers the first line, then only holds the connection. */
static void server_answer(int ep, int fd)
{
	char buf[64];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* A split line: no newline yet, wait for the rest. */
	if (n > 0 && !memchr(buf, '\n', n))
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if (n <= 0) {
		close(fd);
		return;
	}
	/* A fresh socket's send buffer is empty: three bytes always go at once. */
	if (send(fd, REPLY, strlen(REPLY), MSG_NOSIGNAL) != (ssize_t)strlen(REPLY)) {
		logmsg("server: send: %s", strerror(errno));
		close(fd);
		return;
	}
	__atomic_add_fetch(&counters->replied, 1, __ATOMIC_RELAXED);
}

/*
 * Accepts (and with --talk answers) while the holder connects, and then
 * holds the connections until the holder closes its end of @ctl or dies.
 */
static void __attribute__((noreturn)) server_main(int lfd, int ctl)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	int ep, n, i;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		_exit(1);
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		_exit(1);
	ev.data.fd = ctl;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ctl, &ev) < 0)
		_exit(1);
	/* Ends with the holder, through either of two ways. */
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			logmsg("server: epoll_wait: %s", strerror(errno));
			_exit(1);
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == ctl)
				_exit(0);
			if (evs[i].data.fd == lfd)
				server_accept(ep, lfd);
			else
				server_answer(ep, evs[i].data.fd);
		}
	}
}

/* Room for @need descriptors here and, by inheritance, in the server child. */
static void raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	/* Raising the hard limit needs CAP_SYS_RESOURCE; try, and say so if it fails. */
	if (rl.rlim_max < need)
		rl.rlim_max = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("cannot raise RLIMIT_NOFILE to %lu for %u connections: %s "
		    "(needs a hard limit that high, see ulimit -Hn, or CAP_SYS_RESOURCE)",
		    (unsigned long)need, opt.conns, strerror(errno));
}

/* The listener's backlog the kernel will grant: net.core.somaxconn caps it. */
static unsigned int somaxconn(void)
{
	unsigned int v = 128;	/* the kernel default before 5.4 */
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");

	if (f) {
		if (fscanf(f, "%u", &v) != 1 || !v)
			v = 128;
		fclose(f);
	}
	return v;
}

/* Forks the server on a fresh listener; returns its address in @ss. */
static void start_server(struct sockaddr_storage *ss, socklen_t *sl)
{
	char addr[ADDR_STRLEN];
	unsigned int port;
	int lfd, sp[2];

	counters = mmap(NULL, sizeof(*counters), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counters == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	lfd = open_listener("127.0.0.1", 0, SOCK_STREAM, addr, sizeof(addr), &port);
	/* listen() again only changes the backlog; the kernel caps it at somaxconn. */
	if (listen(lfd, (int)opt.conns) < 0)
		die("listen: %s", strerror(errno));
	endpoint_addr("listener", "127.0.0.1", port, ss, sl);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair: %s", strerror(errno));
	fflush(NULL);
	server_pid = fork();
	if (server_pid < 0)
		die("fork: %s", strerror(errno));
	if (server_pid == 0) {
		/* A forked child can be told to die with us, unlike the spawned ones. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != holder_pid)
			_exit(1);
		close(sp[0]);
		if (guard_fd >= 0)
			close(guard_fd);
		server_main(lfd, sp[1]);
	}
	close(sp[1]);
	close(lfd);
	server_fd = sp[0];
}

/*
 * Sleeps about a millisecond; dies if the server has gone (it never writes,
 * so its end turning readable means it closed).
 */
static void wait_server(const char *what)
{
	if (wait_fd(server_fd, POLLIN, 0.001))
		die("the connection server exited %s", what);
	check_stop();
	check_setup_time(what);
}

static unsigned int accepted(void)
{
	return __atomic_load_n(&counters->accepted, __ATOMIC_RELAXED);
}

/*
 * Connects, staying at most half a backlog ahead of the server's accepts:
 * a full accept queue drops SYNs, and a dropped SYN costs a 1 s retransmit.
 */
static void open_conns(const struct sockaddr_storage *ss, socklen_t sl)
{
	unsigned int backlog = somaxconn(), window, i;
	int fd;

	if (backlog > opt.conns)
		backlog = opt.conns;
	window = backlog / 2 ? backlog / 2 : 1;
	conns = calloc(opt.conns, sizeof(*conns));
	if (!conns)
		die("out of memory");
	for (i = 0; i < opt.conns; i++) {
		while (i - accepted() >= window)
			wait_server("while connecting");
		fd = tcp_connect(ss, sl, setup_deadline - now_mono(), false);
		if (fd < 0) {
			check_stop();
			die("connection %u of %u: %s", i + 1, opt.conns, strerror(errno));
		}
		conns[nconns++] = fd;
		/* An empty send buffer takes the whole line at once. */
		if (opt.talk && send(fd, HELLO, strlen(HELLO), MSG_NOSIGNAL) != (ssize_t)strlen(HELLO))
			die("connection %u of %u: send: %s", i + 1, opt.conns, strerror(errno));
		if (i % CHECK_EVERY == 0) {
			check_stop();
			check_setup_time("connecting");
		}
	}
}

/* --talk: "ok\n" back on every connection. */
static void read_replies(void)
{
	char buf[sizeof(REPLY)];
	unsigned int i;
	size_t got;
	ssize_t n;

	for (i = 0; i < nconns; i++) {
		for (got = 0; got < strlen(REPLY); got += n) {
			n = recv(conns[i], buf + got, strlen(REPLY) - got, 0);
			if (n > 0)
				continue;
			if (n == 0)
				die("connection %u closed before its reply", i + 1);
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				die("connection %u: recv: %s", i + 1, strerror(errno));
			n = 0;
			if (!wait_fd(conns[i], POLLIN, setup_deadline - now_mono())) {
				check_stop();
				check_setup_time("waiting for replies");
			}
		}
		if (memcmp(buf, REPLY, strlen(REPLY)))
			die("connection %u: unexpected reply", i + 1);
	}
}

/* ---- holding ---------------------------------------------------------------- */

/* The ready line on stdout and, via a temporary file and rename(), in --ready-file. */
static void announce_ready(void)
{
	char *tmp;
	FILE *f;

	printf("procs=%u conns=%u\n", nprocs, nconns);
	fflush(stdout);
	if (!opt.ready_file)
		return;
	if (asprintf(&tmp, "%s.tmp.%d", opt.ready_file, (int)getpid()) < 0)
		die("out of memory");
	f = fopen(tmp, "w");
	if (!f)
		die("cannot create %s: %s", tmp, strerror(errno));
	fprintf(f, "procs=%u conns=%u\n", nprocs, nconns);
	if (fclose(f) != 0 || rename(tmp, opt.ready_file) < 0) {
		unlink(tmp);
		die("cannot write %s: %s", opt.ready_file, strerror(errno));
	}
	free(tmp);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: holder [--procs N] [--conns N] [--talk] [--duration SECONDS]\n"
		"              [--ready-file FILE]\n"
		"  --procs N         idle `noop pause` processes to hold (0-20000, default 0)\n"
		"  --conns N         loopback TCP connections to hold (0-20000, default 0)\n"
		"  --talk            one line each way on every connection\n"
		"  --duration SEC    exit 0 after SEC seconds, set-up included (default 600)\n"
		"  --ready-file FILE write \"procs=N conns=N\" there once everything is up\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "procs", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "talk", no_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:c:td:r:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.procs = parse_uint("--procs", optarg, 0, MAX_PROCS);
			break;
		case 'c':
			opt.conns = parse_uint("--conns", optarg, 0, MAX_CONNS);
			break;
		case 't':
			opt.talk = true;
			break;
		case 'd':
			opt.duration = parse_seconds("--duration", optarg, 0.001, 7 * 86400);
			break;
		case 'r':
			opt.ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	no_extra_args(argc, argv, usage);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	double start, t_procs, deadline;
	socklen_t sl;

	parse_args(argc, argv);
	stop_signals_init(true);
	holder_pid = getpid();
	start = now_mono();
	deadline = start + opt.duration;
	setup_deadline = start + SETUP_TIMEOUT;
	if (setup_deadline > deadline)
		setup_deadline = deadline;
	if (atexit(teardown))
		die("atexit failed");

	/*
	 * The server first, while we are small and hold nothing it should not
	 * inherit; then the processes, before the connections, because every
	 * posix_spawn() copies our descriptor table.
	 */
	if (opt.conns) {
		raise_nofile(opt.conns + FD_SPARE);
		start_server(&ss, &sl);
	}
	if (opt.procs) {
		start_guardian();
		spawn_procs();
	}
	t_procs = now_mono();
	if (opt.conns) {
		open_conns(&ss, sl);
		if (opt.talk)
			read_replies();
		while (accepted() < opt.conns)
			wait_server("before accepting every connection");
	}
	logmsg("ready in %.2f s (processes %.2f s, connections %.2f s)", now_mono() - start,
	       t_procs - start, now_mono() - t_procs);
	announce_ready();

	while (!stop_signal && now_mono() < deadline) {
		if (wait_fd(server_fd, POLLIN, deadline - now_mono()))
			die("the connection server exited unexpectedly");
	}
	log_stop_signal();
	/* teardown() runs at exit. */
	return 0;
}
