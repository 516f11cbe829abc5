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
	void (*journal)(void *arg);
	void *journal_arg;
};

static void journal(struct sink *s)
{
	if (s->journal)
		s->journal(s->journal_arg);
}

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
	/* Read as well: a restart reads back the tail (sink__replay). */
	s->fd = open(s->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
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

/* Whole lines only: a line ends at the buffer's end or a newline. */
static bool has_line(const char *buf, size_t len, const char *line, size_t llen)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), line, llen);

		if (!hit)
			return false;
		if ((hit == buf || hit[-1] == '\n') && hit + llen < end && hit[llen] == '\n')
			return true;
		p = hit + 1;
	}
	return false;
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
	if (n)
		journal(s);
	return e;
}

static struct line *new_line(const char *text)
{
	size_t len = strlen(text);
	struct line *l = malloc(sizeof(*l) + len + 1);

	if (!l)
		return NULL;
	memcpy(l->text, text, len);
	l->text[len] = '\n';
	l->len = len + 1;
	l->next = NULL;
	return l;
}

static void enqueue(struct sink *s, struct line *l)
{
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
}

int sink__write(struct sink *s, const char *text)
{
	struct line *l = new_line(text);

	if (!l)
		return -ENOMEM;
	enqueue(s, l);
	journal(s);
	return sink__flush(s);
}

/* Reads the last len bytes of the output file (malloc'd, *got set); NULL if none. */
static char *read_tail(struct sink *s, size_t len, size_t *got)
{
	off_t end = s->regular ? lseek(s->fd, 0, SEEK_END) : -1;
	off_t from;
	char *buf;

	*got = 0;
	if (end <= 0)
		return NULL;
	from = end > (off_t)len ? end - (off_t)len : 0;
	buf = malloc((size_t)(end - from));
	if (!buf)
		return NULL;
	while (*got < (size_t)(end - from)) {
		ssize_t n = pread(s->fd, buf + *got, (size_t)(end - from) - *got, from + (off_t)*got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*got += (size_t)n;
	}
	return buf;
}

size_t sink__replay(struct sink *s, char *const *lines, size_t n)
{
	size_t need = 0, got, skipped = 0;
	char *tail;

	for (size_t i = 0; i < n; i++)
		need += strlen(lines[i]) + 1;
	/* What an earlier run wrote but had not yet struck from its journal is at the end. */
	tail = read_tail(s, need + 4096, &got);
	for (size_t i = 0; i < n; i++) {
		struct line *l;

		if (tail && has_line(tail, got, lines[i], strlen(lines[i]))) {
			skipped++;
			continue;
		}
		l = new_line(lines[i]);
		if (l)
			enqueue(s, l);
	}
	free(tail);
	sink__flush(s);
	return skipped;
}

void sink__set_journal(struct sink *s, void (*fn)(void *arg), void *arg)
{
	s->journal = fn;
	s->journal_arg = arg;
}

void sink__each_pending(const struct sink *s, void (*fn)(char *line, void *arg), void *arg)
{
	for (const struct line *l = s->head; l; l = l->next) {
		/* The text ends in its newline, not a NUL. */
		char *t = malloc(l->len);

		if (t) {
			memcpy(t, l->text, l->len - 1);
			t[l->len - 1] = '\0';
		}
		fn(t, arg);
	}
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
