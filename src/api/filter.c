/* filter: wildcard matching for Describe filters (see filter.h). */
#include "api/filter.h"

/*
 * The next character after t: '?' matches one UTF-8 character, not one
 * byte.  ('*' still steps by bytes: what it matches is any byte sequence,
 * and stepping by characters would break the single-backtrack search,
 * since a literal can end inside a character.)
 */
static const char *next_char(const char *t)
{
	t++;
	while ((*t & 0xc0) == 0x80)
		t++;
	return t;
}

/*
 * Greedy matching with one backtrack point (the last '*'): linear for the
 * patterns people write, and never exponential, because a later '*' makes
 * every earlier choice final.
 */
int filter_match(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text;
	const char *star_p = NULL, *star_t = NULL;
	while (*t) {
		if (*p == '*') {
			star_p = ++p;
			star_t = t;
			continue;
		}
		if (*p == '\\' && p[1]) {
			if (p[1] == *t) {
				p += 2;
				t++;
				continue;
			}
		} else if (*p == '?') {
			p++;
			t = next_char(t);
			continue;
		} else if (*p && *p == *t) {
			p++;
			t++;
			continue;
		}
		if (!star_p)
			return 0;
		p = star_p;
		t = ++star_t;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int filter_match_any(const char *const *patterns, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (filter_match(patterns[i], text))
			return 1;
	return 0;
}
