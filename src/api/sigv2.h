/*
 * sigv2: AWS Signature Version 2 for Query APIs, as a server verifies it.
 *
 * Classic EC2 clients (euca2ools, boto 2, the EC2 API tools) sign the Query
 * parameters themselves: AWSAccessKeyId, SignatureVersion=2,
 * SignatureMethod (HmacSHA256 or HmacSHA1), Timestamp or Expires, and
 * Signature, the base64 HMAC of
 *
 *     METHOD \n lowercase(Host) \n PATH \n CANONICAL-QUERY
 *
 * where CANONICAL-QUERY is every parameter but Signature, sorted by name in
 * byte order, names and values RFC 3986-encoded, joined by '&'.
 *
 * Calling sequence: sigv2_is_signed() on the request's parameters; the
 * caller looks up AWSAccessKeyId's account (unknown: AuthFailure); then
 * sigv2_verify() with its secret.  Errors carry EC2's codes:
 * MissingParameter / InvalidParameterValue (400) for a malformed signature
 * block, RequestExpired (400) for a Timestamp more than 15 minutes off or an
 * Expires in the past, SignatureDoesNotMatch (403) for a wrong signature.
 */
#ifndef AMIBOX_API_SIGV2_H
#define AMIBOX_API_SIGV2_H

#include <time.h>

#include "api/query.h"
#include "util/buf.h"
#include "util/err.h"

#define SIGV2_SKEW_SECONDS (15 * 60)

struct sigv2_request {
	const char *method; /* "GET", "POST" */
	const char *host;   /* the Host header as received */
	const char *path;   /* raw path, still %-encoded; "" means "/" */
	const struct query *params; /* decoded, from the query string or form */
};

/* 1 when the parameters carry a Signature Version 2 signature. */
int sigv2_is_signed(const struct query *params);

/* The AWSAccessKeyId parameter, or NULL. */
const char *sigv2_access_key(const struct query *params);

/* Appends the string to sign to out (for tests and amibox's own clients). */
void sigv2_string_to_sign(const struct sigv2_request *req, struct buf *out);

/* Fills signature (base64, NUL-terminated) for secret; -1 on a bad method. */
int sigv2_sign(const struct sigv2_request *req, const char *secret,
	       struct buf *signature, struct err *e);

/* Verifies the signature and its time window (now: the server's clock). */
int sigv2_verify(const struct sigv2_request *req, const char *secret, time_t now,
		 struct err *e);

#endif
