/*
 * samples: the public sample images, owned by the built-in "amazon"
 * account (see samples.c).
 *
 * The small ones are published by the daemon on a data directory's first
 * start (samples_install).  The Debian ones take minutes to build, so an
 * explicit command builds them into a cache directory outside the data
 * directory (samples_debian_build, which runs the embedded
 * scripts/debian-image.sh) and publishes them from there
 * (samples_debian_publish) while no daemon runs on the data directory.
 */
#ifndef AMIBOX_COMPUTE_SAMPLES_H
#define AMIBOX_COMPUTE_SAMPLES_H

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "util/ids.h"

/* Publishes the small sample images unless they exist already. */
int samples_install(const char *dir, struct catalog *cat, struct blockstore *bs,
		    struct err *e);

/* Where in a cache directory the Debian images are built. */
#define SAMPLES_DEBIAN_DIR "debian-12"

/*
 * Builds the Debian sample images in cache/SAMPLES_DEBIAN_DIR, or finds
 * them built by the same recipe.  The builder's progress lines go to
 * progress_fd.  -1 when it fails (the builder said why on progress_fd;
 * its log is in that directory).
 */
int samples_debian_build(const char *cache, int progress_fd, struct err *e);

struct samples_published {
	char name[64];
	char image_id[ID_MAX];
	int fresh;            /* 0: that build was published already */
};

/*
 * Publishes the Debian images built in cache under amazon, public:
 * amibox-sample-debian-hvm and amibox-sample-debian-pv, in out[0] and
 * out[1].  An image already published from the same build stays; one from
 * another build is replaced (its snapshot stays for the volumes made from
 * it).  Only while no daemon uses the catalog and the block store.
 */
int samples_debian_publish(const char *cache, struct catalog *cat, struct blockstore *bs,
			   struct samples_published out[2], struct err *e);

#endif
