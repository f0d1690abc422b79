"""Registers images through the API (each RegisterImage its own transaction,
as a user's tools make them) until the caller owns N, from four clients at
once; prints the ID of the one in the middle.  For the DescribeImages
benchmark beside seed_images.py, which inserts rows directly.

Usage: register_images.py ENDPOINT N
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import concurrent.futures
import sys
import time

import boto3

endpoint, target = sys.argv[1], int(sys.argv[2])
clients = [boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1") for _ in range(4)]
ebs = boto3.client("ebs", endpoint_url=endpoint, region_name="us-east-1")
have = len(clients[0].describe_images(Owners=["self"], Filters=[
    {"Name": "name", "Values": ["api-image-*"]}])["Images"])
snap = ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
ebs.complete_snapshot(SnapshotId=snap, ChangedBlocksCount=0)
while clients[0].describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]["State"] != "completed":
    time.sleep(0.05)


def register(i):
    return clients[i % 4].register_image(
        Name="api-image-%06d" % i, RootDeviceName="/dev/xvda", Architecture="x86_64",
        VirtualizationType="hvm",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snap}}])["ImageId"]


with concurrent.futures.ThreadPoolExecutor(4) as pool:
    ids = list(pool.map(register, range(have, target)))
print(ids[len(ids) // 2] if ids else "")
