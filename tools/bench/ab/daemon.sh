# SPDX-License-Identifier: Apache-2.0
# Sourced by the A/B scripts here: start_daemon BUILD_DIR DIR starts that
# build's minerwatchd with an empty configuration and its files under DIR,
# sets P to its pid and returns once it answers status (at most 10 s), plus
# a second for its start-up scan to settle. Never the real IMDS or ECS agent:
# both point at a closed loopback port. stop_daemon stops it again, if it
# runs, and clears P; nothing in it fails, so an EXIT trap under set -e
# runs to its end.
start_daemon() {
	: >"$2/c.conf"
	AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1 "$1/minerwatchd" -c "$2/c.conf" \
		-o "$2/f" -s "$2/s" --state-dir "$2/st" --ecs-agent-url http://127.0.0.1:1 2>/dev/null &
	P=$!
	for _ in $(seq 100); do
		"$1/minerwatch" status -s "$2/s" --quiet 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
}

stop_daemon() {
	if [ -n "${P:-}" ]; then
		kill "$P" 2>/dev/null || true
		wait "$P" 2>/dev/null || true
	fi
	P=
}
