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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

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
} opt = {
	.bind_addr = "127.0.0.1",
	.size = 100 * 1024 * 1024,
	.path = DEFAULT_PATH,
	.duration = 600.0,
};

const char tool_name[] = "bulkserve";

/* [http://]HOST:PORT or [::1]:PORT, loopback only; also sets the Host header. */
static void parse_fetch(const char *arg)
{
	if (!strncmp(arg, "http://", 7))
		arg += 7;
	parse_endpoint("--fetch", arg, &opt.to, &opt.to_len);
	snprintf(opt.host, sizeof(opt.host), "%s", arg);
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
	struct pollfd pfds[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1];
	char addr[ADDR_STRLEN];
	double start = now_mono(), deadline = start + opt.duration;
	unsigned int port;
	int lfd, i;

	lfd = open_listener(opt.bind_addr, opt.port, SOCK_STREAM, addr, sizeof(addr), &port);
	announce_listener(addr, port, opt.port_file);

	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	while (!stop_signal) {
		double now = now_mono(), wake = deadline;
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
		n = poll_wait(pfds, nfds, wake - now);
		if (n < 0)
			continue;
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
	log_stop_signal();
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(&clients[i], "exiting");
	logmsg("summary elapsed=%.1fs connections=%lu responses=%lu bytes=%" PRIu64,
	       now_mono() - start, n_conns, n_responses, total_bytes);
	close(lfd);
	return 0;
}

/* ---- fetcher ------------------------------------------------------------- */

/* Returns 0 when done or stopped, 1 on failure (the exit status). */
static int run_fetch(void)
{
	double start = now_mono(), deadline = start + opt.duration, last = start, secs;
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
	fd = tcp_connect(&opt.to, opt.to_len, CONNECT_TIMEOUT, false);
	if (fd < 0) {
		if (stop_signal)
			return 0;
		die("connect %s: %s", opt.host, strerror(errno));
	}
	print_connected(fd);

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
		log_stop_signal();
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
	int c;

	while ((c = getopt_long(argc, argv, "b:p:f:s:r:F:P:d:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opt.bind_addr = optarg;
			break;
		case 'p':
			opt.port = parse_port("--port", optarg);
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
			parse_fetch(optarg);
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
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	/* Signals are let in only inside ppoll(), so a stop is never missed. */
	stop_signals_init(true);
	if (!opt.fetch)
		return run_server();
	print_pid();
	return run_fetch();
}
