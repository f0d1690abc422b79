#!/usr/bin/env bash
# A real Linux guest: Debian's cloud kernel and busybox-static (downloaded
# with apt-get download, unpacked with dpkg-deb -x, cached), on an ext2 root
# with menu.lst, booted as a paravirtual instance through amibox's PV-GRUB.
# Inside, the guest takes its address by DHCP and asks the metadata service
# at 169.254.169.254 for its instance ID and user data, prints them, and
# powers off.  TCG, so that it behaves the same on every host.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"

pieces=$("$AMIBOX_SRC/scripts/linux-pieces.sh" "$TEST_DIR") || fail "cannot get Debian's kernel and busybox"
eval "$pieces"
busybox=$AMIBOX_SAMPLE_BUSYBOX

# The initrd: busybox, the virtio network modules, and /init.
init=$TEST_DIR/initrd
mkdir -p "$init/bin" "$init/lib/modules" "$init/proc" "$init/sys" "$init/dev" "$init/tmp"
cp "$busybox" "$init/bin/busybox"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  f=$(find "$TEST_DIR/kernel/lib/modules" -name "$m.ko*" | head -1)
  [ -n "$f" ] || continue # built into this kernel
  case $f in
    *.xz) xz -dc "$f" >"$init/lib/modules/$m.ko" ;;
    *) cp "$f" "$init/lib/modules/$m.ko" ;;
  esac
done
cat >"$init/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
ip link set lo up
ip link set eth0 up
udhcpc -q -n -t 10 -i eth0 -s /udhcpc.sh >/dev/null 2>&1
imds() {
  printf 'GET %s HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' "$1" | nc 169.254.169.254 80 | sed '1,/^\r$/d'
}
echo "amibox linux guest: ip $(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p')"
echo "amibox linux guest: instance-id $(imds /latest/meta-data/instance-id)"
echo "amibox linux guest: user-data $(imds /latest/user-data)"
poweroff -f
INIT
cat >"$init/udhcpc.sh" <<'DHCP'
#!/bin/sh
[ "$1" = bound ] || exit 0
ifconfig "$interface" "$ip" netmask "$subnet"
for r in $router; do route add default gw "$r" dev "$interface"; break; done
exit 0
DHCP
chmod +x "$init/init" "$init/udhcpc.sh"

# The root file system PV-GRUB reads.
root=$TEST_DIR/root
mkdir -p "$root/boot/grub"
cp "$TEST_DIR"/kernel/boot/vmlinuz-* "$root/boot/vmlinuz"
(cd "$init" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip) >"$root/boot/initrd.img"
cat >"$root/boot/grub/menu.lst" <<'MENU'
default 0
timeout 1
title Debian (amibox test)
root (hd0)
kernel /boot/vmlinuz console=ttyS0 quiet
initrd /boot/initrd.img
MENU
size=$(( $(du -sm "$root" | cut -f1) + 8 ))
mke2fs -q -t ext2 -d "$root" "$TEST_DIR/linux.raw" "${size}M" >/dev/null

AMIBOX_SERVE_ARGS="--accel tcg --memory-scale 0.2 --stop-grace 5"
# The same kernel and busybox make the daemon's Linux sample image.
export AMIBOX_SAMPLE_KERNEL AMIBOX_SAMPLE_MODULES AMIBOX_SAMPLE_BUSYBOX
amibox_start
ec2() { "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
snap=$(as alice "$AMIBOX_BIN" import "$TEST_DIR/linux.raw" --endpoint "$ENDPOINT" 2>/dev/null)
ami=$(as alice ec2 register-image --name linux-guest --architecture x86_64 --root-device-name /dev/sda1 \
  --block-device-mappings "DeviceName=/dev/sda1,Ebs={SnapshotId=$snap}" --query ImageId)
id=$(as alice ec2 run-instances --image-id "$ami" --instance-type m1.small --count 1 \
  --user-data "hello from user data" --query 'Instances[0].InstanceId')
console() {
  as "$1" "$AWS_V1" --endpoint-url "$ENDPOINT" --output json ec2 get-console-output \
    --instance-id "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Output",""))'
}
for _ in $(seq 1 180); do
  out=$(console alice "$id")
  case $out in *"amibox linux guest: user-data"*) break ;; esac
  state=$(as alice ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].[State.Name,StateReason.Message]')
  case $state in
    terminated*|stopped*)
      # It may have printed and powered off between the two calls.
      out=$(console alice "$id")
      case $out in *"amibox linux guest: user-data"*) break ;; esac
      fail "the guest did not boot: $state" ;;
  esac
  sleep 1
done
echo "$out" | grep "amibox linux guest" || true
ip=$(as alice ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].PrivateIpAddress')
grep -q "amibox linux guest: ip $ip" <<<"$out" || fail "the guest's address is not $ip"
grep -q "amibox linux guest: instance-id $id" <<<"$out" || fail "the guest did not read its instance ID from IMDS"
grep -q "amibox linux guest: user-data hello from user data" <<<"$out" || fail "the guest did not read its user data"
# It powers off: stopped, by its own doing.
for _ in $(seq 1 120); do
  state=$(as alice ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].[State.Name,StateReason.Code]')
  [ "$state" = "stopped	Client.InstanceInitiatedShutdown" ] && break
  sleep 0.5
done
[ "$state" = "stopped	Client.InstanceInitiatedShutdown" ] || fail "after poweroff the instance is '$state'"
# The daemon's Linux sample: public under amazon, it prints its metadata and
# runs user data that is a script.
sample=$(as bob ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-linux \
  --query 'Images[0].ImageId')
case $sample in ami-*) ;; *) fail "no Linux sample image: '$sample'" ;; esac
id=$(as bob ec2 run-instances --image-id "$sample" --instance-type m1.small --count 1 \
  --user-data $'#!/bin/sh\necho "sample ran user data on $(uname -m)"' --query 'Instances[0].InstanceId')
for _ in $(seq 1 180); do
  out=$(console bob "$id")
  case $out in *"amibox linux sample: up"*) break ;; esac
  sleep 1
done
grep -q "amibox linux sample: Linux .* on $id (m1.small)" <<<"$out" || fail "the sample did not print its metadata: $out"
grep -q "sample ran user data on x86_64" <<<"$out" || fail "the sample did not run its user data: $out"
as bob ec2 terminate-instances --instance-ids "$id" >/dev/null
echo "t_linux_guest: ok"
