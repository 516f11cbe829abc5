#!/bin/sh
# Installs what `make vmtest` needs on top of tools/install-deps.sh, only when
# something is missing: QEMU for x86_64 and aarch64, Debian's aarch64 cross
# compiler, and the arm64 development libraries the cross build links
# (Debian multiarch: dpkg --add-architecture arm64). Debian 12 only; the
# kernels and busybox themselves are fetched by fetch.sh into build/vm/cache.
# libevent-dev is not multiarch-installable (installing the arm64 one removes
# the host's), so only the arm64 runtime libraries are installed and the cross
# build links them through symlinks under its own build directory (vmtest.sh).
set -eu

ARM64_LIBDIR=/usr/lib/aarch64-linux-gnu
ARM64_LIBS="libbpf.a libelf.so libz.so libjson-c.so libinih.so libevent_core-2.1.so.7 libevent_extra-2.1.so.7
libnettle.so libssl.so libcrypto.so libc.so"

have_all() {
	for c in qemu-system-x86_64 qemu-system-aarch64 aarch64-linux-gnu-gcc cpio gzip readelf \
		dpkg-deb apt-get unshare timeout bpftool; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
	for l in $ARM64_LIBS; do
		[ -e "$ARM64_LIBDIR/$l" ] || return 1
	done
	[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || return 1
	return 0
}

have_all && exit 0

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
	echo "vmtest deps: the kernel matrix needs Debian (apt-get, dpkg and multiarch for the" \
		"arm64 cross build)" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "vmtest deps: missing QEMU, the aarch64 cross compiler or arm64 libraries; run as" \
		"root to install them" >&2
	exit 1
fi

echo "vmtest deps: installing QEMU, the aarch64 cross toolchain and arm64 libraries" >&2
export DEBIAN_FRONTEND=noninteractive
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
	cpio gzip binutils dpkg util-linux coreutils debian-archive-keyring bpftool \
	libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libjson-c-dev:arm64 \
	libinih-dev:arm64 libevent-core-2.1-7:arm64 libevent-extra-2.1-7:arm64 nettle-dev:arm64 libssl-dev:arm64 >/dev/null

have_all || { echo "vmtest deps: still missing after install" >&2; exit 1; }
