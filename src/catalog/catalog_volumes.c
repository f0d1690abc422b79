/* catalog_volumes: volume rows (see catalog_volumes.h). */
#include "catalog/catalog_volumes.h"

#include <string.h>

#include "catalog/catalog_internal.h"
#include "metering/metering.h"

#define VOLUME_COLUMNS                                                         \
	"volume_id, owner_id, size_gib, snapshot_id, base_snapshot_id,"        \
	" map_snapshot_id, availability_zone, state, volume_type, iops,"       \
	" throughput, create_ms, client_token, request_digest, mod_state,"     \
	" mod_original_size, mod_original_type, mod_original_iops,"            \
	" mod_original_throughput, mod_start_ms, mod_end_ms"

static void volume_row_read(sqlite3_stmt *stmt, struct volume_row *v)
{
	memset(v, 0, sizeof *v);
	catalog_copy_text(v->id, sizeof v->id, stmt, 0);
	catalog_copy_text(v->owner_id, sizeof v->owner_id, stmt, 1);
	v->size_gib = sqlite3_column_int64(stmt, 2);
	catalog_copy_text(v->snapshot_id, sizeof v->snapshot_id, stmt, 3);
	catalog_copy_text(v->base_snapshot_id, sizeof v->base_snapshot_id, stmt, 4);
	catalog_copy_text(v->map_snapshot_id, sizeof v->map_snapshot_id, stmt, 5);
	catalog_copy_text(v->zone, sizeof v->zone, stmt, 6);
	catalog_copy_text(v->state, sizeof v->state, stmt, 7);
	catalog_copy_text(v->volume_type, sizeof v->volume_type, stmt, 8);
	v->iops = sqlite3_column_int64(stmt, 9);
	v->throughput = sqlite3_column_int64(stmt, 10);
	v->create_ms = sqlite3_column_int64(stmt, 11);
	catalog_copy_text(v->client_token, sizeof v->client_token, stmt, 12);
	catalog_copy_text(v->request_digest, sizeof v->request_digest, stmt, 13);
	catalog_copy_text(v->mod_state, sizeof v->mod_state, stmt, 14);
	v->mod_original_size = sqlite3_column_int64(stmt, 15);
	catalog_copy_text(v->mod_original_type, sizeof v->mod_original_type, stmt, 16);
	v->mod_original_iops = sqlite3_column_int64(stmt, 17);
	v->mod_original_throughput = sqlite3_column_int64(stmt, 18);
	v->mod_start_ms = sqlite3_column_int64(stmt, 19);
	v->mod_end_ms = sqlite3_column_int64(stmt, 20);
}

static void volume_row_bind(sqlite3_stmt *stmt, const struct volume_row *v)
{
	sqlite3_bind_text(stmt, 1, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, v->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, v->size_gib);
	catalog_bind_opt(stmt, 4, v->snapshot_id);
	catalog_bind_opt(stmt, 5, v->base_snapshot_id);
	catalog_bind_opt(stmt, 6, v->map_snapshot_id);
	sqlite3_bind_text(stmt, 7, v->zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, v->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 9, v->volume_type, -1, SQLITE_STATIC);
	if (v->iops)
		sqlite3_bind_int64(stmt, 10, v->iops);
	if (v->throughput)
		sqlite3_bind_int64(stmt, 11, v->throughput);
	sqlite3_bind_int64(stmt, 12, v->create_ms);
	catalog_bind_opt(stmt, 13, v->client_token);
	catalog_bind_opt(stmt, 14, v->request_digest);
	catalog_bind_opt(stmt, 15, v->mod_state);
	sqlite3_bind_int64(stmt, 16, v->mod_original_size);
	catalog_bind_opt(stmt, 17, v->mod_original_type);
	sqlite3_bind_int64(stmt, 18, v->mod_original_iops);
	sqlite3_bind_int64(stmt, 19, v->mod_original_throughput);
	sqlite3_bind_int64(stmt, 20, v->mod_start_ms);
	sqlite3_bind_int64(stmt, 21, v->mod_end_ms);
}

int catalog_volume_insert(struct catalog *c, const struct volume_row *v,
			  struct err *e)
{
	static const char sql[] =
		"INSERT INTO volumes (" VOLUME_COLUMNS ") VALUES (?1, ?2, ?3, ?4,"
		" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
		" ?19, ?20, ?21)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	volume_row_bind(stmt, v);
	if (catalog_step_done(c, stmt, "inserting a volume", e) < 0)
		return -1;
	return metering_volume_sync(c, v->id, e);
}

int catalog_volume_update(struct catalog *c, const struct volume_row *v,
			  struct err *e)
{
	static const char sql[] =
		"UPDATE volumes SET owner_id = ?2, size_gib = ?3, snapshot_id = ?4,"
		" base_snapshot_id = ?5, map_snapshot_id = ?6, availability_zone = ?7,"
		" state = ?8, volume_type = ?9, iops = ?10, throughput = ?11,"
		" create_ms = ?12, client_token = ?13, request_digest = ?14,"
		" mod_state = ?15, mod_original_size = ?16, mod_original_type = ?17,"
		" mod_original_iops = ?18, mod_original_throughput = ?19,"
		" mod_start_ms = ?20, mod_end_ms = ?21 WHERE volume_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	volume_row_bind(stmt, v);
	if (catalog_step_done(c, stmt, "updating a volume", e) < 0)
		return -1;
	return metering_volume_sync(c, v->id, e);
}

static int volume_one(struct catalog *c, sqlite3_stmt *stmt,
		      struct volume_row *v, struct err *e)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		volume_row_read(stmt, v);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a volume", e);
}

int catalog_volume_get(struct catalog *c, const char *id, struct volume_row *v,
		       struct err *e)
{
	static const char sql[] =
		"SELECT " VOLUME_COLUMNS " FROM volumes WHERE volume_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	return volume_one(c, stmt, v, e);
}

int catalog_volume_by_token(struct catalog *c, const char *owner_id,
			    const char *token, struct volume_row *v,
			    struct err *e)
{
	static const char sql[] = "SELECT " VOLUME_COLUMNS " FROM volumes"
				  " WHERE owner_id = ?1 AND client_token = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, token, -1, SQLITE_STATIC);
	return volume_one(c, stmt, v, e);
}

int catalog_volume_delete(struct catalog *c, const char *id, struct err *e)
{
	static const char *const sqls[] = {
		"DELETE FROM tags WHERE resource_id = ?1",
		"DELETE FROM volumes WHERE volume_id = ?1",
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (catalog_run(c, sqls[i], id, NULL, "deleting a volume", e) < 0)
			return -1;
	return metering_volume_sync(c, id, e);
}

static int volume_scan(struct catalog *c, sqlite3_stmt *stmt,
		       int (*fn)(void *ctx, const struct volume_row *v),
		       void *ctx, struct err *e)
{
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct volume_row v;
		volume_row_read(stmt, &v);
		if (fn(ctx, &v))
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing volumes", e);
	return 0;
}

int catalog_volume_each(struct catalog *c, const char *owner_id,
			const char *after,
			int (*fn)(void *ctx, const struct volume_row *v),
			void *ctx, struct err *e)
{
	static const char sql[] =
		"SELECT " VOLUME_COLUMNS " FROM volumes WHERE owner_id = ?1"
		" AND volume_id > ?2 ORDER BY volume_id";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, after ? after : "", -1, SQLITE_STATIC);
	return volume_scan(c, stmt, fn, ctx, e);
}

int catalog_volume_each_all(struct catalog *c,
			    int (*fn)(void *ctx, const struct volume_row *v),
			    void *ctx, struct err *e)
{
	static const char sql[] =
		"SELECT " VOLUME_COLUMNS " FROM volumes ORDER BY volume_id";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	return volume_scan(c, stmt, fn, ctx, e);
}

int catalog_snapshot_needed_by_volume(struct catalog *c, const char *snapshot_id,
				      struct err *e)
{
	static const char sql[] =
		"SELECT 1 FROM volumes WHERE base_snapshot_id = ?1"
		" UNION ALL SELECT 1 FROM volumes WHERE map_snapshot_id = ?1 LIMIT 1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, snapshot_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "checking snapshot use", e);
}
