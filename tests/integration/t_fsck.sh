#!/usr/bin/env bash
# Leftovers: a CreateVolume that fails half way (the disk fills: here the
# daemon's file-size limit, so its writes fail as on a full disk) leaves no
# folder and no row; `amibox fsck` reports what no catalogue row owns (volume
# and instance folders, upload spools, volume captures) and `--repair`
# removes exactly those.
. "$(dirname "$0")/lib.sh"
amibox_start
ec2() { as alice "$AWS_V2" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
export AWS_MAX_ATTEMPTS=1 # a failure is the answer, not a retry

keep=$(ec2 create-volume --availability-zone us-east-1a --size 1 --query VolumeId)
folders_before=$(ls "$DATA_DIR/volumes" | sort)
rows_before=$(sqlite3 "$DATA_DIR/catalog.db" 'select count(*) from volumes')
# A volume's map is 32 MiB (sparse): the limit lets the catalog write, not it.
prlimit --pid "$DAEMON_PID" --fsize=16777216:unlimited || fail "prlimit"
if ec2 create-volume --availability-zone us-east-1a --size 1 2>"$TEST_DIR/err" >/dev/null; then
  fail "create-volume succeeded on a full disk"
fi
grep -q "File too large" "$TEST_DIR/err" || fail "the failure does not say why: $(cat "$TEST_DIR/err")"
kill -0 "$DAEMON_PID" || fail "the daemon died of the full disk"
[ "$(ls "$DATA_DIR/volumes" | sort)" = "$folders_before" ] || fail "a failed creation left $(ls "$DATA_DIR/volumes")"
[ "$(sqlite3 "$DATA_DIR/catalog.db" 'select count(*) from volumes')" = "$rows_before" ] || fail "a failed creation left a row"
prlimit --pid "$DAEMON_PID" --fsize=unlimited:unlimited || fail "prlimit back"
vol=$(ec2 create-volume --availability-zone us-east-1a --size 1 --query VolumeId) || fail "create-volume after the disk has room again"
ec2 delete-volume --volume-id "$vol" || fail "delete-volume"
amibox_daemon_down

"$AMIBOX_BIN" fsck --data "$DATA_DIR" >"$TEST_DIR/fsck.out" || fail "a clean store: $(cat "$TEST_DIR/fsck.out")"
grep -q "0 bad; 0 leftovers found" "$TEST_DIR/fsck.out" || fail "a clean store: $(cat "$TEST_DIR/fsck.out")"

# Leftovers, by hand, as a crash would leave them.
orphan_vol=vol-0123456789abcdef0
orphan_inst=i-0123456789abcdef0
mkdir -p "$DATA_DIR/volumes/$orphan_vol" "$DATA_DIR/instances/$orphan_inst/sub"
truncate -s 1M "$DATA_DIR/volumes/$orphan_vol/map"
echo log >"$DATA_DIR/instances/$orphan_inst/sub/console.log"
echo half >"$DATA_DIR/objects/tmp/spool-123"
echo capture >"$DATA_DIR/captures/snap-0123456789abcdef0"
status=0
"$AMIBOX_BIN" fsck --data "$DATA_DIR" >"$TEST_DIR/fsck.out" || status=$?
[ "$status" = 1 ] || fail "fsck with leftovers exited with $status"
for want in "volume folder no catalogue row owns: $DATA_DIR/volumes/$orphan_vol" \
    "instance folder no catalogue row owns: $DATA_DIR/instances/$orphan_inst" \
    "upload spool no catalogue row owns: $DATA_DIR/objects/tmp/spool-123" \
    "volume capture no catalogue row owns: $DATA_DIR/captures/snap-0123456789abcdef0" \
    "4 leftovers found, 0 removed"; do
  grep -qF "$want" "$TEST_DIR/fsck.out" || fail "fsck does not report '$want': $(cat "$TEST_DIR/fsck.out")"
done
[ -d "$DATA_DIR/volumes/$orphan_vol" ] || fail "fsck without --repair removed something"
grep -q "$keep" "$TEST_DIR/fsck.out" && fail "fsck calls a real volume a leftover"

"$AMIBOX_BIN" fsck --data "$DATA_DIR" --repair >"$TEST_DIR/fsck.out" || fail "fsck --repair: $(cat "$TEST_DIR/fsck.out")"
grep -q "4 leftovers found, 4 removed" "$TEST_DIR/fsck.out" || fail "--repair: $(cat "$TEST_DIR/fsck.out")"
for gone in "volumes/$orphan_vol" "instances/$orphan_inst" objects/tmp/spool-123 captures/snap-0123456789abcdef0; do
  [ -e "$DATA_DIR/$gone" ] && fail "--repair left $gone"
done
[ -f "$DATA_DIR/volumes/$keep/map" ] || fail "--repair removed the real volume $keep"
"$AMIBOX_BIN" fsck --data "$DATA_DIR" >"$TEST_DIR/fsck.out" || fail "after --repair: $(cat "$TEST_DIR/fsck.out")"

# The daemon starts on the repaired store and still has its volume.
amibox_daemon_up
[ "$(ec2 describe-volumes --volume-ids "$keep" --query 'Volumes[0].State')" = available ] || fail "$keep after fsck"
echo "t_fsck: ok"
