/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toolhttp - a small threaded HTTP/1.1 server for the minerwatch test tools
 * that stand in for local HTTP services (the EC2 instance metadata service,
 * the ECS agent's introspection API).
 *
 * One thread per connection, at most max_conns of them (more are accepted
 * and closed at once). Keep-alive and pipelining; request headers of
 * HTTP_MAX_HDR bytes are fine (one not ended within 4 KiB more is refused
 * with 431); request bodies (Content-Length or chunked, up to
 * HTTP_MAX_BODY) are read and thrown away. Every response carries
 * Content-Length; "Connection: close" and HTTP/1.0 without keep-alive end
 * the connection after the response. HEAD gets the headers only.
 *
 * The tool's handler turns a request into a response and may be called from
 * several threads at once. The server prints one line per request on stdout,
 * flushed: "METHOD TARGET STATUS" (TARGET as sent, query included; STATUS
 * "drop" for a request that is never answered).
 *
 * http_serve() uses toolutil's thread mode: it blocks SIGINT/SIGTERM itself,
 * and returns 0 on either or once the duration is over.
 */
#ifndef TOOLHTTP_H
#define TOOLHTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HDR	(16 * 1024)
#define HTTP_MAX_BODY	(1024 * 1024)

struct http_req {
	const char *method;
	const char *target;	/* request target as sent: path and query */
	const char *hdrs;	/* the header lines after the request line */
	int vmaj, vmin;
	unsigned long conn_id;	/* connection number, from 1 */
};

struct http_resp {
	int status;
	const char *content_type;	/* NULL: no Content-Type header */
	char extra[512];	/* more header lines, each ending in "\r\n" */
	char *body;		/* malloc'd, freed by the server; NULL: empty */
	size_t body_len;
	double delay;		/* seconds to wait before answering */
	bool drop;		/* never answer; hold the connection until the peer closes */
	bool close;		/* close the connection after this response */
};

typedef void (*http_handler_fn)(const struct http_req *req, struct http_resp *resp);

struct http_server {
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	double duration;		/* seconds */
	unsigned int max_conns;
	const char *server_header;	/* Server: value, NULL for none */
	http_handler_fn handler;
};

/* Listens, prints "listening ADDR:PORT", serves; returns the exit status (0). */
int http_serve(const struct http_server *srv);

/* The reason phrase of a status code ("Unknown" if it has none here). */
const char *http_reason(int status);

/*
 * The value of header @name in @hdrs (as in struct http_req), up to the end
 * of its line, without surrounding blanks, into @buf. Returns 1 if the header
 * is there, 0 if not, -1 if its value does not fit in @buf.
 */
int http_header_copy(const char *hdrs, const char *name, char *buf, size_t len);

/*
 * The value of query parameter @name in @target, percent-decoded with '+' as
 * space, first occurrence ("?name" alone counts as present and empty).
 * Returns 1, 0 if absent, -1 if the value does not fit in @buf.
 */
int http_query_param(const char *target, const char *name, char *buf, size_t len);

/* The length of the path part of @target (up to '?' or '#'). */
size_t http_path_len(const char *target);

/* A copy of @len bytes of @s as the body; false if out of memory. */
bool http_resp_body(struct http_resp *r, const char *s, size_t len);
/* The body from a format string; false if out of memory. */
bool http_resp_bodyf(struct http_resp *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends "Name: value\r\n" to r->extra (dropped if it does not fit). */
void http_resp_header(struct http_resp *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reads a whole file (at most @max bytes) into a NUL-terminated malloc'd buffer. */
char *read_file_max(const char *path, size_t max, size_t *len);

#endif
