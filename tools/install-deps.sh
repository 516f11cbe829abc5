#!/bin/sh
# Installs what building and testing minerwatch needs, with the distribution's
# package manager, only when something is missing. Debian 12 / Ubuntu (apt-get)
# and Amazon Linux 2023 / Fedora (dnf).
set -eu

have_all() {
	for c in clang bpftool pkg-config cc make ip runc npm rpmbuild rpmlint logrotate cpio buildah \
		shellcheck; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
	for p in libbpf libelf zlib json-c inih libcurl libssl libcrypto cmocka; do
		pkg-config --exists "$p" || return 1
	done
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import pytest, yaml' 2>/dev/null || return 1
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
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends \
		clang llvm make gcc libc6-dev pkg-config bpftool libbpf-dev libelf-dev \
		zlib1g-dev libjson-c-dev libinih-dev libcurl4-openssl-dev libssl-dev libcmocka-dev \
		python3 python3-pytest iproute2 procps runc npm \
		rpm rpmlint lintian logrotate dpkg-dev cpio man-db buildah shellcheck python3-yaml \
		libclang-rt-14-dev >/dev/null
elif command -v dnf >/dev/null 2>&1; then
	echo "install-deps: installing build dependencies with dnf" >&2
	dnf install -y -q clang llvm make gcc glibc-devel pkgconf-pkg-config bpftool \
		libbpf-devel libbpf-static elfutils-libelf-devel zlib-devel json-c-devel \
		inih-devel libcurl-devel openssl-devel libcmocka-devel python3 python3-pytest iproute \
		procps-ng runc nodejs-npm rpm-build rpmlint logrotate cpio man-db buildah ShellCheck \
		python3-pyyaml compiler-rt
else
	echo "install-deps: no apt-get or dnf: install clang, bpftool, libbpf, libelf, zlib," \
		"json-c, inih, libcurl, OpenSSL, cmocka, pytest, runc and npm by hand" >&2
	exit 1
fi

have_all || { echo "install-deps: dependencies still missing after install" >&2; exit 1; }
