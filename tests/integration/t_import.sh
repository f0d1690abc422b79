#!/usr/bin/env bash
# `amibox import`: raw and qcow2 images become completed snapshots whose
# blocks read back exactly; a second import of the same data stores nothing new.
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
echo "import ok"
