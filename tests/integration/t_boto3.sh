#!/usr/bin/env bash
# EBS direct API and EC2 snapshot actions through boto3: pip's 1.43 and
# Debian's 1.26, against one daemon.
. "$(dirname "$0")/lib.sh"
amibox_start
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_snapshots.py"
"$PY_DEBIAN" "$AMIBOX_SRC/tests/integration/boto3_snapshots.py"
