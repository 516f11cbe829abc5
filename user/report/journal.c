// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "journal.h"

#define JOURNAL_VERSION 1
/* Far above what SINK_MAX_PENDING and a full table of open findings need. */
#define JOURNAL_MAX_BYTES (64u << 20)

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

char *journal__text(const struct journal *j)
{
	json_object *root = json_object_new_object(), *open = json_object_new_array(),
		    *pending = json_object_new_array();
	char *out = NULL;

	if (!root || !open || !pending)
		goto out;
	json_object_object_add(root, "version", json_object_new_int(JOURNAL_VERSION));
	json_object_object_add(root, "boot_id", json_object_new_string(j->boot_id));
	for (size_t i = 0; i < j->nopen; i++) {
		const struct journal_open *f = &j->open[i];
		json_object *o = json_object_new_object();

		if (!o)
			goto out;
		json_object_object_add(o, "uid", json_object_new_string(f->uid));
		add_u64(o, "pid", f->pid);
		add_u64(o, "start_ticks", f->start_ticks);
		add_u64(o, "first_seen_ms", f->first_seen_ms);
		add_u64(o, "last_seen_ms", f->last_seen_ms);
		add_u64(o, "last_emit_ms", f->last_emit_ms);
		json_object_object_add(o, "severity_id", json_object_new_int(f->severity_id));
		add_u64(o, "signal_mask", f->signal_mask);
		add_u64(o, "peers_reported", f->peers_reported);
		json_object_object_add(o, "line", json_object_new_string(f->line ? f->line : ""));
		json_object_array_add(open, o);
	}
	for (size_t i = 0; i < j->npending; i++)
		json_object_array_add(pending, json_object_new_string(j->pending[i]));
	json_object_object_add(root, "open", open);
	json_object_object_add(root, "pending", pending);
	open = pending = NULL;
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(open);
	json_object_put(pending);
	json_object_put(root);
	return out;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int journal__save(const char *dir, const struct journal *j)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	char *text = journal__text(j);
	int fd, dfd, e = 0;

	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, JOURNAL_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, JOURNAL_FILE);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		e = -errno;
		free(text);
		return e;
	}
	e = write_all(fd, text, strlen(text));
	if (!e)
		e = write_all(fd, "\n", 1);
	if (!e && fdatasync(fd))
		e = -errno;
	if (close(fd) && !e)
		e = -errno;
	free(text);
	if (!e && rename(tmp, path))
		e = -errno;
	if (e) {
		unlink(tmp);
		return e;
	}
	/* The rename itself must survive a crash too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			e = -errno;
		close(dfd);
	}
	return e;
}

void journal__free(struct journal *j)
{
	for (size_t i = 0; i < j->nopen; i++)
		free(j->open[i].line);
	for (size_t i = 0; i < j->npending; i++)
		free(j->pending[i]);
	free(j->open);
	free(j->pending);
	memset(j, 0, sizeof(*j));
}

static bool get_u64(json_object *o, const char *k, uint64_t max, uint64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max)
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static const char *get_str(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int parse_open(json_object *o, struct journal_open *f, char *err, size_t errsz)
{
	const char *uid = get_str(o, "uid"), *line = get_str(o, "line");
	uint64_t pid, sev, mask, peers;

	if (!json_object_is_type(o, json_type_object) || !uid || strlen(uid) != 36 || !line ||
	    !get_u64(o, "pid", UINT32_MAX, &pid) ||
	    !get_u64(o, "start_ticks", UINT64_MAX, &f->start_ticks) ||
	    !get_u64(o, "first_seen_ms", UINT64_MAX, &f->first_seen_ms) ||
	    !get_u64(o, "last_seen_ms", UINT64_MAX, &f->last_seen_ms) ||
	    !get_u64(o, "last_emit_ms", UINT64_MAX, &f->last_emit_ms) ||
	    !get_u64(o, "severity_id", 6, &sev) || !get_u64(o, "signal_mask", UINT32_MAX, &mask) ||
	    !get_u64(o, "peers_reported", UINT32_MAX, &peers)) {
		snprintf(err, errsz, "an open finding entry is malformed");
		return -EINVAL;
	}
	memcpy(f->uid, uid, 37);
	f->pid = (uint32_t)pid;
	f->severity_id = (int)sev;
	f->signal_mask = (uint32_t)mask;
	f->peers_reported = (uint32_t)peers;
	f->line = strdup(line);
	return f->line ? 0 : -ENOMEM;
}

int journal__parse(const char *text, struct journal *j, char *err, size_t errsz)
{
	json_object *root = json_tokener_parse(text), *open, *pending, *ver;
	const char *boot;
	int e = 0;

	memset(j, 0, sizeof(*j));
	if (!root || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "version", &ver) ||
	    !json_object_is_type(ver, json_type_int) ||
	    !json_object_object_get_ex(root, "open", &open) ||
	    !json_object_is_type(open, json_type_array) ||
	    !json_object_object_get_ex(root, "pending", &pending) ||
	    !json_object_is_type(pending, json_type_array) || !(boot = get_str(root, "boot_id"))) {
		snprintf(err, errsz, "not a findings journal");
		json_object_put(root);
		return -EINVAL;
	}
	if (json_object_get_int(ver) != JOURNAL_VERSION) {
		snprintf(err, errsz, "journal version %d, this build reads version %d",
			 json_object_get_int(ver), JOURNAL_VERSION);
		json_object_put(root);
		return -EINVAL;
	}
	snprintf(j->boot_id, sizeof(j->boot_id), "%s", boot);
	j->open = calloc(json_object_array_length(open) + 1, sizeof(*j->open));
	j->pending = calloc(json_object_array_length(pending) + 1, sizeof(*j->pending));
	if (!j->open || !j->pending) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(open); i++) {
		e = parse_open(json_object_array_get_idx(open, i), &j->open[j->nopen], err, errsz);
		if (e)
			goto out;
		j->nopen++;
	}
	for (size_t i = 0; i < json_object_array_length(pending); i++) {
		json_object *l = json_object_array_get_idx(pending, i);

		if (!json_object_is_type(l, json_type_string) || strchr(json_object_get_string(l), '\n')) {
			snprintf(err, errsz, "a pending record is malformed");
			e = -EINVAL;
			goto out;
		}
		j->pending[j->npending] = strdup(json_object_get_string(l));
		if (!j->pending[j->npending]) {
			e = -ENOMEM;
			goto out;
		}
		j->npending++;
	}
out:
	json_object_put(root);
	if (e) {
		if (e == -ENOMEM)
			snprintf(err, errsz, "out of memory");
		journal__free(j);
	}
	return e;
}

int journal__load(const char *dir, struct journal *j, char *err, size_t errsz)
{
	char path[PATH_MAX], *text;
	struct stat sb;
	size_t got = 0;
	int fd, e;

	memset(j, 0, sizeof(*j));
	snprintf(path, sizeof(path), "%s/%s", dir, JOURNAL_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		e = -errno;
		if (e != -ENOENT)
			snprintf(err, errsz, "cannot open %s: %s", path, strerror(-e));
		return e;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > JOURNAL_MAX_BYTES) {
		snprintf(err, errsz, "%s is not a regular file of at most %u bytes", path,
			 JOURNAL_MAX_BYTES);
		close(fd);
		return -EINVAL;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, text + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	e = journal__parse(text, j, err, errsz);
	free(text);
	return e;
}
