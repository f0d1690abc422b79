/* cli_fsck: `amibox fsck`: reads back every chunk and checks its hash. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "cli/cli.h"
#include "cli/cli_lock.h"

int cli_fsck(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var";
	struct catalog *cat = NULL;
	struct blockstore *bs = NULL;
	struct err e = ERR_INIT;
	long long checked = 0, bad = 0;
	int opt, status = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt != 'd') {
			fprintf(stderr, "usage: amibox fsck [--data DIR]\n");
			return 2;
		}
		data = optarg;
	}
	/*
	 * Opening the block store sweeps crash leftovers: files a running
	 * daemon may be writing.  So fsck holds the daemon's lock for its run.
	 */
	char lock_error[512];
	int lock_fd = cli_lock_take(data, "fsck", NULL, NULL, lock_error, sizeof lock_error);
	if (lock_fd < 0) {
		fprintf(stderr, "amibox: %s; stop it before fsck\n", lock_error);
		return 1;
	}
	if (catalog_open(data, &cat, &e) < 0 ||
	    blockstore_open(data, cat, 1, &bs, &e) < 0 ||
	    blockstore_verify(bs, &checked, &bad, &e) < 0) {
		fprintf(stderr, "amibox: %s\n", e.message);
		goto out;
	}
	printf("%lld chunks checked, %lld bad\n", checked, bad);
	status = bad ? 1 : 0;
out:
	blockstore_close(bs);
	catalog_close(cat);
	close(lock_fd);
	return status;
}
