// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"

struct http {
	CURL *curl;
};

/* libcurl writes up to CURL_ERROR_SIZE bytes into the error buffer. */
_Static_assert(sizeof(((struct http_reply *)0)->errbuf) >= CURL_ERROR_SIZE,
	       "errbuf smaller than CURL_ERROR_SIZE");

struct sink_ctx {
	struct http_reply *r;
	size_t cap;
	size_t max;
	int too_big;
};

int http__global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

struct http *http__new(void)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	return h;
}

void http__free(struct http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
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

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink_ctx *s = arg;
	struct http_reply *r = s->r;
	size_t n = size * nmemb;

	if (r->len + n > s->max) {
		s->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if (r->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 1024;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->body, cap);
		if (!b)
			return 0;
		r->body = b;
		s->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "x-aws-ec2-metadata-token-ttl-seconds:";
	struct http_reply *r = arg;
	size_t n = size * nmemb, vlen;
	const char *v;

	if (n > sizeof(name) - 1 && !strncasecmp(data, name, sizeof(name) - 1)) {
		v = data + sizeof(name) - 1;
		vlen = n - (sizeof(name) - 1);
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen < sizeof(r->ttl_header)) {
			memcpy(r->ttl_header, v, vlen);
			r->ttl_header[vlen] = '\0';
		}
	}
	return n;
}

int http__request(struct http *h, const char *method, const char *url,
		  const char *const *headers, long timeout_ms, size_t max_body,
		  struct http_reply *reply)
{
	struct curl_slist *hl = NULL, *tmp;
	struct sink_ctx s = { .r = reply, .max = max_body };
	CURL *c = h->curl;
	CURLcode rc;

	memset(reply, 0, sizeof(*reply));
	for (; headers && *headers; headers++) {
		tmp = curl_slist_append(hl, *headers);
		if (!tmp) {
			curl_slist_free_all(hl);
			reply->error = HTTP_E_OTHER;
			return -1;
		}
		hl = tmp;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "minerwatch/" MW_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reply->errbuf);
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(hl);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
		return 0;
	}
	http__reply_free(reply);
	if (s.too_big)
		reply->error = HTTP_E_TOO_BIG;
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		reply->error = HTTP_E_TIMEOUT;
	else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		reply->error = HTTP_E_CONNECT;
	else
		reply->error = HTTP_E_OTHER;
	if (!reply->errbuf[0])
		snprintf(reply->errbuf, sizeof(reply->errbuf), "%s", curl_easy_strerror(rc));
	return -1;
}
