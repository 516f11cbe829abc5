#!/bin/sh
# Installs what building and testing minerwatch needs, with the distribution's
# package manager, only when something is missing. Debian 12 / Ubuntu (apt-get)
# and Amazon Linux 2023 / Fedora (dnf).
set -eu

have_all() {
	for c in clang bpftool pkg-config cc make ip runc npm rpmbuild rpmlint logrotate cpio buildah \
		shellcheck capsh unshare; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
	for p in libbpf libelf zlib json-c inih libevent_core libevent_extra nettle libssl libcrypto \
		cmocka; do
		pkg-config --exists "$p" || return 1
	done
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pytest, yaml' 2>/dev/null || return 1
	# make bench: plots (gnuplot), load (stress-ng) and the peer sensors it is
	# compared with (libbpf-tools; Fedora names them bpf-execsnoop and so on).
	for c in gnuplot stress-ng; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
	for c in execsnoop tcplife runqlat; do
		command -v "$c" >/dev/null 2>&1 || command -v "bpf-$c" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$c" ] || return 1
	done
	if [ -f /etc/debian_version ]; then
		for c in lintian dpkg-shlibdeps; do
			command -v "$c" >/dev/null 2>&1 || return 1
		done
		# libFuzzer and the sanitizer runtimes (make fuzz, make sanitize).
		dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || return 1
	fi
	return 0
}

if have_all; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing build dependencies; run as root to install them" >&2
	exit 1
fi

if command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: installing build dependencies with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	# npm only when there is none: a Node.js from outside Debian (NodeSource)
	# ships its own npm and conflicts with Debian's npm package.
	npm_pkg=npm
	command -v npm >/dev/null 2>&1 && npm_pkg=
	apt-get update -qq
	# shellcheck disable=SC2086 # $npm_pkg is empty or one word
	apt-get install -y -qq --no-install-recommends $npm_pkg \
		clang llvm make gcc libc6-dev pkg-config bpftool libbpf-dev libelf-dev \
		zlib1g-dev libjson-c-dev libinih-dev libevent-dev nettle-dev libssl-dev libcmocka-dev \
		python3 python3-pytest iproute2 procps runc libcap2-bin util-linux \
		rpm rpmlint lintian logrotate dpkg-dev cpio man-db buildah shellcheck python3-yaml \
		libclang-rt-14-dev \
		gnuplot-nox stress-ng libbpf-tools >/dev/null
elif command -v dnf >/dev/null 2>&1; then
	echo "install-deps: installing build dependencies with dnf" >&2
	npm_pkg=nodejs-npm
	command -v npm >/dev/null 2>&1 && npm_pkg=
	# shellcheck disable=SC2086 # $npm_pkg is empty or one word
	dnf install -y -q $npm_pkg clang llvm make gcc glibc-devel pkgconf-pkg-config bpftool \
		libbpf-devel libbpf-static elfutils-libelf-devel zlib-devel json-c-devel \
		inih-devel libevent-devel nettle-devel openssl-devel libcmocka-devel python3 \
		python3-pytest iproute procps-ng runc libcap util-linux rpm-build rpmlint logrotate \
		cpio man-db buildah ShellCheck python3-pyyaml compiler-rt \
		gnuplot stress-ng libbpf-tools
else
	echo "install-deps: no apt-get or dnf: install clang, bpftool, libbpf, libelf, zlib," \
		"json-c, inih, libevent, nettle, OpenSSL, cmocka, pytest, runc, capsh, unshare" \
		"and npm by hand" \
		"(make bench also wants gnuplot, stress-ng and libbpf-tools)" >&2
	exit 1
fi

have_all || { echo "install-deps: dependencies still missing after install" >&2; exit 1; }
