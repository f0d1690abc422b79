#!/usr/bin/env bash
# Terraform (the machine's terraform, the AWS provider from the filesystem
# mirror) against amibox: terraform_vpc/main.tf (a VPC of its own with
# subnets, groups and an internet gateway, an instance launched into them
# with an Elastic IP and provisioned over SSH at that address, the default
# VPC adopted) applied, planned again (no changes), destroyed (nothing of it
# left, the address released, the default VPC intact).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || fail "VPC networking needs root (network namespaces)"
amibox_linux_sample_env
AMIBOX_SERVE_ARGS="--accel tcg --stop-grace 3"
amibox_start
ssh-keygen -q -t ed25519 -N '' -f "$TEST_DIR/key" -C tf
TF=$TEST_DIR/tf
terraform_mirror "$TF"
cp "$AMIBOX_SRC/tests/integration/terraform_vpc/main.tf" "$TF/"
cat >"$TF/terraform.tfvars" <<VARS
endpoint   = "$ENDPOINT"
access_key = "$ALICE_KEY"
secret_key = "$ALICE_SECRET"
public_key = "$(cat "$TEST_DIR/key.pub")"
private_key_file = "$TEST_DIR/key"
VARS
tf() { terraform -chdir="$TF" "$@" -no-color >>"$TEST_DIR/terraform.log" 2>&1; }
ec2() { as alice "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }

before=$(ec2 describe-security-group-rules --query 'length(SecurityGroupRules)')
tf init -input=false || { tail -30 "$TEST_DIR/terraform.log"; fail "terraform init"; }
tf apply -input=false -auto-approve || { tail -40 "$TEST_DIR/terraform.log"; fail "terraform apply"; }
ip=$(terraform -chdir="$TF" output -raw instance_ip)
[[ $ip =~ ^10\.20\.1\. ]] || fail "the instance in tf-a has address '$ip'"
instance=$(terraform -chdir="$TF" output -raw instance_id)
eip=$(terraform -chdir="$TF" output -raw eip)
alloc=$(terraform -chdir="$TF" output -raw eip_allocation)
[[ $eip =~ ^${PUBLIC_IPS%.0/24}\.[0-9]+$ && $alloc =~ ^eipalloc-[0-9a-f]{17}$ ]] || fail "aws_eip: '$eip' '$alloc'"
# remote-exec reached the instance at the Elastic IP, whose metadata names it.
grep -qF "in the VPC at $ip public $eip" "$TEST_DIR/terraform.log" ||
  fail "remote-exec did not run at the Elastic IP $eip in the VPC's instance: $(grep -F '(remote-exec)' "$TEST_DIR/terraform.log" | tail -5)"
got=$(ec2 describe-addresses --allocation-ids "$alloc" \
  --query 'Addresses[0].[PublicIp,InstanceId,Domain,Tags[?Key==`Name`].Value|[0]]')
[ "$got" = "$eip	$instance	vpc	tf-eip" ] || fail "describe-addresses of the aws_eip: '$got'"
got=$(ec2 describe-instances --instance-ids "$instance" --query 'Reservations[0].Instances[0].PublicIpAddress')
[ "$got" = "$eip" ] || fail "the instance's public address is '$got', not its Elastic IP $eip"
zones=$(terraform -chdir="$TF" output -json zones)
[ "$zones" = '["us-east-1a","us-east-1b","us-east-1c"]' ] || fail "zones: $zones"
[ "$(terraform -chdir="$TF" output -raw default_subnets)" = 3 ] || fail "default subnets"
web=$(terraform -chdir="$TF" output -raw web_group)
got=$(ec2 describe-security-groups --group-ids "$web" \
  --query 'sort(SecurityGroups[0].IpPermissions[].join(`:`, [IpProtocol, to_string(FromPort)]))' | tr '\t' ' ')
[ "$got" = "-1:null tcp:22 tcp:80" ] || fail "tf-web ingress: '$got'"
got=$(ec2 describe-subnets --filters Name=tag:Name,Values=tf-a --query 'Subnets[].[MapPublicIpOnLaunch,AvailabilityZone]')
[ "$got" = "True	us-east-1a" ] || fail "subnet tf-a: '$got'"
set +e
terraform -chdir="$TF" plan -input=false -detailed-exitcode -no-color >"$TEST_DIR/plan.log" 2>&1
plan=$?
set -e
[ "$plan" = 0 ] || { grep -v "Refreshing\|Reading\|Read complete" "$TEST_DIR/plan.log" | tail -40; fail "plan after apply is not empty (exit $plan)"; }
tf destroy -input=false -auto-approve || { tail -40 "$TEST_DIR/terraform.log"; fail "terraform destroy"; }
left=$(ec2 describe-vpcs --query 'Vpcs[].[IsDefault]' | tr '\n' ' ')
[ "$left" = "True " ] || fail "VPCs left after destroy: '$left'"
left=$(ec2 describe-security-groups --query 'SecurityGroups[].GroupName' | tr '\t' ' ')
[ "$left" = "default" ] || fail "groups left after destroy: '$left'"
left=$(ec2 describe-addresses --query 'length(Addresses)')
[ "$left" = 0 ] || fail "addresses left after destroy: $left"
left=$(ec2 describe-internet-gateways --query 'length(InternetGateways)')
[ "$left" = 1 ] || fail "internet gateways left after destroy: $left (the default VPC's only)"
left=$(ec2 describe-subnets --query 'length(Subnets)')
[ "$left" = 3 ] || fail "subnets left after destroy: $left"
after=$(ec2 describe-security-group-rules --query 'length(SecurityGroupRules)')
[ "$after" = "$before" ] || fail "rules of the default group changed: $before -> $after"
[ -z "$(ec2 describe-tags)" ] || fail "tags left after destroy"
echo "t_terraform_vpc: ok"
