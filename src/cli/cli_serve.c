/*
 * cli_serve: `amibox serve`: opens the data directory, starts the API and
 * runs until SIGTERM or SIGINT, expiring overdue pending snapshots meanwhile.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/ops.h"
#include "api/respcache.h"
#include "blockstore/blockstore.h"
#include "blockstore/volsnap.h"
#include "bundle/keys.h"
#include "compute/compute.h"
#include "compute/network.h"
#include "compute/samples.h"
#include "metering/metering.h"
#include "metering/prices.h"
#include "objstore/objstore.h"
#include "catalog/catalog.h"
#include "catalog/catalog_images.h"
#include "catalog/catalog_snapshots.h"
#include "cli/cli.h"
#include "cli/cli_lock.h"
#include "services.h"
#include "util/ids.h"
#include "util/log.h"

static int serve_count_accounts(void *ctx, const struct account *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

/*
 * On first start, creates the "default" account and prints its keys with a
 * ready-to-paste example: the only time the secret is printed unasked.  On
 * later starts it says where the keys are and how to see them again.
 */
static int serve_default_account(struct catalog *cat, const char *data, const char *listen,
				 const char *region, struct err *e)
{
	struct account a;
	int count = 0;
	if (catalog_account_each(cat, serve_count_accounts, &count, e) < 0)
		return -1;
	printf("amibox %s: endpoint http://%s  region %s  data %s\n", AMIBOX_VERSION, listen,
	       region, data);
	if (count > 0) {
		int found = catalog_account_by_name(cat, "default", &a, e);
		if (found < 0)
			return -1;
		if (found)
			printf("amibox: account 'default' (%s); its keys are in %s/catalog.db:\n"
			       "  amibox account show default --data %s\n", a.id, data, data);
		else
			printf("amibox: accounts: amibox account list --data %s\n", data);
		fflush(stdout);
		return 0;
	}
	if (catalog_account_create(cat, "default", &a, e) < 0)
		return -1;
	printf("amibox: created account 'default' (%s); its keys, shown this once (they are\n"
	       "kept in %s/catalog.db; 'amibox account show default --data %s' shows them again):\n"
	       "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=%s\n"
	       "amibox: try it:\n"
	       "  aws --endpoint-url http://%s ec2 describe-images --owners amazon\n"
	       "  aws --endpoint-url http://%s ec2 run-instances --instance-type t2.micro --count 1 \\\n"
	       "      --image-id $(aws --endpoint-url http://%s ec2 describe-images --owners amazon \\\n"
	       "        --filters Name=name,Values=amibox-sample-hvm --query 'Images[0].ImageId' --output text)\n",
	       a.id, data, data, a.access_key, a.secret, region, listen, listen, listen);
	fflush(stdout);
	return 0;
}

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox serve [--listen ADDR:PORT] [--data DIR] [--region NAME] [--quiet]\n"
		"                    [--log-format keyvalue|json]\n"
		"                    [--memory-scale F] [--stop-grace SECONDS] [--accel auto|kvm|tcg]\n"
		"                    [--zones a,b,c] [--public-ips CIDR]\n"
		"                    [--deregistered-shown S] [--deregistered-kept S] [--prices FILE]\n"
		"                    [--no-response-cache]\n"
		"  --listen ADDR:PORT    where every API answers (127.0.0.1:8773)\n"
		"  --data DIR            the data directory, one daemon per directory (./var)\n"
		"  --region NAME         the region it is (us-east-1)\n"
		"  --zones a,b,c         the region's availability zones, by letter (a,b,c)\n"
		"  --public-ips CIDR     instances' public addresses, on loopback (127.100.0.0/16)\n"
		"  --quiet               no log line per request\n"
		"  --log-format F        keyvalue lines (the default) or json, an object a line\n"
		"  --memory-scale F      guests get F times their instance type's memory (0.125)\n"
		"  --stop-grace S        seconds a guest has to power off before it is cut (60)\n"
		"  --accel auto|kvm|tcg  KVM when /dev/kvm works well (auto), or force one\n"
		"  --deregistered-shown S  seconds a deregistered image is still described (%d)\n"
		"  --deregistered-kept S   seconds before its ID is unknown, once no instance\n"
		"                          launched from it runs (%d)\n"
		"  --prices FILE         usage prices (JSON, docs/metering.md) over the defaults\n"
		"                        (AWS's us-east-1 on-demand prices)\n"
		"  --no-response-cache   compute every DescribeImages and DescribeSnapshots\n"
		"                        (by default an answer is kept while nothing changes)\n"
		"On its first start it creates the account 'default' and prints its keys.\n"
		"GET /metrics (Prometheus) and GET /health answer on the same port, unsigned.\n",
		IMAGE_DEREGISTERED_SHOWN_S, IMAGE_DEREGISTERED_KEPT_S);
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
		{ "deregistered-shown", required_argument, NULL, 'S' },
		{ "deregistered-kept", required_argument, NULL, 'K' },
		{ "zones", required_argument, NULL, 'z' },
		{ "public-ips", required_argument, NULL, 'p' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "prices", required_argument, NULL, 'P' },
		{ "no-response-cache", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:8773", *data = "./var", *region = "us-east-1";
	const char *zones = "a,b,c", *prices = NULL;
	struct server srv = { .deregistered_shown_ms = IMAGE_DEREGISTERED_SHOWN_S * 1000LL,
			      .deregistered_kept_ms = IMAGE_DEREGISTERED_KEPT_S * 1000LL };
	struct compute_options compute_opt = { .memory_scale = 0.125, .stop_grace_seconds = 60,
					       .accel = "auto", .public_pool = "127.100.0.0/16" };
	struct api_server *api = NULL;
	struct err e = ERR_INIT;
	enum log_format log_format = LOG_FORMAT_KEYVALUE;
	int opt, status = 1, lock_fd = -1, bad_log_format = 0, response_cache = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'l': listen = optarg; break;
		case 'd': data = optarg; break;
		case 'r': region = optarg; break;
		case 'q': srv.quiet = 1; break;
		case 'm': compute_opt.memory_scale = atof(optarg); break;
		case 'g': compute_opt.stop_grace_seconds = atoi(optarg); break;
		case 'a': snprintf(compute_opt.accel, sizeof compute_opt.accel, "%.7s", optarg); break;
		case 'S': srv.deregistered_shown_ms = atoll(optarg) * 1000LL; break;
		case 'K': srv.deregistered_kept_ms = atoll(optarg) * 1000LL; break;
		case 'z': zones = optarg; break;
		case 'p': snprintf(compute_opt.public_pool, sizeof compute_opt.public_pool, "%s", optarg); break;
		case 'f': bad_log_format = log_format_parse(optarg, &log_format) < 0; break;
		case 'P': prices = optarg; break;
		case 'C': response_cache = 0; break;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind != argc || bad_log_format || strlen(region) > 40 || compute_opt.memory_scale <= 0 ||
	    compute_opt.memory_scale > 1 || compute_opt.stop_grace_seconds < 0 ||
	    srv.deregistered_shown_ms < 0 || srv.deregistered_kept_ms < srv.deregistered_shown_ms ||
	    (strcmp(compute_opt.accel, "auto") && strcmp(compute_opt.accel, "kvm") &&
	     strcmp(compute_opt.accel, "tcg"))) {
		serve_usage(stderr);
		return 2;
	}
	/* Public addresses stand for the internet side and stay on this host. */
	uint32_t pool_net;
	int pool_prefix;
	if (network_parse_cidr(compute_opt.public_pool, &pool_net, &pool_prefix) < 0 ||
	    pool_prefix < 8 || pool_prefix > 30 || (pool_net >> 24) != 127) {
		fprintf(stderr, "amibox serve: --public-ips must be a loopback range inside "
				"127.0.0.0/8, /8 to /30, such as 127.100.0.0/16\n");
		return 2;
	}
	snprintf(srv.region, sizeof srv.region, "%s", region);
	metering_set_region(region);
	srv.data_dir = data;
	snprintf(compute_opt.region, sizeof compute_opt.region, "%s", region);
	snprintf(compute_opt.listen, sizeof compute_opt.listen, "%s", listen);
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
	log_set_format(log_format);
	srv.version = AMIBOX_VERSION;
	srv.started_ms = ids_now_ms();
	/* GET /metrics: the server's own families; a module with figures of its
	 * own (usage metering's totals) adds a collector here too. */
	srv.metrics = metrics_new();
	/* 256 answers of up to 1 MiB (a page of 1,000 images is about 700 KB),
	 * 32 MiB together. */
	if (response_cache)
		srv.responses = respcache_new(256, 1 << 20, 32 << 20);
	ops_register(&srv);

	/* Block the signals before any thread starts, so only sigwait sees them. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit reached is a failed write (EFBIG), as a full disk is. */
	signal(SIGXFSZ, SIG_IGN);

	/* One daemon per data directory, for as long as this one runs. */
	char lock_error[512];
	if (mkdir(data, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "amibox: cannot create %s: %s\n", data, strerror(errno));
		return 1;
	}
	lock_fd = cli_lock_take(data, "serve", listen, region, lock_error, sizeof lock_error);
	if (lock_fd < 0) {
		fprintf(stderr, "amibox: %s\n", lock_error);
		return 1;
	}
	if (catalog_open(data, &srv.cat, &e) < 0 ||
	    metering_prices_install(srv.cat, prices, &e) < 0 || metering_start(srv.cat, &e) < 0 ||
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
	    serve_default_account(srv.cat, data, listen, region, &e) < 0) {
		fprintf(stderr, "amibox: %s\n", e.message);
		goto out;
	}
	/* Usage metering's totals on GET /metrics (read at each scrape). */
	metering_metrics_register(srv.metrics, srv.cat);
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
	metrics_free(srv.metrics);
	respcache_free(srv.responses);
	compute_stop(srv.compute);
	volsnap_stop(srv.volsnap);
	blockstore_close(srv.bs);
	objstore_close(srv.objstore);
	catalog_close(srv.cat);
	close(lock_fd);
	return status;
}
