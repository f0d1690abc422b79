#!/usr/bin/env bash
# Packer's amazon-instance builder (Debian's packer 1.6.6) makes an
# instance-store AMI against amibox from inside a real guest: it launches the
# source image, provisions it over SSH, uploads the user's X.509 certificate
# and key over SCP, runs ec2-bundle-vol in the guest (the samples carry
# amibox-ec2-tools) to bundle the root disk, ec2-upload-bundle to put the
# bundle in a bucket through amibox's S3 API (reached through the VPC
# router, with the user's keys), and registers the manifest.  An instance of
# the new AMI then boots from its instance store.  With the Debian sample
# (AMIBOX_PACKER_IMAGE, check-e2e) the provisioner's file must be in the new
# image, and the X.509 key must not; the busybox sample lives in its initrd,
# so with it the new instance's console is what shows that the bundled disk
# boots.
. "$(dirname "$0")/lib.sh"
command -v packer >/dev/null || fail "packer is not installed"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
image=${AMIBOX_PACKER_IMAGE:-amibox-sample-linux}
user=${AMIBOX_PACKER_USER:-root}
sudo=${AMIBOX_PACKER_SUDO:-}
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3 ${AMIBOX_PACKER_SERVE_ARGS:-}"
case $image in amibox-sample-debian-*) amibox_debian_samples ;; esac
amibox_start
ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
for _ in $(seq 1 50); do
  [ "$(ec2 describe-images --owners amazon --filters Name=name,Values="$image" --query 'length(Images)')" = 1 ] && break
  sleep 0.2
done
# The user's X.509 certificate and key, as the AMI tools take them.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=alice -keyout "$TEST_DIR/x509-key.pem" \
  -out "$TEST_DIR/x509-cert.pem" 2>/dev/null
# Registered with the account, as EC2 wants it for bundles it registers.
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" iam upload-signing-certificate \
  --certificate-body "file://$TEST_DIR/x509-cert.pem" >/dev/null
cat >"$TEST_DIR/provision.sh" <<SH
#!/bin/sh
set -e
S=; command -v sudo >/dev/null && S=sudo
echo baked-by-packer-instance | \$S tee /etc/packer-mark >/dev/null
echo "provisioned \$(cat /etc/packer-mark)"
scratch=${AMIBOX_PACKER_SCRATCH:-}
if [ -n "\$scratch" ]; then
  # The scratch volume: the disk without partitions (the root disk has one).
  for d in /sys/block/vd? /sys/block/xvd? /sys/block/nvme?n1 /sys/block/sd?; do
    [ -e "\$d" ] || continue
    n=\$(basename "\$d")
    ls "\$d" | grep -q "^\$n" && continue
    \$S mkfs.ext4 -q -F /dev/\$n
    \$S mkdir -p "\$scratch"
    \$S mount /dev/\$n "\$scratch"
    \$S chmod 1777 "\$scratch"
    echo "scratch volume /dev/\$n on \$scratch"
    break
  done
  mountpoint -q "\$scratch" || { echo "no scratch volume"; exit 1; }
fi
SH
# The AMI tools' commands as Packer writes them by default, with sudo only
# where the image has it (the busybox sample logs in as root, without sudo).
cat >"$TEST_DIR/build.json" <<JSON
{
  "builders": [{
    "type": "amazon-instance",
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
    "ssh_interface": "public_ip",
    "associate_public_ip_address": true,
    "ssh_timeout": "5m",
    "account_id": "$ALICE_ID",
    "s3_bucket": "packer-bundles",
    "x509_cert_path": "$TEST_DIR/x509-cert.pem",
    "x509_key_path": "$TEST_DIR/x509-key.pem",
    "bundle_vol_command": "$sudo ec2-bundle-vol -k {{.KeyPath}} -u {{.AccountId}} -c {{.CertPath}} -r {{.Architecture}} -e {{.PrivatePath}}/* -d {{.Destination}} -p {{.Prefix}} --batch --no-filter",
    "bundle_upload_command": "$sudo ec2-upload-bundle -b {{.BucketName}} -m {{.ManifestPath}} -a {{.AccessKey}} -s {{.SecretKey}} -d {{.BundleDirectory}} --batch --region {{.Region}} --retry",
    ${AMIBOX_PACKER_INSTANCE_EXTRA:-}
    "ami_name": "packer-bundled-{{timestamp}}",
    "tags": { "Builder": "packer-instance" }
  }],
  "provisioners": [{
    "type": "shell",
    "script": "$TEST_DIR/provision.sh"
  }]
}
JSON
export AWS_POLL_DELAY_SECONDS=1 AWS_MAX_ATTEMPTS=600 PACKER_NO_COLOR=1 CHECKPOINT_DISABLE=1
t0=$(date +%s)
(cd "$TEST_DIR" && packer build -color=false build.json) >"$TEST_DIR/packer.log" 2>&1 \
  || { tail -60 "$TEST_DIR/packer.log"; fail "packer build failed"; }
echo "packer build (amazon-instance) took $(( $(date +%s) - t0 )) s"
grep -q "provisioned baked-by-packer-instance" "$TEST_DIR/packer.log" || fail "the provisioner did not run over SSH"
grep -q "ec2-bundle-vol complete" "$TEST_DIR/packer.log" || fail "ec2-bundle-vol did not run in the guest"
grep -q "ec2-upload-bundle complete" "$TEST_DIR/packer.log" || fail "ec2-upload-bundle did not run in the guest"
ami=$(grep -o "us-east-1: ami-[0-9a-f]*" "$TEST_DIR/packer.log" | tail -1 | cut -d' ' -f2)
[[ $ami =~ ^ami- ]] || fail "no AMI in Packer's output"
got=$(ec2 describe-images --image-ids "$ami" --query 'Images[0].[State,RootDeviceType,VirtualizationType,Tags[?Key==`Builder`].Value|[0]]')
want_virt=$(ec2 describe-images --owners amazon --filters Name=name,Values="$image" --query 'Images[0].VirtualizationType')
[ "$got" = "available	instance-store	$want_virt	packer-instance" ] || fail "the bundled AMI: '$got'"
location=$(ec2 describe-images --image-ids "$ami" --query 'Images[0].ImageLocation')
[[ $location == packer-bundles/image-*.manifest.xml ]] || fail "its manifest: '$location'"
# The bundle is in the bucket, its parts beside the manifest.
objects=$(as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text s3api list-objects-v2 \
  --bucket packer-bundles --query 'Contents[].Key')
[[ $objects == *".part."* && $objects == *".manifest.xml"* ]] || fail "the bucket holds: $objects"
# Packer left no instance running.
got=$(ec2 describe-instances --filters Name=instance-state-name,Values=pending,running,stopping,stopped --query 'length(Reservations)')
[ "$got" = 0 ] || fail "Packer left $got instances"
# An instance of the new AMI boots from its instance store.
ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C check
ec2 import-key-pair --key-name check --public-key-material "fileb://$TEST_DIR/key.pub" >/dev/null
sg=$(ec2 create-security-group --group-name check-ssh --description ssh --query GroupId)
ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null
# On a type with instance storage, as EC2 wants for instance-store images.
id=$(ec2 run-instances --image-id "$ami" --instance-type "${AMIBOX_PACKER_STORE_TYPE:-m1.small}" --count 1 \
  --key-name check --security-group-ids "$sg" --query 'Instances[0].InstanceId')
for _ in $(seq 1 300); do
  state=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].State.Name')
  [ "$state" = running ] && break
  [ "$state" = terminated ] && fail "the instance of the bundled AMI did not start"
  sleep 1
done
got=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].RootDeviceType')
[ "$got" = instance-store ] || fail "the new instance's root: $got"
ip=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].PublicIpAddress')
ssh_run() {
  ssh -i "$TEST_DIR/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    -o ConnectTimeout=5 "$user@$ip" "$@"
}
for _ in $(seq 1 180); do ssh_run true 2>/dev/null && break; sleep 1; done
ssh_run true || fail "cannot log in to the instance of the bundled AMI"
if [ "$image" = amibox-sample-linux ]; then
  # The bundled disk's PV-GRUB menu booted the same kernel and initrd, and
  # the machine knows itself as an instance of the bundle.
  got=$(ssh_run 'wget -qO- http://169.254.169.254/latest/meta-data/ami-id; echo;
    wget -qO- http://169.254.169.254/latest/meta-data/ami-manifest-path') || true
  [ "$got" = "$ami
$location" ] || fail "the new instance's metadata: '$got'"
else
  mark=$(ssh_run cat /etc/packer-mark) || true
  [ "$mark" = baked-by-packer-instance ] || fail "the bundled AMI has no /etc/packer-mark: '$mark'"
  # The bundle, as the user can read it: a clean file system (the disk was
  # frozen while it was read) holding the mark but not the X.509 key that
  # Packer uploaded to /tmp on that disk.
  prefix=$(basename "$location" .manifest.xml)
  as alice "$AMIBOX_BIN" download-bundle --endpoint "$ENDPOINT" --bucket packer-bundles \
    --prefix "$prefix" --destination "$TEST_DIR/bundle" >/dev/null 2>&1 || fail "download-bundle failed"
  "$AMIBOX_BIN" unbundle --manifest "$TEST_DIR/bundle/$prefix.manifest.xml" --privatekey "$TEST_DIR/x509-key.pem" \
    --source "$TEST_DIR/bundle" --destination "$TEST_DIR/image" --no-progress >/dev/null 2>&1 || fail "unbundle failed"
  rm -rf "$TEST_DIR/bundle"
  disk=$TEST_DIR/image/$prefix
  # Partition 1 of the MBR disk, from its table.
  start=$(od -An -j 454 -N4 -tu4 "$disk" | tr -d ' ')
  dd if="$disk" of="$TEST_DIR/fs.img" bs=512 skip="$start" conv=sparse status=none
  rm -f "$disk"
  PATH=$PATH:/sbin:/usr/sbin e2fsck -fn "$TEST_DIR/fs.img" >"$TEST_DIR/fsck.out" 2>&1 ||
    { cat "$TEST_DIR/fsck.out"; fail "the bundled file system is not clean"; }
  PATH=$PATH:/sbin:/usr/sbin debugfs -R 'cat /etc/packer-mark' "$TEST_DIR/fs.img" 2>/dev/null |
    grep -q baked-by-packer-instance || fail "the unbundled image has no /etc/packer-mark"
  keyline=$(sed -n 2p "$TEST_DIR/x509-key.pem")
  if grep -qaF -- "$keyline" "$TEST_DIR/fs.img"; then fail "the X.509 key went into the image"; fi
  rm -f "$TEST_DIR/fs.img"
fi
ec2 terminate-instances --instance-ids "$id" >/dev/null
