#!/usr/bin/env bash
# Drives amibox with the AWS SDK for JavaScript v3 (@aws-sdk/client-ebs and
# @aws-sdk/client-ec2, pinned in tests/integration/js/package.json):
# EBS direct APIs (StartSnapshot, PutSnapshotBlock from a Buffer and from a
# chunked stream, CompleteSnapshot with a LINEAR checksum, ListSnapshotBlocks,
# GetSnapshotBlock) and EC2 snapshot APIs (DescribeSnapshots with filters and
# the SDK paginator, tags, createVolumePermission, DeleteSnapshot, auth errors).
# Usage (from the source tree): AMIBOX_BIN=$PWD/build/amibox bash tests/integration/t_js_sdk.sh
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

JS_DIR=tests/integration/js
NODE=${NODE:-$(command -v node || true)}
[ -n "$NODE" ] || fail "node is not installed (need node >= 20)"
command -v npm >/dev/null || fail "npm is not installed"
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "node $("$NODE" --version) is too old (need >= 20)"

# Install the pinned SDK if node_modules is missing or was installed from a
# different package-lock.json (the stamp records the lock file's hash).
js_deps() {
  local want have stamp=$JS_DIR/node_modules/.amibox-lock-sha256
  want=$(sha256sum "$JS_DIR/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$stamp" 2>/dev/null || true)
  [ -d "$JS_DIR/node_modules/@aws-sdk/client-ebs" ] &&
    [ -d "$JS_DIR/node_modules/@aws-sdk/client-ec2" ] &&
    [ "$want" = "$have" ] && return 0
  echo "npm ci in $JS_DIR" >&2
  if ! (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error) \
      >"$TEST_DIR/npm.log" 2>&1; then
    cat "$TEST_DIR/npm.log" >&2
    fail "npm ci failed in $JS_DIR"
  fi
  echo "$want" >"$stamp"
}
if command -v flock >/dev/null; then
  # Serialise concurrent runs that share the one node_modules.
  exec 8<"$JS_DIR"
  flock 8
  js_deps
  flock -u 8
  exec 8<&-
else
  js_deps
fi

amibox_start

# node 20 is what the machine has; the SDK's "upgrade to node 22" notice is noise.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
if ! "$NODE" "$JS_DIR/ebs_ec2.mjs"; then
  echo "--- daemon log (last 50 lines)" >&2
  tail -n 50 "$TEST_DIR/daemon.log" >&2 || true
  fail "JS SDK test failed"
fi
echo "PASS: t_js_sdk"
