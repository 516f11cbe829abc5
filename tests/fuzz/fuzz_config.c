// SPDX-License-Identifier: Apache-2.0
/*
 * The config file parser (config__load_file, inih underneath) on arbitrary
 * file contents. The file is a memfd opened through /proc/self/fd, so the
 * real function reads a real file and nothing touches the disk. A file that
 * loads must leave a configuration every setter would accept; one that does
 * not must say where and why ("PATH:LINE: reason").
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_config_check.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	memfd = memfd_create("minerwatch-fuzz.conf", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	log__set_level(LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	int r;

	if (ftruncate(memfd, 0) || (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
		abort();
	config__defaults(&c);
	memset(err, 0, sizeof(err));
	r = config__load_file(&c, path, true, err, sizeof(err));
	if (r == 0) {
		fz_check_config(&c);
		return 0;
	}
	FZ_CHECK(r == -EINVAL || r == -EIO, "a bad file is -EINVAL (or -EIO if unreadable)");
	FZ_CHECK(fz_terminated(err, sizeof(err)), "the reason is NUL-terminated");
	FZ_CHECK(!strncmp(err, path, strlen(path)), "the reason names the file");
	if (r == -EINVAL) {
		const char *p = err + strlen(path);
		char *end;
		long line;

		FZ_CHECK(*p == ':', "the reason gives a line number");
		line = strtol(p + 1, &end, 10);
		FZ_CHECK(line >= 1 && *end == ':' && end[1] == ' ' && end[2],
			 "PATH:LINE: reason, with a line of 1 or more");
	}
	return 0;
}
