#!/usr/bin/env bash
# `amibox account` while the daemon runs: a new account works at once, a
# deleted one stops working at once, bad names and duplicates are refused,
# an account that owns snapshots is kept; SIGTERM stops the daemon cleanly.
. "$(dirname "$0")/lib.sh"
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

# SIGTERM: a clean exit with status 0.
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || fail "daemon exited with status $? on SIGTERM"
DAEMON_PID=
grep -q "shutting down" "$TEST_DIR/daemon.log" || fail "no shutdown line in the log"
echo "accounts ok"
