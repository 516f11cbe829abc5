#!/bin/sh
# The host row of the kernel matrix: the same scenarios as in the VMs, run on
# the running kernel with the host build.
#
#   run-host.sh BUILD_DIR BPFPROGS VM_DIR
#
# Writes VM_DIR/results/host-ARCH.result and VM_DIR/logs/host-ARCH.log;
# always exits 0 once the result file is written (the table decides).
set -u

build=$1
bpfprogs=$2
dir=$3
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
name=host-$arch
res=$dir/results/$name.result
log=$dir/logs/$name.log
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/results" "$dir/logs"

work=$(mktemp -d "${TMPDIR:-/tmp}/mw-vmtest-host.XXXXXX")
t0=$(date +%s)
{
	echo "VMTEST begin label=$name kernel=$(uname -r) arch=$(uname -m) cpus=$(nproc) btf=$(
		[ -r /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
	if [ "$(id -u)" -ne 0 ]; then
		echo "VMTEST scenario=boot result=fail secs=0 detail=the host scenarios load BPF programs: run as root"
	else
		MW_BPFPROGS=$bpfprogs MW_VERBOSE=${VM_VERBOSE:-0} \
			timeout -k 10 "${VM_TIMEOUT:-420}" sh "$here/scenarios.sh" "$build" \
			"$build/tools" "$work" 2>"$log"
		echo "VMTEST end rc=$?"
	fi
	echo "VMTEST wall_s=$(($(date +%s) - t0))"
} > "$res.tmp"
cp "$res.tmp" "$dir/logs/$name.out"
grep '^VMTEST ' "$res.tmp" > "$res"
rm -f "$res.tmp"
rm -rf "$work"
