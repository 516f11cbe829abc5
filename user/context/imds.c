// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "http.h"
#include "imds.h"
#include "jsonbody.h"

#define TOKEN_MAX 512
#define TEXT_MAX 1024

struct imds {
	struct imds_opts o;
	struct http *http;
	char token[TOKEN_MAX + 1];
	bool have_token;
	bool v1;               /* the PUT was refused and v1 fallback is on */
	uint64_t token_renew_ms;
	uint64_t tokens, unauthorized;
	unsigned int seed;
};

const char *imds__state_name(enum imds_state s)
{
	switch (s) {
	case IMDS_OK: return "available";
	case IMDS_PENDING: return "pending";
	case IMDS_DISABLED: return "disabled";
	case IMDS_UNREACHABLE: return "unreachable";
	case IMDS_TOKEN_REFUSED: return "token_refused";
	case IMDS_UNAUTHORIZED: return "unauthorized";
	case IMDS_SERVER_ERROR: return "server_error";
	case IMDS_MALFORMED: return "malformed";
	}
	return "unknown";
}

struct imds *imds__new(const struct imds_opts *o)
{
	struct imds *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *o;
	c->http = http__new();
	if (!c->http) {
		free(c);
		return NULL;
	}
	c->seed = (unsigned int)clock__ms(CLOCK_MONOTONIC) ^ (unsigned int)(uintptr_t)c;
	return c;
}

void imds__free(struct imds *c)
{
	if (!c)
		return;
	http__free(c->http);
	explicit_bzero(c->token, sizeof(c->token));
	free(c);
}

void imds__token_stats(const struct imds *c, uint64_t *tokens, uint64_t *unauthorized)
{
	*tokens = c->tokens;
	*unauthorized = c->unauthorized;
}

/* --- parsers ----------------------------------------------------------- */

static bool only(const char *s, const char *set)
{
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define HEX "0123456789abcdef"

static bool valid_account(const char *s)
{
	return strlen(s) == 12 && only(s, "0123456789");
}

static bool valid_region(const char *s)
{
	size_t n = strlen(s);

	return n >= 4 && n < 32 && only(s, LOWER_DIGITS "-") && strchr(s, '-');
}

static bool valid_prefixed_hex(const char *s, const char *prefix)
{
	size_t p = strlen(prefix), n = strlen(s);

	return n >= p + 8 && n <= p + 17 && !strncmp(s, prefix, p) && only(s + p, HEX);
}

static bool valid_word(const char *s, size_t max, const char *set)
{
	size_t n = strlen(s);

	return n >= 1 && n < max && only(s, set);
}

static bool valid_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

const char *imds__partition(const char *region)
{
	if (!strncmp(region, "cn-", 3))
		return "aws-cn";
	if (!strncmp(region, "us-gov-", 7))
		return "aws-us-gov";
	return "aws";
}

int imds__parse_identity(const char *body, size_t len, struct instance_info *out, char *err,
			 size_t errsz)
{
	json_object *root;
	const char *v;

	memset(out, 0, sizeof(*out));
	root = jsonbody__object("identity document", body, len, IMDS_MAX_DOC, err, errsz);
	if (!root)
		return -1;
	v = jsonbody__str(root, "accountId");
	if (!valid_account(v)) {
		snprintf(err, errsz, "identity document has no valid accountId");
		goto bad;
	}
	snprintf(out->account_id, sizeof(out->account_id), "%s", v);
	v = jsonbody__str(root, "region");
	if (!valid_region(v)) {
		snprintf(err, errsz, "identity document has no valid region");
		goto bad;
	}
	snprintf(out->region, sizeof(out->region), "%s", v);
	v = jsonbody__str(root, "instanceId");
	if (!valid_prefixed_hex(v, "i-")) {
		snprintf(err, errsz, "identity document has no valid instanceId");
		goto bad;
	}
	snprintf(out->instance_id, sizeof(out->instance_id), "%s", v);
	/* The rest is optional: kept only when well-formed, never guessed. */
	v = jsonbody__str(root, "availabilityZone");
	if (valid_word(v, sizeof(out->zone), LOWER_DIGITS "-"))
		snprintf(out->zone, sizeof(out->zone), "%s", v);
	v = jsonbody__str(root, "imageId");
	if (valid_prefixed_hex(v, "ami-"))
		snprintf(out->image_id, sizeof(out->image_id), "%s", v);
	v = jsonbody__str(root, "instanceType");
	if (valid_word(v, sizeof(out->instance_type), LOWER_DIGITS ".-"))
		snprintf(out->instance_type, sizeof(out->instance_type), "%s", v);
	v = jsonbody__str(root, "architecture");
	if (valid_word(v, sizeof(out->architecture), LOWER_DIGITS "_"))
		snprintf(out->architecture, sizeof(out->architecture), "%s", v);
	v = jsonbody__str(root, "privateIp");
	if (valid_ipv4(v))
		snprintf(out->private_ip, sizeof(out->private_ip), "%s", v);
	snprintf(out->partition, sizeof(out->partition), "%s", imds__partition(out->region));
	json_object_put(root);
	return 0;
bad:
	json_object_put(root);
	memset(out, 0, sizeof(*out));
	return -1;
}

/* Not strchr(): it would also match a NUL byte, the set's terminator. */
static bool text_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* A one-line text reply without surrounding whitespace, in out. */
static int text_reply(const char *body, size_t len, char *out, size_t outsz)
{
	while (len && text_space(body[len - 1]))
		len--;
	while (len && text_space(body[0])) {
		body++;
		len--;
	}
	if (!len || len >= outsz || memchr(body, '\0', len) || memchr(body, '\n', len))
		return -1;
	memcpy(out, body, len);
	out[len] = '\0';
	return 0;
}

int imds__parse_hostname(const char *body, size_t len, char *out, size_t outsz)
{
	char tmp[256];

	if (!body || text_reply(body, len, tmp, sizeof(tmp)) ||
	    !only(tmp, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-") || strlen(tmp) >= outsz)
		return -1;
	snprintf(out, outsz, "%s", tmp);
	return 0;
}

int imds__parse_ipv4(const char *body, size_t len, char *out, size_t outsz)
{
	char tmp[INET_ADDRSTRLEN];

	if (!body || text_reply(body, len, tmp, sizeof(tmp)) || !valid_ipv4(tmp) ||
	    strlen(tmp) >= outsz)
		return -1;
	snprintf(out, outsz, "%s", tmp);
	return 0;
}

uint32_t imds__parse_ttl(const char *v)
{
	char *end;
	unsigned long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < 1 || n > 21600 || v[0] == '-' || v[0] == '+')
		return 0;
	return (uint32_t)n;
}

/* --- client ------------------------------------------------------------ */

static bool backoff(struct imds *c, int attempt)
{
	long base = 50L << (attempt < 6 ? attempt : 6);
	long jitter = (long)(rand_r(&c->seed) % (unsigned int)(base + 1));

	if (!c->o.sleep_ms)
		return true;
	return c->o.sleep_ms(c->o.sleep_arg, base / 2 + jitter);
}

static bool retryable(const struct http_reply *r)
{
	return r->error == HTTP_E_TIMEOUT || r->error == HTTP_E_CONNECT ||
	       r->error == HTTP_E_OTHER || r->status == 429 || r->status >= 500;
}

static enum imds_state transport_state(const struct http_reply *r)
{
	if (r->error == HTTP_E_TOO_BIG)
		return IMDS_MALFORMED;
	if (r->error)
		return IMDS_UNREACHABLE;
	return IMDS_SERVER_ERROR;
}

static void describe(const char *what, const struct http_reply *r, long timeout_ms, char *why,
		     size_t whysz)
{
	if (r->error == HTTP_E_TIMEOUT)
		snprintf(why, whysz, "%s: no reply within %ld ms", what, timeout_ms);
	else if (r->error)
		snprintf(why, whysz, "%s: %s (%s)", what, http__error_name(r->error), r->errbuf);
	else
		snprintf(why, whysz, "%s: HTTP %ld", what, r->status);
}

static enum imds_state get_token(struct imds *c, char *why, size_t whysz)
{
	char url[600], ttl_hdr[64];
	const char *hdrs[] = { ttl_hdr, NULL };
	struct http_reply r;
	enum imds_state st = IMDS_UNREACHABLE;
	uint32_t ttl;

	snprintf(url, sizeof(url), "%s/latest/api/token", c->o.endpoint);
	snprintf(ttl_hdr, sizeof(ttl_hdr), "X-aws-ec2-metadata-token-ttl-seconds: %u",
		 c->o.token_ttl_s);
	c->have_token = false;
	c->v1 = false;
	for (int attempt = 0; attempt <= c->o.retries; attempt++) {
		if (attempt && !backoff(c, attempt - 1))
			break;
		if (http__request(c->http, "PUT", url, hdrs, c->o.timeout_ms, TOKEN_MAX, &r)) {
			describe("token PUT", &r, c->o.timeout_ms, why, whysz);
			if (r.error == HTTP_E_TIMEOUT)
				strncat(why, " (hop limit too low for a container, or no IMDS)",
					whysz - strlen(why) - 1);
			st = transport_state(&r);
			/* No reply at all: retrying now would only wait again. */
			if (r.error == HTTP_E_TIMEOUT || r.error == HTTP_E_CONNECT)
				return st;
			continue;
		}
		if (r.status == 200 && text_reply(r.body ? r.body : "", r.len, c->token,
						  sizeof(c->token)) == 0 &&
		    only(c->token, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-=+/.")) {
			ttl = imds__parse_ttl(r.ttl_header);
			if (!ttl || ttl > c->o.token_ttl_s)
				ttl = c->o.token_ttl_s;
			/* Renew at 80% of the lifetime, well before it expires. */
			c->token_renew_ms = clock__ms(CLOCK_MONOTONIC) + (uint64_t)ttl * 800;
			c->have_token = true;
			c->tokens++;
			http__reply_free(&r);
			return IMDS_OK;
		}
		describe("token PUT", &r, c->o.timeout_ms, why, whysz);
		if (r.status == 200) {
			strncat(why, " with an invalid token", whysz - strlen(why) - 1);
			http__reply_free(&r);
			return IMDS_MALFORMED;
		}
		http__reply_free(&r);
		if (r.status >= 400 && r.status < 500 && r.status != 429) {
			if (c->o.v1_fallback) {
				c->v1 = true;
				return IMDS_OK;
			}
			return IMDS_TOKEN_REFUSED;
		}
		st = IMDS_SERVER_ERROR;
	}
	return st;
}

static enum imds_state ensure_token(struct imds *c, char *why, size_t whysz)
{
	if ((c->have_token && clock__ms(CLOCK_MONOTONIC) < c->token_renew_ms) || c->v1)
		return IMDS_OK;
	return get_token(c, why, whysz);
}

/* GETs @path into r (caller frees). 404 is returned as IMDS_OK with status 404. */
static enum imds_state get(struct imds *c, const char *path, size_t max, struct http_reply *r,
			   char *why, size_t whysz)
{
	char url[600], tok_hdr[TOKEN_MAX + 40];
	const char *hdrs[] = { tok_hdr, NULL };
	bool renewed = false;
	enum imds_state st;

	snprintf(url, sizeof(url), "%s%s", c->o.endpoint, path);
	for (int attempt = 0; attempt <= c->o.retries; attempt++) {
		st = ensure_token(c, why, whysz);
		if (st != IMDS_OK)
			return st;
		if (attempt && !backoff(c, attempt - 1))
			break;
		snprintf(tok_hdr, sizeof(tok_hdr), "X-aws-ec2-metadata-token: %s", c->token);
		if (http__request(c->http, "GET", url, c->v1 ? NULL : hdrs, c->o.timeout_ms, max,
				  r)) {
			describe(path, r, c->o.timeout_ms, why, whysz);
			if (r->error == HTTP_E_TOO_BIG)
				return IMDS_MALFORMED;
			continue;
		}
		if (r->status == 200 || r->status == 404)
			return IMDS_OK;
		describe(path, r, c->o.timeout_ms, why, whysz);
		if (r->status == 401 && !renewed && !c->v1) {
			/* Expired or revoked: one fresh token, then one more try. */
			c->unauthorized++;
			c->have_token = false;
			renewed = true;
			http__reply_free(r);
			attempt--;
			continue;
		}
		if (!retryable(r)) {
			http__reply_free(r);
			return r->status == 401 ? IMDS_UNAUTHORIZED : IMDS_SERVER_ERROR;
		}
		http__reply_free(r);
	}
	return r->error ? transport_state(r) : IMDS_SERVER_ERROR;
}

enum imds_state imds__fetch(struct imds *c, struct instance_info *out, char *why, size_t whysz)
{
	struct http_reply r;
	enum imds_state st;
	char err[160];

	memset(out, 0, sizeof(*out));
	c->v1 = false; /* every refresh tries IMDSv2 first */
	st = get(c, "/latest/dynamic/instance-identity/document", IMDS_MAX_DOC, &r, why, whysz);
	if (st != IMDS_OK)
		return st;
	if (r.status != 200) {
		snprintf(why, whysz, "identity document: HTTP %ld", r.status);
		http__reply_free(&r);
		return IMDS_SERVER_ERROR;
	}
	if (imds__parse_identity(r.body, r.len, out, err, sizeof(err))) {
		snprintf(why, whysz, "%s", err);
		http__reply_free(&r);
		return IMDS_MALFORMED;
	}
	http__reply_free(&r);
	/* Hostname and address are worth having but not worth failing for. */
	if (get(c, "/latest/meta-data/hostname", TEXT_MAX, &r, why, whysz) == IMDS_OK) {
		if (r.status == 200)
			imds__parse_hostname(r.body, r.len, out->hostname, sizeof(out->hostname));
		http__reply_free(&r);
	}
	if (get(c, "/latest/meta-data/local-ipv4", TEXT_MAX, &r, why, whysz) == IMDS_OK) {
		if (r.status == 200)
			imds__parse_ipv4(r.body, r.len, out->local_ipv4, sizeof(out->local_ipv4));
		http__reply_free(&r);
	}
	why[0] = '\0';
	return IMDS_OK;
}
