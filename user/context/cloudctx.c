// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cloudctx.h"
#include "http.h"

#define TASK_SLOTS 256
#define AGENT_RETRY_MS 30000
#define IMDS_FIRST_RETRY_MS 1000

enum slot_state { SLOT_FREE = 0, SLOT_QUEUED, SLOT_INFLIGHT, SLOT_DONE };

struct task_slot {
	enum slot_state state;
	char id[65];
	enum ecs_lookup result;
	struct ecs_task_info task;
	char why[192];
	uint64_t expires_ms;
	uint64_t used_ms;
	bool refresh;           /* queued again after expiry, old answer still served */
};

struct cloudctx {
	struct cloudctx_opts o;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* CLOCK_MONOTONIC */
	bool stop;
	int wake_fd;

	struct imds *imds;
	struct http *http;      /* for the ECS agent; the worker's own */
	uint64_t imds_next_ms, agent_next_ms;
	unsigned int imds_fails;
	unsigned int seed;

	/* Under mu. */
	struct cloudctx_status st;
	struct task_slot slots[TASK_SLOTS];
};

/* Waits until @deadline (monotonic ms) or a signal; mu held. */
static void wait_until(struct cloudctx *c, uint64_t deadline)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000),
			       .tv_nsec = (long)(deadline % 1000) * 1000000 };

	pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

/* Backoff sleep for the IMDS client; false when stopping. */
static bool sleep_ms(void *arg, long ms)
{
	struct cloudctx *c = arg;
	uint64_t end = clock__ms(CLOCK_MONOTONIC) + (uint64_t)ms;
	bool stop;

	pthread_mutex_lock(&c->mu);
	while (!c->stop && clock__ms(CLOCK_MONOTONIC) < end)
		wait_until(c, end);
	stop = c->stop;
	pthread_mutex_unlock(&c->mu);
	return !stop;
}

static void wake_daemon(struct cloudctx *c)
{
	uint64_t one = 1;

	if (write(c->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

/* Jittered by +-25% so that a fleet does not ask in step. */
static uint64_t jitter(struct cloudctx *c, uint64_t ms)
{
	uint64_t j = ms / 2 ? (uint64_t)rand_r(&c->seed) % (ms / 2 + 1) : 0;

	return ms - ms / 4 + j;
}

static void refresh_imds(struct cloudctx *c)
{
	struct instance_info inst;
	enum imds_state s;
	char why[256] = "";
	uint64_t tokens, unauth, delay;

	s = imds__fetch(c->imds, &inst, why, sizeof(why));
	imds__token_stats(c->imds, &tokens, &unauth);
	pthread_mutex_lock(&c->mu);
	c->st.imds_fetches++;
	c->st.imds_tokens = tokens;
	c->st.imds_unauthorized = unauth;
	if (s == IMDS_OK) {
		c->st.instance = inst;
		c->st.imds = IMDS_OK;
		c->st.imds_why[0] = '\0';
		c->st.imds_last_ok_unix_ms = clock__ms(CLOCK_REALTIME);
		c->imds_fails = 0;
		delay = (uint64_t)c->o.imds_refresh_s * 1000;
	} else {
		c->st.imds_failures++;
		/* Keep serving what was fetched before; report the failure. */
		if (c->st.imds != IMDS_OK || !c->st.instance.instance_id[0])
			c->st.imds = s;
		snprintf(c->st.imds_why, sizeof(c->st.imds_why), "%s", why);
		delay = (uint64_t)IMDS_FIRST_RETRY_MS << (c->imds_fails < 10 ? c->imds_fails : 10);
		if (delay > (uint64_t)c->o.imds_refresh_s * 1000)
			delay = (uint64_t)c->o.imds_refresh_s * 1000;
		c->imds_fails++;
	}
	c->imds_next_ms = clock__ms(CLOCK_MONOTONIC) + jitter(c, delay);
	pthread_mutex_unlock(&c->mu);
	wake_daemon(c);
}

static void refresh_agent(struct cloudctx *c)
{
	struct ecs_agent_info info;
	enum ecs_lookup l;
	char why[256] = "";

	memset(&info, 0, sizeof(info));
	l = ecs__get_metadata(c->http, c->o.ecs_url, c->o.ecs_timeout_ms, &info, why, sizeof(why));
	pthread_mutex_lock(&c->mu);
	c->st.agent = l;
	c->st.agent_checked = true;
	if (l == ECS_FOUND) {
		c->st.agent_info = info;
		c->st.agent_why[0] = '\0';
		c->agent_next_ms = clock__ms(CLOCK_MONOTONIC) + (uint64_t)c->o.ecs_ttl_s * 1000;
	} else {
		snprintf(c->st.agent_why, sizeof(c->st.agent_why), "%s", why);
		c->agent_next_ms = clock__ms(CLOCK_MONOTONIC) + jitter(c, AGENT_RETRY_MS);
	}
	pthread_mutex_unlock(&c->mu);
	wake_daemon(c);
}

/* One queued task lookup, if any; mu held on entry and exit. */
static bool lookup_one(struct cloudctx *c)
{
	struct task_slot *s = NULL;
	struct ecs_task_info task;
	enum ecs_lookup l;
	char id[65], why[192] = "";

	for (int i = 0; i < TASK_SLOTS; i++)
		if (c->slots[i].state == SLOT_QUEUED) {
			s = &c->slots[i];
			break;
		}
	if (!s)
		return false;
	s->state = SLOT_INFLIGHT;
	memcpy(id, s->id, sizeof(id));
	pthread_mutex_unlock(&c->mu);
	memset(&task, 0, sizeof(task));
	l = ecs__get_task(c->http, c->o.ecs_url, c->o.ecs_timeout_ms, id, &task, why, sizeof(why));
	pthread_mutex_lock(&c->mu);
	c->st.task_lookups++;
	/* The slot may have been reused only if it was not in flight: it is ours. */
	s->result = l;
	s->task = task;
	snprintf(s->why, sizeof(s->why), "%s", why);
	s->expires_ms = clock__ms(CLOCK_MONOTONIC) + (uint64_t)(l == ECS_FOUND ? c->o.ecs_ttl_s :
						c->o.ecs_negative_ttl_s) * 1000;
	s->state = SLOT_DONE;
	s->refresh = false;
	if (l == ECS_AGENT_DOWN) {
		c->st.agent = l;
		snprintf(c->st.agent_why, sizeof(c->st.agent_why), "%s", why);
	}
	pthread_mutex_unlock(&c->mu);
	wake_daemon(c);
	pthread_mutex_lock(&c->mu);
	return true;
}

static void *worker(void *arg)
{
	struct cloudctx *c = arg;
	uint64_t now, next;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		now = clock__ms(CLOCK_MONOTONIC);
		if (c->imds && now >= c->imds_next_ms) {
			pthread_mutex_unlock(&c->mu);
			refresh_imds(c);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (c->o.ecs_enabled && now >= c->agent_next_ms) {
			pthread_mutex_unlock(&c->mu);
			refresh_agent(c);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (c->o.ecs_enabled && lookup_one(c))
			continue;
		next = now + 60000;
		if (c->imds && c->imds_next_ms < next)
			next = c->imds_next_ms;
		if (c->o.ecs_enabled && c->agent_next_ms < next)
			next = c->agent_next_ms;
		wait_until(c, next);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct cloudctx *cloudctx__start(const struct cloudctx_opts *o, char *err, size_t errsz)
{
	struct cloudctx *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	sigset_t all, old;
	int e;

	if (!c) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->o = *o;
	c->wake_fd = -1;
	c->seed = (unsigned int)clock__ms(CLOCK_REALTIME) ^ (unsigned int)getpid();
	c->st.imds = o->imds_enabled ? IMDS_PENDING : IMDS_DISABLED;
	if (!o->imds_enabled)
		snprintf(c->st.imds_why, sizeof(c->st.imds_why), "%s", o->imds_disabled_why);
	c->st.ecs_enabled = o->ecs_enabled;
	c->st.agent = ECS_AGENT_DOWN;
	snprintf(c->st.agent_why, sizeof(c->st.agent_why), "not asked yet");
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		snprintf(err, errsz, "eventfd: %s", strerror(errno));
		goto fail;
	}
	c->http = http__new();
	if (!c->http) {
		snprintf(err, errsz, "cannot create an HTTP client");
		goto fail;
	}
	if (o->imds_enabled) {
		c->o.imds.sleep_ms = sleep_ms;
		c->o.imds.sleep_arg = c;
		c->imds = imds__new(&c->o.imds);
		if (!c->imds) {
			snprintf(err, errsz, "cannot create the IMDS client");
			goto fail;
		}
	}
	/* The worker takes no signals: the daemon reads them from a signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&c->thread, NULL, worker, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		snprintf(err, errsz, "cannot start the context thread: %s", strerror(e));
		goto fail;
	}
	c->started = true;
	return c;
fail:
	cloudctx__stop(c);
	return NULL;
}

void cloudctx__stop(struct cloudctx *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	imds__free(c->imds);
	http__free(c->http);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int cloudctx__wake_fd(const struct cloudctx *c)
{
	return c->wake_fd;
}

void cloudctx__drain(struct cloudctx *c)
{
	uint64_t n;

	while (read(c->wake_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
}

bool cloudctx__instance(struct cloudctx *c, struct instance_info *out, char *why, size_t whysz)
{
	bool ok;

	pthread_mutex_lock(&c->mu);
	ok = c->st.instance.instance_id[0] != '\0';
	if (ok)
		*out = c->st.instance;
	else if (c->st.imds == IMDS_PENDING)
		snprintf(why, whysz, "instance metadata not fetched yet");
	else if (c->st.imds == IMDS_DISABLED)
		snprintf(why, whysz, "IMDS disabled: %s", c->st.imds_why);
	else
		snprintf(why, whysz, "IMDS %s: %s", imds__state_name(c->st.imds), c->st.imds_why);
	pthread_mutex_unlock(&c->mu);
	return ok;
}

static struct task_slot *find_slot(struct cloudctx *c, const char *id)
{
	for (int i = 0; i < TASK_SLOTS; i++)
		if (c->slots[i].state != SLOT_FREE && !strcmp(c->slots[i].id, id))
			return &c->slots[i];
	return NULL;
}

/* A free slot, or the least recently used finished one. */
static struct task_slot *new_slot(struct cloudctx *c)
{
	struct task_slot *lru = NULL;

	for (int i = 0; i < TASK_SLOTS; i++) {
		struct task_slot *s = &c->slots[i];

		if (s->state == SLOT_FREE)
			return s;
		if (s->state == SLOT_DONE && (!lru || s->used_ms < lru->used_ms))
			lru = s;
	}
	return lru;
}

enum ctx_answer cloudctx__task(struct cloudctx *c, const char *docker_id, bool ecs_shaped,
			       struct ecs_task_info *task, struct ecs_agent_info *agent, char *why,
			       size_t whysz)
{
	enum ctx_answer a = CTX_NONE;
	struct task_slot *s;
	uint64_t now = clock__ms(CLOCK_MONOTONIC);

	pthread_mutex_lock(&c->mu);
	if (!c->o.ecs_enabled) {
		snprintf(why, whysz, "ECS lookups are disabled");
		goto out;
	}
	if (!ecs_shaped && c->st.agent != ECS_FOUND) {
		snprintf(why, whysz, "not an ECS container (no ECS agent: %s)", c->st.agent_why);
		goto out;
	}
	s = find_slot(c, docker_id);
	if (!s) {
		s = new_slot(c);
		if (!s) {
			snprintf(why, whysz, "too many ECS lookups in flight");
			goto out;
		}
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", docker_id);
		s->state = SLOT_QUEUED;
		s->used_ms = now;
		pthread_cond_signal(&c->cv);
		a = CTX_PENDING;
		goto out;
	}
	s->used_ms = now;
	if (s->state != SLOT_DONE && !s->refresh) {
		a = CTX_PENDING;
		goto out;
	}
	if (s->state == SLOT_DONE && now >= s->expires_ms) {
		/* Serve the old answer while a fresh one is fetched. */
		s->state = SLOT_QUEUED;
		s->refresh = true;
		pthread_cond_signal(&c->cv);
	}
	if (s->result == ECS_FOUND) {
		*task = s->task;
		if (agent)
			*agent = c->st.agent_info;
		a = CTX_READY;
	} else {
		snprintf(why, whysz, "%s", s->why);
	}
out:
	pthread_mutex_unlock(&c->mu);
	return a;
}

void cloudctx__status(struct cloudctx *c, struct cloudctx_status *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	out->task_cached = 0;
	for (int i = 0; i < TASK_SLOTS; i++)
		out->task_cached += c->slots[i].state == SLOT_DONE;
	pthread_mutex_unlock(&c->mu);
}
