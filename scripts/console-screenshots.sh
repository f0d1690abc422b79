#!/usr/bin/env bash
# Takes the pictures of docs/console/: starts a daemon on a free port with a
# new data directory, gives an account a few resources of each kind, and
# photographs each view of the web console in Debian's Chromium
# (console/test/screenshots.mjs).  Usage: scripts/console-screenshots.sh [BUILD]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
bin=$build/amibox
out=$src/docs/console
[ -x "$bin" ] || { echo "no $bin: build amibox first (make build)" >&2; exit 1; }
[ -d "$src/console/node_modules/playwright-core" ] || { echo "console/node_modules is missing: build amibox first" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { echo "chromium is not installed (make deps)" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/amibox-shots.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --data "$dir/data" --quiet --stop-grace 1 \
  --public-ips "127.$((101 + RANDOM % 120)).$((RANDOM % 256)).0/24" >"$dir/out.log" 2>"$dir/daemon.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/console/" && break
  sleep 0.1
done
json=$("$bin" account create photographer --data "$dir/data" --json)
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])" <<<"$json"; }
mkdir -p "$out"
cd "$src/console"
ENDPOINT=http://127.0.0.1:$port KEY=$(field AccessKeyId) SECRET=$(field SecretAccessKey) OUT=$out \
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node test/screenshots.mjs
echo "pictures in $out"
