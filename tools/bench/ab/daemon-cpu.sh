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
: >"$T/c.conf"
# Never the real IMDS or ECS agent: a closed loopback port.
AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1 "$B/minerwatchd" -c "$T/c.conf" \
	-o "$T/f" -s "$T/s" --state-dir "$T/st" --ecs-agent-url http://127.0.0.1:1 2>/dev/null &
P=$!
trap 'kill $P 2>/dev/null; wait $P 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do
	"$B/minerwatch" status -s "$T/s" --quiet 2>/dev/null && break
	sleep 0.1
done
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$P/stat"; }
c0=$(ticks)
r=$("$TOOLS/storm" "$@")
sleep 1.3
c1=$(ticks)
echo "$(dirname "$B"): $r daemon_cpu_ticks=$((c1 - c0))"
