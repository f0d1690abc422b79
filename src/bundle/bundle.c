/* bundle: making and unpacking AMI bundles (see bundle.h). */
#include "bundle/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bundle/keys.h"
#include "util/codec.h"

#define CHUNK (1024 * 1024)

static int bad_bundle(struct err *e, const char *fmt, const char *detail)
{
	return err_set(e, 400, "InvalidManifest", fmt, detail);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *data, size_t len, unsigned long long off)
{
	const char *p = data;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (unsigned long long)n;
	}
	return 0;
}

/* ---- tar: reading ------------------------------------------------------- */

enum tar_state { TAR_HEADER, TAR_DATA, TAR_PAD, TAR_META, TAR_SPARSE, TAR_END };

struct sparse_run {
	unsigned long long offset, length;
};

struct tar {
	int out_fd;
	enum tar_state state;
	unsigned char block[512];
	size_t have;
	unsigned long long left, pad;
	int to_image;              /* this member's data is the image */
	int meta_kind;             /* 'x' pax or 'L' long name, gathered in meta */
	struct buf meta;
	long long pax_size;        /* from a pax header, -1 if none */
	int found;                 /* the image member came */
	unsigned long long size;   /* the image's real size */
	unsigned long long at;     /* dense: next offset */
	struct sparse_run *runs;   /* sparse: the map */
	size_t nruns, run;
	unsigned long long run_done;
	int sparse;
	int zero_blocks;
};

/* An octal or GNU base-256 number field. */
static int tar_number(const unsigned char *f, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1; /* negative */
		for (size_t i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	size_t i = 0;
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (f[i] - '0');
	}
	if (i < len && f[i] != ' ' && f[i] != '\0')
		return -1;
	*out = v;
	return 0;
}

static int tar_checksum_ok(const unsigned char *b)
{
	unsigned long long want;
	if (tar_number(b + 148, 8, &want) < 0)
		return 0;
	unsigned long long sum = 0;
	long long ssum = 0;
	for (int i = 0; i < 512; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : b[i];
		sum += c;
		ssum += (signed char)c;
	}
	return sum == want || (unsigned long long)ssum == want;
}

/* Reads pax records "LEN key=value\n"; takes size; refuses sparse pax members. */
static int tar_pax(struct tar *t, struct err *e)
{
	const char *p = t->meta.data ? t->meta.data : "";
	const char *end = p + t->meta.len;
	while (p < end) {
		char *sp;
		unsigned long len = strtoul(p, &sp, 10);
		if (sp == p || *sp != ' ' || len == 0 || len > (unsigned long)(end - p))
			return bad_bundle(e, "the bundle's tar stream has a bad pax header%s", "");
		const char *kv = sp + 1, *rec_end = p + len;
		const char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
		if (eq) {
			size_t klen = (size_t)(eq - kv);
			if (klen == 4 && !memcmp(kv, "size", 4))
				t->pax_size = strtoll(eq + 1, NULL, 10);
			if (klen > 10 && !memcmp(kv, "GNU.sparse", 10))
				return bad_bundle(e, "the bundle's tar stream uses pax sparse files, "
						     "which amibox does not read%s", "");
		}
		p = rec_end;
	}
	return 0;
}

static int tar_add_run(struct tar *t, const unsigned char *f, struct err *e)
{
	unsigned long long off, len;
	if (f[0] == '\0')
		return 0;
	if (tar_number(f, 12, &off) < 0 || tar_number(f + 12, 12, &len) < 0)
		return bad_bundle(e, "the bundle's tar stream has a bad sparse map%s", "");
	if (t->nruns == 1 << 20)
		return bad_bundle(e, "the bundle's tar sparse map is too large%s", "");
	t->runs = xrealloc(t->runs, (t->nruns + 1) * sizeof *t->runs);
	t->runs[t->nruns].offset = off;
	t->runs[t->nruns].length = len;
	t->nruns++;
	return 0;
}

/* After the header(s) of a member: where its data goes. */
static int tar_begin_data(struct tar *t, unsigned long long stored, struct err *e)
{
	t->left = stored;
	t->pad = (512 - stored % 512) % 512;
	if (t->to_image && t->sparse) {
		unsigned long long total = 0;
		for (size_t i = 0; i < t->nruns; i++) {
			if (t->runs[i].offset + t->runs[i].length > t->size)
				return bad_bundle(e, "the bundle's tar sparse map goes past its end%s", "");
			total += t->runs[i].length;
		}
		if (total != stored)
			return bad_bundle(e, "the bundle's tar sparse map does not match its data%s", "");
	}
	t->state = stored ? TAR_DATA : (t->pad ? TAR_PAD : TAR_HEADER);
	return 0;
}

static int tar_header(struct tar *t, struct err *e)
{
	const unsigned char *b = t->block;
	static const unsigned char zero[512];
	if (!memcmp(b, zero, 512)) {
		if (++t->zero_blocks == 2)
			t->state = TAR_END;
		return 0;
	}
	t->zero_blocks = 0;
	if (!tar_checksum_ok(b))
		return bad_bundle(e, "the bundle's tar stream has a damaged header%s", "");
	unsigned long long size;
	if (tar_number(b + 124, 12, &size) < 0)
		return bad_bundle(e, "the bundle's tar stream has a bad size field%s", "");
	char type = (char)b[156];
	if (t->pax_size >= 0 && type != 'x' && type != 'g') {
		size = (unsigned long long)t->pax_size;
		t->pax_size = -1;
	}
	t->to_image = 0;
	t->sparse = 0;
	switch (type) {
	case 'x':
	case 'L':
		if (size > 65536)
			return bad_bundle(e, "the bundle's tar stream has an oversized header%s", "");
		t->meta_kind = type;
		buf_reset(&t->meta);
		t->left = size;
		t->pad = (512 - size % 512) % 512;
		t->state = size ? TAR_META : TAR_HEADER;
		return 0;
	case '0':
	case '\0':
	case '7':
	case 'S':
		if (t->found)
			return bad_bundle(e, "the bundle holds more than one file%s", "");
		t->found = 1;
		t->to_image = 1;
		t->size = size;
		if (type == 'S') {
			t->sparse = 1;
			if (tar_number(b + 483, 12, &t->size) < 0)
				return bad_bundle(e, "the bundle's tar sparse header is bad%s", "");
			for (int i = 0; i < 4; i++)
				if (tar_add_run(t, b + 386 + 24 * i, e) < 0)
					return -1;
		}
		if (t->size > BUNDLE_MAX_IMAGE)
			return bad_bundle(e, "the bundled image is larger than 10 GiB%s", "");
		if (ftruncate(t->out_fd, (off_t)t->size) < 0)
			return err_internal(e, "sizing the image file: %s", strerror(errno));
		if (type == 'S' && b[482]) {
			t->left = size; /* kept for after the extension blocks */
			t->state = TAR_SPARSE;
			return 0;
		}
		return tar_begin_data(t, size, e);
	default:
		/* Directories, links, global pax headers, GNU extras: skipped. */
		return tar_begin_data(t, size, e);
	}
}

static int tar_sparse_block(struct tar *t, struct err *e)
{
	for (int i = 0; i < 21; i++)
		if (tar_add_run(t, t->block + 24 * i, e) < 0)
			return -1;
	if (t->block[504])
		return 0; /* another extension block follows */
	return tar_begin_data(t, t->left, e);
}

static int tar_data(struct tar *t, const unsigned char *p, size_t n, struct err *e)
{
	if (!t->to_image)
		return 0;
	if (!t->sparse) {
		if (pwrite_all(t->out_fd, p, n, t->at) < 0)
			return err_internal(e, "writing the image: %s", strerror(errno));
		t->at += n;
		return 0;
	}
	while (n) {
		while (t->run < t->nruns && t->run_done == t->runs[t->run].length) {
			t->run++;
			t->run_done = 0;
		}
		if (t->run == t->nruns)
			return bad_bundle(e, "the bundle's tar sparse data overruns its map%s", "");
		struct sparse_run *r = &t->runs[t->run];
		size_t take = n;
		if (take > r->length - t->run_done)
			take = (size_t)(r->length - t->run_done);
		if (pwrite_all(t->out_fd, p, take, r->offset + t->run_done) < 0)
			return err_internal(e, "writing the image: %s", strerror(errno));
		t->run_done += take;
		p += take;
		n -= take;
	}
	return 0;
}

static int tar_feed(struct tar *t, const unsigned char *p, size_t n, struct err *e)
{
	while (n) {
		switch (t->state) {
		case TAR_HEADER:
		case TAR_SPARSE: {
			size_t take = 512 - t->have < n ? 512 - t->have : n;
			memcpy(t->block + t->have, p, take);
			t->have += take;
			p += take;
			n -= take;
			if (t->have < 512)
				break;
			t->have = 0;
			if ((t->state == TAR_HEADER ? tar_header(t, e) : tar_sparse_block(t, e)) < 0)
				return -1;
			break;
		}
		case TAR_DATA:
		case TAR_META: {
			size_t take = t->left < n ? (size_t)t->left : n;
			if (t->state == TAR_META)
				buf_append(&t->meta, p, take);
			else if (tar_data(t, p, take, e) < 0)
				return -1;
			t->left -= take;
			p += take;
			n -= take;
			if (t->left == 0) {
				if (t->state == TAR_META && t->meta_kind == 'x' && tar_pax(t, e) < 0)
					return -1;
				t->state = t->pad ? TAR_PAD : TAR_HEADER;
			}
			break;
		}
		case TAR_PAD: {
			size_t take = t->pad < n ? (size_t)t->pad : n;
			t->pad -= take;
			p += take;
			n -= take;
			if (t->pad == 0)
				t->state = TAR_HEADER;
			break;
		}
		case TAR_END:
			return 0; /* GNU tar pads its last record with zeros */
		}
	}
	return 0;
}

/* ---- unpacking ---------------------------------------------------------- */

struct unpack {
	EVP_CIPHER_CTX *aes;
	z_stream z;
	int z_open, z_ended;
	EVP_MD_CTX *tar_sha1;
	struct tar tar;
	unsigned char *plain, *inflated;
};

/* Inflates plaintext (gzip, possibly several members) into the tar reader. */
static int unpack_inflate(struct unpack *u, const unsigned char *p, size_t n, struct err *e)
{
	u->z.next_in = (unsigned char *)p;
	u->z.avail_in = (uInt)n;
	while (u->z.avail_in > 0) {
		if (u->z_ended) {
			/* Another gzip member follows, as concatenated gzip files do. */
			if (inflateReset(&u->z) != Z_OK)
				return bad_bundle(e, "the bundle does not decompress%s", "");
			u->z_ended = 0;
		}
		u->z.next_out = u->inflated;
		u->z.avail_out = CHUNK;
		int rc = inflate(&u->z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
			return bad_bundle(e, "the bundle does not decompress (%s)",
					  u->z.msg ? u->z.msg : "bad data");
		size_t got = CHUNK - u->z.avail_out;
		EVP_DigestUpdate(u->tar_sha1, u->inflated, got);
		if (tar_feed(&u->tar, u->inflated, got, e) < 0)
			return -1;
		if (rc == Z_STREAM_END)
			u->z_ended = 1;
		if (rc == Z_BUF_ERROR && got == 0)
			break;
	}
	return 0;
}

static int unpack_decrypt(struct unpack *u, const unsigned char *p, size_t n, struct err *e)
{
	int out = 0;
	if (EVP_DecryptUpdate(u->aes, u->plain, &out, p, (int)n) != 1)
		return bad_bundle(e, "the bundle does not decrypt%s", "");
	return unpack_inflate(u, u->plain, (size_t)out, e);
}

static int read_full(int fd, unsigned char *p, size_t cap, size_t *got)
{
	*got = 0;
	while (*got < cap) {
		ssize_t n = read(fd, p + *got, cap - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

int bundle_unpack(const struct manifest *m, const unsigned char key[16],
		  const unsigned char iv[16], bundle_open_part_fn open_part, void *ctx,
		  int out_fd, bundle_progress_fn progress, void *progress_ctx, struct err *e)
{
	struct unpack u = { 0 };
	int ret = -1;
	unsigned char *in = xmalloc(CHUNK);
	u.plain = xmalloc(CHUNK + 32);
	u.inflated = xmalloc(CHUNK);
	u.aes = EVP_CIPHER_CTX_new();
	u.tar_sha1 = EVP_MD_CTX_new();
	EVP_MD_CTX *part_sha1 = EVP_MD_CTX_new();
	u.tar.out_fd = out_fd;
	u.tar.pax_size = -1;
	if (!u.aes || !u.tar_sha1 || !part_sha1 ||
	    EVP_DecryptInit_ex(u.aes, EVP_aes_128_cbc(), NULL, key, iv) != 1 ||
	    EVP_DigestInit_ex(u.tar_sha1, EVP_sha1(), NULL) != 1)
		abort();
	if (inflateInit2(&u.z, 16 + MAX_WBITS) != Z_OK)
		abort();
	u.z_open = 1;
	unsigned long long done = 0;
	for (size_t i = 0; i < m->nparts; i++) {
		int fd = open_part(ctx, m->parts[i].filename, e);
		if (fd < 0)
			goto out;
		EVP_DigestInit_ex(part_sha1, EVP_sha1(), NULL);
		size_t got;
		int failed = 0, stream_failed = 0;
		/* A damaged stream is reported only once the part's digest is known. */
		struct err stream = ERR_INIT;
		while (!failed) {
			if (read_full(fd, in, CHUNK, &got) < 0) {
				failed = err_internal(e, "reading part %s: %s", m->parts[i].filename,
						      strerror(errno));
				break;
			}
			if (got == 0)
				break;
			EVP_DigestUpdate(part_sha1, in, got);
			if (!stream_failed && unpack_decrypt(&u, in, got, &stream) < 0)
				stream_failed = 1;
			done += got;
			if (progress)
				progress(progress_ctx, done, m->bundled_size);
		}
		close(fd);
		if (failed)
			goto out;
		unsigned char digest[20];
		char hex[41];
		EVP_DigestFinal_ex(part_sha1, digest, NULL);
		codec_hex(digest, 20, hex);
		if (strcmp(hex, m->parts[i].digest) != 0) {
			bad_bundle(e, "part %s does not match its digest in the manifest",
				   m->parts[i].filename);
			goto out;
		}
		if (stream_failed) {
			*e = stream;
			goto out;
		}
	}
	int out_len = 0;
	if (EVP_DecryptFinal_ex(u.aes, u.plain, &out_len) != 1) {
		bad_bundle(e, "the bundle does not decrypt: a wrong key or damaged parts%s", "");
		goto out;
	}
	if (unpack_inflate(&u, u.plain, (size_t)out_len, e) < 0)
		goto out;
	if (!u.z_ended) {
		bad_bundle(e, "the bundle's compressed stream is truncated%s", "");
		goto out;
	}
	if (!u.tar.found || (u.tar.state != TAR_END && u.tar.state != TAR_HEADER) ||
	    u.tar.have != 0) {
		bad_bundle(e, "the bundle's tar stream is truncated or holds no file%s", "");
		goto out;
	}
	unsigned char digest[20];
	char hex[41];
	EVP_DigestFinal_ex(u.tar_sha1, digest, NULL);
	codec_hex(digest, 20, hex);
	if (strcmp(hex, m->digest) != 0) {
		bad_bundle(e, "the image does not match the manifest's digest%s", "");
		goto out;
	}
	if (u.tar.size != m->size) {
		bad_bundle(e, "the image is not the size the manifest gives%s", "");
		goto out;
	}
	ret = 0;
out:
	if (u.z_open)
		inflateEnd(&u.z);
	EVP_CIPHER_CTX_free(u.aes);
	EVP_MD_CTX_free(u.tar_sha1);
	EVP_MD_CTX_free(part_sha1);
	buf_release(&u.tar.meta);
	free(u.tar.runs);
	free(in);
	free(u.plain);
	free(u.inflated);
	return ret;
}

/* ---- making a bundle ---------------------------------------------------- */

struct parts_writer {
	const char *dir, *prefix;
	unsigned long long part_size;
	int fd;
	unsigned long long in_part, total;
	EVP_MD_CTX *sha1;
	char (*digests)[41];
	size_t count;
	/* Held in memory (hold_parts): one buffer per part, up to hold_limit in all. */
	int hold;
	unsigned long long hold_limit;
	struct buf *held;
	size_t nheld;
};

static void temp_part_name(const struct parts_writer *w, size_t index, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "%s/.%s.part.%zu.tmp", w->dir, w->prefix, index);
}

static int parts_close(struct parts_writer *w, struct err *e)
{
	if (w->hold && w->in_part) {
		unsigned char digest[20];
		EVP_DigestFinal_ex(w->sha1, digest, NULL);
		w->digests = xrealloc(w->digests, (w->count + 1) * sizeof *w->digests);
		codec_hex(digest, 20, w->digests[w->count]);
		w->count++;
		w->in_part = 0;
		return 0;
	}
	if (w->fd < 0)
		return 0;
	unsigned char digest[20];
	EVP_DigestFinal_ex(w->sha1, digest, NULL);
	w->digests = xrealloc(w->digests, (w->count + 1) * sizeof *w->digests);
	codec_hex(digest, 20, w->digests[w->count]);
	w->count++;
	int rc = close(w->fd);
	w->fd = -1;
	w->in_part = 0;
	return rc < 0 ? err_internal(e, "writing a part: %s", strerror(errno)) : 0;
}

static int parts_write(struct parts_writer *w, const unsigned char *p, size_t n, struct err *e)
{
	struct buf name = BUF_INIT;
	while (n && w->hold) {
		if (w->in_part == 0) {
			w->held = xrealloc(w->held, (w->count + 1) * sizeof *w->held);
			w->held[w->count] = (struct buf)BUF_INIT;
			w->nheld = w->count + 1;
			EVP_DigestInit_ex(w->sha1, EVP_sha1(), NULL);
		}
		size_t take = w->part_size - w->in_part < n ? (size_t)(w->part_size - w->in_part) : n;
		if (w->total + take > w->hold_limit)
			return err_internal(e, "the bundle outgrew the memory it may take while the "
					       "disk is frozen (%llu MiB); give a destination on "
					       "another file system (a tmpfs, another disk)",
					    w->hold_limit >> 20);
		buf_append(&w->held[w->count], p, take);
		EVP_DigestUpdate(w->sha1, p, take);
		w->in_part += take;
		w->total += take;
		p += take;
		n -= take;
		if (w->in_part == w->part_size && parts_close(w, e) < 0)
			return -1;
	}
	while (n) {
		if (w->fd < 0) {
			temp_part_name(w, w->count, &name);
			w->fd = open(name.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (w->fd < 0) {
				err_internal(e, "creating %s: %s", name.data, strerror(errno));
				buf_release(&name);
				return -1;
			}
			EVP_DigestInit_ex(w->sha1, EVP_sha1(), NULL);
		}
		size_t take = w->part_size - w->in_part < n ? (size_t)(w->part_size - w->in_part) : n;
		if (write_all(w->fd, p, take) < 0) {
			buf_release(&name);
			return err_internal(e, "writing a part: %s", strerror(errno));
		}
		EVP_DigestUpdate(w->sha1, p, take);
		w->in_part += take;
		w->total += take;
		p += take;
		n -= take;
		if (w->in_part == w->part_size && parts_close(w, e) < 0) {
			buf_release(&name);
			return -1;
		}
	}
	buf_release(&name);
	return 0;
}

/* Writes the parts held in memory to their files. */
static int parts_flush(struct parts_writer *w, struct err *e)
{
	struct buf name = BUF_INIT;
	int ret = 0;
	for (size_t i = 0; w->hold && i < w->count && ret == 0; i++) {
		temp_part_name(w, i, &name);
		int fd = open(name.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write_all(fd, w->held[i].data ? w->held[i].data : "", w->held[i].len) < 0 ||
		    close(fd) < 0)
			ret = err_internal(e, "writing %s: %s", name.data, strerror(errno));
		buf_release(&w->held[i]);
	}
	buf_release(&name);
	return ret;
}

static void parts_free_held(struct parts_writer *w)
{
	for (size_t i = 0; i < w->nheld; i++)
		buf_release(&w->held[i]);
	free(w->held);
	w->held = NULL;
}

struct maker {
	struct parts_writer parts;
	EVP_CIPHER_CTX *aes;
	z_stream z;
	EVP_MD_CTX *tar_sha1;
	unsigned char *deflated, *cipher;
};

static int maker_encrypt(struct maker *mk, const unsigned char *p, size_t n, struct err *e)
{
	int out = 0;
	if (EVP_EncryptUpdate(mk->aes, mk->cipher, &out, p, (int)n) != 1)
		return err_internal(e, "encryption failed");
	return parts_write(&mk->parts, mk->cipher, (size_t)out, e);
}

/* Tar bytes in: hashed, deflated, encrypted, written to parts. */
static int maker_tar(struct maker *mk, const unsigned char *p, size_t n, int finish, struct err *e)
{
	EVP_DigestUpdate(mk->tar_sha1, p, n);
	mk->z.next_in = (unsigned char *)p;
	mk->z.avail_in = (uInt)n;
	int rc;
	do {
		mk->z.next_out = mk->deflated;
		mk->z.avail_out = CHUNK;
		rc = deflate(&mk->z, finish ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR)
			return err_internal(e, "compression failed");
		if (maker_encrypt(mk, mk->deflated, CHUNK - mk->z.avail_out, e) < 0)
			return -1;
	} while (mk->z.avail_out == 0 || (finish && rc != Z_STREAM_END));
	return 0;
}

/* A tar number field in octal, or GNU base-256 when it does not fit. */
static void tar_put_number(unsigned char *f, size_t len, unsigned long long v)
{
	unsigned long long max = 1;
	for (size_t i = 0; i + 1 < len; i++)
		max *= 8;
	if (v < max) {
		char text[32];
		snprintf(text, sizeof text, "%0*llo", (int)(len - 1), v);
		memcpy(f, text, len - 1);
		f[len - 1] = '\0';
		return;
	}
	memset(f, 0, len);
	f[0] = 0x80;
	for (size_t i = 0; i < 8 && i + 1 < len; i++)
		f[len - 1 - i] = (unsigned char)(v >> (8 * i));
}

/* Recomputes a header's checksum after its fields changed. */
static void tar_checksum_set(unsigned char b[512])
{
	memset(b + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += b[i];
	snprintf((char *)b + 148, 8, "%06o", sum);
	b[155] = ' ';
}

/* A GNU tar header for one regular file (a GNU long-name record first if needed). */
static void tar_header_make(unsigned char b[512], const char *name, char type,
			    unsigned long long size, long long mtime)
{
	memset(b, 0, 512);
	snprintf((char *)b, 100, "%s", name);
	snprintf((char *)b + 100, 8, "%07o", 0644);
	snprintf((char *)b + 108, 8, "%07o", 0);
	snprintf((char *)b + 116, 8, "%07o", 0);
	tar_put_number(b + 124, 12, size);
	snprintf((char *)b + 136, 12, "%011llo", (unsigned long long)mtime);
	b[156] = (unsigned char)type;
	memcpy(b + 257, "ustar  ", 8); /* the GNU magic and version */
	snprintf((char *)b + 265, 32, "root");
	snprintf((char *)b + 297, 32, "root");
	tar_checksum_set(b);
}

static void xml_escaped(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '&': buf_append_str(out, "&amp;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		default: buf_append_char(out, *s);
		}
	}
}

static void xml_element(struct buf *out, const char *name, const char *value)
{
	buf_printf(out, "<%s>", name);
	xml_escaped(out, value);
	buf_printf(out, "</%s>", name);
}

static int digits(size_t n)
{
	int d = 1;
	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* Zeros over the parts of zero_ranges within in[0..got), which holds the image from at. */
static void zero_ranges_apply(const struct bundle_options *o, unsigned char *in, size_t got,
			      unsigned long long at)
{
	for (size_t r = 0; r < o->nzero_ranges; r++) {
		const struct bundle_range *z = &o->zero_ranges[r];
		unsigned long long from = z->offset > at ? z->offset : at;
		unsigned long long to = z->offset + z->length < at + got ? z->offset + z->length : at + got;
		if (from < to)
			memset(in + (from - at), 0, (size_t)(to - from));
	}
}

#define SPARSE_GRAIN (64 * 1024)

static int all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * The sparse bundle's first pass: the runs of the image that hold data
 * (SPARSE_GRAIN pieces that are not all zeros once zero_ranges are
 * applied), merged, into *runs.  At least one run, of length 0 at the end
 * when the image holds only zeros, as GNU tar writes it.
 */
static int sparse_scan(int fd, unsigned long long size, const struct bundle_options *o,
		       unsigned char *in, struct bundle_range **runs, size_t *n, struct err *e)
{
	*runs = NULL;
	*n = 0;
	for (unsigned long long at = 0; at < size;) {
		size_t got;
		if (read_full(fd, in, CHUNK, &got) < 0 || got == 0)
			return err_internal(e, "reading %s: %s", o->image,
					    got == 0 ? "it shrank" : strerror(errno));
		if (got > size - at)
			got = (size_t)(size - at);
		zero_ranges_apply(o, in, got, at);
		for (size_t off = 0; off < got; off += SPARSE_GRAIN) {
			size_t len = got - off < SPARSE_GRAIN ? got - off : SPARSE_GRAIN;
			if (all_zero(in + off, len))
				continue;
			struct bundle_range *last = *n ? &(*runs)[*n - 1] : NULL;
			if (last && last->offset + last->length == at + off) {
				last->length += len;
				continue;
			}
			*runs = xrealloc(*runs, (*n + 1) * sizeof **runs);
			(*runs)[*n].offset = at + off;
			(*runs)[*n].length = len;
			(*n)++;
		}
		at += got;
		if (o->progress)
			o->progress(o->progress_ctx, at / 2, size);
	}
	if (*n == 0) {
		*runs = xmalloc(sizeof **runs);
		(*runs)[0].offset = size;
		(*runs)[0].length = 0;
		*n = 1;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return err_internal(e, "reading %s: %s", o->image, strerror(errno));
	return 0;
}

int bundle_create(const struct bundle_options *o, struct buf *manifest_path, struct err *e)
{
	struct maker mk = { 0 };
	struct buf name = BUF_INIT, final_name = BUF_INIT, mc = BUF_INIT, image = BUF_INIT,
		   doc = BUF_INIT, sig = BUF_INIT, ek = BUF_INIT, uk = BUF_INIT, ei = BUF_INIT,
		   ui = BUF_INIT;
	EVP_PKEY *user_cert = NULL, *ec2_cert = NULL, *user_key = NULL;
	unsigned char *in = NULL;
	struct bundle_range *found = NULL; /* the data runs of a sparse bundle */
	int ret = -1, in_fd = -1, z_open = 0, read_done = 0;
	mk.parts.fd = -1;
	mk.parts.hold = o->hold_parts;
	mk.parts.hold_limit = o->hold_limit ? o->hold_limit : ~0ULL;
	if (!o->prefix[0] || strchr(o->prefix, '/') || strlen(o->prefix) > 200)
		return err_invalid(e, "the prefix must be a plain file name of at most 200 characters");
	if (!(user_cert = keys_cert_file(o->user_cert, e)) ||
	    !(ec2_cert = keys_cert_file(o->ec2_cert, e)) ||
	    !(user_key = keys_private_file(o->user_key, e)))
		goto out;
	in_fd = open(o->image, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (in_fd < 0 || fstat(in_fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		err_invalid(e, "cannot read the image %s: %s", o->image,
			    in_fd < 0 ? strerror(errno) : "not a regular file or a block device");
		goto out;
	}
	unsigned long long size = (unsigned long long)st.st_size;
	long long mtime = (long long)st.st_mtime;
	if (S_ISBLK(st.st_mode)) {
		/* A disk (ec2-bundle-vol): its size from its end, bundled as of now. */
		off_t end = lseek(in_fd, 0, SEEK_END);
		if (end < 0 || lseek(in_fd, 0, SEEK_SET) < 0) {
			err_invalid(e, "cannot size the device %s: %s", o->image, strerror(errno));
			goto out;
		}
		size = (unsigned long long)end;
		mtime = (long long)time(NULL);
	}
	if (size > BUNDLE_MAX_IMAGE) {
		err_invalid(e, "the image is larger than 10 GiB, the limit of instance-store roots");
		goto out;
	}
	unsigned char key[16], iv[16];
	codec_random(key, sizeof key);
	codec_random(iv, sizeof iv);
	mk.parts.dir = o->destination;
	mk.parts.prefix = o->prefix;
	mk.parts.part_size = o->part_size ? o->part_size : BUNDLE_PART_SIZE;
	mk.parts.sha1 = EVP_MD_CTX_new();
	mk.aes = EVP_CIPHER_CTX_new();
	mk.tar_sha1 = EVP_MD_CTX_new();
	mk.deflated = xmalloc(CHUNK);
	mk.cipher = xmalloc(CHUNK + 32);
	in = xmalloc(CHUNK);
	if (!mk.parts.sha1 || !mk.aes || !mk.tar_sha1 ||
	    EVP_EncryptInit_ex(mk.aes, EVP_aes_128_cbc(), NULL, key, iv) != 1 ||
	    EVP_DigestInit_ex(mk.tar_sha1, EVP_sha1(), NULL) != 1 ||
	    deflateInit2(&mk.z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z_open = 1;

	/* The tar stream: [long name], header, data, padding, two zero blocks. */
	unsigned char block[512];
	size_t name_len = strlen(o->prefix);
	if (name_len >= 100) {
		tar_header_make(block, "././@LongLink", 'L', name_len + 1, 0);
		unsigned char long_name[512] = { 0 };
		memcpy(long_name, o->prefix, name_len);
		if (maker_tar(&mk, block, 512, 0, e) < 0 || maker_tar(&mk, long_name, 512, 0, e) < 0)
			goto out;
	}
	struct bundle_range whole = { 0, size }, *runs = &whole;
	size_t nruns = 1;
	unsigned long long stored = size;
	if (o->sparse) {
		/* An old-GNU sparse member: the zero runs are not in the stream. */
		if (sparse_scan(in_fd, size, o, in, &found, &nruns, e) < 0)
			goto out;
		runs = found;
		stored = 0;
		for (size_t i = 0; i < nruns; i++)
			stored += runs[i].length;
		tar_header_make(block, o->prefix, 'S', stored, mtime);
		for (size_t i = 0; i < nruns && i < 4; i++) {
			tar_put_number(block + 386 + 24 * i, 12, runs[i].offset);
			tar_put_number(block + 398 + 24 * i, 12, runs[i].length);
		}
		block[482] = nruns > 4;
		tar_put_number(block + 483, 12, size);
		tar_checksum_set(block);
		int failed = maker_tar(&mk, block, 512, 0, e) < 0;
		for (size_t i = 4; !failed && i < nruns; i += 21) {
			memset(block, 0, 512);
			for (size_t k = 0; k < 21 && i + k < nruns; k++) {
				tar_put_number(block + 24 * k, 12, runs[i + k].offset);
				tar_put_number(block + 24 * k + 12, 12, runs[i + k].length);
			}
			block[504] = i + 21 < nruns;
			failed = maker_tar(&mk, block, 512, 0, e) < 0;
		}
		if (failed)
			goto out;
	} else {
		tar_header_make(block, o->prefix, '0', size, mtime);
		if (maker_tar(&mk, block, 512, 0, e) < 0)
			goto out;
	}
	for (size_t r = 0; r < nruns; r++) {
		unsigned long long done = 0;
		if (runs[r].length && lseek(in_fd, (off_t)runs[r].offset, SEEK_SET) < 0) {
			err_internal(e, "reading %s: %s", o->image, strerror(errno));
			goto out;
		}
		while (done < runs[r].length) {
			size_t got, want = runs[r].length - done < CHUNK ? (size_t)(runs[r].length - done)
									 : CHUNK;
			if (read_full(in_fd, in, want, &got) < 0 || got == 0) {
				err_internal(e, "reading %s: %s", o->image,
					     got == 0 ? "it shrank" : strerror(errno));
				goto out;
			}
			zero_ranges_apply(o, in, got, runs[r].offset + done);
			if (maker_tar(&mk, in, got, 0, e) < 0)
				goto out;
			done += got;
			if (o->progress) {
				unsigned long long at = runs[r].offset + done;
				o->progress(o->progress_ctx, o->sparse ? size / 2 + at / 2 : at, size);
			}
		}
	}
	if (o->progress && o->sparse)
		o->progress(o->progress_ctx, size, size);
	read_done = 1;
	if (o->after_read)
		o->after_read(o->after_read_ctx);
	memset(in, 0, 512 * 3);
	size_t tail = (size_t)((512 - stored % 512) % 512) + 1024;
	if (maker_tar(&mk, in, tail, 1, e) < 0)
		goto out;
	int out_len = 0;
	if (EVP_EncryptFinal_ex(mk.aes, mk.cipher, &out_len) != 1 ||
	    parts_write(&mk.parts, mk.cipher, (size_t)out_len, e) < 0 || parts_close(&mk.parts, e) < 0 ||
	    parts_flush(&mk.parts, e) < 0)
		goto out;

	/* Final part names, padded to the digits of the count. */
	int width = digits(mk.parts.count);
	for (size_t i = 0; i < mk.parts.count; i++) {
		temp_part_name(&mk.parts, i, &name);
		buf_reset(&final_name);
		buf_printf(&final_name, "%s/%s.part.%0*zu", o->destination, o->prefix, width, i);
		if (rename(name.data, final_name.data) < 0) {
			err_internal(e, "naming %s: %s", final_name.data, strerror(errno));
			goto out;
		}
	}

	/* The manifest: the signed elements first, as text. */
	unsigned char tar_digest[20];
	char hex[41];
	EVP_DigestFinal_ex(mk.tar_sha1, tar_digest, NULL);
	codec_hex(tar_digest, 20, hex);
	if (keys_encrypt_hex16(ec2_cert, key, &ek, e) < 0 ||
	    keys_encrypt_hex16(user_cert, key, &uk, e) < 0 ||
	    keys_encrypt_hex16(ec2_cert, iv, &ei, e) < 0 ||
	    keys_encrypt_hex16(user_cert, iv, &ui, e) < 0)
		goto out;
	buf_append_str(&mc, "<machine_configuration>");
	xml_element(&mc, "architecture", o->architecture ? o->architecture : "x86_64");
	if (o->nmappings) {
		buf_append_str(&mc, "<block_device_mapping>");
		for (size_t i = 0; i < o->nmappings; i++) {
			buf_append_str(&mc, "<mapping>");
			xml_element(&mc, "virtual", o->mappings[i].virtual_name);
			xml_element(&mc, "device", o->mappings[i].device);
			buf_append_str(&mc, "</mapping>");
		}
		buf_append_str(&mc, "</block_device_mapping>");
	}
	if (o->kernel_id && *o->kernel_id)
		xml_element(&mc, "kernel_id", o->kernel_id);
	if (o->ramdisk_id && *o->ramdisk_id)
		xml_element(&mc, "ramdisk_id", o->ramdisk_id);
	buf_append_str(&mc, "</machine_configuration>");
	buf_append_str(&image, "<image>");
	xml_element(&image, "name", o->prefix);
	xml_element(&image, "user", o->user);
	xml_element(&image, "type", o->type && *o->type ? o->type : "machine");
	buf_printf(&image, "<digest algorithm=\"SHA1\">%s</digest>", hex);
	buf_printf(&image, "<size>%llu</size><bundled_size>%llu</bundled_size>", size,
		   mk.parts.total);
	buf_printf(&image, "<ec2_encrypted_key algorithm=\"AES-128-CBC\">%s</ec2_encrypted_key>",
		   ek.data);
	buf_printf(&image, "<user_encrypted_key algorithm=\"AES-128-CBC\">%s</user_encrypted_key>",
		   uk.data);
	buf_printf(&image, "<ec2_encrypted_iv>%s</ec2_encrypted_iv>", ei.data);
	buf_printf(&image, "<user_encrypted_iv>%s</user_encrypted_iv>", ui.data);
	buf_printf(&image, "<parts count=\"%zu\">", mk.parts.count);
	for (size_t i = 0; i < mk.parts.count; i++) {
		buf_reset(&final_name);
		buf_printf(&final_name, "%s.part.%0*zu", o->prefix, width, i);
		buf_printf(&image, "<part index=\"%zu\">", i);
		xml_element(&image, "filename", final_name.data);
		buf_printf(&image, "<digest algorithm=\"SHA1\">%s</digest></part>",
			   mk.parts.digests[i]);
	}
	buf_append_str(&image, "</parts></image>");
	struct buf both = BUF_INIT;
	buf_append(&both, mc.data, mc.len);
	buf_append(&both, image.data, image.len);
	int signed_ok = keys_sign_sha1(user_key, both.data, both.len, &sig, e);
	buf_release(&both);
	if (signed_ok < 0)
		goto out;
	buf_append_str(&doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest>"
			     "<version>2007-10-10</version><bundler><name>amibox</name>"
			     "<version>1.0</version><release>1</release></bundler>");
	buf_append(&doc, mc.data, mc.len);
	buf_append(&doc, image.data, image.len);
	buf_printf(&doc, "<signature>%s</signature></manifest>\n", sig.data);
	buf_reset(manifest_path);
	buf_printf(manifest_path, "%s/%s.manifest.xml", o->destination, o->prefix);
	int fd = open(manifest_path->data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, doc.data, doc.len) < 0 || close(fd) < 0) {
		err_internal(e, "writing %s: %s", manifest_path->data, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (!read_done && o->after_read)
		o->after_read(o->after_read_ctx);
	parts_free_held(&mk.parts);
	free(found);
	if (ret < 0 && mk.parts.dir) {
		if (mk.parts.fd >= 0)
			close(mk.parts.fd);
		for (size_t i = 0; i <= mk.parts.count; i++) {
			temp_part_name(&mk.parts, i, &name);
			unlink(name.data);
		}
	}
	if (z_open)
		deflateEnd(&mk.z);
	if (in_fd >= 0)
		close(in_fd);
	EVP_PKEY_free(user_cert);
	EVP_PKEY_free(ec2_cert);
	EVP_PKEY_free(user_key);
	EVP_CIPHER_CTX_free(mk.aes);
	EVP_MD_CTX_free(mk.tar_sha1);
	EVP_MD_CTX_free(mk.parts.sha1);
	free(mk.parts.digests);
	free(mk.deflated);
	free(mk.cipher);
	free(in);
	buf_release(&name);
	buf_release(&final_name);
	buf_release(&mc);
	buf_release(&image);
	buf_release(&doc);
	buf_release(&sig);
	buf_release(&ek);
	buf_release(&uk);
	buf_release(&ei);
	buf_release(&ui);
	return ret;
}
