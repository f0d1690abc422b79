/* catalog_accounts: the accounts table (see catalog.h). */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/catalog_internal.h"
#include "util/ids.h"

static int catalog_account_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return 0;
	}
	return 1;
}

static void catalog_account_row(sqlite3_stmt *stmt, struct account *a)
{
	snprintf(a->id, sizeof a->id, "%s", sqlite3_column_text(stmt, 0));
	snprintf(a->name, sizeof a->name, "%s", sqlite3_column_text(stmt, 1));
	snprintf(a->access_key, sizeof a->access_key, "%s",
		 sqlite3_column_text(stmt, 2));
	snprintf(a->secret, sizeof a->secret, "%s", sqlite3_column_text(stmt, 3));
	a->created_ms = sqlite3_column_int64(stmt, 4);
}

int catalog_account_create(struct catalog *c, const char *name,
			   struct account *out, struct err *e)
{
	static const char sql[] =
		"INSERT INTO accounts (account_id, name, access_key, secret, created_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	if (!catalog_account_name_ok(name))
		return err_set(e, 400, "InvalidParameterValue",
			       "account name '%.80s' must be 1-64 letters, digits, '.', '_' or '-'",
			       name);
	struct account a = { .created_ms = ids_now_ms() };
	snprintf(a.name, sizeof a.name, "%s", name);
	/* A random 12-digit ID can collide; try again a few times. */
	for (int attempt = 0; attempt < 8; attempt++) {
		ids_account(a.id);
		ids_access_key(a.access_key);
		ids_secret(a.secret);
		sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_text(stmt, 1, a.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, a.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, a.access_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, a.secret, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 5, a.created_ms);
		int rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc == SQLITE_DONE) {
			*out = a;
			return 0;
		}
		if (rc != SQLITE_CONSTRAINT)
			return catalog_sqlite_error(c, "creating an account", e);
		struct account existing;
		struct err ignored = ERR_INIT;
		if (catalog_account_by_name(c, name, &existing, &ignored) == 1)
			return err_set(e, 409, "AccountExists",
				       "an account named '%s' exists already", name);
	}
	return err_internal(e, "could not find a free account ID");
}

static int catalog_account_one(struct catalog *c, const char *sql,
			       const char *value, struct account *out,
			       struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		catalog_account_row(stmt, out);
		sqlite3_reset(stmt);
		return 1;
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading an account", e);
}

int catalog_account_by_key(struct catalog *c, const char *access_key,
			   struct account *out, struct err *e)
{
	static const char sql[] =
		"SELECT account_id, name, access_key, secret, created_ms"
		" FROM accounts WHERE access_key = ?1";
	/* Every request looks its signer up: from memory while nothing changed. */
	unsigned long long generation;
	if (catalog_generation(c, &generation, e) < 0)
		return -1;
	if (catalog_account_recall(c, access_key, generation, out))
		return 1;
	int found = catalog_account_one(c, sql, access_key, out, e);
	if (found == 1)
		catalog_account_remember(c, generation, out);
	return found;
}

int catalog_account_by_name(struct catalog *c, const char *name,
			    struct account *out, struct err *e)
{
	static const char sql[] =
		"SELECT account_id, name, access_key, secret, created_ms"
		" FROM accounts WHERE name = ?1";
	return catalog_account_one(c, sql, name, out, e);
}

int catalog_account_by_id(struct catalog *c, const char *account_id,
			  struct account *out, struct err *e)
{
	static const char sql[] =
		"SELECT account_id, name, access_key, secret, created_ms"
		" FROM accounts WHERE account_id = ?1";
	return catalog_account_one(c, sql, account_id, out, e);
}

int catalog_account_exists(struct catalog *c, const char *account_id,
			   struct err *e)
{
	static const char sql[] =
		"SELECT account_id, name, access_key, secret, created_ms"
		" FROM accounts WHERE account_id = ?1";
	struct account a;
	return catalog_account_one(c, sql, account_id, &a, e);
}

int catalog_account_each(struct catalog *c,
			 int (*fn)(void *ctx, const struct account *a),
			 void *ctx, struct err *e)
{
	static const char sql[] =
		"SELECT account_id, name, access_key, secret, created_ms"
		" FROM accounts ORDER BY name";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct account a;
		catalog_account_row(stmt, &a);
		if (fn(ctx, &a))
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing accounts", e);
	return 0;
}

/* What catalog_account_resources lists, in its order. */
static const char catalog_account_resources_sql[] =
	"SELECT 'instance', instance_id, state FROM instances"
	"  WHERE owner_id = ?1 AND state != 'terminated'"
	" UNION ALL SELECT 'volume', volume_id, state FROM volumes WHERE owner_id = ?1"
	" UNION ALL SELECT 'image', image_id, state FROM images"
	"  WHERE owner_id = ?1 AND state != 'deregistered'"
	" UNION ALL SELECT 'snapshot', snapshot_id, status FROM snapshots WHERE owner_id = ?1"
	" UNION ALL SELECT 'bucket', name, '' FROM buckets WHERE owner_id = ?1"
	" UNION ALL SELECT 'address', allocation_id, public_ip FROM addresses WHERE owner_id = ?1";

int catalog_account_resources(struct catalog *c, const char *account_id,
			      int (*fn)(void *ctx, const char *kind, const char *id,
					const char *state),
			      void *ctx, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, catalog_account_resources_sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(stmt, 2);
		if (fn(ctx, (const char *)sqlite3_column_text(stmt, 0),
		       (const char *)sqlite3_column_text(stmt, 1), state ? state : ""))
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing an account's resources", e);
	return 0;
}

struct catalog_account_count {
	long long total;
	char first[96];
};

static int catalog_account_count_one(void *ctx, const char *kind, const char *id,
				     const char *state)
{
	struct catalog_account_count *count = ctx;
	(void)state;
	if (count->total++ == 0)
		snprintf(count->first, sizeof count->first, "%s %s", kind, id);
	return 0;
}

int catalog_account_delete(struct catalog *c, const char *name, struct err *e)
{
	/*
	 * With the account go the rows that hold nothing running or stored:
	 * its certificates, key pairs, network model (the default VPC and what
	 * it made), deregistered images, terminated instances, tags.
	 */
	static const char *const sqls[] = {
		"DELETE FROM signing_certificates WHERE account_id = ?1",
		"DELETE FROM key_pairs WHERE owner_id = ?1",
		"DELETE FROM network_interfaces WHERE owner_id = ?1",
		"DELETE FROM security_group_rules WHERE owner_id = ?1",
		"DELETE FROM security_groups WHERE owner_id = ?1",
		"DELETE FROM subnets WHERE owner_id = ?1",
		"DELETE FROM route_tables WHERE owner_id = ?1",
		"DELETE FROM network_acls WHERE owner_id = ?1",
		"DELETE FROM internet_gateways WHERE owner_id = ?1",
		"DELETE FROM vpcs WHERE owner_id = ?1",
		"DELETE FROM dhcp_options WHERE owner_id = ?1",
		"DELETE FROM network_accounts WHERE account_id = ?1",
		"DELETE FROM image_block_devices WHERE image_id IN"
		" (SELECT image_id FROM images WHERE owner_id = ?1)",
		"DELETE FROM image_permissions WHERE image_id IN"
		" (SELECT image_id FROM images WHERE owner_id = ?1)",
		"DELETE FROM images WHERE owner_id = ?1",
		"DELETE FROM instance_devices WHERE instance_id IN"
		" (SELECT instance_id FROM instances WHERE owner_id = ?1)",
		"DELETE FROM instance_keys WHERE instance_id IN"
		" (SELECT instance_id FROM instances WHERE owner_id = ?1)",
		"DELETE FROM instances WHERE owner_id = ?1",
		"DELETE FROM tags WHERE owner_id = ?1",
		"DELETE FROM accounts WHERE account_id = ?1",
	};
	struct catalog_account_count owned = { 0, "" };
	struct account a;
	if (catalog_begin(c, e) < 0)
		return -1;
	int found = catalog_account_by_name(c, name, &a, e);
	if (found <= 0) {
		catalog_rollback(c);
		if (found == 0)
			err_set(e, 404, "NoSuchAccount", "no account named '%s'", name);
		return -1;
	}
	/* Checked in the transaction that deletes: nothing slips in between. */
	if (catalog_account_resources(c, a.id, catalog_account_count_one, &owned, e) < 0)
		goto fail;
	if (owned.total) {
		err_set(e, 409, "AccountNotEmpty",
			"account '%s' still owns %lld live resources (%s%s); delete them first",
			name, owned.total, owned.first, owned.total > 1 ? ", ..." : "");
		goto fail;
	}
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
		sqlite3_stmt *stmt = catalog_stmt(c, sqls[i], e);
		if (!stmt)
			goto fail;
		sqlite3_bind_text(stmt, 1, a.id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			catalog_sqlite_error(c, "deleting an account", e);
			goto fail;
		}
	}
	return catalog_commit(c, e);
fail:
	catalog_rollback(c);
	return err_internal(e, "deleting account '%s' failed", name);
}
