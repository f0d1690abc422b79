#!/usr/bin/env bash
# `amibox import`: raw and qcow2 images and pipes become completed snapshots
# whose blocks read back exactly; a second import of the same data stores
# nothing new; an import that fails half way (SIGTERM, the daemon gone)
# deletes its pending snapshot or says how to.
. "$(dirname "$0")/lib.sh"
amibox_start
# The sample images every data directory starts with hold a few chunks.
chunks_at_start=$(sqlite3 "$DATA_DIR/catalog.db" 'select count(*) from chunks')
files_at_start=$(find "$DATA_DIR/chunks" -type f | wc -l)

img=$TEST_DIR/disk.raw
# 24 MiB: random data, a hole, text, and a partial last block.
head -c $((8 << 20)) /dev/urandom >"$img"
truncate -s $((16 << 20)) "$img"
(yes "amibox import test" || true) | head -c $((7 << 20)) >>"$img"
head -c 12345 /dev/urandom >>"$img"
size=$(stat -c %s "$img")

import() {
  as alice "$AMIBOX_BIN" import "$@" --endpoint-url "$ENDPOINT" --no-progress
}

snap=$(import "$img" --description "raw import")
[[ $snap =~ ^snap-[0-9a-f]{17}$ ]] || fail "import printed '$snap'"
as alice "$PY_NEW" "$AMIBOX_SRC/tests/integration/read_snapshot.py" "$snap" "$TEST_DIR/back.raw" "$size"
cmp "$img" "$TEST_DIR/back.raw" || fail "raw import does not read back"
state=$(as alice "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-snapshots --snapshot-ids "$snap" \
  --query 'Snapshots[0].[State,Description,VolumeSize]' --output text)
[ "$state" = "$(printf 'completed\traw import\t1')" ] || fail "describe says '$state'"

bytes_before=$(sqlite3 "$DATA_DIR/catalog.db" 'select sum(stored_bytes) from chunks')
qemu-img convert -f raw -O qcow2 "$img" "$TEST_DIR/disk.qcow2"
snap2=$(import "$TEST_DIR/disk.qcow2")
as alice "$PY_NEW" "$AMIBOX_SRC/tests/integration/read_snapshot.py" "$snap2" "$TEST_DIR/back2.raw" "$size"
cmp "$img" "$TEST_DIR/back2.raw" || fail "qcow2 import does not read back"
bytes_after=$(sqlite3 "$DATA_DIR/catalog.db" 'select sum(stored_bytes) from chunks')
[ "$bytes_before" = "$bytes_after" ] || fail "second import stored more: $bytes_before -> $bytes_after"

# Bob imports the same image: deduplicated across accounts too.
snap3=$(as bob "$AMIBOX_BIN" import "$img" --endpoint-url "$ENDPOINT" --no-progress)
[ "$(sqlite3 "$DATA_DIR/catalog.db" 'select sum(stored_bytes) from chunks')" = "$bytes_after" ] ||
  fail "bob's import was not deduplicated"

# Deleting every snapshot of the data collects every chunk.
for s in "$snap" "$snap2"; do as alice "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 delete-snapshot --snapshot-id "$s"; done
as bob "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 delete-snapshot --snapshot-id "$snap3"
[ "$(sqlite3 "$DATA_DIR/catalog.db" 'select count(*) from chunks')" = "$chunks_at_start" ] ||
  fail "chunks left after deletes"
[ "$(find "$DATA_DIR/chunks" -type f | wc -l)" = "$files_at_start" ] || fail "chunk files left after deletes"

# Bad input: a missing file and no credentials fail cleanly.
if import "$TEST_DIR/nope.raw" 2>/dev/null; then fail "import of a missing file succeeded"; fi
if env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$AMIBOX_BIN" import "$img" \
     --endpoint-url "$ENDPOINT" --data "$TEST_DIR/empty" --no-progress 2>/dev/null; then
  fail "import without credentials succeeded"
fi
# A pipe, with its size given: standard input reads back like the file.
snap4=$(cat "$img" | import - --size 1) || fail "import from a pipe"
as alice "$PY_NEW" "$AMIBOX_SRC/tests/integration/read_snapshot.py" "$snap4" "$TEST_DIR/back4.raw" "$size"
cmp "$img" "$TEST_DIR/back4.raw" || fail "the piped import does not read back"
if import - </dev/null 2>"$TEST_DIR/err"; then fail "a pipe without --size was taken"; fi
grep -q "give the volume's with --size" "$TEST_DIR/err" || fail "pipe without --size: $(cat "$TEST_DIR/err")"

# An import that dies half way does not leave its pending snapshot holding
# blocks: a slow source we control (a pipe fed 4 MiB, then more on a sign).
slow_writer() { # PIPE GO-FILE
  python3 - "$1" "$2" <<'PY' &
import os, sys, time
with open(sys.argv[1], "wb") as f:
    f.write(os.urandom(4 << 20)); f.flush()
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.05)
    f.write(os.urandom(4 << 20)); f.flush()
    time.sleep(120)
PY
}
# Waits for alice's pending snapshot with 8 blocks; prints its ID.
pending_snapshot() {
  local id=
  for _ in $(seq 1 300); do
    id=$(sqlite3 "$DATA_DIR/catalog.db" "select snapshot_id from snapshots where owner_id='$ALICE_ID' and status='pending'")
    if [ -n "$id" ] && [ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from snapshot_blocks where snapshot_id='$id'")" -ge 8 ]; then
      echo "$id"; return 0
    fi
    sleep 0.1
  done
  return 1
}
# In the background as the importer's own process, so that a signal reaches it.
import_bg() {
  ( export AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=$ALICE_SECRET
    exec "$AMIBOX_BIN" import "$@" --endpoint-url "$ENDPOINT" --no-progress ) &
}
mkfifo "$TEST_DIR/slow1" "$TEST_DIR/slow2"
slow_writer "$TEST_DIR/slow1" "$TEST_DIR/go1"; writer=$!
import_bg "$TEST_DIR/slow1" --size 1 >"$TEST_DIR/out" 2>"$TEST_DIR/err"; importer=$!
half=$(pending_snapshot) || fail "no pending snapshot of the slow import"
kill -TERM "$importer"
status=0; wait "$importer" || status=$?
kill "$writer" 2>/dev/null || true
[ "$status" = 143 ] || fail "the interrupted import exited with $status"
grep -q "import failed for $half: interrupted by SIGTERM" "$TEST_DIR/err" || fail "SIGTERM: $(cat "$TEST_DIR/err")"
grep -q "deleted the unfinished snapshot $half" "$TEST_DIR/err" || fail "SIGTERM: $(cat "$TEST_DIR/err")"
[ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from snapshots where snapshot_id='$half'")" = 0 ] ||
  fail "the interrupted import left $half"
[ -s "$TEST_DIR/out" ] && fail "the interrupted import printed a snapshot ID on stdout"

# When the daemon is gone too, the importer says what is left and how to delete it.
slow_writer "$TEST_DIR/slow2" "$TEST_DIR/go2"; writer=$!
import_bg "$TEST_DIR/slow2" --size 1 >"$TEST_DIR/out" 2>"$TEST_DIR/err"; importer=$!
half=$(pending_snapshot) || fail "no pending snapshot of the second slow import"
amibox_daemon_down
touch "$TEST_DIR/go2"
status=0; wait "$importer" || status=$?
kill "$writer" 2>/dev/null || true
[ "$status" = 1 ] || fail "the import without a daemon exited with $status"
grep -q "the unfinished snapshot $half was not deleted" "$TEST_DIR/err" || fail "no daemon: $(cat "$TEST_DIR/err")"
cmd=$(grep -o "aws --endpoint-url .* ec2 delete-snapshot --snapshot-id $half" "$TEST_DIR/err") ||
  fail "no command to delete $half: $(cat "$TEST_DIR/err")"
amibox_daemon_up
as alice ${cmd/aws/$AWS_V1} || fail "the printed command did not delete $half"
[ "$(sqlite3 "$DATA_DIR/catalog.db" "select count(*) from snapshots where snapshot_id='$half'")" = 0 ] ||
  fail "$half is still there"
echo "import ok"
