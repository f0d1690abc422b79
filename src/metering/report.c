/*
 * report: the report engine (see report.h).
 *
 * One scan of the records that overlap the time range (an index range on
 * the billed end, per account or for all), each record sliced at the
 * periods and months it overlaps, and the slices summed per (group,
 * period) in a hash table.  Usage types and group keys are interned, so a
 * record costs a few hash probes: a million records report in about a
 * second (docs/benchmarks.md).
 */
#include "metering/report.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "catalog/catalog_internal.h"
#include "metering/internal.h"
#include "metering/metering.h"
#include "metering/usage_types.h"
#include "util/buf.h"

#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define GIB 1073741824.0
#define GROUP_SEPARATOR '\x1f'

static const char *const report_dimensions[] = {
	[METERING_DIM_SERVICE] = "SERVICE",
	[METERING_DIM_SERVICE_CODE] = "SERVICE_CODE",
	[METERING_DIM_USAGE_TYPE] = "USAGE_TYPE",
	[METERING_DIM_INSTANCE_TYPE] = "INSTANCE_TYPE",
	[METERING_DIM_INSTANCE_TYPE_FAMILY] = "INSTANCE_TYPE_FAMILY",
	[METERING_DIM_LINKED_ACCOUNT] = "LINKED_ACCOUNT",
	[METERING_DIM_REGION] = "REGION",
	[METERING_DIM_OPERATION] = "OPERATION",
	[METERING_DIM_RECORD_TYPE] = "RECORD_TYPE",
	[METERING_DIM_RESOURCE_ID] = "RESOURCE_ID",
	[METERING_DIM_PURCHASE_TYPE] = "PURCHASE_TYPE",
	[METERING_DIM_TAG] = "TAG",
};

const char *metering_dimension_name(enum metering_dimension d)
{
	return report_dimensions[d];
}

int metering_dimension_parse(const char *name)
{
	for (int d = 0; d < METERING_DIM_TAG; d++)
		if (!strcmp(report_dimensions[d], name))
			return d;
	return -1;
}

void metering_expr_free(struct metering_expr *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nkids; i++)
		metering_expr_free(x->kids[i]);
	for (size_t i = 0; i < x->nvalues; i++)
		free(x->values[i]);
	free(x->kids);
	free(x->values);
	free(x);
}

/* ---- time ------------------------------------------------------------------ */

long long metering_month_start(long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (long long)timegm(&tm) * 1000;
}

static long long report_month_next(long long ms)
{
	time_t t = (time_t)(metering_month_start(ms) / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mon++;
	return (long long)timegm(&tm) * 1000;
}

/* The end of the period of q's granularity that begins at (or contains) at. */
static long long report_period_end(enum metering_granularity g, long long at, long long end)
{
	long long next = end;
	if (g == METERING_HOURLY)
		next = at / HOUR_MS * HOUR_MS + HOUR_MS;
	else if (g == METERING_DAILY)
		next = at / DAY_MS * DAY_MS + DAY_MS;
	else if (g == METERING_MONTHLY)
		next = report_month_next(at);
	return next < end ? next : end;
}

int metering_report_periods(const struct metering_query *q, struct metering_report *out,
			    struct err *e)
{
	memset(out, 0, sizeof *out);
	if (q->start_ms < 0 || q->end_ms <= q->start_ms)
		return err_set(e, 400, "ValidationException",
			       "Start date (and hour) should be before end date (and hour)");
	size_t cap = 16;
	out->bounds = xmalloc(cap * sizeof *out->bounds);
	out->bounds[0] = q->start_ms;
	for (long long at = q->start_ms; at < q->end_ms;) {
		if (out->nperiods == METERING_MAX_PERIODS) {
			metering_report_release(out);
			return err_set(e, 400, "ValidationException",
				       "The time period holds more than %d periods of that granularity.",
				       METERING_MAX_PERIODS);
		}
		at = report_period_end(q->granularity, at, q->end_ms);
		if (out->nperiods + 2 > cap) {
			cap *= 2;
			out->bounds = xrealloc(out->bounds, cap * sizeof *out->bounds);
		}
		out->bounds[++out->nperiods] = at;
	}
	return 0;
}

void metering_report_release(struct metering_report *r)
{
	for (size_t i = 0; i < r->nrows; i++) {
		free(r->rows[i].keys[0]);
		free(r->rows[i].keys[1]);
	}
	free(r->rows);
	free(r->bounds);
	memset(r, 0, sizeof *r);
}

/* A slice of time inside one period and one calendar month. */
struct segment {
	long long start, end;
	size_t period;
	double month_ms;
};

static struct segment *report_segments(const struct metering_report *r, size_t *n)
{
	struct segment *segs = NULL;
	size_t count = 0, cap = 0;
	for (size_t p = 0; p < r->nperiods; p++) {
		for (long long at = r->bounds[p]; at < r->bounds[p + 1];) {
			long long month = metering_month_start(at), next = report_month_next(at);
			long long end = next < r->bounds[p + 1] ? next : r->bounds[p + 1];
			if (count == cap) {
				cap = cap ? cap * 2 : 64;
				segs = xrealloc(segs, cap * sizeof *segs);
			}
			segs[count++] = (struct segment){ at, end, p, (double)(next - month) };
			at = end;
		}
	}
	*n = count;
	return segs;
}

/* ---- interning -------------------------------------------------------------- */

static uint64_t report_hash(const char *s, size_t len, uint64_t h)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

/* Strings to dense indexes: an open-addressing table of index + 1. */
struct intern {
	char **strings;
	uint64_t *hashes;
	size_t count, cap_strings;
	size_t *slots;
	size_t nslots; /* a power of two */
};

/*
 * An open-addressing table of entry index + 1 (0: empty), rebuilt at twice
 * its size from each entry's hash, for the two tables below.
 */
static void slots_grow(size_t **slots, size_t *nslots, size_t count,
		       uint64_t (*hash_of)(const void *table, size_t i), const void *table)
{
	size_t n = *nslots ? *nslots * 2 : 256;
	size_t *fresh = xcalloc(n, sizeof *fresh);
	for (size_t i = 0; i < count; i++) {
		size_t at = hash_of(table, i) & (n - 1);
		while (fresh[at])
			at = (at + 1) & (n - 1);
		fresh[at] = i + 1;
	}
	free(*slots);
	*slots = fresh;
	*nslots = n;
}

static uint64_t intern_hash_of(const void *table, size_t i)
{
	return ((const struct intern *)table)->hashes[i];
}

/* The index of s (added when new; *added says so). */
static size_t intern_get(struct intern *m, const char *s, size_t len, int *added)
{
	uint64_t h = report_hash(s, len, 14695981039346656037ULL);
	if ((m->count + 1) * 2 > m->nslots)
		slots_grow(&m->slots, &m->nslots, m->count, intern_hash_of, m);
	size_t at = h & (m->nslots - 1);
	for (; m->slots[at]; at = (at + 1) & (m->nslots - 1)) {
		size_t i = m->slots[at] - 1;
		if (m->hashes[i] == h && !memcmp(m->strings[i], s, len) && !m->strings[i][len]) {
			*added = 0;
			return i;
		}
	}
	if (m->count == m->cap_strings) {
		m->cap_strings = m->cap_strings ? m->cap_strings * 2 : 64;
		m->strings = xrealloc(m->strings, m->cap_strings * sizeof *m->strings);
		m->hashes = xrealloc(m->hashes, m->cap_strings * sizeof *m->hashes);
	}
	m->strings[m->count] = xstrndup(s, len);
	m->hashes[m->count] = h;
	m->slots[at] = ++m->count;
	*added = 1;
	return m->count - 1;
}

static void intern_release(struct intern *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->strings[i]);
	free(m->strings);
	free(m->hashes);
	free(m->slots);
}

/* A usage type in a region: what the report needs of it. */
struct report_usage {
	char full[128];             /* with the region prefix */
	char region[64];
	struct usage_type_info info;
	int known;
	double price;               /* USD per unit; 0 when the list has none */
	char family[32];            /* INSTANCE_TYPE_FAMILY */
};

/* The sums of one (group, period). */
struct cell {
	size_t group, period;
	double cost, usage;
	const char *unit;
};

struct cellmap {
	struct cell *cells;
	size_t count, cap;
	size_t *slots; /* index + 1 */
	size_t nslots;
};

static uint64_t cell_hash(size_t group, size_t period)
{
	return (((uint64_t)group << 24 ^ period) * 0x9E3779B97F4A7C15ULL) >> 20;
}

static uint64_t cell_hash_of(const void *table, size_t i)
{
	const struct cell *c = &((const struct cellmap *)table)->cells[i];
	return cell_hash(c->group, c->period);
}

static struct cell *cellmap_get(struct cellmap *m, size_t group, size_t period)
{
	if ((m->count + 1) * 2 > m->nslots)
		slots_grow(&m->slots, &m->nslots, m->count, cell_hash_of, m);
	size_t at = cell_hash(group, period) & (m->nslots - 1);
	for (; m->slots[at]; at = (at + 1) & (m->nslots - 1)) {
		struct cell *c = &m->cells[m->slots[at] - 1];
		if (c->group == group && c->period == period)
			return c;
	}
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->cells = xrealloc(m->cells, m->cap * sizeof *m->cells);
	}
	m->cells[m->count] = (struct cell){ group, period, 0, 0, NULL };
	m->slots[at] = ++m->count;
	return &m->cells[m->count - 1];
}

/* ---- one record ------------------------------------------------------------ */

struct report_record {
	const char *account, *resource;
	const struct report_usage *usage;
	const char *tags_text;
	json_t *tags; /* parsed on demand */
};

/* The record's value of a key; *present is 0 for a tag the resource lacks. */
static const char *report_value(struct report_record *r, const struct metering_key *k,
				int *present)
{
	const struct report_usage *u = r->usage;
	*present = 1;
	switch (k->dim) {
	case METERING_DIM_SERVICE: return u->info.service;
	case METERING_DIM_SERVICE_CODE: return u->info.service_code;
	case METERING_DIM_USAGE_TYPE: return u->full;
	case METERING_DIM_INSTANCE_TYPE:
		return u->info.instance_type[0] ? u->info.instance_type : "NoInstanceType";
	case METERING_DIM_INSTANCE_TYPE_FAMILY:
		return u->family[0] ? u->family : "NoInstanceType";
	case METERING_DIM_LINKED_ACCOUNT: return r->account;
	case METERING_DIM_REGION: return u->region;
	case METERING_DIM_OPERATION: return u->info.operation;
	case METERING_DIM_RECORD_TYPE: return "Usage";
	case METERING_DIM_RESOURCE_ID: return r->resource;
	case METERING_DIM_PURCHASE_TYPE: return "On Demand Instances";
	case METERING_DIM_TAG: break;
	}
	if (!r->tags && r->tags_text)
		r->tags = json_loads(r->tags_text, 0, NULL);
	const char *value = json_string_value(json_object_get(r->tags, k->tag));
	*present = value != NULL;
	return value ? value : "";
}

static int report_match_one(const char *have, const char *want, unsigned match)
{
	size_t hl = strlen(have), wl = strlen(want);
	int ci = match & METERING_MATCH_CASE_INSENSITIVE;
	if (match & METERING_MATCH_STARTS_WITH)
		return hl >= wl && !(ci ? strncasecmp(have, want, wl) : strncmp(have, want, wl));
	if (match & METERING_MATCH_ENDS_WITH)
		return hl >= wl && !(ci ? strcasecmp(have + hl - wl, want) : strcmp(have + hl - wl, want));
	if (match & METERING_MATCH_CONTAINS)
		return (ci ? strcasestr(have, want) : strstr(have, want)) != NULL;
	return !(ci ? strcasecmp(have, want) : strcmp(have, want));
}

static int report_eval(const struct metering_expr *x, struct report_record *r)
{
	switch (x->op) {
	case METERING_EXPR_AND:
		for (size_t i = 0; i < x->nkids; i++)
			if (!report_eval(x->kids[i], r))
				return 0;
		return 1;
	case METERING_EXPR_OR:
		for (size_t i = 0; i < x->nkids; i++)
			if (report_eval(x->kids[i], r))
				return 1;
		return 0;
	case METERING_EXPR_NOT:
		return !report_eval(x->kids[0], r);
	case METERING_EXPR_NONE:
		return 0;
	case METERING_EXPR_MATCH:
		break;
	}
	int present;
	const char *value = report_value(r, &x->key, &present);
	if (x->match & METERING_MATCH_ABSENT)
		return !present;
	for (size_t i = 0; i < x->nvalues; i++)
		if (report_match_one(value, x->values[i], x->match))
			return 1;
	return 0;
}

/* ---- the scan ---------------------------------------------------------------- */

struct report_state {
	const struct metering_query *q;
	struct metering_report *out;
	struct segment *segs;
	size_t nsegs;
	struct intern usage_names;    /* "usage type \x1f region" */
	struct report_usage **usages; /* by usage_names index */
	struct intern groups;         /* group keys, values joined by GROUP_SEPARATOR */
	struct cellmap cells;
	struct buf key;
};

static const struct report_usage *report_usage_get(struct report_state *s, const char *type,
						   const char *region)
{
	char name[192];
	int len = snprintf(name, sizeof name, "%s%c%s", type, GROUP_SEPARATOR, region);
	int added;
	size_t i = intern_get(&s->usage_names, name, (size_t)len < sizeof name ? (size_t)len :
						     sizeof name - 1, &added);
	if (added) {
		struct report_usage *u = xcalloc(1, sizeof *u);
		s->usages = xrealloc(s->usages, s->usage_names.count * sizeof *s->usages);
		s->usages[i] = u;
		u->known = usage_type_info(type, &u->info) == 0;
		snprintf(u->full, sizeof u->full, "%s%s", usage_type_region_prefix(region), type);
		snprintf(u->region, sizeof u->region, "%s", region);
		double price = metering_price(s->q->prices, type);
		u->price = price > 0 ? price : 0;
		size_t family = strcspn(u->info.instance_type, ".");
		snprintf(u->family, sizeof u->family, "%.*s", (int)family, u->info.instance_type);
	}
	return s->usages[i];
}

/* Adds one record's billed interval [from, to) to the cells. */
static void report_add(struct report_state *s, struct report_record *r, double quantity,
		       long long from, long long to)
{
	const struct metering_query *q = s->q;
	buf_reset(&s->key);
	for (size_t g = 0; g < q->ngroup; g++) {
		int present;
		if (g)
			buf_append_char(&s->key, GROUP_SEPARATOR);
		buf_append_str(&s->key, report_value(r, &q->group[g], &present));
	}
	int added;
	size_t group = intern_get(&s->groups, buf_str(&s->key), s->key.len, &added);
	/* The first segment that ends after from. */
	size_t lo = 0, hi = s->nsegs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->segs[mid].end <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct report_usage *u = r->usage;
	for (size_t i = lo; i < s->nsegs && s->segs[i].start < to; i++) {
		const struct segment *seg = &s->segs[i];
		long long a = from > seg->start ? from : seg->start;
		long long b = to < seg->end ? to : seg->end;
		if (b <= a)
			continue;
		double usage;
		if (u->info.measure == USAGE_HOURS)
			usage = quantity * (double)(b - a) / (double)HOUR_MS;
		else if (u->info.measure == USAGE_MONTHS)
			usage = quantity * (double)(b - a) / seg->month_ms;
		else
			usage = quantity / GIB * (double)(b - a) / seg->month_ms;
		struct cell *c = cellmap_get(&s->cells, group, seg->period);
		c->usage += usage;
		c->cost += usage * u->price;
		if (!c->unit)
			c->unit = u->info.unit;
		else if (strcmp(c->unit, u->info.unit) != 0)
			c->unit = "N/A";
	}
}

/*
 * Whether to read the whole table rather than the index range: when the
 * range holds a fifth of the records or more, the table in rowid order is
 * read ten times faster than the rows looked up one by one from the index
 * (docs/benchmarks.md).  Counting the range reads the index alone.
 */
static int report_scan_all(struct catalog *c, const struct metering_query *q, struct err *e)
{
	static const char by_account[] =
		"SELECT count(*), (SELECT max(record_id) FROM usage_records) FROM usage_records"
		" WHERE account_id = ?1 AND until_ms > ?2";
	static const char all[] =
		"SELECT count(*), (SELECT max(record_id) FROM usage_records) FROM usage_records"
		" WHERE until_ms > ?2";
	sqlite3_stmt *stmt = catalog_stmt(c, q->account_id ? by_account : all, e);
	if (!stmt)
		return -1;
	if (q->account_id)
		sqlite3_bind_text(stmt, 1, q->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, q->start_ms);
	int rc = sqlite3_step(stmt);
	long long in_range = sqlite3_column_int64(stmt, 0), records = sqlite3_column_int64(stmt, 1);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return catalog_sqlite_error(c, "planning a usage report", e);
	return in_range * 5 >= records;
}

static int report_scan(struct catalog *c, struct report_state *s, struct err *e)
{
#define REPORT_COLUMNS                                                          \
	"SELECT account_id, resource_id, usage_type, region, quantity, start_ms, end_ms," \
	" min_end_ms, until_ms, tags FROM usage_records"
	/* The same conditions; "+" keeps SQLite from the index where the table is read whole. */
	static const char *const sqls[2][2] = {
		{ REPORT_COLUMNS " WHERE until_ms > ?2 AND start_ms < ?3",
		  REPORT_COLUMNS " WHERE +until_ms > ?2 AND start_ms < ?3" },
		{ REPORT_COLUMNS " WHERE account_id = ?1 AND until_ms > ?2 AND start_ms < ?3",
		  REPORT_COLUMNS " WHERE +account_id = ?1 AND +until_ms > ?2 AND start_ms < ?3" },
	};
	const struct metering_query *q = s->q;
	int whole = report_scan_all(c, q, e);
	if (whole < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt(c, sqls[q->account_id != NULL][whole], e);
	int rc;
	if (!stmt)
		return -1;
	if (q->account_id)
		sqlite3_bind_text(stmt, 1, q->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, q->start_ms);
	sqlite3_bind_int64(stmt, 3, q->end_ms);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		s->out->records++;
		long long start = sqlite3_column_int64(stmt, 5);
		long long until = sqlite3_column_int64(stmt, 8);
		if (sqlite3_column_type(stmt, 6) == SQLITE_NULL) {
			/* Open: billed until now, and at least its minimum. */
			until = meter_billed_end(start, q->now_ms);
			long long min_end = sqlite3_column_int64(stmt, 7);
			if (min_end > until)
				until = min_end;
		}
		long long from = start > q->start_ms ? start : q->start_ms;
		long long to = until < q->end_ms ? until : q->end_ms;
		if (to <= from)
			continue;
		struct report_record r = {
			(const char *)sqlite3_column_text(stmt, 0),
			(const char *)sqlite3_column_text(stmt, 1),
			report_usage_get(s, (const char *)sqlite3_column_text(stmt, 2),
					 (const char *)sqlite3_column_text(stmt, 3)),
			(const char *)sqlite3_column_text(stmt, 9),
			NULL,
		};
		if (r.usage->known && (!q->filter || report_eval(q->filter, &r)))
			report_add(s, &r, sqlite3_column_double(stmt, 4), from, to);
		json_decref(r.tags);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, "reading usage records", e);
	return 0;
}

static int report_row_cmp(const void *pa, const void *pb)
{
	const struct metering_row *a = pa, *b = pb;
	if (a->period != b->period)
		return a->period < b->period ? -1 : 1;
	for (int k = 0; k < 2; k++) {
		if (!a->keys[k] || !b->keys[k])
			break;
		int c = strcmp(a->keys[k], b->keys[k]);
		if (c)
			return c;
	}
	return 0;
}

/* The cells as rows, each group's key split back into its values. */
static void report_rows(struct report_state *s)
{
	struct metering_report *out = s->out;
	out->rows = xcalloc(s->cells.count ? s->cells.count : 1, sizeof *out->rows);
	for (size_t i = 0; i < s->cells.count; i++) {
		const struct cell *c = &s->cells.cells[i];
		struct metering_row *row = &out->rows[out->nrows++];
		const char *key = s->groups.strings[c->group];
		row->period = c->period;
		row->cost = c->cost;
		row->usage = c->usage;
		row->unit = c->unit;
		for (size_t g = 0; g < s->q->ngroup; g++) {
			size_t len = strcspn(key, "\x1f");
			row->keys[g] = xstrndup(key, len);
			key += len + (key[len] != '\0');
		}
	}
	qsort(out->rows, out->nrows, sizeof *out->rows, report_row_cmp);
}

int metering_report_run(struct catalog *c, const struct metering_query *q,
			struct metering_report *out, struct err *e)
{
	if (q->ngroup > 2)
		return err_set(e, 400, "ValidationException", "At most two groups are allowed.");
	if (metering_report_periods(q, out, e) < 0)
		return -1;
	struct report_state s = { .q = q, .out = out, .key = BUF_INIT };
	s.segs = report_segments(out, &s.nsegs);
	int ret = report_scan(c, &s, e);
	if (ret == 0)
		report_rows(&s);
	for (size_t i = 0; i < s.usage_names.count; i++)
		free(s.usages[i]);
	free(s.usages);
	intern_release(&s.usage_names);
	intern_release(&s.groups);
	free(s.cells.cells);
	free(s.cells.slots);
	free(s.segs);
	buf_release(&s.key);
	if (ret < 0)
		metering_report_release(out);
	return ret;
}

void metering_format_amount(double amount, char out[48])
{
	snprintf(out, 48, "%.10f", amount < 5e-11 && amount > -5e-11 ? 0.0 : amount);
	char *end = out + strlen(out);
	while (end > out && end[-1] == '0')
		*--end = '\0';
	if (end > out && end[-1] == '.')
		*--end = '\0';
}
