// SPDX-License-Identifier: GPL-2.0
/*
 * poolsim - a loopback-only mining pool simulator for minerwatch tests.
 *
 * Speaks enough Stratum v1 and XMRig/CryptoNote JSON-RPC that a miner (real
 * or simulated) logs in, receives jobs and gets its shares accepted, so the
 * sensor sees traffic shaped like the real thing. Nothing is validated: every
 * share is accepted, because the point is the wire pattern, not the mining.
 *
 * With --tls the listener speaks TLS with a throwaway self-signed certificate
 * made in memory at start, like a pool's TLS port; the protocols inside are
 * unchanged.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

#define MAX_CLIENTS	256
/* Longest accepted line, excluding its '\n'. */
#define MAX_LINE	(64 * 1024)
/* A client that does not read its pushes is dropped rather than buffered forever. */
#define MAX_OUTBUF	(1024 * 1024)
/* Finished clients remembered for the exit summary. */
#define MAX_HISTORY	1024

#define XMR_TARGET	"b88d0600"
#define XMR_ALGO	"rx/0"
#define TLS_CN		"pool.test"
/* Reads per wakeup, so one chatty client cannot starve the others. */
#define READ_ROUNDS	16

enum proto {
	PROTO_UNKNOWN,
	PROTO_STRATUM,
	PROTO_XMRIG,
};

struct client {
	int fd;
	SSL *ssl;		/* NULL without --tls */
	bool hs_done;		/* TLS handshake finished */
	bool hs_wants_write;	/* handshake blocked on a full socket buffer */
	bool rd_wants_write;	/* SSL_read needs the socket writable */
	bool wr_wants_read;	/* SSL_write needs the socket readable */
	bool tls_failed;	/* fatal TLS error: no close_notify on close */
	unsigned int conn_id;
	enum proto proto;
	bool authorized;	/* stratum authorize or xmrig login done */
	char peer[ADDR_STRLEN];
	char extranonce1[9];
	char session[33];
	char *in;
	size_t in_len;
	char *out;
	size_t out_len;
	size_t out_cap;
	unsigned long accepted;
};

struct history {
	unsigned int conn_id;
	enum proto proto;
	unsigned long accepted;
};

struct job {
	unsigned int seq;
	char id[17];
	bool clean;
	/* Stratum fields */
	char prevhash[65];
	char coinb1[121];
	char coinb2[97];
	char merkle[3][65];
	char ntime[9];
	/* XMRig fields */
	char blob[153];
	unsigned long height;
};

static struct {
	const char *bind_addr;
	unsigned int port;
	const char *port_file;
	double job_interval;
	double duration;
	bool tls;
} opt = {
	.bind_addr = "127.0.0.1",
	.port = 0,
	.job_interval = 30.0,
	.duration = 600.0,
};

static struct client clients[MAX_CLIENTS];
static struct pollfd pfds[MAX_CLIENTS + 1];
static struct history hist[MAX_HISTORY];
static unsigned int hist_len;
static unsigned int next_conn_id = 1;
static unsigned int n_stratum, n_xmrig, n_conns, n_refused;
static unsigned long total_accepted;
static struct job job;
static char seed_hash[65];
static uint64_t rng_state;
static SSL_CTX *tls_ctx;
/* Why the last client_recv()/client_send_raw() failed. */
static char io_why[160];

const char tool_name[] = "poolsim";

/* Job contents only need to look random, not be unpredictable. */
static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void rng_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* Fills @nchars hex digits plus a terminating NUL. */
static void rand_hex(char *dst, size_t nchars)
{
	static const char digits[] = "0123456789abcdef";
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < nchars; i++) {
		if (i % 16 == 0)
			r = rng_next();
		dst[i] = digits[r & 0xf];
		r >>= 4;
	}
	dst[nchars] = '\0';
}

static const char *proto_name(enum proto p)
{
	switch (p) {
	case PROTO_STRATUM:
		return "stratum";
	case PROTO_XMRIG:
		return "xmrig";
	default:
		return "unknown";
	}
}

/*
 * A Monero hashing blob is major/minor version, varint timestamp, previous
 * block id, 4-byte nonce, tree root and tx count; reproducing the layout
 * makes the 152 hex chars look like a real job to anything that inspects it.
 */
static void make_xmr_blob(char *blob)
{
	uint64_t ts = (uint64_t)time(NULL);
	char *p = blob;
	int i;

	p += sprintf(p, "1010");
	for (i = 0; i < 5; i++) {
		unsigned int byte = ts & 0x7f;

		ts >>= 7;
		if (i < 4)
			byte |= 0x80;
		p += sprintf(p, "%02x", byte);
	}
	rand_hex(p, 64);
	p += 64;
	p += sprintf(p, "00000000");
	rand_hex(p, 64);
	p += 64;
	sprintf(p, "%02x", (unsigned int)(1 + rng_next() % 100));
}

static void new_job(void)
{
	int i;

	job.seq++;
	snprintf(job.id, sizeof(job.id), "%x", job.seq);
	/* Pools flag a new block every few jobs; the rest are template updates. */
	job.clean = job.seq % 4 == 1;
	if (job.clean || !job.prevhash[0])
		rand_hex(job.prevhash, 64);
	/* Coinbase halves are split around the extranonce, as in a real template. */
	snprintf(job.coinb1, sizeof(job.coinb1),
		 "01000000010000000000000000000000000000000000000000000000000000000000000000"
		 "ffffffff2003%06x", (unsigned int)(840000 + job.seq) & 0xffffff);
	rand_hex(job.coinb2, 96);
	for (i = 0; i < 3; i++)
		rand_hex(job.merkle[i], 64);
	snprintf(job.ntime, sizeof(job.ntime), "%08x", (unsigned int)time(NULL));

	make_xmr_blob(job.blob);
	job.height = 3100000 + job.seq;
}

/* ---- output ------------------------------------------------------------ */

static void client_close(struct client *c, const char *why);

static int client_queue(struct client *c, const char *data, size_t len)
{
	if (c->out_len + len + 1 > MAX_OUTBUF) {
		client_close(c, "output backlog too large");
		return -1;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + len + 1)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			client_close(c, "out of memory");
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	c->out[c->out_len++] = '\n';
	return 0;
}

/* Takes ownership of @msg. */
static int client_send(struct client *c, struct json_object *msg)
{
	const char *s;
	size_t len;
	int ret;

	s = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	ret = client_queue(c, s, len);
	json_object_put(msg);
	return ret;
}

/* ---- transport (plain TCP or TLS) -------------------------------------- */

static void tls_reason(struct client *c, int err)
{
	unsigned long e = ERR_peek_last_error();

	c->tls_failed = true;
	if (err == SSL_ERROR_SYSCALL && !e) {
		snprintf(io_why, sizeof(io_why), "TLS: %s", errno ? strerror(errno) : "EOF");
		return;
	}
	snprintf(io_why, sizeof(io_why), "TLS: ");
	ERR_error_string_n(e, io_why + 5, sizeof(io_why) - 5);
}

/*
 * Returns the number of bytes read, 0 when the peer closed, -1 when nothing
 * can be read right now and -2 on error (reason in io_why).
 */
static ssize_t client_recv(struct client *c, char *buf, size_t len)
{
	ssize_t n;
	int r, err;

	if (!c->ssl) {
		n = recv(c->fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return -1;
		snprintf(io_why, sizeof(io_why), "%s", strerror(errno));
		return -2;
	}
	ERR_clear_error();
	c->rd_wants_write = false;
	r = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	err = SSL_get_error(c->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		return -1;
	case SSL_ERROR_WANT_WRITE:
		/* A post-handshake message has to go out before more data comes in. */
		c->rd_wants_write = true;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		tls_reason(c, err);
		return -2;
	}
}

/* Same return convention as client_recv(), without the 0. */
static ssize_t client_send_raw(struct client *c, const char *buf, size_t len)
{
	ssize_t n;
	int r, err;

	if (!c->ssl) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return -1;
		snprintf(io_why, sizeof(io_why), "%s", strerror(errno));
		return -2;
	}
	/*
	 * The queue only grows or shrinks by what was written, so a retry after
	 * WANT_* always passes at least the bytes of the failed call; the buffer
	 * may have moved, which SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows.
	 */
	ERR_clear_error();
	c->wr_wants_read = false;
	r = SSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	err = SSL_get_error(c->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_WRITE:
		return -1;
	case SSL_ERROR_WANT_READ:
		c->wr_wants_read = true;
		return -1;
	default:
		tls_reason(c, err);
		return -2;
	}
}

/* Returns 1 once the handshake is done, 0 while it is in progress, -1 if it failed. */
static int client_handshake(struct client *c)
{
	const char *sni;
	int r, err;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->hs_done = true;
		c->hs_wants_write = false;
		sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
		logmsg("client %u (%s) TLS %s %s sni=%s", c->conn_id, c->peer,
		       SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl), sni ? sni : "-");
		return 1;
	}
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->hs_wants_write = err == SSL_ERROR_WANT_WRITE;
		return 0;
	}
	tls_reason(c, err);
	client_close(c, io_why);
	return -1;
}

static void client_flush(struct client *c)
{
	size_t off = 0;

	/* Nothing is queued before the first request, which needs the handshake. */
	if (c->ssl && !c->hs_done)
		return;
	while (off < c->out_len) {
		ssize_t n = client_send_raw(c, c->out + off, c->out_len - off);

		if (n == -1)
			break;
		if (n < 0) {
			client_close(c, io_why);
			return;
		}
		off += n;
	}
	memmove(c->out, c->out + off, c->out_len - off);
	c->out_len -= off;
}

/* Socket events a client is waiting for. */
static short client_events(const struct client *c)
{
	bool out = (c->out_len && !c->wr_wants_read) || c->rd_wants_write || c->hs_wants_write;

	return POLLIN | (out ? POLLOUT : 0);
}

/* Data already decrypted by OpenSSL does not make the socket readable. */
static bool client_pending(const struct client *c)
{
	return c->ssl && c->hs_done && SSL_has_pending(c->ssl);
}

static struct json_object *id_copy(struct json_object *id)
{
	/* A missing id is answered as null, which is what pools do. */
	return id ? json_object_get(id) : NULL;
}

static int reply_result(struct client *c, struct json_object *id, struct json_object *result)
{
	struct json_object *msg = json_object_new_object();

	json_object_object_add(msg, "id", id_copy(id));
	if (c->proto == PROTO_XMRIG) {
		json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
		json_object_object_add(msg, "error", NULL);
		json_object_object_add(msg, "result", result);
	} else {
		json_object_object_add(msg, "result", result);
		json_object_object_add(msg, "error", NULL);
	}
	return client_send(c, msg);
}

/* Each dialect has its own error shape; miners parse the one they expect. */
static int reply_error(struct client *c, struct json_object *id, int code, const char *text)
{
	struct json_object *msg = json_object_new_object();
	struct json_object *err;

	json_object_object_add(msg, "id", id_copy(id));
	switch (c->proto) {
	case PROTO_STRATUM:
		err = json_object_new_array();
		json_object_array_add(err, json_object_new_int(code));
		json_object_array_add(err, json_object_new_string(text));
		json_object_array_add(err, NULL);
		json_object_object_add(msg, "result", NULL);
		json_object_object_add(msg, "error", err);
		break;
	case PROTO_XMRIG:
	default:
		err = json_object_new_object();
		json_object_object_add(err, "code", json_object_new_int(code));
		json_object_object_add(err, "message", json_object_new_string(text));
		json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
		json_object_object_add(msg, "error", err);
		break;
	}
	return client_send(c, msg);
}

/* ---- Stratum v1 -------------------------------------------------------- */

static int stratum_push_difficulty(struct client *c)
{
	struct json_object *msg = json_object_new_object();
	struct json_object *params = json_object_new_array();

	json_object_array_add(params, json_object_new_int(16384));
	json_object_object_add(msg, "id", NULL);
	json_object_object_add(msg, "method", json_object_new_string("mining.set_difficulty"));
	json_object_object_add(msg, "params", params);
	return client_send(c, msg);
}

static int stratum_push_notify(struct client *c)
{
	struct json_object *msg = json_object_new_object();
	struct json_object *params = json_object_new_array();
	struct json_object *branch = json_object_new_array();
	int i;

	for (i = 0; i < 3; i++)
		json_object_array_add(branch, json_object_new_string(job.merkle[i]));
	json_object_array_add(params, json_object_new_string(job.id));
	json_object_array_add(params, json_object_new_string(job.prevhash));
	json_object_array_add(params, json_object_new_string(job.coinb1));
	json_object_array_add(params, json_object_new_string(job.coinb2));
	json_object_array_add(params, branch);
	json_object_array_add(params, json_object_new_string("20000000"));
	json_object_array_add(params, json_object_new_string("17034219"));
	json_object_array_add(params, json_object_new_string(job.ntime));
	json_object_array_add(params, json_object_new_boolean(job.clean));
	json_object_object_add(msg, "id", NULL);
	json_object_object_add(msg, "method", json_object_new_string("mining.notify"));
	json_object_object_add(msg, "params", params);
	return client_send(c, msg);
}

static int stratum_subscribe(struct client *c, struct json_object *id)
{
	struct json_object *res = json_object_new_array();
	struct json_object *subs = json_object_new_array();
	struct json_object *s1 = json_object_new_array();
	struct json_object *s2 = json_object_new_array();
	char subid[17];

	rand_hex(subid, 16);
	json_object_array_add(s1, json_object_new_string("mining.set_difficulty"));
	json_object_array_add(s1, json_object_new_string(subid));
	json_object_array_add(s2, json_object_new_string("mining.notify"));
	json_object_array_add(s2, json_object_new_string(subid));
	json_object_array_add(subs, s1);
	json_object_array_add(subs, s2);
	json_object_array_add(res, subs);
	json_object_array_add(res, json_object_new_string(c->extranonce1));
	json_object_array_add(res, json_object_new_int(4));
	return reply_result(c, id, res);
}

static const char *first_string_param(struct json_object *params)
{
	struct json_object *p;

	if (!json_object_is_type(params, json_type_array) ||
	    json_object_array_length(params) < 1)
		return NULL;
	p = json_object_array_get_idx(params, 0);
	return json_object_is_type(p, json_type_string) ? json_object_get_string(p) : NULL;
}

static int stratum_handle(struct client *c, const char *method, struct json_object *id,
			  struct json_object *params)
{
	if (!strcmp(method, "mining.subscribe"))
		return stratum_subscribe(c, id);

	if (!strcmp(method, "mining.authorize")) {
		const char *user = first_string_param(params);
		bool first = !c->authorized;

		c->authorized = true;
		if (first)
			logmsg("client %u (%s) stratum authorize user=%.64s", c->conn_id,
			       c->peer, user ? user : "?");
		if (reply_result(c, id, json_object_new_boolean(true)) < 0)
			return -1;
		if (stratum_push_difficulty(c) < 0)
			return -1;
		return stratum_push_notify(c);
	}

	if (!strcmp(method, "mining.submit")) {
		c->accepted++;
		total_accepted++;
		return reply_result(c, id, json_object_new_boolean(true));
	}

	if (!strcmp(method, "mining.configure"))
		return reply_result(c, id, json_object_new_object());

	if (!strcmp(method, "mining.extranonce.subscribe") ||
	    !strcmp(method, "mining.suggest_difficulty"))
		return reply_result(c, id, json_object_new_boolean(true));

	return reply_error(c, id, 20, "Unsupported method");
}

/* ---- XMRig / CryptoNote ------------------------------------------------ */

static struct json_object *xmr_job_object(void)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "blob", json_object_new_string(job.blob));
	json_object_object_add(j, "job_id", json_object_new_string(job.id));
	json_object_object_add(j, "target", json_object_new_string(XMR_TARGET));
	json_object_object_add(j, "algo", json_object_new_string(XMR_ALGO));
	json_object_object_add(j, "height", json_object_new_int64(job.height));
	json_object_object_add(j, "seed_hash", json_object_new_string(seed_hash));
	return j;
}

static int xmr_push_job(struct client *c)
{
	struct json_object *msg = json_object_new_object();

	json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(msg, "method", json_object_new_string("job"));
	json_object_object_add(msg, "params", xmr_job_object());
	return client_send(c, msg);
}

static struct json_object *status(const char *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(s));
	return o;
}

static int xmr_login(struct client *c, struct json_object *id, struct json_object *params)
{
	struct json_object *res = json_object_new_object();
	struct json_object *ext = json_object_new_array();
	struct json_object *login = NULL;
	struct json_object *agent = NULL;

	if (json_object_is_type(params, json_type_object)) {
		json_object_object_get_ex(params, "login", &login);
		json_object_object_get_ex(params, "agent", &agent);
	}
	if (!c->authorized)
		logmsg("client %u (%s) xmrig login user=%.64s agent=%.80s", c->conn_id, c->peer,
		       login ? json_object_get_string(login) : "?",
		       agent ? json_object_get_string(agent) : "?");
	c->authorized = true;
	rand_hex(c->session, 32);

	json_object_array_add(ext, json_object_new_string("algo"));
	json_object_array_add(ext, json_object_new_string("keepalive"));
	json_object_object_add(res, "id", json_object_new_string(c->session));
	json_object_object_add(res, "job", xmr_job_object());
	json_object_object_add(res, "extensions", ext);
	json_object_object_add(res, "status", json_object_new_string("OK"));
	return reply_result(c, id, res);
}

static int xmr_handle(struct client *c, const char *method, struct json_object *id,
		      struct json_object *params)
{
	if (!strcmp(method, "login"))
		return xmr_login(c, id, params);

	if (!strcmp(method, "submit")) {
		c->accepted++;
		total_accepted++;
		return reply_result(c, id, status("OK"));
	}

	if (!strcmp(method, "keepalived"))
		return reply_result(c, id, status("KEEPALIVED"));

	if (!strcmp(method, "getjob"))
		return reply_result(c, id, xmr_job_object());

	return reply_error(c, id, -1, "Unsupported method");
}

/* ---- dispatch ---------------------------------------------------------- */

static bool is_stratum_method(const char *m)
{
	return !strncmp(m, "mining.", 7);
}

static bool is_xmrig_method(const char *m)
{
	return !strcmp(m, "login") || !strcmp(m, "submit") || !strcmp(m, "keepalived") ||
	       !strcmp(m, "getjob");
}

static int handle_message(struct client *c, struct json_object *req)
{
	struct json_object *id = NULL, *jm = NULL, *params = NULL;
	const char *method;

	if (!json_object_is_type(req, json_type_object))
		return reply_error(c, NULL, -32600, "Invalid Request");
	json_object_object_get_ex(req, "id", &id);
	json_object_object_get_ex(req, "params", &params);
	if (!json_object_object_get_ex(req, "method", &jm) ||
	    !json_object_is_type(jm, json_type_string))
		return reply_error(c, id, -32600, "Invalid Request");
	method = json_object_get_string(jm);

	/* The dialect is fixed by the first method we recognise. */
	if (c->proto == PROTO_UNKNOWN) {
		if (is_stratum_method(method)) {
			c->proto = PROTO_STRATUM;
			n_stratum++;
		} else if (is_xmrig_method(method)) {
			c->proto = PROTO_XMRIG;
			n_xmrig++;
		} else {
			return reply_error(c, id, -32601, "Method not found");
		}
		logmsg("client %u (%s) speaks %s", c->conn_id, c->peer, proto_name(c->proto));
	}

	if (c->proto == PROTO_STRATUM)
		return stratum_handle(c, method, id, params);
	return xmr_handle(c, method, id, params);
}

static int handle_line(struct client *c, char *line, size_t len)
{
	struct json_tokener *tok;
	struct json_object *req;
	enum json_tokener_error jerr;
	size_t end;
	int ret;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (!len)
		return 0;

	tok = json_tokener_new();
	if (!tok)
		return reply_error(c, NULL, -32603, "Internal error");
	req = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!req || jerr != json_tokener_success) {
		json_object_put(req);
		return reply_error(c, NULL, -32700, "Parse error");
	}
	while (end < len && (line[end] == ' ' || line[end] == '\t'))
		end++;
	if (end != len) {
		json_object_put(req);
		return reply_error(c, NULL, -32700, "Parse error");
	}
	ret = handle_message(c, req);
	json_object_put(req);
	return ret;
}

/* ---- connection management -------------------------------------------- */

static void record_history(const struct client *c)
{
	if (hist_len >= MAX_HISTORY)
		return;
	hist[hist_len].conn_id = c->conn_id;
	hist[hist_len].proto = c->proto;
	hist[hist_len].accepted = c->accepted;
	hist_len++;
}

static void client_close(struct client *c, const char *why)
{
	if (c->fd < 0)
		return;
	logmsg("client %u (%s) closed: %s; proto=%s accepted=%lu", c->conn_id, c->peer, why,
	       proto_name(c->proto), c->accepted);
	record_history(c);
	if (c->ssl) {
		/* One non-blocking attempt at close_notify; the socket goes anyway. */
		if (c->hs_done && !c->tls_failed) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	free(c->in);
	free(c->out);
	c->in = NULL;
	c->out = NULL;
	c->in_len = c->out_len = c->out_cap = 0;
}

static void accept_clients(int lfd)
{
	int n;

	/* Bounded so a connect flood cannot starve the existing clients. */
	for (n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct client *c = NULL;
		int fd, i;

		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				logmsg("accept: %s", strerror(errno));
			return;
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0) {
				c = &clients[i];
				break;
			}
		}
		if (!c) {
			n_refused++;
			logmsg("client limit (%d) reached, refusing connection", MAX_CLIENTS);
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->in = malloc(MAX_LINE + 1);
		if (!c->in) {
			close(fd);
			c->fd = -1;
			continue;
		}
		if (tls_ctx) {
			c->ssl = SSL_new(tls_ctx);
			if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
				logmsg("SSL_new failed, refusing connection");
				SSL_free(c->ssl);
				c->ssl = NULL;
				free(c->in);
				c->in = NULL;
				close(fd);
				c->fd = -1;
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
		c->fd = fd;
		c->conn_id = next_conn_id++;
		c->proto = PROTO_UNKNOWN;
		format_addr(&ss, c->peer, sizeof(c->peer));
		/* Distinct per connection, like a pool's extranonce1 allocator. */
		snprintf(c->extranonce1, sizeof(c->extranonce1), "%08x",
			 (unsigned int)(c->conn_id * 0x9e3779b1u));
		n_conns++;
		logmsg("client %u (%s) connected", c->conn_id, c->peer);
	}
}

static void client_read(struct client *c)
{
	int round;

	if (c->ssl && !c->hs_done && client_handshake(c) <= 0)
		return;

	/* Until the socket is drained: TLS may hand out one record per call. */
	for (round = 0; round < READ_ROUNDS && c->fd >= 0; round++) {
		size_t start = 0, i, scan;
		ssize_t n;

		n = client_recv(c, c->in + c->in_len, MAX_LINE + 1 - c->in_len);
		if (n == 0) {
			/* A half-closed client still gets the replies to what it sent. */
			client_flush(c);
			client_close(c, "peer closed");
			return;
		}
		if (n == -1)
			return;
		if (n < 0) {
			client_close(c, io_why);
			return;
		}
		scan = c->in_len;
		c->in_len += n;

		for (i = scan; i < c->in_len; i++) {
			if (c->in[i] != '\n')
				continue;
			c->in[i] = '\0';
			if (handle_line(c, c->in + start, i - start) < 0 || c->fd < 0)
				return;
			start = i + 1;
		}
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		if (c->in_len > MAX_LINE) {
			client_close(c, "line longer than 64 KiB");
			return;
		}
	}
}

static void push_jobs(void)
{
	unsigned int pushed = 0;
	int i;

	new_job();
	for (i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0 || !c->authorized)
			continue;
		if (c->proto == PROTO_STRATUM) {
			if (stratum_push_notify(c) < 0)
				continue;
		} else if (c->proto == PROTO_XMRIG) {
			if (xmr_push_job(c) < 0)
				continue;
		}
		pushed++;
	}
	logmsg("job %s pushed to %u client(s)", job.id, pushed);
}

/* ---- TLS setup --------------------------------------------------------- */

static void die_tls(const char *what) __attribute__((noreturn));
static void die_tls(const char *what)
{
	char buf[160];

	ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
	die("%s: %s", what, buf);
}

/* A one-week self-signed EC P-256 certificate for TLS_CN, never written to disk. */
static X509 *make_cert(EVP_PKEY *key)
{
	X509V3_CTX v3;
	X509_EXTENSION *san;
	X509_NAME *name;
	X509 *x;

	x = X509_new();
	if (!x)
		return NULL;
	if (!X509_set_version(x, 2) ||
	    !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), rng_next() >> 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400L) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)TLS_CN, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:" TLS_CN);
	if (!san)
		goto fail;
	if (!X509_add_ext(x, san, -1)) {
		X509_EXTENSION_free(san);
		goto fail;
	}
	X509_EXTENSION_free(san);
	if (!X509_sign(x, key, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static void tls_setup(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char fp[EVP_MAX_MD_SIZE * 3 + 1] = "";
	unsigned int md_len = 0, i;
	EVP_PKEY *key;
	X509 *cert;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!key)
		die_tls("EC key generation");
	cert = make_cert(key);
	if (!cert)
		die_tls("certificate generation");

	tls_ctx = SSL_CTX_new(TLS_server_method());
	if (!tls_ctx)
		die_tls("SSL_CTX_new");
	if (!SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(tls_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(tls_ctx, key) != 1 ||
	    SSL_CTX_check_private_key(tls_ctx) != 1)
		die_tls("TLS context setup");
	SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A miner that just drops the TCP connection is a normal close, not an error. */
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

	if (X509_digest(cert, EVP_sha256(), md, &md_len))
		for (i = 0; i < md_len; i++)
			sprintf(fp + i * 3, "%02X%s", md[i], i + 1 < md_len ? ":" : "");
	logmsg("TLS on: self-signed EC P-256 certificate CN=%s sha256=%s", TLS_CN, fp);
	/* The context holds its own references. */
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: poolsim [--bind ADDR] [--port P] [--port-file FILE]\n"
		"               [--job-interval SECONDS] [--duration SECONDS] [--quiet] [--tls]\n"
		"  --bind ADDR          loopback address to listen on (default 127.0.0.1;\n"
		"                       only 127.0.0.0/8, ::1 and localhost are accepted)\n"
		"  --port P             TCP port, 0 = ephemeral (default 0)\n"
		"  --port-file FILE     write the bound port to FILE (atomically)\n"
		"  --job-interval SEC   push a new job every SEC seconds (default 30)\n"
		"  --duration SEC       exit after SEC seconds (default 600)\n"
		"  --quiet              no log or summary on stderr\n"
		"  --tls                speak TLS (throwaway self-signed cert, CN pool.test)\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "job-interval", required_argument, NULL, 'j' },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "tls", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "b:p:f:j:d:qTh", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opt.bind_addr = optarg;
			break;
		case 'p':
			opt.port = parse_port("--port", optarg);
			break;
		case 'f':
			opt.port_file = optarg;
			break;
		case 'j':
			opt.job_interval = parse_seconds("--job-interval", optarg, 0.01, 86400);
			break;
		case 'd':
			opt.duration = parse_seconds("--duration", optarg, 0.001, 7 * 86400);
			break;
		case 'q':
			tool_quiet = true;
			break;
		case 'T':
			opt.tls = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	no_extra_args(argc, argv, usage);
}

static void print_summary(double elapsed)
{
	unsigned int i;
	int j;

	if (tool_quiet)
		return;
	/* Clients still connected at exit are recorded like closed ones. */
	for (j = 0; j < MAX_CLIENTS; j++)
		if (clients[j].fd >= 0)
			record_history(&clients[j]);

	fprintf(stderr,
		"poolsim: summary elapsed=%.1fs connections=%u refused=%u stratum=%u xmrig=%u "
		"jobs=%u accepted=%lu per_client=",
		elapsed, n_conns, n_refused, n_stratum, n_xmrig, job.seq, total_accepted);
	for (i = 0; i < hist_len; i++)
		fprintf(stderr, "%s%u:%s:%lu", i ? "," : "", hist[i].conn_id,
			proto_name(hist[i].proto), hist[i].accepted);
	if (!hist_len)
		fputs("-", stderr);
	if (n_conns > hist_len)
		fputs(",...", stderr);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	char addr[ADDR_STRLEN];
	double start, deadline, next_push;
	unsigned int port;
	int lfd, i;

	parse_args(argc, argv);
	rng_seed();
	rand_hex(seed_hash, 64);
	new_job();

	/*
	 * Signals stay blocked except inside ppoll(), so a SIGTERM can never
	 * slip in between the stop check and the wait.
	 */
	stop_signals_init(true);

	lfd = open_listener(opt.bind_addr, opt.port, SOCK_STREAM, addr, sizeof(addr), &port);
	/* Before "listening" is printed, so no client can race the certificate. */
	if (opt.tls)
		tls_setup();
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;

	announce_listener(addr, port, opt.port_file);

	start = now_mono();
	deadline = start + opt.duration;
	next_push = start + opt.job_interval;

	while (!stop_signal) {
		int map[MAX_CLIENTS + 1];
		double now, wait;
		bool pending = false;
		int nfds = 0, n;

		now = now_mono();
		if (now >= deadline)
			break;
		if (now >= next_push) {
			push_jobs();
			/* Skip missed ticks instead of bursting to catch up. */
			while (next_push <= now)
				next_push += opt.job_interval;
		}

		pfds[nfds].fd = lfd;
		pfds[nfds].events = POLLIN;
		map[nfds++] = -1;
		for (i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0)
				continue;
			pfds[nfds].fd = clients[i].fd;
			pfds[nfds].events = client_events(&clients[i]);
			map[nfds++] = i;
			pending |= client_pending(&clients[i]);
		}

		wait = (next_push < deadline ? next_push : deadline) - now;
		if (wait < 0 || pending)
			wait = 0;
		n = poll_wait(pfds, nfds, wait);
		if (n < 0)
			continue;

		for (i = 1; i < nfds; i++) {
			struct client *c = &clients[map[i]];
			short re = pfds[i].revents;
			bool rd;

			if (c->fd != pfds[i].fd)
				continue;
			rd = re & (POLLIN | POLLHUP | POLLERR) || client_pending(c) ||
			     (re & POLLOUT && (c->rd_wants_write || c->hs_wants_write));
			if (rd)
				client_read(c);
			if (c->fd >= 0 && re & POLLNVAL)
				client_close(c, "invalid fd");
		}
		if (pfds[0].revents & POLLIN)
			accept_clients(lfd);

		/* Flushing last sends replies and pushes produced above in one go. */
		for (i = 0; i < MAX_CLIENTS; i++)
			if (clients[i].fd >= 0 && clients[i].out_len)
				client_flush(&clients[i]);
	}

	log_stop_signal();
	print_summary(now_mono() - start);
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd >= 0) {
			SSL_free(clients[i].ssl);
			close(clients[i].fd);
			free(clients[i].in);
			free(clients[i].out);
		}
	}
	SSL_CTX_free(tls_ctx);
	close(lfd);
	return 0;
}
