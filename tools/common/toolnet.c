// SPDX-License-Identifier: GPL-2.0
/*
 * toolnet - loopback-only addresses, listeners, connects and port files
 * shared by the minerwatch test tools, plus the few HTTP and DNS wire
 * helpers more than one of them needs. See toolnet.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

#define LOOPBACK_ONLY	"only loopback (127.0.0.0/8, ::1, localhost) is allowed"

/* ---- addresses (loopback literals only, never the resolver) ------------- */

int loopback_addr(const char *host, unsigned int port, struct sockaddr_storage *ss,
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
	return -2;
}

void endpoint_addr(const char *what, const char *host, unsigned int port,
		   struct sockaddr_storage *ss, socklen_t *sl)
{
	if (loopback_addr(host, port, ss, sl) < 0)
		die("refusing %s host '%s': " LOOPBACK_ONLY, what, host);
}

unsigned int split_endpoint(const char *what, const char *arg, char *host, size_t host_len)
{
	const char *port_str, *sep, *hstart = arg;
	size_t hlen;
	char *end;
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
	if (hlen >= host_len)
		die("invalid %s '%s'", what, arg);
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(port_str, &end, 10);
	if (errno || end == port_str || *end || port < 1 || port > 65535)
		die("invalid port in %s '%s'", what, arg);
	return (unsigned int)port;
}

void parse_endpoint(const char *what, const char *arg, struct sockaddr_storage *ss,
		    socklen_t *sl)
{
	char host[64];
	unsigned int port = split_endpoint(what, arg, host, sizeof(host));

	endpoint_addr(what, host, port, ss, sl);
}

void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
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
	return ss->ss_family == AF_INET6 ?
	       ntohs(((const struct sockaddr_in6 *)ss)->sin6_port) :
	       ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* The local port of a socket, 0 if unknown. */
static unsigned int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	return sock_port(&ss);
}

/* ---- servers ------------------------------------------------------------- */

int open_listener(const char *bind_addr, unsigned int port, int type, char *addr,
		  size_t addr_len, unsigned int *port_out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (loopback_addr(bind_addr, port, &ss, &sl) < 0)
		die("refusing --bind %s: " LOOPBACK_ONLY, bind_addr);
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (type == SOCK_STREAM) {
		/* Tests restart servers on the same port while old sockets sit in TIME_WAIT. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
			die("SO_REUSEADDR: %s", strerror(errno));
		if (ss.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			die("IPV6_V6ONLY: %s", strerror(errno));
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("bind %s port %u: %s", bind_addr, port, strerror(errno));
	if (type == SOCK_STREAM && listen(fd, 128) < 0)
		die("listen: %s", strerror(errno));
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		die("getsockname: %s", strerror(errno));
	format_addr(&ss, addr, addr_len);
	*port_out = sock_port(&ss);
	return fd;
}

void write_port_file(const char *path, unsigned int port)
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

void announce_listener(const char *addr, unsigned int port, const char *port_file)
{
	printf("listening %s\n", addr);
	fflush(stdout);
	if (port_file)
		write_port_file(port_file, port);
}

/* ---- clients ------------------------------------------------------------- */

int tcp_connect(const struct sockaddr_storage *ss, socklen_t sl, double timeout, bool nodelay)
{
	double deadline = now_mono() + timeout;
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (nodelay)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, sl) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	while (!stop_signal && !stopping() && now_mono() < deadline) {
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

void print_connected(int fd)
{
	printf("connected local_port=%u\n", local_port(fd));
	fflush(stdout);
}

/* ---- HTTP ---------------------------------------------------------------- */

char *find_hdr_end(char *buf, size_t len, size_t *hdr_len)
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

const char *header_value(const char *hdrs, const char *name)
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

/* ---- DNS ----------------------------------------------------------------- */

size_t dns_encode_name(unsigned char *dst, size_t cap, const char *name)
{
	size_t len = strlen(name), pos = 0;
	const char *p = name;

	if (len && name[len - 1] == '.')
		len--;
	if (!len || len > 253)
		return 0;
	while (p < name + len) {
		const char *dot = memchr(p, '.', name + len - p);
		size_t l = (dot ? dot : name + len) - p;

		if (!l || l > 63 || pos + l + 2 > cap)
			return 0;
		dst[pos++] = (unsigned char)l;
		memcpy(dst + pos, p, l);
		pos += l;
		p += l + (dot ? 1 : 0);
	}
	dst[pos++] = 0;
	return pos;
}

size_t dns_skip_name(const unsigned char *m, size_t len, size_t off)
{
	while (off < len) {
		unsigned int l = m[off];

		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xc0)
			return 0;
		off += 1 + l;
		if (!l)
			return off <= len ? off : 0;
	}
	return 0;
}
