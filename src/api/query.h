/*
 * query: the parameters of an EC2 Query request.
 *
 * Parses an application/x-www-form-urlencoded body or a URL query string
 * ("+" and "%20" both mean a space) into name/value pairs, then answers
 * lookups by name.  Lists arrive flattened with 1-based indices
 * ("SnapshotId.1", "Filter.2.Value.3"); query_indices() finds which indices
 * a prefix has, in ascending numeric order, whatever order the client sent.
 *
 * Limits (QUERY_MAX_*) bound the work a hostile request can cause; a request
 * over them, or with a malformed escape, gets 400 MalformedQueryString.
 */
#ifndef AMIBOX_API_QUERY_H
#define AMIBOX_API_QUERY_H

#include <stddef.h>

#include "util/err.h"

#define QUERY_MAX_PARAMS 5000
#define QUERY_MAX_NAME 256
#define QUERY_MAX_VALUE (64 * 1024)
#define QUERY_MAX_INDEX 100000

struct query_param {
	char *name;
	char *value;
	size_t order;  /* position in the request: the first of a repeated name wins */
};

struct query {
	struct query_param *params; /* sorted by name */
	size_t count;
};

/* Parses text (length len) into q; q is released on failure.  */
int query_parse(const char *text, size_t len, struct query *q, struct err *e);
void query_release(struct query *q);

/* The value of name, or NULL when absent. */
const char *query_get(const struct query *q, const char *name);

/*
 * Fills indices (caller frees *indices) with the distinct N for which a
 * parameter named "<prefix>.N" or "<prefix>.N.<anything>" exists, sorted
 * ascending; returns their count.  N is a positive decimal integer.
 */
size_t query_indices(const struct query *q, const char *prefix,
		     unsigned **indices);

/*
 * Collects the values of "<prefix>.1", "<prefix>.2", ... into a NULL-ended
 * array of borrowed pointers (caller frees the array only); returns the count.
 */
size_t query_list(const struct query *q, const char *prefix,
		  const char ***values);

/* One Filter.N of a Describe request: a name and one or more values. */
struct query_filter {
	const char *name;
	const char **values; /* borrowed from the query */
	size_t nvalues;
};

/*
 * Reads Filter.N.Name / Filter.N.Value.M.  A filter without a name gets
 * 400 InvalidParameterValue; *filters is owned by the caller
 * (query_filters_free).
 */
int query_filters(const struct query *q, struct query_filter **filters,
		  size_t *count, struct err *e);
void query_filters_free(struct query_filter *filters, size_t count);

/*
 * Typed readers.  They return 0 when the parameter is absent (leaving *out
 * alone), 1 when it was read, and -1 with 400 InvalidParameterValue when it
 * is present but malformed.
 */
int query_get_bool(const struct query *q, const char *name, int *out,
		   struct err *e);
int query_get_int(const struct query *q, const char *name, long long min,
		  long long max, long long *out, struct err *e);

#endif
