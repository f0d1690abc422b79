#!/usr/bin/env bash
# Packer's amazon-ebs builder on the Debian sample (cloud-init, OpenSSH,
# user admin with sudo): the baked AMI's instance shows the provisioner's
# file over SSH.  tests/integration/t_packer.sh with the Debian image.
export AMIBOX_PACKER_IMAGE=amibox-sample-debian-hvm AMIBOX_PACKER_USER=admin AMIBOX_PACKER_TYPE=t3.small
exec bash "$(dirname "$0")/../integration/t_packer.sh"
