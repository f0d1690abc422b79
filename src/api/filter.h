/*
 * filter: the Filter.N matching of EC2 Describe actions.
 *
 * A filter has a name and values; a resource matches a filter when any value
 * matches (OR), and matches a request when it matches every filter (AND).
 * Values may hold the wildcards '*' (any run of characters, also none) and
 * '?' (exactly one character); a backslash makes the next character literal.
 * Matching is case-sensitive, as AWS's is.
 */
#ifndef AMIBOX_API_FILTER_H
#define AMIBOX_API_FILTER_H

#include <stddef.h>

/* 1 if text matches pattern, else 0.  Runs in O(len(text) * len(pattern)). */
int filter_match(const char *pattern, const char *text);
/* 1 if text matches any of the n patterns. */
int filter_match_any(const char *const *patterns, size_t n, const char *text);

#endif
