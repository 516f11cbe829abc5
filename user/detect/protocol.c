// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"

struct line {
	const char *s;
	size_t len;
};

const char *proto__name(enum proto_kind kind)
{
	switch (kind) {
	case PROTO_STRATUM_V1:
		return "stratum-v1";
	case PROTO_XMRIG:
		return "xmrig-jsonrpc";
	case PROTO_ETH_STRATUM:
		return "eth-stratum";
	default:
		return "none";
	}
}

static const char *memmem_n(const struct line *l, const char *needle)
{
	return memmem(l->s, l->len, needle, strlen(needle));
}

/*
 * Find "key" followed by optional spaces and a colon, anywhere in the line.
 * Returns a pointer just past the colon and its trailing spaces, or NULL.
 */
static const char *find_key(const struct line *l, const char *key)
{
	char quoted[48];
	size_t qlen = strlen(key) + 2;
	const char *p = l->s, *end = l->s + l->len;

	if (qlen >= sizeof(quoted))
		return NULL;
	quoted[0] = '"';
	memcpy(quoted + 1, key, qlen - 2);
	quoted[qlen - 1] = '"';
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), quoted, qlen);

		if (!hit)
			return NULL;
		p = hit + qlen;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == ':') {
			p++;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			return p;
		}
	}
	return NULL;
}

/* Copy the string value of "key" into out; false if absent or not a string. */
static bool string_value(const struct line *l, const char *key, char *out, size_t outsz)
{
	const char *p = find_key(l, key), *end = l->s + l->len;
	size_t n = 0;

	if (!p || p >= end || *p != '"')
		return false;
	for (p++; p < end && *p != '"'; p++) {
		if (n + 1 >= outsz)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	return p < end;
}

static bool has_key(const struct line *l, const char *key)
{
	return find_key(l, key) != NULL;
}

/* A wallet or account: long and made only of address characters. */
static bool wallet_shaped(const char *s)
{
	size_t n = 0;

	for (; s[n] && s[n] != '.' && s[n] != '+'; n++)
		if (!isalnum((unsigned char)s[n]))
			return false;
	return n >= 40;
}

static bool in_set(const char *m, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(m, *set) == 0)
			return true;
	return false;
}

static const char *const stratum_methods[] = {
	"mining.subscribe", "mining.authorize", "mining.submit", "mining.notify",
	"mining.set_difficulty", "mining.configure", "mining.extranonce.subscribe",
	"mining.set_extranonce", "mining.suggest_difficulty", NULL,
};

static const char *const eth_methods[] = {
	"eth_submitLogin", "eth_getWork", "eth_submitWork", "eth_submitHashrate", NULL,
};

static enum proto_kind classify_method(const struct line *l, const char *m, bool cut)
{
	char login[128];

	if (in_set(m, stratum_methods))
		return has_key(l, "params") || cut ? PROTO_STRATUM_V1 : PROTO_NONE;
	if (in_set(m, eth_methods))
		return PROTO_ETH_STRATUM;
	if (strcmp(m, "keepalived") == 0)
		return PROTO_XMRIG;
	if (strcmp(m, "login") == 0) {
		if (has_key(l, "agent") || has_key(l, "rigid"))
			return PROTO_XMRIG;
		/* Cut off before "agent": the login itself must look like a wallet. */
		if (string_value(l, "login", login, sizeof(login)) && wallet_shaped(login) &&
		    (has_key(l, "pass") || cut))
			return PROTO_XMRIG;
		return PROTO_NONE;
	}
	if (strcmp(m, "submit") == 0)
		return has_key(l, "job_id") && has_key(l, "nonce") ? PROTO_XMRIG : PROTO_NONE;
	if (strcmp(m, "job") == 0)
		return has_key(l, "blob") && (has_key(l, "job_id") || has_key(l, "target")) ?
			       PROTO_XMRIG : PROTO_NONE;
	return PROTO_NONE;
}

static enum proto_kind classify_line(const struct line *l, bool cut, char *method, size_t msz)
{
	const char *p = l->s, *end = l->s + l->len;
	struct line body;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p >= end || *p != '{')
		return PROTO_NONE;
	body.s = p;
	body.len = (size_t)(end - p);
	if (string_value(&body, "method", method, msz))
		return classify_method(&body, method, cut);
	/* A pool's answer to an XMRig login carries the first job. */
	if (has_key(&body, "result") && memmem_n(&body, "\"job\"") && has_key(&body, "blob") &&
	    has_key(&body, "job_id")) {
		snprintf(method, msz, "login result");
		return PROTO_XMRIG;
	}
	return PROTO_NONE;
}

int proto__recognise(const void *buf, size_t len, struct proto_match *ret)
{
	const char *s = buf, *end = s + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		struct line l = { s, nl ? (size_t)(nl - s) : (size_t)(end - s) };
		char method[40];
		enum proto_kind k;

		if (l.len && l.s[l.len - 1] == '\r')
			l.len--;
		k = classify_line(&l, nl == NULL, method, sizeof(method));
		if (k != PROTO_NONE) {
			ret->kind = k;
			snprintf(ret->method, sizeof(ret->method), "%s", method);
			return 1;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	return 0;
}

const char *proto__stream_name(enum stream_kind kind)
{
	static const char *const names[] = {
		[STREAM_UNSEEN] = "unseen", [STREAM_UNKNOWN] = "unknown", [STREAM_TLS] = "tls",
		[STREAM_HTTP] = "http", [STREAM_SSH] = "ssh", [STREAM_JSON] = "json",
	};

	return kind <= STREAM_JSON ? names[kind] : "unknown";
}

enum stream_kind proto__stream_kind(const void *buf, size_t len)
{
	static const char *const methods[] = {
		"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "PATCH ", "OPTIONS ", "CONNECT ", NULL,
	};
	const unsigned char *s = buf;
	size_t i = 0;

	if (len == 0)
		return STREAM_UNSEEN;
	/* Handshake record, TLS 1.0-1.3 record versions (3,1..3,4). */
	if (len >= 3 && s[0] == 0x16 && s[1] == 0x03 && s[2] <= 0x04)
		return STREAM_TLS;
	if (len >= 4 && !memcmp(s, "SSH-", 4))
		return STREAM_SSH;
	for (const char *const *m = methods; *m; m++) {
		size_t n = strlen(*m);

		if (len >= n && !memcmp(s, *m, n))
			return STREAM_HTTP;
	}
	while (i < len && isspace(s[i]))
		i++;
	if (i < len && (s[i] == '{' || s[i] == '['))
		return STREAM_JSON;
	return STREAM_UNKNOWN;
}
