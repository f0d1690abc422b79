/*
 * catalog_s3: the object store's metadata (buckets, objects, multipart
 * uploads and their parts).  The bytes live in files of the object store
 * (objstore.h); a row names its file.  A write that replaces or removes a
 * row hands the old file's name back, so that the caller unlinks it only
 * after the change committed: a crash leaves at worst an orphan file, which
 * the daemon's start sweeps away, never a row without its bytes.
 */
#ifndef AMIBOX_CATALOG_CATALOG_S3_H
#define AMIBOX_CATALOG_CATALOG_S3_H

#include "catalog/catalog.h"

#define S3_BUCKET_MAX 64
#define S3_KEY_MAX 1024
#define S3_META_MAX 4096
#define S3_FILE_MAX 40
#define S3_CHECKSUM_MAX 64       /* base64 of a SHA-256, or of a composite "-10000" */
#define S3_ALGORITHM_MAX 8       /* CRC32, CRC32C, SHA1, SHA256 */

struct bucket_row {
	char name[S3_BUCKET_MAX];
	char owner_id[13];
	char acl[32];            /* a canned ACL: private, public-read, ... */
	long long create_ms;
};

struct object_row {
	char bucket[S3_BUCKET_MAX];
	char key[S3_KEY_MAX + 1];
	char owner_id[13];
	long long size;
	char etag[48];           /* hex MD5, or hex MD5 of MD5s "-N" */
	char content_type[256];
	char metadata[S3_META_MAX]; /* "name:value\n" lines, names lowercase */
	char acl[32];
	long long modified_ms;
	char file[S3_FILE_MAX];
	int parts_count;         /* 0 unless made by a multipart upload */
	char checksum_algorithm[S3_ALGORITHM_MAX]; /* "" when none is kept */
	char checksum_type[12];  /* FULL_OBJECT, COMPOSITE */
	char checksum[S3_CHECKSUM_MAX]; /* base64; a composite one ends in "-N" */
};

struct upload_row {
	char id[64];
	char bucket[S3_BUCKET_MAX];
	char key[S3_KEY_MAX + 1];
	char owner_id[13];
	char content_type[256];
	char metadata[S3_META_MAX];
	char acl[32];
	long long create_ms;
	char checksum_algorithm[S3_ALGORITHM_MAX]; /* "" when none was asked for */
};

struct part_row {
	int number;
	long long size;
	char etag[48];
	long long modified_ms;
	char file[S3_FILE_MAX];
	char checksum[S3_CHECKSUM_MAX]; /* of the upload's algorithm, or "" */
};

/* One part of a completed multipart object: where its bytes are. */
struct object_part {
	int number;              /* as uploaded */
	long long first_byte, size;
	char checksum[S3_CHECKSUM_MAX];
};

/* Creates the bucket; 0 when created, 1 when the name is taken (*existing filled). */
int catalog_bucket_create(struct catalog *c, const struct bucket_row *b,
			  struct bucket_row *existing, struct err *e);
/* 1 found, 0 not, -1 error. */
int catalog_bucket_get(struct catalog *c, const char *name, struct bucket_row *b,
		       struct err *e);
/* The owner's buckets by name; fn returns nonzero to stop. */
int catalog_bucket_each(struct catalog *c, const char *owner_id,
			int (*fn)(void *ctx, const struct bucket_row *b), void *ctx,
			struct err *e);
/* Deletes an empty bucket: BucketNotEmpty (409) when objects or uploads remain. */
int catalog_bucket_delete(struct catalog *c, const char *name, struct err *e);
int catalog_bucket_set_acl(struct catalog *c, const char *name, const char *acl,
			   struct err *e);

/*
 * Stores the object row, replacing any with its key; old_file gets the
 * replaced row's file ("" if none).  NoSuchBucket if the bucket is gone.
 */
int catalog_object_put(struct catalog *c, const struct object_row *o,
		       char old_file[S3_FILE_MAX], struct err *e);
int catalog_object_get(struct catalog *c, const char *bucket, const char *key,
		       struct object_row *o, struct err *e);
/*
 * The position-th part (1 for the first) of the object (bucket, key)
 * stored in file (so that a replaced object's parts are never taken for
 * it): 1 found, 0 not, -1 error.
 */
int catalog_object_part(struct catalog *c, const char *bucket, const char *key,
			const char *file, int position, struct object_part *p, struct err *e);
/* Deletes the row if any; old_file gets its file ("" if there was none). */
int catalog_object_delete(struct catalog *c, const char *bucket, const char *key,
			  char old_file[S3_FILE_MAX], struct err *e);
int catalog_object_set_acl(struct catalog *c, const char *bucket, const char *key,
			   const char *acl, struct err *e);
/*
 * Objects of bucket with from < key (from <= key when inclusive) and, when
 * below is non-NULL, key < below, in byte order, at most limit of them;
 * fn returns nonzero to stop.  Returns the number visited or -1.
 */
int catalog_object_scan(struct catalog *c, const char *bucket, const char *from,
			int inclusive, const char *below, int limit,
			int (*fn)(void *ctx, const struct object_row *o), void *ctx,
			struct err *e);

int catalog_upload_create(struct catalog *c, const struct upload_row *u,
			  struct err *e);
int catalog_upload_get(struct catalog *c, const char *id, struct upload_row *u,
		       struct err *e);
/* The bucket's uploads in progress, by key then age (caller frees). */
int catalog_uploads(struct catalog *c, const char *bucket, struct upload_row **uploads,
		    size_t *count, struct err *e);
/*
 * Stores a part, replacing one with its number; old_file as for objects.
 * NoSuchUpload if the upload ended meanwhile.
 */
int catalog_part_put(struct catalog *c, const char *upload_id,
		     const struct part_row *p, char old_file[S3_FILE_MAX],
		     struct err *e);
/* The upload's parts by number (caller frees *parts). */
int catalog_parts(struct catalog *c, const char *upload_id,
		  struct part_row **parts, size_t *count, struct err *e);
/*
 * Ends an upload: deletes its rows and, when o is non-NULL, stores o (the
 * completed object) and its nparts parts, in order, in the same
 * transaction.  files gets every file no longer referenced (parts, a
 * replaced object; caller frees).  NoSuchUpload if it already ended.
 */
int catalog_upload_finish(struct catalog *c, const char *upload_id,
			  const struct object_row *o, const struct object_part *parts,
			  size_t nparts, char ***files, size_t *count, struct err *e);
/* Every file an object or part row names, sorted (caller frees). */
int catalog_s3_files(struct catalog *c, char ***files, size_t *count, struct err *e);

#endif
