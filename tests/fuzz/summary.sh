#!/bin/sh
# Executions, coverage and result per harness, from libFuzzer's logs:
#   summary.sh OUTDIR HARNESS...        the table; exits 1 if any crashed or did not run
#   summary.sh --one OUTDIR HARNESS     one line, for run-harness.sh
set -u
one=0
if [ "$1" = --one ]; then
	one=1
	shift
fi
out=$1
shift
failed=0

line() {
	log=$out/logs/$1.log
	rc=$(cat "$out/logs/$1.rc" 2>/dev/null || echo missing)
	if [ ! -f "$log" ]; then
		printf '%-18s %12s %9s %7s %7s  %s\n' "$1" - - - - "NOT RUN"
		return 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o ' cov: [0-9]*' "$log" | tail -n 1 | tr -dc 0-9)
	ft=$(grep -o ' ft: [0-9]*' "$log" | tail -n 1 | tr -dc 0-9)
	if [ "$rc" = 0 ]; then
		result=ok
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		result="FAILED (exit $rc)${art:+: $art}"
	fi
	printf '%-18s %12s %9s %7s %7s  %s\n' "$1" "${runs:-?}" "${rate:-?}" "${cov:-?}" \
		"${ft:-?}" "$result"
	[ "$rc" = 0 ]
}

if [ $one = 1 ]; then
	line "$1" || true
	exit 0
fi
printf '%-18s %12s %9s %7s %7s  %s\n' harness executions exec/s cov ft result
for h in "$@"; do
	line "$h" || failed=1
done
if [ $failed = 1 ]; then
	echo "fuzz: a harness failed; see $out/logs/ and $out/artifacts/" >&2
	exit 1
fi
