/*
 * libFuzzer target for api/query: the form/query-string parser and every
 * lookup the EC2 handlers make on what it parsed (indices, lists, filters,
 * typed values), with names taken from the input itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query q;
	struct err e = ERR_INIT;
	if (query_parse((const char *)data, size, &q, &e) < 0)
		return 0;
	static const char *const prefixes[] = { "ImageId", "Filter", "Tag",
						"BlockDeviceMapping", "Owner" };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		unsigned *idx = NULL;
		const char **values = NULL;
		query_indices(&q, prefixes[i], &idx);
		free(idx);
		query_list(&q, prefixes[i], &values);
		free(values);
	}
	struct query_filter *filters = NULL;
	size_t n = 0;
	err_clear(&e);
	if (query_filters(&q, &filters, &n, &e) == 0)
		query_filters_free(filters, n);
	for (size_t i = 0; i < q.count; i++) {
		const char *name = q.params[i].name;
		int b;
		long long v;
		err_clear(&e);
		query_get_bool(&q, name, &b, &e);
		err_clear(&e);
		query_get_int(&q, name, -1000, 1000000, &v, &e);
		if (query_get(&q, name) == NULL)
			abort(); /* every parsed name must be found again */
		unsigned *idx = NULL;
		query_indices(&q, name, &idx);
		free(idx);
	}
	query_release(&q);
	return 0;
}
