// SPDX-License-Identifier: GPL-2.0
/*
 * storm - the load generators of the minerwatch benchmarks: storms of execs,
 * of short TCP connections and of context switches, as fast as possible (to
 * measure what the sensor adds to each) or paced at a fixed rate (to measure
 * what the sensor costs under a given load).
 *
 *   storm exec    [--workers W] (--count N | --rate R --duration S) [--exe PATH] [--arg-bytes B]
 *   storm connect [--workers W] (--count N | --rate R --duration S) [--port P] [--talk]
 *   storm switch  [--count N]
 *
 * The work is done by forked worker processes, which count what they did in
 * a shared mapping; the parent only starts them, waits for the last one and
 * prints one JSON line:
 *
 *   {"mode":"exec","ops":100000,"errors":0,"seconds":5.012,"rate":19952.1,"workers":2}
 *
 * Exit status 0, 1 on a usage error, 2 if more than 1% of the operations
 * failed or the run had to be aborted at its hard deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

#define MAX_WORKERS	256
#define MAX_COUNT	100000000U
#define MAX_RATE	1000000.0
#define MAX_DURATION	3600.0
#define SWITCH_COUNT	100000U
/* Paced workers issue what is due once per tick: 1 ms makes 20000/s ~20 per tick. */
#define TICK_NS		NSEC_PER_MSEC
/* A paced worker that fell further behind than this forgets the rest (see run_paced()). */
#define MAX_DEBT_S	0.1
/*
 * --count runs have no duration to go by, so the hard deadline assumes 1 ms
 * per operation: ten times slower than the slowest storm on a busy machine.
 */
#define COUNT_OP_NS	NSEC_PER_MSEC
#define HARD_SLACK_NS	(60 * NSEC_PER_SEC)
/* After SIGTERM/SIGINT, how long workers get to finish the operation they are in. */
#define STOP_GRACE_NS	(2 * NSEC_PER_SEC)
/* The kernel caps it at net.core.somaxconn; as deep as allowed, so bursts are not dropped. */
#define ACCEPT_BACKLOG	65535

enum mode { M_EXEC, M_CONNECT, M_SWITCH };
static const char *const mode_names[] = { "exec", "connect", "switch" };

static struct {
	enum mode mode;
	unsigned int workers;
	bool workers_set;
	unsigned int count;	/* 0: paced by --rate and --duration */
	double rate;		/* operations per second, all workers together */
	double duration;
	unsigned int port;	/* connect: 0 = our own listener */
	bool talk;		/* connect: send one line before closing */
	unsigned int arg_bytes;	/* exec: length of one argument passed, 0 = none */
	const char *exe;	/* exec: NULL = noop beside us */
} opt = {
	.workers = 1,
};

const char tool_name[] = "storm";

/* One worker's tally; a cache line each, so that workers do not bounce lines between CPUs. */
struct slot {
	uint64_t ops;
	uint64_t errors;
} __attribute__((aligned(64)));

/* Shared with the workers (MAP_SHARED before fork). */
struct shared {
	int stop;	/* set by the parent on SIGTERM/SIGINT */
	struct slot slot[MAX_WORKERS];
};

static struct shared *shm;

/* One operation: 0 on success, -1 on failure. */
typedef int (*op_fn)(void);

/* ---- operations (run in the workers) ------------------------------------ */

static bool error_logged;

/* Logs the first failure of each worker only: a failing storm would flood stderr. */
static int op_failed(const char *what, int err)
{
	if (!error_logged) {
		logmsg("worker %d: %s: %s (further errors are only counted)", (int)getpid(), what,
		       err ? strerror(err) : "failed");
		error_logged = true;
	}
	return -1;
}

static char *spawn_argv[3];
/* An empty environment: nothing to copy, and the same exec every time. */
static char *empty_env[] = { NULL };
static posix_spawnattr_t spawn_attr;

/*
 * posix_spawn() is glibc's clone(CLONE_VM | CLONE_VFORK): no page tables
 * are copied, so the cost is the exec itself, which is what exec hooks see.
 */
static int exec_op(void)
{
	pid_t pid;
	int err, st;

	err = posix_spawn(&pid, spawn_argv[0], NULL, &spawn_attr, spawn_argv, empty_env);
	if (err)
		return op_failed("posix_spawn", err);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return op_failed("waitpid", errno);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return op_failed("child did not exit 0", 0);
	return 0;
}

static void exec_setup(void)
{
	sigset_t none, dfl;
	int err;

	/*
	 * The child would inherit our blocked SIGTERM/SIGINT and ignored
	 * SIGPIPE; give it a normal start instead (noop does not care, but
	 * --exe may name something that does).
	 */
	spawn_argv[0] = strdup(opt.exe);
	if (!spawn_argv[0])
		die("out of memory");
	/* --arg-bytes: one long argument, like a compiler's or a JVM's command line. */
	if (opt.arg_bytes) {
		spawn_argv[1] = malloc(opt.arg_bytes + 1);
		if (!spawn_argv[1])
			die("out of memory");
		memset(spawn_argv[1], 'x', opt.arg_bytes);
		spawn_argv[1][opt.arg_bytes] = '\0';
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	err = posix_spawnattr_init(&spawn_attr);
	if (!err)
		err = posix_spawnattr_setsigmask(&spawn_attr, &none);
	if (!err)
		err = posix_spawnattr_setsigdefault(&spawn_attr, &dfl);
	if (!err)
		err = posix_spawnattr_setflags(&spawn_attr,
					       POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (err)
		die("posix_spawnattr: %s", strerror(err));
}

static struct sockaddr_storage target;
static socklen_t target_len;

/*
 * A blocking connect returns once the handshake is complete, so the kernel
 * has seen the connection ESTABLISHED. SO_LINGER {1, 0} turns close() into
 * a RST: no TIME_WAIT, so 100k connections do not use up the ephemeral ports.
 */
static int connect_op(void)
{
	static const struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	int fd, err;

	fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return op_failed("socket", errno);
	if (connect(fd, (struct sockaddr *)&target, target_len) < 0) {
		err = errno;
		close(fd);
		return op_failed("connect", err);
	}
	/* --talk: one line of payload, so a sensor that ignores silent connections sees it. */
	if (opt.talk && send(fd, "hello\n", 6, MSG_NOSIGNAL) != 6) {
		err = errno;
		close(fd);
		return op_failed("send", err);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)) < 0) {
		err = errno;
		close(fd);
		return op_failed("SO_LINGER", err);
	}
	close(fd);
	return 0;
}

/* Accepts and closes, for as long as the process lives. */
static void *accept_main(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* Out of descriptors or memory: back off instead of spinning. */
		poll(NULL, 0, 1);
	}
	return NULL;
}

/* Our own listener on 127.0.0.1; the thread that drains it starts after the fork. */
static int connect_setup(void)
{
	char addr[ADDR_STRLEN];
	unsigned int port;
	int lfd, flags;

	if (opt.port) {
		endpoint_addr("--port", "127.0.0.1", opt.port, &target, &target_len);
		return -1;
	}
	lfd = open_listener("127.0.0.1", 0, SOCK_STREAM, addr, sizeof(addr), &port);
	/* A blocking accept() in its own thread is the cheapest way to keep up. */
	flags = fcntl(lfd, F_GETFL);
	if (flags < 0 || fcntl(lfd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
	/* listen() again only changes the backlog. */
	if (listen(lfd, ACCEPT_BACKLOG) < 0)
		die("listen: %s", strerror(errno));
	endpoint_addr("--port", "127.0.0.1", port, &target, &target_len);
	return lfd;
}

static int ping_fd = -1, pong_fd = -1;

/* One round trip: our write wakes the partner, its write wakes us. */
static int switch_op(void)
{
	char c = 'x';
	ssize_t n;

	n = write(ping_fd, &c, 1);
	if (n != 1)
		return op_failed("write", n < 0 ? errno : 0);
	n = read(pong_fd, &c, 1);
	if (n != 1)
		return op_failed("read", n < 0 ? errno : 0);
	return 0;
}

/* The lowest CPU we may run on: CPU 0 unless a cpuset says otherwise. */
static int first_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return 0;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		logmsg("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

/* Kills the calling child with the process that forked it, so nothing outlives a killed storm. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent may have died before prctl(). */
	if (getppid() != parent)
		_exit(1);
}

/*
 * Both ends of the ping-pong on one CPU, so that every message is a context
 * switch (two per round trip) rather than a wake-up of another CPU.
 */
static void switch_setup(void)
{
	int cpu = first_cpu(), ping[2], pong[2];
	pid_t pid, self = getpid();
	char c;

	pin_to(cpu);
	if (pipe2(ping, O_CLOEXEC) < 0 || pipe2(pong, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		die_with_parent(self);
		close(ping[1]);
		close(pong[0]);
		/* Answers until the pinger closes its end (or dies). */
		while (read(ping[0], &c, 1) == 1 && write(pong[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	ping_fd = ping[1];
	pong_fd = pong[0];
}

static void switch_teardown(void)
{
	close(ping_fd);
	close(pong_fd);
	/* The partner sees EOF and exits; reap it so it is not left to init. */
	while (wait(NULL) < 0 && errno == EINTR)
		;
}

/* ---- workers ------------------------------------------------------------- */

static bool stop_requested(void)
{
	return __atomic_load_n(&shm->stop, __ATOMIC_RELAXED);
}

static void do_op(op_fn op, struct slot *s)
{
	/* Relaxed stores: the parent reads them only after the worker is gone, or to salvage a count. */
	if (op() < 0)
		__atomic_store_n(&s->errors, s->errors + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->ops, s->ops + 1, __ATOMIC_RELAXED);
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { .tv_sec = t / NSEC_PER_SEC, .tv_nsec = t % NSEC_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/*
 * @rate operations per second from @t0 to @end. At every tick the worker
 * does what is due by then, R * elapsed, in one batch; the deadlines are
 * absolute, so the time an operation or a wake-up takes is not added to
 * the period and the average never exceeds R. A worker that cannot keep up
 * runs flat out and simply ends with fewer operations. One that was held up
 * briefly (preempted, a slow fork) catches up, but by at most MAX_DEBT_S
 * worth: the rest is forgotten rather than fired in one burst.
 */
static void run_paced(op_fn op, struct slot *s, double rate, int64_t t0, int64_t end)
{
	uint64_t max_debt = (uint64_t)(rate * MAX_DEBT_S) + 1, forgotten = 0, due;
	int64_t now, next;

	while (!stop_requested()) {
		now = mono_ns();
		due = (uint64_t)((double)((now < end ? now : end) - t0) * rate / NSEC_PER_SEC) -
		      forgotten;
		if (due > s->ops + max_debt) {
			forgotten += due - s->ops - max_debt;
			due = s->ops + max_debt;
		}
		/* What is due at @end itself may take up to a tick longer; nothing else may. */
		while (s->ops < due && mono_ns() < end + TICK_NS && !stop_requested())
			do_op(op, s);
		if (now >= end)
			break;
		/* The next tick after now; a batch that overran a tick is followed at once. */
		now = mono_ns();
		next = t0 + ((now - t0) / TICK_NS + 1) * TICK_NS;
		sleep_until(next < end ? next : end);
	}
}

static void run_count(op_fn op, struct slot *s, uint64_t count)
{
	while (s->ops < count && !stop_requested())
		do_op(op, s);
}

static void worker_main(unsigned int idx, int64_t t0, int64_t end)
{
	struct slot *s = &shm->slot[idx];
	op_fn op;

	switch (opt.mode) {
	case M_EXEC:
		op = exec_op;
		break;
	case M_CONNECT:
		op = connect_op;
		break;
	default:
		op = switch_op;
		switch_setup();
		break;
	}
	if (opt.count) {
		/* The first count % workers workers do one more. */
		run_count(op, s, opt.count / opt.workers + (idx < opt.count % opt.workers));
	} else {
		run_paced(op, s, opt.rate / opt.workers, t0, end);
	}
	if (opt.mode == M_SWITCH)
		switch_teardown();
}

/* ---- the parent ---------------------------------------------------------- */

static pid_t workers[MAX_WORKERS];
static unsigned int nworkers;

/*
 * Each worker leads its own process group, which what it runs (a program
 * that hangs, the ping-pong partner) inherits: killing the group kills
 * those too, where killing the worker would leave them orphaned.
 */
static void kill_workers(void)
{
	unsigned int i;

	for (i = 0; i < nworkers; i++)
		if (kill(-workers[i], SIGKILL) < 0)
			kill(workers[i], SIGKILL);
}

/*
 * Forks the workers. Each holds the write end of @done_fd; the parent sees
 * the pipe hang up when the last of them is gone, however it ended.
 */
static void start_workers(int listen_fd, int done_fd[2], int64_t t0, int64_t end)
{
	pid_t self = getpid(), pid;
	unsigned int i;

	fflush(NULL);	/* nothing buffered may be written twice */
	for (i = 0; i < opt.workers; i++) {
		pid = fork();
		if (pid < 0) {
			int err = errno;

			kill_workers();
			die("fork: %s", strerror(err));
		}
		if (pid == 0) {
			setpgid(0, 0);
			die_with_parent(self);
			close(done_fd[0]);
			if (listen_fd >= 0)
				close(listen_fd);
			worker_main(i, t0, end);
			_exit(0);
		}
		/* Here too, so that the group exists before kill_workers() can need it. */
		setpgid(pid, pid);
		workers[nworkers++] = pid;
	}
	close(done_fd[1]);
}

/*
 * Waits for the workers until @hard. Returns when the last one is gone (0),
 * or once they have been killed: 1 after a stop signal, -1 at the hard
 * deadline. A stop signal asks them to finish the operation they are in;
 * after STOP_GRACE_NS they are killed, and what they counted so far stands.
 */
static int wait_workers(int done_rd, int64_t hard)
{
	struct pollfd p = { .fd = done_rd, .events = POLLIN };
	int64_t deadline = hard, now;
	bool asked = false;
	int n;

	for (;;) {
		now = mono_ns();
		if (now >= deadline) {
			kill_workers();
			if (!asked) {
				logmsg("hard deadline passed, workers killed");
				return -1;
			}
			return 1;
		}
		n = poll_wait(&p, 1, (double)(deadline - now) / NSEC_PER_SEC);
		if (n > 0)
			return 0;
		if (n < 0 && !asked) {
			log_stop_signal();
			__atomic_store_n(&shm->stop, 1, __ATOMIC_RELAXED);
			asked = true;
			if (now + STOP_GRACE_NS < deadline)
				deadline = now + STOP_GRACE_NS;
		}
	}
}

/* Reaps the workers; false if one of them failed on its own. */
static bool reap_workers(bool killed)
{
	bool ok = true;
	unsigned int i;
	int st;

	for (i = 0; i < nworkers; i++) {
		while (waitpid(workers[i], &st, 0) < 0)
			if (errno != EINTR)
				die("waitpid: %s", strerror(errno));
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			continue;
		if (killed && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			continue;
		logmsg("worker %d %s %d", (int)workers[i],
		       WIFEXITED(st) ? "exited with status" : "killed by signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		ok = false;
	}
	return ok;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: storm exec    [--workers W] (--count N | --rate R --duration S) [--exe PATH]\n"
		"                     [--arg-bytes B]\n"
		"       storm connect [--workers W] (--count N | --rate R --duration S) [--port P] [--talk]\n"
		"       storm switch  [--count N]\n"
		"  --workers W      worker processes sharing the work (default 1)\n"
		"  --count N        N operations in total, as fast as possible\n"
		"  --rate R         R operations per second in total, paced ...\n"
		"  --duration S     ... for S seconds (at most 3600)\n"
		"  --exe PATH       exec: the program to run (default: noop beside storm)\n"
		"  --port P         connect: connect to 127.0.0.1:P instead of storm's own listener\n"
		"  --arg-bytes B    exec: pass one argument of B bytes (1-65536)\n"
		"  --talk           connect: send one line (\"hello\") on each connection before closing\n"
		"prints one JSON line: mode, ops, errors, seconds, rate, workers\n");
}

static void usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\n", tool_name, msg);
	usage(stderr);
	exit(1);
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "workers", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "exe", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "talk", no_argument, NULL, 't' },
		{ "arg-bytes", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int m;
	int c;

	if (argc < 2)
		usage_error("missing mode (exec, connect or switch)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		exit(0);
	}
	for (m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++)
		if (!strcmp(argv[1], mode_names[m]))
			break;
	if (m == sizeof(mode_names) / sizeof(mode_names[0]))
		usage_error("unknown mode (exec, connect or switch)");
	opt.mode = m;

	/* The options follow the mode word, which getopt takes for the program name. */
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "w:n:r:d:e:p:ta:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			opt.workers = parse_uint("--workers", optarg, 1, MAX_WORKERS);
			opt.workers_set = true;
			break;
		case 'n':
			opt.count = parse_uint("--count", optarg, 1, MAX_COUNT);
			break;
		case 'r':
			opt.rate = parse_double("--rate", optarg, 1, MAX_RATE);
			break;
		case 'd':
			opt.duration = parse_seconds("--duration", optarg, 0.001, MAX_DURATION);
			break;
		case 'e':
			opt.exe = optarg;
			break;
		case 'p':
			opt.port = parse_uint("--port", optarg, 1, 65535);
			break;
		case 't':
			opt.talk = true;
			break;
		case 'a':
			opt.arg_bytes = parse_uint("--arg-bytes", optarg, 1, 65536);
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

	if (opt.exe && opt.mode != M_EXEC)
		usage_error("--exe is for exec storms only");
	if (opt.port && opt.mode != M_CONNECT)
		usage_error("--port is for connect storms only");
	if (opt.talk && opt.mode != M_CONNECT)
		usage_error("--talk is for connect storms only");
	if (opt.arg_bytes && opt.mode != M_EXEC)
		usage_error("--arg-bytes is for exec storms only");
	if (opt.mode == M_SWITCH) {
		if (opt.workers_set || opt.rate || opt.duration)
			usage_error("switch takes --count only");
		if (!opt.count)
			opt.count = SWITCH_COUNT;
		return;
	}
	if (opt.count && (opt.rate || opt.duration))
		usage_error("--count and --rate/--duration exclude each other");
	if (!opt.count && (!opt.rate || !opt.duration))
		usage_error("need --count N, or --rate R with --duration S");
	if (!opt.count && opt.rate * opt.duration > MAX_COUNT)
		usage_error("--rate times --duration is more than 100000000 operations");
}

int main(int argc, char **argv)
{
	int done_fd[2], listen_fd = -1, status = 0, waited, err;
	int64_t t0, t1, end = 0, hard;
	uint64_t ops = 0, errors = 0;
	pthread_t acceptor;
	unsigned int i;
	double secs;

	parse_args(argc, argv);
	/* SIGPIPE: a broken ping-pong pipe is an error to count, not a reason to die. */
	stop_signals_init(true);

	if (opt.mode == M_EXEC) {
		if (!opt.exe)
			opt.exe = sibling_path("noop");
		if (access(opt.exe, X_OK) < 0)
			die("cannot execute %s: %s", opt.exe, strerror(errno));
		exec_setup();
	} else if (opt.mode == M_CONNECT) {
		listen_fd = connect_setup();
	} else {
		opt.workers = 1;	/* one ping-pong pair */
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (pipe2(done_fd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));

	t0 = mono_ns();
	if (opt.count) {
		hard = t0 + 2 * (int64_t)opt.count * COUNT_OP_NS + HARD_SLACK_NS;
	} else {
		end = t0 + (int64_t)(opt.duration * NSEC_PER_SEC);
		hard = t0 + 2 * (end - t0) + HARD_SLACK_NS;
	}
	start_workers(listen_fd, done_fd, t0, end);
	/* After the forks: a process that forks must not have threads. */
	if (listen_fd >= 0) {
		err = pthread_create(&acceptor, NULL, accept_main, &listen_fd);
		if (err) {
			kill_workers();
			die("pthread_create: %s", strerror(err));
		}
	}

	waited = wait_workers(done_fd[0], hard);
	t1 = mono_ns();
	if (!reap_workers(waited != 0) || waited < 0)
		status = 2;

	for (i = 0; i < nworkers; i++) {
		ops += shm->slot[i].ops;
		errors += shm->slot[i].errors;
	}
	secs = (double)(t1 - t0) / NSEC_PER_SEC;
	printf("{\"mode\":\"%s\",\"ops\":%" PRIu64 ",\"errors\":%" PRIu64
	       ",\"seconds\":%.3f,\"rate\":%.1f,\"workers\":%u}\n",
	       mode_names[opt.mode], ops, errors, secs, secs > 0 ? ops / secs : 0.0, opt.workers);
	fflush(stdout);
	if (errors * 100 > ops)
		status = 2;
	/* The acceptor thread, if any, ends with the process. */
	return status;
}
