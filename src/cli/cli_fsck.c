/* cli_fsck: `amibox fsck`: reads back every chunk and checks its hash. */
#include <getopt.h>
#include <stdio.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "cli/cli.h"

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
	/* Opening sweeps crash leftovers, so run it while the daemon is down. */
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
	return status;
}
