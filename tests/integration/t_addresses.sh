#!/usr/bin/env bash
# Elastic IP addresses.  The API through boto3 (boto3_addresses.py: both
# versions for what needs no instance, boto3 1.43 on the boot-sector guest
# for associations), then for real, with the AWS CLI: the Linux sample
# reached over SSH from the host at its Elastic IP, and there its metadata
# says so; the address stays through a stop and a start; disassociated, the
# instance gets a new automatic public address (the default subnet maps
# them) that SSH reaches, and the Elastic IP no longer reaches the guest;
# associated again it does; terminated, the instance lets the address go,
# which stays allocated until released.  The Linux guest boots while the
# boto3 tests run.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
command -v ssh >/dev/null || fail "openssh-client is not installed"
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3"
amibox_start
# Carol's account for the Linux guest: the boto3 tests count Alice's and Bob's addresses.
amibox_account carol
ec2() { as carol "$AWS_V2" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
ec2_v1() { as carol "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
q() { local id=$1; shift; ec2 describe-instances --instance-ids "$id" --query "Reservations[0].Instances[0].$1"; }
console() { guest_console carol "$1"; }
wait_console() { wait_guest_console carol "$@"; } # ID TEXT SECONDS
wait_state() { # wait_state ID STATE SECONDS
  local got=
  for _ in $(seq 1 $(($3 * 2))); do
    got=$(q "$1" State.Name)
    [ "$got" = "$2" ] && return 0
    sleep 0.5
  done
  echo "$1 is '$got', not $2" >&2
  return 1
}
in_pool() { [[ $1 =~ ^${PUBLIC_IPS%.0/24}\.[0-9]+$ ]]; }
# ssh_at ADDRESS: what the guest's metadata says of it, over SSH as root
# with the key pair's key, polled for up to 60 s.
meta='echo "id=$(wget -qO- http://169.254.169.254/latest/meta-data/instance-id) public=$(wget -qO- http://169.254.169.254/latest/meta-data/public-ipv4)"'
ssh_at() {
  local deadline=$((SECONDS + 60)) out
  while [ "$SECONDS" -lt "$deadline" ]; do
    if out=$(ssh -i "$TEST_DIR/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR "root@$1" "$meta" </dev/null 2>/dev/null); then
      echo "$out"
      return 0
    fi
    sleep 1
  done
  return 1
}
# probe ADDRESS: who answers on its port 22 within 3 s: "dropbear" (the
# guest's SSH server), "refused", "timeout", or "other: BANNER".
probe() { python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 22), 3)
    s.settimeout(3)
    try:
        banner = s.recv(100).decode(errors="replace").strip()
    except OSError:
        banner = ""
    print("dropbear" if "dropbear" in banner.lower() else "other: " + banner)
except socket.timeout:
    print("timeout")
except OSError:
    print("refused")
PY
}
# wait_not_guest ADDRESS: polls (up to 15 s) until ADDRESS:22 no longer reaches the guest.
wait_not_guest() {
  local got=
  for _ in $(seq 1 30); do
    got=$(probe "$1")
    [ "$got" != dropbear ] && { echo "$got"; return 0; }
    sleep 0.5
  done
  return 1
}

# ---- the Linux guest: launched first, so that it boots meanwhile ----------
sample=$(sample_image carol amibox-sample-linux) || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C eip-test
ec2 import-key-pair --key-name eip-test --public-key-material "fileb://$TEST_DIR/key.pub" >/dev/null ||
  fail "import-key-pair"
vpc=$(ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId')
sg=$(ec2 create-security-group --group-name ssh --description "ssh from anywhere" --vpc-id "$vpc" --query GroupId)
ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null ||
  fail "authorize-security-group-ingress"
id=$(ec2 run-instances --image-id "$sample" --instance-type m1.small --count 1 --key-name eip-test \
  --security-group-ids "$sg" --query 'Instances[0].InstanceId') || fail "run-instances of the Linux sample"
[[ $id =~ ^i-[0-9a-f]{17}$ ]] || fail "run-instances: '$id'"
got=$(ec2 allocate-address --domain vpc --tag-specifications 'ResourceType=elastic-ip,Tags=[{Key=Name,Value=ssh}]' \
  --query '[AllocationId,PublicIp,Domain]') || fail "allocate-address"
read -r alloc eip domain <<<"$got"
[[ $alloc =~ ^eipalloc-[0-9a-f]{17}$ && $domain = vpc ]] || fail "allocate-address: '$got'"
in_pool "$eip" || fail "the Elastic IP $eip is not from the daemon's pool $PUBLIC_IPS"
wait_state "$id" running 120 || fail "the Linux instance did not start running"
for _ in $(seq 1 20); do
  auto=$(q "$id" PublicIpAddress)
  in_pool "$auto" && break
  sleep 0.5
done
in_pool "$auto" || fail "no automatic public address in the default subnet: '$auto'"
assoc=$(ec2 associate-address --allocation-id "$alloc" --instance-id "$id" --query AssociationId) ||
  fail "associate-address of the running Linux instance"
[[ $assoc =~ ^eipassoc-[0-9a-f]{17}$ ]] || fail "associate-address: '$assoc'"
got=$(q "$id" '[PublicIpAddress,PublicDnsName,NetworkInterfaces[0].Association.IpOwnerId]')
[ "$got" = "$eip	ec2-${eip//./-}.compute-1.amazonaws.com	$CAROL_ID" ] || fail "describe-instances after associate-address: '$got'"
got=$(ec2_v1 describe-addresses --public-ips "$eip" --query 'Addresses[0].[AllocationId,InstanceId,AssociationId]')
[ "$got" = "$alloc	$id	$assoc" ] || fail "describe-addresses (CLI v1): '$got'"

# ---- boto3, on Alice's and Bob's accounts ---------------------------------
command as --32 -o "$TEST_DIR/boot.o" "$AMIBOX_SRC/guests/hvm_boot.S"
ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$TEST_DIR/boot.bin" "$TEST_DIR/boot.o"
truncate -s 1M "$TEST_DIR/halt.raw"
dd if="$TEST_DIR/boot.bin" of="$TEST_DIR/halt.raw" conv=notrunc status=none
export GUEST_HALT=$TEST_DIR/halt.raw PUBLIC_IPS DATA_DIR AMIBOX_BIN
# A failure there is reported at the end: the Linux guest's checks still run.
py_failed=
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_addresses.py" || py_failed="$py_failed $PY_NEW"
"$PY_DEBIAN" "$AMIBOX_SRC/tests/integration/boto3_addresses.py" Addresses || py_failed="$py_failed $PY_DEBIAN"

# ---- SSH at the Elastic IP ------------------------------------------------
wait_console "$id" "BEGIN SSH HOST KEY" 150 || fail "the guest's SSH server did not start: $(console "$id" | tail -20)"
out=$(ssh_at "$eip") || fail "ssh root@$eip (the Elastic IP) did not answer within 60 s"
[ "$out" = "id=$id public=$eip" ] || fail "over SSH at $eip, the metadata says '$out'"
got=$(probe "$auto")
[ "$got" != dropbear ] || fail "the replaced automatic address $auto still reaches the guest"

# ---- stop and start: the address stays ------------------------------------
ec2 stop-instances --instance-ids "$id" >/dev/null || fail "stop-instances"
wait_state "$id" stopped 90 || fail "the Linux instance did not stop"
[ "$(q "$id" PublicIpAddress)" = "$eip" ] || fail "the stopped instance's public address is '$(q "$id" PublicIpAddress)', not $eip"
got=$(ec2 describe-addresses --allocation-ids "$alloc" --query 'Addresses[0].[InstanceId,AssociationId]')
[ "$got" = "$id	$assoc" ] || fail "describe-addresses while stopped: '$got'"
ec2 start-instances --instance-ids "$id" >/dev/null || fail "start-instances"
wait_state "$id" running 120 || fail "the Linux instance did not run again"
[ "$(q "$id" PublicIpAddress)" = "$eip" ] || fail "after the start the public address is '$(q "$id" PublicIpAddress)', not $eip"
wait_console "$id" "BEGIN SSH HOST KEY" 150 || fail "the SSH server did not start again: $(console "$id" | tail -20)"
out=$(ssh_at "$eip") || fail "ssh root@$eip after stop and start did not answer within 60 s"
[ "$out" = "id=$id public=$eip" ] || fail "over SSH at $eip after the restart, the metadata says '$out'"

# ---- disassociated: a new automatic address; the EIP reaches nothing ------
[ "$(probe "$eip")" = dropbear ] || fail "$eip:22 is not the guest's SSH server before disassociate-address"
ec2 disassociate-address --association-id "$assoc" || fail "disassociate-address"
new=
for _ in $(seq 1 60); do
  new=$(q "$id" PublicIpAddress)
  in_pool "$new" && [ "$new" != "$eip" ] && break
  sleep 0.5
done
{ in_pool "$new" && [ "$new" != "$eip" ]; } || fail "no new automatic public address after disassociate-address: '$new'"
got=$(ec2 describe-addresses --allocation-ids "$alloc" --query 'Addresses[0].[AllocationId,InstanceId,AssociationId]')
[ "$got" = "$alloc	None	None" ] || fail "describe-addresses after disassociate-address: '$got'"
gone=$(wait_not_guest "$eip") || fail "the Elastic IP $eip still reaches the guest after disassociate-address"
echo "after disassociate-address, $eip:22 is $gone"
out=$(ssh_at "$new") || fail "ssh root@$new (the new automatic address) did not answer within 60 s"
[ "$out" = "id=$id public=$new" ] || fail "over SSH at $new, the metadata says '$out'"

# ---- associated again: back at the EIP, the automatic address let go ------
assoc=$(ec2_v1 associate-address --allocation-id "$alloc" --instance-id "$id" --query AssociationId) ||
  fail "associate-address again (CLI v1)"
[[ $assoc =~ ^eipassoc-[0-9a-f]{17}$ ]] || fail "associate-address again (CLI v1): '$assoc'"
out=$(ssh_at "$eip") || fail "ssh root@$eip after associating it again did not answer within 60 s"
[ "$out" = "id=$id public=$eip" ] || fail "over SSH at $eip again, the metadata says '$out'"
wait_not_guest "$new" >/dev/null || fail "the replaced automatic address $new still reaches the guest"

# ---- terminated: the address is let go, still allocated; then released ----
ec2 terminate-instances --instance-ids "$id" >/dev/null || fail "terminate-instances"
wait_state "$id" terminated 90 || fail "the Linux instance did not terminate"
got=$(ec2 describe-addresses --allocation-ids "$alloc" --query 'Addresses[0].[PublicIp,InstanceId,AssociationId]')
[ "$got" = "$eip	None	None" ] || fail "describe-addresses after terminate-instances: '$got'"
got=$(ec2 describe-tags --filters Name=resource-id,Values="$alloc" --query 'Tags[].[ResourceType,Key,Value]')
[ "$got" = "elastic-ip	Name	ssh" ] || fail "the address's tags: '$got'"
ec2_v1 release-address --allocation-id "$alloc" || fail "release-address (CLI v1)"
got=$(ec2 describe-addresses --query 'length(Addresses)')
[ "$got" = 0 ] || fail "addresses left after release-address: $got"
err=$(ec2 describe-addresses --allocation-ids "$alloc" 2>&1 >/dev/null || true)
[[ $err == *InvalidAllocationID.NotFound* ]] || fail "describe-addresses of the released address: '$err'"

[ -z "$py_failed" ] || fail "boto3_addresses.py failed with:$py_failed"
echo "t_addresses: ok"
