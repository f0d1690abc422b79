/*
 * Unit tests for api/respcache: a kept answer is served only under the
 * generation it was read in and before its expiry, with the caller's
 * request ID in place of the first one's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/respcache.h"

#define BODY "<R><requestId>11111111-aaaa</requestId><x>1</x></R>"

static void test_hit_gets_its_own_request_id(void **state)
{
	(void)state;
	struct respcache *rc = respcache_new(8, 1024, 1 << 20);
	struct buf out = BUF_INIT;
	assert_int_equal(respcache_get(rc, "k", 1, 5, 100, "22222222-bbbb", &out), 0);
	respcache_put(rc, "k", 1, 5, 200, BODY, strlen(BODY), "11111111-aaaa");
	assert_int_equal(respcache_get(rc, "k", 1, 5, 150, "22222222-bbbb", &out), 1);
	assert_string_equal(buf_str(&out),
			    "<R><requestId>22222222-bbbb</requestId><x>1</x></R>");
	unsigned long long hits, misses;
	respcache_counts(rc, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 1);
	buf_release(&out);
	respcache_free(rc);
}

static void test_other_generation_key_or_time_misses(void **state)
{
	(void)state;
	struct respcache *rc = respcache_new(8, 1024, 1 << 20);
	struct buf out = BUF_INIT;
	/* Keys hold NUL bytes (account, NUL, parameters): compared whole. */
	respcache_put(rc, "a\0p=1", 5, 5, 200, BODY, strlen(BODY), "11111111-aaaa");
	assert_int_equal(respcache_get(rc, "a\0p=2", 5, 5, 150, "x", &out), 0);
	assert_int_equal(respcache_get(rc, "a\0p=1", 4, 5, 150, "x", &out), 0);
	assert_int_equal(respcache_get(rc, "a\0p=1", 5, 5, 200, "x", &out), 0);
	assert_int_equal(out.len, 0);
	respcache_put(rc, "a\0p=1", 5, 5, 200, BODY, strlen(BODY), "11111111-aaaa");
	assert_int_equal(respcache_get(rc, "a\0p=1", 5, 6, 150, "x", &out), 0);
	/* A stale entry is dropped: the old generation does not come back. */
	assert_int_equal(respcache_get(rc, "a\0p=1", 5, 5, 150, "x", &out), 0);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	respcache_free(rc);
}

static void test_unkeepable_bodies_are_not_kept(void **state)
{
	(void)state;
	struct respcache *rc = respcache_new(1, 16, 1 << 20);
	struct buf out = BUF_INIT;
	respcache_put(rc, "big", 3, 1, 200, BODY, strlen(BODY), "11111111-aaaa");
	assert_int_equal(respcache_get(rc, "big", 3, 1, 100, "x", &out), 0);
	respcache_put(rc, "noid", 4, 1, 200, "<R/>", 4, "11111111-aaaa");
	assert_int_equal(respcache_get(rc, "noid", 4, 1, 100, "x", &out), 0);
	/* One slot: a second key replaces the first. */
	respcache_put(rc, "one", 3, 1, 200, "<a>ID</a>", 9, "ID");
	respcache_put(rc, "two", 3, 1, 200, "<b>ID</b>", 9, "ID");
	assert_int_equal(respcache_get(rc, "one", 3, 1, 100, "x", &out), 0);
	assert_int_equal(respcache_get(rc, "two", 3, 1, 100, "x", &out), 1);
	assert_string_equal(buf_str(&out), "<b>x</b>");
	buf_release(&out);
	respcache_free(rc);
}

static void test_budget_bounds_the_whole(void **state)
{
	(void)state;
	/* Room for two bodies of 8 bytes ("<a>ID</a>" without its ID). */
	struct respcache *rc = respcache_new(8, 64, 16);
	struct buf out = BUF_INIT;
	respcache_put(rc, "k1", 2, 1, 200, "<a>ID</a>", 9, "ID");
	respcache_put(rc, "k2", 2, 1, 200, "<b>ID</b>", 9, "ID");
	respcache_put(rc, "k3", 2, 1, 200, "<c>ID</c>", 9, "ID");
	int kept = respcache_get(rc, "k1", 2, 1, 100, "x", &out) +
		   respcache_get(rc, "k2", 2, 1, 100, "x", &out) +
		   respcache_get(rc, "k3", 2, 1, 100, "x", &out);
	assert_true(kept <= 2);
	/* A stale entry gives its room back. */
	buf_reset(&out);
	assert_int_equal(respcache_get(rc, "k1", 2, 2, 100, "x", &out) +
			 respcache_get(rc, "k2", 2, 2, 100, "x", &out) +
			 respcache_get(rc, "k3", 2, 2, 100, "x", &out), 0);
	respcache_put(rc, "k3", 2, 2, 200, "<c>ID</c>", 9, "ID");
	assert_int_equal(respcache_get(rc, "k3", 2, 2, 100, "y", &out), 1);
	assert_string_equal(buf_str(&out), "<c>y</c>");
	buf_release(&out);
	respcache_free(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_gets_its_own_request_id),
		cmocka_unit_test(test_other_generation_key_or_time_misses),
		cmocka_unit_test(test_unkeepable_bodies_are_not_kept),
		cmocka_unit_test(test_budget_bounds_the_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
