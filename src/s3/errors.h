/*
 * s3/errors.h: S3's error document.
 *
 * Beside Code and Message, S3 names what was wrong in elements of its own:
 * <ArgumentName> and <ArgumentValue> for an InvalidArgument, <UploadId> for
 * a NoSuchUpload, <RangeRequested> and <ActualObjectSize> for an
 * InvalidRange, and so on.  A call gathers these details together with the
 * error they explain: s3_fail() sets the error and its details in one step,
 * and only when the error is not set yet (the first error of a call is the
 * one answered, see util/err.h), so details never describe another error.
 * The names that every error of a code carries (<BucketName> for
 * NoSuchBucket, <Key> for NoSuchKey, ...) come from the call when the
 * document is written.
 */
#ifndef AMIBOX_S3_ERRORS_H
#define AMIBOX_S3_ERRORS_H

#include "api/api.h"
#include "util/err.h"

#define S3_ERROR_DETAILS_MAX 10

struct s3_error_details {
	char code[64];  /* the error they explain */
	size_t count;
	char *names[S3_ERROR_DETAILS_MAX];
	char *values[S3_ERROR_DETAILS_MAX];
};

/* Name, value pairs for s3_fail(), ending in NULL; a NULL value is left out. */
#define S3_DETAILS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/*
 * Sets e (unless it is set already) and, then only, replaces d with the
 * given details (NULL for none).  Returns -1.
 */
int s3_fail(struct s3_error_details *d, struct err *e, int status, const char *code,
	    const char *const *details, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void s3_error_details_release(struct s3_error_details *d);

/* The call's names, for the details every error of a code carries. */
struct s3_error_context {
	const char *bucket;        /* "" at the service level */
	const char *key;           /* NULL at the bucket level */
	const char *upload_id;     /* the uploadId parameter, or NULL */
	const char *method;
};

/*
 * Replaces req's response with e's error document: Code, Message, the
 * details (d may be NULL), the code's own names, RequestId.
 */
void s3_error_document(struct request *req, const struct err *e,
		       const struct s3_error_details *d, const struct s3_error_context *ctx);

#endif
