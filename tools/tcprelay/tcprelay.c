// SPDX-License-Identifier: GPL-2.0
/*
 * tcprelay - a loopback-only TCP proxy for minerwatch tests.
 *
 * Stands for "a pool reached through a local proxy": a miner connects here,
 * and every accepted connection gets its own upstream connection to --to,
 * with bytes copied both ways until either side is done. Half-closes are
 * passed on, so a client that shuts down its sending side still gets the
 * rest of the reply. One thread, poll(), up to 64 client pairs.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#define MAX_RELAYS	64
#define BUF_SIZE	(64 * 1024)
#define CONNECT_TIMEOUT	3.0
/* Longest poll() sleep, so connect timeouts are noticed without a timer list. */
#define TICK_MS		200

/* One direction of a relay: bytes read from one socket, waiting to be written to the other. */
struct pipe_buf {
	char *data;
	size_t off;
	size_t len;
	bool eof;		/* the source sent FIN */
	bool shut;		/* FIN passed on to the sink */
	uint64_t bytes;
};

struct relay {
	int cfd;		/* accepted client, -1 when the slot is free */
	int ufd;		/* upstream */
	bool connecting;
	double connect_deadline;
	unsigned int id;
	char peer[ADDR_STRLEN];
	struct pipe_buf up;	/* client -> upstream */
	struct pipe_buf down;	/* upstream -> client */
};

static struct {
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	struct sockaddr_storage to;
	socklen_t to_len;
	bool have_to;
	double duration;
} opt = {
	.bind_addr = "127.0.0.1",
	.duration = 600.0,
};

static struct relay relays[MAX_RELAYS];
static unsigned int next_id = 1, n_accepted, n_refused, n_failed;
static uint64_t total_up, total_down;

const char tool_name[] = "tcprelay";

/* ---- relays ------------------------------------------------------------ */

static void relay_close(struct relay *r, const char *why)
{
	if (r->cfd < 0)
		return;
	logmsg("relay %u (%s) closed: %s; up=%" PRIu64 " down=%" PRIu64 " bytes", r->id, r->peer,
	       why, r->up.bytes, r->down.bytes);
	total_up += r->up.bytes;
	total_down += r->down.bytes;
	close(r->cfd);
	if (r->ufd >= 0)
		close(r->ufd);
	free(r->up.data);
	free(r->down.data);
	memset(r, 0, sizeof(*r));
	r->cfd = -1;
	r->ufd = -1;
}

static void accept_clients(int lfd)
{
	int n;

	for (n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct relay *r = NULL;
		int fd, ufd, i, one = 1;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				logmsg("accept: %s", strerror(errno));
			return;
		}
		for (i = 0; i < MAX_RELAYS; i++) {
			if (relays[i].cfd < 0) {
				r = &relays[i];
				break;
			}
		}
		if (!r) {
			n_refused++;
			logmsg("relay limit (%d) reached, refusing connection", MAX_RELAYS);
			close(fd);
			continue;
		}
		ufd = socket(opt.to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (ufd < 0) {
			logmsg("socket: %s", strerror(errno));
			close(fd);
			continue;
		}
		/* Keep the client's segment boundaries as far as we can. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		r->up.data = malloc(BUF_SIZE);
		r->down.data = malloc(BUF_SIZE);
		r->cfd = fd;
		r->ufd = ufd;
		r->id = next_id++;
		format_addr(&ss, r->peer, sizeof(r->peer));
		n_accepted++;
		if (!r->up.data || !r->down.data) {
			relay_close(r, "out of memory");
			continue;
		}
		if (connect(ufd, (struct sockaddr *)&opt.to, opt.to_len) < 0) {
			if (errno != EINPROGRESS) {
				n_failed++;
				relay_close(r, strerror(errno));
				continue;
			}
			r->connecting = true;
			r->connect_deadline = now_mono() + CONNECT_TIMEOUT;
		}
		logmsg("relay %u (%s) accepted", r->id, r->peer);
	}
}

static void connect_done(struct relay *r)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char local[ADDR_STRLEN] = "?";
	int err = 0;
	socklen_t elen = sizeof(err);

	if (getsockopt(r->ufd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err) {
		n_failed++;
		relay_close(r, strerror(err));
		return;
	}
	r->connecting = false;
	if (!getsockname(r->ufd, (struct sockaddr *)&ss, &sl))
		format_addr(&ss, local, sizeof(local));
	logmsg("relay %u (%s) upstream connected from %s", r->id, r->peer, local);
}

/* Reads what fits from @fd into @b. Returns -1 if the relay must close. */
static int pipe_fill(struct relay *r, int fd, struct pipe_buf *b)
{
	ssize_t n;

	if (b->eof)
		return 0;
	if (b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len == BUF_SIZE)
		return 0;
	n = recv(fd, b->data + b->len, BUF_SIZE - b->len, 0);
	if (n > 0) {
		b->len += n;
		b->bytes += n;
		return 0;
	}
	if (n == 0) {
		b->eof = true;
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	relay_close(r, strerror(errno));
	return -1;
}

/* Writes what it can of @b to @fd, then passes a FIN on. -1 if the relay must close. */
static int pipe_drain(struct relay *r, int fd, struct pipe_buf *b)
{
	while (b->off < b->len) {
		ssize_t n = send(fd, b->data + b->off, b->len - b->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			relay_close(r, strerror(errno));
			return -1;
		}
		b->off += n;
	}
	b->off = b->len = 0;
	if (b->eof && !b->shut) {
		shutdown(fd, SHUT_WR);
		b->shut = true;
	}
	return 0;
}

static void relay_io(struct relay *r, short cre, short ure)
{
	if (r->connecting) {
		if (ure)
			connect_done(r);
		else if (now_mono() > r->connect_deadline) {
			n_failed++;
			relay_close(r, "upstream connect timed out");
		}
		if (r->cfd < 0 || r->connecting)
			goto client_only;
	}
	if (ure & (POLLIN | POLLHUP | POLLERR) && pipe_fill(r, r->ufd, &r->down) < 0)
		return;
	if (cre & (POLLIN | POLLHUP | POLLERR) && pipe_fill(r, r->cfd, &r->up) < 0)
		return;
	if (pipe_drain(r, r->ufd, &r->up) < 0 || pipe_drain(r, r->cfd, &r->down) < 0)
		return;
	if (r->up.shut && r->down.shut)
		relay_close(r, "both sides done");
	return;

client_only:
	/* Buffer what the client sends while the upstream connect is pending. */
	if (r->cfd >= 0 && cre & (POLLIN | POLLHUP | POLLERR))
		pipe_fill(r, r->cfd, &r->up);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tcprelay --to HOST:PORT [--bind ADDR] [--listen-port P]\n"
		"                [--port-file FILE] [--duration SECONDS] [--quiet]\n"
		"  --to HOST:PORT       loopback upstream: 127.x.x.x:P, [::1]:P or localhost:P\n"
		"  --bind ADDR          loopback address to listen on (default 127.0.0.1)\n"
		"  --listen-port P      TCP port, 0 = ephemeral (default 0)\n"
		"  --port-file FILE     write the bound port to FILE (atomically)\n"
		"  --duration SEC       exit after SEC seconds (default 600)\n"
		"  --quiet              no log or summary on stderr\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "bind", required_argument, NULL, 'b' },
		{ "listen-port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "t:b:p:f:d:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			parse_endpoint("--to", optarg, &opt.to, &opt.to_len);
			opt.have_to = true;
			break;
		case 'b':
			opt.bind_addr = optarg;
			break;
		case 'p':
			opt.port = parse_port("--listen-port", optarg);
			break;
		case 'f':
			opt.port_file = optarg;
			break;
		case 'd':
			opt.duration = parse_seconds("--duration", optarg, 0.001, 7 * 86400);
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
	if (!opt.have_to)
		die("--to HOST:PORT is required");
}

int main(int argc, char **argv)
{
	struct pollfd pfds[1 + 2 * MAX_RELAYS];
	int map[1 + 2 * MAX_RELAYS];
	char addr[ADDR_STRLEN], to[ADDR_STRLEN];
	double start, deadline;
	unsigned int port, n_open = 0;
	int lfd, i;

	parse_args(argc, argv);

	/* Signals are only delivered inside ppoll(), so a stop is never missed. */
	stop_signals_init(true);

	for (i = 0; i < MAX_RELAYS; i++)
		relays[i].cfd = relays[i].ufd = -1;
	lfd = open_listener(opt.bind_addr, opt.port, SOCK_STREAM, addr, sizeof(addr), &port);
	format_addr(&opt.to, to, sizeof(to));
	announce_listener(addr, port, opt.port_file);
	logmsg("relaying %s -> %s", addr, to);

	start = now_mono();
	deadline = start + opt.duration;
	while (!stop_signal) {
		double now = now_mono(), wait;
		int nfds = 0, n;

		if (now >= deadline)
			break;
		pfds[nfds].fd = lfd;
		pfds[nfds].events = POLLIN;
		map[nfds++] = -1;
		for (i = 0; i < MAX_RELAYS; i++) {
			struct relay *r = &relays[i];
			short ce = 0, ue = 0;

			if (r->cfd < 0)
				continue;
			if (!r->up.eof && r->up.len < BUF_SIZE)
				ce |= POLLIN;
			if (r->down.len > r->down.off)
				ce |= POLLOUT;
			if (r->connecting) {
				ue = POLLOUT;
			} else {
				if (!r->down.eof && r->down.len < BUF_SIZE)
					ue |= POLLIN;
				if (r->up.len > r->up.off)
					ue |= POLLOUT;
			}
			/*
			 * A socket with nothing to wait for is left out (fd -1):
			 * a half-closed one would otherwise report POLLHUP forever.
			 */
			pfds[nfds].fd = ce ? r->cfd : -1;
			pfds[nfds].events = ce;
			map[nfds++] = i;
			pfds[nfds].fd = ue ? r->ufd : -1;
			pfds[nfds].events = ue;
			map[nfds++] = i;
		}
		wait = deadline - now;
		if (wait > TICK_MS / 1000.0)
			wait = TICK_MS / 1000.0;
		n = poll_wait(pfds, nfds, wait);
		if (n < 0)
			continue;
		/*
		 * Client and upstream entries come in pairs after the listener.
		 * Only relay_io() closes a relay and slots are reused only by
		 * accept_clients() below, so map[] stays valid in this loop.
		 */
		for (i = 1; i + 1 < nfds; i += 2) {
			struct relay *r = &relays[map[i]];

			if (r->cfd >= 0)
				relay_io(r, pfds[i].revents, pfds[i + 1].revents);
		}
		if (pfds[0].revents & POLLIN)
			accept_clients(lfd);
	}

	log_stop_signal();
	for (i = 0; i < MAX_RELAYS; i++) {
		if (relays[i].cfd >= 0) {
			n_open++;
			relay_close(&relays[i], "exiting");
		}
	}
	logmsg("summary elapsed=%.1fs accepted=%u refused=%u upstream_failed=%u open_at_exit=%u "
	       "bytes_up=%" PRIu64 " bytes_down=%" PRIu64, now_mono() - start, n_accepted,
	       n_refused, n_failed, n_open, total_up, total_down);
	close(lfd);
	return 0;
}
