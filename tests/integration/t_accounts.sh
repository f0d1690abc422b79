#!/usr/bin/env bash
# `amibox account` while the daemon runs: a new account works at once, a
# deleted one stops working at once, bad names and duplicates are refused,
# an account that owns live resources is kept (and they are listed) unless
# --force ends them through the daemon; SIGTERM stops the daemon cleanly.
. "$(dirname "$0")/lib.sh"
AMIBOX_SERVE_ARGS="--stop-grace 2"
amibox_start

ec2() { "$AWS_V1" --endpoint-url "$ENDPOINT" --output json ec2 "$@"; }

# --json prints exactly the three fields, in order.
json=$("$AMIBOX_BIN" account create carol --data "$DATA_DIR" --json)
python3 - "$json" <<'PY' || fail "account create --json printed: $json"
import json, re, sys
d = json.loads(sys.argv[1])
assert list(d) == ["AccountId", "AccessKeyId", "SecretAccessKey"], d
assert re.fullmatch(r"[1-9][0-9]{11}", d["AccountId"])
assert re.fullmatch(r"AKIA[A-Z2-7]{16}", d["AccessKeyId"])
assert re.fullmatch(r"[A-Za-z0-9+/]{40}", d["SecretAccessKey"])
PY
amibox_account dave
as dave ec2 describe-snapshots --owner-ids self >/dev/null || fail "a new account was not accepted at once"

"$AMIBOX_BIN" account list --data "$DATA_DIR" | grep -q "^dave " || fail "list does not show dave"
[ "$("$AMIBOX_BIN" account list --data "$DATA_DIR" | wc -l)" = 5 ] || fail "list should show 5 accounts"

if "$AMIBOX_BIN" account create dave --data "$DATA_DIR" 2>"$TEST_DIR/err"; then fail "duplicate name accepted"; fi
grep -q "exists already" "$TEST_DIR/err" || fail "duplicate: $(cat "$TEST_DIR/err")"
if "$AMIBOX_BIN" account create 'bad name!' --data "$DATA_DIR" 2>/dev/null; then fail "bad name accepted"; fi
if "$AMIBOX_BIN" account delete nobody --data "$DATA_DIR" 2>/dev/null; then fail "deleting a missing account succeeded"; fi

# An account that owns snapshots is not deleted; one that owns none is.
snap=$(as dave "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ebs start-snapshot --volume-size 1 --query SnapshotId)
if "$AMIBOX_BIN" account delete dave --data "$DATA_DIR" 2>/dev/null; then fail "deleted an account owning $snap"; fi
as dave ec2 delete-snapshot --snapshot-id "$snap"
"$AMIBOX_BIN" account delete dave --data "$DATA_DIR" || fail "delete failed"
if as dave ec2 describe-snapshots --owner-ids self 2>"$TEST_DIR/err"; then fail "deleted account still works"; fi
grep -q AuthFailure "$TEST_DIR/err" || fail "deleted account: $(cat "$TEST_DIR/err")"

# An account with live resources is kept, and the refusal lists them; --force
# ends them through the daemon (the machine stops, the data goes), then the
# account.
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
amibox_account erin
ec2e() { as erin "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
ami=$(ec2e describe-images --owners amazon --filters Name=name,Values=amibox-sample-hvm --query 'Images[0].ImageId')
iid=$(ec2e run-instances --image-id "$ami" --instance-type t2.micro --count 1 --query 'Instances[0].InstanceId')
ec2e modify-instance-attribute --instance-id "$iid" --disable-api-termination || fail "termination protection"
vol=$(ec2e create-volume --availability-zone us-east-1a --size 1 --query VolumeId)
esnap=$(as erin "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ebs start-snapshot --volume-size 1 --query SnapshotId)
csnap=$(ec2e create-snapshot --volume-id "$vol" --query SnapshotId)
img=$(ec2e register-image --name erin-img --root-device-name /dev/xvda --virtualization-type hvm \
  --block-device-mappings "DeviceName=/dev/xvda,Ebs={SnapshotId=$csnap}" --query ImageId)
s3e() { as erin "$AWS_V1" --endpoint-url "$ENDPOINT" s3api "$@"; }
s3e create-bucket --bucket erin-data >/dev/null || fail "create-bucket"
echo hello >"$TEST_DIR/obj"
s3e put-object --bucket erin-data --key "dir/a b+c.txt" --body "$TEST_DIR/obj" >/dev/null || fail "put-object"
s3e create-multipart-upload --bucket erin-data --key big >/dev/null || fail "create-multipart-upload"
for _ in $(seq 1 100); do
  [ "$(ec2e describe-instances --instance-ids "$iid" --query 'Reservations[0].Instances[0].State.Name')" = running ] && break
  sleep 0.2
done
# An Elastic IP address, associated with the instance, holds an address of the pool.
eip=$(ec2e allocate-address --domain vpc --query AllocationId)
eip_ip=$(ec2e describe-addresses --allocation-ids "$eip" --query 'Addresses[0].PublicIp')
ec2e associate-address --allocation-id "$eip" --instance-id "$iid" >/dev/null || fail "associate-address"
if "$AMIBOX_BIN" account delete erin --data "$DATA_DIR" 2>"$TEST_DIR/err"; then fail "deleted erin with a running instance"; fi
for want in "instance $iid (running)" "volume   $vol (available)" "image    $img" "snapshot $esnap (pending)" \
    "snapshot $csnap" "bucket   erin-data" "address  $eip ($eip_ip)"; do
  grep -qF "$want" "$TEST_DIR/err" || fail "the refusal does not list '$want': $(cat "$TEST_DIR/err")"
done
grep -q "add --force" "$TEST_DIR/err" || fail "the refusal does not say what to do"
pgrep -f -- "amibox-$iid" >/dev/null || fail "the refused delete touched the machine"
"$AMIBOX_BIN" account delete erin --data "$DATA_DIR" --force 2>"$TEST_DIR/err" ||
  fail "delete --force: $(cat "$TEST_DIR/err")"
pgrep -f -- "amibox-$iid" >/dev/null && fail "the machine of a deleted account still runs"
# Terminated first (the machine is gone, above), then its rows went with the
# account, as did the account's network model: nothing is left behind.
[ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from instances where instance_id='$iid'")" = 0 ] ||
  fail "the deleted account's instance row is still there"
[ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from vpcs where owner_id='$ERIN_ID'")" = 0 ] ||
  fail "the deleted account's VPCs are still there"
for table_id in "volumes volume_id $vol" "snapshots snapshot_id $esnap" "images image_id $img" "buckets name erin-data" \
    "addresses allocation_id $eip"; do
  set -- $table_id
  [ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from $1 where $2='$3'")" = 0 ] || fail "$3 outlived its account"
done
[ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from objects where bucket='erin-data'")" = 0 ] || fail "objects outlived their bucket"
if as erin "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-regions 2>/dev/null; then fail "erin still signs in"; fi

# --force needs the daemon: without one it refuses and keeps everything.
amibox_account frank
fsnap=$(as frank "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ebs start-snapshot --volume-size 1 --query SnapshotId)
amibox_daemon_down
if "$AMIBOX_BIN" account delete frank --data "$DATA_DIR" --force 2>"$TEST_DIR/err"; then fail "--force without a daemon"; fi
grep -q "no daemon runs on" "$TEST_DIR/err" || fail "--force without a daemon: $(cat "$TEST_DIR/err")"
[ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from snapshots where snapshot_id='$fsnap'")" = 1 ] || fail "$fsnap is gone"
"$AMIBOX_BIN" account list --data "$DATA_DIR" | grep -q "^frank " || fail "frank is gone"
amibox_daemon_up

# SIGTERM: a clean exit with status 0.
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "daemon exited with status $? on SIGTERM"
DAEMON_PID=
grep -q "shutting down" "$TEST_DIR/daemon.log" || fail "no shutdown line in the log"
echo "accounts ok"
