/*
 * s3/checksums.c: S3's additional checksums (CRC32, CRC32C, SHA1, SHA256).
 *
 * A body declares one in a header (x-amz-checksum-crc32: base64) or, when
 * it is streamed, in a trailer the x-amz-trailer header announces; the
 * spool computes it as the bytes arrive and the call compares at the end.
 * A multipart upload created with an algorithm takes a checksum of it with
 * every part, and its object's checksum is the checksum of the parts'
 * checksums (their raw bytes, in order) followed by "-N", N parts: S3's
 * COMPOSITE checksum type.  A single PUT's checksum is of the whole object
 * (FULL_OBJECT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3/internal.h"
#include "util/codec.h"

const struct s3_checksum s3_checksums[S3_CHECKSUM_COUNT] = {
	{ "CRC32", "x-amz-checksum-crc32", "ChecksumCRC32", OBJSTORE_CRC32, 4 },
	{ "CRC32C", "x-amz-checksum-crc32c", "ChecksumCRC32C", OBJSTORE_CRC32C, 4 },
	{ "SHA1", "x-amz-checksum-sha1", "ChecksumSHA1", OBJSTORE_SHA1, 20 },
	{ "SHA256", "x-amz-checksum-sha256", "ChecksumSHA256", OBJSTORE_SHA256, 32 },
};

const struct s3_checksum *s3_checksum_named(const char *name)
{
	for (size_t i = 0; name && i < S3_CHECKSUM_COUNT; i++)
		if (!strcasecmp(name, s3_checksums[i].name))
			return &s3_checksums[i];
	return NULL;
}

/* The raw bytes of a base64 checksum of the algorithm; -1 if it is none. */
static int checksum_raw(const struct s3_checksum *a, const char *value, struct buf *raw)
{
	if (codec_unbase64(value, strlen(value), raw) < 0 || raw->len != a->raw_len)
		return -1;
	return 0;
}

static int invalid_value(const struct s3_checksum *a, struct err *e)
{
	return err_set(e, 400, "InvalidRequest", "Value for %s header is invalid.", a->header);
}

int s3_checksum_declared(struct s3_call *c, struct err *e)
{
	const char *trailer = c->req->header(c->req, "x-amz-trailer");
	for (size_t i = 0; i < S3_CHECKSUM_COUNT; i++) {
		const struct s3_checksum *a = &s3_checksums[i];
		const char *value = c->req->header(c->req, a->header);
		if (!value && !(trailer && !strcasecmp(trailer, a->header)))
			continue;
		if (c->declared)
			return err_set(e, 400, "InvalidRequest",
				       "Expecting a single x-amz-checksum- header. Multiple checksum "
				       "Types are not allowed.");
		struct buf raw = BUF_INIT;
		int bad = value && checksum_raw(a, value, &raw) < 0;
		buf_release(&raw);
		if (bad)
			return invalid_value(a, e);
		c->declared = a;
	}
	return 0;
}

int s3_checksum_verify(struct s3_call *c, struct err *e)
{
	const struct s3_checksum *a = c->declared;
	c->checksum[0] = '\0';
	if (!a)
		return 0;
	const char *want = c->req->header(c->req, a->header);
	if (!want && c->chunked)
		want = s3_chunked_trailer(c->chunked, a->header);
	if (!want)
		return err_set(e, 400, "InvalidRequest",
			       "x-amz-trailer names %s, and the body's trailer did not carry it.",
			       a->header);
	struct buf raw = BUF_INIT;
	int bad = checksum_raw(a, want, &raw) < 0;
	buf_release(&raw);
	if (bad)
		return invalid_value(a, e);
	char got[S3_CHECKSUM_MAX];
	objstore_spool_checksum(c->spool, a->which, got);
	if (strcmp(want, got) != 0)
		return err_set(e, 400, "BadDigest",
			       "The %s you specified did not match the calculated checksum.", a->name);
	snprintf(c->checksum, sizeof c->checksum, "%s", got);
	return 0;
}

int s3_checksum_composite(const struct s3_checksum *a, const char *const values[], size_t n,
			  char out[S3_CHECKSUM_MAX])
{
	struct buf all = BUF_INIT;
	int ret = -1;
	for (size_t i = 0; i < n; i++) {
		struct buf raw = BUF_INIT;
		int bad = checksum_raw(a, values[i], &raw) < 0;
		if (!bad)
			buf_append(&all, raw.data, raw.len);
		buf_release(&raw);
		if (bad)
			goto out;
	}
	char whole[64];
	objstore_checksum(a->which, all.data ? all.data : "", all.len, whole);
	snprintf(out, S3_CHECKSUM_MAX, "%.47s-%d", whole, (int)n);
	ret = 0;
out:
	buf_release(&all);
	return ret;
}

void s3_checksum_headers(struct request *req, const char *algorithm, const char *type,
			 const char *value)
{
	const struct s3_checksum *a = s3_checksum_named(algorithm);
	if (!a || !value || !value[0])
		return;
	api_add_header(req, a->header, value);
	if (type && type[0])
		api_add_header(req, "x-amz-checksum-type", type);
}
