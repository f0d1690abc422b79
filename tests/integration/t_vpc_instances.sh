#!/usr/bin/env bash
# Instances in their VPC, for real: the Linux sample (Debian's kernel,
# busybox) takes its address by DHCP from the VPC router, reads the metadata
# service (its network keys and key pair) through it, reaches another
# instance on its private address as their security groups allow (a rule
# change reaches a live connection attempt at once), and answers on its
# public address (a loopback address of this host) on the ports its groups
# open to the caller, by that address or its public DNS name.  When the
# last instance ends, so does the router.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3"
amibox_start
ec2() { as alice "$AWS_V2" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
q() { local id=$1; shift; ec2 describe-instances --instance-ids "$id" --query "Reservations[0].Instances[0].$1"; }
console() { guest_console alice "$1"; }
wait_console() { wait_guest_console alice "$@"; } # ID TEXT [SECONDS]
sample=$(sample_image alice amibox-sample-linux) || exit 1
ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C test-key
ec2 import-key-pair --key-name vpc-test --public-key-material "fileb://$TEST_DIR/key.pub" >/dev/null \
  || fail "import-key-pair"
vpc=$(ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId')
default_sg=$(ec2 describe-security-groups --filters Name=group-name,Values=default Name=vpc-id,Values="$vpc" \
  --query 'SecurityGroups[0].GroupId')
web_sg=$(ec2 create-security-group --group-name web --description "web" --vpc-id "$vpc" --query GroupId)
closed_sg=$(ec2 create-security-group --group-name closed --description "nothing in" --vpc-id "$vpc" --query GroupId)

# B serves a line on 8080 over and over; A asks B every half second.
server=$'#!/bin/sh\n(while true; do echo "hello from $(hostname)" | nc -l -p 8080; done) &'
b=$(ec2 run-instances --image-id "$sample" --instance-type m1.small --count 1 --key-name vpc-test \
  --security-group-ids "$default_sg" "$web_sg" --user-data "$server" --query 'Instances[0].InstanceId')
b_ip=$(q "$b" PrivateIpAddress)
[[ $b_ip =~ ^172\.31\.[0-9]+\.[0-9]+$ ]] || fail "B's private address is '$b_ip'"
client=$'#!/bin/sh\napi=$(printf \'GET /latest/meta-data/services/amibox-api HTTP/1.0\\r\\n\\r\\n\' | nc 169.254.169.254 80 | tail -1)\necho "api at $api: $(printf \'GET / HTTP/1.0\\r\\n\\r\\n\' | nc -w 3 169.254.169.254 8773 | head -1)"\n(n=0; while true; do n=$((n+1)); r=$(nc -w 1 '"$b_ip"$' 8080 </dev/null); echo "peer $n: ${r:-none}"; sleep 0.5; done) &'
a=$(ec2 run-instances --image-id "$sample" --instance-type m1.small --count 1 \
  --user-data "$client" --query 'Instances[0].InstanceId')

# DescribeInstances: the VPC, subnet, addresses, groups and the interface.
for id in "$a" "$b"; do
  for _ in $(seq 1 120); do [ "$(q "$id" State.Name)" = running ] && break; sleep 0.5; done
done
got=$(q "$b" '[VpcId,SubnetId,Placement.AvailabilityZone,NetworkInterfaces[0].PrivateIpAddress]')
subnet=$(ec2 describe-subnets --filters Name=vpc-id,Values="$vpc" Name=availability-zone,Values=us-east-1a \
  --query 'Subnets[0].SubnetId')
[ "$got" = "$vpc	$subnet	us-east-1a	$b_ip" ] || fail "B's network: '$got'"
b_public=$(q "$b" PublicIpAddress)
[[ $b_public =~ ^${PUBLIC_IPS%.0/24}\.[0-9]+$ ]] || fail "B's public address is '$b_public', not in $PUBLIC_IPS"
groups=$(q "$b" 'SecurityGroups[].GroupId' | tr '\t' '\n' | sort | xargs)
[ "$groups" = "$(printf '%s\n' "$default_sg" "$web_sg" | sort | xargs)" ] || fail "B's groups: '$groups'"
mac=$(q "$b" 'NetworkInterfaces[0].MacAddress')
got=$(ec2 describe-instances --filters Name=network-interface.mac-address,Values="$mac" \
  --query 'Reservations[].Instances[].InstanceId')
[ "$got" = "$b" ] || fail "the MAC filter found '$got'"
got=$(ec2 describe-instances --filters Name=instance.group-id,Values="$web_sg" Name=vpc-id,Values="$vpc" \
  --query 'Reservations[].Instances[].InstanceId')
[ "$got" = "$b" ] || fail "the group filter found '$got'"
got=$(ec2 describe-instances --filters Name=ip-address,Values="$b_public" --query 'Reservations[].Instances[].InstanceId')
[ "$got" = "$b" ] || fail "the public address filter found '$got'"
eni=$(q "$b" 'NetworkInterfaces[0].NetworkInterfaceId')
got=$(ec2 describe-network-interfaces --network-interface-ids "$eni" --query 'NetworkInterfaces[0].Attachment.InstanceId')
[ "$got" = "$b" ] || fail "DescribeNetworkInterfaces: '$got'"

# DHCP gave the guest the address EC2 shows; the metadata service, through
# the router, knows its network and key.
wait_console "$b" "address $b_ip" 90 || fail "B did not come up on $b_ip: $(console "$b")"
crawl=$(python3 "$AMIBOX_SRC/tests/integration/imds_crawl.py" "$AMIBOX_BIN" "$DATA_DIR" "$b") \
  || fail "the metadata crawl failed"
for want in "mac=$mac" "local-ipv4=$b_ip" "public-ipv4=$b_public" \
    "network/interfaces/macs/$mac/subnet-id=$subnet" "network/interfaces/macs/$mac/vpc-id=$vpc" \
    "network/interfaces/macs/$mac/vpc-ipv4-cidr-block=172.31.0.0/16" \
    "public-keys/0/openssh-key=$(cat "$TEST_DIR/key.pub")"; do
  grep -qxF -- "$want" <<<"$crawl" || fail "meta-data lacks '$want'"
done

# A reaches B on its private address (both in the default group, which lets
# its members in); B in "closed" alone: A's next attempts find nothing.
wait_console "$a" "peer [0-9]*: hello from" 90 || fail "A never reached B: $(console "$a")"
# amibox's own API, where the metadata service says, relayed by the router.
console "$a" | grep -q "api at http://169.254.169.254:8773: HTTP/1.1 403" \
  || fail "A did not reach amibox's API: $(console "$a" | grep '^api' || true)"
ec2 modify-instance-attribute --instance-id "$b" --groups "$closed_sg" || fail "modify groupSet"
t0=$(date +%s.%N)
seen=$(console "$a" | grep -c "^peer .*: hello" || true)
for _ in $(seq 1 60); do
  last=$(console "$a" | grep "^peer " | tail -1)
  case $last in *none*) break ;; esac
  sleep 0.5
done
case $last in *none*) ;; *) fail "A still reaches B after its groups closed: $last" ;; esac
echo "closing B's groups took effect within $(python3 -c "import time; print('%.1f' % (time.time() - $t0))") s (A had been answered $seen times)"
ec2 modify-instance-attribute --instance-id "$b" --groups "$default_sg" "$web_sg" || fail "modify groupSet back"
for _ in $(seq 1 60); do
  last=$(console "$a" | grep "^peer " | tail -1)
  case $last in *hello*) break ;; esac
  sleep 0.5
done
case $last in *hello*) ;; *) fail "A does not reach B again: $last" ;; esac

# B's public address: only the ports its groups open to the caller.
fetch() { python3 - "$@" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)
    s.settimeout(3)
    print(s.recv(100).decode().strip() or "closed")
except OSError as e:
    print("refused")
PY
}
[ "$(fetch "$b_public" 8080)" = refused ] || fail "8080 answered before any rule opened it"
ec2 authorize-security-group-ingress --group-id "$web_sg" --protocol tcp --port 8080 --cidr 10.0.0.0/8 >/dev/null
sleep 1
[ "$(fetch "$b_public" 8080)" = refused ] || fail "a rule for 10.0.0.0/8 let a loopback caller in"
ec2 authorize-security-group-ingress --group-id "$web_sg" --protocol tcp --port 8080 --cidr 127.0.0.0/8 >/dev/null
got=refused
for _ in $(seq 1 20); do
  got=$(fetch "$b_public" 8080)
  case $got in hello*) break ;; esac
  sleep 0.2
done
case $got in "hello from"*) ;; *) fail "B's public address answered '$got'" ;; esac
ec2 revoke-security-group-ingress --group-id "$web_sg" --protocol tcp --port 8080 --cidr 127.0.0.0/8 >/dev/null
sleep 1
[ "$(fetch "$b_public" 8080)" = refused ] || fail "8080 still answers after the rule went"

# SSH from the host to B's public address, with the key pair's key, once
# port 22 is open to the caller.
ec2 authorize-security-group-ingress --group-id "$web_sg" --protocol tcp --port 22 --cidr 0.0.0.0/0 >/dev/null
wait_console "$b" "BEGIN SSH HOST KEY" 60 || fail "B's SSH server did not start: $(console "$b")"
ssh_out=
for _ in $(seq 1 20); do
  ssh_out=$(ssh -i "$TEST_DIR/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o ConnectTimeout=5 "root@$b_public" 'echo "in $(cat /proc/sys/kernel/hostname) as $(id -un)"; wget -qO- http://169.254.169.254/latest/meta-data/instance-id' 2>/dev/null) && break
  sleep 0.5
done
grep -q "as root" <<<"$ssh_out" || fail "ssh root@$b_public: '$ssh_out'"
grep -q "^$b$" <<<"$ssh_out" || fail "over SSH, B's metadata says '$ssh_out'"
# And by its public DNS name, as EC2 gives it, which the host's resolver
# turns into the public address through libnss_amibox.
b_dns=$(q "$b" PublicDnsName)
[ "$b_dns" = "ec2-${b_public//./-}.compute-1.amazonaws.com" ] || fail "B's public DNS name is '$b_dns'"
got=$(with_amibox_nss getent ahostsv4 "$b_dns" | awk 'NR == 1 { print $1 }')
[ "$got" = "$b_public" ] || fail "the resolver gave '$got' for $b_dns"
ssh_out=$(with_amibox_nss ssh -i "$TEST_DIR/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o BatchMode=yes -o ConnectTimeout=5 "root@$b_dns" 'cat /proc/sys/kernel/hostname' 2>&1) ||
  fail "ssh root@$b_dns: '$ssh_out'"

# Stopping gives the public address back; terminating ends the router.
ec2 stop-instances --instance-ids "$b" >/dev/null
for _ in $(seq 1 60); do [ "$(q "$b" State.Name)" = stopped ] && break; sleep 0.5; done
[ "$(q "$b" PublicIpAddress)" = None ] || fail "a stopped instance kept its public address"
[ "$(q "$b" PrivateIpAddress)" = "$b_ip" ] || fail "a stopped instance lost its private address"
ec2 terminate-instances --instance-ids "$a" "$b" >/dev/null
for _ in $(seq 1 60); do
  [ -e "$DATA_DIR/vpcs/$vpc/router.pid" ] || break
  sleep 0.5
done
[ ! -e "$DATA_DIR/vpcs/$vpc/router.pid" ] || fail "the router outlived the VPC's instances"
got=$(ec2 describe-network-interfaces --filters Name=network-interface-id,Values="$eni" --query 'length(NetworkInterfaces)')
[ "$got" = 0 ] || fail "B's interface outlived it"
