#!/usr/bin/env bash
# EC2 Query requests signed with Signature Version 2 (boto 2 and hand-signed
# ones), and the request log: a refused sign-in names its access key and
# reason, never the secret or the signature.
. "$(dirname "$0")/lib.sh"
AMIBOX_SERVE_QUIET=
amibox_start
/usr/bin/python3 "$AMIBOX_SRC/tests/integration/sigv2_ec2.py"
grep -q "action=ec2 .*status=403.*error=SignatureDoesNotMatch access_key=$ALICE_KEY" \
  "$TEST_DIR/daemon.log" || fail "a refused SigV2 sign-in was not logged with its key and reason"
grep -q "error=AuthFailure access_key=AKIAIOSFODNN7EXAMPLE" "$TEST_DIR/daemon.log" \
  || fail "an unknown key was not logged"
for secret in "$ALICE_SECRET" "$BOB_SECRET"; do
  if grep -qF -- "$secret" "$TEST_DIR/daemon.log" "$TEST_DIR/daemon.out"; then
    fail "a secret access key reached the daemon's output"
  fi
done
# An unknown action is logged by its (sanitised) name.
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" ec2 describe-regions >/dev/null || fail "describe-regions"
python3 - <<'PY' || fail "unknown action request"
import os, boto3, botocore
c = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                 aws_access_key_id=os.environ["ALICE_KEY"], aws_secret_access_key=os.environ["ALICE_SECRET"])
req = botocore.awsrequest.AWSRequest(method="POST", url=os.environ["ENDPOINT"] + "/",
                                     data={"Action": "FrobnicateWidgets", "Version": "2016-11-15"})
botocore.auth.SigV4Auth(c._request_signer._credentials, "ec2", "us-east-1").add_auth(req)
import urllib.request
r = urllib.request.Request(req.url, data=req.body.encode() if isinstance(req.body, str) else req.body,
                           headers=dict(req.headers), method="POST")
try:
    urllib.request.urlopen(r)
    raise SystemExit("an unknown action succeeded")
except urllib.error.HTTPError as e:
    assert e.code == 400, e.code
PY
grep -q "action=FrobnicateWidgets .*status=400.*error=InvalidAction" "$TEST_DIR/daemon.log" \
  || fail "an unknown action was not logged by its name"
