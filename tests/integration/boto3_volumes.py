"""Volumes through boto3 and NBD: CreateVolume (lazy, from a snapshot or
empty), DescribeVolumes, ModifyVolume, DeleteVolume, and CreateSnapshot of a
volume written through amibox's nbdkit plugin (qemu-io as the NBD client),
read back through the EBS direct API.

Run by t_volumes.sh; needs ENDPOINT, DATA_DIR, ALICE_*, BOB_*, NBD_PLUGIN,
NBD_PRELOAD, TEST_DIR.
"""
import base64
import hashlib
import os
import sqlite3
import subprocess
import threading
import time
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
BLOCK = 512 * 1024
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")
ZONE = "us-east-1a"


def client(service, who):
    return boto3.client(service, endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def linear(blocks):
    digests = b"".join(hashlib.sha256(blocks[i]).digest() for i in sorted(blocks))
    return base64.b64encode(hashlib.sha256(digests).digest()).decode()


class Nbd:
    """nbdkit serving one volume on a Unix socket, and qemu-io against it."""

    def __init__(self, volume):
        self.sock = os.path.join(os.environ["TEST_DIR"], "nbd-%s.sock" % uuid.uuid4().hex[:8])
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0",
                   LD_PRELOAD=os.environ.get("NBD_PRELOAD", ""))
        pidfile = self.sock + ".pid"
        # In the background, as the daemon runs it: nbdkit forks, and writes
        # its pidfile once it listens (up to 30 s: sanitizer builds are slow).
        subprocess.run(
            ["nbdkit", "-U", self.sock, "-P", pidfile, os.environ["NBD_PLUGIN"],
             "data=" + os.environ["DATA_DIR"], "volume=" + volume],
            env=env, stderr=open(os.path.join(os.environ["TEST_DIR"], "nbdkit.log"), "a"),
            check=True, timeout=60)
        self.pid = 0
        for _ in range(1500):
            if os.path.exists(pidfile) and os.path.getsize(pidfile) > 0:
                with open(pidfile) as f:
                    self.pid = int(f.read().strip() or 0)
                if self.pid:
                    break
            time.sleep(0.02)
        self.url = "nbd+unix:///?socket=" + self.sock

    def io(self, *commands):
        args = ["qemu-io", "-f", "raw", self.url]
        for c in commands:
            args += ["-c", c]
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if out.returncode != 0 or "failed" in out.stdout or "error" in out.stderr.lower():
            raise AssertionError("qemu-io %s: %s %s" % (commands, out.stdout, out.stderr))
        return out.stdout

    def write(self, offset, data):
        path = os.path.join(os.environ["TEST_DIR"], "chunk-%s" % uuid.uuid4().hex[:8])
        with open(path, "wb") as f:
            f.write(data)
        # qemu-io writes patterns, so bytes go through qemu-img dd-like use
        # of "write -s FILE" (source file).
        self.io("write -s %s %d %d" % (path, offset, len(data)), "flush")
        os.unlink(path)

    def read_all(self):
        path = os.path.join(os.environ["TEST_DIR"], "dump-%s.raw" % uuid.uuid4().hex[:8])
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "raw", self.url, path],
                       check=True, capture_output=True, timeout=300)
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
        return data

    def close(self):
        if self.pid:
            os.kill(self.pid, 15)
            for _ in range(500):
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.01)


class Volumes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ec2 = client("ec2", "ALICE")
        cls.ebs = client("ebs", "ALICE")
        cls.bob = client("ec2", "BOB")
        cls.blocks = {0: os.urandom(BLOCK), 1: os.urandom(BLOCK), 5: os.urandom(BLOCK)}
        cls.snap = cls.upload(cls.blocks, size=1)
        cls.image = bytearray(1 << 30)
        for i, data in cls.blocks.items():
            cls.image[i * BLOCK:(i + 1) * BLOCK] = data

    @classmethod
    def upload(cls, blocks, size=1, complete=True):
        sid = cls.ebs.start_snapshot(VolumeSize=size)["SnapshotId"]
        for index, data in blocks.items():
            cls.ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data,
                                       DataLength=BLOCK, Checksum=b64sha(data),
                                       ChecksumAlgorithm="SHA256")
        if complete:
            cls.ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=len(blocks),
                                      Checksum=linear(blocks), ChecksumAlgorithm="SHA256",
                                      ChecksumAggregationMethod="LINEAR")
        return sid

    def assertError(self, code, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response["Error"]["Message"])

    def wait_snapshot(self, sid):
        for _ in range(600):
            s = self.ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]
            if s["State"] != "pending":
                return s
            time.sleep(0.05)
        self.fail("snapshot %s stayed pending" % sid)

    def snapshot_bytes(self, sid, size_gib):
        """The snapshot's content through the EBS direct API."""
        out = bytearray(size_gib << 30)
        token = None
        while True:
            args = dict(SnapshotId=sid, MaxResults=100)
            if token:
                args["NextToken"] = token
            r = self.ebs.list_snapshot_blocks(**args)
            for b in r["Blocks"]:
                data = self.ebs.get_snapshot_block(SnapshotId=sid, BlockIndex=b["BlockIndex"],
                                                   BlockToken=b["BlockToken"])["BlockData"].read()
                out[b["BlockIndex"] * BLOCK:(b["BlockIndex"] + 1) * BLOCK] = data
            token = r.get("NextToken")
            if not token:
                return bytes(out)

    def changed(self, first, second):
        r = self.ebs.list_changed_blocks(FirstSnapshotId=first, SecondSnapshotId=second)
        return sorted(b["BlockIndex"] for b in r["ChangedBlocks"])

    # ---- the API ---------------------------------------------------------

    def test_create_describe_modify_delete(self):
        v = self.ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=self.snap,
                                   TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                       {"Key": "Name", "Value": "data"}]}])
        self.assertRegex(v["VolumeId"], r"^vol-[0-9a-f]{17}$")
        self.assertEqual((v["Size"], v["SnapshotId"], v["AvailabilityZone"], v["VolumeType"],
                          v["Encrypted"]), (1, self.snap, ZONE, "gp2", False))
        self.assertIn(v["State"], ("creating", "available"))
        got = self.ec2.describe_volumes(VolumeIds=[v["VolumeId"]])["Volumes"][0]
        self.assertEqual((got["State"], got["Tags"], got["Attachments"]),
                         ("available", [{"Key": "Name", "Value": "data"}], []))
        waiter = self.ec2.get_waiter("volume_available")
        waiter.wait(VolumeIds=[v["VolumeId"]], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        # The largest gp2 volume: 16 TiB, created as fast as any other.
        big = self.ec2.create_volume(AvailabilityZone=ZONE, Size=16384)
        self.assertEqual(big["Size"], 16384)
        self.ec2.delete_volume(VolumeId=big["VolumeId"])
        # gp3 with defaults, an empty volume.
        e = self.ec2.create_volume(AvailabilityZone=ZONE, Size=8, VolumeType="gp3")
        self.assertEqual((e["Iops"], e["Throughput"], e["SnapshotId"]), (3000, 125, ""))
        ids = lambda **kw: sorted(x["VolumeId"] for x in self.ec2.describe_volumes(**kw)["Volumes"])
        self.assertEqual(ids(Filters=[{"Name": "tag:Name", "Values": ["d*"]}]), [v["VolumeId"]])
        self.assertIn(e["VolumeId"], ids(Filters=[{"Name": "volume-type", "Values": ["gp3"]},
                                                 {"Name": "size", "Values": ["8"]}]))
        self.assertEqual(ids(Filters=[{"Name": "snapshot-id", "Values": [self.snap]},
                                      {"Name": "status", "Values": ["available"]},
                                      {"Name": "availability-zone", "Values": [ZONE]}]),
                         sorted(x["VolumeId"] for x in self.ec2.describe_volumes(
                             Filters=[{"Name": "snapshot-id", "Values": [self.snap]}])["Volumes"]))
        self.assertEqual(ids(Filters=[{"Name": "attachment.status", "Values": ["attached"]}]), [])
        self.assertError("InvalidParameterValue", self.ec2.describe_volumes,
                         Filters=[{"Name": "colour", "Values": ["x"]}])
        # Paging.
        seen, token = [], None
        while True:
            args = dict(MaxResults=5)
            if token:
                args["NextToken"] = token
            r = self.ec2.describe_volumes(**args)
            seen += [x["VolumeId"] for x in r["Volumes"]]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, sorted(set(seen)))
        self.assertIn(v["VolumeId"], seen)
        # Grow; never shrink.
        m = self.ec2.modify_volume(VolumeId=e["VolumeId"], Size=10, VolumeType="gp3", Iops=4000)
        mod = m["VolumeModification"]
        self.assertEqual((mod["OriginalSize"], mod["TargetSize"], mod["TargetIops"],
                          mod["ModificationState"]), (8, 10, 4000, "completed"))
        self.assertEqual(self.ec2.describe_volumes(VolumeIds=[e["VolumeId"]])["Volumes"][0]["Size"], 10)
        mods = self.ec2.describe_volumes_modifications(VolumeIds=[e["VolumeId"]])
        self.assertEqual(mods["VolumesModifications"][0]["TargetSize"], 10)
        self.assertError("InvalidParameterValue", self.ec2.modify_volume,
                         VolumeId=e["VolumeId"], Size=5)
        # Another account sees nothing.
        self.assertError("InvalidVolume.NotFound", self.bob.describe_volumes, VolumeIds=[v["VolumeId"]])
        self.assertError("InvalidVolume.NotFound", self.bob.delete_volume, VolumeId=v["VolumeId"])
        self.assertError("InvalidVolume.NotFound", self.bob.create_snapshot, VolumeId=v["VolumeId"])
        self.assertNotIn(v["VolumeId"], [x["VolumeId"] for x in self.bob.describe_volumes()["Volumes"]])
        for vid in (v["VolumeId"], e["VolumeId"]):
            self.ec2.delete_volume(VolumeId=vid)
            self.assertError("InvalidVolume.NotFound", self.ec2.describe_volumes, VolumeIds=[vid])
            self.assertFalse(os.path.exists(os.path.join(os.environ["DATA_DIR"], "volumes", vid)))

    def test_refusals(self):
        bob_snap = client("ebs", "BOB").start_snapshot(VolumeSize=1)["SnapshotId"]
        pending = self.upload({0: os.urandom(BLOCK)}, complete=False)
        with sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=30) as db:
            before = db.execute("SELECT count(*) FROM volumes").fetchone()[0]
        for code, kw in [
            ("InvalidParameterValue", dict(AvailabilityZone="us-east-1z", Size=1)),
            ("MissingParameter", dict(AvailabilityZone=ZONE)),
            ("InvalidParameterValue", dict(AvailabilityZone=ZONE, SnapshotId=self.snap, Size=0)),
            ("InvalidParameterValue", dict(AvailabilityZone=ZONE, Size=2, Encrypted=True)),
            ("InvalidParameterDependency", dict(AvailabilityZone=ZONE, Size=2, KmsKeyId="alias/x")),
            ("InvalidParameterValue", dict(AvailabilityZone=ZONE, Size=20000)),
            ("InvalidParameterValue", dict(AvailabilityZone=ZONE, Size=1, VolumeType="st1")),
            ("InvalidParameterCombination", dict(AvailabilityZone=ZONE, Size=4, VolumeType="io1")),
            ("InvalidParameterCombination", dict(AvailabilityZone=ZONE, Size=4, Iops=300)),
            ("InvalidSnapshotID.Malformed", dict(AvailabilityZone=ZONE, SnapshotId="snap-1")),
            ("InvalidSnapshot.NotFound", dict(AvailabilityZone=ZONE, SnapshotId=bob_snap)),
            ("IncorrectState", dict(AvailabilityZone=ZONE, SnapshotId=pending)),
        ]:
            with self.subTest(code=code, kw=kw):
                if kw.get("Size") == 0:
                    # Smaller than the snapshot (botocore refuses 0 itself).
                    big = self.upload({2047: os.urandom(BLOCK)}, size=2)
                    kw = dict(AvailabilityZone=ZONE, SnapshotId=big, Size=1)
                self.assertError(code, self.ec2.create_volume, **kw)
        with sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=30) as db:
            self.assertEqual(db.execute("SELECT count(*) FROM volumes").fetchone()[0], before)
        self.assertError("InvalidVolumeID.Malformed", self.ec2.delete_volume, VolumeId="vol-12")
        # ClientToken: the same volume again, or a mismatch.
        token = uuid.uuid4().hex
        a = self.ec2.create_volume(AvailabilityZone=ZONE, Size=1, ClientToken=token)["VolumeId"]
        b = self.ec2.create_volume(AvailabilityZone=ZONE, Size=1, ClientToken=token)["VolumeId"]
        self.assertEqual(a, b)
        self.assertError("IdempotentParameterMismatch", self.ec2.create_volume,
                         AvailabilityZone=ZONE, Size=2, ClientToken=token)
        self.ec2.delete_volume(VolumeId=a)

    # ---- data through NBD ------------------------------------------------

    def test_lazy_reads_writes_and_incremental_snapshots(self):
        vid = self.ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=self.snap)["VolumeId"]
        vdir = os.path.join(os.environ["DATA_DIR"], "volumes", vid)
        stored = lambda: sum(os.stat(os.path.join(vdir, f)).st_blocks
                             for f in os.listdir(vdir) if f.startswith("data."))
        self.assertEqual(stored(), 0, "creation copied data")
        nbd = Nbd(vid)
        try:
            expect = bytearray(self.image)
            self.assertEqual(nbd.read_all(), bytes(expect))
            self.assertEqual(stored(), 0, "reads copied data")
            # A small write into a snapshot block, a whole new block, a straddle.
            writes = [(BLOCK + 4096, os.urandom(4096)), (7 * BLOCK, os.urandom(BLOCK)),
                      (10 * BLOCK - 1000, os.urandom(3000))]
            for off, data in writes:
                nbd.write(off, data)
                expect[off:off + len(data)] = data
            self.assertEqual(nbd.read_all(), bytes(expect))
            s1 = self.ec2.create_snapshot(VolumeId=vid, Description="one",
                                          TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                                              {"Key": "k", "Value": "v"}]}])
            self.assertEqual((s1["State"], s1["VolumeId"], s1["VolumeSize"]), ("pending", vid, 1))
            done = self.wait_snapshot(s1["SnapshotId"])
            self.assertEqual((done["State"], done["Progress"], done["Tags"]),
                             ("completed", "100%", [{"Key": "k", "Value": "v"}]))
            self.assertEqual(self.snapshot_bytes(s1["SnapshotId"], 1), bytes(expect))
            self.assertEqual(self.changed(self.snap, s1["SnapshotId"]), [1, 7, 9, 10])
            # More writes: the next snapshot changes only those blocks.
            extra = os.urandom(BLOCK)
            nbd.write(0, extra)
            expect[0:BLOCK] = extra
            s2 = self.ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
            self.wait_snapshot(s2)
            self.assertEqual(self.changed(s1["SnapshotId"], s2), [0])
            self.assertEqual(self.snapshot_bytes(s2, 1), bytes(expect))
            # No writes: an empty increment.
            s3 = self.ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
            self.wait_snapshot(s3)
            self.assertEqual(self.changed(s2, s3), [])
            # The snapshots can be deleted while the volume still reads its base.
            self.ec2.delete_snapshot(SnapshotId=s2)
            self.ec2.delete_snapshot(SnapshotId=s3)
            self.assertEqual(nbd.read_all(), bytes(expect))
            # A volume from the newest snapshot holds the same bytes.
        finally:
            nbd.close()
        self.ec2.delete_volume(VolumeId=vid)

    def test_base_snapshot_deleted_while_volume_lives(self):
        blocks = {3: os.urandom(BLOCK)}
        base = self.upload(blocks)
        vid = self.ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=base)["VolumeId"]
        self.ec2.delete_snapshot(SnapshotId=base)
        self.assertError("InvalidSnapshot.NotFound", self.ec2.describe_snapshots, SnapshotIds=[base])
        db_path = os.path.join(os.environ["DATA_DIR"], "catalog.db")
        with sqlite3.connect(db_path, timeout=30) as db:
            self.assertEqual(db.execute("SELECT owner_id FROM snapshots WHERE snapshot_id = ?",
                                        (base,)).fetchone(), ("",))
        nbd = Nbd(vid)
        try:
            self.assertEqual(nbd.read_all()[3 * BLOCK:4 * BLOCK], blocks[3])
        finally:
            nbd.close()
        self.ec2.delete_volume(VolumeId=vid)
        with sqlite3.connect(db_path, timeout=30) as db:
            self.assertIsNone(db.execute("SELECT 1 FROM snapshots WHERE snapshot_id = ?",
                                         (base,)).fetchone())

    def test_empty_volume_grow_and_snapshot(self):
        vid = self.ec2.create_volume(AvailabilityZone=ZONE, Size=1)["VolumeId"]
        nbd = Nbd(vid)
        try:
            data = os.urandom(BLOCK)
            nbd.write(2 * BLOCK, data)
        finally:
            nbd.close()
        self.ec2.modify_volume(VolumeId=vid, Size=2)
        nbd = Nbd(vid)
        try:
            tail = os.urandom(BLOCK)
            nbd.write((1 << 30) + BLOCK, tail)
            content = nbd.read_all()
            self.assertEqual(len(content), 2 << 30)
        finally:
            nbd.close()
        sid = self.ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
        snap = self.wait_snapshot(sid)
        self.assertEqual(snap["VolumeSize"], 2)
        got = self.snapshot_bytes(sid, 2)
        self.assertEqual(got[2 * BLOCK:3 * BLOCK], data)
        self.assertEqual(got[(1 << 30) + BLOCK:(1 << 30) + 2 * BLOCK], tail)
        rest = bytearray(got)
        rest[2 * BLOCK:3 * BLOCK] = bytes(BLOCK)
        rest[(1 << 30) + BLOCK:(1 << 30) + 2 * BLOCK] = bytes(BLOCK)
        self.assertTrue(bytes(rest) == bytes(len(rest)), "bytes nobody wrote are not zero")
        # A new volume from that snapshot reads the same.
        v2 = self.ec2.create_volume(AvailabilityZone=ZONE, SnapshotId=sid)["VolumeId"]
        nbd = Nbd(v2)
        try:
            self.assertEqual(nbd.read_all(), got)
        finally:
            nbd.close()
        for v in (vid, v2):
            self.ec2.delete_volume(VolumeId=v)

    def test_point_in_time_while_writing(self):
        """A writer fills blocks 0..N in order; a snapshot taken meanwhile
        holds a prefix of them: never block k+1 without block k."""
        vid = self.ec2.create_volume(AvailabilityZone=ZONE, Size=1)["VolumeId"]
        nbd = Nbd(vid)
        n = 40
        try:
            def writer():
                cmds = []
                for k in range(n):
                    cmds += ["-c", "write -P %d %d %d" % (k + 1, k * BLOCK, BLOCK)]
                subprocess.run(["qemu-io", "-f", "raw", nbd.url] + cmds,
                               capture_output=True, timeout=120, check=True)
            t = threading.Thread(target=writer)
            t.start()
            time.sleep(0.05)
            sid = self.ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
            t.join()
            self.wait_snapshot(sid)
            got = self.snapshot_bytes(sid, 1)
            filled = [got[k * BLOCK:(k + 1) * BLOCK] == bytes([k + 1]) * BLOCK for k in range(n)]
            empty = [got[k * BLOCK:(k + 1) * BLOCK] == bytes(BLOCK) for k in range(n)]
            self.assertTrue(all(f or e for f, e in zip(filled, empty)), "a torn block")
            prefix = filled.index(False) if False in filled else n
            self.assertTrue(all(empty[prefix:]), "not a point in time: %s" % filled)
            # The next snapshot has the rest.
            s2 = self.ec2.create_snapshot(VolumeId=vid)["SnapshotId"]
            self.wait_snapshot(s2)
            self.assertEqual(self.changed(sid, s2), list(range(prefix, n)))
        finally:
            nbd.close()
        self.ec2.delete_volume(VolumeId=vid)


if __name__ == "__main__":
    cases.main(verbosity=1)
