/* query: EC2 Query parameter parsing and lookup (see query.h). */
#include "api/query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/codec.h"

static int query_param_cmp(const void *a, const void *b)
{
	const struct query_param *pa = a, *pb = b;
	int c = strcmp(pa->name, pb->name);
	/* qsort is not stable: the request's order breaks ties explicitly. */
	if (c == 0)
		c = pa->order < pb->order ? -1 : pa->order > pb->order;
	return c;
}

void query_release(struct query *q)
{
	for (size_t i = 0; i < q->count; i++) {
		free(q->params[i].name);
		free(q->params[i].value);
	}
	free(q->params);
	q->params = NULL;
	q->count = 0;
}

static int query_decode_part(const char *s, size_t len, size_t limit,
			     char **out, struct err *e)
{
	struct buf b = BUF_INIT;
	if (len > 3 * limit)
		return err_set(e, 400, "MalformedQueryString",
			       "A query parameter is too long.");
	if (codec_uri_decode(s, len, 1, &b) < 0 || b.len > limit ||
	    memchr(buf_str(&b), '\0', b.len)) {
		buf_release(&b);
		return err_set(e, 400, "MalformedQueryString",
			       "The query string is malformed or a parameter is too long.");
	}
	*out = buf_detach(&b);
	return 0;
}

int query_parse(const char *text, size_t len, struct query *q, struct err *e)
{
	size_t cap = 0;
	q->params = NULL;
	q->count = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *start = text + pos;
		const char *amp = memchr(start, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - start) : len - pos;
		pos += plen + 1;
		if (plen == 0)
			continue;
		if (q->count == QUERY_MAX_PARAMS) {
			query_release(q);
			return err_set(e, 400, "MalformedQueryString",
				       "The request has more than %d parameters.",
				       QUERY_MAX_PARAMS);
		}
		const char *eq = memchr(start, '=', plen);
		size_t nlen = eq ? (size_t)(eq - start) : plen;
		struct query_param p = { NULL, NULL, q->count };
		if (query_decode_part(start, nlen, QUERY_MAX_NAME, &p.name, e) < 0 ||
		    query_decode_part(eq ? eq + 1 : start + plen,
				      eq ? plen - nlen - 1 : 0, QUERY_MAX_VALUE,
				      &p.value, e) < 0) {
			free(p.name);
			query_release(q);
			return -1;
		}
		if (q->count == cap) {
			cap = cap ? 2 * cap : 16;
			q->params = xrealloc(q->params, cap * sizeof *q->params);
		}
		q->params[q->count++] = p;
	}
	if (q->count)
		qsort(q->params, q->count, sizeof *q->params, query_param_cmp);
	return 0;
}

const char *query_get(const struct query *q, const char *name)
{
	size_t lo = 0, hi = q->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(q->params[mid].name, name);
		if (c == 0) {
			/* With duplicates, the first one sent wins. */
			while (mid > 0 && !strcmp(q->params[mid - 1].name, name))
				mid--;
			return q->params[mid].value;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int query_uint_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

size_t query_indices(const struct query *q, const char *prefix,
		     unsigned **indices)
{
	size_t plen = strlen(prefix), n = 0, cap = 0;
	unsigned *out = NULL;
	/* Names sharing the prefix are contiguous in the sorted array. */
	for (size_t i = 0; i < q->count; i++) {
		const char *name = q->params[i].name;
		if (strncmp(name, prefix, plen) != 0 || name[plen] != '.')
			continue;
		const char *digits = name + plen + 1;
		if (*digits < '1' || *digits > '9')
			continue;
		char *end = NULL;
		unsigned long idx = strtoul(digits, &end, 10);
		if ((*end != '\0' && *end != '.') || idx > QUERY_MAX_INDEX)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			out = xrealloc(out, cap * sizeof *out);
		}
		out[n++] = (unsigned)idx;
	}
	if (n > 1) {
		qsort(out, n, sizeof *out, query_uint_cmp);
		size_t w = 1;
		for (size_t r = 1; r < n; r++)
			if (out[r] != out[w - 1])
				out[w++] = out[r];
		n = w;
	}
	*indices = out;
	return n;
}

size_t query_list(const struct query *q, const char *prefix,
		  const char ***values)
{
	unsigned *idx = NULL;
	size_t n = query_indices(q, prefix, &idx), count = 0;
	const char **out = xcalloc(n + 1, sizeof *out);
	char name[QUERY_MAX_NAME + 32];
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s.%u", prefix, idx[i]);
		const char *v = query_get(q, name);
		if (v)
			out[count++] = v;
	}
	free(idx);
	*values = out;
	return count;
}

int query_filters(const struct query *q, struct query_filter **filters,
		  size_t *count, struct err *e)
{
	unsigned *idx = NULL;
	size_t n = query_indices(q, "Filter", &idx);
	struct query_filter *out = xcalloc(n + 1, sizeof *out);
	char name[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "Filter.%u.Name", idx[i]);
		out[i].name = query_get(q, name);
		if (!out[i].name) {
			unsigned bad = idx[i];
			query_filters_free(out, i);
			free(idx);
			return err_set(e, 400, "InvalidParameterValue",
				       "Filter.%u has no Name.", bad);
		}
		snprintf(name, sizeof name, "Filter.%u.Value", idx[i]);
		out[i].nvalues = query_list(q, name, &out[i].values);
	}
	free(idx);
	*filters = out;
	*count = n;
	return 0;
}

void query_filters_free(struct query_filter *filters, size_t count)
{
	if (!filters)
		return;
	for (size_t i = 0; i < count; i++)
		free(filters[i].values);
	free(filters);
}

int query_get_bool(const struct query *q, const char *name, int *out,
		   struct err *e)
{
	const char *v = query_get(q, name);
	if (!v)
		return 0;
	if (!strcasecmp(v, "true")) {
		*out = 1;
		return 1;
	}
	if (!strcasecmp(v, "false")) {
		*out = 0;
		return 1;
	}
	return err_set(e, 400, "InvalidParameterValue",
		       "Value (%.64s) for parameter %s is invalid. Expected: 'true' or 'false'.",
		       v, name);
}

int query_get_int(const struct query *q, const char *name, long long min,
		  long long max, long long *out, struct err *e)
{
	const char *v = query_get(q, name);
	if (!v)
		return 0;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter %s is invalid. Expected an integer.",
			       v, name);
	if (n < min || n > max)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%lld) for parameter %s is invalid. It must be between %lld and %lld.",
			       n, name, min, max);
	*out = n;
	return 1;
}
