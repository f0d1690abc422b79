/* cli_client: endpoint and credentials of the client commands (see cli_client.h). */
#include "cli/cli_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>
#include <time.h>

#include "api/sigv4.h"
#include "catalog/catalog.h"
#include "util/codec.h"

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


static size_t client_write(char *data, size_t size, size_t n, void *ctx)
{
	buf_append(ctx, data, size * n);
	return size * n;
}

static const char *client_header(void *ctx, const char *name)
{
	struct curl_slist *h = ctx;
	size_t n = strlen(name);
	for (; h; h = h->next)
		if (!strncasecmp(h->data, name, n) && h->data[n] == ':')
			return h->data + n + 1 + (h->data[n + 1] == ' ');
	return NULL;
}

long cli_client_send(const struct cli_client *c, CURL *curl, const char *service,
		     const char *method, const char *path, const char *query,
		     struct curl_slist *headers, const char *signed_extra,
		     const char *payload_hash, const void *body, size_t len,
		     struct buf *response, char *error, size_t cap)
{
	char amz_date[17], line[2048], signature[65];
	time_t now = time(NULL);
	struct tm tm;
	struct err e = ERR_INIT;
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(line, sizeof line, "Host: %s", c->host);
	headers = curl_slist_append(headers, line);
	snprintf(line, sizeof line, "X-Amz-Date: %s", amz_date);
	headers = curl_slist_append(headers, line);
	snprintf(line, sizeof line, "X-Amz-Content-SHA256: %s", payload_hash);
	headers = curl_slist_append(headers, line);
	struct sigv4_auth auth = { 0 };
	snprintf(auth.access_key, sizeof auth.access_key, "%s", c->access_key);
	snprintf(auth.date, sizeof auth.date, "%.8s", amz_date);
	snprintf(auth.region, sizeof auth.region, "%s", c->region);
	snprintf(auth.service, sizeof auth.service, "%s", service);
	/* Signed headers in order: host, [signed_extra], x-amz-content-sha256, x-amz-date. */
	snprintf(auth.signed_headers, sizeof auth.signed_headers, "host;%s%sx-amz-content-sha256;x-amz-date",
		 signed_extra ? signed_extra : "", signed_extra ? ";" : "");
	struct sigv4_request sreq = {
		.method = method, .path = path, .query = query,
		.header = client_header, .header_ctx = headers, .payload_hash = payload_hash,
	};
	if (sigv4_sign(&sreq, &auth, c->secret, amz_date, signature, &e) < 0) {
		snprintf(error, cap, "signing failed: %.200s", e.message);
		curl_slist_free_all(headers);
		return -1;
	}
	snprintf(line, sizeof line,
		 "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
		 "SignedHeaders=%s, Signature=%s", auth.access_key, auth.date, auth.region,
		 service, auth.signed_headers, signature);
	headers = curl_slist_append(headers, line);
	headers = curl_slist_append(headers, "Expect:");
	struct buf url = BUF_INIT;
	buf_printf(&url, "%s%s%s%s", c->endpoint, path, *query ? "?" : "", query);
	buf_reset(response);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url.data);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
	/* A server that stops answering is an error, not a hang. */
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(curl);
	curl_slist_free_all(headers);
	buf_release(&url);
	if (rc != CURLE_OK) {
		snprintf(error, cap, "cannot reach %s: %s", c->endpoint, curl_easy_strerror(rc));
		return -1;
	}
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

void cli_client_xml_text(const struct buf *xml, const char *name, char *out, size_t cap)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", name);
	snprintf(close, sizeof close, "</%s>", name);
	const char *start = strstr(buf_str(xml), open);
	const char *end = start ? strstr(start, close) : NULL;
	out[0] = '\0';
	if (start && end)
		snprintf(out, cap, "%.*s", (int)(end - start - strlen(open)), start + strlen(open));
}

long cli_client_ec2(const struct cli_client *c, CURL *curl, const char *params,
		    struct buf *response, char code[64], char *error, size_t cap)
{
	struct buf body = BUF_INIT;
	char hash[65], message[512];
	buf_printf(&body, "%s&Version=2016-11-15", params);
	codec_sha256_hex(body.data, body.len, hash);
	struct curl_slist *headers = curl_slist_append(
		NULL, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	long status = cli_client_send(c, curl, "ec2", "POST", "/", "", headers, NULL, hash,
				      body.data, body.len, response, error, cap);
	buf_release(&body);
	code[0] = '\0';
	if (status > 0 && status != 200) {
		cli_client_xml_text(response, "Code", code, 64);
		cli_client_xml_text(response, "Message", message, sizeof message);
		snprintf(error, cap, "%s: %s", code[0] ? code : "error",
			 message[0] ? message : buf_str(response));
	}
	return status;
}
