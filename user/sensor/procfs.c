// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "hashcache.h"
#include "htab.h"
#include "procfs.h"

#define HASH_MAX_BYTES (512ULL << 20) /* do not hash huge files */

static int read_file(const char *path, char *buf, size_t bufsz, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n < bufsz) {
		ssize_t r = read(fd, buf + n, bufsz - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*ret_len = n;
	return 0;
}

int procfs__parse_stat(const char *buf, size_t len, struct procfs_info *ret)
{
	const char *open_paren = memchr(buf, '(', len), *close_paren = NULL;
	unsigned long long start_ticks;
	unsigned ppid;
	char tmp[512];
	size_t n;

	/* comm may contain ')' and spaces: the last ')' ends it. */
	for (size_t i = len; i > 0; i--) {
		if (buf[i - 1] == ')') {
			close_paren = buf + i - 1;
			break;
		}
	}
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	n = (size_t)(close_paren - open_paren - 1);
	if (n >= sizeof(ret->comm))
		n = sizeof(ret->comm) - 1;
	memcpy(ret->comm, open_paren + 1, n);
	ret->comm[n] = '\0';

	n = len - (size_t)(close_paren + 1 - buf);
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, close_paren + 1, n);
	tmp[n] = '\0';
	/* Fields 3.. after comm: state ppid ... starttime is field 22. */
	if (sscanf(tmp, " %*c %u %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			"%*d %llu",
		   &ppid, &start_ticks) != 2)
		return -EINVAL;
	ret->ppid = ppid;
	ret->start_ns = (uint64_t)start_ticks * 10000000ULL;
	return 0;
}

int procfs__cmdline(const char *root, uint32_t pid, char *buf, size_t bufsz, size_t *ret_len)
{
	char path[PATH_MAX];
	size_t len;
	int e;

	snprintf(path, sizeof(path), "%s/proc/%u/cmdline", root, pid);
	e = read_file(path, buf, bufsz, &len);
	if (e)
		return e;
	/* Drop the trailing NUL of the last argument. */
	while (len && buf[len - 1] == '\0')
		len--;
	*ret_len = len;
	return 0;
}

int procfs__read(const char *root, uint32_t pid, struct procfs_info *ret)
{
	char path[PATH_MAX], buf[1024];
	size_t len;
	ssize_t n;
	int e;

	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	snprintf(path, sizeof(path), "%s/proc/%u/stat", root, pid);
	e = read_file(path, buf, sizeof(buf) - 1, &len);
	if (e)
		return e;
	buf[len] = '\0';
	e = procfs__parse_stat(buf, len, ret);
	if (e)
		return e;

	snprintf(path, sizeof(path), "%s/proc/%u/status", root, pid);
	if (read_file(path, buf, sizeof(buf) - 1, &len) == 0) {
		char *u, *g;

		buf[len] = '\0';
		u = strstr(buf, "\nUid:");
		g = strstr(buf, "\nGid:");
		if (u)
			ret->uid = (uint32_t)strtoul(u + 5, NULL, 10);
		if (g)
			ret->gid = (uint32_t)strtoul(g + 5, NULL, 10);
	}

	if (procfs__cmdline(root, pid, ret->cmdline, sizeof(ret->cmdline), &len) == 0)
		ret->cmdline_len = len;

	snprintf(path, sizeof(path), "%s/proc/%u/exe", root, pid);
	n = readlink(path, ret->exe, sizeof(ret->exe) - 1);
	ret->exe[n > 0 ? n : 0] = '\0';
	return 0;
}

int procfs__scan(const char *root, int (*fn)(const struct procfs_info *info, void *arg),
		 void *arg)
{
	char path[PATH_MAX];
	struct procfs_info *info;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/proc", root);
	d = opendir(path);
	if (!d)
		return -errno;
	info = malloc(sizeof(*info));
	if (!info) {
		closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (*end || pid == 0 || pid > UINT32_MAX)
			continue;
		if (procfs__read(root, (uint32_t)pid, info))
			continue; /* exited meanwhile */
		ret = fn(info, arg);
		if (ret)
			break;
	}
	free(info);
	closedir(d);
	return ret;
}

int procfs__exe_sha256(const char *root, uint32_t pid, struct hashcache *cache, char out[65])
{
	uint8_t md[SHA256_DIGEST_SIZE];
	unsigned char *buf;
	struct sha256_ctx ctx;
	char path[PATH_MAX];
	uint64_t total = 0;
	int fd, e = 0;

	const char *known;
	struct stat st;
	bool have_st;

	snprintf(path, sizeof(path), "%s/proc/%u/exe", root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* The identity of the file opened, so no swap between stat and read. */
	have_st = cache && fstat(fd, &st) == 0;
	if (have_st && (known = hashcache__get(cache, &st))) {
		memcpy(out, known, 65);
		close(fd);
		return 0;
	}
	buf = malloc(65536);
	if (!buf) {
		e = -ENOMEM;
		goto out;
	}
	/* nettle: no library state to set up, and none of OpenSSL's RSS cost. */
	sha256_init(&ctx);
	for (;;) {
		ssize_t r = read(fd, buf, 65536);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = -errno;
			goto out;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if (total > HASH_MAX_BYTES) {
			e = -EFBIG;
			goto out;
		}
		sha256_update(&ctx, (size_t)r, buf);
	}
	sha256_digest(&ctx, sizeof(md), md);
	for (unsigned i = 0; i < sizeof(md); i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
	if (have_st)
		hashcache__put(cache, &st, out);
out:
	free(buf);
	close(fd);
	return e;
}

uint32_t procfs__threads(const char *root, uint32_t pid)
{
	char path[PATH_MAX], buf[2048], *t;
	size_t len;

	snprintf(path, sizeof(path), "%s/proc/%u/status", root, pid);
	if (read_file(path, buf, sizeof(buf) - 1, &len))
		return 0;
	buf[len] = '\0';
	t = strstr(buf, "\nThreads:");
	return t ? (uint32_t)strtoul(t + 9, NULL, 10) : 0;
}

int procfs__comm(const char *root, uint32_t pid, char *out, size_t outsz)
{
	char path[PATH_MAX], buf[64];
	size_t len;
	int e;

	snprintf(path, sizeof(path), "%s/proc/%u/comm", root, pid);
	e = read_file(path, buf, sizeof(buf) - 1, &len);
	if (e)
		return e;
	/*
	 * The kernel ends the line with one newline; the name itself may end in
	 * newlines too (prctl(PR_SET_NAME) takes any byte but NUL), and they are
	 * part of what the process calls itself.
	 */
	if (len && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	snprintf(out, outsz, "%s", buf);
	return 0;
}

int procfs__cgroup_path(const char *root, uint32_t pid, char *out, size_t outsz)
{
	char path[PATH_MAX], buf[4096], *line;
	size_t len;
	int e;

	snprintf(path, sizeof(path), "%s/proc/%u/cgroup", root, pid);
	e = read_file(path, buf, sizeof(buf) - 1, &len);
	if (e)
		return e;
	buf[len] = '\0';
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "0::", 3))
			continue;
		snprintf(out, outsz, "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
		return 0;
	}
	return -ENOENT;
}

int procfs__boot_id(const char *root, char out[37])
{
	char path[PATH_MAX], buf[64];
	size_t len;
	int e;

	snprintf(path, sizeof(path), "%s/proc/sys/kernel/random/boot_id", root);
	e = read_file(path, buf, sizeof(buf) - 1, &len);
	if (e)
		return e;
	if (len < 36)
		return -EINVAL;
	memcpy(out, buf, 36);
	out[36] = '\0';
	return 0;
}

int procfs__user_name(const char *root, uint32_t uid, char *out, size_t outsz)
{
	char path[PATH_MAX], line[1024];
	FILE *f;
	int e = -ENOENT;

	snprintf(path, sizeof(path), "%s/etc/passwd", root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *c1 = strchr(line, ':'), *c2, *end;
		unsigned long u;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		u = strtoul(c2 + 1, &end, 10);
		if (end == c2 + 1 || *end != ':' || u != uid)
			continue;
		*c1 = '\0';
		snprintf(out, outsz, "%s", name);
		e = 0;
		break;
	}
	fclose(f);
	return e;
}

int procfs__socket_owners(const char *root, struct htab *inode_to_pid)
{
	char path[PATH_MAX], link[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/proc", root);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char fdpath[PATH_MAX], *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct dirent *fe;
		DIR *fds;

		if (*end || pid == 0)
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/proc/%lu/fd", root, pid);
		fds = opendir(fdpath);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			char lpath[PATH_MAX];
			unsigned long long ino;
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(lpath, sizeof(lpath), "%s/%s", fdpath, fe->d_name);
			n = readlink(lpath, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			/* A shared socket is credited to the first holder found. */
			if (sscanf(link, "socket:[%llu]", &ino) == 1 && !htab__get(inode_to_pid, ino))
				htab__put(inode_to_pid, ino, (void *)(uintptr_t)pid);
		}
		closedir(fds);
	}
	closedir(d);
	return 0;
}
