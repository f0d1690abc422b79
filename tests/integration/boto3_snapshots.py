"""Drives amibox with boto3: EBS direct API and EC2 snapshot actions.

Run by t_boto3.sh with two interpreters: pip's boto3 1.43 and Debian's 1.26.
Needs ENDPOINT, ALICE_*/BOB_* from lib.sh.  Exits non-zero on any failure.
"""
import base64
import hashlib
import os
import sqlite3
import sys
import unittest
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
BLOCK = 512 * 1024
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")


def client(service, who):
    return boto3.client(
        service, endpoint_url=ENDPOINT, config=CONFIG,
        aws_access_key_id=os.environ[who + "_KEY"],
        aws_secret_access_key=os.environ[who + "_SECRET"])


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def linear(blocks):
    """LINEAR aggregate: SHA-256 over the raw block digests in index order."""
    digests = b"".join(hashlib.sha256(blocks[i]).digest() for i in sorted(blocks))
    return base64.b64encode(hashlib.sha256(digests).digest()).decode()


def kept_answers():
    """How many calls a kept answer has served (GET /metrics)."""
    text = urllib.request.urlopen(ENDPOINT + "/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith('amibox_response_cache_lookups_total{result="hit"}'):
            return int(float(line.split()[-1]))
    raise AssertionError("no amibox_response_cache_lookups_total in /metrics")


def error_code(exc):
    return exc.exception.response["Error"]["Code"]


class Snapshots(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ebs = client("ebs", "ALICE")
        cls.ec2 = client("ec2", "ALICE")
        cls.bob_ebs = client("ebs", "BOB")
        cls.bob_ec2 = client("ec2", "BOB")

    def upload(self, blocks, size=1, parent=None, ebs=None, **extra):
        ebs = ebs or self.ebs
        args = dict(VolumeSize=size, Description="test upload", **extra)
        if parent:
            args["ParentSnapshotId"] = parent
        snap = ebs.start_snapshot(**args)
        sid = snap["SnapshotId"]
        for index, data in blocks.items():
            ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data,
                                   DataLength=BLOCK, Checksum=b64sha(data),
                                   ChecksumAlgorithm="SHA256")
        done = ebs.complete_snapshot(
            SnapshotId=sid, ChangedBlocksCount=len(blocks),
            Checksum=linear(blocks), ChecksumAlgorithm="SHA256",
            ChecksumAggregationMethod="LINEAR")
        self.assertEqual(done["Status"], "completed")
        return sid

    def read_all(self, sid, ebs=None):
        ebs = ebs or self.ebs
        out = {}
        kwargs = {"SnapshotId": sid, "MaxResults": 100}
        while True:
            page = ebs.list_snapshot_blocks(**kwargs)
            for b in page["Blocks"]:
                got = ebs.get_snapshot_block(SnapshotId=sid, BlockIndex=b["BlockIndex"],
                                             BlockToken=b["BlockToken"])
                data = got["BlockData"].read()
                self.assertEqual(got["Checksum"], b64sha(data))
                out[b["BlockIndex"]] = data
            if not page.get("NextToken"):
                return out
            kwargs["NextToken"] = page["NextToken"]

    def test_round_trip_and_describe(self):
        blocks = {0: os.urandom(BLOCK), 7: b"\x01" * BLOCK, 2047: os.urandom(BLOCK)}
        sid = self.upload(blocks, Tags=[{"Key": "purpose", "Value": "boto3"}])
        self.assertEqual(self.read_all(sid), blocks)
        snap = self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        self.assertEqual(snap["State"], "completed")
        self.assertEqual(snap["Progress"], "100%")
        self.assertEqual(snap["OwnerId"], os.environ["ALICE_ID"])
        self.assertEqual(snap["VolumeSize"], 1)
        self.assertEqual(snap["Description"], "test upload")
        self.assertIn({"Key": "purpose", "Value": "boto3"}, snap["Tags"])
        found = self.ec2.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:purpose", "Values": ["bo?o*"]},
                                        {"Name": "status", "Values": ["completed"]}])
        self.assertIn(sid, [s["SnapshotId"] for s in found["Snapshots"]])
        none = self.ec2.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:purpose", "Values": ["nothing*"]}])
        self.assertNotIn(sid, [s["SnapshotId"] for s in none["Snapshots"]])

    def test_zero_blocks_are_not_listed(self):
        sid = self.upload({1: b"\x00" * BLOCK, 2: b"\x02" * BLOCK})
        self.assertEqual(sorted(self.read_all(sid)), [2])

    def test_child_snapshot_and_changed_blocks(self):
        parent = self.upload({0: b"a" * BLOCK, 1: b"b" * BLOCK, 2: b"c" * BLOCK})
        child = self.upload({1: b"B" * BLOCK, 3: b"d" * BLOCK, 2: b"\x00" * BLOCK},
                            parent=parent)
        self.assertEqual(self.read_all(child),
                         {0: b"a" * BLOCK, 1: b"B" * BLOCK, 3: b"d" * BLOCK})
        changed = self.ebs.list_changed_blocks(FirstSnapshotId=parent,
                                               SecondSnapshotId=child)
        idx = {c["BlockIndex"]: c for c in changed["ChangedBlocks"]}
        self.assertEqual(sorted(idx), [1, 2, 3])
        self.assertIn("FirstBlockToken", idx[2])
        self.assertNotIn("SecondBlockToken", idx[2])
        self.assertNotIn("FirstBlockToken", idx[3])
        got = self.ebs.get_snapshot_block(SnapshotId=child, BlockIndex=1,
                                          BlockToken=idx[1]["SecondBlockToken"])
        self.assertEqual(got["BlockData"].read(), b"B" * BLOCK)
        # Deleting the parent leaves the child whole.
        self.ec2.delete_snapshot(SnapshotId=parent)
        self.assertEqual(self.read_all(child)[0], b"a" * BLOCK)

    def test_pagination_of_blocks(self):
        blocks = {i: bytes([i % 251 + 1]) * BLOCK for i in range(0, 250)}
        sid = self.upload(blocks)
        self.assertEqual(sorted(self.read_all(sid)), sorted(blocks))
        page = self.ebs.list_snapshot_blocks(SnapshotId=sid, StartingBlockIndex=200,
                                             MaxResults=100)
        self.assertEqual(page["Blocks"][0]["BlockIndex"], 200)

    def test_bad_blocks_refused(self):
        sid = self.ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
        data = os.urandom(BLOCK)
        with self.assertRaises(ClientError) as exc:
            self.ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=0, BlockData=data,
                                        DataLength=BLOCK, Checksum=b64sha(b"other"),
                                        ChecksumAlgorithm="SHA256")
        self.assertEqual(error_code(exc), "ValidationException")
        with self.assertRaises(ClientError) as exc:
            self.ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=2048, BlockData=data,
                                        DataLength=BLOCK, Checksum=b64sha(data),
                                        ChecksumAlgorithm="SHA256")
        self.assertEqual(error_code(exc), "ValidationException")
        with self.assertRaises(ClientError) as exc:
            self.ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=0, BlockData=data[:1000],
                                        DataLength=1000, Checksum=b64sha(data[:1000]),
                                        ChecksumAlgorithm="SHA256")
        self.assertEqual(error_code(exc), "ValidationException")
        # Nothing was stored: completing with zero changed blocks works.
        with self.assertRaises(ClientError) as exc:
            self.ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=1)
        self.assertEqual(error_code(exc), "ValidationException")
        self.assertEqual(self.ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=0)
                         ["Status"], "completed")
        self.assertEqual(self.read_all(sid), {})
        # A completed snapshot takes no more blocks.
        with self.assertRaises(ClientError) as exc:
            self.ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=0, BlockData=data,
                                        DataLength=BLOCK, Checksum=b64sha(data),
                                        ChecksumAlgorithm="SHA256")
        self.assertEqual(error_code(exc), "ValidationException")

    def test_wrong_aggregate_checksum_keeps_pending(self):
        sid = self.ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
        data = os.urandom(BLOCK)
        self.ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=4, BlockData=data,
                                    DataLength=BLOCK, Checksum=b64sha(data),
                                    ChecksumAlgorithm="SHA256")
        with self.assertRaises(ClientError) as exc:
            self.ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=1,
                                       Checksum=b64sha(b"wrong"), ChecksumAlgorithm="SHA256",
                                       ChecksumAggregationMethod="LINEAR")
        self.assertEqual(error_code(exc), "ValidationException")
        snap = self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
        self.assertEqual(snap["State"], "pending")

    def test_kms_key_without_encryption_refused(self):
        for extra in (dict(), dict(Encrypted=False)):
            with self.subTest(extra=extra):
                with self.assertRaises(ClientError) as exc:
                    self.ebs.start_snapshot(VolumeSize=1, KmsKeyArn="arn:aws:kms:us-east-1:"
                                            "111122223333:key/x", **extra)
                self.assertEqual(error_code(exc), "ValidationException")
                self.assertIn("Encrypted", str(exc.exception))

    def test_client_token_idempotent(self):
        a = self.ebs.start_snapshot(VolumeSize=2, ClientToken="tok-1")
        b = self.ebs.start_snapshot(VolumeSize=2, ClientToken="tok-1")
        self.assertEqual(a["SnapshotId"], b["SnapshotId"])
        with self.assertRaises(ClientError) as exc:
            self.ebs.start_snapshot(VolumeSize=3, ClientToken="tok-1")
        self.assertEqual(error_code(exc), "ConflictException")

    def test_isolation_between_accounts(self):
        sid = self.upload({0: os.urandom(BLOCK)})
        with self.assertRaises(ClientError) as exc:
            self.bob_ec2.describe_snapshots(SnapshotIds=[sid])
        self.assertEqual(error_code(exc), "InvalidSnapshot.NotFound")
        self.assertNotIn(sid, [s["SnapshotId"] for s in
                               self.bob_ec2.describe_snapshots()["Snapshots"]])
        with self.assertRaises(ClientError) as exc:
            self.bob_ebs.list_snapshot_blocks(SnapshotId=sid)
        self.assertEqual(error_code(exc), "ResourceNotFoundException")
        for call in (lambda: self.bob_ec2.delete_snapshot(SnapshotId=sid),
                     lambda: self.bob_ec2.create_tags(Resources=[sid],
                                                      Tags=[{"Key": "k", "Value": "v"}]),
                     lambda: self.bob_ec2.describe_snapshot_attribute(
                         SnapshotId=sid, Attribute="createVolumePermission"),
                     lambda: self.bob_ec2.copy_snapshot(SourceSnapshotId=sid,
                                                        SourceRegion="us-east-1")):
            with self.assertRaises(ClientError) as exc:
                call()
            self.assertEqual(error_code(exc), "InvalidSnapshot.NotFound")
        # Sharing with bob: he sees it, reads it, copies it; cannot delete it.
        self.ec2.modify_snapshot_attribute(
            SnapshotId=sid, Attribute="createVolumePermission", OperationType="add",
            UserIds=[os.environ["BOB_ID"]])
        perms = self.ec2.describe_snapshot_attribute(
            SnapshotId=sid, Attribute="createVolumePermission")["CreateVolumePermissions"]
        self.assertEqual(perms, [{"UserId": os.environ["BOB_ID"]}])
        self.assertIn(sid, [s["SnapshotId"] for s in self.bob_ec2.describe_snapshots(
            RestorableByUserIds=["self"])["Snapshots"]])
        self.assertEqual(len(self.read_all(sid, ebs=self.bob_ebs)), 1)
        copy = self.bob_ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion="us-east-1",
                                          Description="bob's copy")["SnapshotId"]
        mine = self.bob_ec2.describe_snapshots(SnapshotIds=[copy])["Snapshots"][0]
        self.assertEqual(mine["OwnerId"], os.environ["BOB_ID"])
        self.assertEqual(self.read_all(copy, ebs=self.bob_ebs), self.read_all(sid))
        with self.assertRaises(ClientError) as exc:
            self.bob_ec2.delete_snapshot(SnapshotId=sid)
        self.assertEqual(error_code(exc), "UnauthorizedOperation")
        # Public, then reset: bob loses it again.
        self.ec2.modify_snapshot_attribute(
            SnapshotId=sid, CreateVolumePermission={"Add": [{"Group": "all"}]})
        self.ec2.modify_snapshot_attribute(
            SnapshotId=sid, CreateVolumePermission={"Remove": [{"UserId": os.environ["BOB_ID"]}]})
        self.assertIn(sid, [s["SnapshotId"] for s in self.bob_ec2.describe_snapshots(
            RestorableByUserIds=["all"])["Snapshots"]])
        self.ec2.reset_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission")
        with self.assertRaises(ClientError) as exc:
            self.bob_ec2.describe_snapshots(SnapshotIds=[sid])
        self.assertEqual(error_code(exc), "InvalidSnapshot.NotFound")
        # Bob's copy is his own and survives.
        self.bob_ec2.describe_snapshots(SnapshotIds=[copy])

    def test_create_volume_permission_as_packer_sends_it(self):
        """Packer 1.6.6 (aws-sdk-go) sends snapshot_users as UserId.N beside
        CreateVolumePermission.Add.N.UserId, snapshot_groups as UserGroup.N
        beside .Add.N.Group, with no OperationType nor Attribute."""
        sid = self.upload({0: os.urandom(BLOCK)})
        bob = os.environ["BOB_ID"]
        perms = lambda: sorted(self.ec2.describe_snapshot_attribute(
            SnapshotId=sid, Attribute="createVolumePermission")["CreateVolumePermissions"],
            key=str)
        self.ec2.modify_snapshot_attribute(
            SnapshotId=sid, UserIds=[bob],
            CreateVolumePermission={"Add": [{"UserId": bob}]})
        self.assertEqual(perms(), [{"UserId": bob}])
        self.assertEqual(len(self.read_all(sid, ebs=self.bob_ebs)), 1)
        self.ec2.modify_snapshot_attribute(
            SnapshotId=sid, GroupNames=["all"],
            CreateVolumePermission={"Add": [{"Group": "all"}]})
        self.assertEqual(perms(), sorted([{"UserId": bob}, {"Group": "all"}], key=str))
        for bad, code in [
                (dict(UserIds=["123456789012"],
                      CreateVolumePermission={"Add": [{"UserId": bob}]}),
                 "InvalidParameterCombination"),
                (dict(UserIds=[bob]), "MissingParameter"),
                (dict(UserIds=["bob"], CreateVolumePermission={"Add": [{"UserId": bob}]}),
                 "InvalidUserID.Malformed")]:
            with self.subTest(bad=bad):
                with self.assertRaises(ClientError) as exc:
                    self.ec2.modify_snapshot_attribute(SnapshotId=sid, **bad)
                self.assertEqual(error_code(exc), code)
        self.assertEqual(perms(), sorted([{"UserId": bob}, {"Group": "all"}], key=str))

    def test_malformed_and_missing_ids(self):
        for bad in ("snap-xyz", "vol-12345678", "snap-"):
            with self.assertRaises(ClientError) as exc:
                self.ec2.describe_snapshots(SnapshotIds=[bad])
            self.assertEqual(error_code(exc), "InvalidSnapshotID.Malformed")
        with self.assertRaises(ClientError) as exc:
            self.ec2.delete_snapshot(SnapshotId="snap-0123456789abcdef0")
        self.assertEqual(error_code(exc), "InvalidSnapshot.NotFound")
        with self.assertRaises(ClientError) as exc:
            self.ebs.list_snapshot_blocks(SnapshotId="snap-0123456789abcdef0")
        self.assertEqual(error_code(exc), "ResourceNotFoundException")
        with self.assertRaises(ClientError) as exc:
            self.ec2.describe_snapshots(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
        self.assertEqual(error_code(exc), "InvalidParameterValue")

    def test_errors_as_ec2_words_them(self):
        sid = self.upload({})
        missing = ["snap-0123456789abcdef0", "snap-0fedcba9876543210"]
        with self.assertRaises(ClientError) as exc:
            self.ec2.describe_snapshots(SnapshotIds=[missing[0], sid, missing[1]])
        self.assertEqual(error_code(exc), "InvalidSnapshot.NotFound")
        self.assertEqual(exc.exception.response["Error"]["Message"],
                         "The snapshots '%s, %s' do not exist." % tuple(missing))
        with self.assertRaises(ClientError) as exc:
            self.ec2.describe_snapshots(SnapshotIds=[sid, missing[0]])
        self.assertEqual(exc.exception.response["Error"]["Message"],
                         "The snapshot '%s' does not exist." % missing[0])
        # A malformed ID is refused before any is looked up.
        with self.assertRaises(ClientError) as exc:
            self.ec2.describe_snapshots(SnapshotIds=[missing[0], "snap-1"])
        self.assertEqual(error_code(exc), "InvalidSnapshotID.Malformed")
        for kw, code in [
                (dict(KmsKeyId="alias/aws/ebs"), "InvalidParameterDependency"),
                (dict(KmsKeyId="alias/aws/ebs", Encrypted=False), "InvalidParameterDependency"),
                (dict(KmsKeyId="alias/aws/ebs", Encrypted=True), "InvalidParameterValue"),
                (dict(TagSpecifications=[{"ResourceType": "snapshot", "Tags": []}]),
                 "InvalidTagKey.Malformed")]:
            with self.subTest(kw=kw):
                with self.assertRaises(ClientError) as exc:
                    self.ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion="us-east-1", **kw)
                self.assertEqual(error_code(exc), code)
        with self.assertRaises(ClientError) as exc:
            self.ec2.create_tags(Resources=["snap-xyz"], Tags=[{"Key": "a", "Value": "b"}])
        self.assertEqual((error_code(exc), exc.exception.response["Error"]["Message"]),
                         ("InvalidID", "The ID 'snap-xyz' is not valid"))

    def test_pagination_of_describe_snapshots(self):
        ids = {self.upload({}) for _ in range(12)}
        seen = []
        kwargs = {"OwnerIds": ["self"], "MaxResults": 5}
        tokens = set()
        while True:
            page = self.ec2.describe_snapshots(**kwargs)
            seen += [s["SnapshotId"] for s in page["Snapshots"]]
            token = page.get("NextToken")
            if not token:
                break
            self.assertNotIn(token, tokens)
            tokens.add(token)
            kwargs["NextToken"] = token
        self.assertTrue(ids <= set(seen))
        self.assertEqual(len(seen), len(set(seen)))
        paginator = self.ec2.get_paginator("describe_snapshots")
        pages = paginator.paginate(OwnerIds=["self"], PaginationConfig={"PageSize": 5})
        self.assertEqual(sorted(seen), sorted(s["SnapshotId"] for p in pages
                                              for s in p["Snapshots"]))

    def test_tags(self):
        sid = self.upload({})
        self.ec2.create_tags(Resources=[sid], Tags=[{"Key": "a", "Value": "1"},
                                                   {"Key": "b", "Value": ""}])
        tags = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [sid]}])
        self.assertEqual(sorted((t["Key"], t["Value"], t["ResourceType"])
                                for t in tags["Tags"]),
                         [("a", "1", "snapshot"), ("b", "", "snapshot")])
        self.ec2.delete_tags(Resources=[sid], Tags=[{"Key": "a", "Value": "2"}])
        self.assertEqual(len(self.ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [sid]}])["Tags"]), 2)
        self.ec2.delete_tags(Resources=[sid], Tags=[{"Key": "a"}])
        self.assertEqual([t["Key"] for t in self.ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [sid]}])["Tags"]], ["b"])
        with self.assertRaises(ClientError) as exc:
            self.ec2.create_tags(Resources=[sid], Tags=[{"Key": "aws:x", "Value": "1"}])
        self.assertEqual(error_code(exc), "InvalidParameterValue")
        with self.assertRaises(ClientError) as exc:
            self.ec2.create_tags(Resources=[sid], Tags=[{"Key": "k%d" % i, "Value": "v"}
                                                        for i in range(50)])
        self.assertEqual(error_code(exc), "TagLimitExceeded")
        self.assertEqual(len(self.ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [sid]}])["Tags"]), 1)

    def test_untagged_resources_have_no_tag_set(self):
        """EC2 leaves <tagSet> out of an untagged resource; code such as
        `item.get("Tags") is None` depends on it."""
        sid = self.upload({})
        self.assertNotIn("Tags", self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0])
        copy = self.ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion="us-east-1")
        self.assertNotIn("Tags", copy)
        self.ec2.create_tags(Resources=[sid], Tags=[{"Key": "a", "Value": "1"}])
        self.assertEqual(self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["Tags"],
                         [{"Key": "a", "Value": "1"}])
        self.ec2.delete_tags(Resources=[sid])
        self.assertNotIn("Tags", self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0])
        vol = self.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
        try:
            self.assertNotIn("Tags", vol)
            self.assertNotIn("Tags", self.ec2.describe_volumes(
                VolumeIds=[vol["VolumeId"]])["Volumes"][0])
        finally:
            self.ec2.delete_volume(VolumeId=vol["VolumeId"])

    def test_kept_answers_follow_every_change(self):
        """A repeated Describe may be answered from what the daemon kept;
        every change, by the daemon or by another process writing the
        catalogue, shows in the next answer."""
        mark = os.urandom(6).hex()
        sid = self.upload({}, Tags=[{"Key": "kept", "Value": mark}])
        ask = dict(OwnerIds=["self"], Filters=[{"Name": "tag:kept", "Values": [mark]}])
        # An answer is kept for a second: the second of two calls in a row is
        # answered from it (tried again if a stall of the machine let it lapse).
        for _ in range(3):
            hits = kept_answers()
            first = self.ec2.describe_snapshots(**ask)
            second = self.ec2.describe_snapshots(**ask)
            if kept_answers() > hits:
                break
        self.assertGreater(kept_answers(), hits)
        self.assertEqual(first["Snapshots"], second["Snapshots"])
        self.assertNotEqual(first["ResponseMetadata"]["RequestId"],
                            second["ResponseMetadata"]["RequestId"])
        self.assertEqual([s["SnapshotId"] for s in second["Snapshots"]], [sid])
        self.ec2.create_tags(Resources=[sid], Tags=[{"Key": "k", "Value": "1"}])
        self.assertEqual(self.ec2.describe_snapshots(**ask)["Snapshots"][0]["Tags"],
                         [{"Key": "k", "Value": "1"}, {"Key": "kept", "Value": mark}])
        # Another process changes the catalogue: the next answer has it.
        db = sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=10)
        with db:
            db.execute("UPDATE snapshots SET description = 'kept, changed elsewhere'"
                       " WHERE snapshot_id = ?", (sid,))
        db.close()
        self.assertEqual(self.ec2.describe_snapshots(**ask)["Snapshots"][0]["Description"],
                         "kept, changed elsewhere")
        self.ec2.delete_snapshot(SnapshotId=sid)
        self.assertEqual(self.ec2.describe_snapshots(**ask)["Snapshots"], [])

    def test_dry_run(self):
        with self.assertRaises(ClientError) as exc:
            self.ec2.describe_snapshots(DryRun=True)
        self.assertEqual(error_code(exc), "DryRunOperation")
        self.assertEqual(exc.exception.response["ResponseMetadata"]["HTTPStatusCode"], 412)


if __name__ == "__main__":
    print("boto3", boto3.__version__, "botocore", botocore.__version__, file=sys.stderr)
    cases.main(verbosity=2)
