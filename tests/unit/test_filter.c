/*
 * Unit tests for api/filter: the '*' / '?' / '\' wildcard matcher of the
 * Describe filters, including patterns that would make a naive
 * backtracking matcher exponential.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "api/filter.h"

static void test_literals(void **state)
{
	(void)state;
	assert_true(filter_match("abc", "abc"));
	assert_false(filter_match("abc", "abcd"));
	assert_false(filter_match("abcd", "abc"));
	assert_false(filter_match("ABC", "abc")); /* case-sensitive */
	assert_true(filter_match("", ""));
	assert_false(filter_match("", "a"));
	assert_false(filter_match("a", ""));
}

static void test_star(void **state)
{
	(void)state;
	assert_true(filter_match("*", ""));
	assert_true(filter_match("*", "anything"));
	assert_true(filter_match("web-*", "web-"));
	assert_true(filter_match("web-*", "web-01"));
	assert_false(filter_match("web-*", "db-01"));
	assert_true(filter_match("*-prod", "eu-prod"));
	assert_false(filter_match("*-prod", "eu-prod2"));
	assert_true(filter_match("a*b*c", "aXXbYYc"));
	assert_true(filter_match("a*b*c", "abc"));
	assert_false(filter_match("a*b*c", "acb"));
	assert_true(filter_match("**a**", "a"));
	assert_true(filter_match("*ab", "aab")); /* needs a retry after a partial match */
	assert_true(filter_match("*aab", "aaab"));
	assert_true(filter_match("2024-*T*Z", "2024-01-02T03:04:05.000Z"));
}

static void test_question(void **state)
{
	(void)state;
	assert_true(filter_match("?", "x"));
	assert_false(filter_match("?", ""));
	assert_false(filter_match("?", "xy"));
	assert_true(filter_match("v?.?", "v1.2"));
	assert_true(filter_match("*?", "a"));
	assert_false(filter_match("*??", "a"));
	assert_true(filter_match("?*?", "ab"));
}

static void test_escapes(void **state)
{
	(void)state;
	assert_true(filter_match("a\\*b", "a*b"));
	assert_false(filter_match("a\\*b", "aXb"));
	assert_true(filter_match("\\?", "?"));
	assert_false(filter_match("\\?", "x"));
	assert_true(filter_match("\\\\", "\\"));
	assert_true(filter_match("*\\*", "many*"));
	assert_false(filter_match("*\\*", "many"));
	assert_true(filter_match("a\\", "a\\")); /* a trailing backslash is literal */
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(filter_match("caf*", "caf\xc3\xa9"));
	assert_true(filter_match("caf\xc3\xa9", "caf\xc3\xa9"));
	/* '?' is one character, however many bytes it takes in UTF-8. */
	assert_true(filter_match("caf?", "caf\xc3\xa9"));
	assert_false(filter_match("caf??", "caf\xc3\xa9"));
	assert_true(filter_match("?", "\xf0\x9f\x99\x82"));
	assert_true(filter_match("*?x", "\xe2\x82\xacx"));
}

static void test_any(void **state)
{
	(void)state;
	const char *const values[] = { "web-*", "db-?" };
	assert_true(filter_match_any(values, 2, "db-1"));
	assert_true(filter_match_any(values, 2, "web-x"));
	assert_false(filter_match_any(values, 2, "db-10"));
	assert_false(filter_match_any(values, 0, "web-x"));
}

/* "*a*a*...*b" against "aaaa...": exponential for naive backtracking. */
static void test_pathological(void **state)
{
	(void)state;
	char pattern[256], text[20001];
	size_t p = 0;
	for (int i = 0; i < 60; i++) {
		pattern[p++] = '*';
		pattern[p++] = 'a';
	}
	pattern[p++] = '*';
	pattern[p++] = 'b';
	pattern[p] = '\0';
	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	clock_t start = clock();
	assert_false(filter_match(pattern, text));
	text[sizeof text - 2] = 'b';
	assert_true(filter_match(pattern, text));
	/* Linear-ish work: far below a second even under sanitizers. */
	assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 5.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_pathological),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
