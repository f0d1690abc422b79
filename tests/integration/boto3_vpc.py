"""VPC networking through boto3: each account's default VPC (a subnet per
zone, default security group, main route table, default network ACL,
internet gateway, DHCP options), VPCs, subnets, security groups and their
rules, internet gateways, network interfaces, account attributes, instance
type offerings and zones, with EC2's error codes.

Run by t_vpc.sh; needs ENDPOINT, DATA_DIR, AMIBOX_BIN, ALICE_*, BOB_*.
"""
import os
import sqlite3
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import cases  # records each case for make check
from ec2_lib import new_account

ENDPOINT = os.environ["ENDPOINT"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1")
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def client(who):
    return boto3.client("ec2", endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ[who + "_KEY"],
                        aws_secret_access_key=os.environ[who + "_SECRET"])


def add_interface(subnet, vpc, owner, ip, group, instance=None, public_ip=None):
    """Stands in for RunInstances' catalog_eni_create until RunInstances makes
    interfaces: one row as that function writes it."""
    eni = "eni-%017x" % (int(time.time() * 1e6) & ((1 << 68) - 1))
    a, b, c, d = (int(x) for x in ip.split("."))
    with sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=30) as db:
        db.execute("INSERT INTO network_interfaces (eni_id, owner_id, subnet_id, vpc_id, zone,"
                   " private_ip, private_ip_num, mac, public_ip, want_public_ip, description,"
                   " source_dest_check, create_ms, instance_id, attachment_id, device_index,"
                   " delete_on_termination, attach_ms) VALUES (?, ?, ?, ?, 'us-east-1a', ?, ?,"
                   " '0a:00:00:00:00:01', ?, 0, '', 1, 0, ?, ?, 0, 1, 1700000000000)",
                   (eni, owner, subnet, vpc, ip, (a << 24) | (b << 16) | (c << 8) | d,
                    public_ip, instance, "eni-attach-0123456789abcdef0" if instance else None))
        db.execute("INSERT INTO network_interface_groups VALUES (?, ?, 0)", (eni, group))
    return eni


class DefaultVpc(unittest.TestCase):
    def setUp(self):
        self.ec2 = client("ALICE")

    def default_vpc(self):
        vpcs = self.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        self.assertEqual(len(vpcs), 1)
        return vpcs[0]

    def test_default_vpc_and_subnets(self):
        vpc = self.default_vpc()
        self.assertEqual(vpc["CidrBlock"], "172.31.0.0/16")
        self.assertTrue(vpc["IsDefault"])
        self.assertEqual(vpc["State"], "available")
        self.assertEqual(vpc["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"], "associated")
        subnets = self.ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                     {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        got = sorted((s["AvailabilityZone"], s["CidrBlock"], s["MapPublicIpOnLaunch"],
                      s["AvailableIpAddressCount"]) for s in subnets)
        self.assertEqual(got, [("us-east-1a", "172.31.0.0/20", True, 4091),
                               ("us-east-1b", "172.31.16.0/20", True, 4091),
                               ("us-east-1c", "172.31.32.0/20", True, 4091)])
        for attr, want in (("enableDnsSupport", True), ("enableDnsHostnames", True),
                           ("enableNetworkAddressUsageMetrics", False)):
            got = self.ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attr)
            key = attr[0].upper() + attr[1:]
            self.assertEqual(got[key]["Value"], want, attr)
        attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
                 for a in self.ec2.describe_account_attributes()["AccountAttributes"]}
        self.assertEqual(attrs["default-vpc"], [vpc["VpcId"]])
        self.assertEqual(attrs["supported-platforms"], ["VPC"])
        one = self.ec2.describe_account_attributes(AttributeNames=["default-vpc"])
        self.assertEqual(len(one["AccountAttributes"]), 1)

    def test_default_group_route_table_acl_gateway(self):
        vpc = self.default_vpc()["VpcId"]
        groups = self.ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]},
                     {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        self.assertEqual(len(groups), 1)
        sg = groups[0]
        self.assertEqual(sg["IpPermissions"][0]["IpProtocol"], "-1")
        self.assertEqual(sg["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"], sg["GroupId"])
        self.assertEqual(sg["IpPermissionsEgress"][0]["IpRanges"], [{"CidrIp": "0.0.0.0/0"}])
        igws = self.ec2.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]
        self.assertEqual(len(igws), 1)
        self.assertEqual(igws[0]["Attachments"], [{"State": "available", "VpcId": vpc}])
        tables = self.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc]},
                     {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
        self.assertEqual(len(tables), 1)
        routes = [(r["DestinationCidrBlock"], r["GatewayId"], r["State"]) for r in tables[0]["Routes"]]
        self.assertEqual(routes, [("172.31.0.0/16", "local", "active"),
                                  ("0.0.0.0/0", igws[0]["InternetGatewayId"], "active")])
        self.assertTrue(tables[0]["Associations"][0]["Main"])
        acls = self.ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vpc]},
                     {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
        self.assertEqual(len(acls), 1)
        entries = sorted((e["RuleNumber"], e["Egress"], e["RuleAction"]) for e in acls[0]["Entries"])
        self.assertEqual(entries, [(100, False, "allow"), (100, True, "allow"),
                                   (32767, False, "deny"), (32767, True, "deny")])
        self.assertEqual(len(acls[0]["Associations"]), 3)
        dopt = self.ec2.describe_dhcp_options()["DhcpOptions"]
        self.assertEqual(len(dopt), 1)
        config = {c["Key"]: [v["Value"] for v in c["Values"]] for c in dopt[0]["DhcpConfigurations"]}
        self.assertEqual(config, {"domain-name": ["ec2.internal"],
                                  "domain-name-servers": ["AmazonProvidedDNS"]})

    def test_accounts_see_only_their_own(self):
        alice_vpc = self.default_vpc()["VpcId"]
        bob = client("BOB")
        bob_vpcs = bob.describe_vpcs()["Vpcs"]
        self.assertEqual(len(bob_vpcs), 1)
        self.assertNotEqual(bob_vpcs[0]["VpcId"], alice_vpc)
        with self.assertRaises(ClientError) as cm:
            bob.describe_vpcs(VpcIds=[alice_vpc])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidVpcID.NotFound")
        with self.assertRaises(ClientError) as cm:
            bob.delete_vpc(VpcId=alice_vpc)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidVpcID.NotFound")
        with self.assertRaises(ClientError) as cm:
            bob.create_tags(Resources=[alice_vpc], Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidVpcID.NotFound")

    def test_delete_and_recreate_default_vpc(self):
        ec2, _ = new_account("vpc-carol")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        with self.assertRaises(ClientError) as cm:
            ec2.create_default_vpc()
        self.assertEqual(cm.exception.response["Error"]["Code"], "DefaultVpcAlreadyExists")
        with self.assertRaises(ClientError) as cm:
            ec2.delete_vpc(VpcId=vpc)
        self.assertEqual(cm.exception.response["Error"]["Code"], "DependencyViolation")
        for s in ec2.describe_subnets()["Subnets"]:
            ec2.delete_subnet(SubnetId=s["SubnetId"])
        igw = ec2.describe_internet_gateways()["InternetGateways"][0]["InternetGatewayId"]
        with self.assertRaises(ClientError) as cm:
            ec2.delete_internet_gateway(InternetGatewayId=igw)
        self.assertEqual(cm.exception.response["Error"]["Code"], "DependencyViolation")
        ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        with self.assertRaises(ClientError) as cm:
            ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        self.assertEqual(cm.exception.response["Error"]["Code"], "Gateway.NotAttached")
        ec2.delete_internet_gateway(InternetGatewayId=igw)
        ec2.delete_vpc(VpcId=vpc)
        # A deleted default VPC stays deleted: nothing brings it back lazily.
        self.assertEqual(ec2.describe_vpcs()["Vpcs"], [])
        self.assertEqual(ec2.describe_security_groups()["SecurityGroups"], [])
        self.assertEqual(ec2.describe_route_tables()["RouteTables"], [])
        attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])
        self.assertEqual(attrs["AccountAttributes"][0]["AttributeValues"][0]["AttributeValue"], "none")
        with self.assertRaises(ClientError) as cm:
            ec2.create_security_group(GroupName="x", Description="x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "VPCIdNotSpecified")
        made = ec2.create_default_vpc()["Vpc"]
        self.assertTrue(made["IsDefault"])
        self.assertNotEqual(made["VpcId"], vpc)
        self.assertEqual(len(ec2.describe_subnets()["Subnets"]), 3)
        ec2.delete_subnet(SubnetId=ec2.describe_subnets(
            Filters=[{"Name": "availabilityZone", "Values": ["us-east-1b"]}])["Subnets"][0]["SubnetId"])
        again = ec2.create_default_subnet(AvailabilityZone="us-east-1b")["Subnet"]
        self.assertEqual((again["CidrBlock"], again["DefaultForAz"]), ("172.31.16.0/20", True))
        with self.assertRaises(ClientError) as cm:
            ec2.create_default_subnet(AvailabilityZone="us-east-1b")
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "DefaultSubnetAlreadyExistsInAvailabilityZone")


class Vpcs(unittest.TestCase):
    def setUp(self):
        self.ec2 = client("ALICE")

    def code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def test_vpc_life_cycle(self):
        ec2 = self.ec2
        self.assertEqual(self.code(ec2.create_vpc, CidrBlock="10.0.0.0/8"), "InvalidVpc.Range")
        self.assertEqual(self.code(ec2.create_vpc, CidrBlock="10.0.0.1/16"), "InvalidParameterValue")
        self.assertEqual(self.code(ec2.create_vpc, CidrBlock="10.0.0.0/16",
                                   AmazonProvidedIpv6CidrBlock=True), "InvalidParameterValue")
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "life"}]}])["Vpc"]
        vid = vpc["VpcId"]
        self.assertEqual(vpc["Tags"], [{"Key": "Name", "Value": "life"}])
        self.assertFalse(vpc["IsDefault"])
        got = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["life"]}])["Vpcs"]
        self.assertEqual([v["VpcId"] for v in got], [vid])
        got = ec2.describe_vpcs(Filters=[{"Name": "cidr-block-association.cidr-block",
                                          "Values": ["10.1.*"]}])["Vpcs"]
        self.assertEqual([v["VpcId"] for v in got], [vid])
        self.assertFalse(ec2.describe_vpc_attribute(
            VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"])
        ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
        self.assertTrue(ec2.describe_vpc_attribute(
            VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"])
        self.assertEqual(self.code(ec2.describe_vpc_attribute, VpcId=vid, Attribute="bogus"),
                         "InvalidParameterValue")
        # Made with it: a main route table (local route), a default ACL and group.
        table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"]
        self.assertEqual([(r["DestinationCidrBlock"], r["GatewayId"]) for r in table[0]["Routes"]],
                         [("10.1.0.0/16", "local")])
        self.assertEqual(len(ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [vid]}])["NetworkAcls"]), 1)
        subnet = ec2.create_subnet(VpcId=vid, CidrBlock="10.1.1.0/24",
                                   AvailabilityZone="us-east-1b")["Subnet"]
        self.assertEqual((subnet["AvailabilityZone"], subnet["AvailabilityZoneId"],
                          subnet["AvailableIpAddressCount"], subnet["MapPublicIpOnLaunch"]),
                         ("us-east-1b", "use1-az2", 251, False))
        self.assertEqual(self.code(ec2.delete_vpc, VpcId=vid), "DependencyViolation")
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vid)
        self.assertEqual(self.code(ec2.describe_vpcs, VpcIds=[vid]), "InvalidVpcID.NotFound")
        self.assertEqual(self.code(ec2.describe_vpcs, VpcIds=["vpc-xyz"]), "InvalidVpcID.Malformed")
        self.assertEqual(self.code(ec2.delete_vpc, VpcId=vid), "InvalidVpcID.NotFound")
        self.assertEqual(ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"], [])
        self.assertEqual(ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"], [])

    def test_subnets(self):
        ec2 = self.ec2
        vid = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        self.assertEqual(self.code(ec2.create_subnet, VpcId=vid, CidrBlock="10.3.0.0/24"),
                         "InvalidSubnet.Range")
        self.assertEqual(self.code(ec2.create_subnet, VpcId=vid, CidrBlock="10.2.0.0/29"),
                         "InvalidSubnet.Range")
        self.assertEqual(self.code(ec2.create_subnet, VpcId="vpc-0123456789abcdef0",
                                   CidrBlock="10.2.0.0/24"), "InvalidVpcID.NotFound")
        self.assertEqual(self.code(ec2.create_subnet, VpcId=vid, CidrBlock="10.2.0.0/24",
                                   AvailabilityZone="us-east-1z"), "InvalidParameterValue")
        ids = []
        for i in range(7):
            s = ec2.create_subnet(VpcId=vid, CidrBlock="10.2.%d.0/24" % i,
                                  TagSpecifications=[{"ResourceType": "subnet",
                                                      "Tags": [{"Key": "n", "Value": str(i)}]}])
            ids.append(s["Subnet"]["SubnetId"])
        self.assertEqual(self.code(ec2.create_subnet, VpcId=vid, CidrBlock="10.2.0.0/20"),
                         "InvalidSubnet.Conflict")
        zones = [s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=ids)["Subnets"]]
        self.assertEqual(sorted(set(zones)), ZONES)  # without a zone: spread over them
        pages = ec2.get_paginator("describe_subnets").paginate(
            Filters=[{"Name": "vpc-id", "Values": [vid]}], PaginationConfig={"PageSize": 5})
        seen = [s["SubnetId"] for p in pages for s in p["Subnets"]]
        self.assertEqual(sorted(seen), sorted(ids))
        ec2.modify_subnet_attribute(SubnetId=ids[0], MapPublicIpOnLaunch={"Value": True})
        got = ec2.describe_subnets(Filters=[{"Name": "map-public-ip-on-launch", "Values": ["true"]},
                                            {"Name": "vpc-id", "Values": [vid]}])["Subnets"]
        self.assertEqual([s["SubnetId"] for s in got], [ids[0]])
        self.assertEqual(self.code(ec2.modify_subnet_attribute, SubnetId=ids[0],
                                   AssignIpv6AddressOnCreation={"Value": True}),
                         "InvalidParameterValue")
        got = ec2.describe_subnets(Filters=[{"Name": "tag:n", "Values": ["3"]}])["Subnets"]
        self.assertEqual([s["SubnetId"] for s in got], [ids[3]])
        for s in ids:
            ec2.delete_subnet(SubnetId=s)
        self.assertEqual(self.code(ec2.delete_subnet, SubnetId=ids[0]), "InvalidSubnetID.NotFound")
        ec2.delete_vpc(VpcId=vid)

    def test_internet_gateway(self):
        ec2 = self.ec2
        vid = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vid)
        table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"][0]
        self.assertIn(("0.0.0.0/0", igw), [(r["DestinationCidrBlock"], r["GatewayId"])
                                           for r in table["Routes"]])
        other = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.assertEqual(self.code(ec2.attach_internet_gateway, InternetGatewayId=other, VpcId=vid),
                         "Resource.AlreadyAssociated")
        self.assertEqual(self.code(ec2.delete_vpc, VpcId=vid), "DependencyViolation")
        ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vid)
        table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"][0]
        self.assertEqual(len(table["Routes"]), 1)
        for g in (igw, other):
            ec2.delete_internet_gateway(InternetGatewayId=g)
        ec2.delete_vpc(VpcId=vid)

    def test_zones_and_offerings(self):
        ec2 = self.ec2
        zones = ec2.describe_availability_zones()["AvailabilityZones"]
        self.assertEqual([(z["ZoneName"], z["ZoneId"]) for z in zones],
                         [("us-east-1a", "use1-az1"), ("us-east-1b", "use1-az2"),
                          ("us-east-1c", "use1-az3")])
        one = ec2.describe_availability_zones(Filters=[{"Name": "zone-id", "Values": ["use1-az3"]}])
        self.assertEqual([z["ZoneName"] for z in one["AvailabilityZones"]], ["us-east-1c"])
        self.assertEqual(self.code(ec2.describe_availability_zones, ZoneNames=["us-east-1q"]),
                         "InvalidParameterValue")
        region = ec2.describe_instance_type_offerings(
            Filters=[{"Name": "instance-type", "Values": ["t2.micro"]}])["InstanceTypeOfferings"]
        self.assertEqual(region, [{"InstanceType": "t2.micro", "LocationType": "region",
                                   "Location": "us-east-1"}])
        by_zone = ec2.describe_instance_type_offerings(
            LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": ["t2.micro", "m1.small"]}])
        got = sorted((o["InstanceType"], o["Location"]) for o in by_zone["InstanceTypeOfferings"])
        self.assertEqual(got, sorted((t, z) for t in ("t2.micro", "m1.small") for z in ZONES))
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone-id", PaginationConfig={"PageSize": 7})
        all_offers = [(o["InstanceType"], o["Location"]) for p in pages
                      for o in p["InstanceTypeOfferings"]]
        self.assertEqual(len(all_offers), len(set(all_offers)))
        self.assertIn(("t2.micro", "use1-az2"), all_offers)


class SecurityGroups(unittest.TestCase):
    def setUp(self):
        self.ec2 = client("ALICE")

    def code(self, fn, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        return cm.exception.response["Error"]["Code"]

    def group(self, gid):
        return self.ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"][0]

    def test_create_describe_delete(self):
        ec2 = self.ec2
        gid = ec2.create_security_group(GroupName="web", Description="web servers",
                                        TagSpecifications=[{"ResourceType": "security-group",
                                                            "Tags": [{"Key": "t", "Value": "1"}]}])["GroupId"]
        sg = self.group(gid)
        default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
        self.assertEqual(sg["VpcId"], default_vpc["VpcId"])
        self.assertEqual(sg["IpPermissions"], [])
        self.assertEqual([p["IpRanges"] for p in sg["IpPermissionsEgress"]], [[{"CidrIp": "0.0.0.0/0"}]])
        self.assertEqual(sg["Tags"], [{"Key": "t", "Value": "1"}])
        self.assertEqual(self.code(ec2.create_security_group, GroupName="web", Description="again"),
                         "InvalidGroup.Duplicate")
        self.assertEqual(self.code(ec2.create_security_group, GroupName="default", Description="x"),
                         "InvalidGroup.Reserved")
        self.assertEqual(self.code(ec2.create_security_group, GroupName="sg-1", Description="x"),
                         "InvalidParameterValue")
        by_name = ec2.describe_security_groups(GroupNames=["web"])["SecurityGroups"]
        self.assertEqual([g["GroupId"] for g in by_name], [gid])
        self.assertEqual(self.code(ec2.describe_security_groups, GroupNames=["nope"]),
                         "InvalidGroup.NotFound")
        self.assertEqual(self.code(ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"]),
                         "InvalidGroup.NotFound")
        default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
        self.assertEqual(self.code(ec2.delete_security_group, GroupId=default), "CannotDelete")
        # The same name in another VPC is another group.
        vid = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
        other = ec2.create_security_group(GroupName="web", Description="other", VpcId=vid)["GroupId"]
        self.assertNotEqual(other, gid)
        self.assertEqual(self.code(ec2.delete_vpc, VpcId=vid), "DependencyViolation")
        ec2.delete_security_group(GroupId=other)
        ec2.delete_vpc(VpcId=vid)
        ec2.delete_security_group(GroupName="web")
        self.assertEqual(self.code(ec2.delete_security_group, GroupId=gid), "InvalidGroup.NotFound")

    def test_rules(self):
        ec2 = self.ec2
        gid = ec2.create_security_group(GroupName="rules", Description="rules")["GroupId"]
        peer = ec2.create_security_group(GroupName="peer", Description="peer")["GroupId"]
        out = ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "ssh"}, {"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "6", "FromPort": 80, "ToPort": 81, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": peer}]},
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
             "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]}])
        self.assertTrue(out["Return"])
        self.assertEqual(len(out["SecurityGroupRules"]), 6)
        self.assertTrue(all(r["SecurityGroupRuleId"].startswith("sgr-")
                            for r in out["SecurityGroupRules"]))
        perms = {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")): p
                 for p in self.group(gid)["IpPermissions"]}
        self.assertEqual(sorted(perms), sorted([("tcp", 22, 22), ("tcp", 80, 81), ("icmp", 8, -1),
                                                ("-1", None, None), ("udp", 53, 53)]))
        self.assertEqual(perms[("tcp", 22, 22)]["IpRanges"],
                         [{"CidrIp": "0.0.0.0/0", "Description": "ssh"}, {"CidrIp": "10.0.0.0/8"}])
        self.assertEqual(perms[("-1", None, None)]["UserIdGroupPairs"][0]["GroupId"], peer)
        self.assertEqual(perms[("udp", 53, 53)]["Ipv6Ranges"], [{"CidrIpv6": "2001:db8::/32"}])
        # Errors, as EC2 names them.
        dup = dict(GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        self.assertEqual(self.code(ec2.authorize_security_group_ingress, **dup),
                         "InvalidPermission.Duplicate")
        self.assertEqual(self.code(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 90, "ToPort": 80, "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]),
            "InvalidParameterValue")
        self.assertEqual(self.code(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
            {"IpProtocol": "bogus", "IpRanges": [{"CidrIp": "1.0.0.0/8"}]}]), "InvalidParameterValue")
        self.assertEqual(self.code(ec2.authorize_security_group_ingress, GroupId=gid, IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}]),
            "InvalidGroup.NotFound")
        self.assertEqual(self.code(ec2.revoke_security_group_ingress, GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 23, "ToPort": 23, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
            "InvalidPermission.NotFound")
        # The flat form of the first API versions, by group name.
        ec2.authorize_security_group_ingress(GroupName="rules", IpProtocol="tcp", FromPort=443,
                                             ToPort=443, CidrIp="192.168.0.0/16")
        self.assertIn(("tcp", 443, 443), [(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"))
                                          for p in self.group(gid)["IpPermissions"]])
        # A referenced group cannot go while the reference stands.
        self.assertEqual(self.code(ec2.delete_security_group, GroupId=peer), "DependencyViolation")
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
        self.assertEqual(len(rules), 8)  # 7 ingress and the default egress
        ref = [r for r in rules if "ReferencedGroupInfo" in r][0]
        self.assertEqual(ref["ReferencedGroupInfo"]["GroupId"], peer)
        self.assertEqual((ref["IpProtocol"], ref["FromPort"], ref["ToPort"]), ("-1", -1, -1))
        gone = ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=[
            ref["SecurityGroupRuleId"]])
        output = ec2.meta.service_model.operation_model("RevokeSecurityGroupIngress").output_shape
        if "RevokedSecurityGroupRules" in output.members:  # botocore 1.29's model predates it
            self.assertEqual([r["SecurityGroupRuleId"] for r in gone["RevokedSecurityGroupRules"]],
                             [ref["SecurityGroupRuleId"]])
        ec2.delete_security_group(GroupId=peer)
        # ModifySecurityGroupRules rewrites one rule in place.
        ssh = [r for r in rules if r.get("FromPort") == 22 and r.get("CidrIpv4") == "10.0.0.0/8"][0]
        ec2.modify_security_group_rules(GroupId=gid, SecurityGroupRules=[{
            "SecurityGroupRuleId": ssh["SecurityGroupRuleId"],
            "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 2222, "ToPort": 2222,
                                  "CidrIpv4": "10.9.0.0/16", "Description": "moved"}}])
        moved = ec2.describe_security_group_rules(
            SecurityGroupRuleIds=[ssh["SecurityGroupRuleId"]])["SecurityGroupRules"][0]
        self.assertEqual((moved["FromPort"], moved["CidrIpv4"], moved["Description"]),
                         (2222, "10.9.0.0/16", "moved"))
        ec2.update_security_group_rule_descriptions_ingress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "192.168.0.0/16", "Description": "https"}]}])
        https = [r for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
                 if r.get("FromPort") == 443][0]
        self.assertEqual(https["Description"], "https")
        # Egress: revoke the default rule as Terraform does, add one back.
        ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "-1", "FromPort": 0, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        self.assertEqual(self.group(gid)["IpPermissionsEgress"], [])
        ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        egress = self.group(gid)["IpPermissionsEgress"]
        self.assertEqual([(p["IpProtocol"], p["FromPort"]) for p in egress], [("tcp", 443)])
        found = ec2.describe_security_groups(Filters=[
            {"Name": "egress.ip-permission.to-port", "Values": ["443"]},
            {"Name": "ip-permission.cidr", "Values": ["192.168.*"]}])["SecurityGroups"]
        self.assertEqual([g["GroupId"] for g in found], [gid])
        ec2.delete_security_group(GroupId=gid)

    def test_network_interfaces(self):
        ec2 = self.ec2
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
        owner = vpc["OwnerId"]
        subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone",
                                                "Values": ["us-east-1a"]},
                                               {"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"][0]
        gid = ec2.create_security_group(GroupName="eni", Description="eni")["GroupId"]
        eni = add_interface(subnet["SubnetId"], vpc["VpcId"], owner, "172.31.0.4", gid,
                            instance="i-0123456789abcdef0", public_ip="127.100.0.9")
        got = ec2.describe_network_interfaces(
            Filters=[{"Name": "attachment.instance-id", "Values": ["i-0123456789abcdef0"]}])
        self.assertEqual(len(got["NetworkInterfaces"]), 1)
        n = got["NetworkInterfaces"][0]
        self.assertEqual((n["NetworkInterfaceId"], n["PrivateIpAddress"], n["PrivateDnsName"],
                          n["Status"], n["Association"]["PublicIp"], n["Groups"][0]["GroupName"],
                          n["Attachment"]["DeviceIndex"]),
                         (eni, "172.31.0.4", "ip-172-31-0-4.ec2.internal", "in-use", "127.100.0.9",
                          "eni", 0))
        self.assertEqual(ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]
                         ["AvailableIpAddressCount"], 4090)
        for name, value in (("group-id", gid), ("private-ip-address", "172.31.0.4"),
                            ("subnet-id", subnet["SubnetId"]), ("group-name", "eni")):
            hits = ec2.describe_network_interfaces(Filters=[{"Name": name, "Values": [value]}])
            self.assertEqual([i["NetworkInterfaceId"] for i in hits["NetworkInterfaces"]], [eni], name)
        self.assertEqual(self.code(ec2.describe_network_interfaces,
                                   NetworkInterfaceIds=["eni-0123456789abcdef0"]),
                         "InvalidNetworkInterfaceID.NotFound")
        # What an interface holds cannot go from under it.
        self.assertEqual(self.code(ec2.delete_security_group, GroupId=gid), "DependencyViolation")
        self.assertEqual(self.code(ec2.delete_subnet, SubnetId=subnet["SubnetId"]),
                         "DependencyViolation")
        igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id",
                                                       "Values": [vpc["VpcId"]]}])["InternetGateways"][0]
        self.assertEqual(self.code(ec2.detach_internet_gateway, VpcId=vpc["VpcId"],
                                   InternetGatewayId=igw["InternetGatewayId"]), "DependencyViolation")
        ec2.create_tags(Resources=[eni], Tags=[{"Key": "k", "Value": "v"}])
        self.assertEqual(ec2.describe_network_interfaces(Filters=[{"Name": "tag:k", "Values": ["v"]}])
                         ["NetworkInterfaces"][0]["TagSet"], [{"Key": "k", "Value": "v"}])
        with sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"), timeout=30) as db:
            db.execute("DELETE FROM network_interface_groups WHERE eni_id = ?", (eni,))
            db.execute("DELETE FROM network_interfaces WHERE eni_id = ?", (eni,))
        ec2.delete_security_group(GroupId=gid)


if __name__ == "__main__":
    cases.main()
