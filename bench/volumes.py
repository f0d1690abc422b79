"""Volume benchmarks for bench/run.sh: CreateVolume latency as the volume
grows, and CreateSnapshot of a volume after a full snapshot plus 1 MiB of
writes.  Prints Markdown.

Usage: volumes.py ENDPOINT DATA_DIR PLUGIN SNAPSHOT_ID SNAPSHOT_GIB
(SNAPSHOT_ID is a completed snapshot of SNAPSHOT_GIB GiB, all blocks full.)
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, data_dir, plugin, snapshot, snap_gib = sys.argv[1:6]
snap_gib = int(snap_gib)
url = urllib.parse.urlparse(endpoint)
creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
conn = http.client.HTTPConnection(url.hostname, url.port)


def call(body):
    """One signed EC2 request on a kept-alive connection; seconds, response."""
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(creds, "ec2", "us-east-1").add_auth(req)
    t0 = time.perf_counter()
    conn.request("POST", "/", body=body, headers=dict(req.headers.items()))
    resp = conn.getresponse()
    data = resp.read()
    elapsed = time.perf_counter() - t0
    if resp.status != 200:
        sys.exit("request failed: %s %s" % (resp.status, data[:300]))
    return elapsed, data.decode()


def volume_id(xml):
    return xml.split("<volumeId>")[1].split("</volumeId>")[0]


print("## CreateVolume latency as the volume grows (median of 20, signed, one connection)")
print()
print("| size GiB | empty volume | from a %d GiB snapshot |" % snap_gib)
print("|---|---|---|")
for size in (max(1, snap_gib), 64, 1024, 16384):
    row = []
    for base in ("", snapshot):
        times = []
        for _ in range(20):
            body = "Action=CreateVolume&Version=2016-11-15&AvailabilityZone=us-east-1a&Size=%d" % size
            if base:
                body += "&SnapshotId=" + base
            t, xml = call(body)
            times.append(t)
            call("Action=DeleteVolume&Version=2016-11-15&VolumeId=" + volume_id(xml))
        row.append("%.2f ms" % (1000 * statistics.median(times)))
    print("| %d | %s | %s |" % (size, row[0], row[1]))
print()

# A volume from the full snapshot, 1 MiB written, then CreateSnapshot.
_, xml = call("Action=CreateVolume&Version=2016-11-15&AvailabilityZone=us-east-1a&SnapshotId=" + snapshot)
vol = volume_id(xml)
sock = os.path.join(tempfile.mkdtemp(), "nbd.sock")
nbd = subprocess.Popen(["nbdkit", "-f", "-U", sock, plugin, "data=" + data_dir, "volume=" + vol])
for _ in range(200):
    if os.path.exists(sock):
        break
    time.sleep(0.02)
rows = []
for run in range(5):
    offset = (run * 7 + 3) * (1 << 20) % (snap_gib << 30)
    subprocess.run(["qemu-io", "-f", "raw", "nbd+unix:///?socket=" + sock,
                    "-c", "write -P %d %d 1M" % (run + 1, offset), "-c", "flush"],
                   check=True, capture_output=True)
    t_req, xml = call("Action=CreateSnapshot&Version=2016-11-15&VolumeId=" + vol)
    sid = xml.split("<snapshotId>")[1].split("</snapshotId>")[0]
    t0 = time.perf_counter() - t_req
    while True:
        state = ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"]
        if state != "pending":
            break
        time.sleep(0.002)
    t_done = time.perf_counter() - t0
    assert state == "completed", state
    rows.append((t_req, t_done))
nbd.terminate()
nbd.wait()
print("## CreateSnapshot of a %d GiB volume after a full snapshot and 1 MiB of writes" % snap_gib)
print()
print("| run | CreateSnapshot request | until completed |")
print("|---|---|---|")
for i, (a, b) in enumerate(rows, 1):
    print("| %d | %.1f ms | %.1f ms |" % (i, 1000 * a, 1000 * b))
print()
print("Median until completed: %.1f ms (polling DescribeSnapshots every 2 ms)."
      % (1000 * statistics.median(b for _, b in rows)))
