#!/usr/bin/env bash
# The instance metadata service as cloud-init reads it: a crawl of every
# listing in which every named entry answers, the values an instance has,
# IMDSv2 tokens, and HttpTokens=required.
. "$(dirname "$0")/lib.sh"
amibox_start
ec2() { "$AWS_V1" --endpoint-url "$ENDPOINT" --output text ec2 "$@"; }
hvm=$(as alice ec2 describe-images --owners amazon --filters Name=name,Values=amibox-sample-hvm \
  --query 'Images[0].ImageId')
id=$(as alice ec2 run-instances --image-id "$hvm" --instance-type t2.micro --count 1 \
  --query 'Instances[0].InstanceId')
crawl=$(python3 "$AMIBOX_SRC/tests/integration/imds_crawl.py" "$AMIBOX_BIN" "$DATA_DIR" "$id") \
  || fail "the crawl found an entry that does not answer: $crawl"
echo "$crawl"
want() { grep -qx -- "$1" <<<"$crawl" || fail "meta-data lacks '$1'"; }
want "instance-id=$id"
want "ami-id=$hvm"
want "instance-type=t2.micro"
want "placement/region=us-east-1"
want "services/domain=amazonaws.com"
want "profile=default-hvm"
want "block-device-mapping/root=/dev/xvda"
zone=$(as alice ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].Placement.AvailabilityZone')
want "placement/availability-zone=$zone"
ip=$(as alice ec2 describe-instances --instance-ids "$id" --query 'Reservations[0].Instances[0].PrivateIpAddress')
want "local-ipv4=$ip"
grep -q "^local-hostname=ip-${ip//./-}\.ec2\.internal$" <<<"$crawl" || fail "local-hostname is not the private DNS name"

imds() { "$AMIBOX_BIN" imds --data "$DATA_DIR" --instance "$id"; }
# Dated versions, as cloud-init asks for them, answer as latest; "/" lists them.
got=$(printf 'GET /2009-04-04/meta-data/instance-id HTTP/1.1\r\n\r\n' | imds | tail -c ${#id})
[ "$got" = "$id" ] || fail "/2009-04-04/meta-data/instance-id: '$got'"
printf 'GET /2021-03-23/meta-data/ HTTP/1.1\r\n\r\n' | imds | grep -q "^instance-id" || fail "/2021-03-23/meta-data/ lists nothing"
printf 'GET / HTTP/1.1\r\n\r\n' | imds | grep -q "^2021-03-23$" || fail "/ does not list the versions"
printf 'GET /2099-01-01/meta-data/ HTTP/1.1\r\n\r\n' | imds | head -1 | grep -q 404 || fail "an unknown version answered"
# dynamic/ lists what it has, as cloud-init crawls it.
printf 'GET /latest/dynamic/ HTTP/1.1\r\n\r\n' | imds | grep -q "^instance-identity/" || fail "dynamic/ lists nothing"
printf 'GET /latest/dynamic/instance-identity/ HTTP/1.1\r\n\r\n' | imds | grep -q "^document" || fail "instance-identity/ lists nothing"

# IMDSv2: a token from PUT, then GETs with it; a bad token is refused.
token=$(printf 'PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n' | imds | sed '1,/^\r$/d')
[ -n "$token" ] || fail "no IMDSv2 token"
python3 "$AMIBOX_SRC/tests/integration/imds_crawl.py" "$AMIBOX_BIN" "$DATA_DIR" "$id" "$token" >/dev/null \
  || fail "the crawl with a token failed"
status=$(printf 'GET /latest/meta-data/instance-id HTTP/1.1\r\nX-aws-ec2-metadata-token: bogus\r\n\r\n' | imds | head -1)
case $status in *401*) ;; *) fail "a bad token got: $status" ;; esac
as alice ec2 terminate-instances --instance-ids "$id" >/dev/null

# Launched with HttpTokens=required: a GET without a token is refused.
id=$(as alice ec2 run-instances --image-id "$hvm" --instance-type t2.micro --count 1 \
  --metadata-options HttpTokens=required --query 'Instances[0].InstanceId')
status=$(printf 'GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n' | imds | head -1)
case $status in *401*) ;; *) fail "HttpTokens=required let a GET without a token through: $status" ;; esac
token=$(printf 'PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n' | imds | sed '1,/^\r$/d')
python3 "$AMIBOX_SRC/tests/integration/imds_crawl.py" "$AMIBOX_BIN" "$DATA_DIR" "$id" "$token" >/dev/null \
  || fail "the crawl with a token failed on an HttpTokens=required instance"
as alice ec2 terminate-instances --instance-ids "$id" >/dev/null
