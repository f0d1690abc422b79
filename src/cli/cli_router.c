/*
 * cli_router: `amibox router --data DIR --vpc ID [--api ADDR:PORT] [--region
 * NAME]`: one VPC's network (compute/router.h).  The daemon starts it when
 * the VPC's first instance boots; it ends when the VPC has none left.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_network.h"
#include "cli/cli.h"
#include "compute/router.h"
#include "util/log.h"

static int router_ports(void *ctx, const char *vpc_id, struct network_port **ports, size_t *n,
			struct err *e)
{
	return catalog_vpc_ports(ctx, vpc_id, ports, n, e);
}

int cli_router(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "vpc", required_argument, NULL, 'v' },
		{ "api", required_argument, NULL, 'a' },
		{ "region", required_argument, NULL, 'r' },
		{ "max-public-ports", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
		"usage: amibox router --data DIR --vpc ID [--api ADDR:PORT] [--region NAME]\n"
		"                     [--max-public-ports N]\n"
		"Runs one VPC's network on this host: its namespace, DHCP, the metadata\n"
		"service, security groups and public addresses.  The daemon starts it.\n"
		"  --api ADDR:PORT        the daemon, which guests reach at 169.254.169.254:8773\n"
		"  --max-public-ports N   ports forwarded per public address, at most (1024)\n";
	struct router_options opt = { .api_addr = "127.0.0.1:8773", .region = "us-east-1",
				      .max_public_ports = 1024 };
	const char *data = NULL;
	char exe[4096];
	struct catalog *cat = NULL;
	struct err e = ERR_INIT;
	int o;
	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (o) {
		case 'd': data = optarg; break;
		case 'v': opt.vpc_id = optarg; break;
		case 'a': opt.api_addr = optarg; break;
		case 'r': opt.region = optarg; break;
		case 'p': opt.max_public_ports = atoi(optarg); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!data || !opt.vpc_id || optind != argc || opt.max_public_ports < 1) {
		fputs(usage, stderr);
		return 2;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		fprintf(stderr, "amibox router: cannot find its own binary\n");
		return 1;
	}
	exe[n] = '\0';
	char *dir = realpath(data, NULL);
	if (!dir || catalog_open(dir, &cat, &e) < 0) {
		fprintf(stderr, "amibox router: %s\n", dir ? e.message : "no such data directory");
		free(dir);
		return 1;
	}
	opt.data_dir = dir;
	opt.exe = exe;
	opt.source = (struct router_source){ router_ports, cat };
	int rc = router_run(&opt, &e);
	if (rc < 0)
		log_error("router %s: %s", opt.vpc_id, e.message);
	catalog_close(cat);
	free(dir);
	return rc < 0 ? 1 : 0;
}
