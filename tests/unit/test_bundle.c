/*
 * Unit tests for bundle_create's options for ec2-bundle-vol: ranges bundled
 * as zeros, parts held in memory until the image has been read (after_read
 * runs once, before any part file exists), and a hold limit that fails the
 * bundling and leaves nothing behind.  Each bundle is unpacked again with
 * the user's key and compared with what it should hold.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle/bundle.h"
#include "bundle/keys.h"
#include "bundle/manifest.h"
#include "util/codec.h"

#define IMAGE_SIZE (3 * 1024 * 1024 + 1000)
#define PART_SIZE (256 * 1024)

struct fixture {
	char dir[64];
	char image[128], key[128], cert[128], out[128];
	unsigned char *bytes;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/amibox-test-bundle.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->image, sizeof f->image, "%s/disk.img", f->dir);
	snprintf(f->key, sizeof f->key, "%s/ec2-key.pem", f->dir);
	snprintf(f->cert, sizeof f->cert, "%s/ec2-cert.pem", f->dir);
	snprintf(f->out, sizeof f->out, "%s/out", f->dir);
	mkdir(f->out, 0700);
	struct err e = ERR_INIT;
	/* One key pair serves as the user's and the cloud's. */
	assert_int_equal(keys_cloud_ensure(f->dir, &e), 0);
	f->bytes = malloc(IMAGE_SIZE);
	codec_random(f->bytes, IMAGE_SIZE);
	FILE *img = fopen(f->image, "wb");
	assert_non_null(img);
	assert_int_equal(fwrite(f->bytes, 1, IMAGE_SIZE, img), IMAGE_SIZE);
	fclose(img);
	*state = f;
	return 0;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	char path[512];
	while (d && (ent = readdir(d))) {
		if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
		if (ent->d_type == DT_DIR)
			remove_tree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->dir);
	free(f->bytes);
	free(f);
	return 0;
}

/* Files in dir (hidden ones too). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	int n = 0;
	while (d && (ent = readdir(d)))
		n += strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

struct reads {
	const char *out;
	int calls, files_then;
};

static void after_read(void *ctx)
{
	struct reads *r = ctx;
	r->calls++;
	r->files_then = count_files(r->out);
}

static int open_part(void *ctx, const char *filename, struct err *e)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", (const char *)ctx, filename);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		err_internal(e, "no part %s", filename);
	return fd;
}

/* Unpacks dir/prefix with the user's key into a buffer of IMAGE_SIZE. */
static unsigned char *unpack(const struct fixture *f, const char *manifest_path)
{
	struct buf text = BUF_INIT;
	char chunk[4096];
	FILE *mf = fopen(manifest_path, "r");
	assert_non_null(mf);
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, mf)) > 0)
		buf_append(&text, chunk, n);
	fclose(mf);
	struct manifest m;
	struct err e = ERR_INIT;
	assert_int_equal(manifest_parse(text.data, text.len, &m, &e), 0);
	assert_int_equal(m.size, IMAGE_SIZE);
	assert_true(m.nparts > 1);
	EVP_PKEY *key = keys_private_file(f->key, &e);
	assert_non_null(key);
	unsigned char k[16], iv[16];
	assert_int_equal(keys_decrypt_hex16(key, m.user_encrypted_key, k, &e), 0);
	assert_int_equal(keys_decrypt_hex16(key, m.user_encrypted_iv, iv, &e), 0);
	char path[256];
	snprintf(path, sizeof path, "%s/unpacked", f->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(bundle_unpack(&m, k, iv, open_part, (void *)f->out, fd, NULL, NULL, &e), 0);
	unsigned char *got = malloc(IMAGE_SIZE);
	assert_int_equal(pread(fd, got, IMAGE_SIZE, 0), IMAGE_SIZE);
	close(fd);
	unlink(path);
	EVP_PKEY_free(key);
	manifest_release(&m);
	buf_release(&text);
	return got;
}

static void test_zero_ranges_and_held_parts(void **state)
{
	struct fixture *f = *state;
	/* One range inside a part, one across a read chunk's edge, one past the end. */
	struct bundle_range zero[] = {
		{ 4096, 8192 }, { 1024 * 1024 - 100, 300 }, { IMAGE_SIZE - 10, 1000 },
	};
	struct reads r = { f->out, 0, -1 };
	struct bundle_options o = {
		.image = f->image, .prefix = "disk", .destination = f->out,
		.user_cert = f->cert, .user_key = f->key, .ec2_cert = f->cert,
		.user = "123456789012", .part_size = PART_SIZE,
		.zero_ranges = zero, .nzero_ranges = 3,
		.after_read = after_read, .after_read_ctx = &r, .hold_parts = 1,
	};
	struct buf manifest = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(bundle_create(&o, &manifest, &e), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.files_then, 0); /* nothing written while the disk was read */
	unsigned char *got = unpack(f, manifest.data);
	unsigned char *want = malloc(IMAGE_SIZE);
	memcpy(want, f->bytes, IMAGE_SIZE);
	for (size_t i = 0; i < 3; i++) {
		unsigned long long end = zero[i].offset + zero[i].length;
		memset(want + zero[i].offset, 0, (end > IMAGE_SIZE ? IMAGE_SIZE : end) - zero[i].offset);
	}
	assert_memory_equal(got, want, IMAGE_SIZE);
	assert_memory_not_equal(got, f->bytes, IMAGE_SIZE);
	free(got);
	free(want);
	buf_release(&manifest);
}

static void test_hold_limit_fails_cleanly(void **state)
{
	struct fixture *f = *state;
	struct reads r = { f->out, 0, -1 };
	struct bundle_options o = {
		.image = f->image, .prefix = "disk", .destination = f->out,
		.user_cert = f->cert, .user_key = f->key, .ec2_cert = f->cert,
		.user = "123456789012", .part_size = PART_SIZE,
		.after_read = after_read, .after_read_ctx = &r, .hold_parts = 1,
		.hold_limit = 1024 * 1024, /* random bytes do not compress */
	};
	struct buf manifest = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(bundle_create(&o, &manifest, &e), -1);
	assert_non_null(strstr(e.message, "memory"));
	assert_int_equal(r.calls, 1); /* the disk is thawed all the same */
	assert_int_equal(count_files(f->out), 0);
	buf_release(&manifest);
}

static void test_streamed_parts_unchanged(void **state)
{
	struct fixture *f = *state;
	struct reads r = { f->out, 0, -1 };
	struct bundle_options o = {
		.image = f->image, .prefix = "disk", .destination = f->out,
		.user_cert = f->cert, .user_key = f->key, .ec2_cert = f->cert,
		.user = "123456789012", .part_size = PART_SIZE,
		.after_read = after_read, .after_read_ctx = &r,
	};
	struct buf manifest = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(bundle_create(&o, &manifest, &e), 0);
	assert_int_equal(r.calls, 1);
	assert_true(r.files_then > 0); /* written as they came */
	unsigned char *got = unpack(f, manifest.data);
	assert_memory_equal(got, f->bytes, IMAGE_SIZE);
	free(got);
	buf_release(&manifest);
}

static void test_sparse_member(void **state)
{
	struct fixture *f = *state;
	/* Every other 64 KiB piece zeros: 25 data runs, header and extension blocks. */
	for (size_t at = 65536; at < IMAGE_SIZE; at += 131072)
		memset(f->bytes + at, 0, IMAGE_SIZE - at < 65536 ? IMAGE_SIZE - at : 65536);
	FILE *img = fopen(f->image, "wb");
	assert_non_null(img);
	assert_int_equal(fwrite(f->bytes, 1, IMAGE_SIZE, img), IMAGE_SIZE);
	fclose(img);
	struct bundle_range zero[] = { { 10, 20 } };
	struct reads r = { f->out, 0, -1 };
	struct bundle_options o = {
		.image = f->image, .prefix = "disk", .destination = f->out,
		.user_cert = f->cert, .user_key = f->key, .ec2_cert = f->cert,
		.user = "123456789012", .part_size = PART_SIZE, .sparse = 1,
		.zero_ranges = zero, .nzero_ranges = 1,
		.after_read = after_read, .after_read_ctx = &r,
	};
	struct buf manifest = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(bundle_create(&o, &manifest, &e), 0);
	assert_int_equal(r.calls, 1);
	unsigned char *got = unpack(f, manifest.data);
	memset(f->bytes + 10, 0, 20);
	assert_memory_equal(got, f->bytes, IMAGE_SIZE);
	free(got);
	buf_release(&manifest);

	/* An image of zeros only: one empty run at its end. */
	memset(f->bytes, 0, IMAGE_SIZE);
	img = fopen(f->image, "wb");
	assert_non_null(img);
	assert_int_equal(fwrite(f->bytes, 1, IMAGE_SIZE, img), IMAGE_SIZE);
	fclose(img);
	o.part_size = 16; /* still more than one part */
	assert_int_equal(bundle_create(&o, &manifest, &e), 0);
	got = unpack(f, manifest.data);
	assert_memory_equal(got, f->bytes, IMAGE_SIZE);
	free(got);
	buf_release(&manifest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_zero_ranges_and_held_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_limit_fails_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streamed_parts_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sparse_member, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
