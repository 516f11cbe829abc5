#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# prog-time.sh BUILD_DIR STORM_ARGS...: the time each of the daemon's BPF
# programs spent per run while one storm ran, from the kernel's own program
# statistics (kernel.bpf_stats_enabled), for before/after figures of
# optimisations (optimisations.md). The statistics add two clock reads to
# every run, so compare figures taken this way with each other only.
# Example: prog-time.sh build connect --count 50000 --workers 2
set -eu
B=$1
shift
TOOLS=$(dirname "$0")/../../../build/tools
T=$(mktemp -d)
was=$(sysctl -n kernel.bpf_stats_enabled)
. "$(dirname "$0")/daemon.sh"
P=
# The statistics go off first: left on, they slow every BPF program on the host.
trap 'sysctl -qw kernel.bpf_stats_enabled=$was; stop_daemon; rm -rf "$T"' EXIT
start_daemon "$B" "$T"
# name run_cnt run_time_ns of this daemon's programs, sorted by name
snap() {
	ids=$(cat /proc/$P/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u)
	bpftool prog show -j | python3 -c '
import json, sys
ids = set(map(int, sys.argv[1].split()))
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p["name"], p.get("run_cnt", 0), p.get("run_time_ns", 0))' "$ids" | sort
}
sysctl -qw kernel.bpf_stats_enabled=1
snap >"$T/a"
r=$("$TOOLS/storm" "$@")
snap >"$T/b"
echo "$(dirname "$B"): $r"
join "$T/a" "$T/b" | awk '{ n = $4 - $2; t = $5 - $3
	if (n > 100) printf "  %-18s %9d runs %6.0f ns/run %7.1f ms\n", $1, n, t / n, t / 1e6 }'
