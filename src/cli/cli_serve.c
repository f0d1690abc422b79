/*
 * cli_serve: `amibox serve`: opens the data directory, starts the API and
 * runs until SIGTERM or SIGINT, expiring overdue pending snapshots meanwhile.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "blockstore/blockstore.h"
#include "blockstore/volsnap.h"
#include "bundle/keys.h"
#include "compute/compute.h"
#include "compute/samples.h"
#include "objstore/objstore.h"
#include "catalog/catalog.h"
#include "catalog/catalog_snapshots.h"
#include "cli/cli.h"
#include "services.h"
#include "util/ids.h"
#include "util/log.h"

static int serve_count_accounts(void *ctx, const struct account *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

/* On first start, creates the "default" account and says how to use it. */
static int serve_default_account(struct catalog *cat, const char *listen,
				 const char *region, struct err *e)
{
	struct account a;
	int count = 0;
	if (catalog_account_each(cat, serve_count_accounts, &count, e) < 0)
		return -1;
	if (count > 0) {
		if (catalog_account_by_name(cat, "default", &a, e) <= 0)
			return 0;
	} else if (catalog_account_create(cat, "default", &a, e) < 0) {
		return -1;
	} else {
		printf("amibox: created account 'default' (%s)\n", a.id);
	}
	printf("amibox: endpoint http://%s  region %s\n", listen, region);
	printf("amibox: try it:\n"
	       "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=%s\n"
	       "  aws --endpoint-url http://%s ec2 describe-images --owners amazon\n"
	       "  aws --endpoint-url http://%s ec2 run-instances --instance-type t2.micro --count 1 \\\n"
	       "      --image-id $(aws --endpoint-url http://%s ec2 describe-images --owners amazon \\\n"
	       "        --filters Name=name,Values=amibox-sample-hvm --query 'Images[0].ImageId' --output text)\n",
	       a.access_key, a.secret, region, listen, listen, listen);
	fflush(stdout);
	return 0;
}

static void serve_usage(FILE *out)
{
	fprintf(out, "usage: amibox serve [--listen ADDR:PORT] [--data DIR] [--region NAME] [--quiet]\n"
		     "                    [--memory-scale F] [--stop-grace SECONDS] [--zones a,b,c]\n"
		     "  --memory-scale F    guests get F times their instance type's memory (0.125)\n"
		     "  --stop-grace S      seconds a guest has to power off before it is cut (60)\n"
		     "  --accel auto|kvm|tcg  KVM when /dev/kvm works (auto), or force one\n"
		     "  --zones a,b,c       the region's availability zones, by letter (a,b,c)\n");
}

int cli_serve(int argc, char **argv)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "region", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "memory-scale", required_argument, NULL, 'm' },
		{ "stop-grace", required_argument, NULL, 'g' },
		{ "accel", required_argument, NULL, 'a' },
		{ "zones", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:8773", *data = "./var", *region = "us-east-1";
	const char *zones = "a,b,c";
	struct server srv = { 0 };
	struct compute_options compute_opt = { .memory_scale = 0.125, .stop_grace_seconds = 60,
					       .accel = "auto" };
	struct api_server *api = NULL;
	struct err e = ERR_INIT;
	int opt, status = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'd': data = optarg; break;
		case 'r': region = optarg; break;
		case 'q': srv.quiet = 1; break;
		case 'm': compute_opt.memory_scale = atof(optarg); break;
		case 'g': compute_opt.stop_grace_seconds = atoi(optarg); break;
		case 'a': snprintf(compute_opt.accel, sizeof compute_opt.accel, "%.7s", optarg); break;
		case 'z': zones = optarg; break;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind != argc || strlen(region) > 40 || compute_opt.memory_scale <= 0 ||
	    compute_opt.memory_scale > 1 || compute_opt.stop_grace_seconds < 0 ||
	    (strcmp(compute_opt.accel, "auto") && strcmp(compute_opt.accel, "kvm") &&
	     strcmp(compute_opt.accel, "tcg"))) {
		serve_usage(stderr);
		return 2;
	}
	snprintf(srv.region, sizeof srv.region, "%s", region);
	srv.data_dir = data;
	snprintf(compute_opt.region, sizeof compute_opt.region, "%s", region);
	/* The region's zones, by letter: "a,b,c" -> us-east-1a, us-east-1b, us-east-1c. */
	for (const char *z = zones; *z && srv.nzones < API_ZONES_MAX; srv.nzones++) {
		size_t len = strcspn(z, ",");
		if (len == 0 || len > 8) {
			serve_usage(stderr);
			return 2;
		}
		snprintf(srv.zones[srv.nzones], sizeof srv.zones[0], "%s%.*s", region, (int)len, z);
		z += len + (z[len] == ',');
	}
	if (!srv.nzones) {
		serve_usage(stderr);
		return 2;
	}
	snprintf(srv.zone, sizeof srv.zone, "%s", srv.zones[0]);

	/* Block the signals before any thread starts, so only sigwait sees them. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (catalog_open(data, &srv.cat, &e) < 0 ||
	    catalog_secret(srv.cat, "ebs-token-key", srv.token_key,
			   sizeof srv.token_key, &e) < 0 ||
	    blockstore_open(data, srv.cat, 1, &srv.bs, &e) < 0 ||
	    objstore_open(data, &srv.objstore, &e) < 0 ||
	    keys_cloud_ensure(data, &e) < 0 ||
	    objstore_sweep(srv.objstore, srv.cat, &e) < 0 ||
	    volsnap_start(data, srv.cat, srv.bs, &srv.volsnap, &e) < 0 ||
	    samples_install(data, srv.cat, srv.bs, &e) < 0 ||
	    compute_start(data, srv.cat, srv.bs, srv.volsnap, srv.objstore, &compute_opt,
			  &srv.compute, &e) < 0 ||
	    catalog_snapshot_expire(srv.cat, ids_now_ms(), &e) < 0 ||
	    api_start(&srv, amibox_services, listen, &api, &e) < 0 ||
	    serve_default_account(srv.cat, listen, region, &e) < 0) {
		fprintf(stderr, "amibox: %s\n", e.message);
		goto out;
	}
	log_info("serving on '%s', data in '%s', region '%s'", listen, data, region);
	for (;;) {
		struct timespec tick = { 10, 0 };
		int sig = sigtimedwait(&signals, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("shutting down on signal %d", sig);
			break;
		}
		err_clear(&e);
		if (catalog_snapshot_expire(srv.cat, ids_now_ms(), &e) < 0)
			log_warn("expiring snapshots: %s", e.message);
	}
	status = 0;
out:
	api_stop(api);
	compute_stop(srv.compute);
	volsnap_stop(srv.volsnap);
	blockstore_close(srv.bs);
	objstore_close(srv.objstore);
	catalog_close(srv.cat);
	return status;
}
