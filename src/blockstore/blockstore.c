/*
 * blockstore: snapshot block maps over the content-addressed chunk store.
 *
 * Design notes
 *
 * Snapshot states (EBS direct API and EC2 actions):
 *
 *     StartSnapshot / CopySnapshot(completed at once)
 *            |
 *            v
 *        pending --- CompleteSnapshot (ebs_complete_snapshot) ---> completed
 *            |
 *            +--- deadline passed (catalog_snapshot_expire) ---> error
 *
 *     any state --- DeleteSnapshot (blockstore_delete_snapshot) ---> gone
 *
 * Invariants:
 *  1. A block map row names a chunk only after chunkstore_put() returned,
 *     that is after the chunk file and its directory entry were fsynced.
 *  2. The catalog's chunks table is the authority on which chunks exist;
 *     deduplication asks the catalog, never the file system, so a chunk
 *     file left half-written by a crash is never mistaken for a stored one.
 *  3. A chunk file is unlinked only after the transaction that removed its
 *     last reference and its chunks row committed.  The gc lock keeps a
 *     concurrent put from re-referencing the hash in between: puts hold it
 *     shared from the catalog lookup to their commit, deletes hold it
 *     exclusively from their commit to the unlink.
 *  4. At start-up, before any request, blockstore_open() removes temp files
 *     and chunk files without a chunks row: the remains of crashes.
 *  5. Only pending snapshots take blocks; the check runs in the same
 *     transaction as the block's mapping.
 */
#include "blockstore/blockstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockstore/chunkstore.h"
#include "util/buf.h"
#include "util/log.h"

struct blockstore {
	struct catalog *cat;
	struct chunkstore *chunks;
	pthread_rwlock_t gc_lock;
};

static int blockstore_referenced(void *ctx, const unsigned char hash[32])
{
	struct blockstore *bs = ctx;
	struct err e = ERR_INIT;
	/* On a catalog error keep the file: sweeping is never urgent. */
	return catalog_chunk_known(bs->cat, hash, &e) != 0;
}

int blockstore_open(const char *dir, struct catalog *cat, int compression_level,
		    struct blockstore **out, struct err *e)
{
	struct buf path = BUF_INIT;
	struct blockstore *bs = xcalloc(1, sizeof *bs);
	size_t removed = 0;
	bs->cat = cat;
	pthread_rwlock_init(&bs->gc_lock, NULL);
	buf_printf(&path, "%s/chunks", dir);
	int rc = chunkstore_open(path.data, NULL, compression_level, &bs->chunks, e);
	buf_release(&path);
	if (rc < 0 || chunkstore_sweep(bs->chunks, blockstore_referenced, bs,
				       &removed, e) < 0) {
		blockstore_close(bs);
		return -1;
	}
	if (removed)
		log_info("block store: removed %zu unreferenced files left by a crash",
			 removed);
	*out = bs;
	return 0;
}

int blockstore_open_reader(const char *dir, struct catalog *cat,
			   struct blockstore **out, struct err *e)
{
	struct buf path = BUF_INIT;
	struct blockstore *bs = xcalloc(1, sizeof *bs);
	bs->cat = cat;
	pthread_rwlock_init(&bs->gc_lock, NULL);
	buf_printf(&path, "%s/chunks", dir);
	int rc = chunkstore_open(path.data, NULL, 1, &bs->chunks, e);
	buf_release(&path);
	if (rc < 0) {
		blockstore_close(bs);
		return -1;
	}
	*out = bs;
	return 0;
}

void blockstore_close(struct blockstore *bs)
{
	if (!bs)
		return;
	if (bs->chunks)
		chunkstore_close(bs->chunks);
	pthread_rwlock_destroy(&bs->gc_lock);
	free(bs);
}

static int blockstore_is_zero(const void *data)
{
	const unsigned char *p = data;
	/* Compare with itself shifted by one word: all equal and first zero. */
	return p[0] == 0 && !memcmp(p, p + 1, BLOCK_SIZE - 1);
}

static void blockstore_unlink_garbage(struct blockstore *bs,
				      const struct hash_list *garbage)
{
	for (size_t i = 0; i < garbage->count; i++) {
		struct err e = ERR_INIT;
		if (chunkstore_remove(bs->chunks, garbage->items[i], &e) < 0)
			log_warn("block store: %s", e.message);
	}
}

int blockstore_put_block(struct blockstore *bs, const char *snapshot_id,
			 long long index, const void *data,
			 const unsigned char hash[32], struct err *e)
{
	struct hash_list garbage = { NULL, 0 };
	struct snapshot snap;
	size_t stored = 0;
	int ret = -1, in_txn = 0;
	int zero = blockstore_is_zero(data);
	const unsigned char *mapped = zero ? catalog_zero_block_hash() : hash;

	pthread_rwlock_rdlock(&bs->gc_lock);
	if (!zero) {
		int known = catalog_chunk_known(bs->cat, hash, e);
		if (known < 0)
			goto out;
		if (!known && chunkstore_put(bs->chunks, hash, data, BLOCK_SIZE,
					     &stored, e) < 0)
			goto out;
	}
	if (catalog_begin(bs->cat, e) < 0)
		goto out;
	in_txn = 1;
	int found = catalog_snapshot_get(bs->cat, snapshot_id, &snap, e);
	if (found <= 0) {
		if (found == 0)
			err_set_reason(e, 404, "ResourceNotFoundException",
				       "SNAPSHOT_NOT_FOUND",
				       "The snapshot '%s' does not exist.", snapshot_id);
		goto out;
	}
	if (strcmp(snap.status, "pending") != 0) {
		err_set_reason(e, 400, "ValidationException", "INVALID_SNAPSHOT_ID",
			       "The snapshot '%s' is %s; only pending snapshots take blocks.",
			       snapshot_id, snap.status);
		goto out;
	}
	if (catalog_block_put(bs->cat, snapshot_id, index, mapped,
			      (long long)stored, &garbage, e) < 0)
		goto out;
	in_txn = 0;
	if (catalog_commit(bs->cat, e) < 0)
		goto out;
	ret = 0;
out:
	if (in_txn)
		catalog_rollback(bs->cat);
	pthread_rwlock_unlock(&bs->gc_lock);
	if (garbage.count) {
		pthread_rwlock_wrlock(&bs->gc_lock);
		blockstore_unlink_garbage(bs, &garbage);
		pthread_rwlock_unlock(&bs->gc_lock);
	}
	hash_list_release(&garbage);
	return ret;
}

int blockstore_get_block(struct blockstore *bs, const char *snapshot_id,
			 long long index, void *out, unsigned char hash[32],
			 struct err *e)
{
	size_t len = 0;
	int found = catalog_block_get(bs->cat, snapshot_id, index, hash, e);
	if (found < 0)
		return -1;
	if (!found || !memcmp(hash, catalog_zero_block_hash(), 32)) {
		memset(out, 0, BLOCK_SIZE);
		memcpy(hash, catalog_zero_block_hash(), 32);
		return 0;
	}
	if (chunkstore_get(bs->chunks, hash, out, BLOCK_SIZE, &len, e) < 0)
		return -1;
	if (len != BLOCK_SIZE)
		return err_internal(e, "a chunk of snapshot %s has %zu bytes",
				    snapshot_id, len);
	return 0;
}

int blockstore_delete_snapshot(struct blockstore *bs, const char *snapshot_id,
			       struct err *e)
{
	struct hash_list garbage = { NULL, 0 };
	int ret = -1;
	/*
	 * Exclusive from before the commit to after the unlinks, so that no
	 * put can find a doomed chunk row and map it (invariant 3).
	 */
	pthread_rwlock_wrlock(&bs->gc_lock);
	if (catalog_begin(bs->cat, e) < 0)
		goto out;
	if (catalog_snapshot_delete(bs->cat, snapshot_id, &garbage, e) < 0 ||
	    catalog_commit(bs->cat, e) < 0) {
		catalog_rollback(bs->cat);
		hash_list_release(&garbage);
		goto out;
	}
	blockstore_unlink_garbage(bs, &garbage);
	ret = 0;
out:
	pthread_rwlock_unlock(&bs->gc_lock);
	hash_list_release(&garbage);
	return ret;
}

int blockstore_verify(struct blockstore *bs, long long *checked,
		      long long *bad, struct err *e)
{
	static const char sql[] = "SELECT hash FROM chunks";
	sqlite3_stmt *stmt = catalog_stmt(bs->cat, sql, e);
	void *scratch = xmalloc(BLOCK_SIZE);
	int rc;
	*checked = *bad = 0;
	if (!stmt) {
		free(scratch);
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		unsigned char hash[32];
		size_t len = 0;
		struct err chunk_err = ERR_INIT;
		memcpy(hash, sqlite3_column_blob(stmt, 0), 32);
		(*checked)++;
		if (chunkstore_get(bs->chunks, hash, scratch, BLOCK_SIZE, &len,
				   &chunk_err) < 0) {
			(*bad)++;
			log_error("fsck: %s", chunk_err.message);
		}
	}
	sqlite3_reset(stmt);
	free(scratch);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(bs->cat, "listing chunks", e);
	return 0;
}
