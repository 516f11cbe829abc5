#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# daemon-cpu.sh BUILD_DIR STORM_ARGS...: the daemon's own CPU (10 ms ticks) while
# one storm runs, for before/after figures of optimisations (optimisations.md).
# Example: daemon-cpu.sh build exec --count 20000 --workers 2 --arg-bytes 1000
set -eu
B=$1
shift
TOOLS=$(dirname "$0")/../../../build/tools
T=$(mktemp -d)
. "$(dirname "$0")/daemon.sh"
P=
trap 'stop_daemon; rm -rf "$T"' EXIT
start_daemon "$B" "$T"
ticks() { awk '{print $14 + $15}' "/proc/$P/stat"; }
c0=$(ticks)
r=$("$TOOLS/storm" "$@")
sleep 1.3
c1=$(ticks)
echo "$(dirname "$B"): $r daemon_cpu_ticks=$((c1 - c0))"
