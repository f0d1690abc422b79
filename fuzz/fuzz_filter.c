/*
 * libFuzzer target for api/filter: the wildcard matcher of the Describe
 * filters.  The input is "pattern\0text"; besides not crashing, the matcher
 * must agree with a simple reference matcher on short inputs, and a pattern
 * without wildcards or escapes must match exactly itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One UTF-8 character on: what '?' consumes. */
static const char *next(const char *t)
{
	for (t++; (*t & 0xc0) == 0x80; t++)
		;
	return t;
}

/* Reference: plain recursion (exponential in general, fine for tiny inputs). */
static int reference_match(const char *p, const char *t)
{
	if (*p == '\0')
		return *t == '\0';
	if (*p == '*')
		return reference_match(p + 1, t) || (*t && reference_match(p, t + 1));
	if (*p == '\\' && p[1])
		return *t == p[1] && reference_match(p + 2, t + 1);
	if (*t && *p == '?')
		return reference_match(p + 1, next(t));
	if (*t && *p == *t)
		return reference_match(p + 1, t + 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 2);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = copy[size + 1] = '\0';
	const char *pattern = copy;
	const char *text = copy + strlen(copy) + 1;
	if (text > copy + size)
		text = copy + size + 1;
	int got = filter_match(pattern, text);
	size_t stars = 0;
	for (const char *p = pattern; *p; p++)
		stars += *p == '*';
	if (stars <= 6 && strlen(pattern) <= 24 && strlen(text) <= 24 &&
	    got != reference_match(pattern, text))
		abort();
	if (!strpbrk(pattern, "*?\\") && !filter_match(pattern, pattern))
		abort();
	const char *const one[] = { pattern };
	if (filter_match_any(one, 1, text) != got)
		abort();
	free(copy);
	return 0;
}
