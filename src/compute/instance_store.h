/*
 * instance_store: the root disk of an instance-store-backed instance.
 *
 * Before such an instance boots, the whole bundle of its image is fetched
 * from the object store, every part and the image digest verified,
 * decrypted with the cloud's key and unpacked into the instance's own
 * directory (DIR/instances/ID/root.img, sparse where the bundle was): time
 * in proportion to the image, as EC2's copy into the instance store.  The
 * file lives as long as the instance: terminating it deletes the file.
 */
#ifndef AMIBOX_COMPUTE_INSTANCE_STORE_H
#define AMIBOX_COMPUTE_INSTANCE_STORE_H

#include "catalog/catalog_instances.h"
#include "objstore/objstore.h"

#define INSTANCE_STORE_ROOT "root.img"

/* Unpacks the image of m into idir/root.img.  -1 with the reason in e. */
int instance_store_fetch(struct catalog *cat, struct objstore *store, const char *data_dir,
			 const struct instance *m, const char *idir, struct err *e);

#endif
