#!/usr/bin/env bash
# `amibox samples build debian`, fast: the images come from a cache made
# here (what scripts/debian-image.sh leaves: build-id with its recipe hash,
# hvm.img, pv.img), so nothing is built; the command publishes them under
# amazon with the right attributes, stores only their non-zero blocks, leaves
# a build that is published alone, replaces one from another build, and
# refuses a data directory whose lock a daemon holds.  (The real build and
# boots: tests/e2e/t_debian.sh.)
. "$(dirname "$0")/lib.sh"

cache=$TEST_DIR/cache
mkdir -p "$DATA_DIR"
build() { "$AMIBOX_BIN" samples build debian --data "$DATA_DIR" --cache "$cache" "$@"; }

set +e
"$AMIBOX_BIN" samples build >/dev/null 2>&1; status=$?
set -e
[ "$status" -eq 2 ] || fail "samples build without 'debian' exits $status, not 2"

# A daemon holds the data directory: refused at once, nothing built.
# (This shell holds the lock as `amibox serve` does: an flock, and who it is.)
exec {lock}>"$DATA_DIR/lock"
flock -n "$lock" || fail "cannot take the lock"
echo '4242 serve 127.0.0.1:9999 us-east-1' >&"$lock"
set +e
refusal=$(build 2>&1); status=$?
set -e
[ "$status" -eq 1 ] || fail "publishing beside a daemon exits $status"
grep -q "is in use by amibox serve (pid 4242, listening on 127.0.0.1:9999).*stop it" <<<"$refusal" || fail "the refusal does not name the daemon: $refusal"
[ ! -e "$cache/debian-12/build.log" ] || fail "a refused run started building"
exec {lock}>&-

# What a build leaves: sparse disks with a few blocks of data.
dir=$cache/debian-12
mkdir -p "$dir"
# The recipe: the script and the guest tools it installs (found beside amibox).
tools=$(dirname "$AMIBOX_BIN")/amibox-ec2-tools
[ -f "$tools" ] || fail "no $tools beside $AMIBOX_BIN"
recipe=$(cat "$AMIBOX_SRC/scripts/debian-image.sh" "$tools" | sha256sum | cut -c1-16)
echo "$recipe 2026-12-01T10:00:00Z 22.4.2-1+deb12u4" >"$dir/build-id"
truncate -s 2G "$dir/hvm.img"
truncate -s 2047M "$dir/pv.img"
for block in 0 1000 4095; do
  printf 'hvm block %d' "$block" | dd of="$dir/hvm.img" bs=1 seek=$((block * 524288 + 7)) conv=notrunc status=none
done
for block in 2 3000; do
  printf 'pv block %d' "$block" | dd of="$dir/pv.img" bs=1 seek=$((block * 524288)) conv=notrunc status=none
done
out=$(build 2>"$TEST_DIR/build.err") || { cat "$TEST_DIR/build.err" >&2; fail "publishing a cached build failed"; }
grep -q "debian sample: cached in $dir" "$TEST_DIR/build.err" || fail "the cached build was not taken: $(cat "$TEST_DIR/build.err")"
hvm=$(awk '$1 == "amibox-sample-debian-hvm" && $3 == "published" {print $2}' <<<"$out")
pv=$(awk '$1 == "amibox-sample-debian-pv" && $3 == "published" {print $2}' <<<"$out")
[ -n "$hvm" ] && [ -n "$pv" ] || fail "not both published: $out"
blocks() {
  sqlite3 "$DATA_DIR/catalog.db" "SELECT group_concat(b.block_index) FROM image_block_devices d
    JOIN snapshot_blocks b ON b.snapshot_id = d.snapshot_id WHERE d.image_id = '$1' ORDER BY b.block_index"
}
[ "$(blocks "$hvm")" = "0,1000,4095" ] || fail "the HVM snapshot maps blocks $(blocks "$hvm"), not 0,1000,4095"
[ "$(blocks "$pv")" = "2,3000" ] || fail "the PV snapshot maps blocks $(blocks "$pv"), not 2,3000"

amibox_start
describe() {
  as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 describe-images --image-ids "$1" \
    --query 'Images[0].[OwnerId,Public,VirtualizationType,RootDeviceName,KernelId,Architecture,BlockDeviceMappings[0].DeviceName,BlockDeviceMappings[0].Ebs.VolumeSize,Name]'
}
seen=$(describe "$hvm")
[ "$seen" = "137112412989	True	hvm	/dev/xvda	None	x86_64	/dev/xvda	2	amibox-sample-debian-hvm" ] || fail "the HVM image is described as '$seen'"
seen=$(describe "$pv")
[ "$seen" = "137112412989	True	paravirtual	/dev/sda1	aki-8016ac08fca646364	x86_64	/dev/sda1	2	amibox-sample-debian-pv" ] || fail "the PV image is described as '$seen'"
description=$(as bob "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 describe-images --owners amazon \
  --filters Name=name,Values=amibox-sample-debian-hvm --query 'Images[0].Description')
grep -q "Debian 12 (bookworm), cloud-init 22.4.2-1+deb12u4 .*build $recipe 2026-12-01T10:00:00Z" <<<"$description" || fail "the description does not say which build: $description"
amibox_daemon_down

# The same build again: nothing to do.  Another build: it replaces them.
again=$(build 2>/dev/null) || fail "a second run failed"
expected=$(printf 'amibox-sample-debian-hvm\t%s\tpublished already\namibox-sample-debian-pv\t%s\tpublished already' "$hvm" "$pv")
[ "$again" = "$expected" ] || fail "a second run of the same build did: $again"
echo "$recipe 2026-12-02T10:00:00Z 22.4.2-1+deb12u4" >"$dir/build-id"
newer=$(build 2>/dev/null) || fail "publishing a newer build failed"
new_hvm=$(awk '$1 == "amibox-sample-debian-hvm" && $3 == "published" {print $2}' <<<"$newer")
[ -n "$new_hvm" ] && [ "$new_hvm" != "$hvm" ] || fail "a newer build was not published: $newer"
count=$(sqlite3 "$DATA_DIR/catalog.db" "SELECT count(*) FROM images WHERE name LIKE 'amibox-sample-debian-%'")
[ "$count" = 2 ] || fail "the older build's images were not replaced: $count images"
# --build-only touches no data directory, so a daemon may hold it.
exec {lock}>"$DATA_DIR/lock"
flock -n "$lock" || fail "cannot take the lock"
"$AMIBOX_BIN" samples build debian --build-only --data "$DATA_DIR" --cache "$cache" 2>/dev/null || fail "--build-only needs the data directory's lock"
exec {lock}>&-
echo "t_samples_debian: ok"
