/*
 * chunkstore: durable, content-addressed, compressed chunk files.
 *
 * A chunk is the content of one 512 KiB block, named by the SHA-256 of its
 * uncompressed bytes and stored zstd-compressed as one file under
 * DIR/ab/cd/<64 hex>.  The chunk store knows nothing of snapshots or
 * reference counts: the catalog decides which chunks are referenced, and this
 * module only guarantees that a chunk reported stored is durable and that a
 * chunk read back is exactly what was stored (its hash is checked on read).
 *
 * Calling sequence: chunkstore_open(); chunkstore_put()/get()/remove() from
 * any thread; chunkstore_sweep() at start-up, before serving; chunkstore_close().
 * Errors: -1 with struct err set (500 InternalError for I/O failures, with
 * the cause in the message).
 */
#ifndef AMIBOX_BLOCKSTORE_CHUNKSTORE_H
#define AMIBOX_BLOCKSTORE_CHUNKSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define CHUNK_HASH_LEN 32
#define CHUNK_MAX_SIZE (512 * 1024)

/*
 * The file-system calls the chunk store makes, as a table so that tests can
 * inject failures (a write that fails, an fsync that fails, a rename that
 * fails).  chunkstore_posix_fs is the real one.
 */
struct chunkstore_fs_ops {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*close)(int fd);
};
extern const struct chunkstore_fs_ops chunkstore_posix_fs;

struct chunkstore;

/* Opens (creating if needed) the store in dir; fs NULL means the real one. */
int chunkstore_open(const char *dir, const struct chunkstore_fs_ops *fs,
		    int compression_level, struct chunkstore **out,
		    struct err *e);
void chunkstore_close(struct chunkstore *cs);

/*
 * Stores data (len <= CHUNK_MAX_SIZE) under hash, which the caller computed
 * as SHA-256(data).  Durable when it returns 0: temp file in the chunk's
 * directory, write, fsync, rename, fsync of the directory.  If the chunk is
 * already present it is not written again.  *stored_bytes (may be NULL)
 * receives the compressed size on disk.  On failure nothing is left behind.
 */
int chunkstore_put(struct chunkstore *cs, const unsigned char hash[CHUNK_HASH_LEN],
		   const void *data, size_t len, size_t *stored_bytes,
		   struct err *e);

/*
 * Reads the chunk into out (capacity cap bytes), sets *len, and checks that
 * SHA-256 of what was read equals hash (500 InternalError "chunk ... is
 * corrupt" if not; 404 "ChunkNotFound" if there is no such chunk).
 */
int chunkstore_get(struct chunkstore *cs, const unsigned char hash[CHUNK_HASH_LEN],
		   void *out, size_t cap, size_t *len, struct err *e);

/* 1 if a chunk file exists for hash, else 0. */
int chunkstore_exists(struct chunkstore *cs,
		      const unsigned char hash[CHUNK_HASH_LEN]);

/* Removes a chunk file; absent is not an error. */
int chunkstore_remove(struct chunkstore *cs,
		      const unsigned char hash[CHUNK_HASH_LEN], struct err *e);

/*
 * Walks the store: removes leftover temp files, and every chunk file for
 * which is_referenced(ctx, hash) returns 0.  Counts go to *removed (may be
 * NULL).  Call only while no put can run.
 */
int chunkstore_sweep(struct chunkstore *cs,
		     int (*is_referenced)(void *ctx,
					  const unsigned char hash[CHUNK_HASH_LEN]),
		     void *ctx, size_t *removed, struct err *e);

#endif
