"""The S3 API: buckets, objects, ranges, listings, multipart uploads, canned
ACLs across two accounts, and the request signatures real clients send
(boto3's SigV4, S3 Signature Version 2 as euca2ools signs it, aws-chunked
streaming SigV4, UNSIGNED-PAYLOAD, Expect: 100-continue).  Every refusal must
be a 4xx with an S3 error document.

Needs ENDPOINT, ALICE_*, BOB_*, TEST_DIR.  Tests that only a server enforcing
ownership and every signature check passes run with S3_STRICT=1; the rest
also pass against moto_server.
"""
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.client
import os
import re
import socket
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zlib

import boto3
import botocore
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
HOST, PORT = urllib.parse.urlparse(ENDPOINT).hostname, urllib.parse.urlparse(ENDPOINT).port
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1",
                s3={"addressing_style": "path"})
STRICT = os.environ.get("S3_STRICT") == "1"
strict = unittest.skipUnless(STRICT, "needs a strict server (S3_STRICT=1)")
MiB = 1024 * 1024
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
LAST_RESPONSE = {}


def client(service, who):
    c = boto3.client(service, endpoint_url=ENDPOINT, config=CONFIG,
                     aws_access_key_id=os.environ[who + "_KEY"],
                     aws_secret_access_key=os.environ[who + "_SECRET"])
    # Keep the raw HTTP response, so that error documents can be checked
    # (botocore 1.29 has no before-parse event; both have needs-retry).
    c.meta.events.register("needs-retry.s3.*", keep_response)
    return c


def keep_response(response=None, **kw):
    # Only errors: reading a success's body here would consume a GetObject stream.
    if response and response[0] is not None and response[0].status_code >= 300:
        LAST_RESPONSE.update(status_code=response[0].status_code, body=response[0].content)


def creds(who):
    return os.environ[who + "_KEY"], os.environ[who + "_SECRET"]


def unique(tag):
    return "amibox-%s-%s" % (tag, uuid.uuid4().hex[:12])


def quoted_md5(data):
    return '"%s"' % hashlib.md5(data).hexdigest()


def multipart_etag(parts):
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(parts))


def status(response):
    return response["ResponseMetadata"]["HTTPStatusCode"]


# botocore 1.36 and later compute a CRC32 of every upload unless told not to,
# and s3transfer asks multipart uploads for CRC32 checksums.
BOTOCORE_CHECKSUMS_BY_DEFAULT = tuple(int(v) for v in botocore.__version__.split(".")[:2]) >= (1, 36)


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def raw_checksum(algorithm, data):
    """The checksum S3 means by ALGORITHM, as bytes (CRCs big-endian)."""
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "CRC32C":
        crc = 0xFFFFFFFF
        for byte in data:
            crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return (crc ^ 0xFFFFFFFF).to_bytes(4, "big")
    return hashlib.new(algorithm.lower(), data).digest()


def checksum(algorithm, data):
    return base64.b64encode(raw_checksum(algorithm, data)).decode()


def composite_checksum(algorithm, parts):
    """S3's COMPOSITE checksum: the checksum of the parts' raw checksums, "-N"."""
    joined = b"".join(raw_checksum(algorithm, p) for p in parts)
    return "%s-%d" % (checksum(algorithm, joined), len(parts))


# ---- hand-written signers -------------------------------------------------

def v2_sign(method, resource, headers, key_secret, date=None):
    """S3 Signature Version 2: returns headers with Date and Authorization.
    RESOURCE is the CanonicalizedResource (path plus signed sub-resources)."""
    date = date or email.utils.formatdate(usegmt=True)
    headers = dict(headers, Date=date)
    lower = {k.lower(): str(v).strip() for k, v in headers.items()}
    amz = "".join("%s:%s\n" % (k, lower[k]) for k in sorted(lower) if k.startswith("x-amz-"))
    to_sign = "%s\n%s\n%s\n%s\n%s%s" % (method, lower.get("content-md5", ""),
                                          lower.get("content-type", ""), date, amz, resource)
    sig = base64.b64encode(hmac.new(key_secret[1].encode(), to_sign.encode(),
                                    hashlib.sha1).digest()).decode()
    headers["Authorization"] = "AWS %s:%s" % (key_secret[0], sig)
    return headers


def _hmac256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def v4_sign(method, path, headers, payload_hash, key_secret, when=None, query=""):
    """SigV4 for S3 over every header given, plus x-amz-date and
    x-amz-content-sha256, and the QUERY string (as it will be sent).
    Returns (headers, signature, context) where the context signs
    aws-chunked chunks."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers = dict(headers, **{"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash})
    canon = sorted((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
    signed = ";".join(k for k, _ in canon)
    canonical_query = "&".join(sorted(
        "%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)))
    request = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canonical_query,
                         "".join("%s:%s\n" % kv for kv in canon), signed, payload_hash])
    scope = "%s/us-east-1/s3/aws4_request" % amz_date[:8]
    to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (
        amz_date, scope, hashlib.sha256(request.encode()).hexdigest())
    key = _hmac256(("AWS4" + key_secret[1]).encode(), amz_date[:8])
    for part in ("us-east-1", "s3", "aws4_request"):
        key = _hmac256(key, part)
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,"
                                "Signature=%s" % (key_secret[0], scope, signed, sig))
    return headers, sig, (key, amz_date, scope)


def aws_chunked(data, size, seed, context, corrupt=None):
    """DATA as an aws-chunked body whose chunk signatures chain from SEED.
    With CORRUPT=i, chunk i's bytes change after it was signed."""
    key, amz_date, scope = context
    out, prev = [], seed
    chunks = [data[i:i + size] for i in range(0, len(data), size)] + [b""]
    for i, chunk in enumerate(chunks):
        to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s" % (
            amz_date, scope, prev, EMPTY_SHA, hashlib.sha256(chunk).hexdigest())
        prev = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if i == corrupt:
            chunk = bytes([chunk[0] ^ 0xff]) + chunk[1:]
        out.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(chunk), prev.encode(), chunk))
    return b"".join(out)


def chunked_length(n, size):
    full, rest = divmod(n, size)
    sizes = [size] * full + ([rest] if rest else []) + [0]
    return sum(len("%x" % s) + len(";chunk-signature=") + 64 + 4 + s for s in sizes)


def raw(method, path, headers, body=None):
    """One request over http.client: (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
    try:
        try:
            conn.request(method, path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (and close) before reading the body
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class S3Case(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = client("s3", "ALICE")
        cls.bob = client("s3", "BOB")

    @classmethod
    def new_bucket(cls, tag, s3=None):
        name = unique(tag)
        (s3 or cls.s3).create_bucket(Bucket=name)
        return name

    def assertErrorDocument(self, status, body, code):
        self.assertTrue(400 <= status < 500, "status %d" % status)
        root = ET.fromstring(body)
        self.assertEqual(root.tag, "Error", body)
        self.assertEqual(root.findtext("Code"), code, body)
        self.assertIsNotNone(root.find("Message"), body)
        self.assertTrue(root.findtext("RequestId"), body)

    def assertError(self, code, http_status, fn, **kw):
        """FN(**KW) fails with CODE and HTTP_STATUS, with an S3 error document
        unless FN is a HEAD (whose error has no body; botocore names the code
        after the status)."""
        LAST_RESPONSE.clear()
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        err = cm.exception.response
        self.assertEqual((err["Error"]["Code"], status(err)), (code, http_status),
                         err["Error"].get("Message"))
        if not fn.__name__.startswith("head_"):
            self.assertErrorDocument(LAST_RESPONSE["status_code"], LAST_RESPONSE["body"], code)
        return err

    def assertRawError(self, response, http_status, code):
        self.assertEqual(response[0], http_status, response[2])
        self.assertErrorDocument(response[0], response[2], code)

    def body(self, bucket, key, s3=None, **kw):
        return (s3 or self.s3).get_object(Bucket=bucket, Key=key, **kw)["Body"].read()

    def anonymous_get(self, bucket, key):
        url = "%s/%s/%s" % (ENDPOINT, bucket, urllib.parse.quote(key))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


class Buckets(S3Case):
    def test_create_list_head_delete(self):
        name = unique("b")
        r = self.s3.create_bucket(Bucket=name)
        self.assertEqual((status(r), r.get("Location")), (200, "/" + name))
        try:
            again = self.s3.create_bucket(Bucket=name)
            self.assertEqual(status(again), 200)   # us-east-1's legacy answer
        except ClientError as e:
            self.assertEqual((e.response["Error"]["Code"], status(e.response)),
                             ("BucketAlreadyOwnedByYou", 409))
        listed = self.s3.list_buckets()
        self.assertIn(name, [b["Name"] for b in listed["Buckets"]])
        self.assertTrue(listed["Owner"]["ID"])
        created = [b["CreationDate"] for b in listed["Buckets"] if b["Name"] == name][0]
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - created).total_seconds()), 900)
        self.assertEqual(status(self.s3.head_bucket(Bucket=name)), 200)
        self.s3.put_object(Bucket=name, Key="x", Body=b"x")
        self.assertError("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=name)
        self.assertEqual(status(self.s3.head_bucket(Bucket=name)), 200)
        self.s3.delete_object(Bucket=name, Key="x")
        self.assertEqual(status(self.s3.delete_bucket(Bucket=name)), 204)
        self.assertError("404", 404, self.s3.head_bucket, Bucket=name)
        self.assertError("NoSuchBucket", 404, self.s3.delete_bucket, Bucket=name)
        self.assertError("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket=name)
        self.assertNotIn(name, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_invalid_name_lengths(self):
        for name in ("ab", "a" * 64):
            self.assertError("InvalidBucketName", 400, self.s3.create_bucket, Bucket=name)
        name = "a" * 51 + uuid.uuid4().hex[:12]   # 63 characters is fine
        self.s3.create_bucket(Bucket=name)
        self.s3.delete_bucket(Bucket=name)

    @strict
    def test_invalid_name_syntax(self):
        bad = {"Amibox-upper", "a..b", "192.168.1.1", "-abc", "abc-", "under_score"}
        for name in sorted(bad):
            self.assertError("InvalidBucketName", 400, self.s3.create_bucket, Bucket=name)
        self.assertFalse(bad & {b["Name"] for b in self.s3.list_buckets()["Buckets"]})

    @strict
    def test_other_accounts(self):
        mine = self.new_bucket("mine")
        theirs = self.new_bucket("theirs", self.bob)
        self.assertError("BucketAlreadyExists", 409, self.bob.create_bucket, Bucket=mine)
        self.assertError("403", 403, self.bob.head_bucket, Bucket=mine)
        self.assertError("AccessDenied", 403, self.bob.delete_bucket, Bucket=mine)
        alice, bob = self.s3.list_buckets(), self.bob.list_buckets()
        self.assertIn(mine, [b["Name"] for b in alice["Buckets"]])
        self.assertNotIn(theirs, [b["Name"] for b in alice["Buckets"]])
        self.assertIn(theirs, [b["Name"] for b in bob["Buckets"]])
        self.assertNotIn(mine, [b["Name"] for b in bob["Buckets"]])
        self.assertNotEqual(alice["Owner"]["ID"], bob["Owner"]["ID"])
        self.assertEqual(status(self.s3.head_bucket(Bucket=mine)), 200)


class Objects(S3Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("obj")

    def test_put_get_head(self):
        data = os.urandom(1000)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        r = self.s3.put_object(Bucket=self.bucket, Key="meta.bin", Body=data, ContentMD5=md5,
                               ContentType="application/x-amibox",
                               Metadata={"colour": "blue", "n": "1"})
        self.assertEqual(r["ETag"], quoted_md5(data))
        g = self.s3.get_object(Bucket=self.bucket, Key="meta.bin")
        self.assertEqual(g["Body"].read(), data)
        self.assertEqual((g["ContentType"], g["Metadata"], g["ContentLength"], g["ETag"]),
                         ("application/x-amibox", {"colour": "blue", "n": "1"}, 1000,
                          quoted_md5(data)))
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - g["LastModified"]).total_seconds()), 900)
        h = self.s3.head_object(Bucket=self.bucket, Key="meta.bin")
        self.assertEqual((h["ContentType"], h["Metadata"], h["ContentLength"], h["ETag"],
                          h["LastModified"]),
                         (g["ContentType"], g["Metadata"], 1000, g["ETag"], g["LastModified"]))

    @strict
    def test_content_md5_checked(self):
        self.s3.put_object(Bucket=self.bucket, Key="md5", Body=b"original")
        wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
        for digest in (wrong, "not-an-md5"):
            with self.assertRaises(ClientError) as cm:
                self.s3.put_object(Bucket=self.bucket, Key="md5", Body=b"changed",
                                   ContentMD5=digest)
            err = cm.exception.response
            self.assertIn(err["Error"]["Code"], ("BadDigest", "InvalidDigest"))
            self.assertEqual(status(err), 400)
            self.assertErrorDocument(400, LAST_RESPONSE["body"], err["Error"]["Code"])
            self.assertEqual(self.body(self.bucket, "md5"), b"original")
        with self.assertRaises(ClientError):   # nor is a new object created
            self.s3.put_object(Bucket=self.bucket, Key="md5-new", Body=b"x", ContentMD5=wrong)
        self.assertError("404", 404, self.s3.head_object, Bucket=self.bucket, Key="md5-new")

    def test_ranges(self):
        data = bytes(range(100))
        self.s3.put_object(Bucket=self.bucket, Key="range", Body=data)
        for spec, want, content_range in (("bytes=0-9", data[:10], "bytes 0-9/100"),
                                          ("bytes=10-", data[10:], "bytes 10-99/100"),
                                          ("bytes=-5", data[95:], "bytes 95-99/100"),
                                          ("bytes=90-1000", data[90:], "bytes 90-99/100")):
            r = self.s3.get_object(Bucket=self.bucket, Key="range", Range=spec)
            self.assertEqual((status(r), r["ContentRange"], r["ContentLength"], r["Body"].read()),
                             (206, content_range, len(want), want), spec)
        self.assertError("InvalidRange", 416, self.s3.get_object, Bucket=self.bucket,
                         Key="range", Range="bytes=100-")
        whole = self.s3.get_object(Bucket=self.bucket, Key="range")
        self.assertEqual((status(whole), whole["Body"].read()), (200, data))

    def test_missing(self):
        self.assertError("404", 404, self.s3.head_object, Bucket=self.bucket, Key="nope")
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="nope")
        self.assertError("NoSuchBucket", 404, self.s3.get_object, Bucket=unique("gone"), Key="k")
        self.assertError("NoSuchBucket", 404, self.s3.put_object, Bucket=unique("gone"), Key="k",
                         Body=b"x")

    def test_key_names(self):
        keys = ["dir/ü ñ/a+b=c&d.txt", "with space", "a/b/c/d/e", "pct%41.txt",
                "semi;colon,comma", "tilde~(paren)!*'", "日本語/ファイル"]
        prefix = "names/"
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=prefix + k, Body=k.encode())
        for k in keys:
            self.assertEqual(self.body(self.bucket, prefix + k), k.encode(), k)
            self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key=prefix + k)
                             ["ContentLength"], len(k.encode()))
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)["Contents"]
        want = sorted((prefix + k for k in keys), key=lambda s: s.encode())   # UTF-8 order
        self.assertEqual([c["Key"] for c in listed], want)

    def test_empty_object(self):
        r = self.s3.put_object(Bucket=self.bucket, Key="empty", Body=b"")
        self.assertEqual(r["ETag"], '"d41d8cd98f00b204e9800998ecf8427e"')
        g = self.s3.get_object(Bucket=self.bucket, Key="empty")
        self.assertEqual((g["ContentLength"], g["Body"].read(), g["ETag"]), (0, b"", r["ETag"]))

    def test_managed_transfer(self):
        data = os.urandom(20 * MiB)
        src = os.path.join(os.environ["TEST_DIR"], "s3-up-%s" % uuid.uuid4().hex[:8])
        dst = src + ".down"
        with open(src, "wb") as f:
            f.write(data)
        for path in (src, dst):
            self.addCleanup(lambda p=path: os.path.exists(p) and os.unlink(p))
        cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
        self.s3.upload_file(src, self.bucket, "big.bin", Config=cfg)
        h = self.s3.head_object(Bucket=self.bucket, Key="big.bin")
        parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
        self.assertEqual((h["ContentLength"], h["ETag"]), (len(data), multipart_etag(parts)))
        self.assertTrue(h["ETag"].endswith('-4"'))
        self.s3.download_file(self.bucket, "big.bin", dst, Config=cfg)
        with open(dst, "rb") as f:
            self.assertTrue(f.read() == data, "downloaded bytes differ")

    def test_overwrite(self):
        self.s3.put_object(Bucket=self.bucket, Key="ow", Body=b"first", Metadata={"v": "1"},
                           ContentType="text/plain")
        self.s3.put_object(Bucket=self.bucket, Key="ow", Body=b"second, longer")
        g = self.s3.get_object(Bucket=self.bucket, Key="ow")
        self.assertEqual((g["Body"].read(), g["Metadata"], g["ETag"], g["ContentLength"]),
                         (b"second, longer", {}, quoted_md5(b"second, longer"), 14))
        self.assertNotEqual(g["ContentType"], "text/plain")

    def test_delete(self):
        self.s3.put_object(Bucket=self.bucket, Key="del", Body=b"x")
        self.assertEqual(status(self.s3.delete_object(Bucket=self.bucket, Key="del")), 204)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="del")
        self.assertEqual(status(self.s3.delete_object(Bucket=self.bucket, Key="del")), 204)
        self.assertEqual(status(self.s3.delete_object(Bucket=self.bucket, Key="never")), 204)

    def test_delete_objects(self):
        keys = ["batch/%d" % i for i in range(3)]
        for k in keys + ["batch/keep"]:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=k.encode())
        r = self.s3.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": k} for k in keys + ["batch/never"]]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), keys + ["batch/never"])
        self.assertEqual(r.get("Errors", []), [])
        left = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="batch/")["Contents"]
        self.assertEqual([c["Key"] for c in left], ["batch/keep"])

    @strict
    def test_delete_objects_quiet(self):
        self.s3.put_object(Bucket=self.bucket, Key="quiet/1", Body=b"1")
        r = self.s3.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": "quiet/1"}, {"Key": "quiet/2"}], "Quiet": True})
        self.assertEqual((r.get("Deleted", []), r.get("Errors", [])), ([], []))
        left = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="quiet/")
        self.assertEqual(left["KeyCount"], 0)


class Listing(S3Case):
    PAGE = ["page/k%02d" % i for i in range(25)]
    TREE = ["tree/a.txt", "tree/d1/x", "tree/d1/y", "tree/d2/z"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("list")
        for k in cls.PAGE + cls.TREE + ["top", "odd/ü ñ/a+b=c&d.txt", "odd/pct%41 x"]:
            cls.s3.put_object(Bucket=cls.bucket, Key=k, Body=k.encode())

    def keys(self, r):
        return [c["Key"] for c in r.get("Contents", [])]

    def test_manual_pages(self):
        pages, token = [], None
        while len(pages) < 5:
            args = dict(Bucket=self.bucket, Prefix="page/", MaxKeys=10)
            if token:
                args["ContinuationToken"] = token
            pages.append(self.s3.list_objects_v2(**args))
            if not pages[-1]["IsTruncated"]:
                break
            token = pages[-1]["NextContinuationToken"]
        self.assertEqual([(p["KeyCount"], p["IsTruncated"], p["MaxKeys"]) for p in pages],
                         [(10, True, 10), (10, True, 10), (5, False, 10)])
        self.assertEqual(sum((self.keys(p) for p in pages), []), self.PAGE)
        self.assertNotIn("NextContinuationToken", pages[-1])
        self.assertEqual(pages[2]["Contents"][0]["Size"], len(b"page/k20"))
        self.assertEqual(pages[2]["Contents"][0]["ETag"], quoted_md5(b"page/k20"))

    @strict
    def test_request_echoed(self):
        first = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="page/", MaxKeys=10)
        token = first["NextContinuationToken"]
        second = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="page/", MaxKeys=10,
                                         ContinuationToken=token)
        self.assertEqual((second["ContinuationToken"], second["Prefix"]), (token, "page/"))
        v1 = self.s3.list_objects(Bucket=self.bucket, Prefix="page/", Marker="page/k19",
                                  MaxKeys=3)
        self.assertEqual((v1["Marker"], v1["Prefix"]), ("page/k19", "page/"))
        # NextMarker comes with a delimiter only.
        self.assertNotIn("NextMarker", v1)
        tree = self.s3.list_objects(Bucket=self.bucket, Prefix="tree/", Delimiter="/", MaxKeys=2)
        self.assertEqual((tree["IsTruncated"], tree["NextMarker"]), (True, "tree/d1/"))

    def test_paginator(self):
        pages = list(self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix="page/", PaginationConfig={"PageSize": 10}))
        self.assertEqual([len(self.keys(p)) for p in pages], [10, 10, 5])
        self.assertEqual(sum((self.keys(p) for p in pages), []), self.PAGE)

    def test_start_after(self):
        r = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="page/", StartAfter="page/k19")
        self.assertEqual((self.keys(r), r["KeyCount"], r["StartAfter"]),
                         (self.PAGE[20:], 5, "page/k19"))

    def test_delimiter(self):
        r = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", Delimiter="/")
        self.assertEqual(self.keys(r), ["tree/a.txt"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["tree/d1/", "tree/d2/"])
        self.assertEqual((r["KeyCount"], r["Prefix"], r["Delimiter"]), (3, "tree/", "/"))
        top = self.s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        self.assertEqual(self.keys(top), ["top"])
        self.assertEqual([p["Prefix"] for p in top["CommonPrefixes"]], ["odd/", "page/", "tree/"])
        # Common prefixes count against MaxKeys.
        first = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", Delimiter="/",
                                        MaxKeys=2)
        self.assertEqual((self.keys(first), [p["Prefix"] for p in first["CommonPrefixes"]],
                          first["IsTruncated"]), (["tree/a.txt"], ["tree/d1/"], True))
        second = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", Delimiter="/",
                                         MaxKeys=2,
                                         ContinuationToken=first["NextContinuationToken"])
        self.assertEqual((self.keys(second), [p["Prefix"] for p in second["CommonPrefixes"]],
                          second["IsTruncated"]), ([], ["tree/d2/"], False))

    def test_url_encoding(self):
        want = ["odd/pct%41 x", "odd/ü ñ/a+b=c&d.txt"]
        # botocore asks for encoding-type=url itself and decodes what it asked for.
        for r in (self.s3.list_objects_v2(Bucket=self.bucket, Prefix="odd/"),
                  self.s3.list_objects(Bucket=self.bucket, Prefix="odd/")):
            self.assertEqual((self.keys(r), r["EncodingType"]), (want, "url"))
        # Asked for by the caller, the keys stay encoded.
        explicit = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="odd/", EncodingType="url")
        self.assertEqual(explicit["EncodingType"], "url")
        self.assertEqual([urllib.parse.unquote_plus(k) for k in self.keys(explicit)], want)
        for k in self.keys(explicit):
            self.assertRegex(k, r"^[A-Za-z0-9%/._~*+-]*$")
        nested = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="odd/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in nested["CommonPrefixes"]], ["odd/ü ñ/"])

    def test_list_objects_v1(self):
        r = self.s3.list_objects(Bucket=self.bucket, Prefix="page/", Marker="page/k19", MaxKeys=3)
        self.assertEqual((self.keys(r), r["IsTruncated"], r["MaxKeys"]),
                         (self.PAGE[20:23], True, 3))
        rest = self.s3.list_objects(Bucket=self.bucket, Prefix="page/", Marker=self.keys(r)[-1])
        self.assertEqual((self.keys(rest), rest["IsTruncated"]), (self.PAGE[23:], False))
        none = self.s3.list_objects(Bucket=self.bucket, MaxKeys=0)
        self.assertEqual((status(none), none["Name"], none["MaxKeys"], self.keys(none)),
                         (200, self.bucket, 0, []))
        tree = self.s3.list_objects(Bucket=self.bucket, Prefix="tree/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in tree["CommonPrefixes"]], ["tree/d1/", "tree/d2/"])


class Multipart(S3Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("mpu")

    def start(self, key):
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key,
                                               ContentType="application/x-parts")["UploadId"]

    def part(self, key, upload, n, data):
        r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=n,
                                Body=data)
        self.assertEqual(r["ETag"], quoted_md5(data))
        return {"PartNumber": n, "ETag": r["ETag"]}

    def test_complete(self):
        parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"z"]
        upload = self.start("three")
        done = [self.part("three", upload, i + 1, p) for i, p in enumerate(parts)]
        listed = self.s3.list_parts(Bucket=self.bucket, Key="three", UploadId=upload)
        self.assertEqual([(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]],
                         [(d["PartNumber"], len(p), d["ETag"]) for d, p in zip(done, parts)])
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        self.assertIn(upload, [u["UploadId"] for u in uploads])
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="three")
        r = self.s3.complete_multipart_upload(Bucket=self.bucket, Key="three", UploadId=upload,
                                              MultipartUpload={"Parts": done})
        self.assertEqual((r["ETag"], r["Key"], r["Bucket"]),
                         (multipart_etag(parts), "three", self.bucket))
        g = self.s3.get_object(Bucket=self.bucket, Key="three")
        self.assertEqual((g["ContentLength"], g["ETag"], g["ContentType"]),
                         (10 * MiB + 1, multipart_etag(parts), "application/x-parts"))
        self.assertTrue(g["Body"].read() == b"".join(parts), "object differs from its parts")
        self.assertError("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket,
                         Key="three", UploadId=upload)

    def test_entity_too_small(self):
        upload = self.start("small")
        done = [self.part("small", upload, 1, b"a"), self.part("small", upload, 2, b"b")]
        self.assertError("EntityTooSmall", 400, self.s3.complete_multipart_upload,
                         Bucket=self.bucket, Key="small", UploadId=upload,
                         MultipartUpload={"Parts": done})
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="small")
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key="small", UploadId=upload)

    def test_invalid_part(self):
        upload = self.start("bad-etag")
        done = [self.part("bad-etag", upload, 1, b"only part")]
        done[0]["ETag"] = quoted_md5(b"another part")
        self.assertError("InvalidPart", 400, self.s3.complete_multipart_upload,
                         Bucket=self.bucket, Key="bad-etag", UploadId=upload,
                         MultipartUpload={"Parts": done})
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="bad-etag")

    def test_abort(self):
        upload = self.start("aborted")
        self.part("aborted", upload, 1, b"data")
        r = self.s3.abort_multipart_upload(Bucket=self.bucket, Key="aborted", UploadId=upload)
        self.assertEqual(status(r), 204)
        self.assertError("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket,
                         Key="aborted", UploadId=upload)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="aborted")
        uploads = self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        self.assertNotIn(upload, [u["UploadId"] for u in uploads])

    @strict
    def test_part_after_abort(self):
        upload = self.start("aborted2")
        done = [self.part("aborted2", upload, 1, b"data")]
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key="aborted2", UploadId=upload)
        self.assertError("NoSuchUpload", 404, self.s3.upload_part, Bucket=self.bucket,
                         Key="aborted2", UploadId=upload, PartNumber=2, Body=b"more")
        self.assertError("NoSuchUpload", 404, self.s3.complete_multipart_upload,
                         Bucket=self.bucket, Key="aborted2", UploadId=upload,
                         MultipartUpload={"Parts": done})
        self.assertError("NoSuchUpload", 404, self.s3.abort_multipart_upload,
                         Bucket=self.bucket, Key="aborted2", UploadId=upload)
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="aborted2")


    @strict
    def test_get_part(self):
        parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
        upload = self.start("by-part")
        done = [self.part("by-part", upload, i + 1, p) for i, p in enumerate(parts)]
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key="by-part", UploadId=upload,
                                          MultipartUpload={"Parts": done})
        size, first = sum(map(len, parts)), 0
        for n, data in enumerate(parts, 1):
            g = self.s3.get_object(Bucket=self.bucket, Key="by-part", PartNumber=n)
            want_range = "bytes %d-%d/%d" % (first, first + len(data) - 1, size)
            self.assertEqual((status(g), g["ContentRange"], g["ContentLength"], g["PartsCount"],
                              g["ETag"]), (206, want_range, len(data), 3, multipart_etag(parts)))
            self.assertTrue(g["Body"].read() == data, "part %d differs" % n)
            h = self.s3.head_object(Bucket=self.bucket, Key="by-part", PartNumber=n)
            # (botocore 1.29's HeadObject has no ContentRange member: the header.)
            self.assertEqual((status(h), h["ResponseMetadata"]["HTTPHeaders"]["content-range"],
                              h["ContentLength"], h["PartsCount"]),
                             (206, want_range, len(data), 3))
            first += len(data)
        # Without partNumber: the whole object, and no part count.
        h = self.s3.head_object(Bucket=self.bucket, Key="by-part")
        self.assertEqual((status(h), h["ContentLength"], h.get("PartsCount")), (200, size, None))
        err = self.assertError("InvalidPartNumber", 416, self.s3.get_object, Bucket=self.bucket,
                               Key="by-part", PartNumber=4)
        self.assertEqual((err["Error"]["PartNumberRequested"], err["Error"]["ActualPartCount"]),
                         ("4", "3"))
        self.assertError("416", 416, self.s3.head_object, Bucket=self.bucket, Key="by-part",
                         PartNumber=4)
        self.assertError("InvalidRequest", 400, self.s3.get_object, Bucket=self.bucket,
                         Key="by-part", PartNumber=1, Range="bytes=0-1")
        err = self.assertError("InvalidArgument", 400, self.s3.get_object, Bucket=self.bucket,
                               Key="by-part", PartNumber=10001)
        self.assertEqual((err["Error"]["ArgumentName"], err["Error"]["ArgumentValue"]),
                         ("partNumber", "10001"))
        # An object of one PUT is its own part 1, whole.
        self.s3.put_object(Bucket=self.bucket, Key="by-part", Body=b"0123456789")
        g = self.s3.get_object(Bucket=self.bucket, Key="by-part", PartNumber=1)
        self.assertEqual((status(g), g["ContentRange"], g["Body"].read(), g.get("PartsCount")),
                         (206, "bytes 0-9/10", b"0123456789", None))
        err = self.assertError("InvalidPartNumber", 416, self.s3.get_object, Bucket=self.bucket,
                               Key="by-part", PartNumber=2)
        self.assertEqual((err["Error"]["PartNumberRequested"], err["Error"]["ActualPartCount"]),
                         ("2", "1"))

    @strict
    def test_upload_part_copy(self):
        source = os.urandom(6 * MiB)
        self.s3.put_object(Bucket=self.bucket, Key="copy-source", Body=source)
        self.s3.put_object(Bucket=self.bucket, Key="copy-small", Body=b"small source")
        upload = self.start("copied")
        r = self.s3.upload_part_copy(Bucket=self.bucket, Key="copied", UploadId=upload,
                                     PartNumber=1, CopySource="%s/copy-source" % self.bucket,
                                     CopySourceRange="bytes=1-%d" % (5 * MiB))
        first = source[1:5 * MiB + 1]
        result = r["CopyPartResult"]
        self.assertEqual(result["ETag"], quoted_md5(first))
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - result["LastModified"]).total_seconds()), 900)
        r = self.s3.upload_part_copy(Bucket=self.bucket, Key="copied", UploadId=upload,
                                     PartNumber=2, CopySource={"Bucket": self.bucket,
                                                               "Key": "copy-small"})
        self.assertEqual(r["CopyPartResult"]["ETag"], quoted_md5(b"small source"))
        listed = self.s3.list_parts(Bucket=self.bucket, Key="copied", UploadId=upload)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in listed],
                         [(1, 5 * MiB), (2, len(b"small source"))])
        done = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in listed]
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key="copied", UploadId=upload,
                                          MultipartUpload={"Parts": done})
        g = self.s3.get_object(Bucket=self.bucket, Key="copied")
        self.assertEqual(g["ETag"], multipart_etag([first, b"small source"]))
        self.assertTrue(g["Body"].read() == first + b"small source", "copied bytes differ")

    @strict
    def test_upload_part_copy_refusals(self):
        self.s3.put_object(Bucket=self.bucket, Key="copy-ten", Body=b"0123456789")
        upload = self.start("copy-refused")
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=self.bucket, Key="copy-refused",
                        UploadId=upload)
        args = dict(Bucket=self.bucket, Key="copy-refused", UploadId=upload, PartNumber=1,
                    CopySource="%s/copy-ten" % self.bucket)
        for bad in ("0-8", "bytes=5-2", "bytes=1-", "bytes=-2", "bytes=0-1,3-4"):
            err = self.assertError("InvalidArgument", 400, self.s3.upload_part_copy,
                                   CopySourceRange=bad, **args)
            self.assertEqual((err["Error"]["ArgumentName"], err["Error"]["ArgumentValue"]),
                             ("x-amz-copy-source-range", bad))
        err = self.assertError("InvalidArgument", 400, self.s3.upload_part_copy,
                               CopySourceRange="bytes=0-10", **args)
        self.assertEqual(err["Error"]["Message"],
                         "Range specified is not valid for source object of size: 10")
        err = self.assertError("NoSuchKey", 404, self.s3.upload_part_copy,
                               **dict(args, CopySource="%s/no-such-source" % self.bucket))
        self.assertEqual(err["Error"]["Key"], "no-such-source")
        err = self.assertError("PreconditionFailed", 412, self.s3.upload_part_copy,
                               CopySourceIfMatch=quoted_md5(b"other"), **args)
        self.assertEqual(err["Error"]["Condition"], "x-amz-copy-source-If-Match")
        self.assertError("PreconditionFailed", 412, self.s3.copy_object, Bucket=self.bucket,
                         Key="copy-eleven", CopySource="%s/copy-ten" % self.bucket,
                         CopySourceIfNoneMatch=quoted_md5(b"0123456789"))
        self.assertEqual(self.s3.list_parts(Bucket=self.bucket, Key="copy-refused",
                                            UploadId=upload).get("Parts", []), [])
        r = self.s3.upload_part_copy(CopySourceRange="bytes=2-4",
                                     CopySourceIfMatch=quoted_md5(b"0123456789"), **args)
        self.assertEqual(r["CopyPartResult"]["ETag"], quoted_md5(b"234"))

    @strict
    def test_upload_part_copy_rights(self):
        self.s3.put_object(Bucket=self.bucket, Key="alices", Body=b"alice's bytes")
        theirs = self.new_bucket("bobs", self.bob)
        upload = self.bob.create_multipart_upload(Bucket=theirs, Key="k")["UploadId"]
        self.addCleanup(self.bob.abort_multipart_upload, Bucket=theirs, Key="k", UploadId=upload)
        args = dict(Bucket=theirs, Key="k", UploadId=upload, PartNumber=1,
                    CopySource="%s/alices" % self.bucket)
        self.assertError("AccessDenied", 403, self.bob.upload_part_copy, **args)
        # Nor may Alice add a part to Bob's upload.
        self.assertError("AccessDenied", 403, self.s3.upload_part_copy, **args)
        self.s3.put_object_acl(Bucket=self.bucket, Key="alices", ACL="public-read")
        r = self.bob.upload_part_copy(**args)
        self.assertEqual(r["CopyPartResult"]["ETag"], quoted_md5(b"alice's bytes"))

    @strict
    def test_list_parts_arguments(self):
        upload = self.start("listed")
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=self.bucket, Key="listed",
                        UploadId=upload)
        done = [self.part("listed", upload, n, b"part %d" % n) for n in (1, 2, 3)]
        page = self.s3.list_parts(Bucket=self.bucket, Key="listed", UploadId=upload,
                                  MaxParts=1, PartNumberMarker=1)
        self.assertEqual(([p["PartNumber"] for p in page["Parts"]], page["IsTruncated"],
                          page["NextPartNumberMarker"], page["PartNumberMarker"]),
                         ([2], True, 2, 1))
        self.assertEqual([p["ETag"] for p in page["Parts"]], [done[1]["ETag"]])
        for name, arg in (("max-parts", "MaxParts"), ("part-number-marker", "PartNumberMarker")):
            err = self.assertError("InvalidArgument", 400, self.s3.list_parts, Bucket=self.bucket,
                                   Key="listed", UploadId=upload, **{arg: -42})
            self.assertEqual((err["Error"]["Message"], err["Error"]["ArgumentName"],
                              err["Error"]["ArgumentValue"]),
                             ("Argument %s must be an integer between 0 and 2147483647" % name,
                              name, "-42"))
            err = self.assertError("InvalidArgument", 400, self.s3.list_parts, Bucket=self.bucket,
                                   Key="listed", UploadId=upload, **{arg: 2 ** 31 + 41})
            self.assertEqual((err["Error"]["Message"], err["Error"]["ArgumentName"]),
                             ("Provided %s not an integer or within integer range" % name, name))
            # What botocore will not send: by hand.
            query = "%s=ten&uploadId=%s" % (name, upload)
            path = "/%s/listed" % self.bucket
            h, _, _ = v4_sign("GET", path, {"Host": "%s:%d" % (HOST, PORT)}, EMPTY_SHA,
                              creds("ALICE"), query=query)
            st, _, body = raw("GET", "%s?%s" % (path, query), h)
            self.assertRawError((st, {}, body), 400, "InvalidArgument")
            root = ET.fromstring(body)
            self.assertEqual((root.findtext("ArgumentName"), root.findtext("ArgumentValue")),
                             (name, "ten"), body)
        err = self.assertError("InvalidArgument", 400, self.s3.list_multipart_uploads,
                               Bucket=self.bucket, MaxUploads=-1)
        self.assertEqual((err["Error"]["ArgumentName"], err["Error"]["ArgumentValue"]),
                         ("max-uploads", "-1"))


class Checksums(S3Case):
    """x-amz-checksum-*: verified on PUT and UploadPart, kept, and given back
    (the parts', and the object's: a COMPOSITE checksum for a multipart
    upload) by ListParts, CompleteMultipartUpload and, with checksum mode,
    GetObject and HeadObject."""

    ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("sum")
        try:   # a client that sends no checksum it is not asked for
            quiet = Config(retries={"max_attempts": 1}, region_name="us-east-1",
                           s3={"addressing_style": "path"},
                           request_checksum_calculation="when_required")
        except TypeError:
            quiet = CONFIG
        key, secret = creds("ALICE")
        cls.plain = boto3.client("s3", endpoint_url=ENDPOINT, config=quiet,
                                 aws_access_key_id=key, aws_secret_access_key=secret)
        cls.plain.meta.events.register("needs-retry.s3.*", keep_response)

    def part_args(self, algorithm, data):
        # botocore computes CRC32C only with awscrt, which is not installed: given, then.
        if algorithm == "CRC32C":
            return {"ChecksumCRC32C": checksum(algorithm, data)}
        return {"ChecksumAlgorithm": algorithm}

    @strict
    def test_multipart_composite(self):
        parts = [os.urandom(5 * MiB), b"the last part"]
        for a in self.ALGORITHMS:
            key = "composite-" + a
            member = "Checksum" + a
            created = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                      ChecksumAlgorithm=a)
            upload = created["UploadId"]
            self.assertEqual(created.get("ChecksumAlgorithm"), a)
            done = []
            for n, data in enumerate(parts, 1):
                r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload,
                                        PartNumber=n, Body=data, **self.part_args(a, data))
                self.assertEqual(r.get(member), checksum(a, data), a)
                done.append({"PartNumber": n, "ETag": r["ETag"], member: r[member]})
            listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload)
            self.assertEqual(listed.get("ChecksumAlgorithm"), a)
            self.assertEqual([p.get(member) for p in listed["Parts"]],
                             [checksum(a, p) for p in parts])
            uploads = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key)["Uploads"]
            self.assertEqual([u.get("ChecksumAlgorithm") for u in uploads], [a])
            # Every part's checksum must come, and match.
            bare = [{"PartNumber": d["PartNumber"], "ETag": d["ETag"]} for d in done]
            err = self.assertError("InvalidRequest", 400, self.s3.complete_multipart_upload,
                                   Bucket=self.bucket, Key=key, UploadId=upload,
                                   MultipartUpload={"Parts": bare})
            self.assertIn("missing for part 1", err["Error"]["Message"])
            wrong = [dict(done[0], **{member: checksum(a, b"other")}), done[1]]
            err = self.assertError("InvalidPart", 400, self.s3.complete_multipart_upload,
                                   Bucket=self.bucket, Key=key, UploadId=upload,
                                   MultipartUpload={"Parts": wrong})
            self.assertEqual(err["Error"]["PartNumber"], "1")
            r = self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                  MultipartUpload={"Parts": done})
            want = composite_checksum(a, parts)
            self.assertEqual((r.get(member), r.get("ChecksumType", "COMPOSITE")),
                             (want, "COMPOSITE"), a)
            h = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            self.assertEqual((h.get(member),
                              h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-type")),
                             (want, "COMPOSITE"), a)
            self.assertNotIn(member, self.s3.head_object(Bucket=self.bucket, Key=key))
            # A part, with its own checksum (botocore checks the body against it).
            g = self.s3.get_object(Bucket=self.bucket, Key=key, PartNumber=2,
                                   ChecksumMode="ENABLED")
            self.assertEqual((g["Body"].read(), g.get(member)), (parts[1], checksum(a, parts[1])))
            g = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            self.assertEqual(g.get(member), want)
            self.assertTrue(g["Body"].read() == b"".join(parts), a)

    @strict
    def test_upload_part_copy_checksum(self):
        data = os.urandom(3000)
        self.s3.put_object(Bucket=self.bucket, Key="copy-from", Body=data)
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key="copy-to",
                                                 ChecksumAlgorithm="CRC32")["UploadId"]
        r = self.s3.upload_part_copy(Bucket=self.bucket, Key="copy-to", UploadId=upload,
                                     PartNumber=1, CopySource="%s/copy-from" % self.bucket,
                                     CopySourceRange="bytes=100-1099")
        want = checksum("CRC32", data[100:1100])
        self.assertEqual(r["CopyPartResult"].get("ChecksumCRC32"), want)
        part = self.s3.list_parts(Bucket=self.bucket, Key="copy-to", UploadId=upload)["Parts"][0]
        self.assertEqual(part.get("ChecksumCRC32"), want)
        r = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key="copy-to", UploadId=upload, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": want}]})
        self.assertEqual(r.get("ChecksumCRC32"), composite_checksum("CRC32", [data[100:1100]]))

    @strict
    def test_part_checksums_refused(self):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key="refused",
                                                 ChecksumAlgorithm="CRC32")["UploadId"]
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=self.bucket, Key="refused",
                        UploadId=upload)
        args = dict(Bucket=self.bucket, Key="refused", UploadId=upload, PartNumber=1,
                    Body=b"a part")
        err = self.assertError("InvalidRequest", 400, self.s3.upload_part,
                               ChecksumAlgorithm="SHA256", **args)
        self.assertEqual(err["Error"]["Message"], "Checksum Type mismatch occurred, expected "
                         "checksum Type: crc32, actual checksum Type: sha256")
        err = self.assertError("InvalidRequest", 400, self.plain.upload_part, **args)
        self.assertIn("actual checksum Type: null", err["Error"]["Message"])
        self.assertError("BadDigest", 400, self.s3.upload_part,
                         ChecksumCRC32=checksum("CRC32", b"another part"), **args)
        err = self.assertError("InvalidRequest", 400, self.s3.upload_part, ChecksumCRC32="abc",
                               **args)
        self.assertEqual(err["Error"]["Message"],
                         "Value for x-amz-checksum-crc32 header is invalid.")
        self.assertEqual(self.s3.list_parts(Bucket=self.bucket, Key="refused",
                                            UploadId=upload).get("Parts", []), [])
        self.assertError("InvalidRequest", 400, self.s3.create_multipart_upload,
                         Bucket=self.bucket, Key="refused", ChecksumAlgorithm="MD5")

    @strict
    def test_put_object_checksum(self):
        data = b"one object, one checksum"
        r = self.s3.put_object(Bucket=self.bucket, Key="whole", Body=data,
                               ChecksumAlgorithm="SHA256")
        self.assertEqual(r.get("ChecksumSHA256"), checksum("SHA256", data))
        for key in ("whole", "copied"):
            if key == "copied":
                self.s3.copy_object(Bucket=self.bucket, Key=key,
                                    CopySource="%s/whole" % self.bucket)
            h = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            self.assertEqual(h.get("ChecksumSHA256"), checksum("SHA256", data), key)
            g = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            self.assertEqual((g["Body"].read(), g.get("ChecksumSHA256")),
                             (data, checksum("SHA256", data)))
        # A range is not the whole: no checksum.
        g = self.s3.get_object(Bucket=self.bucket, Key="whole", ChecksumMode="ENABLED",
                               Range="bytes=0-2")
        self.assertEqual((g["Body"].read(), g.get("ChecksumSHA256")), (data[:3], None))
        # One checksum a body.
        path = "/%s/two-sums" % self.bucket
        h, _, _ = v4_sign("PUT", path, {"Host": "%s:%d" % (HOST, PORT),
                                        "Content-Length": str(len(data)),
                                        "x-amz-checksum-crc32": checksum("CRC32", data),
                                        "x-amz-checksum-sha1": checksum("SHA1", data)},
                          hashlib.sha256(data).hexdigest(), creds("ALICE"))
        self.assertRawError(raw("PUT", path, h, data), 400, "InvalidRequest")

    @strict
    @unittest.skipUnless(BOTOCORE_CHECKSUMS_BY_DEFAULT, "s3transfer asks for no checksum here")
    def test_managed_transfer_composite(self):
        data = os.urandom(11 * MiB)
        src = os.path.join(os.environ["TEST_DIR"], "s3-sum-%s" % uuid.uuid4().hex[:8])
        with open(src, "wb") as f:
            f.write(data)
        self.addCleanup(os.unlink, src)
        cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
        self.s3.upload_file(src, self.bucket, "managed", Config=cfg)
        h = self.s3.head_object(Bucket=self.bucket, Key="managed", ChecksumMode="ENABLED")
        parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
        self.assertEqual(h.get("ChecksumCRC32"), composite_checksum("CRC32", parts))


class Acls(S3Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("acl")
        cls.s3.put_object(Bucket=cls.bucket, Key="first", Body=b"first")
        cls.owner = cls.s3.get_object_acl(Bucket=cls.bucket, Key="first")["Owner"]["ID"]

    def grants(self, key):
        acl = self.s3.get_object_acl(Bucket=self.bucket, Key=key)
        self.assertEqual(acl["Owner"]["ID"], self.owner)
        return [(g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"])
                for g in acl["Grants"]]

    def test_public_read(self):
        self.s3.put_object(Bucket=self.bucket, Key="pub", Body=b"for everyone", ACL="public-read")
        self.assertIn((ALL_USERS, "READ"), self.grants("pub"))
        self.assertIn((self.owner, "FULL_CONTROL"), self.grants("pub"))
        self.assertEqual(self.anonymous_get(self.bucket, "pub"), (200, b"for everyone"))
        self.assertEqual(self.body(self.bucket, "pub", self.bob), b"for everyone")

    def test_aws_exec_read(self):
        self.s3.put_object(Bucket=self.bucket, Key="exec", Body=b"manifest", ACL="aws-exec-read")
        grants = self.grants("exec")
        self.assertIn((self.owner, "FULL_CONTROL"), grants)
        self.assertNotIn((ALL_USERS, "READ"), grants)

    @strict
    def test_ec2_bundle_read(self):
        self.s3.put_object(Bucket=self.bucket, Key="bundle", Body=b"part", ACL="ec2-bundle-read")
        self.assertIn((self.owner, "FULL_CONTROL"), self.grants("bundle"))
        self.assertNotIn((ALL_USERS, "READ"), self.grants("bundle"))

    def test_put_object_acl(self):
        self.s3.put_object(Bucket=self.bucket, Key="later", Body=b"published later")
        self.assertNotIn((ALL_USERS, "READ"), self.grants("later"))
        self.s3.put_object_acl(Bucket=self.bucket, Key="later", ACL="public-read")
        self.assertIn((ALL_USERS, "READ"), self.grants("later"))
        self.assertEqual(self.anonymous_get(self.bucket, "later"), (200, b"published later"))
        self.s3.put_object_acl(Bucket=self.bucket, Key="later", ACL="private")
        self.assertEqual(self.grants("later"), [(self.owner, "FULL_CONTROL")])

    @strict
    def test_owner_ids(self):
        self.assertTrue(self.owner)
        self.assertEqual(self.s3.list_buckets()["Owner"]["ID"], self.owner)
        self.assertEqual(self.s3.get_bucket_acl(Bucket=self.bucket)["Owner"]["ID"], self.owner)
        self.assertNotEqual(self.bob.list_buckets()["Owner"]["ID"], self.owner)
        self.assertEqual(self.grants("first"), [(self.owner, "FULL_CONTROL")])

    @strict
    def test_private_to_others(self):
        self.s3.put_object(Bucket=self.bucket, Key="secret", Body=b"alice's")
        b, k = self.bucket, "secret"
        self.assertError("AccessDenied", 403, self.bob.get_object, Bucket=b, Key=k)
        self.assertError("AccessDenied", 403, self.bob.put_object, Bucket=b, Key=k, Body=b"bob's")
        self.assertError("AccessDenied", 403, self.bob.put_object, Bucket=b, Key="new", Body=b"x")
        self.assertError("AccessDenied", 403, self.bob.list_objects_v2, Bucket=b)
        self.assertError("AccessDenied", 403, self.bob.delete_object, Bucket=b, Key=k)
        self.assertError("AccessDenied", 403, self.bob.put_object_acl, Bucket=b, Key=k,
                         ACL="public-read")
        self.assertError("AccessDenied", 403, self.bob.get_object_acl, Bucket=b, Key=k)
        self.assertError("AccessDenied", 403, self.bob.create_multipart_upload, Bucket=b, Key=k)
        got = self.anonymous_get(b, k)
        self.assertRawError((got[0], {}, got[1]), 403, "AccessDenied")
        self.assertEqual(self.body(b, k), b"alice's")
        self.assertEqual(self.grants(k), [(self.owner, "FULL_CONTROL")])
        self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="new")
        # public-read lets others read, not write, delete or change the ACL.
        self.s3.put_object(Bucket=b, Key="pub2", Body=b"readable", ACL="public-read")
        self.assertEqual(self.body(b, "pub2", self.bob), b"readable")
        self.assertError("AccessDenied", 403, self.bob.delete_object, Bucket=b, Key="pub2")
        self.assertError("AccessDenied", 403, self.bob.put_object_acl, Bucket=b, Key="pub2",
                         ACL="private")
        self.assertEqual(self.anonymous_get(b, "pub2"), (200, b"readable"))


class ErrorDetails(S3Case):
    """The elements S3 adds to an error document beside Code and Message
    (ArgumentName and ArgumentValue, UploadId, ActualObjectSize, ...): botocore
    hands them to the caller in the error's dict."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("err")
        cls.s3.put_object(Bucket=cls.bucket, Key="ten", Body=b"0123456789")

    def assertDetails(self, error, **want):
        got = {k: error["Error"].get(k) for k in want}
        self.assertEqual(got, want, error["Error"])

    @strict
    def test_invalid_argument_names_the_argument(self):
        b = self.bucket
        for fn, kw, name, value in (
                (self.s3.put_object, dict(Bucket=b, Key="k", Body=b"x", ACL="bogus-acl"),
                 "x-amz-acl", "bogus-acl"),
                (self.s3.list_objects_v2, dict(Bucket=b, EncodingType="bogus"),
                 "encoding-type", "bogus"),
                (self.s3.list_objects_v2, dict(Bucket=b, MaxKeys=-1), "maxKeys", "-1"),
                (self.s3.copy_object, dict(Bucket=b, Key="c", CopySource=b + "/ten",
                                           MetadataDirective="MOVE"),
                 "x-amz-metadata-directive", "MOVE"),
                (self.s3.copy_object, dict(Bucket=b, Key="c", CopySource="nokey"),
                 "x-amz-copy-source", "nokey")):
            err = self.assertError("InvalidArgument", 400, fn, **kw)
            self.assertDetails(err, ArgumentName=name, ArgumentValue=value)
        err = self.assertError("InvalidArgument", 400, self.s3.list_objects_v2, Bucket=b,
                               ContinuationToken="!not-a-token!")
        self.assertDetails(err, ArgumentName="continuation-token")
        upload = self.s3.create_multipart_upload(Bucket=b, Key="mpu")["UploadId"]
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=b, Key="mpu", UploadId=upload)
        # botocore will not send part number 0: by hand.
        query = "partNumber=0&uploadId=" + upload
        h, _, _ = v4_sign("PUT", "/%s/mpu" % b, {"Host": "%s:%d" % (HOST, PORT),
                                                 "Content-Length": "0"},
                          EMPTY_SHA, creds("ALICE"), query=query)
        st, _, body = raw("PUT", "/%s/mpu?%s" % (b, query), h, b"")
        self.assertRawError((st, {}, body), 400, "InvalidArgument")
        root = ET.fromstring(body)
        self.assertEqual((root.findtext("ArgumentName"), root.findtext("ArgumentValue")),
                         ("partNumber", "0"), body)

    @strict
    def test_names_of_what_is_missing(self):
        b = self.bucket
        err = self.assertError("NoSuchKey", 404, self.s3.get_object, Bucket=b, Key="no/such")
        self.assertDetails(err, Key="no/such")
        gone = unique("gone")
        err = self.assertError("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket=gone)
        self.assertDetails(err, BucketName=gone)
        err = self.assertError("NoSuchBucket", 404, self.s3.copy_object, Bucket=b, Key="c",
                               CopySource=gone + "/k")
        self.assertDetails(err, BucketName=gone)
        err = self.assertError("NoSuchKey", 404, self.s3.copy_object, Bucket=b, Key="c",
                               CopySource=b + "/no-source")
        self.assertDetails(err, Key="no-source")
        err = self.assertError("NoSuchUpload", 404, self.s3.list_parts, Bucket=b, Key="k",
                               UploadId="no-such-upload")
        self.assertDetails(err, UploadId="no-such-upload")
        err = self.assertError("NoSuchUpload", 404, self.s3.upload_part, Bucket=b, Key="k",
                               UploadId="no-such-upload", PartNumber=1, Body=b"x")
        self.assertDetails(err, UploadId="no-such-upload")
        err = self.assertError("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=b)
        self.assertDetails(err, BucketName=b)
        # An error about neither names neither.
        err = self.assertError("AccessDenied", 403, self.bob.get_object, Bucket=b, Key="ten")
        self.assertDetails(err, Key=None, BucketName=None)

    @strict
    def test_ranges_digests_and_conditions(self):
        b = self.bucket
        err = self.assertError("InvalidRange", 416, self.s3.get_object, Bucket=b, Key="ten",
                               Range="bytes=20-30")
        self.assertDetails(err, RangeRequested="bytes=20-30", ActualObjectSize="10")
        err = self.assertError("PreconditionFailed", 412, self.s3.get_object, Bucket=b,
                               Key="ten", IfMatch='"0123"')
        self.assertDetails(err, Condition="If-Match")
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        err = self.assertError("BadDigest", 400, self.s3.put_object, Bucket=b, Key="d",
                               Body=b"body", ContentMD5=wrong)
        self.assertDetails(err, ExpectedDigest=wrong,
                           CalculatedDigest=base64.b64encode(hashlib.md5(b"body").digest())
                           .decode())
        err = self.assertError("InvalidDigest", 400, self.s3.put_object, Bucket=b, Key="d",
                               Body=b"body", ContentMD5="short")
        self.assertDetails(err, **{"Content-MD5": "short"})
        st, _, body = raw("PUT", "/%s/sha" % b, v4_sign(
            "PUT", "/%s/sha" % b, {"Host": "%s:%d" % (HOST, PORT), "Content-Length": "5"},
            hashlib.sha256(b"other").hexdigest(), creds("ALICE"))[0], b"after")
        self.assertRawError((st, {}, body), 400, "XAmzContentSHA256Mismatch")
        root = ET.fromstring(body)
        self.assertEqual((root.findtext("ClientComputedContentSHA256"),
                          root.findtext("S3ComputedContentSHA256")),
                         (hashlib.sha256(b"other").hexdigest(),
                          hashlib.sha256(b"after").hexdigest()), body)

    @strict
    def test_complete_names_the_part(self):
        b = self.bucket
        upload = self.s3.create_multipart_upload(Bucket=b, Key="parts")["UploadId"]
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=b, Key="parts", UploadId=upload)
        small = self.s3.upload_part(Bucket=b, Key="parts", UploadId=upload, PartNumber=1,
                                    Body=b"small")["ETag"]
        last = self.s3.upload_part(Bucket=b, Key="parts", UploadId=upload, PartNumber=2,
                                   Body=b"last")["ETag"]
        err = self.assertError("EntityTooSmall", 400, self.s3.complete_multipart_upload,
                               Bucket=b, Key="parts", UploadId=upload, MultipartUpload={
                                   "Parts": [{"PartNumber": 1, "ETag": small},
                                             {"PartNumber": 2, "ETag": last}]})
        self.assertDetails(err, ProposedSize="5", MinSizeAllowed=str(5 * MiB), PartNumber="1",
                           ETag=small.strip('"'))
        bogus = quoted_md5(b"never uploaded")
        err = self.assertError("InvalidPart", 400, self.s3.complete_multipart_upload,
                               Bucket=b, Key="parts", UploadId=upload, MultipartUpload={
                                   "Parts": [{"PartNumber": 3, "ETag": bogus}]})
        self.assertDetails(err, UploadId=upload, PartNumber="3", ETag=bogus.strip('"'))
        err = self.assertError("InvalidPartOrder", 400, self.s3.complete_multipart_upload,
                               Bucket=b, Key="parts", UploadId=upload, MultipartUpload={
                                   "Parts": [{"PartNumber": 2, "ETag": last},
                                             {"PartNumber": 1, "ETag": small}]})
        self.assertDetails(err, UploadId=upload)

    @strict
    def test_signature_errors_show_what_was_signed(self):
        key, secret = creds("ALICE")
        wrong = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG,
                             aws_access_key_id=key, aws_secret_access_key="wrong")
        wrong.meta.events.register("needs-retry.s3.*", keep_response)
        err = self.assertError("SignatureDoesNotMatch", 403, wrong.list_objects_v2,
                               Bucket=self.bucket)["Error"]
        self.assertEqual(err["AWSAccessKeyId"], key)
        self.assertRegex(err["SignatureProvided"], "^[0-9a-f]{64}$")
        canonical = err["CanonicalRequest"]
        self.assertTrue(canonical.startswith("GET\n/%s\n" % self.bucket), canonical)
        lines = err["StringToSign"].split("\n")
        self.assertEqual((lines[0], lines[3]), ("AWS4-HMAC-SHA256",
                                                hashlib.sha256(canonical.encode()).hexdigest()))
        self.assertEqual(bytes.fromhex(err["StringToSignBytes"].replace(" ", "")).decode(),
                         err["StringToSign"])
        nobody = boto3.client("s3", endpoint_url=ENDPOINT, config=CONFIG,
                              aws_access_key_id="AKIANOSUCHKEY0000000", aws_secret_access_key=secret)
        nobody.meta.events.register("needs-retry.s3.*", keep_response)
        err = self.assertError("InvalidAccessKeyId", 403, nobody.list_objects_v2,
                               Bucket=self.bucket)
        self.assertDetails(err, AWSAccessKeyId="AKIANOSUCHKEY0000000")
        # SigV2: the string to sign is the one this client signed.
        path = "/%s/ten" % self.bucket
        h = v2_sign("GET", path, {}, (key, "wrong"))
        st, _, body = raw("GET", path, h)
        self.assertRawError((st, {}, body), 403, "SignatureDoesNotMatch")
        signed = "GET\n\n\n%s\n%s" % (h["Date"], path)
        self.assertEqual(ET.fromstring(body).findtext("StringToSign"), signed, body)
        old = email.utils.formatdate(time.time() - 20 * 60, usegmt=True)
        st, _, body = raw("GET", path, v2_sign("GET", path, {}, (key, secret), old))
        self.assertRawError((st, {}, body), 403, "RequestTimeTooSkewed")
        root = ET.fromstring(body)
        self.assertEqual((root.findtext("RequestTime"), root.findtext("MaxAllowedSkewMilliseconds")),
                         (old, "900000"), body)
        self.assertTrue(root.findtext("ServerTime"), body)

    @strict
    def test_method_and_key_length(self):
        path = "/%s/ten" % self.bucket
        h, _, _ = v4_sign("POST", path, {"Host": "%s:%d" % (HOST, PORT)}, EMPTY_SHA,
                          creds("ALICE"))
        st, _, body = raw("POST", path, h, b"")
        self.assertRawError((st, {}, body), 405, "MethodNotAllowed")
        root = ET.fromstring(body)
        self.assertEqual((root.findtext("Method"), root.findtext("ResourceType")),
                         ("POST", "OBJECT"), body)
        err = self.assertError("KeyTooLongError", 400, self.s3.put_object, Bucket=self.bucket,
                               Key="k" * 1100, Body=b"x")
        self.assertDetails(err, Size="1100", MaxSizeAllowed="1024")


class Signing(S3Case):
    """Requests signed here rather than by botocore."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.new_bucket("sig")

    def v4_put(self, key, body, payload_hash, headers=None):
        path = "/%s/%s" % (self.bucket, key)
        h, _, _ = v4_sign("PUT", path, dict({"Host": "%s:%d" % (HOST, PORT),
                                             "Content-Length": str(len(body))}, **(headers or {})),
                          payload_hash, creds("ALICE"))
        return raw("PUT", path, h, body)

    # ---- the signers themselves, against AWS's published examples --------

    def test_v2_signer_examples(self):
        example = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        get = v2_sign("GET", "/johnsmith/photos/puppy.jpg", {}, example,
                      "Tue, 27 Mar 2007 19:36:42 +0000")
        self.assertEqual(get["Authorization"],
                         "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
        put = v2_sign("PUT", "/johnsmith/photos/puppy.jpg", {"Content-Type": "image/jpeg"},
                      example, "Tue, 27 Mar 2007 21:15:45 +0000")
        self.assertTrue(put["Authorization"].endswith(":MyyxeRY7whkBe+bq8fHCL/2kKUg="))

    def test_streaming_signer_example(self):
        example = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        headers, seed, context = v4_sign(
            "PUT", "/examplebucket/chunkObject.txt",
            {"Host": "s3.amazonaws.com", "x-amz-storage-class": "REDUCED_REDUNDANCY",
             "Content-Encoding": "aws-chunked", "Content-Length": "66824",
             "x-amz-decoded-content-length": "66560"}, STREAMING, example,
            when=datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc))
        self.assertEqual(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
        body = aws_chunked(b"a" * 66560, 65536, seed, context)
        self.assertEqual((len(body), chunked_length(66560, 65536)), (66824, 66824))
        self.assertEqual(re.findall(rb"chunk-signature=([0-9a-f]{64})", body), [
            b"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            b"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            b"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"])

    # ---- Signature Version 2, as euca2ools sends it -----------------------

    def test_v2_requests(self):
        alice = creds("ALICE")
        st, _, body = raw("GET", "/%s?max-keys=0" % self.bucket,
                          v2_sign("GET", "/" + self.bucket, {}, alice))
        self.assertEqual(st, 200, body)
        root = ET.fromstring(body)
        self.assertEqual((root.tag.split("}")[-1], root.findtext("{*}MaxKeys")),
                         ("ListBucketResult", "0"))
        second = unique("sig2")
        euca_date = email.utils.formatdate()   # "..., 20:34:39 -0000"
        self.assertTrue(euca_date.endswith("-0000"))
        st, _, body = raw("PUT", "/" + second, v2_sign("PUT", "/" + second, {}, alice, euca_date),
                          b"")
        self.assertEqual(st, 200, body)
        self.assertEqual(status(self.s3.head_bucket(Bucket=second)), 200)
        data = os.urandom(3000)
        st, headers, body = raw("PUT", "/%s/image.part.0" % second, v2_sign(
            "PUT", "/%s/image.part.0" % second, {"x-amz-acl": "aws-exec-read"}, alice,
            euca_date), data)
        self.assertEqual((st, headers.get("etag")), (200, quoted_md5(data)), body)
        st, headers, body = raw("GET", "/%s/image.part.0" % second,
                                v2_sign("GET", "/%s/image.part.0" % second, {}, alice))
        self.assertEqual((st, body, headers.get("etag")), (200, data, quoted_md5(data)))
        # Sub-resources are part of the canonicalized resource.
        st, _, body = raw("GET", "/%s/image.part.0?acl" % second,
                          v2_sign("GET", "/%s/image.part.0?acl" % second, {}, alice))
        self.assertEqual(st, 200, body)
        self.assertEqual(ET.fromstring(body).tag.split("}")[-1], "AccessControlPolicy")
        key = "/%s/mpu" % second
        st, _, body = raw("POST", key + "?uploads", v2_sign("POST", key + "?uploads", {}, alice),
                          b"")
        self.assertEqual(st, 200, body)
        upload = ET.fromstring(body).findtext("{*}UploadId")
        self.assertTrue(upload, body)
        resource = "%s?uploadId=%s" % (key, upload)
        st, _, body = raw("DELETE", "%s?uploadId=%s" % (key, urllib.parse.quote(upload)),
                          v2_sign("DELETE", resource, {}, alice))
        self.assertEqual(st, 204, body)

    @strict
    def test_v2_refusals(self):
        path = "/%s/v2" % self.bucket
        self.s3.put_object(Bucket=self.bucket, Key="v2", Body=b"v2 object")
        alice = creds("ALICE")
        self.assertRawError(raw("GET", path, v2_sign("GET", path, {}, (alice[0], "wrong"))),
                            403, "SignatureDoesNotMatch")
        self.assertRawError(raw("GET", path, v2_sign("GET", path, {}, ("AKIANOSUCHKEY0000000",
                                                                        alice[1]))),
                            403, "InvalidAccessKeyId")
        old = email.utils.formatdate(time.time() - 20 * 60)
        self.assertRawError(raw("GET", path, v2_sign("GET", path, {}, alice, old)),
                            403, "RequestTimeTooSkewed")
        # ?acl must be signed; max-keys must not.
        self.assertRawError(raw("GET", path + "?acl", v2_sign("GET", path, {}, alice)),
                            403, "SignatureDoesNotMatch")
        bucket = "/" + self.bucket
        self.assertRawError(raw("GET", bucket + "?max-keys=0",
                                v2_sign("GET", bucket + "?max-keys=0", {}, alice)),
                            403, "SignatureDoesNotMatch")
        # The signed x-amz-acl header cannot be changed.
        h = v2_sign("PUT", path, {"x-amz-acl": "private"}, alice)
        h["x-amz-acl"] = "public-read"
        self.assertRawError(raw("PUT", path, h, b"changed"), 403, "SignatureDoesNotMatch")
        self.assertEqual(self.body(self.bucket, "v2"), b"v2 object")

    # ---- SigV4 variants ----------------------------------------------------

    def streaming_put(self, key, data, corrupt=None):
        path = "/%s/%s" % (self.bucket, key)
        size = 64 * 1024
        headers, seed, context = v4_sign("PUT", path, {
            "Host": "%s:%d" % (HOST, PORT), "Content-Encoding": "aws-chunked",
            "Content-Length": str(chunked_length(len(data), size)),
            "x-amz-decoded-content-length": str(len(data))}, STREAMING, creds("ALICE"))
        return raw("PUT", path, headers, aws_chunked(data, size, seed, context, corrupt))

    def test_streaming_upload(self):
        data = os.urandom(200 * 1024)
        st, headers, body = self.streaming_put("chunked", data)
        self.assertEqual((st, headers.get("etag")), (200, quoted_md5(data)), body)
        g = self.s3.get_object(Bucket=self.bucket, Key="chunked")
        self.assertEqual((g["ContentLength"], g["ETag"]), (len(data), quoted_md5(data)))
        self.assertTrue(g["Body"].read() == data, "stored bytes differ")
        self.assertNotIn("aws-chunked", g.get("ContentEncoding") or "")

    @strict
    def test_streaming_corrupt_chunk(self):
        first = os.urandom(200 * 1024)
        self.assertEqual(self.streaming_put("chunked2", first)[0], 200)
        for corrupt in (1, 3):
            self.assertRawError(self.streaming_put("chunked2", os.urandom(200 * 1024), corrupt),
                                403, "SignatureDoesNotMatch")
            self.assertTrue(self.body(self.bucket, "chunked2") == first, "object changed")
        self.assertRawError(self.streaming_put("chunked3", os.urandom(100 * 1024), 0),
                            403, "SignatureDoesNotMatch")
        self.assertError("404", 404, self.s3.head_object, Bucket=self.bucket, Key="chunked3")

    def test_unsigned_payload(self):
        data = b"sent without a payload hash"
        st, headers, body = self.v4_put("unsigned", data, "UNSIGNED-PAYLOAD",
                                        {"Content-Type": "text/plain"})
        self.assertEqual((st, headers.get("etag")), (200, quoted_md5(data)), body)
        g = self.s3.get_object(Bucket=self.bucket, Key="unsigned")
        self.assertEqual((g["Body"].read(), g["ContentType"]), (data, "text/plain"))
        st, _, body = self.v4_put("hashed", data, hashlib.sha256(data).hexdigest())
        self.assertEqual((st, self.body(self.bucket, "hashed")), (200, data), body)

    @strict
    def test_payload_hash_mismatch(self):
        self.s3.put_object(Bucket=self.bucket, Key="sha", Body=b"before")
        after = b"after"
        self.assertRawError(self.v4_put("sha", after, hashlib.sha256(b"other").hexdigest()),
                            400, "XAmzContentSHA256Mismatch")
        self.assertEqual(self.body(self.bucket, "sha"), b"before")
        # A signature by another secret is refused too.
        bad = (creds("ALICE")[0], "not-the-secret")
        path = "/%s/sha" % self.bucket
        h, _, _ = v4_sign("PUT", path, {"Host": "%s:%d" % (HOST, PORT)},
                          hashlib.sha256(after).hexdigest(), bad)
        self.assertRawError(raw("PUT", path, h, after), 403, "SignatureDoesNotMatch")
        self.assertEqual(self.body(self.bucket, "sha"), b"before")

    def test_expect_100_continue(self):
        data = os.urandom(256 * 1024)
        path = "/%s/continued" % self.bucket
        headers, _, _ = v4_sign("PUT", path, {"Host": "%s:%d" % (HOST, PORT),
                                              "Content-Length": str(len(data))},
                                hashlib.sha256(data).hexdigest(), creds("ALICE"))
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
        try:
            conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
            for k, v in dict(headers, Expect="100-continue").items():
                conn.putheader(k, v)
            conn.endheaders()
            # An HTTP/1.1 server answers at once (RFC 9110 10.1.1): here with
            # 100 Continue.  Byte by byte, so as not to read past it.
            interim = b""
            conn.sock.settimeout(5)
            try:
                while not interim.endswith(b"\r\n\r\n"):
                    byte = conn.sock.recv(1)
                    if not byte:
                        break
                    interim += byte
            except socket.timeout:
                pass
            conn.sock.settimeout(60)
            self.assertRegex(interim, rb"^HTTP/1\.1 100 [^\r\n]*\r\n(.*\r\n)*\r\n$")
            conn.send(data)
            r = conn.getresponse()
            answer = r.read()
            self.assertEqual((r.status, r.getheader("ETag")), (200, quoted_md5(data)), answer)
        finally:
            conn.close()
        self.assertTrue(self.body(self.bucket, "continued") == data, "stored bytes differ")


if __name__ == "__main__":
    cases.main(verbosity=1)
