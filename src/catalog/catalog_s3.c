/* catalog_s3: buckets, objects and multipart uploads (see catalog_s3.h). */
#include "catalog/catalog_s3.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "metering/metering.h"
#include "util/buf.h"

/* ---- buckets ------------------------------------------------------------ */

static void bucket_read(sqlite3_stmt *stmt, struct bucket_row *b)
{
	memset(b, 0, sizeof *b);
	catalog_copy_text(b->name, sizeof b->name, stmt, 0);
	catalog_copy_text(b->owner_id, sizeof b->owner_id, stmt, 1);
	catalog_copy_text(b->acl, sizeof b->acl, stmt, 2);
	b->create_ms = sqlite3_column_int64(stmt, 3);
}

int catalog_bucket_get(struct catalog *c, const char *name, struct bucket_row *b,
		       struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT name, owner_id, acl, create_ms FROM buckets WHERE name = ?1", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		bucket_read(stmt, b);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a bucket", e);
}

int catalog_bucket_create(struct catalog *c, const struct bucket_row *b,
			  struct bucket_row *existing, struct err *e)
{
	if (catalog_begin(c, e) < 0)
		return -1;
	int found = catalog_bucket_get(c, b->name, existing, e);
	if (found != 0) {
		catalog_rollback(c);
		return found;
	}
	sqlite3_stmt *stmt = catalog_stmt(
		c, "INSERT INTO buckets (name, owner_id, acl, create_ms) VALUES (?1, ?2, ?3, ?4)", e);
	if (!stmt) {
		catalog_rollback(c);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, b->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, b->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, b->acl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, b->create_ms);
	if (catalog_step_done(c, stmt, "creating a bucket", e) < 0 || catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		return -1;
	}
	return 0;
}

int catalog_bucket_each(struct catalog *c, const char *owner_id,
			int (*fn)(void *ctx, const struct bucket_row *b), void *ctx,
			struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT name, owner_id, acl, create_ms FROM buckets WHERE owner_id = ?1"
		   " ORDER BY name", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	int rc;
	struct bucket_row b;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		bucket_read(stmt, &b);
		if (fn(ctx, &b)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing buckets", e);
	return 0;
}

/* 1 when sql (?1 = name) finds a row. */
static int exists(struct catalog *c, const char *sql, const char *name, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "looking a row up", e);
}

int catalog_bucket_delete(struct catalog *c, const char *name, struct err *e)
{
	if (catalog_begin(c, e) < 0)
		return -1;
	int used = exists(c, "SELECT 1 FROM objects WHERE bucket = ?1 LIMIT 1", name, e);
	if (used == 0)
		used = exists(c, "SELECT 1 FROM uploads WHERE bucket = ?1 LIMIT 1", name, e);
	if (used != 0) {
		catalog_rollback(c);
		if (used > 0)
			err_set(e, 409, "BucketNotEmpty",
				"The bucket you tried to delete is not empty");
		return -1;
	}
	if (catalog_run(c, "DELETE FROM buckets WHERE name = ?1", name, NULL,
			"deleting a bucket", e) < 0 ||
	    catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		return -1;
	}
	return 0;
}

int catalog_bucket_set_acl(struct catalog *c, const char *name, const char *acl,
			   struct err *e)
{
	return catalog_run(c, "UPDATE buckets SET acl = ?2 WHERE name = ?1", name, acl,
			   "changing a bucket's ACL", e);
}

/* ---- objects ------------------------------------------------------------ */

#define OBJECT_COLUMNS                                                         \
	"bucket, key, owner_id, size, etag, content_type, metadata, acl,"      \
	" modified_ms, file, parts_count, checksum_algorithm, checksum_type,"  \
	" checksum"

static void object_read(sqlite3_stmt *stmt, struct object_row *o)
{
	memset(o, 0, sizeof *o);
	catalog_copy_text(o->bucket, sizeof o->bucket, stmt, 0);
	catalog_copy_text(o->key, sizeof o->key, stmt, 1);
	catalog_copy_text(o->owner_id, sizeof o->owner_id, stmt, 2);
	o->size = sqlite3_column_int64(stmt, 3);
	catalog_copy_text(o->etag, sizeof o->etag, stmt, 4);
	catalog_copy_text(o->content_type, sizeof o->content_type, stmt, 5);
	catalog_copy_text(o->metadata, sizeof o->metadata, stmt, 6);
	catalog_copy_text(o->acl, sizeof o->acl, stmt, 7);
	o->modified_ms = sqlite3_column_int64(stmt, 8);
	catalog_copy_text(o->file, sizeof o->file, stmt, 9);
	o->parts_count = sqlite3_column_int(stmt, 10);
	catalog_copy_text(o->checksum_algorithm, sizeof o->checksum_algorithm, stmt, 11);
	catalog_copy_text(o->checksum_type, sizeof o->checksum_type, stmt, 12);
	catalog_copy_text(o->checksum, sizeof o->checksum, stmt, 13);
}

int catalog_object_get(struct catalog *c, const char *bucket, const char *key,
		       struct object_row *o, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT " OBJECT_COLUMNS " FROM objects WHERE bucket = ?1 AND key = ?2", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		object_read(stmt, o);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading an object", e);
}

/* The file of (bucket, key), "" if no row; inside the caller's transaction. */
static int object_file(struct catalog *c, const char *bucket, const char *key,
		       char file[S3_FILE_MAX], struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT file FROM objects WHERE bucket = ?1 AND key = ?2", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	file[0] = '\0';
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(file, S3_FILE_MAX, stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading an object", e);
	return 0;
}

int catalog_object_part(struct catalog *c, const char *bucket, const char *key,
			const char *file, int position, struct object_part *p, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT p.part_number, p.first_byte, p.size, p.checksum FROM object_parts p"
		   " JOIN objects o ON o.bucket = p.bucket AND o.key = p.key"
		   " WHERE p.bucket = ?1 AND p.key = ?2 AND p.position = ?3 AND o.file = ?4", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, position);
	sqlite3_bind_text(stmt, 4, file, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(p, 0, sizeof *p);
		p->number = sqlite3_column_int(stmt, 0);
		p->first_byte = sqlite3_column_int64(stmt, 1);
		p->size = sqlite3_column_int64(stmt, 2);
		catalog_copy_text(p->checksum, sizeof p->checksum, stmt, 3);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading an object's part", e);
}

/* Deletes the part rows of (bucket, key); inside the caller's transaction. */
static int object_parts_delete(struct catalog *c, const char *bucket, const char *key,
			       struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "DELETE FROM object_parts WHERE bucket = ?1 AND key = ?2", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "deleting an object's parts", e);
}

/* Inserts or replaces o (and forgets the parts of one replaced); inside the caller's transaction. */
static int object_store(struct catalog *c, const struct object_row *o,
			char old_file[S3_FILE_MAX], struct err *e)
{
	int found = exists(c, "SELECT 1 FROM buckets WHERE name = ?1", o->bucket, e);
	if (found <= 0) {
		if (found == 0)
			err_set(e, 404, "NoSuchBucket", "The specified bucket does not exist");
		return -1;
	}
	if (object_file(c, o->bucket, o->key, old_file, e) < 0 ||
	    (old_file[0] && object_parts_delete(c, o->bucket, o->key, e) < 0))
		return -1;
	sqlite3_stmt *stmt = catalog_stmt(
		c, "INSERT OR REPLACE INTO objects (" OBJECT_COLUMNS ") VALUES"
		   " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, o->bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, o->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, o->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, o->size);
	sqlite3_bind_text(stmt, 5, o->etag, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 6, o->content_type);
	catalog_bind_opt(stmt, 7, o->metadata);
	sqlite3_bind_text(stmt, 8, o->acl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 9, o->modified_ms);
	sqlite3_bind_text(stmt, 10, o->file, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 11, o->parts_count);
	catalog_bind_opt(stmt, 12, o->checksum_algorithm);
	catalog_bind_opt(stmt, 13, o->checksum_type);
	catalog_bind_opt(stmt, 14, o->checksum);
	if (catalog_step_done(c, stmt, "storing an object", e) < 0)
		return -1;
	return metering_object_sync(c, o->bucket, o->key, e);
}

/* Stores a completed object's parts, in order; inside the caller's transaction. */
static int object_parts_store(struct catalog *c, const struct object_row *o,
			      const struct object_part *parts, size_t nparts, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "INSERT INTO object_parts (bucket, key, position, part_number, first_byte,"
		   " size, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", e);
	if (!stmt)
		return -1;
	for (size_t i = 0; i < nparts; i++) {
		sqlite3_bind_text(stmt, 1, o->bucket, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, o->key, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 3, (int)i + 1);
		sqlite3_bind_int(stmt, 4, parts[i].number);
		sqlite3_bind_int64(stmt, 5, parts[i].first_byte);
		sqlite3_bind_int64(stmt, 6, parts[i].size);
		catalog_bind_opt(stmt, 7, parts[i].checksum);
		if (catalog_step_done(c, stmt, "storing an object's parts", e) < 0)
			return -1;
	}
	return 0;
}

int catalog_object_put(struct catalog *c, const struct object_row *o,
		       char old_file[S3_FILE_MAX], struct err *e)
{
	old_file[0] = '\0';
	if (catalog_begin(c, e) < 0)
		return -1;
	if (object_store(c, o, old_file, e) < 0 || catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		old_file[0] = '\0';
		return -1;
	}
	return 0;
}

int catalog_object_delete(struct catalog *c, const char *bucket, const char *key,
			  char old_file[S3_FILE_MAX], struct err *e)
{
	if (catalog_begin(c, e) < 0)
		return -1;
	sqlite3_stmt *stmt = NULL;
	if (object_file(c, bucket, key, old_file, e) < 0 ||
	    object_parts_delete(c, bucket, key, e) < 0 ||
	    !(stmt = catalog_stmt(c, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", e))) {
		catalog_rollback(c);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "deleting an object", e) < 0 ||
	    metering_object_sync(c, bucket, key, e) < 0 || catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		old_file[0] = '\0';
		return -1;
	}
	return 0;
}

int catalog_object_set_acl(struct catalog *c, const char *bucket, const char *key,
			   const char *acl, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "UPDATE objects SET acl = ?3 WHERE bucket = ?1 AND key = ?2", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, acl, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "changing an object's ACL", e);
}

int catalog_object_scan(struct catalog *c, const char *bucket, const char *from,
			int inclusive, const char *below, int limit,
			int (*fn)(void *ctx, const struct object_row *o), void *ctx,
			struct err *e)
{
	static const char *const sql[2][2] = {
		{ "SELECT " OBJECT_COLUMNS " FROM objects WHERE bucket = ?1 AND key > ?2"
		  " ORDER BY key LIMIT ?4",
		  "SELECT " OBJECT_COLUMNS " FROM objects WHERE bucket = ?1 AND key > ?2"
		  " AND key < ?3 ORDER BY key LIMIT ?4" },
		{ "SELECT " OBJECT_COLUMNS " FROM objects WHERE bucket = ?1 AND key >= ?2"
		  " ORDER BY key LIMIT ?4",
		  "SELECT " OBJECT_COLUMNS " FROM objects WHERE bucket = ?1 AND key >= ?2"
		  " AND key < ?3 ORDER BY key LIMIT ?4" },
	};
	sqlite3_stmt *stmt = catalog_stmt(c, sql[inclusive ? 1 : 0][below ? 1 : 0], e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, from, -1, SQLITE_STATIC);
	if (below)
		sqlite3_bind_text(stmt, 3, below, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, limit);
	struct object_row *o = xmalloc(sizeof *o);
	int rc, n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		object_read(stmt, o);
		n++;
		if (fn(ctx, o)) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	free(o);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing objects", e);
	return n;
}

/* ---- multipart uploads -------------------------------------------------- */

int catalog_upload_create(struct catalog *c, const struct upload_row *u,
			  struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "INSERT INTO uploads (upload_id, bucket, key, owner_id, content_type,"
		   " metadata, acl, create_ms, checksum_algorithm)"
		   " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9"
		   " WHERE EXISTS (SELECT 1 FROM buckets WHERE name = ?2)", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, u->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, u->bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, u->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, u->owner_id, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 5, u->content_type);
	catalog_bind_opt(stmt, 6, u->metadata);
	sqlite3_bind_text(stmt, 7, u->acl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 8, u->create_ms);
	catalog_bind_opt(stmt, 9, u->checksum_algorithm);
	if (catalog_step_done(c, stmt, "starting an upload", e) < 0)
		return -1;
	if (sqlite3_changes(catalog_db(c, e)) == 0)
		return err_set(e, 404, "NoSuchBucket", "The specified bucket does not exist");
	return 0;
}

static void upload_read(sqlite3_stmt *stmt, struct upload_row *u)
{
	memset(u, 0, sizeof *u);
	catalog_copy_text(u->id, sizeof u->id, stmt, 0);
	catalog_copy_text(u->bucket, sizeof u->bucket, stmt, 1);
	catalog_copy_text(u->key, sizeof u->key, stmt, 2);
	catalog_copy_text(u->owner_id, sizeof u->owner_id, stmt, 3);
	catalog_copy_text(u->content_type, sizeof u->content_type, stmt, 4);
	catalog_copy_text(u->metadata, sizeof u->metadata, stmt, 5);
	catalog_copy_text(u->acl, sizeof u->acl, stmt, 6);
	u->create_ms = sqlite3_column_int64(stmt, 7);
	catalog_copy_text(u->checksum_algorithm, sizeof u->checksum_algorithm, stmt, 8);
}

#define UPLOAD_COLUMNS                                                         \
	"upload_id, bucket, key, owner_id, content_type, metadata, acl, create_ms," \
	" checksum_algorithm"

int catalog_upload_get(struct catalog *c, const char *id, struct upload_row *u,
		       struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE upload_id = ?1", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		upload_read(stmt, u);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading an upload", e);
}

int catalog_uploads(struct catalog *c, const char *bucket, struct upload_row **uploads,
		    size_t *count, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT " UPLOAD_COLUMNS " FROM uploads WHERE bucket = ?1"
		   " ORDER BY key, create_ms, upload_id", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, bucket, -1, SQLITE_STATIC);
	struct upload_row *out = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out = xrealloc(out, (n + 1) * sizeof *out);
		upload_read(stmt, &out[n++]);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		free(out);
		return catalog_sqlite_error(c, "listing uploads", e);
	}
	*uploads = out;
	*count = n;
	return 0;
}

static int no_such_upload(struct err *e)
{
	return err_set(e, 404, "NoSuchUpload",
		       "The specified upload does not exist. The upload ID may be invalid, "
		       "or the upload may have been aborted or completed.");
}

int catalog_part_put(struct catalog *c, const char *upload_id,
		     const struct part_row *p, char old_file[S3_FILE_MAX],
		     struct err *e)
{
	old_file[0] = '\0';
	if (catalog_begin(c, e) < 0)
		return -1;
	int found = exists(c, "SELECT 1 FROM uploads WHERE upload_id = ?1", upload_id, e);
	if (found <= 0) {
		catalog_rollback(c);
		return found == 0 ? no_such_upload(e) : -1;
	}
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT file FROM upload_parts WHERE upload_id = ?1 AND part_number = ?2", e);
	if (!stmt) {
		catalog_rollback(c);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, p->number);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(old_file, S3_FILE_MAX, stmt, 0);
	sqlite3_reset(stmt);
	stmt = catalog_stmt(
		c, "INSERT OR REPLACE INTO upload_parts (upload_id, part_number, size, etag,"
		   " modified_ms, file, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", e);
	if (!stmt) {
		catalog_rollback(c);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, p->number);
	sqlite3_bind_int64(stmt, 3, p->size);
	sqlite3_bind_text(stmt, 4, p->etag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, p->modified_ms);
	sqlite3_bind_text(stmt, 6, p->file, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 7, p->checksum);
	if (catalog_step_done(c, stmt, "storing a part", e) < 0 ||
	    metering_part_sync(c, upload_id, p->number, e) < 0 || catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		old_file[0] = '\0';
		return -1;
	}
	return 0;
}

int catalog_parts(struct catalog *c, const char *upload_id,
		  struct part_row **parts, size_t *count, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT part_number, size, etag, modified_ms, file, checksum FROM upload_parts"
		   " WHERE upload_id = ?1 ORDER BY part_number", e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, upload_id, -1, SQLITE_STATIC);
	struct part_row *out = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out = xrealloc(out, (n + 1) * sizeof *out);
		struct part_row *p = &out[n++];
		memset(p, 0, sizeof *p);
		p->number = sqlite3_column_int(stmt, 0);
		p->size = sqlite3_column_int64(stmt, 1);
		catalog_copy_text(p->etag, sizeof p->etag, stmt, 2);
		p->modified_ms = sqlite3_column_int64(stmt, 3);
		catalog_copy_text(p->file, sizeof p->file, stmt, 4);
		catalog_copy_text(p->checksum, sizeof p->checksum, stmt, 5);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		free(out);
		return catalog_sqlite_error(c, "listing parts", e);
	}
	*parts = out;
	*count = n;
	return 0;
}

int catalog_upload_finish(struct catalog *c, const char *upload_id,
			  const struct object_row *o, const struct object_part *parts,
			  size_t nparts, char ***files, size_t *count, struct err *e)
{
	*files = NULL;
	*count = 0;
	if (catalog_begin(c, e) < 0)
		return -1;
	char old_file[S3_FILE_MAX] = "";
	int found = exists(c, "SELECT 1 FROM uploads WHERE upload_id = ?1", upload_id, e);
	if (found == 0)
		no_such_upload(e);
	if (found <= 0 ||
	    catalog_strings(c, "SELECT file FROM upload_parts WHERE upload_id = ?1",
			    upload_id, files, count, "listing parts", e) < 0 ||
	    (o && object_store(c, o, old_file, e) < 0) ||
	    (o && object_parts_store(c, o, parts, nparts, e) < 0) ||
	    catalog_run(c, "DELETE FROM upload_parts WHERE upload_id = ?1", upload_id, NULL,
			"deleting parts", e) < 0 ||
	    catalog_run(c, "DELETE FROM uploads WHERE upload_id = ?1", upload_id, NULL,
			"deleting an upload", e) < 0 ||
	    metering_upload_ended(c, upload_id, e) < 0 || catalog_commit(c, e) < 0) {
		catalog_rollback(c);
		for (size_t i = 0; i < *count; i++)
			free((*files)[i]);
		free(*files);
		*files = NULL;
		*count = 0;
		return -1;
	}
	if (old_file[0]) {
		*files = xrealloc(*files, (*count + 1) * sizeof **files);
		(*files)[(*count)++] = xstrdup(old_file);
	}
	return 0;
}

int catalog_s3_files(struct catalog *c, char ***files, size_t *count, struct err *e)
{
	return catalog_strings(c, "SELECT file FROM objects UNION SELECT file FROM upload_parts"
				  " ORDER BY 1", "", files, count, "listing object files", e);
}
