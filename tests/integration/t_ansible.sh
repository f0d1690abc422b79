#!/usr/bin/env bash
# Ansible (Debian's ansible, the amazon.aws collection) against amibox with
# a real guest: ec2_key, ec2_security_group, ec2_instance in the default VPC
# (waited for), ec2_eip, `ping` over SSH at that Elastic IP address, ec2_ami
# from it, the address released, terminate, the AMI deleted.  The image is
# AMIBOX_ANSIBLE_IMAGE (a guest with Python for the ping module; the Linux
# sample without it runs `raw`).
. "$(dirname "$0")/lib.sh"
command -v ansible-playbook >/dev/null || fail "ansible is not installed"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
image=${AMIBOX_ANSIBLE_IMAGE:-amibox-sample-linux}
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3 ${AMIBOX_ANSIBLE_SERVE_ARGS:-}"
case $image in amibox-sample-debian-*) amibox_debian_samples ;; esac
amibox_start
ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C ansible
ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
for _ in $(seq 1 50); do
  [ "$(ec2 describe-images --owners amazon --filters Name=name,Values="$image" --query 'length(Images)')" = 1 ] && break
  sleep 0.2
done
playbook=$AMIBOX_SRC/tests/integration/ansible/launch.yml
if [ "$image" = amibox-sample-linux ]; then
  # No Python in the busybox guest: its play runs `raw` instead of `ping`.
  sed 's/      ansible.builtin.ping:/      ansible.builtin.raw: echo pong/' "$playbook" >"$TEST_DIR/launch.yml"
  playbook=$TEST_DIR/launch.yml
fi
export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1
t0=$(date +%s)
ansible-playbook -i localhost, "$playbook" \
  -e "endpoint=$ENDPOINT access_key=$ALICE_KEY secret_key=$ALICE_SECRET" \
  -e "image_name=$image key_file=$TEST_DIR/key" \
  -e "instance_type=${AMIBOX_ANSIBLE_TYPE:-m1.small} ssh_user=${AMIBOX_ANSIBLE_USER:-root}" \
  -e "ansible_python_interpreter=/usr/bin/python3" \
  >"$TEST_DIR/ansible.log" 2>&1 || { tail -60 "$TEST_DIR/ansible.log"; fail "the playbook failed"; }
echo "the playbook took $(( $(date +%s) - t0 )) s"
grep -q "failed=0" "$TEST_DIR/ansible.log" || fail "a task failed: $(tail -5 "$TEST_DIR/ansible.log")"
got=$(ec2 describe-instances --filters Name=tag:Name,Values=ansible-web --query 'Reservations[].Instances[].State.Name')
[ "$got" = terminated ] || fail "the instance is '$got' after the playbook"
got=$(ec2 describe-images --owners self --filters Name=name,Values=ansible-golden --query 'length(Images)')
[ "$got" = 0 ] || fail "the AMI outlived the playbook"
grep -q "its SSH server answers there" "$TEST_DIR/ansible.log" || fail "the play did not reach the Elastic IP"
got=$(ec2 describe-addresses --query 'length(Addresses)')
[ "$got" = 0 ] || fail "the Elastic IP address outlived the playbook: $got"
