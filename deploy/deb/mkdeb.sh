#!/bin/sh
# Turns a staged `make install DESTDIR=WORK/debian/minerwatch PREFIX=/usr`
# tree into a .deb: the Debian layout, stripped binaries, compressed manual
# pages, documentation, maintainer scripts, and the control file with the
# library dependencies that dpkg-shlibdeps finds. No debhelper: this file
# and deploy/deb/ are the whole recipe.
#
#   mkdeb.sh WORK VERSION OUTPUT.deb
set -eu

[ $# -eq 3 ] || { echo "usage: mkdeb.sh WORK VERSION OUTPUT.deb" >&2; exit 2; }
work=$1
version=$2
output=$3
here=$(cd "$(dirname "$0")" && pwd)
pkg=minerwatch
root=$work/debian/$pkg
doc=$root/usr/share/doc/$pkg

umask 022

# The changelog names the version being built; a new VERSION in the
# Makefile needs a changelog entry first.
top=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$here/changelog")
if [ "$top" != "$version" ]; then
	echo "mkdeb: deploy/deb/changelog starts at $top, not $version: add an entry" >&2
	exit 1
fi

# The unit goes where debhelper puts units on Debian 12, /lib/systemd/system
# (the same directory as /usr/lib/systemd/system on a merged /usr).
mkdir -p "$root/lib/systemd/system"
mv "$root/usr/lib/systemd/system/minerwatchd.service" "$root/lib/systemd/system/"
rmdir -p --ignore-fail-on-non-empty "$root/usr/lib/systemd/system"

# Debug information is not shipped (no -dbgsym package); strip as dh_strip.
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$root/usr/sbin/minerwatchd" "$root/usr/bin/minerwatch"

gzip -9n "$root/usr/share/man/man8/minerwatchd.8" "$root/usr/share/man/man8/minerwatch.8"

install -D -m 0644 "$here/../logrotate/minerwatch" "$root/etc/logrotate.d/minerwatch"
install -D -m 0644 "$here/copyright" "$doc/copyright"
gzip -9n -c "$here/changelog" >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
if [ -f "$here/lintian-overrides" ]; then
	install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/$pkg"
fi

mkdir -p "$root/DEBIAN"

# dpkg-shlibdeps runs in a source tree: it reads debian/control and finds
# the package root by its DEBIAN directory. A minimal control file will do.
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O \
	"debian/$pkg/usr/sbin/minerwatchd" "debian/$pkg/usr/bin/minerwatch" |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	LC_ALL=C sort -z | xargs -0r md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

# Installed-Size in KiB, as dpkg-gencontrol counts it: the sum of the files.
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" \
	-e "s|@ARCH@|$(dpkg --print-architecture)|" \
	-e "s|@INSTALLED_SIZE@|$size|" \
	-e "s|@SHLIBS_DEPENDS@|$shlibs|" \
	"$here/control.in" >"$root/DEBIAN/control"

# File times: the last commit's, not the build's, so that a rebuild of the
# same tree gives the same package.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	find "$root" -newermt "@$SOURCE_DATE_EPOCH" \
		-exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
fi

mkdir -p "$(dirname "$output")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$output" >/dev/null
echo "$output"
