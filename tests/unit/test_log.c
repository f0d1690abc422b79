/*
 * Unit tests for util/log's formatter: the key=value (logfmt) and JSON
 * lines a log collector parses, their quoting and escaping of whatever a
 * client sent, and the redaction of fields named like secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/log.h"

/* 2025-01-31T12:34:56.789Z */
#define TS 1738326896789LL

static char *render(enum log_format format, const char *msg, const struct log_field *fields,
		    size_t n)
{
	struct buf out = BUF_INIT;
	log_render(&out, format, TS, LOG_INFO, msg, fields, n);
	return buf_detach(&out);
}

static void test_keyvalue_shape(void **state)
{
	(void)state;
	struct log_field fields[] = {
		{ "action", "DescribeImages", 0 },
		{ "status", "200", 1 },
		{ "duration_ms", "1.250", 1 },
	};
	char *line = render(LOG_FORMAT_KEYVALUE, "request", fields, 3);
	assert_string_equal(line, "ts=2025-01-31T12:34:56.789Z level=info msg=\"request\" "
				  "action=DescribeImages status=200 duration_ms=1.250");
	free(line);
	line = render(LOG_FORMAT_KEYVALUE, "no fields", NULL, 0);
	assert_string_equal(line, "ts=2025-01-31T12:34:56.789Z level=info msg=\"no fields\"");
	free(line);
}

static void test_keyvalue_quoting(void **state)
{
	(void)state;
	struct log_field fields[] = {
		{ "a", "two words", 0 },
		{ "b", "", 0 },
		{ "c", "x=y", 0 },
		{ "d", "say \"hi\" \\ bye", 0 },
		{ "e", "line\nforged-line level=error", 0 },
		{ "f", "tab\there\x01", 0 },
		{ "g", "caf\xc3\xa9", 0 },     /* UTF-8 stays as it is */
		{ "h", "bad\xff", 0 },         /* not UTF-8: escaped */
	};
	char *line = render(LOG_FORMAT_KEYVALUE, "m", fields, 8);
	assert_string_equal(line,
		"ts=2025-01-31T12:34:56.789Z level=info msg=\"m\" a=\"two words\" b=\"\" c=\"x=y\" "
		"d=\"say \\\"hi\\\" \\\\ bye\" e=\"line\\nforged-line level=error\" "
		"f=\"tab\\there\\x01\" g=caf\xc3\xa9 h=\"bad\\xff\"");
	assert_null(strchr(line, '\n'));
	free(line);
	/* The message is always quoted and escaped the same way. */
	line = render(LOG_FORMAT_KEYVALUE, "instance \"i-1\"\r\nis gone", NULL, 0);
	assert_string_equal(line, "ts=2025-01-31T12:34:56.789Z level=info "
				  "msg=\"instance \\\"i-1\\\"\\r\\nis gone\"");
	free(line);
}

static void test_json(void **state)
{
	(void)state;
	struct log_field fields[] = {
		{ "status", "200", 1 },
		{ "duration_ms", "0.125", 1 },
		{ "account", "000000000001", 0 }, /* an ID, not a number: a string */
		{ "bogus", "12abc", 1 },          /* marked a number but is not one */
		{ "text", "q\"\\\n\x01\xff\xc3\xa9", 0 },
		{ "odd key!", "v", 0 },
	};
	char *line = render(LOG_FORMAT_JSON, "request", fields, 6);
	assert_string_equal(line,
		"{\"ts\":\"2025-01-31T12:34:56.789Z\",\"level\":\"info\",\"msg\":\"request\","
		"\"status\":200,\"duration_ms\":0.125,\"account\":\"000000000001\","
		"\"bogus\":\"12abc\",\"text\":\"q\\\"\\\\\\n\\u0001\\ufffd\xc3\xa9\","
		"\"odd_key_\":\"v\"}");
	free(line);
}

static void test_numbers(void **state)
{
	(void)state;
	static const char *const numbers[] = { "0", "-1", "3.5", "1e3", "2.5E-3", NULL };
	static const char *const others[] = { "", "01", "1.", ".5", "1e", "+1", "NaN", "1 ", NULL };
	for (size_t i = 0; numbers[i]; i++) {
		struct log_field f = { "n", numbers[i], 1 };
		char *line = render(LOG_FORMAT_JSON, "m", &f, 1);
		char want[64];
		snprintf(want, sizeof want, ",\"n\":%s}", numbers[i]);
		assert_non_null(strstr(line, want));
		free(line);
	}
	for (size_t i = 0; others[i]; i++) {
		struct log_field f = { "n", others[i], 1 };
		char *line = render(LOG_FORMAT_JSON, "m", &f, 1);
		char want[64];
		snprintf(want, sizeof want, ",\"n\":\"%s\"}", others[i]);
		assert_non_null(strstr(line, want));
		free(line);
	}
}

static void test_redaction(void **state)
{
	(void)state;
	struct log_field fields[] = {
		{ "secret_access_key", "wJalrXUtnFEMI/K7MDENG", 0 },
		{ "Signature", "abc123", 0 },
		{ "session_token", "FQoGZXIvYXdzE", 0 },
		{ "access_key", "AKIAIOSFODNN7EXAMPLE", 0 },
	};
	for (int json = 0; json < 2; json++) {
		char *line = render(json ? LOG_FORMAT_JSON : LOG_FORMAT_KEYVALUE, "m", fields, 4);
		assert_null(strstr(line, "wJalrXUtnFEMI"));
		assert_null(strstr(line, "abc123"));
		assert_null(strstr(line, "FQoGZXIvYXdzE"));
		assert_non_null(strstr(line, "[redacted]"));
		assert_non_null(strstr(line, "AKIAIOSFODNN7EXAMPLE")); /* a key ID is no secret */
		free(line);
	}
}

static void test_long_values_cut(void **state)
{
	(void)state;
	char *big = malloc(100000);
	memset(big, 'x', 99999);
	big[99999] = '\0';
	struct log_field f = { "v", big, 0 };
	char *line = render(LOG_FORMAT_KEYVALUE, big, &f, 1);
	assert_true(strlen(line) < 8192);
	free(line);
	free(big);
}

static void test_format_names(void **state)
{
	(void)state;
	enum log_format format = LOG_FORMAT_KEYVALUE;
	assert_int_equal(log_format_parse("json", &format), 0);
	assert_int_equal(format, LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("keyvalue", &format), 0);
	assert_int_equal(format, LOG_FORMAT_KEYVALUE);
	assert_int_equal(log_format_parse("logfmt2", &format), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyvalue_shape),
		cmocka_unit_test(test_keyvalue_quoting),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_long_values_cut),
		cmocka_unit_test(test_format_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
