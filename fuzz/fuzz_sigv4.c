/*
 * libFuzzer target for api/sigv4: everything a client controls goes through
 * the parser and the canonicaliser here.
 *
 * The input is split on '\n' into pieces that play the parts of a request:
 *   0 Authorization header    4 path            8 Date header
 *   1 SignedHeaders           5 query           9 value of other headers
 *   2 service                 6 payload hash
 *   3 method                  7 X-Amz-Date header
 * An empty piece 7 or 8 means that header is absent, and so is any header
 * whose name starts with 'z', so missing signed headers are reached too.
 * When piece 0 parses, the request is also verified, which drives the date
 * parsers and the signature path end to end.  Piece 5, read as Query
 * parameters, also goes through Signature Version 2 (api/sigv2), with
 * piece 9 as the Host header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/query.h"
#include "api/sigv2.h"
#include "api/sigv4.h"

#define FUZZ_PIECES 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_headers {
	const char *amz_date;
	const char *date;
	const char *other;
};

static const char *fuzz_header(void *ctx, const char *name)
{
	const struct fuzz_headers *headers = ctx;
	if (strcmp(name, "x-amz-date") == 0)
		return headers->amz_date[0] ? headers->amz_date : NULL;
	if (strcmp(name, "date") == 0)
		return headers->date[0] ? headers->date : NULL;
	return name[0] == 'z' ? NULL : headers->other;
}

/* Copies text into a fixed field, cut to fit. */
static void fuzz_copy(char *field, size_t size, const char *text)
{
	size_t len = strnlen(text, size - 1);
	memcpy(field, text, len);
	field[len] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *piece[FUZZ_PIECES];
	struct sigv4_auth parsed;
	struct sigv4_auth made;
	struct err e = ERR_INIT;
	struct buf canonical = BUF_INIT;

	/* One NUL-terminated copy, then cut into pieces in place. */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	char *p = text;
	for (int i = 0; i < FUZZ_PIECES; i++) {
		piece[i] = p;
		char *newline = strchr(p, '\n');
		if (newline) {
			*newline = '\0';
			p = newline + 1;
		} else {
			p += strlen(p);
		}
	}

	int parsed_ok = sigv4_parse_authorization(piece[0], &parsed, &e) == 0;
	struct fuzz_headers headers = { piece[7], piece[8], piece[9] };
	struct sigv4_request req = {
		.method = piece[3],
		.path = piece[4],
		.query = piece[5],
		.header = fuzz_header,
		.header_ctx = &headers,
		.payload_hash = piece[6],
	};

	/* An auth as a signing client might fill it, from the pieces. */
	memset(&made, 0, sizeof made);
	fuzz_copy(made.access_key, sizeof made.access_key, "AKIDEXAMPLE");
	fuzz_copy(made.date, sizeof made.date, "20240102");
	fuzz_copy(made.region, sizeof made.region, "us-east-1");
	fuzz_copy(made.service, sizeof made.service, piece[2]);
	fuzz_copy(made.signed_headers, sizeof made.signed_headers, piece[1]);

	err_clear(&e);
	sigv4_canonical_request(&req, &made, &canonical, &e);
	buf_release(&canonical);

	char signature[65];
	err_clear(&e);
	sigv4_sign(&req, &made, "secret", "20240102T030405Z", signature, &e);

	if (parsed_ok) {
		err_clear(&e);
		sigv4_canonical_request(&req, &parsed, &canonical, &e);
		buf_release(&canonical);
		err_clear(&e);
		sigv4_verify(&req, &parsed, "secret", (time_t)1704164645, &e);
	}

	struct query params;
	err_clear(&e);
	if (query_parse(piece[5], strlen(piece[5]), &params, &e) == 0) {
		struct sigv2_request v2 = { piece[3], piece[9], piece[4], &params };
		if (sigv2_is_signed(&params)) {
			err_clear(&e);
			sigv2_verify(&v2, "secret", (time_t)1704164645, &e);
		}
		query_release(&params);
	}
	free(text);
	return 0;
}
