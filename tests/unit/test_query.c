/*
 * Unit tests for api/query: the EC2 Query parameter parser and its lookups,
 * with the encodings real clients send (clients.md: "+" and "%20" for a
 * space, any parameter order, empty values mid-body).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/query.h"
#include "util/buf.h"

static struct query parse_ok(const char *text)
{
	struct query q;
	struct err e = ERR_INIT;
	assert_int_equal(query_parse(text, strlen(text), &q, &e), 0);
	assert_false(err_is_set(&e));
	return q;
}

static void parse_fails(const char *text, size_t len)
{
	struct query q;
	struct err e = ERR_INIT;
	assert_int_equal(query_parse(text, len, &q, &e), -1);
	assert_string_equal(e.code, "MalformedQueryString");
	assert_int_equal(e.status, 400);
	assert_null(q.params);
	assert_int_equal(q.count, 0);
}

static void test_decoding(void **state)
{
	(void)state;
	struct query q = parse_ok("Action=DescribeImages&A=x+y&B=x%20y&C=%41%2b%2F%3d"
				  "&D=caf%C3%A9&E%2EName=v");
	assert_string_equal(query_get(&q, "Action"), "DescribeImages");
	assert_string_equal(query_get(&q, "A"), "x y");
	assert_string_equal(query_get(&q, "B"), "x y");
	assert_string_equal(query_get(&q, "C"), "A+/=");
	assert_string_equal(query_get(&q, "D"), "caf\xc3\xa9");
	assert_string_equal(query_get(&q, "E.Name"), "v");
	assert_null(query_get(&q, "F"));
	assert_null(query_get(&q, "action")); /* names are case-sensitive */
	query_release(&q);
}

static void test_empty_and_bare(void **state)
{
	(void)state;
	struct query q = parse_ok("&&Tag.1.Value=&Tag.1.Key=k&Flag&=orphan&&");
	assert_string_equal(query_get(&q, "Tag.1.Value"), "");
	assert_string_equal(query_get(&q, "Tag.1.Key"), "k");
	assert_string_equal(query_get(&q, "Flag"), "");
	assert_string_equal(query_get(&q, ""), "orphan");
	assert_int_equal(q.count, 4);
	query_release(&q);

	q = parse_ok("");
	assert_int_equal(q.count, 0);
	assert_null(query_get(&q, "Action"));
	query_release(&q);
}

static void test_repeated_names(void **state)
{
	(void)state;
	struct query q = parse_ok("X=2&X=1&Y=a=b");
	assert_string_equal(query_get(&q, "X"), "2"); /* the first one sent wins */
	assert_string_equal(query_get(&q, "Y"), "a=b"); /* only the first '=' splits */
	query_release(&q);
	/* Also among many parameters, where qsort is not an insertion sort. */
	struct buf text = BUF_INIT;
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "%sP%d=%d&D=%d", i ? "&" : "", i % 7, i, i);
	q = parse_ok(text.data);
	assert_string_equal(query_get(&q, "D"), "0");
	for (int k = 0; k < 7; k++) {
		char name[8], want[8];
		snprintf(name, sizeof name, "P%d", k);
		snprintf(want, sizeof want, "%d", k);
		assert_string_equal(query_get(&q, name), want);
	}
	query_release(&q);
	buf_release(&text);
}

static void test_malformed(void **state)
{
	(void)state;
	parse_fails("A=%", 3);
	parse_fails("A=%4", 4);
	parse_fails("A=%zz", 5);
	parse_fails("%G1=v", 5);
	parse_fails("A=x%00y", 7); /* an embedded NUL */
	const char nul_raw[] = "A=x\0y";
	struct query q;
	struct err e = ERR_INIT;
	/* A raw NUL byte either fails or never leaks past the value's end. */
	if (query_parse(nul_raw, sizeof nul_raw - 1, &q, &e) == 0) {
		assert_int_equal(strlen(query_get(&q, "A")), 1);
		query_release(&q);
	}
}

static void test_limits(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	/* A name of QUERY_MAX_NAME is fine, one more is not. */
	for (int i = 0; i < QUERY_MAX_NAME; i++)
		buf_append(&b, "n", 1);
	buf_append(&b, "=v", 2);
	struct query q = parse_ok(buf_str(&b));
	assert_int_equal(q.count, 1);
	query_release(&q);
	buf_reset(&b);
	for (int i = 0; i <= QUERY_MAX_NAME; i++)
		buf_append(&b, "n", 1);
	buf_append(&b, "=v", 2);
	parse_fails(buf_str(&b), b.len);

	/* A value over QUERY_MAX_VALUE decoded bytes. */
	buf_reset(&b);
	buf_append(&b, "V=", 2);
	for (int i = 0; i <= QUERY_MAX_VALUE; i++)
		buf_append(&b, "x", 1);
	parse_fails(buf_str(&b), b.len);

	/* More than QUERY_MAX_PARAMS parameters. */
	buf_reset(&b);
	for (int i = 0; i <= QUERY_MAX_PARAMS; i++) {
		char one[32];
		int n = snprintf(one, sizeof one, "P%d=1&", i);
		buf_append(&b, one, (size_t)n);
	}
	parse_fails(buf_str(&b), b.len);
	buf_release(&b);
}

static void test_indices_and_lists(void **state)
{
	(void)state;
	struct query q = parse_ok("ImageId.10=ami-c&ImageId.2=ami-b&ImageId.1=ami-a"
				  "&ImageId.0=zero&ImageId.01=lead&ImageId.x=no"
				  "&ImageIdx.3=no&ImageId=bare&ImageId.4.Sub=deep"
				  "&ImageId.100001=huge");
	unsigned *idx = NULL;
	size_t n = query_indices(&q, "ImageId", &idx);
	assert_int_equal(n, 4);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 4);
	assert_int_equal(idx[3], 10);
	free(idx);

	const char **values = NULL;
	n = query_list(&q, "ImageId", &values);
	/* ImageId.4 exists only as a prefix of ImageId.4.Sub: no value. */
	assert_int_equal(n, 3);
	assert_string_equal(values[0], "ami-a");
	assert_string_equal(values[1], "ami-b");
	assert_string_equal(values[2], "ami-c");
	assert_null(values[3]);
	free(values);

	n = query_list(&q, "Owner", &values);
	assert_int_equal(n, 0);
	assert_null(values[0]);
	free(values);
	query_release(&q);
}

static void test_filters(void **state)
{
	(void)state;
	struct query q = parse_ok("Filter.2.Name=tag%3AEnv&Filter.2.Value.2=b&Filter.2.Value.1=a"
				  "&Filter.1.Name=name&Filter.1.Value.1=web-*");
	struct query_filter *f = NULL;
	size_t n = 0;
	struct err e = ERR_INIT;
	assert_int_equal(query_filters(&q, &f, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].name, "name");
	assert_int_equal(f[0].nvalues, 1);
	assert_string_equal(f[0].values[0], "web-*");
	assert_string_equal(f[1].name, "tag:Env");
	assert_int_equal(f[1].nvalues, 2);
	assert_string_equal(f[1].values[0], "a");
	assert_string_equal(f[1].values[1], "b");
	query_filters_free(f, n);
	query_release(&q);

	q = parse_ok("Filter.1.Value.1=orphan");
	f = NULL;
	n = 0;
	assert_int_equal(query_filters(&q, &f, &n, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	query_release(&q);
}

static void test_typed(void **state)
{
	(void)state;
	struct query q = parse_ok("T=true&F=false&Bad=yes&N=42&Neg=-3&Big=99999999999999999999"
				  "&Junk=12abc&Empty=");
	struct err e = ERR_INIT;
	int b = 7;
	assert_int_equal(query_get_bool(&q, "Absent", &b, &e), 0);
	assert_int_equal(b, 7);
	assert_int_equal(query_get_bool(&q, "T", &b, &e), 1);
	assert_int_equal(b, 1);
	assert_int_equal(query_get_bool(&q, "F", &b, &e), 1);
	assert_int_equal(b, 0);
	assert_int_equal(query_get_bool(&q, "Bad", &b, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");

	long long v = 5;
	err_clear(&e);
	assert_int_equal(query_get_int(&q, "Absent", 0, 100, &v, &e), 0);
	assert_int_equal(v, 5);
	assert_int_equal(query_get_int(&q, "N", 0, 100, &v, &e), 1);
	assert_int_equal(v, 42);
	assert_int_equal(query_get_int(&q, "N", 0, 41, &v, &e), -1);
	err_clear(&e);
	assert_int_equal(query_get_int(&q, "Neg", -5, 5, &v, &e), 1);
	assert_int_equal(v, -3);
	assert_int_equal(query_get_int(&q, "Big", 0, 1000, &v, &e), -1);
	err_clear(&e);
	assert_int_equal(query_get_int(&q, "Junk", 0, 1000, &v, &e), -1);
	err_clear(&e);
	assert_int_equal(query_get_int(&q, "Empty", 0, 1000, &v, &e), -1);
	query_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_empty_and_bare),
		cmocka_unit_test(test_repeated_names),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_indices_and_lists),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_typed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
