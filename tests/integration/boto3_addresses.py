"""Elastic IP addresses through boto3: AllocateAddress, DescribeAddresses
(by ID, by address, filters), AssociateAddress and DisassociateAddress on
real instances (the boot-sector guest of t_instances.sh), ReleaseAddress,
tags and DescribeAddressesAttribute, with EC2's error codes; and what
DescribeInstances, DescribeNetworkInterfaces and the instance's metadata
service say of the address once it is associated and after.

Run by t_addresses.sh as root: with VPC networking an instance whose subnet
maps public addresses gets one from the daemon's pool (PUBLIC_IPS) while it
runs, and these tests watch an Elastic IP take its place and give it back.
The class Addresses needs no instance (t_addresses.sh also runs it with
Debian's boto3); Associations launches them.  Needs ENDPOINT, DATA_DIR,
AMIBOX_BIN, PUBLIC_IPS, ALICE_*, BOB_* and GUEST_HALT (a raw disk image).
"""
import ipaddress
import os
import subprocess
import time
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check
from ec2_lib import import_image, new_account

ENDPOINT = os.environ["ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")
# Every address this test's daemon gives, Elastic or not, is in its own /24
# of 127.0.0.0/8 (lib.sh), so that tests running at once never collide.
POOL = ipaddress.ip_network(os.environ["PUBLIC_IPS"], strict=False)
ALLOC_RE = r"^eipalloc-[0-9a-f]{17}$"
ASSOC_RE = r"^eipassoc-[0-9a-f]{17}$"
UNKNOWN_ALLOC = "eipalloc-0123456789abcdef0"
UNKNOWN_ASSOC = "eipassoc-0123456789abcdef0"
UNKNOWN_INSTANCE = "i-0123456789abcdef0"
# What an association with an instance that has ended is refused with, as
# EC2 answers it: "The terminated instance 'i-...' is not in a valid state
# for this operation" (cloudposse/terraform-aws-ec2-instance#95).
ENDED_INSTANCE_CODES = ("InvalidInstanceID",)
# Keys DescribeAddresses has only while the address is associated.
ASSOCIATION_KEYS = ("InstanceId", "AssociationId", "NetworkInterfaceId",
                    "NetworkInterfaceOwnerId", "PrivateIpAddress")


def client(who):
    return boto3.client("ec2", endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


def public_dns(ip):
    return "ec2-%s.compute-1.amazonaws.com" % ip.replace(".", "-")


class Base(unittest.TestCase):
    """Helpers shared by both classes; each test cleans up what it made."""

    @classmethod
    def setUpClass(cls):
        cls.ec2 = client("ALICE")
        cls.bob = client("BOB")
        cls.alice_id = os.environ["ALICE_ID"]

    def code(self, fn, **kw):
        """The error code fn(**kw) fails with (the test fails if it succeeds)."""
        try:
            fn(**kw)
        except ClientError as err:
            return err.response["Error"]["Code"]
        self.fail("%s(%r) succeeded; an error was expected" % (fn.__name__, kw))

    def assertError(self, codes, fn, **kw):
        codes = (codes,) if isinstance(codes, str) else codes
        got = self.code(fn, **kw)
        self.assertIn(got, codes, "%s(%r) failed with %s, not %s" % (
            fn.__name__, kw, got, " or ".join(codes)))

    def allocate(self, ec2=None, **kw):
        """AllocateAddress; the address is released when the test ends."""
        ec2 = ec2 or self.ec2
        r = ec2.allocate_address(**kw)
        self.addCleanup(self.release_quietly, ec2, r["AllocationId"])
        return r

    @staticmethod
    def release_quietly(ec2, alloc):
        """Disassociates (if need be) and releases; an address already gone is fine."""
        try:
            found = ec2.describe_addresses(AllocationIds=[alloc])["Addresses"]
        except ClientError:
            return
        for a in found:
            if a.get("AssociationId"):
                try:
                    ec2.disassociate_address(AssociationId=a["AssociationId"])
                except ClientError:
                    pass
        try:
            ec2.release_address(AllocationId=alloc)
        except ClientError:
            pass

    def address(self, alloc, ec2=None):
        found = (ec2 or self.ec2).describe_addresses(AllocationIds=[alloc])["Addresses"]
        self.assertEqual([a["AllocationId"] for a in found], [alloc],
                         "DescribeAddresses by allocation ID %s" % alloc)
        return found[0]

    def assertUnassociated(self, alloc, why):
        a = self.address(alloc)
        left = {k: a[k] for k in ASSOCIATION_KEYS if k in a}
        self.assertEqual(left, {}, "%s: the address still shows an association" % why)
        return a

    def allocs(self, ec2=None, **kw):
        """The allocation IDs DescribeAddresses answers, sorted."""
        return sorted(a["AllocationId"] for a in (ec2 or self.ec2).describe_addresses(**kw)["Addresses"])

    def by_filter(self, name, value, ec2=None):
        return self.allocs(ec2, Filters=[{"Name": name, "Values": [value]}])


class Addresses(Base):
    """The address itself: allocation, description, tags, limits, errors."""

    def test_allocate_describe_release(self):
        first = self.allocate(Domain="vpc")
        alloc, ip = first["AllocationId"], first["PublicIp"]
        self.assertRegex(alloc, ALLOC_RE)
        self.assertIn(ipaddress.ip_address(ip), POOL,
                      "the Elastic IP %s is not from the daemon's pool %s" % (ip, POOL))
        self.assertEqual((first["Domain"], first["PublicIpv4Pool"], first["NetworkBorderGroup"]),
                         ("vpc", "amazon", "us-east-1"))
        # No Domain at all: a VPC address too (EC2-Classic is gone).
        second = self.allocate()
        self.assertEqual(second["Domain"], "vpc")
        self.assertNotEqual(second["AllocationId"], alloc)
        self.assertNotEqual(second["PublicIp"], ip, "two allocations got the same address")
        self.assertIn(ipaddress.ip_address(second["PublicIp"]), POOL)
        # Described as allocated, nothing associated: no association keys, no Tags.
        a = self.address(alloc)
        self.assertEqual({k: a.get(k) for k in ("PublicIp", "AllocationId", "Domain",
                                                 "PublicIpv4Pool", "NetworkBorderGroup")},
                         {"PublicIp": ip, "AllocationId": alloc, "Domain": "vpc",
                          "PublicIpv4Pool": "amazon", "NetworkBorderGroup": "us-east-1"})
        for key in ASSOCIATION_KEYS + ("Tags",):
            self.assertNotIn(key, a, "an unassociated, untagged address has %s" % key)
        self.assertEqual(self.allocs(PublicIps=[ip]), [alloc], "DescribeAddresses by public IP")
        both = sorted([alloc, second["AllocationId"]])
        self.assertEqual(self.allocs(AllocationIds=both), both)
        self.assertEqual(self.allocs(PublicIps=[ip, second["PublicIp"]]), both)
        self.assertEqual(self.allocs(), both, "DescribeAddresses without arguments: all of Alice's")
        # One known and one unknown ID: the whole request fails, as EC2's does.
        self.assertError("InvalidAllocationID.NotFound", self.ec2.describe_addresses,
                         AllocationIds=[alloc, UNKNOWN_ALLOC])
        # Released: gone for every call that names it.
        self.ec2.release_address(AllocationId=alloc)
        self.assertError("InvalidAllocationID.NotFound", self.ec2.describe_addresses,
                         AllocationIds=[alloc])
        self.assertError("InvalidAddress.NotFound", self.ec2.describe_addresses, PublicIps=[ip])
        self.assertError("InvalidAllocationID.NotFound", self.ec2.release_address, AllocationId=alloc)
        self.assertEqual(self.allocs(), [second["AllocationId"]], "what is left after one release")

    def test_empty_domain_is_vpc(self):
        """Pulumi sends Domain=''; EC2 takes it (and any other value) as vpc
        (tested against AWS in getmoto/moto#5729)."""
        r = self.allocate(Domain="")
        self.assertEqual(r["Domain"], "vpc")

    def test_allocate_refusals(self):
        before = self.allocs()
        # Only the daemon's own pool: no address of the caller's choosing
        # (BYOIP), no other pool.
        self.assertError("InvalidParameterValue", self.ec2.allocate_address, Domain="vpc",
                         Address="198.51.100.7")
        self.assertError("InvalidParameterValue", self.ec2.allocate_address, Domain="vpc",
                         PublicIpv4Pool="ipv4pool-ec2-0123456789abcdef0")
        self.assertEqual(self.allocs(), before, "a refused allocation left an address")
        # The one pool there is, named: fine.
        r = self.allocate(Domain="vpc", PublicIpv4Pool="amazon")
        self.assertEqual(r["PublicIpv4Pool"], "amazon")

    def test_dry_run(self):
        before = self.allocs()
        self.assertError("DryRunOperation", self.ec2.allocate_address, Domain="vpc", DryRun=True)
        self.assertEqual(self.allocs(), before, "AllocateAddress with DryRun allocated an address")
        alloc = self.allocate()["AllocationId"]
        self.assertError("DryRunOperation", self.ec2.release_address, AllocationId=alloc, DryRun=True)
        self.address(alloc)

    def test_limit_of_five(self):
        ec2, _ = new_account("eip-limit-" + uuid.uuid4().hex[:6])
        got = [self.allocate(ec2, Domain="vpc") for _ in range(5)]
        self.assertEqual(len({a["PublicIp"] for a in got}), 5, "five allocations, not five addresses")
        self.assertError("AddressLimitExceeded", ec2.allocate_address, Domain="vpc")
        self.assertEqual(len(self.allocs(ec2)), 5, "the refused sixth allocation left an address")
        # Another account's addresses do not count against this one.
        self.allocate(Domain="vpc")
        # One released: room for one more.
        ec2.release_address(AllocationId=got[0]["AllocationId"])
        self.allocate(ec2, Domain="vpc")
        self.assertError("AddressLimitExceeded", ec2.allocate_address, Domain="vpc")

    def test_tags(self):
        r = self.allocate(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [
            {"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "test"}]}])
        alloc = r["AllocationId"]
        plain = self.allocate(Domain="vpc")["AllocationId"]
        tags = lambda: sorted((t["Key"], t["Value"]) for t in self.address(alloc).get("Tags", []))
        self.assertEqual(tags(), [("Name", "web"), ("env", "test")])
        self.assertNotIn("Tags", self.address(plain))
        self.assertEqual(self.by_filter("tag:Name", "web"), [alloc])
        self.assertEqual(self.by_filter("tag:Name", "w*"), [alloc])
        self.assertEqual(self.by_filter("tag:Name", "db"), [])
        self.assertEqual(self.by_filter("tag-key", "env"), [alloc])
        self.ec2.create_tags(Resources=[alloc, plain], Tags=[{"Key": "team", "Value": "net"}])
        self.ec2.delete_tags(Resources=[alloc], Tags=[{"Key": "env"}])
        self.assertEqual(tags(), [("Name", "web"), ("team", "net")])
        self.assertEqual(self.by_filter("tag-key", "team"), sorted([alloc, plain]))
        described = self.ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["elastic-ip"]}])
        self.assertEqual(sorted((t["ResourceId"], t["ResourceType"], t["Key"], t["Value"])
                                for t in described["Tags"]),
                         sorted([(alloc, "elastic-ip", "Name", "web"), (alloc, "elastic-ip", "team", "net"),
                                 (plain, "elastic-ip", "team", "net")]))
        # The tags go with the address.
        self.ec2.release_address(AllocationId=alloc)
        left = self.ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [alloc]}])["Tags"]
        self.assertEqual(left, [], "tags outlived their released address")
        self.assertError("InvalidAllocationID.NotFound", self.ec2.create_tags, Resources=[alloc],
                         Tags=[{"Key": "k", "Value": "v"}])

    def test_unassociated_filters(self):
        a = self.allocate(Domain="vpc")
        b = self.allocate(Domain="vpc")
        both = sorted([a["AllocationId"], b["AllocationId"]])
        for name, value, want in (("allocation-id", a["AllocationId"], [a["AllocationId"]]),
                                  ("public-ip", b["PublicIp"], [b["AllocationId"]]),
                                  ("domain", "vpc", both),
                                  ("domain", "standard", []),
                                  ("network-border-group", "us-east-1", both),
                                  ("instance-id", UNKNOWN_INSTANCE, []),
                                  ("association-id", UNKNOWN_ASSOC, [])):
            with self.subTest(filter=name, value=value):
                self.assertEqual(self.by_filter(name, value), want)
        # Filters and IDs together: both must hold.
        self.assertEqual(self.allocs(AllocationIds=both, Filters=[
            {"Name": "public-ip", "Values": [a["PublicIp"]]}]), [a["AllocationId"]])

    def test_describe_addresses_attribute(self):
        a = self.allocate(Domain="vpc")
        b = self.allocate(Domain="vpc")
        got = self.ec2.describe_addresses_attribute(
            AllocationIds=[a["AllocationId"], b["AllocationId"]], Attribute="domain-name")["Addresses"]
        self.assertEqual(sorted((x["AllocationId"], x["PublicIp"]) for x in got),
                         sorted([(a["AllocationId"], a["PublicIp"]), (b["AllocationId"], b["PublicIp"])]))
        for x in got:
            self.assertNotIn("PtrRecord", x, "amibox sets no reverse DNS record")

    def test_errors(self):
        for bad in ("eipalloc-12345678zz", "eipalloc-", "i-0123456789abcdef0"):
            with self.subTest(allocation_id=bad):
                self.assertError("InvalidAllocationID.Malformed", self.ec2.describe_addresses,
                                 AllocationIds=[bad])
                self.assertError("InvalidAllocationID.Malformed", self.ec2.release_address,
                                 AllocationId=bad)
        self.assertError("InvalidAllocationID.NotFound", self.ec2.describe_addresses,
                         AllocationIds=[UNKNOWN_ALLOC])
        self.assertError("InvalidAllocationID.NotFound", self.ec2.release_address,
                         AllocationId=UNKNOWN_ALLOC)
        self.assertError("InvalidAddress.NotFound", self.ec2.describe_addresses,
                         PublicIps=["198.51.100.1"])
        self.assertError("InvalidParameterValue", self.ec2.describe_addresses,
                         Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
        self.assertError("InvalidAssociationID.NotFound", self.ec2.disassociate_address,
                         AssociationId=UNKNOWN_ASSOC)
        self.assertError("InvalidAssociationID.Malformed", self.ec2.disassociate_address,
                         AssociationId="eipassoc-zz")
        alloc = self.allocate(Domain="vpc")["AllocationId"]
        # Nothing to associate with.
        self.assertError("MissingParameter", self.ec2.associate_address, AllocationId=alloc)
        self.assertError("InvalidInstanceID.NotFound", self.ec2.associate_address,
                         AllocationId=alloc, InstanceId=UNKNOWN_INSTANCE)
        self.assertError("InvalidNetworkInterfaceID.NotFound", self.ec2.associate_address,
                         AllocationId=alloc, NetworkInterfaceId="eni-0123456789abcdef0")
        self.assertUnassociated(alloc, "after refused associations")

    def test_other_accounts_see_nothing(self):
        mine = self.allocate(Domain="vpc")
        alloc, ip = mine["AllocationId"], mine["PublicIp"]
        bobs = self.allocate(self.bob, Domain="vpc")["AllocationId"]
        self.assertEqual(self.allocs(self.bob), [bobs], "Bob's DescribeAddresses")
        self.assertNotIn(bobs, self.allocs(), "Alice sees Bob's address")
        self.assertError("InvalidAllocationID.NotFound", self.bob.describe_addresses,
                         AllocationIds=[alloc])
        self.assertError("InvalidAddress.NotFound", self.bob.describe_addresses, PublicIps=[ip])
        self.assertEqual(self.by_filter("allocation-id", alloc, self.bob), [])
        self.assertEqual(self.by_filter("public-ip", ip, self.bob), [])
        self.assertError("InvalidAllocationID.NotFound", self.bob.release_address, AllocationId=alloc)
        self.assertError("InvalidAllocationID.NotFound", self.bob.create_tags, Resources=[alloc],
                         Tags=[{"Key": "k", "Value": "v"}])
        self.assertError("InvalidAllocationID.NotFound", self.bob.describe_addresses_attribute,
                         AllocationIds=[alloc], Attribute="domain-name")
        self.assertUnassociated(alloc, "after Bob's attempts")
        self.assertNotIn("Tags", self.address(alloc), "Bob tagged Alice's address")


class Associations(Base):
    """The address on instances: replacing and giving back their public address."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        snap = import_image(os.environ["GUEST_HALT"])
        cls.ami = cls.ec2.register_image(
            Name="eip-halt-%s" % uuid.uuid4().hex[:8], Architecture="x86_64",
            VirtualizationType="hvm", RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap}}])["ImageId"]

    def run_instances(self, count=1, wait_gone=False, **kw):
        """Launches count instances, terminated when the test ends (and
        waited for, with wait_gone, when what follows needs them gone)."""
        args = dict(ImageId=self.ami, InstanceType="t2.micro", MinCount=count, MaxCount=count)
        args.update(kw)
        ids = [i["InstanceId"] for i in self.ec2.run_instances(**args)["Instances"]]

        def terminate():
            self.ec2.terminate_instances(InstanceIds=ids)
            if wait_gone:
                for iid in ids:
                    self.wait_state(iid, "terminated")
        self.addCleanup(terminate)
        return ids

    def instance(self, iid):
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]

    def wait_state(self, iid, state, timeout=120):
        deadline = time.time() + timeout
        got = None
        while time.time() < deadline:
            got = self.instance(iid)
            if got["State"]["Name"] == state:
                return got
            time.sleep(0.2)
        self.fail("%s did not become %s within %d s (it is %s)" % (
            iid, state, timeout, got["State"]["Name"] if got else "unknown"))

    def wait_public(self, iid, want, what, timeout=60):
        """Polls until want(PublicIpAddress or None) holds; returns the address."""
        deadline = time.time() + timeout
        ip = None
        while time.time() < deadline:
            ip = self.instance(iid).get("PublicIpAddress")
            if want(ip):
                return ip
            time.sleep(0.2)
        self.fail("%s never had %s within %d s (its public address is %s)" % (iid, what, timeout, ip))

    def associate(self, alloc, **kw):
        r = self.ec2.associate_address(AllocationId=alloc, **kw)
        self.assertRegex(r.get("AssociationId", ""), ASSOC_RE)
        return r["AssociationId"]

    def imds(self, iid, name):
        """(status, body) of the metadata service's meta-data/NAME for the instance."""
        raw = ("GET /latest/meta-data/%s HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n" % name).encode()
        out = subprocess.run([os.environ["AMIBOX_BIN"], "imds", "--data", os.environ["DATA_DIR"],
                              "--instance", iid], input=raw, capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == b"content-length":
                body = body[:int(value)]
        return status, body.decode()

    def assertAssociated(self, alloc, assoc, inst):
        """DescribeAddresses shows the address on inst's primary interface."""
        eni = inst["NetworkInterfaces"][0]
        a = self.address(alloc)
        self.assertEqual({k: a.get(k) for k in ASSOCIATION_KEYS},
                         {"InstanceId": inst["InstanceId"], "AssociationId": assoc,
                          "NetworkInterfaceId": eni["NetworkInterfaceId"],
                          "NetworkInterfaceOwnerId": self.alice_id,
                          "PrivateIpAddress": inst["PrivateIpAddress"]},
                         "DescribeAddresses of %s" % alloc)

    def assertInstancePublic(self, iid, ip, owner):
        """DescribeInstances gives the instance ip, owned by owner ("amazon" or an account)."""
        inst = self.instance(iid)
        eni = inst["NetworkInterfaces"][0]
        self.assertEqual((inst.get("PublicIpAddress"), inst.get("PublicDnsName")),
                         (ip, public_dns(ip)), "%s's public address and name" % iid)
        for where, assoc in (("interface", eni.get("Association", {})),
                             ("primary private address", eni["PrivateIpAddresses"][0].get("Association", {}))):
            self.assertEqual((assoc.get("PublicIp"), assoc.get("IpOwnerId"), assoc.get("PublicDnsName")),
                             (ip, owner, public_dns(ip)), "%s's %s association" % (iid, where))
        return inst

    def instances_at(self, ip):
        found = self.ec2.describe_instances(Filters=[{"Name": "ip-address", "Values": [ip]}])
        return [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]

    def test_associate_with_running_instance(self):
        iid, = self.run_instances()
        inst = self.wait_state(iid, "running")
        # The default subnet maps public addresses: one from the pool, Amazon's.
        auto = self.wait_public(iid, lambda ip: ip is not None, "an automatic public address")
        self.assertIn(ipaddress.ip_address(auto), POOL)
        inst = self.assertInstancePublic(iid, auto, "amazon")
        eni_id = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
        private = inst["PrivateIpAddress"]
        a = self.allocate(Domain="vpc")
        alloc, eip = a["AllocationId"], a["PublicIp"]
        self.assertNotEqual(eip, auto)
        assoc = self.associate(alloc, InstanceId=iid)
        self.assertAssociated(alloc, assoc, inst)
        # The Elastic IP replaced the automatic address, which went back to the pool.
        self.assertInstancePublic(iid, eip, self.alice_id)
        self.assertEqual(self.instances_at(eip), [iid], "DescribeInstances filter ip-address=EIP")
        self.assertEqual(self.instances_at(auto), [], "the replaced automatic address is still in use")
        ni = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
        got = ni.get("Association", {})
        self.assertEqual({k: got.get(k) for k in ("PublicIp", "AllocationId", "AssociationId", "IpOwnerId")},
                         {"PublicIp": eip, "AllocationId": alloc, "AssociationId": assoc,
                          "IpOwnerId": self.alice_id}, "DescribeNetworkInterfaces association")
        found = self.ec2.describe_network_interfaces(
            Filters=[{"Name": "association.public-ip", "Values": [eip]}])["NetworkInterfaces"]
        self.assertEqual([n["NetworkInterfaceId"] for n in found], [eni_id])
        self.assertEqual(self.imds(iid, "public-ipv4"), (200, eip), "the metadata's public-ipv4")
        # Every filter on the association finds it, and only it.
        other = self.allocate(Domain="vpc")["AllocationId"]
        for name, value in (("association-id", assoc), ("instance-id", iid),
                            ("network-interface-id", eni_id),
                            ("network-interface-owner-id", self.alice_id),
                            ("private-ip-address", private), ("public-ip", eip)):
            with self.subTest(filter=name):
                self.assertEqual(self.by_filter(name, value), [alloc])
        self.assertEqual(self.allocs(Filters=[{"Name": "domain", "Values": ["vpc"]}]),
                         sorted([alloc, other]))
        # Disassociated: a new automatic address (the subnet maps them), not the EIP.
        self.ec2.disassociate_address(AssociationId=assoc)
        self.assertUnassociated(alloc, "after DisassociateAddress")
        new = self.wait_public(iid, lambda ip: ip is not None and ip != eip,
                               "a new automatic public address after DisassociateAddress")
        self.assertIn(ipaddress.ip_address(new), POOL)
        self.assertInstancePublic(iid, new, "amazon")
        ni = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
        self.assertNotIn("AllocationId", ni.get("Association", {}), "the interface still names the EIP")
        self.assertEqual(self.instances_at(eip), [], "the EIP still finds the instance")
        self.assertEqual(self.by_filter("instance-id", iid), [])
        self.assertEqual(self.imds(iid, "public-ipv4"), (200, new), "the metadata's public-ipv4")
        self.assertError("InvalidAssociationID.NotFound", self.ec2.disassociate_address,
                         AssociationId=assoc)
        self.ec2.release_address(AllocationId=alloc)
        self.assertError("InvalidAllocationID.NotFound", self.ec2.describe_addresses,
                         AllocationIds=[alloc])

    def test_reassociation_and_replacement(self):
        a_id, b_id = self.run_instances(2)
        a = self.wait_state(a_id, "running")
        b = self.wait_state(b_id, "running")
        e1 = self.allocate(Domain="vpc")
        e2 = self.allocate(Domain="vpc")
        # With the private address named, as Terraform's associate_with_private_ip sends it.
        first = self.associate(e1["AllocationId"], InstanceId=a_id, PrivateIpAddress=a["PrivateIpAddress"])
        self.assertAssociated(e1["AllocationId"], first, a)
        # Already on A: not moved when reassociation is refused.
        self.assertError("Resource.AlreadyAssociated", self.ec2.associate_address,
                         AllocationId=e1["AllocationId"], InstanceId=b_id, AllowReassociation=False)
        self.assertAssociated(e1["AllocationId"], first, a)
        self.assertEqual(self.instance(a_id).get("PublicIpAddress"), e1["PublicIp"])
        # Allowed: it moves to B, and A (still running) gets an automatic address again.
        moved = self.associate(e1["AllocationId"], InstanceId=b_id, AllowReassociation=True)
        self.assertNotEqual(moved, first, "a moved address kept its association ID")
        self.assertAssociated(e1["AllocationId"], moved, b)
        self.assertInstancePublic(b_id, e1["PublicIp"], self.alice_id)
        back = self.wait_public(a_id, lambda ip: ip is not None and ip != e1["PublicIp"],
                                "an automatic address after its EIP moved away")
        self.assertInstancePublic(a_id, back, "amazon")
        self.assertError("InvalidAssociationID.NotFound", self.ec2.disassociate_address,
                         AssociationId=first)
        # A second address on B, by its interface: the first one is let go
        # but stays allocated.
        b_eni = b["NetworkInterfaces"][0]["NetworkInterfaceId"]
        second = self.associate(e2["AllocationId"], NetworkInterfaceId=b_eni)
        self.assertAssociated(e2["AllocationId"], second, b)
        self.assertUnassociated(e1["AllocationId"], "the address B had before")
        self.assertInstancePublic(b_id, e2["PublicIp"], self.alice_id)
        self.assertEqual(self.instances_at(e1["PublicIp"]), [])
        # The same association again is no error (EC2: "an idempotent operation").
        self.ec2.associate_address(AllocationId=e2["AllocationId"], InstanceId=b_id)
        self.assertEqual(self.address(e2["AllocationId"]).get("InstanceId"), b_id)
        self.assertInstancePublic(b_id, e2["PublicIp"], self.alice_id)
        # The freed one goes to A, replacing A's automatic address.
        again = self.associate(e1["AllocationId"], InstanceId=a_id)
        self.assertAssociated(e1["AllocationId"], again, self.instance(a_id))
        self.assertInstancePublic(a_id, e1["PublicIp"], self.alice_id)
        self.assertEqual(self.instances_at(back), [], "A's automatic address was not given back")
        # Without AllowReassociation an address moves too (a VPC reassociates
        # automatically; only false asks for the refusal).
        to_b = self.associate(e1["AllocationId"], InstanceId=b_id)
        self.assertAssociated(e1["AllocationId"], to_b, self.instance(b_id))
        self.assertUnassociated(e2["AllocationId"], "B's address after another took its place")
        # Released while associated in the default VPC: taken off B first, and
        # B (running) gets an automatic address again.
        self.ec2.release_address(AllocationId=e1["AllocationId"])
        self.assertError("InvalidAllocationID.NotFound", self.ec2.describe_addresses,
                         AllocationIds=[e1["AllocationId"]])
        self.wait_public(b_id, lambda ip: ip is not None and ip != e1["PublicIp"],
                         "an automatic address after its EIP was released")

    def test_stopped_instance_keeps_its_address(self):
        iid, = self.run_instances()
        self.wait_state(iid, "running")
        self.ec2.stop_instances(InstanceIds=[iid], Force=True)
        inst = self.wait_state(iid, "stopped")
        self.assertNotIn("PublicIpAddress", inst, "a stopped instance kept its automatic address")
        a = self.allocate(Domain="vpc")
        alloc, eip = a["AllocationId"], a["PublicIp"]
        # Associated while stopped: shown at once, though nothing runs.
        assoc = self.associate(alloc, InstanceId=iid)
        self.assertAssociated(alloc, assoc, inst)
        self.assertInstancePublic(iid, eip, self.alice_id)
        self.ec2.start_instances(InstanceIds=[iid])
        self.wait_state(iid, "running")
        self.assertInstancePublic(iid, eip, self.alice_id)
        self.assertEqual(self.imds(iid, "public-ipv4"), (200, eip), "the metadata's public-ipv4")
        self.ec2.stop_instances(InstanceIds=[iid], Force=True)
        inst = self.wait_state(iid, "stopped")
        self.assertAssociated(alloc, assoc, inst)
        self.assertInstancePublic(iid, eip, self.alice_id)
        # Disassociated while stopped: no public address until it runs again.
        self.ec2.disassociate_address(AssociationId=assoc)
        self.assertUnassociated(alloc, "after DisassociateAddress of a stopped instance")
        inst = self.instance(iid)
        self.assertNotIn("PublicIpAddress", inst, "a stopped instance has a public address")
        self.assertNotIn("Association", inst["NetworkInterfaces"][0])
        self.ec2.start_instances(InstanceIds=[iid])
        self.wait_state(iid, "running")
        auto = self.wait_public(iid, lambda ip: ip is not None, "an automatic address after the start")
        self.assertNotEqual(auto, eip, "the pool gave out an address that is still allocated")
        self.assertInstancePublic(iid, auto, "amazon")

    def test_terminate_disassociates(self):
        iid, = self.run_instances()
        self.wait_state(iid, "running")
        a = self.allocate(Domain="vpc")
        alloc = a["AllocationId"]
        assoc = self.associate(alloc, InstanceId=iid)
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.wait_state(iid, "terminated")
        kept = self.assertUnassociated(alloc, "after its instance terminated")
        self.assertEqual((kept["PublicIp"], kept["Domain"]), (a["PublicIp"], "vpc"),
                         "the address is still allocated, unchanged")
        self.assertError("InvalidAssociationID.NotFound", self.ec2.disassociate_address,
                         AssociationId=assoc)
        self.assertError(ENDED_INSTANCE_CODES, self.ec2.associate_address, AllocationId=alloc,
                         InstanceId=iid)
        self.assertUnassociated(alloc, "after an association with a terminated instance")
        self.ec2.release_address(AllocationId=alloc)
        self.assertEqual(self.by_filter("allocation-id", alloc), [])

    def test_kept_interface_keeps_its_address(self):
        """An interface that outlives its instance (DeleteOnTermination false)
        keeps its Elastic IP address, as on EC2; a release in the default VPC
        takes it off."""
        subnet = self.ec2.describe_subnets(Filters=[
            {"Name": "default-for-az", "Values": ["true"]},
            {"Name": "availability-zone", "Values": ["us-east-1a"]}])["Subnets"][0]["SubnetId"]
        iid, = self.run_instances(NetworkInterfaces=[{
            "DeviceIndex": 0, "SubnetId": subnet, "DeleteOnTermination": False}])
        inst = self.wait_state(iid, "running")
        eni = inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
        a = self.allocate(Domain="vpc")
        assoc = self.associate(a["AllocationId"], InstanceId=iid)
        self.ec2.terminate_instances(InstanceIds=[iid])
        self.wait_state(iid, "terminated")
        kept = self.address(a["AllocationId"])
        self.assertEqual((kept.get("AssociationId"), kept.get("NetworkInterfaceId"),
                          kept.get("InstanceId")), (assoc, eni, None),
                         "the kept interface's address after its instance terminated")
        got = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        self.assertEqual((got["Status"], got["Association"]["PublicIp"],
                          got["Association"]["AllocationId"]),
                         ("available", a["PublicIp"], a["AllocationId"]))
        self.ec2.release_address(AllocationId=a["AllocationId"])
        got = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        self.assertNotIn("Association", got, "the released address is still on the interface")

    def test_other_accounts_instances(self):
        iid, = self.run_instances()
        bobs = self.allocate(self.bob, Domain="vpc")["AllocationId"]
        mine = self.allocate(Domain="vpc")["AllocationId"]
        self.assertError("InvalidInstanceID.NotFound", self.bob.associate_address,
                         AllocationId=bobs, InstanceId=iid)
        self.assertError(("InvalidAllocationID.NotFound", "InvalidInstanceID.NotFound"),
                         self.bob.associate_address, AllocationId=mine, InstanceId=iid)
        self.assertUnassociated(mine, "after Bob's attempt")
        self.assertEqual(self.by_filter("instance-id", iid, self.bob), [])

    def test_vpc_of_its_own(self):
        """A VPC needs an internet gateway for an Elastic IP; a subnet that maps
        no public addresses gives none back after DisassociateAddress."""
        ec2 = self.ec2
        # Cleanups run last first: the address, the instance (waited for),
        # the gateway, the subnet, the VPC.
        vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
        self.addCleanup(ec2.delete_vpc, VpcId=vpc)
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24",
                                   AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        self.addCleanup(self.delete_subnet_when_free, subnet)
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.addCleanup(ec2.delete_internet_gateway, InternetGatewayId=igw)
        self.addCleanup(self.detach_quietly, igw, vpc)
        iid, = self.run_instances(SubnetId=subnet, wait_gone=True)
        inst = self.wait_state(iid, "running")
        self.assertNotIn("PublicIpAddress", inst, "the subnet maps no public addresses")
        a = self.allocate(Domain="vpc")
        alloc, eip = a["AllocationId"], a["PublicIp"]
        self.assertError("Gateway.NotAttached", ec2.associate_address, AllocationId=alloc, InstanceId=iid)
        self.assertUnassociated(alloc, "after Gateway.NotAttached")
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        assoc = self.associate(alloc, InstanceId=iid)
        self.assertAssociated(alloc, assoc, inst)
        self.assertInstancePublic(iid, eip, self.alice_id)
        self.assertEqual(self.imds(iid, "public-ipv4"), (200, eip), "the metadata's public-ipv4")
        # In a VPC other than the default one, an associated address is not
        # released (EC2's ReleaseAddress: InvalidIPAddress.InUse), and the
        # gateway stays while the address is mapped (DetachInternetGateway:
        # "must not contain any running instances with Elastic IP addresses").
        self.assertError("InvalidIPAddress.InUse", ec2.release_address, AllocationId=alloc)
        self.assertError("DependencyViolation", ec2.detach_internet_gateway,
                         InternetGatewayId=igw, VpcId=vpc)
        self.assertAssociated(alloc, assoc, inst)
        ec2.disassociate_address(AssociationId=assoc)
        self.assertUnassociated(alloc, "after DisassociateAddress")
        inst = self.instance(iid)
        self.assertNotIn("PublicIpAddress", inst, "an instance of a subnet without public "
                         "addresses got one when its EIP went")
        self.assertNotIn("Association", inst["NetworkInterfaces"][0])
        ec2.release_address(AllocationId=alloc)

    def detach_quietly(self, igw, vpc):
        try:
            self.ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        except ClientError:
            pass

    def delete_subnet_when_free(self, subnet, timeout=60):
        """The terminated instance's interface goes a moment after it; then the subnet can."""
        deadline = time.time() + timeout
        while True:
            try:
                self.ec2.delete_subnet(SubnetId=subnet)
                return
            except ClientError as err:
                if err.response["Error"]["Code"] != "DependencyViolation" or time.time() > deadline:
                    raise
            time.sleep(0.5)


if __name__ == "__main__":
    cases.main()
