// SPDX-License-Identifier: Apache-2.0
/*
 * http.h's client over libevent's evhttp (libevent 2.1).
 *
 * Why not libcurl: the daemon has a 16 MiB RSS budget, and Debian's libcurl
 * alone cost about 4 MiB of it at start (it loads GnuTLS, krb5, LDAP, ssh2,
 * RTMP...), plus OpenSSL's initialisation. Both services this client talks to
 * (IMDS on a link-local address, the ECS agent on localhost) speak plain
 * HTTP/1.1, so evhttp, which is small and already packaged everywhere, is
 * enough; it speaks no TLS, and https:// URLs are refused.
 *
 * A request blocks its caller, as curl_easy_perform did: it runs the handle's
 * own event_base on the calling thread until the request callback or our own
 * deadline timer ends it. Each request has its own connection, freed before
 * returning, so nothing of an exchange outlives the call; on loopback and
 * link-local addresses a connect costs next to nothing.
 *
 * How libevent 2.1 reports the outcomes (found by experiment, see the
 * callbacks): a reply is the request callback with a status. A connection
 * refused, or timed out while connecting, is the request callback with status
 * 0 and no error callback: which of the two only the clock tells. Any other
 * connect error (network or host unreachable) is the error callback with
 * EVREQ_HTTP_EOF and errno set, as is a server closing the connection early;
 * like every failure after the connect (timeout, bad header, size limit) it
 * is followed by the request callback with a NULL request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
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

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
/* libevent's status code 200; http.h's HTTP_OK is the "no error" 0. */
#undef HTTP_OK

#include "http.h"
#include "log.h"

#define HEADERS_MAX 16384 /* a reply's status line and headers, bytes */
#define ADDRS_MAX 4       /* addresses of one host name tried in turn */

struct http {
	struct event_base *base;
};

/*
 * errbuf holds our own messages, cut by snprintf if need be; the longest (an
 * address list, the https refusal) need about 120 bytes, plus a host name.
 */
_Static_assert(sizeof(((struct http_reply *)0)->errbuf) >= 160,
	       "errbuf too small for the messages");

/* One attempt's state; on http__request's stack, shared with the callbacks. */
struct exchange {
	struct event_base *base;
	struct http_reply *r;
	size_t max_body;
	bool deadline;         /* our timer fired: the whole request is out of time */
	bool finished;         /* the request callback ran: libevent is done with it */
	bool got_headers;      /* the status line and headers were read */
	bool failed;           /* the error callback ran; err and err_errno say why */
	bool too_big;          /* the body was over max_body */
	bool nomem;
	enum evhttp_request_error err;
	int err_errno;
};

/* libevent's own warnings (rare for a client) go to our log, not raw stderr. */
static void on_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_debug("libevent: %s", msg);
}

int http__global_init(void)
{
	event_set_log_callback(on_libevent_log);
	return 0;
}

struct http *http__new(void)
{
	struct http *h = calloc(1, sizeof(*h));
	struct event_config *cfg = event_config_new();

	if (!h || !cfg)
		goto fail;
	/*
	 * One thread uses a handle at a time, so no locks. The environment
	 * (EVENT_NOEPOLL and the like) must not change how the daemon works. A
	 * precise clock: the same CLOCK_MONOTONIC as now_us(), so that a connect
	 * timeout of libevent's and our deadline compare (http__request).
	 */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK | EVENT_BASE_FLAG_IGNORE_ENV |
				   EVENT_BASE_FLAG_PRECISE_TIMER);
	h->base = event_base_new_with_config(cfg);
	if (!h->base)
		goto fail;
	event_config_free(cfg);
	return h;
fail:
	if (cfg)
		event_config_free(cfg);
	free(h);
	return NULL;
}

void http__free(struct http *h)
{
	if (!h)
		return;
	event_base_free(h->base);
	free(h);
}

void http__reply_free(struct http_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

const char *http__error_name(int error)
{
	switch (error) {
	case HTTP_OK: return "ok";
	case HTTP_E_TIMEOUT: return "timeout";
	case HTTP_E_CONNECT: return "connection failed";
	case HTTP_E_TOO_BIG: return "reply too large";
	default: return "transport error";
	}
}

static int fail(struct http_reply *r, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every failure goes through here: no body, no status, errbuf always says why. */
static int fail(struct http_reply *r, int error, const char *fmt, ...)
{
	va_list ap;

	http__reply_free(r);
	r->status = 0;
	r->ttl_header[0] = '\0';
	r->error = error;
	va_start(ap, fmt);
	vsnprintf(r->errbuf, sizeof(r->errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --- callbacks ------------------------------------------------------------ */

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct exchange *x = arg;

	x->deadline = true;
	event_base_loopbreak(x->base);
}

static int on_headers(struct evhttp_request *req, void *arg)
{
	struct exchange *x = arg;

	x->got_headers = true;
	return 0;
}

/*
 * Called before on_done(NULL) for failures after the connect. errno is the
 * socket's error here (libevent restores it for this callback), worth keeping
 * for EOF, which is also how an asynchronous connect error can arrive.
 */
static void on_error(enum evhttp_request_error err, void *arg)
{
	struct exchange *x = arg;

	x->failed = true;
	x->err = err;
	x->err_errno = errno;
}

static void copy_ttl(struct http_reply *r, struct evhttp_request *req)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "X-aws-ec2-metadata-token-ttl-seconds");
	size_t vlen;

	if (!v)
		return;
	/* libevent strips the leading blanks; strip trailing ones too. */
	vlen = strlen(v);
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen < sizeof(r->ttl_header)) {
		memcpy(r->ttl_header, v, vlen);
		r->ttl_header[vlen] = '\0';
	}
}

/*
 * The request is over. libevent frees req when this returns, so the reply is
 * copied out here. No loopbreak: should our deadline expire in the same loop
 * iteration, its callback still runs, and a connect timeout of libevent's
 * (status 0) right at the deadline counts as a timeout, not a refusal.
 */
static void on_done(struct evhttp_request *req, void *arg)
{
	struct exchange *x = arg;
	struct http_reply *r = x->r;
	struct evbuffer *in;
	size_t len;
	int code;

	x->finished = true;
	if (!req || x->failed)
		return;
	code = evhttp_request_get_response_code(req);
	if (code <= 0)
		return; /* no connection: refused, or a connect timeout */
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if (len > x->max_body) {
		/* libevent enforces the limit too; this only makes it certain. */
		x->too_big = true;
		return;
	}
	if (len) {
		r->body = malloc(len + 1);
		if (!r->body) {
			x->nomem = true;
			return;
		}
		evbuffer_copyout(in, r->body, len);
		r->body[len] = '\0';
		r->len = len;
	}
	r->status = code;
	copy_ttl(r, req);
}

/* --- one request ---------------------------------------------------------- */

/* Adds a caller's "Name: value" header, replacing one of ours of that name. */
static int add_header_line(struct evkeyvalq *out, const char *line)
{
	const char *colon = strchr(line, ':'), *v;
	char name[128];
	size_t n;

	if (!colon || colon == line || (n = (size_t)(colon - line)) >= sizeof(name))
		return -1;
	memcpy(name, line, n);
	name[n] = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	evhttp_remove_header(out, name);
	/* evhttp_add_header refuses CR and LF: no header injection. */
	return evhttp_add_header(out, name, v);
}

/*
 * One connection to one address, one request on it, until it ends or the
 * deadline passes. The outcome is left in x (and x->r on a reply); returns
 * -1 only when the request could not even be sent, with r filled in.
 */
static int attempt(struct http *h, struct exchange *x, const char *addr, uint16_t port,
		   enum evhttp_cmd_type type, const char *target, const char *host_hdr,
		   const char *const *headers, long timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct evhttp_connection *evcon;
	struct evhttp_request *req;
	struct evkeyvalq *out;
	int rc = 0;

	evcon = evhttp_connection_base_new(h->base, NULL, addr, port);
	if (!evcon)
		return fail(x->r, HTTP_E_OTHER, "cannot create a connection to %s", addr);
	/*
	 * libevent's own limits: its timeout is per connect, read or write, so
	 * the deadline timer bounds the whole exchange; no retries (a retry would
	 * need more time than we have); body and headers bounded.
	 */
	evhttp_connection_set_timeout_tv(evcon, &tv);
	evhttp_connection_set_retries(evcon, 0);
	evhttp_connection_set_max_body_size(evcon, x->max_body > (size_t)EV_SSIZE_MAX ?
						   EV_SSIZE_MAX : (ev_ssize_t)x->max_body);
	evhttp_connection_set_max_headers_size(evcon, HEADERS_MAX);

	req = evhttp_request_new(on_done, x);
	if (!req) {
		evhttp_connection_free(evcon);
		return fail(x->r, HTTP_E_OTHER, "out of memory");
	}
	evhttp_request_set_error_cb(req, on_error);
	evhttp_request_set_header_cb(req, on_headers);
	out = evhttp_request_get_output_headers(req);
	/*
	 * Host as the URL has it (an IPv6 literal in brackets). Connection: close
	 * because the connection is freed after this one request anyway.
	 */
	if (evhttp_add_header(out, "Host", host_hdr) ||
	    evhttp_add_header(out, "User-Agent", "minerwatch/" MW_VERSION) ||
	    evhttp_add_header(out, "Connection", "close")) {
		rc = fail(x->r, HTTP_E_OTHER, "cannot add the request headers");
		goto free_req;
	}
	for (; headers && *headers; headers++) {
		if (add_header_line(out, *headers)) {
			/*
			 * Only the name: errbuf goes to logs and status, and a
			 * value may be a token.
			 */
			size_t n = strcspn(*headers, ":\r\n\t");

			rc = fail(x->r, HTTP_E_OTHER, "malformed request header \"%.*s\"",
				  (int)(n < 60 ? n : 60), *headers);
			goto free_req;
		}
	}
	/* A PUT has an empty body: say so, or the server waits for one. */
	if (type == EVHTTP_REQ_PUT && evhttp_add_header(out, "Content-Length", "0")) {
		rc = fail(x->r, HTTP_E_OTHER, "cannot add the request headers");
		goto free_req;
	}
	/*
	 * From here libevent owns req. The callbacks may already have run inside
	 * evhttp_make_request (a connect that fails at once). Without a bind
	 * address it fails only when out of memory for a copy of the target,
	 * and has then freed the request.
	 */
	if (evhttp_make_request(evcon, req, type, target)) {
		evhttp_connection_free(evcon);
		return fail(x->r, HTTP_E_OTHER, "cannot send the request to %s", addr);
	}
	/* 1 ("nothing to wait for") cannot happen while the timer is pending. */
	while (!x->finished && !x->deadline) {
		if (event_base_loop(h->base, EVLOOP_ONCE) != 0) {
			evhttp_connection_free(evcon);
			return fail(x->r, HTTP_E_OTHER, "event loop failed");
		}
	}
	/* A request still pending (deadline) is freed with it, without callbacks. */
	evhttp_connection_free(evcon);
	return 0;
free_req:
	evhttp_request_free(req);
	evhttp_connection_free(evcon);
	return rc;
}

static const char *request_error_name(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT: return "EVREQ_HTTP_TIMEOUT";
	case EVREQ_HTTP_EOF: return "EVREQ_HTTP_EOF";
	case EVREQ_HTTP_INVALID_HEADER: return "EVREQ_HTTP_INVALID_HEADER";
	case EVREQ_HTTP_BUFFER_ERROR: return "EVREQ_HTTP_BUFFER_ERROR";
	case EVREQ_HTTP_REQUEST_CANCEL: return "EVREQ_HTTP_REQUEST_CANCEL";
	case EVREQ_HTTP_DATA_TOO_LONG: return "EVREQ_HTTP_DATA_TOO_LONG";
	}
	return "unknown evhttp_request_error";
}

/* Connect errors, which libevent reports as EVREQ_HTTP_EOF (but refusals). */
static bool connect_errno(int e)
{
	return e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH || e == EHOSTDOWN ||
	       e == ENETDOWN || e == EADDRNOTAVAIL;
}

/* The attempt ended without a connection: the host's next address may do. */
static bool never_connected(const struct exchange *x)
{
	if (!x->finished || x->deadline || x->r->status > 0 || x->too_big || x->nomem)
		return false;
	return !x->failed || (x->err == EVREQ_HTTP_EOF && !x->got_headers &&
			      connect_errno(x->err_errno));
}

/* A failure after the connect, as on_error recorded it. */
static int classify_error(const struct exchange *x, long timeout_ms)
{
	struct http_reply *r = x->r;

	switch (x->err) {
	case EVREQ_HTTP_TIMEOUT:
		return fail(r, HTTP_E_TIMEOUT, "no complete reply within %ld ms", timeout_ms);
	case EVREQ_HTTP_DATA_TOO_LONG:
		/* The same error for headers and body: on_headers tells which. */
		if (x->got_headers)
			return fail(r, HTTP_E_TOO_BIG, "reply body over %zu bytes (%s)",
				    x->max_body, request_error_name(x->err));
		return fail(r, HTTP_E_OTHER, "reply headers over %d bytes (%s)", HEADERS_MAX,
			    request_error_name(x->err));
	case EVREQ_HTTP_EOF:
		/* (A connect error, EOF too, is told apart by never_connected.) */
		if (x->got_headers)
			return fail(r, HTTP_E_OTHER, "connection closed in the reply body (%s)",
				    request_error_name(x->err));
		return fail(r, HTTP_E_OTHER, "connection closed before a reply (%s)",
			    request_error_name(x->err));
	case EVREQ_HTTP_INVALID_HEADER:
		/* libevent 2.1 reports headers over the size limit this way too. */
		return fail(r, HTTP_E_OTHER, "reply status line or headers malformed or over "
			    "%d bytes (%s)", HEADERS_MAX, request_error_name(x->err));
	default:
		break;
	}
	return fail(r, HTTP_E_OTHER, "transfer failed (%s)", request_error_name(x->err));
}

/*
 * SIGPIPE, for a write to a connection the server has closed, must not kill
 * the caller (libevent writes with writev, which has no MSG_NOSIGNAL). It is
 * blocked for the request; one it raised is discarded before unblocking.
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
	g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	static const struct timespec zero;
	sigset_t pipe_set, pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Splits url into what the request needs; fills r and returns -1 if unusable. */
static int parse_url(const char *url, struct http_reply *r, char *host, size_t hostsz,
		     char *host_hdr, size_t host_hdrsz, uint16_t *port, char *target,
		     size_t targetsz)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme, *h, *path, *query;
	size_t hlen;
	int p, rc = -1;

	if (!u)
		return fail(r, HTTP_E_OTHER, "not a valid URL: \"%.80s\"", url);
	scheme = evhttp_uri_get_scheme(u);
	h = evhttp_uri_get_host(u);
	if (scheme && !strcasecmp(scheme, "https")) {
		fail(r, HTTP_E_OTHER, "https is not supported: this client speaks plain HTTP "
		     "only (IMDS and the ECS agent are plain HTTP)");
		goto out;
	}
	if (!scheme || strcasecmp(scheme, "http") || !h || !h[0]) {
		fail(r, HTTP_E_OTHER, "not an http:// URL: \"%.80s\"", url);
		goto out;
	}
	if (evhttp_uri_get_userinfo(u)) {
		fail(r, HTTP_E_OTHER, "credentials in the URL are not supported");
		goto out;
	}
	p = evhttp_uri_get_port(u);
	if (p == 0 || p > 65535) {
		fail(r, HTTP_E_OTHER, "invalid port in \"%.80s\"", url);
		goto out;
	}
	*port = p < 0 ? 80 : (uint16_t)p;
	hlen = strlen(h);
	if (hlen >= hostsz) {
		fail(r, HTTP_E_OTHER, "host name too long");
		goto out;
	}
	/* libevent 2.1 keeps an IPv6 literal's brackets: Host wants them, connect not. */
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']')
		snprintf(host, hostsz, "%.*s", (int)(hlen - 2), h + 1);
	else
		snprintf(host, hostsz, "%s", h);
	if (p < 0 || p == 80)
		snprintf(host_hdr, host_hdrsz, "%s", h);
	else
		snprintf(host_hdr, host_hdrsz, "%s:%d", h, p);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if ((size_t)snprintf(target, targetsz, "%s%s%s", path && path[0] ? path : "/",
			     query ? "?" : "", query ? query : "") >= targetsz) {
		fail(r, HTTP_E_OTHER, "URL too long");
		goto out;
	}
	rc = 0;
out:
	evhttp_uri_free(u);
	return rc;
}

int http__request(struct http *h, const char *method, const char *url,
		  const char *const *headers, long timeout_ms, size_t max_body,
		  struct http_reply *reply)
{
	char host[256], host_hdr[300], target[1024], addr[INET6_ADDRSTRLEN], tried[128] = "";
	struct exchange x = { .base = h->base, .r = reply, .max_body = max_body };
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ais = NULL, *ai;
	struct sigpipe_guard guard;
	enum evhttp_cmd_type type;
	struct event *timer = NULL;
	struct timeval tv;
	char portstr[8];
	uint16_t port = 0;
	uint64_t start;
	int rc = -1, e, n = 0;

	memset(reply, 0, sizeof(*reply));
	if (!strcmp(method, "GET"))
		type = EVHTTP_REQ_GET;
	else if (!strcmp(method, "PUT"))
		type = EVHTTP_REQ_PUT;
	else
		return fail(reply, HTTP_E_OTHER, "unsupported method %.16s", method);
	if (timeout_ms <= 0)
		return fail(reply, HTTP_E_OTHER, "no time limit given");
	if (parse_url(url, reply, host, sizeof(host), host_hdr, sizeof(host_hdr), &port, target,
		      sizeof(target)))
		return -1;

	start = now_us();
	/*
	 * Resolved here rather than by libevent (which, without an evdns base,
	 * would also call getaddrinfo but connect to the first address only), so
	 * that "localhost" works whichever of ::1 and 127.0.0.1 the service
	 * listens on. The endpoints are IP literals or localhost, answered from
	 * /etc/hosts; a DNS name would be bound by the resolver's own time
	 * limits, not timeout_ms.
	 */
	snprintf(portstr, sizeof(portstr), "%u", port);
	e = getaddrinfo(host, portstr, &hints, &ais);
	if (e)
		return fail(reply, HTTP_E_CONNECT, "cannot resolve %s: %s", host,
			    e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));

	timer = evtimer_new(h->base, on_deadline, &x);
	if (!timer) {
		freeaddrinfo(ais);
		return fail(reply, HTTP_E_OTHER, "out of memory");
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(timer, &tv);
	sigpipe_block(&guard);

	for (ai = ais; ai && n < ADDRS_MAX; ai = ai->ai_next, n++) {
		const void *a = ai->ai_family == AF_INET6 ?
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr :
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    !inet_ntop(ai->ai_family, a, addr, sizeof(addr)))
			continue;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
			 tried[0] ? ", " : "", addr);
		x.finished = x.got_headers = x.failed = x.too_big = x.nomem = false;
		if (attempt(h, &x, addr, port, type, target, host_hdr, headers, timeout_ms))
			goto out; /* reply filled in */
		if (!never_connected(&x))
			break;
	}

	if (reply->status > 0) {
		rc = 0;
	} else if (x.deadline || (!x.failed && now_us() - start >= (uint64_t)timeout_ms * 1000)) {
		/*
		 * Our timer, or libevent's connect timeout firing in the same
		 * instant (a connect timeout looks like a refusal: status 0, no
		 * error callback), so the clock decides.
		 */
		fail(reply, HTTP_E_TIMEOUT, "no complete reply within %ld ms", timeout_ms);
	} else if (x.too_big) {
		fail(reply, HTTP_E_TOO_BIG, "reply body over %zu bytes", max_body);
	} else if (x.nomem) {
		fail(reply, HTTP_E_OTHER, "out of memory for the reply body");
	} else if (!tried[0]) {
		fail(reply, HTTP_E_CONNECT, "no IPv4 or IPv6 address for %s", host);
	} else if (never_connected(&x)) {
		/* The last address's error; the addresses are named if not the host. */
		const char *why = x.failed ? strerror(x.err_errno) : "connection refused";

		if (!strcmp(tried, host))
			fail(reply, HTTP_E_CONNECT, "cannot connect to %s port %u: %s", host, port,
			     why);
		else
			fail(reply, HTTP_E_CONNECT, "cannot connect to %s port %u (%s): %s", host,
			     port, tried, why);
	} else if (x.failed) {
		classify_error(&x, timeout_ms);
	} else {
		fail(reply, HTTP_E_OTHER, "the request ended without a reply or an error");
	}
out:
	sigpipe_restore(&guard);
	event_free(timer);
	freeaddrinfo(ais);
	return rc;
}
