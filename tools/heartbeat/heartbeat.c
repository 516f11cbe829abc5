// SPDX-License-Identifier: GPL-2.0
/*
 * heartbeat - a benign idle long-lived connection for minerwatch tests, and
 * the loopback echo server it talks to.
 *
 * The client is a keepalive in its purest form: one TCP connection, a
 * "ping\n" every interval, the echo read back, and next to no CPU. Monitoring
 * agents, chat clients and database pools all look like this; it is the
 * "periodic small messages, but idle" control for a miner sensor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS	64
#define BUF_SIZE	4096
#define PING		"ping\n"
#define PING_LEN	(sizeof(PING) - 1)
#define CONNECT_TIMEOUT	3.0
#define ECHO_TIMEOUT	5.0

static struct {
	bool serve;
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	struct sockaddr_storage to;
	socklen_t to_len;
	bool have_to;
	double interval;
	double duration;
	bool quiet;
} opt = {
	.bind_addr = "127.0.0.1",
	.interval = 10.0,
	.duration = 60.0,
};

static volatile sig_atomic_t stop_signal;
static sigset_t waitmask;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	va_start(ap, fmt);
	fputs("heartbeat: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("heartbeat: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Signals are let in only inside ppoll(), so a stop is never missed. */
static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Waits for @events on @fd (or just sleeps if fd < 0); returns revents, 0 on timeout. */
static int wait_fd(int fd, short events, double secs)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec ts;
	int n;

	if (secs < 0)
		secs = 0;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - ts.tv_sec) * 1e9);
	n = ppoll(&p, fd >= 0 ? 1 : 0, &ts, &waitmask);
	if (n < 0 && errno != EINTR)
		die("ppoll: %s", strerror(errno));
	return n > 0 ? p.revents : 0;
}

/* ---- addresses (loopback literals only, never the resolver) ----------- */

static int set_loopback(const char *host, unsigned int port, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sl = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sl = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* HOST:PORT or [::1]:PORT, loopback only. */
static void parse_endpoint(const char *what, const char *arg, struct sockaddr_storage *ss,
			   socklen_t *sl)
{
	const char *port_str, *sep, *hstart = arg;
	char host[64], *end;
	size_t hlen;
	long port;

	if (arg[0] == '[') {
		sep = strchr(arg, ']');
		if (!sep || sep[1] != ':')
			die("invalid %s '%s' (expected [::1]:PORT)", what, arg);
		hstart = arg + 1;
		port_str = sep + 2;
	} else {
		sep = strrchr(arg, ':');
		if (!sep || strchr(arg, ':') != sep)
			die("invalid %s '%s' (expected HOST:PORT, IPv6 as [::1]:PORT)", what, arg);
		port_str = sep + 1;
	}
	hlen = sep - hstart;
	if (hlen >= sizeof(host))
		die("invalid %s '%s'", what, arg);
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(port_str, &end, 10);
	if (errno || end == port_str || *end || port < 1 || port > 65535)
		die("invalid port in %s '%s'", what, arg);
	if (set_loopback(host, port, ss, sl) < 0)
		die("refusing %s host '%s': only loopback (127.0.0.0/8, ::1, localhost) is allowed",
		    what, host);
}

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, len, "%s:%u", addr, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

static unsigned int sock_port(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)ss)->sin6_port) :
					   ntohs(((struct sockaddr_in *)ss)->sin_port);
}

/* Written via rename so a polling test never reads a half-written number. */
static void write_port_file(const char *path, unsigned int port)
{
	char *tmp;
	FILE *f;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		die("out of memory");
	f = fopen(tmp, "w");
	if (!f)
		die("cannot create %s: %s", tmp, strerror(errno));
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		die("cannot write %s: %s", path, strerror(errno));
	}
	free(tmp);
}

/* ---- echo server --------------------------------------------------------- */

struct client {
	int fd;
	unsigned int id;
	char buf[BUF_SIZE];
	size_t len;		/* bytes waiting to be echoed */
	bool eof;
	unsigned long bytes;
};

static struct client clients[MAX_CLIENTS];

static void client_close(struct client *c, const char *why)
{
	if (c->fd < 0)
		return;
	logmsg("client %u closed: %s; echoed=%lu bytes", c->id, why, c->bytes);
	close(c->fd);
	c->fd = -1;
}

static void client_io(struct client *c, short re)
{
	ssize_t n;

	if (re & (POLLIN | POLLHUP | POLLERR) && !c->eof && c->len < BUF_SIZE) {
		n = recv(c->fd, c->buf + c->len, BUF_SIZE - c->len, 0);
		if (n == 0) {
			c->eof = true;
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				client_close(c, strerror(errno));
				return;
			}
		} else {
			c->len += n;
		}
	}
	while (c->len) {
		n = send(c->fd, c->buf, c->len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			client_close(c, strerror(errno));
			return;
		}
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
		c->bytes += n;
	}
	if (c->eof && !c->len)
		client_close(c, "peer closed");
}

static int run_server(void)
{
	struct sockaddr_storage ss;
	struct pollfd pfds[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1];
	char addr[INET6_ADDRSTRLEN + 8];
	double start = now_mono(), deadline = start + opt.duration;
	unsigned int conns = 0;
	socklen_t sl;
	int lfd, i, one = 1;

	if (set_loopback(opt.bind_addr, opt.port, &ss, &sl) < 0)
		die("refusing --bind %s: only loopback (127.0.0.0/8, ::1, localhost) is allowed",
		    opt.bind_addr);
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR: %s", strerror(errno));
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		die("IPV6_V6ONLY: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&ss, sl) < 0)
		die("bind %s port %u: %s", opt.bind_addr, opt.port, strerror(errno));
	if (listen(lfd, 128) < 0)
		die("listen: %s", strerror(errno));
	sl = sizeof(ss);
	if (getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0)
		die("getsockname: %s", strerror(errno));
	format_addr(&ss, addr, sizeof(addr));
	printf("listening %s\n", addr);
	fflush(stdout);
	if (opt.port_file)
		write_port_file(opt.port_file, sock_port(&ss));

	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	while (!stop_signal) {
		struct timespec ts;
		double wait = deadline - now_mono();
		int nfds = 0, n;

		if (wait <= 0)
			break;
		pfds[nfds].fd = lfd;
		pfds[nfds].events = POLLIN;
		map[nfds++] = -1;
		for (i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];

			if (c->fd < 0)
				continue;
			pfds[nfds].fd = c->fd;
			pfds[nfds].events = (c->len < BUF_SIZE && !c->eof ? POLLIN : 0) |
					    (c->len ? POLLOUT : 0);
			map[nfds++] = i;
		}
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - ts.tv_sec) * 1e9);
		n = ppoll(pfds, nfds, &ts, &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("ppoll: %s", strerror(errno));
		}
		for (i = 1; i < nfds; i++) {
			struct client *c = &clients[map[i]];

			if (pfds[i].revents && c->fd == pfds[i].fd)
				client_io(c, pfds[i].revents);
		}
		if (pfds[0].revents & POLLIN) {
			int fd;

			while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				struct client *c = NULL;

				for (i = 0; i < MAX_CLIENTS && !c; i++)
					if (clients[i].fd < 0)
						c = &clients[i];
				if (!c) {
					logmsg("client limit (%d) reached, refusing connection",
					       MAX_CLIENTS);
					close(fd);
					break;
				}
				memset(c, 0, sizeof(*c));
				c->fd = fd;
				c->id = ++conns;
				logmsg("client %u connected", c->id);
			}
		}
	}
	if (stop_signal)
		logmsg("stopping on signal %d", (int)stop_signal);
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(&clients[i], "exiting");
	logmsg("summary elapsed=%.1fs connections=%u", now_mono() - start, conns);
	close(lfd);
	return 0;
}

/* ---- client ------------------------------------------------------------- */

static int connect_to(void)
{
	double deadline = now_mono() + CONNECT_TIMEOUT;
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(opt.to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&opt.to, opt.to_len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	while (!stop_signal && now_mono() < deadline) {
		if (!wait_fd(fd, POLLOUT, deadline - now_mono()))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			goto fail;
		if (err) {
			errno = err;
			goto fail;
		}
		return fd;
	}
	errno = ETIMEDOUT;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* One ping and its echo. Returns -1 if the connection is unusable. */
static int ping_once(int fd, double *rtt)
{
	double t0 = now_mono(), deadline = t0 + ECHO_TIMEOUT;
	char buf[64];
	size_t got = 0;
	ssize_t n;

	/* A 5-byte write never blocks on a fresh socket buffer; retry is not needed. */
	n = send(fd, PING, PING_LEN, MSG_NOSIGNAL);
	if (n != (ssize_t)PING_LEN)
		return -1;
	while (got < PING_LEN) {
		if (stop_signal || now_mono() > deadline)
			return -1;
		n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
			wait_fd(fd, POLLIN, deadline - now_mono());
			continue;
		}
		got += n;
	}
	*rtt = now_mono() - t0;
	return memcmp(buf, PING, PING_LEN) ? -1 : 0;
}

static int run_client(void)
{
	double start = now_mono(), deadline = start + opt.duration, next = start, rtt_max = 0;
	unsigned long pings = 0, failed = 0, conns = 0;
	int fd = -1;

	while (!stop_signal && now_mono() < deadline) {
		double rtt;

		if (now_mono() < next) {
			wait_fd(-1, 0, (next < deadline ? next : deadline) - now_mono());
			continue;
		}
		next += opt.interval;
		if (next <= now_mono())
			next = now_mono() + opt.interval;

		/* Normally one connection for the whole run; a new one only if it broke. */
		if (fd < 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);

			fd = connect_to();
			if (fd < 0) {
				if (!stop_signal) {
					failed++;
					logmsg("connect failed: %s", strerror(errno));
				}
				continue;
			}
			conns++;
			if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
				ss.ss_family = AF_UNSPEC;
			printf("connected local_port=%u\n", sock_port(&ss));
			fflush(stdout);
		}
		if (ping_once(fd, &rtt) < 0) {
			if (stop_signal)
				break;
			failed++;
			logmsg("ping failed; reconnecting at the next interval");
			close(fd);
			fd = -1;
			continue;
		}
		pings++;
		if (rtt > rtt_max)
			rtt_max = rtt;
	}
	if (fd >= 0)
		close(fd);
	if (stop_signal)
		logmsg("stopping on signal %d", (int)stop_signal);
	logmsg("summary elapsed=%.1fs connections=%lu pings=%lu failed=%lu max_rtt_ms=%.3f",
	       now_mono() - start, conns, pings, failed, rtt_max * 1e3);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static double parse_double(const char *name, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		die("invalid %s '%s' (expected %g..%g)", name, s, min, max);
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: heartbeat --to HOST:PORT [--interval SECONDS] [--duration SECONDS]\n"
		"                 [--quiet]\n"
		"       heartbeat --serve [--bind ADDR] [--port P] [--port-file FILE]\n"
		"                 [--duration SECONDS] [--quiet]\n"
		"  --to HOST:PORT       loopback echo server: 127.x.x.x:P, [::1]:P, localhost:P\n"
		"  --interval SEC       seconds between pings (default 10)\n"
		"  --serve              run the echo server instead\n"
		"  --bind ADDR          server: loopback address (default 127.0.0.1)\n"
		"  --port P             server: TCP port, 0 = ephemeral (default 0)\n"
		"  --port-file FILE     server: write the bound port to FILE (atomically)\n"
		"  --duration SEC       exit after SEC seconds (default 60)\n"
		"  --quiet              no log or summary on stderr\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "serve", no_argument, NULL, 'S' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "Sb:p:f:t:i:d:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			opt.serve = true;
			break;
		case 'b':
			opt.bind_addr = optarg;
			break;
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > 65535)
				die("invalid --port '%s'", optarg);
			opt.port = v;
			break;
		case 'f':
			opt.port_file = optarg;
			break;
		case 't':
			parse_endpoint("--to", optarg, &opt.to, &opt.to_len);
			opt.have_to = true;
			break;
		case 'i':
			opt.interval = parse_double("--interval", optarg, 0.01, 86400);
			break;
		case 'd':
			opt.duration = parse_double("--duration", optarg, 0.001, 7 * 86400);
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "heartbeat: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(1);
	}
	if (!opt.serve && !opt.have_to)
		die("--to HOST:PORT is required (or --serve)");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	setup_signals();
	if (opt.serve)
		return run_server();
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	return run_client();
}
