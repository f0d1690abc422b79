"""Creates N snapshots owned by the caller, on amibox (EBS direct API) or on
moto (CreateVolume + CreateSnapshot).  Usage: seed.py amibox|moto ENDPOINT N"""
import sys

import boto3

kind, endpoint, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "amibox":
    ebs = boto3.client("ebs", endpoint_url=endpoint, region_name="us-east-1")
    for _ in range(n):
        sid = ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
        ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=0)
else:
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
    for _ in range(n):
        vol = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
        ec2.create_snapshot(VolumeId=vol)
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
got = len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"])
assert got == n, "expected %d snapshots, found %d" % (n, got)
