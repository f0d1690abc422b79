/* bundle_store: bundles in the object store (see bundle_store.h). */
#include "bundle/bundle_store.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/keys.h"
#include "catalog/catalog_certs.h"
#include "catalog/catalog_s3.h"
#include "util/codec.h"

static int refuse(struct err *e, const char *fmt, const char *detail)
{
	return err_set(e, 400, "InvalidManifest", fmt, detail);
}

/* Whether account may read the object (owner, bucket owner, a reading canned ACL). */
static int readable(const struct bundle_ref *ref, const struct object_row *o,
		    const struct bucket_row *b)
{
	static const char *const reading[] = { "public-read", "public-read-write",
					       "authenticated-read" };
	if (!strcmp(o->owner_id, ref->account_id) || !strcmp(b->owner_id, ref->account_id))
		return 1;
	for (size_t i = 0; i < sizeof reading / sizeof *reading; i++)
		if (!strcmp(o->acl, reading[i]))
			return 1;
	return 0;
}

/* The object bucket/dir+name, if the account may read it; -1 with e if not. */
static int find_object(const struct bundle_ref *ref, const char *name, struct object_row *o,
		       struct err *e)
{
	struct bucket_row b;
	char key[S3_KEY_MAX + 1];
	if ((size_t)snprintf(key, sizeof key, "%s%s", ref->dir, name) >= sizeof key)
		return refuse(e, "The manifest names a part whose key is too long: %.200s", name);
	int found = catalog_bucket_get(ref->cat, ref->bucket, &b, e);
	if (found > 0)
		found = catalog_object_get(ref->cat, ref->bucket, key, o, e);
	if (found < 0)
		return -1;
	if (!found || !readable(ref, o, &b)) {
		char where[S3_BUCKET_MAX + S3_KEY_MAX + 2];
		snprintf(where, sizeof where, "%s/%s", ref->bucket, key);
		return refuse(e, "%.300s does not exist or you may not read it", where);
	}
	return 0;
}

int bundle_store_open_part(void *ctx, const char *filename, struct err *e)
{
	const struct bundle_ref *ref = ctx;
	struct object_row *o = xmalloc(sizeof *o);
	int fd = -1;
	if (find_object(ref, filename, o, e) == 0) {
		struct buf path = BUF_INIT;
		objstore_path(ref->store, o->file, &path);
		fd = open(path.data, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			err_internal(e, "reading part %s: %s", filename, strerror(errno));
		buf_release(&path);
	}
	free(o);
	return fd;
}

/* Reads every part once: each must match its digest; their sizes add up. */
static int check_parts(struct bundle_ref *ref, const struct manifest *m, struct err *e)
{
	unsigned char *chunk = xmalloc(1 << 20);
	EVP_MD_CTX *sha1 = EVP_MD_CTX_new();
	unsigned long long total = 0;
	int ret = -1;
	if (!sha1)
		abort();
	for (size_t i = 0; i < m->nparts; i++) {
		int fd = bundle_store_open_part(ref, m->parts[i].filename, e);
		if (fd < 0)
			goto out;
		EVP_DigestInit_ex(sha1, EVP_sha1(), NULL);
		ssize_t n;
		while ((n = read(fd, chunk, 1 << 20)) > 0) {
			EVP_DigestUpdate(sha1, chunk, (size_t)n);
			total += (unsigned long long)n;
		}
		close(fd);
		if (n < 0) {
			err_internal(e, "reading part %s: %s", m->parts[i].filename, strerror(errno));
			goto out;
		}
		unsigned char digest[20];
		char hex[41];
		EVP_DigestFinal_ex(sha1, digest, NULL);
		codec_hex(digest, 20, hex);
		if (strcmp(hex, m->parts[i].digest) != 0) {
			refuse(e, "Part %.200s does not match its digest in the manifest",
			       m->parts[i].filename);
			goto out;
		}
	}
	if (m->bundled_size && total != m->bundled_size) {
		refuse(e, "The parts do not add up to the manifest's bundled_size%s", "");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(sha1);
	free(chunk);
	return ret;
}

/* Whether the signature verifies against one of the account's active certificates. */
static int signature_ok(struct catalog *cat, const char *account_id, const struct manifest *m,
			struct err *e)
{
	struct signing_cert *certs = NULL;
	size_t n = 0;
	if (catalog_certs(cat, account_id, &certs, &n, e) < 0)
		return -1;
	int good = 0, active = 0;
	for (size_t i = 0; i < n && !good; i++) {
		if (strcmp(certs[i].status, "Active") != 0)
			continue;
		active++;
		struct err ignored = ERR_INIT;
		EVP_PKEY *key = keys_cert_text(certs[i].body, strlen(certs[i].body), &ignored);
		if (key)
			good = keys_verify_sha1(key, m->signed_text.data, m->signed_text.len,
						m->signature);
		EVP_PKEY_free(key);
	}
	catalog_certs_free(certs, n);
	if (good)
		return 0;
	if (!active)
		return refuse(e, "The manifest's signature cannot be checked: account %s has no active "
				 "signing certificate (aws iam upload-signing-certificate)", account_id);
	return refuse(e, "The manifest's signature does not verify against the signing "
			 "certificates of account %s", account_id);
}

int bundle_store_load(struct catalog *cat, struct objstore *store, const char *data_dir,
		      const char *location, const char *account_id, int check,
		      struct bundle_ref *ref, struct manifest *m, unsigned char key[16],
		      unsigned char iv[16], struct err *e)
{
	memset(ref, 0, sizeof *ref);
	ref->cat = cat;
	ref->store = store;
	snprintf(ref->account_id, sizeof ref->account_id, "%s", account_id);
	const char *slash = strchr(location, '/');
	const char *last = strrchr(location, '/');
	if (!slash || slash == location || !slash[1] || (size_t)(slash - location) >= sizeof ref->bucket ||
	    strlen(last + 1) > S3_KEY_MAX)
		return refuse(e, "The image location %.300s is not bucket/path/name.manifest.xml",
			      location);
	snprintf(ref->bucket, sizeof ref->bucket, "%.*s", (int)(slash - location), location);
	snprintf(ref->dir, sizeof ref->dir, "%.*s", (int)(last - slash), slash + 1);
	struct object_row *o = xmalloc(sizeof *o);
	struct buf text = BUF_INIT, path = BUF_INIT;
	EVP_PKEY *cloud = NULL;
	int parsed = 0, ret = -1;
	if (find_object(ref, last + 1, o, e) < 0)
		goto out;
	if (o->size > MANIFEST_MAX_BYTES) {
		refuse(e, "The manifest %.300s is larger than 4 MiB", location);
		goto out;
	}
	objstore_path(store, o->file, &path);
	int fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_internal(e, "reading the manifest: %s", strerror(errno));
		goto out;
	}
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0 && text.len <= MANIFEST_MAX_BYTES)
		buf_append(&text, chunk, (size_t)n);
	close(fd);
	if (manifest_parse(text.data ? text.data : "", text.len, m, e) < 0)
		goto out;
	parsed = 1;
	if (strcmp(m->user, account_id) != 0) {
		refuse(e, "The bundle was made for account %.32s, not for you", m->user);
		goto out;
	}
	if (signature_ok(cat, account_id, m, e) < 0)
		goto out;
	if (!(cloud = keys_cloud_private(data_dir, e)))
		goto out;
	struct err why = ERR_INIT;
	if (keys_decrypt_hex16(cloud, m->ec2_encrypted_key, key, &why) < 0 ||
	    keys_decrypt_hex16(cloud, m->ec2_encrypted_iv, iv, &why) < 0) {
		refuse(e, "The bundle's key is not encrypted for this cloud's certificate "
			  "(amibox ec2-cert)%s", "");
		goto out;
	}
	if (m->size > BUNDLE_MAX_IMAGE) {
		refuse(e, "The bundled image is larger than 10 GiB, the limit for instance-store "
			  "images%s", "");
		goto out;
	}
	if (check && check_parts(ref, m, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && parsed)
		manifest_release(m);
	EVP_PKEY_free(cloud);
	buf_release(&text);
	buf_release(&path);
	free(o);
	return ret;
}
