// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "file.h"

FILE *file__open_regular(const char *path)
{
	/* Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	FILE *f;
	int e;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		e = errno;
	else
		e = S_ISREG(st.st_mode) ? 0 : EINVAL;
	if (e) {
		close(fd);
		errno = e;
		return NULL;
	}
	/* Regular files ignore O_NONBLOCK; reads block on disk as usual. */
	f = fdopen(fd, "r");
	if (!f) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

const char *file__strerror(int e)
{
	return e == EINVAL ? "not a regular file" : strerror(e);
}
