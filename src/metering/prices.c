/*
 * prices: the price list (see prices.h).
 *
 * Where the defaults come from (USD, us-east-1, on-demand):
 *  - instances: EC2's on-demand Linux prices (aws.amazon.com/ec2/pricing/
 *    on-demand/) and, for the previous generation (c1, c3, hs1, m1, m2,
 *    m3, t1), aws.amazon.com/ec2/previous-generation/;
 *  - volumes, provisioned IOPS and throughput, snapshots (Standard tier):
 *    aws.amazon.com/ebs/pricing/ (io2 IOPS in three tiers, each 30% below
 *    the one before; gp3 includes 3,000 IOPS and 125 MB/s);
 *  - objects: S3 Standard, first 50 TB per month, aws.amazon.com/s3/pricing/.
 * Checked on 2026-12-07 against copies of those tables (the pages are not
 * reachable from the build machine); docs/metering.md lists them.  Prices
 * change: `amibox serve --prices FILE` replaces any of them.
 */
#include "metering/prices.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "metering/usage_types.h"
#include "util/buf.h"

#define PRICES_SETTING "metering-prices"

struct price {
	char usage_type[48];
	double usd;
};

struct metering_prices {
	struct price *items; /* sorted by usage_type */
	size_t count;
};

static const struct price prices_default[] = {
	/* Instances, per hour. */
	{ "BoxUsage:c1.medium", 0.130 },
	{ "BoxUsage:c1.xlarge", 0.520 },
	{ "BoxUsage:c3.large", 0.105 },
	{ "BoxUsage:c3.xlarge", 0.210 },
	{ "BoxUsage:c5.large", 0.085 },
	{ "BoxUsage:c5.xlarge", 0.170 },
	{ "BoxUsage:c5d.large", 0.096 },
	{ "BoxUsage:hs1.8xlarge", 4.600 },
	{ "BoxUsage:m1.large", 0.175 },
	{ "BoxUsage:m1.medium", 0.087 },
	{ "BoxUsage:m1.small", 0.044 },
	{ "BoxUsage:m1.xlarge", 0.350 },
	{ "BoxUsage:m2.xlarge", 0.245 },
	{ "BoxUsage:m3.large", 0.133 },
	{ "BoxUsage:m3.medium", 0.067 },
	{ "BoxUsage:m3.xlarge", 0.266 },
	{ "BoxUsage:m5.large", 0.096 },
	{ "BoxUsage:m5.xlarge", 0.192 },
	{ "BoxUsage:m5d.large", 0.113 },
	{ "BoxUsage:m6g.medium", 0.0385 },
	{ "BoxUsage:t1.micro", 0.020 },
	{ "BoxUsage:t2.micro", 0.0116 },
	{ "BoxUsage:t2.nano", 0.0058 },
	{ "BoxUsage:t2.small", 0.023 },
	{ "BoxUsage:t3.micro", 0.0104 },
	{ "BoxUsage:t3.nano", 0.0052 },
	{ "BoxUsage:t3.small", 0.0208 },
	/* EBS, per GB-month, IOPS-month or MiB/s-month. */
	{ "EBS:SnapshotUsage", 0.05 },
	{ "EBS:VolumeP-IOPS.gp3", 0.005 },
	{ "EBS:VolumeP-IOPS.io2", 0.065 },
	{ "EBS:VolumeP-IOPS.io2.tier2", 0.0455 },
	{ "EBS:VolumeP-IOPS.io2.tier3", 0.03185 },
	{ "EBS:VolumeP-IOPS.piops", 0.065 },
	{ "EBS:VolumeP-Throughput.gp3", 0.04 },
	{ "EBS:VolumeUsage", 0.05 },
	{ "EBS:VolumeUsage.gp2", 0.10 },
	{ "EBS:VolumeUsage.gp3", 0.08 },
	{ "EBS:VolumeUsage.io2", 0.125 },
	{ "EBS:VolumeUsage.piops", 0.125 },
	{ "EBS:VolumeUsage.sc1", 0.015 },
	{ "EBS:VolumeUsage.st1", 0.045 },
	/* S3 Standard, per GB-month. */
	{ "TimedStorage-ByteHrs", 0.023 },
};

static int prices_cmp(const void *a, const void *b)
{
	return strcmp(((const struct price *)a)->usage_type, ((const struct price *)b)->usage_type);
}

struct metering_prices *metering_prices_defaults(void)
{
	struct metering_prices *p = xcalloc(1, sizeof *p);
	p->count = sizeof prices_default / sizeof prices_default[0];
	p->items = xmalloc(p->count * sizeof *p->items);
	memcpy(p->items, prices_default, sizeof prices_default);
	qsort(p->items, p->count, sizeof *p->items, prices_cmp);
	return p;
}

void metering_prices_free(struct metering_prices *p)
{
	if (!p)
		return;
	free(p->items);
	free(p);
}

static struct price *prices_find(const struct metering_prices *p, const char *usage_type)
{
	struct price key;
	if (strlen(usage_type) >= sizeof key.usage_type)
		return NULL;
	snprintf(key.usage_type, sizeof key.usage_type, "%s", usage_type);
	return bsearch(&key, p->items, p->count, sizeof *p->items, prices_cmp);
}

double metering_price(const struct metering_prices *p, const char *usage_type)
{
	const struct price *found = prices_find(p, usage_type);
	return found ? found->usd : -1;
}

void metering_prices_each(const struct metering_prices *p,
			  void (*fn)(void *ctx, const char *usage_type, double usd), void *ctx)
{
	for (size_t i = 0; i < p->count; i++)
		fn(ctx, p->items[i].usage_type, p->items[i].usd);
}

/* Sets one price, adding the usage type when the list has none for it. */
static void prices_set(struct metering_prices *p, const char *usage_type, double usd)
{
	struct price *found = prices_find(p, usage_type);
	if (found) {
		found->usd = usd;
		return;
	}
	p->items = xrealloc(p->items, (p->count + 1) * sizeof *p->items);
	snprintf(p->items[p->count].usage_type, sizeof p->items[0].usage_type, "%s", usage_type);
	p->items[p->count++].usd = usd;
	qsort(p->items, p->count, sizeof *p->items, prices_cmp);
}

/* The parser; origin names the list in messages (a file's path). */
static int prices_parse(const char *text, size_t len, const char *origin,
			struct metering_prices **out, struct err *e)
{
	json_error_t jerr;
	struct metering_prices *p = NULL;
	const char *key;
	json_t *value;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	int ret = -1;
	if (!doc) {
		err_invalid(e, "%s is not JSON: %s (line %d)", origin, jerr.text, jerr.line);
		goto out;
	}
	if (!json_is_object(doc)) {
		err_invalid(e, "%s must be a JSON object with \"Prices\"", origin);
		goto out;
	}
	json_object_foreach(doc, key, value) {
		if (strcmp(key, "Prices") != 0 && strcmp(key, "Source") != 0) {
			err_invalid(e, "%s has an unknown member \"%.64s\" "
				       "(expected \"Prices\" and \"Source\")", origin, key);
			goto out;
		}
	}
	json_t *prices = json_object_get(doc, "Prices");
	if (!json_is_object(prices)) {
		err_invalid(e, "%s: \"Prices\" must be an object of usage type: USD", origin);
		goto out;
	}
	p = metering_prices_defaults();
	json_object_foreach(prices, key, value) {
		struct usage_type_info info;
		if (usage_type_info(key, &info) < 0 || strlen(key) >= sizeof p->items[0].usage_type) {
			err_invalid(e, "%s names \"%.64s\", which amibox does not meter "
				       "(usage types are BoxUsage:TYPE, EBS:VolumeUsage.gp3, "
				       "EBS:SnapshotUsage, TimedStorage-ByteHrs, ...)", origin, key);
			goto out;
		}
		double usd = json_is_number(value) ? json_number_value(value) : -1;
		if (!isfinite(usd) || usd < 0) {
			err_invalid(e, "%s: the price of \"%.64s\" must be a number of USD, 0 or more",
				    origin, key);
			goto out;
		}
		prices_set(p, key, usd);
	}
	*out = p;
	p = NULL;
	ret = 0;
out:
	metering_prices_free(p);
	json_decref(doc);
	return ret;
}

int metering_prices_parse(const char *text, size_t len, struct metering_prices **out,
			  struct err *e)
{
	return prices_parse(text, len, "the price list", out, e);
}

/* Reads a price file whole, at most PRICES_FILE_MAX bytes. */
static int prices_read(const char *path, struct buf *text, struct err *e)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	if (!f)
		return err_invalid(e, "cannot open the price list %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && text->len <= PRICES_FILE_MAX)
		buf_append(text, chunk, n);
	int failed = ferror(f);
	fclose(f);
	if (failed)
		return err_invalid(e, "cannot read the price list %s", path);
	if (text->len > PRICES_FILE_MAX)
		return err_invalid(e, "the price list %s is larger than %d KiB", path,
				   PRICES_FILE_MAX / 1024);
	return 0;
}

int metering_prices_load_file(const char *path, struct metering_prices **out, struct err *e)
{
	struct buf text = BUF_INIT;
	int ret = prices_read(path, &text, e);
	if (ret == 0)
		ret = prices_parse(buf_str(&text), text.len, path, out, e);
	buf_release(&text);
	return ret;
}

int metering_prices_install(struct catalog *c, const char *path, struct err *e)
{
	static const char put_sql[] =
		"INSERT OR REPLACE INTO settings (name, value) VALUES ('" PRICES_SETTING "', ?1)";
	static const char del_sql[] = "DELETE FROM settings WHERE name = '" PRICES_SETTING "'";
	struct buf text = BUF_INIT;
	struct metering_prices *p = NULL;
	sqlite3_stmt *stmt;
	int ret = -1;
	if (path && metering_prices_load_file(path, &p, e) < 0)
		goto out;
	if (path && prices_read(path, &text, e) < 0)
		goto out;
	if (catalog_begin(c, e) < 0)
		goto out;
	stmt = catalog_stmt(c, path ? put_sql : del_sql, e);
	if (!stmt) {
		catalog_rollback(c);
		goto out;
	}
	if (path)
		sqlite3_bind_blob(stmt, 1, text.data, (int)text.len, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "keeping the price list", e) < 0 ||
	    catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		goto out;
	}
	ret = 0;
out:
	metering_prices_free(p);
	buf_release(&text);
	return ret;
}

int metering_prices_current(struct catalog *c, struct metering_prices **out, struct err *e)
{
	static const char sql[] = "SELECT value FROM settings WHERE name = '" PRICES_SETTING "'";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	struct buf text = BUF_INIT;
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		buf_append(&text, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		buf_release(&text);
		return catalog_sqlite_error(c, "reading the price list", e);
	}
	int ret = 0;
	if (rc == SQLITE_ROW)
		ret = metering_prices_parse(buf_str(&text), text.len, out, e);
	else
		*out = metering_prices_defaults();
	buf_release(&text);
	return ret;
}
