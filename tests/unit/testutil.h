/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the cmocka unit tests: temporary trees under /tmp, whole
 * files read into buffers of exactly their size (so a parser that reads past
 * the end is caught by valgrind or ASan), and locating the recorded corpus.
 *
 * Everything is static inline: each test is one translation unit and the
 * Makefile builds only tests/unit/test_*.c.
 */
#ifndef MW_TESTUTIL_H
#define MW_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fails the test with a sentence naming the regression when cond holds. */
#define MW_FAIL_IF(cond, what)                                                     \
	do {                                                                       \
		if (cond)                                                          \
			fail_msg("regression: %s", what);                          \
	} while (0)

/* Reads a whole file into a buffer of exactly its size (1 byte if empty). */
static inline int tu_read_file(const char *path, unsigned char **ret_buf, size_t *ret_len)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size < 0) {
		close(fd);
		return -EIO;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			close(fd);
			return -EIO;
		}
		len += (size_t)r;
	}
	close(fd);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Writes len bytes to path (created or truncated); 0 or -errno. */
static inline int tu_write_file(const char *path, const void *data, size_t len)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -EIO;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd) ? -errno : 0;
}

static inline int tu_write_str(const char *path, const char *s)
{
	return tu_write_file(path, s, strlen(s));
}

/* snprintf into a PATH_MAX buffer owned by the caller. */
__attribute__((format(printf, 2, 3)))
static inline char *tu_path(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/* mkdir -p, relative to nothing: path must be absolute. */
static inline int tu_mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A fresh directory under /tmp; dir must hold PATH_MAX bytes. */
static inline int tu_mkdtemp(char *dir)
{
	snprintf(dir, PATH_MAX, "/tmp/mw-unit-XXXXXX");
	return mkdtemp(dir) ? 0 : -errno;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf; only ever called on a directory made by tu_mkdtemp. */
static inline int tu_rmtree(const char *dir)
{
	if (strncmp(dir, "/tmp/mw-unit-", 13))
		return -EINVAL;
	return nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

/* A scratch directory holding the one file a test writes and then loads. */
struct tu_file_fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX];	/* dir/name */
	char err[512];		/* the error text of the loader under test */
};

/* cmocka setup: *state becomes a tu_file_fixture whose file is called @name. */
static inline int tu_file_setup(void **state, const char *name)
{
	struct tu_file_fixture *f = calloc(1, sizeof(*f));

	if (!f || tu_mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	tu_path(f->path, "%s/%s", f->dir, name);
	*state = f;
	return 0;
}

static inline int tu_file_teardown(void **state)
{
	struct tu_file_fixture *f = *state;

	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* Writes text to the fixture's file and clears its error text; 0 or -errno. */
static inline int tu_file_put(struct tu_file_fixture *f, const char *text)
{
	memset(f->err, 0, sizeof(f->err));
	return tu_write_str(f->path, text);
}

static inline bool tu_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The recorded corpus for one suite, e.g. sub "protocol". MW_CORPUS_DIR may
 * name the corpus root (tests/corpus) or the suite's own directory; otherwise
 * it is looked for relative to the current directory, which is the repository
 * root under `make unit`.
 */
static inline int tu_corpus_dir(const char *sub, char *out)
{
	static const char *const roots[] = { "tests/corpus", "../tests/corpus",
					     "../../tests/corpus" };
	const char *env = getenv("MW_CORPUS_DIR");

	if (env && env[0]) {
		tu_path(out, "%s/%s", env, sub);
		if (tu_is_dir(out))
			return 0;
		tu_path(out, "%s", env);
		return tu_is_dir(out) ? 0 : -ENOENT;
	}
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		tu_path(out, "%s/%s", roots[i], sub);
		if (tu_is_dir(out))
			return 0;
	}
	return -ENOENT;
}

/*
 * A cmocka group setup's work for a suite with a corpus: finds it into dir
 * (PATH_MAX bytes), or says how to make it findable and returns -1.
 * (Includers include cmocka.h first.)
 */
static inline int tu_corpus_setup(const char *sub, char *dir)
{
	if (tu_corpus_dir(sub, dir)) {
		print_error("%s corpus not found (run from the repository root or set "
			    "MW_CORPUS_DIR)\n", sub);
		return -1;
	}
	return 0;
}

/* Reads one recorded case from a corpus directory, failing the test if it cannot. */
static inline void tu_read_case(const char *dir, const char *name, unsigned char **buf,
				size_t *len)
{
	char path[PATH_MAX];
	int e = tu_read_file(tu_path(path, "%s/%s", dir, name), buf, len);

	if (e)
		fail_msg("cannot read %s: %s", path, strerror(-e));
}

#endif
