#!/usr/bin/env bash
# Operating amibox: GET /metrics in Prometheus text format (requests by
# action and status with a latency histogram whose buckets are cumulative,
# counters that only grow, instances by state, QEMU processes, the chunk
# store's logical and stored bytes and dedup ratio, the object store's
# bytes), GET /health (200, or 503 while the catalog file cannot be read),
# both unsigned and answered only to GET; log lines a collector parses (one
# JSON object per line with --log-format json, key=value otherwise); `make
# install` into a DESTDIR (binary, nbdkit plugin, man page, systemd unit,
# sysusers.d and tmpfiles.d), whose binary then runs the daemon.
. "$(dirname "$0")/lib.sh"

# ---- make install into a DESTDIR ----
build=$(dirname "$AMIBOX_BIN")
dest=$TEST_DIR/dest
prefix=$dest/usr/local
# The build is the test's own (make check or check-asan made it): neither
# the packages nor CMake's configuration are looked at again.
make -s -C "$AMIBOX_SRC" install BUILD="$build" DESTDIR="$dest" -o deps -o "$build/Makefile" \
  >"$TEST_DIR/install.log" 2>&1 || fail "make install: $(tail -5 "$TEST_DIR/install.log")"
for f in bin/amibox lib/amibox/nbdkit-amibox-plugin.so share/man/man1/amibox.1 \
         lib/systemd/system/amibox.service lib/sysusers.d/amibox.conf lib/tmpfiles.d/amibox.conf; do
  [ -s "$prefix/$f" ] || fail "make install did not install $f"
done
[ -x "$prefix/bin/amibox" ] || fail "the installed binary is not executable"
# The guest tools: static, so that any guest runs them; both names answer.
tools=$prefix/lib/amibox/amibox-ec2-tools
[ -x "$tools" ] || fail "make install did not install amibox-ec2-tools"
if readelf -l "$tools" | grep -q INTERP; then fail "amibox-ec2-tools asks for a program interpreter"; fi
"$tools" ec2-bundle-vol --help | grep -q -- '--privatekey' || fail "amibox-ec2-tools ec2-bundle-vol --help"
"$tools" ec2-upload-bundle --help | grep -q -- '--bucket' || fail "amibox-ec2-tools ec2-upload-bundle --help"
[ "$("$prefix/bin/amibox" --version)" = "$("$AMIBOX_BIN" --version)" ] || fail "the installed binary"
# The resolver module: where the dynamic linker finds it, exporting only its entry points.
nss=$prefix/lib/libnss_amibox.so.2
[ -s "$nss" ] || fail "make install did not install libnss_amibox.so.2"
got=$(nm -D --defined-only "$nss" | awk '{ print $3 }' | sort | tr '\n' ' ')
[ "$got" = "_nss_amibox_gethostbyname2_r _nss_amibox_gethostbyname3_r _nss_amibox_gethostbyname4_r _nss_amibox_gethostbyname_r " ] ||
  fail "libnss_amibox.so.2 exports: $got"
unit=$prefix/lib/systemd/system/amibox.service
grep -qx 'ExecStart=/usr/local/bin/amibox serve --data /var/lib/amibox --listen 127.0.0.1:8773' "$unit" ||
  fail "the unit's ExecStart: $(grep ExecStart "$unit")"
for line in User=amibox StateDirectory=amibox KillMode=process StandardOutput=null \
            'AmbientCapabilities=CAP_NET_ADMIN CAP_SYS_ADMIN CAP_NET_BIND_SERVICE' 'DeviceAllow=/dev/kvm rw'; do
  grep -qx -- "$line" "$unit" || fail "the unit has no $line"
done
# systemd accepts the unit (the binary named where this test put it).
if command -v systemd-analyze >/dev/null; then
  mkdir "$TEST_DIR/unit"
  sed "s|/usr/local/bin/amibox|$prefix/bin/amibox|" "$unit" >"$TEST_DIR/unit/amibox.service"
  out=$(MANPATH=$prefix/share/man systemd-analyze verify "$TEST_DIR/unit/amibox.service" 2>&1) ||
    fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
fi
# The user (in the kvm group) and the data directory, made in a root of the test's own.
if command -v systemd-sysusers >/dev/null; then
  root=$TEST_DIR/root
  mkdir -p "$root/etc"
  systemd-sysusers --root="$root" "$prefix/lib/sysusers.d/amibox.conf" >/dev/null 2>&1 || fail "systemd-sysusers"
  grep -q '^amibox:x:[0-9]*:[0-9]*:[^:]*:/var/lib/amibox:' "$root/etc/passwd" ||
    fail "no amibox user: $(cat "$root/etc/passwd")"
  grep -q '^kvm:x:[0-9]*:\(.*,\)\?amibox\(,.*\)\?$' "$root/etc/group" || fail "amibox is not in kvm: $(cat "$root/etc/group")"
  systemd-tmpfiles --root="$root" --create "$prefix/lib/tmpfiles.d/amibox.conf" 2>/dev/null || fail "systemd-tmpfiles"
  uid=$(awk -F: '$1 == "amibox" { print $3 }' "$root/etc/passwd")
  [ "$(stat -c '%a %u' "$root/var/lib/amibox")" = "700 $uid" ] || fail "/var/lib/amibox: $(stat -c '%a %u' "$root/var/lib/amibox")"
fi
# The man page renders without a warning and names every command and flag.
if command -v man >/dev/null; then
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$prefix/share/man/man1/amibox.1" >"$TEST_DIR/man.txt" 2>"$TEST_DIR/man.err" ||
    fail "man -l failed"
  [ -s "$TEST_DIR/man.txt" ] && [ ! -s "$TEST_DIR/man.err" ] || fail "man -l warns: $(cat "$TEST_DIR/man.err")"
fi
sed 's/\\-/-/g; s/\\f[BIRP]//g' "$prefix/share/man/man1/amibox.1" >"$TEST_DIR/man.src"
grep -q "^\.TH AMIBOX 1 [0-9-]* \"$("$AMIBOX_BIN" --version)\"" "$TEST_DIR/man.src" ||
  fail "the man page is not of $("$AMIBOX_BIN" --version): $(grep '^\.TH' "$TEST_DIR/man.src")"
for command in serve account import fsck usage samples bundle-image upload-bundle download-bundle unbundle ec2-cert imds router; do
  grep -q "amibox $command" "$TEST_DIR/man.src" || fail "the man page has no amibox $command"
  for flag in $("$AMIBOX_BIN" "$command" --help | grep -o -- '--[a-z0-9-]*' | sort -u); do
    grep -q -- "$flag" "$TEST_DIR/man.src" || fail "the man page does not document $command $flag"
  done
done

# From here on the daemon is the installed one: it finds its nbdkit plugin
# in PREFIX/lib/amibox.
AMIBOX_BIN=$prefix/bin/amibox
AMIBOX_SERVE_QUIET=
AMIBOX_SERVE_ARGS="--log-format json"
amibox_start
PROMTEXT=$AMIBOX_SRC/tests/integration/promtext.py
export PYTHONPATH=$AMIBOX_SRC/tests/integration TEST_DIR DATA_DIR
ec2() { "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 "$@"; }

# scrape N: GET /metrics into $TEST_DIR/mN.txt, checked by the strict reader.
scrape() {
  local code
  code=$(curl -s -D "$TEST_DIR/m$1.headers" -o "$TEST_DIR/m$1.txt" -w '%{http_code}' "$ENDPOINT/metrics") || return 1
  [ "$code" = 200 ] || { echo "GET /metrics: $code" >&2; return 1; }
  grep -qi '^content-type: text/plain; version=0.0.4' "$TEST_DIR/m$1.headers" ||
    { echo "GET /metrics: $(grep -i content-type "$TEST_DIR/m$1.headers")" >&2; return 1; }
  "$PY_NEW" "$PROMTEXT" "$TEST_DIR/m$1.txt" >"$TEST_DIR/m$1.samples"
}
# metric N 'name{labels}': the value in scrape N (labels sorted by name).
metric() {
  awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "none" }' "$TEST_DIR/m$1.samples"
}

# ---- health ----
code=$(curl -s -o "$TEST_DIR/health.json" -w '%{http_code}' "$ENDPOINT/health")
[ "$code" = 200 ] || fail "GET /health: $code"
"$PY_NEW" - "$TEST_DIR/health.json" "$("$AMIBOX_BIN" --version)" <<'PY' || fail "the health document: $(cat "$TEST_DIR/health.json")"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["status"] == "ok" and h["catalog"] == "ok", h
assert "amibox " + h["version"] == sys.argv[2], h
assert isinstance(h["uptime_seconds"], int) and 0 <= h["uptime_seconds"] < 600, h
assert h["accelerator"] in ("kvm", "tcg"), h
PY
[ "$(curl -s -o /dev/null -w '%{http_code}' "$ENDPOINT/healthz")" = 200 ] || fail "GET /healthz"
# Only GET (and HEAD): a POST is told what is allowed.
curl -s -D "$TEST_DIR/post.headers" -o /dev/null -X POST "$ENDPOINT/metrics"
grep -q '^HTTP/1.1 405' "$TEST_DIR/post.headers" || fail "POST /metrics: $(head -1 "$TEST_DIR/post.headers")"
grep -qi '^allow: GET, HEAD' "$TEST_DIR/post.headers" || fail "POST /metrics names no Allow"
[ "$(curl -s -I -o /dev/null -w '%{http_code}' "$ENDPOINT/health")" = 200 ] || fail "HEAD /health"
# Both on one kept-alive connection, the second with a body it ignores.
codes=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "$ENDPOINT/metrics" \
  --next -s -o /dev/null -w '%{http_code} %{num_connects}\n' -X GET --data 'ignored' "$ENDPOINT/health")
[ "$(echo $codes)" = "200 1 200 0" ] || fail "two requests on one connection: $codes"
# A signed request for the same path is S3's: a bucket named "metrics".
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" s3 ls s3://metrics >/dev/null 2>"$TEST_DIR/s3.err" &&
  fail "a signed listing of bucket 'metrics' was answered by /metrics"
grep -q NoSuchBucket "$TEST_DIR/s3.err" || fail "signed GET /metrics: $(cat "$TEST_DIR/s3.err")"

# ---- requests: counted by action and status, timed ----
scrape 1 || fail "first scrape"
for f in amibox_requests_total amibox_request_duration_seconds amibox_instances amibox_qemu_processes \
         amibox_volumes amibox_images amibox_snapshots amibox_chunkstore_logical_bytes \
         amibox_chunkstore_unique_bytes amibox_chunkstore_stored_bytes amibox_chunkstore_dedup_ratio \
         amibox_objectstore_bytes amibox_objectstore_objects amibox_build_info amibox_collector_success; do
  grep -q "^# TYPE $f " "$TEST_DIR/m1.txt" || fail "no family $f"
done
grep -q '^amibox_collector_success.* 0$' "$TEST_DIR/m1.txt" && fail "a collector failed: $(grep collector_success "$TEST_DIR/m1.txt")"
for state in pending running shutting-down terminated stopping stopped; do
  [ "$(metric 1 "amibox_instances{state=\"$state\"}")" = 0.0 ] || fail "instances $state at start"
done
for _ in 1 2 3; do
  as alice ec2 describe-images --owners amazon >/dev/null || fail "describe-images"
done
as alice ec2 describe-images --image-ids ami-00000000000000000 >/dev/null 2>&1 && fail "a missing image was described"
scrape 2 || fail "second scrape"
"$PY_NEW" - <<'PY' || fail "the counters between two scrapes"
import promtext
(s1, t1), (s2, _) = promtext.scrapes(1, 2)
k = promtext.key
def delta(key):
    return s2.get(key, 0) - s1.get(key, 0)
assert delta(k("amibox_requests_total", action="DescribeImages", status="200")) == 3, s2
assert delta(k("amibox_requests_total", action="DescribeImages", status="400")) == 1, s2
# The first scrape and the four calls: counted once each, in the histogram too.
assert delta(k("amibox_requests_total", action="metrics", status="200")) == 1
assert delta(k("amibox_request_duration_seconds_count")) == 5
assert delta(k("amibox_request_duration_seconds_sum")) > 0
# Counters and histogram series never go down.
for (name, labels), value in s1.items():
    family = promtext._family_of(name, t1)
    if t1.get(family) in ("counter", "histogram"):
        assert s2[(name, labels)] >= value, (name, labels)
PY

# ---- the stores: logical and unique bytes, dedup, objects ----
head -c $((2 << 20)) /dev/urandom >"$TEST_DIR/disk.raw"
snap=$(as alice "$AMIBOX_BIN" import "$TEST_DIR/disk.raw" --endpoint-url "$ENDPOINT" --no-progress) ||
  fail "import"
copy=$(as alice ec2 copy-snapshot --source-snapshot-id "$snap" --source-region us-east-1 \
  --query SnapshotId --output text) || fail "copy-snapshot"
as alice ec2 wait snapshot-completed --snapshot-ids "$copy" || fail "the copy did not complete"
head -c 3000 /dev/urandom >"$TEST_DIR/object"
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" s3 mb s3://ops-bucket >/dev/null || fail "s3 mb"
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" s3 cp "$TEST_DIR/object" s3://ops-bucket/o >/dev/null || fail "s3 cp"
scrape 3 || fail "third scrape"
"$PY_NEW" - <<'PY' || fail "the stores' figures"
import os, sqlite3, promtext
(s2, _), (s3, _) = promtext.scrapes(2, 3)
k = promtext.key
def delta(name):
    return s3[k(name)] - s2[k(name)]
MiB = 1 << 20
# Four random blocks imported, and a copy of them that stores nothing new.
assert delta("amibox_snapshots") == 2
assert delta("amibox_chunkstore_logical_bytes") == 4 * MiB, delta("amibox_chunkstore_logical_bytes")
assert delta("amibox_chunkstore_unique_bytes") == 2 * MiB, delta("amibox_chunkstore_unique_bytes")
assert delta("amibox_chunkstore_chunks") == 4
logical, unique = s3[k("amibox_chunkstore_logical_bytes")], s3[k("amibox_chunkstore_unique_bytes")]
assert abs(s3[k("amibox_chunkstore_dedup_ratio")] - logical / unique) < 1e-9
assert s3[k("amibox_chunkstore_dedup_ratio")] > s2[k("amibox_chunkstore_dedup_ratio")]
db = sqlite3.connect(os.environ["DATA_DIR"] + "/catalog.db")
stored, = db.execute("select sum(stored_bytes) from chunks").fetchone()
assert s3[k("amibox_chunkstore_stored_bytes")] == stored, (s3[k("amibox_chunkstore_stored_bytes")], stored)
assert delta("amibox_objectstore_bytes") == 3000
assert delta("amibox_objectstore_objects") == 1
assert delta("amibox_objectstore_buckets") == 1
PY

# ---- instances by state, QEMU processes ----
ami=$(as alice ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-hvm \
  --query 'Images[0].ImageId' --output text) || fail "the sample image"
id=$(as alice ec2 run-instances --image-id "$ami" --instance-type t2.micro --count 1 \
  --query 'Instances[0].InstanceId' --output text) || fail "run-instances"
as alice ec2 wait instance-running --instance-ids "$id" || fail "the instance did not run"
scrape 4 || fail "fourth scrape"
[ "$(metric 4 'amibox_instances{state="running"}')" = 1.0 ] || fail "running: $(grep '^amibox_instances' "$TEST_DIR/m4.txt")"
[ "$(metric 4 'amibox_qemu_processes{}')" = 1.0 ] || fail "QEMU processes: $(metric 4 'amibox_qemu_processes{}')"
pgrep -af nbdkit | grep -F -- "$DATA_DIR/" | grep -qF "$prefix/bin/../lib/amibox/nbdkit-amibox-plugin.so" ||
  fail "the root volume is not served with the installed plugin: $(pgrep -af nbdkit | grep -F -- "$DATA_DIR/")"
as alice ec2 terminate-instances --instance-ids "$id" >/dev/null || fail "terminate-instances"
as alice ec2 wait instance-terminated --instance-ids "$id" || fail "the instance did not end"
scrape 5 || fail "fifth scrape"
[ "$(metric 5 'amibox_instances{state="running"}')" = 0.0 ] || fail "still running after termination"
[ "$(metric 5 'amibox_instances{state="terminated"}')" = 1.0 ] || fail "not counted as terminated"
[ "$(metric 5 'amibox_qemu_processes{}')" = 0.0 ] || fail "a QEMU process counted after termination"
# Metering's totals: the instance's minute (EC2's minimum per start) is this month's compute cost.
cost=$(grep '^amibox_usage_cost_usd{service="Amazon Elastic Compute Cloud - Compute"}' "$TEST_DIR/m5.txt" | awk '{print $NF}')
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "${cost:-0}" ||
  fail "no compute cost on /metrics: $(grep '^amibox_usage' "$TEST_DIR/m5.txt")"

# ---- health without a readable catalog: 503, then 200 again ----
# The file's first 16 bytes, SQLite's magic, made garbage for a moment: a
# new connection cannot read it (the daemon's own read from their caches,
# and nothing writes now).  First everything goes from the WAL into the
# file, or page 1 would be read from the WAL.  The magic is the same in
# every SQLite file.
magic() { printf "$1" | dd of="$DATA_DIR/catalog.db" bs=16 count=1 conv=notrunc status=none; }
busy=$(sqlite3 -cmd '.timeout 5000' "$DATA_DIR/catalog.db" 'PRAGMA wal_checkpoint(TRUNCATE)' | cut -d'|' -f1)
[ "$busy" = 0 ] || fail "the catalog could not be checkpointed"
magic 'not a catalog!!!'
code=$(curl -s -o "$TEST_DIR/health.json" -w '%{http_code}' "$ENDPOINT/health")
magic 'SQLite format 3\000'
[ "$(head -c 15 "$DATA_DIR/catalog.db")" = "SQLite format 3" ] || fail "the catalog's magic was not put back"
[ "$code" = 503 ] || fail "GET /health with an unreadable catalog file: $code"
"$PY_NEW" -c 'import json,sys; h=json.load(open(sys.argv[1])); assert h["status"]=="unavailable" and h["catalog"]=="unreadable", h' \
  "$TEST_DIR/health.json" || fail "the 503 document: $(cat "$TEST_DIR/health.json")"
grep -F "$DATA_DIR" "$TEST_DIR/health.json" && fail "the health document names the data directory"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$ENDPOINT/health")" = 200 ] || fail "GET /health with the catalog back"

# ---- JSON log lines ----
"$PY_NEW" - "$TEST_DIR/daemon.log" "$ALICE_KEY" <<'PY' || fail "the JSON log"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) > 20, len(lines)
requests, warned = [], False
for line in lines:
    event = json.loads(line)
    assert list(event)[:3] == ["ts", "level", "msg"], line
    assert event["level"] in ("debug", "info", "warn", "error"), line
    assert event["ts"].endswith("Z") and len(event["ts"]) == 24, line
    if event["msg"] == "request":
        requests.append(event)
    warned |= event["level"] == "warn" and event["msg"].startswith("health: ")
assert warned, "the unreadable catalog was not logged"
ok = [r for r in requests if r["action"] == "DescribeImages" and r["status"] == 200]
assert len(ok) >= 4 and all(isinstance(r["duration_ms"], (int, float)) for r in ok), ok[:1]
bad = [r for r in requests if r["action"] == "DescribeImages" and r["status"] == 400]
assert len(bad) == 1 and bad[0]["error"] == "InvalidAMIID.NotFound", bad
assert bad[0]["access_key"] == sys.argv[2] and len(bad[0]["request_id"]) == 36, bad
assert any(r["action"] == "metrics" for r in requests)
PY
for secret in "$ALICE_SECRET" "$BOB_SECRET"; do
  grep -qF -- "$secret" "$TEST_DIR/daemon.log" && fail "a secret reached the log"
done

# ---- key=value log lines (the default) ----
amibox_daemon_down
status=0; "$AMIBOX_BIN" serve --log-format xml --data "$DATA_DIR" >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || fail "serve --log-format xml exited with $status"
: >"$TEST_DIR/daemon.log"
AMIBOX_SERVE_ARGS=
amibox_daemon_up
as alice ec2 describe-images --owners amazon >/dev/null || fail "describe-images after the restart"
curl -s -o /dev/null "$ENDPOINT/metrics" || fail "GET /metrics after the restart"
"$PY_NEW" - "$TEST_DIR/daemon.log" <<'PY' || fail "the key=value log"
import re, sys
TOKEN = re.compile(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|[^\s"=]+)( |$)')
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert lines
requests = 0
for line in lines:
    pos, fields = 0, []
    while pos < len(line):
        m = TOKEN.match(line, pos)
        assert m, "cannot read %r at %d" % (line, pos)
        fields.append((m.group(1), m.group(2)))
        pos = m.end()
    keys = [k for k, _ in fields]
    assert keys[:3] == ["ts", "level", "msg"], line
    assert fields[2][1].startswith('"'), line
    if fields[2][1] == '"request"':
        d = dict(fields)
        requests += 1
        assert d["status"].isdigit() and float(d["duration_ms"]) >= 0, line
assert requests >= 2, requests
PY
grep -q 'msg="request" action=DescribeImages account=[0-9]\{12\} status=200 ' "$TEST_DIR/daemon.log" ||
  fail "no DescribeImages line: $(grep request "$TEST_DIR/daemon.log" | head -3)"
echo "t_ops: ok"
