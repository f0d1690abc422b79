#!/usr/bin/env bash
# EC2 key pairs: the boto3 cases (boto3_keypairs.py, with boto3 1.43 and
# 1.26), then the AWS CLI v1 and v2 making, importing, listing and deleting
# key pairs, the keys read back by ssh-keygen.  Private keys reach neither
# the daemon's log nor its catalog.
. "$(dirname "$0")/lib.sh"
for tool in ssh-keygen puttygen openssl sqlite3; do
  command -v $tool >/dev/null || fail "$tool is not installed (make deps)"
done
# With request lines in the log, so that the check on it means something.
AMIBOX_SERVE_QUIET=
amibox_start
export TEST_DIR
for py in "$PY_NEW" "$PY_DEBIAN"; do
  "$py" "$AMIBOX_SRC/tests/integration/boto3_keypairs.py" || fail "$py: boto3_keypairs.py"
done

n=0
for cli in "$AWS_V1" "$AWS_V2"; do
  n=$((n + 1))
  ec2() { "$cli" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
  key=$TEST_DIR/cli$n.pem
  as alice ec2 create-key-pair --key-name "cli$n" --key-type ed25519 --query KeyMaterial >"$key" ||
    fail "$cli: create-key-pair"
  chmod 600 "$key"
  stored=$(as alice ec2 describe-key-pairs --key-names "cli$n" --include-public-key \
    --query 'KeyPairs[0].PublicKey')
  [ "$(ssh-keygen -y -f "$key")" = "$stored" ] || fail "$cli: ssh-keygen reads another public key"
  ssh-keygen -q -t rsa -m PEM -N '' -C "cli$n@test" -f "$TEST_DIR/own$n"
  fp=$(as alice ec2 import-key-pair --key-name "own$n" --public-key-material "fileb://$TEST_DIR/own$n.pub" \
    --query KeyFingerprint) || fail "$cli: import-key-pair"
  want=$(openssl rsa -in "$TEST_DIR/own$n" -pubout -outform DER 2>/dev/null | openssl md5 -c | sed 's/.*= //')
  [ "$fp" = "$want" ] || fail "$cli: imported fingerprint '$fp', openssl says '$want'"
  got=$(as alice ec2 describe-key-pairs --filters "Name=fingerprint,Values=$fp" --query 'KeyPairs[].KeyName')
  [ "$got" = "own$n" ] || fail "$cli: describe by fingerprint: '$got'"
  out=$(as alice ec2 describe-key-pairs --key-names "nothing$n" 2>&1) && fail "$cli: a missing key pair was listed"
  [[ $out == *InvalidKeyPair.NotFound* && $out == *nothing$n* ]] || fail "$cli: missing key pair: '$out'"
  as alice ec2 delete-key-pair --key-name "cli$n" >/dev/null || fail "$cli: delete-key-pair"
  as alice ec2 delete-key-pair --key-name "cli$n" >/dev/null || fail "$cli: delete of a deleted key pair"
done

# Terraform's aws_key_pair: import, read back without a difference, destroy.
terraform_dir bob us-east-1
ssh-keygen -q -t ed25519 -N '' -C tf@test -f "$TEST_DIR/tf/id"
cat >"$TEST_DIR/tf/main.tf" <<EOF
resource "aws_key_pair" "k" {
  key_name   = "tf-key"
  public_key = file("id.pub")
  tags       = { team = "blue" }
}
output "fingerprint" { value = aws_key_pair.k.fingerprint }
EOF
tf init -input=false || fail "terraform init: $(tail -5 "$TEST_DIR/tf/tf.log")"
tf apply -auto-approve -input=false -no-color || fail "terraform apply: $(tail -15 "$TEST_DIR/tf/tf.log")"
got=$(cd "$TEST_DIR/tf" && TF_CLI_CONFIG_FILE=cli.tfrc terraform output -raw fingerprint)
want=$(ssh-keygen -l -f "$TEST_DIR/tf/id.pub" | sed 's/^256 SHA256:\([^ ]*\) .*/\1=/')
[ "$got" = "$want" ] || fail "terraform's fingerprint '$got', ssh-keygen's '$want'"
tf plan -detailed-exitcode -input=false -no-color || fail "terraform plan finds differences: $(tail -20 "$TEST_DIR/tf/tf.log")"
tf destroy -auto-approve -input=false -no-color || fail "terraform destroy: $(tail -15 "$TEST_DIR/tf/tf.log")"
out=$(as bob "$AWS_V2" --endpoint-url "$ENDPOINT" ec2 describe-key-pairs --key-names tf-key 2>&1) &&
  fail "terraform destroy left the key pair: $out"

grep -q "action=CreateKeyPair" "$TEST_DIR/daemon.log" || fail "the daemon logged no CreateKeyPair"
grep -q "PRIVATE KEY\|PuTTY-User-Key-File" "$TEST_DIR/daemon.log" "$TEST_DIR/daemon.out" &&
  fail "a private key reached the daemon's output"
rows=$(sqlite3 "$DATA_DIR/catalog.db" "SELECT count(*) FROM key_pairs")
[ "$rows" -gt 10 ] || fail "the catalog holds $rows key pairs"
leaks=$(sqlite3 "$DATA_DIR/catalog.db" .dump | grep -c "PRIVATE KEY\|PuTTY-User-Key-File\|Private-Lines" || true)
[ "$leaks" = 0 ] || fail "the catalog holds private keys"
echo "t_keypairs: ok"
