/* s3/errors.c: S3's error document and its details (see errors.h). */
#include "s3/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/xmlw.h"
#include "util/buf.h"

void s3_error_details_release(struct s3_error_details *d)
{
	for (size_t i = 0; i < d->count; i++) {
		free(d->names[i]);
		free(d->values[i]);
	}
	d->count = 0;
	d->code[0] = '\0';
}

int s3_fail(struct s3_error_details *d, struct err *e, int status, const char *code,
	    const char *const *details, const char *fmt, ...)
{
	if (err_is_set(e))
		return -1;
	char message[sizeof e->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	err_set(e, status, code, "%s", message);
	s3_error_details_release(d);
	snprintf(d->code, sizeof d->code, "%s", code);
	for (size_t i = 0; details && details[i] && d->count < S3_ERROR_DETAILS_MAX; i += 2) {
		if (!details[i + 1])
			continue;
		d->names[d->count] = xstrdup(details[i]);
		d->values[d->count++] = xstrdup(details[i + 1]);
	}
	return -1;
}

/* The element every error of these codes carries, from the call's names. */
static const struct {
	const char *code;
	const char *element;
} code_names[] = {
	{ "NoSuchKey", "Key" },
	{ "NoSuchBucket", "BucketName" },
	{ "BucketNotEmpty", "BucketName" },
	{ "BucketAlreadyExists", "BucketName" },
	{ "BucketAlreadyOwnedByYou", "BucketName" },
	{ "InvalidBucketName", "BucketName" },
	{ "NoSuchUpload", "UploadId" },
	{ "InvalidPartOrder", "UploadId" },
	{ "MethodNotAllowed", "Method" },
	{ "MethodNotAllowed", "ResourceType" },
};

static int has_detail(const struct s3_error_details *d, const char *name)
{
	for (size_t i = 0; i < d->count; i++)
		if (!strcmp(d->names[i], name))
			return 1;
	return 0;
}

static const char *context_value(const struct s3_error_context *ctx, const char *element)
{
	if (!strcmp(element, "Key"))
		return ctx->key;
	if (!strcmp(element, "BucketName"))
		return ctx->bucket;
	if (!strcmp(element, "UploadId"))
		return ctx->upload_id;
	if (!strcmp(element, "Method"))
		return ctx->method;
	/* ResourceType: what the path names. */
	if (!ctx->bucket || !ctx->bucket[0])
		return "SERVICE";
	return ctx->key ? "OBJECT" : "BUCKET";
}

void s3_error_document(struct request *req, const struct err *e,
		       const struct s3_error_details *d, const struct s3_error_context *ctx)
{
	static const struct s3_error_details none = { .count = 0 };
	api_note_error(req, e);
	if (!d || strcmp(d->code, e->code) != 0)
		d = &none;
	struct xmlw *w = xmlw_new_plain("Error");
	xmlw_text(w, "Code", e->code);
	xmlw_text(w, "Message", e->message);
	for (size_t i = 0; i < d->count; i++)
		xmlw_text(w, d->names[i], d->values[i]);
	for (size_t i = 0; i < sizeof code_names / sizeof *code_names; i++) {
		if (strcmp(code_names[i].code, e->code) != 0 || has_detail(d, code_names[i].element))
			continue;
		const char *value = context_value(ctx, code_names[i].element);
		if (value && *value)
			xmlw_text(w, code_names[i].element, value);
	}
	xmlw_text(w, "RequestId", req->request_id);
	buf_reset(&req->response);
	xmlw_finish(w, &req->response);
	req->status = e->status;
	req->content_type = "application/xml";
	req->nheaders = 0;
	req->has_fd = 0;
	api_add_header(req, "x-amz-request-id", req->request_id);
}
