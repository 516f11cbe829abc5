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
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

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
} opt = {
	.bind_addr = "127.0.0.1",
	.interval = 10.0,
	.duration = 60.0,
};

const char tool_name[] = "heartbeat";

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
	struct pollfd pfds[MAX_CLIENTS + 1];
	int map[MAX_CLIENTS + 1];
	char addr[ADDR_STRLEN];
	double start = now_mono(), deadline = start + opt.duration;
	unsigned int conns = 0, port;
	int lfd, i;

	lfd = open_listener(opt.bind_addr, opt.port, SOCK_STREAM, addr, sizeof(addr), &port);
	announce_listener(addr, port, opt.port_file);

	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
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
			pfds[nfds].events = (c->len < BUF_SIZE && !c->eof ? POLLIN : 0) |
					    (c->len ? POLLOUT : 0);
			map[nfds++] = i;
		}
		n = poll_wait(pfds, nfds, wait);
		if (n < 0)
			continue;
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
	log_stop_signal();
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(&clients[i], "exiting");
	logmsg("summary elapsed=%.1fs connections=%u", now_mono() - start, conns);
	close(lfd);
	return 0;
}

/* ---- client ------------------------------------------------------------- */

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

		if (!interval_due(&next, opt.interval, deadline))
			continue;

		/* Normally one connection for the whole run; a new one only if it broke. */
		if (fd < 0) {
			fd = tcp_connect(&opt.to, opt.to_len, CONNECT_TIMEOUT, true);
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
	log_stop_signal();
	logmsg("summary elapsed=%.1fs connections=%lu pings=%lu failed=%lu max_rtt_ms=%.3f",
	       now_mono() - start, conns, pings, failed, rtt_max * 1e3);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

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
			opt.port = parse_port("--port", optarg);
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
	if (!opt.serve && !opt.have_to)
		die("--to HOST:PORT is required (or --serve)");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	/* Signals are let in only inside ppoll(), so a stop is never missed. */
	stop_signals_init(true);
	if (opt.serve)
		return run_server();
	print_pid();
	return run_client();
}
