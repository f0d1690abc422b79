#!/usr/bin/env bash
# Builds the Debian sample images of `amibox samples build debian` into
# CACHE (the command embeds this script and runs it there):
#
#   CACHE/rootfs/   the tree mmdebstrap makes from Debian 12's packages and
#                   this script configures (kept: the slow part)
#   CACHE/pv.img    an ext4 file system of that tree on the whole disk, with
#                   /boot/grub/menu.lst for PV-GRUB (root device /dev/sda1, hd0)
#   CACHE/hvm.img   an MBR disk: GRUB 2's boot.img in the MBR, its core image
#                   in the gap before the first partition, the same file
#                   system as partition 1 (root device /dev/xvda)
#   CACHE/build-id  what the images are: recipe hash and build time
#
# With AMIBOX_EC2_TOOLS naming amibox-ec2-tools, the images carry it as
# /usr/local/bin/ec2-bundle-vol and ec2-upload-bundle.
#
# No loop device and no mount: mke2fs -d copies the tree into the file
# system, grub-mkimage (run in the tree) makes the core image, and the MBR
# is written here byte by byte.  A second run with the same recipe (this
# file) does nothing; one whose recipe changed rebuilds everything.
#
# Usage: debian-image.sh CACHE
set -euo pipefail

cache=$1
suite=bookworm
mirror=${AMIBOX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${AMIBOX_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
fs_mib=2047                 # the file system; the HVM disk is 1 MiB more: 2 GiB
label=debian-root
cmdline="root=LABEL=$label ro console=tty0 console=ttyS0,115200"
packages=(
  systemd systemd-sysv systemd-resolved udev dbus procps iproute2 netbase
  openssh-server sudo python3 cloud-init cloud-guest-utils isc-dhcp-client
  linux-image-cloud-amd64 zstd e2fsprogs grub-pc-bin
)

say() { echo "debian sample: $*" >&2; }
die() { say "$*"; exit 1; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# The recipe: this script, and the guest tools it installs (AMIBOX_EC2_TOOLS,
# ec2-bundle-vol and ec2-upload-bundle).  The tree only depends on the script.
tools=${AMIBOX_EC2_TOOLS:-}
tree_recipe=$(sha256sum "$0" | cut -c1-16)
recipe=$({ cat "$0"; [ -z "$tools" ] || cat "$tools"; } | sha256sum | cut -c1-16)
if [ -f "$cache/build-id" ] && [ -f "$cache/hvm.img" ] && [ -f "$cache/pv.img" ] &&
   [ "$(cut -d' ' -f1 "$cache/build-id")" = "$recipe" ]; then
  say "cached in $cache ($(cat "$cache/build-id"))"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "building needs root (mmdebstrap and mke2fs -d keep the files' owners)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed: apt-get install mmdebstrap"
command -v mke2fs >/dev/null || PATH=$PATH:/sbin:/usr/sbin
command -v mke2fs >/dev/null || die "mke2fs is not installed: apt-get install e2fsprogs"
rm -f "$cache/build-id" "$cache/hvm.img" "$cache/pv.img"
log=$cache/build.log
: >"$log"
trap 'status=$?; [ $status -eq 0 ] || { tail -n 25 "$log" >&2; say "failed; the whole log is in $log"; }' EXIT

# ---- the tree -------------------------------------------------------------
root=$cache/rootfs
if [ ! -f "$root/.amibox-$tree_recipe" ]; then
  say "installing Debian 12 ($suite) with mmdebstrap (about 2 minutes)"
  rm -rf "$root" "$root.tmp"
  # /usr merged by links, as debootstrap does, rather than by the usrmerge
  # package (which brings Perl).
  hooks=()
  [ -d /usr/share/mmdebstrap/hooks/merged-usr ] && hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  mmdebstrap --variant=minbase "${hooks[@]}" --include="$(IFS=,; echo "${packages[*]}")" \
    "$suite" "$root.tmp" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb $security $suite-security main" >>"$log" 2>&1
  mv "$root.tmp" "$root"
fi

say "configuring cloud-init, SSH and the boot loaders"
# Each instance makes its own identity on first boot: machine ID, SSH host
# keys (cloud-init), hostname (from the metadata service).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*_key* "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf 'LABEL=%s\t/\text4\trw,discard,errors=remount-ro\t0 1\n' "$label" >"$root/etc/fstab"

# cloud-init: EC2's metadata service only, Debian's cloud user 'admin'.
cat >"$root/etc/cloud/cloud.cfg.d/01_amibox.cfg" <<'CFG'
# amibox sample: the EC2 metadata service at 169.254.169.254, as on EC2.
datasource_list: [ Ec2, None ]
datasource:
  Ec2:
    metadata_urls: [ 'http://169.254.169.254' ]
    # amibox is no EC2 platform cloud-init knows by its DMI data: no warning.
    strict_id: false
system_info:
  default_user:
    name: admin
    lock_passwd: true
    gecos: Debian
    groups: [adm, audio, cdrom, dialout, dip, floppy, netdev, plugdev, sudo, video]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
disable_root: true
ssh_pwauth: false
manage_etc_hosts: true
# The locale every Debian has (cloud-init's default, en_US.UTF-8, is not made).
locale: C.UTF-8
CFG
# SSH: keys only.
cat >"$root/etc/ssh/sshd_config.d/50-amibox.conf" <<'SSHD'
# amibox sample: keys only.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SSHD
# The AMI tools that run in an instance, as amibox builds them (one static
# binary): ec2-bundle-vol and ec2-upload-bundle, for Packer's amazon-instance.
rm -f "$root"/usr/local/bin/amibox-ec2-tools "$root"/usr/local/bin/ec2-bundle-vol \
  "$root"/usr/local/bin/ec2-upload-bundle
if [ -n "$tools" ]; then
  install -m 755 "$tools" "$root/usr/local/bin/amibox-ec2-tools"
  ln -s amibox-ec2-tools "$root/usr/local/bin/ec2-bundle-vol"
  ln -s amibox-ec2-tools "$root/usr/local/bin/ec2-upload-bundle"
fi
# The network is cloud-init's to write (DHCP on the first NIC by default);
# systemd-networkd brings it up, systemd-resolved takes DHCP's DNS servers.
chroot "$root" systemctl enable systemd-networkd.service >>"$log" 2>&1
# A small initramfs (6 MB instead of 15): the drivers of the disks EC2 and
# QEMU give (virtio, NVMe, Xen, IDE) and ext4.  It boots in 128 MiB, where
# Debian's default (MODULES=most) runs out of memory unpacking itself.
echo "MODULES=list" >"$root/etc/initramfs-tools/conf.d/amibox.conf"
printf '%s\n' virtio_pci virtio_blk virtio_scsi sd_mod nvme xen_blkfront ata_piix ext4 \
  >"$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k all >>"$log" 2>&1

# PV-GRUB reads menu.lst (GRUB legacy); GRUB 2 reads grub.cfg.  Both name
# /vmlinuz and /initrd.img, the links Debian moves with each kernel upgrade.
mkdir -p "$root/boot/grub"
cat >"$root/boot/grub/menu.lst" <<MENU
# amibox sample (paravirtual): PV-GRUB boots this entry.
default 0
timeout 0
title Debian GNU/Linux 12 ($suite)
root (hd0)
kernel /vmlinuz $cmdline
initrd /initrd.img
MENU
cat >"$root/boot/grub/grub.cfg" <<GRUB
# amibox sample (HVM): GRUB 2 boots this entry.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry 'Debian GNU/Linux 12 ($suite)' {
  linux /vmlinuz $cmdline
  initrd /initrd.img
}
GRUB
rm -rf "$root/boot/grub/i386-pc"
cp -a "$root/usr/lib/grub/i386-pc" "$root/boot/grub/i386-pc"
chroot "$root" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img \
  -p "(hd0,msdos1)/boot/grub" biosdisk part_msdos ext2 search_label normal configfile \
  linux serial terminal echo test >>"$log" 2>&1
core=$root/boot/grub/i386-pc/core.img
[ "$(stat -c %s "$core")" -lt $((2047 * 512)) ] || die "GRUB's core image does not fit before the partition"

# ---- the images -----------------------------------------------------------
say "making the file system (mke2fs -d)"
# Features GRUB 2.06 and Debian 12's kernel both read, whatever the host's
# mke2fs.conf enables.
conf=$cache/mke2fs.conf
cat >"$conf" <<'CONF'
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize,sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
		blocksize = 4096
		inode_size = 256
		inode_ratio = 16384
	}
CONF
rm -f "$cache/pv.img.tmp"
MKE2FS_CONFIG=$conf mke2fs -q -F -t ext4 -L "$label" -E root_owner=0:0 -d "$root" \
  "$cache/pv.img.tmp" "${fs_mib}M" >>"$log" 2>&1

say "making the HVM disk (MBR, GRUB, partition 1)"
hvm=$cache/hvm.img.tmp
rm -f "$hvm"
truncate -s $(( (fs_mib + 1) << 20 )) "$hvm"
dd if="$cache/pv.img.tmp" of="$hvm" bs=1M seek=1 conv=sparse,notrunc status=none
# The MBR: GRUB's boot code (its first 440 bytes), a disk signature, one
# bootable Linux partition from sector 2048 to the end, the boot signature.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
dd if="$root/usr/lib/grub/i386-pc/boot.img" of="$hvm" bs=440 count=1 conv=notrunc status=none
signature=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
entry="$(le32 "$signature")\\x00\\x00\\x80\\xfe\\xff\\xff\\x83\\xfe\\xff\\xff$(le32 2048)$(le32 $((fs_mib * 2048)))"
# shellcheck disable=SC2059 # the format is the bytes
printf "$entry" | dd of="$hvm" bs=1 seek=440 conv=notrunc status=none
printf '\x55\xaa' | dd of="$hvm" bs=1 seek=510 conv=notrunc status=none
# GRUB's core image right after the MBR, where boot.img looks for it
# (sector 1); its own first sector reads the rest from sector 2 on.
dd if="$core" of="$hvm" bs=512 seek=1 conv=notrunc status=none

mv "$cache/pv.img.tmp" "$cache/pv.img"
mv "$hvm" "$cache/hvm.img"
touch "$root/.amibox-$tree_recipe"
echo "$recipe $(date -u +%Y-%m-%dT%H:%M:%SZ) $(chroot "$root" dpkg-query -W -f '${Version}' cloud-init)" >"$cache/build-id"
say "built in $cache ($(cat "$cache/build-id"))"
