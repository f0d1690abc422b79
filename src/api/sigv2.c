/* sigv2: Signature Version 2 for Query requests (see sigv2.h). */
#include "api/sigv2.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "util/codec.h"
#include "util/ids.h"

int sigv2_is_signed(const struct query *params)
{
	const char *version = query_get(params, "SignatureVersion");
	return version && !strcmp(version, "2") && query_get(params, "Signature");
}

const char *sigv2_access_key(const struct query *params)
{
	return query_get(params, "AWSAccessKeyId");
}

void sigv2_string_to_sign(const struct sigv2_request *req, struct buf *out)
{
	buf_printf(out, "%s\n", req->method);
	for (const char *h = req->host ? req->host : ""; *h; h++)
		buf_append_char(out, (char)tolower((unsigned char)*h));
	buf_printf(out, "\n%s\n", req->path && *req->path ? req->path : "/");
	/* The parameters are sorted by name (query.h), byte for byte. */
	int first = 1;
	for (size_t i = 0; i < req->params->count; i++) {
		const struct query_param *p = &req->params->params[i];
		if (!strcmp(p->name, "Signature"))
			continue;
		if (!first)
			buf_append_char(out, '&');
		first = 0;
		codec_uri_encode(p->name, strlen(p->name), 0, out);
		buf_append_char(out, '=');
		codec_uri_encode(p->value, strlen(p->value), 0, out);
	}
}

int sigv2_sign(const struct sigv2_request *req, const char *secret,
	       struct buf *signature, struct err *e)
{
	const char *method = query_get(req->params, "SignatureMethod");
	const EVP_MD *md = NULL;
	if (!method || !strcmp(method, "HmacSHA256"))
		md = EVP_sha256();
	else if (!strcmp(method, "HmacSHA1"))
		md = EVP_sha1();
	else
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.32s) for parameter SignatureMethod is invalid. "
			       "Use HmacSHA256 or HmacSHA1.", method);
	struct buf sts = BUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	sigv2_string_to_sign(req, &sts);
	int ok = HMAC(md, secret, (int)strlen(secret), (const unsigned char *)sts.data,
		      sts.len, mac, &mac_len) != NULL;
	buf_release(&sts);
	if (!ok)
		return err_internal(e, "HMAC failed");
	codec_base64(mac, mac_len, signature);
	return 0;
}

/* The Timestamp must be within the skew, an Expires must not have passed. */
static int sigv2_check_time(const struct query *params, time_t now, struct err *e)
{
	const char *timestamp = query_get(params, "Timestamp");
	const char *expires = query_get(params, "Expires");
	long long ms = 0;
	if (!timestamp && !expires)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter Timestamp or Expires.");
	if (timestamp && expires)
		return err_set(e, 400, "InvalidParameterCombination",
			       "Parameters Timestamp and Expires are mutually exclusive.");
	const char *value = timestamp ? timestamp : expires;
	if (ids_parse_iso_time(value, &ms) < 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter %s is invalid. "
			       "It must be an ISO 8601 time.", value,
			       timestamp ? "Timestamp" : "Expires");
	long long at = ms / 1000;
	if (timestamp && (at < (long long)now - SIGV2_SKEW_SECONDS ||
			  at > (long long)now + SIGV2_SKEW_SECONDS))
		return err_set(e, 400, "RequestExpired",
			       "Request has expired. Timestamp date is %.64s", timestamp);
	if (expires && at < (long long)now)
		return err_set(e, 400, "RequestExpired",
			       "Request has expired. Expires date is %.64s", expires);
	return 0;
}

int sigv2_verify(const struct sigv2_request *req, const char *secret, time_t now,
		 struct err *e)
{
	const char *given = query_get(req->params, "Signature");
	struct buf want = BUF_INIT;
	int ret = -1;
	if (!given || !*given) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter Signature.");
		goto out;
	}
	if (sigv2_check_time(req->params, now, e) < 0 || sigv2_sign(req, secret, &want, e) < 0)
		goto out;
	if (strlen(given) != want.len || !codec_equal_ct(given, want.data, want.len)) {
		err_set(e, 403, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature "
			"you provided. Check your AWS Secret Access Key and signing method.");
		goto out;
	}
	ret = 0;
out:
	buf_release(&want);
	return ret;
}
