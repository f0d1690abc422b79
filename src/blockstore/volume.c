/* volume: lazily filled, snapshot-able volume files (see volume.h). */
#include "blockstore/volume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

#define VOLUME_MAGIC "AMIBOXV1"
#define VOLUME_HEADER 4096
/* Data lives in segment files data.0, data.1, ... of 1 TiB (ext4 files stop
 * short of 16 TiB); a missing segment reads as zeros. */
#define VOLUME_SEGMENT_SHIFT 40
#define VOLUME_SEGMENTS ((VOLUME_MAX_GIB >> 10) + 1)
/* The flag area covers the largest volume, so growing never remaps. */
#define VOLUME_MAX_BLOCKS ((uint64_t)VOLUME_MAX_GIB * BLOCKS_PER_GIB)
#define VOLUME_MAP_BYTES (VOLUME_HEADER + VOLUME_MAX_BLOCKS)

struct volume_header {
	char magic[8];
	uint64_t size;               /* bytes */
	char base_snapshot[ID_MAX];   /* "" when none */
};

struct volume {
	char *dir;                   /* DIR/volumes/<id> */
	int seg_fd[VOLUME_SEGMENTS]; /* -1 until opened */
	int map_fd;
	unsigned char *map;          /* VOLUME_MAP_BYTES, shared */
	struct volume_header *hdr;
	unsigned char *flags;
	/*
	 * Decoded snapshot blocks, least recently used first out: readers
	 * that come back to the same blocks in small pieces (PV-GRUB through
	 * libext2fs, a guest's file system through NBD) decompress and verify
	 * each block once, not once per piece.
	 */
	struct volume_cached {
		long long index;        /* -1: empty */
		unsigned long long used; /* v->cache_clock when last read */
		unsigned char *data;    /* BLOCK_SIZE, allocated on first use */
	} cache[VOLUME_CACHE_BLOCKS];
	unsigned long long cache_clock;
	unsigned char *scratch;      /* BLOCK_SIZE */
};

static int volume_errno(struct err *e, const char *what, const char *id)
{
	return err_internal(e, "volume%s%s: %s: %s", *id ? " " : "", id, what,
			    strerror(errno));
}

/* Whole-buffer pread/pwrite. */
static int full_pread(int fd, void *buf, size_t len, off_t off)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) /* past the end of a sparse file: zeros */
				memset(p, 0, len);
			return n < 0 ? -1 : 0;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int full_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static void volume_paths(const char *dir, const char *id, struct buf *vdir,
			 struct buf *map)
{
	buf_printf(vdir, "%s/volumes/%s", dir, id);
	buf_printf(map, "%s/map", vdir->data);
}

static void volume_lock_path(const char *dir, const char *id, struct buf *out)
{
	buf_printf(out, "%s/volumes/%s/lock", dir, id);
}

/*
 * The segment file holding offset, and the offset within it in *local.
 * Returns the descriptor; -2 when the segment does not exist and create is
 * 0 (it reads as zeros); -1 on error.
 */
static int volume_segment(struct volume *v, uint64_t offset, int create,
			  off_t *local)
{
	size_t seg = (size_t)(offset >> VOLUME_SEGMENT_SHIFT);
	*local = (off_t)(offset & ((1ULL << VOLUME_SEGMENT_SHIFT) - 1));
	if (seg >= VOLUME_SEGMENTS) {
		errno = EFBIG;
		return -1;
	}
	if (v->seg_fd[seg] >= 0)
		return v->seg_fd[seg];
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/data.%zu", v->dir, seg);
	int fd = open(path.data, O_RDWR | (create ? O_CREAT : 0), 0600);
	int created = fd >= 0 && create;
	buf_release(&path);
	if (fd < 0)
		return errno == ENOENT && !create ? -2 : -1;
	if (created && fsync_dir(v->dir) < 0) {
		close(fd);
		return -1;
	}
	v->seg_fd[seg] = fd;
	return fd;
}

static int volume_pread(struct volume *v, void *buf, size_t len, uint64_t offset)
{
	off_t local;
	int fd = volume_segment(v, offset, 0, &local);
	if (fd == -2) {
		memset(buf, 0, len);
		return 0;
	}
	return fd < 0 ? -1 : full_pread(fd, buf, len, local);
}

static int volume_pwrite(struct volume *v, const void *buf, size_t len,
			 uint64_t offset, int sync)
{
	off_t local;
	int fd = volume_segment(v, offset, 1, &local);
	if (fd < 0 || full_pwrite(fd, buf, len, local) < 0)
		return -1;
	return sync ? fdatasync(fd) : 0;
}

int volume_create(const char *dir, const char *id, long long size_gib,
		  const char *base_snapshot, struct err *e)
{
	struct buf root = BUF_INIT, vdir = BUF_INIT, map = BUF_INIT;
	struct volume_header hdr;
	int ret = -1, fd = -1, made_dir = 0;
	buf_printf(&root, "%s/volumes", dir);
	volume_paths(dir, id, &vdir, &map);
	if (mkdir(root.data, 0700) < 0 && errno != EEXIST) {
		volume_errno(e, "creating its directory", id);
		goto out;
	}
	/* A new volume's directory is new: nothing of another may be in it. */
	if (mkdir(vdir.data, 0700) < 0) {
		volume_errno(e, "creating its directory", id);
		goto out;
	}
	made_dir = 1;
	/* No data yet: segments appear with the first write into them. */
	memset(&hdr, 0, sizeof hdr);
	memcpy(hdr.magic, VOLUME_MAGIC, 8);
	hdr.size = (uint64_t)size_gib << 30;
	snprintf(hdr.base_snapshot, sizeof hdr.base_snapshot, "%s", base_snapshot);
	fd = open(map.data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pwrite(fd, &hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
	    ftruncate(fd, VOLUME_MAP_BYTES) < 0 || fsync(fd) < 0) {
		volume_errno(e, "creating its map", id);
		goto out;
	}
	if (fsync_dir(vdir.data) < 0 || fsync_dir(root.data) < 0) {
		volume_errno(e, "syncing its directory", id);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	/* A failed creation (a full disk) leaves nothing behind. */
	if (ret < 0 && made_dir) {
		int saved = errno;
		unlink(map.data);
		rmdir(vdir.data);
		errno = saved;
	}
	buf_release(&root);
	buf_release(&vdir);
	buf_release(&map);
	return ret;
}

int volume_remove(const char *dir, const char *id, struct err *e)
{
	struct buf vdir = BUF_INIT, map = BUF_INIT, seg = BUF_INIT;
	int ret = 0;
	volume_paths(dir, id, &vdir, &map);
	volume_lock_path(dir, id, &seg);
	if (unlink(seg.data) < 0 && errno != ENOENT)
		ret = -1;
	for (size_t i = 0; i < VOLUME_SEGMENTS && ret == 0; i++) {
		buf_reset(&seg);
		buf_printf(&seg, "%s/data.%zu", vdir.data, i);
		if (unlink(seg.data) < 0 && errno != ENOENT)
			ret = -1;
	}
	if (ret < 0 || (unlink(map.data) < 0 && errno != ENOENT) ||
	    (rmdir(vdir.data) < 0 && errno != ENOENT))
		ret = volume_errno(e, "removing its files", id);
	buf_release(&vdir);
	buf_release(&map);
	buf_release(&seg);
	return ret;
}

int volume_open(const char *dir, const char *id, struct volume **out,
		struct err *e)
{
	struct buf vdir = BUF_INIT, map = BUF_INIT;
	struct volume *v = xcalloc(1, sizeof *v);
	for (size_t i = 0; i < VOLUME_SEGMENTS; i++)
		v->seg_fd[i] = -1;
	v->map_fd = -1;
	for (size_t i = 0; i < VOLUME_CACHE_BLOCKS; i++)
		v->cache[i].index = -1;
	volume_paths(dir, id, &vdir, &map);
	v->dir = buf_detach(&vdir);
	v->map_fd = open(map.data, O_RDWR);
	buf_release(&map);
	if (v->map_fd < 0) {
		volume_errno(e, "opening its map", id);
		goto fail;
	}
	v->map = mmap(NULL, VOLUME_MAP_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->map_fd, 0);
	if (v->map == MAP_FAILED) {
		v->map = NULL;
		volume_errno(e, "mapping its map", id);
		goto fail;
	}
	v->hdr = (struct volume_header *)v->map;
	v->flags = v->map + VOLUME_HEADER;
	if (memcmp(v->hdr->magic, VOLUME_MAGIC, 8) != 0) {
		err_internal(e, "volume %s: its map is not an amibox volume map", id);
		goto fail;
	}
	v->scratch = xmalloc(BLOCK_SIZE);
	*out = v;
	return 0;
fail:
	volume_close(v);
	return -1;
}

int volume_serve_lock(const char *dir, const char *id, struct err *e)
{
	struct buf path = BUF_INIT;
	volume_lock_path(dir, id, &path);
	int fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	buf_release(&path);
	if (fd < 0)
		return volume_errno(e, "opening its serving lock", id);
	/* A volume_served() check holds the lock shared for an instant: retry. */
	for (int attempt = 0; attempt < 50; attempt++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			volume_errno(e, "taking its serving lock", id);
			close(fd);
			return -1;
		}
		usleep(2000);
	}
	close(fd);
	return err_set(e, 400, "VolumeInUse",
		       "Volume %s is already served to a machine.", id);
}

int volume_served(const char *dir, const char *id, struct err *e)
{
	struct buf path = BUF_INIT;
	volume_lock_path(dir, id, &path);
	int fd = open(path.data, O_RDONLY | O_CLOEXEC);
	buf_release(&path);
	if (fd < 0)
		return errno == ENOENT ? 0 : volume_errno(e, "opening its serving lock", id);
	/* Shared, so that two checks never see each other as a server. */
	int rc;
	while ((rc = flock(fd, LOCK_SH | LOCK_NB)) < 0 && errno == EINTR)
		;
	int served = rc < 0 && errno == EWOULDBLOCK;
	if (rc < 0 && !served)
		volume_errno(e, "testing its serving lock", id);
	close(fd);
	return rc < 0 && !served ? -1 : served;
}

void volume_close(struct volume *v)
{
	if (!v)
		return;
	if (v->map)
		munmap(v->map, VOLUME_MAP_BYTES);
	for (size_t i = 0; i < VOLUME_SEGMENTS; i++)
		if (v->seg_fd[i] >= 0)
			close(v->seg_fd[i]);
	free(v->dir);
	if (v->map_fd >= 0)
		close(v->map_fd);
	for (size_t i = 0; i < VOLUME_CACHE_BLOCKS; i++)
		free(v->cache[i].data);
	free(v->scratch);
	free(v);
}

uint64_t volume_size(const struct volume *v)
{
	return __atomic_load_n(&v->hdr->size, __ATOMIC_ACQUIRE);
}

void volume_base_snapshot(const struct volume *v, char out[ID_MAX])
{
	memcpy(out, v->hdr->base_snapshot, ID_MAX);
	out[ID_MAX - 1] = '\0';
}

/* Is block i's content in data? */
static int volume_in_data(const struct volume *v, uint64_t i)
{
	return !v->hdr->base_snapshot[0] ||
	       (__atomic_load_n(&v->flags[i], __ATOMIC_ACQUIRE) & VOLUME_FLAG_PRESENT);
}

/*
 * The map snapshot's block i, decoded and verified, from the cache or into
 * it (evicting the least recently used); NULL with e set on failure.  The
 * base snapshot never changes, so a cached block stays true.
 */
static const unsigned char *volume_base_block(struct volume *v, struct blockstore *bs,
					      uint64_t i, struct err *e)
{
	unsigned char hash[32];
	struct volume_cached *slot = &v->cache[0];
	for (size_t k = 0; k < VOLUME_CACHE_BLOCKS; k++) {
		struct volume_cached *c = &v->cache[k];
		if (c->index == (long long)i) {
			c->used = ++v->cache_clock;
			return c->data;
		}
		if (c->used < slot->used)
			slot = c;
	}
	slot->index = -1;
	if (!slot->data)
		slot->data = xmalloc(BLOCK_SIZE);
	if (blockstore_get_block(bs, v->hdr->base_snapshot, (long long)i, slot->data,
				 hash, e) < 0)
		return NULL;
	slot->index = (long long)i;
	slot->used = ++v->cache_clock;
	return slot->data;
}

static int volume_check_range(const struct volume *v, uint32_t count,
			      uint64_t offset, struct err *e)
{
	uint64_t size = volume_size(v);
	if (offset > size || count > size - offset)
		return err_set(e, 400, "InvalidParameterValue",
			       "I/O at %llu+%u is past the end of the volume (%llu bytes).",
			       (unsigned long long)offset, count,
			       (unsigned long long)size);
	return 0;
}

static int volume_lock(struct volume *v, int how, struct err *e)
{
	while (flock(v->map_fd, how) < 0)
		if (errno != EINTR)
			return err_internal(e, "locking a volume: %s", strerror(errno));
	return 0;
}

static void volume_unlock(struct volume *v)
{
	flock(v->map_fd, LOCK_UN);
}

int volume_read(struct volume *v, struct blockstore *bs, void *buf,
		uint32_t count, uint64_t offset, struct err *e)
{
	unsigned char *out = buf;
	int ret = 0;
	if (volume_check_range(v, count, offset, e) < 0 ||
	    volume_lock(v, LOCK_SH, e) < 0)
		return -1;
	while (count && ret == 0) {
		uint64_t i = offset / BLOCK_SIZE, within = offset % BLOCK_SIZE;
		uint32_t n = (uint32_t)(BLOCK_SIZE - within < count ? BLOCK_SIZE - within : count);
		if (volume_in_data(v, i)) {
			if (volume_pread(v, out, n, offset) < 0)
				ret = volume_errno(e, "reading", "");
		} else {
			const unsigned char *block = volume_base_block(v, bs, i, e);
			if (block)
				memcpy(out, block + within, n);
			else
				ret = -1;
		}
		out += n;
		offset += n;
		count -= n;
	}
	volume_unlock(v);
	return ret;
}

/*
 * Makes block i PRESENT: its snapshot content (or what is about to cover it
 * whole) goes to data and is made durable before the flag is set.
 */
static int volume_materialise(struct volume *v, struct blockstore *bs,
			      uint64_t i, const unsigned char *whole,
			      struct err *e)
{
	const unsigned char *content = whole;
	if (!content && !(content = volume_base_block(v, bs, i, e)))
		return -1;
	if (volume_pwrite(v, content, BLOCK_SIZE, i * BLOCK_SIZE, 1) < 0)
		return err_internal(e, "writing a volume block: %s", strerror(errno));
	__atomic_or_fetch(&v->flags[i], VOLUME_FLAG_PRESENT, __ATOMIC_RELEASE);
	return 0;
}

int volume_write(struct volume *v, struct blockstore *bs, const void *buf,
		 uint32_t count, uint64_t offset, struct err *e)
{
	const unsigned char *in = buf;
	int ret = 0;
	if (volume_check_range(v, count, offset, e) < 0 ||
	    volume_lock(v, LOCK_SH, e) < 0)
		return -1;
	while (count && ret == 0) {
		uint64_t i = offset / BLOCK_SIZE, within = offset % BLOCK_SIZE;
		uint32_t n = (uint32_t)(BLOCK_SIZE - within < count ? BLOCK_SIZE - within : count);
		if (volume_in_data(v, i)) {
			if (volume_pwrite(v, in, n, offset, 0) < 0)
				ret = volume_errno(e, "writing", "");
		} else if (n == BLOCK_SIZE) {
			/* Covered whole: the new bytes are the block's content. */
			ret = volume_materialise(v, bs, i, in, e);
		} else if ((ret = volume_materialise(v, bs, i, NULL, e)) == 0 &&
			   volume_pwrite(v, in, n, offset, 0) < 0) {
			ret = volume_errno(e, "writing", "");
		}
		if (ret == 0)
			__atomic_or_fetch(&v->flags[i], VOLUME_FLAG_CHANGED, __ATOMIC_RELEASE);
		in += n;
		offset += n;
		count -= n;
	}
	volume_unlock(v);
	return ret;
}

int volume_flush(struct volume *v, struct err *e)
{
	for (size_t i = 0; i < VOLUME_SEGMENTS; i++)
		if (v->seg_fd[i] >= 0 && fdatasync(v->seg_fd[i]) < 0)
			return err_internal(e, "flushing a volume: %s", strerror(errno));
	if (msync(v->map, VOLUME_MAP_BYTES, MS_SYNC) < 0)
		return err_internal(e, "flushing a volume: %s", strerror(errno));
	return 0;
}

int volume_grow(struct volume *v, long long size_gib, struct err *e)
{
	uint64_t size = (uint64_t)size_gib << 30;
	if (size < volume_size(v))
		return err_set(e, 400, "InvalidParameterValue",
			       "A volume can only grow.");
	__atomic_store_n(&v->hdr->size, size, __ATOMIC_RELEASE);
	if (msync(v->map, VOLUME_HEADER, MS_SYNC) < 0)
		return err_internal(e, "growing a volume: %s", strerror(errno));
	return 0;
}

int volume_freeze(struct volume *v, struct err *e)
{
	return volume_lock(v, LOCK_EX, e);
}

void volume_thaw(struct volume *v)
{
	volume_unlock(v);
}

long long volume_capture_changes(struct volume *v, const char *path,
				 struct err *e)
{
	uint64_t blocks = (volume_size(v) + BLOCK_SIZE - 1) / BLOCK_SIZE;
	struct buf part = BUF_INIT;
	long long n = 0;
	buf_printf(&part, "%s.part", path);
	int fd = open(part.data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		err_internal(e, "capturing volume changes: %s", strerror(errno));
		buf_release(&part);
		return -1;
	}
	for (uint64_t i = 0; i < blocks; i++) {
		if (!(v->flags[i] & VOLUME_FLAG_CHANGED))
			continue;
		unsigned char index[8];
		for (int b = 0; b < 8; b++)
			index[b] = (unsigned char)(i >> (8 * b));
		if (volume_pread(v, v->scratch, BLOCK_SIZE, i * BLOCK_SIZE) < 0 ||
		    full_pwrite(fd, index, 8, (off_t)n * (8 + BLOCK_SIZE)) < 0 ||
		    full_pwrite(fd, v->scratch, BLOCK_SIZE, (off_t)n * (8 + BLOCK_SIZE) + 8) < 0) {
			err_internal(e, "capturing volume changes: %s", strerror(errno));
			n = -1;
			break;
		}
		n++;
	}
	if (n >= 0 && (fdatasync(fd) < 0 || rename(part.data, path) < 0)) {
		err_internal(e, "capturing volume changes: %s", strerror(errno));
		n = -1;
	}
	close(fd);
	if (n < 0)
		unlink(part.data);
	buf_release(&part);
	return n;
}

int volume_clear_changes(struct volume *v, struct err *e)
{
	uint64_t blocks = (volume_size(v) + BLOCK_SIZE - 1) / BLOCK_SIZE;
	for (uint64_t i = 0; i < blocks; i++)
		if (v->flags[i] & VOLUME_FLAG_CHANGED)
			__atomic_and_fetch(&v->flags[i], (unsigned char)~VOLUME_FLAG_CHANGED,
					   __ATOMIC_RELEASE);
	if (msync(v->map, VOLUME_HEADER + blocks, MS_SYNC) < 0)
		return err_internal(e, "clearing volume changes: %s", strerror(errno));
	return 0;
}

int volume_mark_changes(struct volume *v, const char *path, struct err *e)
{
	unsigned char index[8];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return err_internal(e, "reading a volume capture: %s", strerror(errno));
	for (off_t at = 0;; at += 8 + BLOCK_SIZE) {
		ssize_t n = pread(fd, index, 8, at);
		if (n != 8)
			break;
		uint64_t i = 0;
		for (int b = 0; b < 8; b++)
			i |= (uint64_t)index[b] << (8 * b);
		if (i < VOLUME_MAX_BLOCKS)
			__atomic_or_fetch(&v->flags[i], VOLUME_FLAG_CHANGED, __ATOMIC_RELEASE);
	}
	close(fd);
	return 0;
}
