#!/usr/bin/env bash
# Installs the Debian packages amibox needs to build, run and test, when they
# are missing.  As root it uses apt-get; otherwise it only says what is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libmicrohttpd-dev libsqlite3-dev libzstd-dev libjansson-dev libxml2-dev
  libssl-dev libjpeg-dev libcmocka-dev libcurl4-openssl-dev libext2fs-dev comerr-dev e2fsprogs zlib1g-dev
  qemu-utils qemu-system-x86 nbdkit nbdkit-plugin-dev sqlite3 curl mmdebstrap
  awscli python3-boto3 python3-boto wrk nginx-light clang ansible openssh-client putty-tools
  chromium
)
# chromium: the web console's tests drive it headless (playwright-core, no
# browser download).  Node.js may come from elsewhere (with its own npm); ask Debian only if absent.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "amibox: missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 1
fi
echo "amibox: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
