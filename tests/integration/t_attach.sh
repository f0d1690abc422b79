#!/usr/bin/env bash
# Attaching and detaching volumes of running machines with AWS CLI v1 and v2:
# nothing is ever reachable from two machines.  The sample HVM guest ignores
# PCI unplug requests, as the issue saw: a plain detach stays `detaching` (and
# the volume can be neither attached nor deleted), a forced one cuts the guest
# off for real (its nbdkit is gone, the guest's reads fail), and only then is
# the volume `available`, attachable elsewhere and back again.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
command -v nbdkit >/dev/null || fail "nbdkit is not installed (make deps)"
AMIBOX_SERVE_ARGS="--stop-grace 2"
amibox_start

ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
ec2v2() { as alice "$AWS_V2" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
# Polls until "describe-volumes --query Q" prints want (30 s at most).
volume_is() { # VOLUME QUERY WANT
  local got=
  for _ in $(seq 1 150); do
    got=$(ec2 describe-volumes --volume-ids "$1" --query "$2")
    [ "$got" = "$3" ] && return 0
    sleep 0.2
  done
  echo "volume $1: '$got', not '$3'" >&2
  return 1
}
instances_are() { # STATE ID...
  local want=$1 got=; shift
  for _ in $(seq 1 300); do
    got=$(ec2 describe-instances --instance-ids "$@" --query 'Reservations[].Instances[].State.Name' | tr -s '\t' '\n' | sort -u)
    [ "$got" = "$want" ] && return 0
    sleep 0.2
  done
  echo "instances $*: '$got', not $want" >&2
  return 1
}
# How many processes serve the volume (the daemon's nbdkits, whoever started them).
servers() { pgrep -f -- "volume=$1" | wc -l; }
# A read of the guest's disk, as the guest would do it (through the device's
# block backend), via QEMU's monitor; prints "ok" or QEMU's error.
guest_read() { # INSTANCE DEVICE-ID
  python3 - "$DATA_DIR/instances/$1" "$2" <<'PY'
import json, os, socket, sys, time
idir, dev = sys.argv[1:]
log = os.path.join(idir, "qemu.log")
start = os.path.getsize(log) if os.path.exists(log) else 0
s = socket.socket(socket.AF_UNIX)
s.connect(os.path.join(idir, "qmp.sock"))
f = s.makefile("rw")
f.readline()
f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
line = 'qemu-io -d /machine/peripheral/%s/virtio-backend "read 0 4096"' % dev
f.write(json.dumps({"execute": "human-monitor-command", "arguments": {"command-line": line}}) + "\n")
f.flush()
answer = json.loads(f.readline()).get("return", "")
# qemu-io reports on QEMU's own output, the instance's qemu.log.
for _ in range(50):
    with open(log) as l:
        l.seek(start)
        out = (answer + l.read()).strip()
    if out:
        break
    time.sleep(0.1)
print("ok" if out.startswith("read 4096/4096") else out)
PY
}

ami=$(ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-hvm --query 'Images[0].ImageId')
[[ $ami =~ ^ami- ]] || fail "no sample HVM image: '$ami'"
a=$(ec2 run-instances --image-id "$ami" --instance-type t2.micro --count 1 --query 'Instances[0].InstanceId')
b=$(ec2 run-instances --image-id "$ami" --instance-type t2.micro --count 1 --query 'Instances[0].InstanceId')
instances_are running "$a" "$b" || fail "the instances did not run"

vol=$(ec2 create-volume --availability-zone us-east-1a --size 1 --query VolumeId)
ec2 attach-volume --volume-id "$vol" --instance-id "$a" --device /dev/sdf >/dev/null || fail "attach to $a"
volume_is "$vol" 'Volumes[0].Attachments[0].State' attached || fail "not attached to $a"
[ "$(servers "$vol")" = 1 ] || fail "attached: $(servers "$vol") servers of $vol"
[ "$(guest_read "$a" "dev-$vol")" = ok ] || fail "the guest cannot read its new disk: $(guest_read "$a" "dev-$vol")"

# A detach the guest ignores: detaching, still served, neither attachable
# nor deletable (EC2's IncorrectState and VolumeInUse), with either CLI.
ec2 detach-volume --volume-id "$vol" >/dev/null || fail "detach-volume"
sleep 3 # longer than --stop-grace: the guest had its chance
got=$(ec2 describe-volumes --volume-ids "$vol" --query 'Volumes[0].[State,Attachments[0].State]')
[ "$got" = "in-use	detaching" ] || fail "an ignored detach: '$got'"
[ "$(servers "$vol")" = 1 ] || fail "detaching: the guest lost its disk without a force"
for cli in ec2 ec2v2; do
  if $cli attach-volume --volume-id "$vol" --instance-id "$b" --device /dev/sdf 2>"$TEST_DIR/err" >/dev/null; then
    fail "$cli: a detaching volume was attached to a second machine"
  fi
  grep -q IncorrectState "$TEST_DIR/err" || fail "$cli: attach while detaching: $(cat "$TEST_DIR/err")"
  if $cli delete-volume --volume-id "$vol" 2>"$TEST_DIR/err"; then fail "$cli: a detaching volume was deleted"; fi
  grep -q VolumeInUse "$TEST_DIR/err" || fail "$cli: delete while detaching: $(cat "$TEST_DIR/err")"
done

# Forced: the server is gone before the volume is available, and the guest's
# reads fail.
ec2 detach-volume --volume-id "$vol" --force >/dev/null || fail "detach-volume --force"
volume_is "$vol" 'Volumes[0].[State,Attachments[0].State]' "available	None" || fail "forced detach did not end"
[ "$(servers "$vol")" = 0 ] || fail "available, yet $(servers "$vol") nbdkit still serve $vol"
case $(guest_read "$a" "dev-$vol") in *"Input/output error"*) ;; *) fail "the cut-off guest still reads: $(guest_read "$a" "dev-$vol")" ;; esac

# Elsewhere, and one server only.
ec2v2 attach-volume --volume-id "$vol" --instance-id "$b" --device /dev/sdf >/dev/null || fail "attach to $b"
volume_is "$vol" 'Volumes[0].Attachments[0].[State,InstanceId]' "attached	$b" || fail "not attached to $b"
[ "$(servers "$vol")" = 1 ] || fail "on $b: $(servers "$vol") servers"
[ "$(guest_read "$b" "dev-$vol")" = ok ] || fail "$b cannot read the volume"
case $(guest_read "$a" "dev-$vol") in *"Input/output error"*) ;; *) fail "$a reads the volume $b has" ;; esac

# Back to the first machine, whose dead device is still there: a fresh node,
# readable, while the dead one stays dead.
ec2v2 detach-volume --volume-id "$vol" --force >/dev/null || fail "detach from $b"
volume_is "$vol" 'Volumes[0].State' available || fail "not available after $b"
ec2 attach-volume --volume-id "$vol" --instance-id "$a" --device /dev/sdg >/dev/null || fail "attach to $a again"
volume_is "$vol" 'Volumes[0].Attachments[0].[State,InstanceId]' "attached	$a" || fail "not attached to $a again"
[ "$(guest_read "$a" "dev-$vol.1")" = ok ] || fail "re-attached: $(guest_read "$a" "dev-$vol.1")"
case $(guest_read "$a" "dev-$vol") in *"Input/output error"*) ;; *) fail "the dead device came back to life" ;; esac
[ "$(servers "$vol")" = 1 ] || fail "re-attached: $(servers "$vol") servers"

# Deletable once cut off; nothing of it runs.
ec2 detach-volume --volume-id "$vol" --force >/dev/null || fail "last detach"
volume_is "$vol" 'Volumes[0].State' available || fail "not available at the end"
ec2 delete-volume --volume-id "$vol" || fail "delete-volume"
[ "$(servers "$vol")" = 0 ] || fail "a deleted volume is still served"
# Device names, as EC2 checks them per virtualization type; a stopped
# instance takes and gives up a volume at once.
pv_ami=$(ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-pv --query 'Images[0].ImageId')
pv=$(ec2 run-instances --image-id "$pv_ami" --instance-type m1.small --count 1 --query 'Instances[0].InstanceId')
instances_are running "$pv" || fail "the PV sample did not run"
ec2 stop-instances --instance-ids "$b" "$pv" --force >/dev/null
instances_are stopped "$b" "$pv" || fail "stop"
vol=$(ec2 create-volume --availability-zone us-east-1a --size 1 --query VolumeId)
for case in "$b /dev/sdf" "$b /dev/sdp" "$b /dev/xvdf" "$b xvdh" "$b /dev/xvdba" "$b /dev/sdz15" "$b /dev/sdb1" \
    "$pv /dev/sdf1" "$pv /dev/sdp6" "$pv /dev/hdf" "$pv /dev/xvdg" "$pv sdh"; do
  set -- $case
  got=$(ec2v2 attach-volume --volume-id "$vol" --instance-id "$1" --device "$2" --query State) || fail "$2 refused for $1"
  [ "$got" = attaching ] || fail "attach $2: '$got'"
  got=$(ec2 describe-volumes --volume-ids "$vol" --query 'Volumes[0].Attachments[0].Device')
  [ "$got" = "$2" ] || fail "attached at '$got', not $2"
  ec2 detach-volume --volume-id "$vol" >/dev/null || fail "detach $2"
done
for case in "$b banana" "$b /dev/banana" "$b /dev/sd" "$b /dev/sdf0" "$b /dev/sdf16" "$b /dev/sdf01" \
    "$b /dev/xvdaaa" "$b /dev/hdf" "$b /dev/xvdf1" "$b /dev/sdF" "$pv /dev/xvdba" "$pv /dev/hdf16"; do
  set -- $case
  if ec2v2 attach-volume --volume-id "$vol" --instance-id "$1" --device "$2" 2>"$TEST_DIR/err" >/dev/null; then
    fail "device $2 accepted for $1"
  fi
  grep -qF "(InvalidParameterValue) when calling the AttachVolume operation: Value ($2) for parameter device is invalid. $2 is not a valid EBS device name." \
    "$TEST_DIR/err" || fail "device $2: $(cat "$TEST_DIR/err")"
done
[ "$(ec2 describe-volumes --volume-ids "$vol" --query 'Volumes[0].State')" = available ] || fail "a refused device changed the volume"
ec2 delete-volume --volume-id "$vol" || fail "delete the device test volume"
ec2 terminate-instances --instance-ids "$a" "$b" "$pv" >/dev/null
instances_are terminated "$a" "$b" "$pv" || fail "terminate"
echo "t_attach: ok"
