"""Network benchmark for bench/run.sh: RunInstances until SSH accepts a
login (the Linux sample, and the Debian sample when published), and a
security-group change until it shows on a live connection attempt to the
instance's public address, and a whole `packer build` (amazon-ebs) from each
sample when Packer is installed, and (amazon-instance) from the Linux sample.  Prints Markdown.

Usage: network.py ENDPOINT DATA_DIR
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3

endpoint, data = sys.argv[1:3]
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
work = tempfile.mkdtemp()
key = os.path.join(work, "key")
subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
ec2.import_key_pair(KeyName="bench", PublicKeyMaterial=open(key + ".pub", "rb").read())
vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
ssh_sg = ec2.create_security_group(GroupName="bench-ssh", Description="ssh", VpcId=vpc)["GroupId"]
ec2.authorize_security_group_ingress(GroupId=ssh_sg, IpPermissions=[
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def accelerator():
    """The daemon's choice, once its probe has kept it in DATA/accel (the
    probe runs beside the daemon's start: wait for it)."""
    for _ in range(300):
        try:
            return open(os.path.join(data, "accel")).read().split()[1].upper()
        except (OSError, IndexError) as exc:
            failure = exc
            time.sleep(0.1)
    print("accelerator: %r; %s" % (failure, os.listdir(data)), file=sys.stderr)
    return "?"


def image(name):
    found = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [name]}])
    return found["Images"][0]["ImageId"] if found["Images"] else None


def instance(iid):
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def terminate(iid):
    ec2.terminate_instances(InstanceIds=[iid])
    while instance(iid)["State"]["Name"] != "terminated":
        time.sleep(0.05)


def ssh_ready(ami, itype, user):
    """Seconds from RunInstances to an SSH login that runs a command."""
    t0 = time.time()
    iid = ec2.run_instances(ImageId=ami, InstanceType=itype, MinCount=1, MaxCount=1,
                            KeyName="bench", SecurityGroupIds=[ssh_sg])["Instances"][0]["InstanceId"]
    ip = None
    while time.time() - t0 < 600:
        if not ip:
            ip = instance(iid).get("PublicIpAddress")
            if not ip:
                time.sleep(0.05)
                continue
        out = subprocess.run(["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o",
                              "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o",
                              "ConnectTimeout=2", "%s@%s" % (user, ip), "true"],
                             capture_output=True)
        if out.returncode == 0:
            took = time.time() - t0
            terminate(iid)
            return took
        time.sleep(0.1)
    sys.exit("no SSH login to %s" % iid)


def reachable(ip, port):
    try:
        with socket.create_connection((ip, port), 1) as s:
            s.settimeout(1)
            return bool(s.recv(16))
    except OSError:
        return False


def rule_effect():
    """Seconds from Authorize (Revoke) returning to the first connection
    that succeeds (is refused), median of 5 each."""
    sg = ec2.create_security_group(GroupName="bench-web", Description="web", VpcId=vpc)["GroupId"]
    server = "#!/bin/sh\n(while true; do echo hi | nc -l -p 8080; done) &\n"
    iid = ec2.run_instances(ImageId=image("amibox-sample-linux"), InstanceType="m1.small",
                            MinCount=1, MaxCount=1, SecurityGroupIds=[sg],
                            UserData=server)["Instances"][0]["InstanceId"]
    while not instance(iid).get("PublicIpAddress"):
        time.sleep(0.05)
    ip = instance(iid)["PublicIpAddress"]
    perm = [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
             "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}]
    opens, closes = [], []
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perm)
    t0 = time.time()
    while not reachable(ip, 8080) and time.time() - t0 < 120:
        time.sleep(0.05)  # the guest's server comes up first
    ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=perm)
    while reachable(ip, 8080):
        time.sleep(0.01)
    for _ in range(5):
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=perm)
        t0 = time.time()
        while not reachable(ip, 8080):
            time.sleep(0.005)
        opens.append(time.time() - t0)
        ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=perm)
        t0 = time.time()
        while reachable(ip, 8080):
            time.sleep(0.005)
        closes.append(time.time() - t0)
    terminate(iid)
    return statistics.median(opens), statistics.median(closes)


def x509_registered():
    """The paths of an X.509 certificate and key registered with the
    account (amazon-instance bundles are signed with them)."""
    cert, pkey = os.path.join(work, "x509-cert.pem"), os.path.join(work, "x509-key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=bench", "-keyout", pkey, "-out", cert],
                       check=True, capture_output=True)
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
        iam.upload_signing_certificate(CertificateBody=open(cert).read())
    return cert, pkey


def packer_build(source, itype, user, builder="amazon-ebs"):
    """Seconds for a whole `packer build` (amazon-ebs: temporary key pair
    and security group, launch, SSH, a shell provisioner, stop, CreateImage,
    clean up; amazon-instance: the same, but ec2-bundle-vol and
    ec2-upload-bundle in the guest and RegisterImage of the bundle instead
    of the stop and CreateImage), and the AMI it made."""
    creds = boto3.Session().get_credentials()
    template = {
        "builders": [{
            "type": builder, "region": "us-east-1",
            "access_key": creds.access_key, "secret_key": creds.secret_key,
            "custom_endpoint_ec2": endpoint, "skip_metadata_api_check": True,
            "source_ami": source, "instance_type": itype, "ssh_username": user,
            "ssh_interface": "public_ip", "associate_public_ip_address": True,
            "ssh_timeout": "10m", "ami_name": "bench-packer-{{timestamp}}-%d" % time.time_ns(),
        }],
        "provisioners": [{"type": "shell",
                          "inline": ["echo baked | (command -v sudo >/dev/null && sudo tee /etc/bench-mark"
                                     " || tee /etc/bench-mark)"]}],
    }
    if builder == "amazon-instance":
        cert, pkey = x509_registered()
        account = boto3.client("sts", endpoint_url=endpoint,
                               region_name="us-east-1").get_caller_identity()["Account"]
        template["builders"][0].update({
            "account_id": account, "s3_bucket": "bench-bundles",
            "x509_cert_path": cert, "x509_key_path": pkey,
            # The busybox sample logs in as root and has no sudo.
            "bundle_vol_command": "ec2-bundle-vol -k {{.KeyPath}} -u {{.AccountId}} -c {{.CertPath}}"
                                  " -r {{.Architecture}} -e {{.PrivatePath}}/* -d {{.Destination}}"
                                  " -p {{.Prefix}} --batch --no-filter",
            "bundle_upload_command": "ec2-upload-bundle -b {{.BucketName}} -m {{.ManifestPath}}"
                                     " -a {{.AccessKey}} -s {{.SecretKey}} -d {{.BundleDirectory}}"
                                     " --batch --region {{.Region}} --retry",
        })
    path = os.path.join(work, "packer.json")
    with open(path, "w") as f:
        json.dump(template, f)
    env = dict(os.environ, AWS_POLL_DELAY_SECONDS="1", AWS_MAX_ATTEMPTS="600",
               PACKER_NO_COLOR="1", CHECKPOINT_DISABLE="1")
    t0 = time.time()
    out = subprocess.run(["packer", "build", "-color=false", path], cwd=work, env=env,
                         capture_output=True, text=True)
    took = time.time() - t0
    made = [w for w in out.stdout.split() if w.startswith("ami-")]
    if out.returncode != 0 or not made:
        sys.exit("packer build failed:\n" + out.stdout[-3000:] + out.stderr[-2000:])
    return took, made[-1]


print("## Networking (%s)" % accelerator())
print()
print("| what | time |")
print("|---|---|")
linux = image("amibox-sample-linux")
if linux:
    times = [ssh_ready(linux, "m1.small", "root") for _ in range(3)]
    print("| RunInstances to an SSH login, Linux sample (busybox, dropbear), median of 3 | %.2f s |"
          % statistics.median(times))
debian = image("amibox-sample-debian-hvm")
if debian:
    times = [ssh_ready(debian, "t3.small", "admin") for _ in range(2)]
    print("| RunInstances to an SSH login, Debian sample (systemd, cloud-init, OpenSSH), median of 2 | %.1f s |"
          % statistics.median(times))
if shutil.which("packer"):
    for name, ami, itype, user, runs in (("Linux sample", linux, "m1.small", "root", 3),
                                         ("Debian sample", debian, "t3.small", "admin", 2)):
        if not ami:
            continue
        times = []
        for _ in range(runs):
            took, made = packer_build(ami, itype, user)
            times.append(took)
            ec2.deregister_image(ImageId=made)
        print("| Packer build (amazon-ebs, launch to AMI and clean-up), %s, median of %d | %.1f s |"
              % (name, runs, statistics.median(times)))
    if linux:
        times = []
        for _ in range(3):
            took, made = packer_build(linux, "m1.small", "root", "amazon-instance")
            times.append(took)
            ec2.deregister_image(ImageId=made)
        print("| Packer build (amazon-instance: bundled in the guest, uploaded, registered), "
              "Linux sample, median of 3 | %.1f s |" % statistics.median(times))
if linux:
    opened, closed = rule_effect()
    print("| AuthorizeSecurityGroupIngress to the first connection through the public address | %.0f ms |"
          % (opened * 1000))
    print("| RevokeSecurityGroupIngress to the first refused connection | %.0f ms |" % (closed * 1000))
print()
print("EC2 takes tens of seconds from RunInstances to SSH, and a rule change reaches")
print("existing instances within seconds.")
