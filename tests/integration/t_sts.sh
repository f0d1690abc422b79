#!/usr/bin/env bash
# STS GetCallerIdentity with the AWS CLI v1 and v2 and boto3 1.43 / 1.26:
# the caller's account, ARN and a stable user ID; credentials scoped to the
# daemon's region or to us-east-1 (STS is global), not to a third region;
# a wrong secret and an unknown key refused in STS's own error document.
. "$(dirname "$0")/lib.sh"
# Another region than us-east-1, so that both scopes are exercised.
AMIBOX_SERVE_ARGS="--region eu-west-1"
amibox_start

for cli in "$AWS_V1" "$AWS_V2"; do
  sts() { "$cli" --endpoint-url "$ENDPOINT" --output text sts "$@"; }
  got=$(as alice sts get-caller-identity --query '[Account,Arn]')
  [ "$got" = "$ALICE_ID	arn:aws:iam::$ALICE_ID:user/alice" ] || fail "$cli: alice's identity: '$got'"
  uid=$(as alice sts get-caller-identity --query UserId)
  [[ $uid =~ ^AIDA[A-Z2-7]{17}$ ]] || fail "$cli: user ID '$uid' is not an IAM user ID"
  for region in eu-west-1 us-east-1; do
    got=$(AWS_DEFAULT_REGION=$region as bob sts get-caller-identity --query Account)
    [ "$got" = "$BOB_ID" ] || fail "$cli: bob signing for $region: '$got'"
  done
  out=$(AWS_DEFAULT_REGION=us-west-2 as bob sts get-caller-identity 2>&1) &&
    fail "$cli: credentials scoped to us-west-2 were accepted"
  [[ $out == *SignatureDoesNotMatch* ]] || fail "$cli: us-west-2 scope: '$out'"
  out=$(AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=${BOB_SECRET} sts get-caller-identity 2>&1) &&
    fail "$cli: a wrong secret was accepted"
  [[ $out == *SignatureDoesNotMatch* ]] || fail "$cli: wrong secret: '$out'"
  out=$(AWS_ACCESS_KEY_ID=AKIAAAAAAAAAAAAAAAAA AWS_SECRET_ACCESS_KEY=$ALICE_SECRET sts get-caller-identity 2>&1) &&
    fail "$cli: an unknown access key was accepted"
  [[ $out == *InvalidClientTokenId* ]] || fail "$cli: unknown key: '$out'"
done

# The user ID is derived from the account: the same after a restart, and
# not another account's.
uid_alice=$(as alice "$AWS_V2" --endpoint-url "$ENDPOINT" --output text sts get-caller-identity --query UserId)
uid_bob=$(as bob "$AWS_V2" --endpoint-url "$ENDPOINT" --output text sts get-caller-identity --query UserId)
[ "$uid_alice" != "$uid_bob" ] || fail "alice and bob share the user ID $uid_alice"
amibox_daemon_down
amibox_daemon_up
got=$(as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text sts get-caller-identity --query UserId)
[ "$got" = "$uid_alice" ] || fail "alice's user ID changed over a restart: $uid_alice -> $got"

# boto3, both versions: the result, the error document's code and status,
# and the actions amibox does not serve.
for py in "$PY_NEW" "$PY_DEBIAN"; do
  "$py" - <<'EOF' || fail "$py: boto3 STS checks"
import os, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
cfg = Config(retries={"max_attempts": 1})
def client(key, secret, region="eu-west-1"):
    return boto3.client("sts", endpoint_url=os.environ["ENDPOINT"], region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)
me = client(os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"]).get_caller_identity()
assert me["Account"] == os.environ["ALICE_ID"], me
assert me["Arn"] == "arn:aws:iam::%s:user/alice" % os.environ["ALICE_ID"], me
assert me["ResponseMetadata"]["RequestId"], me
def refused(call, code, status):
    try:
        call()
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, e.response
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == status, e.response
        return
    raise AssertionError("accepted: expected " + code)
refused(client(os.environ["ALICE_KEY"], "x" * 40).get_caller_identity, "SignatureDoesNotMatch", 403)
refused(client("AKIAAAAAAAAAAAAAAAAA", "x" * 40, "us-east-1").get_caller_identity,
        "InvalidClientTokenId", 403)
alice = client(os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"], "us-east-1")
refused(lambda: alice.assume_role(RoleArn="arn:aws:iam::%s:role/x" % os.environ["ALICE_ID"],
                                  RoleSessionName="amibox"), "InvalidAction", 400)
refused(alice.get_session_token, "InvalidAction", 400)
EOF
done

# Terraform's AWS provider validates its credentials and learns the account
# through STS, with none of its skip_* settings.
terraform_dir bob eu-west-1
cat >"$TEST_DIR/tf/main.tf" <<EOF
data "aws_caller_identity" "me" {}
output "identity" {
  value = "\${data.aws_caller_identity.me.account_id} \${data.aws_caller_identity.me.arn}"
}
EOF
tf init -input=false || fail "terraform init: $(tail -5 "$TEST_DIR/tf/tf.log")"
tf apply -auto-approve -input=false -no-color || fail "terraform apply: $(tail -15 "$TEST_DIR/tf/tf.log")"
got=$(cd "$TEST_DIR/tf" && TF_CLI_CONFIG_FILE=cli.tfrc terraform output -raw identity)
[ "$got" = "$BOB_ID arn:aws:iam::$BOB_ID:user/bob" ] || fail "terraform's aws_caller_identity: '$got'"
echo "t_sts: ok"
