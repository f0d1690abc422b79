/* catalog_snapshots: snapshots, block maps, chunks, permissions (see header). */
#include "catalog/catalog_snapshots.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_images.h"
#include "catalog/catalog_internal.h"
#include "catalog/catalog_volumes.h"
#include "metering/metering.h"
#include "util/buf.h"
#include "util/codec.h"

#define SNAPSHOT_COLUMNS                                                       \
	"snapshot_id, owner_id, volume_id, status, status_message, start_ms,"  \
	" complete_ms, deadline_ms, volume_size, description, parent_id,"      \
	" source_id, client_token, request_digest, progress, block_count"

void tag_list_add(struct tag_list *list, const char *key, const char *value)
{
	list->items = xrealloc(list->items, (list->count + 1) * sizeof *list->items);
	list->items[list->count].key = xstrdup(key);
	list->items[list->count].value = xstrdup(value ? value : "");
	list->count++;
}

void tag_list_release(struct tag_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].key);
		free(list->items[i].value);
	}
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void hash_list_add(struct hash_list *list, const unsigned char hash[32])
{
	list->items = xrealloc(list->items, (list->count + 1) * sizeof *list->items);
	memcpy(list->items[list->count++], hash, 32);
}

void hash_list_release(struct hash_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

static void catalog_snapshot_row(sqlite3_stmt *stmt, struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	catalog_copy_text(s->id, sizeof s->id, stmt, 0);
	catalog_copy_text(s->owner_id, sizeof s->owner_id, stmt, 1);
	catalog_copy_text(s->volume_id, sizeof s->volume_id, stmt, 2);
	catalog_copy_text(s->status, sizeof s->status, stmt, 3);
	catalog_copy_text(s->status_message, sizeof s->status_message, stmt, 4);
	s->start_ms = sqlite3_column_int64(stmt, 5);
	s->complete_ms = sqlite3_column_int64(stmt, 6);
	s->deadline_ms = sqlite3_column_int64(stmt, 7);
	s->volume_size = sqlite3_column_int64(stmt, 8);
	catalog_copy_text(s->description, sizeof s->description, stmt, 9);
	catalog_copy_text(s->parent_id, sizeof s->parent_id, stmt, 10);
	catalog_copy_text(s->source_id, sizeof s->source_id, stmt, 11);
	catalog_copy_text(s->client_token, sizeof s->client_token, stmt, 12);
	catalog_copy_text(s->request_digest, sizeof s->request_digest, stmt, 13);
	s->progress = sqlite3_column_int(stmt, 14);
	s->block_count = sqlite3_column_int64(stmt, 15);
}

int catalog_snapshot_insert(struct catalog *c, const struct snapshot *s,
			    struct err *e)
{
	static const char sql[] =
		"INSERT INTO snapshots (" SNAPSHOT_COLUMNS ") VALUES"
		" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, s->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, s->volume_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, s->status, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 5, s->status_message);
	sqlite3_bind_int64(stmt, 6, s->start_ms);
	sqlite3_bind_int64(stmt, 7, s->complete_ms);
	sqlite3_bind_int64(stmt, 8, s->deadline_ms);
	sqlite3_bind_int64(stmt, 9, s->volume_size);
	sqlite3_bind_text(stmt, 10, s->description, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 11, s->parent_id);
	catalog_bind_opt(stmt, 12, s->source_id);
	catalog_bind_opt(stmt, 13, s->client_token);
	catalog_bind_opt(stmt, 14, s->request_digest);
	sqlite3_bind_int(stmt, 15, s->progress);
	sqlite3_bind_int64(stmt, 16, s->block_count);
	if (catalog_step_done(c, stmt, "inserting a snapshot", e) < 0)
		return -1;
	return metering_snapshot_sync(c, s->id, e);
}

static int catalog_snapshot_one(struct catalog *c, sqlite3_stmt *stmt,
				struct snapshot *s, struct err *e)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_snapshot_row(stmt, s);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a snapshot", e);
}

int catalog_snapshot_get(struct catalog *c, const char *id, struct snapshot *s,
			 struct err *e)
{
	static const char sql[] =
		"SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE snapshot_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	return catalog_snapshot_one(c, stmt, s, e);
}

int catalog_snapshot_by_token(struct catalog *c, const char *owner_id,
			      const char *token, struct snapshot *s,
			      struct err *e)
{
	static const char sql[] =
		"SELECT " SNAPSHOT_COLUMNS " FROM snapshots"
		" WHERE owner_id = ?1 AND client_token = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, token, -1, SQLITE_STATIC);
	return catalog_snapshot_one(c, stmt, s, e);
}

int catalog_snapshot_set_state(struct catalog *c, const char *id,
			       const char *status, const char *message,
			       int progress, long long complete_ms,
			       struct err *e)
{
	static const char sql[] =
		"UPDATE snapshots SET status = ?2, status_message = ?3,"
		" progress = ?4, complete_ms = ?5,"
		" block_count = (SELECT count(*) FROM snapshot_blocks b"
		"   WHERE b.snapshot_id = ?1 AND b.hash != ?6)"
		" WHERE snapshot_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, status, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 3, message);
	sqlite3_bind_int(stmt, 4, progress);
	sqlite3_bind_int64(stmt, 5, complete_ms);
	sqlite3_bind_blob(stmt, 6, catalog_zero_block_hash(), 32, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "updating a snapshot", e) < 0 ||
	    metering_snapshot_sync(c, id, e) < 0)
		return -1;
	return catalog_images_settle(c, e);
}

/*
 * Deletes the chunk rows among candidates that no block references any
 * more, and lists them in garbage.
 */
static int catalog_collect(struct catalog *c, const struct hash_list *candidates,
			   struct hash_list *garbage, struct err *e)
{
	static const char ref_sql[] =
		"SELECT 1 FROM snapshot_blocks WHERE hash = ?1 LIMIT 1";
	static const char del_sql[] = "DELETE FROM chunks WHERE hash = ?1";
	for (size_t i = 0; i < candidates->count; i++) {
		const unsigned char *hash = candidates->items[i];
		if (!memcmp(hash, catalog_zero_block_hash(), 32))
			continue;
		sqlite3_stmt *stmt = catalog_stmt(c, ref_sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_blob(stmt, 1, hash, 32, SQLITE_STATIC);
		int rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc == SQLITE_ROW)
			continue;
		if (rc != SQLITE_DONE)
			return catalog_sqlite_error(c, "checking chunk references", e);
		stmt = catalog_stmt(c, del_sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_blob(stmt, 1, hash, 32, SQLITE_STATIC);
		if (catalog_step_done(c, stmt, "deleting a chunk row", e) < 0)
			return -1;
		if (sqlite3_changes(catalog_db(c, NULL)) > 0)
			hash_list_add(garbage, hash);
	}
	return 0;
}

int catalog_snapshot_delete(struct catalog *c, const char *id,
			    struct hash_list *garbage, struct err *e)
{
	static const char hashes_sql[] =
		"SELECT DISTINCT hash FROM snapshot_blocks WHERE snapshot_id = ?1";
	static const char del_sql[] = "DELETE FROM snapshots WHERE snapshot_id = ?1";
	static const char tags_sql[] = "DELETE FROM tags WHERE resource_id = ?1";
	struct hash_list candidates = { NULL, 0 };
	char image[ID_MAX];
	int ret = -1, rc;
	/* A snapshot behind a registered image stays. */
	rc = catalog_snapshot_in_use(c, id, image, e);
	if (rc != 0) {
		if (rc > 0)
			err_set(e, 400, "InvalidSnapshot.InUse",
				"The snapshot %s is currently in use by %s", id, image);
		return -1;
	}
	/* A snapshot a volume still reads from is disowned, not deleted. */
	rc = catalog_snapshot_needed_by_volume(c, id, e);
	if (rc != 0) {
		static const char *const disown[] = {
			"UPDATE snapshots SET owner_id = '' WHERE snapshot_id = ?1",
			"DELETE FROM snapshot_permissions WHERE snapshot_id = ?1",
			"DELETE FROM tags WHERE resource_id = ?1",
		};
		for (size_t i = 0; rc > 0 && i < sizeof disown / sizeof disown[0]; i++)
			if (catalog_run(c, disown[i], id, NULL, "disowning a snapshot", e) < 0)
				rc = -1;
		return rc < 0 ? -1 : metering_snapshot_sync(c, id, e);
	}
	sqlite3_stmt *stmt = catalog_stmt(c, hashes_sql, e);
	if (!stmt)
		goto out;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		hash_list_add(&candidates, sqlite3_column_blob(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		catalog_sqlite_error(c, "listing a snapshot's blocks", e);
		goto out;
	}
	stmt = catalog_stmt(c, del_sql, e);
	if (!stmt)
		goto out;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "deleting a snapshot", e) < 0)
		goto out;
	stmt = catalog_stmt(c, tags_sql, e);
	if (!stmt)
		goto out;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "deleting a snapshot's tags", e) < 0 ||
	    metering_snapshot_sync(c, id, e) < 0)
		goto out;
	ret = catalog_collect(c, &candidates, garbage, e);
out:
	hash_list_release(&candidates);
	return ret;
}

int catalog_snapshot_expire(struct catalog *c, long long now_ms, struct err *e)
{
	static const char sql[] =
		"UPDATE snapshots SET status = 'error',"
		" status_message = 'The snapshot was not completed before its timeout.'"
		" WHERE status = 'pending' AND deadline_ms < ?1";
	if (catalog_begin(c, e) < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt || (sqlite3_bind_int64(stmt, 1, now_ms),
		      catalog_step_done(c, stmt, "expiring snapshots", e) < 0) ||
	    catalog_images_settle(c, e) < 0) {
		catalog_rollback(c);
		return -1;
	}
	return catalog_commit(c, e);
}

int catalog_snapshot_visible(struct catalog *c, const struct snapshot *s,
			     const char *account_id, struct err *e)
{
	static const char sql[] =
		"SELECT 1 FROM snapshot_permissions WHERE snapshot_id = ?1"
		" AND grantee IN (?2, 'all') LIMIT 1";
	if (!strcmp(s->owner_id, account_id))
		return 1;
	return catalog_exists(c, sql, s->id, account_id, "checking snapshot permissions", e);
}

int catalog_snapshot_each_visible(struct catalog *c, const char *account_id,
				  const char *after,
				  int (*fn)(void *ctx, const struct snapshot *s,
					    const struct tag_list *tags),
				  void *ctx, struct err *e)
{
	/*
	 * Two index range scans (owned; others' granted to the account or
	 * public), each in ID order, merged by SQLite without sorting, and
	 * the caller's tags read beside them in the same order; the caller
	 * stops after a page, so only what is returned is read.
	 */
	static const char sql[] =
		"SELECT " SNAPSHOT_COLUMNS " FROM snapshots"
		" WHERE owner_id = ?1 AND snapshot_id > ?2"
		" UNION ALL SELECT " SNAPSHOT_COLUMNS " FROM snapshots WHERE snapshot_id IN ("
		"   SELECT snapshot_id FROM snapshot_permissions"
		"   WHERE grantee IN (?1, 'all') AND snapshot_id > ?2)"
		" AND owner_id != ?1"
		" ORDER BY snapshot_id";
	struct tag_stream ts;
	const char *from = after && strcmp(after, "snap-") > 0 ? after : "snap-";
	if (catalog_tag_stream_open(c, &ts, account_id, from, "snap.", e) < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc, ret = 0;
	if (!stmt) {
		catalog_tag_stream_close(&ts);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, after ? after : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct snapshot s;
		struct tag_list tags = { NULL, 0 };
		catalog_snapshot_row(stmt, &s);
		/* Shared snapshots are rare: their tags are read one by one. */
		int got = !strcmp(s.owner_id, account_id) ?
			catalog_tag_stream_take(&ts, s.id, &tags, e) :
			catalog_tags_get(c, s.id, &tags, e);
		int stop = got < 0 || fn(ctx, &s, &tags);
		tag_list_release(&tags);
		if (got < 0)
			ret = -1;
		if (stop)
			break;
	}
	sqlite3_reset(stmt);
	catalog_tag_stream_close(&ts);
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing snapshots", e);
	return ret;
}

int catalog_snapshot_grantees(struct catalog *c, const char *id,
			      char ***grantees, size_t *count, struct err *e)
{
	static const char sql[] =
		"SELECT grantee FROM snapshot_permissions WHERE snapshot_id = ?1"
		" ORDER BY grantee";
	return catalog_strings(c, sql, id, grantees, count, "listing permissions", e);
}

int catalog_snapshot_grant(struct catalog *c, const char *id,
			   const char *grantee, struct err *e)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO snapshot_permissions (snapshot_id, grantee)"
		" VALUES (?1, ?2)";
	return catalog_run(c, sql, id, grantee, "changing permissions", e);
}

int catalog_snapshot_revoke(struct catalog *c, const char *id,
			    const char *grantee, struct err *e)
{
	static const char sql[] =
		"DELETE FROM snapshot_permissions WHERE snapshot_id = ?1 AND grantee = ?2";
	return catalog_run(c, sql, id, grantee, "changing permissions", e);
}

int catalog_snapshot_revoke_all(struct catalog *c, const char *id,
				struct err *e)
{
	static const char sql[] =
		"DELETE FROM snapshot_permissions WHERE snapshot_id = ?1";
	return catalog_run(c, sql, id, NULL, "changing permissions", e);
}

static unsigned char catalog_zero_hash[32];
static pthread_once_t catalog_zero_once = PTHREAD_ONCE_INIT;

static void catalog_zero_init(void)
{
	void *zeros = xcalloc(1, 512 * 1024);
	codec_sha256(zeros, 512 * 1024, catalog_zero_hash);
	free(zeros);
}

const unsigned char *catalog_zero_block_hash(void)
{
	pthread_once(&catalog_zero_once, catalog_zero_init);
	return catalog_zero_hash;
}

int catalog_block_get(struct catalog *c, const char *snapshot_id,
		      long long index, unsigned char hash[32], struct err *e)
{
	static const char sql[] =
		"SELECT hash FROM snapshot_blocks WHERE snapshot_id = ?1 AND block_index = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, index);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == 32)
		memcpy(hash, sqlite3_column_blob(stmt, 0), 32);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a block", e);
}

int catalog_chunk_known(struct catalog *c, const unsigned char hash[32],
			struct err *e)
{
	static const char sql[] = "SELECT 1 FROM chunks WHERE hash = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_blob(stmt, 1, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "looking up a chunk", e);
}

int catalog_block_put(struct catalog *c, const char *snapshot_id,
		      long long index, const unsigned char hash[32],
		      long long stored_bytes, struct hash_list *garbage,
		      struct err *e)
{
	static const char chunk_sql[] =
		"INSERT OR IGNORE INTO chunks (hash, stored_bytes) VALUES (?1, ?2)";
	static const char block_sql[] =
		"INSERT OR REPLACE INTO snapshot_blocks"
		" (snapshot_id, block_index, hash, changed) VALUES (?1, ?2, ?3, 1)";
	unsigned char old[32];
	int had = catalog_block_get(c, snapshot_id, index, old, e);
	if (had < 0)
		return -1;
	if (memcmp(hash, catalog_zero_block_hash(), 32) != 0) {
		sqlite3_stmt *stmt = catalog_stmt(c, chunk_sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_blob(stmt, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, stored_bytes);
		if (catalog_step_done(c, stmt, "recording a chunk", e) < 0)
			return -1;
	}
	sqlite3_stmt *stmt = catalog_stmt(c, block_sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, index);
	sqlite3_bind_blob(stmt, 3, hash, 32, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "mapping a block", e) < 0)
		return -1;
	if (had && memcmp(old, hash, 32) != 0) {
		struct hash_list candidates = { NULL, 0 };
		hash_list_add(&candidates, old);
		int rc = catalog_collect(c, &candidates, garbage, e);
		hash_list_release(&candidates);
		return rc;
	}
	return 0;
}

int catalog_blocks_copy(struct catalog *c, const char *from, const char *to,
			struct err *e)
{
	static const char sql[] =
		"INSERT INTO snapshot_blocks (snapshot_id, block_index, hash, changed)"
		" SELECT ?2, block_index, hash, 0 FROM snapshot_blocks"
		" WHERE snapshot_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, to, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "copying a block map", e);
}

int catalog_blocks_changed(struct catalog *c, const char *snapshot_id,
			   long long *count, unsigned char aggregate[32],
			   long long *nonzero, struct err *e)
{
	static const char sql[] =
		"SELECT hash, changed FROM snapshot_blocks WHERE snapshot_id = ?1"
		" ORDER BY block_index";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	struct buf digests = BUF_INIT;
	int rc;
	if (!stmt)
		return -1;
	*count = *nonzero = 0;
	sqlite3_bind_text(stmt, 1, snapshot_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const void *hash = sqlite3_column_blob(stmt, 0);
		if (memcmp(hash, catalog_zero_block_hash(), 32) != 0)
			(*nonzero)++;
		if (!sqlite3_column_int(stmt, 1))
			continue;
		buf_append(&digests, hash, 32);
		(*count)++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		buf_release(&digests);
		return catalog_sqlite_error(c, "summing changed blocks", e);
	}
	codec_sha256(digests.data ? digests.data : "", digests.len, aggregate);
	buf_release(&digests);
	return 0;
}

long long catalog_blocks_range(struct catalog *c, const char *snapshot_id,
			       long long start, long long limit,
			       struct block_ref **refs, struct err *e)
{
	static const char sql[] =
		"SELECT block_index, hash FROM snapshot_blocks"
		" WHERE snapshot_id = ?1 AND block_index >= ?2 AND hash != ?4"
		" ORDER BY block_index LIMIT ?3";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	struct block_ref *out = NULL;
	long long n = 0;
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, snapshot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, start);
	sqlite3_bind_int64(stmt, 3, limit);
	sqlite3_bind_blob(stmt, 4, catalog_zero_block_hash(), 32, SQLITE_STATIC);
	out = xcalloc((size_t)(limit > 0 ? limit : 1), sizeof *out);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n < limit) {
		out[n].index = sqlite3_column_int64(stmt, 0);
		memcpy(out[n].hash, sqlite3_column_blob(stmt, 1), 32);
		n++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(out);
		return catalog_sqlite_error(c, "listing blocks", e);
	}
	*refs = out;
	return n;
}

int catalog_chunk_totals(struct catalog *c, long long *chunks,
			 long long *bytes, struct err *e)
{
	static const char sql[] =
		"SELECT count(*), coalesce(sum(stored_bytes), 0) FROM chunks";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*chunks = sqlite3_column_int64(stmt, 0);
		*bytes = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : catalog_sqlite_error(c, "summing chunks", e);
}

int catalog_secret(struct catalog *c, const char *name, unsigned char *out,
		   size_t len, struct err *e)
{
	static const char get_sql[] = "SELECT value FROM settings WHERE name = ?1";
	static const char put_sql[] =
		"INSERT OR IGNORE INTO settings (name, value) VALUES (?1, ?2)";
	for (int attempt = 0; attempt < 2; attempt++) {
		sqlite3_stmt *stmt = catalog_stmt(c, get_sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
		int rc = sqlite3_step(stmt);
		int found = rc == SQLITE_ROW &&
			    (size_t)sqlite3_column_bytes(stmt, 0) == len;
		if (found)
			memcpy(out, sqlite3_column_blob(stmt, 0), len);
		sqlite3_reset(stmt);
		if (found)
			return 0;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return catalog_sqlite_error(c, "reading a setting", e);
		/* Insert-or-ignore, then read back: two processes agree. */
		unsigned char fresh[64];
		codec_random(fresh, len);
		stmt = catalog_stmt(c, put_sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, fresh, (int)len, SQLITE_STATIC);
		if (catalog_step_done(c, stmt, "writing a setting", e) < 0)
			return -1;
	}
	return err_internal(e, "setting '%s' has the wrong size", name);
}

int catalog_tags_get(struct catalog *c, const char *resource_id,
		     struct tag_list *tags, struct err *e)
{
	static const char sql[] =
		"SELECT key, value FROM tags WHERE resource_id = ?1 ORDER BY key";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, resource_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		tag_list_add(tags, (const char *)sqlite3_column_text(stmt, 0),
			     (const char *)sqlite3_column_text(stmt, 1));
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading tags", e);
	return 0;
}

static int tag_stream_step(struct tag_stream *ts, struct err *e)
{
	sqlite3_stmt *stmt = ts->stmt;
	int rc = sqlite3_step(stmt);
	ts->have_row = rc == SQLITE_ROW;
	if (ts->have_row) {
		catalog_copy_text(ts->id, sizeof ts->id, stmt, 0);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(ts->c, "reading tags", e);
	return 0;
}

int catalog_tag_stream_open(struct catalog *c, struct tag_stream *ts,
			    const char *owner_id, const char *lo,
			    const char *hi, struct err *e)
{
	static const char sql[] =
		"SELECT resource_id, key, value FROM tags"
		" WHERE owner_id = ?1 AND resource_id > ?2 AND resource_id < ?3"
		" ORDER BY resource_id, key";
	memset(ts, 0, sizeof *ts);
	ts->c = c;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	ts->stmt = stmt;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, lo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 3, hi, -1, SQLITE_TRANSIENT);
	if (tag_stream_step(ts, e) < 0) {
		catalog_tag_stream_close(ts);
		return -1;
	}
	return 0;
}

int catalog_tag_stream_take(struct tag_stream *ts, const char *resource_id,
			    struct tag_list *tags, struct err *e)
{
	int cmp;
	while (ts->have_row && (cmp = strcmp(ts->id, resource_id)) <= 0) {
		if (cmp == 0)
			tag_list_add(tags, (const char *)sqlite3_column_text(ts->stmt, 1),
				     (const char *)sqlite3_column_text(ts->stmt, 2));
		if (tag_stream_step(ts, e) < 0)
			return -1;
	}
	return 0;
}

void catalog_tag_stream_close(struct tag_stream *ts)
{
	if (ts->stmt)
		sqlite3_reset(ts->stmt);
	ts->stmt = NULL;
	ts->have_row = 0;
}

int catalog_tag_set(struct catalog *c, const char *resource_id,
		    const char *resource_type, const char *owner_id,
		    const char *key, const char *value, struct err *e)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO tags (resource_id, resource_type, owner_id, key, value)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, resource_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, resource_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, value ? value : "", -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "writing a tag", e) < 0)
		return -1;
	return metering_tags_changed(c, resource_id, e);
}

int catalog_tag_delete(struct catalog *c, const char *resource_id,
		       const char *key, const char *value, struct err *e)
{
	static const char all_sql[] = "DELETE FROM tags WHERE resource_id = ?1";
	static const char key_sql[] =
		"DELETE FROM tags WHERE resource_id = ?1 AND key = ?2";
	static const char value_sql[] =
		"DELETE FROM tags WHERE resource_id = ?1 AND key = ?2 AND value = ?3";
	const char *sql = !key ? all_sql : value ? value_sql : key_sql;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, resource_id, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	if (key && value)
		sqlite3_bind_text(stmt, 3, value, -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "deleting tags", e) < 0)
		return -1;
	return metering_tags_changed(c, resource_id, e);
}

long long catalog_tag_count(struct catalog *c, const char *resource_id,
			    struct err *e)
{
	static const char sql[] = "SELECT count(*) FROM tags WHERE resource_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, resource_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	long long n = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
	sqlite3_reset(stmt);
	if (n < 0)
		return catalog_sqlite_error(c, "counting tags", e);
	return n;
}

int catalog_tags_each(struct catalog *c, const char *owner_id,
		      const char *after_resource, const char *after_key,
		      int (*fn)(void *ctx, const struct tag_row *row),
		      void *ctx, struct err *e)
{
	static const char sql[] =
		"SELECT resource_id, resource_type, key, value FROM tags"
		" WHERE owner_id = ?1 AND (resource_id, key) > (?2, ?3)"
		" ORDER BY resource_id, key";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, after_resource ? after_resource : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, after_key ? after_key : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct tag_row row = {
			(const char *)sqlite3_column_text(stmt, 0),
			(const char *)sqlite3_column_text(stmt, 1),
			(const char *)sqlite3_column_text(stmt, 2),
			(const char *)sqlite3_column_text(stmt, 3),
		};
		if (fn(ctx, &row))
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing tags", e);
	return 0;
}
