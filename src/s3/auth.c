/* s3/auth.c: S3 request authentication and aws-chunked bodies (see auth.h). */
#include "s3/auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/query.h"
#include "util/codec.h"

#define STREAMING_SIGNED "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define STREAMING_UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int mismatch(struct err *e)
{
	return err_set(e, 403, "SignatureDoesNotMatch",
		       "The request signature we calculated does not match the signature you "
		       "provided. Check your key and signing method.");
}

/* Text as S3 spells it in <StringToSignBytes>: two hex digits a byte, spaced. */
static void spaced_hex(const char *text, struct buf *out)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		buf_printf(out, "%s%02x", p == (const unsigned char *)text ? "" : " ", *p);
	if (!out->data)
		buf_append_str(out, "");
}

/*
 * SignatureDoesNotMatch with what S3 shows the client to find its mistake:
 * the access key, the signature sent, the string the server signed and,
 * for SigV4, the canonical request (NULL for SigV2).
 */
static int mismatch_details(struct s3_error_details *d, struct err *e, const char *access_key,
			    const char *signature, const char *string_to_sign,
			    const char *canonical_request)
{
	struct buf sts_bytes = BUF_INIT, canonical_bytes = BUF_INIT;
	spaced_hex(string_to_sign, &sts_bytes);
	if (canonical_request)
		spaced_hex(canonical_request, &canonical_bytes);
	s3_fail(d, e, 403, "SignatureDoesNotMatch",
		S3_DETAILS("AWSAccessKeyId", access_key, "StringToSign", string_to_sign,
			   "SignatureProvided", signature, "StringToSignBytes", sts_bytes.data,
			   "CanonicalRequest", canonical_request,
			   "CanonicalRequestBytes", canonical_bytes.data),
		"The request signature we calculated does not match the signature you "
		"provided. Check your key and signing method.");
	buf_release(&sts_bytes);
	buf_release(&canonical_bytes);
	return -1;
}

/* RequestTimeTooSkewed, with the request's time and the server's. */
static int skewed(struct s3_error_details *d, struct err *e, const char *request_time)
{
	char server_time[32], max_skew[24];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(server_time, sizeof server_time, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(max_skew, sizeof max_skew, "%d", SIGV4_SKEW_SECONDS * 1000);
	return s3_fail(d, e, 403, "RequestTimeTooSkewed",
		       S3_DETAILS("RequestTime", request_time, "ServerTime", server_time,
				  "MaxAllowedSkewMilliseconds", max_skew),
		       "The difference between the request time and the current time is too large.");
}

static int lookup(struct request *req, const char *access_key, struct s3_error_details *d,
		  struct err *e)
{
	api_note_access_key(req, access_key);
	int found = catalog_account_by_key(req->srv->cat, access_key, &req->account, e);
	if (found < 0)
		return -1;
	if (!found)
		return s3_fail(d, e, 403, "InvalidAccessKeyId", S3_DETAILS("AWSAccessKeyId", access_key),
			       "The AWS Access Key Id you provided does not exist in our records.");
	return 0;
}

/* ---- SigV4 -------------------------------------------------------------- */

static const char *req_header(void *ctx, const char *name)
{
	struct request *req = ctx;
	return req->header(req, name);
}

/* The SigV4 string to sign of a request whose canonical request is given. */
static void v4_string_to_sign(struct request *req, const struct sigv4_auth *v4,
			      const char *canonical, struct buf *out)
{
	unsigned char digest[32];
	char hex[65];
	codec_sha256(canonical, strlen(canonical), digest);
	codec_hex(digest, 32, hex);
	const char *date = req->header(req, "x-amz-date");
	buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", date ? date : "",
		   v4->date, v4->region, v4->service, hex);
}

/* SignatureDoesNotMatch for a SigV4 request, with its canonical request. */
static int v4_mismatch(struct request *req, const struct sigv4_request *sreq,
		       const struct sigv4_auth *v4, struct s3_error_details *d, struct err *e)
{
	struct buf canonical = BUF_INIT, sts = BUF_INIT;
	struct err ignored = ERR_INIT;
	if (sigv4_canonical_request(sreq, v4, &canonical, &ignored) < 0)
		buf_reset(&canonical);
	buf_append_str(&canonical, "");
	v4_string_to_sign(req, v4, canonical.data, &sts);
	mismatch_details(d, e, v4->access_key, v4->signature, sts.data, canonical.data);
	buf_release(&canonical);
	buf_release(&sts);
	return -1;
}

static int authenticate_v4(struct request *req, const char *authorization,
			   struct s3_auth *auth, struct s3_error_details *d, struct err *e)
{
	struct sigv4_auth v4;
	if (sigv4_parse_authorization(authorization, &v4, e) < 0) {
		struct err why = *e;
		err_clear(e);
		return err_set(e, 400, "AuthorizationHeaderMalformed",
			       "The authorization header is malformed; %s", why.message);
	}
	const char *content = req->header(req, "x-amz-content-sha256");
	if (!content)
		return err_set(e, 400, "InvalidRequest",
			       "Missing required header for this request: x-amz-content-sha256");
	if (!strcmp(content, "UNSIGNED-PAYLOAD")) {
		auth->payload = S3_PAYLOAD_UNSIGNED;
	} else if (!strcmp(content, STREAMING_SIGNED)) {
		auth->payload = S3_PAYLOAD_STREAMING_SIGNED;
	} else if (!strcmp(content, STREAMING_UNSIGNED_TRAILER)) {
		auth->payload = S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
	} else if (strlen(content) == 64 && codec_unhex(content, auth->payload_sha256, 32) == 0) {
		auth->payload = S3_PAYLOAD_SHA256;
	} else {
		return s3_fail(d, e, 400, "InvalidArgument",
			       S3_DETAILS("ArgumentName", "x-amz-content-sha256",
					  "ArgumentValue", content),
			       "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
			       STREAMING_SIGNED ", " STREAMING_UNSIGNED_TRAILER
			       " or a valid SHA-256 value.");
	}
	if (lookup(req, v4.access_key, d, e) < 0)
		return -1;
	if (strcmp(v4.region, req->srv->region) != 0 || strcmp(v4.service, "s3") != 0) {
		req->account.id[0] = '\0';
		return s3_fail(d, e, 400, "AuthorizationHeaderMalformed",
			       S3_DETAILS("Region", req->srv->region),
			       "The authorization header is malformed; the region '%.32s' is "
			       "wrong; expecting '%s'", v4.region, req->srv->region);
	}
	struct sigv4_request sreq = {
		.method = req->method,
		.path = req->path,
		.query = req->query,
		.header = req_header,
		.header_ctx = req,
		.payload_hash = content,
	};
	struct err why = ERR_INIT;
	if (sigv4_verify(&sreq, &v4, req->account.secret, time(NULL), &why) < 0) {
		req->account.id[0] = '\0';
		if (!strcmp(why.code, "RequestExpired")) {
			const char *date = req->header(req, "x-amz-date");
			return skewed(d, e, date ? date : req->header(req, "date"));
		}
		if (!strcmp(why.code, "SignatureDoesNotMatch"))
			return v4_mismatch(req, &sreq, &v4, d, e);
		*e = why;
		return -1;
	}
	if (auth->payload == S3_PAYLOAD_STREAMING_SIGNED) {
		const char *date = req->header(req, "x-amz-date");
		if (!date || strlen(date) != 16) {
			req->account.id[0] = '\0';
			return err_set(e, 400, "InvalidRequest",
				       "A streaming upload needs an X-Amz-Date header.");
		}
		memcpy(auth->amz_date, date, 17);
		snprintf(auth->scope, sizeof auth->scope, "%s/%s/%s/aws4_request", v4.date,
			 v4.region, v4.service);
		sigv4_signing_key(req->account.secret, v4.date, v4.region, v4.service,
				  auth->signing_key);
		memcpy(auth->seed_signature, v4.signature, sizeof auth->seed_signature);
	}
	return 0;
}

/* ---- Signature version 2 ------------------------------------------------ */

/* The sub-resources that SigV2's canonical resource keeps, sorted. */
static const char *const v2_subresources[] = {
	"acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
	"partNumber", "policy", "requestPayment", "response-cache-control",
	"response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"restore", "tagging", "torrent", "uploadId", "uploads", "versionId",
	"versioning", "versions", "website",
};

struct amz_header {
	char *name;  /* lowercase */
	struct buf value;
};

struct amz_headers {
	struct amz_header *list;
	size_t count;
};

static void collect_amz(void *ctx, const char *name, const char *value)
{
	struct amz_headers *h = ctx;
	if (strncasecmp(name, "x-amz-", 6) != 0)
		return;
	char *lower = xstrdup(name);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	/* Unfolded, trimmed value. */
	while (*value == ' ' || *value == '\t')
		value++;
	size_t len = strlen(value);
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < h->count; i++) {
		if (!strcmp(h->list[i].name, lower)) {
			buf_append_char(&h->list[i].value, ',');
			buf_append(&h->list[i].value, value, len);
			free(lower);
			return;
		}
	}
	h->list = xrealloc(h->list, (h->count + 1) * sizeof *h->list);
	struct amz_header *a = &h->list[h->count++];
	a->name = lower;
	a->value = (struct buf)BUF_INIT;
	buf_append(&a->value, value, len);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct amz_header *)a)->name, ((const struct amz_header *)b)->name);
}

static int authenticate_v2(struct request *req, const char *authorization,
			   struct s3_auth *auth, struct s3_error_details *d, struct err *e)
{
	const char *cred = authorization + 4;
	const char *colon = strrchr(cred, ':');
	char access_key[129];
	if (!colon || colon == cred || (size_t)(colon - cred) >= sizeof access_key || !colon[1])
		return s3_fail(d, e, 400, "InvalidArgument",
			       S3_DETAILS("ArgumentName", "Authorization", "ArgumentValue", authorization),
			       "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
	memcpy(access_key, cred, (size_t)(colon - cred));
	access_key[colon - cred] = '\0';
	const char *signature = colon + 1;
	auth->v2 = 1;
	auth->payload = S3_PAYLOAD_NONE;

	const char *amz_date = req->header(req, "x-amz-date");
	const char *date = req->header(req, "date");
	int64_t when = 0;
	const char *stamp = amz_date ? amz_date : date;
	if (!stamp)
		return err_set(e, 403, "AccessDenied",
			       "AWS authentication requires a valid Date or x-amz-date header");
	if (sigv4_parse_http_date(stamp, &when) < 0)
		return err_set(e, 403, "AccessDenied",
			       "AWS authentication requires a valid Date or x-amz-date header");
	if (lookup(req, access_key, d, e) < 0)
		return -1;
	long long skew = (long long)time(NULL) - (long long)when;
	if (skew > SIGV4_SKEW_SECONDS || skew < -SIGV4_SKEW_SECONDS) {
		req->account.id[0] = '\0';
		return skewed(d, e, stamp);
	}

	struct buf sts = BUF_INIT;
	const char *md5 = req->header(req, "content-md5");
	const char *type = req->header(req, "content-type");
	buf_printf(&sts, "%s\n%s\n%s\n%s\n", req->method, md5 ? md5 : "", type ? type : "",
		   amz_date ? "" : date);
	struct amz_headers amz = { 0 };
	req->headers_each(req, collect_amz, &amz);
	if (amz.count)
		qsort(amz.list, amz.count, sizeof *amz.list, by_name);
	for (size_t i = 0; i < amz.count; i++) {
		buf_printf(&sts, "%s:%s\n", amz.list[i].name,
			   amz.list[i].value.data ? amz.list[i].value.data : "");
		free(amz.list[i].name);
		buf_release(&amz.list[i].value);
	}
	free(amz.list);
	buf_append_str(&sts, req->path);
	struct query q = { 0 };
	if (query_parse(req->query, strlen(req->query), &q, e) < 0) {
		buf_release(&sts);
		req->account.id[0] = '\0';
		return -1;
	}
	char sep = '?';
	for (size_t i = 0; i < sizeof v2_subresources / sizeof *v2_subresources; i++) {
		const char *value = query_get(&q, v2_subresources[i]);
		if (!value)
			continue;
		buf_printf(&sts, "%c%s", sep, v2_subresources[i]);
		if (*value)
			buf_printf(&sts, "=%s", value);
		sep = '&';
	}
	query_release(&q);

	unsigned char mac[20];
	unsigned int mac_len = 0;
	if (!HMAC(EVP_sha1(), req->account.secret, (int)strlen(req->account.secret),
		  (const unsigned char *)sts.data, sts.len, mac, &mac_len))
		abort();
	struct buf expected = BUF_INIT;
	codec_base64(mac, mac_len, &expected);
	int good = strlen(signature) == expected.len &&
		   codec_equal_ct(signature, expected.data, expected.len);
	buf_release(&expected);
	if (!good) {
		req->account.id[0] = '\0';
		mismatch_details(d, e, access_key, signature, sts.data, NULL);
	}
	buf_release(&sts);
	return good ? 0 : -1;
}

int s3_authenticate(struct request *req, struct s3_auth *auth, struct s3_error_details *d,
		    struct err *e)
{
	memset(auth, 0, sizeof *auth);
	const char *authorization = req->header(req, "Authorization");
	if (!authorization) {
		if (strstr(req->query, "X-Amz-Signature=") || strstr(req->query, "Signature="))
			return err_set(e, 400, "InvalidRequest",
				       "Presigned URLs are not supported by amibox yet.");
		auth->anonymous = 1;
		auth->payload = S3_PAYLOAD_NONE;
		return 0;
	}
	if (!strncmp(authorization, "AWS ", 4))
		return authenticate_v2(req, authorization, auth, d, e);
	if (!strncmp(authorization, "AWS4-HMAC-SHA256 ", 17))
		return authenticate_v4(req, authorization, auth, d, e);
	return s3_fail(d, e, 400, "InvalidArgument",
		       S3_DETAILS("ArgumentName", "Authorization", "ArgumentValue", authorization),
		       "Unsupported Authorization Type");
}

/* ---- aws-chunked -------------------------------------------------------- */

#define CHUNK_LINE_MAX 1024
#define CHUNK_TRAILERS_MAX 8

enum chunk_state { CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILER, CHUNK_DONE };

struct s3_chunked {
	int signed_chunks;
	char amz_date[17];
	char scope[128];
	unsigned char signing_key[32];
	char previous[65];
	char signature[65];
	enum chunk_state state;
	char line[CHUNK_LINE_MAX];
	size_t line_len;
	uint64_t left;
	EVP_MD_CTX *sha;
	s3_sink_fn sink;
	void *ctx;
	char *trailer_names[CHUNK_TRAILERS_MAX];
	char *trailer_values[CHUNK_TRAILERS_MAX];
	size_t ntrailers;
};

struct s3_chunked *s3_chunked_new(const struct s3_auth *auth, s3_sink_fn sink,
				  void *ctx)
{
	struct s3_chunked *c = xcalloc(1, sizeof *c);
	c->signed_chunks = auth->payload == S3_PAYLOAD_STREAMING_SIGNED;
	memcpy(c->amz_date, auth->amz_date, sizeof c->amz_date);
	memcpy(c->scope, auth->scope, sizeof c->scope);
	memcpy(c->signing_key, auth->signing_key, sizeof c->signing_key);
	memcpy(c->previous, auth->seed_signature, sizeof c->previous);
	c->sha = EVP_MD_CTX_new();
	if (!c->sha)
		abort();
	c->sink = sink;
	c->ctx = ctx;
	return c;
}

void s3_chunked_free(struct s3_chunked *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->sha);
	for (size_t i = 0; i < c->ntrailers; i++) {
		free(c->trailer_names[i]);
		free(c->trailer_values[i]);
	}
	free(c);
}

static int malformed(struct err *e, const char *what)
{
	return err_set(e, 400, "IncompleteBody", "The aws-chunked body is malformed: %s.", what);
}

/* Checks the finished chunk's signature and moves the chain on. */
static int chunk_verify(struct s3_chunked *c, struct err *e)
{
	unsigned char digest[32];
	char hex[65], expected[65];
	EVP_DigestFinal_ex(c->sha, digest, NULL);
	if (!c->signed_chunks)
		return 0;
	codec_hex(digest, 32, hex);
	struct buf sts = BUF_INIT;
	buf_printf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", c->amz_date, c->scope,
		   c->previous, EMPTY_SHA256, hex);
	unsigned char mac[32];
	codec_hmac_sha256(c->signing_key, 32, sts.data, sts.len, mac);
	buf_release(&sts);
	codec_hex(mac, 32, expected);
	if (!codec_equal_ct(expected, c->signature, 64))
		return mismatch(e);
	memcpy(c->previous, c->signature, sizeof c->previous);
	return 0;
}

/* A chunk-size line: "hex" or "hex;chunk-signature=64hex". */
static int chunk_header(struct s3_chunked *c, struct err *e)
{
	char *semi = strchr(c->line, ';');
	if (semi)
		*semi = '\0';
	size_t digits = strlen(c->line);
	if (digits == 0 || digits > 16 || strspn(c->line, "0123456789abcdefABCDEF") != digits)
		return malformed(e, "bad chunk size");
	c->left = strtoull(c->line, NULL, 16);
	if (c->signed_chunks) {
		static const char key[] = "chunk-signature=";
		if (!semi || strncmp(semi + 1, key, sizeof key - 1) != 0 ||
		    strlen(semi + sizeof key) != 64)
			return err_set(e, 403, "SignatureDoesNotMatch",
				       "A chunk of the streaming upload carries no signature.");
		memcpy(c->signature, semi + sizeof key, 65);
	}
	if (EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
		abort();
	if (c->left == 0) {
		if (chunk_verify(c, e) < 0)
			return -1;
		c->state = CHUNK_TRAILER;
	} else {
		c->state = CHUNK_DATA;
	}
	return 0;
}

static int chunk_trailer(struct s3_chunked *c, struct err *e)
{
	if (c->line_len == 0) {
		c->state = CHUNK_DONE;
		return 0;
	}
	char *colon = strchr(c->line, ':');
	if (!colon || c->ntrailers == CHUNK_TRAILERS_MAX)
		return malformed(e, "bad trailer");
	*colon = '\0';
	const char *value = colon + 1;
	while (*value == ' ')
		value++;
	char *name = xstrdup(c->line);
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	c->trailer_names[c->ntrailers] = name;
	c->trailer_values[c->ntrailers++] = xstrdup(value);
	return 0;
}

int s3_chunked_feed(struct s3_chunked *c, const char *data, size_t len, struct err *e)
{
	while (len) {
		switch (c->state) {
		case CHUNK_DATA: {
			size_t n = len < c->left ? len : (size_t)c->left;
			EVP_DigestUpdate(c->sha, data, n);
			if (c->sink(c->ctx, data, n, e) < 0)
				return -1;
			data += n;
			len -= n;
			c->left -= n;
			if (c->left == 0) {
				if (chunk_verify(c, e) < 0)
					return -1;
				c->state = CHUNK_DATA_END;
				c->line_len = 0;
			}
			break;
		}
		case CHUNK_DATA_END:
			/* The CRLF after a chunk's data. */
			if (*data != (c->line_len == 0 ? '\r' : '\n'))
				return malformed(e, "chunk data longer than its size");
			data++;
			len--;
			if (++c->line_len == 2) {
				c->line_len = 0;
				c->state = CHUNK_SIZE;
			}
			break;
		case CHUNK_SIZE:
		case CHUNK_TRAILER: {
			char ch = *data++;
			len--;
			if (ch == '\n') {
				if (c->line_len == 0 || c->line[c->line_len - 1] != '\r')
					return malformed(e, "a line without CRLF");
				c->line[--c->line_len] = '\0';
				int rc = c->state == CHUNK_SIZE ? chunk_header(c, e) : chunk_trailer(c, e);
				c->line_len = 0;
				if (rc < 0)
					return -1;
				break;
			}
			if (c->line_len + 1 >= sizeof c->line)
				return malformed(e, "a line too long");
			c->line[c->line_len++] = ch;
			break;
		}
		case CHUNK_DONE:
			return malformed(e, "data after the final chunk");
		}
	}
	return 0;
}

int s3_chunked_finish(struct s3_chunked *c, struct err *e)
{
	if (c->state != CHUNK_DONE)
		return err_set(e, 400, "IncompleteBody",
			       "The request body terminated unexpectedly");
	return 0;
}

const char *s3_chunked_trailer(const struct s3_chunked *c, const char *name)
{
	for (size_t i = 0; i < c->ntrailers; i++)
		if (!strcasecmp(c->trailer_names[i], name))
			return c->trailer_values[i];
	return NULL;
}
