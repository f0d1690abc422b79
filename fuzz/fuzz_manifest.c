/*
 * libFuzzer target for the bundle readers: the first byte chooses what the
 * rest is: a bundle manifest for bundle/manifest (parsed by element names,
 * its signed text cut from the raw bytes), or an aws-chunked request body
 * for the S3 decoder (unsigned with a trailer, or signed chunks).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "s3/auth.h"
#include "bundle/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const void *data, size_t len, struct err *e)
{
	(void)e;
	size_t *total = ctx;
	(void)data;
	*total += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct err e = ERR_INIT;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (data[0] % 3 == 0) {
		struct manifest m;
		if (manifest_parse(text, len, &m, &e) == 0) {
			/* What a parsed manifest promises: parts in index order, hex digests. */
			for (size_t i = 0; i < m.nparts; i++)
				if (strlen(m.parts[i].digest) != 40 || !m.parts[i].filename[0])
					__builtin_trap();
			manifest_release(&m);
		}
		return 0;
	}
	struct s3_auth auth;
	memset(&auth, 0, sizeof auth);
	auth.payload = data[0] % 3 == 1 ? S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER :
					  S3_PAYLOAD_STREAMING_SIGNED;
	memcpy(auth.amz_date, "20261130T000000Z", 17);
	memcpy(auth.scope, "20261130/us-east-1/s3/aws4_request", 35);
	memset(auth.seed_signature, 'a', 64);
	size_t total = 0;
	struct s3_chunked *c = s3_chunked_new(&auth, sink, &total);
	/* Fed in two pieces, so that state carries across calls. */
	size_t half = len / 2;
	if (s3_chunked_feed(c, text, half, &e) == 0 &&
	    s3_chunked_feed(c, text + half, len - half, &e) == 0)
		s3_chunked_finish(c, &e);
	s3_chunked_free(c);
	return 0;
}
