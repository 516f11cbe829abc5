#!/bin/sh
# Prints the kernel-matrix table from the result files and exits 1 if any
# scenario failed or is missing on any kernel (0 when all passed):
#
#   report.sh RESULTS_DIR NAME...
#
# NAME is a result file's name without .result (host-amd64, amd64-bullseye,
# arm64-bookworm, ...); a missing file counts as a failure of every scenario.
# Also written to RESULTS_DIR/table.txt.
set -u

dir=$1
shift
SCENARIOS="nobtf attach events miner benign sigterm btffile"

release_of() {
	case $1 in
	host-*) echo host ;;
	*-bullseye) echo "bullseye" ;;
	*-bookworm) echo "bookworm" ;;
	*-trixie) echo "trixie" ;;
	*) echo "${1#*-}" ;;
	esac
}

bad=0
details=""
{
	printf '%-7s %-22s %-9s' arch kernel release
	for s in $SCENARIOS; do printf ' %-7s' "$s"; done
	printf ' %6s\n' time
	for name in "$@"; do
		f=$dir/$name.result
		arch=${name%%-*}
		[ "$arch" = host ] && arch=${name#host-}
		case $arch in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
		kernel=$(sed -n 's/^VMTEST begin .*kernel=\([^ ]*\).*/\1/p' "$f" 2>/dev/null | head -n 1)
		wall=$(sed -n 's/^VMTEST wall_s=\([0-9]*\).*/\1/p' "$f" 2>/dev/null | tail -n 1)
		printf '%-7s %-22s %-9s' "$arch" "${kernel:-?}" "$(release_of "$name")"
		for s in $SCENARIOS; do
			r=$(sed -n "s/^VMTEST scenario=$s result=\([a-z]*\).*/\1/p" "$f" 2>/dev/null | tail -n 1)
			case $r in
			pass) cell=pass ;;
			fail) cell=FAIL bad=1 ;;
			*) cell=- bad=1 ;;
			esac
			printf ' %-7s' "$cell"
		done
		printf ' %5ss\n' "${wall:-?}"
		if [ ! -f "$f" ]; then
			details="$details
$name: no result file ($f)"
		else
			fails=$(grep -E '^VMTEST (scenario=[a-z]+ result=fail|diag )' "$f" |
				sed -e 's/^VMTEST scenario=//' -e 's/^VMTEST diag /verifier: /' | cut -c1-400)
			[ -z "$fails" ] || details="$details
$(printf '%s\n' "$fails" | sed "s/^/$name: /")"
		fi
	done
	# Which hook each program got, per kernel: the attach scenario (the
	# daemon's own choice) and btffile (an external BTF forces raw_tp).
	hooks=$(for name in "$@"; do
		for s in attach btffile; do
			sed -n "s/^VMTEST scenario=$s result=[a-z]* secs=[0-9]* detail=//p" \
				"$dir/$name.result" 2>/dev/null | tail -n 1 | awk -v row="$name" -v sc="$s" '
			{
				n = 0
				for (i = 1; i <= NF; i++) {
					w = $i
					sub(/;$/, "", w)
					if (w !~ /^[a-z0-9_]+=[a-z_]+\//)
						continue
					prog = substr(w, 1, index(w, "=") - 1)
					hook = substr(w, index(w, "=") + 1)
					fl = substr(hook, 1, index(hook, "/") - 1)
					if (fl == "perf_event") {
						gsub(/_/, " ", hook)
						prog = prog ": " substr(hook, index(hook, "/") + 1)
					}
					if (!(fl in list)) {
						order[++n] = fl
						list[fl] = prog
					} else
						list[fl] = list[fl] "," prog
				}
				out = ""
				for (i = 1; i <= n; i++)
					out = out (i > 1 ? "  " : "") order[i] "(" list[order[i]] ")"
				if (out != "")
					printf "  %-15s %-8s %s\n", row, sc, out
			}'
		done
	done)
	[ -z "$hooks" ] || printf '\nhooks:\n%s\n' "$hooks"
	if [ -n "$details" ]; then
		printf '\nfailures:%s\n' "$details"
	fi
	if [ "$bad" = 0 ]; then
		echo "vmtest: every scenario passed on every kernel"
	else
		echo "vmtest: FAILED (FAIL: the scenario failed; -: it did not run)"
	fi
} | tee "$dir/table.txt"
# The pipeline ran in a subshell: recompute the verdict from the table.
if grep -q '^vmtest: every scenario passed' "$dir/table.txt"; then
	exit 0
fi
exit 1
