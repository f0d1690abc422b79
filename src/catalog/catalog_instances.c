/* catalog_instances: instances and their devices (see catalog_instances.h). */
#include "catalog/catalog_instances.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "metering/metering.h"
#include "util/buf.h"

#define INSTANCE_COLUMNS                                                       \
	"instance_id, reservation_id, owner_id, image_id, instance_type, state," \
	" state_reason_code, state_reason_message, transition_reason,"         \
	" launch_ms, state_ms, kernel_id, ramdisk_id, user_data,"              \
	" root_device_type, root_device_name, virtualization_type,"            \
	" architecture, shutdown_behavior, disable_api_termination,"           \
	" client_token, launch_index, private_ip, zone, key_name, http_tokens, pid," \
	" disable_api_stop, ebs_optimized, cpu_credits, request_digest"

void instance_release(struct instance *inst)
{
	free(inst->user_data);
	free(inst->devices);
	inst->user_data = NULL;
	inst->devices = NULL;
	inst->ndevices = 0;
}

void instance_copy(struct instance *dst, const struct instance *src)
{
	*dst = *src;
	dst->user_data = src->user_data ? xstrdup(src->user_data) : NULL;
	dst->devices = NULL;
	if (src->ndevices) {
		dst->devices = xmalloc(src->ndevices * sizeof *dst->devices);
		memcpy(dst->devices, src->devices, src->ndevices * sizeof *dst->devices);
	}
}

int instance_state_code(const char *state)
{
	static const struct {
		const char *name;
		int code;
	} codes[] = {
		{ "pending", 0 }, { "running", 16 }, { "shutting-down", 32 },
		{ "terminated", 48 }, { "stopping", 64 }, { "stopped", 80 },
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strcmp(codes[i].name, state))
			return codes[i].code;
	return -1;
}

static void instance_row(sqlite3_stmt *stmt, struct instance *m)
{
	memset(m, 0, sizeof *m);
	catalog_copy_text(m->id, sizeof m->id, stmt, 0);
	catalog_copy_text(m->reservation_id, sizeof m->reservation_id, stmt, 1);
	catalog_copy_text(m->owner_id, sizeof m->owner_id, stmt, 2);
	catalog_copy_text(m->image_id, sizeof m->image_id, stmt, 3);
	catalog_copy_text(m->instance_type, sizeof m->instance_type, stmt, 4);
	catalog_copy_text(m->state, sizeof m->state, stmt, 5);
	catalog_copy_text(m->state_reason_code, sizeof m->state_reason_code, stmt, 6);
	catalog_copy_text(m->state_reason_message, sizeof m->state_reason_message, stmt, 7);
	catalog_copy_text(m->transition_reason, sizeof m->transition_reason, stmt, 8);
	m->launch_ms = sqlite3_column_int64(stmt, 9);
	m->state_ms = sqlite3_column_int64(stmt, 10);
	catalog_copy_text(m->kernel_id, sizeof m->kernel_id, stmt, 11);
	catalog_copy_text(m->ramdisk_id, sizeof m->ramdisk_id, stmt, 12);
	const unsigned char *ud = sqlite3_column_text(stmt, 13);
	m->user_data = ud ? xstrdup((const char *)ud) : NULL;
	catalog_copy_text(m->root_device_type, sizeof m->root_device_type, stmt, 14);
	catalog_copy_text(m->root_device_name, sizeof m->root_device_name, stmt, 15);
	catalog_copy_text(m->virtualization_type, sizeof m->virtualization_type, stmt, 16);
	catalog_copy_text(m->architecture, sizeof m->architecture, stmt, 17);
	catalog_copy_text(m->shutdown_behavior, sizeof m->shutdown_behavior, stmt, 18);
	m->disable_api_termination = sqlite3_column_int(stmt, 19);
	catalog_copy_text(m->client_token, sizeof m->client_token, stmt, 20);
	m->launch_index = sqlite3_column_int(stmt, 21);
	catalog_copy_text(m->private_ip, sizeof m->private_ip, stmt, 22);
	catalog_copy_text(m->zone, sizeof m->zone, stmt, 23);
	catalog_copy_text(m->key_name, sizeof m->key_name, stmt, 24);
	catalog_copy_text(m->http_tokens, sizeof m->http_tokens, stmt, 25);
	m->pid = sqlite3_column_int64(stmt, 26);
	m->disable_api_stop = sqlite3_column_int(stmt, 27);
	m->ebs_optimized = sqlite3_column_int(stmt, 28);
	catalog_copy_text(m->cpu_credits, sizeof m->cpu_credits, stmt, 29);
	catalog_copy_text(m->request_digest, sizeof m->request_digest, stmt, 30);
}

static int instance_devices(struct catalog *c, struct instance *m, struct err *e)
{
	static const char sql[] =
		"SELECT device_name, volume_id, virtual_name, delete_on_termination,"
		" attach_ms, status FROM instance_devices WHERE instance_id = ?1"
		" ORDER BY position, device_name";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, m->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		m->devices = xrealloc(m->devices, (m->ndevices + 1) * sizeof *m->devices);
		struct instance_device *d = &m->devices[m->ndevices++];
		memset(d, 0, sizeof *d);
		catalog_copy_text(d->device_name, sizeof d->device_name, stmt, 0);
		catalog_copy_text(d->volume_id, sizeof d->volume_id, stmt, 1);
		catalog_copy_text(d->virtual_name, sizeof d->virtual_name, stmt, 2);
		d->delete_on_termination = sqlite3_column_int(stmt, 3);
		d->attach_ms = sqlite3_column_int64(stmt, 4);
		catalog_copy_text(d->status, sizeof d->status, stmt, 5);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		instance_release(m);
		return catalog_sqlite_error(c, "reading instance devices", e);
	}
	return 0;
}

int catalog_instance_device_set(struct catalog *c, const char *instance_id,
				const struct instance_device *d, int position,
				struct err *e)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO instance_devices (instance_id, device_name,"
		" position, volume_id, virtual_name, delete_on_termination, attach_ms,"
		" status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, instance_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, d->device_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, position);
	catalog_bind_opt(stmt, 4, d->volume_id);
	catalog_bind_opt(stmt, 5, d->virtual_name);
	sqlite3_bind_int(stmt, 6, d->delete_on_termination);
	sqlite3_bind_int64(stmt, 7, d->attach_ms);
	sqlite3_bind_text(stmt, 8, d->status, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "recording an instance device", e);
}

int catalog_instance_device_delete(struct catalog *c, const char *instance_id,
				   const char *device_name, struct err *e)
{
	static const char sql[] =
		"DELETE FROM instance_devices WHERE instance_id = ?1 AND device_name = ?2";
	return catalog_run(c, sql, instance_id, device_name, "detaching a device", e);
}

int catalog_instance_insert(struct catalog *c, const struct instance *m,
			    struct err *e)
{
	static const char sql[] =
		"INSERT INTO instances (" INSTANCE_COLUMNS ") VALUES (?1, ?2, ?3, ?4,"
		" ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
		" ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->reservation_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, m->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, m->image_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, m->instance_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, m->state, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 7, m->state_reason_code);
	catalog_bind_opt(stmt, 8, m->state_reason_message);
	catalog_bind_opt(stmt, 9, m->transition_reason);
	sqlite3_bind_int64(stmt, 10, m->launch_ms);
	sqlite3_bind_int64(stmt, 11, m->state_ms);
	catalog_bind_opt(stmt, 12, m->kernel_id);
	catalog_bind_opt(stmt, 13, m->ramdisk_id);
	catalog_bind_opt(stmt, 14, m->user_data);
	sqlite3_bind_text(stmt, 15, m->root_device_type, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 16, m->root_device_name);
	sqlite3_bind_text(stmt, 17, m->virtualization_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 18, m->architecture, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 19, m->shutdown_behavior, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 20, m->disable_api_termination);
	catalog_bind_opt(stmt, 21, m->client_token);
	sqlite3_bind_int(stmt, 22, m->launch_index);
	sqlite3_bind_text(stmt, 23, m->private_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 24, m->zone, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 25, m->key_name);
	catalog_bind_opt(stmt, 26, m->http_tokens);
	sqlite3_bind_int64(stmt, 27, m->pid);
	sqlite3_bind_int(stmt, 28, m->disable_api_stop);
	sqlite3_bind_int(stmt, 29, m->ebs_optimized);
	catalog_bind_opt(stmt, 30, m->cpu_credits);
	catalog_bind_opt(stmt, 31, m->request_digest);
	if (catalog_step_done(c, stmt, "inserting an instance", e) < 0)
		return -1;
	for (size_t i = 0; i < m->ndevices; i++)
		if (catalog_instance_device_set(c, m->id, &m->devices[i], (int)i, e) < 0)
			return -1;
	return metering_instance_sync(c, m->id, e);
}

int catalog_instance_get(struct catalog *c, const char *id, struct instance *m,
			 struct err *e)
{
	static const char sql[] =
		"SELECT " INSTANCE_COLUMNS " FROM instances WHERE instance_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		instance_row(stmt, m);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return catalog_sqlite_error(c, "reading an instance", e);
	return instance_devices(c, m, e) < 0 ? -1 : 1;
}

int catalog_instance_set_state(struct catalog *c, const char *id,
			       const char *state, const char *reason_code,
			       const char *reason_message, struct err *e)
{
	static const char sql[] =
		"UPDATE instances SET state = ?2, state_ms = ?3, state_reason_code = ?4,"
		" state_reason_message = ?5 WHERE instance_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, ids_now_ms());
	catalog_bind_opt(stmt, 4, reason_code);
	catalog_bind_opt(stmt, 5, reason_message);
	if (catalog_step_done(c, stmt, "changing an instance's state", e) < 0)
		return -1;
	return metering_instance_sync(c, id, e);
}

int catalog_instance_set_pid(struct catalog *c, const char *id, long long pid,
			     struct err *e)
{
	static const char sql[] = "UPDATE instances SET pid = ?2 WHERE instance_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, pid);
	return catalog_step_done(c, stmt, "recording an instance's process", e);
}

int catalog_instance_set_text(struct catalog *c, const char *id,
			      const char *column, const char *value,
			      struct err *e)
{
	static const char *const sqls[][2] = {
		{ "instance_type", "UPDATE instances SET instance_type = ?2 WHERE instance_id = ?1" },
		{ "kernel_id", "UPDATE instances SET kernel_id = ?2 WHERE instance_id = ?1" },
		{ "ramdisk_id", "UPDATE instances SET ramdisk_id = ?2 WHERE instance_id = ?1" },
		{ "user_data", "UPDATE instances SET user_data = ?2 WHERE instance_id = ?1" },
		{ "shutdown_behavior", "UPDATE instances SET shutdown_behavior = ?2 WHERE instance_id = ?1" },
		{ "disable_api_termination", "UPDATE instances SET disable_api_termination = ?2 WHERE instance_id = ?1" },
		{ "transition_reason", "UPDATE instances SET transition_reason = ?2 WHERE instance_id = ?1" },
		{ "disable_api_stop", "UPDATE instances SET disable_api_stop = ?2 WHERE instance_id = ?1" },
		{ "ebs_optimized", "UPDATE instances SET ebs_optimized = ?2 WHERE instance_id = ?1" },
		{ "cpu_credits", "UPDATE instances SET cpu_credits = ?2 WHERE instance_id = ?1" },
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (!strcmp(sqls[i][0], column))
			return catalog_run(c, sqls[i][1], id, value, "changing an instance", e);
	return err_internal(e, "no instance column %s", column);
}

int catalog_volume_attachment(struct catalog *c, const char *volume_id,
			      char instance_id[ID_MAX],
			      struct instance_device *d, struct err *e)
{
	static const char sql[] =
		"SELECT instance_id, device_name, delete_on_termination, attach_ms, status"
		" FROM instance_devices WHERE volume_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, volume_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(d, 0, sizeof *d);
		catalog_copy_text(instance_id, ID_MAX, stmt, 0);
		catalog_copy_text(d->device_name, sizeof d->device_name, stmt, 1);
		snprintf(d->volume_id, sizeof d->volume_id, "%s", volume_id);
		d->delete_on_termination = sqlite3_column_int(stmt, 2);
		d->attach_ms = sqlite3_column_int64(stmt, 3);
		catalog_copy_text(d->status, sizeof d->status, stmt, 4);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a volume's attachment", e);
}

/* Steps a bound SELECT of INSTANCE_COLUMNS, calling fn for each row until it says stop. */
static int instance_rows(struct catalog *c, sqlite3_stmt *stmt,
			 int (*fn)(void *ctx, const struct instance *inst),
			 void *ctx, const char *what, struct err *e)
{
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct instance m;
		instance_row(stmt, &m);
		if (instance_devices(c, &m, e) < 0) {
			sqlite3_reset(stmt);
			return -1;
		}
		int stop = fn(ctx, &m);
		instance_release(&m);
		if (stop)
			break;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, what, e);
	return 0;
}

int catalog_instance_each(struct catalog *c, const char *owner_id,
			  const char *after,
			  int (*fn)(void *ctx, const struct instance *inst),
			  void *ctx, struct err *e)
{
	static const char by_owner[] =
		"SELECT " INSTANCE_COLUMNS " FROM instances WHERE owner_id = ?1"
		" AND instance_id > ?2 ORDER BY instance_id";
	static const char all[] =
		"SELECT " INSTANCE_COLUMNS " FROM instances WHERE instance_id > ?2"
		" ORDER BY instance_id";
	sqlite3_stmt *stmt = catalog_stmt(c, owner_id ? by_owner : all, e);
	if (!stmt)
		return -1;
	if (owner_id)
		sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, after ? after : "", -1, SQLITE_STATIC);
	return instance_rows(c, stmt, fn, ctx, "listing instances", e);
}

int catalog_instance_by_token(struct catalog *c, const char *owner_id,
			      const char *token, struct instance *m,
			      struct err *e)
{
	static const char sql[] =
		"SELECT " INSTANCE_COLUMNS " FROM instances WHERE owner_id = ?1"
		" AND client_token = ?2 ORDER BY launch_index, instance_id LIMIT 1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, token, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		instance_row(stmt, m);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return catalog_sqlite_error(c, "finding an instance by client token", e);
	return instance_devices(c, m, e) < 0 ? -1 : 1;
}

int catalog_instance_each_in_reservation(struct catalog *c, const char *reservation_id,
					 int (*fn)(void *ctx, const struct instance *inst),
					 void *ctx, struct err *e)
{
	static const char sql[] =
		"SELECT " INSTANCE_COLUMNS " FROM instances WHERE reservation_id = ?1"
		" ORDER BY instance_id";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, reservation_id, -1, SQLITE_STATIC);
	return instance_rows(c, stmt, fn, ctx, "listing a reservation's instances", e);
}

int catalog_instance_key_set(struct catalog *c, const char *instance_id, const char *key_name,
			     const char *public_key, struct err *e)
{
	static const char sql[] = "INSERT OR REPLACE INTO instance_keys (instance_id, key_name,"
				  " public_key) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, instance_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, public_key, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "keeping an instance's key", e);
}

int catalog_instance_key_get(struct catalog *c, const char *instance_id, struct buf *out,
			     struct err *e)
{
	static const char sql[] = "SELECT public_key FROM instance_keys WHERE instance_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, instance_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		buf_append_str(out, (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading an instance's key", e);
	return rc == SQLITE_ROW;
}
