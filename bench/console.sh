#!/usr/bin/env bash
# The web console's benchmark (docs/benchmarks.md, "Web console"): first
# meaningful paint, and the time to list 10,000 images, in Debian's
# headless Chromium (console/test/bench.mjs).  The images go straight into
# the catalogue (bench/seed_images.py), as for the DescribeImages benchmark.
# Usage: bench/console.sh [BUILD]   (BENCH_CONSOLE_IMAGES, BENCH_CONSOLE_RUNS)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
bin=$(readlink -f "$build/amibox")
images=${BENCH_CONSOLE_IMAGES:-10000}
[ -d "$src/console/node_modules/playwright-core" ] || { echo "console/node_modules is missing: build amibox first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/amibox-console-bench.XXXXXX")
pid=
trap '[ -z "$pid" ] || { kill $pid; wait $pid; } 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --data "$work/data" --quiet >"$work/out.log" 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/console/" && break; sleep 0.1; done
json=$("$bin" account create bench --data "$work/data" --json)
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])" <<<"$json"; }
owner=$(field AccountId)
snap=$(sqlite3 "$work/data/catalog.db" "select snapshot_id from image_block_devices where snapshot_id is not null limit 1")
python3 "$src/bench/seed_images.py" "$work/data/catalog.db" "$owner" "$snap" "$images" >/dev/null
echo "## Web console"
echo
echo "\`bench/console.sh $build\`: $images images owned by the account, $(nproc) cores (load average $(cut -d' ' -f1 /proc/loadavg) at the start), $(/usr/bin/chromium --version 2>/dev/null)."
echo
cd "$src/console"
ENDPOINT=http://127.0.0.1:$port KEY=$(field AccessKeyId) SECRET=$(field SecretAccessKey) ACCOUNT=$owner IMAGES=$images \
  RUNS=${BENCH_CONSOLE_RUNS:-5} AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true node test/bench.mjs
cd "$OLDPWD"
echo
echo "Bundle: console.js $(wc -c <"$build/console/dist/console.js") bytes minified, $(wc -c <"$build/console/console.js.gz") gzipped (as served)."
