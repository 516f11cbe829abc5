#!/bin/sh
# Builds a gzip-compressed initramfs (newc cpio) for a VM test:
#
#   mkinitramfs.sh -a ARCH -o OUT.cpio.gz -b BUSYBOX -i INIT [-e ELF:DEST]... [-f FILE:DEST]...
#
#   -a ARCH      amd64 or arm64: where the shared libraries are looked for
#   -b BUSYBOX   a static busybox for ARCH; every applet is linked to it
#   -i INIT      the script run as /init
#   -e ELF:DEST  a dynamically linked program, copied to DEST together with
#                every shared library it needs (recursively, through DT_NEEDED)
#                and its dynamic loader, each at the path it has on this
#                machine, so the loader finds them where it looks by default
#   -f FILE:DEST any other file
#
# Libraries are found with readelf, not ldd, so that programs built for
# another architecture (the arm64 cross build) are collected the same way.
set -eu

arch="" out="" busybox="" init="" elfs="" files=""
while getopts a:o:b:i:e:f: opt; do
	case $opt in
	a) arch=$OPTARG ;;
	o) out=$OPTARG ;;
	b) busybox=$OPTARG ;;
	i) init=$OPTARG ;;
	e) elfs="$elfs $OPTARG" ;;
	f) files="$files $OPTARG" ;;
	*) exit 1 ;;
	esac
done
if [ -z "$arch" ] || [ -z "$out" ] || [ -z "$busybox" ] || [ -z "$init" ]; then
	echo "usage: mkinitramfs.sh -a ARCH -o OUT -b BUSYBOX -i INIT [-e ELF:DEST]... [-f FILE:DEST]..." >&2
	exit 1
fi
case $arch in
amd64) triplet=x86_64-linux-gnu ;;
arm64) triplet=aarch64-linux-gnu ;;
*) echo "mkinitramfs: unknown arch $arch" >&2; exit 1 ;;
esac
# The loader's default directories for this architecture on Debian (merged /usr).
libdirs="/lib/$triplet /usr/lib/$triplet /lib /usr/lib"

stage=$(mktemp -d "${TMPDIR:-/tmp}/mw-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/bin" "$stage/sbin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" \
	"$stage/run" "$stage/etc" "$stage/root" "$stage/usr/bin" "$stage/usr/sbin"
install -m 0755 "$busybox" "$stage/bin/busybox"
# Console and null exist before devtmpfs is mounted, so the kernel can give
# /init its standard streams (needs root; the init script copes without).
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 0600 "$stage/dev/console" c 5 1
	mknod -m 0666 "$stage/dev/null" c 1 3
fi
install -m 0755 "$init" "$stage/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
printf 'root:x:0:\n' > "$stage/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$stage/etc/hosts"

# find_lib NAME: finds a DT_NEEDED name in the library directories.
find_lib() {
	for d in $libdirs; do
		if [ -e "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

seen=" "
# add_deps PATH: copies the loader and the libraries PATH needs (not PATH
# itself), recursively.
add_deps() {
	interp=$(readelf -lW "$1" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if [ -n "$interp" ] && [ ! -e "$stage$interp" ]; then
		[ -e "$interp" ] || { echo "mkinitramfs: loader $interp missing" >&2; exit 1; }
		mkdir -p "$stage$(dirname "$interp")"
		cp -L "$interp" "$stage$interp"
	fi
	for lib in $(readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		case $seen in *" $lib "*) continue ;; esac
		seen="$seen$lib "
		path=$(find_lib "$lib") || {
			echo "mkinitramfs: $lib (needed by $1) not found for $arch in $libdirs" >&2
			exit 1
		}
		mkdir -p "$stage$(dirname "$path")"
		cp -L "$path" "$stage$path"
		add_deps "$path"
	done
}

for spec in $elfs; do
	src=${spec%%:*}
	dest=${spec#*:}
	mkdir -p "$stage$(dirname "$dest")"
	install -m 0755 "$src" "$stage$dest"
	add_deps "$src"
done
for spec in $files; do
	src=${spec%%:*}
	dest=${spec#*:}
	mkdir -p "$stage$(dirname "$dest")"
	cp -L "$src" "$stage$dest"
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
