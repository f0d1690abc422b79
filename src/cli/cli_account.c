/*
 * cli_account: `amibox account create|list|delete`: account administration
 * straight on the catalog.  Safe while the daemon runs: SQLite serialises
 * the writers, and the daemon reads accounts on every request.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "iam/iam.h"
#include "catalog/catalog.h"
#include "catalog/catalog_certs.h"
#include "cli/cli.h"
#include "util/buf.h"

static void account_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox account create NAME [--data DIR] [--json]\n"
		"       amibox account list [--data DIR] [--json]\n"
		"       amibox account delete NAME [--data DIR]\n"
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

int cli_account(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var";
	int json = 0, opt, status = 1;
	struct catalog *cat = NULL;
	struct err e = ERR_INIT;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'j': json = 1; break;
		case 'h': account_usage(stdout); return 0;
		default: account_usage(stderr); return 2;
		}
	}
	const char *verb = optind < argc ? argv[optind] : NULL;
	const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
	int want_name = verb && (!strcmp(verb, "create") || !strcmp(verb, "delete"));
	int add_cert = verb && !strcmp(verb, "add-cert");
	if (!verb || (want_name && (!name || optind + 2 != argc)) ||
	    (add_cert && optind + 3 != argc) ||
	    (!want_name && !add_cert && (strcmp(verb, "list") != 0 || optind + 1 != argc))) {
		account_usage(stderr);
		return 2;
	}
	if (catalog_open(data, &cat, &e) < 0)
		goto fail;
	if (!strcmp(verb, "create")) {
		struct account a;
		if (catalog_account_create(cat, name, &a, &e) < 0)
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
	} else if (catalog_account_delete(cat, name, &e) < 0) {
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
