"""Drives amibox's image catalogue with boto3: RegisterImage, DescribeImages,
launch permissions, attributes, deprecation, CopyImage, DeregisterImage, and
the isolation matrix between two accounts.

Run by t_images.sh with pip's boto3 1.43 and Debian's 1.26 (parameters the
older model lacks are skipped there).  Needs ENDPOINT, DATA_DIR, ALICE_*,
BOB_* from lib.sh.
"""
import base64
import hashlib
import os
import sqlite3
import time
import unittest
import uuid
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
BLOCK = 512 * 1024
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")
PV_GRUB = {
    ("x86_64", "hd0"): "aki-8016ac08fca646364",
    ("x86_64", "hd00"): "aki-b4beffed1035276ac",
    ("i386", "hd0"): "aki-c52987f4cb25897c7",
    ("i386", "hd00"): "aki-5e6ff4f11bddc619d",
}


def client(service, who):
    return boto3.client(
        service, endpoint_url=ENDPOINT, config=CONFIG,
        aws_access_key_id=os.environ[who + "_KEY"],
        aws_secret_access_key=os.environ[who + "_SECRET"])


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def linear(blocks):
    digests = b"".join(hashlib.sha256(blocks[i]).digest() for i in sorted(blocks))
    return base64.b64encode(hashlib.sha256(digests).digest()).decode()


def has_param(c, op, name):
    return name in c.meta.service_model.operation_model(op).input_shape.members


def catalog():
    return sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"),
                           timeout=30)


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


class Images(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ec2 = client("ec2", "ALICE")
        # Without botocore's own checks, so that the daemon's are tested.
        cls.raw = boto3.client(
            "ec2", endpoint_url=ENDPOINT,
            config=CONFIG.merge(Config(parameter_validation=False)),
            aws_access_key_id=os.environ["ALICE_KEY"],
            aws_secret_access_key=os.environ["ALICE_SECRET"])
        cls.ebs = client("ebs", "ALICE")
        cls.bob = client("ec2", "BOB")
        cls.bob_ebs = client("ebs", "BOB")
        cls.alice_id = os.environ["ALICE_ID"]
        cls.bob_id = os.environ["BOB_ID"]
        cls.snap = cls.upload(cls.ebs, {0: os.urandom(BLOCK), 3: os.urandom(BLOCK)}, size=2)

    @staticmethod
    def upload(ebs, blocks, size=1, complete=True):
        sid = ebs.start_snapshot(VolumeSize=size, Description="image test")["SnapshotId"]
        for index, data in blocks.items():
            ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data,
                                   DataLength=BLOCK, Checksum=b64sha(data),
                                   ChecksumAlgorithm="SHA256")
        if complete:
            ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=len(blocks),
                                  Checksum=linear(blocks), ChecksumAlgorithm="SHA256",
                                  ChecksumAggregationMethod="LINEAR")
        return sid

    def register(self, ec2=None, snap=None, **kw):
        ec2 = ec2 or self.ec2
        args = dict(Name=unique("img"), RootDeviceName="/dev/xvda",
                    Architecture="x86_64", VirtualizationType="hvm",
                    BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                          "Ebs": {"SnapshotId": snap or self.snap}}])
        args.update(kw)
        specs = None
        if "TagSpecifications" in args and not has_param(ec2, "RegisterImage",
                                                         "TagSpecifications"):
            specs = args.pop("TagSpecifications")  # older models lack it
        iid = ec2.register_image(**args)["ImageId"]
        for spec in specs or []:
            ec2.create_tags(Resources=[iid], Tags=spec["Tags"])
        return iid

    def image(self, iid, ec2=None):
        return (ec2 or self.ec2).describe_images(ImageIds=[iid])["Images"][0]

    def assertError(self, code, fn, *args, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response["Error"].get("Message"))
        return cm.exception.response["Error"]["Message"]

    def image_count(self):
        with catalog() as db:
            return db.execute("SELECT count(*) FROM images").fetchone()[0]

    # ---- RegisterImage ---------------------------------------------------

    def test_register_full_and_describe_every_field(self):
        name = unique("full")
        iid = self.register(
            Name=name, Description="every field", EnaSupport=True,
            SriovNetSupport="simple", BootMode="uefi",
            BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda",
                 "Ebs": {"SnapshotId": self.snap, "VolumeSize": 8,
                         "DeleteOnTermination": False, "VolumeType": "gp3"}},
                {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
                {"DeviceName": "/dev/sdc", "NoDevice": ""},
                {"DeviceName": "/dev/sdd",
                 "Ebs": {"VolumeSize": 4, "VolumeType": "io1", "Iops": 200}},
            ],
            TagSpecifications=[{"ResourceType": "image",
                                "Tags": [{"Key": "team", "Value": "infra"}]}])
        self.assertRegex(iid, r"^ami-[0-9a-f]{17}$")
        img = self.image(iid)
        self.assertEqual(img["Name"], name)
        self.assertEqual(img["Description"], "every field")
        self.assertEqual(img["State"], "available")
        self.assertEqual(img["OwnerId"], self.alice_id)
        self.assertEqual(img["ImageLocation"], "%s/%s" % (self.alice_id, name))
        self.assertFalse(img["Public"])
        self.assertEqual(img["Architecture"], "x86_64")
        self.assertEqual(img["ImageType"], "machine")
        self.assertEqual(img["VirtualizationType"], "hvm")
        self.assertEqual(img["RootDeviceType"], "ebs")
        self.assertEqual(img["RootDeviceName"], "/dev/xvda")
        self.assertEqual(img["Hypervisor"], "xen")
        self.assertEqual(img["PlatformDetails"], "Linux/UNIX")
        self.assertEqual(img["UsageOperation"], "RunInstances")
        self.assertTrue(img["EnaSupport"])
        self.assertEqual(img["SriovNetSupport"], "simple")
        self.assertEqual(img["BootMode"], "uefi")
        self.assertNotIn("KernelId", img)
        self.assertNotIn("Platform", img)
        self.assertIsInstance(img["CreationDate"], str)
        datetime.strptime(img["CreationDate"], "%Y-%m-%dT%H:%M:%S.%fZ")
        self.assertEqual(img["Tags"], [{"Key": "team", "Value": "infra"}])
        bdm = {b["DeviceName"]: b for b in img["BlockDeviceMappings"]}
        root = bdm["/dev/xvda"]["Ebs"]
        self.assertEqual((root["SnapshotId"], root["VolumeSize"], root["DeleteOnTermination"],
                          root["VolumeType"], root["Iops"], root["Throughput"]),
                         (self.snap, 8, False, "gp3", 3000, 125))
        self.assertEqual(bdm["/dev/sdb"]["VirtualName"], "ephemeral0")
        self.assertEqual(bdm["/dev/sdc"]["NoDevice"], "")
        self.assertEqual(bdm["/dev/sdd"]["Ebs"]["Iops"], 200)
        self.assertNotIn("SnapshotId", bdm["/dev/sdd"]["Ebs"])

    def test_defaults_and_pv_grub_kernels(self):
        # AWS's defaults: i386, paravirtual, /dev/sda1; PV-GRUB chosen by the root.
        iid = self.ec2.register_image(
            Name=unique("defaults"),
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1",
                                  "Ebs": {"SnapshotId": self.snap}}])["ImageId"]
        img = self.image(iid)
        self.assertEqual(img["Architecture"], "i386")
        self.assertEqual(img["VirtualizationType"], "paravirtual")
        self.assertEqual(img["RootDeviceName"], "/dev/sda1")
        self.assertEqual(img["KernelId"], PV_GRUB[("i386", "hd0")])
        self.assertEqual(img["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"], 2)
        self.assertTrue(img["BlockDeviceMappings"][0]["Ebs"]["DeleteOnTermination"])
        iid = self.register(VirtualizationType="paravirtual", RootDeviceName="/dev/sda",
                            BlockDeviceMappings=[{"DeviceName": "/dev/sda",
                                                  "Ebs": {"SnapshotId": self.snap}}])
        self.assertEqual(self.image(iid)["KernelId"], PV_GRUB[("x86_64", "hd00")])
        # The kernels themselves: public, owned by the alias amazon.
        akis = self.bob.describe_images(Owners=["amazon"], Filters=[
            {"Name": "image-type", "Values": ["kernel"]}])["Images"]
        self.assertEqual(sorted(a["ImageId"] for a in akis), sorted(PV_GRUB.values()))
        for a in akis:
            self.assertEqual((a["ImageType"], a["ImageOwnerAlias"], a["Public"],
                              a["RootDeviceType"]),
                             ("kernel", "amazon", True, "instance-store"))
            self.assertIn("pv-grub-hd0", a["Name"])
        # An explicit kernel must be a kernel of the same architecture.
        iid = self.register(VirtualizationType="paravirtual",
                            KernelId=PV_GRUB[("x86_64", "hd00")])
        self.assertEqual(self.image(iid)["KernelId"], PV_GRUB[("x86_64", "hd00")])
        self.assertError("InvalidParameterValue", self.register,
                         VirtualizationType="paravirtual", KernelId=PV_GRUB[("i386", "hd0")])
        self.assertError("InvalidKernelId.Malformed", self.register,
                         VirtualizationType="paravirtual", KernelId="ami-123")
        self.assertError("InvalidAMIID.NotFound", self.register,
                         VirtualizationType="paravirtual", KernelId="aki-0123456789abcdef0")
        self.assertError("InvalidParameterCombination", self.register,
                         KernelId=PV_GRUB[("x86_64", "hd0")])

    def test_refused_registrations_change_nothing(self):
        before = self.image_count()
        name = unique("dup")
        self.register(Name=name)
        before += 1
        bad_snapshot = self.upload(self.bob_ebs, {0: os.urandom(BLOCK)})
        cases = [
            ("InvalidAMIName.Duplicate", dict(Name=name)),
            ("InvalidAMIName.Malformed", dict(Name="ab")),
            ("InvalidAMIName.Malformed", dict(Name="bad*name")),
            ("InvalidAMIName.Malformed", dict(Name="x" * 129)),
            ("InvalidParameterValue", dict(Description="d" * 256)),
            ("InvalidParameterValue", dict(Architecture="sparc")),
            ("InvalidParameterValue", dict(VirtualizationType="pv")),
            ("InvalidBlockDeviceMapping", dict(RootDeviceName="/dev/sdz")),
            ("InvalidBlockDeviceMapping", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "VirtualName": "ephemeral0"}])),
            ("InvalidBlockDeviceMapping", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])),
            ("InvalidBlockDeviceMapping", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap, "VolumeSize": 1}}])),
            ("InvalidBlockDeviceMapping", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap}},
                {"DeviceName": "xvda", "VirtualName": "ephemeral1"}])),
            ("InvalidBlockDeviceMapping", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap}},
                {"DeviceName": "/dev/sdb", "VirtualName": "swap"}])),
            ("InvalidParameterValue", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap, "VolumeSize": 20000}}])),
            ("InvalidParameterValue", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap, "Encrypted": True}}])),
            ("InvalidParameterCombination", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap, "Iops": 500}}])),
            ("InvalidSnapshotID.Malformed", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-12"}}])),
            ("InvalidSnapshot.NotFound", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}])),
            # Bob's private snapshot is invisible to Alice.
            ("InvalidSnapshot.NotFound", dict(BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": bad_snapshot}}])),
            ("InvalidParameterCombination", dict(TpmSupport="v2.0")),
            ("InvalidParameterValue", dict(TagSpecifications=[
                {"ResourceType": "snapshot", "Tags": [{"Key": "a", "Value": "b"}]}])),
            ("InvalidParameterValue", dict(TagSpecifications=[
                {"ResourceType": "image", "Tags": [{"Key": "aws:x", "Value": "b"}]}])),
        ]
        if not has_param(self.ec2, "RegisterImage", "TagSpecifications"):
            cases = [c for c in cases if "TagSpecifications" not in c[1]]
        for code, kw in cases:
            with self.subTest(code=code, kw=kw):
                self.assertError(code, self.register, ec2=self.raw, **kw)
        # A manifest that is not there (t_bundles tests the real ones).
        msg = self.assertError("InvalidManifest", self.ec2.register_image,
                               Name=unique("s3"), ImageLocation="bucket/img.manifest.xml")
        self.assertIn("bucket/img.manifest.xml", msg)
        self.assertError("MissingParameter", self.ec2.register_image, Name=unique("none"))
        self.assertEqual(self.image_count(), before)

    def test_pending_snapshot_makes_pending_image(self):
        blocks = {0: os.urandom(BLOCK)}
        sid = self.upload(self.ebs, blocks, complete=False)
        iid = self.register(snap=sid)
        img = self.image(iid)
        self.assertEqual(img["State"], "pending")
        self.ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=1,
                                   Checksum=linear(blocks), ChecksumAlgorithm="SHA256",
                                   ChecksumAggregationMethod="LINEAR")
        self.assertEqual(self.image(iid)["State"], "available")
        # A snapshot that times out fails the image, with a reason.
        sid = self.upload(self.ebs, blocks, complete=False)
        iid = self.register(snap=sid)
        with catalog() as db:
            db.execute("UPDATE snapshots SET deadline_ms = 1 WHERE snapshot_id = ?", (sid,))
        # The daemon expires snapshots on its 10 s tick.
        deadline = time.time() + 40
        while time.time() < deadline:
            img = self.image(iid)
            if img["State"] != "pending":
                break
            time.sleep(0.2)
        self.assertEqual(img["State"], "failed")
        self.assertIn(sid, img["StateReason"]["Message"])
        self.assertTrue(img["StateReason"]["Code"])

    # ---- DescribeImages --------------------------------------------------

    def test_describe_filters(self):
        tag = unique("t")
        one = self.register(Name=tag + "-one", Architecture="arm64",
                            TagSpecifications=[{"ResourceType": "image", "Tags": [
                                {"Key": "Env", "Value": tag + "-prod-eu"}, {"Key": tag, "Value": ""}]}])
        two = self.register(Name=tag + "-two", Description="second one",
                            BlockDeviceMappings=[
                                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap,
                                                                    "VolumeType": "standard"}},
                                {"DeviceName": "/dev/sdf", "VirtualName": "ephemeral1"}])

        def ids(*filters, **kw):
            r = self.ec2.describe_images(
                Filters=[{"Name": n, "Values": v} for n, v in filters], **kw)
            return sorted(i["ImageId"] for i in r["Images"])

        both = sorted([one, two])
        self.assertEqual(ids(("name", [tag + "-*"])), both)
        self.assertEqual(ids(("name", [tag + "-o?e"])), [one])
        self.assertEqual(ids(("name", [tag + "-one", tag + "-two"])), both)
        self.assertEqual(ids(("name", [tag + "*"]), ("architecture", ["arm64"])), [one])
        self.assertEqual(ids(("tag:Env", [tag + "-prod-*"])), [one])
        self.assertEqual(ids(("tag-key", [tag])), [one])
        self.assertEqual(ids(("name", [tag + "*"]), ("description", ["second*"])), [two])
        self.assertEqual(ids(("name", [tag + "*"]),
                             ("block-device-mapping.volume-type", ["standard"])), [two])
        self.assertEqual(ids(("name", [tag + "*"]),
                             ("block-device-mapping.device-name", ["/dev/sdf"])), [two])
        self.assertEqual(ids(("name", [tag + "*"]),
                             ("block-device-mapping.snapshot-id", [self.snap]),
                             ("block-device-mapping.volume-size", ["2"]),
                             ("block-device-mapping.delete-on-termination", ["true"]),
                             ("block-device-mapping.encrypted", ["false"])), both)
        self.assertEqual(ids(("image-id", [one])), [one])
        self.assertEqual(ids(("name", [tag + "*"]), ("owner-id", [self.alice_id]),
                             ("state", ["available"]), ("is-public", ["false"]),
                             ("image-type", ["machine"]), ("root-device-type", ["ebs"]),
                             ("root-device-name", ["/dev/xvda"]), ("hypervisor", ["xen"]),
                             ("virtualization-type", ["hvm"]),
                             ("manifest-location", [self.alice_id + "/" + tag + "*"]),
                             ("creation-date", ["20*T*Z"])), both)
        self.assertEqual(ids(("name", [tag + "*"]), ("platform", ["windows"])), [])
        self.assertEqual(ids(("name", [tag + "*"]), ("owner-alias", ["amazon"])), [])
        self.assertEqual(ids(("name", [tag + "*"]), ("kernel-id", ["*"])), [])
        self.assertEqual(ids(("name", ["\\" + tag + "*"])), both)
        # Every filter AWS documents is accepted; others are refused.
        for name in ["architecture", "block-device-mapping.delete-on-termination",
                     "block-device-mapping.device-name", "block-device-mapping.snapshot-id",
                     "block-device-mapping.volume-size", "block-device-mapping.volume-type",
                     "block-device-mapping.encrypted", "creation-date", "description",
                     "ena-support", "free-tier-eligible", "hypervisor", "image-allowed",
                     "image-id", "image-type", "is-public", "kernel-id", "manifest-location",
                     "name", "owner-alias", "owner-id", "platform", "product-code",
                     "product-code.type", "ramdisk-id", "root-device-name",
                     "root-device-type", "source-image-id", "source-image-region",
                     "source-instance-id", "state", "state-reason-code",
                     "state-reason-message", "sriov-net-support", "tag:x", "tag-key",
                     "virtualization-type"]:
            self.ec2.describe_images(Owners=["self"], Filters=[{"Name": name, "Values": ["zz"]}])
        self.assertError("InvalidParameterValue", self.ec2.describe_images,
                         Filters=[{"Name": "colour", "Values": ["red"]}])
        self.assertError("InvalidAMIID.Malformed", self.ec2.describe_images, ImageIds=["ami-xyz"])
        self.assertError("InvalidAMIID.NotFound", self.ec2.describe_images,
                         ImageIds=["ami-0123456789abcdef0"])
        self.assertError("InvalidUserID.Malformed", self.ec2.describe_images, Owners=["someone"])
        self.assertError("InvalidUserID.Malformed", self.ec2.describe_images,
                         ExecutableUsers=["nobody"])
        if has_param(self.ec2, "DescribeImages", "MaxResults"):
            self.assertError("InvalidParameterCombination", self.ec2.describe_images,
                             ImageIds=[one], MaxResults=5)

    def test_pagination(self):
        if not has_param(self.ec2, "DescribeImages", "MaxResults"):
            self.skipTest("this botocore's DescribeImages has no MaxResults")
        tag = unique("page")
        made = sorted(self.register(Name="%s-%02d" % (tag, i)) for i in range(12))
        seen, token, pages = [], None, 0
        while True:
            args = dict(Owners=["self"], MaxResults=5,
                        Filters=[{"Name": "name", "Values": [tag + "-*"]}])
            if token:
                args["NextToken"] = token
            r = self.ec2.describe_images(**args)
            seen += [i["ImageId"] for i in r["Images"]]
            pages += 1
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, made)
        self.assertEqual(pages, 3)
        paginator = self.ec2.get_paginator("describe_images")
        got = [i["ImageId"] for p in paginator.paginate(
            Owners=["self"], Filters=[{"Name": "name", "Values": [tag + "-*"]}],
            PaginationConfig={"PageSize": 5}) for i in p["Images"]]
        self.assertEqual(got, made)
        self.assertError("InvalidParameterValue", self.ec2.describe_images, MaxResults=2)
        self.assertError("InvalidNextToken", self.ec2.describe_images, MaxResults=5,
                         NextToken="garbage")

    def test_terraform_style_lookup(self):
        tag = unique("tf")
        made = []
        for i in range(3):
            made.append(self.register(Name="%s-v%d" % (tag, i)))
            time.sleep(0.01)
        r = self.bob.describe_images(Owners=[self.alice_id],
                                     Filters=[{"Name": "name", "Values": [tag + "-*"]}])
        self.assertEqual(r["Images"], [])  # private to Alice
        for iid in made:
            self.ec2.modify_image_attribute(ImageId=iid, LaunchPermission={
                "Add": [{"UserId": self.bob_id}]})
        r = self.bob.describe_images(Owners=[self.alice_id],
                                     Filters=[{"Name": "name", "Values": [tag + "-*"]},
                                              {"Name": "state", "Values": ["available"]}])
        newest = max(r["Images"], key=lambda i: i["CreationDate"])
        self.assertEqual(newest["ImageId"], made[-1])
        self.assertEqual(len(r["Images"]), 3)

    # ---- launch permissions and isolation --------------------------------

    def test_isolation_matrix(self):
        iid = self.register(TagSpecifications=[{"ResourceType": "image", "Tags": [
            {"Key": "secret", "Value": "s"}]}])
        bob = self.bob
        # Private: Bob learns nothing.
        self.assertError("InvalidAMIID.NotFound", bob.describe_images, ImageIds=[iid])
        self.assertNotIn(iid, [i["ImageId"] for i in bob.describe_images()["Images"]])
        self.assertNotIn(iid, [i["ImageId"] for i in bob.describe_images(
            Owners=[self.alice_id])["Images"]])
        for fn, kw in [
            (bob.describe_image_attribute, dict(ImageId=iid, Attribute="description")),
            (bob.describe_image_attribute, dict(ImageId=iid, Attribute="launchPermission")),
            (bob.modify_image_attribute, dict(ImageId=iid, Description={"Value": "x"})),
            (bob.reset_image_attribute, dict(ImageId=iid, Attribute="launchPermission")),
            (bob.deregister_image, dict(ImageId=iid)),
            (bob.copy_image, dict(SourceImageId=iid, SourceRegion="us-east-1", Name=unique("c"))),
            (bob.enable_image_deprecation, dict(ImageId=iid, DeprecateAt=datetime.now(
                timezone.utc) + timedelta(days=1))),
            (bob.disable_image_deprecation, dict(ImageId=iid)),
        ]:
            with self.subTest(fn=fn.__name__):
                self.assertError("InvalidAMIID.NotFound", fn, **kw)
        self.assertError("InvalidAMIID.NotFound", bob.create_tags, Resources=[iid],
                         Tags=[{"Key": "a", "Value": "b"}])
        # Shared with Bob: he may launch, describe and copy; never change.
        self.ec2.modify_image_attribute(ImageId=iid, LaunchPermission={
            "Add": [{"UserId": self.bob_id}]})
        img = self.image(iid, bob)
        self.assertNotIn("Tags", img, "the owner's tags leaked to a grantee")
        self.assertIn(iid, [i["ImageId"] for i in bob.describe_images()["Images"]])
        self.assertIn(iid, [i["ImageId"] for i in bob.describe_images(
            ExecutableUsers=["self"])["Images"]])
        self.assertNotIn(iid, [i["ImageId"] for i in bob.describe_images(
            ExecutableUsers=["all"])["Images"]])
        self.assertIn(iid, [i["ImageId"] for i in self.ec2.describe_images(
            ExecutableUsers=[self.bob_id])["Images"]])
        self.assertEqual(bob.describe_image_attribute(ImageId=iid, Attribute="description")[
            "ImageId"], iid)
        for fn, kw in [
            (bob.describe_image_attribute, dict(ImageId=iid, Attribute="launchPermission")),
            (bob.modify_image_attribute, dict(ImageId=iid, Description={"Value": "x"})),
            (bob.modify_image_attribute, dict(ImageId=iid, LaunchPermission={
                "Add": [{"Group": "all"}]})),
            (bob.reset_image_attribute, dict(ImageId=iid, Attribute="launchPermission")),
            (bob.deregister_image, dict(ImageId=iid)),
            (bob.enable_image_deprecation, dict(ImageId=iid, DeprecateAt=datetime.now(
                timezone.utc) + timedelta(days=1))),
            (bob.create_tags, dict(Resources=[iid], Tags=[{"Key": "a", "Value": "b"}])),
        ]:
            with self.subTest(shared=fn.__name__):
                self.assertError("AuthFailure", fn, **kw)
        # The snapshots stay private even though the image is shared.
        root = img["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
        self.assertError("InvalidSnapshot.NotFound", bob.describe_snapshots, SnapshotIds=[root])
        self.assertError("InvalidSnapshot.NotFound", self.register, ec2=bob, snap=root)
        copy = bob.copy_image(SourceImageId=iid, SourceRegion="us-east-1",
                              Name=unique("bobcopy"))["ImageId"]
        self.assertEqual(self.image(copy, bob)["OwnerId"], self.bob_id)
        # Unshared: gone again for Bob (his copy stays his).
        self.ec2.modify_image_attribute(ImageId=iid, Attribute="launchPermission",
                                        OperationType="remove", UserIds=[self.bob_id])
        self.assertError("InvalidAMIID.NotFound", bob.describe_images, ImageIds=[iid])
        self.assertEqual(self.image(copy, bob)["State"], "available")

    def test_launch_permission_forms(self):
        iid = self.register()
        lp = lambda: self.ec2.describe_image_attribute(
            ImageId=iid, Attribute="launchPermission")["LaunchPermissions"]
        self.assertEqual(lp(), [])
        self.ec2.modify_image_attribute(ImageId=iid, LaunchPermission={
            "Add": [{"UserId": self.bob_id}, {"Group": "all"}]})
        self.assertEqual(sorted(lp(), key=str), sorted(
            [{"UserId": self.bob_id}, {"Group": "all"}], key=str))
        self.assertTrue(self.image(iid)["Public"])
        self.assertIn(iid, [i["ImageId"] for i in self.bob.describe_images(
            ExecutableUsers=["all"], Owners=[self.alice_id])["Images"]])
        self.ec2.modify_image_attribute(ImageId=iid, LaunchPermission={
            "Remove": [{"Group": "all"}]})
        self.assertEqual(lp(), [{"UserId": self.bob_id}])
        self.ec2.modify_image_attribute(ImageId=iid, Attribute="launchPermission",
                                        OperationType="add", UserGroups=["all"])
        self.assertTrue(self.image(iid)["Public"])
        self.ec2.reset_image_attribute(ImageId=iid, Attribute="launchPermission")
        self.assertEqual(lp(), [])
        self.assertFalse(self.image(iid)["Public"])
        self.assertError("InvalidAMIAttributeItemValue", self.ec2.modify_image_attribute,
                         ImageId=iid, LaunchPermission={"Add": [{"UserId": "bob"}]})
        self.assertError("MissingParameter", self.ec2.modify_image_attribute,
                         ImageId=iid, Attribute="launchPermission", UserIds=[self.bob_id])
        self.assertError("InvalidParameterValue", self.ec2.reset_image_attribute,
                         ImageId=iid, Attribute="description")
        self.assertEqual(lp(), [])

    def test_launch_permission_as_packer_and_ansible_send_it(self):
        """Packer 1.6.6 (aws-sdk-go) sends ami_users as UserId.N beside
        LaunchPermission.Add.N.UserId with no OperationType nor Attribute,
        and ami_groups as UserGroup.N beside .Add.N.Group; Ansible's ec2_ami
        names the attribute "LaunchPermission" and "Description "."""
        iid = self.register()
        lp = lambda: sorted(self.ec2.describe_image_attribute(
            ImageId=iid, Attribute="launchPermission")["LaunchPermissions"], key=str)
        other = "123456789012"
        self.ec2.modify_image_attribute(ImageId=iid, UserIds=[self.bob_id, other],
                                        LaunchPermission={"Add": [{"UserId": self.bob_id},
                                                                  {"UserId": other}]})
        self.assertEqual(lp(), sorted([{"UserId": self.bob_id}, {"UserId": other}], key=str))
        self.assertEqual(self.image(iid, self.bob)["ImageId"], iid)
        self.ec2.modify_image_attribute(ImageId=iid, UserGroups=["all"],
                                        LaunchPermission={"Add": [{"Group": "all"}]})
        self.assertTrue(self.image(iid)["Public"])
        self.ec2.modify_image_attribute(ImageId=iid, Attribute="launchPermission",
                                        UserIds=[other],
                                        LaunchPermission={"Remove": [{"UserId": other}]})
        self.assertEqual(lp(), sorted([{"UserId": self.bob_id}, {"Group": "all"}], key=str))
        # The flat list may only repeat the structured change.
        self.assertError("InvalidParameterCombination", self.ec2.modify_image_attribute,
                         ImageId=iid, UserIds=[other],
                         LaunchPermission={"Add": [{"UserId": self.bob_id}]})
        self.assertError("InvalidAMIAttributeItemValue", self.ec2.modify_image_attribute,
                         ImageId=iid, UserIds=["bob"],
                         LaunchPermission={"Add": [{"UserId": self.bob_id}]})
        self.assertEqual(lp(), sorted([{"UserId": self.bob_id}, {"Group": "all"}], key=str))
        # Ansible's spellings of the attribute.
        self.ec2.modify_image_attribute(ImageId=iid, Attribute="LaunchPermission",
                                        LaunchPermission={"Remove": [{"Group": "all"}]})
        self.assertEqual(lp(), [{"UserId": self.bob_id}])
        self.ec2.modify_image_attribute(ImageId=iid, Attribute="Description ",
                                        Description={"Value": "from ansible"})
        self.assertEqual(self.image(iid)["Description"], "from ansible")
        self.assertError("InvalidParameterValue", self.ec2.modify_image_attribute,
                         ImageId=iid, Attribute="Descriptions",
                         Description={"Value": "x"})

    # ---- attributes ------------------------------------------------------

    def test_attributes(self):
        iid = self.register(VirtualizationType="paravirtual", RootDeviceName="/dev/sda1",
                            BlockDeviceMappings=[{"DeviceName": "/dev/sda1",
                                                  "Ebs": {"SnapshotId": self.snap}}],
                            Description="first", SriovNetSupport="simple")
        attr = lambda a: self.ec2.describe_image_attribute(ImageId=iid, Attribute=a)
        self.assertEqual(attr("description")["Description"]["Value"], "first")
        self.assertEqual(attr("kernel")["KernelId"]["Value"], PV_GRUB[("x86_64", "hd0")])
        self.assertEqual(attr("ramdisk")["RamdiskId"], {})
        self.assertEqual(attr("sriovNetSupport")["SriovNetSupport"]["Value"], "simple")
        self.assertEqual(attr("productCodes")["ProductCodes"], [])
        self.assertEqual(attr("blockDeviceMapping")["BlockDeviceMappings"][0]["Ebs"][
            "SnapshotId"], self.snap)
        self.assertEqual(attr("bootMode")["BootMode"], {})
        self.ec2.modify_image_attribute(ImageId=iid, Description={"Value": "second"})
        self.assertEqual(attr("description")["Description"]["Value"], "second")
        self.ec2.modify_image_attribute(ImageId=iid, Attribute="description", Value="third")
        self.assertEqual(self.image(iid)["Description"], "third")
        if has_param(self.ec2, "ModifyImageAttribute", "ImdsSupport"):
            self.ec2.modify_image_attribute(ImageId=iid, ImdsSupport={"Value": "v2.0"})
            self.assertEqual(attr("imdsSupport")["ImdsSupport"]["Value"], "v2.0")
            self.assertEqual(self.image(iid)["ImdsSupport"], "v2.0")
            self.assertError("InvalidParameterValue", self.ec2.modify_image_attribute,
                             ImageId=iid, ImdsSupport={"Value": "v1.0"})
            self.assertIn("LastLaunchedTime", attr("lastLaunchedTime"))
        self.assertError("InvalidParameterValue", self.ec2.modify_image_attribute,
                         ImageId=iid, Attribute="kernel", Value=PV_GRUB[("x86_64", "hd00")])
        self.assertError("InvalidParameterValue", self.ec2.modify_image_attribute,
                         ImageId=iid, Description={"Value": "d" * 300})
        self.assertError("InvalidParameterCombination", self.ec2.modify_image_attribute,
                         ImageId=iid, Description={"Value": "x"},
                         LaunchPermission={"Add": [{"Group": "all"}]})
        self.assertError("InvalidParameterValue", self.ec2.describe_image_attribute,
                         ImageId=iid, Attribute="colour")
        self.assertEqual(self.image(iid)["Description"], "third")
        self.assertFalse(self.image(iid)["Public"])

    # ---- deprecation -----------------------------------------------------

    def test_deprecation(self):
        iid = self.register()
        self.ec2.modify_image_attribute(ImageId=iid, LaunchPermission={
            "Add": [{"Group": "all"}]})
        at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3, seconds=40)
        self.ec2.enable_image_deprecation(ImageId=iid, DeprecateAt=at)
        want = (at + timedelta(seconds=30)).replace(second=0)
        self.assertEqual(self.image(iid)["DeprecationTime"],
                         want.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        self.assertIn(iid, [i["ImageId"] for i in self.bob.describe_images(
            Owners=[self.alice_id])["Images"]])
        self.assertError("InvalidParameterValue", self.ec2.enable_image_deprecation,
                         ImageId=iid, DeprecateAt=datetime.now(timezone.utc) - timedelta(days=1))
        self.assertError("InvalidParameterValue", self.ec2.enable_image_deprecation,
                         ImageId=iid, DeprecateAt=datetime.now(timezone.utc) + timedelta(days=900))
        # Let the deprecation time pass (the catalog's clock, not a sleep).
        with catalog() as db:
            db.execute("UPDATE images SET deprecation_ms = ? WHERE image_id = ?",
                       (int(time.time() * 1000) - 60000, iid))
        listed = lambda ec2, **kw: iid in [i["ImageId"] for i in ec2.describe_images(
            Owners=[self.alice_id], **kw)["Images"]]
        self.assertFalse(listed(self.bob))
        self.assertTrue(listed(self.bob, IncludeDeprecated=True))
        self.assertEqual(self.image(iid, self.bob)["ImageId"], iid)  # by ID
        self.assertTrue(listed(self.ec2))  # the owner always sees it
        self.ec2.disable_image_deprecation(ImageId=iid)
        self.assertNotIn("DeprecationTime", self.image(iid))
        self.assertTrue(listed(self.bob))

    # ---- CopyImage, DeregisterImage, tags ---------------------------------

    def test_copy_image(self):
        blocks = {1: os.urandom(BLOCK), 2: os.urandom(BLOCK)}
        snap = self.upload(self.ebs, blocks, size=1)
        src = self.register(snap=snap, Description="source",
                            TagSpecifications=[{"ResourceType": "image", "Tags": [
                                {"Key": "app", "Value": "web"}]}])
        with catalog() as db:
            chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        token = unique("tok")
        args = dict(SourceImageId=src, SourceRegion="us-east-1", Name=unique("copy"),
                    ClientToken=token)
        if has_param(self.ec2, "CopyImage", "CopyImageTags"):
            args["CopyImageTags"] = True
        if has_param(self.ec2, "CopyImage", "TagSpecifications"):
            args["TagSpecifications"] = [{"ResourceType": "snapshot", "Tags": [
                {"Key": "copied", "Value": "yes"}]}]
        copy = self.ec2.copy_image(**args)["ImageId"]
        self.assertNotEqual(copy, src)
        self.assertEqual(self.ec2.copy_image(**args)["ImageId"], copy)  # idempotent
        img = self.image(copy)
        self.assertEqual((img["State"], img["OwnerId"], img["Description"]),
                         ("available", self.alice_id, "source"))
        image_shape = self.ec2.meta.service_model.shape_for("Image")
        if "SourceImageId" in image_shape.members:
            self.assertEqual(img["SourceImageId"], src)
            self.assertEqual(img["SourceImageRegion"], "us-east-1")
        if "CopyImageTags" in args:
            self.assertEqual(img["Tags"], [{"Key": "app", "Value": "web"}])
        new_snap = img["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
        self.assertNotEqual(new_snap, snap)
        s = self.ec2.describe_snapshots(SnapshotIds=[new_snap])["Snapshots"][0]
        self.assertEqual((s["OwnerId"], s["State"]), (self.alice_id, "completed"))
        if "TagSpecifications" in args:
            self.assertEqual(s["Tags"], [{"Key": "copied", "Value": "yes"}])
        # Blocks shared, not copied: same data, no new chunks.
        listed = self.ebs.list_snapshot_blocks(SnapshotId=new_snap)
        self.assertEqual([b["BlockIndex"] for b in listed["Blocks"]], [1, 2])
        got = self.ebs.get_snapshot_block(SnapshotId=new_snap, BlockIndex=2,
                                          BlockToken=listed["Blocks"][1]["BlockToken"])
        self.assertEqual(got["BlockData"].read(), blocks[2])
        with catalog() as db:
            self.assertEqual(db.execute("SELECT count(*) FROM chunks").fetchone()[0], chunks)
        self.assertError("InvalidAMIName.Duplicate", self.ec2.copy_image,
                         SourceImageId=src, SourceRegion="us-east-1", Name=img["Name"])
        self.assertError("InvalidParameterValue", self.ec2.copy_image,
                         SourceImageId=src, SourceRegion="eu-west-1", Name=unique("x"))
        self.assertError("InvalidAMIID.Malformed", self.ec2.copy_image,
                         SourceImageId="ami-1", SourceRegion="us-east-1", Name=unique("x"))

    def test_deregister(self):
        snap = self.upload(self.ebs, {0: os.urandom(BLOCK)})
        iid = self.register(snap=snap)
        self.assertError("InvalidSnapshot.InUse", self.ec2.delete_snapshot, SnapshotId=snap)
        self.ec2.deregister_image(ImageId=iid)
        # The snapshot was kept; now it can go.
        self.assertEqual(self.ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0][
            "SnapshotId"], snap)
        self.ec2.delete_snapshot(SnapshotId=snap)
        if not has_param(self.ec2, "DeregisterImage", "DeleteAssociatedSnapshots"):
            return
        snap2 = self.upload(self.ebs, {0: os.urandom(BLOCK)})
        one = self.register(snap=snap2)
        two = self.register(snap=snap2)
        r = self.ec2.deregister_image(ImageId=one, DeleteAssociatedSnapshots=True)
        self.assertEqual(r["DeleteSnapshotResults"],
                         [{"SnapshotId": snap2, "ReturnCode": "skipped"}])
        r = self.ec2.deregister_image(ImageId=two, DeleteAssociatedSnapshots=True)
        self.assertEqual(r["DeleteSnapshotResults"],
                         [{"SnapshotId": snap2, "ReturnCode": "success"}])
        self.assertError("InvalidSnapshot.NotFound", self.ec2.describe_snapshots,
                         SnapshotIds=[snap2])
        # The name is free again.
        name = unique("reuse")
        self.ec2.deregister_image(ImageId=self.register(Name=name))
        self.register(Name=name)

    def age_deregistration(self, iid, seconds):
        """Moves the image's deregistration back in time, as if it were older."""
        with catalog() as db:
            db.execute("UPDATE images SET deregistered_ms = deregistered_ms - ?"
                       " WHERE image_id = ?", (seconds * 1000, iid))

    def test_deregistered_image_fades(self):
        """EC2: recently deregistered images appear for a short interval,
        then return empty results; after all instances that reference it are
        terminated, the ID is eventually NotFound.  Ansible's ec2_ami
        state=absent describes the image by ID right after DeregisterImage,
        and tolerates InvalidAMIID.Unavailable from DescribeImageAttribute."""
        name = unique("fade")
        iid = self.register(Name=name, Description="fading", TagSpecifications=[
            {"ResourceType": "image", "Tags": [{"Key": "k", "Value": "v"}]}])
        self.ec2.modify_image_attribute(ImageId=iid, LaunchPermission={
            "Add": [{"UserId": self.bob_id}]})
        live = self.image(iid)
        self.ec2.deregister_image(ImageId=iid)
        img = self.image(iid)
        self.assertEqual(img["State"], "deregistered")
        self.assertEqual((img["Name"], img["Description"], img["BlockDeviceMappings"]),
                         (name, "fading", live["BlockDeviceMappings"]))
        self.assertNotIn("Tags", img)
        self.assertFalse(img["Public"])
        # Listings and name filters never show it (Packer's force_deregister
        # deregisters whatever they list); the name is free at once.
        for kw in [{}, dict(Owners=["self"]), dict(Filters=[{"Name": "name", "Values": [name]}]),
                   dict(Owners=["self"], Filters=[{"Name": "state", "Values": ["deregistered"]}])]:
            with self.subTest(listing=kw):
                self.assertNotIn(iid, [i["ImageId"] for i in self.ec2.describe_images(**kw)["Images"]])
        self.assertEqual(self.ec2.describe_tags(
            Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"], [])
        # Nothing can be done with it any more; the grantee lost it.
        for fn, kw in [
                (self.ec2.deregister_image, dict(ImageId=iid)),
                (self.ec2.describe_image_attribute, dict(ImageId=iid, Attribute="launchPermission")),
                (self.ec2.describe_image_attribute, dict(ImageId=iid, Attribute="productCodes")),
                (self.ec2.modify_image_attribute, dict(ImageId=iid, Description={"Value": "x"})),
                (self.ec2.create_tags, dict(Resources=[iid], Tags=[{"Key": "a", "Value": "b"}])),
                (self.ec2.copy_image, dict(SourceImageId=iid, SourceRegion="us-east-1",
                                           Name=unique("c")))]:
            with self.subTest(fn=fn.__name__):
                self.assertError("InvalidAMIID.Unavailable", fn, **kw)
        self.assertError("InvalidAMIID.NotFound", self.bob.describe_images, ImageIds=[iid])
        again = self.register(Name=name)
        self.assertEqual([i["ImageId"] for i in self.ec2.describe_images(
            Filters=[{"Name": "name", "Values": [name]}])["Images"]], [again])
        # After the short interval: empty results, also beside a live image.
        self.age_deregistration(iid, 61)
        self.assertEqual(self.ec2.describe_images(ImageIds=[iid])["Images"], [])
        self.assertEqual([i["ImageId"] for i in self.ec2.describe_images(
            ImageIds=[iid, again])["Images"]], [again])
        self.assertError("InvalidAMIID.Unavailable", self.ec2.deregister_image, ImageId=iid)
        # Later, and with no instance launched from it: unknown.
        self.age_deregistration(iid, 3600)
        self.assertError("InvalidAMIID.NotFound", self.ec2.describe_images, ImageIds=[iid])
        self.assertError("InvalidAMIID.NotFound", self.ec2.deregister_image, ImageId=iid)
        # The next deregistration purges the row.
        with catalog() as db:
            self.assertEqual(db.execute("SELECT count(*) FROM images WHERE image_id = ?",
                                        (iid,)).fetchone()[0], 1)
        self.ec2.deregister_image(ImageId=again)
        with catalog() as db:
            self.assertEqual(db.execute("SELECT count(*) FROM images WHERE image_id = ?",
                                        (iid,)).fetchone()[0], 0)
            self.assertEqual(db.execute("SELECT count(*) FROM image_block_devices"
                                        " WHERE image_id = ?", (iid,)).fetchone()[0], 0)

    def test_tags_on_images(self):
        iid = self.register()
        self.ec2.create_tags(Resources=[iid], Tags=[{"Key": "a", "Value": "1"}])
        r = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])
        self.assertEqual(r["Tags"], [{"ResourceId": iid, "ResourceType": "image",
                                      "Key": "a", "Value": "1"}])
        self.ec2.delete_tags(Resources=[iid], Tags=[{"Key": "a"}])
        # EC2 leaves the tag set out when there is none.
        self.assertNotIn("Tags", self.image(iid))
        self.assertError("InvalidAMIID.NotFound", self.ec2.create_tags,
                         Resources=["ami-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])

    def test_errors_as_ec2_words_them(self):
        iid = self.register()
        missing = ["ami-0123456789abcdef0", "ami-0fedcba9876543210"]
        # Every unknown ID is named, in the order given.
        msg = self.assertError("InvalidAMIID.NotFound", self.ec2.describe_images,
                               ImageIds=[missing[0], iid, missing[1]])
        self.assertEqual(msg, "The image ids '[%s, %s]' do not exist" % tuple(missing))
        msg = self.assertError("InvalidAMIID.NotFound", self.ec2.describe_images,
                               ImageIds=[iid, missing[1]])
        self.assertEqual(msg, "The image id '[%s]' does not exist" % missing[1])
        # Tags on a malformed ID, or none at all.
        for bad in ("ami-1", "ami-0123456789abcdefg", "nothing", "xyz-0123456789abcdef0"):
            with self.subTest(bad=bad):
                msg = self.assertError("InvalidID", self.ec2.create_tags, Resources=[bad],
                                       Tags=[{"Key": "a", "Value": "b"}])
                self.assertEqual(msg, "The ID '%s' is not valid" % bad)
                self.assertError("InvalidID", self.ec2.delete_tags, Resources=[bad])
        msg = self.assertError("InvalidParameterValue", self.ec2.create_tags,
                               Resources=[iid], Tags=[])
        self.assertEqual(msg, "You must specify one or more tags to create")
        # A tag specification without tags (older models lack it on CopyImage).
        before = self.image_count()
        if has_param(self.ec2, "CopyImage", "TagSpecifications"):
            msg = self.assertError("InvalidTagKey.Malformed", self.ec2.copy_image,
                                   SourceImageId=iid, SourceRegion="us-east-1",
                                   Name=unique("c"),
                                   TagSpecifications=[{"ResourceType": "image", "Tags": []}])
            self.assertEqual(msg, "Tag specification must have at least one tag")
        # KmsKeyId needs Encrypted, wherever it is accepted.
        for fn, kw in [
                (self.ec2.copy_image, dict(SourceImageId=iid, SourceRegion="us-east-1",
                                           Name=unique("c"), KmsKeyId="alias/aws/ebs")),
                (self.ec2.copy_image, dict(SourceImageId=iid, SourceRegion="us-east-1",
                                           Name=unique("c"), KmsKeyId="alias/aws/ebs",
                                           Encrypted=False)),
                (self.register, dict(BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {
                    "SnapshotId": self.snap, "KmsKeyId": "alias/aws/ebs"}}]))]:
            with self.subTest(fn=fn.__name__):
                msg = self.assertError("InvalidParameterDependency", fn, **kw)
                self.assertEqual(msg, "The parameter KmsKeyId requires the parameter "
                                      "Encrypted to be set.")
        self.assertError("InvalidParameterValue", self.register, BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": self.snap, "Encrypted": True,
                                                "KmsKeyId": "alias/aws/ebs"}}])
        self.assertEqual(self.image_count(), before)

    def test_dry_run(self):
        self.assertError("DryRunOperation", self.ec2.describe_images, DryRun=True)
        before = self.image_count()
        self.assertError("DryRunOperation", self.register, DryRun=True)
        self.assertEqual(self.image_count(), before)


if __name__ == "__main__":
    cases.main(verbosity=1)
