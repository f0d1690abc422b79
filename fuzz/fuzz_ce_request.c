/*
 * libFuzzer target for the Cost Explorer request parsers (src/ce) and the
 * price list parser (src/metering/prices.c): the input is a request body
 * (its time period, filter expression and paging token) and a price file.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ce/internal.h"
#include "metering/prices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	struct metering_prices *prices = NULL;
	if (metering_prices_parse((const char *)data, size, &prices, &e) == 0) {
		if (metering_price(prices, "BoxUsage:t2.micro") < 0)
			abort(); /* a default a file did not replace is still there */
		metering_prices_free(prices);
	}
	json_t *body = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(body)) {
		json_decref(body);
		return 0;
	}
	struct request req = { 0 };
	snprintf(req.account.id, sizeof req.account.id, "111122223333");
	struct ce_call call = { &req, body, NULL, "GetCostAndUsage" };
	struct metering_query q = { 0 };
	int hourly;
	err_clear(&e);
	ce_time_period(body, &q, &hourly, &e);
	struct metering_expr *filter = NULL;
	err_clear(&e);
	if (ce_filter(body, &filter, &e) == 0)
		metering_expr_free(filter);
	struct ce_position at;
	err_clear(&e);
	if (ce_token_read(&call, &at, &e) == 0) {
		/* A token read back is the same token made again. */
		char *token = ce_token_make(&call, &at);
		struct ce_position again;
		json_object_set_new(body, "NextPageToken", json_string(token));
		err_clear(&e);
		if (ce_token_read(&call, &again, &e) < 0 || again.period != at.period)
			abort();
		free(again.after);
		free(token);
		free(at.after);
	}
	json_decref(body);
	return 0;
}
