# Shared by the integration tests: start a daemon on a free port with a
# temporary data directory, make accounts, find the real clients, clean up.
# Usage: . tests/integration/lib.sh; amibox_start; ...; (cleanup is a trap)
set -euo pipefail

AMIBOX_BIN=${AMIBOX_BIN:-$(pwd)/build/amibox}
AMIBOX_SRC=${AMIBOX_SRC:-$(pwd)}
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/amibox-test.XXXXXX")
DAEMON_PID=
DATA_DIR=$TEST_DIR/data

# Sanitizer reports from the daemon (the ASan build) fail the test.
amibox_sanitizer_check() {
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TEST_DIR/daemon.log" 2>/dev/null; then
    echo "FAIL: the daemon reported a sanitizer error:" >&2
    grep -A30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TEST_DIR/daemon.log" | head -60 >&2
    return 1
  fi
}

amibox_cleanup() {
  local status=$?
  # The daemon first, so that it starts nothing more; then what outlives it
  # by design (machines, NBD servers, VPC routers), this test's.
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
  if [ -d "$DATA_DIR" ]; then
    pkill -KILL -f -- "$DATA_DIR/" 2>/dev/null || true
    # VPC routers name the directory itself (their namespaces go with them).
    pkill -KILL -f -- "router --data $DATA_DIR " 2>/dev/null || true
  fi
  amibox_sanitizer_check || status=1
  # A script that dies on a check's line (set -e) failed that check.
  if [ "$status" -ne 0 ] && [ -n "$AMIBOX_CASE_LINE" ]; then
    amibox_case_record fail "$AMIBOX_CASE_LINE"
    AMIBOX_CASE_LINE=
  fi
  amibox_case_settle
  if [ "$status" -ne 0 ]; then
    # What CI shows of a failure: the daemon's last lines and the machines' logs.
    echo "---- daemon.log (last 30 lines)" >&2
    tail -n 30 "$TEST_DIR/daemon.log" >&2 2>/dev/null || true
    for f in "$DATA_DIR"/instances/*/nbdkit.log "$DATA_DIR"/instances/*/qemu.log; do
      [ -s "$f" ] || continue
      echo "---- $f (last 15 lines)" >&2
      tail -n 15 "$f" >&2
    done
  fi
  [ -n "${AMIBOX_KEEP_TEST_DIR:-}" ] || rm -rf "$TEST_DIR"
  exit $status
}
trap amibox_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  # The check that failed is the one on the line that called fail.
  amibox_case_record fail "${BASH_LINENO[0]}"
  AMIBOX_CASE_LINE=
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# The AWS CLI v1 (Python, from the machine image) and v2 (Debian's awscli).
AWS_V2=/usr/bin/aws
AWS_V1=
for candidate in $(type -ap aws); do
  [ "$(readlink -f "$candidate")" = "$(readlink -f $AWS_V2)" ] && continue
  AWS_V1=$candidate; break
done
# Python with pip's boto3 1.43 (machine image) and Debian's boto3 1.26.
PY_NEW=$(command -v python3)
PY_DEBIAN=/usr/bin/python3

# Public addresses of this test's instances: a /24 of its own in 127.0.0.0/8,
# so that tests running at once never want the same address.
PUBLIC_IPS=${PUBLIC_IPS:-127.$((101 + RANDOM % 120)).$((RANDOM % 256)).0/24}

amibox_daemon_up() {
  "$AMIBOX_BIN" serve --listen "127.0.0.1:$PORT" --data "$DATA_DIR" ${AMIBOX_SERVE_QUIET---quiet} --public-ips "$PUBLIC_IPS" ${AMIBOX_SERVE_ARGS:-} ${AMIBOX_TEST_ACCEL:+--accel "$AMIBOX_TEST_ACCEL"} \
    >>"$TEST_DIR/daemon.out" 2>>"$TEST_DIR/daemon.log" &
  DAEMON_PID=$!
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$TEST_DIR/daemon.log" >&2; fail "daemon exited"; }
    sleep 0.1
  done
  fail "daemon did not start listening on $PORT"
}

amibox_daemon_down() {
  kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
}

# Creates account NAME and sets NAME_ID, NAME_KEY, NAME_SECRET (upper case).
amibox_account() {
  local name=$1 json var
  json=$("$AMIBOX_BIN" account create "$name" --data "$DATA_DIR" --json)
  var=$(echo "$name" | tr a-z A-Z)
  eval "${var}_ID=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccountId"])')"
  eval "${var}_KEY=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKeyId"])')"
  eval "${var}_SECRET=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretAccessKey"])')"
}

amibox_start() {
  mkdir -p "$DATA_DIR"
  PORT=$(free_port)
  ENDPOINT=http://127.0.0.1:$PORT
  amibox_daemon_up
  amibox_account alice
  amibox_account bob
  export DATA_DIR ENDPOINT ALICE_ID ALICE_KEY ALICE_SECRET BOB_ID BOB_KEY BOB_SECRET
  export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

# as ACCOUNT CMD...: runs CMD with that account's credentials.
as() {
  local var; var=$(echo "$1" | tr a-z A-Z); shift
  local key_var=${var}_KEY secret_var=${var}_SECRET
  AWS_ACCESS_KEY_ID=${!key_var} AWS_SECRET_ACCESS_KEY=${!secret_var} "$@"
}

# with_amibox_nss CMD...: runs CMD (as root) with the host's resolver
# taking amibox's public DNS names through the libnss_amibox.so.2 built
# beside $AMIBOX_BIN, as "hosts: files amibox" in /etc/nsswitch.conf would
# after make install, but in a mount namespace of its own: the host's
# configuration is not touched, and no name goes to a DNS server.
with_amibox_nss() {
  local conf=$TEST_DIR/nsswitch.conf lib
  lib=$(dirname "$AMIBOX_BIN")
  [ -e "$lib/libnss_amibox.so.2" ] || fail "no libnss_amibox.so.2 beside $AMIBOX_BIN"
  sed 's/^hosts:.*/hosts: files amibox/' /etc/nsswitch.conf >"$conf"
  grep -q '^hosts:' "$conf" || echo 'hosts: files amibox' >>"$conf"
  unshare -m sh -c 'mount --bind "$0" /etc/nsswitch.conf && exec "$@"' "$conf" \
    env LD_LIBRARY_PATH="$lib" "$@"
}

# guest_console ACCOUNT ID: the instance's console output as the account
# sees it (GetConsoleOutput, decoded, without carriage returns).
guest_console() {
  as "$1" "$AWS_V1" --endpoint-url "$ENDPOINT" --output json ec2 get-console-output \
    --instance-id "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Output","").replace("\r", ""))'
}

# wait_guest_console ACCOUNT ID TEXT [SECONDS]: polls (60 s by default)
# until the console output holds TEXT.
wait_guest_console() {
  for _ in $(seq 1 $((${4:-60} * 2))); do
    guest_console "$1" "$2" | grep -q -- "$3" && return 0
    sleep 0.5
  done
  return 1
}

# sample_image ACCOUNT NAME: the ID of the sample image NAME, waited for (10 s)
# while the daemon publishes it; fails the test without one.
sample_image() {
  local id=
  for _ in $(seq 1 50); do
    id=$(as "$1" "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 describe-images --owners amazon \
      --filters Name=name,Values="$2" --query 'Images[0].ImageId')
    case $id in ami-*) echo "$id"; return 0 ;; esac
    sleep 0.2
  done
  fail "no sample image $2: '$id'"
}

# The Linux sample's pieces (Debian's kernel, busybox, the SSH server),
# unpacked into $TEST_DIR/pieces and exported for the daemon to publish it.
amibox_linux_sample_env() {
  local pieces
  pieces=$("$AMIBOX_SRC/scripts/linux-pieces.sh" "$TEST_DIR/pieces") ||
    fail "cannot get Debian's kernel, busybox and dropbear"
  eval "$pieces"
  export AMIBOX_SAMPLE_KERNEL AMIBOX_SAMPLE_MODULES AMIBOX_SAMPLE_BUSYBOX AMIBOX_SAMPLE_SSH
}

# The Debian sample images (amibox samples build debian), built once and
# cached outside the clone ($AMIBOX_E2E_CACHE or ~/.cache/amibox), published
# into this test's data directory; before amibox_start (it takes the lock).
amibox_debian_samples() {
  mkdir -p "$DATA_DIR"
  "$AMIBOX_BIN" samples build debian --data "$DATA_DIR" --cache "${AMIBOX_E2E_CACHE:-$HOME/.cache/amibox}" \
    >"$TEST_DIR/samples.out" 2>"$TEST_DIR/samples.err" ||
    { cat "$TEST_DIR/samples.err" >&2; fail "amibox samples build debian failed"; }
}

# Terraform with the machine's provider mirror only: terraform_mirror DIR
# writes DIR/cli.tfrc and exports what terraform reads.
terraform_mirror() {
  command -v terraform >/dev/null || fail "terraform is not installed"
  [ -d /opt/tf-plugins ] || fail "the AWS provider mirror /opt/tf-plugins is missing"
  mkdir -p "$1"
  cat >"$1/cli.tfrc" <<'CONF'
provider_installation {
  filesystem_mirror {
    path = "/opt/tf-plugins"
  }
  direct {
    exclude = ["*/*/*"]
  }
}
CONF
  export TF_CLI_CONFIG_FILE=$1/cli.tfrc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
}

# Terraform against the daemon: terraform_dir ACCOUNT REGION makes
# $TEST_DIR/tf with the AWS provider (from the machine's plugin mirror)
# signing as ACCOUNT for REGION, its STS and EC2 endpoints the daemon; the
# test adds its own .tf files.  tf ARGS... runs terraform there, its output
# in $TEST_DIR/tf/tf.log.
terraform_dir() {
  local var; var=$(echo "$1" | tr a-z A-Z)
  local key_var=${var}_KEY secret_var=${var}_SECRET
  terraform_mirror "$TEST_DIR/tf"
  cat >"$TEST_DIR/tf/provider.tf" <<EOF
terraform {
  required_providers { aws = { source = "hashicorp/aws" } }
}
provider "aws" {
  region     = "$2"
  access_key = "${!key_var}"
  secret_key = "${!secret_var}"
  endpoints {
    sts = "$ENDPOINT"
    ec2 = "$ENDPOINT"
  }
}
EOF
}
tf() {
  (cd "$TEST_DIR/tf" && terraform "$@" \
    >>"$TEST_DIR/tf/tf.log" 2>&1)
}

# The nbdkit plugin beside the binary.  An ASan-built one needs the sanitizer
# runtimes loaded first, also when the daemon starts nbdkit for an instance.
NBD_PLUGIN=${NBD_PLUGIN:-$(dirname "$AMIBOX_BIN")/nbdkit-amibox-plugin.so}
AMIBOX_NBDKIT_PRELOAD=
# (ldd's output is read whole: `ldd | grep -q` under pipefail fails whenever
# grep exits before ldd has written its last line, and the preload went missing.)
plugin_libs=$([ -f "$NBD_PLUGIN" ] && ldd "$NBD_PLUGIN" || true)
case $plugin_libs in
  *libasan*) AMIBOX_NBDKIT_PRELOAD=$(echo "$plugin_libs" | awk '/libasan|libubsan/ {print $3}' | tr '\n' ' ') ;;
esac
export AMIBOX_NBDKIT_PRELOAD

# ---- counting checks ----------------------------------------------------
# `make check` counts every check, not every script.  A check is a line of
# the test script that calls `fail` (`cond || fail ...`, `if ...; then fail
# ...`): each time the script runs such a line and goes on to another line
# without failing, that is one passed check (a loop counts each time round);
# fail() records the failed one.  Records go to $AMIBOX_CASES_FILE as
# "pass t_x.sh:LINE" / "fail t_x.sh:LINE" (set by scripts/run-tests.sh).
AMIBOX_CASE_SCRIPT=$(basename "$0")
AMIBOX_CASE_LINE=
mapfile -t AMIBOX_CASE_SOURCE <"$0"
amibox_case_record() {
  [ -n "${AMIBOX_CASES_FILE:-}" ] || return 0
  echo "$1 $AMIBOX_CASE_SCRIPT:$2" >>"$AMIBOX_CASES_FILE"
}
amibox_case_settle() {
  [ -z "$AMIBOX_CASE_LINE" ] || amibox_case_record pass "$AMIBOX_CASE_LINE"
  AMIBOX_CASE_LINE=
}
amibox_case_step() {
  local line=$1 text next
  [ "$line" != "$AMIBOX_CASE_LINE" ] || return 0
  amibox_case_settle
  text=${AMIBOX_CASE_SOURCE[line - 1]:-}
  next=${AMIBOX_CASE_SOURCE[line]:-}
  case $text in
    *"|| fail "*|*"&& fail "*|*"then fail "*|*"; fail "*|*") fail "*) AMIBOX_CASE_LINE=$line ;;
    *then) [[ $next =~ ^[[:space:]]*fail[[:space:]] ]] && AMIBOX_CASE_LINE=$line ;;
  esac
  return 0
}
# From here on, the trap sees only the test script's own top-level lines
# (functions and subshells do not inherit it).
trap 'amibox_case_step "$LINENO"' DEBUG
