#!/usr/bin/env bash
# The Linux sample's SSH server (dropbear, Debian's, with scp and
# sftp-server from OpenSSH), from the packages scripts/linux-pieces.sh
# unpacks: the guest starts it on port 22 with a host key of its own and
# says so on its console; its user data then logs in over SSH inside the
# guest (as root and as ec2-user, with a key it adds), uploads a file the way
# Terraform's and Packer's scp does and speaks to the sftp subsystem.  A data
# directory made without those packages publishes the sample without SSH and
# its log says what to install.  TCG, so that it behaves the same everywhere.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"

amibox_linux_sample_env
# The default stop grace (60 s): the sample must power off by itself.
AMIBOX_SERVE_ARGS="--accel tcg"
amibox_start
ec2() { as bob "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
console() {
  as bob "$AWS_V1" --endpoint-url "$ENDPOINT" --output json ec2 get-console-output \
    --instance-id "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Output",""))'
}
sample=$(ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-linux \
  --query 'Images[0].[ImageId,Description]')
case $sample in ami-*"SSH (dropbear)"*) ;; *) fail "the Linux sample does not say it has SSH: '$sample'" ;; esac
sample=${sample%%	*}

# The checks run inside the guest, against its own server on port 22.
user_data=$(cat <<'UD'
#!/bin/sh
export HOME=/root
dropbearkey -t ed25519 -f /tmp/id >/dev/null 2>&1
dropbearkey -y -f /tmp/id | grep '^ssh-' >/tmp/id.pub
cat /tmp/id.pub >>/root/.ssh/authorized_keys
cat /tmp/id.pub >>/home/ec2-user/.ssh/authorized_keys
login() { dbclient -y -i /tmp/id "$1@127.0.0.1" "$2" </dev/null 2>/dev/null; }
echo "ssh check: $(login root 'echo logged in as $(id -un)')"
echo "ssh check: $(login ec2-user 'echo logged in as $(id -un) in $HOME')"
printf 'C0644 6 up.txt\nhello\n\0' | dbclient -y -i /tmp/id root@127.0.0.1 'scp -t /tmp' >/dev/null 2>&1
echo "ssh check: scp wrote $(cat /tmp/up.txt 2>/dev/null)"
# (sftp-server ends at the end of its input, before it answers: the input
# is held open until the answer is there, 30 s at most.)
: >/tmp/sftp.out
(printf '\0\0\0\5\1\0\0\0\3'
 for _ in $(seq 1 30); do [ "$(wc -c </tmp/sftp.out)" -ge 9 ] && break; sleep 1; done) |
  dbclient -y -i /tmp/id -s root@127.0.0.1 sftp >/tmp/sftp.out 2>/dev/null
version=$(head -c 9 /tmp/sftp.out | od -An -tx1 | tr -d ' \n')
echo "ssh check: sftp answered $version"
UD
)
id=$(ec2 run-instances --image-id "$sample" --instance-type m1.small --count 1 \
  --user-data "$user_data" --query 'Instances[0].InstanceId')
start=$(date +%s)
for _ in $(seq 1 240); do
  out=$(console "$id")
  case $out in *"amibox linux sample: up"*) break ;; esac
  sleep 0.5
done
echo "t_samples_ssh: the guest was up $(( $(date +%s) - start )) s after RunInstances"
echo "$out" | grep -E "amibox linux sample|ssh check|HOST KEY|^ssh-" || true
grep -q "amibox linux sample: ssh: dropbear listening on port 22 for root and ec2-user" <<<"$out" || fail "dropbear does not listen on port 22: $out"
grep -A1 -- "-----BEGIN SSH HOST KEY KEYS-----" <<<"$out" | grep -q "^ssh-ed25519 " || fail "no host key on the console"
grep -q "ssh check: logged in as root" <<<"$out" || fail "root cannot log in with a key"
grep -q "ssh check: logged in as ec2-user in /home/ec2-user" <<<"$out" || fail "ec2-user cannot log in with a key"
grep -q "ssh check: scp wrote hello" <<<"$out" || fail "scp -t did not take an upload"
grep -q "ssh check: sftp answered [0-9a-f]\{8\}0200000003" <<<"$out" || fail "the sftp subsystem did not answer version 3"
# StopInstances presses the power button: the guest's acpid powers it off
# cleanly, long before the grace would cut it.
ec2 stop-instances --instance-ids "$id" >/dev/null
start=$(date +%s)
for _ in $(seq 1 120); do
  state=$(ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].State.Name')
  [ "$state" = stopped ] && break
  [ $(( $(date +%s) - start )) -ge 40 ] && break
  sleep 0.5
done
took=$(( $(date +%s) - start ))
echo "t_samples_ssh: stopped $took s after StopInstances"
[ "$state" = stopped ] || fail "StopInstances: the instance is still '$state' after $took s"
[ "$took" -lt 30 ] || fail "StopInstances took $took s: the guest did not power off by itself"
out=$(console "$id")
grep -q "amibox linux sample: power button: powering off" <<<"$out" || fail "no power-off by the button on the console: $out"
ec2 terminate-instances --instance-ids "$id" >/dev/null

# Without the packages: published without SSH, and the log says what to install.
amibox_daemon_down
DATA_DIR=$TEST_DIR/data-nossh
mkdir -p "$DATA_DIR"
AMIBOX_SAMPLE_SSH=$TEST_DIR/empty amibox_daemon_up
amibox_account bob
grep -q "without SSH: no /usr/sbin/dropbear; 'apt-get install dropbear-bin'" "$TEST_DIR/daemon.log" || fail "the log does not say what to install for SSH"
description=$(ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-linux \
  --query 'Images[0].Description')
case $description in *"amibox sample: Linux"*) ;; *) fail "no Linux sample without SSH: '$description'" ;; esac
case $description in *SSH*) fail "a sample without SSH says it has SSH: '$description'" ;; esac
echo "t_samples_ssh: ok"
