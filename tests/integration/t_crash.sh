#!/usr/bin/env bash
# kill -9 during uploads: after a restart every acknowledged block is there
# and intact, no half-written chunk is visible, and fsck finds the store clean.
. "$(dirname "$0")/lib.sh"
amibox_start

for round in 1 2 3; do
  work=$TEST_DIR/round$round
  mkdir -p "$work"
  as alice "$PY_NEW" "$AMIBOX_SRC/tests/integration/crash_upload.py" upload "$work" &
  uploader=$!
  # Let some blocks land, then kill the daemon without warning.
  for _ in $(seq 1 200); do
    [ "$({ wc -l <"$work/acked"; } 2>/dev/null || echo 0)" -ge $((round * 15)) ] && break
    sleep 0.05
  done
  sleep "0.0$((RANDOM % 10))"
  kill -9 "$DAEMON_PID"
  wait "$DAEMON_PID" 2>/dev/null || true
  wait "$uploader" || true
  acked=$(wc -l <"$work/acked")
  [ "$acked" -gt 0 ] || fail "round $round: nothing was acknowledged before the kill"

  # Restart: the start-up sweep removes what the crash left half-done.
  amibox_daemon_up
  as alice "$PY_NEW" "$AMIBOX_SRC/tests/integration/crash_upload.py" finish "$work"
  [ -z "$(find "$DATA_DIR/chunks" -name '.tmp-*')" ] || fail "temp files survived a restart"
  files=$(find "$DATA_DIR/chunks" -type f | wc -l)
  rows=$(sqlite3 "$DATA_DIR/catalog.db" 'select count(*) from chunks')
  [ "$files" = "$rows" ] || fail "round $round: $files chunk files but $rows chunk rows"
done

amibox_daemon_down
"$AMIBOX_BIN" fsck --data "$DATA_DIR" || fail "fsck found damage"
echo "crash test ok"
