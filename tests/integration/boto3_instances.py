"""Instances through boto3: real QEMU machines booted from EBS-backed HVM
images built here (guests/hvm_boot.S: a boot sector that counts its
boots in sector 2 of its disk and prints the count on the serial console).

Run by t_instances.sh; needs ENDPOINT, DATA_DIR, TEST_DIR, ALICE_*, BOB_*,
GUEST_HALT and GUEST_POWEROFF (raw disk images).
"""
import base64
import json
import os
import socket
import sqlite3
import subprocess
import time
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check
from ec2_lib import import_image

ENDPOINT = os.environ["ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")


def client(service, who):
    return boto3.client(service, endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


class Instances(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ec2 = client("ec2", "ALICE")
        cls.bob = client("ec2", "BOB")
        cls.alice_id = os.environ["ALICE_ID"]
        cls.bob_id = os.environ["BOB_ID"]
        cls.halt_snap = import_image(os.environ["GUEST_HALT"])
        cls.off_snap = import_image(os.environ["GUEST_POWEROFF"])
        cls.ami = cls.register(cls.halt_snap, "halt")
        cls.off_ami = cls.register(cls.off_snap, "poweroff")

    @classmethod
    def register(cls, snap, name, virt="hvm", extra=None):
        mappings = [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap}}] + (extra or [])
        return cls.ec2.register_image(
            Name="%s-%s" % (name, uuid.uuid4().hex[:8]), Architecture="x86_64",
            VirtualizationType=virt, RootDeviceName="/dev/xvda",
            BlockDeviceMappings=mappings)["ImageId"]

    def run_one(self, ami=None, ec2=None, **kw):
        args = dict(ImageId=ami or self.ami, InstanceType="t2.micro", MinCount=1, MaxCount=1)
        args.update(kw)
        r = (ec2 or self.ec2).run_instances(**args)
        return r["Instances"][0]["InstanceId"], r

    def instance(self, iid, ec2=None):
        r = (ec2 or self.ec2).describe_instances(InstanceIds=[iid])
        return r["Reservations"][0]["Instances"][0]

    def wait_state(self, iid, state, ec2=None, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.instance(iid, ec2)
            if got["State"]["Name"] == state:
                return got
            time.sleep(0.1)
        self.fail("%s did not become %s (it is %s, %s)" % (
            iid, state, got["State"]["Name"], got.get("StateReason")))

    def console(self, iid, ec2=None):
        out = (ec2 or self.ec2).get_console_output(InstanceId=iid).get("Output", "")
        return out

    def wait_console(self, iid, text, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.console(iid)
            if text in out:
                return out
            time.sleep(0.1)
        self.fail("console of %s never showed %r: %r" % (iid, text, self.console(iid)))

    def assertError(self, code, fn, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(**kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response["Error"]["Message"])

    def wait_volume_gone(self, volume, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                self.ec2.describe_volumes(VolumeIds=[volume])
            except ClientError as err:
                self.assertEqual(err.response["Error"]["Code"], "InvalidVolume.NotFound")
                return
            time.sleep(0.1)
        self.fail("volume %s outlived its instance" % volume)

    def terminate(self, *ids):
        self.ec2.terminate_instances(InstanceIds=list(ids))
        for iid in ids:
            self.wait_state(iid, "terminated")

    # ---- the EBS-backed life cycle ---------------------------------------

    def test_boot_stop_start_reboot_terminate(self):
        iid, r = self.run_one(TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "Name", "Value": "web"}]}])
        self.assertRegex(iid, r"^i-[0-9a-f]{17}$")
        self.assertRegex(r["ReservationId"], r"^r-[0-9a-f]{17}$")
        self.assertEqual(r["OwnerId"], self.alice_id)
        first = r["Instances"][0]
        self.assertEqual((first["State"]["Name"], first["State"]["Code"]), ("pending", 0))
        inst = self.wait_state(iid, "running")
        self.assertEqual((inst["State"]["Code"], inst["ImageId"], inst["InstanceType"],
                          inst["RootDeviceType"], inst["RootDeviceName"],
                          inst["VirtualizationType"], inst["Architecture"]),
                         (16, self.ami, "t2.micro", "ebs", "/dev/xvda", "hvm", "x86_64"))
        self.assertEqual(inst["Tags"], [{"Key": "Name", "Value": "web"}])
        self.assertEqual(inst["Placement"]["AvailabilityZone"], "us-east-1a")
        root = inst["BlockDeviceMappings"][0]
        self.assertEqual((root["DeviceName"], root["Ebs"]["Status"], root["Ebs"]["DeleteOnTermination"]),
                         ("/dev/xvda", "attached", True))
        volume = root["Ebs"]["VolumeId"]
        v = self.ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]
        self.assertEqual((v["State"], v["SnapshotId"], v["Attachments"][0]["InstanceId"]),
                         ("in-use", self.halt_snap, iid))
        self.assertError("VolumeInUse", self.ec2.delete_volume, VolumeId=volume)
        # The guest really ran: its console, decoded by boto3.
        self.wait_console(iid, "amibox hvm guest: boot 001")
        # Stop: the guest's disk write survives; start boots it again.
        r = self.ec2.stop_instances(InstanceIds=[iid])
        change = r["StoppingInstances"][0]
        self.assertEqual((change["PreviousState"]["Name"], change["CurrentState"]["Name"]),
                         ("running", "stopping"))
        inst = self.wait_state(iid, "stopped")
        self.assertEqual(inst["StateReason"]["Code"], "Client.UserInitiatedShutdown")
        self.assertTrue(inst["StateTransitionReason"].startswith("User initiated"))
        self.assertError("IncorrectInstanceState", self.ec2.reboot_instances, InstanceIds=[iid])
        # Stopped: the type and the user data may change now.
        self.ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t2.small"})
        self.ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"hello"})
        attr = lambda a: self.ec2.describe_instance_attribute(InstanceId=iid, Attribute=a)
        self.assertEqual(attr("instanceType")["InstanceType"]["Value"], "t2.small")
        self.assertEqual(base64.b64decode(attr("userData")["UserData"]["Value"]), b"hello")
        self.assertError("InvalidInstanceAttributeValue", self.ec2.modify_instance_attribute,
                         InstanceId=iid, InstanceType={"Value": "t1.micro"})
        self.ec2.start_instances(InstanceIds=[iid])
        self.wait_state(iid, "running")
        self.wait_console(iid, "boot 002")
        self.assertEqual(self.instance(iid)["InstanceType"], "t2.small")
        # Running: the type is fixed; protection and shutdown behaviour are not.
        self.assertError("IncorrectInstanceState", self.ec2.modify_instance_attribute,
                         InstanceId=iid, InstanceType={"Value": "t2.micro"})
        self.ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
        self.assertTrue(attr("disableApiTermination")["DisableApiTermination"]["Value"])
        self.assertError("OperationNotPermitted", self.ec2.terminate_instances, InstanceIds=[iid])
        self.ec2.modify_instance_attribute(InstanceId=iid, Attribute="disableApiTermination",
                                          Value="false")
        self.ec2.modify_instance_attribute(InstanceId=iid, InstanceInitiatedShutdownBehavior={
            "Value": "terminate"})
        self.assertEqual(attr("instanceInitiatedShutdownBehavior")[
            "InstanceInitiatedShutdownBehavior"]["Value"], "terminate")
        self.assertEqual(attr("rootDeviceName")["RootDeviceName"]["Value"], "/dev/xvda")
        self.ec2.modify_instance_attribute(InstanceId=iid, BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": False}}])
        self.assertFalse(attr("blockDeviceMapping")["BlockDeviceMappings"][0]["Ebs"][
            "DeleteOnTermination"])
        self.ec2.modify_instance_attribute(InstanceId=iid, BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": True}}])
        # Reboot: the same machine resets and boots again.
        self.ec2.reboot_instances(InstanceIds=[iid])
        self.wait_console(iid, "boot 003")
        self.assertEqual(self.instance(iid)["State"]["Name"], "running")
        # Terminate: the root volume (DeleteOnTermination) goes with it.
        r = self.ec2.terminate_instances(InstanceIds=[iid])
        self.assertEqual(r["TerminatingInstances"][0]["CurrentState"]["Name"], "shutting-down")
        self.wait_state(iid, "terminated")
        # As on EC2, the volume goes after the instance has terminated.
        self.wait_volume_gone(volume)
        self.assertError("IncorrectInstanceState", self.ec2.stop_instances, InstanceIds=[iid])
        # Terminating again is fine and changes nothing.
        r = self.ec2.terminate_instances(InstanceIds=[iid])
        self.assertEqual(r["TerminatingInstances"][0]["CurrentState"]["Name"], "terminated")

    def test_guest_powers_off(self):
        iid, _ = self.run_one(ami=self.off_ami)
        inst = self.wait_state(iid, "stopped")
        self.assertEqual(inst["StateReason"]["Code"], "Client.InstanceInitiatedShutdown")
        self.assertIn("boot 001", self.console(iid))
        iid2, _ = self.run_one(ami=self.off_ami, InstanceInitiatedShutdownBehavior="terminate")
        inst = self.wait_state(iid2, "terminated")
        self.assertEqual(inst["StateReason"]["Code"], "Client.InstanceInitiatedShutdown")
        self.terminate(iid)

    def test_mapping_overrides_and_delete_on_termination(self):
        data_snap = self.halt_snap
        ami = self.register(self.halt_snap, "mapped", extra=[
            {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": data_snap, "DeleteOnTermination": False}},
            {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 2}},
            {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}])
        iid, _ = self.run_one(ami=ami, InstanceType="m1.small", BlockDeviceMappings=[
            {"DeviceName": "/dev/sdg", "NoDevice": ""},
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 3}},
            {"DeviceName": "/dev/sdh", "Ebs": {"VolumeSize": 1, "VolumeType": "gp3"}}])
        inst = self.wait_state(iid, "running")
        devices = {b["DeviceName"]: b["Ebs"] for b in inst["BlockDeviceMappings"]}
        self.assertEqual(sorted(devices), ["/dev/sdf", "/dev/sdh", "/dev/xvda"])
        self.assertEqual((devices["/dev/xvda"]["DeleteOnTermination"],
                          devices["/dev/sdf"]["DeleteOnTermination"],
                          devices["/dev/sdh"]["DeleteOnTermination"]), (True, False, True))
        sizes = {v["VolumeId"]: v["Size"] for v in self.ec2.describe_volumes(
            VolumeIds=[d["VolumeId"] for d in devices.values()])["Volumes"]}
        self.assertEqual(sizes[devices["/dev/xvda"]["VolumeId"]], 3)
        # The instance store disk of m1.small exists while the machine runs.
        store = os.path.join(os.environ["DATA_DIR"], "instances", iid, "ephemeral0.img")
        self.assertTrue(os.path.exists(store))
        found = self.ec2.describe_instances(Filters=[
            {"Name": "block-device-mapping.volume-id", "Values": [devices["/dev/sdf"]["VolumeId"]]},
            {"Name": "instance-type", "Values": ["m1.*"]}])
        self.assertEqual([i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]], [iid])
        self.ec2.stop_instances(InstanceIds=[iid], Force=True)
        self.wait_state(iid, "stopped")
        self.assertFalse(os.path.exists(store), "instance store kept after stop")
        self.terminate(iid)
        kept = self.ec2.describe_volumes(VolumeIds=[devices["/dev/sdf"]["VolumeId"]])["Volumes"][0]
        self.assertEqual((kept["State"], kept["Attachments"]), ("available", []))
        for dev in ("/dev/xvda", "/dev/sdh"):
            self.wait_volume_gone(devices[dev]["VolumeId"])
        self.ec2.delete_volume(VolumeId=kept["VolumeId"])

    def test_launch_mapping_completes_the_image_mapping(self):
        """Terraform's root_block_device and Packer's launch mappings change only some fields."""
        ebs = client("ebs", "ALICE")
        big = ebs.start_snapshot(VolumeSize=2)["SnapshotId"]
        ebs.complete_snapshot(SnapshotId=big, ChangedBlocksCount=0)
        ami = self.register(self.halt_snap, "merge", extra=[
            {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": big, "DeleteOnTermination": False,
                                               "VolumeType": "gp3", "Iops": 4000}}])
        volumes = lambda inst: {b["DeviceName"]: self.ec2.describe_volumes(
            VolumeIds=[b["Ebs"]["VolumeId"]])["Volumes"][0] for b in inst["BlockDeviceMappings"]}
        dot = lambda inst: {b["DeviceName"]: b["Ebs"]["DeleteOnTermination"]
                            for b in inst["BlockDeviceMappings"]}
        # Only DeleteOnTermination (Terraform's root_block_device default): the
        # image's snapshot and size, the launch's flag.
        iid, r = self.run_one(ami=ami, BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": False}},
            {"DeviceName": "sdf", "Ebs": {"VolumeSize": 3}}])
        inst = r["Instances"][0]
        self.assertEqual(dot(inst), {"/dev/xvda": False, "/dev/sdf": False})
        got = volumes(inst)
        self.assertEqual((got["/dev/xvda"]["SnapshotId"], got["/dev/xvda"]["Size"],
                          got["/dev/xvda"]["VolumeType"]), (self.halt_snap, 1, "gp2"))
        # The type (and its IOPS) stay the image's when only the size changes.
        self.assertEqual((got["/dev/sdf"]["SnapshotId"], got["/dev/sdf"]["Size"],
                          got["/dev/sdf"]["VolumeType"], got["/dev/sdf"]["Iops"]),
                         (big, 3, "gp3", 4000))
        self.wait_state(iid, "running")
        self.terminate(iid)
        for v in got.values():
            self.ec2.delete_volume(VolumeId=v["VolumeId"])
        # Only a size and a type (Packer's launch_block_device_mappings).
        iid, r = self.run_one(ami=ami, BlockDeviceMappings=[
            {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 2, "VolumeType": "gp3",
                                                "DeleteOnTermination": True}},
            {"DeviceName": "/dev/sdf", "Ebs": {"Iops": 5000}}])
        inst = r["Instances"][0]
        self.assertEqual(dot(inst), {"/dev/xvda": True, "/dev/sdf": False})
        got = volumes(inst)
        self.assertEqual((got["/dev/xvda"]["SnapshotId"], got["/dev/xvda"]["Size"],
                          got["/dev/xvda"]["VolumeType"], got["/dev/xvda"]["Iops"]),
                         (self.halt_snap, 2, "gp3", 3000))
        self.assertEqual((got["/dev/sdf"]["Size"], got["/dev/sdf"]["Iops"]), (2, 5000))
        self.wait_state(iid, "running")
        self.terminate(iid)
        self.ec2.delete_volume(VolumeId=got["/dev/sdf"]["VolumeId"])
        # Checked after the merge: smaller than the image's snapshot, IOPS on
        # a type without them, and a device the image does not map still
        # needs a snapshot or a size.
        for code, mapping in (
                ("InvalidBlockDeviceMapping", {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}}),
                ("InvalidParameterCombination",
                 {"DeviceName": "/dev/xvda", "Ebs": {"Iops": 4000}}),
                ("InvalidBlockDeviceMapping",
                 {"DeviceName": "/dev/sdz", "Ebs": {"DeleteOnTermination": True}})):
            with self.subTest(mapping=mapping):
                self.assertError(code, self.ec2.run_instances, ImageId=ami, MinCount=1,
                                 MaxCount=1, InstanceType="t2.micro",
                                 BlockDeviceMappings=[mapping])
        self.assertEqual(self.ec2.describe_instances(Filters=[
            {"Name": "image-id", "Values": [ami]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"], [])

    def test_create_image_then_launch_sees_the_data(self):
        iid, _ = self.run_one()
        self.wait_state(iid, "running")
        self.wait_console(iid, "boot 001")
        ami = self.ec2.create_image(InstanceId=iid, Name="made-" + uuid.uuid4().hex[:8],
                                    Description="from a running instance",
                                    TagSpecifications=[{"ResourceType": "image", "Tags": [
                                        {"Key": "made", "Value": "yes"}]}])["ImageId"]
        # NoReboot=false: the instance was paused for the capture and reset.
        self.wait_console(iid, "boot 002")
        for _ in range(300):
            img = self.ec2.describe_images(ImageIds=[ami])["Images"][0]
            if img["State"] != "pending":
                break
            time.sleep(0.1)
        self.assertEqual(img["State"], "available")
        self.assertEqual((img["RootDeviceName"], img["VirtualizationType"], img["Tags"]),
                         ("/dev/xvda", "hvm", [{"Key": "made", "Value": "yes"}]))
        snap = img["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
        s = self.ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]
        self.assertEqual((s["OwnerId"], s["State"]), (self.alice_id, "completed"))
        self.assertIn(iid, s["Description"])
        # A new instance from the image boots the disk as captured: one boot counted.
        new, _ = self.run_one(ami=ami)
        self.wait_state(new, "running")
        self.wait_console(new, "boot 002")
        # NoReboot=true: a live, crash-consistent capture; the guest keeps running.
        ami2 = self.ec2.create_image(InstanceId=iid, Name="live-" + uuid.uuid4().hex[:8],
                                     NoReboot=True)["ImageId"]
        self.assertNotIn("boot 003", self.console(iid))
        self.assertError("InvalidAMIName.Duplicate", self.ec2.create_image, InstanceId=iid,
                         Name=img["Name"])
        self.terminate(iid, new)
        for a in (ami, ami2):
            for _ in range(300):
                if self.ec2.describe_images(ImageIds=[a])["Images"][0]["State"] != "pending":
                    break
                time.sleep(0.1)
            self.ec2.deregister_image(ImageId=a)

    def test_create_snapshots_of_an_instance(self):
        iid, r = self.run_one(BlockDeviceMappings=[
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": True}}],
            TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "team", "Value": "a"}]}])
        inst = self.wait_state(iid, "running")
        self.wait_console(iid, "boot 001")
        vols = {b["DeviceName"]: b["Ebs"]["VolumeId"] for b in inst["BlockDeviceMappings"]}
        self.ec2.create_tags(Resources=[vols["/dev/sdf"]], Tags=[{"Key": "disk", "Value": "data"}])
        # Every EBS volume at one point in time; the machine runs on, not reset.
        got = self.ec2.create_snapshots(
            InstanceSpecification={"InstanceId": iid}, Description="nightly",
            CopyTagsFromSource="volume",
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "team", "Value": "b"}]}]
        )["Snapshots"]
        by_volume = {sn["VolumeId"]: sn for sn in got}
        self.assertEqual(sorted(by_volume), sorted(vols.values()))
        for sn in got:
            self.assertEqual((sn["Description"], sn["OwnerId"], sn["VolumeSize"], sn["Encrypted"]),
                             ("nightly", self.alice_id, 1, False))
            self.assertRegex(sn["SnapshotId"], r"^snap-[0-9a-f]{17}$")
        tags = lambda sn: sorted((t["Key"], t["Value"]) for t in sn["Tags"])
        # The request's tags win over the volume's copied ones.
        self.assertEqual(tags(by_volume[vols["/dev/sdf"]]), [("disk", "data"), ("team", "b")])
        self.assertEqual(tags(by_volume[vols["/dev/xvda"]]), [("team", "b")])
        self.assertEqual(self.instance(iid)["State"]["Name"], "running")
        self.assertNotIn("boot 002", self.console(iid))
        for _ in range(300):
            states = {sn["State"] for sn in self.ec2.describe_snapshots(
                SnapshotIds=[sn["SnapshotId"] for sn in got])["Snapshots"]}
            if "pending" not in states:  # both done (one may finish first)
                break
            time.sleep(0.1)
        self.assertEqual(states, {"completed"})
        # The root snapshot is the disk as the guest left it: it boots, counting on.
        ami = self.register(by_volume[vols["/dev/xvda"]]["SnapshotId"], "from-snapshots")
        new, _ = self.run_one(ami=ami)
        self.wait_console(new, "boot 002")
        # Exclusions.
        only = lambda **spec: sorted(sn["VolumeId"] for sn in self.ec2.create_snapshots(
            InstanceSpecification=dict(InstanceId=iid, **spec))["Snapshots"])
        self.assertEqual(only(ExcludeBootVolume=True), [vols["/dev/sdf"]])
        self.assertEqual(only(ExcludeDataVolumeIds=[vols["/dev/sdf"]]), [vols["/dev/xvda"]])
        for code, spec in (
                ("InvalidParameterValue", dict(ExcludeBootVolume=True,
                                               ExcludeDataVolumeIds=[vols["/dev/sdf"]])),
                ("InvalidParameterValue", dict(ExcludeDataVolumeIds=[vols["/dev/xvda"]])),
                ("InvalidParameterValue", dict(ExcludeDataVolumeIds=["vol-0123456789abcdef0"])),
                ("InvalidVolumeID.Malformed", dict(ExcludeDataVolumeIds=["vol-x"]))):
            with self.subTest(spec=spec):
                self.assertError(code, self.ec2.create_snapshots,
                                 InstanceSpecification=dict(InstanceId=iid, **spec))
        self.assertError("InvalidInstanceID.NotFound", self.ec2.create_snapshots,
                         InstanceSpecification={"InstanceId": "i-0123456789abcdef0"})
        self.assertError("InvalidInstanceID.NotFound", self.bob.create_snapshots,
                         InstanceSpecification={"InstanceId": iid})
        # The AWS CLI v2's form of the same.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["ALICE_KEY"],
                   AWS_SECRET_ACCESS_KEY=os.environ["ALICE_SECRET"])
        out = subprocess.run([os.environ["AWS_V2"], "--endpoint-url", ENDPOINT, "--output", "text",
                              "ec2", "create-snapshots", "--instance-specification",
                              "InstanceId=%s,ExcludeBootVolume=true" % iid,
                              "--query", "Snapshots[].VolumeId"],
                             env=env, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.split(), [vols["/dev/sdf"]])
        self.terminate(iid, new)

    def test_volume_status(self):
        iid, r = self.run_one()
        root = r["Instances"][0]["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
        made = [self.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
                for _ in range(5)]
        made.append(self.ec2.create_volume(AvailabilityZone="us-east-1a", Size=4,
                                           VolumeType="io1", Iops=100)["VolumeId"])
        status = lambda **kw: {v["VolumeId"]: v for v in
                               self.ec2.describe_volume_status(**kw)["VolumeStatuses"]}
        got = status(VolumeIds=[root] + made)
        self.assertEqual(sorted(got), sorted([root] + made))
        details = lambda v: [(d["Name"], d["Status"]) for d in v["VolumeStatus"]["Details"]]
        for vid, v in got.items():
            self.assertEqual((v["VolumeStatus"]["Status"], v["AvailabilityZone"], v["Events"],
                              v["Actions"]), ("ok", "us-east-1a", [], []))
            self.assertEqual(details(v), [("io-enabled", "passed"), (
                "io-performance", "normal" if vid == made[-1] else "not-applicable")])
        self.assertEqual([a["InstanceId"] for a in got[root]["AttachmentStatuses"]], [iid])
        self.assertEqual(got[made[0]]["AttachmentStatuses"], [])
        # Filters, paging, and unknown IDs all named.
        self.assertEqual(sorted(status(VolumeIds=[root] + made, Filters=[
            {"Name": "volume-status.details-status", "Values": ["normal"]}])), [made[-1]])
        self.assertEqual(status(VolumeIds=made, Filters=[
            {"Name": "event.event-type", "Values": ["*"]}]), {})
        everyone = sorted(status())
        pages = list(self.ec2.get_paginator("describe_volume_status").paginate(
            PaginationConfig={"PageSize": 5}))
        paged = [v["VolumeId"] for p in pages for v in p["VolumeStatuses"]]
        self.assertEqual(sorted(paged), everyone)
        self.assertEqual(len(paged), len(set(paged)))
        self.assertGreater(len(pages), 1)
        with self.assertRaises(ClientError) as cm:
            self.ec2.describe_volume_status(VolumeIds=[made[0], "vol-0123456789abcdef0",
                                                       "vol-0123456789abcdef1"])
        self.assertEqual((cm.exception.response["Error"]["Code"],
                          cm.exception.response["Error"]["Message"]),
                         ("InvalidVolume.NotFound",
                          "The volumes 'vol-0123456789abcdef0, vol-0123456789abcdef1' do not exist."))
        self.assertError("InvalidVolume.NotFound", self.bob.describe_volume_status,
                         VolumeIds=[made[0]])
        self.assertError("InvalidParameterValue", self.ec2.describe_volume_status,
                         Filters=[{"Name": "colour", "Values": ["x"]}])
        self.assertError("InvalidParameterCombination", self.ec2.describe_volume_status,
                         VolumeIds=[made[0]], MaxResults=5)
        # The AWS CLI v1's view.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["ALICE_KEY"],
                   AWS_SECRET_ACCESS_KEY=os.environ["ALICE_SECRET"])
        out = subprocess.run([os.environ["AWS_V1"], "--endpoint-url", ENDPOINT, "--output", "text",
                              "ec2", "describe-volume-status", "--volume-ids", made[0], "--query",
                              "VolumeStatuses[0].[VolumeStatus.Status,VolumeStatus.Details[0].Status]"],
                             env=env, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.split(), ["ok", "passed"])
        for vid in made:
            self.ec2.delete_volume(VolumeId=vid)
        self.terminate(iid)

    def test_attach_and_detach(self):
        iid, _ = self.run_one()
        self.wait_state(iid, "running")
        vol = self.ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
        a = self.ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdf")
        self.assertEqual((a["State"], a["Device"], a["InstanceId"]), ("attaching", "/dev/sdf", iid))
        waiter = self.ec2.get_waiter("volume_in_use")
        waiter.wait(VolumeIds=[vol], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        # Hot-plugging starts the volume's nbdkit: seconds under ASan.
        deadline = time.time() + 60
        while time.time() < deadline:
            v = self.ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]
            if v["Attachments"] and v["Attachments"][0]["State"] == "attached":
                break
            time.sleep(0.1)
        self.assertEqual((v["State"], v["Attachments"][0]["State"], v["Attachments"][0]["InstanceId"],
                          v["Attachments"][0]["DeleteOnTermination"]),
                         ("in-use", "attached", iid, False))
        # QEMU has the disk: a hot-plugged virtio device with the volume's node.
        self.assertIn(vol, self.block_nodes(iid))
        devs = [b["DeviceName"] for b in self.instance(iid)["BlockDeviceMappings"]]
        self.assertEqual(sorted(devs), ["/dev/sdf", "/dev/xvda"])
        self.assertError("VolumeInUse", self.ec2.delete_volume, VolumeId=vol)
        self.assertError("InvalidParameterValue", self.ec2.attach_volume,
                         VolumeId=self.ec2.create_volume(AvailabilityZone="us-east-1a",
                                                         Size=1)["VolumeId"],
                         InstanceId=iid, Device="/dev/sdf")
        root = self.instance(iid)["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
        self.assertError("OperationNotPermitted", self.ec2.detach_volume, VolumeId=root)
        # The boot-sector guest ignores PCI unplug requests: Force takes it away.
        d = self.ec2.detach_volume(VolumeId=vol, Force=True)
        self.assertEqual(d["State"], "detaching")
        self.ec2.get_waiter("volume_available").wait(
            VolumeIds=[vol], WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        self.assertError("IncorrectState", self.ec2.detach_volume, VolumeId=vol)
        # A forced detach that comes while the volume is still attaching
        # (its nbdkit starting) has its way: the attach does not overrule it.
        a = self.ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdh")
        self.assertEqual(a["State"], "attaching")
        self.assertEqual(self.ec2.detach_volume(VolumeId=vol, Force=True)["State"], "detaching")
        self.ec2.get_waiter("volume_available").wait(
            VolumeIds=[vol], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        devs = [b["DeviceName"] for b in self.instance(iid)["BlockDeviceMappings"]]
        self.assertEqual(devs, ["/dev/xvda"])
        # A stopped instance takes and gives up volumes at once.
        self.ec2.stop_instances(InstanceIds=[iid], Force=True)
        self.wait_state(iid, "stopped")
        a = self.ec2.attach_volume(VolumeId=vol, InstanceId=iid, Device="/dev/sdg")
        v = self.ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]
        self.assertEqual(v["Attachments"][0]["State"], "attached")
        self.ec2.start_instances(InstanceIds=[iid])
        self.wait_state(iid, "running")
        self.wait_console(iid, "boot 002")
        self.terminate(iid)
        # Attached after launch: DeleteOnTermination false, so it survives.
        v = self.ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]
        self.assertEqual((v["State"], v["Attachments"]), ("available", []))
        self.ec2.delete_volume(VolumeId=vol)

    def block_nodes(self, iid):
        """The node names of the block devices QEMU has (query-block)."""
        qmp = os.path.join(os.environ["DATA_DIR"], "instances", iid, "qmp.sock")
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(qmp)
            f = s.makefile("rw")
            f.readline()
            f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
            f.write('{"execute":"query-block"}\n'); f.flush()
            blocks = json.loads(f.readline())["return"]
        return [b.get("inserted", {}).get("node-name") for b in blocks]

    def imds(self, iid, raw):
        out = subprocess.run([os.environ["AMIBOX_BIN"], "imds", "--data", os.environ["DATA_DIR"],
                              "--instance", iid], input=raw, capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_console_screenshot(self):
        """A JPEG of the screen of a running instance; none for a stopped one."""
        iid, _ = self.run_one()
        self.wait_state(iid, "running")
        got = self.ec2.get_console_screenshot(InstanceId=iid, WakeUp=True)
        self.assertEqual(got["InstanceId"], iid)
        jpeg = base64.b64decode(got["ImageData"])
        self.assertEqual(jpeg[:2], b"\xff\xd8")  # JPEG's start of image
        # The frame's size, from its start-of-frame marker: a VGA screen.
        i, size = 2, None
        while i + 9 < len(jpeg) and size is None:
            marker, length = jpeg[i + 1], int.from_bytes(jpeg[i + 2:i + 4], "big")
            if marker in (0xC0, 0xC2):
                size = (int.from_bytes(jpeg[i + 7:i + 9], "big"),
                        int.from_bytes(jpeg[i + 5:i + 7], "big"))
            i += 2 + length
        self.assertIsNotNone(size)
        self.assertGreaterEqual(size[0], 320)
        self.assertGreaterEqual(size[1], 200)
        self.ec2.stop_instances(InstanceIds=[iid])
        self.wait_state(iid, "stopped")
        with self.assertRaises(ClientError) as ctx:
            self.ec2.get_console_screenshot(InstanceId=iid)
        self.assertEqual(ctx.exception.response["Error"]["Code"], "IncorrectInstanceState")
        self.ec2.terminate_instances(InstanceIds=[iid])

    def test_metadata_service(self):
        user_data = b"#!/bin/sh\necho configured\n"
        iid, _ = self.run_one(UserData=user_data.decode(), InstanceType="m1.small",
                              MetadataOptions={"HttpTokens": "optional"})
        inst = self.wait_state(iid, "running")
        # The guest's 169.254.169.254:80 reaches this instance's service: its
        # VPC's router (a tap in the VPC's namespace) or, without VPC
        # networking (not root), QEMU's user-mode network.
        with open("/proc/%d/cmdline" % self.qemu_pid(iid), "rb") as f:
            cmdline = f.read().replace(b"\0", b" ")
        if b"-netdev tap,id=net0,fd=3" in cmdline:
            vpc = inst["VpcId"]
            pidfile = os.path.join(os.environ["DATA_DIR"], "vpcs", vpc, "router.pid")
            self.assertTrue(os.path.exists(pidfile), "no router for %s" % vpc)
        else:
            self.assertIn(b"guestfwd=tcp:169.254.169.254:80-cmd:", cmdline)
            self.assertIn(("--instance %s" % iid).encode(), cmdline)
        out = self.imds(iid, b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n"
                             b"GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n"
                             b"GET /latest/meta-data/placement/availability-zone HTTP/1.1\r\n\r\n"
                             b"GET /latest/meta-data/local-ipv4 HTTP/1.1\r\n\r\n"
                             b"GET /latest/meta-data/block-device-mapping/root HTTP/1.1\r\n\r\n"
                             b"GET /latest/user-data HTTP/1.1\r\n\r\n"
                             b"GET /latest/meta-data/nothing-here HTTP/1.1\r\n\r\n")
        bodies = [part.split(b"\r\n\r\n", 1)[1] for part in out.split(b"HTTP/1.1 ")[1:]]
        statuses = [int(part[:3]) for part in out.split(b"HTTP/1.1 ")[1:]]
        self.assertEqual(statuses, [200, 200, 200, 200, 200, 200, 404])
        self.assertEqual(bodies[0], iid.encode())
        self.assertEqual(bodies[1], self.ami.encode())
        self.assertEqual(bodies[2], b"us-east-1a")
        self.assertEqual(bodies[3], inst["PrivateIpAddress"].encode())
        self.assertEqual(bodies[4], b"/dev/xvda")
        self.assertTrue(bodies[5].startswith(user_data))
        # IMDSv2: a token from PUT opens the same data; a forged one is refused.
        out = self.imds(iid, b"PUT /latest/api/token HTTP/1.1\r\n"
                             b"X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n")
        token = out.split(b"\r\n\r\n", 1)[1]
        out = self.imds(iid, b"GET /latest/meta-data/instance-type HTTP/1.1\r\n"
                             b"X-aws-ec2-metadata-token: " + token + b"\r\n\r\n"
                             b"GET /latest/meta-data/instance-type HTTP/1.1\r\n"
                             b"X-aws-ec2-metadata-token: AAAA" + token[4:] + b"\r\n\r\n")
        self.assertIn(b"200 OK", out.split(b"HTTP/1.1 ")[1])
        self.assertTrue(out.split(b"HTTP/1.1 ")[1].endswith(b"m1.small"))
        self.assertIn(b"401", out.split(b"HTTP/1.1 ")[2])
        self.terminate(iid)
        # HttpTokens=required: IMDSv1 requests are refused.
        iid, _ = self.run_one(MetadataOptions={"HttpTokens": "required"})
        self.assertEqual(self.instance(iid)["MetadataOptions"]["HttpTokens"], "required")
        out = self.imds(iid, b"GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 401"))
        self.terminate(iid)

    def qemu_pid(self, iid):
        for _ in range(100):
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as f:
                            c = f.read()
                    except OSError:
                        continue
                    if c.startswith(b"qemu-system") and ("amibox-" + iid).encode() in c:
                        return int(pid)
            time.sleep(0.1)
        self.fail("no QEMU process for %s" % iid)

    # ---- paravirtual: amibox's PV-GRUB -----------------------------------

    def register_pv(self, path, root):
        snap = import_image(path)
        return self.ec2.register_image(
            Name="pv-%s" % uuid.uuid4().hex[:8], Architecture="x86_64", RootDeviceName=root,
            BlockDeviceMappings=[{"DeviceName": root, "Ebs": {"SnapshotId": snap}}])["ImageId"]

    def test_pv_boot_through_menu_lst(self):
        for path, root, grub in ((os.environ["GUEST_PV"], "/dev/sda1", "hd0"),
                                 (os.environ["GUEST_PV_PART"], "/dev/sda", "hd00")):
            with self.subTest(grub=grub):
                ami = self.register_pv(path, root)
                img = self.ec2.describe_images(ImageIds=[ami])["Images"][0]
                self.assertEqual(img["VirtualizationType"], "paravirtual")
                # PV images run on previous-generation types only.
                self.assertError("InvalidParameterCombination", self.ec2.run_instances,
                                 ImageId=ami, InstanceType="m5.large", MinCount=1, MaxCount=1)
                iid, _ = self.run_one(ami=ami, InstanceType="m1.small")
                inst = self.wait_state(iid, "running")
                self.assertEqual(inst["KernelId"], img["KernelId"])
                out = self.wait_console(iid, " modules=1")
                # The default entry has no kernel: GRUB's fallback boots, with its
                # command line and initrd.
                self.assertIn("PV-GRUB", out)
                self.assertIn(grub, out)
                self.assertIn("Booting 'amibox pv'", out)
                self.assertIn("root=/dev/xvda1 ro console=ttyS0 amibox=pv modules=1", out)
                self.terminate(iid)

    def test_pv_without_menu_lst_fails_clearly(self):
        ami = self.register_pv(os.environ["GUEST_PV_BROKEN"], "/dev/sda1")
        iid, _ = self.run_one(ami=ami, InstanceType="m1.small")
        inst = self.wait_state(iid, "terminated")
        self.assertEqual(inst["StateReason"]["Code"], "Server.InternalError")
        self.assertIn("menu.lst", inst["StateReason"]["Message"])
        self.assertIn("menu.lst", self.console(iid))

    def test_sample_images(self):
        """The images every data directory starts with, launched by another account."""
        for name, itype, text in (("amibox-sample-hvm", "t2.micro", "amibox hvm guest: boot 001"),
                                  ("amibox-sample-pv", "m1.small", "amibox pv guest:")):
            with self.subTest(name=name):
                img = self.bob.describe_images(Owners=["amazon"], Filters=[
                    {"Name": "name", "Values": [name]}])["Images"]
                self.assertEqual(len(img), 1)
                self.assertEqual((img[0]["Public"], img[0]["ImageOwnerAlias"]), (True, "amazon"))
                iid, _ = self.run_one(ami=img[0]["ImageId"], ec2=self.bob, InstanceType=itype)
                deadline = time.time() + 60
                while text not in self.console(iid, self.bob) and time.time() < deadline:
                    time.sleep(0.1)
                self.assertIn(text, self.console(iid, self.bob))
                self.bob.terminate_instances(InstanceIds=[iid])
                self.wait_state(iid, "terminated", ec2=self.bob)

    # ---- refusals and isolation ------------------------------------------

    def test_refusals(self):
        pv = self.register(self.halt_snap, "pv", virt="paravirtual")
        self.assertError("InvalidParameterCombination", self.ec2.run_instances, ImageId=self.ami,
                         InstanceType="t2.micro", MinCount=1, MaxCount=1,
                         KernelId="aki-8016ac08fca646364")
        cases = [
            ("InvalidParameterCombination", dict(ImageId=pv, InstanceType="t2.micro")),
            ("InvalidParameterCombination", dict(ImageId=self.ami, InstanceType="t1.micro")),
            ("InvalidParameterValue", dict(ImageId=self.ami, InstanceType="z9.huge")),
            ("InvalidAMIID.NotFound", dict(ImageId="ami-0123456789abcdef0")),
            ("InvalidAMIID.Malformed", dict(ImageId="ami-xyz")),
            ("InvalidParameterValue", dict(ImageId=self.ami, InstanceInitiatedShutdownBehavior="explode")),
            ("InvalidParameterValue", dict(ImageId=self.ami, MinCount=3, MaxCount=2)),
            ("InvalidParameterValue", dict(ImageId=self.ami, UserData="x" * 17000)),
            ("InvalidParameterValue", dict(ImageId=self.ami, Placement={"AvailabilityZone": "us-east-1z"})),
            # What amibox does not have yet is refused, not launched without.
            ("InvalidLaunchTemplateId.NotFound",
             dict(LaunchTemplate={"LaunchTemplateId": "lt-0123456789abcdef0"})),
            ("InvalidLaunchTemplateName.NotFoundException",
             dict(ImageId=self.ami, LaunchTemplate={"LaunchTemplateName": "web", "Version": "$Latest"})),
            ("InvalidParameterValue", dict(ImageId=self.ami, IamInstanceProfile={"Name": "web-role"})),
            ("InvalidParameterValue", dict(ImageId=self.ami, IamInstanceProfile={
                "Arn": "arn:aws:iam::123456789012:instance-profile/web-role"})),
            ("InvalidParameterValue", dict(ImageId=self.ami, Ipv6AddressCount=1)),
            ("InvalidParameterValue", dict(ImageId=self.ami, NetworkInterfaces=[
                {"DeviceIndex": 0, "Ipv6AddressCount": 1}])),
            ("InvalidParameterValue", dict(ImageId=self.ami, NetworkInterfaces=[
                {"DeviceIndex": 0, "Ipv6PrefixCount": 1}])),
            ("InvalidParameterValue", dict(ImageId=self.ami, EnablePrimaryIpv6=True)),
        ]
        for code, kw in cases:
            with self.subTest(code=code, kw=kw):
                args = dict(InstanceType="t2.micro", MinCount=1, MaxCount=1)
                args.update(kw)
                self.assertError(code, self.ec2.run_instances, **args)
        with self.assertRaises(ClientError) as cm:
            self.ec2.run_instances(ImageId=self.ami, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                                   IamInstanceProfile={"Name": "web-role"})
        self.assertIn("Value (web-role) for parameter iamInstanceProfile.name is invalid. "
                      "Invalid IAM Instance Profile name", cm.exception.response["Error"]["Message"])
        # What Packer and Terraform send for what they leave unset is no request at all.
        iid, _ = self.run_one(IamInstanceProfile={"Name": ""}, Ipv6AddressCount=0)
        self.terminate(iid)
        # Nothing was launched by the refusals.
        listed = self.ec2.describe_instances(Filters=[{"Name": "image-id", "Values": [pv]}])
        self.assertEqual(listed["Reservations"], [])
        self.assertError("InvalidInstanceID.Malformed", self.ec2.stop_instances, InstanceIds=["i-1"])
        self.assertError("InvalidInstanceID.NotFound", self.ec2.stop_instances,
                         InstanceIds=["i-0123456789abcdef0"])

    def test_stop_protection_and_ebs_optimized(self):
        iid, r = self.run_one(DisableApiStop=True, EbsOptimized=True)
        self.assertTrue(r["Instances"][0]["EbsOptimized"])
        attr = lambda a: self.ec2.describe_instance_attribute(InstanceId=iid, Attribute=a)
        self.assertTrue(attr("disableApiStop")["DisableApiStop"]["Value"])
        self.assertTrue(attr("ebsOptimized")["EbsOptimized"]["Value"])
        self.assertFalse(attr("disableApiTermination")["DisableApiTermination"]["Value"])
        self.wait_state(iid, "running")
        # Stop protection refuses a stop (forced too) and a termination.
        for fn, kw, verb in ((self.ec2.stop_instances, {}, "stopped"),
                             (self.ec2.stop_instances, {"Force": True}, "stopped"),
                             (self.ec2.terminate_instances, {}, "terminated")):
            with self.assertRaises(ClientError) as cm:
                fn(InstanceIds=[iid], **kw)
            self.assertEqual(cm.exception.response["Error"]["Code"], "OperationNotPermitted")
            self.assertEqual(cm.exception.response["Error"]["Message"],
                             "The instance '%s' may not be %s. Modify its 'disableApiStop' "
                             "instance attribute and try again." % (iid, verb))
        self.assertEqual(self.instance(iid)["State"]["Name"], "running")
        # EBS optimization changes only while stopped.
        self.assertError("IncorrectInstanceState", self.ec2.modify_instance_attribute,
                         InstanceId=iid, EbsOptimized={"Value": False})
        self.ec2.modify_instance_attribute(InstanceId=iid, DisableApiStop={"Value": False})
        self.assertFalse(attr("disableApiStop")["DisableApiStop"]["Value"])
        self.ec2.stop_instances(InstanceIds=[iid], Force=True)
        self.wait_state(iid, "stopped")
        self.ec2.modify_instance_attribute(InstanceId=iid, Attribute="ebsOptimized", Value="false")
        self.assertFalse(self.instance(iid)["EbsOptimized"])
        self.ec2.modify_instance_attribute(InstanceId=iid, Attribute="disableApiStop", Value="true")
        self.assertError("OperationNotPermitted", self.ec2.terminate_instances, InstanceIds=[iid])
        self.ec2.modify_instance_attribute(InstanceId=iid, DisableApiStop={"Value": False})
        self.terminate(iid)

    def test_client_token_with_other_parameters(self):
        token = uuid.uuid4().hex
        first = self.ec2.run_instances(ImageId=self.ami, InstanceType="t2.micro", MinCount=1,
                                       MaxCount=1, ClientToken=token, EbsOptimized=False)
        iid = first["Instances"][0]["InstanceId"]
        # The same request (the zone and the order of parameters aside) is the same launch.
        again = self.ec2.run_instances(ClientToken=token, MaxCount=1, MinCount=1,
                                       InstanceType="t2.micro", ImageId=self.ami,
                                       Placement={"AvailabilityZone": "us-east-1a"},
                                       EbsOptimized=False)
        self.assertEqual((again["ReservationId"], again["Instances"][0]["InstanceId"]),
                         (first["ReservationId"], iid))
        for other in (dict(InstanceType="t2.small"), dict(MaxCount=2),
                      dict(EbsOptimized=True), dict(DisableApiStop=True)):
            args = dict(ImageId=self.ami, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                        ClientToken=token, EbsOptimized=False)
            args.update(other)
            with self.subTest(other=other):
                with self.assertRaises(ClientError) as cm:
                    self.ec2.run_instances(**args)
                self.assertEqual(cm.exception.response["Error"]["Code"],
                                 "IdempotentParameterMismatch")
        found = self.ec2.describe_instances(Filters=[{"Name": "client-token", "Values": [token]}])
        self.assertEqual([i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]],
                         [iid])
        self.terminate(iid)
        # A retry after the termination still answers with that launch.
        again = self.ec2.run_instances(ImageId=self.ami, InstanceType="t2.micro", MinCount=1,
                                       MaxCount=1, ClientToken=token, EbsOptimized=False)
        self.assertEqual((again["Instances"][0]["InstanceId"],
                          again["Instances"][0]["State"]["Name"]), (iid, "terminated"))

    def test_empty_parameters_are_absent(self):
        """Terraform's aws_instance and Packer send what they leave unset as ''."""
        iid, r = self.run_one(Placement={"AvailabilityZone": "", "GroupName": ""}, SubnetId="",
                              UserData="", KernelId="", RamdiskId="", KeyName="",
                              IamInstanceProfile={"Name": ""}, ClientToken="",
                              InstanceInitiatedShutdownBehavior="",
                              MetadataOptions={"HttpTokens": ""})
        inst = r["Instances"][0]
        self.assertEqual(inst["Placement"]["AvailabilityZone"], "us-east-1a")
        for absent in ("KernelId", "RamdiskId", "KeyName", "ClientToken"):
            self.assertNotIn(absent, inst)
        attr = lambda a: self.ec2.describe_instance_attribute(InstanceId=iid, Attribute=a)
        self.assertNotIn("Value", attr("userData")["UserData"])
        self.assertEqual(attr("instanceInitiatedShutdownBehavior")[
            "InstanceInitiatedShutdownBehavior"]["Value"], "stop")
        self.assertEqual(inst["MetadataOptions"]["HttpTokens"], "optional")
        self.terminate(iid)

    def test_isolation_and_shared_launch(self):
        # Bob cannot launch Alice's private image, nor see her instances.
        self.assertError("InvalidAMIID.NotFound", self.bob.run_instances, ImageId=self.ami,
                         InstanceType="t2.micro", MinCount=1, MaxCount=1)
        iid, _ = self.run_one(DisableApiTermination=True)
        self.assertError("InvalidInstanceID.NotFound", self.bob.describe_instances, InstanceIds=[iid])
        self.assertError("InvalidInstanceID.NotFound", self.bob.terminate_instances, InstanceIds=[iid])
        self.assertEqual(self.bob.describe_instances(Filters=[
            {"Name": "instance-id", "Values": [iid]}])["Reservations"], [])
        # Termination protection holds, for every instance of the request.
        self.assertError("OperationNotPermitted", self.ec2.terminate_instances, InstanceIds=[iid])
        self.assertEqual(self.wait_state(iid, "running")["State"]["Name"], "running")
        # Shared: Bob launches it although the snapshot stays private to Alice.
        self.ec2.modify_image_attribute(ImageId=self.ami, LaunchPermission={
            "Add": [{"UserId": self.bob_id}]})
        try:
            bid, _ = self.run_one(ec2=self.bob)
            inst = self.wait_state(bid, "running", ec2=self.bob)
            vol = inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
            self.assertEqual(self.bob.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"], "in-use")
            self.assertError("InvalidSnapshot.NotFound", self.bob.describe_snapshots,
                             SnapshotIds=[self.halt_snap])
            self.bob.terminate_instances(InstanceIds=[bid])
            self.wait_state(bid, "terminated", ec2=self.bob)
        finally:
            self.ec2.modify_image_attribute(ImageId=self.ami, LaunchPermission={
                "Remove": [{"UserId": self.bob_id}]})
        if "LastLaunchedTime" in self.ec2.meta.service_model.shape_for("ImageAttribute").members:
            got = self.ec2.describe_image_attribute(ImageId=self.ami, Attribute="lastLaunchedTime")
            self.assertTrue(got["LastLaunchedTime"]["Value"].startswith("20"))

    def test_reservations_group_their_instances(self):
        """One launch is one reservation item, whatever the ID order, filters or paging."""
        ami = self.register(self.halt_snap, "grouped")
        launched = {}
        for _ in range(3):
            r = self.ec2.run_instances(ImageId=ami, InstanceType="t2.micro", MinCount=3,
                                       MaxCount=3)
            launched[r["ReservationId"]] = sorted(i["InstanceId"] for i in r["Instances"])
        everyone = sorted(i for ids in launched.values() for i in ids)
        mine = [{"Name": "image-id", "Values": [ami]}]

        def grouped(pages):
            seen = {}
            for page in pages:
                rids = [res["ReservationId"] for res in page["Reservations"]]
                self.assertEqual(len(rids), len(set(rids)), "a reservation twice on one page")
                for res in page["Reservations"]:
                    seen.setdefault(res["ReservationId"], []).extend(
                        i["InstanceId"] for i in res["Instances"])
            return {rid: sorted(ids) for rid, ids in seen.items()}

        self.assertEqual(grouped([self.ec2.describe_instances(Filters=mine)]), launched)
        # By ID, in any order, and filtered to some of each reservation.
        self.assertEqual(grouped([self.ec2.describe_instances(InstanceIds=everyone[::-1])]),
                         launched)
        some = {rid: ids[:2] for rid, ids in launched.items()}
        self.assertEqual(grouped([self.ec2.describe_instances(Filters=mine + [
            {"Name": "instance-id", "Values": [i for ids in some.values() for i in ids]}])]),
            some)
        # Pages of 5 instances: a reservation split across pages appears on
        # each with its own instances; together they are the launch.
        pages = list(self.ec2.get_paginator("describe_instances").paginate(
            Filters=mine, PaginationConfig={"PageSize": 5}))
        self.assertEqual([sum(len(r["Instances"]) for r in p["Reservations"]) for p in pages],
                         [5, 4])
        self.assertEqual(grouped(pages), launched)
        # The AWS CLI's own paging sees the same nine instances.
        for cli in filter(None, (os.environ.get("AWS_V1"), os.environ.get("AWS_V2"))):
            env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["ALICE_KEY"],
                       AWS_SECRET_ACCESS_KEY=os.environ["ALICE_SECRET"])
            out = subprocess.run([cli, "--endpoint-url", ENDPOINT, "--output", "text", "ec2",
                                  "describe-instances", "--page-size", "5", "--filters",
                                  "Name=image-id,Values=" + ami, "--query",
                                  "Reservations[].Instances[].InstanceId"],
                                 env=env, capture_output=True, text=True, check=True)
            self.assertEqual(sorted(out.stdout.split()), everyone, cli)
        self.terminate(*everyone)

    def test_describe_filters_tools_use(self):
        iid, r = self.run_one(TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "role", "Value": "bastion-%s" % uuid.uuid4().hex[:6]}]}])
        tag = r["Instances"][0]["Tags"][0]["Value"]
        inst = self.wait_state(iid, "running")
        self.assertRegex(inst["PrivateDnsName"], r"^ip-[0-9-]+\.ec2\.internal$")
        ids = lambda filters: [i["InstanceId"] for res in self.ec2.describe_instances(
            Filters=filters)["Reservations"] for i in res["Instances"]]
        matching = [
            [{"Name": "private-dns-name", "Values": [inst["PrivateDnsName"]]}],
            [{"Name": "tag-value", "Values": [tag]}],
            [{"Name": "tag-value", "Values": ["bastion-*"]}, {"Name": "instance-id", "Values": [iid]}],
            [{"Name": "availability-zone-id", "Values": ["us-east-1a"]},
             {"Name": "ebs-optimized", "Values": ["false"]},
             {"Name": "metadata-options.http-tokens", "Values": ["optional"]},
             {"Name": "platform-details", "Values": ["Linux/UNIX"]},
             {"Name": "current-instance-boot-mode", "Values": ["legacy-bios"]},
             {"Name": "instance-id", "Values": [iid]}],
        ]
        for filters in matching:
            with self.subTest(filters=filters):
                self.assertEqual(ids(filters), [iid])
        # What an amibox instance never has matches nothing, and is no error.
        for name in ("vpc-id", "subnet-id", "ip-address", "network-interface.subnet-id",
                     "iam-instance-profile.arn", "tag-value"):
            with self.subTest(name=name):
                self.assertEqual(ids([{"Name": name, "Values": ["x-none"]},
                                      {"Name": "instance-id", "Values": [iid]}]), [])
        for name in ("colour", "block-device-mapping.colour"):
            self.assertError("InvalidParameterValue", self.ec2.describe_instances,
                             Filters=[{"Name": name, "Values": ["x"]}])
        # The AWS CLI's filter for the private DNS name, as Ansible's inventory uses it.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["ALICE_KEY"],
                   AWS_SECRET_ACCESS_KEY=os.environ["ALICE_SECRET"])
        out = subprocess.run([os.environ["AWS_V2"], "--endpoint-url", ENDPOINT, "--output", "text",
                              "ec2", "describe-instances", "--filters",
                              "Name=private-dns-name,Values=" + inst["PrivateDnsName"],
                              "--query", "Reservations[].Instances[].InstanceId"],
                             env=env, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.split(), [iid])
        # Unknown IDs are all named, once each.
        ghosts = ["i-0123456789abcdef0", "i-0123456789abcdef1"]
        with self.assertRaises(ClientError) as cm:
            self.ec2.describe_instances(InstanceIds=[ghosts[0], iid, ghosts[1], ghosts[0]])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidInstanceID.NotFound")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The instance IDs '%s, %s' do not exist" % tuple(ghosts))
        with self.assertRaises(ClientError) as cm:
            self.ec2.terminate_instances(InstanceIds=[iid, ghosts[1]])
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The instance ID '%s' does not exist" % ghosts[1])
        self.assertEqual(self.instance(iid)["State"]["Name"], "running")
        self.terminate(iid)

    def statuses(self, **kw):
        return {st["InstanceId"]: st for st in
                self.ec2.describe_instance_status(**kw)["InstanceStatuses"]}

    @staticmethod
    def checks(st):
        return tuple((st[k]["Status"], [(d["Name"], d["Status"]) for d in st[k].get("Details", [])])
                     for k in ("SystemStatus", "InstanceStatus"))

    def test_instance_status_checks(self):
        """What `aws ec2 wait instance-status-ok` and Packer poll, from the real machine."""
        silent_ami = self.register(import_image(os.environ["GUEST_SILENT"]), "silent")
        silent, _ = self.run_one(ami=silent_ami)
        iid, _ = self.run_one()
        # Not running yet: listed only with IncludeAllInstances, without checks.
        got = self.statuses(InstanceIds=[iid], IncludeAllInstances=True)[iid]
        if got["InstanceState"]["Name"] == "pending":
            self.assertEqual(self.checks(got), (("not-applicable", []), ("not-applicable", [])))
            self.assertNotIn(iid, self.statuses(InstanceIds=[iid]))
        self.wait_state(iid, "running")
        self.wait_console(iid, "boot 001")
        # Running, and the guest has spoken: both checks pass.
        got = self.statuses(InstanceIds=[iid])[iid]
        self.assertEqual(self.checks(got), (("ok", [("reachability", "passed")]),
                                            ("ok", [("reachability", "passed")])))
        self.assertEqual((got["AvailabilityZone"], got["InstanceState"]["Code"]),
                         ("us-east-1a", 16))
        self.ec2.get_waiter("instance_status_ok").wait(
            InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        self.ec2.get_waiter("system_status_ok").wait(
            InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
        # A guest that prints nothing is initializing until its grace ends.
        # The grace counts from when it began running, and the waits above
        # can take much of it on a loaded machine: it begins again now.
        self.wait_state(silent, "running")
        db = sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=10)
        with db:
            db.execute("UPDATE instances SET state_ms = ? WHERE instance_id = ?",
                       (int(time.time() * 1000), silent))
        db.close()
        got = self.statuses(InstanceIds=[silent])[silent]
        self.assertEqual(self.checks(got), (("ok", [("reachability", "passed")]),
                                            ("initializing", [("reachability", "initializing")])))
        # Filters, and unknown IDs all named.
        mine = lambda **kw: sorted(self.statuses(**kw))
        self.assertIn(iid, mine(Filters=[{"Name": "instance-status.status", "Values": ["ok"]}]))
        self.assertNotIn(silent, mine(Filters=[{"Name": "instance-status.status",
                                                "Values": ["ok"]}]))
        self.assertEqual(mine(InstanceIds=[iid, silent], Filters=[
            {"Name": "instance-status.reachability", "Values": ["init*"]},
            {"Name": "system-status.status", "Values": ["ok"]}]), [silent])
        self.assertEqual(mine(InstanceIds=[iid], Filters=[
            {"Name": "event.code", "Values": ["*"]}]), [])
        self.assertError("InvalidParameterValue", self.ec2.describe_instance_status,
                         Filters=[{"Name": "colour", "Values": ["x"]}])
        with self.assertRaises(ClientError) as cm:
            self.ec2.describe_instance_status(InstanceIds=["i-0123456789abcdef0", iid,
                                                           "i-0123456789abcdef1"])
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The instance IDs 'i-0123456789abcdef0, i-0123456789abcdef1' do not exist")
        # A machine gone while the catalog says running fails both checks.
        db = sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=10)
        pid = db.execute("SELECT pid FROM instances WHERE instance_id = ?", (iid,)).fetchone()[0]
        with db:
            db.execute("UPDATE instances SET pid = 1 WHERE instance_id = ?", (iid,))
        try:
            got = self.statuses(InstanceIds=[iid])[iid]
            self.assertEqual(self.checks(got), (("impaired", [("reachability", "failed")]),
                                                ("impaired", [("reachability", "failed")])))
        finally:
            with db:
                db.execute("UPDATE instances SET pid = ? WHERE instance_id = ?", (pid, iid))
            db.close()
        # Pages of instances, every one once.
        everyone = mine(IncludeAllInstances=True)
        pages = list(self.ec2.get_paginator("describe_instance_status").paginate(
            IncludeAllInstances=True, PaginationConfig={"PageSize": 5}))
        paged = [st["InstanceId"] for p in pages for st in p["InstanceStatuses"]]
        self.assertEqual(sorted(paged), everyone)
        self.assertEqual(len(paged), len(set(paged)))
        # The silent guest's instance check passes once its grace is over.
        self.ec2.get_waiter("instance_status_ok").wait(
            InstanceIds=[silent], WaiterConfig={"Delay": 2, "MaxAttempts": 20})
        self.terminate(iid, silent)
        got = self.statuses(InstanceIds=[iid], IncludeAllInstances=True)[iid]
        self.assertEqual((got["InstanceState"]["Name"], self.checks(got)),
                         ("terminated", (("not-applicable", []), ("not-applicable", []))))

    def test_credit_specifications_and_uefi(self):
        ids = {}
        for label, itype, extra in (("t2", "t2.micro", {}), ("t3", "t3.micro", {}),
                                    ("t3-standard", "t3.micro",
                                     {"CreditSpecification": {"CpuCredits": "standard"}}),
                                    ("m1", "m1.small", {})):
            ids[label], _ = self.run_one(InstanceType=itype, **extra)
        credits = lambda **kw: {c["InstanceId"]: c["CpuCredits"] for c in
                                self.ec2.describe_instance_credit_specifications(
                                    **kw)["InstanceCreditSpecifications"]}
        self.assertEqual(credits(InstanceIds=[ids["t2"], ids["t3"], ids["t3-standard"]]),
                         {ids["t2"]: "standard", ids["t3"]: "unlimited",
                          ids["t3-standard"]: "standard"})
        # Unnamed: the instances running unlimited, no others.
        listed = credits()
        self.assertEqual(listed.get(ids["t3"]), "unlimited")
        for other in ("t2", "t3-standard", "m1"):
            self.assertNotIn(ids[other], listed)
        self.assertEqual(credits(Filters=[{"Name": "instance-id", "Values": [ids["t3"]]}]),
                         {ids["t3"]: "unlimited"})
        self.assertError("InstanceCreditSpecification.NotSupported",
                         self.ec2.describe_instance_credit_specifications, InstanceIds=[ids["m1"]])
        self.assertError("InstanceCreditSpecification.NotSupported", self.ec2.run_instances,
                         ImageId=self.ami, InstanceType="m5.large", MinCount=1, MaxCount=1,
                         CreditSpecification={"CpuCredits": "unlimited"})
        types = {t["InstanceType"]: t.get("BurstablePerformanceSupported") for t in
                 self.ec2.describe_instance_types(InstanceTypes=["t2.micro", "t3.micro",
                                                                 "m1.small"])["InstanceTypes"]}
        self.assertEqual(types, {"t2.micro": True, "t3.micro": True, "m1.small": False})
        # A type with credits keeps the option it starts with (the family's).
        self.ec2.stop_instances(InstanceIds=[ids["m1"], ids["t3"]], Force=True)
        self.wait_state(ids["m1"], "stopped")
        self.wait_state(ids["t3"], "stopped")
        self.ec2.modify_instance_attribute(InstanceId=ids["m1"], InstanceType={"Value": "t2.small"})
        self.ec2.modify_instance_attribute(InstanceId=ids["t3"], InstanceType={"Value": "m1.small"})
        self.assertEqual(credits(InstanceIds=[ids["m1"], ids["t3"]]),
                         {ids["m1"]: "standard", ids["t3"]: "unlimited"})
        # amibox's machines boot with a legacy BIOS: no UEFI variable store.
        self.assertError("UnsupportedOperation", self.ec2.get_instance_uefi_data,
                         InstanceId=ids["t2"])
        self.assertError("InvalidInstanceID.NotFound", self.ec2.get_instance_uefi_data,
                         InstanceId="i-0123456789abcdef0")
        self.terminate(*ids.values())

    def test_describe_filters_and_counts(self):
        token = uuid.uuid4().hex
        user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
        r = self.ec2.run_instances(ImageId=self.ami, InstanceType="t2.micro", MinCount=2,
                                   MaxCount=2, ClientToken=token, UserData=user_data)
        ids = sorted(i["InstanceId"] for i in r["Instances"])
        self.assertEqual(len(ids), 2)
        self.assertEqual(sorted(i["AmiLaunchIndex"] for i in r["Instances"]), [0, 1])
        again = self.ec2.run_instances(ImageId=self.ami, InstanceType="t2.micro", MinCount=2,
                                       MaxCount=2, ClientToken=token, UserData=user_data)
        self.assertEqual(again["ReservationId"], r["ReservationId"])
        for iid in ids:
            self.wait_state(iid, "running")
        found = self.ec2.describe_instances(Filters=[
            {"Name": "reservation-id", "Values": [r["ReservationId"]]},
            {"Name": "instance-state-name", "Values": ["running"]},
            {"Name": "root-device-type", "Values": ["ebs"]}])
        self.assertEqual(len(found["Reservations"]), 1)
        self.assertEqual(sorted(i["InstanceId"] for i in found["Reservations"][0]["Instances"]), ids)
        self.ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "role", "Value": "db"}])
        tagged = self.ec2.describe_instances(Filters=[{"Name": "tag:role", "Values": ["d?"]}])
        self.assertEqual([i["InstanceId"] for res in tagged["Reservations"] for i in res["Instances"]],
                         [ids[0]])
        self.assertError("InvalidParameterValue", self.ec2.describe_instances,
                         Filters=[{"Name": "colour", "Values": ["x"]}])
        waiter = self.ec2.get_waiter("instance_running")
        waiter.wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        self.terminate(*ids)
        waiter = self.ec2.get_waiter("instance_terminated")
        waiter.wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 10})


if __name__ == "__main__":
    cases.main(verbosity=int(os.environ.get("AMIBOX_TEST_VERBOSE", "1")))
