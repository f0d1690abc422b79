#!/usr/bin/env bash
# Instances: real QEMU machines (KVM when /dev/kvm works, TCG otherwise)
# booted from EBS-backed HVM images that this test assembles: a boot sector
# that counts its boots on its own disk and prints the count.  boto3 for the
# life cycle, then AWS CLI v1 and v2 for a launch each.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
command -v nbdkit >/dev/null || fail "nbdkit is not installed (make deps)"
AMIBOX_SERVE_ARGS="--stop-grace 2"
amibox_start

# The guests: one that halts after printing, one that powers off.
command as --32 -o "$TEST_DIR/boot.o" "$AMIBOX_SRC/guests/hvm_boot.S"
ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$TEST_DIR/boot.bin" "$TEST_DIR/boot.o"
[ "$(stat -c %s "$TEST_DIR/boot.bin")" = 512 ] || fail "the boot sector is not 512 bytes"
for kind in halt poweroff; do
  truncate -s 1M "$TEST_DIR/$kind.raw"
  dd if="$TEST_DIR/boot.bin" of="$TEST_DIR/$kind.raw" conv=notrunc status=none
done
printf '\001' | dd of="$TEST_DIR/poweroff.raw" bs=1 seek=509 conv=notrunc status=none
# A disk with no boot sector: the machine runs and prints nothing.
truncate -s 1M "$TEST_DIR/silent.raw"
# A paravirtual guest: an ext2 file system with /boot/grub/menu.lst, a tiny
# multiboot kernel that prints the command line PV-GRUB gave it, and an
# initrd; unpartitioned (PV-GRUB hd0) and on a first MBR partition (hd00).
command as --32 -o "$TEST_DIR/pvk.o" "$AMIBOX_SRC/guests/pv_kernel.S"
ld -m elf_i386 -N -Ttext 0x100000 -e _start --build-id=none -o "$TEST_DIR/pvk.elf" "$TEST_DIR/pvk.o" 2>/dev/null
mkdir -p "$TEST_DIR/pvroot/boot/grub"
cp "$TEST_DIR/pvk.elf" "$TEST_DIR/pvroot/boot/pvk"
echo "initrd" >"$TEST_DIR/pvroot/boot/initrd.img"
cat >"$TEST_DIR/pvroot/boot/grub/menu.lst" <<'MENU'
# amibox test menu: the default entry is broken, the fallback boots
default 0
fallback 1
timeout 3
title broken
root (hd0)
kernel /boot/missing-kernel console=ttyS0
title amibox pv
root (hd0)
kernel /boot/pvk root=/dev/xvda1 ro console=ttyS0 amibox=pv
initrd /boot/initrd.img
MENU
mke2fs -q -t ext2 -d "$TEST_DIR/pvroot" "$TEST_DIR/pv.raw" 8M >/dev/null
sed -i 's/(hd0)/(hd0,0)/' "$TEST_DIR/pvroot/boot/grub/menu.lst"
mke2fs -q -t ext2 -d "$TEST_DIR/pvroot" "$TEST_DIR/pvpart.fs" 8M >/dev/null
python3 - "$TEST_DIR/pvpart.raw" "$TEST_DIR/pvpart.fs" <<'PY'
import struct, sys
fs = open(sys.argv[2], "rb").read()
mbr = bytearray(512)
mbr[446:462] = bytes([0x80, 0, 0, 0, 0x83, 0, 0, 0]) + struct.pack("<II", 2048, len(fs) // 512)
mbr[510:512] = b"\x55\xaa"
with open(sys.argv[1], "wb") as f:
    f.write(mbr + bytes(2048 * 512 - 512) + fs)
PY
mkdir -p "$TEST_DIR/nomenu"
mke2fs -q -t ext2 -d "$TEST_DIR/nomenu" "$TEST_DIR/pvbroken.raw" 4M >/dev/null
export GUEST_PV=$TEST_DIR/pv.raw GUEST_PV_PART=$TEST_DIR/pvpart.raw GUEST_PV_BROKEN=$TEST_DIR/pvbroken.raw
export GUEST_HALT=$TEST_DIR/halt.raw GUEST_POWEROFF=$TEST_DIR/poweroff.raw GUEST_SILENT=$TEST_DIR/silent.raw DATA_DIR TEST_DIR AMIBOX_BIN AWS_V1 AWS_V2
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_instances.py"

snap=$(as alice "$AMIBOX_BIN" import "$GUEST_HALT" --endpoint "$ENDPOINT" 2>/dev/null)
# Polls DescribeInstances until every instance is in the state (the CLI's
# own waiters poll every 15 s; boto3_instances.py runs the waiters faster).
wait_state() { # CLI STATE ID...
  local cli=$1 want=$2 got=
  shift 2
  for _ in $(seq 1 300); do
    got=$(as alice "$cli" --endpoint-url "$ENDPOINT" --output text ec2 describe-instances \
      --instance-ids "$@" --query 'Reservations[].Instances[].State.Name' | tr -s '\t' ' ')
    [ "$(echo "$got" | tr ' ' '\n' | sort -u)" = "$want" ] && return 0
    sleep 0.2
  done
  echo "instances $* are '$got', not $want" >&2
  return 1
}
for cli in "$AWS_V1" "$AWS_V2"; do
  ec2() { "$cli" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
  ami=$(as alice ec2 register-image --name "cli-$RANDOM$RANDOM" --architecture x86_64 \
    --virtualization-type hvm --root-device-name /dev/xvda \
    --block-device-mappings "DeviceName=/dev/xvda,Ebs={SnapshotId=$snap}" --query ImageId)
  # Empty values, as Terraform and Packer send them, mean "not given".
  id=$(as alice ec2 run-instances --image-id "$ami" --instance-type t3.micro --count 1 \
    --placement '{"AvailabilityZone": "", "GroupName": ""}' --subnet-id '' \
    --block-device-mappings 'DeviceName=/dev/xvda,Ebs={DeleteOnTermination=false}' \
    --query 'Instances[0].InstanceId') || fail "$cli: run-instances with empty values"
  wait_state "$cli" running "$id" || fail "$cli: not running"
  # The root mapping kept the image's snapshot and took the launch's flag.
  root=$(as alice ec2 describe-instances --instance-ids "$id" \
    --query 'Reservations[0].Instances[0].BlockDeviceMappings[0].Ebs.[VolumeId,DeleteOnTermination]')
  [ "${root#*	}" = False ] || fail "$cli: root mapping '$root'"
  [ "$(as alice ec2 describe-volumes --volume-ids "${root%%	*}" --query 'Volumes[0].SnapshotId')" = "$snap" ] ||
    fail "$cli: the root volume is not from the image's snapshot"
  for _ in $(seq 1 100); do
    out=$(as alice "$cli" --endpoint-url "$ENDPOINT" --output json ec2 get-console-output \
      --instance-id "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Output",""))')
    case $out in *"boot 001"*) break ;; esac
    sleep 0.2
  done
  case $out in *"boot 001"*) ;; *) fail "$cli: console: '$out'" ;; esac
  # The guest has spoken: the status checks pass, and the CLI's waiter ends.
  timeout 60 env AWS_ACCESS_KEY_ID="$ALICE_KEY" AWS_SECRET_ACCESS_KEY="$ALICE_SECRET" \
    "$cli" --endpoint-url "$ENDPOINT" ec2 wait instance-status-ok --instance-ids "$id" ||
    fail "$cli: wait instance-status-ok"
  got=$(as alice ec2 describe-instance-status --instance-ids "$id" \
    --query 'InstanceStatuses[0].[SystemStatus.Status,InstanceStatus.Status,InstanceStatus.Details[0].Status]')
  [ "$got" = "ok	ok	passed" ] || fail "$cli: describe-instance-status: '$got'"
  as alice ec2 terminate-instances --instance-ids "$id" >/dev/null || fail "$cli: terminate"
  wait_state "$cli" terminated "$id" || fail "$cli: not terminated"
  as alice ec2 delete-volume --volume-id "${root%%	*}" || fail "$cli: the kept root volume"
done
# A daemon restart: the running machine is found again and still obeys;
# one that died meanwhile is reported stopped, not running.
ec2() { "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
keep=$(as alice ec2 run-instances --image-id "$ami" --instance-type t2.micro --count 1 --query 'Instances[0].InstanceId')
gone=$(as alice ec2 run-instances --image-id "$ami" --instance-type t2.micro --count 1 --query 'Instances[0].InstanceId')
wait_state "$AWS_V1" running "$keep" "$gone" || fail "restart: not running"
amibox_daemon_down
pkill -KILL -f -- "amibox-$gone" || fail "restart: no machine for $gone"
amibox_daemon_up
got=$(as alice ec2 describe-instances --instance-ids "$keep" --query 'Reservations[0].Instances[0].State.Name')
[ "$got" = running ] || fail "restart: $keep is '$got' after the restart"
for _ in $(seq 1 100); do
  got=$(as alice ec2 describe-instances --instance-ids "$gone" --query 'Reservations[0].Instances[0].[State.Name,StateReason.Code]')
  [ "$got" = "stopped	Server.InternalError" ] && break
  sleep 0.1
done
[ "$got" = "stopped	Server.InternalError" ] || fail "restart: the dead machine's instance is '$got'"
as alice ec2 stop-instances --instance-ids "$keep" --force >/dev/null || fail "restart: stop"
wait_state "$AWS_V1" stopped "$keep" || fail "restart: the adopted machine did not stop"
pgrep -f -- "amibox-$keep" >/dev/null && fail "restart: the machine of $keep still runs"
as alice ec2 terminate-instances --instance-ids "$keep" "$gone" >/dev/null
echo "t_instances: ok"
