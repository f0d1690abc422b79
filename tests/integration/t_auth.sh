#!/usr/bin/env bash
# Negative tests: forged, expired, unsigned and malformed requests; error
# envelopes; size limits; garbage on the socket; other accounts' snapshots;
# bad blocks.  Afterwards no secret may appear in the daemon's output.
. "$(dirname "$0")/lib.sh"
# With request lines in the log, so that the checks on it can fail.
AMIBOX_SERVE_QUIET=
amibox_start
"$PY_NEW" "$AMIBOX_SRC/tests/integration/auth_negative.py"
for secret in "$ALICE_SECRET" "$BOB_SECRET"; do
  if grep -qF -- "$secret" "$TEST_DIR/daemon.log" "$TEST_DIR/daemon.out"; then
    fail "a secret access key reached the daemon's output"
  fi
done
grep -q "action=DescribeSnapshots" "$TEST_DIR/daemon.log" || fail "the daemon logged no request lines"
grep -q "^forged-line" "$TEST_DIR/daemon.log" && fail "a client's text reached the log as a line of its own"
echo "t_auth: ok"
