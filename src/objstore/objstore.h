/*
 * objstore: the bytes of S3 objects and multipart parts, one file each.
 *
 * Layout under DIR/objects: tmp/ holds spools (bodies being received);
 * a finished spool is fsynced and renamed to XX/YYYY… (32 random hex
 * digits, the first two a subdirectory) and the directory fsynced, before
 * the catalog row that names it commits.  So an acknowledged object is on
 * disk, a half-received one is never visible, and a crash leaves at worst
 * an orphan file that objstore_sweep() removes at the next start.
 *
 * A spool hashes what it is given as it goes: MD5 (the ETag), SHA-256 (the
 * SigV4 payload hash) and, on request, the x-amz-checksum-* algorithms.
 */
#ifndef AMIBOX_OBJSTORE_OBJSTORE_H
#define AMIBOX_OBJSTORE_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog_s3.h"
#include "util/buf.h"
#include "util/err.h"

struct objstore;
struct objstore_spool;

int objstore_open(const char *data_dir, struct objstore **out, struct err *e);
void objstore_close(struct objstore *s);
/* Removes spools and files no catalog row names (at start, before serving). */
int objstore_sweep(struct objstore *s, struct catalog *cat, struct err *e);

/* The path of a stored file. */
void objstore_path(const struct objstore *s, const char *file, struct buf *out);
/* Removes a stored file (after the row naming it is gone). */
void objstore_unlink(struct objstore *s, const char *file);

enum objstore_checksum {
	OBJSTORE_CRC32 = 1,
	OBJSTORE_CRC32C = 2,
	OBJSTORE_SHA1 = 4,
	OBJSTORE_SHA256 = 8,   /* a spool computes it always (the SigV4 payload hash) */
};

int objstore_spool_begin(struct objstore *s, unsigned checksums,
			 struct objstore_spool **out, struct err *e);
int objstore_spool_write(struct objstore_spool *sp, const void *data, size_t len,
			 struct err *e);
uint64_t objstore_spool_size(const struct objstore_spool *sp);
/* The digests of everything written (valid once writing is done). */
void objstore_spool_md5(struct objstore_spool *sp, unsigned char md5[16]);
void objstore_spool_sha256(struct objstore_spool *sp, unsigned char sha[32]);
/*
 * The base64 value x-amz-checksum-<algorithm> would carry, for an
 * algorithm asked for at begin; "" otherwise.
 */
void objstore_spool_checksum(struct objstore_spool *sp, enum objstore_checksum which,
			     char out[64]);
/*
 * The base64 value x-amz-checksum-<algorithm> carries for len bytes at
 * data (S3's multipart checksums are checksums of the parts' checksums).
 */
void objstore_checksum(enum objstore_checksum which, const void *data, size_t len,
		       char out[64]);
/* Makes the spool durable under a new file name (file gets it); frees sp. */
int objstore_spool_commit(struct objstore_spool *sp, char file[S3_FILE_MAX],
			  struct err *e);
/* Throws the spool away; frees sp.  NULL is fine. */
void objstore_spool_abort(struct objstore_spool *sp);

/*
 * Writes the files, in order, into a new stored file (a completed
 * multipart upload); md5 gets the MD5 of the whole.
 */
int objstore_concat(struct objstore *s, char *const files[], size_t count,
		    char file[S3_FILE_MAX], unsigned char md5[16], struct err *e);

#endif
