/* catalog_stats: counts for /metrics and the health probe (see catalog_stats.h). */
#include "catalog/catalog_stats.h"
#include "catalog/catalog_internal.h"
#include "catalog/catalog_snapshots.h"

/* Runs a "state, count, sum" query into out. */
static int catalog_stats_by_state(struct catalog *c, const char *sql, const char *what,
				  struct catalog_state_count *out, size_t cap, size_t *n,
				  struct err *e)
{
	*n = 0;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *n < cap) {
		struct catalog_state_count *row = &out[(*n)++];
		catalog_copy_text(row->state, sizeof row->state, stmt, 0);
		row->count = sqlite3_column_int64(stmt, 1);
		row->sum = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, what, e);
	return 0;
}

int catalog_stats_instances(struct catalog *c, struct catalog_state_count *out, size_t cap,
			    size_t *n, struct err *e)
{
	static const char sql[] =
		"SELECT state, count(*), 0 FROM instances GROUP BY state ORDER BY state";
	return catalog_stats_by_state(c, sql, "counting instances", out, cap, n, e);
}

int catalog_stats_volumes(struct catalog *c, struct catalog_state_count *out, size_t cap,
			  size_t *n, struct err *e)
{
	static const char sql[] =
		"SELECT state, count(*), coalesce(sum(size_gib), 0) FROM volumes"
		" GROUP BY state ORDER BY state";
	return catalog_stats_by_state(c, sql, "counting volumes", out, cap, n, e);
}

int catalog_stats_images(struct catalog *c, struct catalog_state_count *out, size_t cap,
			 size_t *n, struct err *e)
{
	static const char sql[] =
		"SELECT state, count(*), 0 FROM images GROUP BY state ORDER BY state";
	return catalog_stats_by_state(c, sql, "counting images", out, cap, n, e);
}

/* Runs a one-row query of up to three integers into a, b, c_out. */
static int catalog_stats_row(struct catalog *c, const char *sql, int bind_zero_hash,
			     const char *what, long long *a, long long *b, long long *c_out,
			     struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	if (bind_zero_hash)
		sqlite3_bind_blob(stmt, 1, catalog_zero_block_hash(), 32, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*a = sqlite3_column_int64(stmt, 0);
		if (b)
			*b = sqlite3_column_int64(stmt, 1);
		if (c_out)
			*c_out = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : catalog_sqlite_error(c, what, e);
}

int catalog_stats_store(struct catalog *c, struct catalog_store_stats *out, struct err *e)
{
	/* Pending snapshots are few; their maps are still growing. */
	static const char snapshots_sql[] =
		"SELECT count(*), coalesce(sum(CASE WHEN s.status = 'pending' THEN"
		"   (SELECT count(*) FROM snapshot_blocks b"
		"     WHERE b.snapshot_id = s.snapshot_id AND b.hash != ?1)"
		"   ELSE s.block_count END), 0)"
		" FROM snapshots s";
	static const char objects_sql[] =
		"SELECT count(*), coalesce(sum(size), 0), (SELECT count(*) FROM buckets)"
		" FROM objects";
	*out = (struct catalog_store_stats){ 0 };
	if (catalog_stats_row(c, snapshots_sql, 1, "counting snapshot blocks", &out->snapshots,
			      &out->logical_blocks, NULL, e) < 0 ||
	    catalog_chunk_totals(c, &out->chunks, &out->chunk_bytes, e) < 0 ||
	    catalog_stats_row(c, objects_sql, 0, "counting objects", &out->objects,
			      &out->object_bytes, &out->buckets, e) < 0)
		return -1;
	return 0;
}

int catalog_stats_machines(struct catalog *c,
			   int (*fn)(void *ctx, const char *instance_id, long long pid),
			   void *ctx, struct err *e)
{
	/* The partial index instances_active holds exactly these rows. */
	static const char sql[] =
		"SELECT instance_id, pid FROM instances"
		" WHERE state NOT IN ('stopped', 'terminated') AND pid > 0";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	int rc;
	char id[64];
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		catalog_copy_text(id, sizeof id, stmt, 0);
		if (fn(ctx, id, sqlite3_column_int64(stmt, 1)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing machines", e);
	return 0;
}

int catalog_stats_probe(struct catalog *c, struct err *e)
{
	/* Not through catalog_db, which would make an empty catalog where the
	 * file went missing. */
	const char *path = catalog_path(c);
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int ret = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		err_internal(e, "cannot open the catalog '%s': %s", path,
			     db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	/* A writer holds its lock for a moment only; a second is plenty. */
	sqlite3_busy_timeout(db, 1000);
	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sqlite_schema),"
				   " (SELECT user_version FROM pragma_user_version)",
			       -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		err_internal(e, "cannot read the catalog '%s': %s", path, sqlite3_errmsg(db));
		goto out;
	}
	int version = sqlite3_column_int(stmt, 1);
	if (sqlite3_column_int64(stmt, 0) == 0 || version != catalog_schema_version()) {
		err_internal(e, "the catalog '%s' has schema version %d, not %d", path, version,
			     catalog_schema_version());
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return ret;
}
