#!/usr/bin/env bash
# Terraform's everyday workflow, end to end, against amibox with real
# guests: terraform_instance/main.tf (a key pair, a security group for SSH,
# an instance in the default VPC with a remote-exec provisioner that logs in
# over SSH through its public address, a volume attached, an AMI made from
# it and found by a data source) applied, planned again (no changes) and
# destroyed (nothing of it left).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3"
amibox_start
TF=$TEST_DIR/tf
terraform_mirror "$TF"
cp "$AMIBOX_SRC/tests/integration/terraform_instance/main.tf" "$TF/"
ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C tf
cat >"$TF/terraform.tfvars" <<VARS
endpoint         = "$ENDPOINT"
access_key       = "$ALICE_KEY"
secret_key       = "$ALICE_SECRET"
public_key       = "$(cat "$TEST_DIR/key.pub")"
private_key_file = "$TEST_DIR/key"
VARS
tf() { terraform -chdir="$TF" "$@" -no-color >>"$TEST_DIR/terraform.log" 2>&1; }
out() { terraform -chdir="$TF" output -raw "$1"; }
ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
for _ in $(seq 1 50); do
  [ "$(ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-linux --query 'length(Images)')" = 1 ] && break
  sleep 0.2
done

tf init -input=false || { tail -30 "$TEST_DIR/terraform.log"; fail "terraform init"; }
t0=$(date +%s)
tf apply -input=false -auto-approve || { tail -60 "$TEST_DIR/terraform.log"; fail "terraform apply"; }
echo "terraform apply took $(( $(date +%s) - t0 )) s"
id=$(out instance_id)
grep -q "remote-exec ran on $id" "$TEST_DIR/terraform.log" \
  || { grep -i "remote-exec" "$TEST_DIR/terraform.log" | tail; fail "the remote-exec provisioner did not run over SSH"; }
[[ $(out public_ip) =~ ^127\. ]] || fail "public_ip: $(out public_ip)"
[[ $(out private_ip) =~ ^172\.31\. ]] || fail "private_ip: $(out private_ip)"
[ "$(out zone)" = us-east-1a ] || fail "zone: $(out zone)"
[ "$(out golden_name)" = tf-golden ] || fail "the AMI data source found '$(out golden_name)'"
got=$(ec2 describe-volumes --filters Name=tag:Name,Values=tf-data --query 'Volumes[0].Attachments[0].[InstanceId,Device]')
[ "$got" = "$id	/dev/sdf" ] || fail "the volume attachment: '$got'"
got=$(ec2 describe-images --image-ids "$(out golden)" --query 'Images[0].[State,length(BlockDeviceMappings)]')
[ "$got" = "available	2" ] || fail "the AMI from the instance: '$got'"

set +e
terraform -chdir="$TF" plan -input=false -detailed-exitcode -no-color >"$TEST_DIR/plan.log" 2>&1
plan=$?
set -e
[ "$plan" = 0 ] || { grep -v "Refreshing\|Reading\|Read complete" "$TEST_DIR/plan.log" | tail -40; fail "plan after apply is not empty (exit $plan)"; }

tf destroy -input=false -auto-approve || { tail -40 "$TEST_DIR/terraform.log"; fail "terraform destroy"; }
left=$(ec2 describe-instances --filters Name=instance-state-name,Values=pending,running,stopping,stopped \
  --query 'length(Reservations)')
[ "$left" = 0 ] || fail "instances left after destroy: $left"
# The root volume goes a moment after the instance shows terminated.
for _ in $(seq 1 40); do
  got=$(ec2 describe-volumes --query 'length(Volumes)')
  [ "$got" = 0 ] && break
  sleep 0.5
done
[ "$got" = 0 ] || fail "volumes left after destroy: $got"
for what in "describe-images --owners self --query length(Images)" \
    "describe-key-pairs --query length(KeyPairs)"; do
  # shellcheck disable=SC2086
  got=$(ec2 $what)
  [ "$got" = 0 ] || fail "left after destroy ($what): $got"
done
got=$(ec2 describe-security-groups --filters Name=group-name,Values=tf-ssh --query 'length(SecurityGroups)')
[ "$got" = 0 ] || fail "the security group outlived destroy"
