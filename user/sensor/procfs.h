/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading processes from procfs under the host root: the start-up scan and
 * the details fetched when a process becomes interesting. All reads are
 * bounded; a process that vanishes mid-read is an ordinary -ENOENT.
 */
#ifndef MW_PROCFS_H
#define MW_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#define PROCFS_COMM_LEN 16
#define PROCFS_PATH_LEN 256

struct procfs_info {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t gid;
	uint64_t start_ns;  /* boot-time clock, clock-tick resolution */
	char comm[PROCFS_COMM_LEN];
	char exe[PROCFS_PATH_LEN]; /* empty for kernel threads */
	char cmdline[4096];        /* NUL-separated */
	size_t cmdline_len;
};

/* Parses the contents of /proc/PID/stat (pure; comm may hold any bytes). */
int procfs__parse_stat(const char *buf, size_t len, struct procfs_info *ret);

/* argv of pid, NUL-separated, without the last NUL; cut at bufsz. */
int procfs__cmdline(const char *root, uint32_t pid, char *buf, size_t bufsz, size_t *ret_len);
int procfs__read(const char *root, uint32_t pid, struct procfs_info *ret);

/* Calls fn for every process; stops early if fn returns non-zero. */
int procfs__scan(const char *root, int (*fn)(const struct procfs_info *info, void *arg),
		 void *arg);

struct hashcache;

/*
 * SHA-256 of the process's executable as 64 hex digits; works for deleted
 * files. With a cache, a file already hashed (same identity) is not read.
 */
int procfs__exe_sha256(const char *root, uint32_t pid, struct hashcache *cache, char out[65]);

/* Number of threads of the process, 0 when unreadable. */
uint32_t procfs__threads(const char *root, uint32_t pid);

/* The process's current comm; out is left as it was on error. */
int procfs__comm(const char *root, uint32_t pid, char *out, size_t outsz);

/* The process's cgroup v2 path ("/system.slice/x.service"), from its "0::" line. */
int procfs__cgroup_path(const char *root, uint32_t pid, char *out, size_t outsz);

int procfs__boot_id(const char *root, char out[37]);

/* User name for uid from the host's passwd file, or -ENOENT. */
int procfs__user_name(const char *root, uint32_t uid, char *out, size_t outsz);

struct htab;
/* Maps every open socket inode to a pid holding it (value: the pid as a pointer). */
int procfs__socket_owners(const char *root, struct htab *inode_to_pid);

#endif
