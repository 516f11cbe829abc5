/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mining-protocol recogniser: pure, no I/O.
 *
 * Input is the first bytes one side of a TCP connection sent, as captured
 * (segments concatenated in order; the last line may be cut off at the
 * capture limit). Mining protocols are newline-delimited JSON-RPC; a line is
 * recognised by its method name together with the parameters that make that
 * method specific to mining, so generic JSON-RPC, HTTP and TLS never match.
 */
#ifndef MW_PROTOCOL_H
#define MW_PROTOCOL_H

#include <stddef.h>

enum proto_kind {
	PROTO_NONE = 0,
	PROTO_STRATUM_V1,  /* mining.subscribe, mining.notify, ... */
	PROTO_XMRIG,       /* CryptoNote/XMRig login, job, submit, keepalived */
	PROTO_ETH_STRATUM, /* eth_submitLogin, eth_getWork, eth_submitWork */
};

struct proto_match {
	enum proto_kind kind;
	char method[40];   /* the method (or result shape) that matched */
};

/* Returns 1 and fills *ret on a match, 0 when nothing matched. */
int proto__recognise(const void *buf, size_t len, struct proto_match *ret);

const char *proto__name(enum proto_kind kind);

/* What the first bytes a client sent look like, for the behaviour rules. */
enum stream_kind {
	STREAM_UNSEEN = 0,  /* nothing captured yet */
	STREAM_UNKNOWN,     /* opaque bytes */
	STREAM_TLS,         /* a TLS handshake record */
	STREAM_HTTP,        /* an HTTP/1.x request */
	STREAM_SSH,         /* an SSH version banner */
	STREAM_JSON,        /* newline-delimited JSON (mining or not) */
};

enum stream_kind proto__stream_kind(const void *buf, size_t len);
const char *proto__stream_name(enum stream_kind kind);

#endif
