/*
 * manifest: the AMI bundle manifest (version 2007-10-10), read by element
 * names so that any bundler's child order and either block-device-mapping
 * spelling (block_device_mapping/mapping or block_device_mappings/
 * block_device_mapping) parse.  The signed text is cut from the raw bytes
 * (the first <machine_configuration>…</machine_configuration>, or nothing,
 * followed by the first <image>…</image>), never re-serialised, because the
 * signature covers exactly what the bundler wrote.
 */
#ifndef AMIBOX_BUNDLE_MANIFEST_H
#define AMIBOX_BUNDLE_MANIFEST_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define MANIFEST_MAX_BYTES (4 * 1024 * 1024)
#define MANIFEST_MAX_PARTS 100000
#define MANIFEST_MAX_MAPPINGS 32

struct manifest_part {
	char filename[256];
	char digest[41];   /* SHA-1 hex, lowercase */
};

struct manifest_mapping {
	char virtual_name[32]; /* ami, root, ephemeralN, swap */
	char device[64];
};

struct manifest {
	char version[32];
	int has_machine_configuration;
	char architecture[32];
	struct manifest_mapping mappings[MANIFEST_MAX_MAPPINGS];
	size_t nmappings;
	char kernel_id[32];
	char ramdisk_id[32];
	char name[256];
	char user[32];
	char type[16];     /* machine, kernel or ramdisk */
	char digest[41];   /* SHA-1 of the tar stream, hex lowercase */
	unsigned long long size;          /* the image's bytes */
	unsigned long long bundled_size;  /* the parts' bytes */
	char *ec2_encrypted_key, *ec2_encrypted_iv;
	char *user_encrypted_key, *user_encrypted_iv;
	struct manifest_part *parts;      /* by index */
	size_t nparts;
	char *signature;
	struct buf signed_text;
};

/*
 * Parses a manifest.  Every problem is 400 InvalidManifest with a message
 * that says which element is wrong; m is released on failure.
 */
int manifest_parse(const char *xml, size_t len, struct manifest *m, struct err *e);
void manifest_release(struct manifest *m);

/* The device a virtual name maps to ("" if none). */
const char *manifest_device(const struct manifest *m, const char *virtual_name);

#endif
