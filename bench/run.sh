#!/usr/bin/env bash
# make bench: import throughput beside sha256sum, DescribeSnapshots requests/s
# beside moto_server (wrk replaying a signed request), and deduplication.
# Prints a Markdown report (copied into docs/benchmarks.md).
set -euo pipefail
build=${1:-build}
AMIBOX_BIN=$(readlink -f "$build/amibox")
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/amibox-bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pkill -KILL -f -- "$work/data/" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
seconds() { python3 -c "import time; print(time.time())"; }
# jfield JSON NAME: one field of the JSON `amibox account create --json` printed.
jfield() { python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])" <<<"$1"; }
SIZE_MIB=${BENCH_IMAGE_MIB:-1024}
# BENCH_SECTIONS="bundle boot" runs only those (import snapshots nginx images volumes bundle network boot metering).
want() { [ -z "${BENCH_SECTIONS:-}" ] || [[ " $BENCH_SECTIONS " == *" $1 "* ]]; }
declare -A rate
DURATION=${BENCH_SECONDS:-10}

echo "# amibox benchmarks"
echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), build: $build"
echo

# ---- the daemon --------------------------------------------------------------
# With Debian's kernel and busybox at hand, the daemon publishes its Linux
# sample (paravirtual), which the boot section launches from EBS.
if { want boot || want network; } && pieces=$("$src/scripts/linux-pieces.sh" "$work/linux" 2>/dev/null); then
  eval "$pieces"
  export AMIBOX_SAMPLE_KERNEL AMIBOX_SAMPLE_MODULES AMIBOX_SAMPLE_BUSYBOX AMIBOX_SAMPLE_SSH
fi
data=$work/data
mkdir -p "$data"
P=$(port)
# Every call is computed here (--no-response-cache): the figures are the
# catalogue's and the code's, not kept answers'; the nginx section adds a
# daemon as it runs by default.
"$AMIBOX_BIN" serve --listen 127.0.0.1:$P --data "$data" --quiet --no-response-cache \
  >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
wait_port $P
creds=$("$AMIBOX_BIN" account create bench --data "$data" --json)
export AWS_ACCESS_KEY_ID=$(jfield "$creds" AccessKeyId)
export AWS_SECRET_ACCESS_KEY=$(jfield "$creds" SecretAccessKey)
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
EP=http://127.0.0.1:$P

# ---- import throughput -------------------------------------------------------
if want import; then
echo "## Import of a ${SIZE_MIB} MiB raw image"
echo
echo "| image | sha256sum MB/s | amibox import MB/s | ratio |"
echo "|---|---|---|---|"
stored_bytes() { sqlite3 "$data/catalog.db" 'select coalesce(sum(stored_bytes),0) from chunks'; }
for kind in random half-zero; do
  img=$work/$kind.raw
  if [ $kind = random ]; then
    head -c $((SIZE_MIB << 20)) /dev/urandom >"$img"
  else
    head -c $((SIZE_MIB << 19)) /dev/urandom >"$img"
    truncate -s $((SIZE_MIB << 20)) "$img"
  fi
  cat "$img" >/dev/null
  t0=$(seconds); sha256sum "$img" >/dev/null; t1=$(seconds)
  "$AMIBOX_BIN" import "$img" --endpoint-url "$EP" --no-progress >"$work/$kind.snap"
  t2=$(seconds)
  python3 - "$t0" "$t1" "$t2" "$SIZE_MIB" "$kind" <<'PY'
import sys
t0, t1, t2, mib = map(float, sys.argv[1:5])
sha = mib * 1.048576 / (t1 - t0); imp = mib * 1.048576 / (t2 - t1)
print("| %s | %.0f | %.0f | %.0f%% |" % (sys.argv[5], sha, imp, 100 * imp / sha))
PY
done
echo

echo "## Deduplication"
echo
before=$(stored_bytes)
"$AMIBOX_BIN" import "$work/random.raw" --endpoint-url "$EP" --no-progress >/dev/null
after=$(stored_bytes)
python3 - "$before" "$after" <<'PY'
import sys
b, a = map(int, sys.argv[1:3])
print("Importing the random image a second time: stored bytes %d -> %d (+%.3f%%)." % (b, a, 100.0 * (a - b) / b))
PY
echo
rm -f "$work"/*.raw

fi

# ---- DescribeSnapshots requests/s -------------------------------------------
if want snapshots; then
creds=$("$AMIBOX_BIN" account create bench-describe --data "$data" --json)
export AWS_ACCESS_KEY_ID=$(jfield "$creds" AccessKeyId)
export AWS_SECRET_ACCESS_KEY=$(jfield "$creds" SecretAccessKey)
python3 "$src/bench/seed.py" amibox "$EP" 20
python3 "$src/bench/signed_request.py" "$EP" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$work/amibox.lua"
M=$(port)
# Without moto's built-in AMIs and their snapshots, so both list the same 20.
MOTO_EC2_LOAD_DEFAULT_AMIS=false moto_server -p $M >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port $M
python3 "$src/bench/seed.py" moto "http://127.0.0.1:$M" 20
python3 "$src/bench/signed_request.py" "http://127.0.0.1:$M" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$work/moto.lua"

echo "## DescribeSnapshots (Owner=self, 20 snapshots), signed, ${DURATION}s per run"
echo
echo "| server | connections | requests/s | p50 latency | p99 latency |"
echo "|---|---|---|---|---|"
for target in amibox moto; do
  url=$EP; [ $target = moto ] && url=http://127.0.0.1:$M
  for c in 1 16; do
    t=2; [ $c = 1 ] && t=1
    wrk -t$t -c$c -d${DURATION}s --latency -s "$work/$target.lua" "$url/" >"$work/wrk.txt" 2>&1
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
    bad=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
    [ -z "$bad" ] || { echo "$target answered $bad non-2xx responses" >&2; cat "$work/wrk.txt" >&2; exit 1; }
    rate[$target$c]=$rps
    echo "| $target | $c | $rps | $p50 | $p99 |"
  done
done
echo
python3 - "${rate[amibox1]}" "${rate[moto1]}" "${rate[amibox16]}" "${rate[moto16]}" <<'PY'
import sys
a1, m1, a16, m16 = map(float, sys.argv[1:5])
print("amibox / moto: %.0fx at 1 connection, %.0fx at 16." % (a1 / m1, a16 / m16))
PY
echo

fi

# ---- beside nginx: the HTTP ceiling of this machine ---------------------------
# nginx serving a 1 KB static file to the same wrk on the same cores, in the
# same run, is what an HTTP server can do here; the Describe calls are
# measured beside it as a share of it.
if want nginx; then
N=$(port)
mkdir -p "$work/nginx/html"
head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 >"$work/nginx/html/one.txt"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$N; root $work/nginx/html; keepalive_requests 1000000; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
pids+=($!)
wait_port $N
ncreds=$("$AMIBOX_BIN" account create bench-nginx --data "$data" --json)
nkey=$(jfield "$ncreds" AccessKeyId)
nsecret=$(jfield "$ncreds" SecretAccessKey)
AWS_ACCESS_KEY_ID=$nkey AWS_SECRET_ACCESS_KEY=$nsecret python3 "$src/bench/seed.py" amibox "$EP" 20
python3 "$src/bench/signed_request.py" "$EP" "$nkey" "$nsecret" "$work/n-snap.lua"
python3 "$src/bench/signed_request.py" "$EP" "$nkey" "$nsecret" "$work/n-img.lua" \
  "Action=DescribeImages&Version=2016-11-15&Owner.1=amazon"
nimages=$(AWS_ACCESS_KEY_ID=$nkey AWS_SECRET_ACCESS_KEY=$nsecret aws --endpoint-url "$EP" ec2 describe-images \
  --owners amazon --query 'length(Images)' --output text)
# The same calls on a second daemon as it runs by default (a repeated call
# answered from the kept answer), with its own data directory seeded alike.
U=$(port)
mkdir -p "$work/data-default"
"$AMIBOX_BIN" serve --listen 127.0.0.1:$U --data "$work/data-default" --quiet \
  >"$work/serve-default.out" 2>"$work/serve-default.log" &
pids+=($!)
wait_port $U
ucreds=$("$AMIBOX_BIN" account create bench-nginx --data "$work/data-default" --json)
ukey=$(jfield "$ucreds" AccessKeyId)
usecret=$(jfield "$ucreds" SecretAccessKey)
AWS_ACCESS_KEY_ID=$ukey AWS_SECRET_ACCESS_KEY=$usecret python3 "$src/bench/seed.py" amibox "http://127.0.0.1:$U" 20
python3 "$src/bench/signed_request.py" "http://127.0.0.1:$U" "$ukey" "$usecret" "$work/u-snap.lua"
python3 "$src/bench/signed_request.py" "http://127.0.0.1:$U" "$ukey" "$usecret" "$work/u-img.lua" \
  "Action=DescribeImages&Version=2016-11-15&Owner.1=amazon"
echo "## Beside nginx (the HTTP ceiling), ${DURATION}s per run"
echo
echo "nginx serves a 1 KB static file; amibox answers signed DescribeSnapshots (Owner=self,"
echo "20 snapshots) and DescribeImages (Owner=amazon, $nimages images), all to the same wrk:"
echo "as it runs by default (a repeated call answered from the kept answer while the"
echo "catalogue is unchanged), and computing every answer (\`--no-response-cache\`)."
echo
echo "| request | connections | requests/s | p50 latency | share of nginx |"
echo "|---|---|---|---|---|"
for c in 1 16; do
  t=2; [ $c = 1 ] && t=1
  wrk -t$t -c$c -d${DURATION}s --latency "http://127.0.0.1:$N/one.txt" >"$work/wrk.txt" 2>&1
  ceiling=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
  echo "| nginx, 1 KB file | $c | $ceiling | $(awk '$1=="50%" {print $2}' "$work/wrk.txt") | 100% |"
  for r in u-snap u-img n-snap n-img; do
    url=$EP; [[ $r == u-* ]] && url=http://127.0.0.1:$U
    wrk -t$t -c$c -d${DURATION}s --latency -s "$work/$r.lua" "$url/" >"$work/wrk.txt" 2>&1
    bad=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
    [ -z "$bad" ] || { echo "$r answered $bad non-2xx responses" >&2; cat "$work/wrk.txt" >&2; exit 1; }
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    name=DescribeSnapshots; [[ $r == *img ]] && name=DescribeImages
    [[ $r == n-* ]] && name="$name, computed every time"
    echo "| $name | $c | $rps | $(awk '$1=="50%" {print $2}' "$work/wrk.txt") | $(python3 -c "print('%.0f%%' % (100 * $rps / $ceiling))") |"
  done
done
echo

fi

# ---- DescribeImages as the catalogue grows -----------------------------------
if want images; then
owner=$(jfield "$creds" AccountId)
snap=$(aws --endpoint-url "$EP" ec2 describe-snapshots --owner-ids self --max-results 5 \
  --query 'Snapshots[0].SnapshotId' --output text)
# wrk_run NAME CONNECTIONS URL BODY: one signed request replayed; sets RPS P50.
wrk_run() {
  python3 "$src/bench/signed_request.py" "$3" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$work/$1.lua" "$4"
  local t=2; [ "$2" = 1 ] && t=1
  wrk -t$t -c$2 -d${DURATION}s --latency -s "$work/$1.lua" "$3/" >"$work/wrk.txt" 2>&1
  local bad; bad=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
  [ -z "$bad" ] || { echo "$1 answered $bad non-2xx responses" >&2; cat "$work/wrk.txt" >&2; exit 1; }
  RPS=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
  P50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
}
echo "## DescribeImages as the catalogue grows, signed, 1 connection, ${DURATION}s per run"
echo
echo "Images are owned by the caller, in name families of ten; the name lookup is"
echo "Owner=self with Filter name=familyNNNNN-* (Terraform's aws_ami style), 10 results."
echo
echo "| images | by ID req/s | by ID p50 | name prefix req/s | name prefix p50 |"
echo "|---|---|---|---|---|"
for n in 1000 10000 100000; do
  id=$(python3 "$src/bench/seed_images.py" "$data/catalog.db" "$owner" "$snap" $n)
  family=$(printf 'family%05d' $((n / 20)))
  by_id="Action=DescribeImages&Version=2016-11-15&ImageId.1=$id"
  by_name="Action=DescribeImages&Version=2016-11-15&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=$family-%2A"
  count=$(aws --endpoint-url "$EP" ec2 describe-images --owners self \
    --filters "Name=name,Values=$family-*" --query 'length(Images)' --output text)
  [ "$count" = 10 ] || { echo "name lookup found $count images, expected 10" >&2; exit 1; }
  wrk_run images-id 1 "$EP" "$by_id"; id_rps=$RPS; id_p50=$P50
  wrk_run images-name 1 "$EP" "$by_name"
  echo "| $n | $id_rps | $id_p50 | $RPS | $P50 |"
done
echo
# The same by-ID lookup when the images came through RegisterImage, one
# transaction each (the WAL grows and checkpoints as it would for a user).
creds=$("$AMIBOX_BIN" account create bench-register --data "$data" --json)
rkey=$(jfield "$creds" AccessKeyId)
rsecret=$(jfield "$creds" SecretAccessKey)
echo "## DescribeImages by ID, images registered through the API, signed, 1 connection, ${DURATION}s per run"
echo
echo "| images registered | RegisterImage/s | by ID req/s | by ID p50 | WAL size |"
echo "|---|---|---|---|---|"
for n in 1000 10000; do
  t0=$(seconds)
  id=$(AWS_ACCESS_KEY_ID=$rkey AWS_SECRET_ACCESS_KEY=$rsecret python3 "$src/bench/register_images.py" "$EP" $n)
  t1=$(seconds)
  python3 "$src/bench/signed_request.py" "$EP" "$rkey" "$rsecret" "$work/images-api.lua" \
    "Action=DescribeImages&Version=2016-11-15&ImageId.1=$id"
  wrk -t1 -c1 -d${DURATION}s --latency -s "$work/images-api.lua" "$EP/" >"$work/wrk.txt" 2>&1
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
  wal=$(stat -c %s "$data/catalog.db-wal" 2>/dev/null || echo 0)
  echo "| $n | $(python3 -c "print('%.0f' % (($n - ${prev:-0}) / ($t1 - $t0)))") | $rps | $p50 | $((wal / 1024)) KiB |"
  prev=$n
done
echo
echo "## DescribeImages beside moto_server (100,000 images in amibox, 1 in moto), ${DURATION}s per run"
echo
echo "| server | request | connections | requests/s | p50 latency |"
echo "|---|---|---|---|---|"
moto_id=$(python3 - "http://127.0.0.1:$M" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1")
snap = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"][0]["SnapshotId"]
print(ec2.register_image(Name="family00001-v1", RootDeviceName="/dev/xvda",
                         Architecture="x86_64", VirtualizationType="hvm",
                         BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                               "Ebs": {"SnapshotId": snap}}])["ImageId"])
PY
)
for c in 1 16; do
  wrk_run images-id $c "$EP" "$by_id"; a=$RPS
  echo "| amibox | by ID | $c | $RPS | $P50 |"
  wrk_run moto-images-id $c "http://127.0.0.1:$M" "Action=DescribeImages&Version=2016-11-15&ImageId.1=$moto_id"
  echo "| moto | by ID | $c | $RPS | $P50 |"
  rate[img$c]=$(python3 -c "print('%.0f' % ($a / $RPS))")
done
echo
echo "amibox / moto for DescribeImages by ID: ${rate[img1]}x at 1 connection, ${rate[img16]}x at 16."
echo

fi

# ---- volumes -----------------------------------------------------------------
if want volumes; then
VOL_GIB=${BENCH_VOLUME_GIB:-4}
head -c $((VOL_GIB << 30)) /dev/urandom >"$work/volume.raw"
vsnap=$("$AMIBOX_BIN" import "$work/volume.raw" --endpoint-url "$EP" --no-progress)
rm -f "$work/volume.raw"
python3 "$src/bench/volumes.py" "$EP" "$data" "$(dirname "$AMIBOX_BIN")/nbdkit-amibox-plugin.so" "$vsnap" "$VOL_GIB"
echo

fi

# ---- bundles -----------------------------------------------------------------
# A user certificate for bundling; the daemon's account verifies with it.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=bench -keyout "$work/user.key" \
  -out "$work/user.pem" 2>/dev/null
bench_account=$(jfield "$creds" AccountId)
bench_name=$("$AMIBOX_BIN" account list --data "$data" --json |
  python3 -c "import json,sys; print([a['Name'] for a in map(json.loads, sys.stdin) if a['AccountId'] == '$bench_account'][0])")
"$AMIBOX_BIN" account add-cert "$bench_name" "$work/user.pem" --data "$data" >/dev/null
"$AMIBOX_BIN" ec2-cert --data "$data" >"$work/cloud.pem"
export BENCH_ACCOUNT_ID=$bench_account BENCH_USER_CERT=$work/user.pem BENCH_USER_KEY=$work/user.key \
  BENCH_CLOUD_CERT=$work/cloud.pem
if want bundle; then
BUNDLE_MIB=${BENCH_BUNDLE_MIB:-1024}
echo "## Bundling a ${BUNDLE_MIB} MiB image (half random, half zeros)"
echo
head -c $((BUNDLE_MIB << 19)) /dev/urandom >"$work/bundle.raw"
truncate -s $((BUNDLE_MIB << 20)) "$work/bundle.raw"
cat "$work/bundle.raw" >/dev/null
mkdir -p "$work/b1" "$work/b2" "$work/b3"
key=$(openssl rand -hex 16); iv=$(openssl rand -hex 16)
t0=$(seconds)
gzip -c "$work/bundle.raw" | openssl enc -e -aes-128-cbc -K "$key" -iv "$iv" >"$work/b1/ref.enc"
t1=$(seconds)
"$AMIBOX_BIN" bundle-image --image "$work/bundle.raw" --prefix bench --cert "$work/user.pem" \
  --privatekey "$work/user.key" --user "$bench_account" --ec2cert "$work/cloud.pem" \
  --destination "$work/b2" --no-progress >/dev/null
t2=$(seconds)
openssl enc -d -aes-128-cbc -K "$key" -iv "$iv" <"$work/b1/ref.enc" | gunzip >"$work/b3/ref.raw"
t3=$(seconds)
"$AMIBOX_BIN" unbundle --manifest "$work/b2/bench.manifest.xml" --privatekey "$work/user.key" \
  --destination "$work/b3" --no-progress >/dev/null
t4=$(seconds)
cmp -s "$work/bundle.raw" "$work/b3/bench" || { echo "unbundle differs" >&2; exit 1; }
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$BUNDLE_MIB" <<'PY'
import sys
t0, t1, t2, t3, t4, mib = map(float, sys.argv[1:7])
mb = mib * 1.048576
print("| direction | gzip + openssl enc MB/s | amibox MB/s | ratio |")
print("|---|---|---|---|")
print("| bundle (tar, SHA-1, gzip, AES-128-CBC, parts, digests, signature) | %.0f | %.0f | %.0f%% |"
      % (mb / (t1 - t0), mb / (t2 - t1), 100 * (t1 - t0) / (t2 - t1)))
print("| unbundle (every digest checked) | %.0f | %.0f | %.0f%% |"
      % (mb / (t3 - t2), mb / (t4 - t3), 100 * (t3 - t2) / (t4 - t3)))
PY
echo
rm -rf "$work/b1" "$work/b2" "$work/b3" "$work/bundle.raw"
fi

# ---- networking ----------------------------------------------------------------
if want network; then
if [ "$(id -u)" = 0 ]; then
  python3 "$src/bench/network.py" "$EP" "$data"
else
  echo "(networking: needs root for network namespaces)"
fi
echo
fi

# ---- boot --------------------------------------------------------------------
if want boot; then
as --32 -o "$work/boot.o" "$src/guests/hvm_boot.S"
ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$work/boot.bin" "$work/boot.o"
AMIBOX_ACCEL_FILE="$data/accel" python3 "$src/bench/boot.py" "$EP" "$AMIBOX_BIN" "$work/boot.bin" ${BENCH_BOOT_SIZES_MIB:-64 1024 4096}
fi

# ---- metering ----------------------------------------------------------------
# RunInstances and DescribeImages on two daemons at once, one built as usual
# and one with -DAMIBOX_METERING_HOOKS=OFF (no usage records written), then
# the usage report over a million records seeded into the first one's
# catalogue (bench/seed_usage.py), by `amibox usage` and by the Cost
# Explorer API.
if want metering; then
nometer=${BENCH_NOMETER_BUILD:-$build-nometer}
cmake -S "$src" -B "$nometer" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMIBOX_METERING_HOOKS=OFF >/dev/null
cmake --build "$nometer" -j "$(nproc)" --target amibox nbdkit-amibox-plugin >/dev/null
declare -A meter_ep meter_key meter_secret meter_id
pool=1
for b in metering no-hooks; do
  bin=$AMIBOX_BIN; [ $b = no-hooks ] && bin=$(readlink -f "$nometer/amibox")
  # Short names: the machines' NBD sockets live below it, and a socket path has 107 bytes.
  d=$work/m-$pool; mkdir -p "$d"
  p=$(port)
  "$bin" serve --listen 127.0.0.1:$p --data "$d" --stop-grace 0 \
    --public-ips 127.201.$pool.0/24 >"$work/serve-$b.out" 2>"$work/serve-$b.log" &
  pids+=($!)
  pool=$((pool + 1))
  wait_port $p
  c=$("$bin" account create bench --data "$d" --json)
  meter_ep[$b]=http://127.0.0.1:$p
  meter_key[$b]=$(jfield "$c" AccessKeyId)
  meter_secret[$b]=$(jfield "$c" SecretAccessKey)
  meter_id[$b]=$(jfield "$c" AccountId)
done
ROUNDS=${BENCH_METERING_ROUNDS:-60}
echo "## Metering"
echo
echo "Two daemons at once, one built as usual and one with \`-DAMIBOX_METERING_HOOKS=OFF\`"
echo "(the hooks return at once: no usage record is written); the calls alternate between them."
echo
echo "| call, as the client sees it | build | calls | p50 ms | mean ms | stdev ms |"
echo "|---|---|---|---|---|---|"
python3 "$src/bench/metering.py" "$ROUNDS" \
  "metering=${meter_ep[metering]},${meter_key[metering]},${meter_secret[metering]}" \
  "no hooks=${meter_ep[no-hooks]},${meter_key[no-hooks]},${meter_secret[no-hooks]}" ||
  { tail -n 20 "$work"/serve-*.log >&2; exit 1; }
echo
# The daemons' own log lines time the same calls without the client's signing and HTTP.
echo "| call, in the daemon's log | build | calls | p50 ms | mean ms | stdev ms |"
echo "|---|---|---|---|---|---|"
for b in metering no-hooks; do
  python3 - "$work/serve-$b.log" "$b" "$ROUNDS" <<'PY'
import re, statistics, sys
ms = [float(m.group(1)) for m in re.finditer(r"action=RunInstances .*duration_ms=([0-9.]+)",
                                              open(sys.argv[1]).read())][-int(sys.argv[3]):]
print("| RunInstances | %s | %d | %.2f | %.2f | %.2f |" % (
    sys.argv[2], len(ms), statistics.median(ms), statistics.mean(ms), statistics.stdev(ms)))
PY
done
echo
echo "| DescribeImages (Owner=amazon), 1 connection, ${DURATION}s | build | requests/s | p50 latency |"
echo "|---|---|---|---|"
for b in metering no-hooks; do
  python3 "$src/bench/signed_request.py" "${meter_ep[$b]}" "${meter_key[$b]}" "${meter_secret[$b]}" \
    "$work/m-$b.lua" "Action=DescribeImages&Version=2016-11-15&Owner.1=amazon"
done
for run in 1 2; do
  for b in metering no-hooks; do
    wrk -t1 -c1 -d${DURATION}s --latency -s "$work/m-$b.lua" "${meter_ep[$b]}/" >"$work/wrk.txt" 2>&1
    bad=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
    [ -z "$bad" ] || { echo "$b answered $bad non-2xx responses" >&2; cat "$work/wrk.txt" >&2; exit 1; }
    echo "| run $run | $b | $(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt") | $(awk '$1=="50%" {print $2}' "$work/wrk.txt") |"
  done
done
echo
RECORDS=${BENCH_USAGE_RECORDS:-1000000}
d=$work/m-1
t0=$(seconds)
first=$(python3 "$src/bench/seed_usage.py" "$d/catalog.db" "${meter_id[metering]}" "$RECORDS")
t1=$(seconds)
end=$(date -u -d tomorrow +%Y-%m-%d)
echo "### The usage report over $RECORDS records"
echo
echo "One account's month: 10,000 resources (five instance types, gp2 and gp3 volumes,"
echo "snapshots, objects in 20 buckets), $((RECORDS / 10000)) usage intervals each, one in five"
echo "tagged (seeded in $(python3 -c "print('%.0f' % ($t1 - $t0))") s by \`bench/seed_usage.py\`); the report covers"
echo "$first to $end.  Wall time of the whole command or call, median of 3."
echo
echo "| report | rows (groups by period) | seconds |"
echo "|---|---|---|"
usage_time() {
  local label=$1 times=() t0 t1 n
  shift
  for _ in 1 2 3; do
    t0=$(seconds)
    n=$("$AMIBOX_BIN" usage --data "$d" --start "$first" --end "$end" --csv "$@" | wc -l)
    t1=$(seconds)
    times+=("$(python3 -c "print($t1 - $t0)")")
  done
  echo "| \`amibox usage $label\` | $((n - 1)) | $(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p | xargs printf '%.2f') |"
}
usage_time "--group-by service (monthly)" --group-by service
usage_time "--granularity daily --group-by usage-type" --granularity daily --group-by usage-type
usage_time "--group-by tag:team" --group-by tag:team
usage_time "--group-by resource" --group-by resource
python3 - "${meter_ep[metering]}" "${meter_key[metering]}" "${meter_secret[metering]}" "$first" "$end" <<'PY'
import statistics, sys, time
import boto3
from botocore.config import Config
endpoint, key, secret, first, end = sys.argv[1:6]
ce = boto3.client("ce", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  config=Config(region_name="us-east-1", retries={"max_attempts": 1}, read_timeout=300))
def run(label, **kw):
    times, groups = [], 0
    for _ in range(3):
        t0 = time.time()
        out = ce.get_cost_and_usage(TimePeriod={"Start": first, "End": end},
                                    Metrics=["UnblendedCost", "UsageQuantity"], **kw)
        times.append(time.time() - t0)
        groups = sum(max(1, len(p["Groups"])) for p in out["ResultsByTime"])
    print("| GetCostAndUsage %s | %d | %.2f |" % (label, groups, statistics.median(times)))
run("MONTHLY by SERVICE", Granularity="MONTHLY", GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}])
run("DAILY by USAGE_TYPE", Granularity="DAILY", GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
run("MONTHLY by TAG team", Granularity="MONTHLY", GroupBy=[{"Type": "TAG", "Key": "team"}])
run("MONTHLY, filter INSTANCE_TYPE=t2.micro", Granularity="MONTHLY",
    Filter={"Dimensions": {"Key": "INSTANCE_TYPE", "Values": ["t2.micro"]}})
PY
echo
fi
