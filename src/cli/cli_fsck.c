/*
 * cli_fsck: `amibox fsck [--repair]`: checks the stores against the catalog.
 *
 * Every chunk is read back and its hash checked.  Then what no catalogue row
 * owns is reported, the leftovers of a crash or of a creation that failed
 * half way: volume folders without a volume, instance folders without an
 * instance, spools of uploads that never ended (the daemon is not running,
 * so every spool is one), captures of volume snapshots that are not pending.
 * With --repair they are removed, and so are the chunk and object files no
 * row names (the sweeps the daemon makes at its start).
 *
 * fsck holds the data directory's lock (cli_lock.h) for its run, so neither
 * runs beside the other.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_snapshots.h"
#include "catalog/catalog_volumes.h"
#include "cli/cli.h"
#include "cli/cli_lock.h"
#include "objstore/objstore.h"
#include "util/buf.h"

struct fsck {
	struct catalog *cat;
	const char *data;
	int repair;
	long long found, removed;
	int failed; /* a catalog read failed: nothing is called orphan */
};

/* Whether a folder's entry is owned: 1 yes, 0 no (an orphan). */
typedef int fsck_owned_fn(struct fsck *f, const char *name);

static int fsck_volume_owned(struct fsck *f, const char *name)
{
	struct volume_row v;
	struct err e = ERR_INIT;
	int found = catalog_volume_get(f->cat, name, &v, &e);
	f->failed |= found < 0;
	return found != 0;
}

static int fsck_instance_owned(struct fsck *f, const char *name)
{
	struct instance m;
	struct err e = ERR_INIT;
	int found = catalog_instance_get(f->cat, name, &m, &e);
	if (found > 0)
		instance_release(&m);
	f->failed |= found < 0;
	return found != 0;
}

/* A capture belongs to the pending snapshot it is being built into. */
static int fsck_capture_owned(struct fsck *f, const char *name)
{
	struct snapshot s;
	struct err e = ERR_INIT;
	int found = catalog_snapshot_get(f->cat, name, &s, &e);
	f->failed |= found < 0;
	return found < 0 || (found > 0 && !strcmp(s.status, "pending"));
}

/* The daemon is down (fsck holds its lock): no upload is in progress. */
static int fsck_spool_owned(struct fsck *f, const char *name)
{
	(void)f;
	(void)name;
	return 0;
}

static int fsck_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* Reports (and with --repair removes) the entries of DATA/folder no row owns. */
static void fsck_folder(struct fsck *f, const char *folder, const char *what,
			fsck_owned_fn *owned)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", f->data, folder);
	DIR *dir = opendir(path.data);
	struct dirent *d;
	while (dir && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || owned(f, d->d_name) || f->failed)
			continue;
		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s", f->data, folder, d->d_name);
		f->found++;
		if (!f->repair) {
			printf("%s no catalogue row owns: %s\n", what, path.data);
		} else if (nftw(path.data, fsck_remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0) {
			printf("removed %s no catalogue row owns: %s\n", what, path.data);
			f->removed++;
		} else {
			printf("cannot remove %s %s: %s\n", what, path.data, strerror(errno));
		}
	}
	if (dir)
		closedir(dir);
	buf_release(&path);
}

static void fsck_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox fsck [--data DIR] [--repair]\n"
		"  Reads back every chunk and checks its hash, and reports what no\n"
		"  catalogue row owns: volume and instance folders, upload spools,\n"
		"  volume captures.  Run it while the daemon is stopped.\n"
		"  --repair  remove those leftovers, and chunk and object files no row names\n");
}

int cli_fsck(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "repair", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var";
	struct catalog *cat = NULL;
	struct blockstore *bs = NULL;
	struct objstore *objects = NULL;
	struct err e = ERR_INIT;
	long long checked = 0, bad = 0;
	int opt, status = 1, repair = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'r': repair = 1; break;
		case 'h': fsck_usage(stdout); return 0;
		default: fsck_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fsck_usage(stderr);
		return 2;
	}
	/*
	 * Sweeping the stores removes files a running daemon may be writing,
	 * and anything in a spool is a leftover only with no daemon: so fsck
	 * holds the daemon's lock for its run.
	 */
	char lock_error[512];
	int lock_fd = cli_lock_take(data, "fsck", NULL, NULL, lock_error, sizeof lock_error);
	if (lock_fd < 0) {
		fprintf(stderr, "amibox: %s; stop it before fsck\n", lock_error);
		return 1;
	}
	if (catalog_open(data, &cat, &e) < 0 ||
	    (repair ? blockstore_open(data, cat, 1, &bs, &e) :
		      blockstore_open_reader(data, cat, &bs, &e)) < 0 ||
	    blockstore_verify(bs, &checked, &bad, &e) < 0) {
		fprintf(stderr, "amibox: %s\n", e.message);
		goto out;
	}
	struct fsck f = { .cat = cat, .data = data, .repair = repair };
	fsck_folder(&f, "volumes", "volume folder", fsck_volume_owned);
	fsck_folder(&f, "instances", "instance folder", fsck_instance_owned);
	fsck_folder(&f, "objects/tmp", "upload spool", fsck_spool_owned);
	fsck_folder(&f, "captures", "volume capture", fsck_capture_owned);
	if (f.failed) {
		fprintf(stderr, "amibox: the catalogue could not be read; nothing was removed\n");
		goto out;
	}
	/* Object files no row names (the spools are gone by now). */
	if (repair && (objstore_open(data, &objects, &e) < 0 ||
		       objstore_sweep(objects, cat, &e) < 0)) {
		fprintf(stderr, "amibox: %s\n", e.message);
		goto out;
	}
	printf("%lld chunks checked, %lld bad; %lld leftovers found, %lld removed\n", checked,
	       bad, f.found, f.removed);
	status = bad || f.found > f.removed ? 1 : 0;
out:
	objstore_close(objects);
	blockstore_close(bs);
	catalog_close(cat);
	close(lock_fd);
	return status;
}
