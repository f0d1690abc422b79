/*
 * cli_usage: `amibox usage`: usage and cost from the data directory's usage
 * records, by period and group, as a table or CSV.
 *
 * It reads the catalogue directly (the daemon may run meanwhile) through
 * the same report engine and price list as the Cost Explorer API, so its
 * figures are the API's: the amounts are written alike.  Without
 * --account it shows every account's usage (the operator's view).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "metering/prices.h"
#include "metering/report.h"
#include "util/buf.h"
#include "util/ids.h"

#define DAY_MS 86400000LL

static void usage_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox usage [--data DIR] [--start DATE] [--end DATE] [--account NAME|ID]\n"
		"                    [--group-by KEY]... [--granularity daily|monthly|hourly]\n"
		"                    [--csv] [--prices FILE]\n"
		"  --data DIR          the data directory (./var)\n"
		"  --start DATE        first day (YYYY-MM-DD, or YYYY-MM-DDThh:mm:ssZ), UTC;\n"
		"                      the first of this month by default\n"
		"  --end DATE          the day after the last (exclusive); tomorrow by default\n"
		"  --account NAME|ID   one account's usage (every account's by default)\n"
		"  --group-by KEY      service (the default), usage-type, instance-type, resource,\n"
		"                      account, region, operation, tag:KEY, or none; twice for two\n"
		"  --granularity G     monthly (the default), daily or hourly\n"
		"  --csv               comma-separated values instead of a table\n"
		"  --prices FILE       price with this list (JSON) rather than the daemon's\n"
		"Amounts are those of the Cost Explorer API (aws ce get-cost-and-usage).\n");
}

static const struct {
	const char *name;
	enum metering_dimension dim;
	const char *heading;
} usage_groups[] = {
	{ "service", METERING_DIM_SERVICE, "SERVICE" },
	{ "usage-type", METERING_DIM_USAGE_TYPE, "USAGE TYPE" },
	{ "instance-type", METERING_DIM_INSTANCE_TYPE, "INSTANCE TYPE" },
	{ "resource", METERING_DIM_RESOURCE_ID, "RESOURCE" },
	{ "account", METERING_DIM_LINKED_ACCOUNT, "ACCOUNT" },
	{ "region", METERING_DIM_REGION, "REGION" },
	{ "operation", METERING_DIM_OPERATION, "OPERATION" },
};

/*
 * Adds a --group-by key to q, its table heading to headings (its CSV
 * heading is the key's own name); -1 when it is not one.
 */
static int usage_group_add(struct metering_query *q, const char *name, char headings[2][160])
{
	if (!strcmp(name, "none"))
		return 0;
	if (q->ngroup == 2)
		return -1;
	struct metering_key *k = &q->group[q->ngroup];
	if (!strncmp(name, "tag:", 4) && name[4] && strlen(name + 4) < sizeof k->tag) {
		k->dim = METERING_DIM_TAG;
		snprintf(k->tag, sizeof k->tag, "%s", name + 4);
		snprintf(headings[q->ngroup++], 160, "tag:%s", k->tag);
		return 0;
	}
	for (size_t i = 0; i < sizeof usage_groups / sizeof usage_groups[0]; i++) {
		if (!strcmp(usage_groups[i].name, name)) {
			k->dim = usage_groups[i].dim;
			snprintf(headings[q->ngroup++], 160, "%s", usage_groups[i].heading);
			return 0;
		}
	}
	return -1;
}

/* YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ; *with_time for the second. */
static int usage_date(const char *s, long long *ms, int *with_time)
{
	size_t len = strlen(s);
	if ((len != 10 && len != 20) || ids_parse_iso_time(s, ms) < 0)
		return -1;
	*with_time |= len == 20;
	return 0;
}

static void usage_time(long long ms, int hourly, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, hourly ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d", &tm);
}

/* A CSV field, quoted when it must be. */
static void usage_csv_field(const char *s, int last)
{
	if (strpbrk(s, ",\"\n\r")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

static void usage_print(const struct metering_query *q, const struct metering_report *r,
			char headings[2][160], const char *const *names, int csv, int hourly)
{
	double total = 0;
	int width[2] = { 0, 0 };
	for (size_t g = 0; g < q->ngroup; g++) {
		width[g] = (int)strlen(headings[g]);
		for (size_t i = 0; i < r->nrows; i++) {
			int len = (int)strlen(r->rows[i].keys[g]);
			width[g] = len > width[g] ? len : width[g];
		}
		if (width[g] < 11)
			width[g] = 11; /* "(untagged)" */
	}
	int tw = hourly ? 20 : 10;
	if (csv) {
		usage_csv_field("start", 0);
		usage_csv_field("end", 0);
		for (size_t g = 0; g < q->ngroup; g++)
			usage_csv_field(names[g], 0);
		usage_csv_field("usage_quantity", 0);
		usage_csv_field("unit", 0);
		usage_csv_field("cost_usd", 1);
	} else {
		printf("%-*s  %-*s", tw, "START", tw, "END");
		for (size_t g = 0; g < q->ngroup; g++)
			printf("  %-*s", width[g], headings[g]);
		printf("  %16s  %-8s  %16s\n", "USAGE", "UNIT", "COST (USD)");
	}
	for (size_t i = 0; i < r->nrows; i++) {
		const struct metering_row *row = &r->rows[i];
		char start[32], end[32], usage[48], cost[48];
		usage_time(r->bounds[row->period], hourly, start);
		usage_time(r->bounds[row->period + 1], hourly, end);
		metering_format_amount(row->usage, usage);
		metering_format_amount(row->cost, cost);
		total += row->cost;
		if (csv) {
			usage_csv_field(start, 0);
			usage_csv_field(end, 0);
			for (size_t g = 0; g < q->ngroup; g++)
				usage_csv_field(row->keys[g], 0);
			usage_csv_field(usage, 0);
			usage_csv_field(row->unit, 0);
			usage_csv_field(cost, 1);
			continue;
		}
		printf("%-*s  %-*s", tw, start, tw, end);
		for (size_t g = 0; g < q->ngroup; g++)
			printf("  %-*s", width[g],
			       row->keys[g][0] || q->group[g].dim != METERING_DIM_TAG ? row->keys[g] :
											"(untagged)");
		printf("  %16s  %-8s  %16s\n", usage, row->unit, cost);
	}
	if (!csv) {
		char sum[48];
		metering_format_amount(total, sum);
		printf("%-*s  %-*s", tw, "TOTAL", tw, "");
		for (size_t g = 0; g < q->ngroup; g++)
			printf("  %-*s", width[g], "");
		printf("  %16s  %-8s  %16s\n", "", "", sum);
	}
}

int cli_usage(int argc, char **argv)
{
	static const struct option options[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'e' },
		{ "account", required_argument, NULL, 'a' },
		{ "group-by", required_argument, NULL, 'g' },
		{ "granularity", required_argument, NULL, 'G' },
		{ "csv", no_argument, NULL, 'c' },
		{ "prices", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = "./var", *start = NULL, *end = NULL, *account = NULL;
	const char *granularity = "monthly", *prices_file = NULL;
	const char *groups[3];
	size_t ngroups = 0;
	char headings[2][160];
	int csv = 0, opt, status = 1, with_time = 0;
	struct metering_query q = { 0 };
	struct metering_report r = { 0 };
	struct metering_prices *prices = NULL;
	struct catalog *cat = NULL;
	struct account a;
	struct err e = ERR_INIT;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 's': start = optarg; break;
		case 'e': end = optarg; break;
		case 'a': account = optarg; break;
		case 'g':
			if (ngroups == 3) {
				usage_usage(stderr);
				return 2;
			}
			groups[ngroups++] = optarg;
			break;
		case 'G': granularity = optarg; break;
		case 'c': csv = 1; break;
		case 'p': prices_file = optarg; break;
		case 'h': usage_usage(stdout); return 0;
		default: usage_usage(stderr); return 2;
		}
	}
	if (!ngroups)
		groups[ngroups++] = "service";
	for (size_t i = 0; i < ngroups; i++) {
		if (usage_group_add(&q, groups[i], headings) < 0) {
			fprintf(stderr, "amibox usage: --group-by %s: not a grouping (at most two of "
					"service, usage-type, instance-type, resource, account, region, "
					"operation, tag:KEY, or none)\n", groups[i]);
			return 2;
		}
	}
	if (!strcmp(granularity, "monthly"))
		q.granularity = METERING_MONTHLY;
	else if (!strcmp(granularity, "daily"))
		q.granularity = METERING_DAILY;
	else if (!strcmp(granularity, "hourly"))
		q.granularity = METERING_HOURLY;
	else
		optind = -1;
	q.now_ms = ids_now_ms();
	time_t now = (time_t)(q.now_ms / 1000);
	struct tm tm;
	gmtime_r(&now, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	q.start_ms = (long long)timegm(&tm) * 1000;
	q.end_ms = q.now_ms / DAY_MS * DAY_MS + DAY_MS;
	if (optind != argc || (start && usage_date(start, &q.start_ms, &with_time) < 0) ||
	    (end && usage_date(end, &q.end_ms, &with_time) < 0)) {
		usage_usage(stderr);
		return 2;
	}
	if (catalog_open(data, &cat, &e) < 0)
		goto out;
	if (account) {
		int found = ids_valid_account(account) ? catalog_account_by_id(cat, account, &a, &e) :
							catalog_account_by_name(cat, account, &a, &e);
		if (found == 0)
			err_set(&e, 404, "NoSuchAccount", "no account '%s' in %s", account, data);
		if (found <= 0)
			goto out;
		q.account_id = a.id;
	}
	if ((prices_file ? metering_prices_load_file(prices_file, &prices, &e) :
			   metering_prices_current(cat, &prices, &e)) < 0)
		goto out;
	q.prices = prices;
	if (metering_report_run(cat, &q, &r, &e) < 0)
		goto out;
	/* "none" adds no group: the CSV headings are the other keys, in order. */
	const char *names[2];
	size_t n = 0;
	for (size_t i = 0; i < ngroups; i++)
		if (strcmp(groups[i], "none") != 0)
			names[n++] = groups[i];
	usage_print(&q, &r, headings, names, csv, with_time || q.granularity == METERING_HOURLY);
	status = 0;
out:
	if (status)
		fprintf(stderr, "amibox usage: %s\n", e.message);
	metering_report_release(&r);
	metering_prices_free(prices);
	catalog_close(cat);
	return status;
}
