#!/usr/bin/env bash
# Packer (Debian's packer 1.6.6, its amazon-ebs builder with
# custom_endpoint_ec2) bakes an AMI against amibox with a real guest: from a
# source image found by a filter it launches an instance with a temporary
# key pair and security group, logs in over SSH at its public DNS name, runs
# a shell provisioner, stops it, makes the AMI, shares it (ami_users, as
# aws-sdk-go sends it) and cleans up.  An instance of the new AMI then shows
# the provisioner's file over SSH (when the source image keeps its root file
# system on disk: AMIBOX_PACKER_IMAGE, e.g. the Debian sample; the busybox
# sample lives in its initrd, so with it the file is looked for in the
# build's log only).
. "$(dirname "$0")/lib.sh"
command -v packer >/dev/null || fail "packer is not installed"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
image=${AMIBOX_PACKER_IMAGE:-amibox-sample-linux}
user=${AMIBOX_PACKER_USER:-root}
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3 ${AMIBOX_PACKER_SERVE_ARGS:-}"
case $image in amibox-sample-debian-*) amibox_debian_samples ;; esac
amibox_start
ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
for _ in $(seq 1 50); do
  [ "$(ec2 describe-images --owners amazon --filters Name=name,Values="$image" --query 'length(Images)')" = 1 ] && break
  sleep 0.2
done
# The provisioner: a mark on the disk, and what the instance's metadata says.
cat >"$TEST_DIR/provision.sh" <<'SH'
#!/bin/sh
S=; command -v sudo >/dev/null && S=sudo
$S mkdir -p /etc
echo baked-by-packer | $S tee /etc/packer-mark >/dev/null
url=http://169.254.169.254/latest/meta-data/instance-id
id=$(wget -qO- "$url" 2>/dev/null || python3 -c "import sys, urllib.request as u; print(u.urlopen(sys.argv[1]).read().decode())" "$url")
echo "provisioned $(cat /etc/packer-mark) on $id"
SH
cat >"$TEST_DIR/build.json" <<JSON
{
  "builders": [{
    "type": "amazon-ebs",
    "region": "us-east-1",
    "access_key": "$ALICE_KEY",
    "secret_key": "$ALICE_SECRET",
    "custom_endpoint_ec2": "$ENDPOINT",
    "skip_metadata_api_check": true,
    "source_ami_filter": {
      "filters": { "name": "$image", "root-device-type": "ebs" },
      "owners": ["amazon"],
      "most_recent": true
    },
    "instance_type": "${AMIBOX_PACKER_TYPE:-m1.small}",
    "ssh_username": "$user",
    "ssh_interface": "public_dns",
    "associate_public_ip_address": true,
    "ssh_timeout": "5m",
    "ami_name": "packer-baked-{{timestamp}}",
    "ami_users": ["$BOB_ID"],
    "tags": { "Builder": "packer" }
  }],
  "provisioners": [{
    "type": "shell",
    "script": "$TEST_DIR/provision.sh"
}]
}
JSON
# Packer's waiters poll every 15 s by default; amibox answers in well under one.
export AWS_POLL_DELAY_SECONDS=1 AWS_MAX_ATTEMPTS=600 PACKER_NO_COLOR=1 CHECKPOINT_DISABLE=1
t0=$(date +%s)
# Packer reaches the instance by its public DNS name, through the host's
# resolver and libnss_amibox (t_packer_instance takes the public address).
(cd "$TEST_DIR" && with_amibox_nss packer build -color=false build.json) >"$TEST_DIR/packer.log" 2>&1 \
  || { tail -60 "$TEST_DIR/packer.log"; fail "packer build failed"; }
echo "packer build took $(( $(date +%s) - t0 )) s"
grep -q "provisioned baked-by-packer on i-" "$TEST_DIR/packer.log" || fail "the provisioner did not run over SSH"
ami=$(grep -o "us-east-1: ami-[0-9a-f]*" "$TEST_DIR/packer.log" | tail -1 | cut -d' ' -f2)
[[ $ami =~ ^ami- ]] || fail "no AMI in Packer's output"
got=$(ec2 describe-images --image-ids "$ami" --query 'Images[0].[State,Tags[?Key==`Builder`].Value|[0]]')
[ "$got" = "available	packer" ] || fail "the baked AMI: '$got'"
got=$(ec2 describe-image-attribute --image-id "$ami" --attribute launchPermission --query 'LaunchPermissions[].UserId')
[ "$got" = "$BOB_ID" ] || fail "ami_users: '$got'"
# Packer left nothing behind.
got=$(ec2 describe-instances --filters Name=instance-state-name,Values=pending,running,stopping,stopped --query 'length(Reservations)')
[ "$got" = 0 ] || fail "Packer left $got instances"
got=$(ec2 describe-key-pairs --query 'length(KeyPairs)')
[ "$got" = 0 ] || fail "Packer left its key pair"
got=$(ec2 describe-security-groups --filters Name=group-name,Values='packer_*' --query 'length(SecurityGroups)')
[ "$got" = 0 ] || fail "Packer left its security group"
if [ "$image" != amibox-sample-linux ]; then
  # An instance of the new AMI has the provisioner's file.
  ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C check
  ec2 import-key-pair --key-name check --public-key-material "fileb://$TEST_DIR/key.pub" >/dev/null
  sg=$(ec2 create-security-group --group-name check-ssh --description ssh --query GroupId)
  ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null
  id=$(ec2 run-instances --image-id "$ami" --instance-type "${AMIBOX_PACKER_TYPE:-m1.small}" --count 1 \
    --key-name check --security-group-ids "$sg" --query 'Instances[0].InstanceId')
  for _ in $(seq 1 120); do [ "$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].State.Name')" = running ] && break; sleep 1; done
  ip=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].PublicIpAddress')
  mark=
  for _ in $(seq 1 180); do
    mark=$(ssh -i "$TEST_DIR/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
      -o ConnectTimeout=5 "$user@$ip" cat /etc/packer-mark 2>/dev/null) && break
    sleep 1
  done
  [ "$mark" = baked-by-packer ] || fail "an instance of the baked AMI has no /etc/packer-mark: '$mark'"
  ec2 terminate-instances --instance-ids "$id" >/dev/null
fi
