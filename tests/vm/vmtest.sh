#!/bin/sh
# `make vmtest`: the same build verified on several kernels and two
# architectures. Runs from the top of the tree after `make all`:
#
#   1. the arm64 cross build (BPF objects with __TARGET_ARCH_arm64 and
#      bpf/vmlinux/arm64/vmlinux.h; user space with aarch64-linux-gnu-gcc)
#   2. Debian's kernels and busybox-static, fetched once into VM_DIR/cache
#   3. one initramfs per architecture: busybox, the daemon, the CLI, the test
#      tools, bpfprogs and every shared library they load
#   4. the scenarios on the host kernel, then in one VM per kernel, VM_JOBS
#      at a time
#   5. the table; exit 1 if any scenario failed or did not run on any kernel
#
# A step that fails marks the rows that depend on it as failed, so the table
# is always printed. Settings (environment, set by tests/vm/vmtest.mk):
#   OUT            host build directory (build)
#   VM_DIR         everything of this test (build/vm)
#   VM_X86_SUITES  Debian releases booted on x86_64 (bullseye bookworm trixie)
#   VM_ARM64_SUITES  ... on arm64 (bullseye bookworm trixie)
#   VM_JOBS        VMs run at once (2)
#   VM_HOST        1 to include the host row (1)
#   MAKE, CC, ARM64_CC, ARM64_OUT  for the builds
#   VM_TIMEOUT, VM_SMP, VM_MEM, VM_SLOW, VM_VERBOSE  see run-vm.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-build}
VM_DIR=${VM_DIR:-$OUT/vm}
VM_X86_SUITES=${VM_X86_SUITES-bullseye bookworm trixie}
VM_ARM64_SUITES=${VM_ARM64_SUITES-bullseye bookworm trixie}
VM_JOBS=${VM_JOBS:-2}
VM_HOST=${VM_HOST:-1}
MAKE=${MAKE:-make}
CC=${CC:-cc}
ARM64_CC=${ARM64_CC:-aarch64-linux-gnu-gcc}
ARM64_OUT=${ARM64_OUT:-$OUT/arm64}
export VM_TIMEOUT VM_SMP VM_MEM VM_SLOW VM_VERBOSE 2>/dev/null || true

if [ "$(uname -m)" != x86_64 ]; then
	echo "vmtest: runs on an x86_64 host (the arm64 rows are a cross build under TCG)" >&2
	exit 1
fi

t_start=$(date +%s)
rm -rf "$VM_DIR/results" "$VM_DIR/logs"
mkdir -p "$VM_DIR/results" "$VM_DIR/logs" "$VM_DIR/cache"
step() { echo "vmtest: $*" >&2; }

rows=""
[ "$VM_HOST" = 1 ] && rows="host-amd64"
for s in $VM_X86_SUITES; do rows="$rows amd64-$s"; done
for s in $VM_ARM64_SUITES; do rows="$rows arm64-$s"; done

# broken ARCH REASON: every VM row of ARCH fails with REASON (no VM runs).
broken_amd64="" broken_arm64=""
mark_broken() {
	eval "broken_$1=\$2"
	step "$1: $2"
}

# --- 1. arm64 cross build --------------------------------------------------
if [ -n "$VM_ARM64_SUITES" ]; then
	step "cross-building for arm64 into $ARM64_OUT"
	# The linker names of the arm64 libevent (see install-deps.sh).
	mkdir -p "$ARM64_OUT/linklibs"
	for l in event_core event_extra; do
		ln -sf "/usr/lib/aarch64-linux-gnu/lib$l-2.1.so.7" "$ARM64_OUT/linklibs/lib$l.so"
	done
	if ! $MAKE --no-print-directory ARCH=arm64 CC="$ARM64_CC" OUT="$ARM64_OUT" \
		LDFLAGS="-L$ARM64_OUT/linklibs" \
		"$ARM64_OUT/minerwatchd" "$ARM64_OUT/minerwatch" "$ARM64_OUT/tools/minersim" \
		"$ARM64_OUT/tools/poolsim" "$ARM64_OUT/tools/cpuburn" "$ARM64_OUT/tools/heartbeat" \
		>"$VM_DIR/logs/build-arm64.log" 2>&1; then
		tail -n 20 "$VM_DIR/logs/build-arm64.log" >&2
		mark_broken arm64 "the arm64 cross build failed (log: $VM_DIR/logs/build-arm64.log)"
	fi
fi
for a in amd64 arm64; do
	case $a in amd64) cc=$CC ;; arm64) cc=$ARM64_CC ;; esac
	[ $a = arm64 ] && [ -z "$VM_ARM64_SUITES" ] && continue
	mkdir -p "$VM_DIR/bin-$a"
	$cc -O2 -Wall -Wextra -Werror -o "$VM_DIR/bin-$a/bpfprogs" "$here/bpfprogs.c" \
		>>"$VM_DIR/logs/build-$a.log" 2>&1 ||
		mark_broken $a "bpfprogs did not build with $cc"
done

# --- 2. kernels and busybox ------------------------------------------------
fetch=""
for s in $VM_X86_SUITES; do fetch="$fetch $s:amd64"; done
for s in $VM_ARM64_SUITES; do fetch="$fetch $s:arm64"; done
[ -n "$VM_X86_SUITES" ] && fetch="$fetch busybox:amd64"
[ -n "$VM_ARM64_SUITES" ] && fetch="$fetch busybox:arm64"
if [ -n "$fetch" ]; then
	step "kernels and busybox (cache: $VM_DIR/cache)"
	# shellcheck disable=SC2086
	sh "$here/fetch.sh" "$VM_DIR/cache" $fetch 2>&1 | tee "$VM_DIR/logs/fetch.log" >&2
	# Rows whose kernel is missing fail in run-vm.sh with the reason.
fi

# --- 3. initramfs per architecture ------------------------------------------
mkinitramfs() { # ARCH BUILD_DIR
	[ -x "$VM_DIR/cache/busybox-$1" ] || { mark_broken "$1" "no busybox-static for $1"; return; }
	set -- "$1" "$2"
	sh "$here/mkinitramfs.sh" -a "$1" -o "$VM_DIR/initramfs-$1.cpio.gz" \
		-b "$VM_DIR/cache/busybox-$1" -i "$here/init" \
		-e "$2/minerwatchd:/opt/mw/bin/minerwatchd" -e "$2/minerwatch:/opt/mw/bin/minerwatch" \
		-e "$2/tools/minersim:/opt/mw/tools/minersim" -e "$2/tools/poolsim:/opt/mw/tools/poolsim" \
		-e "$2/tools/cpuburn:/opt/mw/tools/cpuburn" -e "$2/tools/heartbeat:/opt/mw/tools/heartbeat" \
		-e "$VM_DIR/bin-$1/bpfprogs:/opt/mw/tools/bpfprogs" \
		-f "$here/scenarios.sh:/opt/mw/scenarios.sh" 2>>"$VM_DIR/logs/initramfs-$1.log" ||
		mark_broken "$1" "the initramfs did not build (log: $VM_DIR/logs/initramfs-$1.log)"
}
rm -f "$VM_DIR"/initramfs-*.cpio.gz
[ -n "$VM_X86_SUITES" ] && [ -z "$broken_amd64" ] && mkinitramfs amd64 "$OUT"
[ -n "$VM_ARM64_SUITES" ] && [ -z "$broken_arm64" ] && mkinitramfs arm64 "$ARM64_OUT"

# --- 4. the host, then the VMs ---------------------------------------------
if [ "$VM_HOST" = 1 ]; then
	step "scenarios on the host kernel $(uname -r)"
	sh "$here/run-host.sh" "$OUT" "$VM_DIR/bin-amd64/bpfprogs" "$VM_DIR"
fi
vms=""
for s in $VM_ARM64_SUITES; do
	if [ -n "$broken_arm64" ]; then
		printf 'VMTEST begin label=arm64-%s arch=arm64\nVMTEST scenario=boot result=fail secs=0 detail=%s\n' \
			"$s" "$broken_arm64" > "$VM_DIR/results/arm64-$s.result"
	else
		vms="$vms arm64:$s"
	fi
done
for s in $VM_X86_SUITES; do
	if [ -n "$broken_amd64" ]; then
		printf 'VMTEST begin label=amd64-%s arch=amd64\nVMTEST scenario=boot result=fail secs=0 detail=%s\n' \
			"$s" "$broken_amd64" > "$VM_DIR/results/amd64-$s.result"
	else
		vms="$vms amd64:$s"
	fi
done
if [ -n "$vms" ]; then
	step "booting$vms ($VM_JOBS at a time, TCG)"
	# xargs runs the job pool; each run-vm.sh writes its own result file.
	# shellcheck disable=SC2086
	printf '%s\n' $vms | tr ':' ' ' | xargs -P "$VM_JOBS" -L 1 sh "$here/run-vm.sh" "$VM_DIR"
fi

# --- 5. the table ------------------------------------------------------------
echo "vmtest: $(($(date +%s) - t_start)) s in all" >&2
# shellcheck disable=SC2086
sh "$here/report.sh" "$VM_DIR/results" $rows
