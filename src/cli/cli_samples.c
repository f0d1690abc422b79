/*
 * cli_samples: `amibox samples build debian`: builds the Debian sample
 * images into a cache directory (minutes the first time, nothing the next)
 * and publishes them under the amazon account of a data directory.
 *
 * Publishing writes the catalog and the chunk store directly, as the daemon
 * does when it publishes the small samples, so no daemon may run on that
 * data directory meanwhile: the command takes the directory's lock (DATA/lock,
 * an exclusive flock held for the whole run, the file saying who holds it,
 * as `amibox serve` holds it) and refuses with the holder's name when a
 * daemon has it.  It does not publish through the daemon's API because
 * nobody can sign in as amazon.  --build-only fills the cache without
 * touching a data directory, daemon or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/cli_lock.h"
#include "compute/samples.h"
#include "util/buf.h"

static void samples_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox samples build debian [--data DIR] [--cache DIR] [--build-only]\n"
		"  Builds Debian 12 sample images (cloud-init, OpenSSH, user 'admin') from\n"
		"  Debian's packages with mmdebstrap (as root), keeps them in the cache, and\n"
		"  publishes amibox-sample-debian-hvm and amibox-sample-debian-pv under the\n"
		"  amazon account of the data directory, whose daemon must not be running.\n"
		"  --data DIR     the data directory (./var)\n"
		"  --cache DIR    where the images are built and kept ($XDG_CACHE_HOME/amibox\n"
		"                 or ~/.cache/amibox)\n"
		"  --build-only   build (or find) the images; publish nothing\n");
}

/* The default cache: $XDG_CACHE_HOME/amibox, else ~/.cache/amibox. */
static void samples_default_cache(struct buf *out)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		buf_printf(out, "%s/amibox", xdg);
	else
		buf_printf(out, "%s/.cache/amibox", home && *home ? home : ".");
}

/*
 * Takes data's lock for this run: the descriptor that holds it, or -1 with
 * the reason (who holds it, and what to do) in error.
 */
static int samples_lock(const char *data, char *error, size_t cap)
{
	int fd = cli_lock_take(data, "samples", NULL, NULL, error, cap);
	if (fd < 0) {
		size_t len = strlen(error);
		snprintf(error + len, cap - len, "; stop it, run this again (once built the "
			 "images are cached: --build-only builds them meanwhile), then start it");
	}
	return fd;
}

/* Publishes the built images into data, whose lock the caller holds. */
static int samples_publish(const char *data, const char *cache, struct err *e)
{
	struct catalog *cat = NULL;
	struct blockstore *bs = NULL;
	struct samples_published out[2];
	int ret = -1;
	fprintf(stderr, "amibox: publishing the images in %s\n", data);
	if (catalog_open(data, &cat, e) < 0 || blockstore_open(data, cat, 1, &bs, e) < 0 ||
	    samples_debian_publish(cache, cat, bs, out, e) < 0)
		goto out;
	for (int i = 0; i < 2; i++)
		printf("%s\t%s\t%s\n", out[i].name, out[i].image_id,
		       out[i].fresh ? "published" : "published already");
	ret = 0;
out:
	blockstore_close(bs);
	catalog_close(cat);
	return ret;
}

int cli_samples(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "cache", required_argument, NULL, 'c' },
		{ "build-only", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var";
	struct buf cache = BUF_INIT;
	struct err e = ERR_INIT;
	char error[768] = "";
	int opt, build_only = 0, status = 1, lock_fd = -1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'c': buf_reset(&cache); buf_append_str(&cache, optarg); break;
		case 'b': build_only = 1; break;
		case 'h': samples_usage(stdout); buf_release(&cache); return 0;
		default: samples_usage(stderr); buf_release(&cache); return 2;
		}
	}
	if (optind + 2 != argc || strcmp(argv[optind], "build") != 0 ||
	    strcmp(argv[optind + 1], "debian") != 0) {
		samples_usage(stderr);
		buf_release(&cache);
		return 2;
	}
	if (!cache.len)
		samples_default_cache(&cache);
	time_t start = time(NULL);
	if (!build_only) {
		if (mkdir(data, 0700) < 0 && errno != EEXIST) {
			snprintf(error, sizeof error, "cannot create %s: %s", data, strerror(errno));
			goto out;
		}
		/* Held from the start, so that no daemon starts while we build. */
		lock_fd = samples_lock(data, error, sizeof error);
		if (lock_fd < 0)
			goto out;
	}
	if (samples_debian_build(cache.data, STDERR_FILENO, &e) < 0 ||
	    (!build_only && samples_publish(data, cache.data, &e) < 0)) {
		snprintf(error, sizeof error, "%s", e.message);
		goto out;
	}
	fprintf(stderr, "amibox: the Debian sample images are ready (%lds)\n",
		(long)(time(NULL) - start));
	status = 0;
out:
	if (status)
		fprintf(stderr, "amibox: %s\n", error);
	if (lock_fd >= 0)
		close(lock_fd);
	buf_release(&cache);
	return status;
}
