/*
 * Unit tests for usage metering (src/metering): the price list (defaults
 * for every built-in instance type, files that replace prices and files
 * that are refused), volume performance above the free baseline, the
 * records the catalogue's transitions write (an instance's running time
 * with the one-minute minimum, tags from the start of the hour), the
 * incremental snapshot rule, and the report engine's arithmetic (hours,
 * GB-months by the month's length, periods, groups, filters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_instances.h"
#include "catalog/catalog_snapshots.h"
#include "catalog/catalog_volumes.h"
#include "compute/instance_types.h"
#include "metering/metering.h"
#include "metering/prices.h"
#include "metering/report.h"
#include "metering/usage_types.h"
#include "util/ids.h"

#define ALICE "111122223333"
#define BOB "444455556666"
#define BLOCK (512.0 * 1024)

struct fixture {
	char dir[64];
	struct catalog *cat;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = ERR_INIT;
	snprintf(f->dir, sizeof f->dir, "/tmp/amibox-meter-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(catalog_open(f->dir, &f->cat, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	catalog_close(f->cat);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- prices ------------------------------------------------------------------- */

static void test_prices_cover_instance_types(void **state)
{
	(void)state;
	size_t n;
	const struct instance_type *types = instance_types(&n);
	struct metering_prices *p = metering_prices_defaults();
	for (size_t i = 0; i < n; i++) {
		char usage_type[64];
		snprintf(usage_type, sizeof usage_type, "BoxUsage:%s", types[i].name);
		if (metering_price(p, usage_type) <= 0)
			fail_msg("no default price for %s", types[i].name);
	}
	assert_true(fabs(metering_price(p, "BoxUsage:t2.micro") - 0.0116) < 1e-12);
	assert_true(fabs(metering_price(p, "EBS:VolumeUsage.gp3") - 0.08) < 1e-12);
	assert_true(fabs(metering_price(p, "EBS:SnapshotUsage") - 0.05) < 1e-12);
	assert_true(fabs(metering_price(p, "TimedStorage-ByteHrs") - 0.023) < 1e-12);
	assert_true(metering_price(p, "BoxUsage:x9.huge") < 0);
	metering_prices_free(p);
}

static void test_prices_file(void **state)
{
	(void)state;
	struct metering_prices *p = NULL;
	struct err e = ERR_INIT;
	static const char good[] =
		"{\"Source\": \"test\", \"Prices\": {\"BoxUsage:t2.micro\": 1.5,"
		" \"BoxUsage:z1d.large\": 0.2, \"TimedStorage-ByteHrs\": 0}}";
	assert_int_equal(metering_prices_parse(good, strlen(good), &p, &e), 0);
	assert_true(metering_price(p, "BoxUsage:t2.micro") == 1.5);
	assert_true(metering_price(p, "BoxUsage:z1d.large") == 0.2);
	assert_true(metering_price(p, "TimedStorage-ByteHrs") == 0);
	/* What the file leaves out keeps its default. */
	assert_true(fabs(metering_price(p, "EBS:VolumeUsage.gp2") - 0.10) < 1e-12);
	metering_prices_free(p);
	static const char *const bad[] = {
		"not json",
		"[1, 2]",
		"{\"Prices\": {\"BoxUsage:t2.micro\": -1}}",
		"{\"Prices\": {\"BoxUsage:t2.micro\": \"0.1\"}}",
		"{\"Prices\": {\"EBS:VolumeUsage.gp9\": 0.1}}",
		"{\"Prices\": {\"BoxUsage:\": 0.1}}",
		"{\"Prices\": {}, \"Currency\": \"EUR\"}",
		"{\"Source\": \"no prices\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		p = NULL;
		if (metering_prices_parse(bad[i], strlen(bad[i]), &p, &e) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_string_equal(e.code, "InvalidParameterValue");
		assert_null(p);
	}
}

static void test_volume_performance(void **state)
{
	(void)state;
	struct usage_amount out[4];
	size_t n = usage_type_volume_performance("gp3", 3000, 125, out);
	assert_int_equal(n, 0);
	n = usage_type_volume_performance("gp3", 4000, 250, out);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].usage_type, "EBS:VolumeP-IOPS.gp3");
	assert_true(out[0].quantity == 1000);
	assert_string_equal(out[1].usage_type, "EBS:VolumeP-Throughput.gp3");
	assert_true(out[1].quantity == 125);
	n = usage_type_volume_performance("io1", 500, 0, out);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].usage_type, "EBS:VolumeP-IOPS.piops");
	assert_true(out[0].quantity == 500);
	n = usage_type_volume_performance("io2", 70000, 0, out);
	assert_int_equal(n, 3);
	assert_true(out[0].quantity == 32000 && out[1].quantity == 32000 && out[2].quantity == 6000);
	assert_string_equal(out[2].usage_type, "EBS:VolumeP-IOPS.io2.tier3");
	assert_int_equal(usage_type_volume_performance("gp2", 300, 0, out), 0);
	assert_string_equal(usage_type_volume_storage("io1"), "EBS:VolumeUsage.piops");
	assert_string_equal(usage_type_volume_storage("standard"), "EBS:VolumeUsage");
	assert_string_equal(usage_type_region_prefix("us-east-2"), "USE2-");
	assert_string_equal(usage_type_region_prefix("us-east-1"), "");
}

/* ---- records -------------------------------------------------------------------- */

struct record {
	long long start, end, until, min_end;
	double quantity;
	char usage_type[64], tags[256];
	int open;
};

/* The subject's records, oldest first; returns how many. */
static int records_of(struct catalog *c, const char *subject, struct record *out, int max)
{
	static const char sql[] =
		"SELECT start_ms, coalesce(end_ms, -1), until_ms, min_end_ms, quantity, usage_type,"
		" coalesce(tags, '') FROM usage_records WHERE subject = ?1 ORDER BY record_id";
	struct err e = ERR_INIT;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, &e);
	int n = 0;
	assert_non_null(stmt);
	sqlite3_bind_text(stmt, 1, subject, -1, SQLITE_STATIC);
	while (sqlite3_step(stmt) == SQLITE_ROW && n < max) {
		struct record *r = &out[n++];
		r->start = sqlite3_column_int64(stmt, 0);
		r->end = sqlite3_column_int64(stmt, 1);
		r->open = r->end < 0;
		r->until = sqlite3_column_int64(stmt, 2);
		r->min_end = sqlite3_column_int64(stmt, 3);
		r->quantity = sqlite3_column_double(stmt, 4);
		snprintf(r->usage_type, sizeof r->usage_type, "%s", sqlite3_column_text(stmt, 5));
		snprintf(r->tags, sizeof r->tags, "%s", sqlite3_column_text(stmt, 6));
	}
	sqlite3_reset(stmt);
	return n;
}

static void in_transaction(struct catalog *c, int (*fn)(struct catalog *c, void *arg,
							 struct err *e), void *arg)
{
	struct err e = ERR_INIT;
	assert_int_equal(catalog_begin(c, &e), 0);
	if (fn(c, arg, &e) < 0)
		fail_msg("%s", e.message);
	assert_int_equal(catalog_commit(c, &e), 0);
}

static int set_state(struct catalog *c, void *arg, struct err *e)
{
	const char **a = arg;
	return catalog_instance_set_state(c, a[0], a[1], NULL, NULL, e);
}

static void test_instance_running_time(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct instance m;
	struct record r[4];
	memset(&m, 0, sizeof m);
	snprintf(m.id, sizeof m.id, "i-0123456789abcdef0");
	snprintf(m.reservation_id, sizeof m.reservation_id, "r-0123456789abcdef0");
	snprintf(m.owner_id, sizeof m.owner_id, ALICE);
	snprintf(m.image_id, sizeof m.image_id, "ami-0123456789abcdef0");
	snprintf(m.instance_type, sizeof m.instance_type, "t2.micro");
	snprintf(m.state, sizeof m.state, "pending");
	snprintf(m.root_device_type, sizeof m.root_device_type, "ebs");
	snprintf(m.virtualization_type, sizeof m.virtualization_type, "hvm");
	snprintf(m.architecture, sizeof m.architecture, "x86_64");
	snprintf(m.shutdown_behavior, sizeof m.shutdown_behavior, "stop");
	snprintf(m.private_ip, sizeof m.private_ip, "172.31.0.10");
	snprintf(m.zone, sizeof m.zone, "us-east-1a");
	m.launch_ms = m.state_ms = ids_now_ms();
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_instance_insert(f->cat, &m, &e), 0);
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	/* Pending is free. */
	assert_int_equal(records_of(f->cat, m.id, r, 4), 0);
	const char *running[] = { m.id, "running" }, *stopping[] = { m.id, "stopping" };
	const char *stopped[] = { m.id, "stopped" };
	in_transaction(f->cat, set_state, running);
	in_transaction(f->cat, set_state, running); /* seen again: nothing changes */
	assert_int_equal(records_of(f->cat, m.id, r, 4), 1);
	assert_true(r[0].open);
	assert_string_equal(r[0].usage_type, "BoxUsage:t2.micro");
	assert_int_equal(r[0].min_end - r[0].start, METERING_MINIMUM_MS);
	/* Stopping ends it: a few milliseconds run, a minute billed. */
	in_transaction(f->cat, set_state, stopping);
	in_transaction(f->cat, set_state, stopped);
	assert_int_equal(records_of(f->cat, m.id, r, 4), 1);
	assert_false(r[0].open);
	assert_int_equal(r[0].until - r[0].start, METERING_MINIMUM_MS);
	/* Each start has its minute. */
	in_transaction(f->cat, set_state, running);
	in_transaction(f->cat, set_state, stopping);
	assert_int_equal(records_of(f->cat, m.id, r, 4), 2);
	assert_int_equal(r[1].until - r[1].start, METERING_MINIMUM_MS);
	/* A long run is billed per second, rounded up. */
	in_transaction(f->cat, set_state, running);
	assert_int_equal(catalog_exec(f->cat,
		"UPDATE usage_records SET start_ms = start_ms - 90500, min_end_ms = min_end_ms - 90500"
		" WHERE end_ms IS NULL", &e), 0);
	in_transaction(f->cat, set_state, stopping);
	assert_int_equal(records_of(f->cat, m.id, r, 4), 3);
	assert_true(r[2].until - r[2].start >= 91000 && r[2].until - r[2].start <= 92000);
	assert_int_equal((r[2].until - r[2].start) % 1000, 0);
}

static int volume_insert(struct catalog *c, void *arg, struct err *e)
{
	return catalog_volume_insert(c, arg, e);
}

static int volume_update(struct catalog *c, void *arg, struct err *e)
{
	return catalog_volume_update(c, arg, e);
}

static int volume_delete(struct catalog *c, void *arg, struct err *e)
{
	return catalog_volume_delete(c, arg, e);
}

static int tag_volume(struct catalog *c, void *arg, struct err *e)
{
	return catalog_tag_set(c, arg, "volume", ALICE, "team", "blue", e);
}

static void volume_row(struct volume_row *v, const char *id, const char *type, long long size,
		       long long iops, long long throughput)
{
	memset(v, 0, sizeof *v);
	snprintf(v->id, sizeof v->id, "%s", id);
	snprintf(v->owner_id, sizeof v->owner_id, ALICE);
	snprintf(v->zone, sizeof v->zone, "us-east-1a");
	snprintf(v->state, sizeof v->state, "available");
	snprintf(v->volume_type, sizeof v->volume_type, "%s", type);
	v->size_gib = size;
	v->iops = iops;
	v->throughput = throughput;
	v->create_ms = ids_now_ms();
}

static void test_volume_records(void **state)
{
	struct fixture *f = *state;
	struct volume_row v;
	struct record r[8];
	volume_row(&v, "vol-0123456789abcdef0", "gp3", 100, 5000, 200);
	in_transaction(f->cat, volume_insert, &v);
	/* Tagged in the hour it began: the record carries the tag from its start. */
	in_transaction(f->cat, tag_volume, v.id);
	int n = records_of(f->cat, v.id, r, 8);
	assert_int_equal(n, 3);
	assert_string_equal(r[0].usage_type, "EBS:VolumeUsage.gp3");
	assert_true(r[0].quantity == 100);
	assert_string_equal(r[1].usage_type, "EBS:VolumeP-IOPS.gp3");
	assert_true(r[1].quantity == 2000);
	assert_string_equal(r[2].usage_type, "EBS:VolumeP-Throughput.gp3");
	assert_true(r[2].quantity == 75);
	assert_string_equal(r[0].tags, "{\"team\":\"blue\"}");
	/* Attaching changes nothing billable; growing it does. */
	snprintf(v.state, sizeof v.state, "in-use");
	in_transaction(f->cat, volume_update, &v);
	assert_int_equal(records_of(f->cat, v.id, r, 8), 3);
	v.size_gib = 200;
	in_transaction(f->cat, volume_update, &v);
	n = records_of(f->cat, v.id, r, 8);
	assert_int_equal(n, 4);
	assert_false(r[0].open);
	assert_true(r[3].open && r[3].quantity == 200);
	assert_string_equal(r[3].tags, "{\"team\":\"blue\"}");
	/* The continuation carries the minute that began at creation. */
	assert_int_equal(r[3].min_end, r[1].min_end);
	assert_int_equal(r[0].until, r[0].end);
	/* A tag change on a record older than this hour: closed at the hour, continued. */
	struct err e = ERR_INIT;
	assert_int_equal(catalog_exec(f->cat,
		"UPDATE usage_records SET start_ms = start_ms - 7200000 WHERE end_ms IS NULL", &e), 0);
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_tag_delete(f->cat, v.id, "team", NULL, &e), 0);
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	n = records_of(f->cat, v.id, r, 8);
	assert_int_equal(n, 7);
	long long hour = ids_now_ms() / 3600000 * 3600000;
	for (int i = 1; i < 4; i++)
		assert_true(!r[i].open && r[i].end == hour);
	for (int i = 4; i < 7; i++)
		assert_true(r[i].open && r[i].start == hour && r[i].tags[0] == '\0');
	/* Deleted: the end of its usage. */
	in_transaction(f->cat, volume_delete, v.id);
	n = records_of(f->cat, v.id, r, 8);
	for (int i = 0; i < n; i++)
		assert_false(r[i].open);
}

/* ---- the incremental snapshot rule -------------------------------------------- */

static void hash_of(int content, unsigned char hash[32])
{
	memset(hash, 0, 32);
	hash[0] = (unsigned char)content;
	hash[1] = 0x5a;
}

struct snap_spec {
	const char *id, *owner, *parent, *source, *volume;
	const char *copy_from; /* the map it starts from, as unchanged blocks */
	int blocks[8][2]; /* index, content; content 0: the zero block */
	int nblocks;
};

static int snap_create(struct catalog *c, void *arg, struct err *e)
{
	const struct snap_spec *spec = arg;
	struct snapshot s;
	struct hash_list garbage = { NULL, 0 };
	memset(&s, 0, sizeof s);
	snprintf(s.id, sizeof s.id, "%s", spec->id);
	snprintf(s.owner_id, sizeof s.owner_id, "%s", spec->owner);
	snprintf(s.volume_id, sizeof s.volume_id, "%s", spec->volume ? spec->volume : "vol-ffffffff");
	snprintf(s.status, sizeof s.status, "pending");
	snprintf(s.parent_id, sizeof s.parent_id, "%s", spec->parent ? spec->parent : "");
	snprintf(s.source_id, sizeof s.source_id, "%s", spec->source ? spec->source : "");
	s.start_ms = ids_now_ms();
	s.volume_size = 1;
	if (catalog_snapshot_insert(c, &s, e) < 0)
		return -1;
	if (spec->copy_from && catalog_blocks_copy(c, spec->copy_from, s.id, e) < 0)
		return -1;
	for (int i = 0; i < spec->nblocks; i++) {
		unsigned char hash[32];
		if (spec->blocks[i][1])
			hash_of(spec->blocks[i][1], hash);
		else
			memcpy(hash, catalog_zero_block_hash(), 32);
		if (catalog_block_put(c, s.id, spec->blocks[i][0], hash, 100, &garbage, e) < 0)
			return -1;
	}
	hash_list_release(&garbage);
	return catalog_snapshot_set_state(c, s.id, "completed", NULL, 100, ids_now_ms(), e);
}

static int snap_delete(struct catalog *c, void *arg, struct err *e)
{
	struct hash_list garbage = { NULL, 0 };
	int rc = catalog_snapshot_delete(c, arg, &garbage, e);
	hash_list_release(&garbage);
	return rc;
}

/* The blocks the snapshot's open record bills; -1 when none is open. */
static double billed_blocks(struct catalog *c, const char *id)
{
	struct record r[16];
	int n = records_of(c, id, r, 16);
	for (int i = 0; i < n; i++)
		if (r[i].open)
			return r[i].quantity / BLOCK;
	return -1;
}

static void test_incremental_snapshots(void **state)
{
	struct fixture *f = *state;
	/* s1: three blocks and a zero block, written whole: the first of its line. */
	struct snap_spec s1 = { "snap-00000000000000001", ALICE, NULL, NULL, NULL, NULL,
				{ { 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 0 } }, 4 };
	/* s2 (its parent s1): block 1 changed. */
	struct snap_spec s2 = { "snap-00000000000000002", ALICE, s1.id, NULL, NULL, s1.id,
				{ { 1, 4 } }, 1 };
	/* s3 (parent s2): block 2 changed, block 5 added. */
	struct snap_spec s3 = { "snap-00000000000000003", ALICE, s2.id, NULL, NULL, s2.id,
				{ { 2, 5 }, { 5, 6 } }, 2 };
	in_transaction(f->cat, snap_create, &s1);
	in_transaction(f->cat, snap_create, &s2);
	in_transaction(f->cat, snap_create, &s3);
	assert_true(billed_blocks(f->cat, s1.id) == 3);
	assert_true(billed_blocks(f->cat, s2.id) == 1);
	assert_true(billed_blocks(f->cat, s3.id) == 2);
	/* A copy is stored whole, whatever it shares. */
	struct snap_spec copy = { "snap-00000000000000004", ALICE, NULL, s3.id, NULL, s3.id,
				  { { 0 } }, 0 };
	in_transaction(f->cat, snap_create, &copy);
	assert_true(billed_blocks(f->cat, copy.id) == 4);
	/* Another account's child of s3 pays for all it holds. */
	struct snap_spec other = { "snap-00000000000000005", BOB, s3.id, NULL, NULL, s3.id,
				   { { 7, 7 } }, 1 };
	in_transaction(f->cat, snap_create, &other);
	assert_true(billed_blocks(f->cat, other.id) == 5);
	/* A block written again, even with the content it had, is a changed block. */
	struct snap_spec rewrite = { "snap-00000000000000007", BOB, other.id, NULL, NULL, other.id,
				     { { 7, 7 } }, 1 };
	in_transaction(f->cat, snap_create, &rewrite);
	assert_true(billed_blocks(f->cat, rewrite.id) == 1);
	/* A volume made from s3 continues s3's line: its snapshot holds what changed. */
	struct volume_row v;
	volume_row(&v, "vol-00000000000000001", "gp2", 1, 0, 0);
	snprintf(v.base_snapshot_id, sizeof v.base_snapshot_id, "%s", s3.id);
	snprintf(v.map_snapshot_id, sizeof v.map_snapshot_id, "%s", s3.id);
	in_transaction(f->cat, volume_insert, &v);
	struct snap_spec of_volume = { "snap-00000000000000006", ALICE, NULL, NULL, v.id, s3.id,
				       { { 0, 8 } }, 1 };
	in_transaction(f->cat, snap_create, &of_volume);
	assert_true(billed_blocks(f->cat, of_volume.id) == 1);
	/*
	 * Deleting s1: s2 takes over blocks 0 and 2 (s1's, which s2 still maps);
	 * s3 maps s1's block 0 too, but s2, older and alive, holds it.
	 */
	in_transaction(f->cat, snap_delete, (void *)s1.id);
	assert_true(billed_blocks(f->cat, s1.id) < 0);
	assert_true(billed_blocks(f->cat, s2.id) == 3);
	assert_true(billed_blocks(f->cat, s3.id) == 2);
	/* Deleting s2 too: s3 holds everything it maps. */
	in_transaction(f->cat, snap_delete, (void *)s2.id);
	assert_true(billed_blocks(f->cat, s3.id) == 4);
	assert_true(billed_blocks(f->cat, copy.id) == 4);
	assert_true(billed_blocks(f->cat, other.id) == 5);
	assert_true(billed_blocks(f->cat, of_volume.id) == 1);
	/*
	 * s3 is the volume's base: deleting it disowns it, its owner stops paying,
	 * and the volume's snapshot holds all it maps.
	 */
	in_transaction(f->cat, snap_delete, (void *)s3.id);
	assert_true(billed_blocks(f->cat, s3.id) < 0);
	assert_true(billed_blocks(f->cat, of_volume.id) == 4);
	struct err e = ERR_INIT;
	struct snapshot kept;
	assert_int_equal(catalog_snapshot_get(f->cat, s3.id, &kept, &e), 1);
	assert_string_equal(kept.owner_id, "");
}

/* ---- the report ----------------------------------------------------------------- */

static long long at(const char *iso)
{
	long long ms;
	assert_int_equal(ids_parse_iso_time(iso, &ms), 0);
	return ms;
}

static void seed(struct catalog *c, const char *account, const char *subject,
		 const char *usage_type, double quantity, const char *from, const char *to,
		 const char *tags)
{
	char sql[1024];
	struct err e = ERR_INIT;
	long long start = at(from), end = to ? at(to) : 0;
	if (to)
		snprintf(sql, sizeof sql,
			 "INSERT INTO usage_records (account_id, subject, resource_id, usage_type,"
			 " region, quantity, start_ms, end_ms, until_ms, tags) VALUES ('%s', '%s',"
			 " '%s', '%s', 'us-east-1', %.17g, %lld, %lld, %lld, %s)",
			 account, subject, subject, usage_type, quantity, start, end, end,
			 tags ? tags : "NULL");
	else
		snprintf(sql, sizeof sql,
			 "INSERT INTO usage_records (account_id, subject, resource_id, usage_type,"
			 " region, quantity, start_ms, until_ms, tags) VALUES ('%s', '%s', '%s',"
			 " '%s', 'us-east-2', %.17g, %lld, 9223372036854775807, %s)",
			 account, subject, subject, usage_type, quantity, start, tags ? tags : "NULL");
	assert_int_equal(catalog_exec(c, sql, &e), 0);
}

static const struct metering_row *row_for(const struct metering_report *r, size_t period,
					  const char *key)
{
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].period == period && (!key || !strcmp(r->rows[i].keys[0], key)))
			return &r->rows[i];
	return NULL;
}

#define NEAR(a, b) assert_true(fabs((a) - (double)(b)) < 1e-9 * (1 + fabs((double)(b))))

static void test_report(void **state)
{
	struct fixture *f = *state;
	struct metering_prices *prices = metering_prices_defaults();
	struct metering_report r;
	struct err e = ERR_INIT;
	/*
	 * Forty hours of 2025 first: the reports of 2026 below read the few
	 * records they need through the index, the last one the table whole.
	 */
	for (int i = 0; i < 40; i++) {
		char subject[32], from[32], to[32];
		snprintf(subject, sizeof subject, "i-old%d", i);
		snprintf(from, sizeof from, "2025-03-%02dT01:00:00Z", 1 + i % 28);
		snprintf(to, sizeof to, "2025-03-%02dT02:00:00Z", 1 + i % 28);
		seed(f->cat, ALICE, subject, "BoxUsage:t2.nano", 1, from, to, NULL);
	}
	/* Two hours of a t2.micro across midnight; a 100 GiB gp3 volume across a month's end. */
	seed(f->cat, ALICE, "i-1", "BoxUsage:t2.micro", 1, "2026-01-30T23:00:00Z",
	     "2026-01-31T01:00:00Z", "'{\"team\":\"red\"}'");
	seed(f->cat, ALICE, "vol-1", "EBS:VolumeUsage.gp3", 100, "2026-01-31T00:00:00Z",
	     "2026-02-02T00:00:00Z", NULL);
	/* 2 GiB in S3 for a day; another account's instance; an open record in us-east-2. */
	seed(f->cat, ALICE, "s3:b/k", "TimedStorage-ByteHrs", 2147483648.0, "2026-02-01T00:00:00Z",
	     "2026-02-02T00:00:00Z", NULL);
	seed(f->cat, BOB, "i-2", "BoxUsage:m1.small", 1, "2026-01-31T00:00:00Z",
	     "2026-01-31T10:00:00Z", NULL);
	seed(f->cat, ALICE, "i-3", "BoxUsage:t3.micro", 1, "2026-02-01T12:00:00Z", NULL, NULL);
	struct metering_query q = { at("2026-01-01"), at("2026-03-01"), at("2026-02-01T18:00:00Z"),
				    METERING_MONTHLY, ALICE, { { METERING_DIM_USAGE_TYPE, "" } }, 1,
				    NULL, prices };
	assert_int_equal(metering_report_run(f->cat, &q, &r, &e), 0);
	assert_int_equal(r.nperiods, 2);
	const struct metering_row *row = row_for(&r, 0, "BoxUsage:t2.micro");
	assert_non_null(row);
	NEAR(row->usage, 2);
	NEAR(row->cost, 2 * 0.0116);
	assert_string_equal(row->unit, "Hrs");
	/* One day of 31 in January, one of 28 in February. */
	row = row_for(&r, 0, "EBS:VolumeUsage.gp3");
	NEAR(row->usage, 100.0 / 31);
	NEAR(row->cost, 100.0 / 31 * 0.08);
	row = row_for(&r, 1, "EBS:VolumeUsage.gp3");
	NEAR(row->usage, 100.0 / 28);
	row = row_for(&r, 1, "TimedStorage-ByteHrs");
	NEAR(row->usage, 2.0 / 28);
	assert_string_equal(row->unit, "GB-Mo");
	/* The open record runs until now, 6 hours, with its region's prefix. */
	row = row_for(&r, 1, "USE2-BoxUsage:t3.micro");
	NEAR(row->usage, 6);
	assert_null(row_for(&r, 0, "BoxUsage:m1.small"));
	metering_report_release(&r);

	/* Daily, by tag: the t2.micro's hours fall on two days, untagged usage under "". */
	q.granularity = METERING_DAILY;
	q.start_ms = at("2026-01-30");
	q.end_ms = at("2026-02-01");
	q.group[0].dim = METERING_DIM_TAG;
	snprintf(q.group[0].tag, sizeof q.group[0].tag, "team");
	assert_int_equal(metering_report_run(f->cat, &q, &r, &e), 0);
	assert_int_equal(r.nperiods, 2);
	NEAR(row_for(&r, 0, "red")->usage, 1);
	NEAR(row_for(&r, 1, "red")->usage, 1);
	NEAR(row_for(&r, 1, "")->usage, 100.0 / 31);
	metering_report_release(&r);

	/* Every account, no groups, filtered to EC2 compute that is not t2: Bob's ten hours. */
	struct metering_expr service = { METERING_EXPR_MATCH, NULL, 0,
					 { METERING_DIM_SERVICE, "" }, NULL, 0, METERING_MATCH_EQUALS };
	char *service_values[] = { USAGE_SERVICE_EC2 };
	service.values = service_values;
	service.nvalues = 1;
	struct metering_expr t2 = { METERING_EXPR_MATCH, NULL, 0, { METERING_DIM_INSTANCE_TYPE, "" },
				    NULL, 0, METERING_MATCH_STARTS_WITH };
	char *t2_values[] = { "T2" };
	t2.values = t2_values;
	t2.nvalues = 1;
	t2.match |= METERING_MATCH_CASE_INSENSITIVE;
	struct metering_expr *not_kids[] = { &t2 };
	struct metering_expr not_t2 = { METERING_EXPR_NOT, not_kids, 1, { 0, "" }, NULL, 0, 0 };
	struct metering_expr *and_kids[] = { &service, &not_t2 };
	struct metering_expr both = { METERING_EXPR_AND, and_kids, 2, { 0, "" }, NULL, 0, 0 };
	q.account_id = NULL;
	q.ngroup = 0;
	q.filter = &both;
	q.granularity = METERING_WHOLE;
	assert_int_equal(metering_report_run(f->cat, &q, &r, &e), 0);
	assert_int_equal(r.nrows, 1);
	NEAR(r.rows[0].usage, 10);
	NEAR(r.rows[0].cost, 10 * 0.044);
	metering_report_release(&r);

	/* Hourly periods, and a reversed range refused. */
	q.filter = NULL;
	q.granularity = METERING_HOURLY;
	q.start_ms = at("2026-01-30T22:00:00Z");
	q.end_ms = at("2026-01-31T02:00:00Z");
	assert_int_equal(metering_report_run(f->cat, &q, &r, &e), 0);
	assert_int_equal(r.nperiods, 4);
	assert_null(row_for(&r, 0, NULL));
	NEAR(row_for(&r, 1, NULL)->usage, 1);
	metering_report_release(&r);
	/* A year and more, the table read whole: 2025's hours and 2026's alike. */
	q.start_ms = at("2025-01-01");
	q.end_ms = at("2026-03-01");
	q.granularity = METERING_WHOLE;
	q.account_id = ALICE;
	q.group[0].dim = METERING_DIM_INSTANCE_TYPE;
	q.ngroup = 1;
	assert_int_equal(metering_report_run(f->cat, &q, &r, &e), 0);
	assert_int_equal(r.records, 44);
	NEAR(row_for(&r, 0, "t2.nano")->usage, 40);
	NEAR(row_for(&r, 0, "t2.micro")->usage, 2);
	metering_report_release(&r);
	q.end_ms = q.start_ms;
	assert_int_equal(metering_report_run(f->cat, &q, &r, &e), -1);
	assert_string_equal(e.code, "ValidationException");
	metering_prices_free(prices);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prices_cover_instance_types),
		cmocka_unit_test(test_prices_file),
		cmocka_unit_test(test_volume_performance),
		cmocka_unit_test_setup_teardown(test_instance_running_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incremental_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
