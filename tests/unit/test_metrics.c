/*
 * Unit tests for api/metrics: the request counters and histogram as the
 * Prometheus text format has them, the cap on invented action names,
 * label escaping, plain values, and collectors (a failing one's output is
 * dropped and reported), also while other threads count requests.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/metrics.h"

static char *render(struct metrics *m)
{
	struct buf out = BUF_INIT;
	metrics_render(m, &out);
	return buf_detach(&out);
}

/* The value of the sample line that starts with prefix ("name{labels} "), or -1. */
static double sample(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, prefix, len))
			return strtod(line + len, NULL);
	return -1;
}

static void test_requests_and_histogram(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	metrics_request(m, "DescribeImages", 200, 0.0005);
	metrics_request(m, "DescribeImages", 200, 0.003);
	metrics_request(m, "DescribeImages", 400, 0.2);
	metrics_request(m, "PutObject", 200, 45.0);
	char *text = render(m);
	assert_non_null(strstr(text, "# HELP amibox_requests_total "));
	assert_non_null(strstr(text, "# TYPE amibox_requests_total counter\n"));
	assert_non_null(strstr(text, "# TYPE amibox_request_duration_seconds histogram\n"));
	/* Sorted by action, then status. */
	const char *a = strstr(text, "amibox_requests_total{action=\"DescribeImages\",status=\"200\"} 2\n");
	const char *b = strstr(text, "amibox_requests_total{action=\"DescribeImages\",status=\"400\"} 1\n");
	const char *c = strstr(text, "amibox_requests_total{action=\"PutObject\",status=\"200\"} 1\n");
	assert_true(a && b && c && a < b && b < c);
	/* Cumulative buckets; +Inf and _count are every request. */
	assert_true(sample(text, "amibox_request_duration_seconds_bucket{le=\"0.001\"} ") == 1);
	assert_true(sample(text, "amibox_request_duration_seconds_bucket{le=\"0.005\"} ") == 2);
	assert_true(sample(text, "amibox_request_duration_seconds_bucket{le=\"0.25\"} ") == 3);
	assert_true(sample(text, "amibox_request_duration_seconds_bucket{le=\"30\"} ") == 3);
	assert_true(sample(text, "amibox_request_duration_seconds_bucket{le=\"+Inf\"} ") == 4);
	assert_true(sample(text, "amibox_request_duration_seconds_count ") == 4);
	double sum = sample(text, "amibox_request_duration_seconds_sum ");
	assert_true(sum > 45.2 && sum < 45.21);
	free(text);
	metrics_free(m);
}

static void test_invented_actions_capped(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	char action[32];
	for (int i = 0; i < METRICS_SERIES_MAX + 500; i++) {
		snprintf(action, sizeof action, "Made%d", i);
		metrics_request(m, action, 400, 0.001);
	}
	/* A known series keeps counting by name after the cap. */
	metrics_request(m, "Made0", 400, 0.001);
	char *text = render(m);
	size_t named = 0;
	for (const char *p = text; (p = strstr(p, "{action=\"Made")); p++)
		named++;
	assert_int_equal(named, METRICS_SERIES_MAX);
	assert_true(sample(text, "amibox_requests_total{action=\"Made0\",status=\"400\"} ") == 2);
	assert_true(sample(text, "amibox_requests_total{action=\"other\",status=\"400\"} ") == 500);
	assert_true(sample(text, "amibox_request_duration_seconds_count ") == METRICS_SERIES_MAX + 501);
	free(text);
	metrics_free(m);
}

static void test_label_escaping(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	metrics_sample(&out, "x", 1.5, "a", "q\"b\\n\nz\x01", "b", "", NULL);
	assert_string_equal(out.data, "x{a=\"q\\\"b\\\\n\\nz?\",b=\"\"} 1.5\n");
	buf_reset(&out);
	metrics_family(&out, "x", "gauge", "two\nlines \\ here");
	assert_string_equal(out.data, "# HELP x two\\nlines \\\\ here\n# TYPE x gauge\n");
	buf_reset(&out);
	metrics_sample(&out, "big", 12345678901234.0, NULL);
	assert_string_equal(out.data, "big 12345678901234\n");
	buf_release(&out);
}

static int collect_good(void *ctx, struct buf *out, struct err *e)
{
	(void)e;
	metrics_family(out, "test_good", "gauge", "A collector's gauge.");
	metrics_sample(out, "test_good", *(double *)ctx, "k", "v", NULL);
	return 0;
}

static int collect_bad(void *ctx, struct buf *out, struct err *e)
{
	(void)ctx;
	metrics_family(out, "test_half", "gauge", "Written, then the collector failed.");
	return err_internal(e, "the catalog is gone");
}

static void test_values_and_collectors(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	double seven = 7;
	struct metrics_value *started = metrics_counter(m, "test_started_total", "Things started.");
	struct metrics_value *level = metrics_gauge(m, "test_level", "A level.");
	metrics_collector_add(m, "good", collect_good, &seven);
	metrics_collector_add(m, "bad", collect_bad, NULL);
	metrics_value_add(started, 2);
	metrics_value_add(started, 1);
	metrics_value_set(level, 0.25);
	char *text = render(m);
	assert_non_null(strstr(text, "# TYPE test_started_total counter\ntest_started_total 3\n"));
	assert_non_null(strstr(text, "# TYPE test_level gauge\ntest_level 0.25\n"));
	assert_non_null(strstr(text, "test_good{k=\"v\"} 7\n"));
	assert_null(strstr(text, "test_half"));
	assert_non_null(strstr(text, "amibox_collector_success{collector=\"good\"} 1\n"));
	assert_non_null(strstr(text, "amibox_collector_success{collector=\"bad\"} 0\n"));
	free(text);
	metrics_free(m);
}

static void *count_many(void *arg)
{
	for (int i = 0; i < 20000; i++)
		metrics_request(arg, i % 2 ? "RunInstances" : "DescribeImages", 200, 0.002);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_many, m), 0);
	/* Scrapes while they count: every one is consistent. */
	for (int i = 0; i < 50; i++) {
		char *text = render(m);
		double inf = sample(text, "amibox_request_duration_seconds_bucket{le=\"+Inf\"} ");
		double count = sample(text, "amibox_request_duration_seconds_count ");
		double a = sample(text, "amibox_requests_total{action=\"DescribeImages\",status=\"200\"} ");
		double b = sample(text, "amibox_requests_total{action=\"RunInstances\",status=\"200\"} ");
		assert_true(inf == count);
		if (count > 0)
			assert_true((a < 0 ? 0 : a) + (b < 0 ? 0 : b) == count);
		free(text);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char *text = render(m);
	assert_true(sample(text, "amibox_request_duration_seconds_count ") == 80000);
	free(text);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_and_histogram),
		cmocka_unit_test(test_invented_actions_capped),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_values_and_collectors),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
