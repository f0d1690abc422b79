/*
 * Unit tests for the chunk store (src/blockstore/chunkstore.c): round trips,
 * dedup, corruption and missing chunks, injected I/O failures through a
 * fault-injecting chunkstore_fs_ops table, sweep, and concurrent puts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockstore/chunkstore.h"
#include "util/codec.h"

#define TEST_LEVEL 3
#define TEST_THREADS 4

/* What the fault-injecting table does wrong. */
enum test_fault {
	FAULT_NONE,
	FAULT_WRITE,                  /* every write: ENOSPC */
	FAULT_FILE_FSYNC,             /* fsync of a regular file: EIO */
	FAULT_FILE_CLOSE,             /* close of a regular file: EIO */
	FAULT_RENAME,                 /* rename: EXDEV */
	FAULT_DIR_FSYNC,              /* every fsync of a directory: EIO */
	FAULT_DIR_FSYNC_AFTER_RENAME, /* directory fsync once renamed: EIO */
	FAULT_SHORT_WRITES,           /* one EINTR, then at most 1000 bytes */
};

/*
 * The table's state.  Global because the table's functions take no context;
 * counters are atomic because the concurrency tests share it.
 */
static struct {
	enum test_fault fault;
	atomic_int writes;
	atomic_int renames;
	atomic_int renamed; /* a rename has succeeded since the reset */
	atomic_int interrupted;
} fake;

static void fake_reset(enum test_fault fault)
{
	fake.fault = fault;
	atomic_store(&fake.writes, 0);
	atomic_store(&fake.renames, 0);
	atomic_store(&fake.renamed, 0);
	atomic_store(&fake.interrupted, 0);
}

/* S_IFREG, S_IFDIR, ... of fd, or 0 if fstat fails. */
static mode_t fd_type(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

static int fake_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static ssize_t fake_write(int fd, const void *buf, size_t len)
{
	atomic_fetch_add(&fake.writes, 1);
	if (fake.fault == FAULT_WRITE) {
		errno = ENOSPC;
		return -1;
	}
	if (fake.fault == FAULT_SHORT_WRITES) {
		if (!atomic_exchange(&fake.interrupted, 1)) {
			errno = EINTR;
			return -1;
		}
		if (len > 1000)
			len = 1000;
	}
	return write(fd, buf, len);
}

static int fake_fsync(int fd)
{
	mode_t type = fd_type(fd);
	int fail = 0;

	if (type == S_IFREG)
		fail = fake.fault == FAULT_FILE_FSYNC;
	else if (type == S_IFDIR)
		fail = fake.fault == FAULT_DIR_FSYNC ||
		       (fake.fault == FAULT_DIR_FSYNC_AFTER_RENAME &&
			atomic_load(&fake.renamed));
	if (fail) {
		errno = EIO;
		return -1;
	}
	return fsync(fd);
}

static int fake_rename(const char *from, const char *to)
{
	atomic_fetch_add(&fake.renames, 1);
	if (fake.fault == FAULT_RENAME) {
		errno = EXDEV;
		return -1;
	}
	if (rename(from, to) < 0)
		return -1;
	atomic_store(&fake.renamed, 1);
	return 0;
}

/* Like Linux, a failing close still releases the descriptor. */
static int fake_close(int fd)
{
	int fail = fake.fault == FAULT_FILE_CLOSE && fd_type(fd) == S_IFREG;

	if (close(fd) < 0)
		return -1;
	if (fail) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static const struct chunkstore_fs_ops fake_fs = {
	.open = fake_open,
	.write = fake_write,
	.fsync = fake_fsync,
	.rename = fake_rename,
	.close = fake_close,
};

/* One test's temporary directory and the store opened in it. */
struct fixture {
	char tmp[64];    /* the mkdtemp directory, removed afterwards */
	char store[128]; /* tmp/store/nested: chunkstore_open makes it */
	struct chunkstore *cs;
};

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	struct err e = ERR_INIT;

	if (!fx)
		return -1;
	snprintf(fx->tmp, sizeof fx->tmp, "/tmp/chunkstore-test-XXXXXX");
	if (!mkdtemp(fx->tmp)) {
		free(fx);
		return -1;
	}
	snprintf(fx->store, sizeof fx->store, "%s/store/nested", fx->tmp);
	fake_reset(FAULT_NONE);
	if (chunkstore_open(fx->store, &fake_fs, TEST_LEVEL, &fx->cs, &e) < 0) {
		fprintf(stderr, "chunkstore_open: %s\n", e.message);
		nftw(fx->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	chunkstore_close(fx->cs);
	nftw(fx->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Counts regular files under a tree; nftw callbacks take no context. */
static size_t counted_files;
static size_t counted_temps;

static int count_entry(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	(void)flag;
	if (!S_ISREG(st->st_mode))
		return 0;
	counted_files++;
	if (strncmp(path + ftw->base, ".tmp-", 5) == 0)
		counted_temps++;
	return 0;
}

static size_t count_files(const char *dir, size_t *temps)
{
	counted_files = counted_temps = 0;
	assert_int_equal(nftw(dir, count_entry, 16, FTW_PHYS), 0);
	if (temps)
		*temps = counted_temps;
	return counted_files;
}

static unsigned char *random_data(size_t len)
{
	unsigned char *data = malloc(len ? len : 1);

	assert_non_null(data);
	codec_random(data, len);
	return data;
}

/* Text that zstd shrinks a lot, but not to nothing. */
static unsigned char *compressible_data(size_t len)
{
	unsigned char *data = malloc(len ? len : 1);

	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)("amibox chunk store "[i % 19] +
					  (i / 4096) % 3);
	return data;
}

static void chunk_path(const struct fixture *fx,
		       const unsigned char hash[CHUNK_HASH_LEN], char *out,
		       size_t size)
{
	char hex[2 * CHUNK_HASH_LEN + 1];

	codec_hex(hash, CHUNK_HASH_LEN, hex);
	snprintf(out, size, "%s/%.2s/%.2s/%s.zst", fx->store, hex, hex + 2,
		 hex);
}

/* Puts data, reads it back and checks it; returns the stored size. */
static size_t round_trip(struct chunkstore *cs, const unsigned char *data,
			 size_t len)
{
	unsigned char hash[CHUNK_HASH_LEN];
	unsigned char *back = malloc(CHUNK_MAX_SIZE);
	struct err e = ERR_INIT;
	size_t stored = 0;
	size_t back_len = 0;

	assert_non_null(back);
	codec_sha256(data, len, hash);
	assert_int_equal(chunkstore_put(cs, hash, data, len, &stored, &e), 0);
	assert_true(stored > 0);
	assert_int_equal(chunkstore_exists(cs, hash), 1);
	assert_int_equal(chunkstore_get(cs, hash, back, CHUNK_MAX_SIZE,
					&back_len, &e), 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, data, len);
	free(back);
	return stored;
}

static void test_round_trip_random(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = random_data(CHUNK_MAX_SIZE);
	unsigned char hash[CHUNK_HASH_LEN];
	char path[PATH_MAX];
	struct stat st;

	round_trip(fx->cs, data, CHUNK_MAX_SIZE);
	/* The layout is DIR/ab/cd/<hex>.zst, and nothing else is left. */
	codec_sha256(data, CHUNK_MAX_SIZE, hash);
	chunk_path(fx, hash, path, sizeof path);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(count_files(fx->store, NULL), 1);
	free(data);
}

static void test_round_trip_compressible(void **state)
{
	struct fixture *fx = *state;
	static const size_t sizes[] = { 1, 4097, CHUNK_MAX_SIZE };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *data = compressible_data(sizes[i]);
		size_t stored = round_trip(fx->cs, data, sizes[i]);
		if (sizes[i] > 1)
			assert_true(stored < sizes[i]);
		free(data);
	}
}

static void test_round_trip_empty(void **state)
{
	struct fixture *fx = *state;
	unsigned char none[1] = { 0 };

	round_trip(fx->cs, none, 0);
}

static void test_put_too_big(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = random_data(CHUNK_MAX_SIZE + 1);
	unsigned char hash[CHUNK_HASH_LEN];
	struct err e = ERR_INIT;

	codec_sha256(data, CHUNK_MAX_SIZE + 1, hash);
	assert_int_equal(chunkstore_put(fx->cs, hash, data, CHUNK_MAX_SIZE + 1,
					NULL, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(count_files(fx->store, NULL), 0);
	free(data);
}

static void test_dedup(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = compressible_data(CHUNK_MAX_SIZE);
	unsigned char hash[CHUNK_HASH_LEN];
	char path[PATH_MAX];
	struct err e = ERR_INIT;
	struct stat before, after;
	size_t first = 0, second = 0;

	codec_sha256(data, CHUNK_MAX_SIZE, hash);
	assert_int_equal(chunkstore_put(fx->cs, hash, data, CHUNK_MAX_SIZE,
					&first, &e), 0);
	chunk_path(fx, hash, path, sizeof path);
	assert_int_equal(stat(path, &before), 0);
	int writes = atomic_load(&fake.writes);
	int renames = atomic_load(&fake.renames);
	assert_true(writes > 0);

	assert_int_equal(chunkstore_put(fx->cs, hash, data, CHUNK_MAX_SIZE,
					&second, &e), 0);
	assert_int_equal(atomic_load(&fake.writes), writes);
	assert_int_equal(atomic_load(&fake.renames), renames);
	assert_int_equal(second, first);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(count_files(fx->store, NULL), 1);
	free(data);
}

static void test_exists_remove(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = random_data(4096);
	unsigned char hash[CHUNK_HASH_LEN];
	unsigned char back[4096];
	struct err e = ERR_INIT;
	size_t len;

	codec_sha256(data, 4096, hash);
	assert_int_equal(chunkstore_exists(fx->cs, hash), 0);
	assert_int_equal(chunkstore_put(fx->cs, hash, data, 4096, NULL, &e), 0);
	assert_int_equal(chunkstore_exists(fx->cs, hash), 1);
	assert_int_equal(chunkstore_remove(fx->cs, hash, &e), 0);
	assert_int_equal(chunkstore_exists(fx->cs, hash), 0);
	/* Absent is not an error. */
	assert_int_equal(chunkstore_remove(fx->cs, hash, &e), 0);
	assert_int_equal(chunkstore_get(fx->cs, hash, back, sizeof back, &len,
					&e), -1);
	assert_int_equal(e.status, 404);
	free(data);
}

static void test_get_missing(void **state)
{
	struct fixture *fx = *state;
	unsigned char hash[CHUNK_HASH_LEN];
	char hex[2 * CHUNK_HASH_LEN + 1];
	char expected[128];
	unsigned char back[16];
	struct err e = ERR_INIT;
	size_t len = 7;

	codec_random(hash, sizeof hash);
	codec_hex(hash, sizeof hash, hex);
	assert_int_equal(chunkstore_get(fx->cs, hash, back, sizeof back, &len,
					&e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "ChunkNotFound");
	snprintf(expected, sizeof expected, "chunk %s is missing", hex);
	assert_string_equal(e.message, expected);
	assert_int_equal(len, 7);
}

/* Puts data, lets damage() spoil the file, and expects get to say corrupt. */
static void expect_corrupt_after(struct fixture *fx, const unsigned char *data,
				 size_t len, void (*damage)(const char *path))
{
	unsigned char hash[CHUNK_HASH_LEN];
	unsigned char *back = malloc(CHUNK_MAX_SIZE);
	char hex[2 * CHUNK_HASH_LEN + 1];
	char expected[128];
	char path[PATH_MAX];
	struct err e = ERR_INIT;
	size_t back_len = 0;

	assert_non_null(back);
	codec_sha256(data, len, hash);
	codec_hex(hash, sizeof hash, hex);
	assert_int_equal(chunkstore_put(fx->cs, hash, data, len, NULL, &e), 0);
	chunk_path(fx, hash, path, sizeof path);
	/* Chunk files are read-only; the test plays a failing disk. */
	assert_int_equal(chmod(path, 0644), 0);
	damage(path);
	assert_int_equal(chunkstore_get(fx->cs, hash, back, CHUNK_MAX_SIZE,
					&back_len, &e), -1);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "InternalError");
	snprintf(expected, sizeof expected, "chunk %s is corrupt", hex);
	assert_string_equal(e.message, expected);
	free(back);
}

static void flip_middle_byte(const char *path)
{
	struct stat st;
	unsigned char byte;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pread(fd, &byte, 1, st.st_size / 2), 1);
	byte ^= 0x01;
	assert_int_equal(pwrite(fd, &byte, 1, st.st_size / 2), 1);
	close(fd);
}

static void truncate_half(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
}

static void replace_with_text(const char *path)
{
	static const char text[] = "not a zstd frame at all\n";
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof text - 1), sizeof text - 1);
	close(fd);
}

static void test_get_corrupt(void **state)
{
	struct fixture *fx = *state;
	unsigned char *random = random_data(CHUNK_MAX_SIZE);
	unsigned char *text = compressible_data(CHUNK_MAX_SIZE);

	/* Random data is stored raw: a flipped bit survives decompression. */
	expect_corrupt_after(fx, random, CHUNK_MAX_SIZE, flip_middle_byte);
	expect_corrupt_after(fx, text, CHUNK_MAX_SIZE, flip_middle_byte);
	random[0] ^= 1;
	expect_corrupt_after(fx, random, CHUNK_MAX_SIZE, truncate_half);
	text[0] ^= 1;
	expect_corrupt_after(fx, text, CHUNK_MAX_SIZE, replace_with_text);
	free(random);
	free(text);
}

static void test_get_small_buffer(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = compressible_data(8192);
	unsigned char hash[CHUNK_HASH_LEN];
	unsigned char back[4096];
	struct err e = ERR_INIT;
	size_t len = 0;

	codec_sha256(data, 8192, hash);
	assert_int_equal(chunkstore_put(fx->cs, hash, data, 8192, NULL, &e), 0);
	assert_int_equal(chunkstore_get(fx->cs, hash, back, sizeof back, &len,
					&e), -1);
	assert_int_equal(e.status, 500);
	assert_null(strstr(e.message, "corrupt"));
	free(data);
}

/*
 * Puts a chunk with fault injected: the put fails with InternalError and the
 * cause in the message, and leaves no chunk and no temp file.  Then, with the
 * fault gone, the same put succeeds (the failure poisoned nothing).
 */
static void expect_put_failure(struct fixture *fx, enum test_fault fault,
			       int errnum)
{
	unsigned char *data = random_data(CHUNK_MAX_SIZE);
	unsigned char hash[CHUNK_HASH_LEN];
	struct err e = ERR_INIT;
	size_t temps = 0;

	codec_sha256(data, CHUNK_MAX_SIZE, hash);
	fake_reset(fault);
	assert_int_equal(chunkstore_put(fx->cs, hash, data, CHUNK_MAX_SIZE,
					NULL, &e), -1);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "InternalError");
	assert_non_null(strstr(e.message, strerror(errnum)));
	assert_int_equal(chunkstore_exists(fx->cs, hash), 0);
	assert_int_equal(count_files(fx->store, &temps), 0);
	assert_int_equal(temps, 0);

	fake_reset(FAULT_NONE);
	round_trip(fx->cs, data, CHUNK_MAX_SIZE);
	assert_int_equal(count_files(fx->store, &temps), 1);
	assert_int_equal(temps, 0);
	free(data);
}

static void test_write_fails(void **state)
{
	expect_put_failure(*state, FAULT_WRITE, ENOSPC);
}

static void test_fsync_fails(void **state)
{
	expect_put_failure(*state, FAULT_FILE_FSYNC, EIO);
}

static void test_close_fails(void **state)
{
	expect_put_failure(*state, FAULT_FILE_CLOSE, EIO);
}

static void test_rename_fails(void **state)
{
	expect_put_failure(*state, FAULT_RENAME, EXDEV);
}

/* The first put into a fresh store fails making its directories durable. */
static void test_dir_fsync_fails_on_mkdir(void **state)
{
	expect_put_failure(*state, FAULT_DIR_FSYNC, EIO);
}

/* The chunk is renamed into place, then its directory fsync fails. */
static void test_dir_fsync_fails_after_rename(void **state)
{
	struct fixture *fx = *state;

	expect_put_failure(fx, FAULT_DIR_FSYNC_AFTER_RENAME, EIO);
	assert_true(atomic_load(&fake.renames) > 0);
}

static void test_short_writes(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = random_data(CHUNK_MAX_SIZE);

	fake_reset(FAULT_SHORT_WRITES);
	round_trip(fx->cs, data, CHUNK_MAX_SIZE);
	assert_true(atomic_load(&fake.writes) > CHUNK_MAX_SIZE / 1000);
	free(data);
}

/* Sweep's view of the catalog: one referenced hash, one whose lookup fails. */
struct references {
	unsigned char kept[CHUNK_HASH_LEN];
	unsigned char lookup_fails[CHUNK_HASH_LEN];
};

static int is_referenced(void *ctx, const unsigned char hash[CHUNK_HASH_LEN])
{
	const struct references *refs = ctx;

	if (memcmp(hash, refs->lookup_fails, CHUNK_HASH_LEN) == 0)
		return -1;
	return memcmp(hash, refs->kept, CHUNK_HASH_LEN) == 0;
}

static void write_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static void test_sweep(void **state)
{
	struct fixture *fx = *state;
	unsigned char hashes[4][CHUNK_HASH_LEN];
	unsigned char *chunks[4];
	struct references refs;
	char path[PATH_MAX + 64];
	char chunk[PATH_MAX];
	struct err e = ERR_INIT;
	size_t removed = 0;
	size_t temps = 0;

	for (int i = 0; i < 4; i++) {
		chunks[i] = random_data(4096);
		codec_sha256(chunks[i], 4096, hashes[i]);
		assert_int_equal(chunkstore_put(fx->cs, hashes[i], chunks[i],
						4096, NULL, &e), 0);
	}
	memcpy(refs.kept, hashes[0], CHUNK_HASH_LEN);
	memcpy(refs.lookup_fails, hashes[1], CHUNK_HASH_LEN);

	/* A temp file a crash left, and names that are none of the store's. */
	chunk_path(fx, hashes[0], chunk, sizeof chunk);
	*strrchr(chunk, '/') = '\0';
	snprintf(path, sizeof path, "%s/.tmp-left-by-a-crash", chunk);
	write_file(path);
	snprintf(path, sizeof path, "%s/notes.txt", chunk);
	write_file(path);
	snprintf(path, sizeof path, "%s/README", fx->store);
	write_file(path);
	snprintf(path, sizeof path, "%s/zz", fx->store);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/zz/%064d.zst", fx->store, 0);
	write_file(path);

	assert_int_equal(chunkstore_sweep(fx->cs, is_referenced, &refs,
					  &removed, &e), 0);
	/* Chunks 2 and 3 and the temp file; a failed lookup keeps chunk 1. */
	assert_int_equal(removed, 3);
	assert_int_equal(chunkstore_exists(fx->cs, hashes[0]), 1);
	assert_int_equal(chunkstore_exists(fx->cs, hashes[1]), 1);
	assert_int_equal(chunkstore_exists(fx->cs, hashes[2]), 0);
	assert_int_equal(chunkstore_exists(fx->cs, hashes[3]), 0);
	/* Two chunks and three unrelated files remain, no temp file. */
	assert_int_equal(count_files(fx->store, &temps), 5);
	assert_int_equal(temps, 0);
	round_trip(fx->cs, chunks[0], 4096);

	/* A second sweep finds nothing more to do. */
	assert_int_equal(chunkstore_sweep(fx->cs, is_referenced, &refs,
					  &removed, &e), 0);
	assert_int_equal(removed, 0);
	for (int i = 0; i < 4; i++)
		free(chunks[i]);
}

/* One thread of a concurrency test. */
struct putter {
	pthread_t thread;
	pthread_barrier_t *start;
	struct chunkstore *cs;
	const unsigned char *data; /* NULL: put distinct random chunks */
	size_t len;
	int failures;
	struct err e;
};

static void *put_same_chunk(void *arg)
{
	struct putter *p = arg;
	unsigned char hash[CHUNK_HASH_LEN];

	codec_sha256(p->data, p->len, hash);
	pthread_barrier_wait(p->start);
	if (chunkstore_put(p->cs, hash, p->data, p->len, NULL, &p->e) < 0)
		p->failures++;
	return NULL;
}

static void test_concurrent_same_chunk(void **state)
{
	struct fixture *fx = *state;
	struct putter putters[TEST_THREADS];
	unsigned char *data = random_data(CHUNK_MAX_SIZE);
	pthread_barrier_t start;
	struct chunkstore *cs = NULL;
	struct err e = ERR_INIT;
	char dir[PATH_MAX];
	size_t temps = 0;

	/* The real table this time, in a store of its own. */
	snprintf(dir, sizeof dir, "%s/posix", fx->tmp);
	assert_int_equal(chunkstore_open(dir, NULL, TEST_LEVEL, &cs, &e), 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, TEST_THREADS), 0);
	for (int i = 0; i < TEST_THREADS; i++) {
		putters[i] = (struct putter){
			.start = &start, .cs = cs, .data = data,
			.len = CHUNK_MAX_SIZE, .e = ERR_INIT,
		};
		assert_int_equal(pthread_create(&putters[i].thread, NULL,
						put_same_chunk, &putters[i]), 0);
	}
	for (int i = 0; i < TEST_THREADS; i++) {
		pthread_join(putters[i].thread, NULL);
		assert_int_equal(putters[i].failures, 0);
	}
	pthread_barrier_destroy(&start);

	assert_int_equal(count_files(dir, &temps), 1);
	assert_int_equal(temps, 0);
	round_trip(cs, data, CHUNK_MAX_SIZE);
	chunkstore_close(cs);
	free(data);
}

static void *put_many_chunks(void *arg)
{
	struct putter *p = arg;
	unsigned char chunk[4096];
	unsigned char back[4096];
	unsigned char hash[CHUNK_HASH_LEN];
	size_t len;

	pthread_barrier_wait(p->start);
	for (int i = 0; i < 32; i++) {
		codec_random(chunk, sizeof chunk);
		codec_sha256(chunk, sizeof chunk, hash);
		if (chunkstore_put(p->cs, hash, chunk, sizeof chunk, NULL,
				   &p->e) < 0 ||
		    chunkstore_get(p->cs, hash, back, sizeof back, &len,
				   &p->e) < 0 ||
		    len != sizeof chunk || memcmp(back, chunk, len) != 0)
			p->failures++;
	}
	return NULL;
}

static void test_concurrent_many_chunks(void **state)
{
	struct fixture *fx = *state;
	struct putter putters[TEST_THREADS];
	pthread_barrier_t start;
	size_t temps = 0;

	assert_int_equal(pthread_barrier_init(&start, NULL, TEST_THREADS), 0);
	for (int i = 0; i < TEST_THREADS; i++) {
		putters[i] = (struct putter){
			.start = &start, .cs = fx->cs, .e = ERR_INIT,
		};
		assert_int_equal(pthread_create(&putters[i].thread, NULL,
						put_many_chunks, &putters[i]), 0);
	}
	for (int i = 0; i < TEST_THREADS; i++) {
		pthread_join(putters[i].thread, NULL);
		assert_int_equal(putters[i].failures, 0);
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(count_files(fx->store, &temps), TEST_THREADS * 32);
	assert_int_equal(temps, 0);
}

static void test_open_errors(void **state)
{
	struct fixture *fx = *state;
	struct chunkstore *cs = NULL;
	struct err e = ERR_INIT;
	char path[PATH_MAX];

	assert_int_equal(chunkstore_open(fx->store, NULL, 1000, &cs, &e), -1);
	assert_int_equal(e.status, 400);
	assert_null(cs);

	/* A file where the store should be. */
	err_clear(&e);
	snprintf(path, sizeof path, "%s/file", fx->tmp);
	write_file(path);
	assert_int_equal(chunkstore_open(path, NULL, TEST_LEVEL, &cs, &e), -1);
	assert_int_equal(e.status, 500);
	assert_null(cs);

	/* Re-opening an existing store, with a trailing slash, works. */
	err_clear(&e);
	snprintf(path, sizeof path, "%s/", fx->store);
	assert_int_equal(chunkstore_open(path, NULL, TEST_LEVEL, &cs, &e), 0);
	chunkstore_close(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_round_trip_random),
		T(test_round_trip_compressible),
		T(test_round_trip_empty),
		T(test_put_too_big),
		T(test_dedup),
		T(test_exists_remove),
		T(test_get_missing),
		T(test_get_corrupt),
		T(test_get_small_buffer),
		T(test_write_fails),
		T(test_fsync_fails),
		T(test_close_fails),
		T(test_rename_fails),
		T(test_dir_fsync_fails_on_mkdir),
		T(test_dir_fsync_fails_after_rename),
		T(test_short_writes),
		T(test_sweep),
		T(test_concurrent_same_chunk),
		T(test_concurrent_many_chunks),
		T(test_open_errors),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
