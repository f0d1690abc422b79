#!/usr/bin/env bash
# Volumes: the EC2 actions through boto3, the bytes through amibox's nbdkit
# plugin (qemu-io and qemu-img as NBD clients), snapshots of volumes read
# back through the EBS direct API; then the same CLI calls with v1 and v2.
. "$(dirname "$0")/lib.sh"
command -v nbdkit >/dev/null || fail "nbdkit is not installed (make deps)"
[ -f "$NBD_PLUGIN" ] || fail "the nbdkit plugin was not built: $NBD_PLUGIN"
amibox_start
NBD_PRELOAD=$AMIBOX_NBDKIT_PRELOAD
export DATA_DIR TEST_DIR NBD_PLUGIN NBD_PRELOAD
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_volumes.py"

for cli in "$AWS_V1" "$AWS_V2"; do
  ec2() { "$cli" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
  vol=$(as alice ec2 create-volume --availability-zone us-east-1a --size 2 --volume-type gp3 \
    --tag-specifications 'ResourceType=volume,Tags=[{Key=cli,Value=yes}]' --query VolumeId)
  as alice ec2 wait volume-available --volume-ids "$vol" || fail "$cli: wait volume-available"
  got=$(as alice ec2 describe-volumes --filters Name=tag:cli,Values=yes --query 'Volumes[].[VolumeId,Size,State]')
  [ "$got" = "$vol	2	available" ] || fail "$cli: describe-volumes: '$got'"
  snap=$(as alice ec2 create-snapshot --volume-id "$vol" --description cli --query SnapshotId)
  as alice ec2 wait snapshot-completed --snapshot-ids "$snap" || fail "$cli: wait snapshot-completed"
  as alice ec2 modify-volume --volume-id "$vol" --size 3 >/dev/null || fail "$cli: modify-volume"
  as alice ec2 delete-volume --volume-id "$vol" || fail "$cli: delete-volume"
  as alice ec2 delete-snapshot --snapshot-id "$snap" || fail "$cli: delete-snapshot"
done
echo "t_volumes: ok"
