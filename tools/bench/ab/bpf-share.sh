#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpf-share.sh BUILD_DIR REPS STORM_ARGS...: where a storm's CPU goes with this
# build's minerwatchd running, by perf's cpu-clock sampling of the storm's own
# threads. Each repetition profiles the storm once without the daemon and
# once with it, and prints both sample counts and the share of the storm's
# samples spent in BPF programs and the kernel code that runs them (hook
# dispatch, map operations, helpers). That share is a property of the build;
# the run-time ratio beside it moves by 10% a repetition on a shared machine.
# Needs perf (Debian: linux-perf).
# Example: bpf-share.sh build 3 connect --count 100000 --workers 2
set -eu
B=$1
REPS=$2
shift 2
command -v perf >/dev/null || { echo "bpf-share.sh: perf not found (linux-perf)" >&2; exit 2; }
TOOLS=$(dirname "$0")/../../../build/tools
T=$(mktemp -d)
. "$(dirname "$0")/daemon.sh"
P=
trap 'stop_daemon; rm -rf "$T"' EXIT
# "samples bpf_samples" of the storm under perf
profile() {
	perf record -q -e cpu-clock -F 2999 -a -o "$T/perf.data" -- "$TOOLS/storm" "$@" >/dev/null 2>&1
	perf report -i "$T/perf.data" --no-children --comm storm --sort symbol -q --stdio \
		-g none -n 2>/dev/null | awk '
	{ n = $2; sym = $4; all += n }
	sym ~ /^(bpf_prog_|__cgroup_bpf_run|__bpf_prog_run|bpf_trace_run|htab_|__htab_|lookup_nulls_elem|pcpu_freelist|__pcpu_freelist|bpf_skc_to_|bpf_get_socket_cookie|__sock_gen_cookie|bpf_ktime|ktime_get_boot|bpf_get_current|bpf_ringbuf|__bpf_ringbuf|bpf_map_)/ { bpf += n }
	END { printf "%d %d\n", all, bpf }'
}
for _ in $(seq "$REPS"); do
	a=$(profile "$@")
	start_daemon "$B" "$T"
	b=$(profile "$@")
	stop_daemon
	echo "$a $b" | awk -v b="$(dirname "$B")" '{
		printf "%s: storm samples %d without, %d with (%.3f); BPF share %.1f%% with\n",
			b, $1, $3, $3 / $1, 100 * $4 / $3 }'
done
