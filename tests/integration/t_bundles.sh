#!/usr/bin/env bash
# Instance-store AMIs: signing certificates (IAM), bundles made by amibox
# and by an independent implementation (pybundle.py), uploaded with
# `amibox upload-bundle` and `aws s3 cp`, registered, launched, refused.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
AMIBOX_SERVE_ARGS="--stop-grace 2"
amibox_start

# The guests: a boot sector that counts its boots on its disk, and a
# paravirtual ext2 disk whose menu.lst boots a tiny multiboot kernel.
command as --32 -o "$TEST_DIR/boot.o" "$AMIBOX_SRC/guests/hvm_boot.S"
ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$TEST_DIR/boot.bin" "$TEST_DIR/boot.o"
truncate -s 1M "$TEST_DIR/hvm.raw"
dd if="$TEST_DIR/boot.bin" of="$TEST_DIR/hvm.raw" conv=notrunc status=none
command as --32 -o "$TEST_DIR/pvk.o" "$AMIBOX_SRC/guests/pv_kernel.S"
ld -m elf_i386 -N -Ttext 0x100000 -e _start --build-id=none -o "$TEST_DIR/pvk.elf" "$TEST_DIR/pvk.o" 2>/dev/null
mkdir -p "$TEST_DIR/pvroot/boot/grub"
cp "$TEST_DIR/pvk.elf" "$TEST_DIR/pvroot/boot/pvk"
cat >"$TEST_DIR/pvroot/boot/grub/menu.lst" <<'MENU'
default 0
timeout 1
title amibox pv
root (hd0)
kernel /boot/pvk root=/dev/sda1 ro console=ttyS0 amibox=pv
MENU
mke2fs -q -t ext2 -d "$TEST_DIR/pvroot" "$TEST_DIR/pv.raw" 4M >/dev/null
export GUEST_HVM=$TEST_DIR/hvm.raw GUEST_PV=$TEST_DIR/pv.raw DATA_DIR TEST_DIR AMIBOX_BIN AMIBOX_SRC AWS_V1
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_bundles.py"

# The command-line way back: download-bundle, then unbundle with the user's key.
mkdir -p "$TEST_DIR/back"
as alice "$AMIBOX_BIN" download-bundle --bucket alice-bundles --prefix hvm-guest \
  --destination "$TEST_DIR/back" --endpoint "$ENDPOINT" >/dev/null || fail "download-bundle"
"$AMIBOX_BIN" unbundle --manifest "$TEST_DIR/back/hvm-guest.manifest.xml" \
  --privatekey "$TEST_DIR/bundles/alice.key" --destination "$TEST_DIR/back" >/dev/null || fail "unbundle"
cmp -s "$TEST_DIR/back/hvm-guest" "$TEST_DIR/hvm.raw" || fail "the unbundled image differs"
# The AWS CLI v2 and `amibox account add-cert` for bob.
"$AMIBOX_BIN" account add-cert bob "$TEST_DIR/bundles/other.pem" --data "$DATA_DIR" >/dev/null || fail "add-cert"
got=$(as bob "$AWS_V2" --endpoint-url "$ENDPOINT" --output text iam list-signing-certificates \
  --query 'Certificates[0].Status')
[ "$got" = Active ] || fail "v2 list-signing-certificates: '$got'"
echo "t_bundles: ok"
