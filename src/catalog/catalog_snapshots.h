/*
 * catalog_snapshots: snapshot rows, their block maps, chunk rows,
 * create-volume permissions and tags.
 *
 * Functions that change state expect the caller to hold a transaction
 * (catalog_begin) and say so; readers need none.  Lookups return 1 when
 * found, 0 when not, -1 on error.
 */
#ifndef AMIBOX_CATALOG_SNAPSHOTS_H
#define AMIBOX_CATALOG_SNAPSHOTS_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "util/ids.h"

#define SNAPSHOT_DESCRIPTION_MAX 1024 /* bytes; 255 characters of UTF-8 */

struct snapshot {
	char id[ID_MAX];
	char owner_id[13];
	char volume_id[ID_MAX];
	char status[16];         /* pending, completed, error */
	char status_message[256];
	long long start_ms;
	long long complete_ms;   /* 0 while pending */
	long long deadline_ms;   /* pending snapshots turn to error after it */
	long long volume_size;   /* GiB */
	char description[SNAPSHOT_DESCRIPTION_MAX];
	char parent_id[ID_MAX];  /* "" when none */
	char source_id[ID_MAX];  /* CopySnapshot's source, "" when none */
	char client_token[72];   /* "" when none */
	char request_digest[72]; /* what the token's request asked for */
	int progress;            /* percent */
	long long block_count;   /* non-zero blocks */
};

struct tag {
	char *key;
	char *value;
};

struct tag_list {
	struct tag *items;
	size_t count;
};

void tag_list_add(struct tag_list *list, const char *key, const char *value);
void tag_list_release(struct tag_list *list);

/* A vector of 32-byte hashes (chunks to remove after a commit). */
struct hash_list {
	unsigned char (*items)[32];
	size_t count;
};
void hash_list_add(struct hash_list *list, const unsigned char hash[32]);
void hash_list_release(struct hash_list *list);

/* ---- snapshot rows ------------------------------------------------------ */

/* In a transaction. */
int catalog_snapshot_insert(struct catalog *c, const struct snapshot *s,
			    struct err *e);
int catalog_snapshot_get(struct catalog *c, const char *id, struct snapshot *s,
			 struct err *e);
int catalog_snapshot_by_token(struct catalog *c, const char *owner_id,
			      const char *token, struct snapshot *s,
			      struct err *e);
/* In a transaction: sets status, message, progress and completion time. */
int catalog_snapshot_set_state(struct catalog *c, const char *id,
			       const char *status, const char *message,
			       int progress, long long complete_ms,
			       struct err *e);
/*
 * In a transaction: deletes the snapshot with its blocks, permissions and
 * tags; adds to garbage the hashes no block references any more (their
 * chunk rows are deleted too: unlink their files after the commit).
 */
int catalog_snapshot_delete(struct catalog *c, const char *id,
			    struct hash_list *garbage, struct err *e);
/*
 * Marks pending snapshots whose deadline passed as error ("the snapshot
 * was not completed in time").  Runs its own transaction.
 */
int catalog_snapshot_expire(struct catalog *c, long long now_ms, struct err *e);

/* 1 if account may read/restore the snapshot (owner, grantee, public). */
int catalog_snapshot_visible(struct catalog *c, const struct snapshot *s,
			     const char *account_id, struct err *e);

/*
 * Calls fn for each snapshot account may see with an ID greater than after
 * ("" for the start), in ID order, with its tags, until fn returns non-zero.
 */
int catalog_snapshot_each_visible(struct catalog *c, const char *account_id,
				  const char *after,
				  int (*fn)(void *ctx, const struct snapshot *s,
					    const struct tag_list *tags),
				  void *ctx, struct err *e);

/* ---- permissions -------------------------------------------------------- */

/* Grantees ("all" or account IDs) in sorted order; caller frees each. */
int catalog_snapshot_grantees(struct catalog *c, const char *id,
			      char ***grantees, size_t *count, struct err *e);
/* In a transaction. */
int catalog_snapshot_grant(struct catalog *c, const char *id,
			   const char *grantee, struct err *e);
int catalog_snapshot_revoke(struct catalog *c, const char *id,
			    const char *grantee, struct err *e);
int catalog_snapshot_revoke_all(struct catalog *c, const char *id,
				struct err *e);

/* ---- blocks and chunks -------------------------------------------------- */

/* The zero block's hash: such blocks are mapped but never stored. */
const unsigned char *catalog_zero_block_hash(void);

int catalog_block_get(struct catalog *c, const char *snapshot_id,
		      long long index, unsigned char hash[32], struct err *e);
/* 1 if a chunk row exists for hash. */
int catalog_chunk_known(struct catalog *c, const unsigned char hash[32],
			struct err *e);
/*
 * In a transaction: maps index to hash in the snapshot (as changed by this
 * snapshot), records the chunk row (unless hash is the zero block's), and
 * adds the replaced hash to garbage if nothing references it any more.
 */
int catalog_block_put(struct catalog *c, const char *snapshot_id,
		      long long index, const unsigned char hash[32],
		      long long stored_bytes, struct hash_list *garbage,
		      struct err *e);
/* In a transaction: copies from's block map into to, as unchanged blocks. */
int catalog_blocks_copy(struct catalog *c, const char *from, const char *to,
			struct err *e);
/*
 * The blocks changed in snapshot_id: their count, and the LINEAR aggregate
 * (SHA-256 over their raw digests in ascending index order).  Also sets
 * *nonzero to the number of mapped non-zero blocks.
 */
int catalog_blocks_changed(struct catalog *c, const char *snapshot_id,
			   long long *count, unsigned char aggregate[32],
			   long long *nonzero, struct err *e);

struct block_ref {
	long long index;
	unsigned char hash[32];
};
/*
 * Up to limit non-zero blocks of snapshot_id with index >= start, in order;
 * *refs is caller-freed; returns the count or -1.
 */
long long catalog_blocks_range(struct catalog *c, const char *snapshot_id,
			       long long start, long long limit,
			       struct block_ref **refs, struct err *e);
/* Bytes stored in the chunk store (compressed), and the chunk count. */
int catalog_chunk_totals(struct catalog *c, long long *chunks,
			 long long *bytes, struct err *e);

/* ---- settings ----------------------------------------------------------- */

/*
 * The named secret (e.g. the key that signs block tokens), created with
 * random bytes on first use.  len <= 64.
 */
int catalog_secret(struct catalog *c, const char *name, unsigned char *out,
		   size_t len, struct err *e);

/* ---- tags --------------------------------------------------------------- */

int catalog_tags_get(struct catalog *c, const char *resource_id,
		     struct tag_list *tags, struct err *e);

/*
 * One owner's tags on resources with IDs in (lo, hi), read in ID order
 * beside a scan of those resources in the same order: one statement for a
 * whole Describe instead of one per resource.  Open, then take the tags of
 * each resource of the owner in ascending ID order, then close.
 */
struct tag_stream {
	struct catalog *c;
	void *stmt;   /* sqlite3_stmt, stepped one row ahead */
	int have_row; /* the statement stands on a row, of resource id */
	char id[64];
};
int catalog_tag_stream_open(struct catalog *c, struct tag_stream *ts,
			    const char *owner_id, const char *lo,
			    const char *hi, struct err *e);
/* Appends resource_id's tags to tags (resource IDs taken must ascend). */
int catalog_tag_stream_take(struct tag_stream *ts, const char *resource_id,
			    struct tag_list *tags, struct err *e);
void catalog_tag_stream_close(struct tag_stream *ts);
/* In a transaction: creates or overwrites one tag. */
int catalog_tag_set(struct catalog *c, const char *resource_id,
		    const char *resource_type, const char *owner_id,
		    const char *key, const char *value, struct err *e);
/*
 * In a transaction: deletes the tag key of the resource, only if its value
 * equals value when value is non-NULL; key NULL deletes every tag.
 */
int catalog_tag_delete(struct catalog *c, const char *resource_id,
		       const char *key, const char *value, struct err *e);
long long catalog_tag_count(struct catalog *c, const char *resource_id,
			    struct err *e);

struct tag_row {
	const char *resource_id;
	const char *resource_type;
	const char *key;
	const char *value;
};
/*
 * Calls fn for each tag on owner's resources, ordered by resource ID then
 * key, starting after (after_resource, after_key) when those are non-NULL.
 */
int catalog_tags_each(struct catalog *c, const char *owner_id,
		      const char *after_resource, const char *after_key,
		      int (*fn)(void *ctx, const struct tag_row *row),
		      void *ctx, struct err *e);

#endif
