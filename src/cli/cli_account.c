/*
 * cli_account: `amibox account create|list|show|delete`: account administration
 * straight on the catalog.  Safe while the daemon runs: SQLite serialises
 * the writers, and the daemon reads accounts on every request.
 *
 * An account that owns live resources (instances not terminated, volumes,
 * snapshots, images, buckets, Elastic IP addresses) is not deleted: its machines and data would
 * run on out of everyone's reach.  The command lists them; with --force it
 * first ends them through the running daemon's API, as the account
 * (cli_purge.h), and refuses when no daemon runs on the data directory.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "iam/iam.h"
#include "catalog/catalog.h"
#include "catalog/catalog_certs.h"
#include "cli/cli.h"
#include "cli/cli_client.h"
#include "cli/cli_lock.h"
#include "cli/cli_purge.h"
#include "util/buf.h"

static void account_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox account create NAME [--data DIR] [--json]\n"
		"       amibox account list [--data DIR] [--json]\n"
		"       amibox account show NAME [--data DIR] [--json]   (its keys)\n"
		"       amibox account delete NAME [--data DIR] [--force [--endpoint-url URL]]\n"
		"         (--force first terminates and deletes what the account owns,\n"
		"          through the daemon running on DIR)\n"
		"       amibox account add-cert NAME CERT.pem [--data DIR]\n"
		"         (a signing certificate, as IAM's UploadSigningCertificate)\n");
}

static int account_print(void *ctx, const struct account *a)
{
	int *json = ctx;
	if (*json)
		printf("{\"Name\":\"%s\",\"AccountId\":\"%s\",\"AccessKeyId\":\"%s\"}\n",
		       a->name, a->id, a->access_key);
	else
		printf("%-24s %s  %s\n", a->name, a->id, a->access_key);
	return 0;
}

static int account_count_resource(void *ctx, const char *kind, const char *id,
				  const char *state)
{
	(void)kind;
	(void)id;
	(void)state;
	(*(long long *)ctx)++;
	return 0;
}

static int account_print_resource(void *ctx, const char *kind, const char *id,
				  const char *state)
{
	(void)ctx;
	fprintf(stderr, "  %-8s %s%s%s%s\n", kind, id, *state ? " (" : "", state, *state ? ")" : "");
	return 0;
}

/*
 * Where the daemon on data answers: --endpoint-url, else the address it
 * listens on (a wildcard address reached through loopback).  -1 with a
 * message when no daemon runs there.
 */
static int account_daemon(const char *data, const char *endpoint, struct cli_client *client,
			  const struct account *a, char *error, size_t cap)
{
	struct cli_lock_holder h;
	char url[sizeof client->endpoint];
	if (cli_lock_holder(data, &h) != 1 || strcmp(h.command, "serve") != 0) {
		snprintf(error, cap, "--force ends the account's instances and data through the "
			 "daemon, and no daemon runs on '%s': start it (amibox serve --data %s) "
			 "and run this again", data, data);
		return -1;
	}
	if (!endpoint) {
		const char *port = strrchr(h.listen, ':');
		if (!strncmp(h.listen, "0.0.0.0:", 8) && port)
			snprintf(url, sizeof url, "http://127.0.0.1%s", port);
		else if (!strncmp(h.listen, "[::]:", 5) && port)
			snprintf(url, sizeof url, "http://[::1]%s", port);
		else
			snprintf(url, sizeof url, "http://%.200s", h.listen);
		endpoint = url;
	}
	/* The account's own keys, from the catalog of data. */
	if (cli_client_setup(client, NULL, endpoint, data, a->name, error, cap) < 0)
		return -1;
	snprintf(client->region, sizeof client->region, "%s", h.region);
	return 0;
}

/* `account delete NAME [--force]`; prints what keeps the account alive. */
static int account_delete(struct catalog *cat, const char *data, const char *name, int force,
			  const char *endpoint, struct err *e)
{
	struct account a;
	struct cli_client client;
	char error[512];
	long long owned = 0;
	int found = catalog_account_by_name(cat, name, &a, e);
	if (found <= 0)
		return found < 0 ? -1 : err_set(e, 404, "NoSuchAccount", "no account named '%s'", name);
	if (catalog_account_resources(cat, a.id, account_count_resource, &owned, e) < 0)
		return -1;
	if (owned && !force) {
		fprintf(stderr, "amibox: account '%s' owns:\n", name);
		if (catalog_account_resources(cat, a.id, account_print_resource, NULL, e) < 0)
			return -1;
		return err_set(e, 409, "AccountNotEmpty",
			       "account '%s' still owns the %lld live resources above: delete "
			       "them first, or add --force to terminate and delete them", name, owned);
	}
	/* --force with nothing to end needs no daemon. */
	if (owned && (account_daemon(data, endpoint, &client, &a, error, sizeof error) < 0 ||
		      cli_purge_account(cat, &a, &client, error, sizeof error) < 0))
		return err_set(e, 409, "AccountNotEmpty", "account '%s' was not deleted: %s", name,
			       error);
	return catalog_account_delete(cat, name, e);
}

int cli_account(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "endpoint-url", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var", *endpoint = NULL;
	int json = 0, force = 0, opt, status = 1;
	struct catalog *cat = NULL;
	struct err e = ERR_INIT;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'j': json = 1; break;
		case 'f': force = 1; break;
		case 'e': endpoint = optarg; break;
		case 'h': account_usage(stdout); return 0;
		default: account_usage(stderr); return 2;
		}
	}
	const char *verb = optind < argc ? argv[optind] : NULL;
	const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
	int want_name = verb && (!strcmp(verb, "create") || !strcmp(verb, "delete") ||
				 !strcmp(verb, "show"));
	int add_cert = verb && !strcmp(verb, "add-cert");
	if (!verb || (want_name && (!name || optind + 2 != argc)) ||
	    (add_cert && optind + 3 != argc) ||
	    (!want_name && !add_cert && (strcmp(verb, "list") != 0 || optind + 1 != argc))) {
		account_usage(stderr);
		return 2;
	}
	if (catalog_open(data, &cat, &e) < 0)
		goto fail;
	if (!strcmp(verb, "create") || !strcmp(verb, "show")) {
		struct account a;
		int found = !strcmp(verb, "show") ? catalog_account_by_name(cat, name, &a, &e) : 1;
		if (found == 0)
			err_set(&e, 404, "NoSuchAccount", "no account named '%s'", name);
		if (found <= 0 || (!strcmp(verb, "create") &&
				   catalog_account_create(cat, name, &a, &e) < 0))
			goto fail;
		if (json)
			printf("{\"AccountId\":\"%s\",\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}\n",
			       a.id, a.access_key, a.secret);
		else
			printf("account:           %s\naccount id:        %s\n"
			       "access key id:     %s\nsecret access key: %s\n",
			       a.name, a.id, a.access_key, a.secret);
	} else if (add_cert) {
		struct account a;
		struct signing_cert cert;
		struct buf pem = BUF_INIT;
		FILE *f = fopen(argv[optind + 2], "r");
		char chunk[4096];
		size_t n;
		while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0 && pem.len < (1 << 20))
			buf_append(&pem, chunk, n);
		if (f)
			fclose(f);
		int found = catalog_account_by_name(cat, name, &a, &e);
		if (found == 0)
			err_set(&e, 404, "NoSuchAccount", "there is no account named '%s'", name);
		if (!f && found > 0)
			err_invalid(&e, "cannot read %s", argv[optind + 2]);
		int rc = found > 0 && f ? iam_upload_certificate(cat, a.id, buf_str(&pem), &cert, &e) : -1;
		buf_release(&pem);
		if (rc < 0)
			goto fail;
		printf("%s\n", cert.id);
	} else if (!strcmp(verb, "list")) {
		if (catalog_account_each(cat, account_print, &json, &e) < 0)
			goto fail;
	} else if (account_delete(cat, data, name, force, endpoint, &e) < 0) {
		goto fail;
	}
	status = 0;
	goto out;
fail:
	fprintf(stderr, "amibox: %s\n", e.message);
out:
	catalog_close(cat);
	return status;
}
