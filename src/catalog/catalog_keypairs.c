/* catalog_keypairs: key pair rows (see catalog_keypairs.h). */
#include "catalog/catalog_keypairs.h"

#include <string.h>

#include "catalog/catalog_internal.h"

#define KEY_PAIR_COLUMNS \
	"key_pair_id, owner_id, name, key_type, fingerprint, public_key, create_ms"

static void keypair_read(sqlite3_stmt *stmt, struct key_pair *k)
{
	catalog_copy_text(k->id, sizeof k->id, stmt, 0);
	catalog_copy_text(k->owner_id, sizeof k->owner_id, stmt, 1);
	catalog_copy_text(k->name, sizeof k->name, stmt, 2);
	catalog_copy_text(k->key_type, sizeof k->key_type, stmt, 3);
	catalog_copy_text(k->fingerprint, sizeof k->fingerprint, stmt, 4);
	catalog_copy_text(k->public_key, sizeof k->public_key, stmt, 5);
	k->create_ms = sqlite3_column_int64(stmt, 6);
}

int catalog_keypair_insert(struct catalog *c, const struct key_pair *k, struct err *e)
{
	static const char sql[] = "INSERT INTO key_pairs (" KEY_PAIR_COLUMNS ")"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, k->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, k->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, k->key_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, k->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, k->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, k->create_ms);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_CONSTRAINT)
		return err_set(e, 400, "InvalidKeyPair.Duplicate",
			       "The keypair '%.255s' already exists.", k->name);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "inserting a key pair", e);
	return 0;
}

static int keypair_one(struct catalog *c, sqlite3_stmt *stmt, struct key_pair *out,
		       struct err *e)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		keypair_read(stmt, out);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a key pair", e);
}

int catalog_keypair_by_name(struct catalog *c, const char *owner_id, const char *name,
			    struct key_pair *out, struct err *e)
{
	static const char sql[] = "SELECT " KEY_PAIR_COLUMNS " FROM key_pairs"
				  " WHERE owner_id = ?1 AND name = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	return keypair_one(c, stmt, out, e);
}

int catalog_keypair_by_id(struct catalog *c, const char *owner_id, const char *id,
			  struct key_pair *out, struct err *e)
{
	static const char sql[] = "SELECT " KEY_PAIR_COLUMNS " FROM key_pairs"
				  " WHERE key_pair_id = ?1 AND owner_id = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, owner_id, -1, SQLITE_STATIC);
	return keypair_one(c, stmt, out, e);
}

int catalog_keypair_delete(struct catalog *c, const char *id, struct err *e)
{
	static const char *const sqls[] = {
		"DELETE FROM tags WHERE resource_id = ?1",
		"DELETE FROM key_pairs WHERE key_pair_id = ?1",
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (catalog_run(c, sqls[i], id, NULL, "deleting a key pair", e) < 0)
			return -1;
	return 0;
}

int catalog_keypair_each(struct catalog *c, const char *owner_id,
			 int (*fn)(void *ctx, const struct key_pair *k), void *ctx,
			 struct err *e)
{
	static const char sql[] = "SELECT " KEY_PAIR_COLUMNS " FROM key_pairs"
				  " WHERE owner_id = ?1 ORDER BY name";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct key_pair k;
		keypair_read(stmt, &k);
		if (fn(ctx, &k))
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing key pairs", e);
	return 0;
}
