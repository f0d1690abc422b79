/*
 * bundle: the instance-store AMI bundle format, both ways.
 *
 * Making one: the image file → a tar stream of one member named after the
 * prefix (GNU header, uid/gid 0, mode 0644) → SHA-1 of that stream (the
 * image digest) → gzip → AES-128-CBC (random key and IV, PKCS#7 padding,
 * no salt header) → parts of 10 MiB, PREFIX.part.NN (NN zero-padded to the
 * digits of the part count) → PREFIX.manifest.xml (manifest.h), with key
 * and IV encrypted for the user's and the cloud's certificates and the
 * machine_configuration and image elements signed with the user's key.
 *
 * Unpacking, streamed: each part's bytes are hashed (its digest is checked
 * at its end), decrypted, inflated, hashed as the tar stream and read as tar
 * (GNU, ustar and pax headers; GNU long names; old-GNU sparse members); the
 * one regular file lands in the output file.  At the end the tar digest and
 * the image size must match the manifest.  Nothing is trusted before that.
 */
#ifndef AMIBOX_BUNDLE_BUNDLE_H
#define AMIBOX_BUNDLE_BUNDLE_H

#include <stddef.h>

#include "bundle/manifest.h"
#include "util/buf.h"
#include "util/err.h"

#define BUNDLE_PART_SIZE (10ULL * 1024 * 1024)
#define BUNDLE_MAX_IMAGE (10ULL << 30) /* instance-store roots, as EC2 */

typedef void (*bundle_progress_fn)(void *ctx, unsigned long long done,
				   unsigned long long total);

/* Bytes of the image, by offset. */
struct bundle_range {
	unsigned long long offset, length;
};

struct bundle_options {
	const char *image;        /* the file (or block device) to bundle */
	const char *prefix;       /* the member and file name prefix */
	const char *destination;  /* directory for the parts and manifest */
	const char *user_cert, *user_key, *ec2_cert; /* PEM files */
	const char *user;         /* the account ID */
	const char *architecture; /* x86_64 by default */
	const char *kernel_id, *ramdisk_id; /* "" or NULL when none */
	const char *type;         /* machine (default), kernel, ramdisk */
	const struct manifest_mapping *mappings;
	size_t nmappings;
	unsigned long long part_size; /* 0: BUNDLE_PART_SIZE */
	bundle_progress_fn progress;
	void *progress_ctx;
	/* Ranges of the image bundled as zeros (files kept out of it). */
	const struct bundle_range *zero_ranges;
	size_t nzero_ranges;
	/*
	 * Called once the image has been read whole (or the bundling failed
	 * before): ec2-bundle-vol thaws the disk there.  With hold_parts the
	 * parts stay in memory until then (at most hold_limit bytes, else the
	 * bundling fails), for a destination that cannot be written meanwhile.
	 */
	void (*after_read)(void *ctx);
	void *after_read_ctx;
	int hold_parts;
	unsigned long long hold_limit;
	/*
	 * An old-GNU sparse tar member: a first pass finds the image's data
	 * (64 KiB pieces that are not all zeros), and only that goes into the
	 * stream, hashed, compressed and encrypted.  For disks (ec2-bundle-vol),
	 * mostly empty.
	 */
	int sparse;
};

/* Writes the parts and the manifest; manifest_path gets the latter's path. */
int bundle_create(const struct bundle_options *o, struct buf *manifest_path, struct err *e);

/* Opens one part for reading (by its file name in the manifest); an fd or -1 with e. */
typedef int (*bundle_open_part_fn)(void *ctx, const char *filename, struct err *e);

/*
 * Unpacks the bundle of m, decrypted with key and iv, into out_fd (sparse
 * where the tar member was).  Every failure is -1 with a message in e
 * (InvalidManifest), and out_fd's contents are then meaningless.
 */
int bundle_unpack(const struct manifest *m, const unsigned char key[16],
		  const unsigned char iv[16], bundle_open_part_fn open_part, void *ctx,
		  int out_fd, bundle_progress_fn progress, void *progress_ctx, struct err *e);

#endif
