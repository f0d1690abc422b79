#!/usr/bin/env bash
# Packer's amazon-instance builder on the Debian sample (cloud-init, OpenSSH,
# user admin with sudo), with the AMI tools' commands exactly as Packer
# writes them by default (sudo -i -n ec2-bundle-vol ..., ec2-upload-bundle
# ...): the root disk is in use, so ec2-bundle-vol freezes it while reading;
# the bundle goes to a scratch EBS volume the provisioner formats (as one
# does for images larger than memory).  The new instance-store AMI's
# instance shows the provisioner's file over SSH; the bundle, downloaded and
# unbundled on the host with the user's key, is a clean file system without
# the X.509 key Packer uploaded to /tmp.  tests/integration/t_packer_instance.sh
# with the Debian image.
export AMIBOX_PACKER_IMAGE=amibox-sample-debian-hvm AMIBOX_PACKER_USER=admin AMIBOX_PACKER_TYPE=t3.small
export AMIBOX_PACKER_SUDO="sudo -i -n" AMIBOX_PACKER_SCRATCH=/mnt/bundle AMIBOX_PACKER_STORE_TYPE=m3.medium
export AMIBOX_PACKER_INSTANCE_EXTRA='"ami_virtualization_type": "hvm",
    "launch_block_device_mappings": [{ "device_name": "/dev/sdf", "volume_size": 2, "delete_on_termination": true }],
    "bundle_destination": "/mnt/bundle",'
exec bash "$(dirname "$0")/../integration/t_packer_instance.sh"
