// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Owns the one definition of every map and tunable: see maps.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MW_DEFINE_MAPS
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
