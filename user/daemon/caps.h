/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Least privilege: once every program is attached, the daemon keeps only the
 * capabilities it still uses, and drops the rest from its effective,
 * permitted and inheritable sets (it never executes anything, and sets
 * no_new_privs).
 *
 * Still needed after attach:
 *   CAP_BPF (CAP_SYS_ADMIN on kernels or containers without CAP_BPF)
 *           map lookups and updates through bpf(2), which kernels with
 *           unprivileged BPF disabled refuse without it;
 *   CAP_SYS_PTRACE       other processes' /proc/PID/exe, fd and environment;
 *   CAP_DAC_READ_SEARCH  hashing executables that root cannot otherwise read
 *                        (CAP_DAC_OVERRIDE where only that was granted).
 */
#ifndef MW_CAPS_H
#define MW_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Drops all but the capabilities above. 0, or -errno with the reason in err. */
int caps__drop_after_attach(char *err, size_t errsz);
/* The effective set as a 64-bit mask (bit n = capability n); 0 on error. */
uint64_t caps__effective(void);
/*
 * The capabilities loading and attaching needs that eff (an effective set)
 * lacks, given the kernel's last capability (caps__last()): how many, and
 * their names and uses in out ("CAP_PERFMON (tracing programs ...), ...").
 * 0 when nothing is missing.
 */
int caps__missing_for_attach(uint64_t eff, int last_cap, char *out, size_t outsz);
/* "cap_bpf", ... for capability n; NULL when unknown. */
const char *caps__name(int cap);
int caps__last(void);

#endif
