#!/usr/bin/env bash
# The Debian sample images, end to end: `amibox samples build debian` builds
# them (cached outside the clone, in $AMIBOX_E2E_CACHE or ~/.cache/amibox,
# so a second run takes seconds) and publishes them; both boot under amibox
# (TCG) and cloud-init, with the Ec2 datasource against amibox's metadata
# service, sets the hostname and runs the user data: a `#cloud-config` on
# the HVM image, a `#!` script on the paravirtual one.  What they did is read
# on the console (GetConsoleOutput).  Slow (a minute or two per boot): `make
# check-e2e` runs it, `make check` does not.
. "$(dirname "$0")/../integration/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
cache=${AMIBOX_E2E_CACHE:-$HOME/.cache/amibox}

start=$(date +%s)
"$AMIBOX_BIN" samples build debian --data "$DATA_DIR" --cache "$cache" >"$TEST_DIR/build.out" 2>"$TEST_DIR/build.err" ||
  { cat "$TEST_DIR/build.err" >&2; fail "amibox samples build debian failed"; }
echo "t_debian: build and publish took $(( $(date +%s) - start )) s: $(grep 'debian sample:' "$TEST_DIR/build.err" | tail -1)"
grep -q "^amibox-sample-debian-hvm	ami-[0-9a-f]\{17\}	published$" "$TEST_DIR/build.out" || fail "the HVM image was not published: $(cat "$TEST_DIR/build.out")"
grep -q "^amibox-sample-debian-pv	ami-[0-9a-f]\{17\}	published$" "$TEST_DIR/build.out" || fail "the PV image was not published: $(cat "$TEST_DIR/build.out")"

AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 5"
amibox_start
ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
console() {
  as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output json ec2 get-console-output \
    --instance-id "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Output",""))'
}
image() {
  ec2 describe-images --owners amazon --filters "Name=name,Values=$1" \
    --query 'Images[0].[ImageId,VirtualizationType,RootDeviceName,Architecture,Public]'
}
hvm=$(image amibox-sample-debian-hvm)
[ "${hvm#*	}" = "hvm	/dev/xvda	x86_64	True" ] || fail "the HVM image is described as '$hvm'"
pv=$(image amibox-sample-debian-pv)
[ "${pv#*	}" = "paravirtual	/dev/sda1	x86_64	True" ] || fail "the PV image is described as '$pv'"

cloud_config=$(cat <<'UD'
#cloud-config
write_files:
  - path: /etc/amibox-e2e
    content: written by cloud-config
runcmd:
  - 'echo "amibox e2e: cloud-config ran on $(hostname) as $(id -un); $(cat /etc/amibox-e2e)" >/dev/ttyS0'
  - 'for i in $(seq 120); do ss -ltn | grep -q "0.0.0.0:22 " && break; sleep 1; done; ss -ltn | grep -q "0.0.0.0:22 " && echo "amibox e2e: sshd listens on port 22" >/dev/ttyS0'
UD
)
script=$(cat <<'UD'
#!/bin/sh
echo "amibox e2e: script ran on $(hostname) as $(id -un)" >/dev/ttyS0
sudo -n -u admin sudo -n true && echo "amibox e2e: admin has passwordless sudo" >/dev/ttyS0
for i in $(seq 120); do ss -ltn | grep -q "0.0.0.0:22 " && break; sleep 1; done
ss -ltn | grep -q "0.0.0.0:22 " && echo "amibox e2e: sshd listens on port 22" >/dev/ttyS0
UD
)
# 256 MiB for each with the default memory scale: t3.small (HVM), m3.medium
# (PV types are the previous generation's).
launched=$(date +%s)
hvm_id=$(ec2 run-instances --image-id "${hvm%%	*}" --instance-type t3.small --count 1 \
  --user-data "$cloud_config" --query 'Instances[0].InstanceId')
pv_id=$(ec2 run-instances --image-id "${pv%%	*}" --instance-type m3.medium --count 1 \
  --user-data "$script" --query 'Instances[0].InstanceId')
hvm_done= pv_done=
for _ in $(seq 1 400); do
  for id in $hvm_id $pv_id; do
    [ "$id" = "$hvm_id" ] && [ -n "$hvm_done" ] && continue
    [ "$id" = "$pv_id" ] && [ -n "$pv_done" ] && continue
    case $(console "$id") in
      *"Cloud-init v. "*" finished at "*)
        echo "t_debian: $id: cloud-init finished $(( $(date +%s) - launched )) s after RunInstances"
        if [ "$id" = "$hvm_id" ]; then hvm_done=1; else pv_done=1; fi ;;
    esac
  done
  [ -n "$hvm_done" ] && [ -n "$pv_done" ] && break
  sleep 1
done
hvm_out=$(console "$hvm_id" | tr -d '\r')
pv_out=$(console "$pv_id" | tr -d '\r')
for out in "$hvm_out" "$pv_out"; do
  echo "$out" | grep -E "amibox e2e|Cloud-init v\. .* finished" || true
done
hostname_of() {
  ec2 describe-instances --instance-ids "$1" --query 'Reservations[0].Instances[0].PrivateIpAddress' |
    sed 's/^/ip-/; s/\./-/g'
}
grep -q "Cloud-init v\. 22\.4.* finished at .* Datasource DataSourceEc2" <<<"$hvm_out" || fail "cloud-init did not finish with the Ec2 datasource on the HVM image"
grep -q "Cloud-init v\. 22\.4.* finished at .* Datasource DataSourceEc2" <<<"$pv_out" || fail "cloud-init did not finish with the Ec2 datasource on the PV image"
grep -q "amibox e2e: cloud-config ran on $(hostname_of "$hvm_id") as root; written by cloud-config" <<<"$hvm_out" || fail "the #cloud-config user data did not run (or the hostname is not the metadata's)"
grep -q "amibox e2e: script ran on $(hostname_of "$pv_id") as root" <<<"$pv_out" || fail "the #! user data did not run (or the hostname is not the metadata's)"
grep -q "amibox e2e: admin has passwordless sudo" <<<"$pv_out" || fail "the default user admin has no passwordless sudo"
# (The user data waits for sshd; systemd stops printing to a console with a getty.)
grep -q "amibox e2e: sshd listens on port 22" <<<"$hvm_out" || fail "sshd does not listen on the HVM image"
grep -q "amibox e2e: sshd listens on port 22" <<<"$pv_out" || fail "sshd does not listen on the PV image"
grep -q "BEGIN SSH HOST KEY FINGERPRINTS" <<<"$pv_out" || fail "cloud-init made no SSH host keys"
ec2 terminate-instances --instance-ids "$hvm_id" "$pv_id" >/dev/null
echo "t_debian: ok"
