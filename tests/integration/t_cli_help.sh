#!/usr/bin/env bash
# What a newcomer meets first: `amibox --version`; every command's --help
# (exit 0, on stdout) lists its flags; the daemon prints the default
# account's secret once, when it makes it, and afterwards says where the keys
# are and how to show them (`amibox account show`); a host without a kernel
# is told what to install for the Linux sample; the README's bundle example
# works as pasted (bundle-image makes its destination).
. "$(dirname "$0")/lib.sh"

version=$("$AMIBOX_BIN" --version) || fail "--version failed"
[[ $version =~ ^amibox\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$version'"
"$AMIBOX_BIN" --help | grep -q "amibox --version" || fail "the usage does not mention --version"

# help_lists COMMAND FLAG...: --help exits 0, prints on stdout only, names every flag.
help_lists() {
  local command=$1 out status=0 flag
  shift
  out=$("$AMIBOX_BIN" "$command" --help 2>"$TEST_DIR/help.err") || status=$?
  if [ "$status" != 0 ] || [ -s "$TEST_DIR/help.err" ] || [ -z "$out" ]; then
    echo "$command --help: status $status, stderr '$(cat "$TEST_DIR/help.err")'" >&2
    return 1
  fi
  for flag; do
    grep -qF -- "$flag" <<<"$out" || { echo "$command --help does not list $flag" >&2; return 1; }
  done
}
help_lists serve --listen --data --region --quiet --memory-scale --stop-grace --accel || fail "serve --help"
help_lists account create list show delete add-cert --data --json --force --endpoint-url || fail "account --help"
help_lists import --description --endpoint-url --data --account --size --no-progress || fail "import --help"
help_lists fsck --data --repair || fail "fsck --help"
help_lists bundle-image --image --prefix --cert --privatekey --user --ec2cert --data --arch --kernel \
  --ramdisk --type --block-device-mapping --destination --part-size --no-progress || fail "bundle-image --help"
help_lists unbundle --manifest --privatekey --source --destination --no-progress || fail "unbundle --help"
help_lists upload-bundle --bucket --manifest --acl --endpoint --data --account || fail "upload-bundle --help"
help_lists download-bundle --bucket --prefix --destination --endpoint --data --account || fail "download-bundle --help"
help_lists ec2-cert --data || fail "ec2-cert --help"
help_lists imds --data --instance --region || fail "imds --help"
status=0; "$AMIBOX_BIN" serve --no-such-flag >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || fail "a bad flag exited with $status"

# The secret: printed when the account is made, never again; where it is kept is said.
AMIBOX_SERVE_QUIET= amibox_start
json=$("$AMIBOX_BIN" account show default --data "$DATA_DIR" --json) || fail "account show default"
secret=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretAccessKey"])')
key=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKeyId"])')
[ "$(grep -cF -- "$secret" "$TEST_DIR/daemon.out")" = 1 ] || fail "first start: the secret is not printed once"
grep -qF "export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret" "$TEST_DIR/daemon.out" ||
  fail "first start: no ready-to-paste keys: $(cat "$TEST_DIR/daemon.out")"
grep -qF "amibox account show default --data $DATA_DIR" "$TEST_DIR/daemon.out" ||
  fail "first start: it does not say how to show the keys again"
AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-regions \
  >/dev/null || fail "the shown keys do not work"
"$AMIBOX_BIN" account show default --data "$DATA_DIR" | grep -q "^secret access key: $secret$" ||
  fail "account show prints no secret"
if "$AMIBOX_BIN" account show nobody --data "$DATA_DIR" 2>/dev/null; then fail "account show of nobody"; fi
amibox_daemon_down
: >"$TEST_DIR/daemon.out"
AMIBOX_SAMPLE_KERNEL=/nonexistent/vmlinuz amibox_daemon_up
for _ in $(seq 1 50); do grep -q "account show" "$TEST_DIR/daemon.out" && break; sleep 0.1; done
grep -qF -- "$secret" "$TEST_DIR/daemon.out" "$TEST_DIR/daemon.log" && fail "a restart printed the secret again"
grep -qF "account 'default'" "$TEST_DIR/daemon.out" || fail "restart: $(cat "$TEST_DIR/daemon.out")"
grep -qF "keys are in $DATA_DIR/catalog.db" "$TEST_DIR/daemon.out" || fail "restart: where the keys are"
grep -qF "amibox account show default --data $DATA_DIR" "$TEST_DIR/daemon.out" || fail "restart: how to show them"
grep -q "Linux sample image is not published.*apt-get install linux-image-cloud-amd64" "$TEST_DIR/daemon.log" ||
  fail "no word on what to install: $(grep -i linux "$TEST_DIR/daemon.log")"

# The README's bundle example: the destination folder need not exist.
truncate -s 3M "$TEST_DIR/disk.raw"
"$AMIBOX_BIN" ec2-cert --data "$DATA_DIR" >"$TEST_DIR/cloud.pem" || fail "ec2-cert"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=me -keyout "$TEST_DIR/me.key" \
  -out "$TEST_DIR/me.pem" 2>/dev/null || fail "openssl req"
(cd "$TEST_DIR" && "$AMIBOX_BIN" bundle-image --image disk.raw --prefix disk --cert me.pem \
  --privatekey me.key --user "$ALICE_ID" --ec2cert cloud.pem --destination bundle/ --no-progress \
  >/dev/null) || fail "bundle-image into a new folder"
[ -f "$TEST_DIR/bundle/disk.manifest.xml" ] || fail "no manifest in the new folder"
(cd "$TEST_DIR" && "$AMIBOX_BIN" unbundle --manifest bundle/disk.manifest.xml --privatekey me.key \
  --destination out/deeper --no-progress >/dev/null) || fail "unbundle into a new folder"
cmp "$TEST_DIR/disk.raw" "$TEST_DIR/out/deeper/disk" || fail "the unbundled image differs"
echo "t_cli_help: ok"
