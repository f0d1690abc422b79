/*
 * Unit tests for api/sigv2: the string to sign and the signature of AWS's
 * own documented example, and the refusals of sigv2_verify.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/query.h"
#include "api/sigv2.h"

/* AWS's Signature Version 2 example (Elastic MapReduce DescribeJobFlows). */
#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_QUERY "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeJobFlows" \
	"&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2011-10-03T15%3A19%3A30" \
	"&Version=2009-03-31&Signature=i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf%2FMj6vPxyYIs%3D"
#define EXAMPLE_TIME ((time_t)1317655170) /* 2011-10-03T15:19:30Z */

static void parse(const char *text, struct query *q)
{
	struct err e = ERR_INIT;
	assert_int_equal(query_parse(text, strlen(text), q, &e), 0);
}

static void test_string_to_sign(void **state)
{
	(void)state;
	struct query q;
	struct buf sts = BUF_INIT;
	parse(EXAMPLE_QUERY, &q);
	struct sigv2_request req = { "GET", "ElasticMapReduce.amazonaws.com", "/", &q };
	assert_true(sigv2_is_signed(&q));
	assert_string_equal(sigv2_access_key(&q), "AKIAIOSFODNN7EXAMPLE");
	sigv2_string_to_sign(&req, &sts);
	assert_string_equal(sts.data,
			    "GET\nelasticmapreduce.amazonaws.com\n/\n"
			    "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeJobFlows"
			    "&SignatureMethod=HmacSHA256&SignatureVersion=2"
			    "&Timestamp=2011-10-03T15%3A19%3A30&Version=2009-03-31");
	buf_release(&sts);
	query_release(&q);
}

static void test_verify_example(void **state)
{
	(void)state;
	struct query q;
	struct err e = ERR_INIT;
	parse(EXAMPLE_QUERY, &q);
	struct sigv2_request req = { "GET", "elasticmapreduce.amazonaws.com", "", &q };
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME + 60, &e), 0);
	/* Another method, host or secret is another signature. */
	req.method = "POST";
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME, &e), -1);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	assert_int_equal(e.status, 403);
	req.method = "GET";
	err_clear(&e);
	assert_int_equal(sigv2_verify(&req, "another secret", EXAMPLE_TIME, &e), -1);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	query_release(&q);
}

static void test_time_window(void **state)
{
	(void)state;
	struct query q;
	struct err e = ERR_INIT;
	parse(EXAMPLE_QUERY, &q);
	struct sigv2_request req = { "GET", "elasticmapreduce.amazonaws.com", "/", &q };
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME + 16 * 60, &e), -1);
	assert_string_equal(e.code, "RequestExpired");
	err_clear(&e);
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME - 16 * 60, &e), -1);
	assert_string_equal(e.code, "RequestExpired");
	query_release(&q);
	/* Neither Timestamp nor Expires; both; a malformed one. */
	parse("SignatureVersion=2&Signature=x&AWSAccessKeyId=A", &q);
	err_clear(&e);
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME, &e), -1);
	assert_string_equal(e.code, "MissingParameter");
	query_release(&q);
	parse("SignatureVersion=2&Signature=x&Timestamp=2011-10-03T15:19:30Z"
	      "&Expires=2011-10-03T15:19:30Z", &q);
	err_clear(&e);
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME, &e), -1);
	assert_string_equal(e.code, "InvalidParameterCombination");
	query_release(&q);
	parse("SignatureVersion=2&Signature=x&Timestamp=yesterday", &q);
	err_clear(&e);
	assert_int_equal(sigv2_verify(&req, EXAMPLE_SECRET, EXAMPLE_TIME, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	query_release(&q);
}

static void test_not_signed_and_methods(void **state)
{
	(void)state;
	struct query q;
	struct err e = ERR_INIT;
	parse("Action=DescribeRegions&SignatureVersion=1&Signature=x", &q);
	assert_false(sigv2_is_signed(&q));
	query_release(&q);
	parse("SignatureVersion=2&SignatureMethod=HmacMD5&Signature=x"
	      "&Timestamp=2011-10-03T15:19:30Z", &q);
	struct sigv2_request req = { "GET", "h", "/", &q };
	assert_int_equal(sigv2_verify(&req, "s", EXAMPLE_TIME, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	query_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_to_sign),
		cmocka_unit_test(test_verify_example),
		cmocka_unit_test(test_time_window),
		cmocka_unit_test(test_not_signed_and_methods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
