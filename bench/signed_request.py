"""Writes a wrk Lua script that replays one SigV4-signed EC2 request.
Usage: signed_request.py ENDPOINT ACCESS_KEY SECRET OUT.lua [BODY]
BODY defaults to DescribeSnapshots of the caller's snapshots.  The signature
stays valid for the 15 minutes of allowed clock skew."""
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, key, secret, out = sys.argv[1:5]
body = sys.argv[5] if len(sys.argv) > 5 else \
    "Action=DescribeSnapshots&Version=2016-11-15&Owner.1=self"
request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
SigV4Auth(Credentials(key, secret), "ec2", "us-east-1").add_auth(request)


def lua(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


with open(out, "w") as f:
    f.write('wrk.method = "POST"\n')
    f.write("wrk.body = %s\n" % lua(body))
    for name, value in request.headers.items():
        f.write("wrk.headers[%s] = %s\n" % (lua(name), lua(value)))
