#!/usr/bin/env bash
# Unpacks Debian's cloud kernel and busybox-static into DIR (DIR/kernel,
# DIR/busybox), and the SSH server of the Linux sample with its companions
# (dropbear-bin and the libraries it needs beyond the host's, scp from
# openssh-client, openssh-sftp-server) into DIR/ssh, from .deb files cached
# in $AMIBOX_TEST_CACHE (default ~/.cache/amibox-test), downloaded with
# apt-get download when missing.  Prints the AMIBOX_SAMPLE_* assignments the
# daemon's Linux sample takes.  Used by the Linux guest tests and the boot
# benchmark.
# Usage: eval "$(scripts/linux-pieces.sh DIR)"
set -euo pipefail
dir=$1
cache=${AMIBOX_TEST_CACHE:-$HOME/.cache/amibox-test}
mkdir -p "$cache" "$dir"
fetch() { # fetch PACKAGE: prints the cached .deb
  local deb
  deb=$(ls "$cache/$1"_*.deb 2>/dev/null | head -1)
  if [ -z "$deb" ]; then
    (cd "$cache" && apt-get download "$1" >/dev/null 2>&1) ||
      { apt-get update -qq >/dev/null 2>&1 && (cd "$cache" && apt-get download "$1" >/dev/null); } ||
      { echo "linux-pieces: cannot download $1" >&2; exit 1; }
    deb=$(ls "$cache/$1"_*.deb | head -1)
  fi
  echo "$deb"
}
depends() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
kernel_pkg=$(depends)
[ -n "$kernel_pkg" ] || { apt-get update -qq >/dev/null 2>&1; kernel_pkg=$(depends); }
[ -n "$kernel_pkg" ] || { echo "linux-pieces: no Debian cloud kernel package found" >&2; exit 1; }
dpkg-deb -x "$(fetch "$kernel_pkg")" "$dir/kernel"
dpkg-deb -x "$(fetch busybox-static)" "$dir/busybox"
for p in dropbear-bin libtomcrypt1 libtommath1 openssh-client openssh-sftp-server; do
  dpkg-deb -x "$(fetch $p)" "$dir/ssh"
done
echo "AMIBOX_SAMPLE_KERNEL=$(ls "$dir"/kernel/boot/vmlinuz-* | head -1)"
echo "AMIBOX_SAMPLE_MODULES=$(ls -d "$dir"/kernel/lib/modules/* | head -1)"
echo "AMIBOX_SAMPLE_BUSYBOX=$dir/busybox/bin/busybox"
echo "AMIBOX_SAMPLE_SSH=$dir/ssh"
