// SPDX-License-Identifier: GPL-2.0
/*
 * bulkserve - a loopback "package mirror" for minerwatch tests, and the
 * downloader that fetches from it.
 *
 * The server answers every HTTP/1.1 GET with --size MiB of pseudo-random
 * bytes, optionally throttled to --rate MiB/s per connection; the fetcher
 * downloads one such file to /dev/null. Together they are "a package
 * download running during a compile": a big one-way transfer that a miner
 * sensor must not mistake for pool traffic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS	64
#define MAX_HDR		(16 * 1024)
#define CHUNK		(64 * 1024)
#define MIB		(1024.0 * 1024.0)
/* Rate limiting: bytes that may go out at once, and the smallest send worth waking for. */
#define BURST		(64 * 1024)
#define QUANTUM		(16 * 1024)
#define CONNECT_TIMEOUT	3.0
/* The fetcher gives up after this long without a single byte. */
#define STALL_TIMEOUT	10.0
#define DEFAULT_PATH	"/debian/pool/main/l/libexample/libexample-dev_2.4.1-1_amd64.deb"

static struct {
	bool fetch;
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	uint64_t size;		/* bytes */
	double rate;		/* bytes per second, 0 = unlimited */
	struct sockaddr_storage to;
	socklen_t to_len;
	char host[80];
	const char *path;
	double duration;
	bool quiet;
} opt = {
	.bind_addr = "127.0.0.1",
	.size = 100 * 1024 * 1024,
	.path = DEFAULT_PATH,
	.duration = 600.0,
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
	fputs("bulkserve: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bulkserve: ", stderr);
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

static int wait_fd(int fd, short events, double secs)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec ts;
	int n;

	if (secs < 0)
		secs = 0;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - ts.tv_sec) * 1e9);
	n = ppoll(&p, 1, &ts, &waitmask);
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

/* HOST:PORT or [::1]:PORT, loopback only; also sets the Host header. */
static void parse_endpoint(const char *what, const char *arg)
{
	const char *port_str, *sep, *hstart = arg;
	char host[64], *end;
	size_t hlen;
	long port;

	if (!strncmp(arg, "http://", 7))
		arg += 7;
	hstart = arg;
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
	if (set_loopback(host, port, &opt.to, &opt.to_len) < 0)
		die("refusing %s host '%s': only loopback (127.0.0.0/8, ::1, localhost) is allowed",
		    what, host);
	snprintf(opt.host, sizeof(opt.host), "%s", arg);
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

/* "\n\n" or "\n\r\n": returns the end of the header block and its length with the blank line. */
static char *find_hdr_end(char *buf, size_t len, size_t *hdr_len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n') {
			*hdr_len = i + 2;
			return buf + i;
		}
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
			*hdr_len = i + 3;
			return buf + i;
		}
	}
	return NULL;
}

static const char *header_value(const char *hdrs, const char *name)
{
	size_t nlen = strlen(name);
	const char *line = hdrs;

	while (line && *line) {
		if (!strncasecmp(line, name, nlen) && line[nlen] == ':') {
			line += nlen + 1;
			while (*line == ' ' || *line == '\t')
				line++;
			return line;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

/* ---- server ------------------------------------------------------------ */

struct client {
	int fd;
	unsigned int id;
	char *in;
	size_t in_len;
	bool sending;		/* a response is in progress; requests wait */
	bool close_after;
	char hdr[512];
	size_t hdr_len;
	size_t hdr_off;
	uint64_t body_left;
	uint64_t body_sent;	/* of the current response, for the rate limit */
	double body_start;
	uint64_t rng;
	char *chunk;
	size_t chunk_off;
	size_t chunk_len;
	uint64_t total;
	unsigned long responses;
};

static struct client clients[MAX_CLIENTS];
static uint64_t total_bytes;
static unsigned long n_conns, n_responses;

static void fill_chunk(struct client *c)
{
	uint64_t x = c->rng;
	size_t i;

	/* xorshift64*: fast, incompressible enough that nothing can shortcut the copy. */
	for (i = 0; i < CHUNK; i += 8) {
		uint64_t v;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		v = x * 0x2545f4914f6cdd1dULL;
		memcpy(c->chunk + i, &v, 8);
	}
	c->rng = x;
	c->chunk_off = 0;
	c->chunk_len = CHUNK;
}

static void client_close(struct client *c, const char *why)
{
	if (c->fd < 0)
		return;
	logmsg("client %u closed: %s; responses=%lu sent=%" PRIu64 " bytes", c->id, why,
	       c->responses, c->total);
	total_bytes += c->total;
	close(c->fd);
	free(c->in);
	free(c->chunk);
	c->in = c->chunk = NULL;
	c->fd = -1;
}

/* Parses one request from c->in, if complete, and starts its response. */
static void start_response(struct client *c)
{
	char method[16], path[1024], *end;
	int vmaj = 0, vmin = 0, code = 200;
	const char *reason = "OK", *v, *hdrs;
	size_t hlen;
	uint64_t len;

	end = find_hdr_end(c->in, c->in_len, &hlen);
	if (!end) {
		if (c->in_len >= MAX_HDR)
			client_close(c, "request headers too large");
		return;
	}
	*end = '\0';
	if (sscanf(c->in, "%15s %1023s HTTP/%d.%d", method, path, &vmaj, &vmin) != 4) {
		code = 400;
		reason = "Bad Request";
		vmaj = 1;
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = 405;
		reason = "Method Not Allowed";
	}
	hdrs = strchr(c->in, '\n');
	hdrs = hdrs ? hdrs + 1 : "";
	c->close_after = code == 400 || vmaj < 1 || (vmaj == 1 && vmin == 0);
	v = header_value(hdrs, "Connection");
	if (v && !strncasecmp(v, "close", 5))
		c->close_after = true;
	else if (v && !strncasecmp(v, "keep-alive", 10) && code != 400)
		c->close_after = false;

	len = code == 200 ? opt.size : 0;
	c->hdr_len = snprintf(c->hdr, sizeof(c->hdr),
			      "HTTP/1.1 %d %s\r\n"
			      "Server: bulkserve/1\r\n"
			      "Content-Type: application/vnd.debian.binary-package\r\n"
			      "Content-Length: %" PRIu64 "\r\n"
			      "Accept-Ranges: none\r\n"
			      "Connection: %s\r\n"
			      "\r\n", code, reason, len, c->close_after ? "close" : "keep-alive");
	c->hdr_off = 0;
	c->body_left = code == 200 && !strcmp(method, "GET") ? len : 0;
	c->body_sent = 0;
	c->body_start = now_mono();
	c->sending = true;
	c->responses++;
	n_responses++;
	if (code == 200)
		logmsg("client %u %s %.200s: %" PRIu64 " bytes%s", c->id, method, path,
		       c->body_left, opt.rate > 0 ? " (rate-limited)" : "");

	memmove(c->in, c->in + hlen, c->in_len - hlen);
	c->in_len -= hlen;
}

/* Bytes the rate limit lets out now (unlimited: a large number). */
static uint64_t allowance(const struct client *c, double now)
{
	double allowed;

	if (opt.rate <= 0)
		return UINT64_MAX;
	allowed = BURST + opt.rate * (now - c->body_start);
	return allowed > (double)c->body_sent ? (uint64_t)(allowed - c->body_sent) : 0;
}

/* When the rate limit next allows a QUANTUM, or 0 if it does now. */
static double throttled_until(const struct client *c, double now)
{
	uint64_t want = c->body_left < QUANTUM ? c->body_left : QUANTUM;

	if (!c->sending || c->hdr_off < c->hdr_len || opt.rate <= 0 || allowance(c, now) >= want)
		return 0;
	return c->body_start + (c->body_sent + want - (double)BURST) / opt.rate;
}

static void client_send(struct client *c)
{
	double now = now_mono();
	ssize_t n;

	while (c->sending) {
		if (c->hdr_off < c->hdr_len) {
			n = send(c->fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off,
				 MSG_NOSIGNAL);
		} else if (c->body_left) {
			uint64_t room = allowance(c, now);
			size_t len;

			if (!room)
				return;
			if (c->chunk_off == c->chunk_len)
				fill_chunk(c);
			len = c->chunk_len - c->chunk_off;
			if (len > c->body_left)
				len = c->body_left;
			if (len > room)
				len = room;
			n = send(c->fd, c->chunk + c->chunk_off, len, MSG_NOSIGNAL);
		} else {
			/* Response complete. */
			c->sending = false;
			if (c->close_after) {
				client_close(c, "response done, Connection: close");
				return;
			}
			start_response(c);
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_close(c, strerror(errno));
			return;
		}
		c->total += n;
		if (c->hdr_off < c->hdr_len) {
			c->hdr_off += n;
		} else {
			c->chunk_off += n;
			c->body_left -= n;
			c->body_sent += n;
		}
	}
}

static void client_read(struct client *c)
{
	ssize_t n;

	if (c->in_len >= MAX_HDR)
		return;
	n = recv(c->fd, c->in + c->in_len, MAX_HDR - c->in_len, 0);
	if (n == 0) {
		client_close(c, "peer closed");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_close(c, strerror(errno));
		return;
	}
	c->in_len += n;
	if (!c->sending)
		start_response(c);
}

static int run_server(void)
{
	struct sockaddr_storage ss;
	struct pollfd pfds[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1];
	char addr[INET6_ADDRSTRLEN + 8];
	double start = now_mono(), deadline = start + opt.duration;
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
		double now = now_mono(), wake = deadline, wait;
		int nfds = 0, n;

		if (now >= deadline)
			break;
		pfds[nfds].fd = lfd;
		pfds[nfds].events = POLLIN;
		map[nfds++] = -1;
		for (i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];
			double until;

			if (c->fd < 0)
				continue;
			until = throttled_until(c, now);
			if (until > 0 && until < wake)
				wake = until;
			pfds[nfds].fd = c->fd;
			pfds[nfds].events = (c->in_len < MAX_HDR ? POLLIN : 0) |
					    (c->sending && !until ? POLLOUT : 0);
			map[nfds++] = i;
		}
		wait = wake - now;
		if (wait < 0)
			wait = 0;
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

			if (c->fd != pfds[i].fd)
				continue;
			if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(c);
			/* Also after a throttle wait, which ends with a timeout, not an event. */
			if (c->fd >= 0 && c->sending)
				client_send(c);
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
				c->in = malloc(MAX_HDR + 1);
				c->chunk = malloc(CHUNK);
				c->fd = fd;
				c->id = ++n_conns;
				if (!c->in || !c->chunk) {
					client_close(c, "out of memory");
					continue;
				}
				/* Each connection gets its own stream of bytes. */
				if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) !=
				    sizeof(c->rng))
					c->rng = (uint64_t)now_mono() * 1e9;
				c->rng |= 1;
				logmsg("client %u connected", c->id);
			}
		}
	}
	if (stop_signal)
		logmsg("stopping on signal %d", (int)stop_signal);
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(&clients[i], "exiting");
	logmsg("summary elapsed=%.1fs connections=%lu responses=%lu bytes=%" PRIu64,
	       now_mono() - start, n_conns, n_responses, total_bytes);
	close(lfd);
	return 0;
}

/* ---- fetcher ------------------------------------------------------------- */

static int connect_to(void)
{
	double deadline = now_mono() + CONNECT_TIMEOUT;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(opt.to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
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

/* Returns 0 when done or stopped, 1 on failure (the exit status). */
static int run_fetch(void)
{
	double start = now_mono(), deadline = start + opt.duration, last = start, secs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	size_t len = 0, hlen = 0, bufsz = 256 * 1024;
	long long clen = -1;
	uint64_t body = 0;
	int fd, nul, status = 0, vmaj, vmin, ret = 1;
	bool headers = false;
	const char *v;
	char req[1024], *buf;
	ssize_t n;

	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	buf = malloc(bufsz);
	if (nul < 0 || !buf)
		die("cannot open /dev/null or allocate");
	fd = connect_to();
	if (fd < 0) {
		if (stop_signal)
			return 0;
		die("connect %s: %s", opt.host, strerror(errno));
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		ss.ss_family = AF_UNSPEC;
	printf("connected local_port=%u\n", sock_port(&ss));
	fflush(stdout);

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n"
		     "Accept: */*\r\n"
		     "Connection: close\r\n"
		     "\r\n", opt.path, opt.host);
	/* The socket buffer is empty, so this small request goes out in one call. */
	if (send(fd, req, n, MSG_NOSIGNAL) != n) {
		logmsg("sending the request failed: %s", strerror(errno));
		goto out;
	}

	while (!stop_signal) {
		double now = now_mono();

		if (now > deadline) {
			logmsg("--duration reached before the download finished");
			ret = 0;
			goto out;
		}
		if (now - last > STALL_TIMEOUT) {
			logmsg("no data for %.0f s, giving up", STALL_TIMEOUT);
			goto out;
		}
		if (headers && clen >= 0 && body >= (uint64_t)clen)
			break;
		n = recv(fd, buf + len, (headers ? bufsz : MAX_HDR) - len, 0);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				logmsg("recv: %s", strerror(errno));
				goto out;
			}
			wait_fd(fd, POLLIN, 0.5);
			continue;
		}
		if (n == 0) {
			/* Without Content-Length the body ends at EOF. */
			if (headers && clen < 0)
				break;
			logmsg("connection closed early");
			goto out;
		}
		last = now;
		if (headers) {
			if (write(nul, buf, n) != n)
				die("write /dev/null: %s", strerror(errno));
			body += n;
			continue;
		}
		len += n;
		if (!find_hdr_end(buf, len, &hlen)) {
			if (len >= MAX_HDR) {
				logmsg("response headers too large");
				goto out;
			}
			continue;
		}
		buf[hlen - 1] = '\0';
		if (sscanf(buf, "HTTP/%d.%d %d", &vmaj, &vmin, &status) != 3 || status != 200) {
			logmsg("unexpected response: %.80s", buf);
			goto out;
		}
		v = header_value(strchr(buf, '\n') + 1, "Content-Length");
		if (v)
			clen = strtoll(v, NULL, 10);
		headers = true;
		if (len > hlen) {
			if (write(nul, buf + hlen, len - hlen) != (ssize_t)(len - hlen))
				die("write /dev/null: %s", strerror(errno));
			body += len - hlen;
		}
		len = 0;
	}
	if (stop_signal) {
		logmsg("stopping on signal %d", (int)stop_signal);
		ret = 0;
		goto out;
	}
	secs = now_mono() - start;
	printf("done bytes=%" PRIu64 " seconds=%.3f mib_per_s=%.1f\n", body, secs,
	       secs > 0 ? body / MIB / secs : 0.0);
	fflush(stdout);
	ret = 0;
out:
	logmsg("summary elapsed=%.1fs status=%d content_length=%lld received=%" PRIu64,
	       now_mono() - start, status, clen, body);
	close(fd);
	close(nul);
	free(buf);
	return ret;
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
		"usage: bulkserve [--bind ADDR] [--port P] [--port-file FILE] [--size MIB]\n"
		"                 [--rate MIB_PER_S] [--duration SECONDS] [--quiet]\n"
		"       bulkserve --fetch HOST:PORT [--path PATH] [--duration SECONDS] [--quiet]\n"
		"  --bind ADDR          loopback address to listen on (default 127.0.0.1)\n"
		"  --port P             TCP port, 0 = ephemeral (default 0)\n"
		"  --port-file FILE     write the bound port to FILE (atomically)\n"
		"  --size MIB           response body size in MiB (default 100)\n"
		"  --rate MIB_PER_S     per-connection rate limit (default: unlimited)\n"
		"  --fetch HOST:PORT    download one file from a loopback bulkserve to /dev/null\n"
		"  --path PATH          fetch: request path (default: a .deb under /debian/pool)\n"
		"  --duration SEC       exit after SEC seconds (default 600)\n"
		"  --quiet              no log or summary on stderr\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "fetch", required_argument, NULL, 'F' },
		{ "path", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "b:p:f:s:r:F:P:d:qh", lopts, NULL)) != -1) {
		switch (c) {
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
		case 's':
			opt.size = (uint64_t)(parse_double("--size", optarg, 0, 65536) * MIB + 0.5);
			break;
		case 'r':
			opt.rate = parse_double("--rate", optarg, 0.001, 1e6) * MIB;
			break;
		case 'F':
			parse_endpoint("--fetch", optarg);
			opt.fetch = true;
			break;
		case 'P':
			if (optarg[0] != '/' || strlen(optarg) > 900 || strpbrk(optarg, " \r\n"))
				die("invalid --path '%s'", optarg);
			opt.path = optarg;
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
		fprintf(stderr, "bulkserve: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	setup_signals();
	if (!opt.fetch)
		return run_server();
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	return run_fetch();
}
