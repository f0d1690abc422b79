/*
 * Unit tests for api/sigv4: the Authorization header parser, the canonical
 * request, signing and verification.
 *
 * The signatures below were produced by botocore 1.43 (SigV4Auth and
 * S3SigV4Auth with the clock fixed at 2024-01-02T03:04:05Z), so they pin
 * amibox to what the real clients compute, not to what this code computes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "api/sigv4.h"
#include "util/codec.h"

#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TEST_AMZ_DATE "20240102T030405Z"
#define TEST_NOW ((time_t)1704164645) /* 2024-01-02T03:04:05Z */
#define TEST_HOST "127.0.0.1:8773"
#define TEST_EMPTY_HASH \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define TEST_FORM_TYPE "application/x-www-form-urlencoded; charset=utf-8"
#define TEST_SCOPE(service) \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/" service \
	"/aws4_request, "

/* The digest's test vector (reference/ec2-digest.md, section 2). */
#define DIGEST_BODY "Action=DescribeImages&Version=2016-11-15&Owner.1=self"
#define DIGEST_BODY_HASH \
	"a6682866705d3688a6595a6dcec4af4f462fe54f491f0802ec2e0ac79e57d72b"
#define DIGEST_SIGNATURE \
	"c64a319df325ae199f01bc7f3cec1fc06da401854408a4e8a045a587a4dd93f2"
#define DIGEST_AUTHORIZATION                                   \
	TEST_SCOPE("ec2") "SignedHeaders=content-type;host;x-amz-date, " \
			  "Signature=" DIGEST_SIGNATURE

struct test_header {
	const char *name;
	const char *value;
};

/* The sigv4_header_fn over a NULL-terminated array of test_header. */
static const char *test_header_lookup(void *ctx, const char *name)
{
	for (const struct test_header *h = ctx; h->name; h++)
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	return NULL;
}

static struct sigv4_request test_request(const char *method, const char *path,
					 const char *query,
					 struct test_header *headers,
					 const char *payload_hash)
{
	struct sigv4_request req = {
		.method = method,
		.path = path,
		.query = query,
		.header = test_header_lookup,
		.header_ctx = headers,
		.payload_hash = payload_hash,
	};
	return req;
}

static void test_expect_error(int rc, const struct err *e, int status,
			      const char *code)
{
	assert_int_equal(rc, -1);
	assert_int_equal(e->status, status);
	assert_string_equal(e->code, code);
	assert_true(e->message[0] != '\0');
}

/*
 * Parses authorization, then checks that the request verifies at TEST_NOW,
 * that signing it reproduces the client's signature, and, when given, that
 * the canonical request is exactly expected_canonical.
 */
static void test_expect_verifies(const struct sigv4_request *req,
				 const char *authorization,
				 const char *expected_canonical)
{
	struct sigv4_auth auth;
	struct err e = ERR_INIT;
	char signature[65];
	assert_int_equal(sigv4_parse_authorization(authorization, &auth, &e), 0);
	if (expected_canonical) {
		struct buf canonical = BUF_INIT;
		assert_int_equal(sigv4_canonical_request(req, &auth, &canonical,
							 &e), 0);
		assert_string_equal(buf_str(&canonical), expected_canonical);
		buf_release(&canonical);
	}
	assert_int_equal(sigv4_sign(req, &auth, TEST_SECRET, TEST_AMZ_DATE,
				    signature, &e), 0);
	assert_string_equal(signature, auth.signature);
	int rc = sigv4_verify(req, &auth, TEST_SECRET, TEST_NOW, &e);
	if (rc != 0)
		fail_msg("verify failed: %s %s", e.code, e.message);
}

/* Verifies req against authorization and expects the given error. */
static void test_expect_verify_error(const struct sigv4_request *req,
				     const char *authorization, time_t now,
				     int status, const char *code)
{
	struct sigv4_auth auth;
	struct err e = ERR_INIT;
	assert_int_equal(sigv4_parse_authorization(authorization, &auth, &e), 0);
	test_expect_error(sigv4_verify(req, &auth, TEST_SECRET, now, &e), &e,
			  status, code);
}

/* Returns the canonical path or query line for req signed for service. */
static char *test_canonical_line(const struct sigv4_request *req,
				 const char *service, int line)
{
	struct sigv4_auth auth = { 0 };
	struct buf canonical = BUF_INIT;
	struct err e = ERR_INIT;
	strcpy(auth.date, "20240102");
	strcpy(auth.region, "us-east-1");
	snprintf(auth.service, sizeof auth.service, "%s", service);
	strcpy(auth.signed_headers, "host");
	if (sigv4_canonical_request(req, &auth, &canonical, &e) != 0)
		fail_msg("canonical request failed: %s", e.message);
	const char *p = buf_str(&canonical);
	for (int i = 0; i < line; i++)
		p = strchr(p, '\n') + 1;
	char *text = xstrndup(p, strcspn(p, "\n"));
	buf_release(&canonical);
	return text;
}

static void test_digest_vector(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Content-Type", TEST_FORM_TYPE },
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	char body_hash[65];
	char canonical_hash[65];
	char key_hex[65];
	unsigned char key[32];
	struct sigv4_auth auth;
	struct buf canonical = BUF_INIT;
	struct err e = ERR_INIT;

	codec_sha256_hex(DIGEST_BODY, strlen(DIGEST_BODY), body_hash);
	assert_string_equal(body_hash, DIGEST_BODY_HASH);
	struct sigv4_request req =
		test_request("POST", "/", "", headers, body_hash);
	assert_int_equal(sigv4_parse_authorization(DIGEST_AUTHORIZATION, &auth,
						   &e), 0);
	assert_int_equal(sigv4_canonical_request(&req, &auth, &canonical, &e),
			 0);
	assert_string_equal(buf_str(&canonical),
			    "POST\n/\n\n"
			    "content-type:" TEST_FORM_TYPE "\n"
			    "host:" TEST_HOST "\n"
			    "x-amz-date:" TEST_AMZ_DATE "\n\n"
			    "content-type;host;x-amz-date\n" DIGEST_BODY_HASH);
	codec_sha256_hex(canonical.data, canonical.len, canonical_hash);
	assert_string_equal(canonical_hash, "07298a55409684afec1f998a3c1f0a7f"
					    "65b665f89ff480bf4cd780f167ca1e14");
	buf_release(&canonical);

	sigv4_signing_key(TEST_SECRET, "20240102", "us-east-1", "ec2", key);
	codec_hex(key, sizeof key, key_hex);
	assert_string_equal(key_hex, "2e25a1425da16c4d5fe0150cef2dc945"
				     "0dc804b2b760697f4063ccf24db8b97e");
	test_expect_verifies(&req, DIGEST_AUTHORIZATION, NULL);
}

static void test_parse_fields(void **state)
{
	(void)state;
	struct sigv4_auth auth;
	struct err e = ERR_INIT;
	assert_int_equal(sigv4_parse_authorization(DIGEST_AUTHORIZATION, &auth,
						   &e), 0);
	assert_string_equal(auth.access_key, "AKIDEXAMPLE");
	assert_string_equal(auth.date, "20240102");
	assert_string_equal(auth.region, "us-east-1");
	assert_string_equal(auth.service, "ec2");
	assert_string_equal(auth.signed_headers, "content-type;host;x-amz-date");
	assert_string_equal(auth.signature, DIGEST_SIGNATURE);
}

/* Components in any order, with or without spaces after the commas. */
static void test_parse_layouts(void **state)
{
	(void)state;
	static const char *const layouts[] = {
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/"
		"ec2/aws4_request,SignedHeaders=content-type;host;x-amz-date,"
		"Signature=" DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 Signature=" DIGEST_SIGNATURE ", "
		"SignedHeaders=content-type;host;x-amz-date, "
		"Credential=AKIDEXAMPLE/20240102/us-east-1/ec2/aws4_request",
		"AWS4-HMAC-SHA256  SignedHeaders=content-type;host;x-amz-date ,"
		"\tCredential=AKIDEXAMPLE/20240102/us-east-1/ec2/aws4_request,  "
		"Signature=" DIGEST_SIGNATURE "  ",
	};
	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
		struct sigv4_auth auth;
		struct err e = ERR_INIT;
		if (sigv4_parse_authorization(layouts[i], &auth, &e) != 0)
			fail_msg("layout %zu: %s", i, e.message);
		assert_string_equal(auth.access_key, "AKIDEXAMPLE");
		assert_string_equal(auth.signed_headers,
				    "content-type;host;x-amz-date");
		assert_string_equal(auth.signature, DIGEST_SIGNATURE);
	}
}

static void test_parse_errors(void **state)
{
	(void)state;
	char *long_header = xmalloc(SIGV4_MAX_AUTH_HEADER + 2);
	memset(long_header, ' ', SIGV4_MAX_AUTH_HEADER + 1);
	memcpy(long_header, DIGEST_AUTHORIZATION, strlen(DIGEST_AUTHORIZATION));
	long_header[SIGV4_MAX_AUTH_HEADER + 1] = '\0';
	char many_headers[1024] = "host";
	for (int i = 0; i < SIGV4_MAX_SIGNED_HEADERS; i++)
		snprintf(many_headers + strlen(many_headers),
			 sizeof many_headers - strlen(many_headers), ";x-h%d", i);
	char with_many[2048];
	snprintf(with_many, sizeof with_many,
		 TEST_SCOPE("ec2") "SignedHeaders=%s, Signature=" DIGEST_SIGNATURE,
		 many_headers);
	char long_key[512];
	snprintf(long_key, sizeof long_key,
		 "AWS4-HMAC-SHA256 Credential=%0130d/20240102/us-east-1/ec2/"
		 "aws4_request, SignedHeaders=host, Signature=" DIGEST_SIGNATURE,
		 0);
#define SH_SIG ", SignedHeaders=host;x-amz-date, Signature=" DIGEST_SIGNATURE
#define CRED "Credential=AKIDEXAMPLE/20240102/us-east-1/ec2/aws4_request"
	const char *const bad[] = {
		NULL,
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 ",
		"AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
		"AWS4-HMAC-SHA1 " CRED SH_SIG,
		"AWS4-HMAC-SHA256" CRED SH_SIG,
		"aws4-hmac-sha256 " CRED SH_SIG,
		"AWS4-HMAC-SHA256 " CRED,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host",
		"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED SH_SIG ",",
		"AWS4-HMAC-SHA256 " CRED SH_SIG ", " CRED,
		"AWS4-HMAC-SHA256 " CRED SH_SIG ", Extra=1",
		"AWS4-HMAC-SHA256 " CRED " SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders, Signature=x",
		"AWS4-HMAC-SHA256 " CRED ",, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 credential=AKIDEXAMPLE/20240102/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		/* Credential scope. */
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/ec2"
		SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/ec2/"
		"aws4_request/x" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/ec2/"
		"aws4_requests" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/ec2/"
		"aws3_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=/20240102/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKID\"X/20240102/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2024010/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2024010x/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241301/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20230229/us-east-1/ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102//ec2/"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1//"
		"aws4_request" SH_SIG,
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/"
		"a-service-name-far-too-long-to-fit/aws4_request" SH_SIG,
		long_key,
		/* SignedHeaders. */
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=, Signature="
		DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=x-amz-date, Signature="
		DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=Host;x-amz-date, "
		"Signature=" DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;;x-amz-date, "
		"Signature=" DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;x-amz-date;, "
		"Signature=" DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;host, Signature="
		DIGEST_SIGNATURE,
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host;a:b, Signature="
		DIGEST_SIGNATURE,
		with_many,
		/* Signature. */
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature=",
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
		"c64a319df325ae199f01bc7f3cec1fc06da401854408a4e8a045a587a4dd93f",
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
		DIGEST_SIGNATURE "0",
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
		"C64A319DF325AE199F01BC7F3CEC1FC06DA401854408A4E8A045A587A4DD93F2",
		"AWS4-HMAC-SHA256 " CRED ", SignedHeaders=host, Signature="
		"g64a319df325ae199f01bc7f3cec1fc06da401854408a4e8a045a587a4dd93f2",
		long_header,
	};
#undef SH_SIG
#undef CRED
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sigv4_auth auth;
		struct err e = ERR_INIT;
		int rc = sigv4_parse_authorization(bad[i], &auth, &e);
		if (rc != -1)
			fail_msg("bad header %zu parsed: %s", i, bad[i]);
		test_expect_error(rc, &e, 400, "IncompleteSignature");
		/* A failed parse leaves nothing half-filled behind. */
		assert_string_equal(auth.access_key, "");
		assert_string_equal(auth.signature, "");
	}
	free(long_header);
}

/* Header values are trimmed and inner whitespace runs collapsed. */
static void test_header_extra_spaces(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "content-type", TEST_FORM_TYPE },
		{ "host", TEST_HOST },
		{ "x-amz-date", TEST_AMZ_DATE },
		{ "X-Amz-Meta-Test", "  a   b \t c  " },
		{ NULL, NULL },
	};
	struct sigv4_request req = test_request(
		"POST", "/", "", headers,
		"d08ae4f8d1ea3a019eb2bedca079daf66183abf967eb28ed0ae58be91e3e85c2");
	test_expect_verifies(
		&req,
		TEST_SCOPE("ec2") "SignedHeaders=content-type;host;x-amz-date;"
				  "x-amz-meta-test, Signature=76c672369384c810"
				  "3482ee5cd8739b0f342f52da1bf6dfb18f44a01321"
				  "fae0e7",
		"POST\n/\n\n"
		"content-type:" TEST_FORM_TYPE "\n"
		"host:" TEST_HOST "\n"
		"x-amz-date:" TEST_AMZ_DATE "\n"
		"x-amz-meta-test:a b c\n\n"
		"content-type;host;x-amz-date;x-amz-meta-test\n"
		"d08ae4f8d1ea3a019eb2bedca079daf66183abf967eb28ed0ae58be91e3e85c2");
}

static void test_wrong_signature(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Content-Type", TEST_FORM_TYPE },
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("POST", "/", "", headers, DIGEST_BODY_HASH);
	struct sigv4_auth auth;
	struct err e = ERR_INIT;

	/* One digit off. */
	char authorization[] = DIGEST_AUTHORIZATION;
	authorization[strlen(authorization) - 1] = '3';
	test_expect_verify_error(&req, authorization, TEST_NOW, 403,
				 "SignatureDoesNotMatch");

	/* The right signature with the wrong secret. */
	assert_int_equal(sigv4_parse_authorization(DIGEST_AUTHORIZATION, &auth,
						   &e), 0);
	test_expect_error(sigv4_verify(&req, &auth, "not-the-secret", TEST_NOW,
				       &e),
			  &e, 403, "SignatureDoesNotMatch");
	assert_string_equal(e.message,
			    "The request signature we calculated does not match "
			    "the signature you provided. Check your AWS Secret "
			    "Access Key and signing method.");

	/* A changed body. */
	req.payload_hash = TEST_EMPTY_HASH;
	test_expect_verify_error(&req, DIGEST_AUTHORIZATION, TEST_NOW, 403,
				 "SignatureDoesNotMatch");

	/* A changed signed header. */
	req.payload_hash = DIGEST_BODY_HASH;
	headers[1].value = "127.0.0.1:8774";
	test_expect_verify_error(&req, DIGEST_AUTHORIZATION, TEST_NOW, 403,
				 "SignatureDoesNotMatch");
}

static void test_expired(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Content-Type", TEST_FORM_TYPE },
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("POST", "/", "", headers, DIGEST_BODY_HASH);
	struct sigv4_auth auth;
	struct err e = ERR_INIT;
	assert_int_equal(sigv4_parse_authorization(DIGEST_AUTHORIZATION, &auth,
						   &e), 0);

	/* Fifteen minutes either way is still fine. */
	assert_int_equal(sigv4_verify(&req, &auth, TEST_SECRET,
				      TEST_NOW + SIGV4_SKEW_SECONDS, &e), 0);
	assert_int_equal(sigv4_verify(&req, &auth, TEST_SECRET,
				      TEST_NOW - SIGV4_SKEW_SECONDS, &e), 0);

	test_expect_verify_error(&req, DIGEST_AUTHORIZATION,
				 TEST_NOW + SIGV4_SKEW_SECONDS + 1, 400,
				 "RequestExpired");
	test_expect_verify_error(&req, DIGEST_AUTHORIZATION,
				 TEST_NOW - SIGV4_SKEW_SECONDS - 1, 400,
				 "RequestExpired");
	err_clear(&e);
	sigv4_verify(&req, &auth, TEST_SECRET, TEST_NOW + 3600, &e);
	assert_non_null(strstr(e.message, "Request has expired."));
}

static void test_scope_date_mismatch(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Content-Type", TEST_FORM_TYPE },
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", "20240101T235959Z" },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("POST", "/", "", headers, DIGEST_BODY_HASH);
	struct sigv4_auth auth;
	struct err e = ERR_INIT;
	assert_int_equal(sigv4_parse_authorization(DIGEST_AUTHORIZATION, &auth,
						   &e), 0);
	/* Within the skew, yet the scope says 20240102: refused. */
	test_expect_error(sigv4_verify(&req, &auth, TEST_SECRET, TEST_NOW, &e),
			  &e, 403, "SignatureDoesNotMatch");
	assert_non_null(strstr(e.message, "'20240102' != '20240101'"));

	/* Signing refuses the same inconsistency. */
	char signature[65];
	err_clear(&e);
	test_expect_error(sigv4_sign(&req, &auth, TEST_SECRET,
				     "20240101T235959Z", signature, &e),
			  &e, 400, "IncompleteSignature");
	err_clear(&e);
	test_expect_error(sigv4_sign(&req, &auth, TEST_SECRET, "2024-01-02",
				     signature, &e),
			  &e, 400, "IncompleteSignature");
}

static void test_missing_signed_header(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("POST", "/", "", headers, DIGEST_BODY_HASH);
	test_expect_verify_error(&req, DIGEST_AUTHORIZATION, TEST_NOW, 400,
				 "IncompleteSignature");

	struct sigv4_auth auth;
	struct buf canonical = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(sigv4_parse_authorization(DIGEST_AUTHORIZATION, &auth,
						   &e), 0);
	test_expect_error(sigv4_canonical_request(&req, &auth, &canonical, &e),
			  &e, 400, "IncompleteSignature");
	assert_non_null(strstr(e.message, "'content-type'"));
	buf_release(&canonical);
}

static void test_missing_or_bad_date(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Content-Type", TEST_FORM_TYPE },
		{ "Host", TEST_HOST },
		{ NULL, NULL },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("POST", "/", "", headers, DIGEST_BODY_HASH);
	test_expect_verify_error(&req, DIGEST_AUTHORIZATION, TEST_NOW, 400,
				 "IncompleteSignature");

	static const char *const bad_amz_dates[] = {
		"", "20240102", "20240102T030405", "20240102T030405z",
		"2024-01-02T03:04:05Z", "20240102T250405Z", "20240132T030405Z",
		"20240102T030405Z ", "Tue, 02 Jan 2024 03:04:05 GMT",
	};
	headers[2].name = "X-Amz-Date";
	for (size_t i = 0; i < sizeof bad_amz_dates / sizeof bad_amz_dates[0];
	     i++) {
		headers[2].value = bad_amz_dates[i];
		test_expect_verify_error(&req, DIGEST_AUTHORIZATION, TEST_NOW,
					 400, "IncompleteSignature");
	}

	static const char *const bad_dates[] = {
		"", "Tue, 02 Jan 2024 03:04:05", "Tue, 02 Jan 2024 03:04:05 EST",
		"Tue 02 Jan 2024 03:04:05 GMT", "Tue, 02 Foo 2024 03:04:05 GMT",
		"Tue, 32 Jan 2024 03:04:05 GMT", "Tue, 02 Jan 24 03:04:05 GMT",
		"Tue, 02 Jan 2024 3:04:05 GMT", "Tue, 02 Jan 2024 03:04:05 +01",
		"Tue, 02 Jan ", "Xyz, 02 Jan 2024 03:04:05 GMT",
	};
	headers[2].name = "Date";
	for (size_t i = 0; i < sizeof bad_dates / sizeof bad_dates[0]; i++) {
		headers[2].value = bad_dates[i];
		test_expect_verify_error(&req, DIGEST_AUTHORIZATION, TEST_NOW,
					 400, "IncompleteSignature");
	}
}

/* botocore signs with a Date header when the request already has one. */
static void test_date_header(void **state)
{
	(void)state;
	static const char *const dates[] = {
		"Tue, 02 Jan 2024 03:04:05 -0000", /* what botocore sent */
	};
	struct test_header headers[] = {
		{ "Content-Type", TEST_FORM_TYPE },
		{ "Date", dates[0] },
		{ "Host", TEST_HOST },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("POST", "/", "", headers, DIGEST_BODY_HASH);
	test_expect_verifies(
		&req,
		TEST_SCOPE("ec2") "SignedHeaders=content-type;date;host, "
				  "Signature=1f9d5ddfc46d11f304ee998aa856cb0a"
				  "1e217dd110c6a37098062d94cba0a866",
		"POST\n/\n\n"
		"content-type:" TEST_FORM_TYPE "\n"
		"date:Tue, 02 Jan 2024 03:04:05 -0000\n"
		"host:" TEST_HOST "\n\n"
		"content-type;date;host\n" DIGEST_BODY_HASH);

	/* Other spellings of the same moment are as fresh (not as signed). */
	static const char *const same_time[] = {
		"Tue, 02 Jan 2024 03:04:05 GMT",
		"Tue, 2 Jan 2024 03:04:05 UTC",
		"Tue, 02 Jan 2024 04:04:05 +0100",
		"Mon, 01 Jan 2024 22:04:05 -0500",
		"20240102T030405Z",
	};
	for (size_t i = 0; i < sizeof same_time / sizeof same_time[0]; i++) {
		headers[1].value = same_time[i];
		test_expect_verify_error(&req,
					 TEST_SCOPE("ec2") "SignedHeaders=host, "
					 "Signature=" DIGEST_SIGNATURE,
					 TEST_NOW, 403, "SignatureDoesNotMatch");
		test_expect_verify_error(&req,
					 TEST_SCOPE("ec2") "SignedHeaders=host, "
					 "Signature=" DIGEST_SIGNATURE,
					 TEST_NOW + 901, 400, "RequestExpired");
	}
}

/* EBS GetSnapshotBlock: a block token full of characters to encode. */
static void test_ebs_get_block_token(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	static const char authorization[] =
		TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
				  "Signature=d51bb4dc01b4f4798c3ec14beca85043"
				  "e43ddcd9fab9e716e7c3bbeca64b5bfe";
	static const char canonical[] =
		"GET\n/snapshots/snap-0123/blocks/5\nblockToken=AbC%2B%2F%3D\n"
		"host:" TEST_HOST "\nx-amz-date:" TEST_AMZ_DATE "\n\n"
		"host;x-amz-date\n" TEST_EMPTY_HASH;
	struct sigv4_request req =
		test_request("GET", "/snapshots/snap-0123/blocks/5",
			     "blockToken=AbC%2B%2F%3D", headers, TEST_EMPTY_HASH);
	test_expect_verifies(&req, authorization, canonical);

	/* Lower-case escapes and a bare '/' mean the same thing. */
	req.query = "blockToken=AbC%2b/%3d";
	test_expect_verifies(&req, authorization, canonical);
}

/*
 * A space may arrive as %20 (what the SDKs send) or '+' (form encoding);
 * both sign as %20, while %2B stays a literal plus.
 */
static void test_query_space_and_plus(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	static const char authorization[] =
		TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
				  "Signature=affc171a8b6f1da44a023ba6eb7d7244"
				  "5ebad9d4b32de4e4c6dc4d9f2dd08d8b";
	struct sigv4_request req =
		test_request("GET", "/snapshots/snap-0123/blocks/5",
			     "blockToken=abc%2B%2F%3D%20x", headers,
			     TEST_EMPTY_HASH);
	test_expect_verifies(&req, authorization,
			     "GET\n/snapshots/snap-0123/blocks/5\n"
			     "blockToken=abc%2B%2F%3D%20x\n"
			     "host:" TEST_HOST "\nx-amz-date:" TEST_AMZ_DATE
			     "\n\nhost;x-amz-date\n" TEST_EMPTY_HASH);
	req.query = "blockToken=abc%2B/%3D+x";
	test_expect_verifies(&req, authorization, NULL);
	req.query = "blockToken=abc+/%3D+x";
	test_expect_verify_error(&req, authorization, TEST_NOW, 403,
				 "SignatureDoesNotMatch");
}

/* ListSnapshotBlocks: parameters sorted by key whatever their order. */
static void test_ebs_list_query_sorted(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	static const char authorization[] =
		TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
				  "Signature=a0f75f2d40d05cc1932782459a4b98a6"
				  "ed5eddefb2275bee498646454a518721";
	struct sigv4_request req = test_request(
		"GET", "/snapshots/snap-0123/blocks",
		"pageToken=a%20b%2Bc&maxResults=100&startingBlockIndex=0",
		headers, TEST_EMPTY_HASH);
	test_expect_verifies(&req, authorization,
			     "GET\n/snapshots/snap-0123/blocks\n"
			     "maxResults=100&pageToken=a%20b%2Bc&"
			     "startingBlockIndex=0\n"
			     "host:" TEST_HOST "\nx-amz-date:" TEST_AMZ_DATE
			     "\n\nhost;x-amz-date\n" TEST_EMPTY_HASH);
	/* Reordered, '+' for the space, a stray empty pair: same request. */
	req.query = "startingBlockIndex=0&&maxResults=100&pageToken=a+b%2bc&";
	test_expect_verifies(&req, authorization, NULL);
}

/* An EC2 GET with repeated keys: sorted by key, then by value. */
static void test_query_repeated_keys(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req = test_request(
		"GET", "", "Action=DescribeRegions&Version=2016-11-15&"
		"Filter.1.Name=region-name&Filter.1.Value.1=us-east-1&"
		"Filter.1.Value.1=a", headers, TEST_EMPTY_HASH);
	test_expect_verifies(
		&req,
		TEST_SCOPE("ec2") "SignedHeaders=host;x-amz-date, "
				  "Signature=a722d1a871d876db824472333ba6a28b"
				  "70304f303de31076c4058697e26eb5aa",
		"GET\n/\nAction=DescribeRegions&Filter.1.Name=region-name&"
		"Filter.1.Value.1=a&Filter.1.Value.1=us-east-1&"
		"Version=2016-11-15\n"
		"host:" TEST_HOST "\nx-amz-date:" TEST_AMZ_DATE
		"\n\nhost;x-amz-date\n" TEST_EMPTY_HASH);
}

static void test_query_edge_cases(void **state)
{
	(void)state;
	static const struct {
		const char *raw;
		const char *canonical;
	} cases[] = {
		{ "", "" },
		{ "a", "a=" },
		{ "b=&a", "a=&b=" },
		{ "=x", "=x" },
		{ "k=a=b", "k=a%3Db" },
		{ "b=1&a=2&a=1", "a=1&a=2&b=1" },
		/* Sorting is on the encoded key: '%' sorts before letters. */
		{ "a=1&%21=2&A=3", "%21=2&A=3&a=1" },
		{ "a-b=1&a=2", "a=2&a-b=1" },
		{ "X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Date=1" },
		{ "%00=%FF", "%00=%FF" },
		{ "~-._=!*'()", "~-._=%21%2A%27%28%29" },
	};
	struct test_header headers[] = { { "Host", TEST_HOST },
					 { NULL, NULL } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sigv4_request req = test_request(
			"GET", "/", cases[i].raw, headers, TEST_EMPTY_HASH);
		char *line = test_canonical_line(&req, "ebs", 2);
		assert_string_equal(line, cases[i].canonical);
		free(line);
	}
	/* A NULL query is an empty one. */
	struct sigv4_request req =
		test_request("GET", "/", NULL, headers, TEST_EMPTY_HASH);
	char *line = test_canonical_line(&req, "ebs", 2);
	assert_string_equal(line, "");
	free(line);
}

/* AWS encodes the path twice for every service but S3. */
static void test_double_encoding_ebs_vs_s3(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ "X-Amz-Content-SHA256", TEST_EMPTY_HASH },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("GET", "/snapshots/snap%3A1/blocks/5", "", headers,
			     TEST_EMPTY_HASH);
	test_expect_verifies(
		&req,
		TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
				  "Signature=3703c4665672911b750612a52414037f"
				  "86ebc86051835db8d9da4f6369c25b00",
		"GET\n/snapshots/snap%253A1/blocks/5\n\n"
		"host:" TEST_HOST "\nx-amz-date:" TEST_AMZ_DATE
		"\n\nhost;x-amz-date\n" TEST_EMPTY_HASH);
	test_expect_verifies(
		&req,
		TEST_SCOPE("s3") "SignedHeaders=host;x-amz-content-sha256;"
				 "x-amz-date, Signature=2faf029b727df19e866cc"
				 "e0464375dd3c028170058a2f85818b3989f0a0cadc6",
		"GET\n/snapshots/snap%3A1/blocks/5\n\n"
		"host:" TEST_HOST "\n"
		"x-amz-content-sha256:" TEST_EMPTY_HASH "\n"
		"x-amz-date:" TEST_AMZ_DATE "\n\n"
		"host;x-amz-content-sha256;x-amz-date\n" TEST_EMPTY_HASH);
}

/* Dot segments and empty segments, as botocore and the JS SDK drop them. */
static void test_path_normalization(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req = test_request("GET", "/a/./b//c/../d/", "",
						headers, TEST_EMPTY_HASH);
	test_expect_verifies(
		&req,
		TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
				  "Signature=d63d6367b54a95587bf456f32c2b11d9"
				  "87943738ae43e6e1fe6f9251f0266ffb",
		"GET\n/a/b/d/\n\nhost:" TEST_HOST "\nx-amz-date:" TEST_AMZ_DATE
		"\n\nhost;x-amz-date\n" TEST_EMPTY_HASH);

	/* First expectations from botocore's normalize_url_path and quote. */
	static const struct {
		const char *raw, *ebs, *s3;
	} cases[] = {
		{ "", "/", "/" },
		{ "/", "/", "/" },
		{ "//", "/", "//" },
		{ "/..", "/", "/.." },
		{ "/a/..", "/", "/a/.." },
		{ "/a/b/..", "/a", "/a/b/.." },
		{ "/a/b/../", "/a/", "/a/b/../" },
		{ "/a/b/../../c", "/c", "/a/b/../../c" },
		{ "/x/../../y/", "/y/", "/x/../../y/" },
		{ "/snap%2Fx/~t%21", "/snap%252Fx/~t%2521", "/snap%2Fx/~t%21" },
		{ "/c%20d/e%2B", "/c%2520d/e%252B", "/c%20d/e%2B" },
		/*
		 * Paths not in canonical form, which neither SDK sends: AWS
		 * decodes and re-encodes them, where botocore would sign the
		 * raw text ("%2E" is still not a dot segment).
		 */
		{ "/a/%2E/b", "/a/./b", "/a/./b" },
		{ "/a/%2E%2E/b", "/a/../b", "/a/../b" },
		{ "/c%20d/e%2b", "/c%2520d/e%252B", "/c%20d/e%2B" },
		{ "/a+b!", "/a%252Bb%2521", "/a%2Bb%21" },
		{ "/%41%7e", "/A~", "/A~" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		req.path = cases[i].raw;
		char *ebs = test_canonical_line(&req, "ebs", 1);
		char *s3 = test_canonical_line(&req, "s3", 1);
		assert_string_equal(ebs, cases[i].ebs);
		assert_string_equal(s3, cases[i].s3);
		free(ebs);
		free(s3);
	}
}

/* What the JS SDK signs on PutSnapshotBlock: many headers, no body hash. */
static void test_js_sdk_headers(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "host", "localhost:8773" },
		{ "amz-sdk-invocation-id", "b6f1c4d2-0d0e-4f55-9a3c-1b2c3d4e5f60" },
		{ "amz-sdk-request", "attempt=1; max=3" },
		{ "content-length", "524288" },
		{ "content-type", "application/octet-stream" },
		{ "x-amz-checksum", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" },
		{ "x-amz-checksum-algorithm", "SHA256" },
		{ "x-amz-content-sha256", "UNSIGNED-PAYLOAD" },
		{ "x-amz-data-length", "524288" },
		{ "x-amz-user-agent", "aws-sdk-js/3.1138.0" },
		{ "x-amz-date", TEST_AMZ_DATE },
		{ "user-agent", "not signed" },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("PUT", "/snapshots/snap-0123456789abcdef0/blocks/7",
			     "", headers, "UNSIGNED-PAYLOAD");
	test_expect_verifies(
		&req,
		TEST_SCOPE("ebs") "SignedHeaders=amz-sdk-invocation-id;"
		"amz-sdk-request;content-length;content-type;host;"
		"x-amz-checksum;x-amz-checksum-algorithm;x-amz-content-sha256;"
		"x-amz-data-length;x-amz-date;x-amz-user-agent, "
		"Signature=b34058b807631203901c34a37587cce8b76aea86b068ae19f6e67a"
		"18e18e42da",
		NULL);
}

/* Canonical headers follow SignedHeaders as given; names match any case. */
static void test_signed_headers_order(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "HOST", " h:1 " },
		{ "X-AMZ-DATE", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("GET", "/", "", headers, TEST_EMPTY_HASH);
	struct sigv4_auth auth;
	struct buf canonical = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(
		sigv4_parse_authorization(
			TEST_SCOPE("ec2") "SignedHeaders=x-amz-date;host, "
					  "Signature=" DIGEST_SIGNATURE,
			&auth, &e),
		0);
	assert_int_equal(sigv4_canonical_request(&req, &auth, &canonical, &e),
			 0);
	assert_string_equal(buf_str(&canonical),
			    "GET\n/\n\nx-amz-date:" TEST_AMZ_DATE "\nhost:h:1\n\n"
			    "x-amz-date;host\n" TEST_EMPTY_HASH);
	buf_release(&canonical);
}

static void test_malformed_request(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ "X-Long", NULL },
		{ NULL, NULL },
	};
	static const struct {
		const char *path, *query;
	} bad[] = {
		{ "/a%zz", "" },  { "/a%4", "" },    { "/a%", "" },
		{ "a/b", "" },    { "/", "a=%g0" }, { "/", "a%=1" },
		{ "/", "a=1%" },
	};
	struct sigv4_auth auth;
	struct err e = ERR_INIT;
	assert_int_equal(
		sigv4_parse_authorization(
			TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
					  "Signature=" DIGEST_SIGNATURE,
			&auth, &e),
		0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sigv4_request req = test_request(
			"GET", bad[i].path, bad[i].query, headers,
			TEST_EMPTY_HASH);
		struct buf canonical = BUF_INIT;
		err_clear(&e);
		test_expect_error(sigv4_canonical_request(&req, &auth,
							  &canonical, &e),
				  &e, 400, "IncompleteSignature");
		err_clear(&e);
		test_expect_error(sigv4_verify(&req, &auth, TEST_SECRET,
					       TEST_NOW, &e),
				  &e, 400, "IncompleteSignature");
		buf_release(&canonical);
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ "X-Long", NULL },
		{ NULL, NULL },
	};
	struct sigv4_auth auth;
	struct buf canonical = BUF_INIT;
	struct err e = ERR_INIT;
	struct buf text = BUF_INIT;

	/* A few thousand parameters: refused before any sorting. */
	for (int i = 0; i < 5000; i++)
		buf_printf(&text, "%sp%d=%d", i ? "&" : "", i, i);
	assert_int_equal(
		sigv4_parse_authorization(
			TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date, "
					  "Signature=" DIGEST_SIGNATURE,
			&auth, &e),
		0);
	struct sigv4_request req =
		test_request("GET", "/", text.data, headers, TEST_EMPTY_HASH);
	test_expect_error(sigv4_canonical_request(&req, &auth, &canonical, &e),
			  &e, 400, "IncompleteSignature");

	/* Several hundred parameters are fine and take the heap path. */
	buf_reset(&text);
	for (int i = 499; i >= 0; i--)
		buf_printf(&text, "p%03d=%d%s", i, i, i ? "&" : "");
	req.query = text.data;
	char *line = test_canonical_line(&req, "ebs", 2);
	assert_int_equal(strncmp(line, "p000=0&p001=1&p002=2&", 21), 0);
	assert_non_null(strstr(line, "&p499=499"));
	free(line);

	/* An overlong path, and an overlong signed header value. */
	buf_reset(&text);
	for (int i = 0; i < 9000; i++)
		buf_append_char(&text, '/');
	req.query = "";
	req.path = text.data;
	err_clear(&e);
	test_expect_error(sigv4_canonical_request(&req, &auth, &canonical, &e),
			  &e, 400, "IncompleteSignature");
	req.path = "/";
	buf_reset(&text);
	for (int i = 0; i < 20000; i++)
		buf_append_char(&text, 'x');
	headers[2].value = text.data;
	assert_int_equal(
		sigv4_parse_authorization(
			TEST_SCOPE("ebs") "SignedHeaders=host;x-amz-date;x-long, "
					  "Signature=" DIGEST_SIGNATURE,
			&auth, &e),
		0);
	err_clear(&e);
	test_expect_error(sigv4_canonical_request(&req, &auth, &canonical, &e),
			  &e, 400, "IncompleteSignature");
	buf_release(&canonical);
	buf_release(&text);
}

/* A client-built auth with a bad SignedHeaders list is refused, not used. */
static void test_sign_checks_auth(void **state)
{
	(void)state;
	struct test_header headers[] = {
		{ "Host", TEST_HOST },
		{ "X-Amz-Date", TEST_AMZ_DATE },
		{ NULL, NULL },
	};
	struct sigv4_request req =
		test_request("GET", "/", "", headers, TEST_EMPTY_HASH);
	struct sigv4_auth auth = { 0 };
	struct err e = ERR_INIT;
	char signature[65];
	strcpy(auth.access_key, "AKIDEXAMPLE");
	strcpy(auth.date, "20240102");
	strcpy(auth.region, "us-east-1");
	strcpy(auth.service, "ebs");
	strcpy(auth.signed_headers, "x-amz-date");
	test_expect_error(sigv4_sign(&req, &auth, TEST_SECRET, TEST_AMZ_DATE,
				     signature, &e),
			  &e, 400, "IncompleteSignature");
	strcpy(auth.signed_headers, "host;x-amz-date");
	err_clear(&e);
	assert_int_equal(sigv4_sign(&req, &auth, TEST_SECRET, TEST_AMZ_DATE,
				    signature, &e), 0);
	assert_int_equal(strlen(signature), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_vector),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_layouts),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_header_extra_spaces),
		cmocka_unit_test(test_wrong_signature),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_scope_date_mismatch),
		cmocka_unit_test(test_missing_signed_header),
		cmocka_unit_test(test_missing_or_bad_date),
		cmocka_unit_test(test_date_header),
		cmocka_unit_test(test_ebs_get_block_token),
		cmocka_unit_test(test_query_space_and_plus),
		cmocka_unit_test(test_ebs_list_query_sorted),
		cmocka_unit_test(test_query_repeated_keys),
		cmocka_unit_test(test_query_edge_cases),
		cmocka_unit_test(test_double_encoding_ebs_vs_s3),
		cmocka_unit_test(test_path_normalization),
		cmocka_unit_test(test_js_sdk_headers),
		cmocka_unit_test(test_signed_headers_order),
		cmocka_unit_test(test_malformed_request),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sign_checks_auth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
