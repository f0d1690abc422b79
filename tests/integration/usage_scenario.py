"""What t_usage.sh meters: a life of resources, driven with boto3, in two
stages around a daemon restart.  Each event's time is bracketed (the
client's clock just before and just after it) and kept in
$TEST_DIR/usage_state.json, for boto3_usage.py to compute the expected
figures by hand.

  before-restart: a gp3 volume with provisioned IOPS and throughput made and
    deleted at once; an EBS-backed t2.micro (tagged Project=alpha, its root
    volume too) run and stopped; while it is stopped, snapshots through the
    EBS direct API (a parent of 24 blocks, a child of 8 changed ones, then
    the parent deleted: the child takes its blocks over), a snapshot of the
    stopped instance's root volume, a 10 MiB object (a multipart upload),
    an instance-store AMI bundled, uploaded, registered and run on m1.small
    (which cannot be stopped); the stopped instance's root volume still
    costs; then the t2.micro started again.
  after-restart: the t2.micro still running, with one open record; then
    everything ended.

Usage rates are measured through the Cost Explorer API: the growth of
UsageQuantity over a few seconds.  Needs ENDPOINT, DATA_DIR, TEST_DIR,
AMIBOX_BIN, AWS_V1, GUEST_HVM, ALICE_*.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import usage_lib as lib  # noqa: E402

ENDPOINT = os.environ["ENDPOINT"]
TEST_DIR = os.environ["TEST_DIR"]
CONFIG = Config(retries={"max_attempts": 1}, region_name="us-east-1",
                s3={"addressing_style": "path"})
STATE = os.path.join(TEST_DIR, "usage_state.json")
BLOCK = 512 * 1024


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, config=CONFIG,
                        aws_access_key_id=os.environ["ALICE_KEY"],
                        aws_secret_access_key=os.environ["ALICE_SECRET"])


def bracket(fn):
    """Runs fn, returns (its result, [time before, time after])."""
    before = time.time()
    result = fn()
    return result, [before, time.time()]


def wait(what, fn, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def instance_state(ec2, iid):
    r = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return r["State"]["Name"]


def snapshot_done(ec2, sid):
    return ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] == "completed"


def open_records(where, *args):
    """Open usage records that match a condition of SQL."""
    db = sqlite3.connect(os.path.join(os.environ["DATA_DIR"], "catalog.db"))
    try:
        return db.execute("SELECT count(*) FROM usage_records WHERE end_ms IS NULL AND " + where,
                          args).fetchone()[0]
    finally:
        db.close()


def direct_snapshot(ebs, ec2, blocks, parent=None):
    """A snapshot written through the EBS direct API: {index: bytes}; returns its ID and completion bracket."""
    args = {"VolumeSize": 1, "Description": "usage test"}
    if parent:
        args["ParentSnapshotId"] = parent
    sid = ebs.start_snapshot(**args)["SnapshotId"]
    for index, data in sorted(blocks.items()):
        ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data, DataLength=BLOCK,
                               Checksum=lib.b64sha256(data), ChecksumAlgorithm="SHA256")
    before = time.time()
    ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=len(blocks))
    wait("snapshot " + sid, lambda: snapshot_done(ec2, sid))
    return sid, [before, time.time()]


def before_restart():
    ec2, ebs, s3, ce = client("ec2"), client("ebs"), client("s3"), client("ce")
    st = {}
    image = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["amibox-sample-hvm"]}])["Images"][0]["ImageId"]

    # A gp3 volume above its baseline, deleted within its first minute.
    vol, st["gp3_created"] = bracket(lambda: ec2.create_volume(
        AvailabilityZone="us-east-1a", Size=10, VolumeType="gp3", Iops=4000, Throughput=200,
        TagSpecifications=[{"ResourceType": "volume",
                            "Tags": [{"Key": "Project", "Value": "beta"}]}])["VolumeId"])
    wait("gp3 volume", lambda: ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["State"]
         == "available")
    ec2.delete_volume(VolumeId=vol)
    st["gp3_volume"] = vol

    # The t2.micro, tagged, and its tagged root volume.
    tags = [{"Key": "Project", "Value": "alpha"}]
    run, st["t2_launched"] = bracket(lambda: ec2.run_instances(
        ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags},
                           {"ResourceType": "volume", "Tags": tags}]))
    iid = run["Instances"][0]["InstanceId"]
    st["t2_instance"] = iid
    wait("running", lambda: instance_state(ec2, iid) == "running")
    desc = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    root = desc["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    st["root_volume"] = root
    ec2.stop_instances(InstanceIds=[iid])
    wait("stopped", lambda: instance_state(ec2, iid) == "stopped")

    # Snapshots through the EBS direct API: 24 blocks, then a child with 8 changed.
    parent, st["parent_completed"] = direct_snapshot(
        ebs, ec2, {i: os.urandom(BLOCK) for i in range(24)})
    child, st["child_completed"] = direct_snapshot(
        ebs, ec2, {i: os.urandom(BLOCK) for i in range(8)}, parent=parent)
    st["parent"], st["child"] = parent, child
    st["parent_blocks"] = lib.blocks_rate(ce, parent)
    st["child_blocks_before"] = lib.blocks_rate(ce, child)
    _, st["parent_deleted"] = bracket(lambda: ec2.delete_snapshot(SnapshotId=parent))
    st["child_blocks_after"] = lib.blocks_rate(ce, child)

    # A snapshot of the stopped instance's root volume: its first, so whole.
    snap, st["root_snapshot_created"] = bracket(
        lambda: ec2.create_snapshot(VolumeId=root)["SnapshotId"])
    wait("root snapshot", lambda: snapshot_done(ec2, snap))
    st["root_snapshot_completed"] = time.time()
    st["root_snapshot"] = snap
    listed = ebs.list_snapshot_blocks(SnapshotId=snap)["Blocks"]
    st["root_snapshot_listed"] = len(listed)
    st["root_snapshot_blocks"] = lib.blocks_rate(ce, snap)

    # A 10 MiB object, uploaded by the AWS CLI in parts.
    s3.create_bucket(Bucket="alice-usage")
    path = os.path.join(TEST_DIR, "object.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(10 << 20))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=os.environ["ALICE_KEY"],
               AWS_SECRET_ACCESS_KEY=os.environ["ALICE_SECRET"])
    _, st["object_put"] = bracket(lambda: subprocess.run(
        [os.environ["AWS_V1"], "--endpoint-url", ENDPOINT, "s3", "cp", path,
         "s3://alice-usage/object.bin"], env=env, check=True, capture_output=True))
    st["object_bytes"] = 10 << 20
    st["open_parts_after_upload"] = open_records("subject LIKE 's3-part:%'")
    st["object_rate"] = lib.bytes_rate(ce, "alice-usage")

    # An instance-store AMI: bundled, uploaded, registered, run, not stoppable.
    work = os.path.join(TEST_DIR, "bundle")
    os.makedirs(work, exist_ok=True)
    amibox = os.environ["AMIBOX_BIN"]
    cloud = subprocess.run([amibox, "ec2-cert", "--data", os.environ["DATA_DIR"]],
                           capture_output=True, check=True, text=True).stdout
    with open(os.path.join(work, "cloud.pem"), "w") as f:
        f.write(cloud)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=me",
                    "-keyout", os.path.join(work, "me.key"), "-out", os.path.join(work, "me.pem")],
                   check=True, capture_output=True)
    with open(os.path.join(work, "me.pem")) as f:
        client("iam").upload_signing_certificate(CertificateBody=f.read())
    subprocess.run([amibox, "bundle-image", "--image", os.environ["GUEST_HVM"], "--prefix", "guest",
                    "--cert", os.path.join(work, "me.pem"), "--privatekey",
                    os.path.join(work, "me.key"), "--user", os.environ["ALICE_ID"], "--ec2cert",
                    os.path.join(work, "cloud.pem"), "--destination", work, "--no-progress"],
                   check=True, capture_output=True)
    _, st["bundle_uploaded"] = bracket(lambda: subprocess.run(
        [amibox, "upload-bundle", "--bucket", "alice-bundles", "--manifest",
         os.path.join(work, "guest.manifest.xml"), "--endpoint", ENDPOINT],
        env=env, check=True, capture_output=True))
    st["bundle_bytes"] = sum(o["Size"] for o in
                             s3.list_objects_v2(Bucket="alice-bundles")["Contents"])
    st["bundle_rate"] = lib.bytes_rate(ce, "alice-bundles")
    ami = ec2.register_image(Name="usage-instance-store", ImageLocation="alice-bundles/guest.manifest.xml",
                             VirtualizationType="hvm", Architecture="x86_64")["ImageId"]
    st["store_image"] = ami
    store = ec2.run_instances(ImageId=ami, InstanceType="m1.small", MinCount=1,
                              MaxCount=1)["Instances"][0]["InstanceId"]
    st["store_instance"] = store
    wait("instance-store running", lambda: instance_state(ec2, store) == "running")
    try:
        ec2.stop_instances(InstanceIds=[store])
        st["store_stopped"] = "stopped"
    except ClientError as e:
        st["store_stopped"] = e.response["Error"]["Code"]
    ec2.terminate_instances(InstanceIds=[store])
    wait("instance-store terminated", lambda: instance_state(ec2, store) == "terminated")

    # The stopped instance's root volume still costs, past its first minute; the instance does not.
    time.sleep(max(0, st["t2_launched"][1] + 66 - time.time()))
    usage_before = lib.usage(ce, lib.resource_filter(iid))
    st["root_volume_rate"] = lib.gib_rate(ce, root)
    st["stopped_usage"] = [usage_before, lib.usage(ce, lib.resource_filter(iid))]

    # Started again; the daemon restarts while it runs.
    _, st["t2_started"] = bracket(lambda: ec2.start_instances(InstanceIds=[iid]))
    wait("running again", lambda: instance_state(ec2, iid) == "running")
    with open(STATE, "w") as f:
        json.dump(st, f, indent=1)


def after_restart():
    ec2, s3 = client("ec2"), client("s3")
    with open(STATE) as f:
        st = json.load(f)
    iid, root = st["t2_instance"], st["root_volume"]
    st["running_after_restart"] = instance_state(ec2, iid)
    st["open_after_restart"] = open_records("subject = ?", iid)
    _, st["t2_terminated"] = bracket(lambda: ec2.terminate_instances(InstanceIds=[iid]))
    wait("terminated", lambda: instance_state(ec2, iid) == "terminated")

    def root_gone():
        try:
            ec2.describe_volumes(VolumeIds=[root])
            return False
        except ClientError as e:
            return e.response["Error"]["Code"] == "InvalidVolume.NotFound"
    wait("root volume deleted", root_gone)
    st["root_volume_gone"] = time.time()
    _, st["child_deleted"] = bracket(lambda: ec2.delete_snapshot(SnapshotId=st["child"]))
    _, st["root_snapshot_deleted"] = bracket(
        lambda: ec2.delete_snapshot(SnapshotId=st["root_snapshot"]))

    def empty(bucket):
        for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=o["Key"])
        s3.delete_bucket(Bucket=bucket)
    _, st["object_deleted"] = bracket(lambda: empty("alice-usage"))
    ec2.deregister_image(ImageId=st["store_image"])
    _, st["bundle_deleted"] = bracket(lambda: empty("alice-bundles"))
    st["open_at_end"] = open_records("account_id = ?", os.environ["ALICE_ID"])
    with open(STATE, "w") as f:
        json.dump(st, f, indent=1)


if __name__ == "__main__":
    {"before-restart": before_restart, "after-restart": after_restart}[sys.argv[1]]()
