/*
 * s3/auth.h: who sent an S3 request, decided from its headers alone, so that
 * a refused upload is answered before its body is read (and an
 * Expect: 100-continue client never sends it).
 *
 * Three ways in:
 *  - SigV4 with the "s3" scope.  The payload hash is x-amz-content-sha256
 *    (required): a hex SHA-256 that the body must match at its end,
 *    UNSIGNED-PAYLOAD, or an aws-chunked body whose chunks are signed
 *    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) or carry an unsigned trailer
 *    (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
 *  - Signature version 2 ("Authorization: AWS AKID:base64(HMAC-SHA1)"),
 *    which the classic bundle uploaders use.
 *  - Anonymous: no Authorization; only public objects and buckets answer.
 *
 * The aws-chunked decoder turns the chunked body back into the object's
 * bytes as they arrive, checking each chunk's signature against the chain
 * that starts at the request's own signature.
 */
#ifndef AMIBOX_S3_AUTH_H
#define AMIBOX_S3_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/sigv4.h"
#include "s3/errors.h"

enum s3_payload {
	S3_PAYLOAD_NONE,      /* SigV2 or anonymous: Content-MD5 at most */
	S3_PAYLOAD_SHA256,    /* a hex SHA-256 to match */
	S3_PAYLOAD_UNSIGNED,
	S3_PAYLOAD_STREAMING_SIGNED,
	S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
};

struct s3_auth {
	int anonymous;
	int v2;
	enum s3_payload payload;
	unsigned char payload_sha256[32]; /* S3_PAYLOAD_SHA256 */
	/* For signed chunks. */
	char amz_date[17];
	char scope[128];
	unsigned char signing_key[32];
	char seed_signature[65];
};

/*
 * Authenticates req from its headers; fills req->account (unless
 * anonymous) and auth.  S3's codes on failure: InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed (403), AuthorizationHeader
 * Malformed, InvalidArgument, InvalidRequest (400), with S3's details in d
 * (the access key, the string to sign, the server's time, ...).
 */
int s3_authenticate(struct request *req, struct s3_auth *auth, struct s3_error_details *d,
		    struct err *e);

/* ---- aws-chunked bodies ------------------------------------------------- */

struct s3_chunked;

typedef int (*s3_sink_fn)(void *ctx, const void *data, size_t len, struct err *e);

struct s3_chunked *s3_chunked_new(const struct s3_auth *auth, s3_sink_fn sink,
				  void *ctx);
/* Feeds raw body bytes; decoded data goes to the sink.  -1 with e on error. */
int s3_chunked_feed(struct s3_chunked *c, const char *data, size_t len,
		    struct err *e);
/* At the body's end: the final chunk must have come; -1 with e if not. */
int s3_chunked_finish(struct s3_chunked *c, struct err *e);
/* A trailer the body ended with ("x-amz-checksum-crc32", ...), or NULL. */
const char *s3_chunked_trailer(const struct s3_chunked *c, const char *name);
void s3_chunked_free(struct s3_chunked *c);

#endif
