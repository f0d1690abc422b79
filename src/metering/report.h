/*
 * report: usage and cost from the usage records, by period and group; the
 * engine behind `amibox usage` and the Cost Explorer API.
 *
 * A record's billed interval is [start, until) (metering.h, rule 4); an
 * open record's ends now, but not before its minimum.  The interval is
 * cut at the report's periods and at calendar months (UTC); a slice of
 * d milliseconds of a record of quantity q is
 *   Hrs:                   q * d / 1 hour
 *   GB-Mo, IOPS-Mo, ...:   q * d / (the length of its calendar month)
 *   GB-Mo of bytes:        q / 2^30 * d / (the length of its calendar month)
 * of usage, as AWS turns GB-hours into GB-months by the hours of the
 * month; its cost is that usage times the usage type's price.
 *
 * Calling sequence: fill a struct metering_query, metering_report_run(),
 * read the rows, metering_report_release().
 */
#ifndef AMIBOX_METERING_REPORT_H
#define AMIBOX_METERING_REPORT_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "metering/prices.h"
#include "util/err.h"

#define METERING_TAG_KEY_MAX 128
#define METERING_MAX_PERIODS 100000

enum metering_granularity {
	METERING_HOURLY,
	METERING_DAILY,
	METERING_MONTHLY,
	METERING_WHOLE, /* one period, the whole time range */
};

/* The dimensions amibox's records have, by Cost Explorer's names. */
enum metering_dimension {
	METERING_DIM_SERVICE,             /* SERVICE */
	METERING_DIM_SERVICE_CODE,        /* SERVICE_CODE: AmazonEC2, AmazonS3 */
	METERING_DIM_USAGE_TYPE,          /* USAGE_TYPE, with the region prefix */
	METERING_DIM_INSTANCE_TYPE,       /* INSTANCE_TYPE, NoInstanceType for the rest */
	METERING_DIM_INSTANCE_TYPE_FAMILY,/* INSTANCE_TYPE_FAMILY */
	METERING_DIM_LINKED_ACCOUNT,      /* LINKED_ACCOUNT: the account ID */
	METERING_DIM_REGION,              /* REGION */
	METERING_DIM_OPERATION,           /* OPERATION: RunInstances, CreateVolume-Gp3, ... */
	METERING_DIM_RECORD_TYPE,         /* RECORD_TYPE: Usage */
	METERING_DIM_RESOURCE_ID,         /* RESOURCE_ID: i-..., vol-..., snap-..., bucket */
	METERING_DIM_PURCHASE_TYPE,       /* PURCHASE_TYPE: On Demand Instances */
	METERING_DIM_TAG,                 /* a tag's value, "" when the resource lacks it */
};

/* Cost Explorer's name of a dimension; -1 from parse for one amibox has not. */
const char *metering_dimension_name(enum metering_dimension d);
int metering_dimension_parse(const char *name);

struct metering_key {
	enum metering_dimension dim;
	char tag[METERING_TAG_KEY_MAX]; /* the tag key, for METERING_DIM_TAG */
};

/* How a filter's values match (Cost Explorer's MatchOptions). */
#define METERING_MATCH_EQUALS 0x01
#define METERING_MATCH_ABSENT 0x02      /* tags: the resource lacks the key */
#define METERING_MATCH_STARTS_WITH 0x04
#define METERING_MATCH_ENDS_WITH 0x08
#define METERING_MATCH_CONTAINS 0x10
#define METERING_MATCH_CASE_INSENSITIVE 0x20

enum metering_expr_op {
	METERING_EXPR_AND,
	METERING_EXPR_OR,
	METERING_EXPR_NOT,
	METERING_EXPR_MATCH,
	METERING_EXPR_NONE, /* matches no record (a dimension amibox does not record) */
};

/* A filter: And/Or/Not of matches of a dimension or tag against values. */
struct metering_expr {
	enum metering_expr_op op;
	struct metering_expr **kids; /* AND, OR: two or more; NOT: one (owned) */
	size_t nkids;
	struct metering_key key;     /* MATCH */
	char **values;               /* MATCH: any of them (owned) */
	size_t nvalues;
	unsigned match;              /* METERING_MATCH_* */
};
void metering_expr_free(struct metering_expr *x);

struct metering_query {
	long long start_ms, end_ms;       /* [start, end) */
	long long now_ms;                 /* where open records end */
	enum metering_granularity granularity;
	const char *account_id;           /* NULL: every account */
	struct metering_key group[2];
	size_t ngroup;                    /* 0 to 2 */
	const struct metering_expr *filter; /* NULL: every record */
	const struct metering_prices *prices;
};

struct metering_row {
	size_t period;
	char *keys[2];   /* the group's values (owned); NULL past ngroup */
	double cost;     /* USD */
	double usage;    /* in unit */
	const char *unit;/* "Hrs", "GB-Mo", ...; "N/A" when the group mixes units */
};

struct metering_report {
	long long *bounds;       /* period i is [bounds[i], bounds[i + 1]) */
	size_t nperiods;
	struct metering_row *rows; /* by period, then keys; groups with usage only */
	size_t nrows;
	long long records;       /* usage records read */
};

/* The periods of q alone (out->rows empty): for a report's empty periods. */
int metering_report_periods(const struct metering_query *q, struct metering_report *out,
			    struct err *e);
int metering_report_run(struct catalog *c, const struct metering_query *q,
			struct metering_report *out, struct err *e);
void metering_report_release(struct metering_report *r);

/* The first millisecond of the calendar month (UTC) of ms. */
long long metering_month_start(long long ms);

/* An amount as Cost Explorer writes it: up to 10 decimals, no trailing zeros ("0.0116"). */
void metering_format_amount(double amount, char out[48]);

#endif
