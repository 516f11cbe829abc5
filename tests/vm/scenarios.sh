#!/bin/sh
# The kernel-matrix scenarios: run inside each test VM by its /init, and on the
# host by `make vmtest` (the same script, so every kernel answers the same
# questions). POSIX sh: busybox ash in the VMs, dash on the host.
#
#   scenarios.sh BIN_DIR TOOLS_DIR WORK_DIR
#
#   BIN_DIR    holds minerwatchd and minerwatch
#   TOOLS_DIR  holds minersim, poolsim, cpuburn, heartbeat and bpfprogs
#              (MW_BPFPROGS overrides the path of bpfprogs)
#   WORK_DIR   scratch space (config, socket, findings, logs); created
#
# Environment: MW_VM=1 inside a VM, where nothing else loads BPF programs, so
# "no mw_ program left" is checked for the whole kernel; on the host other
# sensors may be running, so only the programs of the daemon under test are
# checked. MW_SLOW multiplies every deadline (TCG is slow; default 1).
#
# Each scenario prints one line, and nothing else on stdout starts with VMTEST:
#   VMTEST scenario=NAME result=pass|fail secs=N detail=TEXT
# (secs: wall time since the previous line)
# The scenarios: nobtf attach events miner benign sigterm btffile.
# Every wait is a poll with a deadline; every process started is stopped.

# Functions passed to poll by name look unreachable to shellcheck.
# shellcheck disable=SC2317
set -u

bin=$1
tools=$2
work=$3
slow=${MW_SLOW:-1}
bpfprogs=${MW_BPFPROGS:-$tools/bpfprogs}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# The daemon must never reach an instance metadata service or an ECS agent:
# both are a closed port on loopback.
CLOSED=http://127.0.0.1:1
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$CLOSED
unset AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE 2>/dev/null || true

now() { date +%s; }
failed=0
last_t=$(now)
result() { # NAME pass|fail DETAIL
	[ "$2" = pass ] || failed=1
	_t=$(now)
	echo "VMTEST scenario=$1 result=$2 secs=$((_t - last_t)) detail=$(printf '%s' "$3" | tr '\n' ' ' | cut -c1-600)"
	last_t=$_t
}

# poll SECONDS COMMAND...: runs COMMAND every half second until it succeeds
# or SECONDS (times MW_SLOW) have passed.
poll() {
	_deadline=$(($(now) + $1 * slow))
	shift
	while :; do
		"$@" && return 0
		[ "$(now)" -lt "$_deadline" ] || return 1
		sleep 0.5
	done
}

# wait_exit PID SECONDS: waits for a child to exit, killing it at the deadline;
# the child's exit status is in $rc (-1 when it had to be killed).
wait_exit() {
	if poll "$2" not_running "$1"; then
		wait "$1"
		rc=$?
	else
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		rc=-1
	fi
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

children=""
child_add() { children="$children $1"; }
child_del() {
	_keep=""
	for _c in $children; do
		[ "$_c" = "$1" ] || _keep="$_keep $_c"
	done
	children=$_keep
}
cleanup() {
	for p in $children; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $children; do
		poll 5 not_running "$p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	children=""
}
trap cleanup EXIT

# --- the daemon --------------------------------------------------------------
daemon_pid=""
# daemon_start NAME [ARGS...]: starts minerwatchd with its own files under
# $work/NAME (config, socket, state, findings, stderr), through $wrap if set.
daemon_start() {
	d=$work/$1
	shift
	rm -rf "$d"
	mkdir -p "$d/run"
	: > "$d/minerwatch.conf"
	dsock=$d/run/minerwatch.sock
	dout=$d/findings.jsonl
	derr=$d/minerwatchd.stderr
	${wrap:-} "$bin/minerwatchd" -c "$d/minerwatch.conf" -o "$dout" -s "$dsock" \
		--state-dir "$d/state" --ecs-agent-url "$CLOSED" "$@" 2>"$derr" &
	daemon_pid=$!
	child_add "$daemon_pid"
}

status_json() { "$bin/minerwatch" status --json -s "$dsock" 2>/dev/null; }
# first "KEY":"string" or "KEY":number of a JSON object on one line
json_str() { awk -v k="\"$1\":\"" 'i = index($0, k) { s = substr($0, i + length(k)); print substr(s, 1, index(s, "\"") - 1); exit }'; }
json_num() { awk -v k="\"$1\":" 'i = index($0, k) { s = substr($0, i + length(k)); sub(/[^0-9].*/, "", s); print s; exit }'; }

# The state once the daemon is past "starting": healthy, degraded, or exited.
settled() {
	not_running "$daemon_pid" && { st=exited; return 0; }
	st=$(status_json | json_str state)
	[ -n "$st" ] && [ "$st" != starting ]
}

# Programs as "name hook attached error" lines (tab-separated).
programs() {
	status_json | awk '
	{
		i = index($0, "\"programs\":[{")
		if (!i) exit
		s = substr($0, i + 13)
		s = substr(s, 1, index(s, "}]") - 1)
		n = split(s, a, /\},\{/)
		for (k = 1; k <= n; k++) {
			name = ""; hook = ""; err = ""; att = "false"
			if (match(a[k], /"name":"[^"]*"/)) name = substr(a[k], RSTART + 8, RLENGTH - 9)
			if (match(a[k], /"hook":"[^"]*"/)) hook = substr(a[k], RSTART + 8, RLENGTH - 9)
			if (match(a[k], /"error":"[^"]*"/)) err = substr(a[k], RSTART + 9, RLENGTH - 10)
			if (a[k] ~ /"attached":true/) att = "true"
			printf "%s\t%s\t%s\t%s\n", name, hook, att, err
		}
	}'
}

counter() { status_json | json_num "$1"; }

# Program ids the daemon holds (from /proc/PID/fdinfo), to check after it stops.
held_prog_ids() {
	cat "/proc/$1/fdinfo/"* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u
}

# daemon_stop: SIGTERM, bounded wait; $rc is the exit status.
daemon_stop() {
	kill -TERM "$daemon_pid" 2>/dev/null
	wait_exit "$daemon_pid" 20
	child_del "$daemon_pid"
}

# --- scenario: no BTF ---------------------------------------------------------
# A kernel without BTF, as the daemon sees it: /sys/kernel/btf hidden under an
# empty tmpfs in a private mount namespace. Then an external BTF file that
# does not exist. Both must stop with exit status 2 and say what to do.
hide_btf() {
	exec unshare -m --propagation private sh -c \
		'mount -t tmpfs nobtf /sys/kernel/btf && exec "$@"' sh "$@"
}
scenario_nobtf() {
	bad=""
	wrap=hide_btf
	daemon_start nobtf-kernel
	wrap=""
	wait_exit "$daemon_pid" 30
	child_del "$daemon_pid"
	msg1=$(tail -c 300 "$derr")
	[ "$rc" = 2 ] || bad="$bad no-kernel-BTF:exit-$rc"
	grep -q "CONFIG_DEBUG_INFO_BTF" "$derr" && grep -q -- "--btf" "$derr" ||
		bad="$bad no-kernel-BTF:message"

	daemon_start nobtf-file --btf /nonexistent/vmlinux.btf
	wait_exit "$daemon_pid" 30
	child_del "$daemon_pid"
	msg2=$(tail -c 300 "$derr")
	[ "$rc" = 2 ] || bad="$bad missing-file:exit-$rc"
	grep -q "BTF file /nonexistent/vmlinux.btf" "$derr" || bad="$bad missing-file:message"

	if [ -z "$bad" ]; then
		result nobtf pass "exit 2 twice: $msg1 | $msg2"
	else
		result nobtf fail "${bad# }: $msg1 | $msg2"
	fi
}

EXPECTED="exec exit cpu_sample connect4 connect6 sendmsg4 sendmsg6 skb_egress skb_ingress sock_close"

# check_programs WANT_FLAVOUR: every expected program attached; sets $detail
# to name=hook pairs, and $bad to what is wrong.
check_programs() {
	progs=$(programs)
	detail="" bad=""
	for name in $EXPECTED; do
		line=$(printf '%s\n' "$progs" | awk -F '\t' -v n="$name" '$1 == n')
		if [ -z "$line" ]; then
			bad="$bad $name:missing"
			continue
		fi
		hook=$(printf '%s' "$line" | cut -f2)
		att=$(printf '%s' "$line" | cut -f3)
		err=$(printf '%s' "$line" | cut -f4)
		detail="$detail $name=$(printf '%s' "$hook" | tr ' ' '_')"
		[ "$att" = true ] || bad="$bad $name:not-attached($err)"
		case $name in
		exec | exit | sock_close)
			[ -z "$1" ] || case $hook in "$1"/*) ;; *) bad="$bad $name:not-$1" ;; esac ;;
		esac
	done
}

# When loading fails, one more start at debug level puts libbpf's and the
# verifier's words in the log (lines prefixed VMLOG, at most MW_DIAG_LINES).
diagnose() {
	daemon_start diag --log-level debug
	wait_exit "$daemon_pid" 60
	child_del "$daemon_pid"
	[ "$rc" = -1 ] && return
	# One line per program the kernel refused, with the verifier's verdict
	# (the lines just before "processed N insns").
	awk '
	/^processed [0-9]+ insns/ { why = p2 " / " p1 }
	{ if ($0 !~ /^[[:space:]]*$/) { p2 = p1; p1 = $0 } }
	match($0, /prog .[A-Za-z0-9_]+.: failed to load: -?[0-9]+/) {
		s = substr($0, RSTART, RLENGTH)
		key = s
		if (!(key in seen)) {
			seen[key] = 1
			gsub(/[^A-Za-z0-9_:=()<>,.\/+ -]/, "", why)
			print "VMTEST diag " s ": " substr(why, 1, 300)
		}
		why = ""
	}' "$derr"
	grep -v '^[[:space:]]*$' "$derr" | grep -n -B "${MW_DIAG_CONTEXT:-40}" -A 5 \
		-e 'failed to load' -e 'invalid' -e 'unknown' -e 'not supported' -e 'failed to' \
		-e 'error' | tail -n "${MW_DIAG_LINES:-200}" | sed 's/^/VMLOG /'
}

# --- scenario: attach ---------------------------------------------------------
scenario_attach() {
	daemon_start main
	if ! poll 90 settled; then
		result attach fail "no status after $((90 * slow)) s: $(tail -c 300 "$derr")"
		return 1
	fi
	if [ "$st" = exited ]; then
		wait "$daemon_pid"
		result attach fail "minerwatchd exited with $?: $(tail -c 400 "$derr")"
		child_del "$daemon_pid"
		diagnose
		return 1
	fi
	check_programs ""
	# A fallback is fine when status says which one and the log says why.
	why=$(grep -m 1 "retrying with raw tracepoints" "$derr" | cut -c1-300)
	[ -z "$why" ] || detail="$detail fallback: $why"
	if [ "$st" = healthy ] && [ -z "$bad" ]; then
		result attach pass "${detail# }"
	else
		result attach fail "state=$st$bad;$detail"
	fi
	main_ids=$(held_prog_ids "$daemon_pid")
	return 0
}

# --- scenario: events ---------------------------------------------------------
# Execs, a loopback connection and CPU samples must reach the counters.
scenario_events() {
	e0=$(counter exec)
	c0=$(counter connect)
	for _ in 1 2 3; do /bin/true; done
	# One short benign connection: heartbeat's client to its echo server.
	"$tools/heartbeat" --serve --port 0 --port-file "$work/echo.port" --duration 60 --quiet \
		>/dev/null 2>&1 &
	echo_pid=$!
	child_add "$echo_pid"
	poll 20 test -s "$work/echo.port"
	port=$(cat "$work/echo.port" 2>/dev/null)
	if [ -n "$port" ]; then
		"$tools/heartbeat" --to "127.0.0.1:$port" --interval 0.5 --duration 2 --quiet \
			>/dev/null 2>&1 &
		hb=$!
		child_add "$hb"
		wait_exit "$hb" 30
		child_del "$hb"
	fi
	counted() {
		e=$(counter exec) c=$(counter connect) s=$(counter cpu_samples)
		[ "${e:-0}" -ge $((${e0:-0} + 3)) ] && [ "${c:-0}" -gt "${c0:-0}" ] && [ "${s:-0}" -gt 0 ]
	}
	# The self-check's canaries reached every hook on this kernel too: two
	# rounds judged, none found not firing, and at least the eight hooks that
	# do not need ::1 found firing.
	self_checked() {
		_st=$(status_json)
		r=$(printf '%s' "$_st" | json_num rounds)
		ok=$(printf '%s' "$_st" | grep -o '"self_check":"ok"' | wc -l)
		nf=$(printf '%s' "$_st" | grep -o '"self_check":"not firing"' | wc -l)
		[ "${r:-0}" -ge 2 ] && [ "$ok" -ge 8 ] && [ "$nf" -eq 0 ]
	}
	if [ -n "$port" ] && poll 30 counted && poll 30 self_checked; then
		result events pass "exec $e0->$e connect $c0->$c cpu_samples $s; self-check $r rounds, $ok hooks firing"
	else
		result events fail "exec ${e0:-?}->${e:-?} connect ${c0:-?}->${c:-?} cpu_samples ${s:-?} (want +3, +1, >0)${port:- (echo server did not start)}; self-check ${r:-?} rounds, ${ok:-?} hooks firing, ${nf:-?} not firing (want >= 2, >= 8, 0)"
	fi
	kill -TERM "$echo_pid" 2>/dev/null
	wait_exit "$echo_pid" 10
	child_del "$echo_pid"
}

# --- scenarios: miner and benign (run side by side) -------------------------
first_pid() { # FILE: the pid=N first line a tool prints
	sed -n '1s/^pid=\([0-9]*\).*/\1/p' "$1" 2>/dev/null
}
# findings_for PID: finding lines whose process is PID
findings_for() { grep "\"pid\":$1[,}]" "$dout" 2>/dev/null; }
max_severity() { findings_for "$1" | sed -n 's/.*"severity_id":\([0-9]*\).*/\1/p' | sort -n | tail -n 1; }

scenario_miner_benign() {
	"$tools/poolsim" --port 0 --port-file "$work/pool.port" --job-interval 2 --duration 120 \
		--quiet >/dev/null 2>&1 &
	pool=$!
	child_add "$pool"
	if ! poll 20 test -s "$work/pool.port"; then
		result miner fail "poolsim did not start"
		result benign fail "not run (poolsim did not start)"
		return
	fi
	port=$(cat "$work/pool.port")
	"$tools/cpuburn" --threads 1 --duration 12 >"$work/cpuburn.out" 2>&1 &
	burn=$!
	"$tools/minersim" --pool "127.0.0.1:$port" --proto stratum --threads 1 --duration 60 \
		--submit-interval 2 >"$work/minersim.out" 2>&1 &
	miner=$!
	child_add "$burn"
	child_add "$miner"

	has_pid() { [ -n "$(first_pid "$1")" ]; }
	poll 20 has_pid "$work/minersim.out"
	mpid=$(first_pid "$work/minersim.out")
	sev_ok() {
		sev=$(max_severity "$mpid")
		[ "${MW_VERBOSE:-0}" = 1 ] && echo "VMLOG t=$(now) $(status_json | cut -c1-1500)"
		[ "${sev:-0}" -ge 3 ]
	}
	if [ -n "$mpid" ] && poll 60 sev_ok; then
		proto=$(findings_for "$mpid" | grep -o '"protocol":{[^}]*}' | head -n 1 |
			json_str name)
		result miner pass "minersim pid $mpid (stratum, 127.0.0.1:$port) reported, severity $sev, protocol ${proto:-?}"
	else
		result miner fail "minersim pid ${mpid:-?} not reported with severity >= 3 (max ${sev:-none}); $(tail -c 200 "$derr")"
	fi

	bpid=$(first_pid "$work/cpuburn.out")
	s0=$(counter cpu_samples)
	wait_exit "$burn" 30
	# The correlator runs every second: give it a few rounds after the burner
	# has run its course.
	sleep 3
	s1=$(counter cpu_samples)
	bf=$(findings_for "${bpid:-none}" | head -c 300)
	if [ -n "$bpid" ] && [ "$rc" = 0 ] && [ -z "$bf" ] && [ "${s1:-0}" -gt "${s0:-0}" ]; then
		result benign pass "cpuburn pid $bpid ran 12 s, not reported (cpu samples $s0->$s1)"
	else
		result benign fail "cpuburn pid ${bpid:-?} exit ${rc} samples ${s0:-?}->${s1:-?} finding: ${bf:-none}"
	fi
	kill -TERM "$miner" "$pool" 2>/dev/null
	wait_exit "$miner" 10
	wait_exit "$pool" 10
	child_del "$miner"
	child_del "$pool"
	child_del "$burn"
}

# --- scenario: SIGTERM ---------------------------------------------------------
ids_gone() {
	live=$("$bpfprogs" | awk '{ print $1 }')
	for id in $1; do
		printf '%s\n' "$live" | grep -qx "$id" && return 1
	done
	if [ "${MW_VM:-0}" = 1 ]; then
		! "$bpfprogs" | awk '{ print $2 }' | grep -q '^mw_'
	fi
}

# stop_and_check NAME IDS: SIGTERM the daemon; pass when it exits 0 and every
# program it held is released (the kernel frees them after an RCU grace period).
stop_and_check() {
	daemon_stop
	if [ "$rc" != 0 ]; then
		result "$1" fail "exit status $rc after SIGTERM: $(tail -c 300 "$derr")"
		return
	fi
	if [ -z "$2" ]; then
		result "$1" fail "exit 0, but no program ids were seen in /proc/PID/fdinfo"
		return
	fi
	if ! poll 15 ids_gone "$2"; then
		result "$1" fail "exit 0, but programs still loaded: $("$bpfprogs" | grep ' mw_' | tr '\n' ' ')"
		return
	fi
	if [ -e "$dsock" ]; then
		result "$1" fail "exit 0, programs released, but the socket $dsock is left"
		return
	fi
	result "$1" pass "exit 0; the $(echo "$2" | wc -w) programs it held are released${MW_VM:+; no mw_ program left}"
}

# --- scenario: external BTF file ---------------------------------------------
scenario_btffile() {
	cp /sys/kernel/btf/vmlinux "$work/vmlinux.btf" || {
		result btffile fail "cannot copy /sys/kernel/btf/vmlinux"
		return
	}
	daemon_start btffile --btf "$work/vmlinux.btf"
	if ! poll 90 settled || [ "$st" = exited ]; then
		result btffile fail "state ${st:-none}: $(tail -c 400 "$derr")"
		return
	fi
	check_programs raw_tp
	src=$(status_json | json_str btf)
	e0=$(counter exec)
	for _ in 1 2 3; do /bin/true; done
	execs() { e=$(counter exec); [ "${e:-0}" -ge $((${e0:-0} + 3)) ]; }
	poll 20 execs || bad="$bad exec-not-counted(${e0:-?}->${e:-?})"
	[ "$src" = "$work/vmlinux.btf" ] || bad="$bad btf-source=$src"
	ids=$(held_prog_ids "$daemon_pid")
	daemon_stop
	[ "$rc" = 0 ] || bad="$bad exit-$rc"
	poll 15 ids_gone "$ids" || bad="$bad programs-left"
	if [ "$st" = healthy ] && [ -z "$bad" ]; then
		result btffile pass "BTF from $src; exec $e0->$e;$detail; exit 0"
	else
		result btffile fail "state=$st$bad;$detail"
	fi
}

scenario_nobtf
if scenario_attach; then
	scenario_events
	scenario_miner_benign
	stop_and_check sigterm "$main_ids"
else
	cleanup
	for s in events miner benign sigterm; do
		result "$s" fail "not run: the daemon did not start"
	done
fi
scenario_btffile
cleanup
# On a failure (or with MW_VERBOSE=1), what the daemons and tools said.
if [ "$failed" = 1 ] || [ "${MW_VERBOSE:-0}" = 1 ]; then
	for f in "$work"/*/minerwatchd.stderr "$work"/*.out "$work"/main/findings.jsonl; do
		[ -s "$f" ] || continue
		echo "VMLOG ==> $f"
		tail -n "${MW_LOG_LINES:-40}" "$f" | cut -c1-"${MW_LOG_WIDTH:-400}" | sed 's/^/VMLOG /'
	done
fi
exit "$failed"
