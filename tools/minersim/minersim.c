// SPDX-License-Identifier: GPL-2.0
/*
 * minersim - a loopback-only cryptominer imitation for minerwatch tests.
 *
 * One process, several threads: workers that really burn CPU (optionally at
 * a duty cycle) and a network thread that really speaks Stratum v1 or the
 * XMRig login protocol to a pool on 127.0.0.1/::1. It behaves like a miner
 * from the kernel's point of view - thread names, CPU profile, connection
 * pattern and payloads - without mining anything.
 *
 * Disguises seen in the wild are available too: TLS to the pool (--tls, with
 * SNI), a renamed comm (--comm), a fake argv[0] via re-exec (--argv0), wiped
 * arguments (--args-disguise) and a DNS lookup before connecting (--resolve).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "toolnet.h"
#include "toolutil.h"

/* Duty cycle period, and the longest a thread may go without checking for stop. */
#define PERIOD_NS	(100 * NSEC_PER_MSEC)
#define SLICE_MS	100
#define MAX_THREADS	1024
#define MAX_LINE	(64 * 1024)
#define CONNECT_TIMEOUT_MS	3000
#define SEND_TIMEOUT_MS		3000
#define KEEPALIVE_SEC	60.0
#define BACKOFF_MIN	0.5
#define BACKOFF_MAX	5.0
#define SCRATCH_WORDS	512
#define DNS_TIMEOUT_MS	1000
#define DEFAULT_SNI	"pool.test"
/* Set to "<pid>:<original comm>" across the --argv0 re-exec. */
#define REEXEC_ENV	"MINERSIM_REEXEC"

/* Monero-shaped (prefix 4, base58, 95 chars) but not a real address. */
#define DEFAULT_WALLET \
	"4AurNHtAQnqxQN2FmkLzf8x4TPpLkf6C82DM1GLLuTSEuWgko" \
	"jQTvGwn4pdHQJRFvEbAUk4uxjwR2NumaSQ7jTnVNsy48df"
#define XMRIG_AGENT	"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0"
#define STRATUM_AGENT	"cpuminer/2.5.1"

enum proto {
	PROTO_STRATUM,
	PROTO_XMRIG,
};

static struct {
	bool have_pool;
	struct sockaddr_storage pool;
	socklen_t pool_len;
	enum proto proto;
	unsigned int threads;
	unsigned int duty;
	double duration;
	double submit_interval;
	char comm[16];
	bool no_network;
	double connect_delay;
	const char *user;
	bool tls;
	const char *sni;
	const char *argv0;
	bool args_disguise;
	const char *resolve;
	struct sockaddr_storage dns;
	socklen_t dns_len;
} opt = {
	.proto = PROTO_STRATUM,
	.threads = 2,
	.duty = 100,
	.duration = 120.0,
	.submit_interval = 10.0,
	.user = DEFAULT_WALLET,
};

/* Cache-line aligned so workers never share a line and slow each other down. */
struct worker {
	pthread_t tid;
	unsigned int idx;
	uint64_t s[4];
	uint64_t rounds;	/* read by other threads, atomic */
	uint64_t digest;	/* read by other threads, atomic */
	uint64_t scratch[SCRATCH_WORDS];
} __attribute__((aligned(64)));

struct net_stats {
	unsigned long connections;
	unsigned long logins;
	unsigned long jobs;
	unsigned long submitted;
	unsigned long accepted;
	unsigned long rejected;
};

static struct worker *workers;
/* Common origin of the workers' duty-cycle periods. */
static int64_t duty_epoch;
static struct net_stats nstats;
static SSL_CTX *tls_ctx;

const char tool_name[] = "minersim";

static void sleep_until_ns(int64_t when)
{
	struct timespec ts = {
		.tv_sec = when / NSEC_PER_SEC,
		.tv_nsec = when % NSEC_PER_SEC,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Sleeps in slices so a stop request is honoured within SLICE_MS. */
static void sleep_interruptible(double seconds)
{
	int64_t end = mono_ns() + (int64_t)(seconds * NSEC_PER_SEC);

	while (!stopping()) {
		int64_t now = mono_ns(), next;

		if (now >= end)
			break;
		next = now + SLICE_MS * NSEC_PER_MSEC;
		sleep_until_ns(next < end ? next : end);
	}
}

static void name_thread(void)
{
	if (!opt.comm[0])
		return;
	/*
	 * Both end up in the same comm field; real miners use either, so doing
	 * both keeps the imitation independent of which one a sensor hooks.
	 */
	prctl(PR_SET_NAME, opt.comm, 0, 0, 0);
	pthread_setname_np(pthread_self(), opt.comm);
}

/* ---- compute ----------------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * Data-dependent reads and writes over a small scratchpad, in the spirit of
 * CryptoNight/RandomX: the loop cannot be vectorised away or hoisted, and
 * its result feeds the submitted "hashes", so the compiler must keep it.
 */
static void mix_chunk(struct worker *w)
{
	uint64_t a = w->s[0], b = w->s[1], c = w->s[2], d = w->s[3];
	int i;

	for (i = 0; i < 4096; i++) {
		unsigned int j = (unsigned int)(a >> 7) % SCRATCH_WORDS;
		uint64_t v = w->scratch[j];

		a += v ^ d;
		b = rotl64(b ^ a, 29) * 0x9e3779b97f4a7c15ULL;
		c += (b >> 17) | 1;
		d ^= rotl64(c + a, 41);
		w->scratch[j] = v + (a ^ c);
	}
	w->s[0] = a;
	w->s[1] = b;
	w->s[2] = c;
	w->s[3] = d;
	__atomic_store_n(&w->digest, a ^ b ^ c ^ d, __ATOMIC_RELAXED);
	__atomic_store_n(&w->rounds, w->rounds + 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t busy = (int64_t)opt.duty * PERIOD_NS / 100;
	/*
	 * Workers sharing one phase would all want a CPU in the same slice of
	 * the period, and with more threads than cores each would get less than
	 * its duty. Phases are spread evenly inside the process and shifted by
	 * a pid hash so that concurrent instances do not line up either.
	 */
	int64_t phase = ((int64_t)((uint32_t)getpid() * 2654435761u % 100) * NSEC_PER_MSEC +
			 (int64_t)w->idx * PERIOD_NS / opt.threads) % PERIOD_NS;
	int64_t period_start = duty_epoch - phase;

	name_thread();
	while (!stopping()) {
		int64_t now;

		do {
			mix_chunk(w);
			now = mono_ns();
		} while (now - period_start < busy && !stopping());

		if (opt.duty < 100 && !stopping())
			sleep_until_ns(period_start + PERIOD_NS);
		period_start += PERIOD_NS;
		/* After a long preemption, skip the lost periods rather than run hot. */
		now = mono_ns();
		if (now - period_start >= PERIOD_NS)
			period_start += (now - period_start) / PERIOD_NS * PERIOD_NS;
	}
	return NULL;
}

/* A 256-bit "hash" derived from the workers' live state. */
static void share_result(uint32_t nonce, char out[65])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ nonce;
	unsigned int i;

	for (i = 0; i < opt.threads; i++)
		h = rotl64(h ^ __atomic_load_n(&workers[i].digest, __ATOMIC_RELAXED), 23) *
		    0x100000001b3ULL;
	for (i = 0; i < 4; i++) {
		h ^= h >> 31;
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
		snprintf(out + i * 16, 17, "%016" PRIx64, h);
	}
	/* Shares must look like they beat the target, i.e. end in zero bytes. */
	memcpy(out + 56, "00000000", 8);
}

/* ---- network ----------------------------------------------------------- */

struct session {
	int fd;
	SSL *ssl;		/* NULL without --tls */
	bool rd_wants_write;	/* SSL_read needs the socket writable */
	bool tls_failed;	/* fatal TLS error: no close_notify */
	char *in;
	size_t in_len;
	unsigned int next_id;
	bool authorized;
	bool have_job;
	char job_id[128];
	char ntime[16];
	char extranonce1[64];
	int en2_size;
	char session_id[128];
	uint32_t nonce;
	double next_submit;
	double next_keepalive;
};

static void log_tls_error(const char *what, int err)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	if (err == SSL_ERROR_SYSCALL && !e) {
		logmsg("%s: %s", what, errno ? strerror(errno) : "unexpected EOF");
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	logmsg("%s: %s", what, buf);
}

/* Over TLS each call becomes one record, so messages still go out one per segment. */
static int send_all(struct session *s, const char *buf, size_t len)
{
	int64_t deadline = mono_ns() + SEND_TIMEOUT_MS * NSEC_PER_MSEC;
	size_t off = 0;

	while (off < len) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };
		ssize_t n;

		if (s->ssl) {
			int r, err;

			/* No partial writes: a retry repeats the same arguments, as required. */
			ERR_clear_error();
			r = SSL_write(s->ssl, buf + off, len - off > INT_MAX ? INT_MAX :
				      (int)(len - off));
			if (r > 0) {
				off += r;
				continue;
			}
			err = SSL_get_error(s->ssl, r);
			if (err == SSL_ERROR_WANT_READ) {
				p.events = POLLIN;
			} else if (err != SSL_ERROR_WANT_WRITE) {
				s->tls_failed = true;
				log_tls_error("SSL_write", err);
				return -1;
			}
		} else {
			n = send(s->fd, buf + off, len - off, MSG_NOSIGNAL);
			if (n > 0) {
				off += n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
		}
		if (stopping() || mono_ns() > deadline)
			return -1;
		poll(&p, 1, SLICE_MS);
	}
	return 0;
}

/* Takes ownership of @msg. */
static int send_json(struct session *s, struct json_object *msg)
{
	const char *str;
	char *line;
	size_t len;
	int ret;

	/* XMRig never escapes '/', and the agent string contains several. */
	str = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	/* One send per message, so each lands in its own segment as with real miners. */
	line = malloc(len + 1);
	if (!line) {
		json_object_put(msg);
		return -1;
	}
	memcpy(line, str, len);
	line[len] = '\n';
	ret = send_all(s, line, len + 1);
	free(line);
	json_object_put(msg);
	return ret;
}

static struct json_object *new_request(struct session *s, const char *method, bool jsonrpc)
{
	struct json_object *msg = json_object_new_object();

	json_object_object_add(msg, "id", json_object_new_int(s->next_id++));
	if (jsonrpc)
		json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(msg, "method", json_object_new_string(method));
	return msg;
}

static void print_login_sent(void)
{
	printf("login_sent_ns=%lld\n", (long long)realtime_ns());
	fflush(stdout);
	nstats.logins++;
}

static int stratum_login(struct session *s)
{
	struct json_object *msg, *params;

	msg = new_request(s, "mining.subscribe", false);
	params = json_object_new_array();
	json_object_array_add(params, json_object_new_string(STRATUM_AGENT));
	json_object_object_add(msg, "params", params);
	if (send_json(s, msg) < 0)
		return -1;

	/*
	 * Authorize is pipelined behind subscribe rather than waiting for its
	 * reply, so the whole login is on the wire before the timestamp.
	 */
	msg = new_request(s, "mining.authorize", false);
	params = json_object_new_array();
	json_object_array_add(params, json_object_new_string(opt.user));
	json_object_array_add(params, json_object_new_string("x"));
	json_object_object_add(msg, "params", params);
	if (send_json(s, msg) < 0)
		return -1;
	print_login_sent();
	return 0;
}

static int xmrig_login(struct session *s)
{
	struct json_object *msg, *params, *algo;

	msg = new_request(s, "login", true);
	params = json_object_new_object();
	algo = json_object_new_array();
	json_object_array_add(algo, json_object_new_string("rx/0"));
	json_object_object_add(params, "login", json_object_new_string(opt.user));
	json_object_object_add(params, "pass", json_object_new_string("x"));
	json_object_object_add(params, "agent", json_object_new_string(XMRIG_AGENT));
	json_object_object_add(params, "algo", algo);
	json_object_object_add(msg, "params", params);
	if (send_json(s, msg) < 0)
		return -1;
	print_login_sent();
	return 0;
}

static int stratum_submit(struct session *s)
{
	struct json_object *msg = new_request(s, "mining.submit", false);
	struct json_object *params = json_object_new_array();
	char en2[33], nonce[9];
	int n = s->en2_size > 0 && s->en2_size <= 16 ? s->en2_size : 4;

	snprintf(en2, sizeof(en2), "%0*x", n * 2, (unsigned int)nstats.submitted);
	en2[n * 2] = '\0';
	snprintf(nonce, sizeof(nonce), "%08x", s->nonce);
	json_object_array_add(params, json_object_new_string(opt.user));
	json_object_array_add(params, json_object_new_string(s->job_id));
	json_object_array_add(params, json_object_new_string(en2));
	json_object_array_add(params, json_object_new_string(s->ntime[0] ? s->ntime : "00000000"));
	json_object_array_add(params, json_object_new_string(nonce));
	json_object_object_add(msg, "params", params);
	return send_json(s, msg);
}

static int xmrig_submit(struct session *s)
{
	struct json_object *msg = new_request(s, "submit", true);
	struct json_object *params = json_object_new_object();
	char nonce[9], result[65];

	snprintf(nonce, sizeof(nonce), "%08x", s->nonce);
	share_result(s->nonce, result);
	json_object_object_add(params, "id", json_object_new_string(s->session_id));
	json_object_object_add(params, "job_id", json_object_new_string(s->job_id));
	json_object_object_add(params, "nonce", json_object_new_string(nonce));
	json_object_object_add(params, "result", json_object_new_string(result));
	json_object_object_add(msg, "params", params);
	return send_json(s, msg);
}

static int xmrig_keepalive(struct session *s)
{
	struct json_object *msg = new_request(s, "keepalived", true);
	struct json_object *params = json_object_new_object();

	json_object_object_add(params, "id", json_object_new_string(s->session_id));
	json_object_object_add(msg, "params", params);
	return send_json(s, msg);
}

static void copy_str(char *dst, size_t size, struct json_object *o)
{
	snprintf(dst, size, "%s", json_object_is_type(o, json_type_string) ?
		 json_object_get_string(o) : "");
}

static void take_xmrig_job(struct session *s, struct json_object *job)
{
	struct json_object *jid;

	if (!json_object_is_type(job, json_type_object) ||
	    !json_object_object_get_ex(job, "job_id", &jid))
		return;
	copy_str(s->job_id, sizeof(s->job_id), jid);
	s->have_job = s->job_id[0] != '\0';
	nstats.jobs++;
}

static void count_share_reply(struct json_object *result, struct json_object *error,
			      enum proto proto)
{
	bool ok;

	if (proto == PROTO_STRATUM) {
		ok = json_object_is_type(result, json_type_boolean) &&
		     json_object_get_boolean(result);
	} else {
		struct json_object *st = NULL;

		ok = json_object_is_type(result, json_type_object) &&
		     json_object_object_get_ex(result, "status", &st) &&
		     !strcmp(json_object_get_string(st), "OK");
	}
	if (ok) {
		nstats.accepted++;
	} else {
		nstats.rejected++;
		logmsg("share rejected: %s", error ? json_object_to_json_string(error) : "?");
	}
}

static void handle_stratum(struct session *s, struct json_object *msg)
{
	struct json_object *m, *id, *params, *result = NULL, *error = NULL;

	if (json_object_object_get_ex(msg, "method", &m) &&
	    json_object_is_type(m, json_type_string)) {
		json_object_object_get_ex(msg, "params", &params);
		if (!strcmp(json_object_get_string(m), "mining.notify") &&
		    json_object_is_type(params, json_type_array) &&
		    json_object_array_length(params) >= 9) {
			copy_str(s->job_id, sizeof(s->job_id),
				 json_object_array_get_idx(params, 0));
			copy_str(s->ntime, sizeof(s->ntime),
				 json_object_array_get_idx(params, 7));
			s->have_job = s->job_id[0] != '\0';
			nstats.jobs++;
		}
		return;
	}
	if (!json_object_object_get_ex(msg, "id", &id) || !json_object_is_type(id, json_type_int))
		return;
	json_object_object_get_ex(msg, "result", &result);
	json_object_object_get_ex(msg, "error", &error);

	switch (json_object_get_int(id)) {
	case 1:
		if (json_object_is_type(result, json_type_array) &&
		    json_object_array_length(result) >= 3) {
			copy_str(s->extranonce1, sizeof(s->extranonce1),
				 json_object_array_get_idx(result, 1));
			s->en2_size = json_object_get_int(json_object_array_get_idx(result, 2));
		}
		break;
	case 2:
		s->authorized = json_object_is_type(result, json_type_boolean) &&
				json_object_get_boolean(result);
		if (!s->authorized)
			logmsg("authorize refused: %s",
			       error ? json_object_to_json_string(error) : "?");
		break;
	default:
		count_share_reply(result, error, PROTO_STRATUM);
		break;
	}
}

static void handle_xmrig(struct session *s, struct json_object *msg)
{
	struct json_object *m, *id, *result = NULL, *error = NULL, *o;

	if (json_object_object_get_ex(msg, "method", &m) &&
	    json_object_is_type(m, json_type_string)) {
		if (!strcmp(json_object_get_string(m), "job") &&
		    json_object_object_get_ex(msg, "params", &o))
			take_xmrig_job(s, o);
		return;
	}
	if (!json_object_object_get_ex(msg, "id", &id) || !json_object_is_type(id, json_type_int))
		return;
	json_object_object_get_ex(msg, "result", &result);
	json_object_object_get_ex(msg, "error", &error);

	if (json_object_get_int(id) == 1) {
		if (!json_object_is_type(result, json_type_object)) {
			logmsg("login refused: %s",
			       error ? json_object_to_json_string(error) : "?");
			return;
		}
		if (json_object_object_get_ex(result, "id", &o))
			copy_str(s->session_id, sizeof(s->session_id), o);
		if (json_object_object_get_ex(result, "job", &o))
			take_xmrig_job(s, o);
		s->authorized = true;
		return;
	}
	/* Keepalive replies carry status KEEPALIVED; only submits are counted. */
	if (json_object_is_type(result, json_type_object) &&
	    json_object_object_get_ex(result, "status", &o) &&
	    !strcmp(json_object_get_string(o), "KEEPALIVED"))
		return;
	count_share_reply(result, error, PROTO_XMRIG);
}

static void handle_line(struct session *s, char *line, size_t len)
{
	struct json_tokener *tok;
	struct json_object *msg;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return;
	tok = json_tokener_new();
	if (!tok)
		return;
	msg = json_tokener_parse_ex(tok, line, (int)len);
	if (msg && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(msg, json_type_object)) {
		if (opt.proto == PROTO_STRATUM)
			handle_stratum(s, msg);
		else
			handle_xmrig(s, msg);
	}
	json_object_put(msg);
	json_tokener_free(tok);
}

/* Like recv(): bytes read, 0 on close, -1 with errno (EAGAIN: try later). */
static ssize_t session_recv(struct session *s, char *buf, size_t len)
{
	int r, err;

	if (!s->ssl)
		return recv(s->fd, buf, len, 0);
	ERR_clear_error();
	s->rd_wants_write = false;
	r = SSL_read(s->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (r > 0)
		return r;
	err = SSL_get_error(s->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_WRITE:
		s->rd_wants_write = true;
		/* fall through */
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		s->tls_failed = true;
		log_tls_error("SSL_read", err);
		errno = EPROTO;
		return -1;
	}
}

/* Returns -1 when the connection is gone or unusable. */
static int session_read(struct session *s)
{
	size_t start = 0, i, scan = s->in_len;
	ssize_t n;

	n = session_recv(s, s->in + s->in_len, MAX_LINE + 1 - s->in_len);
	if (n == 0) {
		logmsg("pool closed the connection");
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (!s->ssl)
			logmsg("recv: %s", strerror(errno));
		return -1;
	}
	s->in_len += n;
	for (i = scan; i < s->in_len; i++) {
		if (s->in[i] != '\n')
			continue;
		s->in[i] = '\0';
		handle_line(s, s->in + start, i - start);
		start = i + 1;
	}
	memmove(s->in, s->in + start, s->in_len - start);
	s->in_len -= start;
	if (s->in_len > MAX_LINE) {
		logmsg("pool sent a line longer than 64 KiB");
		return -1;
	}
	return 0;
}

static int session_tick(struct session *s)
{
	double now = now_mono();

	if (now >= s->next_submit) {
		s->next_submit += opt.submit_interval;
		if (s->next_submit <= now)
			s->next_submit = now + opt.submit_interval;
		if (s->authorized && s->have_job) {
			int ret;

			s->nonce += 0x1000 + (uint32_t)(mono_ns() & 0xfff);
			ret = opt.proto == PROTO_STRATUM ? stratum_submit(s) : xmrig_submit(s);
			if (ret < 0)
				return -1;
			nstats.submitted++;
		}
	}
	if (opt.proto == PROTO_XMRIG && now >= s->next_keepalive) {
		s->next_keepalive = now + KEEPALIVE_SEC;
		if (s->authorized && xmrig_keepalive(s) < 0)
			return -1;
	}
	return 0;
}

static void session_run(int fd, SSL *ssl)
{
	struct session s = { .fd = fd, .ssl = ssl, .next_id = 1 };
	double now = now_mono();

	s.in = malloc(MAX_LINE + 1);
	if (!s.in)
		goto out;
	s.nonce = (uint32_t)mono_ns();
	s.next_submit = now + opt.submit_interval;
	s.next_keepalive = now + KEEPALIVE_SEC;

	if ((opt.proto == PROTO_STRATUM ? stratum_login(&s) : xmrig_login(&s)) < 0) {
		logmsg("login send failed");
		goto out;
	}
	while (!stopping()) {
		struct pollfd p = { .fd = fd, .events = s.rd_wants_write ? POLLOUT : POLLIN };
		/* Records OpenSSL already decrypted do not make the socket readable. */
		bool pending = s.ssl && SSL_has_pending(s.ssl);
		int n = poll(&p, 1, pending ? 0 : SLICE_MS);

		if (n < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			break;
		}
		if ((pending || (n > 0 && p.revents & (POLLIN | POLLOUT | POLLHUP | POLLERR))) &&
		    session_read(&s) < 0)
			break;
		if (session_tick(&s) < 0) {
			logmsg("send to pool failed");
			break;
		}
	}
out:
	if (ssl) {
		/* One attempt at close_notify, as a miner closing cleanly would. */
		if (!s.tls_failed) {
			ERR_clear_error();
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
	}
	free(s.in);
}

/*
 * TLS client handshake on the connected non-blocking socket, bounded like the
 * TCP connect. The pool's certificate is NOT verified: this is a test tool
 * talking to poolsim's throwaway self-signed certificate on loopback.
 */
static SSL *tls_connect(int fd)
{
	int64_t deadline = mono_ns() + CONNECT_TIMEOUT_MS * NSEC_PER_MSEC;
	SSL *ssl;

	ssl = SSL_new(tls_ctx);
	if (!ssl) {
		log_tls_error("SSL_new", SSL_ERROR_SSL);
		return NULL;
	}
	if (!SSL_set_fd(ssl, fd) || !SSL_set_tlsext_host_name(ssl, opt.sni)) {
		log_tls_error("TLS setup", SSL_ERROR_SSL);
		goto fail;
	}
	SSL_set_connect_state(ssl);
	while (!stopping()) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r, err;

		ERR_clear_error();
		r = SSL_do_handshake(ssl);
		if (r == 1) {
			logmsg("TLS %s %s sni=%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl),
			       opt.sni);
			return ssl;
		}
		err = SSL_get_error(ssl, r);
		if (err == SSL_ERROR_WANT_WRITE) {
			p.events = POLLOUT;
		} else if (err != SSL_ERROR_WANT_READ) {
			log_tls_error("TLS handshake", err);
			goto fail;
		}
		if (mono_ns() > deadline) {
			logmsg("TLS handshake timed out");
			goto fail;
		}
		poll(&p, 1, SLICE_MS);
	}
fail:
	SSL_free(ssl);
	return NULL;
}

static void tls_setup(void)
{
	tls_ctx = SSL_CTX_new(TLS_client_method());
	if (!tls_ctx)
		die("SSL_CTX_new failed");
	/* No verification on purpose: see tls_connect(). */
	SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	if (!SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION))
		die("SSL_CTX_set_min_proto_version failed");
	SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

/* ---- DNS (--resolve) ---------------------------------------------------- */

/* First A record of a reply as text, or why there is none. */
static void dns_answer(const unsigned char *m, size_t len, uint16_t id, char *out, size_t cap)
{
	unsigned int an, i;
	size_t off;

	if (len < 12 || (m[0] << 8 | m[1]) != id || !(m[2] & 0x80)) {
		snprintf(out, cap, "malformed reply");
		return;
	}
	if (m[3] & 0xf) {
		snprintf(out, cap, "rcode %u", m[3] & 0xf);
		return;
	}
	an = m[6] << 8 | m[7];
	off = dns_skip_name(m, len, 12);
	if (!off || off + 4 > len) {
		snprintf(out, cap, "malformed reply");
		return;
	}
	off += 4;
	for (i = 0; i < an; i++) {
		unsigned int type, rdlen;

		off = dns_skip_name(m, len, off);
		if (!off || off + 10 > len)
			break;
		type = m[off] << 8 | m[off + 1];
		rdlen = m[off + 8] << 8 | m[off + 9];
		off += 10;
		if (off + rdlen > len)
			break;
		if (type == 1 && rdlen == 4) {
			inet_ntop(AF_INET, m + off, out, cap);
			return;
		}
		off += rdlen;
	}
	snprintf(out, cap, "no A record");
}

/*
 * One A query over a connected UDP socket, the way glibc's stub resolver
 * sends it. The answer is only logged: the pool address always comes from
 * --pool, so a reply can never send us off loopback.
 */
static void resolve_pool_name(void)
{
	unsigned char q[300], r[512];
	uint16_t id = (uint16_t)(mono_ns() ^ getpid());
	int64_t deadline;
	size_t qlen, nlen;
	char answer[64] = "no reply";
	int fd;

	memset(q, 0, 12);
	q[0] = id >> 8;
	q[1] = id & 0xff;
	q[2] = 0x01;		/* RD */
	q[5] = 1;		/* QDCOUNT */
	nlen = dns_encode_name(q + 12, sizeof(q) - 16, opt.resolve);
	qlen = 12 + nlen;
	q[qlen++] = 0;
	q[qlen++] = 1;		/* A */
	q[qlen++] = 0;
	q[qlen++] = 1;		/* IN */

	fd = socket(opt.dns.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		logmsg("resolve %s: socket: %s", opt.resolve, strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&opt.dns, opt.dns_len) < 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen) {
		logmsg("resolve %s: %s", opt.resolve, strerror(errno));
		close(fd);
		return;
	}
	deadline = mono_ns() + DNS_TIMEOUT_MS * NSEC_PER_MSEC;
	while (!stopping() && mono_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, SLICE_MS) <= 0)
			continue;
		n = recv(fd, r, sizeof(r), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(answer, sizeof(answer), "no reply (%s)", strerror(errno));
			break;
		}
		if (n >= 2 && (r[0] << 8 | r[1]) != id)
			continue;
		dns_answer(r, n, id, answer, sizeof(answer));
		break;
	}
	close(fd);
	logmsg("resolve %s: %s", opt.resolve, answer);
}

static void *net_main(void *arg)
{
	double backoff = BACKOFF_MIN;

	(void)arg;
	name_thread();
	sleep_interruptible(opt.connect_delay);

	while (!stopping()) {
		int fd;

		/* Like a real miner's getaddrinfo(), repeated before every attempt. */
		if (opt.resolve) {
			resolve_pool_name();
			if (stopping())
				break;
		}
		/* NODELAY keeps subscribe and authorize in separate segments, as written. */
		fd = tcp_connect(&opt.pool, opt.pool_len, CONNECT_TIMEOUT_MS / 1000.0, true);
		if (fd < 0) {
			if (stopping())
				break;
			logmsg("connect failed: %s; retrying in %.1fs", strerror(errno), backoff);
		} else {
			backoff = BACKOFF_MIN;
			nstats.connections++;
			print_connected(fd);
			if (opt.tls) {
				SSL *ssl = tls_connect(fd);

				if (ssl)
					session_run(fd, ssl);
			} else {
				session_run(fd, NULL);
			}
			close(fd);
			if (stopping())
				break;
			logmsg("disconnected; reconnecting in %.1fs", backoff);
		}
		sleep_interruptible(backoff);
		backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
	}
	return NULL;
}

/* ---- setup ------------------------------------------------------------- */

/* Literal loopback addresses only: no resolver, so nothing can point elsewhere. */
static void parse_host_port(const char *what, const char *arg, struct sockaddr_storage *ss,
			    socklen_t *ss_len)
{
	char host[64];
	unsigned int port = split_endpoint(what, arg, host, sizeof(host));

	if (loopback_addr(host, port, ss, ss_len) == -2)
		die("refusing %s host '%s': must be a loopback literal (127.x.x.x, ::1) or "
		    "localhost", what, host);
	endpoint_addr(what, host, port, ss, ss_len);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		die("out of memory");
	return d;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: minersim --pool HOST:PORT [--proto stratum|xmrig] [--threads N]\n"
		"                [--duty PERCENT] [--duration SECONDS]\n"
		"                [--submit-interval SECONDS]\n"
		"                [--comm NAME] [--no-network] [--connect-delay SECONDS]\n"
		"                [--user WALLET] [--tls [--sni NAME]] [--argv0 NAME]\n"
		"                [--args-disguise] [--resolve NAME [--dns HOST:PORT]]\n"
		"                [-- IGNORED...]\n"
		"  --pool HOST:PORT        loopback pool: 127.x.x.x:P, [::1]:P or localhost:P\n"
		"  --proto P               stratum (default) or xmrig\n"
		"  --threads N             compute threads (default 2)\n"
		"  --duty PERCENT          busy share of each 100 ms period, 1-100 (default 100)\n"
		"  --duration SEC          run time (default 120)\n"
		"  --submit-interval SEC   seconds between shares (default 10)\n"
		"  --comm NAME             name every thread NAME (max 15 chars)\n"
		"  --no-network            compute only, no pool connection\n"
		"  --connect-delay SEC     wait before the first connection (default 0)\n"
		"  --user WALLET           login / worker name (default: Monero-shaped address)\n"
		"  --tls                   TLS to the pool (certificate not verified)\n"
		"  --sni NAME              ClientHello server name (default pool.test)\n"
		"  --argv0 NAME            re-exec so that argv[0] (/proc/PID/cmdline) is NAME\n"
		"  --args-disguise         wipe the arguments after argv[0] from memory\n"
		"  --resolve NAME          DNS A query for NAME before every connection\n"
		"  --dns HOST:PORT         loopback DNS server (default 127.0.0.1:53)\n"
		"  -- IGNORED...           operands kept in argv, never read (any bytes, or empty)\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "pool", required_argument, NULL, 'p' },
		{ "proto", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 't' },
		{ "duty", required_argument, NULL, 'D' },
		{ "duration", required_argument, NULL, 'd' },
		{ "submit-interval", required_argument, NULL, 's' },
		{ "comm", required_argument, NULL, 'c' },
		{ "no-network", no_argument, NULL, 'n' },
		{ "connect-delay", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "tls", no_argument, NULL, 'T' },
		{ "sni", required_argument, NULL, 'S' },
		{ "argv0", required_argument, NULL, 'A' },
		{ "args-disguise", no_argument, NULL, 'X' },
		{ "resolve", required_argument, NULL, 'R' },
		{ "dns", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char probe[260];
	bool have_dns = false;
	int c;

	while ((c = getopt_long(argc, argv, "p:P:t:D:d:s:c:nw:u:TS:A:XR:N:h", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			parse_host_port("--pool", optarg, &opt.pool, &opt.pool_len);
			opt.have_pool = true;
			break;
		case 'P':
			if (!strcmp(optarg, "stratum"))
				opt.proto = PROTO_STRATUM;
			else if (!strcmp(optarg, "xmrig"))
				opt.proto = PROTO_XMRIG;
			else
				die("invalid --proto '%s' (stratum or xmrig)", optarg);
			break;
		case 't':
			opt.threads = parse_uint("--threads", optarg, 0, MAX_THREADS);
			break;
		case 'D':
			opt.duty = parse_uint("--duty", optarg, 1, 100);
			break;
		case 'd':
			opt.duration = parse_double("--duration", optarg, 0.001, 7 * 86400);
			break;
		case 's':
			opt.submit_interval = parse_double("--submit-interval", optarg, 0.01,
							   86400);
			break;
		case 'c':
			if (!*optarg)
				die("--comm must not be empty");
			/* The kernel keeps 15 bytes; truncate here so both APIs agree. */
			snprintf(opt.comm, sizeof(opt.comm), "%s", optarg);
			break;
		case 'n':
			opt.no_network = true;
			break;
		case 'w':
			opt.connect_delay = parse_double("--connect-delay", optarg, 0, 86400);
			break;
		case 'u':
			if (!*optarg || strlen(optarg) > 1024)
				die("invalid --user");
			/* Copied: --args-disguise wipes the argv strings. */
			opt.user = xstrdup(optarg);
			break;
		case 'T':
			opt.tls = true;
			break;
		case 'S':
			if (!*optarg || strlen(optarg) > 253)
				die("invalid --sni '%s'", optarg);
			opt.sni = xstrdup(optarg);
			break;
		case 'A':
			if (!*optarg || strlen(optarg) > 4096)
				die("invalid --argv0");
			opt.argv0 = optarg;
			break;
		case 'X':
			opt.args_disguise = true;
			break;
		case 'R':
			if (!dns_encode_name(probe, sizeof(probe), optarg))
				die("invalid --resolve name '%s'", optarg);
			opt.resolve = xstrdup(optarg);
			break;
		case 'N':
			parse_host_port("--dns", optarg, &opt.dns, &opt.dns_len);
			have_dns = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	/*
	 * Operands after "--" are carried in argv and never read: real miners'
	 * command lines hold arbitrary text (tests give them hostile bytes).
	 */
	if (!(optind > 1 && optind <= argc && !strcmp(argv[optind - 1], "--")))
		no_extra_args(argc, argv, usage);
	if (!opt.no_network && !opt.have_pool)
		die("--pool HOST:PORT is required (or use --no-network)");
	if (opt.sni && !opt.tls)
		die("--sni needs --tls");
	if (have_dns && !opt.resolve)
		die("--dns needs --resolve");
	if (!opt.sni)
		opt.sni = DEFAULT_SNI;
	if (opt.resolve && !have_dns)
		parse_host_port("--dns", "127.0.0.1:53", &opt.dns, &opt.dns_len);
}

/*
 * --argv0: execv(/proc/self/exe) with argv[0] replaced, so that the kernel
 * lays out /proc/PID/cmdline with the fake name first. The pid survives
 * exec, so REEXEC_ENV=<pid>:... tells the new image it is the re-exec (and
 * an inherited variable from some other minersim is ignored).
 */
static void reexec_argv0(int argc, char **argv)
{
	const char *mark = getenv(REEXEC_ENV);
	char comm[16] = "", val[40];
	char **nargv;
	char *rest;
	int i;

	if (!opt.argv0)
		return;
	if (mark) {
		errno = 0;
		if (strtol(mark, &rest, 10) == getpid() && !errno && *rest == ':') {
			/*
			 * exec named us after "/proc/self/exe", i.e. "exe"; put back
			 * the comm we had unless --comm renames us anyway.
			 */
			if (!opt.comm[0] && rest[1])
				prctl(PR_SET_NAME, rest + 1, 0, 0, 0);
			/*
			 * The kernel serves /proc/PID/environ from the original
			 * strings, which unsetenv() leaves alone: zero the whole
			 * "NAME=value" in place too, as it names the real binary.
			 */
			unsetenv(REEXEC_ENV);
			memset((char *)mark - sizeof(REEXEC_ENV), 0,
			       sizeof(REEXEC_ENV) + strlen(mark));
			return;
		}
	}
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	snprintf(val, sizeof(val), "%d:%s", (int)getpid(), comm);
	if (setenv(REEXEC_ENV, val, 1) < 0)
		die("setenv: %s", strerror(errno));
	nargv = calloc(argc + 1, sizeof(*nargv));
	if (!nargv)
		die("out of memory");
	nargv[0] = (char *)opt.argv0;
	for (i = 1; i < argc; i++)
		nargv[i] = argv[i];
	fflush(NULL);
	execv("/proc/self/exe", nargv);
	die("execv /proc/self/exe: %s", strerror(errno));
}

/*
 * --args-disguise: zero every argument string after argv[0] in place. The
 * kernel serves /proc/PID/cmdline straight from this memory, so it then reads
 * argv[0] followed by NUL bytes. Options must not point into argv any more.
 */
static void wipe_args(int argc, char **argv)
{
	char *begin, *end;
	int i;

	if (!opt.args_disguise || argc < 2)
		return;
	begin = argv[0] + strlen(argv[0]) + 1;
	end = begin;
	for (i = 1; i < argc; i++) {
		char *e = argv[i] + strlen(argv[i]) + 1;

		/* getopt may have permuted the pointers, but not moved the strings. */
		if (argv[i] < begin)
			return;
		if (e > end)
			end = e;
	}
	memset(begin, 0, end - begin);
}

int main(int argc, char **argv)
{
	pthread_t net_tid;
	int64_t deadline;
	uint64_t rounds = 0, digest = 0;
	unsigned int i;
	int err;

	parse_args(argc, argv);
	reexec_argv0(argc, argv);
	wipe_args(argc, argv);
	if (opt.tls)
		tls_setup();
	print_pid();
	stop_signals_block(true);
	name_thread();

	duty_epoch = mono_ns();
	deadline = duty_epoch + (int64_t)(opt.duration * NSEC_PER_SEC);

	if (opt.threads) {
		workers = aligned_alloc(64, sizeof(*workers) * opt.threads);
		if (!workers)
			die("out of memory");
		memset(workers, 0, sizeof(*workers) * opt.threads);
	}
	for (i = 0; i < opt.threads; i++) {
		struct worker *w = &workers[i];
		unsigned int k;

		w->idx = i;
		w->s[0] = 0x243f6a8885a308d3ULL + i;
		w->s[1] = 0x13198a2e03707344ULL ^ ((uint64_t)getpid() << 16);
		w->s[2] = 0xa4093822299f31d0ULL;
		w->s[3] = 0x082efa98ec4e6c89ULL * (i + 1);
		for (k = 0; k < SCRATCH_WORDS; k++)
			w->scratch[k] = k * 0x9e3779b97f4a7c15ULL + i;
		err = pthread_create(&w->tid, NULL, worker_main, w);
		if (err)
			die("pthread_create: %s", strerror(err));
	}
	if (!opt.no_network) {
		err = pthread_create(&net_tid, NULL, net_main, NULL);
		if (err)
			die("pthread_create: %s", strerror(err));
	}

	wait_stop_until(deadline);
	stop_threads();
	for (i = 0; i < opt.threads; i++) {
		pthread_join(workers[i].tid, NULL);
		rounds += workers[i].rounds;
		digest ^= workers[i].digest;
	}
	if (!opt.no_network)
		pthread_join(net_tid, NULL);

	if (opt.no_network)
		logmsg("summary threads=%u duty=%u%% chunks=%" PRIu64 " digest=%016" PRIx64,
		       opt.threads, opt.duty, rounds, digest);
	else
		logmsg("summary threads=%u duty=%u%% chunks=%" PRIu64 " digest=%016" PRIx64
		       " connections=%lu logins=%lu jobs=%lu submitted=%lu accepted=%lu"
		       " rejected=%lu", opt.threads, opt.duty, rounds, digest,
		       nstats.connections, nstats.logins, nstats.jobs, nstats.submitted,
		       nstats.accepted, nstats.rejected);
	free(workers);
	SSL_CTX_free(tls_ctx);
	return 0;
}
