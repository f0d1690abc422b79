"""EC2 Query requests signed with Signature Version 2, as classic clients
send them: boto 2 (Debian's python3-boto, a real classic client) and
hand-signed requests for the refusals (wrong secret, old Timestamp, past
Expires, unknown key, HmacSHA1).  Same accounts and window as SigV4.

Run by t_sigv2.sh with Debian's python3.  Needs ENDPOINT, ALICE_*, BOB_*.
"""
import base64
import hashlib
import hmac
import os
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import boto
import boto.ec2
from boto.ec2.connection import EC2Connection
from boto.ec2.regioninfo import RegionInfo

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
URL = urllib.parse.urlparse(ENDPOINT)


class SigV2Connection(EC2Connection):
    """boto 2's EC2 connection with its own Signature Version 2 signer
    (Debian patches boto 2's EC2 to SigV4; the SigV2 handler is boto's)."""

    def _required_auth_capability(self):
        return ["sign-v2"]


def connect(who):
    region = RegionInfo(name="us-east-1", endpoint=URL.hostname)
    return SigV2Connection(
        aws_access_key_id=os.environ[who + "_KEY"],
        aws_secret_access_key=os.environ[who + "_SECRET"],
        is_secure=False, port=URL.port, region=region, path="/")


def signed(params, key, secret, method="POST", sig_method="HmacSHA256",
           timestamp=None, expires=None):
    """Signs params as SigV2 and sends them; returns (status, body)."""
    p = dict(params)
    p.update({"AWSAccessKeyId": key, "SignatureVersion": "2",
              "SignatureMethod": sig_method, "Version": "2016-11-15"})
    if expires is not None:
        p["Expires"] = expires
    else:
        p["Timestamp"] = timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    enc = lambda s: urllib.parse.quote(s, safe="-_.~")
    canonical = "&".join("%s=%s" % (enc(k), enc(p[k])) for k in sorted(p))
    host = URL.netloc.lower()
    sts = "%s\n%s\n/\n%s" % (method, host, canonical)
    digest = hashlib.sha256 if sig_method == "HmacSHA256" else hashlib.sha1
    p["Signature"] = base64.b64encode(
        hmac.new(secret.encode(), sts.encode(), digest).digest()).decode()
    body = urllib.parse.urlencode(p)
    if method == "POST":
        req = urllib.request.Request(
            ENDPOINT + "/", data=body.encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    else:
        req = urllib.request.Request(ENDPOINT + "/?" + body, method="GET")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def code(body):
    node = ET.fromstring(body).find(".//Code")
    return node.text if node is not None else None


class SigV2Test(unittest.TestCase):
    def test_boto2_describes_and_tags(self):
        conn = connect("ALICE")
        images = conn.get_all_images(owners=["amazon"])
        self.assertTrue(any(i.name == "amibox-sample-hvm" for i in images),
                        [i.name for i in images])
        zones = conn.get_all_zones()
        self.assertTrue(zones)
        vol = conn.create_volume(1, zones[0].name)
        try:
            conn.create_tags([vol.id], {"Name": "sigv2"})
            got = conn.get_all_volumes(filters={"tag:Name": "sigv2"})
            self.assertEqual([v.id for v in got], [vol.id])
        finally:
            conn.delete_volume(vol.id)

    def test_other_account_sees_private_nothing(self):
        alice, bob = connect("ALICE"), connect("BOB")
        vol = alice.create_volume(1, alice.get_all_zones()[0].name)
        try:
            self.assertEqual(bob.get_all_volumes(filters={"volume-id": vol.id}), [])
        finally:
            alice.delete_volume(vol.id)

    def test_hand_signed_post_get_and_sha1(self):
        key, secret = os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"]
        for method in ("POST", "GET"):
            for sig_method in ("HmacSHA256", "HmacSHA1"):
                status, body = signed({"Action": "DescribeRegions"}, key, secret,
                                      method=method, sig_method=sig_method)
                self.assertEqual(status, 200, (method, sig_method, body))
                self.assertIn("<regionName>", body)

    def test_refusals(self):
        key, secret = os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"]
        action = {"Action": "DescribeRegions"}
        status, body = signed(action, key, "x" * 40)
        self.assertEqual((status, code(body)), (403, "SignatureDoesNotMatch"))
        status, body = signed(action, "AKIAIOSFODNN7EXAMPLE", secret)
        self.assertEqual((status, code(body)), (401, "AuthFailure"))
        old = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 20 * 60))
        status, body = signed(action, key, secret, timestamp=old)
        self.assertEqual((status, code(body)), (400, "RequestExpired"))
        past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        status, body = signed(action, key, secret, expires=past)
        self.assertEqual((status, code(body)), (400, "RequestExpired"))
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
        status, body = signed(action, key, secret, expires=future)
        self.assertEqual(status, 200, body)
        status, body = signed(action, key, secret, sig_method="HmacMD5")
        self.assertEqual((status, code(body)), (400, "InvalidParameterValue"))

    def test_tampered_parameter(self):
        """A parameter changed after signing breaks the signature."""
        key, secret = os.environ["ALICE_KEY"], os.environ["ALICE_SECRET"]
        p = {"Action": "DescribeRegions", "AWSAccessKeyId": key, "SignatureVersion": "2",
             "SignatureMethod": "HmacSHA256", "Version": "2016-11-15",
             "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        enc = lambda s: urllib.parse.quote(s, safe="-_.~")
        sts = "POST\n%s\n/\n%s" % (URL.netloc.lower(), "&".join(
            "%s=%s" % (enc(k), enc(p[k])) for k in sorted(p)))
        p["Signature"] = base64.b64encode(
            hmac.new(secret.encode(), sts.encode(), hashlib.sha256).digest()).decode()
        p["RegionName.1"] = "us-east-1"
        req = urllib.request.Request(ENDPOINT + "/", data=urllib.parse.urlencode(p).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(req)
        self.assertEqual(ctx.exception.code, 403)


if __name__ == "__main__":
    cases.main(verbosity=1)
