/*
 * ce/internal: what the Cost Explorer files share: the parsed parts of a
 * request (time period, filter, metrics) and the paging tokens.
 */
#ifndef AMIBOX_CE_INTERNAL_H
#define AMIBOX_CE_INTERNAL_H

#include <jansson.h>

#include "api/api.h"
#include "metering/report.h"

/* Items (groups, or periods without groups) per page of a response. */
#define CE_PAGE_ITEMS 1000

/* One call: the request, its JSON body, and the report's price list. */
struct ce_call {
	struct request *req;
	json_t *body;
	struct metering_prices *prices;
	const char *action;
};

/* TimePeriod (required): *hourly_format says whether it was given with hours. */
int ce_time_period(json_t *body, struct metering_query *q, int *hourly_format, struct err *e);
/* Filter (optional): *out stays NULL without one (caller frees with metering_expr_free). */
int ce_filter(json_t *body, struct metering_expr **out, struct err *e);
/* 1 if name is one of the model's Dimension values. */
int ce_dimension_known(const char *name);
/* "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM:SSZ" when hourly. */
void ce_format_time(long long ms, int hourly, char out[32]);

/*
 * Paging tokens name where the next page begins (a period and the last
 * group key given) and a digest of the request without its token, so that
 * a changed request is refused (RequestChangedException) and a token is
 * never handed out twice.
 */
struct ce_position {
	size_t period;
	char *after; /* the last key given in period, NULL: from its start (owned) */
};
int ce_token_read(struct ce_call *call, struct ce_position *at, struct err *e);
char *ce_token_make(struct ce_call *call, const struct ce_position *at);

int ce_get_cost_and_usage(struct ce_call *call, json_t **out, struct err *e);
int ce_get_dimension_values(struct ce_call *call, json_t **out, struct err *e);

#endif
