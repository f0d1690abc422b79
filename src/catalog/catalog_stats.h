/*
 * catalog_stats: what the operator's gauges read from the catalog at each
 * scrape of /metrics, and the health check's probe.
 *
 * Readers only: no transaction, each figure one statement on this thread's
 * connection (WAL readers never wait for writers), so a scrape never holds
 * a lock the API needs.  Figures read by different statements may be a
 * commit apart.  Functions return 0, or -1 with e set.
 */
#ifndef AMIBOX_CATALOG_STATS_H
#define AMIBOX_CATALOG_STATS_H

#include <stddef.h>

#include "catalog/catalog.h"

/* How many rows are in one state, and the sum of a size column over them. */
struct catalog_state_count {
	char state[24];
	long long count;
	long long sum;
};

#define CATALOG_STATS_STATES_MAX 16

/* Instances by state (sum: 0). *n gets the number of states filled. */
int catalog_stats_instances(struct catalog *c, struct catalog_state_count *out, size_t cap,
			    size_t *n, struct err *e);
/* Volumes by state (sum: their sizes in GiB). */
int catalog_stats_volumes(struct catalog *c, struct catalog_state_count *out, size_t cap,
			  size_t *n, struct err *e);
/* Images by state (sum: 0). */
int catalog_stats_images(struct catalog *c, struct catalog_state_count *out, size_t cap,
			 size_t *n, struct err *e);

struct catalog_store_stats {
	long long snapshots;
	long long logical_blocks; /* non-zero blocks of every snapshot's map */
	long long chunks;         /* distinct blocks in the chunk store */
	long long chunk_bytes;    /* their files' sizes (compressed) */
	long long buckets;
	long long objects;
	long long object_bytes;
};

/*
 * The stores' totals.  A completed snapshot's blocks are its block_count
 * (counted from its map when it completed); a pending one's map is counted
 * now.
 */
int catalog_stats_store(struct catalog *c, struct catalog_store_stats *out, struct err *e);

/*
 * Calls fn for every instance that may have a QEMU process (not stopped or
 * terminated, a pid recorded), with its ID and pid; stops at fn's non-zero.
 */
int catalog_stats_machines(struct catalog *c,
			   int (*fn)(void *ctx, const char *instance_id, long long pid),
			   void *ctx, struct err *e);

/*
 * Reads the catalog afresh: opens its file again, read-only, and reads its
 * schema and version, as a process starting now would.  So a catalog file
 * that went missing, unreadable or corrupt is noticed even while this
 * process's open connections still serve from their caches.
 */
int catalog_stats_probe(struct catalog *c, struct err *e);

#endif
