/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small blocking HTTP client over libevent's evhttp for the local AWS
 * services (IMDS, the ECS agent). Every request has a hard time limit and a
 * body size limit, never follows redirects and never goes through a proxy.
 * It speaks plain HTTP/1.1 only, no TLS: both services are plain HTTP (IMDS on
 * a link-local address, the agent on localhost), and an https:// URL fails
 * with HTTP_E_OTHER. Hosts are IP literals (IPv6 in brackets) or localhost,
 * resolved with getaddrinfo, each address tried in turn; a DNS name would
 * work but its lookup is bound by the resolver's limits, not timeout_ms. One
 * handle per thread; each request opens and closes its own connection.
 */
#ifndef MW_HTTP_H
#define MW_HTTP_H

#include <stddef.h>

struct http;

struct http_reply {
	long status;           /* HTTP status, 0 when no reply arrived */
	int error;             /* 0, or one of enum http_error */
	char *body;            /* NUL-terminated, malloc'd; NULL when none */
	size_t len;
	char ttl_header[24];   /* X-aws-ec2-metadata-token-ttl-seconds, if any */
	char errbuf[256];      /* what went wrong, whenever error is set */
};

enum http_error {
	HTTP_OK = 0,
	HTTP_E_TIMEOUT,        /* no (complete) reply within the time limit */
	HTTP_E_CONNECT,        /* refused, unreachable, no route, or name not resolved */
	HTTP_E_TOO_BIG,        /* the body passed the size limit */
	HTTP_E_OTHER,          /* closed early, malformed reply, bad URL, https://, ... */
};

struct http *http__new(void);
void http__free(struct http *h);

/*
 * One request. method "GET" or "PUT" (with an empty body); headers is a
 * NULL-terminated list of "Name: value" strings or NULL. timeout_ms bounds the
 * whole exchange, max_body the reply body. Returns 0 when a reply arrived
 * (whatever its status), -1 otherwise; reply->error says which.
 */
int http__request(struct http *h, const char *method, const char *url,
		  const char *const *headers, long timeout_ms, size_t max_body,
		  struct http_reply *reply);
void http__reply_free(struct http_reply *reply);
const char *http__error_name(int error);

/* Once per process, before any thread starts. */
int http__global_init(void);

#endif
