#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Installs the minerwatch RPM on Amazon Linux 2023 and enables minerwatchd.
#
#   install-minerwatch.sh [--start] SOURCE [SHA256]
#
# SOURCE   the RPM: a local file, an https:// URL, or an s3:// URL (fetched
#          with the AWS CLI, so the instance profile needs s3:GetObject on it)
# SHA256   the package's expected SHA-256; when given, a package that does not
#          match is refused
# --start  also start the service now (cloud-init on a running instance);
#          without it the service is only enabled, so that a baked AMI starts
#          it on the first boot of each instance and not during the bake
#
# The Packer template (minerwatch.pkr.hcl) runs it on the build instance and
# the cloud-init user-data (user-data.yaml) carries a copy of it. Exit status
# 0 once the package is installed, the service enabled and the installed
# daemon accepts its configuration.
set -eu

start=false
if [ "${1:-}" = "--start" ]; then
	start=true
	shift
fi
src=${1:-}
sha=${2:-}
if [ -z "$src" ]; then
	echo "install-minerwatch: usage: $0 [--start] SOURCE [SHA256]" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-minerwatch: must run as root" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rpm_file=$tmp/minerwatch.rpm

case $src in
https://*)
	curl --fail --silent --show-error --location --proto '=https' --retry 5 \
		--connect-timeout 10 --max-time 300 --output "$rpm_file" "$src"
	;;
s3://*)
	command -v aws >/dev/null 2>&1 || {
		echo "install-minerwatch: $src needs the AWS CLI (dnf install awscli-2)" >&2
		exit 1
	}
	aws s3 cp --only-show-errors "$src" "$rpm_file"
	;;
*://*)
	echo "install-minerwatch: $src: only https://, s3:// or a local file" >&2
	exit 1
	;;
*)
	if [ ! -f "$src" ]; then
		echo "install-minerwatch: $src: no such file" >&2
		exit 1
	fi
	cp "$src" "$rpm_file"
	;;
esac

if [ -n "$sha" ]; then
	if ! printf '%s  %s\n' "$sha" "$rpm_file" | sha256sum --check --status -; then
		echo "install-minerwatch: $src does not have SHA-256 $sha" >&2
		exit 1
	fi
fi
name=$(rpm --query --package --queryformat '%{NAME}' "$rpm_file")
if [ "$name" != "minerwatch" ]; then
	echo "install-minerwatch: $src is package '$name', not minerwatch" >&2
	exit 1
fi

# dnf resolves the libraries the daemon links (libevent, nettle, json-c, inih, ...)
# from the distribution's repositories.
dnf install --assumeyes --quiet "$rpm_file"
minerwatchd --check-config
systemctl enable minerwatchd.service
state=enabled
if [ "$start" = true ]; then
	systemctl start minerwatchd.service
	state="enabled and started"
fi
echo "install-minerwatch: $(minerwatch version) installed; minerwatchd $state"
