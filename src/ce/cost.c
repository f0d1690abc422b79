/*
 * cost: GetCostAndUsage and GetDimensionValues (see ce.h).
 *
 * Both run the report engine (src/metering/report.h) for the caller's
 * account only.  Cost metrics are all the unblended cost: amibox has no
 * reservations, savings plans, credits or consolidated billing, so
 * blended, amortized and net costs equal it.
 */
#include "ce/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog/catalog.h"
#include "util/ids.h"

#define CE_SEPARATOR "\x1f"

static const char *const ce_cost_metrics[] = {
	"AmortizedCost", "BlendedCost", "NetAmortizedCost", "NetUnblendedCost", "UnblendedCost",
};

/* 1 for a cost metric, 0 for UsageQuantity, -1 (e set) for the rest. */
static int ce_metric_kind(const char *name, struct err *e)
{
	for (size_t i = 0; name && i < sizeof ce_cost_metrics / sizeof ce_cost_metrics[0]; i++)
		if (!strcmp(ce_cost_metrics[i], name))
			return 1;
	if (name && !strcmp(name, "UsageQuantity"))
		return 0;
	if (name && !strcmp(name, "NormalizedUsageAmount"))
		return err_set(e, 400, "ValidationException",
			       "NormalizedUsageAmount is for reservations, which amibox does not have.");
	return err_set(e, 400, "ValidationException",
		       "Metric %.64s is not one of AmortizedCost, BlendedCost, NetAmortizedCost, "
		       "NetUnblendedCost, UnblendedCost, UsageQuantity.", name ? name : "(not a string)");
}

static int ce_metrics(json_t *body, json_t **metrics, struct err *e)
{
	size_t i;
	json_t *m;
	*metrics = json_object_get(body, "Metrics");
	if (!json_is_array(*metrics) || !json_array_size(*metrics))
		return err_set(e, 400, "ValidationException", "Metrics is required: a list of metrics.");
	json_array_foreach(*metrics, i, m)
		if (ce_metric_kind(json_string_value(m), e) < 0)
			return -1;
	return 0;
}

static int ce_granularity(json_t *body, enum metering_granularity *g, struct err *e)
{
	const char *name = json_string_value(json_object_get(body, "Granularity"));
	if (name && !strcmp(name, "HOURLY"))
		*g = METERING_HOURLY;
	else if (name && !strcmp(name, "DAILY"))
		*g = METERING_DAILY;
	else if (name && !strcmp(name, "MONTHLY"))
		*g = METERING_MONTHLY;
	else
		return err_set(e, 400, "ValidationException",
			       "Granularity must be DAILY, MONTHLY or HOURLY.");
	return 0;
}

static int ce_group_by(json_t *body, struct metering_query *q, struct err *e)
{
	json_t *groups = json_object_get(body, "GroupBy");
	size_t i;
	json_t *g;
	if (!groups)
		return 0;
	if (!json_is_array(groups) || json_array_size(groups) > 2)
		return err_set(e, 400, "ValidationException",
			       "GroupBy takes at most two group definitions.");
	json_array_foreach(groups, i, g) {
		const char *type = json_string_value(json_object_get(g, "Type"));
		const char *key = json_string_value(json_object_get(g, "Key"));
		struct metering_key *k = &q->group[q->ngroup];
		if (!type || !key || !*key || strlen(key) >= sizeof k->tag)
			return err_set(e, 400, "ValidationException",
				       "A group definition needs a Type and a Key.");
		if (!strcmp(type, "TAG")) {
			k->dim = METERING_DIM_TAG;
			snprintf(k->tag, sizeof k->tag, "%s", key);
		} else if (!strcmp(type, "DIMENSION")) {
			int dim = metering_dimension_parse(key);
			if (dim < 0)
				return err_set(e, 400, "ValidationException",
					       "amibox cannot group by %.64s; it records SERVICE, "
					       "SERVICE_CODE, USAGE_TYPE, INSTANCE_TYPE, "
					       "INSTANCE_TYPE_FAMILY, LINKED_ACCOUNT, REGION, OPERATION, "
					       "PURCHASE_TYPE, RECORD_TYPE and RESOURCE_ID.", key);
			k->dim = (enum metering_dimension)dim;
		} else if (!strcmp(type, "COST_CATEGORY")) {
			return err_set(e, 400, "ValidationException",
				       "amibox has no cost categories to group by.");
		} else {
			return err_set(e, 400, "ValidationException",
				       "Group definition type %.32s is not DIMENSION, TAG or COST_CATEGORY.",
				       type);
		}
		for (size_t j = 0; j < q->ngroup; j++)
			if (q->group[j].dim == k->dim && !strcmp(q->group[j].tag, k->tag))
				return err_set(e, 400, "ValidationException",
					       "GroupBy names %.64s twice.", key);
		q->ngroup++;
	}
	return 0;
}

/* The metrics of one group (or a period's total), in the order asked. */
static json_t *ce_metric_values(json_t *metrics, double cost, double usage, const char *unit)
{
	json_t *out = json_object();
	size_t i;
	json_t *m;
	json_array_foreach(metrics, i, m) {
		const char *name = json_string_value(m);
		char amount[48];
		struct err ignored = ERR_INIT;
		int is_cost = ce_metric_kind(name, &ignored) > 0;
		metering_format_amount(is_cost ? cost : usage, amount);
		json_object_set_new(out, name, json_pack("{s:s, s:s}", "Amount", amount, "Unit",
							 is_cost ? "USD" : unit ? unit : "N/A"));
	}
	return out;
}

/* The key of a row as paging compares it: its values joined. */
static char *ce_row_key(const struct metering_row *row)
{
	struct buf b = BUF_INIT;
	buf_append_str(&b, row->keys[0] ? row->keys[0] : "");
	if (row->keys[1]) {
		buf_append_str(&b, CE_SEPARATOR);
		buf_append_str(&b, row->keys[1]);
	}
	return buf_detach(&b);
}

static json_t *ce_group_keys(const struct metering_query *q, const struct metering_row *row)
{
	json_t *keys = json_array();
	for (size_t g = 0; g < q->ngroup; g++) {
		/* Tag groups are "key$value", "key$" for resources without the tag. */
		if (q->group[g].dim == METERING_DIM_TAG) {
			struct buf b = BUF_INIT;
			buf_printf(&b, "%s$%s", q->group[g].tag, row->keys[g]);
			json_array_append_new(keys, json_string(buf_str(&b)));
			buf_release(&b);
		} else {
			json_array_append_new(keys, json_string(row->keys[g]));
		}
	}
	return keys;
}

/* LINKED_ACCOUNT groups come with the account's name, as Cost Explorer gives it. */
static json_t *ce_account_attributes(struct ce_call *call, const struct metering_query *q,
				     json_t *results)
{
	json_t *out = json_array();
	int linked = 0;
	for (size_t g = 0; g < q->ngroup; g++)
		linked |= q->group[g].dim == METERING_DIM_LINKED_ACCOUNT;
	if (linked && json_array_size(results)) {
		const struct account *a = &call->req->account;
		json_array_append_new(out, json_pack("{s:s, s:{s:s}}", "Value", a->id, "Attributes",
						     "description", a->name));
	}
	return out;
}

struct ce_page {
	struct ce_call *call;
	const struct metering_query *q;
	const struct metering_report *r;
	json_t *metrics;
	int hourly_format;
	long long estimated_after; /* periods ending after this are estimates */
};

static json_t *ce_period(const struct ce_page *pg, size_t p)
{
	char start[32], end[32];
	ce_format_time(pg->r->bounds[p], pg->hourly_format, start);
	ce_format_time(pg->r->bounds[p + 1], pg->hourly_format, end);
	return json_pack("{s:{s:s, s:s}, s:o, s:o, s:b}", "TimePeriod", "Start", start, "End", end,
			 "Total", json_object(), "Groups", json_array(), "Estimated",
			 pg->r->bounds[p + 1] > pg->estimated_after);
}

/*
 * ResultsByTime from at: whole periods, and their groups in key order,
 * until CE_PAGE_ITEMS items (a group, or a period without groups); *next
 * is where the next page begins (period SIZE_MAX when none).
 */
static json_t *ce_results(const struct ce_page *pg, const struct ce_position *at,
			  struct ce_position *next)
{
	const struct metering_report *r = pg->r;
	json_t *results = json_array();
	size_t row = 0, items = 0;
	next->period = SIZE_MAX;
	next->after = NULL;
	while (row < r->nrows && r->rows[row].period < at->period)
		row++;
	for (size_t p = at->period; p < r->nperiods; p++) {
		if (items >= CE_PAGE_ITEMS) {
			next->period = p;
			break;
		}
		json_t *entry = ce_period(pg, p);
		json_t *groups = json_object_get(entry, "Groups");
		size_t first = row;
		for (; row < r->nrows && r->rows[row].period == p; row++) {
			char *key = ce_row_key(&r->rows[row]);
			int skip = p == at->period && at->after && strcmp(key, at->after) <= 0;
			if (!skip && items >= CE_PAGE_ITEMS) {
				next->period = p;
				next->after = ce_row_key(&r->rows[row - 1]);
				free(key);
				break;
			}
			free(key);
			if (skip)
				continue;
			const struct metering_row *m = &r->rows[row];
			if (pg->q->ngroup)
				json_array_append_new(groups, json_pack("{s:o, s:o}", "Keys",
					ce_group_keys(pg->q, m), "Metrics",
					ce_metric_values(pg->metrics, m->cost, m->usage, m->unit)));
			else
				json_object_set_new(entry, "Total", ce_metric_values(pg->metrics, m->cost,
										     m->usage, m->unit));
			items++;
		}
		if (row == first) {
			/* A period without usage still has its total, of nothing. */
			if (!pg->q->ngroup)
				json_object_set_new(entry, "Total",
						    ce_metric_values(pg->metrics, 0, 0, NULL));
			items++;
		}
		json_array_append_new(results, entry);
		if (next->period != SIZE_MAX)
			break;
	}
	return results;
}

int ce_get_cost_and_usage(struct ce_call *call, json_t **out, struct err *e)
{
	struct metering_query q = { 0 };
	struct metering_expr *filter = NULL;
	struct metering_report r = { 0 };
	struct ce_position at = { 0, NULL }, next = { 0, NULL };
	json_t *metrics;
	int hourly_format, ret = -1;
	if (ce_time_period(call->body, &q, &hourly_format, e) < 0 ||
	    ce_granularity(call->body, &q.granularity, e) < 0 || ce_metrics(call->body, &metrics, e) < 0 ||
	    ce_group_by(call->body, &q, e) < 0 || ce_filter(call->body, &filter, e) < 0 ||
	    ce_token_read(call, &at, e) < 0)
		goto out;
	q.account_id = call->req->account.id;
	q.now_ms = ids_now_ms();
	q.filter = filter;
	q.prices = call->prices;
	if (metering_report_run(call->req->srv->cat, &q, &r, e) < 0)
		goto out;
	if (at.period >= r.nperiods && r.nperiods) {
		err_set(e, 400, "InvalidNextTokenException", "The pagination token is invalid.");
		goto out;
	}
	/* The current month's figures are estimates until its bill closes. */
	struct ce_page pg = { call, &q, &r, metrics,
			      hourly_format || q.granularity == METERING_HOURLY,
			      metering_month_start(q.now_ms) };
	json_t *results = ce_results(&pg, &at, &next);
	*out = json_pack("{s:o, s:o}", "ResultsByTime", results, "DimensionValueAttributes",
			 ce_account_attributes(call, &q, results));
	if (q.ngroup)
		json_object_set(*out, "GroupDefinitions", json_object_get(call->body, "GroupBy"));
	if (next.period != SIZE_MAX) {
		char *token = ce_token_make(call, &next);
		json_object_set_new(*out, "NextPageToken", json_string(token));
		free(token);
	}
	ret = 0;
out:
	free(at.after);
	free(next.after);
	metering_expr_free(filter);
	metering_report_release(&r);
	return ret;
}

/* ---- GetDimensionValues ---------------------------------------------------------- */

struct ce_value {
	const struct metering_row *row;
	double sort_by;
};

static int ce_value_cmp(const void *pa, const void *pb, void *desc)
{
	const struct ce_value *a = pa, *b = pb;
	if (a->sort_by != b->sort_by)
		return (a->sort_by < b->sort_by) == !*(int *)desc ? -1 : 1;
	return strcmp(a->row->keys[0], b->row->keys[0]);
}

/* SortBy (optional): *kind 1 by cost, 0 by usage, -1 by value; *desc for DESCENDING. */
static int ce_sort_by(json_t *body, int *kind, int *desc, struct err *e)
{
	json_t *sort = json_object_get(body, "SortBy");
	*kind = -1;
	*desc = 0;
	if (!sort)
		return 0;
	if (!json_is_array(sort))
		return err_set(e, 400, "ValidationException", "SortBy must be a list.");
	if (!json_array_size(sort))
		return 0;
	json_t *first = json_array_get(sort, 0);
	const char *order = json_string_value(json_object_get(first, "SortOrder"));
	*kind = ce_metric_kind(json_string_value(json_object_get(first, "Key")), e);
	if (*kind < 0)
		return -1;
	if (order && strcmp(order, "ASCENDING") != 0 && strcmp(order, "DESCENDING") != 0)
		return err_set(e, 400, "ValidationException",
			       "SortOrder must be ASCENDING or DESCENDING.");
	*desc = order && !strcmp(order, "DESCENDING");
	return 0;
}

int ce_get_dimension_values(struct ce_call *call, json_t **out, struct err *e)
{
	struct metering_query q = { 0 };
	struct metering_expr *filter = NULL;
	struct metering_report r = { 0 };
	struct ce_position at = { 0, NULL };
	struct ce_value *values = NULL;
	size_t nvalues = 0;
	int hourly_format, sort_kind, sort_desc, ret = -1;
	const char *dimension = json_string_value(json_object_get(call->body, "Dimension"));
	const char *context = json_string_value(json_object_get(call->body, "Context"));
	const char *search = json_string_value(json_object_get(call->body, "SearchString"));
	json_t *max_results = json_object_get(call->body, "MaxResults");
	long long limit = 1000;
	if (ce_time_period(call->body, &q, &hourly_format, e) < 0 ||
	    ce_filter(call->body, &filter, e) < 0 ||
	    ce_sort_by(call->body, &sort_kind, &sort_desc, e) < 0 || ce_token_read(call, &at, e) < 0)
		goto out;
	if (!ce_dimension_known(dimension)) {
		err_set(e, 400, "ValidationException", "Dimension %.64s is not a valid dimension.",
			dimension ? dimension : "(none)");
		goto out;
	}
	if (context && strcmp(context, "COST_AND_USAGE") && strcmp(context, "RESERVATIONS") &&
	    strcmp(context, "SAVINGS_PLANS")) {
		err_set(e, 400, "ValidationException",
			"Context must be COST_AND_USAGE, RESERVATIONS or SAVINGS_PLANS.");
		goto out;
	}
	if (max_results) {
		limit = json_is_integer(max_results) ? json_integer_value(max_results) : 0;
		if (limit < 1 || limit > 10000) {
			err_set(e, 400, "ValidationException", "MaxResults must be 1 to 10000.");
			goto out;
		}
	}
	/* A valid dimension amibox does not record has no values here. */
	int dim = metering_dimension_parse(dimension);
	/* Reservations and savings plans: amibox has none, so no values. */
	int none = dim < 0 || (context && strcmp(context, "COST_AND_USAGE") != 0);
	if (!none) {
		q.granularity = METERING_WHOLE;
		q.account_id = call->req->account.id;
		q.now_ms = ids_now_ms();
		q.filter = filter;
		q.prices = call->prices;
		q.group[0].dim = (enum metering_dimension)dim;
		q.ngroup = 1;
		if (metering_report_run(call->req->srv->cat, &q, &r, e) < 0)
			goto out;
		values = xcalloc(r.nrows + 1, sizeof *values);
		for (size_t i = 0; i < r.nrows; i++) {
			const struct metering_row *row = &r.rows[i];
			if (search && *search && !strcasestr(row->keys[0], search))
				continue;
			values[nvalues++] = (struct ce_value){ row, sort_kind > 0 ? row->cost :
								    sort_kind == 0 ? row->usage : 0 };
		}
		if (sort_kind >= 0)
			qsort_r(values, nvalues, sizeof *values, ce_value_cmp, &sort_desc);
	}
	json_t *list = json_array();
	size_t from = at.period < nvalues ? at.period : nvalues, to = from;
	for (; to < nvalues && to - from < (size_t)limit; to++) {
		const char *value = values[to].row->keys[0];
		json_t *attributes = json_object();
		if (dim == METERING_DIM_LINKED_ACCOUNT && !strcmp(value, call->req->account.id))
			json_object_set_new(attributes, "description",
					    json_string(call->req->account.name));
		json_array_append_new(list, json_pack("{s:s, s:o}", "Value", value, "Attributes",
						      attributes));
	}
	*out = json_pack("{s:o, s:I, s:I}", "DimensionValues", list, "ReturnSize",
			 (json_int_t)(to - from), "TotalSize", (json_int_t)nvalues);
	if (to < nvalues) {
		struct ce_position next = { to, NULL };
		char *token = ce_token_make(call, &next);
		json_object_set_new(*out, "NextPageToken", json_string(token));
		free(token);
	}
	ret = 0;
out:
	free(values);
	free(at.after);
	metering_expr_free(filter);
	metering_report_release(&r);
	return ret;
}
