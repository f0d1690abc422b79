"""Crash test driver.  'upload DIR': starts a snapshot and uploads blocks one
at a time, recording each acknowledged block index in DIR/acked (fsynced)
until the daemon dies.  'finish DIR': after a restart, re-sends the block that
may have been in flight, completes the snapshot and checks that every
acknowledged block reads back exactly."""
import base64
import hashlib
import os
import random
import sys

import boto3
from botocore.config import Config

BLOCK = 512 * 1024


def data_for(index):
    return random.Random(index).randbytes(BLOCK)


def ebs():
    return boto3.client("ebs", endpoint_url=os.environ["ENDPOINT"],
                        config=Config(retries={"max_attempts": 1}, region_name="us-east-1"))


def put(client, sid, index):
    data = data_for(index)
    client.put_snapshot_block(
        SnapshotId=sid, BlockIndex=index, BlockData=data, DataLength=BLOCK,
        Checksum=base64.b64encode(hashlib.sha256(data).digest()).decode(),
        ChecksumAlgorithm="SHA256")


def upload(work):
    client = ebs()
    sid = client.start_snapshot(VolumeSize=1, Timeout=60)["SnapshotId"]
    with open(os.path.join(work, "snapshot"), "w") as f:
        f.write(sid)
    with open(os.path.join(work, "acked"), "a") as acked:
        for index in range(2048):
            try:
                put(client, sid, index)
            except Exception:
                return
            acked.write("%d\n" % index)
            acked.flush()
            os.fsync(acked.fileno())


def finish(work):
    client = ebs()
    sid = open(os.path.join(work, "snapshot")).read()
    acked = [int(x) for x in open(os.path.join(work, "acked")).read().split()]
    in_flight = (max(acked) + 1) if acked else 0
    put(client, sid, in_flight)
    written = sorted(acked + [in_flight])
    client.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=len(written))
    listed = []
    kwargs = {"SnapshotId": sid}
    while True:
        page = client.list_snapshot_blocks(**kwargs)
        for b in page["Blocks"]:
            got = client.get_snapshot_block(SnapshotId=sid, BlockIndex=b["BlockIndex"],
                                            BlockToken=b["BlockToken"])["BlockData"].read()
            if got != data_for(b["BlockIndex"]):
                sys.exit("block %d of %s reads back wrong" % (b["BlockIndex"], sid))
            listed.append(b["BlockIndex"])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    if listed != written:
        sys.exit("blocks listed %s..., acknowledged %s..." % (listed[:5], written[:5]))
    print("%s: %d acknowledged blocks intact" % (sid, len(acked)))


if __name__ == "__main__":
    {"upload": upload, "finish": finish}[sys.argv[1]](sys.argv[2])
