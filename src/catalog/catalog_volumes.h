/*
 * catalog_volumes: volume rows.  Conventions as in catalog_snapshots.h.
 *
 * A volume names two snapshots: its base (what it was created from, read
 * lazily for blocks it never wrote) and its map snapshot (its latest
 * snapshot, else the base: the map its next snapshot starts from).  A user
 * deleting either while a volume names it only disowns it (owner_id ''):
 * invisible to everyone, its blocks kept; catalog_snapshot_release_orphans
 * deletes such snapshots once no volume names them.
 */
#ifndef AMIBOX_CATALOG_VOLUMES_H
#define AMIBOX_CATALOG_VOLUMES_H

#include "catalog/catalog.h"
#include "util/ids.h"

struct volume_row {
	char id[ID_MAX];
	char owner_id[13];
	long long size_gib;
	char snapshot_id[ID_MAX];      /* created from, "" when empty */
	char base_snapshot_id[ID_MAX];
	char map_snapshot_id[ID_MAX];
	char zone[72];
	char state[16];                /* creating, available, in-use, deleting, error */
	char volume_type[16];
	long long iops;                /* 0 when none */
	long long throughput;
	long long create_ms;
	char client_token[72];
	char request_digest[72];
	/* The latest ModifyVolume, when mod_state is not "". */
	char mod_state[16];
	long long mod_original_size;
	char mod_original_type[16];
	long long mod_original_iops;
	long long mod_original_throughput;
	long long mod_start_ms;
	long long mod_end_ms;
};

/* In a transaction. */
int catalog_volume_insert(struct catalog *c, const struct volume_row *v,
			  struct err *e);
int catalog_volume_get(struct catalog *c, const char *id, struct volume_row *v,
		       struct err *e);
int catalog_volume_by_token(struct catalog *c, const char *owner_id,
			    const char *token, struct volume_row *v,
			    struct err *e);
/* In a transaction: rewrites every column of the row. */
int catalog_volume_update(struct catalog *c, const struct volume_row *v,
			  struct err *e);
/* In a transaction. */
int catalog_volume_delete(struct catalog *c, const char *id, struct err *e);
/* Calls fn for the owner's volumes with IDs after after, in ID order. */
int catalog_volume_each(struct catalog *c, const char *owner_id,
			const char *after,
			int (*fn)(void *ctx, const struct volume_row *v),
			void *ctx, struct err *e);
/* Calls fn for every volume (any owner). */
int catalog_volume_each_all(struct catalog *c,
			    int (*fn)(void *ctx, const struct volume_row *v),
			    void *ctx, struct err *e);
/* 1 if a volume names the snapshot as base or map snapshot. */
int catalog_snapshot_needed_by_volume(struct catalog *c, const char *snapshot_id,
				      struct err *e);

#endif
