/*
 * snapshots: what a snapshot is billed for, as EBS bills snapshots.
 *
 * EBS stores a volume's first snapshot whole and each later one as the
 * blocks changed since the one before; a volume made from a snapshot
 * continues that snapshot's line ("snapshot D is created from volume 1,
 * made from snapshot A: D is an incremental snapshot of A").  Deleting a
 * snapshot removes only what no other snapshot of the line needs; what a
 * later snapshot still needs stays, and is billed to it from then on.
 *
 * The rule amibox bills by, from the block maps of the catalogue:
 *
 *  - A lineage is a tree of snapshots.  A snapshot of a volume belongs to
 *    the lineage of the snapshot the volume was made from (else the
 *    volume's own); one started with a ParentSnapshotId (EBS direct API)
 *    to its parent's; a copy (CopySnapshot, CopyImage) starts a lineage,
 *    as AWS stores a first copy in full; any other snapshot too.
 *  - Members of a lineage are ordered by completion (usage_snapshots.seq)
 *    and are billed per owner: one account's snapshots never make another
 *    account's cheaper.
 *  - A completed snapshot that its owner has not deleted is billed for
 *    512 KiB (EBS's block) per non-zero block of its map that it wrote
 *    itself (changed: written since the map it started from), or that no
 *    older live member of its lineage with the same owner maps to the same
 *    content.  So the first snapshot of a line holds every block, each
 *    later one what changed, and when a snapshot goes, the later ones that
 *    still map its blocks take them over.
 *  - Sizes are raw 512 KiB blocks, as EBS counts a snapshot's size (the
 *    blocks ListSnapshotBlocks lists): the chunk store's compression and
 *    deduplication across lineages are amibox's own savings.
 *  - A snapshot deleted while a volume still reads from it is disowned
 *    (catalog_volumes.h): its owner no longer pays for it.
 *
 * A snapshot's billed size changes when it completes and when an older
 * member of its line goes; the hooks close its record and open one with
 * the new size then.
 */
#include "metering/metering.h"
#include "metering/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog_internal.h"
#include "catalog/catalog_snapshots.h"
#include "util/buf.h"
#include "util/ids.h"

#define LINEAGE_MAX 48

struct meter_snapshot {
	long long seq;
	char account[13];
	char lineage[LINEAGE_MAX];
	int live;
};

/* 1 with the snapshot's metering row, 0 if it has none. */
static int meter_snapshot_get(struct catalog *c, const char *id, struct meter_snapshot *m,
			      struct err *e)
{
	static const char sql[] = "SELECT seq, account_id, lineage, live FROM usage_snapshots"
				  " WHERE snapshot_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		m->seq = sqlite3_column_int64(stmt, 0);
		catalog_copy_text(m->account, sizeof m->account, stmt, 1);
		catalog_copy_text(m->lineage, sizeof m->lineage, stmt, 2);
		m->live = sqlite3_column_int(stmt, 3);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(c, "reading a snapshot's lineage", e);
}

/* The lineage a snapshot belongs to: its metering row's, else its own ID. */
static int meter_lineage_of(struct catalog *c, const char *id, char out[LINEAGE_MAX],
			    struct err *e)
{
	struct meter_snapshot m;
	int found = meter_snapshot_get(c, id, &m, e);
	if (found < 0)
		return -1;
	snprintf(out, LINEAGE_MAX, "%s", found ? m.lineage : id);
	return 0;
}

/* The lineage a snapshot joins when it completes (see the rule above). */
static int meter_lineage(struct catalog *c, const struct snapshot *s, char out[LINEAGE_MAX],
			 struct err *e)
{
	static const char sql[] = "SELECT base_snapshot_id FROM volumes WHERE volume_id = ?1";
	if (s->source_id[0]) {
		snprintf(out, LINEAGE_MAX, "%s", s->id);
		return 0;
	}
	if (s->parent_id[0])
		return meter_lineage_of(c, s->parent_id, out, e);
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char base[ID_MAX] = "";
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, s->volume_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(base, sizeof base, stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading a snapshot's volume", e);
	if (rc == SQLITE_DONE) {
		snprintf(out, LINEAGE_MAX, "%s", s->id);
		return 0;
	}
	if (base[0])
		return meter_lineage_of(c, base, out, e);
	snprintf(out, LINEAGE_MAX, "%s", s->volume_id);
	return 0;
}

/* The bytes the rule bills snapshot id for (m: its metering row). */
static int meter_snapshot_bytes(struct catalog *c, const char *id,
				const struct meter_snapshot *m, double *bytes, struct err *e)
{
	static const char sql[] =
		"SELECT count(*) FROM snapshot_blocks x WHERE x.snapshot_id = ?1 AND x.hash != ?5"
		" AND (x.changed OR NOT EXISTS (SELECT 1 FROM usage_snapshots m"
		"   JOIN snapshot_blocks o ON o.snapshot_id = m.snapshot_id"
		"    AND o.block_index = x.block_index"
		"   WHERE m.lineage = ?2 AND m.account_id = ?3 AND m.live = 1 AND m.seq < ?4"
		"    AND o.hash = x.hash))";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->lineage, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, m->account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, m->seq);
	sqlite3_bind_blob(stmt, 5, catalog_zero_block_hash(), 32, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*bytes = (double)sqlite3_column_int64(stmt, 0) * BLOCK_SIZE;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return catalog_sqlite_error(c, "counting a snapshot's billed blocks", e);
	return 0;
}

/* Bills snapshot id (metering row m) for what the rule says it holds now. */
static int meter_snapshot_bill(struct catalog *c, const char *id, const struct meter_snapshot *m,
			       struct err *e)
{
	double bytes = 0;
	if (meter_snapshot_bytes(c, id, m, &bytes, e) < 0)
		return -1;
	struct meter_want want = { "EBS:SnapshotUsage", bytes, 0 };
	return meter_apply(c, m->account, id, id, id, &want, 1, e);
}

/* A member of m's lineage went: the later live ones may hold more now. */
static int meter_lineage_rebill(struct catalog *c, const struct meter_snapshot *gone,
				struct err *e)
{
	static const char sql[] =
		"SELECT snapshot_id, seq FROM usage_snapshots WHERE lineage = ?1 AND account_id = ?2"
		" AND live = 1 AND seq > ?3 ORDER BY seq";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	char (*ids)[ID_MAX] = NULL;
	long long *seqs = NULL;
	size_t n = 0;
	int rc, ret = -1;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, gone->lineage, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, gone->account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, gone->seq);
	/* Collected first: billing runs other statements. */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		seqs = xrealloc(seqs, (n + 1) * sizeof *seqs);
		catalog_copy_text(ids[n], ID_MAX, stmt, 0);
		seqs[n++] = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		catalog_sqlite_error(c, "listing a snapshot lineage", e);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct meter_snapshot m = *gone;
		m.seq = seqs[i];
		m.live = 1;
		if (meter_snapshot_bill(c, ids[i], &m, e) < 0)
			goto out;
	}
	ret = 0;
out:
	free(ids);
	free(seqs);
	return ret;
}

static int meter_snapshot_join(struct catalog *c, const struct snapshot *s,
			       struct meter_snapshot *m, struct err *e)
{
	static const char sql[] = "INSERT INTO usage_snapshots (snapshot_id, account_id, lineage,"
				  " live) VALUES (?1, ?2, ?3, 1)";
	if (meter_lineage(c, s, m->lineage, e) < 0)
		return -1;
	snprintf(m->account, sizeof m->account, "%s", s->owner_id);
	m->live = 1;
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, m->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, m->lineage, -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "recording a snapshot's lineage", e) < 0)
		return -1;
	m->seq = sqlite3_last_insert_rowid(catalog_db(c, NULL));
	return 0;
}

static int meter_snapshot_leave(struct catalog *c, const char *id, struct err *e)
{
	static const char sql[] = "UPDATE usage_snapshots SET live = 0 WHERE snapshot_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	return catalog_step_done(c, stmt, "retiring a snapshot's lineage row", e);
}

int metering_snapshot_sync(struct catalog *c, const char *snapshot_id, struct err *e)
{
	if (!AMIBOX_METERING_HOOKS)
		return 0;
	struct snapshot s;
	struct meter_snapshot m;
	int found = catalog_snapshot_get(c, snapshot_id, &s, e);
	int known = found < 0 ? -1 : meter_snapshot_get(c, snapshot_id, &m, e);
	if (known < 0)
		return -1;
	int billable = found && !strcmp(s.status, "completed") && s.owner_id[0];
	if (billable) {
		if (!known && meter_snapshot_join(c, &s, &m, e) < 0)
			return -1;
		return m.live ? meter_snapshot_bill(c, snapshot_id, &m, e) : 0;
	}
	if (meter_apply(c, known ? m.account : "", snapshot_id, snapshot_id, NULL, NULL, 0, e) < 0)
		return -1;
	if (!known || !m.live)
		return 0;
	if (meter_snapshot_leave(c, snapshot_id, e) < 0)
		return -1;
	return meter_lineage_rebill(c, &m, e);
}
