/*
 * blockstore: EBS snapshots as block maps over the chunk store.
 *
 * A snapshot is a map from 512 KiB block index to the SHA-256 of the block's
 * content; the content lives once in the chunk store however many snapshots
 * (of however many accounts) map it.  This module keeps the catalog's block
 * maps and the chunk files consistent: a block is mapped only after its chunk
 * is durable, and a chunk file is removed only after the last map naming it
 * is gone.  Authorisation is the API layer's job; this module checks state.
 */
#ifndef AMIBOX_BLOCKSTORE_BLOCKSTORE_H
#define AMIBOX_BLOCKSTORE_BLOCKSTORE_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "catalog/catalog_snapshots.h"
#include "util/err.h"

#define BLOCK_SIZE (512 * 1024)
#define BLOCKS_PER_GIB 2048

struct blockstore;

/*
 * Opens the chunk store in dir/chunks, creating it if needed, and sweeps
 * what a crash may have left (temp files, chunk files the catalog does not
 * know).  Call before serving.
 */
int blockstore_open(const char *dir, struct catalog *cat, int compression_level,
		    struct blockstore **out, struct err *e);
/*
 * Opens the store of another process (the daemon's) to read and write
 * volume blocks: no sweep, since the owner may be writing chunks now.
 */
int blockstore_open_reader(const char *dir, struct catalog *cat,
			   struct blockstore **out, struct err *e);
void blockstore_close(struct blockstore *bs);

/*
 * Writes one block of a pending snapshot: data is BLOCK_SIZE bytes whose
 * SHA-256 is hash (the caller checked it).  All-zero data maps the block as
 * zero without storing anything.  Fails with ValidationException if the
 * snapshot is no longer pending.
 */
int blockstore_put_block(struct blockstore *bs, const char *snapshot_id,
			 long long index, const void *data,
			 const unsigned char hash[32], struct err *e);

/*
 * Reads block index of a snapshot into out (BLOCK_SIZE bytes); unmapped
 * blocks read as zeros.  *hash receives the block's SHA-256.
 */
int blockstore_get_block(struct blockstore *bs, const char *snapshot_id,
			 long long index, void *out, unsigned char hash[32],
			 struct err *e);

/* Deletes a snapshot and collects the chunks only it used. */
int blockstore_delete_snapshot(struct blockstore *bs, const char *snapshot_id,
			       struct err *e);

/* Checks every chunk the catalog knows; counts in *checked and *bad. */
int blockstore_verify(struct blockstore *bs, long long *checked,
		      long long *bad, struct err *e);

#endif
