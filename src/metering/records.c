/*
 * records: the usage records and the hooks that write them (metering.h).
 *
 * Every hook reads its subject's row and hands meter_apply the open
 * records the row implies; meter_apply compares them with the open ones
 * and writes the difference.  All of it runs in the caller's transaction.
 */
#include "metering/metering.h"
#include "metering/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "catalog/catalog_snapshots.h"
#include "metering/usage_types.h"
#include "util/buf.h"
#include "util/ids.h"

/* A subject has at most this many open records (a volume: storage and io2's three tiers). */
#define METER_OPEN_MAX 8
#define HOUR_MS 3600000LL

static char metering_region_name[64] = "us-east-1";

void metering_set_region(const char *region)
{
	snprintf(metering_region_name, sizeof metering_region_name, "%s", region);
}

const char *metering_region(void)
{
	return metering_region_name;
}

long long meter_billed_end(long long start_ms, long long end_ms)
{
	long long span = end_ms > start_ms ? end_ms - start_ms : 0;
	return start_ms + (span + 999) / 1000 * 1000;
}

/* An open record of a subject, as read back. */
struct meter_open {
	long long id, start_ms, min_end_ms;
	char account[13], resource_id[72], usage_type[64], region[64];
	double quantity;
	char *tags; /* owned; NULL when none */
	int keep;
};

/* The subject's open records, at most METER_OPEN_MAX (meter_open_release frees them). */
static int meter_open_records(struct catalog *c, const char *subject, struct meter_open *out,
			      size_t *n, struct err *e)
{
	static const char sql[] =
		"SELECT record_id, start_ms, min_end_ms, account_id, resource_id, usage_type,"
		" region, quantity, tags FROM usage_records WHERE subject = ?1 AND end_ms IS NULL";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	*n = 0;
	sqlite3_bind_text(stmt, 1, subject, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *n < METER_OPEN_MAX) {
		struct meter_open *r = &out[(*n)++];
		const unsigned char *tags = sqlite3_column_text(stmt, 8);
		memset(r, 0, sizeof *r);
		r->id = sqlite3_column_int64(stmt, 0);
		r->start_ms = sqlite3_column_int64(stmt, 1);
		r->min_end_ms = sqlite3_column_int64(stmt, 2);
		catalog_copy_text(r->account, sizeof r->account, stmt, 3);
		catalog_copy_text(r->resource_id, sizeof r->resource_id, stmt, 4);
		catalog_copy_text(r->usage_type, sizeof r->usage_type, stmt, 5);
		catalog_copy_text(r->region, sizeof r->region, stmt, 6);
		r->quantity = sqlite3_column_double(stmt, 7);
		r->tags = tags ? xstrdup((const char *)tags) : NULL;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return err_internal(e, "BUG: %s has more than %d open usage records", subject,
				    METER_OPEN_MAX);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading open usage records", e);
	return 0;
}

static void meter_open_release(struct meter_open *open, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(open[i].tags);
}

/* Ends a record at end_ms: billed to until_ms. */
static int meter_close(struct catalog *c, long long id, long long end_ms, long long until_ms,
		       struct err *e)
{
	static const char sql[] =
		"UPDATE usage_records SET end_ms = ?2, until_ms = ?3 WHERE record_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, end_ms);
	sqlite3_bind_int64(stmt, 3, until_ms);
	return catalog_step_done(c, stmt, "closing a usage record", e);
}

/* The resource's tags as a JSON object sorted by key, or NULL when it has none (caller frees). */
static int meter_tags_json(struct catalog *c, const char *resource_id, char **out, struct err *e)
{
	struct tag_list tags = { NULL, 0 };
	*out = NULL;
	if (!resource_id)
		return 0;
	if (catalog_tags_get(c, resource_id, &tags, e) < 0)
		return -1;
	if (tags.count) {
		json_t *o = json_object();
		for (size_t i = 0; i < tags.count; i++)
			json_object_set_new(o, tags.items[i].key, json_string(tags.items[i].value));
		*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
	}
	tag_list_release(&tags);
	return 0;
}

struct meter_record {
	const char *account, *subject, *resource_id, *usage_type, *region, *tags;
	double quantity;
	long long start_ms, min_end_ms;
};

static int meter_insert(struct catalog *c, const struct meter_record *r, struct err *e)
{
	static const char sql[] =
		"INSERT INTO usage_records (account_id, subject, resource_id, usage_type, region,"
		" quantity, start_ms, min_end_ms, until_ms, tags)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, r->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, r->resource_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, r->usage_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, r->region, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 6, r->quantity);
	sqlite3_bind_int64(stmt, 7, r->start_ms);
	sqlite3_bind_int64(stmt, 8, r->min_end_ms);
	sqlite3_bind_int64(stmt, 9, METERING_OPEN_UNTIL);
	catalog_bind_opt(stmt, 10, r->tags);
	return catalog_step_done(c, stmt, "opening a usage record", e);
}

int meter_apply(struct catalog *c, const char *account, const char *subject,
		const char *resource_id, const char *tags_of, const struct meter_want *wants,
		size_t nwants, struct err *e)
{
	struct meter_open open[METER_OPEN_MAX];
	int taken[METER_OPEN_MAX] = { 0 };
	size_t nopen = 0, left = 0;
	long long min_end = 0;
	char *tags = NULL;
	long long now = ids_now_ms();
	int ret = -1;
	if (nwants > METER_OPEN_MAX)
		return err_internal(e, "BUG: %zu usage records wanted for %s", nwants, subject);
	if (meter_open_records(c, subject, open, &nopen, e) < 0)
		goto out;
	/* What is open and still wanted stays as it is. */
	for (size_t i = 0; i < nopen; i++) {
		for (size_t w = 0; w < nwants && !open[i].keep; w++) {
			if (!taken[w] && !strcmp(open[i].usage_type, wants[w].usage_type) &&
			    open[i].quantity == wants[w].quantity)
				open[i].keep = taken[w] = 1;
		}
		left += open[i].keep;
		if (open[i].min_end_ms > min_end)
			min_end = open[i].min_end_ms;
	}
	for (size_t w = 0; w < nwants; w++)
		left += !taken[w];
	for (size_t i = 0; i < nopen; i++) {
		if (open[i].keep)
			continue;
		/* The end of the subject's usage is billed per second, at least its minimum. */
		long long until = now;
		if (!left) {
			until = meter_billed_end(open[i].start_ms, now);
			if (open[i].min_end_ms > until)
				until = open[i].min_end_ms;
		}
		if (meter_close(c, open[i].id, now, until, e) < 0)
			goto out;
	}
	for (size_t w = 0; w < nwants; w++) {
		if (taken[w])
			continue;
		if (!tags && tags_of && meter_tags_json(c, tags_of, &tags, e) < 0)
			goto out;
		tags_of = NULL; /* read once */
		/* A start of the subject's usage, or a continuation of it. */
		long long until_least = nopen ? min_end :
				  wants[w].minimum_ms ? now + wants[w].minimum_ms : 0;
		struct meter_record r = { account, subject, resource_id, wants[w].usage_type,
					  metering_region_name, tags, wants[w].quantity, now,
					  until_least };
		if (meter_insert(c, &r, e) < 0)
			goto out;
	}
	ret = 0;
out:
	meter_open_release(open, nopen);
	free(tags);
	return ret;
}

/* ---- instances ---------------------------------------------------------- */

int metering_instance_sync(struct catalog *c, const char *instance_id, struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	static const char sql[] =
		"SELECT owner_id, instance_type, state FROM instances WHERE instance_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char owner[13] = "", type[32] = "", state[16] = "", usage_type[48];
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, instance_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		catalog_copy_text(owner, sizeof owner, stmt, 0);
		catalog_copy_text(type, sizeof type, stmt, 1);
		catalog_copy_text(state, sizeof state, stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading an instance for metering", e);
	/* EC2 bills from running until stopping or shutting-down begins. */
	struct meter_want want = { usage_type, 1, METERING_MINIMUM_MS };
	snprintf(usage_type, sizeof usage_type, "BoxUsage:%s", type);
	int running = rc == SQLITE_ROW && !strcmp(state, "running");
	return meter_apply(c, owner, instance_id, instance_id, instance_id, &want, running, e);
}

/* ---- volumes ------------------------------------------------------------ */

int metering_volume_sync(struct catalog *c, const char *volume_id, struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	static const char sql[] =
		"SELECT owner_id, size_gib, volume_type, iops, throughput, state"
		" FROM volumes WHERE volume_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char owner[13] = "", type[16] = "", state[16] = "";
	long long size = 0, iops = 0, throughput = 0;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, volume_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		catalog_copy_text(owner, sizeof owner, stmt, 0);
		size = sqlite3_column_int64(stmt, 1);
		catalog_copy_text(type, sizeof type, stmt, 2);
		iops = sqlite3_column_int64(stmt, 3);
		throughput = sqlite3_column_int64(stmt, 4);
		catalog_copy_text(state, sizeof state, stmt, 5);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading a volume for metering", e);
	/* Billed while it exists, attached or not; a volume whose creation failed is not. */
	struct meter_want wants[5];
	size_t n = 0;
	const char *storage = usage_type_volume_storage(type);
	if (rc == SQLITE_ROW && strcmp(state, "error") != 0 && storage) {
		struct usage_amount perf[4];
		size_t nperf = usage_type_volume_performance(type, iops, throughput, perf);
		wants[n++] = (struct meter_want){ storage, (double)size, METERING_MINIMUM_MS };
		for (size_t i = 0; i < nperf; i++)
			wants[n++] = (struct meter_want){ perf[i].usage_type, perf[i].quantity,
							  METERING_MINIMUM_MS };
	}
	return meter_apply(c, owner, volume_id, volume_id, volume_id, wants, n, e);
}

/* ---- objects ------------------------------------------------------------ */

/*
 * S3 bills the bucket's owner for what is stored in it, whoever wrote it;
 * the resource is the bucket (as in AWS's cost and usage reports).
 */
int metering_object_sync(struct catalog *c, const char *bucket, const char *key,
			 struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	static const char sql[] =
		"SELECT o.size, b.owner_id FROM objects o JOIN buckets b ON b.name = o.bucket"
		" WHERE o.bucket = ?1 AND o.key = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char owner[13] = "";
	long long size = 0;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		size = sqlite3_column_int64(stmt, 0);
		catalog_copy_text(owner, sizeof owner, stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading an object for metering", e);
	struct buf subject = BUF_INIT;
	buf_printf(&subject, "s3:%s/%s", bucket, key);
	struct meter_want want = { "TimedStorage-ByteHrs", (double)size, 0 };
	int ret = meter_apply(c, owner, subject.data, bucket, NULL, &want, rc == SQLITE_ROW, e);
	buf_release(&subject);
	return ret;
}

/* The parts of an upload in progress are stored bytes too, billed as S3 bills them. */
int metering_part_sync(struct catalog *c, const char *upload_id, int part_number,
		       struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	static const char sql[] =
		"SELECT p.size, b.owner_id, u.bucket FROM upload_parts p"
		" JOIN uploads u ON u.upload_id = p.upload_id JOIN buckets b ON b.name = u.bucket"
		" WHERE p.upload_id = ?1 AND p.part_number = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char owner[13] = "", bucket[72] = "", subject[160];
	long long size = 0;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, part_number);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		size = sqlite3_column_int64(stmt, 0);
		catalog_copy_text(owner, sizeof owner, stmt, 1);
		catalog_copy_text(bucket, sizeof bucket, stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading a part for metering", e);
	snprintf(subject, sizeof subject, "s3-part:%.100s/%d", upload_id, part_number);
	struct meter_want want = { "TimedStorage-ByteHrs", (double)size, 0 };
	return meter_apply(c, owner, subject, bucket, NULL, &want, rc == SQLITE_ROW, e);
}

int metering_upload_ended(struct catalog *c, const char *upload_id, struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	/* The subjects "s3-part:ID/N": the range from "s3-part:ID/" below "s3-part:ID0". */
	static const char sql[] =
		"UPDATE usage_records SET end_ms = ?3,"
		" until_ms = start_ms + (max(?3 - start_ms, 0) + 999) / 1000 * 1000"
		" WHERE subject >= ?1 AND subject < ?2 AND end_ms IS NULL";
	char from[128], below[128];
	snprintf(from, sizeof from, "s3-part:%.100s/", upload_id);
	snprintf(below, sizeof below, "s3-part:%.100s0", upload_id);
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, below, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, ids_now_ms());
	return catalog_step_done(c, stmt, "closing an upload's usage", e);
}

/* ---- tags --------------------------------------------------------------- */

/* Gives record id the tags (NULL: none) from its start on. */
static int meter_retag(struct catalog *c, long long id, const char *tags, struct err *e)
{
	static const char sql[] = "UPDATE usage_records SET tags = ?2 WHERE record_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	catalog_bind_opt(stmt, 2, tags);
	return catalog_step_done(c, stmt, "retagging a usage record", e);
}

int metering_tags_changed(struct catalog *c, const char *resource_id, struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	struct meter_open open[METER_OPEN_MAX];
	size_t n = 0;
	char *tags = NULL;
	int ret = -1;
	/* Most tagged resources (images, VPCs, ...) are not metered: one index probe. */
	if (meter_open_records(c, resource_id, open, &n, e) < 0)
		goto out;
	if (n && meter_tags_json(c, resource_id, &tags, e) < 0)
		goto out;
	long long now = ids_now_ms(), hour = now / HOUR_MS * HOUR_MS;
	for (size_t i = 0; i < n; i++) {
		const struct meter_open *r = &open[i];
		if ((!r->tags && !tags) || (r->tags && tags && !strcmp(r->tags, tags)))
			continue;
		/* Rule 5: the new tags hold from the start of this hour. */
		if (r->start_ms >= hour) {
			if (meter_retag(c, r->id, tags, e) < 0)
				goto out;
			continue;
		}
		struct meter_record next = { r->account, resource_id, r->resource_id, r->usage_type,
					     r->region, tags, r->quantity, hour, r->min_end_ms };
		if (meter_close(c, r->id, hour, hour, e) < 0 || meter_insert(c, &next, e) < 0)
			goto out;
	}
	ret = 0;
out:
	meter_open_release(open, n);
	free(tags);
	return ret;
}

/* ---- the first start ---------------------------------------------------- */

/* Runs the hook of every row sql lists (one or two text columns, or text and a number). */
static int meter_each(struct catalog *c, const char *sql, int kind, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	/* The hooks write only usage_records and usage_snapshots: the scan stays valid. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);
		int r;
		switch (kind) {
		case 'i': r = metering_instance_sync(c, id, e); break;
		case 'v': r = metering_volume_sync(c, id, e); break;
		case 's': r = metering_snapshot_sync(c, id, e); break;
		case 'o': r = metering_object_sync(c, id, (const char *)sqlite3_column_text(stmt, 1), e); break;
		default: r = metering_part_sync(c, id, sqlite3_column_int(stmt, 1), e); break;
		}
		if (r < 0) {
			sqlite3_reset(stmt);
			return -1;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing what to meter", e);
	return 0;
}

int metering_start(struct catalog *c, struct err *e)
{
	static const char done_sql[] = "SELECT 1 FROM settings WHERE name = 'metering-started'";
	static const char mark_sql[] =
		"INSERT INTO settings (name, value) VALUES ('metering-started', x'01')";
	static const char instances_sql[] =
		"SELECT instance_id FROM instances WHERE state = 'running'";
	static const char volumes_sql[] = "SELECT volume_id FROM volumes";
	/* In completion order, so that each joins its lineage after those before it. */
	static const char snapshots_sql[] =
		"SELECT snapshot_id FROM snapshots WHERE status = 'completed' AND owner_id != ''"
		" ORDER BY complete_ms, snapshot_id";
	static const char objects_sql[] = "SELECT bucket, key FROM objects";
	static const char parts_sql[] = "SELECT upload_id, part_number FROM upload_parts";
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	if (catalog_begin(c, e) < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt(c, done_sql, e);
	if (!stmt)
		goto fail;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW) {
		catalog_rollback(c);
		return 0;
	}
	if (rc != SQLITE_DONE) {
		catalog_sqlite_error(c, "reading the metering settings", e);
		goto fail;
	}
	if (meter_each(c, instances_sql, 'i', e) < 0 || meter_each(c, volumes_sql, 'v', e) < 0 ||
	    meter_each(c, snapshots_sql, 's', e) < 0 || meter_each(c, objects_sql, 'o', e) < 0 ||
	    meter_each(c, parts_sql, 'p', e) < 0)
		goto fail;
	stmt = catalog_stmt(c, mark_sql, e);
	if (!stmt || catalog_step_done(c, stmt, "marking metering started", e) < 0 ||
	    catalog_commit(c, e) < 0)
		goto fail;
	return 0;
fail:
	catalog_rollback(c);
	return -1;
}
