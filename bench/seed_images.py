"""Grows amibox's image catalogue to N images for the DescribeImages benchmark.

Usage: seed_images.py CATALOG.DB OWNER_ID SNAPSHOT_ID N

Registering 100,000 images through the API would spend the benchmark's time
on fsyncs, so the rows go straight into the catalogue (the daemon reads them
like any other, its schema is the one migration 2 made).  Names come in
families of ten, "family00042-v0" .. "-v9", as a build pipeline makes them;
a Terraform-style lookup asks for one family with a name prefix.  Prints the
ID of one image in the middle of the catalogue.
"""
import os
import sqlite3
import sys
import time

db_path, owner, snapshot, target = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = sqlite3.connect(db_path, timeout=60)
have = db.execute("SELECT count(*) FROM images WHERE owner_id = ?", (owner,)).fetchone()[0]
now = int(time.time() * 1000)
rows, bdms = [], []
for i in range(have, target):
    image_id = "ami-" + os.urandom(9).hex()[:17]
    name = "family%05d-v%d" % (i // 10, i % 10)
    rows.append((image_id, owner, name, "benchmark image %d" % i, "machine", "available",
                 "x86_64", "hvm", "ebs", "/dev/xvda", owner + "/" + name, "xen", now - i))
    bdms.append((image_id, 0, "/dev/xvda", 0, 1, snapshot, 8, 1, "gp3", 3000, 125))
with db:
    db.executemany(
        "INSERT INTO images (image_id, owner_id, name, description, image_type, state,"
        " architecture, virtualization_type, root_device_type, root_device_name,"
        " image_location, hypervisor, creation_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.executemany(
        "INSERT INTO image_block_devices (image_id, position, device_name, no_device, ebs,"
        " snapshot_id, volume_size, delete_on_termination, volume_type, iops, throughput)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)", bdms)
middle = db.execute("SELECT image_id FROM images WHERE owner_id = ? AND name = ?",
                    (owner, "family%05d-v5" % (target // 20))).fetchone()[0]
print(middle)
