/*
 * volsnap: snapshots of volumes, point in time and incremental.
 *
 * CreateSnapshot calls volsnap_capture, which freezes the volume for as
 * long as it takes to copy the blocks written since the volume's last
 * snapshot into a capture file (time in proportion to those blocks, never
 * to the volume's size), records the pending snapshot and thaws the volume.
 * A worker thread then builds the snapshot: the volume's map snapshot's
 * block map, plus the captured blocks stored as chunks, and completes it;
 * the snapshot becomes the volume's new map snapshot.  Jobs run in order,
 * so a second snapshot of a volume always builds on the first.
 *
 * A capture file (DIR/captures/<snap-id>) is renamed into place before the
 * snapshot row is committed and removed after the snapshot completes, so a
 * daemon restart finds every pending volume snapshot's capture again.
 */
#ifndef AMIBOX_BLOCKSTORE_VOLSNAP_H
#define AMIBOX_BLOCKSTORE_VOLSNAP_H

#include "blockstore/blockstore.h"
#include "catalog/catalog_snapshots.h"
#include "catalog/catalog_volumes.h"

struct volsnap;

/* Starts the worker and requeues the captures a restart left pending. */
int volsnap_start(const char *dir, struct catalog *cat, struct blockstore *bs,
		  struct volsnap **out, struct err *e);
void volsnap_stop(struct volsnap *vs);

/*
 * Captures vol now and queues the snapshot s (filled by the caller: ID,
 * owner, description; this sets volume, size and state) with tags.
 */
int volsnap_capture(struct volsnap *vs, const struct volume_row *vol,
		    struct snapshot *s, const struct tag_list *tags,
		    struct err *e);
/* Waits until no queued or running job concerns the volume. */
void volsnap_wait_volume(struct volsnap *vs, const char *volume_id);
/*
 * Deletes snapshot id if it is disowned (owner '') and no volume needs it
 * any more: called when a volume lets go of its base or map snapshot.
 */
void volsnap_release(struct volsnap *vs, const char *snapshot_id);

#endif
