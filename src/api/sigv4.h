/*
 * sigv4: AWS Signature Version 4, as a server verifies it.
 *
 * Calling sequence, for each request:
 *   1. sigv4_parse_authorization() on the Authorization header splits it into
 *      access key, scope (date, region, service), signed headers, signature.
 *   2. The caller looks the access key up; unknown keys are AuthFailure.
 *   3. sigv4_verify() rebuilds the canonical request from what was received,
 *      checks the clock skew and compares signatures in constant time.
 * Errors go into struct err with AWS's code and status:
 * IncompleteSignature (400) for a malformed header, RequestExpired (400) for a
 * stamp more than 15 minutes off, SignatureDoesNotMatch (403) for a mismatch.
 */
#ifndef AMIBOX_API_SIGV4_H
#define AMIBOX_API_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

#define SIGV4_MAX_AUTH_HEADER 4096
#define SIGV4_MAX_SIGNED_HEADERS 64
#define SIGV4_SKEW_SECONDS (15 * 60)

struct sigv4_auth {
	char access_key[129];
	char date[9];     /* yyyymmdd of the credential scope */
	char region[64];
	char service[32]; /* "ec2", "ebs", "s3", "iam", ... */
	char signed_headers[1024]; /* "content-type;host;x-amz-date" */
	char signature[65];        /* 64 lowercase hex digits */
};

/* Looks up a request header, case-insensitively; NULL when absent. */
typedef const char *(*sigv4_header_fn)(void *ctx, const char *name);

struct sigv4_request {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* raw path as received, still %-encoded */
	const char *query;        /* raw query string without '?', or "" */
	sigv4_header_fn header;
	void *header_ctx;
	/*
	 * The payload hash for the canonical request: the x-amz-content-sha256
	 * header's value when the client sent one (UNSIGNED-PAYLOAD included),
	 * else the hex SHA-256 of the body.
	 */
	const char *payload_hash;
};

/*
 * Parses "AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
 * SignedHeaders=a;b;c, Signature=hex" (whitespace after the commas optional).
 * Returns 0, or -1 with IncompleteSignature in e.
 */
int sigv4_parse_authorization(const char *header, struct sigv4_auth *auth,
			      struct err *e);

/*
 * Builds the canonical request into out (for tests and diagnostics).
 * Non-S3 services get their path segments encoded twice, as AWS specifies;
 * "s3" once.  Returns -1 with IncompleteSignature if a signed header is
 * missing or the query or path is malformed.
 */
int sigv4_canonical_request(const struct sigv4_request *req,
			    const struct sigv4_auth *auth, struct buf *out,
			    struct err *e);

/* Derives the signing key for secret, date, region and service. */
void sigv4_signing_key(const char *secret, const char *date,
		       const char *region, const char *service,
		       unsigned char key[32]);

/*
 * Verifies the request's signature with the account's secret.  The request
 * time comes from X-Amz-Date (or Date); now is the server's clock.
 * Returns 0 when the signature is good and fresh, else -1 with e set.
 */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
		 const char *secret, time_t now, struct err *e);

/*
 * Computes the signature (64 hex + NUL) a client would send; used by amibox's
 * own client commands (import) and by tests.  amz_date is "yyyymmddThhmmssZ".
 */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_auth *auth,
	       const char *secret, const char *amz_date, char signature[65],
	       struct err *e);

/*
 * Parses an RFC 1123 date ("Mon, 23 Nov 2026 20:34:39 GMT", also with a
 * numeric zone such as "-0000") into seconds since the epoch; -1 if malformed.
 */
int sigv4_parse_http_date(const char *s, int64_t *epoch);

#endif
