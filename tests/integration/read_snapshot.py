"""Reads a whole snapshot through the EBS direct API and writes it as a raw
image (all blocks, zeros where unmapped), so tests can cmp it with a file.
Usage: read_snapshot.py SNAPSHOT_ID OUTPUT [SIZE_BYTES]"""
import os
import sys

import boto3

BLOCK = 512 * 1024


def main():
    sid, out = sys.argv[1], sys.argv[2]
    ebs = boto3.client("ebs", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
    kwargs = {"SnapshotId": sid}
    with open(out, "wb") as f:
        size = None
        while True:
            page = ebs.list_snapshot_blocks(**kwargs)
            size = page["VolumeSize"] << 30
            for b in page["Blocks"]:
                data = ebs.get_snapshot_block(SnapshotId=sid, BlockIndex=b["BlockIndex"],
                                              BlockToken=b["BlockToken"])["BlockData"].read()
                f.seek(b["BlockIndex"] * BLOCK)
                f.write(data)
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        f.truncate(int(sys.argv[3]) if len(sys.argv) > 3 else size)


main()
