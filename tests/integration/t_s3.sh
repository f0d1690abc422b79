#!/usr/bin/env bash
# The object store: S3 semantics through boto3 (pip's 1.43 and Debian's 1.26)
# and hand-written SigV2, streaming-SigV4 and 100-continue clients
# (boto3_s3.py, strict mode), then
# `aws s3` and `aws s3api` with CLI v1 and v2, then a restart: objects
# survive it and spools of an interrupted upload are swept.  The daemon logs
# its requests, so that the log can be checked to name S3's operations.
. "$(dirname "$0")/lib.sh"
AMIBOX_SERVE_QUIET=
amibox_start
export TEST_DIR S3_STRICT=1
"$PY_NEW" "$AMIBOX_SRC/tests/integration/boto3_s3.py"
"$PY_DEBIAN" "$AMIBOX_SRC/tests/integration/boto3_s3.py"

head -c 12000000 /dev/urandom >"$TEST_DIR/big.bin"
printf 'hello, amibox\n' >"$TEST_DIR/small.txt"
n=0
for cli in "$AWS_V1" "$AWS_V2"; do
  n=$((n + 1))
  s3() { "$cli" --endpoint-url "$ENDPOINT" s3 "$@"; }
  s3api() { "$cli" --endpoint-url "$ENDPOINT" --output text s3api "$@"; }
  bucket=cli-bucket-$n
  as alice s3 mb "s3://$bucket" >/dev/null || fail "$cli: mb"
  as alice s3api get-bucket-location --bucket "$bucket" >/dev/null || fail "$cli: get-bucket-location"
  as alice s3 cp "$TEST_DIR/small.txt" "s3://$bucket/dir/small.txt" >/dev/null || fail "$cli: cp up"
  as alice s3 cp "$TEST_DIR/big.bin" "s3://$bucket/big.bin" >/dev/null || fail "$cli: cp big up"
  got=$(as alice s3 ls "s3://$bucket/" | awk '{print $NF}' | sort | tr '\n' ' ')
  [ "$got" = "big.bin dir/ " ] || fail "$cli: ls: '$got'"
  got=$(as alice s3 ls "s3://$bucket" --recursive | awk '{print $3, $4}' | sort | tr '\n' ' ')
  [ "$got" = "12000000 big.bin 14 dir/small.txt " ] || fail "$cli: ls --recursive: '$got'"
  as alice s3 cp "s3://$bucket/big.bin" "$TEST_DIR/back.bin" >/dev/null || fail "$cli: cp down"
  cmp -s "$TEST_DIR/big.bin" "$TEST_DIR/back.bin" || fail "$cli: the download differs"
  as alice s3 cp "s3://$bucket/dir/small.txt" "s3://$bucket/copy.txt" >/dev/null || fail "$cli: cp s3 to s3"
  got=$(as alice s3 cp "s3://$bucket/copy.txt" - )
  [ "$got" = "hello, amibox" ] || fail "$cli: the copy reads '$got'"
  etag=$(as alice s3api head-object --bucket "$bucket" --key dir/small.txt --query ETag)
  [ "$etag" = "\"$(md5sum <"$TEST_DIR/small.txt" | cut -d' ' -f1)\"" ] || fail "$cli: ETag $etag"
  as alice s3api put-object-acl --bucket "$bucket" --key dir/small.txt --acl aws-exec-read || fail "$cli: put-object-acl"
  as bob s3 ls "s3://$bucket/" >/dev/null 2>&1 && fail "$cli: bob lists alice's bucket"
  as alice s3 rb "s3://$bucket" >/dev/null 2>&1 && fail "$cli: rb of a full bucket"
  as alice s3 rm "s3://$bucket" --recursive >/dev/null || fail "$cli: rm --recursive"
  as alice s3 rb "s3://$bucket" >/dev/null || fail "$cli: rb"
  got=$(as alice s3api list-buckets --query "Buckets[?Name=='$bucket'].Name")
  [ -z "$got" ] || fail "$cli: the bucket is still listed: '$got'"
done

# Every request's log line names its S3 operation.
for op in ListBuckets CreateBucket HeadBucket DeleteBucket GetBucketLocation ListObjects \
          ListObjectsV2 PutObject GetObject HeadObject CopyObject DeleteObject DeleteObjects \
          GetObjectAcl PutObjectAcl CreateMultipartUpload UploadPart UploadPartCopy CompleteMultipartUpload \
          AbortMultipartUpload ListParts ListMultipartUploads; do
  grep -q "msg=\"request\" action=$op account=" "$TEST_DIR/daemon.log" || fail "no log line names $op"
done
# Only a method no operation takes (405) stays unnamed.
grep "msg=\"request\" action=s3 " "$TEST_DIR/daemon.log" | grep -qv "status=405" && fail "an S3 operation is logged as 's3'"

# Objects survive a restart; what an interrupted upload left is swept.
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" s3 mb s3://kept >/dev/null
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" s3 cp "$TEST_DIR/big.bin" s3://kept/big.bin >/dev/null
amibox_daemon_down
touch "$DATA_DIR/objects/tmp/0123456789abcdef0123456789abcdef"
mkdir -p "$DATA_DIR/objects/ff"
touch "$DATA_DIR/objects/ff/00000000000000000000000000000000"
amibox_daemon_up
as alice "$AWS_V1" --endpoint-url "$ENDPOINT" s3 cp s3://kept/big.bin "$TEST_DIR/after.bin" >/dev/null
cmp -s "$TEST_DIR/big.bin" "$TEST_DIR/after.bin" || fail "restart: the object changed"
[ -e "$DATA_DIR/objects/tmp/0123456789abcdef0123456789abcdef" ] && fail "restart: a spool was not swept"
[ -e "$DATA_DIR/objects/ff/00000000000000000000000000000000" ] && fail "restart: an orphan was not swept"
echo "t_s3: ok"
