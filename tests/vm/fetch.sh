#!/bin/sh
# Fetches what the VM tests boot, from Debian's archive with `apt-get download`,
# into a cache that later runs use offline:
#
#   fetch.sh CACHE_DIR SUITE:ARCH... [busybox:ARCH...]
#
#   SUITE:ARCH    the generic kernel of a Debian release (bullseye 5.10,
#                 bookworm 6.1, trixie 6.12) for amd64 or arm64, extracted to
#                 CACHE/kernel-SUITE-ARCH/vmlinuz (+ version, config)
#   busybox:ARCH  busybox-static of bookworm, extracted to CACHE/busybox-ARCH
#
# The system's apt sources are never touched: a private apt configuration
# under CACHE/apt lists the three releases for both architectures, and its
# package lists are downloaded only when something is missing from the cache.
set -eu

cache=$1
shift
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
apt_dir=$cache/apt

# Each fetch is skipped when its result is already cached.
missing=""
for want in "$@"; do
	case $want in
	busybox:*) [ -x "$cache/busybox-${want#busybox:}" ] || missing="$missing $want" ;;
	*:*) [ -s "$cache/kernel-${want%%:*}-${want#*:}/vmlinuz" ] || missing="$missing $want" ;;
	*) echo "fetch: bad item $want (SUITE:ARCH or busybox:ARCH)" >&2; exit 1 ;;
	esac
done
[ -n "$missing" ] || exit 0

command -v apt-get >/dev/null 2>&1 || {
	echo "fetch: apt-get is needed to download Debian kernels (missing:$missing)" >&2
	exit 1
}

mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/sources.d" \
	"$apt_dir/prefs.d"
: > "$apt_dir/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { echo "fetch: $keyring is missing (package debian-archive-keyring)" >&2; exit 1; }
{
	for suite in bullseye bookworm trixie; do
		echo "deb [arch=amd64,arm64 signed-by=$keyring] http://deb.debian.org/debian $suite main"
	done
} > "$apt_dir/sources.list"

aptopts() {
	# Everything apt reads or writes lives under $apt_dir; only the keyring
	# is the system's.
	printf '%s\n' \
		-o "Dir::Etc::sourcelist=$apt_dir/sources.list" \
		-o "Dir::Etc::sourceparts=$apt_dir/sources.d" \
		-o "Dir::Etc::preferencesparts=$apt_dir/prefs.d" \
		-o "Dir::State::lists=$apt_dir/lists" \
		-o "Dir::State::status=$apt_dir/status" \
		-o "Dir::Cache=$apt_dir" \
		-o "Dir::Cache::archives=$apt_dir/archives" \
		-o "APT::Architecture=amd64" \
		-o "APT::Architectures::=amd64" -o "APT::Architectures::=arm64" \
		-o "Acquire::Languages=none" -o "Acquire::Retries=3" \
		-o "Acquire::http::Timeout=60" -o "Debug::NoLocking=1"
}
apt_get() {
	# shellcheck disable=SC2046
	timeout 900 apt-get -q $(aptopts) "$@"
}
apt_cache() {
	# shellcheck disable=SC2046
	apt-cache $(aptopts) "$@"
}

echo "fetch: updating the private package lists (bullseye, bookworm, trixie)" >&2
apt_get update >"$apt_dir/update.log" 2>&1 || {
	cat "$apt_dir/update.log" >&2
	echo "fetch: apt-get update failed" >&2
	exit 1
}

# download PKG (with :arch and =version as needed) into a fresh directory,
# printing the .deb's path
download() {
	dir=$apt_dir/dl.$$
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && apt_get download "$1" >"$apt_dir/download.log" 2>&1) || {
		cat "$apt_dir/download.log" >&2
		echo "fetch: apt-get download $1 failed" >&2
		exit 1
	}
	ls "$dir"/*.deb
}

for want in $missing; do
	case $want in
	busybox:*)
		arch=${want#busybox:}
		deb=$(download "busybox-static:$arch/bookworm")
		x=$apt_dir/x.$$
		rm -rf "$x"
		dpkg-deb -x "$deb" "$x"
		install -m 0755 "$x/bin/busybox" "$cache/busybox-$arch"
		rm -rf "$x" "$(dirname "$deb")"
		echo "fetch: busybox-static ($arch) from $(basename "$deb")" >&2
		;;
	*)
		suite=${want%%:*}
		arch=${want#*:}
		# The flavour metapackage names the release's current kernel package.
		meta=linux-image-$arch
		dep=$(apt_cache show "$meta:$arch/$suite" 2>/dev/null |
			sed -n 's/^Depends: *\(linux-image-[^ ,]*\) *(= *\([^)]*\)).*/\1=\2/p' | head -n 1)
		[ -n "$dep" ] || { echo "fetch: no $meta in $suite" >&2; exit 1; }
		deb=$(download "${dep%%=*}:$arch=${dep#*=}")
		x=$apt_dir/x.$$
		rm -rf "$x"
		dpkg-deb -x "$deb" "$x"
		out=$cache/kernel-$suite-$arch
		rm -rf "$out"
		mkdir -p "$out"
		cp "$x"/boot/vmlinuz-* "$out/vmlinuz"
		cp "$x"/boot/config-* "$out/config"
		basename "$x"/boot/vmlinuz-* | sed 's/^vmlinuz-//' > "$out/version"
		echo "${dep%%=*} ${dep#*=}" > "$out/package"
		rm -rf "$x" "$(dirname "$deb")"
		echo "fetch: $suite $arch kernel $(cat "$out/version") from $(basename "$deb")" >&2
		;;
	esac
done

# The package lists are only needed to resolve names; what is kept is small.
rm -rf "$apt_dir/lists" "$apt_dir/archives"
