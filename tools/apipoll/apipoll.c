// SPDX-License-Identifier: GPL-2.0
/*
 * apipoll - a benign CPU-heavy worker that polls an HTTP API, for minerwatch
 * tests, and the loopback API server it polls.
 *
 * The client looks like a miner from far away: worker threads burning CPU
 * and a long-lived connection with small periodic messages. But the work is
 * ordinary (Mandelbrot tiles) and the traffic is plain HTTP/1.1 keep-alive
 * ("GET /task" every few seconds), like a render farm or CI agent asking a
 * coordinator for work. A sensor must not call this a miner.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS	64
#define MAX_THREADS	1024
/* Request or response header block limit. */
#define MAX_HDR		(16 * 1024)
#define MAX_BODY	(1024 * 1024)
#define IO_TIMEOUT	5.0
#define CONNECT_TIMEOUT	3.0
#define TILE		64
#define MAX_ITER	256

static struct {
	bool serve;
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	struct sockaddr_storage url;
	socklen_t url_len;
	bool have_url;
	char host[80];		/* Host header */
	char path[256];
	unsigned int threads;
	double interval;
	double duration;
	bool quiet;
} opt = {
	.bind_addr = "127.0.0.1",
	.path = "/task",
	.threads = 2,
	.interval = 2.0,
	.duration = 60.0,
};

static volatile sig_atomic_t stop_signal;
static int stop_flag;
static sigset_t waitmask;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	if (opt.quiet)
		return;
	va_start(ap, fmt);
	flockfile(stderr);
	fputs("apipoll: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("apipoll: ", stderr);
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

/*
 * SIGINT/SIGTERM stay blocked everywhere and are let in only inside
 * ppoll(..., &waitmask), so no thread can miss a stop between check and wait.
 */
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

/* poll() one fd (or just sleep with fd < 0) for at most @secs; signals wake it. */
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

/* [http://]HOST:PORT[/path], HOST a loopback literal or localhost. */
static void parse_url(const char *arg)
{
	const char *p = arg, *hend, *port_str, *slash;
	char host[64], portbuf[8], *end;
	size_t hlen, plen;
	long port;

	if (!strncmp(p, "http://", 7))
		p += 7;
	slash = strchr(p, '/');
	if (p[0] == '[') {
		hend = strchr(p, ']');
		if (!hend || hend[1] != ':')
			die("invalid --url '%s' (expected [::1]:PORT)", arg);
		hlen = hend - p - 1;
		if (hlen >= sizeof(host))
			die("invalid --url '%s'", arg);
		memcpy(host, p + 1, hlen);
		port_str = hend + 2;
	} else {
		hend = strchr(p, ':');
		if (!hend || (slash && hend > slash))
			die("invalid --url '%s' (expected HOST:PORT)", arg);
		hlen = hend - p;
		if (hlen >= sizeof(host))
			die("invalid --url '%s'", arg);
		memcpy(host, p, hlen);
		port_str = hend + 1;
	}
	host[hlen] = '\0';
	plen = slash ? (size_t)(slash - port_str) : strlen(port_str);
	if (!plen || plen >= sizeof(portbuf))
		die("invalid port in --url '%s'", arg);
	memcpy(portbuf, port_str, plen);
	portbuf[plen] = '\0';
	errno = 0;
	port = strtol(portbuf, &end, 10);
	if (errno || *end || port < 1 || port > 65535)
		die("invalid port in --url '%s'", arg);
	if (set_loopback(host, port, &opt.url, &opt.url_len) < 0)
		die("refusing --url host '%s': only loopback (127.0.0.0/8, ::1, localhost) "
		    "is allowed", host);
	if (slash) {
		if (strlen(slash) >= sizeof(opt.path) || strpbrk(slash, " \r\n"))
			die("invalid path in --url '%s'", arg);
		snprintf(opt.path, sizeof(opt.path), "%s", slash);
	}
	snprintf(opt.host, sizeof(opt.host), "%.*s", (int)(port_str - p + plen), p);
	opt.have_url = true;
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

/* ---- server ------------------------------------------------------------ */

struct client {
	int fd;
	unsigned int id;
	char in[MAX_HDR + 1];
	size_t in_len;
	size_t skip;		/* request body bytes still to discard */
	char *out;
	size_t out_len;
	size_t out_off;
	bool close_after;
	unsigned long requests;
};

static struct client *clients;
static unsigned long task_seq, n_requests, n_conns;

static int client_queue(struct client *c, const char *data, size_t len)
{
	char *p;

	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > MAX_BODY)
		return -1;
	p = realloc(c->out, c->out_len + len);
	if (!p)
		return -1;
	c->out = p;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static void client_close(struct client *c, const char *why)
{
	if (c->fd < 0)
		return;
	logmsg("client %u closed: %s; requests=%lu", c->id, why, c->requests);
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->out_len = c->out_off = c->in_len = c->skip = 0;
}

static int respond(struct client *c, int code, const char *reason, const char *body)
{
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\n"
		     "Server: apipoll/1\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\n"
		     "Cache-Control: no-store\r\n"
		     "Connection: %s\r\n"
		     "\r\n", code, reason, strlen(body), c->close_after ? "close" : "keep-alive");
	if (client_queue(c, hdr, n) < 0 || client_queue(c, body, strlen(body)) < 0)
		return -1;
	return 0;
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

/* Handles one complete header block (NUL-terminated). -1 closes the client. */
static int handle_request(struct client *c, char *req)
{
	char method[16], path[256], body[256];
	int vmaj = 0, vmin = 0;
	const char *v, *hdrs;
	long long clen = 0;

	if (sscanf(req, "%15s %255s HTTP/%d.%d", method, path, &vmaj, &vmin) != 4) {
		c->close_after = true;
		return respond(c, 400, "Bad Request", "{\"error\":\"bad request\"}");
	}
	hdrs = strchr(req, '\n');
	hdrs = hdrs ? hdrs + 1 : "";
	/* HTTP/1.1 keeps the connection unless told otherwise; 1.0 the opposite. */
	c->close_after = vmaj < 1 || (vmaj == 1 && vmin == 0);
	v = header_value(hdrs, "Connection");
	if (v && !strncasecmp(v, "close", 5))
		c->close_after = true;
	else if (v && !strncasecmp(v, "keep-alive", 10))
		c->close_after = false;
	v = header_value(hdrs, "Content-Length");
	if (v) {
		clen = strtoll(v, NULL, 10);
		if (clen < 0 || clen > MAX_BODY) {
			c->close_after = true;
			return respond(c, 413, "Payload Too Large", "{\"error\":\"too large\"}");
		}
		c->skip = clen;
	}

	c->requests++;
	n_requests++;
	if (strcmp(method, "GET"))
		return respond(c, 405, "Method Not Allowed", "{\"error\":\"method\"}");
	if (strcmp(path, "/task") && strncmp(path, "/task?", 6))
		return respond(c, 404, "Not Found", "{\"error\":\"not found\"}");

	task_seq++;
	snprintf(body, sizeof(body),
		 "{\"task\":%lu,\"kind\":\"render\",\"tile\":[%lu,%lu],\"size\":%d,"
		 "\"max_iter\":%d,\"lease_s\":30}",
		 task_seq, task_seq % 16, (task_seq / 16) % 16, TILE, MAX_ITER);
	return respond(c, 200, "OK", body);
}

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

static void client_read(struct client *c)
{
	ssize_t n;

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

	/* Pipelined requests are answered in order. */
	while (c->in_len && !c->close_after) {
		size_t hlen, drop;
		char *end;

		if (c->skip) {
			drop = c->skip < c->in_len ? c->skip : c->in_len;
			c->skip -= drop;
		} else {
			end = find_hdr_end(c->in, c->in_len, &hlen);
			if (!end)
				break;
			*end = '\0';
			if (handle_request(c, c->in) < 0) {
				client_close(c, "response too large");
				return;
			}
			drop = hlen;
		}
		memmove(c->in, c->in + drop, c->in_len - drop);
		c->in_len -= drop;
	}
	if (c->in_len >= MAX_HDR) {
		c->close_after = true;
		c->in_len = 0;
		if (respond(c, 431, "Request Header Fields Too Large",
			    "{\"error\":\"headers\"}") < 0)
			client_close(c, "out of memory");
	}
}

static void client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				client_close(c, strerror(errno));
			return;
		}
		c->out_off += n;
	}
	c->out_off = c->out_len = 0;
	if (c->close_after)
		client_close(c, "Connection: close");
}

static int open_listener(unsigned int *port_out, char *addr_out, size_t addr_len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (set_loopback(opt.bind_addr, opt.port, &ss, &sl) < 0)
		die("refusing --bind %s: only loopback (127.0.0.0/8, ::1, localhost) is allowed",
		    opt.bind_addr);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR: %s", strerror(errno));
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		die("IPV6_V6ONLY: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("bind %s port %u: %s", opt.bind_addr, opt.port, strerror(errno));
	if (listen(fd, 128) < 0)
		die("listen: %s", strerror(errno));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		die("getsockname: %s", strerror(errno));
	format_addr(&ss, addr_out, addr_len);
	*port_out = sock_port(&ss);
	return fd;
}

static void accept_clients(int lfd)
{
	int n;

	for (n = 0; n < 64; n++) {
		struct client *c = NULL;
		int fd, i;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0) {
				c = &clients[i];
				break;
			}
		}
		if (!c) {
			logmsg("client limit (%d) reached, refusing connection", MAX_CLIENTS);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->id = ++n_conns;
		logmsg("client %u connected", c->id);
	}
}

static int run_server(void)
{
	struct pollfd pfds[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1];
	char addr[INET6_ADDRSTRLEN + 8];
	double start = now_mono(), deadline = start + opt.duration;
	unsigned int port;
	int lfd, i;

	clients = calloc(MAX_CLIENTS, sizeof(*clients));
	if (!clients)
		die("out of memory");
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	lfd = open_listener(&port, addr, sizeof(addr));
	printf("listening %s\n", addr);
	fflush(stdout);
	if (opt.port_file)
		write_port_file(opt.port_file, port);

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
			/* Stop reading while a response waits, so a flood queues in the kernel. */
			pfds[nfds].events = c->out_len ? POLLOUT : POLLIN;
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

			if (!pfds[i].revents || c->fd != pfds[i].fd)
				continue;
			if (pfds[i].events & POLLIN)
				client_read(c);
			if (c->fd >= 0 && c->out_len)
				client_flush(c);
		}
		if (pfds[0].revents & POLLIN)
			accept_clients(lfd);
	}
	if (stop_signal)
		logmsg("stopping on signal %d", (int)stop_signal);
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(&clients[i], "exiting");
	logmsg("summary elapsed=%.1fs connections=%lu requests=%lu tasks=%lu", now_mono() - start,
	       n_conns, n_requests, task_seq);
	free(clients);
	close(lfd);
	return 0;
}

/* ---- client: compute ---------------------------------------------------- */

struct worker {
	pthread_t tid;
	unsigned int idx;
	uint64_t tiles;		/* read by main, atomic */
	uint64_t iters;		/* read by main, atomic */
} __attribute__((aligned(64)));

static bool stopping(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED);
}

/* Escape-time iterations over one TILE x TILE tile of the Mandelbrot set. */
static uint64_t render_tile(unsigned int tx, unsigned int ty, double zoom)
{
	double x0 = -2.0 + tx * 2.5 / 16 * zoom, y0 = -1.25 + ty * 2.5 / 16 * zoom;
	double step = 2.5 / 16 / TILE * zoom;
	uint64_t total = 0;
	int px, py;

	for (py = 0; py < TILE; py++) {
		for (px = 0; px < TILE; px++) {
			double cr = x0 + px * step, ci = y0 + py * step;
			double zr = 0, zi = 0;
			int it;

			for (it = 0; it < MAX_ITER && zr * zr + zi * zi <= 4.0; it++) {
				double t = zr * zr - zi * zi + cr;

				zi = 2 * zr * zi + ci;
				zr = t;
			}
			total += it;
		}
	}
	return total;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int t = w->idx * 37;

	while (!stopping()) {
		uint64_t it = render_tile(t % 16, (t / 16) % 16, 1.0 / (1 + (t / 256) % 8));

		__atomic_store_n(&w->iters, w->iters + it, __ATOMIC_RELAXED);
		__atomic_store_n(&w->tiles, w->tiles + 1, __ATOMIC_RELAXED);
		t++;
	}
	return NULL;
}

/* ---- client: HTTP polling ------------------------------------------------ */

static int connect_url(void)
{
	double deadline = now_mono() + CONNECT_TIMEOUT;
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(opt.url.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&opt.url, opt.url_len) == 0)
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

static int send_all(int fd, const char *buf, size_t len, double deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (stop_signal || now_mono() > deadline)
			return -1;
		wait_fd(fd, POLLOUT, deadline - now_mono());
	}
	return 0;
}

/*
 * One GET on the kept-alive connection, reading the whole response.
 * Returns the HTTP status, or -1 if the connection is unusable. *@keep is
 * cleared when the server announced it will close.
 */
static int do_request(int fd, char *buf, bool *keep)
{
	double deadline = now_mono() + IO_TIMEOUT;
	size_t len = 0, hlen = 0;
	long long clen = -1, have;
	int status = 0, vmaj, vmin;
	const char *v;
	char req[512];
	int n;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "User-Agent: apipoll/1\r\n"
		     "Accept: application/json\r\n"
		     "Connection: keep-alive\r\n"
		     "\r\n", opt.path, opt.host);
	if (send_all(fd, req, n, deadline) < 0)
		return -1;

	/* Headers first. */
	for (;;) {
		char *end;
		ssize_t r;

		if (len && (end = find_hdr_end(buf, len, &hlen))) {
			*end = '\0';
			break;
		}
		if (len >= MAX_HDR || stop_signal || now_mono() > deadline)
			return -1;
		r = recv(fd, buf + len, MAX_HDR - len, 0);
		if (r == 0)
			return -1;
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
			wait_fd(fd, POLLIN, deadline - now_mono());
			continue;
		}
		len += r;
	}
	if (sscanf(buf, "HTTP/%d.%d %d", &vmaj, &vmin, &status) != 3)
		return -1;
	v = header_value(strchr(buf, '\n') ? strchr(buf, '\n') + 1 : "", "Content-Length");
	if (v)
		clen = strtoll(v, NULL, 10);
	v = header_value(strchr(buf, '\n') ? strchr(buf, '\n') + 1 : "", "Connection");
	if (v && !strncasecmp(v, "close", 5))
		*keep = false;
	/* Without a length the body runs to EOF, and the connection is done. */
	if (clen < 0 || clen > MAX_BODY) {
		*keep = false;
		clen = MAX_BODY;
	}

	/* Then exactly Content-Length body bytes, whatever followed the headers. */
	have = len - hlen;
	while (have < clen) {
		ssize_t r;

		if (stop_signal || now_mono() > deadline)
			return -1;
		r = recv(fd, buf, clen - have < MAX_HDR ? clen - have : MAX_HDR, 0);
		if (r == 0) {
			if (!*keep)
				break;
			return -1;
		}
		if (r < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
			wait_fd(fd, POLLIN, deadline - now_mono());
			continue;
		}
		have += r;
	}
	return status;
}

static int run_client(void)
{
	double start = now_mono(), deadline = start + opt.duration, next;
	unsigned long ok = 0, failed = 0, conns = 0;
	uint64_t tiles = 0, iters = 0;
	struct worker *workers = NULL;
	char *buf;
	unsigned int i;
	int fd = -1, err;

	buf = malloc(MAX_HDR + 1);
	if (!buf)
		die("out of memory");
	if (opt.threads) {
		workers = calloc(opt.threads, sizeof(*workers));
		if (!workers)
			die("out of memory");
	}
	for (i = 0; i < opt.threads; i++) {
		workers[i].idx = i;
		err = pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]);
		if (err)
			die("pthread_create: %s", strerror(err));
	}

	next = start;
	while (!stop_signal && now_mono() < deadline) {
		bool keep = true;
		int status;

		if (now_mono() < next) {
			wait_fd(-1, 0, (next < deadline ? next : deadline) - now_mono());
			continue;
		}
		next += opt.interval;
		if (next <= now_mono())
			next = now_mono() + opt.interval;

		if (fd < 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);

			fd = connect_url();
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
		status = do_request(fd, buf, &keep);
		if (status == 200) {
			ok++;
		} else if (!stop_signal) {
			failed++;
			if (status < 0)
				logmsg("request failed");
			else
				logmsg("request got HTTP %d", status);
		}
		/* Only a broken or closing connection is replaced. */
		if (status < 0 || !keep) {
			close(fd);
			fd = -1;
		}
	}

	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
	for (i = 0; i < opt.threads; i++) {
		pthread_join(workers[i].tid, NULL);
		tiles += workers[i].tiles;
		iters += workers[i].iters;
	}
	if (fd >= 0)
		close(fd);
	if (stop_signal)
		logmsg("stopping on signal %d", (int)stop_signal);
	logmsg("summary elapsed=%.1fs threads=%u tiles=%" PRIu64 " iterations=%" PRIu64
	       " connections=%lu requests_ok=%lu failed=%lu", now_mono() - start, opt.threads,
	       tiles, iters, conns, ok, failed);
	free(workers);
	free(buf);
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

static unsigned int parse_uint(const char *name, const char *s, unsigned int min,
			       unsigned int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < (long)min || v > (long)max)
		die("invalid %s '%s' (expected %u..%u)", name, s, min, max);
	return (unsigned int)v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: apipoll --url HOST:PORT[/PATH] [--threads N] [--interval SECONDS]\n"
		"               [--duration SECONDS] [--quiet]\n"
		"       apipoll --serve [--bind ADDR] [--port P] [--port-file FILE]\n"
		"               [--duration SECONDS] [--quiet]\n"
		"  --url HOST:PORT      loopback API (http:// prefix allowed; path default /task)\n"
		"  --threads N          compute threads, 0-1024 (default 2)\n"
		"  --interval SEC       seconds between requests (default 2)\n"
		"  --serve              run the API server instead\n"
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
		{ "url", required_argument, NULL, 'u' },
		{ "threads", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "Sb:p:f:u:t:i:d:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			opt.serve = true;
			break;
		case 'b':
			opt.bind_addr = optarg;
			break;
		case 'p':
			opt.port = parse_uint("--port", optarg, 0, 65535);
			break;
		case 'f':
			opt.port_file = optarg;
			break;
		case 'u':
			parse_url(optarg);
			break;
		case 't':
			opt.threads = parse_uint("--threads", optarg, 0, MAX_THREADS);
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
		fprintf(stderr, "apipoll: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(1);
	}
	if (!opt.serve && !opt.have_url)
		die("--url HOST:PORT is required (or --serve)");
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
