"""Seeds N usage records for the usage report benchmark.

Usage: seed_usage.py CATALOG.DB ACCOUNT_ID N

Records go straight into the catalogue (what the hooks write: migration 13's
usage_records), as a month of a busy account's life would leave them:
10,000 resources (instances of five types, gp2 and gp3 volumes, snapshots,
objects in 20 buckets), each with N / 10,000 usage intervals over the 30
days before now, one in five tagged team=a..e; 1% still open.  Prints the
first day of the seeded span.
"""
import random
import sqlite3
import sys
import time

db_path, account, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(db_path, timeout=60)
rnd = random.Random(42)
now = int(time.time() * 1000)
span = 30 * 86400 * 1000
first = now - span
kinds = [("i-", "BoxUsage:%s" % t, 1.0) for t in ("t2.micro", "t3.small", "m5.large", "c5.large", "m1.small")] + [
    ("vol-", "EBS:VolumeUsage.gp2", 8.0), ("vol-", "EBS:VolumeUsage.gp3", 100.0),
    ("snap-", "EBS:SnapshotUsage", 3.0 * 2 ** 30), ("s3:", "TimedStorage-ByteHrs", 50.0 * 2 ** 20)]
resources = 10000
per = max(1, target // resources)
rows = []
for r in range(resources):
    prefix, usage_type, quantity = kinds[r % len(kinds)]
    if prefix == "s3:":
        bucket = "bucket%02d" % (r % 20)
        subject, resource = "s3:%s/object%05d" % (bucket, r), bucket
    else:
        subject = resource = prefix + "%017x" % r
    tags = '{"team":"%s"}' % "abcde"[r // 5 % 5] if r % 5 == 0 else None
    step = span // per
    for k in range(per):
        start = first + k * step + rnd.randrange(step // 4)
        end = start + rnd.randrange(60000, step // 2)
        if len(rows) >= target:
            break
        is_open = k == per - 1 and r % 100 == 0
        rows.append((account, subject, resource, usage_type, "us-east-1",
                     quantity, start, None if is_open else end, start + 60000,
                     9223372036854775807 if is_open else end, tags))
while len(rows) < target:
    rows.append(rows[-1][:6] + (rows[-1][6] + 1, rows[-1][7], rows[-1][8], rows[-1][9],
                                rows[-1][10]))
with db:
    db.executemany("INSERT INTO usage_records (account_id, subject, resource_id, usage_type,"
                   " region, quantity, start_ms, end_ms, min_end_ms, until_ms, tags)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
print(time.strftime("%Y-%m-%d", time.gmtime(first / 1000)))
