// SPDX-License-Identifier: GPL-2.0
/*
 * dnsq - one DNS A query over UDP to a loopback server, for minerwatch tests,
 * and a tiny loopback DNS responder to answer it.
 *
 * The query goes out the way glibc's stub resolver sends it - a connected
 * UDP socket, connect() then send() - or with --sendto on an unconnected
 * socket, because a sensor may see the two through different hooks. The
 * responder (--serve) answers every A question with 127.0.0.1, so a test can
 * give its own network namespace a resolver and never reach a real one.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

#define DNS_HDR		12
#define DNS_MAX		512
#define TYPE_A		1
#define TYPE_AAAA	28
#define CLASS_IN	1
#define ANSWER_TTL	60

static struct {
	bool serve;
	const char *name;
	struct sockaddr_storage server;
	socklen_t server_len;
	bool sendto;
	double timeout;
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	double duration;
} opt = {
	.timeout = 1.0,
	.bind_addr = "127.0.0.1",
	.port = 53,
	.duration = 600.0,
};

const char tool_name[] = "dnsq";

/* ---- addresses (loopback literals only, never the resolver) ----------- */

/* HOST[:PORT] or [::1][:PORT] (also a bare ::1), loopback only, port 53 by default. */
static void parse_server(const char *arg)
{
	const char *port_str = NULL, *sep, *hstart = arg;
	char host[64], *end;
	size_t hlen;
	long port = 53;

	if (arg[0] == '[') {
		sep = strchr(arg, ']');
		if (!sep || (sep[1] && sep[1] != ':'))
			die("invalid --server '%s' (expected [::1]:PORT)", arg);
		hstart = arg + 1;
		if (sep[1])
			port_str = sep + 2;
	} else if (strchr(arg, ':') != strrchr(arg, ':')) {
		sep = arg + strlen(arg);	/* bare IPv6 literal */
	} else {
		sep = strchr(arg, ':');
		if (sep)
			port_str = sep + 1;
		else
			sep = arg + strlen(arg);
	}
	hlen = sep - hstart;
	if (hlen >= sizeof(host))
		die("invalid --server '%s'", arg);
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (port_str) {
		errno = 0;
		port = strtol(port_str, &end, 10);
		if (errno || end == port_str || *end || port < 1 || port > 65535)
			die("invalid port in --server '%s'", arg);
	}
	endpoint_addr("--server", host, port, &opt.server, &opt.server_len);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

/* ---- DNS wire format ---------------------------------------------------- */

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(unsigned char *p, unsigned int v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

/*
 * Reads the uncompressed name at @off as dotted text. Returns the offset
 * after it, or 0 if it is malformed (queries never need compression).
 */
static size_t decode_name(const unsigned char *m, size_t len, size_t off, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	while (off < len) {
		unsigned int l = m[off++];

		if (!l) {
			if (!o)
				snprintf(out, cap, ".");
			return off;
		}
		if (l > 63 || off + l > len)
			return 0;
		if (o + l + 2 < cap) {
			size_t i;

			if (o)
				out[o++] = '.';
			/* Printable only: names end up in logs. */
			for (i = 0; i < l; i++) {
				unsigned char ch = m[off + i];

				out[o++] = ch > 0x20 && ch < 0x7f ? ch : '?';
			}
			out[o] = '\0';
		}
		off += l;
	}
	return 0;
}

static const char *type_name(unsigned int type, char *buf, size_t len)
{
	switch (type) {
	case TYPE_A:
		return "A";
	case TYPE_AAAA:
		return "AAAA";
	default:
		snprintf(buf, len, "TYPE%u", type);
		return buf;
	}
}

/* ---- client ------------------------------------------------------------- */

/* Prints the reply's rcode and addresses on stdout. */
static void print_reply(const unsigned char *m, size_t len, uint16_t id)
{
	unsigned int an, i, naddr = 0;
	char addrs[256] = "";
	size_t off, alen = 0;

	if (len < DNS_HDR || !(m[2] & 0x80) || get16(m + 4) != 1) {
		printf("reply id=0x%04x malformed bytes=%zu\n", id, len);
		return;
	}
	an = get16(m + 6);
	off = dns_skip_name(m, len, DNS_HDR);
	off = off && off + 4 <= len ? off + 4 : 0;
	for (i = 0; off && i < an; i++) {
		char a[INET6_ADDRSTRLEN];
		unsigned int type, rdlen;

		off = dns_skip_name(m, len, off);
		if (!off || off + 10 > len)
			break;
		type = get16(m + off);
		rdlen = get16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			break;
		a[0] = '\0';
		if (type == TYPE_A && rdlen == 4)
			inet_ntop(AF_INET, m + off, a, sizeof(a));
		else if (type == TYPE_AAAA && rdlen == 16)
			inet_ntop(AF_INET6, m + off, a, sizeof(a));
		if (a[0] && alen + strlen(a) + 2 < sizeof(addrs)) {
			alen += snprintf(addrs + alen, sizeof(addrs) - alen, "%s%s",
					 naddr ? "," : "", a);
			naddr++;
		}
		off += rdlen;
	}
	printf("reply id=0x%04x rcode=%u answers=%u addresses=%s\n", id, m[3] & 0xf, an,
	       naddr ? addrs : "-");
}

static int run_query(void)
{
	unsigned char q[DNS_MAX], r[DNS_MAX];
	struct sockaddr_storage from;
	char server[ADDR_STRLEN];
	double deadline;
	uint16_t id;
	size_t qlen;
	int fd;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
		id = (uint16_t)(getpid() ^ (unsigned int)(now_mono() * 1e6));
	memset(q, 0, DNS_HDR);
	put16(q, id);
	q[2] = 0x01;			/* RD, like a stub resolver */
	put16(q + 4, 1);		/* QDCOUNT */
	qlen = DNS_HDR + dns_encode_name(q + DNS_HDR, sizeof(q) - DNS_HDR - 4, opt.name);
	put16(q + qlen, TYPE_A);
	put16(q + qlen + 2, CLASS_IN);
	qlen += 4;

	format_addr(&opt.server, server, sizeof(server));
	fd = socket(opt.server.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (opt.sendto) {
		if (sendto(fd, q, qlen, 0, (struct sockaddr *)&opt.server, opt.server_len) !=
		    (ssize_t)qlen)
			die("sendto %s: %s", server, strerror(errno));
	} else {
		if (connect(fd, (struct sockaddr *)&opt.server, opt.server_len) < 0)
			die("connect %s: %s", server, strerror(errno));
		if (send(fd, q, qlen, 0) != (ssize_t)qlen)
			die("send %s: %s", server, strerror(errno));
	}
	printf("sent id=0x%04x name=%s type=A bytes=%zu server=%s mode=%s\n", id, opt.name, qlen,
	       server, opt.sendto ? "sendto" : "connect");
	fflush(stdout);

	deadline = now_mono() + (opt.timeout < opt.duration ? opt.timeout : opt.duration);
	while (!stop_signal) {
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (now_mono() >= deadline) {
			printf("no reply (timeout %.1fs)\n", opt.timeout);
			break;
		}
		if (!wait_fd(fd, POLLIN, deadline - now_mono()))
			continue;
		n = recvfrom(fd, r, sizeof(r), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			/* A connected socket learns of ICMP port unreachable this way. */
			printf("no reply (%s)\n", strerror(errno));
			break;
		}
		/* An unconnected socket accepts datagrams from anyone; only the server counts. */
		if (opt.sendto && !same_addr(&from, &opt.server))
			continue;
		if (n < 2 || get16(r) != id)
			continue;
		print_reply(r, n, id);
		break;
	}
	fflush(stdout);
	close(fd);
	return 0;
}

/* ---- responder ------------------------------------------------------------- */

static unsigned long n_queries, n_answered;

/* Builds the reply to @m in @out; returns its length, 0 to stay silent. */
static size_t make_reply(const unsigned char *m, size_t len, unsigned char *out,
			 const char *peer)
{
	unsigned int opcode, qtype = 0, qclass = 0, rcode = 0, qd;
	char name[256], tbuf[16];
	size_t qend = 0, olen;

	if (len < DNS_HDR || m[2] & 0x80)	/* too short, or itself a response */
		return 0;
	n_queries++;
	opcode = (m[2] >> 3) & 0xf;
	qd = get16(m + 4);
	name[0] = '\0';
	if (opcode != 0) {
		rcode = 4;			/* NOTIMP */
	} else if (qd != 1) {
		rcode = 1;			/* FORMERR */
	} else {
		qend = decode_name(m, len, DNS_HDR, name, sizeof(name));
		if (!qend || qend + 4 > len) {
			rcode = 1;
			qend = 0;
		} else {
			qtype = get16(m + qend);
			qclass = get16(m + qend + 2);
			qend += 4;
		}
	}

	memset(out, 0, DNS_HDR);
	memcpy(out, m, 2);				/* id */
	out[2] = 0x80 | (m[2] & 0x79);			/* QR, opcode, RD; AA below */
	out[3] = 0x80 | rcode;				/* RA */
	olen = DNS_HDR;
	if (qend) {
		/* Echo the question, then one answer pointing back at its name. */
		memcpy(out + DNS_HDR, m + DNS_HDR, qend - DNS_HDR);
		olen = qend;
		put16(out + 4, 1);
		out[2] |= 0x04;				/* AA */
		if (qtype == TYPE_A && qclass == CLASS_IN) {
			unsigned char *a = out + olen;

			put16(a, 0xc000 | DNS_HDR);
			put16(a + 2, TYPE_A);
			put16(a + 4, CLASS_IN);
			a[6] = a[7] = a[8] = 0;
			a[9] = ANSWER_TTL;
			put16(a + 10, 4);
			a[12] = 127;
			a[13] = 0;
			a[14] = 0;
			a[15] = 1;
			olen += 16;
			put16(out + 6, 1);
			n_answered++;
		}
	}
	logmsg("query from %s id=0x%04x name=%s type=%s -> %s", peer, get16(m),
	       name[0] ? name : "?", type_name(qtype, tbuf, sizeof(tbuf)),
	       rcode ? "error" : get16(out + 6) ? "127.0.0.1" : "no data");
	return olen;
}

static int run_server(void)
{
	char addr[ADDR_STRLEN];
	double start = now_mono(), deadline = start + opt.duration;
	unsigned int port;
	int fd;

	fd = open_listener(opt.bind_addr, opt.port, SOCK_DGRAM, addr, sizeof(addr), &port);
	announce_listener(addr, port, opt.port_file);

	while (!stop_signal && now_mono() < deadline) {
		unsigned char m[DNS_MAX], out[DNS_MAX + 16];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		char peer[ADDR_STRLEN];
		size_t olen;
		ssize_t n;

		if (!wait_fd(fd, POLLIN, deadline - now_mono()))
			continue;
		n = recvfrom(fd, m, sizeof(m), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		format_addr(&from, peer, sizeof(peer));
		olen = make_reply(m, n, out, peer);
		if (olen && sendto(fd, out, olen, 0, (struct sockaddr *)&from, fl) < 0)
			logmsg("sendto %s: %s", peer, strerror(errno));
	}
	log_stop_signal();
	logmsg("summary elapsed=%.1fs queries=%lu answered=%lu", now_mono() - start, n_queries,
	       n_answered);
	close(fd);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dnsq [--server HOST:PORT] [--sendto] [--timeout SECONDS]\n"
		"            [--duration SECONDS] NAME\n"
		"       dnsq --serve [--bind ADDR] [--port P] [--port-file FILE]\n"
		"            [--duration SECONDS] [--quiet]\n"
		"  NAME, --name NAME    host name to query (type A)\n"
		"  --server HOST:PORT   loopback DNS server (default 127.0.0.1:53)\n"
		"  --sendto             unconnected socket + sendto() instead of connect()+send()\n"
		"  --timeout SEC        wait this long for a reply (default 1)\n"
		"  --serve              run the responder: every A query gets 127.0.0.1\n"
		"  --bind ADDR          responder: loopback address (default 127.0.0.1)\n"
		"  --port P             responder: UDP port, 0 = ephemeral (default 53)\n"
		"  --port-file FILE     responder: write the bound port to FILE (atomically)\n"
		"  --duration SEC       exit after SEC seconds (default 600)\n"
		"  --quiet              no log or summary on stderr\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "sendto", no_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "serve", no_argument, NULL, 'R' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char probe[DNS_MAX];
	bool have_server = false;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:St:Rb:p:f:d:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt.name = optarg;
			break;
		case 's':
			parse_server(optarg);
			have_server = true;
			break;
		case 'S':
			opt.sendto = true;
			break;
		case 't':
			opt.timeout = parse_double("--timeout", optarg, 0.001, 60);
			break;
		case 'R':
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
	if (!opt.serve && !opt.name && optind < argc)
		opt.name = argv[optind++];
	no_extra_args(argc, argv, usage);
	if (opt.serve)
		return;
	if (!opt.name)
		die("a NAME to query is required (or --serve)");
	if (!dns_encode_name(probe, sizeof(probe), opt.name))
		die("invalid name '%s'", opt.name);
	if (!have_server)
		parse_server("127.0.0.1:53");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	/* Signals are let in only inside ppoll(), so a stop is never missed. */
	stop_signals_init(false);
	if (opt.serve)
		return run_server();
	print_pid();
	return run_query();
}
