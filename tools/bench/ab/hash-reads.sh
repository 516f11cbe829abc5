#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# hash-reads.sh BUILD_DIR: bytes the daemon reads while four miners started from
# one binary are reported (the executable hash cache, optimisations.md).
set -eu
B=$1
TOOLS=$(dirname "$0")/../../../build/tools
T=$(mktemp -d)
PIDS=()
cleanup() {
	kill "${PIDS[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
"$TOOLS/poolsim" --port-file "$T/port" --job-interval 2 --duration 120 --quiet >/dev/null &
PIDS+=($!)
. "$(dirname "$0")/daemon.sh"
start_daemon "$B" "$T"
PIDS+=("$P")
for _ in $(seq 100); do
	[ -s "$T/port" ] && break
	sleep 0.1
done
r0=$(awk '/^rchar/{print $2}' "/proc/$P/io")
for _ in 1 2 3 4; do
	"$TOOLS/minersim" --pool "127.0.0.1:$(cat "$T/port")" --proto xmrig --threads 1 \
		--duration 40 --submit-interval 2 >/dev/null 2>&1 &
	PIDS+=($!)
done
n=0
for _ in $(seq 200); do
	n=$(grep -c '"activity_id":1' "$T/f" 2>/dev/null || true)
	[ "${n:-0}" -ge 4 ] && break
	sleep 0.1
done
sleep 1
r1=$(awk '/^rchar/{print $2}' "/proc/$P/io")
echo "$(dirname "$B"): findings=$n daemon_read_bytes=$((r1 - r0)) binary=$(stat -c %s "$TOOLS/minersim")"
