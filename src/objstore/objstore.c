/* objstore: object bytes in files (see objstore.h). */
#include "objstore/objstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/codec.h"
#include "util/log.h"

struct objstore {
	char *dir; /* DIR/objects */
};

struct objstore_spool {
	struct objstore *s;
	char name[33];      /* 32 hex digits */
	char *tmp_path;
	int fd;
	uint64_t size;
	unsigned checksums;
	EVP_MD_CTX *md5, *sha256, *sha1;
	unsigned char md5_out[16], sha256_out[32], sha1_out[20];
	int finished;       /* digests final */
	uLong crc32;
	uint32_t crc32c;
};

int objstore_open(const char *data_dir, struct objstore **out, struct err *e)
{
	struct objstore *s = xcalloc(1, sizeof *s);
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/objects", data_dir);
	s->dir = buf_detach(&path);
	buf_printf(&path, "%s/tmp", s->dir);
	if ((mkdir(s->dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(path.data, 0700) < 0 && errno != EEXIST)) {
		err_internal(e, "creating %s: %s", path.data, strerror(errno));
		buf_release(&path);
		objstore_close(s);
		return -1;
	}
	buf_release(&path);
	*out = s;
	return 0;
}

void objstore_close(struct objstore *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s);
}

void objstore_path(const struct objstore *s, const char *file, struct buf *out)
{
	buf_printf(out, "%s/%s", s->dir, file);
}

void objstore_unlink(struct objstore *s, const char *file)
{
	if (!file || !file[0])
		return;
	struct buf path = BUF_INIT;
	objstore_path(s, file, &path);
	if (unlink(path.data) < 0 && errno != ENOENT)
		log_warn("objstore: cannot remove %s: %s", path.data, strerror(errno));
	buf_release(&path);
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int objstore_sweep(struct objstore *s, struct catalog *cat, struct err *e)
{
	char **used = NULL;
	size_t nused = 0, removed = 0;
	if (catalog_s3_files(cat, &used, &nused, e) < 0)
		return -1;
	if (nused)
		qsort(used, nused, sizeof *used, by_string);
	DIR *top = opendir(s->dir);
	struct dirent *d;
	struct buf path = BUF_INIT, file = BUF_INIT;
	while (top && (d = readdir(top))) {
		if (d->d_name[0] == '.')
			continue;
		int is_tmp = !strcmp(d->d_name, "tmp");
		buf_reset(&path);
		buf_printf(&path, "%s/%s", s->dir, d->d_name);
		DIR *sub = opendir(path.data);
		struct dirent *f;
		while (sub && (f = readdir(sub))) {
			if (f->d_name[0] == '.')
				continue;
			buf_reset(&file);
			buf_printf(&file, "%s/%s", d->d_name, f->d_name);
			const char *key = file.data;
			if (!is_tmp && nused && bsearch(&key, used, nused, sizeof *used, by_string))
				continue;
			objstore_unlink(s, file.data);
			removed++;
		}
		if (sub)
			closedir(sub);
	}
	if (top)
		closedir(top);
	if (removed)
		log_info("objstore: removed %zu unfinished or orphaned files", removed);
	for (size_t i = 0; i < nused; i++)
		free(used[i]);
	free(used);
	buf_release(&path);
	buf_release(&file);
	return 0;
}

/* ---- CRC32C (Castagnoli), for x-amz-checksum-crc32c ---------------------- */

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_update(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- spools ------------------------------------------------------------- */

static EVP_MD_CTX *digest_new(const EVP_MD *md)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		abort();
	return ctx;
}

int objstore_spool_begin(struct objstore *s, unsigned checksums,
			 struct objstore_spool **out, struct err *e)
{
	struct objstore_spool *sp = xcalloc(1, sizeof *sp);
	unsigned char random[16];
	codec_random(random, sizeof random);
	codec_hex(random, sizeof random, sp->name);
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/tmp/%s", s->dir, sp->name);
	sp->tmp_path = buf_detach(&path);
	sp->s = s;
	sp->fd = open(sp->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		err_internal(e, "creating %s: %s", sp->tmp_path, strerror(errno));
		free(sp->tmp_path);
		free(sp);
		return -1;
	}
	sp->checksums = checksums;
	sp->md5 = digest_new(EVP_md5());
	sp->sha256 = digest_new(EVP_sha256());
	if (checksums & OBJSTORE_SHA1)
		sp->sha1 = digest_new(EVP_sha1());
	sp->crc32 = crc32(0L, Z_NULL, 0);
	if (checksums & OBJSTORE_CRC32C)
		pthread_once(&crc32c_once, crc32c_init);
	*out = sp;
	return 0;
}

int objstore_spool_write(struct objstore_spool *sp, const void *data, size_t len,
			 struct err *e)
{
	const unsigned char *p = data;
	EVP_DigestUpdate(sp->md5, p, len);
	EVP_DigestUpdate(sp->sha256, p, len);
	if (sp->sha1)
		EVP_DigestUpdate(sp->sha1, p, len);
	if (sp->checksums & OBJSTORE_CRC32) {
		size_t left = len;
		const unsigned char *q = p;
		while (left) {
			uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
			sp->crc32 = crc32(sp->crc32, q, n);
			q += n;
			left -= n;
		}
	}
	if (sp->checksums & OBJSTORE_CRC32C)
		sp->crc32c = crc32c_update(sp->crc32c, p, len);
	sp->size += len;
	while (len) {
		ssize_t n = write(sp->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_internal(e, "writing %s: %s", sp->tmp_path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

uint64_t objstore_spool_size(const struct objstore_spool *sp)
{
	return sp->size;
}

static void spool_finish(struct objstore_spool *sp)
{
	if (sp->finished)
		return;
	EVP_DigestFinal_ex(sp->md5, sp->md5_out, NULL);
	EVP_DigestFinal_ex(sp->sha256, sp->sha256_out, NULL);
	if (sp->sha1)
		EVP_DigestFinal_ex(sp->sha1, sp->sha1_out, NULL);
	sp->finished = 1;
}

void objstore_spool_md5(struct objstore_spool *sp, unsigned char md5[16])
{
	spool_finish(sp);
	memcpy(md5, sp->md5_out, 16);
}

void objstore_spool_sha256(struct objstore_spool *sp, unsigned char sha[32])
{
	spool_finish(sp);
	memcpy(sha, sp->sha256_out, 32);
}

/* A CRC as S3 encodes it: big-endian, then base64. */
static void crc_base64(uint32_t v, char out[64])
{
	unsigned char raw[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
				 (unsigned char)(v >> 8), (unsigned char)v };
	struct buf b = BUF_INIT;
	codec_base64(raw, sizeof raw, &b);
	snprintf(out, 64, "%s", b.data);
	buf_release(&b);
}

static void digest_base64(const unsigned char *raw, size_t len, char out[64])
{
	struct buf b = BUF_INIT;
	codec_base64(raw, len, &b);
	snprintf(out, 64, "%s", b.data);
	buf_release(&b);
}

void objstore_spool_checksum(struct objstore_spool *sp, enum objstore_checksum which,
			     char out[64])
{
	out[0] = '\0';
	if (!(sp->checksums & which) && which != OBJSTORE_SHA256)
		return;
	spool_finish(sp);
	if (which == OBJSTORE_SHA1)
		digest_base64(sp->sha1_out, 20, out);
	else if (which == OBJSTORE_SHA256)
		digest_base64(sp->sha256_out, 32, out);
	else
		crc_base64(which == OBJSTORE_CRC32 ? (uint32_t)sp->crc32 : sp->crc32c, out);
}

void objstore_checksum(enum objstore_checksum which, const void *data, size_t len,
		       char out[64])
{
	unsigned char digest[32];
	out[0] = '\0';
	switch (which) {
	case OBJSTORE_CRC32:
		crc_base64((uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len), out);
		break;
	case OBJSTORE_CRC32C:
		pthread_once(&crc32c_once, crc32c_init);
		crc_base64(crc32c_update(0, data, len), out);
		break;
	case OBJSTORE_SHA1:
		EVP_Digest(data, len, digest, NULL, EVP_sha1(), NULL);
		digest_base64(digest, 20, out);
		break;
	case OBJSTORE_SHA256:
		EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL);
		digest_base64(digest, 32, out);
		break;
	}
}

static void spool_free(struct objstore_spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	EVP_MD_CTX_free(sp->md5);
	EVP_MD_CTX_free(sp->sha256);
	EVP_MD_CTX_free(sp->sha1);
	free(sp->tmp_path);
	free(sp);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Renames a finished temporary file into place as XX/YYYY…, durably. */
static int place(struct objstore *s, const char *tmp_path, const char *name,
		 char file[S3_FILE_MAX], struct err *e)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int ret = -1;
	buf_printf(&dir, "%s/%.2s", s->dir, name);
	buf_printf(&path, "%s/%s", dir.data, name + 2);
	if (mkdir(dir.data, 0700) < 0 && errno != EEXIST) {
		err_internal(e, "creating %s: %s", dir.data, strerror(errno));
		goto out;
	}
	if (rename(tmp_path, path.data) < 0) {
		err_internal(e, "storing %s: %s", path.data, strerror(errno));
		goto out;
	}
	if (fsync_dir(dir.data) < 0) {
		err_internal(e, "syncing %s: %s", dir.data, strerror(errno));
		unlink(path.data);
		goto out;
	}
	snprintf(file, S3_FILE_MAX, "%.2s/%s", name, name + 2);
	ret = 0;
out:
	buf_release(&dir);
	buf_release(&path);
	return ret;
}

int objstore_spool_commit(struct objstore_spool *sp, char file[S3_FILE_MAX],
			  struct err *e)
{
	spool_finish(sp);
	int ret = -1;
	if (fsync(sp->fd) < 0) {
		err_internal(e, "syncing %s: %s", sp->tmp_path, strerror(errno));
	} else if (close(sp->fd) < 0) {
		sp->fd = -1;
		err_internal(e, "closing %s: %s", sp->tmp_path, strerror(errno));
	} else {
		sp->fd = -1;
		ret = place(sp->s, sp->tmp_path, sp->name, file, e);
	}
	if (ret < 0)
		unlink(sp->tmp_path);
	spool_free(sp);
	return ret;
}

void objstore_spool_abort(struct objstore_spool *sp)
{
	if (!sp)
		return;
	unlink(sp->tmp_path);
	spool_free(sp);
}

int objstore_concat(struct objstore *s, char *const files[], size_t count,
		    char file[S3_FILE_MAX], unsigned char md5[16], struct err *e)
{
	struct objstore_spool *sp;
	if (objstore_spool_begin(s, 0, &sp, e) < 0)
		return -1;
	struct buf path = BUF_INIT;
	size_t cap = 1 << 20;
	char *chunk = xmalloc(cap);
	int ok = 1;
	for (size_t i = 0; ok && i < count; i++) {
		buf_reset(&path);
		objstore_path(s, files[i], &path);
		int fd = open(path.data, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_internal(e, "reading %s: %s", path.data, strerror(errno));
			ok = 0;
			break;
		}
		for (;;) {
			ssize_t n = read(fd, chunk, cap);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				err_internal(e, "reading %s: %s", path.data, strerror(errno));
				ok = 0;
			}
			if (n <= 0)
				break;
			if (objstore_spool_write(sp, chunk, (size_t)n, e) < 0) {
				ok = 0;
				break;
			}
		}
		close(fd);
	}
	free(chunk);
	buf_release(&path);
	if (!ok) {
		objstore_spool_abort(sp);
		return -1;
	}
	objstore_spool_md5(sp, md5);
	return objstore_spool_commit(sp, file, e);
}
