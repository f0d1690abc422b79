/*
 * metering/metrics.c: the metering totals on GET /metrics: this calendar
 * month's cost and usage so far, per service, all accounts, from the same
 * records and prices as `amibox usage` and the Cost Explorer API.
 */
#include "metering/metering.h"

#include <stdlib.h>

#include "api/metrics.h"
#include "catalog/catalog.h"
#include "metering/prices.h"
#include "metering/report.h"
#include "util/ids.h"

static int metering_collect(void *ctx, struct buf *out, struct err *e)
{
	struct catalog *cat = ctx;
	struct metering_prices *prices = NULL;
	struct metering_report r = { 0 };
	long long now = ids_now_ms();
	struct metering_query q = {
		.start_ms = metering_month_start(now),
		.end_ms = now + 1,
		.now_ms = now,
		.granularity = METERING_WHOLE,
		.group = { { .dim = METERING_DIM_SERVICE } },
		.ngroup = 1,
	};
	int ret = -1;
	if (metering_prices_current(cat, &prices, e) < 0)
		goto out;
	q.prices = prices;
	if (metering_report_run(cat, &q, &r, e) < 0)
		goto out;
	metrics_family(out, "amibox_usage_cost_usd", "gauge",
		       "This calendar month's cost so far (UTC), per service, all accounts, "
		       "at the daemon's prices.");
	for (size_t i = 0; i < r.nrows; i++)
		metrics_sample(out, "amibox_usage_cost_usd", r.rows[i].cost, "service",
			       r.rows[i].keys[0] ? r.rows[i].keys[0] : "", NULL);
	metrics_family(out, "amibox_usage_quantity", "gauge",
		       "This calendar month's usage so far, per service and unit.");
	for (size_t i = 0; i < r.nrows; i++)
		metrics_sample(out, "amibox_usage_quantity", r.rows[i].usage, "service",
			       r.rows[i].keys[0] ? r.rows[i].keys[0] : "", "unit", r.rows[i].unit,
			       NULL);
	metrics_family(out, "amibox_usage_records", "gauge",
		       "Usage records read for this month's totals.");
	metrics_sample(out, "amibox_usage_records", (double)r.records, NULL);
	ret = 0;
out:
	metering_report_release(&r);
	metering_prices_free(prices);
	return ret;
}

void metering_metrics_register(struct metrics *m, struct catalog *cat)
{
	metrics_collector_add(m, "metering", metering_collect, cat);
}
