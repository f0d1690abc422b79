#!/usr/bin/env bash
# A deregistered image fades as EC2 documents it: described by ID (state
# deregistered) for a short while, then left out of the results, and only
# once no instance launched from it is left does its ID answer
# InvalidAMIID.NotFound.  The daemon runs with shorter intervals
# (--deregistered-shown/--deregistered-kept), and the test moves
# deregistrations back in time; checked with the AWS CLI v1 and v2, a real
# instance, and Ansible's ec2_ami (register, share, update, delete, delete
# and wait, which lasts --deregistered-shown).
. "$(dirname "$0")/lib.sh"
SHOWN=20 KEPT=40
AMIBOX_SERVE_ARGS="--stop-grace 1 --deregistered-shown $SHOWN --deregistered-kept $KEPT"
amibox_start

python3 -c 'import os,sys; sys.stdout.buffer.write(os.urandom(1<<20))' >"$TEST_DIR/disk.raw"
snap=$(as alice "$AMIBOX_BIN" import "$TEST_DIR/disk.raw" --endpoint "$ENDPOINT" 2>/dev/null)
[ -n "$snap" ] || fail "import gave no snapshot"

# age ID SECONDS: as if the image had been deregistered SECONDS earlier (the
# intervals are the daemon's; a test that slept through them would be slow
# and, on a loaded machine, racy).
age() {
  python3 -c 'import sqlite3,sys
db = sqlite3.connect(sys.argv[1], timeout=30)
with db:
    db.execute("UPDATE images SET deregistered_ms = deregistered_ms - ? WHERE image_id = ?",
               (int(sys.argv[3]) * 1000, sys.argv[2]))' "$DATA_DIR/catalog.db" "$1" "$2"
}

for cli in "$AWS_V1" "$AWS_V2"; do
  ec2() { "$cli" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
  name=fade$RANDOM$RANDOM
  id=$(as alice ec2 register-image --name "$name" --architecture x86_64 \
    --virtualization-type hvm --root-device-name /dev/xvda \
    --block-device-mappings "DeviceName=/dev/xvda,Ebs={SnapshotId=$snap}" --query ImageId)
  as alice ec2 deregister-image --image-id "$id" >/dev/null || fail "$cli: deregister-image"
  state=$(as alice ec2 describe-images --image-ids "$id" --query 'Images[0].State')
  [ "$state" = deregistered ] || fail "$cli: right after deregistering, the state is '$state'"
  [ -z "$(as alice ec2 describe-images --owners self --filters "Name=name,Values=$name" --query 'Images[].ImageId')" ] \
    || fail "$cli: a name filter lists the deregistered image"
  as alice ec2 deregister-image --image-id "$id" 2>"$TEST_DIR/err" && fail "$cli: deregistered twice"
  grep -q InvalidAMIID.Unavailable "$TEST_DIR/err" || fail "$cli: $(cat "$TEST_DIR/err")"
  age "$id" "$SHOWN"
  got=$(as alice ec2 describe-images --image-ids "$id" --query 'length(Images)')
  [ "$got" = 0 ] || fail "$cli: after --deregistered-shown, $got images"
  age "$id" "$((KEPT - SHOWN))"
  as alice ec2 describe-images --image-ids "$id" 2>"$TEST_DIR/err" && fail "$cli: still known after --deregistered-kept"
  grep -q InvalidAMIID.NotFound "$TEST_DIR/err" || fail "$cli: $(cat "$TEST_DIR/err")"
done

# An instance launched from the image keeps its ID known until it is terminated.
ec2() { "$AWS_V2" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
id=$(as alice ec2 register-image --name "used$RANDOM" --architecture x86_64 \
  --virtualization-type hvm --root-device-name /dev/xvda \
  --block-device-mappings "DeviceName=/dev/xvda,Ebs={SnapshotId=$snap}" --query ImageId)
inst=$(as alice ec2 run-instances --image-id "$id" --instance-type t2.micro --count 1 \
  --query 'Instances[0].InstanceId') || fail "run-instances"
tags=$(as alice "$AWS_V2" --endpoint-url "$ENDPOINT" --output json ec2 describe-instances \
  --instance-ids "$inst" --query 'Reservations[0].Instances[0].Tags')
[ "$tags" = null ] || fail "an untagged instance has Tags $tags"
as alice ec2 deregister-image --image-id "$id" >/dev/null || fail "deregister-image of a used image"
age "$id" "$KEPT"
got=$(as alice ec2 describe-images --image-ids "$id" --query 'length(Images)')
[ "$got" = 0 ] || fail "an image an instance was launched from: $got images after --deregistered-kept"
as alice ec2 run-instances --image-id "$id" --instance-type t2.micro --count 1 2>"$TEST_DIR/err" \
  && fail "launched from a deregistered image"
grep -q InvalidAMIID.Unavailable "$TEST_DIR/err" || fail "run-instances: $(cat "$TEST_DIR/err")"
as alice ec2 terminate-instances --instance-ids "$inst" >/dev/null || fail "terminate-instances"
for _ in $(seq 1 60); do
  state=$(as alice ec2 describe-instances --instance-ids "$inst" --query 'Reservations[0].Instances[0].State.Name')
  [ "$state" = terminated ] && break
  sleep 0.5
done
[ "$state" = terminated ] || fail "the instance is $state, not terminated"
as alice ec2 describe-images --image-ids "$id" 2>"$TEST_DIR/err" && fail "known after its instance terminated"
grep -q InvalidAMIID.NotFound "$TEST_DIR/err" || fail "$(cat "$TEST_DIR/err")"

# Ansible's ec2_ami with Debian's Python (its boto3): state=absent describes
# the image by ID after DeregisterImage (and waits, with wait: yes, for it
# to be described by nothing).
command -v ansible-playbook >/dev/null || fail "ansible is not installed (apt-get install ansible)"
snap2=$(as alice "$AMIBOX_BIN" import "$TEST_DIR/disk.raw" --endpoint "$ENDPOINT" 2>/dev/null)
cat >"$TEST_DIR/playbook.yml" <<'YAML'
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: /usr/bin/python3
    aws: &aws
      endpoint_url: "{{ lookup('env', 'ENDPOINT') }}"
      aws_access_key: "{{ lookup('env', 'ALICE_KEY') }}"
      aws_secret_key: "{{ lookup('env', 'ALICE_SECRET') }}"
      region: us-east-1
  module_defaults:
    amazon.aws.ec2_ami: *aws
  tasks:
    - name: register an image, shared with bob, tagged
      amazon.aws.ec2_ami:
        name: "{{ name }}"
        state: present
        architecture: x86_64
        virtualization_type: hvm
        root_device_name: /dev/xvda
        device_mapping:
          - device_name: /dev/xvda
            snapshot_id: "{{ snap }}"
            volume_type: gp3
        launch_permissions:
          user_ids: ["{{ bob }}"]
        tags:
          app: ansible
        wait: true
      register: image
    - assert:
        that:
          - image.changed
          - image.state == 'available'
          - "image.launch_permissions == [{'user_id': bob}]"
          - "image.tags == {'app': 'ansible'}"
    - name: change its description
      amazon.aws.ec2_ami:
        image_id: "{{ image.image_id }}"
        description: changed by ansible
      register: updated
    - assert:
        that:
          - updated.changed
          - updated.description == 'changed by ansible'
    - name: delete it and its snapshot
      amazon.aws.ec2_ami:
        image_id: "{{ image.image_id }}"
        state: absent
        delete_snapshot: true
      register: deleted
    - assert:
        that:
          - deleted.changed
          - deleted.snapshots_deleted == [snap]
    - name: register another
      amazon.aws.ec2_ami:
        name: "{{ name }}-2"
        state: present
        root_device_name: /dev/xvda
        device_mapping:
          - device_name: /dev/xvda
            snapshot_id: "{{ snap2 }}"
      register: other
    - name: delete it and wait until it is gone
      amazon.aws.ec2_ami:
        image_id: "{{ other.image_id }}"
        state: absent
        wait: true
        wait_timeout: 120
      register: waited
    - name: delete it again
      amazon.aws.ec2_ami:
        image_id: "{{ other.image_id }}"
        state: absent
      register: again
    - assert:
        that:
          - waited.changed
          - not again.changed
YAML
export ANSIBLE_LOCAL_TEMP=$TEST_DIR/ansible-tmp ANSIBLE_HOME=$TEST_DIR/ansible-home
export ANSIBLE_NOCOLOR=1 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false ANSIBLE_LOCALHOST_WARNING=false
ansible-playbook -i localhost, "$TEST_DIR/playbook.yml" \
  -e "name=ansible$RANDOM$RANDOM snap=$snap snap2=$snap2 bob=$BOB_ID" >"$TEST_DIR/ansible.log" 2>&1 \
  || { tail -40 "$TEST_DIR/ansible.log" >&2; fail "ansible-playbook: register, share, update, delete"; }
as alice ec2 describe-snapshots --snapshot-ids "$snap" 2>/dev/null && fail "ansible's delete_snapshot left $snap"
echo "t_images_deregistered: ok"
