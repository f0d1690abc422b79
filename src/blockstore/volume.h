/*
 * volume: an EBS volume's bytes: lazily filled from a snapshot, written in
 * place, and sealed into snapshots in time proportional to what changed.
 *
 * Files, in DIR/volumes/<vol-id>/:
 *   data  a sparse file of the volume's size: the blocks the volume owns.
 *   map   a header (size, the "base snapshot") and one flag byte per 512 KiB
 *         block: PRESENT (the block's bytes are in data) and CHANGED
 *         (written since the volume's last snapshot was captured).
 *
 * Reading block i: from data if PRESENT, or if the volume has no base
 * snapshot (then data is the whole truth, holes read as zeros); otherwise
 * from the base snapshot's chunk (the lazy part).  The base snapshot is the
 * one the volume was created from, and never changes.  Writing block i that is
 * not PRESENT first copies the snapshot's block into data and makes it
 * durable, then sets PRESENT (so a crash never exposes a half-filled block);
 * every write sets CHANGED.  FLUSH makes data and map durable.
 *
 * Invariants:
 *  1. A block whose PRESENT flag is durable has its base content durable in
 *     data (fdatasync before the flag is set).
 *  2. With a base snapshot, CHANGED implies PRESENT.  Blocks neither
 *     PRESENT nor CHANGED hold the base snapshot's content.
 *  3. The catalog's "map snapshot" of a volume (its last snapshot, else its
 *     base) maps the volume's content except the CHANGED blocks, so the next
 *     snapshot is that map plus the captured changes.  Neither it nor the
 *     base is deleted while a volume names it: the catalog disowns it.
 *
 * Concurrency: the NBD server (another process) takes a shared flock on the
 * map file around every request; volume_freeze takes it exclusively, so a
 * snapshot sees a point in time between whole requests.
 *
 * Serving: whoever serves a volume to a machine (the nbdkit plugin) holds an
 * exclusive flock on DIR/volumes/<id>/lock for as long as it serves.  So a
 * second server of the same volume cannot start, and a volume is known to
 * be out of every machine's reach when nobody holds that lock (the kernel
 * drops it when the server dies, however it dies).
 */
#ifndef AMIBOX_BLOCKSTORE_VOLUME_H
#define AMIBOX_BLOCKSTORE_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "blockstore/blockstore.h"
#include "util/err.h"
#include "util/ids.h"

#define VOLUME_MAX_GIB 16384
/* Decoded snapshot blocks an open volume keeps (8 MiB). */
#define VOLUME_CACHE_BLOCKS 16
#define VOLUME_FLAG_PRESENT 0x01
#define VOLUME_FLAG_CHANGED 0x02

struct volume;

/*
 * Creates the files of a new volume (size in GiB; base_snapshot may be "")
 * in a directory of its own, which must not exist yet.  On failure (a full
 * disk) nothing of it is left.
 */
int volume_create(const char *dir, const char *id, long long size_gib,
		  const char *base_snapshot, struct err *e);
/* Removes a volume's files (absent ones are fine). */
int volume_remove(const char *dir, const char *id, struct err *e);

int volume_open(const char *dir, const char *id, struct volume **out,
		struct err *e);

/*
 * Takes the serving lock of a volume, waiting a moment for a concurrent
 * volume_served() check to let go.  Returns the descriptor that holds it
 * (keep it open while serving; close it to stop), or -1: VolumeInUse when
 * another process serves the volume.
 */
int volume_serve_lock(const char *dir, const char *id, struct err *e);
/* 1 if a process serves the volume (holds its serving lock), 0 if none, -1 on error. */
int volume_served(const char *dir, const char *id, struct err *e);
void volume_close(struct volume *v);

uint64_t volume_size(const struct volume *v);
/* The base snapshot's ID ("" when none), copied into out. */
void volume_base_snapshot(const struct volume *v, char out[ID_MAX]);

/*
 * Reads and writes bytes.  bs is the block store the base snapshot's chunks
 * are read from.  Each call holds the shared lock for its duration.
 */
int volume_read(struct volume *v, struct blockstore *bs, void *buf,
		uint32_t count, uint64_t offset, struct err *e);
int volume_write(struct volume *v, struct blockstore *bs, const void *buf,
		 uint32_t count, uint64_t offset, struct err *e);
int volume_flush(struct volume *v, struct err *e);

/* Grows the volume to size_gib (never shrinks). */
int volume_grow(struct volume *v, long long size_gib, struct err *e);

/* Exclusive lock: no request runs until volume_thaw. */
int volume_freeze(struct volume *v, struct err *e);
void volume_thaw(struct volume *v);

/*
 * While frozen: copies every CHANGED block into the file path (block index
 * as 8 bytes little-endian, then BLOCK_SIZE bytes, per block), fsyncs it,
 * and returns how many blocks it holds.
 */
long long volume_capture_changes(struct volume *v, const char *path,
				 struct err *e);
/* While frozen: clears every CHANGED flag (after a capture was recorded). */
int volume_clear_changes(struct volume *v, struct err *e);
/* Sets CHANGED again on the blocks of a capture that could not be kept. */
int volume_mark_changes(struct volume *v, const char *path, struct err *e);

#endif
