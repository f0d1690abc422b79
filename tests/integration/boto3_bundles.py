"""Instance-store AMIs end to end: signing certificates through IAM, bundles
made by amibox and by pybundle.py (an independent implementation of the
format, written in this test suite), uploaded with `amibox upload-bundle`
and with the AWS CLI's s3 commands, registered, launched and refused.

Run by t_bundles.sh; needs ENDPOINT, DATA_DIR, TEST_DIR, AMIBOX_BIN,
AMIBOX_SRC, AWS_V1, ALICE_*, BOB_*, GUEST_HVM (a boot-sector disk that
prints "amibox hvm guest: boot NNN") and GUEST_PV (an ext2 disk with
/boot/grub/menu.lst and a tiny kernel).
"""
import os
import subprocess
import sys
import time
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pybundle  # noqa: E402

import cases  # records each case for make check

ENDPOINT = os.environ["ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1",
                s3={"addressing_style": "path"})
WORK = os.path.join(os.environ["TEST_DIR"], "bundles")
AMIBOX = os.environ["AMIBOX_BIN"]


def client(service, who):
    return boto3.client(service, endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


def creds(who):
    return dict(os.environ, AWS_ACCESS_KEY_ID=os.environ[who + "_KEY"],
                AWS_SECRET_ACCESS_KEY=os.environ[who + "_SECRET"])


def amibox(*args, who="ALICE", check=True):
    return subprocess.run([AMIBOX] + list(args), env=creds(who), capture_output=True,
                          text=True, check=check, timeout=300)


class Bundles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(WORK, exist_ok=True)
        cls.ec2 = client("ec2", "ALICE")
        cls.bob_ec2 = client("ec2", "BOB")
        cls.s3 = client("s3", "ALICE")
        cls.iam = client("iam", "ALICE")
        cls.alice = os.environ["ALICE_ID"]
        cls.cloud = os.path.join(WORK, "cloud.pem")
        with open(cls.cloud, "w") as f:
            f.write(amibox("ec2-cert", "--data", os.environ["DATA_DIR"]).stdout)
        cls.key, cls.cert = (os.path.join(WORK, n) for n in ("alice.key", "alice.pem"))
        pybundle.make_cert(cls.key, cls.cert, "alice")
        cls.other_key, cls.other_cert = (os.path.join(WORK, n) for n in ("other.key", "other.pem"))
        pybundle.make_cert(cls.other_key, cls.other_cert, "someone else")
        with open(cls.cert) as f:
            body = f.read()
        got = cls.iam.upload_signing_certificate(CertificateBody=body)["Certificate"]
        cls.cert_id = got["CertificateId"]
        cls.s3.create_bucket(Bucket="alice-bundles")

    # ---- helpers ---------------------------------------------------------

    def bundle_with_amibox(self, image, prefix, *extra):
        dest = os.path.join(WORK, prefix)
        os.makedirs(dest, exist_ok=True)
        out = amibox("bundle-image", "--image", image, "--prefix", prefix, "--cert", self.cert,
                     "--privatekey", self.key, "--user", self.alice, "--ec2cert", self.cloud,
                     "--destination", dest, "--no-progress", *extra)
        return out.stdout.strip()

    def upload(self, manifest, where="alice-bundles"):
        out = amibox("upload-bundle", "--bucket", where, "--manifest", manifest,
                     "--endpoint", ENDPOINT)
        return out.stdout.strip()

    def register(self, location, ec2=None, **kw):
        kw.setdefault("Name", "is-" + uuid.uuid4().hex[:10])
        return (ec2 or self.ec2).register_image(ImageLocation=location, **kw)["ImageId"]

    def assertError(self, code, fn, *args, **kw):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response["Error"].get("Message"))
        return cm.exception.response["Error"]["Message"]

    def wait_state(self, iid, want, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            inst = self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            if inst["State"]["Name"] == want:
                return inst
            time.sleep(0.1)
        self.fail("%s is %s, not %s" % (iid, inst["State"]["Name"], want))

    def console(self, iid, text, timeout=120):
        deadline = time.time() + timeout
        out = ""
        while time.time() < deadline:
            out = self.ec2.get_console_output(InstanceId=iid).get("Output", "")
            if text in out:
                return out
            time.sleep(0.2)
        self.fail("%s never printed %r: %r" % (iid, text, out))

    # ---- tests -----------------------------------------------------------

    def test_signing_certificates(self):
        listed = self.iam.list_signing_certificates()["Certificates"]
        self.assertIn(self.cert_id, [c["CertificateId"] for c in listed])
        with open(self.cert) as f:
            body = f.read()
        self.assertError("DuplicateCertificate", self.iam.upload_signing_certificate,
                         CertificateBody=body)
        self.assertError("MalformedCertificate", self.iam.upload_signing_certificate,
                         CertificateBody="-----BEGIN CERTIFICATE-----\nnot one\n")
        self.assertError("NoSuchEntity", self.iam.delete_signing_certificate,
                         CertificateId="A" * 32)
        # Bob sees none of alice's.
        self.assertEqual(client("iam", "BOB").list_signing_certificates()["Certificates"], [])

    def test_amibox_bundle_registers_launches_and_dies_with_the_instance(self):
        manifest = self.bundle_with_amibox(os.environ["GUEST_HVM"], "hvm-guest",
                                           "--block-device-mapping",
                                           "ami=sda1,root=/dev/sda1,ephemeral0=sdb")
        location = self.upload(manifest)
        self.assertEqual(location, "alice-bundles/hvm-guest.manifest.xml")
        ami = self.register(location, VirtualizationType="hvm", Architecture="x86_64")
        img = self.ec2.describe_images(ImageIds=[ami])["Images"][0]
        self.assertEqual((img["RootDeviceType"], img["ImageLocation"], img["State"],
                          img["RootDeviceName"]),
                         ("instance-store", location, "available", "/dev/sda1"))
        self.assertIn({"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"},
                      img["BlockDeviceMappings"])
        found = self.ec2.describe_images(Owners=["self"], Filters=[
            {"Name": "manifest-location", "Values": ["alice-bundles/hvm-*"]}])["Images"]
        self.assertEqual([i["ImageId"] for i in found], [ami])
        # Only types with instance storage launch it.
        self.assertError("InvalidParameterCombination", self.ec2.run_instances, ImageId=ami,
                         InstanceType="t2.micro", MinCount=1, MaxCount=1)
        iid = self.ec2.run_instances(ImageId=ami, InstanceType="m1.small", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        inst = self.wait_state(iid, "running")
        self.assertEqual(inst["RootDeviceType"], "instance-store")
        self.console(iid, "boot 001")
        root = os.path.join(os.environ["DATA_DIR"], "instances", iid, "root.img")
        self.assertTrue(os.path.exists(root))
        # The metadata service names the bundle's manifest.
        out = subprocess.run([AMIBOX, "imds", "--data", os.environ["DATA_DIR"], "--instance", iid],
                             input=b"GET /latest/meta-data/ami-manifest-path HTTP/1.0\r\n\r\n",
                             capture_output=True, timeout=30)
        self.assertTrue(out.stdout.endswith(location.encode()), out.stdout)
        # The instance store keeps what the guest wrote across a reboot.
        self.ec2.reboot_instances(InstanceIds=[iid])
        self.console(iid, "boot 002")
        # Fixed for life: no stop, no attribute change, no CreateImage.
        self.assertError("UnsupportedOperation", self.ec2.stop_instances, InstanceIds=[iid])
        self.assertError("UnsupportedOperation", self.ec2.modify_instance_attribute,
                         InstanceId=iid, InstanceType={"Value": "m1.medium"})
        self.assertError("InvalidParameterValue", self.ec2.create_image, InstanceId=iid,
                         Name="no-" + uuid.uuid4().hex[:8])
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.wait_state(iid, "terminated")
        self.assertFalse(os.path.exists(root), "the instance store outlived the instance")
        # A second launch starts from the bundle again: one boot counted.
        iid = self.ec2.run_instances(ImageId=ami, InstanceType="m1.small", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        self.console(iid, "boot 001")
        self.ec2.terminate_instances(InstanceIds=[iid])
        # Deregistering leaves the bundle in the bucket.
        self.ec2.deregister_image(ImageId=ami)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="alice-bundles",
                                                           Prefix="hvm-guest")["Contents"]]
        self.assertIn("hvm-guest.manifest.xml", keys)
        self.assertIn("hvm-guest.part.0", keys)

    def test_independent_bundle_through_the_aws_cli(self):
        # Written by pybundle.py (not amibox), pax headers, the other element
        # order and mapping spelling, small parts and a trailing empty part;
        # uploaded with `aws s3 cp --acl aws-exec-read`.
        dest = os.path.join(WORK, "py-pv")
        os.makedirs(dest, exist_ok=True)
        manifest = pybundle.bundle(os.environ["GUEST_PV"], "py-pv", self.cert, self.key,
                                   self.alice, self.cloud, dest, tar_format="pax",
                                   element_order="b", bdm_spelling="euca",
                                   part_name_style="euca", trailing_empty_part=True,
                                   part_size=1 << 20)
        for name in sorted(os.listdir(dest)):
            if name.startswith("."):
                continue
            subprocess.run([os.environ["AWS_V1"], "--endpoint-url", ENDPOINT, "s3", "cp",
                            os.path.join(dest, name), "s3://alice-bundles/cli/" + name,
                            "--acl", "aws-exec-read"], env=creds("ALICE"), check=True,
                           capture_output=True, timeout=120)
        ami = self.register("alice-bundles/cli/" + os.path.basename(manifest))
        img = self.ec2.describe_images(ImageIds=[ami])["Images"][0]
        self.assertEqual((img["VirtualizationType"], img["RootDeviceType"]),
                         ("paravirtual", "instance-store"))
        self.assertTrue(img["KernelId"].startswith("aki-"))
        iid = self.ec2.run_instances(ImageId=ami, InstanceType="m1.small", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        out = self.console(iid, "amibox=pv")
        self.assertIn("PV-GRUB", out)
        self.ec2.terminate_instances(InstanceIds=[iid])

    def test_ustar_bundle_without_machine_configuration(self):
        dest = os.path.join(WORK, "ustar")
        os.makedirs(dest, exist_ok=True)
        manifest = pybundle.bundle(os.environ["GUEST_HVM"], "ustar", self.cert, self.key,
                                   self.alice, self.cloud, dest, tar_format="ustar",
                                   machine_configuration=False)
        ami = self.register(self.upload(manifest), VirtualizationType="hvm")
        img = self.ec2.describe_images(ImageIds=[ami])["Images"][0]
        self.assertEqual((img["RootDeviceName"], img["Architecture"]), ("/dev/sda1", "i386"))
        iid = self.ec2.run_instances(ImageId=ami, InstanceType="c3.large", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        self.console(iid, "boot 001")
        self.ec2.terminate_instances(InstanceIds=[iid])

    def test_kernel_bundles_register_as_akis(self):
        kernel = os.path.join(WORK, "vmlinuz")
        with open(kernel, "wb") as f:
            f.write(os.urandom(4096))
        manifest = self.bundle_with_amibox(kernel, "a-kernel", "--type", "kernel")
        aki = self.register(self.upload(manifest))
        img = self.ec2.describe_images(ImageIds=[aki])["Images"][0]
        self.assertTrue(aki.startswith("aki-"))
        self.assertEqual(img["ImageType"], "kernel")

    def test_refusals_register_nothing(self):
        before = len(self.ec2.describe_images(Owners=["self"])["Images"])
        disk = os.environ["GUEST_HVM"]
        # Signed with a certificate alice never uploaded.
        dest = os.path.join(WORK, "unsigned")
        os.makedirs(dest, exist_ok=True)
        m = pybundle.bundle(disk, "unsigned", self.other_cert, self.other_key, self.alice,
                            self.cloud, dest)
        msg = self.assertError("InvalidManifest", self.register, self.upload(m))
        self.assertIn("signature", msg)
        # Made for another account.
        dest = os.path.join(WORK, "for-bob")
        os.makedirs(dest, exist_ok=True)
        m = pybundle.bundle(disk, "for-bob", self.cert, self.key, os.environ["BOB_ID"],
                            self.cloud, dest)
        self.assertError("InvalidManifest", self.register, self.upload(m))
        # Encrypted for another cloud's certificate.
        dest = os.path.join(WORK, "other-cloud")
        os.makedirs(dest, exist_ok=True)
        m = pybundle.bundle(disk, "other-cloud", self.cert, self.key, self.alice,
                            self.other_cert, dest)
        msg = self.assertError("InvalidManifest", self.register, self.upload(m))
        self.assertIn("cloud", msg)
        # A tampered manifest (the size changed after signing).
        m = self.bundle_with_amibox(disk, "tampered")
        with open(m) as f:
            text = f.read()
        with open(m, "w") as f:
            f.write(text.replace("<size>", "<size>1", 1))
        self.assertError("InvalidManifest", self.register, self.upload(m))
        # A damaged part.
        m = self.bundle_with_amibox(disk, "damaged")
        part = os.path.join(os.path.dirname(m), "damaged.part.0")
        with open(part, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xff]))
        self.assertError("InvalidManifest", self.register, self.upload(m))
        # A missing part, and a manifest that is not one.
        m = self.bundle_with_amibox(disk, "partless")
        with open(m, "rb") as f:
            self.s3.put_object(Bucket="alice-bundles", Key="partless.manifest.xml",
                               Body=f.read())
        self.assertError("InvalidManifest", self.register, "alice-bundles/partless.manifest.xml")
        self.s3.put_object(Bucket="alice-bundles", Key="junk.manifest.xml", Body=b"<not/>")
        self.assertError("InvalidManifest", self.register, "alice-bundles/junk.manifest.xml")
        self.assertError("InvalidManifest", self.register, "no-such-bucket/x.manifest.xml")
        # Bob may not read alice's private manifest.
        m = self.bundle_with_amibox(disk, "private")
        location = self.upload(m)
        self.s3.put_object_acl(Bucket="alice-bundles", Key="private.manifest.xml", ACL="private")
        self.assertError("InvalidManifest", self.register, location, ec2=self.bob_ec2)
        after = len(self.ec2.describe_images(Owners=["self"])["Images"])
        self.assertEqual(before, after)
        self.assertEqual(self.bob_ec2.describe_images(Owners=["self"])["Images"], [])

    def test_a_bundle_gone_bad_fails_the_launch_cleanly(self):
        m = self.bundle_with_amibox(os.environ["GUEST_HVM"], "goes-bad")
        ami = self.register(self.upload(m), VirtualizationType="hvm")
        # Between registration and launch, the part is replaced.
        self.s3.put_object(Bucket="alice-bundles", Key="goes-bad.part.0", Body=b"x" * 4096)
        iid = self.ec2.run_instances(ImageId=ami, InstanceType="m1.small", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        inst = self.wait_state(iid, "terminated")
        self.assertEqual(inst["StateReason"]["Code"], "Client.InternalError")
        self.assertIn("digest", inst["StateReason"]["Message"])
        idir = os.path.join(os.environ["DATA_DIR"], "instances", iid)
        left = os.listdir(idir) if os.path.isdir(idir) else []
        self.assertFalse([n for n in left if n.startswith("root.img")], left)


if __name__ == "__main__":
    cases.main(verbosity=int(os.environ.get("AMIBOX_TEST_VERBOSE", "1")))
