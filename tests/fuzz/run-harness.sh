#!/bin/sh
# Runs one libFuzzer harness for a set time (see tests/fuzz/fuzz.mk):
#   run-harness.sh OUTDIR HARNESS SECONDS [LIBFUZZER FLAG]...
# New inputs go to OUTDIR/corpus/HARNESS (the committed corpus is only read),
# crash inputs to OUTDIR/artifacts/, the log and exit status to OUTDIR/logs/.
# Always exits 0: summary.sh decides, once every harness has run.
set -u
out=$1 name=$2 secs=$3
shift 3
dir=$(dirname "$0")
mkdir -p "$out/corpus/$name" "$out/artifacts" "$out/logs"
set -- "$@" -max_total_time="$secs" -artifact_prefix="$out/artifacts/$name-"
if [ -f "$dir/$name.dict" ]; then
	set -- "$@" -dict="$dir/$name.dict"
fi
echo "  FUZZ     $name for ${secs}s"
"$out/$name" "$@" "$out/corpus/$name" "$dir/corpus/$name" >"$out/logs/$name.log" 2>&1
echo $? >"$out/logs/$name.rc"
sh "$dir/summary.sh" --one "$out" "$name"
exit 0
