"""Hostile and broken requests, sent raw: SigV4 failures, envelopes, limits,
garbage on the socket, and cross-account probes.  Needs ENDPOINT, ALICE_*,
BOB_* from lib.sh; run by t_auth.sh.
"""
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import socket
import time
import unittest
import urllib.parse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
HOST, PORT = urllib.parse.urlparse(ENDPOINT).hostname, urllib.parse.urlparse(ENDPOINT).port
ALICE = Credentials(os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"])
BOB = Credentials(os.environ["BOB_KEY"], os.environ["BOB_SECRET"])
FORM = "application/x-www-form-urlencoded; charset=utf-8"
BLOCK = 512 * 1024


def signed(body, creds=ALICE, service="ec2", method="POST", path="/", headers=None,
           when=None):
    """A SigV4-signed request as (method, path, headers, body)."""
    req = AWSRequest(method=method, url=ENDPOINT + path, data=body,
                     headers=dict({"Content-Type": FORM} if body is not None else {},
                                  **(headers or {})))
    signer = SigV4Auth(creds, service, "us-east-1")
    if when is not None:
        # botocore takes the time from datetime.datetime.utcnow.
        real = datetime.datetime

        class Fixed(real):
            @classmethod
            def utcnow(cls):
                return when

            @classmethod
            def now(cls, tz=None):
                return when.replace(tzinfo=tz) if tz else when
        datetime.datetime = Fixed
        try:
            signer.add_auth(req)
        finally:
            datetime.datetime = real
    else:
        signer.add_auth(req)
    return req.method, path, dict(req.headers.items()), body


def send(method, path, headers, body):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    data = body.encode() if isinstance(body, str) else body
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


def ec2_error(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


class Auth(unittest.TestCase):
    DESCRIBE = "Action=DescribeSnapshots&Version=2016-11-15&Owner.1=self"

    def assertEc2Error(self, req, status, code):
        got_status, headers, body = send(*req)
        self.assertEqual((got_status, ec2_error(body)), (status, code), body[:300])
        # The EC2 error envelope, with a request ID in body and header.
        self.assertRegex(body, rb"^<\?xml[^>]*>\s*<Response><Errors><Error><Code>[^<]+</Code>"
                               rb"<Message>[^<]*</Message></Error></Errors>"
                               rb"<RequestID>[0-9a-f-]{36}</RequestID></Response>")
        self.assertIn("x-amzn-requestid", headers)
        return body

    def test_good_request(self):
        status, _, body = send(*signed(self.DESCRIBE))
        self.assertEqual(status, 200, body)

    def test_forged_signature(self):
        method, path, headers, body = signed(self.DESCRIBE)
        auth = headers["Authorization"]
        last = auth[-1]
        headers["Authorization"] = auth[:-1] + ("0" if last != "0" else "1")
        self.assertEc2Error((method, path, headers, body), 403, "SignatureDoesNotMatch")
        # A body changed after signing.
        self.assertEc2Error((method, path, signed(self.DESCRIBE)[2], self.DESCRIBE + "&X=1"),
                            403, "SignatureDoesNotMatch")

    def test_wrong_secret_and_unknown_key(self):
        self.assertEc2Error(signed(self.DESCRIBE, Credentials(ALICE.access_key, BOB.secret_key)),
                            403, "SignatureDoesNotMatch")
        self.assertEc2Error(signed(self.DESCRIBE, Credentials("AKIAAAAAAAAAAAAAAAAA", "x" * 40)),
                            401, "AuthFailure")

    def test_expired_and_future(self):
        now = datetime.datetime.utcnow()
        for delta in (-20, 20):
            with self.subTest(minutes=delta):
                self.assertEc2Error(signed(self.DESCRIBE, when=now + datetime.timedelta(minutes=delta)),
                                    400, "RequestExpired")
        # Within the 15 minutes of skew: accepted.
        status, _, body = send(*signed(self.DESCRIBE, when=now - datetime.timedelta(minutes=10)))
        self.assertEqual(status, 200, body)

    def test_missing_and_incomplete(self):
        self.assertEc2Error(("POST", "/", {"Content-Type": FORM}, self.DESCRIBE),
                            403, "MissingAuthenticationToken")
        method, path, headers, body = signed(self.DESCRIBE)
        for bad in [re.sub(r", SignedHeaders=[^,]*", "", headers["Authorization"]),
                    re.sub(r", Signature=.*", "", headers["Authorization"]),
                    "AWS4-HMAC-SHA256 Credential=broken",
                    "AWS4-HMAC-SHA256"]:
            with self.subTest(auth=bad[:60]):
                h = dict(headers, Authorization=bad)
                status, _, resp = send(method, path, h, body)
                self.assertEqual(status // 100, 4, resp)
                self.assertIn(ec2_error(resp), ("IncompleteSignature", "AuthFailure",
                                                "MissingAuthenticationToken"))
        h = dict(headers)
        del h["X-Amz-Date"]
        status, _, resp = send(method, path, h, body)
        self.assertEqual(status // 100, 4)
        self.assertIn(ec2_error(resp), ("IncompleteSignature", "SignatureDoesNotMatch",
                                        "MissingAuthenticationToken"))

    def test_content_sha256_mismatch(self):
        req = signed(self.DESCRIBE, headers={"X-Amz-Content-SHA256": "0" * 64})
        status, _, body = send(*req)
        self.assertEqual(status // 100, 4, body)
        self.assertIn(ec2_error(body), ("XAmzContentSHA256Mismatch", "SignatureDoesNotMatch"))

    def test_content_sha256_must_be_a_hash(self):
        req = signed(self.DESCRIBE, headers={"X-Amz-Content-SHA256": "not-a-hash"})
        status, _, body = send(*req)
        self.assertEqual((status, ec2_error(body)), (400, "InvalidArgument"), body)

    def test_other_region_scope(self):
        req = AWSRequest(method="POST", url=ENDPOINT + "/", data=self.DESCRIBE,
                         headers={"Content-Type": FORM})
        SigV4Auth(ALICE, "ec2", "eu-west-1").add_auth(req)
        self.assertEc2Error(("POST", "/", dict(req.headers.items()), self.DESCRIBE),
                            403, "SignatureDoesNotMatch")

    def test_action_text_never_reaches_the_log(self):
        body = "Action=X%0Aforged-line&Version=2016-11-15"
        self.assertEc2Error(signed(body), 400, "InvalidAction")

    def test_unknown_action_and_version(self):
        self.assertEc2Error(signed("Action=LaunchRocket&Version=2016-11-15"), 400, "InvalidAction")
        status, _, body = send(*signed("Version=2016-11-15"))
        self.assertEqual(status, 400)
        self.assertIn(ec2_error(body), ("MissingAction", "InvalidAction"))

    def test_oversized_body_then_still_serving(self):
        big = "Action=DescribeSnapshots&Version=2016-11-15&Pad=" + "x" * (2 << 20)
        try:
            status, _, _ = send(*signed(big))
            self.assertEqual(status, 413)
        except (ConnectionError, http.client.HTTPException):
            pass  # closing the connection on an oversized body is fine too
        status, _, _ = send(*signed(self.DESCRIBE))
        self.assertEqual(status, 200)

    def test_garbage_and_half_requests(self):
        for junk in [b"\x00\xff\x13garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n",
                     b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\nabc",
                     b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                     b"A" * 70000 + b"\r\n\r\n"]:
            s = socket.create_connection((HOST, PORT), timeout=5)
            try:
                s.sendall(junk)
                s.shutdown(socket.SHUT_WR)
                s.recv(4096)
            except OSError:
                pass
            s.close()
        status, _, _ = send(*signed(self.DESCRIBE))
        self.assertEqual(status, 200, "the daemon stopped answering after garbage")


class EbsErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cfg = Config(retries={"max_attempts": 1}, region_name="us-east-1")
        cls.ebs = boto3.client("ebs", endpoint_url=ENDPOINT, config=cfg,
                               aws_access_key_id=ALICE.access_key,
                               aws_secret_access_key=ALICE.secret_key)
        cls.bob_ebs = boto3.client("ebs", endpoint_url=ENDPOINT, config=cfg,
                                   aws_access_key_id=BOB.access_key,
                                   aws_secret_access_key=BOB.secret_key)
        cls.bob_ec2 = boto3.client("ec2", endpoint_url=ENDPOINT, config=cfg,
                                   aws_access_key_id=BOB.access_key,
                                   aws_secret_access_key=BOB.secret_key)
        cls.snap = cls.ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
        cls.data = os.urandom(BLOCK)
        cls.checksum = base64.b64encode(hashlib.sha256(cls.data).digest()).decode()
        cls.ebs.put_snapshot_block(SnapshotId=cls.snap, BlockIndex=0, BlockData=cls.data,
                                   DataLength=BLOCK, Checksum=cls.checksum,
                                   ChecksumAlgorithm="SHA256")

    def code(self, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        return cm.exception.response["Error"]["Code"]

    def test_json_error_shape(self):
        method, path, headers, body = signed(None, service="ebs", method="GET",
                                             path="/snapshots/snap-0123456789abcdef0/blocks")
        status, h, resp = send(method, path, headers, body)
        self.assertEqual(status // 100, 4)
        self.assertIn("x-amzn-errortype", h)
        self.assertTrue(h["x-amzn-errortype"].startswith("ResourceNotFoundException"), h)
        doc = json.loads(resp)
        self.assertIn("message", {k.lower() for k in doc})
        self.assertIn("x-amzn-requestid", h)

    def test_block_index_past_end(self):
        # 1 GiB volume: 2048 blocks of 512 KiB, indices 0..2047.
        self.assertEqual(self.code(self.ebs.put_snapshot_block, SnapshotId=self.snap,
                                   BlockIndex=2048, BlockData=self.data, DataLength=BLOCK,
                                   Checksum=self.checksum, ChecksumAlgorithm="SHA256"),
                         "ValidationException")
        self.assertEqual(self.code(self.ebs.list_snapshot_blocks, SnapshotId=self.snap,
                                   StartingBlockIndex=5000), "ValidationException")

    def test_bad_checksum_and_length(self):
        bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        self.assertEqual(self.code(self.ebs.put_snapshot_block, SnapshotId=self.snap,
                                   BlockIndex=1, BlockData=self.data, DataLength=BLOCK,
                                   Checksum=bad, ChecksumAlgorithm="SHA256"),
                         "ValidationException")
        self.assertEqual(self.code(self.ebs.put_snapshot_block, SnapshotId=self.snap,
                                   BlockIndex=1, BlockData=self.data[:1000], DataLength=1000,
                                   Checksum=self.checksum, ChecksumAlgorithm="SHA256"),
                         "ValidationException")

    def test_other_account(self):
        self.assertEqual(self.code(self.bob_ebs.list_snapshot_blocks, SnapshotId=self.snap),
                         "ResourceNotFoundException")
        self.assertEqual(self.code(self.bob_ebs.put_snapshot_block, SnapshotId=self.snap,
                                   BlockIndex=3, BlockData=self.data, DataLength=BLOCK,
                                   Checksum=self.checksum, ChecksumAlgorithm="SHA256"),
                         "ResourceNotFoundException")
        self.assertEqual(self.code(self.bob_ec2.describe_snapshots, SnapshotIds=[self.snap]),
                         "InvalidSnapshot.NotFound")
        self.assertEqual(self.code(self.bob_ec2.delete_snapshot, SnapshotId=self.snap),
                         "InvalidSnapshot.NotFound")

    def test_malformed_ids(self):
        self.assertEqual(self.code(self.bob_ec2.describe_snapshots, SnapshotIds=["snap-zz"]),
                         "InvalidSnapshotID.Malformed")
        self.assertEqual(self.code(self.bob_ec2.delete_snapshot, SnapshotId="vol-1"),
                         "InvalidSnapshotID.Malformed")
        self.assertEqual(self.code(self.ebs.list_snapshot_blocks, SnapshotId="snap-1"),
                         "ValidationException")


if __name__ == "__main__":
    cases.main(verbosity=1)
