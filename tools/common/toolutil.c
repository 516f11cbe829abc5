// SPDX-License-Identifier: GPL-2.0
/*
 * toolutil - stderr messages, clocks, stop signals and option parsing shared
 * by the minerwatch test tools. See toolutil.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "toolutil.h"

bool tool_quiet;
volatile sig_atomic_t stop_signal;

static int stop_flag;
/* The mask inside ppoll(): set by stop_signals_init(), else the current one is kept. */
static sigset_t waitmask;
static bool ppoll_mode;
static sigset_t stop_set;

static void vmsg(const char *fmt, va_list ap)
{
	flockfile(stderr);
	fprintf(stderr, "%s: ", tool_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

void logmsg(const char *fmt, ...)
{
	va_list ap;

	if (tool_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void log_stop_signal(void)
{
	if (stop_signal)
		logmsg("stopping on signal %d", (int)stop_signal);
}

/* ---- clocks ------------------------------------------------------------- */

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* ---- stopping ------------------------------------------------------------ */

static void on_signal(int sig)
{
	stop_signal = sig;
}

void stop_signals_init(bool ignore_sigpipe)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_set, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	ppoll_mode = true;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ignore_sigpipe)
		signal(SIGPIPE, SIG_IGN);
}

int poll_wait(struct pollfd *pfds, nfds_t nfds, double secs)
{
	struct timespec ts;
	int n;

	if (secs < 0)
		secs = 0;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - ts.tv_sec) * 1e9);
	n = ppoll(pfds, nfds, &ts, ppoll_mode ? &waitmask : NULL);
	if (n < 0 && errno != EINTR)
		die("ppoll: %s", strerror(errno));
	return n;
}

int wait_fd(int fd, short events, double secs)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (!ppoll_mode && secs > STOP_SLICE_MS / 1000.0)
		secs = STOP_SLICE_MS / 1000.0;
	return poll_wait(&p, fd >= 0 ? 1 : 0, secs) > 0 ? p.revents : 0;
}

bool interval_due(double *next, double interval, double deadline)
{
	if (now_mono() < *next) {
		wait_fd(-1, 0, (*next < deadline ? *next : deadline) - now_mono());
		return false;
	}
	*next += interval;
	if (*next <= now_mono())
		*next = now_mono() + interval;
	return true;
}

/* Called before any thread exists, so that only wait_stop_until() sees the signals. */
void stop_signals_block(bool ignore_sigpipe)
{
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	if (ignore_sigpipe)
		signal(SIGPIPE, SIG_IGN);
}

void wait_stop_until(int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ns();
		struct timespec ts;
		int sig;

		if (left <= 0)
			break;
		ts.tv_sec = left / NSEC_PER_SEC;
		ts.tv_nsec = left % NSEC_PER_SEC;
		sig = sigtimedwait(&stop_set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}
}

void stop_threads(void)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

bool stopping(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED);
}

/* ---- options ------------------------------------------------------------- */

static double parse_range(const char *name, const char *s, double min, double max,
			  const char *unit)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		die("invalid %s '%s' (expected %g..%g%s)", name, s, min, max, unit);
	return v;
}

double parse_double(const char *name, const char *s, double min, double max)
{
	return parse_range(name, s, min, max, "");
}

double parse_seconds(const char *name, const char *s, double min, double max)
{
	return parse_range(name, s, min, max, " seconds");
}

/* 0 and the value, or -1 if @s is not a whole number from @min to @max. */
static int parse_long(const char *s, long min, long max, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < min || *v > max ? -1 : 0;
}

unsigned int parse_uint(const char *name, const char *s, unsigned int min, unsigned int max)
{
	long v;

	if (parse_long(s, min, max, &v) < 0)
		die("invalid %s '%s' (expected %u..%u)", name, s, min, max);
	return (unsigned int)v;
}

unsigned int parse_port(const char *name, const char *s)
{
	long v;

	if (parse_long(s, 0, 65535, &v) < 0)
		die("invalid %s '%s'", name, s);
	return (unsigned int)v;
}

void no_extra_args(int argc, char **argv, void (*usage)(FILE *f))
{
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", tool_name, argv[optind]);
		usage(stderr);
		exit(1);
	}
}

void print_pid(void)
{
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
}

char *sibling_path(const char *name)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		die("unexpected /proc/self/exe '%s'", self);
	if (asprintf(&path, "%.*s/%s", (int)(slash - self), self, name) < 0)
		die("out of memory");
	return path;
}
