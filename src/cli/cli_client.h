/*
 * cli_client: where amibox's client commands (import, upload-bundle,
 * download-bundle) send their requests and with which credentials.
 */
#ifndef AMIBOX_CLI_CLI_CLIENT_H
#define AMIBOX_CLI_CLI_CLIENT_H

#include <stddef.h>

struct cli_client {
	char endpoint[256]; /* http://host:port, no trailing slash */
	char host[256];     /* host:port, as the Host header */
	char access_key[129];
	char secret[129];
	char region[64];
};

/*
 * Endpoint: the flag, else $service_endpoint_var (e.g. AWS_ENDPOINT_URL_S3),
 * else $AWS_ENDPOINT_URL, else http://127.0.0.1:8773.  Credentials: the AWS
 * environment variables, else the named account (default "default") of the
 * data directory.  -1 with a message in error.
 */
int cli_client_setup(struct cli_client *c, const char *service_endpoint_var,
		     const char *endpoint, const char *data, const char *account_name,
		     char *error, size_t cap);

#endif
