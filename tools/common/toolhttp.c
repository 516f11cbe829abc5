// SPDX-License-Identifier: GPL-2.0
/*
 * toolhttp - the threaded HTTP/1.1 server behind the minerwatch tools that
 * stand in for local HTTP services. See toolhttp.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "toolhttp.h"
#include "toolnet.h"
#include "toolutil.h"

#define MAX_METHOD	16
/* A response that cannot be written within this long is given up. */
#define SEND_TIMEOUT	10.0
/* How long http_serve() waits for connection threads once told to stop. */
#define DRAIN_TIMEOUT	2.0
#define CONN_STACK	(512 * 1024)
/* Room for the request line and pipelined bytes besides the header block. */
#define CONN_BUF	(HTTP_MAX_HDR + 4096)
/* How long the rest of a refused request is read after the error response. */
#define LINGER_TIMEOUT	1.0

static const struct http_server *server;
static int listen_fd = -1;
static unsigned int active_conns;	/* atomic */
static unsigned long conn_seq;		/* accept thread only */

struct conn {
	int fd;
	unsigned long id;
	char buf[CONN_BUF + 1];		/* bytes received and not yet used */
	size_t len;
	char req[CONN_BUF + 1];		/* the current request's header block */
};

/* ---- small helpers ------------------------------------------------------- */

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

int http_header_copy(const char *hdrs, const char *name, char *buf, size_t len)
{
	const char *v = header_value(hdrs, name);
	size_t n;

	if (!v)
		return 0;
	n = strcspn(v, "\r\n");
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= len)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes @n bytes of @s (percent escapes, '+' as space) into @buf; -1 if too long. */
static int url_decode(const char *s, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (o + 1 >= len)
			return -1;
		buf[o++] = c;
	}
	buf[o] = '\0';
	return 0;
}

size_t http_path_len(const char *target)
{
	return strcspn(target, "?#");
}

int http_query_param(const char *target, const char *name, char *buf, size_t len)
{
	const char *q = strchr(target, '?'), *end;
	char key[256];

	if (!q)
		return 0;
	q++;
	end = q + strcspn(q, "#");
	while (q < end) {
		const char *amp = memchr(q, '&', end - q), *eq;
		const char *pend = amp ? amp : end;

		eq = memchr(q, '=', pend - q);
		if (url_decode(q, (eq ? eq : pend) - q, key, sizeof(key)) == 0 &&
		    !strcmp(key, name)) {
			if (!eq) {
				if (len)
					buf[0] = '\0';
				return len ? 1 : -1;
			}
			return url_decode(eq + 1, pend - eq - 1, buf, len) < 0 ? -1 : 1;
		}
		q = amp ? amp + 1 : end;
	}
	return 0;
}

bool http_resp_body(struct http_resp *r, const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return false;
	memcpy(p, s, len);
	p[len] = '\0';
	free(r->body);
	r->body = p;
	r->body_len = len;
	return true;
}

bool http_resp_bodyf(struct http_resp *r, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	free(r->body);
	r->body = p;
	r->body_len = n;
	return true;
}

void http_resp_header(struct http_resp *r, const char *name, const char *fmt, ...)
{
	size_t used = strlen(r->extra);
	char val[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	n = snprintf(r->extra + used, sizeof(r->extra) - used, "%s: %s\r\n", name, val);
	if (n < 0 || (size_t)n >= sizeof(r->extra) - used)
		r->extra[used] = '\0';
}

char *read_file_max(const char *path, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *p;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > max + 2)
				cap = max + 2;
			p = realloc(buf, cap);
			if (!p) {
				err = ENOMEM;
				goto fail;
			}
			buf = p;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += r;
		if (n > max) {
			err = EFBIG;
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	close(fd);
	errno = err;
	return NULL;
}

/* ---- connection I/O ------------------------------------------------------ */

/* Receives more bytes into c->buf; false on EOF, error, a stop, or a full buffer. */
static bool conn_fill(struct conn *c)
{
	while (!stopping()) {
		ssize_t n;

		if (c->len >= CONN_BUF)
			return false;
		n = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
		if (n > 0) {
			c->len += n;
			return true;
		}
		if (n == 0)
			return false;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return false;
		wait_fd(c->fd, POLLIN, STOP_SLICE_MS / 1000.0);
	}
	return false;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Throws away @n body bytes; false if the connection ends first. */
static bool conn_skip(struct conn *c, uint64_t n)
{
	while (n) {
		size_t take;

		if (!c->len && !conn_fill(c))
			return false;
		take = c->len < n ? c->len : (size_t)n;
		conn_consume(c, take);
		n -= take;
	}
	return true;
}

/* The length of the next line in c->buf with its "\n"; 0 if the connection ends first. */
static size_t conn_line(struct conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl)
			return nl - c->buf + 1;
		if (!conn_fill(c))
			return 0;
	}
}

/* Reads and throws away a chunked body. 0, -1 if the connection ended, -2 if too big. */
static int conn_skip_chunked(struct conn *c)
{
	uint64_t total = 0;

	for (;;) {
		size_t l = conn_line(c);
		unsigned long size;
		char *end;

		if (!l)
			return -1;
		c->buf[l - 1] = '\0';
		errno = 0;
		size = strtoul(c->buf, &end, 16);
		if (errno || end == c->buf)
			return -1;
		conn_consume(c, l);
		if (!size)
			break;
		total += size;
		if (total > HTTP_MAX_BODY)
			return -2;
		if (!conn_skip(c, size))
			return -1;
		l = conn_line(c);	/* the CRLF after the data */
		if (!l)
			return -1;
		conn_consume(c, l);
	}
	/* Trailer lines, up to an empty one. */
	for (;;) {
		size_t l = conn_line(c);
		bool empty;

		if (!l)
			return -1;
		empty = l == 1 || (l == 2 && c->buf[0] == '\r');
		conn_consume(c, l);
		if (empty)
			return 0;
	}
}

/* @more: more follows at once (MSG_MORE), so header and body leave as one segment. */
static bool send_all(int fd, const char *p, size_t len, bool more)
{
	double deadline = now_mono() + SEND_TIMEOUT;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));

		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return false;
		if (stopping() || now_mono() > deadline)
			return false;
		wait_fd(fd, POLLOUT, STOP_SLICE_MS / 1000.0);
	}
	return true;
}

/* Sleeps @secs, in slices, unless told to stop; false if stopped. */
static bool pause_for(double secs)
{
	double until = now_mono() + secs;

	while (!stopping()) {
		double left = until - now_mono();

		if (left <= 0)
			return true;
		wait_fd(-1, 0, left);
	}
	return false;
}

/* Prints @s with bytes that would break a log line replaced by '?'. */
static void put_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s <= ' ' || *s == 0x7f ? '?' : *s);
}

static void log_request(const char *method, const char *target, int status)
{
	flockfile(stdout);
	put_clean(method);
	putchar(' ');
	put_clean(target);
	if (status)
		printf(" %d\n", status);
	else
		printf(" drop\n");
	fflush(stdout);
	funlockfile(stdout);
}

/* Does the comma-separated Connection header in @hdrs list @token? */
static bool connection_has(const char *hdrs, const char *token)
{
	char v[256], *save = NULL, *t;

	if (http_header_copy(hdrs, "Connection", v, sizeof(v)) != 1)
		return false;
	for (t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		t[strcspn(t, " \t")] = '\0';
		if (!strcasecmp(t, token))
			return true;
	}
	return false;
}

static bool send_response(struct conn *c, const char *method, struct http_resp *r, bool close_after)
{
	char hdr[1024];
	int n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n", r->status, http_reason(r->status));
	if (server->server_header)
		n += snprintf(hdr + n, sizeof(hdr) - n, "Server: %s\r\n", server->server_header);
	if (r->content_type)
		n += snprintf(hdr + n, sizeof(hdr) - n, "Content-Type: %s\r\n", r->content_type);
	n += snprintf(hdr + n, sizeof(hdr) - n, "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n",
		      r->body_len, r->extra, close_after ? "close" : "keep-alive");
	if ((size_t)n >= sizeof(hdr))
		return false;
	if (!strcmp(method, "HEAD") || !r->body_len)
		return send_all(c->fd, hdr, n, false);
	return send_all(c->fd, hdr, n, true) && send_all(c->fd, r->body, r->body_len, false);
}

/*
 * A response made here rather than by the handler (bad requests), then the
 * end of the connection. What the client is still sending is read and thrown
 * away for a moment after our FIN, so that closing with unread data (which
 * sends a reset) does not destroy the response before the client reads it.
 */
static void local_error(struct conn *c, const char *method, const char *target, int status)
{
	struct http_resp r = { .status = status, .content_type = "text/plain" };
	double until;

	http_resp_bodyf(&r, "%d %s\n", status, http_reason(status));
	send_response(c, "GET", &r, true);
	log_request(method, target, status);
	free(r.body);
	shutdown(c->fd, SHUT_WR);
	until = now_mono() + LINGER_TIMEOUT;
	while (!stopping() && now_mono() < until) {
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			break;
		if (n < 0)
			wait_fd(c->fd, POLLIN, until - now_mono());
	}
}

/* Parses "METHOD TARGET HTTP/x.y" in c->req, cutting it into NUL-terminated parts. */
static bool parse_request_line(char *line, char **method, char **target, int *vmaj, int *vmin)
{
	char *sp1, *sp2, *eol;

	eol = line + strcspn(line, "\r\n");
	*eol = '\0';
	sp1 = strchr(line, ' ');
	if (!sp1 || sp1 == line || sp1 - line >= MAX_METHOD)
		return false;
	*sp1 = '\0';
	*method = line;
	*target = sp1 + 1;
	sp2 = strchr(*target, ' ');
	if (!sp2 || sp2 == *target)
		return false;
	*sp2 = '\0';
	if (sscanf(sp2 + 1, "HTTP/%d.%d", vmaj, vmin) != 2 || *vmaj != 1)
		return false;
	return true;
}

/* Reads and ignores whatever the peer sends until it closes or we stop. */
static void hold_open(struct conn *c)
{
	while (!stopping()) {
		c->len = 0;
		if (!conn_fill(c))
			return;
	}
}

/* One request from c->buf; false when the connection is to end. */
static bool serve_one(struct conn *c)
{
	char *end, *method = "-", *target = "-", *hdrs, te[64], clbuf[32];
	int vmaj = 1, vmin = 1, te_chunked, have_cl;
	struct http_resp r = { 0 };
	long long clen = 0;
	bool close_after, ok;
	size_t hlen;

	while (!(end = find_hdr_end(c->buf, c->len, &hlen))) {
		if (c->len >= CONN_BUF) {
			/* Name the request in the log if at least its first line came. */
			char *nl = memchr(c->buf, '\n', c->len);

			if (nl) {
				memcpy(c->req, c->buf, nl - c->buf);
				c->req[nl - c->buf] = '\0';
				if (!parse_request_line(c->req, &method, &target, &vmaj, &vmin))
					method = target = "-";
			}
			local_error(c, method, target, 431);
			return false;
		}
		if (!conn_fill(c))
			return false;
	}
	/* Keep the header block apart: reading the body reuses c->buf. */
	memcpy(c->req, c->buf, end - c->buf);
	c->req[end - c->buf] = '\0';
	conn_consume(c, hlen);

	hdrs = strchr(c->req, '\n');
	hdrs = hdrs ? hdrs + 1 : c->req + strlen(c->req);
	if (!parse_request_line(c->req, &method, &target, &vmaj, &vmin)) {
		local_error(c, "-", "-", 400);
		return false;
	}

	te_chunked = http_header_copy(hdrs, "Transfer-Encoding", te, sizeof(te));
	te_chunked = te_chunked != 0 && (te_chunked < 0 || strcasestr(te, "chunked"));
	have_cl = http_header_copy(hdrs, "Content-Length", clbuf, sizeof(clbuf));
	if (have_cl) {
		char *e;

		errno = 0;
		clen = have_cl > 0 ? strtoll(clbuf, &e, 10) : -1;
		if (have_cl < 0 || errno || e == clbuf || *e || clen < 0) {
			local_error(c, method, target, 400);
			return false;
		}
		if (clen > HTTP_MAX_BODY) {
			local_error(c, method, target, 413);
			return false;
		}
	}
	/* A client that waits for "100 Continue" before sending its body gets it. */
	if ((te_chunked || clen) && vmin >= 1 &&
	    http_header_copy(hdrs, "Expect", te, sizeof(te)) == 1 &&
	    !strcasecmp(te, "100-continue") &&
	    !send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, false))
		return false;
	if (te_chunked) {
		int rc = conn_skip_chunked(c);

		if (rc == -2)
			local_error(c, method, target, 413);
		if (rc < 0)
			return false;
	} else if (clen && !conn_skip(c, clen)) {
		return false;
	}

	close_after = (vmin == 0 && !connection_has(hdrs, "keep-alive")) ||
		      connection_has(hdrs, "close");

	{
		struct http_req req = {
			.method = method, .target = target, .hdrs = hdrs,
			.vmaj = vmaj, .vmin = vmin, .conn_id = c->id,
		};

		server->handler(&req, &r);
	}
	if (r.drop) {
		log_request(method, target, 0);
		free(r.body);
		hold_open(c);
		return false;
	}
	if (r.delay > 0 && !pause_for(r.delay)) {
		free(r.body);
		return false;
	}
	close_after = close_after || r.close;
	ok = send_response(c, method, &r, close_after);
	log_request(method, target, r.status);
	free(r.body);
	return ok && !close_after;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	while (!stopping() && serve_one(c))
		;
	close(c->fd);
	free(c);
	__atomic_sub_fetch(&active_conns, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void start_conn(int fd)
{
	pthread_attr_t attr;
	struct conn *c;
	pthread_t tid;
	int err, one = 1;

	if (__atomic_load_n(&active_conns, __ATOMIC_RELAXED) >= server->max_conns) {
		logmsg("connection limit (%u) reached, closing a new connection",
		       server->max_conns);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	/* Small responses go out at once; Nagle would hold them for the peer's delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->id = ++conn_seq;
	__atomic_add_fetch(&active_conns, 1, __ATOMIC_RELAXED);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CONN_STACK);
	err = pthread_create(&tid, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (err) {
		logmsg("pthread_create: %s; closing a new connection", strerror(err));
		__atomic_sub_fetch(&active_conns, 1, __ATOMIC_RELAXED);
		close(fd);
		free(c);
	}
}

static void *accept_main(void *arg)
{
	while (!stopping()) {
		int i;

		if (!(wait_fd(listen_fd, POLLIN, STOP_SLICE_MS / 1000.0) & POLLIN))
			continue;
		for (i = 0; i < 64 && !stopping(); i++) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd < 0)
				break;
			start_conn(fd);
		}
	}
	return NULL;
}

int http_serve(const struct http_server *srv)
{
	char addr[ADDR_STRLEN];
	unsigned int port;
	pthread_t tid;
	double drain;
	int err;

	server = srv;
	stop_signals_block(true);
	listen_fd = open_listener(srv->bind_addr, srv->port, SOCK_STREAM, addr, sizeof(addr),
				  &port);
	announce_listener(addr, port, srv->port_file);
	err = pthread_create(&tid, NULL, accept_main, NULL);
	if (err)
		die("pthread_create: %s", strerror(err));

	wait_stop_until(mono_ns() + (int64_t)(srv->duration * NSEC_PER_SEC));
	stop_threads();
	pthread_join(tid, NULL);
	/* Connection threads notice within a slice; do not wait on a stuck one forever. */
	drain = now_mono() + DRAIN_TIMEOUT;
	while (__atomic_load_n(&active_conns, __ATOMIC_RELAXED) && now_mono() < drain) {
		struct timespec ts = { 0, 10 * NSEC_PER_MSEC };

		nanosleep(&ts, NULL);
	}
	close(listen_fd);
	logmsg("stopped after %lu connections", conn_seq);
	return 0;
}
