// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink.h"

struct line {
	struct line *next;
	size_t len;    /* including the newline */
	char text[];
};

struct sink {
	char *path;
	int fd;
	bool is_stdout;
	bool regular;
	struct line *head, *tail;
	size_t pending_bytes, max_pending_bytes;
	struct sink_stats st;
};

static int open_file(struct sink *s, char *err, size_t errsz)
{
	struct stat sb;
	char *dup, *dir;

	if (s->is_stdout) {
		s->fd = STDOUT_FILENO;
		s->regular = fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode);
		return 0;
	}
	dup = strdup(s->path);
	if (!dup)
		return -ENOMEM;
	dir = dirname(dup);
	if (mkdir(dir, 0750) && errno != EEXIST) {
		int e = -errno;

		snprintf(err, errsz, "cannot create the output directory %s: %s", dir,
			 strerror(-e));
		free(dup);
		return e;
	}
	free(dup);
	s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (s->fd < 0) {
		int e = -errno;

		snprintf(err, errsz, "cannot open the output file %s: %s", s->path, strerror(-e));
		return e;
	}
	s->regular = fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode);
	return 0;
}

int sink__open(const char *path, size_t max_pending_bytes, struct sink **ret, char *err,
	       size_t errsz)
{
	struct sink *s = calloc(1, sizeof(*s));
	int e;

	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	s->is_stdout = strcmp(path, "-") == 0;
	s->max_pending_bytes = max_pending_bytes;
	s->fd = -1;
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	e = open_file(s, err, errsz);
	if (e) {
		free(s->path);
		free(s);
		return e;
	}
	*ret = s;
	return 0;
}

void sink__close(struct sink *s)
{
	if (!s)
		return;
	sink__flush(s);
	while (s->head) {
		struct line *n = s->head->next;

		free(s->head);
		s->head = n;
	}
	if (s->fd >= 0 && !s->is_stdout)
		close(s->fd);
	free(s->path);
	free(s);
}

/* Writes one whole line or nothing (a short write to a file is cut back). */
static int write_line(struct sink *s, const struct line *l)
{
	off_t before = -1;
	size_t done = 0;

	if (s->fd < 0)
		return -EBADF;
	if (s->regular)
		before = lseek(s->fd, 0, SEEK_END);
	while (done < l->len) {
		ssize_t n = write(s->fd, l->text + done, l->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;

			if (s->regular && before >= 0 && done > 0 && ftruncate(s->fd, before))
				e = -errno;
			return e;
		}
		done += (size_t)n;
		/* A pipe reader sees whole lines only if we finish: keep going. */
	}
	return 0;
}

int sink__flush(struct sink *s)
{
	int e = 0;
	uint64_t n = 0;

	while (s->head) {
		struct line *l = s->head;

		e = write_line(s, l);
		if (e)
			break;
		s->head = l->next;
		if (!s->head)
			s->tail = NULL;
		s->pending_bytes -= l->len;
		s->st.pending--;
		free(l);
		n++;
	}
	if (n && s->regular && fdatasync(s->fd) && !e)
		e = -errno;
	s->st.written += n;
	s->st.last_error = e ? -e : 0;
	return e;
}

int sink__write(struct sink *s, const char *text)
{
	size_t len = strlen(text);
	struct line *l = malloc(sizeof(*l) + len + 1);

	if (!l)
		return -ENOMEM;
	memcpy(l->text, text, len);
	l->text[len] = '\n';
	l->len = len + 1;
	l->next = NULL;
	/* Bounded: when the queue is full the oldest waiting line gives way. */
	while (s->head && s->pending_bytes + l->len > s->max_pending_bytes) {
		struct line *old = s->head;

		s->head = old->next;
		if (!s->head)
			s->tail = NULL;
		s->pending_bytes -= old->len;
		s->st.pending--;
		s->st.dropped++;
		free(old);
	}
	if (s->tail)
		s->tail->next = l;
	else
		s->head = l;
	s->tail = l;
	s->pending_bytes += l->len;
	s->st.pending++;
	return sink__flush(s);
}

int sink__reopen(struct sink *s)
{
	char err[256];
	int e;

	if (s->is_stdout)
		return 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	e = open_file(s, err, sizeof(err));
	if (e) {
		s->st.last_error = -e;
		return e;
	}
	return sink__flush(s);
}

void sink__stats(const struct sink *s, struct sink_stats *ret)
{
	*ret = s->st;
}

const char *sink__path(const struct sink *s)
{
	return s->path;
}
