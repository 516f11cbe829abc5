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
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

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
} opt = {
	.bind_addr = "127.0.0.1",
	.path = "/task",
	.threads = 2,
	.interval = 2.0,
	.duration = 60.0,
};

const char tool_name[] = "apipoll";

/* ---- addresses (loopback literals only, never the resolver) ----------- */

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
	endpoint_addr("--url", host, port, &opt.url, &opt.url_len);
	if (slash) {
		if (strlen(slash) >= sizeof(opt.path) || strpbrk(slash, " \r\n"))
			die("invalid path in --url '%s'", arg);
		snprintf(opt.path, sizeof(opt.path), "%s", slash);
	}
	snprintf(opt.host, sizeof(opt.host), "%.*s", (int)(port_str - p + plen), p);
	opt.have_url = true;
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
	char addr[ADDR_STRLEN];
	double start = now_mono(), deadline = start + opt.duration;
	unsigned int port;
	int lfd, i;

	clients = calloc(MAX_CLIENTS, sizeof(*clients));
	if (!clients)
		die("out of memory");
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	lfd = open_listener(opt.bind_addr, opt.port, SOCK_STREAM, addr, sizeof(addr), &port);
	announce_listener(addr, port, opt.port_file);

	while (!stop_signal) {
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
		n = poll_wait(pfds, nfds, wait);
		if (n < 0)
			continue;
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
	log_stop_signal();
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

		if (!interval_due(&next, opt.interval, deadline))
			continue;

		if (fd < 0) {
			fd = tcp_connect(&opt.url, opt.url_len, CONNECT_TIMEOUT, true);
			if (fd < 0) {
				if (!stop_signal) {
					failed++;
					logmsg("connect failed: %s", strerror(errno));
				}
				continue;
			}
			conns++;
			print_connected(fd);
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

	stop_threads();
	for (i = 0; i < opt.threads; i++) {
		pthread_join(workers[i].tid, NULL);
		tiles += workers[i].tiles;
		iters += workers[i].iters;
	}
	if (fd >= 0)
		close(fd);
	log_stop_signal();
	logmsg("summary elapsed=%.1fs threads=%u tiles=%" PRIu64 " iterations=%" PRIu64
	       " connections=%lu requests_ok=%lu failed=%lu", now_mono() - start, opt.threads,
	       tiles, iters, conns, ok, failed);
	free(workers);
	free(buf);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

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
			tool_quiet = true;
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
	if (!opt.serve && !opt.have_url)
		die("--url HOST:PORT is required (or --serve)");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	/*
	 * SIGINT/SIGTERM stay blocked everywhere and are let in only inside
	 * ppoll(), so no thread can miss a stop between check and wait.
	 */
	stop_signals_init(true);
	if (opt.serve)
		return run_server();
	print_pid();
	return run_client();
}
