"""Boot benchmark for bench/run.sh: RunInstances until the guest's first
console byte, for the same image as an EBS-backed and as an instance-store
AMI, as it grows.  Prints Markdown.

Usage: boot.py ENDPOINT AMIBOX_BIN BOOT_SECTOR SIZES_MIB...
The image is the boot sector of guests/hvm_boot.S followed by random
data up to the size, so that every block is stored; an EBS-backed launch
reads only the blocks the guest touches, so its time should stay flat,
while an instance-store launch unpacks the whole bundle first.
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; the
bundle's from BENCH_ACCOUNT_ID, BENCH_USER_CERT, BENCH_USER_KEY and
BENCH_CLOUD_CERT (bench/run.sh makes them).
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import boto3

endpoint, amibox, boot_sector = sys.argv[1:4]
sizes = [int(s) for s in sys.argv[4:]]
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")


def accelerator():
    """What the daemon chose (it writes DATA/accel once its probe ran)."""
    path = os.environ.get("AMIBOX_ACCEL_FILE", "")
    try:
        return open(path).read().split()[1].upper()
    except (OSError, IndexError):
        return "TCG, no usable /dev/kvm" if not os.access("/dev/kvm", os.R_OK | os.W_OK) else "?"




def first_bytes(ami, instance_type):
    """Median of 3: RunInstances until the guest's first console byte."""
    times = []
    for _ in range(3):
        t0 = time.time()
        iid = ec2.run_instances(ImageId=ami, InstanceType=instance_type, MinCount=1,
                                MaxCount=1)["Instances"][0]["InstanceId"]
        while not ec2.get_console_output(InstanceId=iid).get("Output"):
            state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
            if time.time() - t0 > 600 or state["State"]["Name"] == "terminated":
                sys.exit("no console output from %s: %s" % (iid, state.get("StateReason")))
            time.sleep(0.01)
        times.append(time.time() - t0)
        ec2.terminate_instances(InstanceIds=[iid])
        while ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
                "State"]["Name"] != "terminated":
            time.sleep(0.05)
    return statistics.median(times)


rows = []
hvm_ebs = {}
work = tempfile.mkdtemp()
for mib in sizes:
    path = os.path.join(work, "boot-%d.raw" % mib)
    with open(path, "wb") as f:
        f.write(open(boot_sector, "rb").read())
        f.write(bytes(512 * 1024 - 512))  # the boot counter's sector stays zero
        left = (mib << 20) - 512 * 1024
        while left > 0:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    t0 = time.time()
    snap = subprocess.run([amibox, "import", path, "--endpoint-url", endpoint, "--no-progress"],
                          capture_output=True, text=True, check=True).stdout.strip()
    t_import = time.time() - t0
    ami = ec2.register_image(Name="boot-bench-%s" % uuid.uuid4().hex[:8], Architecture="x86_64",
                             VirtualizationType="hvm", RootDeviceName="/dev/xvda",
                             BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                                   "Ebs": {"SnapshotId": snap}}])["ImageId"]
    ebs = first_bytes(ami, "t2.micro")
    hvm_ebs[mib] = ebs
    # The same image as an instance-store AMI: bundle, upload, register, launch.
    dest = os.path.join(work, "bundle-%d" % mib)
    os.makedirs(dest)
    t0 = time.time()
    manifest = subprocess.run(
        [amibox, "bundle-image", "--image", path, "--prefix", "boot-%d" % mib,
         "--cert", os.environ["BENCH_USER_CERT"], "--privatekey", os.environ["BENCH_USER_KEY"],
         "--user", os.environ["BENCH_ACCOUNT_ID"], "--ec2cert", os.environ["BENCH_CLOUD_CERT"],
         "--destination", dest, "--no-progress"],
        capture_output=True, text=True, check=True).stdout.strip()
    t_bundle = time.time() - t0
    os.unlink(path)
    t0 = time.time()
    location = subprocess.run(
        [amibox, "upload-bundle", "--bucket", "boot-bench", "--manifest", manifest,
         "--endpoint", endpoint], capture_output=True, text=True, check=True).stdout.strip()
    t_upload = time.time() - t0
    shutil.rmtree(dest)
    t0 = time.time()
    isami = ec2.register_image(Name="boot-bench-is-%s" % uuid.uuid4().hex[:8],
                               ImageLocation=location, VirtualizationType="hvm")["ImageId"]
    t_register = time.time() - t0
    store = first_bytes(isami, "m1.small")
    rows.append("| %d MiB | %.1f | %.2f s | %.1f + %.1f + %.1f | %.2f s |"
                % (mib, t_import, ebs, t_bundle, t_upload, t_register, store))
print("## RunInstances to the first console byte, HVM (%s)" % accelerator())
print()
print("| image size | EBS: import (s) | EBS: RunInstances to first console byte | "
      "instance store: bundle + upload + register (s) | instance store: RunInstances to "
      "first console byte |")
print("|---|---|---|---|---|")
print("\n".join(rows))
print()
print("The seed's figures for EC2: EBS-backed usually under 1 minute; instance-store-backed")
print("usually under 5 minutes.")

# Paravirtual from EBS: the daemon's Linux sample boots through PV-GRUB,
# which reads menu.lst, the kernel and the initrd from the root volume in
# small pieces before QEMU starts.
sample = ec2.describe_images(Owners=["amazon"], Filters=[
    {"Name": "name", "Values": ["amibox-sample-linux"]}])["Images"]
print()
print("## RunInstances to the first console byte, paravirtual from EBS (%s)" % accelerator())
print()
if not sample:
    print("(no Linux sample: the host had no Debian kernel and busybox-static)")
else:
    size = sample[0]["BlockDeviceMappings"][0]["Ebs"]["VolumeSize"]
    pv = first_bytes(sample[0]["ImageId"], "m1.small")
    smallest = min(hvm_ebs) if hvm_ebs else None
    print("| image | RunInstances to first console byte | HVM from EBS (%s MiB image) | ratio |"
          % smallest)
    print("|---|---|---|---|")
    hvm = hvm_ebs.get(smallest)
    print("| amibox-sample-linux (%d GiB volume, Debian cloud kernel + initrd via PV-GRUB) "
          "| %.2f s | %s | %s |" % (size, pv, "%.2f s" % hvm if hvm else "-",
                                   "%.1fx" % (pv / hvm) if hvm else "-"))
