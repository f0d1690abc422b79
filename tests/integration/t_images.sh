#!/usr/bin/env bash
# The image catalogue through boto3 (pip's 1.43 and Debian's 1.26) and the
# AWS CLI v1 and v2: registration, DescribeImages, launch permissions,
# attributes, deprecation, copy, deregistration, isolation between accounts.
. "$(dirname "$0")/lib.sh"
amibox_start
export DATA_DIR
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_images.py"
"$PY_DEBIAN" "$AMIBOX_SRC/tests/integration/boto3_images.py"

# The CLIs: register from an imported snapshot, share (also as Packer does),
# look up the newest image by name the way Terraform's aws_ami data source does.
python3 -c 'import os,sys; sys.stdout.buffer.write(os.urandom(1<<20) + bytes(1<<20))' >"$TEST_DIR/disk.raw"
snap=$(as alice "$AMIBOX_BIN" import "$TEST_DIR/disk.raw" --endpoint "$ENDPOINT" 2>/dev/null)
for cli in "$AWS_V1" "$AWS_V2"; do
  ec2() { "$cli" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
  tag=cli$RANDOM$RANDOM
  for v in 1 2 3; do
    as alice ec2 register-image --name "$tag-$v" --architecture x86_64 \
      --virtualization-type hvm --root-device-name /dev/xvda \
      --block-device-mappings "DeviceName=/dev/xvda,Ebs={SnapshotId=$snap,VolumeType=gp3}" \
      --query ImageId >"$TEST_DIR/id.$v" || fail "$cli: register-image"
  done
  # Untagged: no tag set at all (null), as EC2 answers.
  tags=$(as alice "$cli" --endpoint-url "$ENDPOINT" --output json ec2 describe-images \
    --image-ids "$(cat "$TEST_DIR/id.1")" --query 'Images[0].Tags')
  [ "$tags" = null ] || fail "$cli: an untagged image has Tags $tags"
  newest=$(as alice ec2 describe-images --owners self --filters "Name=name,Values=$tag-*" \
    --query 'sort_by(Images,&CreationDate)[-1].ImageId')
  [ "$newest" = "$(cat "$TEST_DIR/id.3")" ] || fail "$cli: newest image is $newest"
  id=$(cat "$TEST_DIR/id.1")
  as alice ec2 modify-image-attribute --image-id "$id" --launch-permission "Add=[{UserId=$BOB_ID}]" \
    || fail "$cli: modify-image-attribute"
  got=$(as bob ec2 describe-images --owners "$ALICE_ID" --filters "Name=name,Values=$tag-*" \
    --query 'Images[].ImageId')
  [ "$got" = "$id" ] || fail "$cli: bob sees '$got', expected only $id"
  # Packer's ami_users and snapshot_users: UserId.N beside the structured
  # change, without OperationType.
  id2=$(cat "$TEST_DIR/id.2")
  as alice ec2 modify-image-attribute --image-id "$id2" --user-ids "$BOB_ID" \
    --launch-permission "Add=[{UserId=$BOB_ID}]" || fail "$cli: modify-image-attribute as Packer sends it"
  [ "$(as bob ec2 describe-images --image-ids "$id2" --query 'Images[0].ImageId')" = "$id2" ] \
    || fail "$cli: bob cannot see the image shared as Packer shares it"
  as alice ec2 modify-snapshot-attribute --snapshot-id "$snap" --user-ids "$BOB_ID" \
    --create-volume-permission "Add=[{UserId=$BOB_ID}]" || fail "$cli: modify-snapshot-attribute as Packer sends it"
  [ "$(as bob ec2 describe-snapshots --snapshot-ids "$snap" --query 'Snapshots[0].SnapshotId')" = "$snap" ] \
    || fail "$cli: bob cannot see the snapshot shared as Packer shares it"
  users=$(as alice ec2 describe-image-attribute --image-id "$id" --attribute launchPermission \
    --query 'LaunchPermissions[].UserId')
  [ "$users" = "$BOB_ID" ] || fail "$cli: launch permissions '$users'"
  if as bob ec2 deregister-image --image-id "$id" 2>"$TEST_DIR/err"; then
    fail "$cli: bob deregistered alice's image"
  fi
  grep -q AuthFailure "$TEST_DIR/err" || fail "$cli: $(cat "$TEST_DIR/err")"
  as alice ec2 deregister-image --image-id "$id" >/dev/null || fail "$cli: deregister-image"
  # Errors as EC2 words them: every unknown ID named; tags on a malformed
  # ID; KmsKeyId without Encrypted.
  as alice ec2 describe-images --image-ids ami-0123456789abcdef0 "$id2" ami-0fedcba9876543210 \
    2>"$TEST_DIR/err" && fail "$cli: unknown images described"
  grep -qF "(InvalidAMIID.NotFound) when calling the DescribeImages operation: The image ids '[ami-0123456789abcdef0, ami-0fedcba9876543210]' do not exist" \
    "$TEST_DIR/err" || fail "$cli: $(cat "$TEST_DIR/err")"
  as alice ec2 create-tags --resources ami-1 --tags Key=a,Value=b 2>"$TEST_DIR/err" && fail "$cli: tagged ami-1"
  grep -qF "(InvalidID) when calling the CreateTags operation: The ID 'ami-1' is not valid" \
    "$TEST_DIR/err" || fail "$cli: $(cat "$TEST_DIR/err")"
  as alice ec2 copy-snapshot --source-snapshot-id "$snap" --source-region us-east-1 \
    --kms-key-id alias/aws/ebs 2>"$TEST_DIR/err" && fail "$cli: copied with a KMS key, unencrypted"
  grep -qF "(InvalidParameterDependency)" "$TEST_DIR/err" || fail "$cli: $(cat "$TEST_DIR/err")"
done
echo "t_images: ok"
