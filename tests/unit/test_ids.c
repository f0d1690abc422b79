/*
 * Unit tests for util/ids' times: ids_iso_time works out the civil date
 * itself (no gmtime_r on the response path); it must agree with the C
 * library's for every instant, before 1970 and across leap days too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/ids.h"

static void libc_iso(long long epoch_ms, char *out, size_t cap)
{
	long long ms = epoch_ms % 1000;
	time_t secs = (time_t)(epoch_ms / 1000 - (ms < 0));
	if (ms < 0)
		ms += 1000;
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

static void test_known_instants(void **state)
{
	(void)state;
	char out[ISO_TIME_MAX];
	ids_iso_time(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	ids_iso_time(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	ids_iso_time(951782400000LL, out); /* a leap day of a century year */
	assert_string_equal(out, "2000-02-29T00:00:00.000Z");
	ids_iso_time(1738326896789LL, out);
	assert_string_equal(out, "2025-01-31T12:34:56.789Z");
	ids_iso_time(253402300799999LL, out);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");
}

static void test_agrees_with_gmtime(void **state)
{
	(void)state;
	char mine[ISO_TIME_MAX], theirs[64];
	unsigned long long x = 88172645463325252ULL; /* xorshift64 */
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* From 0001-01-01 to 9999-12-31, and every day near 1970. */
		long long t = (long long)(x % 315537897600000ULL) - 62135596800000LL;
		if (i < 40000)
			t = (long long)(i - 20000) * 86400000LL + (long long)(x % 86400000ULL);
		ids_iso_time(t, mine);
		libc_iso(t, theirs, sizeof theirs);
		if (strcmp(mine, theirs) != 0)
			fail_msg("%lld: %s, libc %s", t, mine, theirs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_instants),
		cmocka_unit_test(test_agrees_with_gmtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
