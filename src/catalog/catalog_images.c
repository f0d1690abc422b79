/* catalog_images: image rows, block device mappings, launch permissions. */
#include "catalog/catalog_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "util/buf.h"

#define IMAGE_COLUMNS                                                          \
	"image_id, owner_id, name, description, image_type, state,"            \
	" state_reason_code, state_reason_message, architecture,"              \
	" virtualization_type, root_device_type, root_device_name,"            \
	" image_location, kernel_id, ramdisk_id, boot_mode, ena_support,"      \
	" sriov_net_support, imds_support, tpm_support, uefi_data, hypervisor,"\
	" creation_ms, deprecation_ms, last_launched_ms, source_image_id,"     \
	" source_image_region, source_instance_id, client_token"

/*
 * What the readers select: the columns an insert sets, the state's time,
 * and whether the image is public (in the same query: a Describe reads it
 * for every image).  Used only as "SELECT " IMAGE_SELECT " FROM images".
 */
#define IMAGE_SELECT IMAGE_COLUMNS ", deregistered_ms, EXISTS (SELECT 1 FROM"    \
	" image_permissions p WHERE p.image_id = images.image_id AND p.grantee = 'all')"

void image_release(struct image *img)
{
	free(img->bdm);
	img->bdm = NULL;
	img->nbdm = 0;
}

const char *image_owner_alias(const char *owner_id)
{
	return !strcmp(owner_id, AMAZON_ACCOUNT_ID) ? "amazon" : NULL;
}

static void catalog_image_row(sqlite3_stmt *stmt, struct image *m)
{
	memset(m, 0, sizeof *m);
	catalog_copy_text(m->id, sizeof m->id, stmt, 0);
	catalog_copy_text(m->owner_id, sizeof m->owner_id, stmt, 1);
	catalog_copy_text(m->name, sizeof m->name, stmt, 2);
	m->has_description = sqlite3_column_type(stmt, 3) != SQLITE_NULL;
	catalog_copy_text(m->description, sizeof m->description, stmt, 3);
	catalog_copy_text(m->image_type, sizeof m->image_type, stmt, 4);
	catalog_copy_text(m->state, sizeof m->state, stmt, 5);
	catalog_copy_text(m->state_reason_code, sizeof m->state_reason_code, stmt, 6);
	catalog_copy_text(m->state_reason_message, sizeof m->state_reason_message, stmt, 7);
	catalog_copy_text(m->architecture, sizeof m->architecture, stmt, 8);
	catalog_copy_text(m->virtualization_type, sizeof m->virtualization_type, stmt, 9);
	catalog_copy_text(m->root_device_type, sizeof m->root_device_type, stmt, 10);
	catalog_copy_text(m->root_device_name, sizeof m->root_device_name, stmt, 11);
	catalog_copy_text(m->image_location, sizeof m->image_location, stmt, 12);
	catalog_copy_text(m->kernel_id, sizeof m->kernel_id, stmt, 13);
	catalog_copy_text(m->ramdisk_id, sizeof m->ramdisk_id, stmt, 14);
	catalog_copy_text(m->boot_mode, sizeof m->boot_mode, stmt, 15);
	m->ena_support = sqlite3_column_type(stmt, 16) == SQLITE_NULL ?
				 -1 : sqlite3_column_int(stmt, 16) != 0;
	catalog_copy_text(m->sriov_net_support, sizeof m->sriov_net_support, stmt, 17);
	catalog_copy_text(m->imds_support, sizeof m->imds_support, stmt, 18);
	catalog_copy_text(m->tpm_support, sizeof m->tpm_support, stmt, 19);
	catalog_copy_text(m->uefi_data, sizeof m->uefi_data, stmt, 20);
	catalog_copy_text(m->hypervisor, sizeof m->hypervisor, stmt, 21);
	m->creation_ms = sqlite3_column_int64(stmt, 22);
	m->deprecation_ms = sqlite3_column_int64(stmt, 23);
	m->last_launched_ms = sqlite3_column_int64(stmt, 24);
	catalog_copy_text(m->source_image_id, sizeof m->source_image_id, stmt, 25);
	catalog_copy_text(m->source_image_region, sizeof m->source_image_region, stmt, 26);
	catalog_copy_text(m->source_instance_id, sizeof m->source_instance_id, stmt, 27);
	catalog_copy_text(m->client_token, sizeof m->client_token, stmt, 28);
	m->deregistered_ms = sqlite3_column_int64(stmt, 29);
	m->is_public = sqlite3_column_int(stmt, 30) != 0;
}

static void bind_opt_int(sqlite3_stmt *stmt, int col, long long v, int present)
{
	if (present)
		sqlite3_bind_int64(stmt, col, v);
	else
		sqlite3_bind_null(stmt, col);
}

int catalog_image_insert(struct catalog *c, const struct image *m, struct err *e)
{
	static const char sql[] =
		"INSERT INTO images (" IMAGE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5,"
		" ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
		" ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)";
	static const char bdm_sql[] =
		"INSERT INTO image_block_devices (image_id, position, device_name,"
		" virtual_name, no_device, ebs, snapshot_id, volume_size,"
		" delete_on_termination, volume_type, iops, throughput)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, m->name, -1, SQLITE_STATIC);
	if (m->has_description)
		sqlite3_bind_text(stmt, 4, m->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, m->image_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, m->state, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 7, m->state_reason_code);
	catalog_bind_opt(stmt, 8, m->state_reason_message);
	sqlite3_bind_text(stmt, 9, m->architecture, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 10, m->virtualization_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 11, m->root_device_type, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 12, m->root_device_name);
	catalog_bind_opt(stmt, 13, m->image_location);
	catalog_bind_opt(stmt, 14, m->kernel_id);
	catalog_bind_opt(stmt, 15, m->ramdisk_id);
	catalog_bind_opt(stmt, 16, m->boot_mode);
	bind_opt_int(stmt, 17, m->ena_support, m->ena_support >= 0);
	catalog_bind_opt(stmt, 18, m->sriov_net_support);
	catalog_bind_opt(stmt, 19, m->imds_support);
	catalog_bind_opt(stmt, 20, m->tpm_support);
	catalog_bind_opt(stmt, 21, m->uefi_data);
	sqlite3_bind_text(stmt, 22, m->hypervisor[0] ? m->hypervisor : "xen", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 23, m->creation_ms);
	bind_opt_int(stmt, 24, m->deprecation_ms, m->deprecation_ms != 0);
	bind_opt_int(stmt, 25, m->last_launched_ms, m->last_launched_ms != 0);
	catalog_bind_opt(stmt, 26, m->source_image_id);
	catalog_bind_opt(stmt, 27, m->source_image_region);
	catalog_bind_opt(stmt, 28, m->source_instance_id);
	catalog_bind_opt(stmt, 29, m->client_token);
	if (catalog_step_done(c, stmt, "inserting an image", e) < 0)
		return -1;
	for (size_t i = 0; i < m->nbdm; i++) {
		const struct image_bdm *b = &m->bdm[i];
		stmt = catalog_stmt(c, bdm_sql, e);
		if (!stmt)
			return -1;
		sqlite3_bind_text(stmt, 1, m->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, (long long)i);
		sqlite3_bind_text(stmt, 3, b->device_name, -1, SQLITE_STATIC);
		catalog_bind_opt(stmt, 4, b->virtual_name);
		sqlite3_bind_int(stmt, 5, b->no_device);
		sqlite3_bind_int(stmt, 6, b->ebs);
		catalog_bind_opt(stmt, 7, b->snapshot_id);
		bind_opt_int(stmt, 8, b->volume_size, b->ebs);
		bind_opt_int(stmt, 9, b->delete_on_termination, b->ebs);
		catalog_bind_opt(stmt, 10, b->ebs ? b->volume_type : NULL);
		bind_opt_int(stmt, 11, b->iops, b->iops != 0);
		bind_opt_int(stmt, 12, b->throughput, b->throughput != 0);
		if (catalog_step_done(c, stmt, "inserting a block device mapping", e) < 0)
			return -1;
	}
	return 0;
}

/* Reads the mappings of an image just read. */
static int catalog_image_details(struct catalog *c, struct image *m,
				 struct err *e)
{
	static const char bdm_sql[] =
		"SELECT device_name, virtual_name, no_device, ebs, snapshot_id,"
		" volume_size, delete_on_termination, volume_type, iops, throughput"
		" FROM image_block_devices WHERE image_id = ?1 ORDER BY position";
	sqlite3_stmt *stmt = catalog_stmt(c, bdm_sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, m->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		m->bdm = xrealloc(m->bdm, (m->nbdm + 1) * sizeof *m->bdm);
		struct image_bdm *b = &m->bdm[m->nbdm++];
		memset(b, 0, sizeof *b);
		catalog_copy_text(b->device_name, sizeof b->device_name, stmt, 0);
		catalog_copy_text(b->virtual_name, sizeof b->virtual_name, stmt, 1);
		b->no_device = sqlite3_column_int(stmt, 2);
		b->ebs = sqlite3_column_int(stmt, 3);
		catalog_copy_text(b->snapshot_id, sizeof b->snapshot_id, stmt, 4);
		b->volume_size = sqlite3_column_int64(stmt, 5);
		b->delete_on_termination = sqlite3_column_int(stmt, 6);
		catalog_copy_text(b->volume_type, sizeof b->volume_type, stmt, 7);
		b->iops = sqlite3_column_int64(stmt, 8);
		b->throughput = sqlite3_column_int64(stmt, 9);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		image_release(m);
		return catalog_sqlite_error(c, "reading block device mappings", e);
	}
	return 0;
}

/* Runs a bound statement that selects IMAGE_SELECT of at most one row. */
static int catalog_image_one(struct catalog *c, sqlite3_stmt *stmt,
			     struct image *m, struct err *e)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_image_row(stmt, m);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return catalog_sqlite_error(c, "reading an image", e);
	return catalog_image_details(c, m, e) < 0 ? -1 : 1;
}

int catalog_image_get(struct catalog *c, const char *id, struct image *m,
		      struct err *e)
{
	static const char sql[] =
		"SELECT " IMAGE_SELECT " FROM images WHERE image_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	return catalog_image_one(c, stmt, m, e);
}

int catalog_image_by_name(struct catalog *c, const char *owner_id,
			  const char *name, struct image *m, struct err *e)
{
	static const char sql[] = "SELECT " IMAGE_SELECT
				  " FROM images WHERE owner_id = ?1 AND name = ?2"
				  " AND state != 'deregistered'";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	return catalog_image_one(c, stmt, m, e);
}

int catalog_image_by_token(struct catalog *c, const char *owner_id,
			   const char *token, struct image *m, struct err *e)
{
	static const char sql[] = "SELECT " IMAGE_SELECT " FROM images"
				  " WHERE owner_id = ?1 AND client_token = ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, token, -1, SQLITE_STATIC);
	return catalog_image_one(c, stmt, m, e);
}

int catalog_image_delete(struct catalog *c, const char *id, struct err *e)
{
	static const char *const sqls[] = {
		"DELETE FROM image_block_devices WHERE image_id = ?1",
		"DELETE FROM image_permissions WHERE image_id = ?1",
		"DELETE FROM tags WHERE resource_id = ?1",
		"DELETE FROM images WHERE image_id = ?1",
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (catalog_run(c, sqls[i], id, NULL, "deleting an image", e) < 0)
			return -1;
	return 0;
}

int catalog_image_deregister(struct catalog *c, const char *id,
			     long long now_ms, struct err *e)
{
	static const char sql[] =
		"UPDATE images SET state = 'deregistered', deregistered_ms = ?2,"
		" state_reason_code = NULL, state_reason_message = NULL"
		" WHERE image_id = ?1";
	static const char *const sqls[] = {
		"DELETE FROM image_permissions WHERE image_id = ?1",
		"DELETE FROM tags WHERE resource_id = ?1",
	};
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now_ms);
	if (catalog_step_done(c, stmt, "deregistering an image", e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (catalog_run(c, sqls[i], id, NULL, "deregistering an image", e) < 0)
			return -1;
	return 0;
}

int catalog_image_has_instances(struct catalog *c, const char *id,
				struct err *e)
{
	static const char sql[] =
		"SELECT 1 FROM instances WHERE image_id = ?1"
		" AND state != 'terminated' LIMIT 1";
	return catalog_exists(c, sql, id, NULL, "finding an image's instances", e);
}

int catalog_images_purge(struct catalog *c, long long before_ms,
			 struct err *e)
{
	/* The mappings go with their image (ON DELETE CASCADE). */
	static const char sql[] =
		"DELETE FROM images WHERE state = 'deregistered'"
		" AND deregistered_ms <= ?1 AND NOT EXISTS (SELECT 1 FROM instances i"
		"   WHERE i.image_id = images.image_id AND i.state != 'terminated')";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, before_ms);
	return catalog_step_done(c, stmt, "purging deregistered images", e);
}

/* The UPDATE statement for one settable column; NULL for any other. */
static const char *image_update_sql(const char *column)
{
	static const char *const sqls[][2] = {
		{ "description", "UPDATE images SET description = ?2 WHERE image_id = ?1" },
		{ "imds_support", "UPDATE images SET imds_support = ?2 WHERE image_id = ?1" },
		{ "deprecation_ms", "UPDATE images SET deprecation_ms = ?2 WHERE image_id = ?1" },
		{ "last_launched_ms", "UPDATE images SET last_launched_ms = ?2 WHERE image_id = ?1" },
		{ "state", "UPDATE images SET state = ?2 WHERE image_id = ?1" },
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (!strcmp(sqls[i][0], column))
			return sqls[i][1];
	return NULL;
}

int catalog_image_set_text(struct catalog *c, const char *id,
			   const char *column, const char *value, struct err *e)
{
	const char *sql = image_update_sql(column);
	sqlite3_stmt *stmt = sql ? catalog_stmt(c, sql, e) : NULL;
	if (!sql)
		return err_set(e, 500, "InternalError", "no such image column");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (value)
		sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "updating an image", e);
}

int catalog_image_set_time(struct catalog *c, const char *id,
			   const char *column, long long ms, struct err *e)
{
	const char *sql = image_update_sql(column);
	sqlite3_stmt *stmt = sql ? catalog_stmt(c, sql, e) : NULL;
	if (!sql)
		return err_set(e, 500, "InternalError", "no such image column");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	bind_opt_int(stmt, 2, ms, ms != 0);
	return catalog_step_done(c, stmt, "updating an image", e);
}

int catalog_images_settle(struct catalog *c, struct err *e)
{
	static const char failed_sql[] =
		"UPDATE images SET state = 'failed',"
		" state_reason_code = 'Client.InvalidSnapshot.NotFound',"
		" state_reason_message = (SELECT 'Snapshot ' || s.snapshot_id ||"
		"   ' failed: ' || coalesce(s.status_message, 'error')"
		"   FROM image_block_devices b JOIN snapshots s"
		"   ON s.snapshot_id = b.snapshot_id"
		"   WHERE b.image_id = images.image_id AND s.status = 'error' LIMIT 1)"
		" WHERE state = 'pending' AND EXISTS (SELECT 1"
		"   FROM image_block_devices b JOIN snapshots s"
		"   ON s.snapshot_id = b.snapshot_id"
		"   WHERE b.image_id = images.image_id AND s.status = 'error')";
	static const char available_sql[] =
		"UPDATE images SET state = 'available', state_reason_code = NULL,"
		" state_reason_message = NULL"
		" WHERE state = 'pending' AND NOT EXISTS (SELECT 1"
		"   FROM image_block_devices b JOIN snapshots s"
		"   ON s.snapshot_id = b.snapshot_id"
		"   WHERE b.image_id = images.image_id AND s.status != 'completed')";
	sqlite3_stmt *stmt = catalog_stmt(c, failed_sql, e);
	if (!stmt || catalog_step_done(c, stmt, "settling images", e) < 0)
		return -1;
	stmt = catalog_stmt(c, available_sql, e);
	if (!stmt || catalog_step_done(c, stmt, "settling images", e) < 0)
		return -1;
	return 0;
}

int catalog_snapshot_in_use(struct catalog *c, const char *snapshot_id,
			    char image[ID_MAX], struct err *e)
{
	static const char sql[] =
		"SELECT b.image_id FROM image_block_devices b JOIN images i"
		" ON i.image_id = b.image_id WHERE b.snapshot_id = ?1"
		" AND i.state != 'deregistered' ORDER BY b.image_id LIMIT 1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, snapshot_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(image, ID_MAX, stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "checking snapshot use", e);
}

int catalog_image_launchable(struct catalog *c, const struct image *m,
			     const char *account_id, struct err *e)
{
	static const char sql[] =
		"SELECT 1 FROM image_permissions WHERE image_id = ?1"
		" AND grantee IN (?2, 'all') LIMIT 1";
	if (!strcmp(m->owner_id, account_id) || m->is_public)
		return 1;
	return catalog_exists(c, sql, m->id, account_id, "checking launch permissions", e);
}

int catalog_image_each(struct catalog *c, const struct image_scan *scan,
		       int (*fn)(void *ctx, const struct image *img),
		       void *ctx, struct err *e)
{
	/*
	 * Three plans, each an index range scan: names in a range (the name
	 * index), one owner's images (the owner index), or everything the
	 * caller may launch (owned, granted, public: a union of index scans).
	 * The caller applies every criterion again, so a plan only has to
	 * return a superset, in image ID order.
	 */
	static const char by_name[] =
		"SELECT " IMAGE_SELECT " FROM images WHERE name >= ?3 AND name < ?4"
		" AND image_id > ?2 AND state != 'deregistered'"
		" AND (owner_id = ?1 OR EXISTS (SELECT 1"
		"   FROM image_permissions p WHERE p.image_id = images.image_id"
		"   AND p.grantee IN (?1, 'all')))"
		" ORDER BY image_id";
	static const char by_owner[] =
		"SELECT " IMAGE_SELECT " FROM images WHERE owner_id = ?5"
		" AND image_id > ?2 AND state != 'deregistered'"
		" AND (owner_id = ?1 OR EXISTS (SELECT 1"
		"   FROM image_permissions p WHERE p.image_id = images.image_id"
		"   AND p.grantee IN (?1, 'all')))"
		" ORDER BY image_id";
	static const char visible[] =
		"SELECT " IMAGE_SELECT " FROM images WHERE state != 'deregistered'"
		" AND image_id IN ("
		" SELECT image_id FROM images WHERE owner_id = ?1 AND image_id > ?2"
		" UNION SELECT image_id FROM image_permissions"
		"   WHERE grantee IN (?1, 'all') AND image_id > ?2)"
		" ORDER BY image_id";
	const char *sql = scan->name_lo ? by_name : scan->owner_id ? by_owner : visible;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, scan->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, scan->after ? scan->after : "", -1, SQLITE_STATIC);
	if (scan->name_lo) {
		sqlite3_bind_text(stmt, 3, scan->name_lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 4, scan->name_hi, -1, SQLITE_STATIC);
	} else if (scan->owner_id) {
		sqlite3_bind_text(stmt, 5, scan->owner_id, -1, SQLITE_STATIC);
	}
	/*
	 * Rows are read one at a time, and the details of each with other
	 * statements on the same connection while this one stays open.
	 */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct image m;
		catalog_image_row(stmt, &m);
		if (catalog_image_details(c, &m, e) < 0) {
			sqlite3_reset(stmt);
			return -1;
		}
		int stop = fn(ctx, &m);
		image_release(&m);
		if (stop)
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "listing images", e);
	return 0;
}

int catalog_image_grantees(struct catalog *c, const char *id,
			   char ***grantees, size_t *count, struct err *e)
{
	static const char sql[] =
		"SELECT grantee FROM image_permissions WHERE image_id = ?1"
		" ORDER BY grantee";
	return catalog_strings(c, sql, id, grantees, count,
			       "listing launch permissions", e);
}

int catalog_image_grant(struct catalog *c, const char *id, const char *grantee,
			struct err *e)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO image_permissions VALUES (?1, ?2)";
	return catalog_run(c, sql, id, grantee, "changing launch permissions", e);
}

int catalog_image_revoke(struct catalog *c, const char *id, const char *grantee,
			 struct err *e)
{
	static const char sql[] =
		"DELETE FROM image_permissions WHERE image_id = ?1 AND grantee = ?2";
	return catalog_run(c, sql, id, grantee, "changing launch permissions", e);
}

int catalog_image_revoke_all(struct catalog *c, const char *id, struct err *e)
{
	static const char sql[] = "DELETE FROM image_permissions WHERE image_id = ?1";
	return catalog_run(c, sql, id, NULL, "changing launch permissions", e);
}
