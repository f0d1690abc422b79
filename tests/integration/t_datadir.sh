#!/usr/bin/env bash
# One data directory, one daemon: a second `amibox serve` on it refuses with
# a clear message, and so does `amibox fsck` (it sweeps and repairs the
# stores the daemon owns); `amibox account` stays safe while the daemon runs.
# Once the daemon has stopped, however it stopped, the directory is free.
. "$(dirname "$0")/lib.sh"
amibox_start

other_port=$(free_port)
status=0
timeout 20 "$AMIBOX_BIN" serve --listen "127.0.0.1:$other_port" --data "$DATA_DIR" --quiet \
  >"$TEST_DIR/second.out" 2>"$TEST_DIR/second.err" || status=$?
[ "$status" = 1 ] || fail "a second daemon on the same data exited with $status"
grep -q "is in use by amibox serve (pid $DAEMON_PID, listening on 127.0.0.1:$PORT)" "$TEST_DIR/second.err" ||
  fail "second daemon: $(cat "$TEST_DIR/second.err")"
python3 -c "import socket; socket.create_connection(('127.0.0.1', $other_port), 0.5)" 2>/dev/null &&
  fail "the second daemon listened"
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-regions >/dev/null || fail "the first daemon stopped serving"

status=0
"$AMIBOX_BIN" fsck --data "$DATA_DIR" >"$TEST_DIR/fsck.out" 2>"$TEST_DIR/fsck.err" || status=$?
[ "$status" = 1 ] || fail "fsck while the daemon runs exited with $status"
grep -q "in use by amibox serve (pid $DAEMON_PID.*stop it before fsck" "$TEST_DIR/fsck.err" ||
  fail "fsck: $(cat "$TEST_DIR/fsck.err")"
"$AMIBOX_BIN" fsck --data "$DATA_DIR" --repair 2>/dev/null && fail "fsck --repair ran beside the daemon"

# Accounts go through the catalog: safe beside the daemon.
amibox_account carol
as carol "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-regions >/dev/null || fail "a new account does not work"
"$AMIBOX_BIN" account delete carol --data "$DATA_DIR" || fail "account delete beside the daemon"

# A daemon killed with SIGKILL leaves no lock behind.
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
"$AMIBOX_BIN" fsck --data "$DATA_DIR" >"$TEST_DIR/fsck.out" 2>"$TEST_DIR/fsck.err" ||
  fail "fsck after the daemon died: $(cat "$TEST_DIR/fsck.err")"
amibox_daemon_up
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-regions >/dev/null || fail "the restarted daemon does not serve"
echo "t_datadir: ok"
