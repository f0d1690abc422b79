/*
 * cli_client: where amibox's client commands (import, upload-bundle,
 * download-bundle) send their requests and with which credentials.
 */
#ifndef AMIBOX_CLI_CLI_CLIENT_H
#define AMIBOX_CLI_CLI_CLIENT_H

#include <curl/curl.h>
#include <stddef.h>

#include "util/buf.h"

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

/*
 * Sends one request signed with SigV4 for service: Host, X-Amz-Date and
 * X-Amz-Content-SHA256 (payload_hash: a hex SHA-256 or UNSIGNED-PAYLOAD)
 * are added and signed, and so is the header named signed_extra (one of
 * headers, or NULL; its name must sort between "host" and "x-amz-content-
 * sha256", as x-amz-acl does); the other lines of headers go unsigned.  headers
 * is consumed.  path is the encoded path, query the encoded query or "".
 * The response body lands in response.  Returns the HTTP status, or -1 with
 * a message in error when no answer came.
 */
long cli_client_send(const struct cli_client *c, CURL *curl, const char *service,
		     const char *method, const char *path, const char *query,
		     struct curl_slist *headers, const char *signed_extra,
		     const char *payload_hash, const void *body, size_t len,
		     struct buf *response, char *error, size_t cap);

/* The text of the first <name>...</name> of an XML answer into out, or "". */
void cli_client_xml_text(const struct buf *xml, const char *name, char *out, size_t cap);

/*
 * One EC2 Query call: params is the form body without Version
 * ("Action=DeleteSnapshot&SnapshotId=snap-..."), values already encoded.
 * Returns the HTTP status (200 on success), or -1 when no answer came; on
 * an error answer code gets EC2's error code ("" if none) and error says
 * "code: message".
 */
long cli_client_ec2(const struct cli_client *c, CURL *curl, const char *params,
		    struct buf *response, char code[64], char *error, size_t cap);

#endif
