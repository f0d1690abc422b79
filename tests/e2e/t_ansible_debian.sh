#!/usr/bin/env bash
# Ansible on the Debian sample: `ping` (a Python module) over SSH as admin.
# tests/integration/t_ansible.sh with the Debian image.
export AMIBOX_ANSIBLE_IMAGE=amibox-sample-debian-hvm AMIBOX_ANSIBLE_USER=admin AMIBOX_ANSIBLE_TYPE=t3.small
exec bash "$(dirname "$0")/../integration/t_ansible.sh"
