#!/usr/bin/env bash
# VPC networking: the default VPC and its parts, VPCs, subnets, security
# groups and rules through boto3 (both versions), then the same calls with
# the AWS CLI v1 and v2.
. "$(dirname "$0")/lib.sh"
amibox_start
export DATA_DIR AMIBOX_BIN
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_vpc.py"
# Debian's boto3 1.26 knows every action used here but the newest filters.
"$PY_DEBIAN" "$AMIBOX_SRC/tests/integration/boto3_vpc.py" Vpcs SecurityGroups

for cli in "$AWS_V1" "$AWS_V2"; do
  ec2() { "$cli" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
  default=$(as bob ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[].[VpcId,CidrBlock]')
  [[ $default == vpc-*"	172.31.0.0/16" ]] || fail "$cli: default VPC: '$default'"
  zones=$(as bob ec2 describe-subnets --filters "Name=vpc-id,Values=${default%%	*}" \
    --query 'sort(Subnets[].AvailabilityZone)' | tr '\t' ' ')
  [ "$zones" = "us-east-1a us-east-1b us-east-1c" ] || fail "$cli: default subnets in '$zones'"
  vpc=$(as bob ec2 create-vpc --cidr-block 10.30.0.0/16 --query Vpc.VpcId)
  subnet=$(as bob ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.30.1.0/24 \
    --availability-zone us-east-1c --query Subnet.SubnetId)
  as bob ec2 modify-subnet-attribute --subnet-id "$subnet" --map-public-ip-on-launch \
    || fail "$cli: modify-subnet-attribute"
  got=$(as bob ec2 describe-subnets --subnet-ids "$subnet" --query 'Subnets[].[MapPublicIpOnLaunch,AvailabilityZoneId]')
  [ "$got" = "True	use1-az3" ] || fail "$cli: describe-subnets: '$got'"
  sg=$(as bob ec2 create-security-group --group-name cli-web --description "cli web" \
    --vpc-id "$vpc" --query GroupId)
  as bob ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 22 \
    --cidr 0.0.0.0/0 >/dev/null || fail "$cli: authorize-security-group-ingress"
  err=$(as bob ec2 authorize-security-group-ingress --group-id "$sg" --protocol tcp --port 22 \
    --cidr 0.0.0.0/0 2>&1 >/dev/null || true)
  [[ $err == *InvalidPermission.Duplicate* ]] || fail "$cli: duplicate rule: '$err'"
  got=$(as bob ec2 describe-security-groups --group-ids "$sg" \
    --query 'SecurityGroups[].IpPermissions[].[IpProtocol,FromPort,ToPort,IpRanges[0].CidrIp]')
  [ "$got" = "tcp	22	22	0.0.0.0/0" ] || fail "$cli: describe-security-groups: '$got'"
  as bob ec2 revoke-security-group-ingress --group-id "$sg" --protocol tcp --port 22 \
    --cidr 0.0.0.0/0 >/dev/null || fail "$cli: revoke-security-group-ingress"
  err=$(as bob ec2 delete-vpc --vpc-id "$vpc" 2>&1 || true)
  [[ $err == *DependencyViolation* ]] || fail "$cli: delete-vpc with a subnet: '$err'"
  as bob ec2 delete-security-group --group-id "$sg" || fail "$cli: delete-security-group"
  as bob ec2 delete-subnet --subnet-id "$subnet" || fail "$cli: delete-subnet"
  as bob ec2 delete-vpc --vpc-id "$vpc" || fail "$cli: delete-vpc"
  left=$(as bob ec2 describe-vpcs --query 'length(Vpcs)')
  [ "$left" = 1 ] || fail "$cli: VPCs left: $left"
done
# serve --zones: another set of zones, and a new account's default subnets follow it.
amibox_daemon_down
AMIBOX_SERVE_ARGS="--zones a,d" amibox_daemon_up
amibox_account dave
got=$(as dave "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 describe-availability-zones \
  --query 'AvailabilityZones[].[ZoneName,ZoneId]' | tr '\t\n' '  ')
[ "$got" = "us-east-1a use1-az1 us-east-1d use1-az2 " ] || fail "--zones a,d: '$got'"
got=$(as dave "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 describe-subnets \
  --query 'sort(Subnets[].join(`=`, [AvailabilityZone, CidrBlock]))')
[ "$got" = "us-east-1a=172.31.0.0/20	us-east-1d=172.31.16.0/20" ] || fail "--zones a,d subnets: '$got'"
echo "t_vpc: ok"
