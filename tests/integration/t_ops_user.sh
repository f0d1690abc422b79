#!/usr/bin/env bash
# What dist/amibox.service promises: the daemon run as a user of its own,
# with only the unit's ambient capabilities (CAP_NET_ADMIN, CAP_SYS_ADMIN,
# CAP_NET_BIND_SERVICE) and /dev/net/tun and /dev/kvm opened to it, keeps VPC
# networking: its VPC router (that user's too) makes the namespace, the tap
# and the rules, and a Linux guest takes its VPC address by DHCP from it.
# The devices are opened in a mount namespace of the daemon's own (copies
# of the nodes with mode 666), so the host's stay as they are.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "this test needs root, to become another user"
for tool in setpriv unshare mknod; do
  command -v "$tool" >/dev/null || fail "no $tool (util-linux, coreutils)"
done
pieces=$("$AMIBOX_SRC/scripts/linux-pieces.sh" "$TEST_DIR/pieces") || fail "cannot get Debian's kernel and busybox"
eval "$pieces"
export AMIBOX_SAMPLE_KERNEL AMIBOX_SAMPLE_MODULES AMIBOX_SAMPLE_BUSYBOX

# A user no other process has: no entry in /etc/passwd is needed.
user=$((61000 + RANDOM % 4000))
chmod 711 "$TEST_DIR"
mkdir -p "$DATA_DIR" "$TEST_DIR/devices"
chown "$user:$user" "$DATA_DIR"
caps=-all,+net_admin,+sys_admin,+net_bind_service
# Every amibox command of this test runs as that user, with those capabilities.
cat >"$TEST_DIR/amibox-as-user" <<EOF
#!/bin/sh
exec unshare --mount --propagation private sh -c '
  mount -t tmpfs -o mode=755 devices "$TEST_DIR/devices" &&
  mknod -m 666 "$TEST_DIR/devices/tun" c 10 200 && mount --bind "$TEST_DIR/devices/tun" /dev/net/tun &&
  { [ ! -e /dev/kvm ] || { mknod -m 666 "$TEST_DIR/devices/kvm" c 10 232 &&
                           mount --bind "$TEST_DIR/devices/kvm" /dev/kvm; }; } &&
  exec setpriv --reuid=$user --regid=$user --clear-groups --inh-caps=$caps --ambient-caps=$caps \\
    --bounding-set=$caps -- "\$0" "\$@"' "$AMIBOX_BIN" "\$@"
EOF
chmod 755 "$TEST_DIR/amibox-as-user"
AMIBOX_BIN=$TEST_DIR/amibox-as-user
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3"
amibox_start

[ "$(stat -c %u /proc/"$DAEMON_PID")" = "$user" ] || fail "the daemon does not run as $user"
grep -q "no network namespaces" "$TEST_DIR/daemon.log" &&
  fail "the daemon gave up VPC networking: $(grep 'no network namespaces' "$TEST_DIR/daemon.log")"
ec2() { as alice "$AWS_V2" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
# The samples are published before the daemon listens.
sample=$(ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-linux \
  --query 'Images[0].ImageId')
[[ $sample =~ ^ami- ]] || fail "no Linux sample image: '$sample'"
id=$(ec2 run-instances --image-id "$sample" --instance-type m1.small --count 1 \
  --query 'Instances[0].InstanceId') || fail "run-instances"
ip=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].PrivateIpAddress')
[[ $ip =~ ^172\.31\.[0-9]+\.[0-9]+$ ]] || fail "the instance's private address is '$ip'"
vpc=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].VpcId')
for _ in $(seq 1 180); do
  as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 get-console-output --instance-id "$id" \
    >"$TEST_DIR/console" 2>/dev/null
  grep -q "address $ip" "$TEST_DIR/console" && break
  sleep 0.5
done
grep -q "address $ip" "$TEST_DIR/console" || fail "the guest took no address by DHCP: $(tail -5 "$TEST_DIR/console")"
router=$(cat "$DATA_DIR/vpcs/$vpc/router.pid" 2>/dev/null) || fail "no router for $vpc"
[ "$(stat -c %u /proc/"$router")" = "$user" ] || fail "the router does not run as $user"
grep -q "cannot" "$DATA_DIR/vpcs/$vpc/router.log" && fail "the router: $(grep cannot "$DATA_DIR/vpcs/$vpc/router.log")"
ec2 terminate-instances --instance-ids "$id" >/dev/null || fail "terminate-instances"
for _ in $(seq 1 60); do
  [ "$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].State.Name')" = terminated ] && break
  sleep 0.5
done
[ "$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].State.Name')" = terminated ] ||
  fail "the instance did not end"
echo "t_ops_user: ok"
