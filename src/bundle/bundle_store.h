/*
 * bundle_store: bundles that live in the object store, as RegisterImage
 * and RunInstances see them (ImageLocation "bucket/path/NAME.manifest.xml";
 * the parts beside the manifest).
 *
 * Loading a bundle for an account checks, in order: that the account may
 * read the manifest (its owner, the bucket's owner, or a canned ACL that
 * lets others read); that it parses; that it was bundled for the account;
 * that its signature verifies against one of the account's active signing
 * certificates; that the cloud's key decrypts its AES key and IV; that the
 * image is at most 10 GiB; and, when asked, that every part is there,
 * readable and matches its digest.  Every refusal is InvalidManifest (400)
 * with a message that says which check failed.
 */
#ifndef AMIBOX_BUNDLE_BUNDLE_STORE_H
#define AMIBOX_BUNDLE_BUNDLE_STORE_H

#include "bundle/manifest.h"
#include "catalog/catalog.h"
#include "objstore/objstore.h"

struct bundle_ref {
	struct catalog *cat;
	struct objstore *store;
	char bucket[S3_BUCKET_MAX];
	char dir[S3_KEY_MAX + 1];  /* key prefix of the parts ("" or "path/") */
	char account_id[13];       /* who reads */
};

int bundle_store_load(struct catalog *cat, struct objstore *store, const char *data_dir,
		      const char *location, const char *account_id, int check_parts,
		      struct bundle_ref *ref, struct manifest *m, unsigned char key[16],
		      unsigned char iv[16], struct err *e);

/* Opens a part of a loaded bundle (a bundle_open_part_fn; ctx is the bundle_ref). */
int bundle_store_open_part(void *ctx, const char *filename, struct err *e);

#endif
