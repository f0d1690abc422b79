/*
 * Unit tests for console: the two request headers the console's file
 * server reads, Accept-Encoding (gzip or the file inflated) and
 * If-None-Match (304 or the file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "console/console.h"

static void test_accepts_gzip(void **state)
{
	(void)state;
	assert_true(console_accepts_gzip("gzip"));
	assert_true(console_accepts_gzip("gzip, deflate, br, zstd")); /* Chromium */
	assert_true(console_accepts_gzip("deflate, GZIP"));
	assert_true(console_accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
	assert_true(console_accepts_gzip("gzip ; q=0.5"));
	assert_true(console_accepts_gzip("*"));
	assert_false(console_accepts_gzip(NULL));
	assert_false(console_accepts_gzip(""));
	assert_false(console_accepts_gzip("identity"));
	assert_false(console_accepts_gzip("deflate, br"));
	assert_false(console_accepts_gzip("x-gzip2, gzipped"));
	assert_false(console_accepts_gzip("gzip;q=0"));
	assert_false(console_accepts_gzip("gzip;q=0.000, deflate"));
	/* A coding named outright wins over "*", either way round. */
	assert_false(console_accepts_gzip("*, gzip;q=0"));
	assert_true(console_accepts_gzip("*;q=0, gzip"));
	assert_false(console_accepts_gzip("*;q=0"));
	/* q belongs to its own element only. */
	assert_true(console_accepts_gzip("gzip, br;q=0"));
	assert_false(console_accepts_gzip(";;;,,, ;q=, q=1"));
}

static void test_etag_matches(void **state)
{
	(void)state;
	const char *etag = "\"0123456789abcdef0123\"";
	assert_true(console_etag_matches("\"0123456789abcdef0123\"", etag));
	assert_true(console_etag_matches("W/\"0123456789abcdef0123\"", etag));
	assert_true(console_etag_matches("\"x\", \"0123456789abcdef0123\" ", etag));
	assert_true(console_etag_matches("*", etag));
	assert_false(console_etag_matches(NULL, etag));
	assert_false(console_etag_matches("", etag));
	assert_false(console_etag_matches("\"0123456789abcdef012\"", etag));
	assert_false(console_etag_matches("\"0123456789abcdef0123\"x", etag));
	assert_false(console_etag_matches("0123456789abcdef0123", etag));
	assert_false(console_etag_matches("\"x\"\"0123456789abcdef0123\"", etag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_gzip),
		cmocka_unit_test(test_etag_matches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
