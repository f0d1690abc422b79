/* cli_client: endpoint and credentials of the client commands (see cli_client.h). */
#include "cli/cli_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

/* Endpoint and credentials: flags, then the AWS environment, then --data. */
int cli_client_setup(struct cli_client *c, const char *service_endpoint_var,
		     const char *endpoint,
			       const char *data, const char *account_name,
			       char *error, size_t cap)
{
	const char *region = getenv("AWS_REGION") ? getenv("AWS_REGION") :
			     getenv("AWS_DEFAULT_REGION");
	const char *key = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	if (!endpoint)
		endpoint = service_endpoint_var && getenv(service_endpoint_var) ?
				   getenv(service_endpoint_var) :
			   getenv("AWS_ENDPOINT_URL") ? getenv("AWS_ENDPOINT_URL") :
							"http://127.0.0.1:8773";
	snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
	size_t len = strlen(c->endpoint);
	while (len && c->endpoint[len - 1] == '/')
		c->endpoint[--len] = '\0';
	if (strncmp(c->endpoint, "http://", 7) != 0) {
		snprintf(error, cap, "the endpoint must be an http:// URL");
		return -1;
	}
	snprintf(c->host, sizeof c->host, "%s", c->endpoint + 7);
	snprintf(c->region, sizeof c->region, "%s", region ? region : "us-east-1");
	if (key && secret && !account_name) {
		snprintf(c->access_key, sizeof c->access_key, "%s", key);
		snprintf(c->secret, sizeof c->secret, "%s", secret);
		return 0;
	}
	/* No credentials in the environment: the named account of --data. */
	struct catalog *cat = NULL;
	struct account a;
	struct err e = ERR_INIT;
	int found = catalog_open(data, &cat, &e) < 0 ? -1 :
		    catalog_account_by_name(cat, account_name ? account_name : "default",
					    &a, &e);
	catalog_close(cat);
	if (found <= 0) {
		snprintf(error, cap,
			 "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name an account of --data with --account");
		return -1;
	}
	snprintf(c->access_key, sizeof c->access_key, "%s", a.access_key);
	snprintf(c->secret, sizeof c->secret, "%s", a.secret);
	return 0;
}

