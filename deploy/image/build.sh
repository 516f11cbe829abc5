#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Builds the minerwatch container image offline with buildah, FROM scratch,
# and writes it as an OCI archive:
#
#   deploy/image/build.sh VERSION OUTPUT.oci.tar DAEMON CLI
#
# The image holds no distribution: minerwatchd, the minerwatch CLI, exactly
# the shared libraries the two load (found with ldd, the dynamic loader
# included, each at the path the loader looks for it), the container-mode
# config and the shipped pool-name and suppression lists. The binaries are
# stripped copies; the build tree is left as it is.
#
# buildah keeps its storage in a private directory next to the output (vfs
# driver, so no overlay support is needed) and that directory is removed
# afterwards: nothing is left in the host's container storage. Needs root.
set -eu

if [ "$#" -ne 4 ]; then
	echo "usage: $0 VERSION OUTPUT.oci.tar DAEMON CLI" >&2
	exit 1
fi
version=$1
output=$2
daemon=$3
cli=$4
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

for f in "$daemon" "$cli"; do
	[ -x "$f" ] || { echo "image: $f is missing: run make first" >&2; exit 1; }
done
command -v buildah >/dev/null 2>&1 || {
	echo "image: buildah is not installed (Debian/Ubuntu: apt-get install buildah;" \
		"Amazon Linux/Fedora: dnf install buildah)" >&2
	exit 1
}

outdir=$(dirname "$output")
mkdir -p "$outdir"
work=$(mktemp -d "$outdir/.image-build.XXXXXX")
stage=$work/rootfs
ctr=
bah() {
	buildah --root "$work/storage" --runroot "$work/runroot" --storage-driver vfs "$@"
}
cleanup() {
	if [ -n "$ctr" ]; then
		bah rm "$ctr" >/dev/null 2>&1 || true
	fi
	bah rmi --all --force >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the root filesystem -----------------------------------------------------
mkdir -p "$stage/usr/sbin" "$stage/usr/bin" "$stage/etc/minerwatch" "$stage/host" \
	"$stage/run/minerwatch" "$stage/var/lib/minerwatch"
chmod 0750 "$stage/var/lib/minerwatch"
strip --strip-unneeded -o "$stage/usr/sbin/minerwatchd" "$daemon"
strip --strip-unneeded -o "$stage/usr/bin/minerwatch" "$cli"
chmod 0755 "$stage/usr/sbin/minerwatchd" "$stage/usr/bin/minerwatch"

# Every library either binary loads, at the path ldd resolved it to (the
# loader's own search path), copied as a plain file. ldd lines look like
#   libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)
#   /lib64/ld-linux-x86-64.so.2 (0x...)
# and "not found" means the image would not start: stop.
libs=$work/libs
for bin in "$daemon" "$cli"; do
	ldd "$bin" > "$work/ldd.out" || { echo "image: ldd $bin failed" >&2; exit 1; }
	if grep -q 'not found' "$work/ldd.out"; then
		echo "image: $bin needs a library that is not installed:" >&2
		grep 'not found' "$work/ldd.out" >&2
		exit 1
	fi
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' \
		"$work/ldd.out" >> "$libs"
done
sort -u "$libs" -o "$libs"
while IFS= read -r lib; do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
	chmod 0755 "$stage$lib"
done < "$libs"
grep -q '/ld-linux' "$libs" || { echo "image: no dynamic loader in ldd's output" >&2; exit 1; }

install -m 0644 "$here/minerwatch.conf" "$stage/etc/minerwatch/minerwatch.conf"
install -m 0644 "$top/deploy/pool-names.txt" "$stage/etc/minerwatch/pool-names.txt"
install -m 0644 "$top/deploy/suppress.conf" "$stage/etc/minerwatch/suppress.conf"

# --- the image ---------------------------------------------------------------
# Reproducible dates: SOURCE_DATE_EPOCH if set, else the last commit's date.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
revision=$(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

ctr=$(bah from scratch)
bah copy "$ctr" "$stage/" / >/dev/null
bah config \
	--os linux --arch "$arch" \
	--entrypoint '["/usr/sbin/minerwatchd","--host-root","/host","--output","-","--socket","/run/minerwatch/minerwatch.sock"]' \
	--cmd '' \
	--workingdir / \
	--env PATH=/usr/sbin:/usr/bin \
	--stop-signal SIGTERM \
	--volume /var/lib/minerwatch \
	--volume /run/minerwatch \
	--label org.opencontainers.image.title=minerwatch \
	--label "org.opencontainers.image.description=minerwatch eBPF cryptominer sensor (minerwatchd and the minerwatch CLI); runs in the host's PID and network namespaces with the host's /proc and cgroup hierarchy under /host" \
	--label "org.opencontainers.image.version=$version" \
	--label "org.opencontainers.image.revision=$revision" \
	--label "org.opencontainers.image.created=$created" \
	--label org.opencontainers.image.licenses=Apache-2.0 \
	--label org.opencontainers.image.ref.name="$version" \
	"$ctr"
tmp_out=$work/image.oci.tar
bah commit --quiet --format oci --timestamp "$epoch" --disable-compression=false \
	--omit-history "$ctr" "oci-archive:$tmp_out:minerwatch:$version" >/dev/null
mv -f "$tmp_out" "$output"
echo "image: $output ($(du -k "$output" | cut -f1) KiB; $(wc -l < "$libs") libraries)"
