#!/bin/sh
# Boots one kernel of the matrix under QEMU (TCG) with the test initramfs and
# keeps what its /init printed:
#
#   run-vm.sh VM_DIR ARCH SUITE
#
#   ARCH    amd64 or arm64
#   SUITE   the Debian release whose kernel boots: bullseye, bookworm, trixie
#   VM_DIR  holds cache/kernel-SUITE-ARCH/vmlinuz and initramfs-ARCH.cpio.gz;
#           writes logs/ARCH-SUITE.log (the whole console) and
#           results/ARCH-SUITE.result (the VMTEST lines, plus a "boot"
#           failure when the VM did not finish)
#
# Always exits 0 once the result file is written: the table decides. The VM
# has no network device and is killed after VM_TIMEOUT seconds (default 420).
# VM_SMP (2), VM_MEM (1024 MiB) and VM_SLOW (3: deadline multiplier inside)
# tune it; VM_VERBOSE=1 makes the scenarios print status snapshots and logs.
set -u

dir=$1
arch=$2
suite=$3
name=$arch-$suite
kernel=$dir/cache/kernel-$suite-$arch/vmlinuz
initrd=$dir/initramfs-$arch.cpio.gz
log=$dir/logs/$name.log
res=$dir/results/$name.result
mkdir -p "$dir/logs" "$dir/results"

append="rdinit=/init panic=-1 quiet mwlabel=$name mwslow=${VM_SLOW:-3} mwverbose=${VM_VERBOSE:-0}"
case $arch in
amd64)
	qemu="qemu-system-x86_64"
	# q35 with the generic -amd64 kernel (-cloud-amd64 6.12 panics under TCG);
	# nested KVM hangs on these hosts, so TCG.
	set -- -machine q35 -accel tcg -cpu max
	append="console=ttyS0 $append"
	;;
arm64)
	qemu="qemu-system-aarch64"
	# pauth-impdef: the architected pointer-authentication algorithm is very
	# slow to emulate; the implementation-defined one is not.
	set -- -machine virt -accel tcg -cpu max,pauth-impdef=on
	append="console=ttyAMA0 $append"
	;;
*)
	echo "run-vm: unknown arch $arch" >&2
	exit 1
	;;
esac

fail_boot() {
	{
		echo "VMTEST begin label=$name kernel=$(cat "$dir/cache/kernel-$suite-$arch/version" 2>/dev/null || echo '?') arch=$arch"
		echo "VMTEST scenario=boot result=fail secs=0 detail=$1"
		echo "VMTEST wall_s=${wall:-0}"
	} > "$res"
	exit 0
}

[ -s "$kernel" ] || fail_boot "no kernel at $kernel (run make vmtest-fetch)"
[ -s "$initrd" ] || fail_boot "no initramfs at $initrd"
command -v "$qemu" >/dev/null 2>&1 || fail_boot "$qemu is not installed"

boot() {
	t0=$(date +%s)
	timeout -k 10 "${VM_TIMEOUT:-420}" "$qemu" "$@" -smp "${VM_SMP:-2}" -m "${VM_MEM:-1024}" \
		-nographic -no-reboot -nic none -kernel "$kernel" -initrd "$initrd" \
		-append "$append" </dev/null >"$log" 2>&1
	rc=$?
	wall=$(($(date +%s) - t0))
}

boot "$@"
# Under TCG a vCPU can run into the int3 of a kernel text patch (a static
# key or tracepoint being switched on another vCPU) after the patch ended,
# and the guest kernel dies of it: an emulation artefact seen once in many
# runs, not a fault of the sensor. Such a boot gets one more try; the first
# log is kept beside the second, and the result says so.
retried=
if tr -d '\r' < "$log" | grep -q 'Oops: int3' &&
	! tr -d '\r' < "$log" | grep -q 'VMTEST end '; then
	mv "$log" "$log.int3"
	retried=" (second boot: the first died of an int3 Oops, log $log.int3)"
	echo "vmtest: $name: int3 Oops in the guest kernel, booting once more" >&2
	boot "$@"
fi

# The console has CRs and terminal escapes; keep the VMTEST lines clean.
tr -d '\r' < "$log" | sed 's/^.*\(VMTEST \)/\1/' | grep '^VMTEST ' > "$res.tmp"
if ! grep -q '^VMTEST begin ' "$res.tmp"; then
	{
		echo "VMTEST begin label=$name kernel=$(cat "$dir/cache/kernel-$suite-$arch/version" 2>/dev/null || echo '?') arch=$arch"
		cat "$res.tmp"
	} > "$res.tmp2"
	mv "$res.tmp2" "$res.tmp"
fi
if ! grep -q '^VMTEST end ' "$res.tmp"; then
	case $rc in
	124 | 137) why="the VM did not finish within ${VM_TIMEOUT:-420} s" ;;
	*) why="the VM stopped (exit $rc) before the scenarios finished" ;;
	esac
	panic=$(tr -d '\r' < "$log" | grep -m 1 -E 'Kernel panic|BUG:|Oops' | cut -c1-200)
	echo "VMTEST scenario=boot result=fail secs=$wall detail=$why${panic:+: $panic} (log: $log)" >> "$res.tmp"
fi
[ -z "$retried" ] || echo "VMTEST note=retried$(echo "$retried" | tr ' ' '_')" >> "$res.tmp"
echo "VMTEST wall_s=$wall" >> "$res.tmp"
mv "$res.tmp" "$res"
echo "vmtest: $name finished in $wall s ($(grep -c 'result=pass' "$res") passed," \
	"$(grep -c 'result=fail' "$res") failed)" >&2
