// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const char *const names[] = {
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
	"cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
	"cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override",
	"cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read",
	"cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
};

const char *caps__name(int cap)
{
	if (cap < 0 || (size_t)cap >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[cap];
}

int caps__last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last;
}

static int get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return (int)syscall(SYS_capget, &h, d);
}

static int set(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return (int)syscall(SYS_capset, &h, d);
}

static uint64_t mask64(uint32_t lo, uint32_t hi)
{
	return (uint64_t)lo | (uint64_t)hi << 32;
}

/*
 * What loading and attaching the programs needs. Since 5.8 each of CAP_BPF
 * (maps and programs), CAP_PERFMON (tracing programs: tp_btf, raw_tp, and
 * the system-wide perf events of CPU sampling) and CAP_NET_ADMIN (the
 * cgroup connect and sendmsg programs) is enough for its part, and
 * CAP_SYS_ADMIN stands in for all three; before 5.8 (no CAP_BPF in the
 * kernel) only CAP_SYS_ADMIN will do. The kernel refuses a missing one with
 * EPERM, which says nothing about which: this names it.
 */
int caps__missing_for_attach(uint64_t eff, int last_cap, char *out, size_t outsz)
{
	static const struct {
		int cap;
		const char *name, *what;
	} need[] = {
		{ CAP_BPF, "CAP_BPF", "BPF maps and programs" },
		{ CAP_PERFMON, "CAP_PERFMON", "tracing programs and CPU sampling" },
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN", "the cgroup connection hooks" },
	};
	size_t n = 0;
	int missing = 0;

	if (outsz)
		out[0] = '\0';
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return 0;
	if (last_cap < CAP_BPF) {
		snprintf(out, outsz, "CAP_SYS_ADMIN (this kernel predates CAP_BPF and CAP_PERFMON)");
		return 1;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (eff & (1ULL << need[i].cap))
			continue;
		if (n < outsz)
			n += (size_t)snprintf(out + n, outsz - n, "%s%s (%s)", missing ? ", " : "",
					      need[i].name, need[i].what);
		missing++;
	}
	return missing;
}

uint64_t caps__effective(void)
{
	struct __user_cap_data_struct d[2];

	if (get(d))
		return 0;
	return mask64(d[0].effective, d[1].effective);
}

int caps__drop_after_attach(char *err, size_t errsz)
{
	struct __user_cap_data_struct d[2];
	uint64_t have, keep;

	if (get(d)) {
		snprintf(err, errsz, "capget: %s", strerror(errno));
		return -errno;
	}
	have = mask64(d[0].permitted, d[1].permitted);
	keep = 1ULL << CAP_SYS_PTRACE;
	/*
	 * Reading executables to hash them: CAP_DAC_READ_SEARCH, or where it was
	 * not granted (ECS gives Docker's default set) CAP_DAC_OVERRIDE, which
	 * is used for nothing but reads here.
	 */
	if (have & (1ULL << CAP_DAC_READ_SEARCH))
		keep |= 1ULL << CAP_DAC_READ_SEARCH;
	else
		keep |= 1ULL << CAP_DAC_OVERRIDE;
	/* bpf(2) on map fds: CAP_BPF where it exists and was given, else CAP_SYS_ADMIN. */
	if (caps__last() >= CAP_BPF && (have & (1ULL << CAP_BPF)))
		keep |= 1ULL << CAP_BPF;
	else
		keep |= 1ULL << CAP_SYS_ADMIN;
	keep &= have;
	d[0].permitted = d[0].effective = (uint32_t)keep;
	d[1].permitted = d[1].effective = (uint32_t)(keep >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errsz, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/*
	 * The only program ever run is the self-check's canary (the daemon's own
	 * binary, which exits at once): it needs no capabilities, ambient ones go.
	 */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (set(d)) {
		snprintf(err, errsz, "capset: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
