#!/usr/bin/env bash
# The snapshot actions and the EBS direct API through AWS CLI v1 and v2:
# import, describe (IDs, owners, filters, paging, json and text), tags,
# createVolumePermission in both request forms, copy, delete, regions and
# zones, block reads compared with the image's bytes, and error exits.
. "$(dirname "$0")/lib.sh"
amibox_start

# A 3 MiB image: random blocks 0 and 2, zeros at 1, random half block 5.
python3 - "$TEST_DIR/disk.raw" <<'PY'
import os, sys
B = 512 * 1024
with open(sys.argv[1], "wb") as f:
    f.write(os.urandom(B) + bytes(B) + os.urandom(B) + bytes(2 * B) + os.urandom(B // 2) + bytes(B // 2))
PY
snap=$(as alice "$AMIBOX_BIN" import "$TEST_DIR/disk.raw" --endpoint "$ENDPOINT" \
  --description "cli test" 2>/dev/null)
[[ $snap =~ ^snap-[0-9a-f]{17}$ ]] || fail "import printed '$snap'"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

for cli in "$AWS_V1" "$AWS_V2"; do
  name=$(basename "$(dirname "$cli")")/$(basename "$cli")
  aws_() { "$cli" --endpoint-url "$ENDPOINT" "$@"; }
  ec2j() { aws_ --output json ec2 "$@"; }
  ec2t() { aws_ --output text ec2 "$@"; }

  # Describe by ID, owner, filters; json and text output.
  got=$(as alice ec2j describe-snapshots --snapshot-ids "$snap" | json 'd["Snapshots"][0]["State"], d["Snapshots"][0]["VolumeSize"], d["Snapshots"][0]["Description"]')
  [ "$got" = "('completed', 1, 'cli test')" ] || fail "$name: describe-snapshots by ID: $got"
  got=$(as alice ec2t describe-snapshots --owner-ids self --filters "Name=description,Values=cli*" \
    "Name=status,Values=completed" --query 'Snapshots[].SnapshotId')
  [ "$got" = "$snap" ] || fail "$name: filters found '$got'"

  # Tags, and a tag filter with wildcards.
  as alice ec2t create-tags --resources "$snap" --tags Key=Env,Value=prod-eu Key=Team,Value= \
    || fail "$name: create-tags"
  got=$(as alice ec2t describe-snapshots --owner-ids self --filters 'Name=tag:Env,Values=prod-??' \
    --query 'Snapshots[].SnapshotId')
  [ "$got" = "$snap" ] || fail "$name: tag:Env wildcard found '$got'"
  got=$(as alice ec2j describe-tags --filters "Name=resource-id,Values=$snap" | json 'sorted((t["Key"], t["Value"], t["ResourceType"]) for t in d["Tags"])')
  [ "$got" = "[('Env', 'prod-eu', 'snapshot'), ('Team', '', 'snapshot')]" ] || fail "$name: describe-tags: $got"
  as alice ec2t delete-tags --resources "$snap" --tags Key=Team || fail "$name: delete-tags"
  got=$(as alice ec2t describe-tags --filters "Name=resource-id,Values=$snap" --query 'Tags[].Key')
  [ "$got" = "Env" ] || fail "$name: after delete-tags: '$got'"
  as alice ec2t delete-tags --resources "$snap" --tags Key=Env >/dev/null

  # createVolumePermission: the structured form, then the flat one.
  as alice ec2t modify-snapshot-attribute --snapshot-id "$snap" \
    --create-volume-permission "Add=[{UserId=$BOB_ID}]" || fail "$name: modify (structured)"
  got=$(as alice ec2t describe-snapshot-attribute --snapshot-id "$snap" \
    --attribute createVolumePermission --query 'CreateVolumePermissions[].UserId')
  [ "$got" = "$BOB_ID" ] || fail "$name: permissions '$got'"
  got=$(as bob ec2t describe-snapshots --restorable-by-user-ids self --query 'Snapshots[].SnapshotId')
  [ "$got" = "$snap" ] || fail "$name: bob restorable-by self: '$got'"
  as alice ec2t modify-snapshot-attribute --snapshot-id "$snap" --attribute createVolumePermission \
    --operation-type remove --user-ids "$BOB_ID" || fail "$name: modify (flat remove)"
  as alice ec2t modify-snapshot-attribute --snapshot-id "$snap" --attribute createVolumePermission \
    --operation-type add --group-names all || fail "$name: modify (flat add all)"
  got=$(as alice ec2j describe-snapshot-attribute --snapshot-id "$snap" --attribute createVolumePermission | json 'd["CreateVolumePermissions"]')
  [ "$got" = "[{'Group': 'all'}]" ] || fail "$name: public permission: $got"
  got=$(as bob ec2t describe-snapshots --restorable-by-user-ids all --owner-ids "$ALICE_ID" --query 'Snapshots[].SnapshotId')
  [ "$got" = "$snap" ] || fail "$name: public snapshot for bob: '$got'"
  as alice ec2t reset-snapshot-attribute --snapshot-id "$snap" --attribute createVolumePermission \
    || fail "$name: reset-snapshot-attribute"
  if as bob ec2t describe-snapshots --snapshot-ids "$snap" 2>"$TEST_DIR/err"; then
    fail "$name: bob still sees the private snapshot"
  fi
  grep -q "InvalidSnapshot.NotFound" "$TEST_DIR/err" || fail "$name: $(cat "$TEST_DIR/err")"

  # Paging through the CLI's paginator, 5 per page.
  for _ in 1 2 3 4 5 6; do as alice ec2t copy-snapshot --source-snapshot-id "$snap" \
    --source-region us-east-1 --description "page copy" >/dev/null || fail "$name: copy-snapshot"; done
  got=$(as alice ec2j describe-snapshots --owner-ids self --page-size 5 \
    --filters "Name=description,Values=page copy" | json 'len(d["Snapshots"]), len(set(s["SnapshotId"] for s in d["Snapshots"]))')
  [ "$got" = "(6, 6)" ] || fail "$name: paging: $got"
  got=$(as alice ec2j describe-snapshots --owner-ids self --max-items 4 \
    --filters "Name=description,Values=page copy" | json 'len(d["Snapshots"]), bool(d.get("NextToken"))')
  [ "$got" = "(4, True)" ] || fail "$name: --max-items: $got"
  for s in $(as alice ec2t describe-snapshots --owner-ids self \
      --filters "Name=description,Values=page copy" --query 'Snapshots[].SnapshotId'); do
    as alice ec2t delete-snapshot --snapshot-id "$s" || fail "$name: delete-snapshot"
  done

  # Regions and zones.
  got=$(as alice ec2t describe-regions --query 'Regions[].RegionName')
  [ "$got" = "us-east-1" ] || fail "$name: regions '$got'"
  got=$(as alice ec2t describe-availability-zones --query 'AvailabilityZones[].ZoneName')
  [ "$got" = "us-east-1a	us-east-1b	us-east-1c" ] || fail "$name: zones '$got'"

  # EBS direct API: list the blocks, read each, compare with the image.
  as alice aws_ --output json ebs list-snapshot-blocks --snapshot-id "$snap" >"$TEST_DIR/blocks.json" \
    || fail "$name: list-snapshot-blocks"
  got=$(json '[b["BlockIndex"] for b in d["Blocks"]], d["BlockSize"], d["VolumeSize"]' <"$TEST_DIR/blocks.json")
  [ "$got" = "([0, 2, 5], 524288, 1)" ] || fail "$name: blocks $got"
  for index in 0 2 5; do
    token=$(json "[b['BlockToken'] for b in d['Blocks'] if b['BlockIndex'] == $index][0]" <"$TEST_DIR/blocks.json")
    as alice aws_ --output json ebs get-snapshot-block --snapshot-id "$snap" --block-index $index \
      --block-token "$token" "$TEST_DIR/block.$index" >"$TEST_DIR/get.json" || fail "$name: get-snapshot-block $index"
    cmp "$TEST_DIR/block.$index" <(dd if="$TEST_DIR/disk.raw" bs=512K skip=$index count=1 2>/dev/null) \
      || fail "$name: block $index differs from the image"
    want=$(openssl dgst -sha256 -binary "$TEST_DIR/block.$index" | base64)
    got=$(json 'd["Checksum"]' <"$TEST_DIR/get.json")
    [ "$got" = "$want" ] || fail "$name: checksum of block $index"
  done

  # Errors: the code on stderr and a failing exit status.
  for args in "snap-123 InvalidSnapshotID.Malformed" "snap-0123456789abcdef0 InvalidSnapshot.NotFound"; do
    set -- $args
    status=0
    as alice ec2t describe-snapshots --snapshot-ids "$1" 2>"$TEST_DIR/err" >/dev/null || status=$?
    [ $status -ne 0 ] || fail "$name: describe $1 succeeded"
    grep -q "($2)" "$TEST_DIR/err" || fail "$name: describe $1: $(cat "$TEST_DIR/err")"
  done
done
echo "t_cli: ok"
