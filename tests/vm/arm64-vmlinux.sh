#!/bin/sh
# Regenerates bpf/vmlinux/arm64/vmlinux.h from the BTF of Debian's arm64
# kernel, without an arm64 machine: boots the kernel under qemu-system-aarch64
# (TCG, -machine virt) with an initramfs whose /init prints
# /sys/kernel/btf/vmlinux (gzip, base64) on the serial console, decodes it and
# converts it with `bpftool btf dump file ... format c`.
#
#   arm64-vmlinux.sh WORK_DIR OUT_HEADER [SUITE]     (SUITE: bookworm by default)
#
# `make vmtest-arm64-vmlinux` runs it; the header is checked in, so ordinary
# builds never need this.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=$1
out=$2
suite=${3:-bookworm}
mkdir -p "$work"

sh "$here/fetch.sh" "$work/cache" "$suite:arm64" busybox:arm64
sh "$here/mkinitramfs.sh" -a arm64 -o "$work/btfdump-arm64.cpio.gz" \
	-b "$work/cache/busybox-arm64" -i "$here/btfdump-init"

log=$work/btfdump-arm64-$suite.log
echo "arm64-vmlinux: booting the $suite arm64 kernel to read its BTF" >&2
timeout 600 qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on -smp 2 -m 1024 \
	-nographic -no-reboot -kernel "$work/cache/kernel-$suite-arm64/vmlinuz" \
	-initrd "$work/btfdump-arm64.cpio.gz" \
	-append "console=ttyAMA0 rdinit=/init panic=-1 quiet" </dev/null >"$log" 2>&1 || {
	tail -n 20 "$log" >&2
	echo "arm64-vmlinux: the VM failed (log: $log)" >&2
	exit 1
}
hdr=$(grep -a '^BTFDUMP begin' "$log" | tr -d '\r') || {
	tail -n 20 "$log" >&2
	echo "arm64-vmlinux: no BTF dump on the console (log: $log)" >&2
	exit 1
}
size=$(echo "$hdr" | awk '{print $5}')
sed -n '/^BTFDUMP begin/,/^BTFDUMP end/p' "$log" | tr -d '\r' | sed '1d;$d' |
	base64 -d | gunzip > "$work/vmlinux-arm64.btf"
[ "$(wc -c < "$work/vmlinux-arm64.btf")" -eq "$size" ] || {
	echo "arm64-vmlinux: BTF truncated on the console ($size bytes expected)" >&2
	exit 1
}
mkdir -p "$(dirname "$out")"
bpftool btf dump file "$work/vmlinux-arm64.btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "arm64-vmlinux: $out from $(echo "$hdr" | awk '{print $3}') ($size bytes of BTF)" >&2
