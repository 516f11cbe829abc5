// SPDX-License-Identifier: Apache-2.0
/*
 * bpfprogs: prints "ID NAME" for every BPF program loaded in the kernel, one
 * per line. The VM tests use it to check that a stopped minerwatchd left no
 * program behind, without shipping bpftool (and its libraries) for every
 * architecture. Plain syscalls, no libbpf: it builds with any C compiler.
 *
 * Exit status: 0 listed (possibly nothing), 1 the kernel refused.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int main(void)
{
	__u32 id = 0;

	for (;;) {
		union bpf_attr attr;
		struct bpf_prog_info info;
		long fd;

		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (sys_bpf(BPF_PROG_GET_NEXT_ID, &attr)) {
			if (errno == ENOENT)
				return 0;
			perror("bpfprogs: BPF_PROG_GET_NEXT_ID");
			return 1;
		}
		id = attr.next_id;

		memset(&attr, 0, sizeof(attr));
		attr.prog_id = id;
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (fd < 0) {
			/* Released between the two calls. */
			if (errno == ENOENT)
				continue;
			perror("bpfprogs: BPF_PROG_GET_FD_BY_ID");
			return 1;
		}
		memset(&info, 0, sizeof(info));
		memset(&attr, 0, sizeof(attr));
		attr.info.bpf_fd = (__u32)fd;
		attr.info.info_len = sizeof(info);
		attr.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr)) {
			perror("bpfprogs: BPF_OBJ_GET_INFO_BY_FD");
			close((int)fd);
			return 1;
		}
		close((int)fd);
		printf("%u %s\n", id, info.name[0] ? info.name : "-");
	}
}
