/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toolnet - loopback-only addresses and sockets for the minerwatch test tools.
 *
 * Every address a tool binds or connects to goes through loopback_addr():
 * literals in 127.0.0.0/8 or ::1, and the name "localhost" mapped to
 * 127.0.0.1 without asking the resolver (so /etc/hosts cannot widen it).
 * Anything else is refused, and the functions that take an option's value
 * die with exit status 1 saying so.
 */
#ifndef TOOLNET_H
#define TOOLNET_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* "ADDR:PORT" or "[ADDR]:PORT" with its NUL. */
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 8)

/*
 * @host (a literal or "localhost") and @port as a socket address. Returns 0,
 * -1 if @host is an address outside loopback, -2 if it is no address literal.
 */
int loopback_addr(const char *host, unsigned int port, struct sockaddr_storage *ss,
		  socklen_t *sl);
/* loopback_addr(), dying "refusing WHAT host 'HOST': only loopback ..." on failure. */
void endpoint_addr(const char *what, const char *host, unsigned int port,
		   struct sockaddr_storage *ss, socklen_t *sl);
/*
 * Splits HOST:PORT or [HOST]:PORT (PORT 1..65535) into @host and returns the
 * port; dies "invalid WHAT 'ARG' ..." when @arg does not have that form.
 */
unsigned int split_endpoint(const char *what, const char *arg, char *host, size_t host_len);
/* split_endpoint() and endpoint_addr(): a loopback HOST:PORT or [::1]:PORT option. */
void parse_endpoint(const char *what, const char *arg, struct sockaddr_storage *ss,
		    socklen_t *sl);

/* "ADDR:PORT", "[ADDR]:PORT" or "?". */
void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len);

/*
 * A non-blocking @type (SOCK_STREAM or SOCK_DGRAM) socket bound to the --bind
 * address @bind_addr and @port (0: ephemeral). A TCP one also gets
 * SO_REUSEADDR, so that a test can restart a server on the same port, and is
 * listening. Puts the bound address in @addr and its port in *@port_out.
 * Dies on failure.
 */
int open_listener(const char *bind_addr, unsigned int port, int type, char *addr,
		  size_t addr_len, unsigned int *port_out);
/* Writes "PORT\n" to @path via a temporary file and rename(), so it is never read half-written. */
void write_port_file(const char *path, unsigned int port);
/* "listening ADDR" on stdout, then the port file if there is one. */
void announce_listener(const char *addr, unsigned int port, const char *port_file);

/*
 * Non-blocking TCP connect, given up after @timeout seconds or on a stop
 * (stop_signal or stopping()). Returns the non-blocking socket, or -1 with
 * errno set (ETIMEDOUT on timeout).
 */
int tcp_connect(const struct sockaddr_storage *ss, socklen_t sl, double timeout, bool nodelay);
/* "connected local_port=PORT" on stdout, flushed. */
void print_connected(int fd);

/* HTTP: the end of a header block ("\n\n" or "\n\r\n") and its length with the blank line. */
char *find_hdr_end(char *buf, size_t len, size_t *hdr_len);
/* The value of header @name in @hdrs (after the request/status line), or NULL. */
const char *header_value(const char *hdrs, const char *name);

/* DNS: @name as labels in @dst; the encoded length, 0 if it is not a valid host name. */
size_t dns_encode_name(unsigned char *dst, size_t cap, const char *name);
/* DNS: skips a possibly compressed name; returns the offset after it or 0. */
size_t dns_skip_name(const unsigned char *m, size_t len, size_t off);

#endif
