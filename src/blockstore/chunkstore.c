/*
 * chunkstore: durable, content-addressed, zstd-compressed chunk files (see
 * chunkstore.h for the calling sequence).
 *
 * Design notes
 * ============
 *
 * Layout.  The chunk with SHA-256 h (64 lowercase hex digits "abcd...") lives
 * in DIR/ab/cd/abcd....zst, zstd-compressed.  Two levels of 256-way fan-out
 * keep every directory small.  While it is being written a chunk is a temp
 * file DIR/ab/cd/.tmp-<hex>-<16 random hex>, created with O_EXCL, so two
 * writers of one chunk (threads or processes) never share a temp file.
 *
 * Life of a chunk file, with the function behind each transition:
 *
 *	absent --chunkstore_write_temp()--> temp (.tmp-*, complete, fsynced)
 *	temp   --rename in chunkstore_put()--> named (final name, entry not
 *	                                        yet durable)
 *	named  --chunkstore_fsync_dir()-----> stored (put returns 0)
 *	temp, named --failure in chunkstore_put()--> absent (unlinked)
 *	stored --chunkstore_remove() or chunkstore_sweep()--> absent
 *	temp left by a crash --chunkstore_sweep()--> absent
 *
 * Invariants:
 *
 *  1. A file with a final name is complete: its bytes were fsynced before
 *     the rename gave it that name, so a crash never leaves a final-named
 *     file with partial content.
 *
 *  2. No caller is told a chunk is stored before the file and its directory
 *     entry are durable.  put returns 0 for a new chunk only after the fsync
 *     of the chunk's directory.  If that fsync fails the final file is
 *     unlinked again, so a failed put leaves nothing behind.
 *
 *  3. Every put of one hash runs under one of CHUNKSTORE_LOCKS mutexes,
 *     chosen by the hash, from the dedup check to the directory fsync (or the
 *     unlink after a failure).  So a dedup hit ("already present, return 0")
 *     never sees a file that another thread of this process has renamed but
 *     not yet made durable, and the unlink after a failed directory fsync
 *     never removes a chunk that another caller was told is stored.  One
 *     process owns a store; the locks do not span processes.
 *
 *  4. A directory is used only once this process knows its entry is
 *     durable.  chunkstore_prepare_dir() creates DIR/ab and DIR/ab/cd if
 *     needed and fsyncs each parent, and fsyncs DIR/ab/cd itself, the first
 *     time this process puts into DIR/ab/cd, whether or not it created the
 *     directory: an earlier process may have created it, or renamed chunks
 *     into it, and died before its fsync.  That also makes the dedup hit of
 *     invariant 3 safe for chunks an earlier process left.  An atomic flag
 *     per directory remembers that this has been done.
 *
 *  5. Temp files are never referenced.  Nothing outside this file knows
 *     their names; a temp file that outlives its put (a crash) is garbage
 *     that chunkstore_sweep() removes.
 *
 *  6. Reads verify content.  chunkstore_get() decompresses and checks the
 *     SHA-256 of the result against the name before reporting success;
 *     anything else is "corrupt", never wrong data.
 *
 *  7. Sweep runs only while no put can run (at start-up): it cannot tell a
 *     temp file of a live put from one left by a crash, and the catalog's
 *     reference set must not change under it.
 *
 * Writes (temp files and directory fsyncs) go through the chunkstore_fs_ops
 * table so that tests can inject I/O failures; reads, stats, mkdir and
 * unlink call POSIX directly.
 */
#include "blockstore/chunkstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "util/buf.h"
#include "util/codec.h"

#define CHUNKSTORE_HEX_LEN (2 * CHUNK_HASH_LEN)
#define CHUNKSTORE_SUFFIX ".zst"
#define CHUNKSTORE_TMP_PREFIX ".tmp-"
#define CHUNKSTORE_NAME_LEN (CHUNKSTORE_HEX_LEN + sizeof CHUNKSTORE_SUFFIX - 1)
/* Enough that two puts of different chunks rarely wait for each other. */
#define CHUNKSTORE_LOCKS 1024
/* Bytes of randomness in a temp file name, after the hash. */
#define CHUNKSTORE_TMP_RANDOM 8
/* The longest suffix appended to DIR: "/ab/cd/.tmp-<64 hex>-<16 hex>". */
#define CHUNKSTORE_PATH_EXTRA                                              \
	(sizeof "/ab/cd/" CHUNKSTORE_TMP_PREFIX + CHUNKSTORE_HEX_LEN + 1 + \
	 2 * CHUNKSTORE_TMP_RANDOM)

struct chunkstore {
	char *dir; /* owned; no trailing slash unless it is "/" */
	const struct chunkstore_fs_ops *fs;
	int level;
	/* Invariant 4: set once DIR/ab (resp. DIR/ab/cd) is known durable. */
	atomic_uchar top_ready[256];
	atomic_uchar dir_ready[256 * 256];
	pthread_mutex_t locks[CHUNKSTORE_LOCKS];
	size_t nlocks; /* how many of locks[] are initialised */
};

/* The names of one chunk.  chunkstore_open() checked that they fit. */
struct chunk_names {
	char hex[CHUNKSTORE_HEX_LEN + 1];
	unsigned top;            /* index of DIR/ab: hash[0] */
	unsigned fanout;         /* index of DIR/ab/cd: hash[0], hash[1] */
	char top_dir[PATH_MAX];  /* DIR/ab */
	char dir[PATH_MAX];      /* DIR/ab/cd */
	char final[PATH_MAX];    /* DIR/ab/cd/<hex>.zst */
};

static int chunkstore_posix_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static ssize_t chunkstore_posix_write(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len);
}

static int chunkstore_posix_fsync(int fd)
{
	return fsync(fd);
}

static int chunkstore_posix_rename(const char *from, const char *to)
{
	return rename(from, to);
}

static int chunkstore_posix_close(int fd)
{
	return close(fd);
}

const struct chunkstore_fs_ops chunkstore_posix_fs = {
	.open = chunkstore_posix_open,
	.write = chunkstore_posix_write,
	.fsync = chunkstore_posix_fsync,
	.rename = chunkstore_posix_rename,
	.close = chunkstore_posix_close,
};

/*
 * snprintf for the fixed-size path buffers.  chunkstore_open() bounded the
 * store's directory so that every name fits; a truncated path would name the
 * wrong file, so if that ever breaks, stop rather than go on.
 */
static void chunkstore_path(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void chunkstore_path(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		abort();
}

static void chunkstore_names(const struct chunkstore *cs,
			     const unsigned char hash[CHUNK_HASH_LEN],
			     struct chunk_names *names)
{
	codec_hex(hash, CHUNK_HASH_LEN, names->hex);
	names->top = hash[0];
	names->fanout = (unsigned)hash[0] << 8 | hash[1];
	chunkstore_path(names->top_dir, sizeof names->top_dir, "%s/%.2s",
			cs->dir, names->hex);
	chunkstore_path(names->dir, sizeof names->dir, "%s/%.2s/%.2s", cs->dir,
			names->hex, names->hex + 2);
	chunkstore_path(names->final, sizeof names->final, "%s/%s%s",
			names->dir, names->hex, CHUNKSTORE_SUFFIX);
}

/* The lock of invariant 3; bytes 2 and 3 are as random as any others. */
static pthread_mutex_t *chunkstore_lock(struct chunkstore *cs,
					const unsigned char hash[CHUNK_HASH_LEN])
{
	unsigned index = (unsigned)hash[2] << 8 | hash[3];

	return &cs->locks[index % CHUNKSTORE_LOCKS];
}

static int chunkstore_corrupt(struct err *e, const char *hex)
{
	return err_set(e, 500, "InternalError", "chunk %s is corrupt", hex);
}

/*
 * Makes path's own entry and its contents durable: open the directory, fsync,
 * close, each through the fs table.  Fails if any of the three fails.
 */
static int chunkstore_fsync_dir(const struct chunkstore *cs, const char *path,
				struct err *e)
{
	int fd = -1;
	int closed;
	int ret = -1;

	fd = cs->fs->open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		err_internal(e, "open directory %s: %s", path, strerror(errno));
		goto out;
	}
	if (cs->fs->fsync(fd) < 0) {
		err_internal(e, "fsync directory %s: %s", path,
			     strerror(errno));
		goto out;
	}
	/* A failed close may be a deferred write error; the fd is gone. */
	closed = cs->fs->close(fd);
	fd = -1;
	if (closed < 0) {
		err_internal(e, "close directory %s: %s", path,
			     strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		cs->fs->close(fd);
	return ret;
}

/* fsyncs the directory that holds path, so that path's entry is durable. */
static int chunkstore_fsync_parent(const struct chunkstore *cs,
				   const char *path, struct err *e)
{
	const char *slash = strrchr(path, '/');
	char *parent = NULL;
	int ret;

	if (!slash)
		parent = xstrdup(".");
	else if (slash == path)
		parent = xstrdup("/");
	else
		parent = xstrndup(path, (size_t)(slash - path));
	ret = chunkstore_fsync_dir(cs, parent, e);
	free(parent);
	return ret;
}

/* mkdir that accepts an existing entry; *created says whether it made one. */
static int chunkstore_mkdir(const char *path, int *created, struct err *e)
{
	*created = 0;
	if (mkdir(path, 0755) == 0) {
		*created = 1;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return err_internal(e, "mkdir %s: %s", path, strerror(errno));
}

/*
 * mkdir -p for the store's root.  The entry of each directory made here is
 * made durable by an fsync of its parent; a root that already existed was
 * made by the operator, whose durability is theirs.
 */
static int chunkstore_mkdir_p(const struct chunkstore *cs, const char *path,
			      struct err *e)
{
	char *prefix = xstrdup(path);
	char *p = prefix;
	int ret = -1;

	for (;;) {
		int created;

		/* Search past the current slash: "/a" must not mkdir(""). */
		char *slash = strchr(p + 1, '/');
		if (slash)
			*slash = '\0';
		if (chunkstore_mkdir(prefix, &created, e) < 0)
			goto out;
		if (created && chunkstore_fsync_parent(cs, prefix, e) < 0)
			goto out;
		if (!slash)
			break;
		*slash = '/';
		p = slash;
	}
	ret = 0;
out:
	free(prefix);
	return ret;
}

/*
 * Invariant 4: makes sure DIR/ab and DIR/ab/cd exist and that this process
 * has fsynced their parents and DIR/ab/cd itself.  Racing threads may both
 * do the work; it is idempotent.
 */
static int chunkstore_prepare_dir(struct chunkstore *cs,
				  const struct chunk_names *names,
				  struct err *e)
{
	int created;

	if (atomic_load_explicit(&cs->dir_ready[names->fanout],
				 memory_order_acquire))
		return 0;
	if (!atomic_load_explicit(&cs->top_ready[names->top],
				  memory_order_acquire)) {
		if (chunkstore_mkdir(names->top_dir, &created, e) < 0 ||
		    chunkstore_fsync_dir(cs, cs->dir, e) < 0)
			return -1;
		atomic_store_explicit(&cs->top_ready[names->top], 1,
				      memory_order_release);
	}
	if (chunkstore_mkdir(names->dir, &created, e) < 0 ||
	    chunkstore_fsync_dir(cs, names->top_dir, e) < 0 ||
	    chunkstore_fsync_dir(cs, names->dir, e) < 0)
		return -1;
	atomic_store_explicit(&cs->dir_ready[names->fanout], 1,
			      memory_order_release);
	return 0;
}

#define CHUNKSTORE_ALIGN 4096

/*
 * Writes all of data, resuming after short writes and EINTR.  A file opened
 * with O_DIRECT takes only aligned pieces; if the file system refuses one
 * (EINVAL), the rest goes through the page cache instead.
 */
static int chunkstore_write_all(const struct chunkstore *cs, int fd,
				const void *data, size_t len, const char *path,
				struct err *e)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = cs->fs->write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL) {
			int flags = fcntl(fd, F_GETFL);
			if (flags >= 0 && (flags & O_DIRECT) &&
			    fcntl(fd, F_SETFL, flags & ~O_DIRECT) == 0)
				continue;
			errno = EINVAL;
		}
		/* No progress would loop forever; git calls it a full disk. */
		if (n == 0)
			errno = ENOSPC;
		if (n <= 0)
			return err_internal(e, "write %s: %s", path,
					    strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Creates the temp file path holding data, fsynced and closed.  *created is
 * set as soon as the file exists, so that the caller unlinks it on failure
 * (and never unlinks a file it did not create).
 *
 * data must sit in a CHUNKSTORE_ALIGN-aligned buffer with zeros up to the
 * next multiple of CHUNKSTORE_ALIGN past len: the file is written with
 * O_DIRECT where the file system allows it (a page-cache copy costs more
 * than the disk write here), padded, then cut to len.
 */
static int chunkstore_write_temp(const struct chunkstore *cs, const char *path,
				 const void *data, size_t len, int *created,
				 struct err *e)
{
	int fd = -1;
	int closed;
	int ret = -1;
	size_t padded = (len + CHUNKSTORE_ALIGN - 1) / CHUNKSTORE_ALIGN *
			CHUNKSTORE_ALIGN;
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;

	/* Read-only, as git does for objects: a chunk is never modified. */
	fd = cs->fs->open(path, flags | O_DIRECT, 0444);
	if (fd < 0 && errno == EINVAL)
		fd = cs->fs->open(path, flags, 0444);
	if (fd < 0) {
		err_internal(e, "create %s: %s", path, strerror(errno));
		goto out;
	}
	*created = 1;
	if (chunkstore_write_all(cs, fd, data, padded, path, e) < 0)
		goto out;
	if (padded != len && ftruncate(fd, (off_t)len) < 0) {
		err_internal(e, "truncate %s: %s", path, strerror(errno));
		goto out;
	}
	if (cs->fs->fsync(fd) < 0) {
		err_internal(e, "fsync %s: %s", path, strerror(errno));
		goto out;
	}
	closed = cs->fs->close(fd);
	fd = -1;
	if (closed < 0) {
		err_internal(e, "close %s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		cs->fs->close(fd);
	return ret;
}

/* Compresses data into a new buffer (caller frees) of *packed_len bytes. */
static void *chunkstore_compress(const struct chunkstore *cs, const char *hex,
				 const void *data, size_t len,
				 size_t *packed_len, struct err *e)
{
	size_t bound = ZSTD_compressBound(len);
	size_t cap = (bound + CHUNKSTORE_ALIGN - 1) / CHUNKSTORE_ALIGN *
		     CHUNKSTORE_ALIGN;
	void *packed = NULL;
	/* Aligned and zero-padded for chunkstore_write_temp()'s O_DIRECT. */
	if (posix_memalign(&packed, CHUNKSTORE_ALIGN, cap) != 0)
		abort();
	size_t n = ZSTD_compress(packed, bound, data, len, cs->level);

	if (ZSTD_isError(n)) {
		err_internal(e, "compress chunk %s: %s", hex,
			     ZSTD_getErrorName(n));
		free(packed);
		return NULL;
	}
	memset((char *)packed + n, 0, cap - n);
	*packed_len = n;
	return packed;
}

int chunkstore_open(const char *dir, const struct chunkstore_fs_ops *fs,
		    int compression_level, struct chunkstore **out,
		    struct err *e)
{
	struct chunkstore *cs = NULL;
	struct stat st;
	size_t dir_len = strlen(dir);
	int ret = -1;

	*out = NULL;
	while (dir_len > 1 && dir[dir_len - 1] == '/')
		dir_len--;
	if (dir_len == 0) {
		err_invalid(e, "chunk store directory is empty");
		goto out;
	}
	if (dir_len + CHUNKSTORE_PATH_EXTRA >= PATH_MAX) {
		err_invalid(e, "chunk store directory %s is too long", dir);
		goto out;
	}
	if (compression_level < ZSTD_minCLevel() ||
	    compression_level > ZSTD_maxCLevel()) {
		err_invalid(e, "zstd compression level %d is not in %d..%d",
			    compression_level, ZSTD_minCLevel(),
			    ZSTD_maxCLevel());
		goto out;
	}

	cs = xcalloc(1, sizeof *cs);
	cs->dir = xstrndup(dir, dir_len);
	cs->fs = fs ? fs : &chunkstore_posix_fs;
	cs->level = compression_level;
	for (; cs->nlocks < CHUNKSTORE_LOCKS; cs->nlocks++) {
		int rc = pthread_mutex_init(&cs->locks[cs->nlocks], NULL);
		if (rc != 0) {
			err_internal(e, "pthread_mutex_init: %s", strerror(rc));
			goto out;
		}
	}

	if (chunkstore_mkdir_p(cs, cs->dir, e) < 0)
		goto out;
	if (stat(cs->dir, &st) < 0) {
		err_internal(e, "stat %s: %s", cs->dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_internal(e, "%s: %s", cs->dir, strerror(ENOTDIR));
		goto out;
	}
	*out = cs;
	cs = NULL;
	ret = 0;
out:
	chunkstore_close(cs);
	return ret;
}

void chunkstore_close(struct chunkstore *cs)
{
	if (!cs)
		return;
	for (size_t i = 0; i < cs->nlocks; i++)
		pthread_mutex_destroy(&cs->locks[i]);
	free(cs->dir);
	free(cs);
}

int chunkstore_put(struct chunkstore *cs, const unsigned char hash[CHUNK_HASH_LEN],
		   const void *data, size_t len, size_t *stored_bytes,
		   struct err *e)
{
	struct chunk_names names;
	char tmp[PATH_MAX];
	unsigned char nonce[CHUNKSTORE_TMP_RANDOM];
	char nonce_hex[2 * CHUNKSTORE_TMP_RANDOM + 1];
	pthread_mutex_t *lock = NULL;
	void *packed = NULL;
	size_t packed_len = 0;
	struct stat st;
	int tmp_exists = 0;
	int final_is_ours = 0;
	int ret = -1;

	if (len > CHUNK_MAX_SIZE)
		return err_invalid(e, "chunk of %zu bytes exceeds %d", len,
				   CHUNK_MAX_SIZE);
	chunkstore_names(cs, hash, &names);
	lock = chunkstore_lock(cs, hash);
	pthread_mutex_lock(lock);

	if (chunkstore_prepare_dir(cs, &names, e) < 0)
		goto out;
	/* Invariant 3: under the lock, a present file is a durable one. */
	if (stat(names.final, &st) == 0) {
		if (stored_bytes)
			*stored_bytes = (size_t)st.st_size;
		ret = 0;
		goto out;
	}
	if (errno != ENOENT) {
		err_internal(e, "stat %s: %s", names.final, strerror(errno));
		goto out;
	}

	packed = chunkstore_compress(cs, names.hex, data, len, &packed_len, e);
	if (!packed)
		goto out;
	codec_random(nonce, sizeof nonce);
	codec_hex(nonce, sizeof nonce, nonce_hex);
	chunkstore_path(tmp, sizeof tmp, "%s/%s%s-%s", names.dir,
			CHUNKSTORE_TMP_PREFIX, names.hex, nonce_hex);
	if (chunkstore_write_temp(cs, tmp, packed, packed_len, &tmp_exists,
				  e) < 0)
		goto out;
	if (cs->fs->rename(tmp, names.final) < 0) {
		err_internal(e, "rename %s to %s: %s", tmp, names.final,
			     strerror(errno));
		goto out;
	}
	tmp_exists = 0;
	final_is_ours = 1;
	if (chunkstore_fsync_dir(cs, names.dir, e) < 0)
		goto out;

	if (stored_bytes)
		*stored_bytes = packed_len;
	ret = 0;
out:
	/* Nothing is left behind; the message above already holds the errno. */
	if (ret < 0 && tmp_exists)
		unlink(tmp);
	if (ret < 0 && final_is_ours)
		unlink(names.final);
	pthread_mutex_unlock(lock);
	free(packed);
	return ret;
}

/* Reads exactly len bytes; returns how many it got (fewer at EOF) or -1. */
static ssize_t chunkstore_read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int chunkstore_get(struct chunkstore *cs, const unsigned char hash[CHUNK_HASH_LEN],
		   void *out, size_t cap, size_t *len, struct err *e)
{
	struct chunk_names names;
	unsigned char digest[SHA256_LEN];
	unsigned char *packed = NULL;
	unsigned long long content;
	struct stat st;
	size_t packed_len;
	ssize_t got;
	size_t n;
	int fd = -1;
	int ret = -1;

	chunkstore_names(cs, hash, &names);
	fd = open(names.final, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		err_set(e, 404, "ChunkNotFound", "chunk %s is missing",
			names.hex);
		goto out;
	}
	if (fd < 0) {
		err_internal(e, "open %s: %s", names.final, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		err_internal(e, "stat %s: %s", names.final, strerror(errno));
		goto out;
	}
	/* put never writes more than the bound; a bigger file is not ours. */
	if (st.st_size <= 0 ||
	    (size_t)st.st_size > ZSTD_compressBound(CHUNK_MAX_SIZE)) {
		chunkstore_corrupt(e, names.hex);
		goto out;
	}
	packed_len = (size_t)st.st_size;
	packed = xmalloc(packed_len);
	got = chunkstore_read_all(fd, packed, packed_len);
	if (got < 0) {
		err_internal(e, "read %s: %s", names.final, strerror(errno));
		goto out;
	}
	if ((size_t)got != packed_len) {
		chunkstore_corrupt(e, names.hex);
		goto out;
	}

	content = ZSTD_getFrameContentSize(packed, packed_len);
	if (content == ZSTD_CONTENTSIZE_ERROR ||
	    content == ZSTD_CONTENTSIZE_UNKNOWN || content > CHUNK_MAX_SIZE) {
		chunkstore_corrupt(e, names.hex);
		goto out;
	}
	if (content > cap) {
		err_internal(e, "chunk %s holds %llu bytes, buffer only %zu",
			     names.hex, content, cap);
		goto out;
	}
	n = ZSTD_decompress(out, cap, packed, packed_len);
	if (ZSTD_isError(n) || n != content) {
		chunkstore_corrupt(e, names.hex);
		goto out;
	}
	/* Invariant 6: the name is the promise; check the bytes keep it. */
	codec_sha256(out, n, digest);
	if (memcmp(digest, hash, CHUNK_HASH_LEN) != 0) {
		chunkstore_corrupt(e, names.hex);
		goto out;
	}
	*len = n;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(packed);
	return ret;
}

/*
 * Under the put lock so that a chunk whose put is still in flight (and may
 * yet be unlinked) is not reported; this is presence, not a durability
 * promise for chunks of an earlier process: to store a chunk, call put.
 */
int chunkstore_exists(struct chunkstore *cs,
		      const unsigned char hash[CHUNK_HASH_LEN])
{
	struct chunk_names names;
	pthread_mutex_t *lock = chunkstore_lock(cs, hash);
	struct stat st;
	int found;

	chunkstore_names(cs, hash, &names);
	pthread_mutex_lock(lock);
	found = stat(names.final, &st) == 0;
	pthread_mutex_unlock(lock);
	return found;
}

/*
 * A removal need not be durable: a chunk that comes back after a crash is
 * unreferenced and the next sweep removes it.
 */
int chunkstore_remove(struct chunkstore *cs,
		      const unsigned char hash[CHUNK_HASH_LEN], struct err *e)
{
	struct chunk_names names;
	pthread_mutex_t *lock = chunkstore_lock(cs, hash);
	int ret = 0;

	chunkstore_names(cs, hash, &names);
	pthread_mutex_lock(lock);
	if (unlink(names.final) < 0 && errno != ENOENT)
		ret = err_internal(e, "unlink %s: %s", names.final,
				   strerror(errno));
	pthread_mutex_unlock(lock);
	return ret;
}

/* What one sweep carries down the directory tree. */
struct chunkstore_sweep {
	const struct chunkstore *cs;
	int (*is_referenced)(void *ctx,
			     const unsigned char hash[CHUNK_HASH_LEN]);
	void *ctx;
	size_t removed;
	struct err *e;
};

static int chunkstore_is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A fan-out directory's name: two lowercase hex digits. */
static int chunkstore_is_fanout_name(const char *name)
{
	return chunkstore_is_lower_hex(name[0]) &&
	       chunkstore_is_lower_hex(name[1]) && name[2] == '\0';
}

/*
 * Decodes a chunk file name that belongs in DIR/top/leaf; 0 for any other
 * name, including a chunk name in the wrong directory (get could never find
 * it, so it is not a chunk of this store; it is left alone).
 */
static int chunkstore_parse_chunk_name(const char *name, const char *top,
				       const char *leaf,
				       unsigned char hash[CHUNK_HASH_LEN])
{
	char canonical[CHUNKSTORE_HEX_LEN + 1];

	if (strlen(name) != CHUNKSTORE_NAME_LEN ||
	    strcmp(name + CHUNKSTORE_HEX_LEN, CHUNKSTORE_SUFFIX) != 0 ||
	    codec_unhex(name, hash, CHUNK_HASH_LEN) < 0)
		return 0;
	/* codec_unhex takes upper case too; the store only writes lower. */
	codec_hex(hash, CHUNK_HASH_LEN, canonical);
	return memcmp(canonical, name, CHUNKSTORE_HEX_LEN) == 0 &&
	       memcmp(name, top, 2) == 0 && memcmp(name + 2, leaf, 2) == 0;
}

/*
 * Opens the subdirectory name of parent_fd for reading; NULL with *skip set
 * when it is not a directory (an unrelated file, or a symlink, which the
 * store never makes).
 */
static DIR *chunkstore_open_subdir(struct chunkstore_sweep *sweep,
				   int parent_fd, const char *name,
				   int *skip)
{
	DIR *d;
	int fd;

	*skip = 0;
	fd = openat(parent_fd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT)
			*skip = 1;
		else
			err_internal(sweep->e, "open %s/%s: %s", sweep->cs->dir,
				     name, strerror(errno));
		return NULL;
	}
	d = fdopendir(fd);
	if (!d) {
		err_internal(sweep->e, "fdopendir %s/%s: %s", sweep->cs->dir,
			     name, strerror(errno));
		close(fd);
	}
	return d;
}

static int chunkstore_sweep_unlink(struct chunkstore_sweep *sweep, DIR *d,
				   const char *top, const char *leaf,
				   const char *name)
{
	if (unlinkat(dirfd(d), name, 0) < 0 && errno != ENOENT)
		return err_internal(sweep->e, "unlink %s/%s/%s/%s: %s",
				    sweep->cs->dir, top, leaf, name,
				    strerror(errno));
	sweep->removed++;
	return 0;
}

/* Sweeps DIR/top/leaf: temp files and unreferenced chunks go. */
static int chunkstore_sweep_leaf(struct chunkstore_sweep *sweep, int top_fd,
				 const char *top, const char *leaf)
{
	unsigned char hash[CHUNK_HASH_LEN];
	struct dirent *entry;
	DIR *d = NULL;
	int skip;
	int ret = -1;

	d = chunkstore_open_subdir(sweep, top_fd, leaf, &skip);
	if (!d) {
		ret = skip ? 0 : -1;
		goto out;
	}
	for (;;) {
		errno = 0;
		entry = readdir(d);
		if (!entry)
			break;
		const char *name = entry->d_name;
		int doomed = 0;
		if (strncmp(name, CHUNKSTORE_TMP_PREFIX,
			    strlen(CHUNKSTORE_TMP_PREFIX)) == 0)
			doomed = 1; /* invariants 5 and 7 */
		else if (chunkstore_parse_chunk_name(name, top, leaf, hash))
			/* Only an explicit 0 removes: errors keep data. */
			doomed = sweep->is_referenced(sweep->ctx, hash) == 0;
		if (doomed &&
		    chunkstore_sweep_unlink(sweep, d, top, leaf, name) < 0)
			goto out;
	}
	if (errno != 0) {
		err_internal(sweep->e, "readdir %s/%s/%s: %s", sweep->cs->dir,
			     top, leaf, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	return ret;
}

static int chunkstore_sweep_top(struct chunkstore_sweep *sweep, int root_fd,
				const char *top)
{
	struct dirent *entry;
	DIR *d = NULL;
	int skip;
	int ret = -1;

	d = chunkstore_open_subdir(sweep, root_fd, top, &skip);
	if (!d) {
		ret = skip ? 0 : -1;
		goto out;
	}
	for (;;) {
		errno = 0;
		entry = readdir(d);
		if (!entry)
			break;
		if (chunkstore_is_fanout_name(entry->d_name) &&
		    chunkstore_sweep_leaf(sweep, dirfd(d), top,
					  entry->d_name) < 0)
			goto out;
	}
	if (errno != 0) {
		err_internal(sweep->e, "readdir %s/%s: %s", sweep->cs->dir,
			     top, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (d)
		closedir(d);
	return ret;
}

int chunkstore_sweep(struct chunkstore *cs,
		     int (*is_referenced)(void *ctx,
					  const unsigned char hash[CHUNK_HASH_LEN]),
		     void *ctx, size_t *removed, struct err *e)
{
	struct chunkstore_sweep sweep = {
		.cs = cs,
		.is_referenced = is_referenced,
		.ctx = ctx,
		.removed = 0,
		.e = e,
	};
	struct dirent *entry;
	DIR *root = NULL;
	int ret = -1;

	root = opendir(cs->dir);
	if (!root) {
		err_internal(e, "opendir %s: %s", cs->dir, strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		entry = readdir(root);
		if (!entry)
			break;
		if (chunkstore_is_fanout_name(entry->d_name) &&
		    chunkstore_sweep_top(&sweep, dirfd(root),
					 entry->d_name) < 0)
			goto out;
	}
	if (errno != 0) {
		err_internal(e, "readdir %s: %s", cs->dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (root)
		closedir(root);
	if (removed)
		*removed = sweep.removed;
	return ret;
}
