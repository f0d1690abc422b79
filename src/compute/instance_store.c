/* instance_store: unpacking a bundle into an instance's store (see instance_store.h). */
#include "compute/instance_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/bundle_store.h"
#include "catalog/catalog_images.h"
#include "util/buf.h"
#include "util/ids.h"
#include "util/log.h"

int instance_store_fetch(struct catalog *cat, struct objstore *store, const char *data_dir,
			 const struct instance *m, const char *idir, struct err *e)
{
	struct image img;
	struct bundle_ref ref;
	struct manifest man;
	unsigned char key[16], iv[16];
	struct buf part = BUF_INIT, path = BUF_INIT;
	int ret = -1, fd = -1, loaded = 0;
	int found = catalog_image_get(cat, m->image_id, &img, e);
	if (found <= 0) {
		if (found == 0)
			err_set(e, 400, "InvalidAMIID.NotFound",
				"The image %s was deregistered before the instance could start.",
				m->image_id);
		return -1;
	}
	long long start = ids_now_ms();
	/* The bundle is read as its image's owner, who registered it. */
	if (bundle_store_load(cat, store, data_dir, img.image_location, img.owner_id, 0, &ref, &man,
			      key, iv, e) < 0)
		goto out;
	loaded = 1;
	/* DIR/instances/ID, and DIR/instances before the first instance. */
	buf_printf(&path, "%s", idir);
	char *slash = strrchr(path.data, '/');
	if (slash) {
		*slash = '\0';
		mkdir(path.data, 0700);
	}
	buf_reset(&path);
	mkdir(idir, 0700);
	buf_printf(&part, "%s/%s.part", idir, INSTANCE_STORE_ROOT);
	buf_printf(&path, "%s/%s", idir, INSTANCE_STORE_ROOT);
	fd = open(part.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_internal(e, "creating the instance store: %s", strerror(errno));
		goto out;
	}
	if (bundle_unpack(&man, key, iv, bundle_store_open_part, &ref, fd, NULL, NULL, e) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		err_internal(e, "writing the instance store: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(part.data, path.data) < 0) {
		err_internal(e, "placing the instance store: %s", strerror(errno));
		goto out;
	}
	log_info("instance %s: %llu bytes of %s unpacked into its instance store in %lld ms",
		 m->id, man.size, m->image_id, ids_now_ms() - start);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && part.data)
		unlink(part.data);
	if (loaded)
		manifest_release(&man);
	image_release(&img);
	buf_release(&part);
	buf_release(&path);
	return ret;
}
