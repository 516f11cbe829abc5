// SPDX-License-Identifier: GPL-2.0
/*
 * minersim - a loopback-only cryptominer imitation for minerwatch tests.
 *
 * One process, several threads: workers that really burn CPU (optionally at
 * a duty cycle) and a network thread that really speaks Stratum v1 or the
 * XMRig login protocol to a pool on 127.0.0.1/::1. It behaves like a miner
 * from the kernel's point of view - thread names, CPU profile, connection
 * pattern and payloads - without mining anything.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC	1000000000LL
#define NSEC_PER_MSEC	1000000LL
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
static int stop_flag;
/* Common origin of the workers' duty-cycle periods. */
static int64_t duty_epoch;
static struct net_stats nstats;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("minersim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	flockfile(stderr);
	fputs("minersim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

static bool stopping(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static double mono_s(void)
{
	return mono_ns() / 1e9;
}

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

static int send_all(int fd, const char *buf, size_t len)
{
	int64_t deadline = mono_ns() + SEND_TIMEOUT_MS * NSEC_PER_MSEC;
	size_t off = 0;

	while (off < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
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
	ret = send_all(s->fd, line, len + 1);
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
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	printf("login_sent_ns=%lld\n", (long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec);
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

/* Returns -1 when the connection is gone or unusable. */
static int session_read(struct session *s)
{
	size_t start = 0, i, scan = s->in_len;
	ssize_t n;

	n = recv(s->fd, s->in + s->in_len, MAX_LINE + 1 - s->in_len, 0);
	if (n == 0) {
		logmsg("pool closed the connection");
		return -1;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
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
	double now = mono_s();

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

static void session_run(int fd)
{
	struct session s = { .fd = fd, .next_id = 1 };
	double now = mono_s();

	s.in = malloc(MAX_LINE + 1);
	if (!s.in)
		return;
	s.nonce = (uint32_t)mono_ns();
	s.next_submit = now + opt.submit_interval;
	s.next_keepalive = now + KEEPALIVE_SEC;

	if ((opt.proto == PROTO_STRATUM ? stratum_login(&s) : xmrig_login(&s)) < 0) {
		logmsg("login send failed");
		goto out;
	}
	while (!stopping()) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, SLICE_MS);

		if (n < 0 && errno != EINTR) {
			logmsg("poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && p.revents & (POLLIN | POLLHUP | POLLERR) && session_read(&s) < 0)
			break;
		if (session_tick(&s) < 0) {
			logmsg("send to pool failed");
			break;
		}
	}
out:
	free(s.in);
}

static int pool_connect(void)
{
	int64_t deadline = mono_ns() + CONNECT_TIMEOUT_MS * NSEC_PER_MSEC;
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(opt.pool.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Keeps subscribe and authorize in separate segments, as separate writes intend. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&opt.pool, opt.pool_len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	while (!stopping() && mono_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (poll(&p, 1, SLICE_MS) <= 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			goto fail;
		if (err) {
			errno = err;
			goto fail;
		}
		return fd;
	}
	errno = ETIMEDOUT;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static unsigned int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void *net_main(void *arg)
{
	double backoff = BACKOFF_MIN;

	(void)arg;
	name_thread();
	sleep_interruptible(opt.connect_delay);

	while (!stopping()) {
		int fd = pool_connect();

		if (fd < 0) {
			if (stopping())
				break;
			logmsg("connect failed: %s; retrying in %.1fs", strerror(errno), backoff);
		} else {
			backoff = BACKOFF_MIN;
			nstats.connections++;
			printf("connected local_port=%u\n", local_port(fd));
			fflush(stdout);
			session_run(fd);
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
static void parse_pool(const char *arg)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&opt.pool;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&opt.pool;
	char host[64];
	const char *port_str;
	char *end;
	long port;

	if (arg[0] == '[') {
		const char *rb = strchr(arg, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - arg - 1) >= sizeof(host))
			die("invalid --pool '%s' (expected [::1]:PORT)", arg);
		memcpy(host, arg + 1, rb - arg - 1);
		host[rb - arg - 1] = '\0';
		port_str = rb + 2;
	} else {
		const char *colon = strrchr(arg, ':');

		if (!colon || (size_t)(colon - arg) >= sizeof(host) || strchr(arg, ':') != colon)
			die("invalid --pool '%s' (expected HOST:PORT, IPv6 as [::1]:PORT)", arg);
		memcpy(host, arg, colon - arg);
		host[colon - arg] = '\0';
		port_str = colon + 1;
	}

	errno = 0;
	port = strtol(port_str, &end, 10);
	if (errno || end == port_str || *end || port < 1 || port > 65535)
		die("invalid port in --pool '%s'", arg);

	memset(&opt.pool, 0, sizeof(opt.pool));
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			die("refusing pool host '%s': only loopback (127.0.0.0/8, ::1, localhost) "
			    "is allowed", host);
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		opt.pool_len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			die("refusing pool host '%s': only loopback (127.0.0.0/8, ::1, localhost) "
			    "is allowed", host);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		opt.pool_len = sizeof(*sin6);
	} else {
		die("refusing pool host '%s': must be a loopback literal (127.x.x.x, ::1) or "
		    "localhost", host);
	}
	opt.have_pool = true;
}

static double parse_double(const char *name, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		die("invalid %s '%s' (expected %g..%g)", name, s, min, max);
	return v;
}

static unsigned int parse_uint(const char *name, const char *s, unsigned int min,
			       unsigned int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < (long)min || v > (long)max)
		die("invalid %s '%s' (expected %u..%u)", name, s, min, max);
	return (unsigned int)v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: minersim --pool HOST:PORT [--proto stratum|xmrig] [--threads N]\n"
		"                [--duty PERCENT] [--duration SECONDS]\n"
		"                [--submit-interval SECONDS]\n"
		"                [--comm NAME] [--no-network] [--connect-delay SECONDS]\n"
		"                [--user WALLET]\n"
		"  --pool HOST:PORT        loopback pool: 127.x.x.x:P, [::1]:P or localhost:P\n"
		"  --proto P               stratum (default) or xmrig\n"
		"  --threads N             compute threads (default 2)\n"
		"  --duty PERCENT          busy share of each 100 ms period, 1-100 (default 100)\n"
		"  --duration SEC          run time (default 120)\n"
		"  --submit-interval SEC   seconds between shares (default 10)\n"
		"  --comm NAME             name every thread NAME (max 15 chars)\n"
		"  --no-network            compute only, no pool connection\n"
		"  --connect-delay SEC     wait before the first connection (default 0)\n"
		"  --user WALLET           login / worker name (default: Monero-shaped address)\n");
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:P:t:D:d:s:c:nw:u:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			parse_pool(optarg);
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
			opt.user = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "minersim: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(1);
	}
	if (!opt.no_network && !opt.have_pool)
		die("--pool HOST:PORT is required (or use --no-network)");
}

int main(int argc, char **argv)
{
	pthread_t net_tid;
	sigset_t set;
	struct timespec ts;
	int64_t deadline;
	uint64_t rounds = 0, digest = 0;
	unsigned int i;
	int sig, err;

	parse_args(argc, argv);
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);

	/* Blocked before any thread exists so only sigtimedwait() below sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
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

	for (;;) {
		int64_t left = deadline - mono_ns();

		if (left <= 0)
			break;
		ts.tv_sec = left / NSEC_PER_SEC;
		ts.tv_nsec = left % NSEC_PER_SEC;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}

	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
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
	return 0;
}
