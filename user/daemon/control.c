// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "control.h"
#include "log.h"

/* The answer to any request from outside root and the group. */
#define REFUSED_TEXT "permission denied: root or group " CONTROL_GROUP " required"

struct client {
	int fd;
	bool refused; /* outside root and the group: every answer is "permission denied" */
	uint64_t deadline_ms;
	size_t len;
	char buf[CONTROL_MAX_REQUEST];
};

struct control {
	char *path;
	int listen_fd;
	int epfd;
	gid_t gid;
	bool have_group;
	control_handler fn;
	void *arg;
	struct client clients[CONTROL_MAX_CLIENTS];
	uint64_t refused;
};

/* A socket file nobody answers on is stale; anything else is left alone. */
static int clear_stale(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd, r;

	if (lstat(path, &sb)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "cannot inspect %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errsz, "%s exists and is not a socket: remove it or choose another "
			 "--socket", path);
		return -EEXIST;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0) {
		snprintf(err, errsz, "another minerwatchd is already serving %s", path);
		return -EADDRINUSE;
	}
	unlink(path);
	return 0;
}

int control__open(const char *path, control_handler fn, void *arg, struct control **ret,
		  char *err, size_t errsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	struct control *c;
	struct group *gr;
	char *dup;
	mode_t old;
	int e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "socket path too long (max %zu): %s", sizeof(sa.sun_path) - 1,
			 path);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->listen_fd = c->epfd = -1;
	c->fn = fn;
	c->arg = arg;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	c->path = strdup(path);
	gr = getgrnam(CONTROL_GROUP);
	if (gr) {
		c->gid = gr->gr_gid;
		c->have_group = true;
	}

	dup = strdup(path);
	if (!c->path || !dup) {
		free(dup);
		e = -ENOMEM;
		goto fail;
	}
	/* The directory only needs to be traversable: the socket itself is 0660. */
	if (mkdir(dirname(dup), 0755) && errno != EEXIST) {
		e = -errno;
		snprintf(err, errsz, "cannot create the socket directory for %s: %s", path,
			 strerror(-e));
		free(dup);
		goto fail;
	}
	free(dup);
	e = clear_stale(path, err, errsz);
	if (e)
		goto fail;

	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		e = -errno;
		snprintf(err, errsz, "socket: %s", strerror(-e));
		goto fail;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* Created 0660 from the start: there is no moment of wider access. */
	old = umask(0117);
	e = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (e) {
		snprintf(err, errsz, "cannot bind the control socket %s: %s", path, strerror(-e));
		goto fail;
	}
	if (c->have_group && chown(path, 0, c->gid))
		log_warn("cannot give %s to group %s: %s", path, CONTROL_GROUP, strerror(errno));
	if (listen(c->listen_fd, CONTROL_MAX_CLIENTS)) {
		e = -errno;
		snprintf(err, errsz, "listen: %s", strerror(-e));
		goto fail;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = c->listen_fd;
	if (c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->listen_fd, &ev)) {
		e = -errno;
		snprintf(err, errsz, "epoll: %s", strerror(-e));
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(path);
	}
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->path);
	free(c);
	return e;
}

/*
 * Closing a Unix socket with unread bytes queued resets the connection, and
 * the peer's next read fails instead of returning the reply already sent. So
 * the write side is shut first and whatever the client has queued is read
 * and discarded (without waiting) before the close.
 */
static void close_client_fd(int fd)
{
	char sink[4096];

	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 16; i++)
		if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

static void drop_client(struct control *c, struct client *cl)
{
	if (cl->fd < 0)
		return;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close_client_fd(cl->fd);
	cl->fd = -1;
	cl->len = 0;
	cl->refused = false;
}

void control__close(struct control *c)
{
	if (!c)
		return;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		drop_client(c, &c->clients[i]);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->path);
	free(c);
}

int control__fd(const struct control *c)
{
	return c->epfd;
}

uint64_t control__refused(const struct control *c)
{
	return c->refused;
}

static bool peer_allowed(const struct control *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	if (cred.uid == 0)
		return true;
	if (!c->have_group)
		return false;
	if (cred.gid == c->gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		for (size_t i = 0; i < glen / sizeof(gid_t); i++)
			if (groups[i] == c->gid)
				return true;
	}
	return false;
}

/* Replies are written in full or not at all, within the client timeout. */
static void reply(struct client *cl, const char *text)
{
	struct timeval tv = { .tv_sec = CONTROL_TIMEOUT_MS / 1000 };
	size_t len = strlen(text), done = 0;
	int flags = fcntl(cl->fd, F_GETFL);

	fcntl(cl->fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (done < len) {
		ssize_t n = send(cl->fd, text + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		done += (size_t)n;
	}
	send(cl->fd, "\n", 1, MSG_NOSIGNAL);
}

/* {"error":MSG} as a malloc'd line, NULL when out of memory. */
static char *error_text(const char *msg)
{
	json_object *o = json_object_new_object();
	char *s;

	json_object_object_add(o, "error", json_object_new_string(msg));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void reply_error(struct client *cl, const char *msg)
{
	char *s = error_text(msg);

	if (s)
		reply(cl, s);
	free(s);
}

char *control__answer(const char *request, control_handler fn, void *arg)
{
	json_object *req = json_tokener_parse(request), *cmd;
	char *out;

	if (!req || !json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		json_object_put(req);
		return error_text("bad request: expected {\"cmd\":\"NAME\"}");
	}
	out = fn(json_object_get_string(cmd), arg);
	json_object_put(req);
	return out ? out : error_text("unknown command");
}

static void handle_request(struct control *c, struct client *cl)
{
	char *out;

	if (cl->refused) {
		reply_error(cl, REFUSED_TEXT);
		return;
	}
	out = control__answer(cl->buf, c->fn, c->arg);

	if (out)
		reply(cl, out);
	free(out);
}

static void accept_clients(struct control *c)
{
	for (;;) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *slot = NULL;

		if (fd < 0)
			return;
		/*
		 * A client outside root and the group still takes a slot: it is
		 * answered "permission denied" once its request has arrived (or
		 * at the timeout), so that the answer is not lost to a reset.
		 */
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			if (c->clients[i].fd < 0) {
				slot = &c->clients[i];
				break;
			}
		}
		if (!slot) {
			struct client tmp = { .fd = fd };

			c->refused++;
			reply_error(&tmp, "busy: too many clients");
			close_client_fd(fd);
			continue;
		}
		slot->fd = fd;
		slot->len = 0;
		slot->refused = !peer_allowed(c, fd);
		if (slot->refused)
			c->refused++;
		slot->deadline_ms = clock__ms(CLOCK_MONOTONIC) + CONTROL_TIMEOUT_MS;
		ev.data.fd = fd;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev))
			drop_client(c, slot);
	}
}

static void read_client(struct control *c, struct client *cl)
{
	for (;;) {
		ssize_t n = read(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			drop_client(c, cl);
			return;
		}
		cl->len += (size_t)n;
		cl->buf[cl->len] = '\0';
		nl = memchr(cl->buf, '\n', cl->len);
		if (nl) {
			*nl = '\0';
			handle_request(c, cl);
			drop_client(c, cl);
			return;
		}
		if (cl->len >= sizeof(cl->buf) - 1) {
			reply_error(cl, cl->refused ? REFUSED_TEXT : "request too large");
			drop_client(c, cl);
			return;
		}
	}
}

void control__process(struct control *c)
{
	struct epoll_event evs[CONTROL_MAX_CLIENTS + 1];
	int n = epoll_wait(c->epfd, evs, CONTROL_MAX_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		if (fd == c->listen_fd) {
			accept_clients(c);
			continue;
		}
		for (int j = 0; j < CONTROL_MAX_CLIENTS; j++)
			if (c->clients[j].fd == fd)
				read_client(c, &c->clients[j]);
	}
}

void control__expire(struct control *c)
{
	uint64_t now = clock__ms(CLOCK_MONOTONIC);

	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *cl = &c->clients[i];

		if (cl->fd >= 0 && now >= cl->deadline_ms) {
			reply_error(cl, cl->refused ? REFUSED_TEXT : "timeout: no request received");
			drop_client(c, cl);
		}
	}
}
