/*
 * nbdkit-amibox-plugin: serves one amibox volume over NBD.
 *
 *   nbdkit --unix SOCKET build/nbdkit-amibox-plugin.so data=DIR volume=vol-...
 *
 * nbdkit does the protocol; this plugin only says what a read, a write and a
 * flush of the volume mean, through src/blockstore/volume.c: blocks the
 * volume never wrote come from its base snapshot's chunks, everything else
 * from its own data file.  The daemon starts one nbdkit per attached volume
 * and freezes the volume (an exclusive lock the plugin's requests share)
 * when it takes a snapshot.
 *
 * The plugin holds the volume's serving lock (volume_serve_lock) from its
 * configuration until the process ends: a second nbdkit for a volume that is
 * already served refuses to start, and the daemon knows a volume is out of
 * every machine's reach once nobody holds the lock.  It is taken before
 * nbdkit forks into the background, whose child keeps the descriptor.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define NBDKIT_API_VERSION 2
#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_REQUESTS
#include <nbdkit-plugin.h>

#include "blockstore/blockstore.h"
#include "blockstore/volume.h"
#include "catalog/catalog.h"
#include "util/ids.h"

static char *amibox_data;
static char *amibox_volume;
static struct catalog *amibox_cat;
static struct blockstore *amibox_bs;
static int amibox_lock_fd = -1;

static int amibox_config(const char *key, const char *value)
{
	if (!strcmp(key, "data")) {
		free(amibox_data);
		amibox_data = nbdkit_absolute_path(value);
		return amibox_data ? 0 : -1;
	}
	if (!strcmp(key, "volume")) {
		if (!ids_valid_resource("vol", value)) {
			nbdkit_error("volume=%s is not a volume ID", value);
			return -1;
		}
		free(amibox_volume);
		amibox_volume = strdup(value);
		return amibox_volume ? 0 : -1;
	}
	nbdkit_error("unknown parameter '%s' (expected data= and volume=)", key);
	return -1;
}

static int amibox_config_complete(void)
{
	struct err e = ERR_INIT;
	if (!amibox_data || !amibox_volume) {
		nbdkit_error("data= and volume= are required");
		return -1;
	}
	amibox_lock_fd = volume_serve_lock(amibox_data, amibox_volume, &e);
	if (amibox_lock_fd < 0 || catalog_open(amibox_data, &amibox_cat, &e) < 0 ||
	    blockstore_open_reader(amibox_data, amibox_cat, &amibox_bs, &e) < 0) {
		nbdkit_error("%s", e.message);
		return -1;
	}
	return 0;
}

static void amibox_unload(void)
{
	blockstore_close(amibox_bs);
	catalog_close(amibox_cat);
	if (amibox_lock_fd >= 0)
		close(amibox_lock_fd);
	free(amibox_data);
	free(amibox_volume);
}

static void *amibox_open(int readonly)
{
	(void)readonly;
	struct volume *v = NULL;
	struct err e = ERR_INIT;
	if (volume_open(amibox_data, amibox_volume, &v, &e) < 0) {
		nbdkit_error("%s", e.message);
		return NULL;
	}
	return v;
}

static void amibox_close(void *handle)
{
	volume_close(handle);
}

static int64_t amibox_get_size(void *handle)
{
	return (int64_t)volume_size(handle);
}

static int amibox_can_flush(void *handle)
{
	(void)handle;
	return 1;
}

static int amibox_pread(void *handle, void *buf, uint32_t count,
			uint64_t offset, uint32_t flags)
{
	(void)flags;
	struct err e = ERR_INIT;
	if (volume_read(handle, amibox_bs, buf, count, offset, &e) < 0) {
		nbdkit_error("%s", e.message);
		nbdkit_set_error(EIO);
		return -1;
	}
	return 0;
}

static int amibox_flush(void *handle, uint32_t flags)
{
	(void)flags;
	struct err e = ERR_INIT;
	if (volume_flush(handle, &e) < 0) {
		nbdkit_error("%s", e.message);
		nbdkit_set_error(EIO);
		return -1;
	}
	return 0;
}

static int amibox_pwrite(void *handle, const void *buf, uint32_t count,
			 uint64_t offset, uint32_t flags)
{
	struct err e = ERR_INIT;
	if (volume_write(handle, amibox_bs, buf, count, offset, &e) < 0) {
		nbdkit_error("%s", e.message);
		nbdkit_set_error(EIO);
		return -1;
	}
	return (flags & NBDKIT_FLAG_FUA) ? amibox_flush(handle, 0) : 0;
}

static int amibox_can_fua(void *handle)
{
	(void)handle;
	return NBDKIT_FUA_NATIVE;
}

static struct nbdkit_plugin plugin = {
	.name = "amibox",
	.longname = "amibox volume server",
	.version = "1",
	.description = "Serves an amibox EBS volume (data=DIR volume=vol-...)",
	.config = amibox_config,
	.config_complete = amibox_config_complete,
	.config_help = "data=DIR      the amibox data directory\n"
		       "volume=ID     the volume to serve",
	.unload = amibox_unload,
	.open = amibox_open,
	.close = amibox_close,
	.get_size = amibox_get_size,
	.can_flush = amibox_can_flush,
	.can_fua = amibox_can_fua,
	.pread = amibox_pread,
	.pwrite = amibox_pwrite,
	.flush = amibox_flush,
};

NBDKIT_REGISTER_PLUGIN(plugin)
