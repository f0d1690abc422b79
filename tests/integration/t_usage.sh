#!/usr/bin/env bash
# Usage metering end to end: instances run, stopped, started across a daemon
# restart and terminated; volumes with provisioned performance; snapshots
# through the EBS direct API and of a volume; an object and an instance-store
# bundle in S3 (usage_scenario.py).  Then `amibox usage` and the Cost
# Explorer API (CLI v1 and v2, boto3 1.43 and 1.26: boto3_usage.py) agree
# with each other and with figures computed by hand; prices from a file;
# paging over records seeded for a third account.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86 is not installed (make deps)"
AMIBOX_SERVE_ARGS="--stop-grace 1"
amibox_start
amibox_account carol
export CAROL_ID CAROL_KEY CAROL_SECRET

"$AMIBOX_BIN" usage --help | grep -qF -- "--granularity" || fail "usage --help"
for flag in --data --start --end --account --group-by --csv --prices; do
  "$AMIBOX_BIN" usage --help | grep -qF -- "$flag" || fail "usage --help does not list $flag"
done
status=0; "$AMIBOX_BIN" usage --data "$DATA_DIR" --group-by colour >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || fail "a bad --group-by exited with $status"

# A price list the daemon refuses, with the reason.
echo '{"Prices": {"BoxUsage:t2.micro": -1}}' >"$TEST_DIR/bad-prices.json"
out=$("$AMIBOX_BIN" serve --listen 127.0.0.1:1 --data "$TEST_DIR/other" --prices "$TEST_DIR/bad-prices.json" 2>&1) &&
  fail "a negative price was accepted"
[[ $out == *"bad-prices.json"*"must be a number of USD"* ]] || fail "bad price list: '$out'"

# The guest of the instance-store AMI: a boot sector that prints and halts.
command as --32 -o "$TEST_DIR/boot.o" "$AMIBOX_SRC/guests/hvm_boot.S"
ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$TEST_DIR/boot.bin" "$TEST_DIR/boot.o"
# Random bytes after its first MiB, so that its bundle (8 MiB) does not compress away.
head -c 7M /dev/urandom >"$TEST_DIR/fill.bin"
truncate -s 1M "$TEST_DIR/hvm.raw"
dd if="$TEST_DIR/boot.bin" of="$TEST_DIR/hvm.raw" conv=notrunc status=none
cat "$TEST_DIR/fill.bin" >>"$TEST_DIR/hvm.raw"
export GUEST_HVM=$TEST_DIR/hvm.raw DATA_DIR TEST_DIR AMIBOX_BIN AWS_V1
"$PY_NEW" "$AMIBOX_SRC/tests/integration/usage_scenario.py" before-restart || fail "the scenario before the restart"

# The daemon restarts while the t2.micro runs, now with a price list: t2.micro at 3.6 USD/hour.
echo '{"Source": "t_usage", "Prices": {"BoxUsage:t2.micro": 3.6}}' >"$TEST_DIR/prices.json"
amibox_daemon_down
AMIBOX_SERVE_ARGS="--stop-grace 1 --prices $TEST_DIR/prices.json"
amibox_daemon_up
"$PY_NEW" "$AMIBOX_SRC/tests/integration/usage_scenario.py" after-restart || fail "the scenario after the restart"

# Carol: 1,500 instances of one minute each today, seeded straight into the catalogue.
# (CAROL_DAY: the UTC day they are on, for boto3_usage.py, whatever the clock says by then.)
CAROL_DAY=$(date -u +%F)
export CAROL_DAY
python3 - "$DATA_DIR/catalog.db" "$CAROL_ID" "$CAROL_DAY" <<'PY' || fail "seeding carol's records"
import calendar, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
start = calendar.timegm(time.strptime(sys.argv[3], "%Y-%m-%d")) * 1000 + 60000
db.executemany("INSERT INTO usage_records (account_id, subject, resource_id, usage_type, region,"
               " quantity, start_ms, end_ms, min_end_ms, until_ms) VALUES (?, ?, ?,"
               " 'BoxUsage:t2.nano', 'us-east-1', 1, ?, ?, ?, ?)",
               [(sys.argv[2], "i-carol%05d" % i, "i-carol%05d" % i, start, start + 60000,
                 start + 60000, start + 60000) for i in range(1500)])
db.commit()
PY
rows=$("$AMIBOX_BIN" usage --data "$DATA_DIR" --account carol --group-by resource --granularity daily --csv | wc -l)
[ "$rows" = 1501 ] || fail "amibox usage for carol: $rows lines"

# amibox usage and the CLIs: the same groups and the same digits.
read -r START END < <(python3 -c "import sys; sys.path.insert(0, '$AMIBOX_SRC/tests/integration'); import usage_lib; print(*usage_lib.window())")
"$AMIBOX_BIN" usage --data "$DATA_DIR" --account "$ALICE_ID" --group-by usage-type --csv \
  --start "$START" --end "$END" >"$TEST_DIR/usage.csv" || fail "amibox usage --csv"
grep -q '^[0-9-]*,[0-9-]*,BoxUsage:t2.micro,0.0333333333,Hrs,0.12$' "$TEST_DIR/usage.csv" ||
  fail "two starts of a t2.micro at 3.6/hour: $(cat "$TEST_DIR/usage.csv")"
table=$("$AMIBOX_BIN" usage --data "$DATA_DIR" --account alice --start "$START" --end "$END")
[[ $table == *"Amazon Simple Storage Service"* && $table == *TOTAL* ]] || fail "the table: $table"
for cli in "$AWS_V1" "$AWS_V2"; do
  as alice "$cli" --endpoint-url "$ENDPOINT" --output json ce get-cost-and-usage \
    --time-period "Start=$START,End=$END" --granularity MONTHLY \
    --metrics UnblendedCost UsageQuantity --group-by Type=DIMENSION,Key=USAGE_TYPE \
    >"$TEST_DIR/ce.json" || fail "$cli ce get-cost-and-usage"
  python3 - "$TEST_DIR/ce.json" "$TEST_DIR/usage.csv" <<'PY' || fail "$cli: Cost Explorer and amibox usage differ"
import csv, json, sys
api = {(p["TimePeriod"]["Start"], g["Keys"][0]): (g["Metrics"]["UnblendedCost"]["Amount"],
        g["Metrics"]["UsageQuantity"]["Amount"], g["Metrics"]["UsageQuantity"]["Unit"])
       for p in json.load(open(sys.argv[1]))["ResultsByTime"] for g in p["Groups"]}
cli = {(r["start"], r["usage-type"]): (r["cost_usd"], r["usage_quantity"], r["unit"])
       for r in csv.DictReader(open(sys.argv[2]))}
assert api == cli and len(api) >= 8, (api, cli)
PY
  got=$(as alice "$cli" --endpoint-url "$ENDPOINT" --output text ce get-dimension-values \
    --time-period "Start=$START,End=$END" --dimension SERVICE --query 'DimensionValues[].Value' | tr '\t' ',')
  [ "$got" = "Amazon Elastic Compute Cloud - Compute,Amazon Simple Storage Service,EC2 - Other" ] ||
    fail "$cli get-dimension-values SERVICE: '$got'"
  out=$(as alice "$cli" --endpoint-url "$ENDPOINT" ce get-cost-and-usage --time-period "Start=$END,End=$START" \
    --granularity MONTHLY --metrics UnblendedCost 2>&1) && fail "$cli: a reversed period was accepted"
  [[ $out == *ValidationException* ]] || fail "$cli: reversed period: '$out'"
done

for py in "$PY_NEW" "$PY_DEBIAN"; do
  "$py" "$AMIBOX_SRC/tests/integration/boto3_usage.py" || fail "$py: boto3_usage.py"
done
echo "t_usage: ok"
