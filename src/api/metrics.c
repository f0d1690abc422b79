/*
 * metrics: the registry of counters, gauges and collectors, and the
 * Prometheus text writer (see metrics.h).
 *
 * The request counters live in an open-addressing table of twice
 * METRICS_SERIES_MAX slots keyed by (action, status).  Named series stop at
 * METRICS_SERIES_MAX; later ones go to action "other", of which there is at
 * most one per status (100-599), so the table never fills.  The histogram
 * keeps one count per bucket (not cumulative); the writer sums them, so
 * the +Inf bucket and _count are the same number by construction.
 */
#include "api/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define METRICS_SLOTS (2 * METRICS_SERIES_MAX)

/* Request latency buckets, in seconds: most API calls take milliseconds. */
static const double metrics_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					  0.25,  0.5,    1,     2.5,  5,     10,   30 };
#define METRICS_NBUCKETS (sizeof metrics_buckets / sizeof metrics_buckets[0])

struct metrics_series {
	char action[64];
	int status;
	int used;
	unsigned long long count;
};

struct metrics_value {
	const char *name;
	const char *help;
	const char *type;
	double value;               /* under *lock, the registry's */
	pthread_mutex_t *lock;
	struct metrics_value *next;
};

struct metrics_collector {
	const char *name;
	metrics_collect_fn fn;
	void *ctx;
};

struct metrics {
	pthread_mutex_t lock;
	struct metrics_series *series; /* METRICS_SLOTS */
	size_t named;                  /* series with their own action name */
	unsigned long long buckets[METRICS_NBUCKETS + 1]; /* the last is +Inf only */
	double duration_sum;
	struct metrics_value *values;
	struct metrics_collector *collectors;
	size_t ncollectors;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	m->series = xcalloc(METRICS_SLOTS, sizeof *m->series);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	while (m->values) {
		struct metrics_value *next = m->values->next;
		free(m->values);
		m->values = next;
	}
	free(m->collectors);
	free(m->series);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static uint32_t metrics_hash(const char *action, int status)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)action; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (h ^ (uint32_t)status) * 16777619u;
}

/* The slot of (action, status), claimed if new; called with m->lock. */
static struct metrics_series *metrics_slot(struct metrics *m, const char *action, int status)
{
	uint32_t i = metrics_hash(action, status) % METRICS_SLOTS;
	for (;; i = (i + 1) % METRICS_SLOTS) {
		struct metrics_series *s = &m->series[i];
		if (!s->used) {
			snprintf(s->action, sizeof s->action, "%s", action);
			s->status = status;
			s->used = 1;
			return s;
		}
		if (s->status == status && !strcmp(s->action, action))
			return s;
	}
}

/* Whether (action, status) already has a slot; called with m->lock. */
static int metrics_known(struct metrics *m, const char *action, int status)
{
	uint32_t i = metrics_hash(action, status) % METRICS_SLOTS;
	for (;; i = (i + 1) % METRICS_SLOTS) {
		const struct metrics_series *s = &m->series[i];
		if (!s->used)
			return 0;
		if (s->status == status && !strcmp(s->action, action))
			return 1;
	}
}

void metrics_request(struct metrics *m, const char *action, int status, double seconds)
{
	if (!m)
		return;
	if (status < 100 || status > 599)
		status = 599;
	if (!action || !*action)
		action = "-";
	size_t bucket = 0;
	while (bucket < METRICS_NBUCKETS && seconds > metrics_buckets[bucket])
		bucket++;
	pthread_mutex_lock(&m->lock);
	if (!metrics_known(m, action, status)) {
		if (m->named < METRICS_SERIES_MAX && strcmp(action, "other") != 0)
			m->named++;
		else
			action = "other";
	}
	metrics_slot(m, action, status)->count++;
	m->buckets[bucket]++;
	m->duration_sum += seconds;
	pthread_mutex_unlock(&m->lock);
}

static struct metrics_value *metrics_value_new(struct metrics *m, const char *name,
					       const char *help, const char *type)
{
	struct metrics_value *v = xcalloc(1, sizeof *v);
	v->name = name;
	v->help = help;
	v->type = type;
	v->lock = &m->lock;
	pthread_mutex_lock(&m->lock);
	/* Appended, so families come out in the order they were registered. */
	struct metrics_value **tail = &m->values;
	while (*tail)
		tail = &(*tail)->next;
	*tail = v;
	pthread_mutex_unlock(&m->lock);
	return v;
}

struct metrics_value *metrics_counter(struct metrics *m, const char *name, const char *help)
{
	return metrics_value_new(m, name, help, "counter");
}

struct metrics_value *metrics_gauge(struct metrics *m, const char *name, const char *help)
{
	return metrics_value_new(m, name, help, "gauge");
}

void metrics_value_add(struct metrics_value *v, double delta)
{
	pthread_mutex_lock(v->lock);
	v->value += delta;
	pthread_mutex_unlock(v->lock);
}

void metrics_value_set(struct metrics_value *v, double value)
{
	pthread_mutex_lock(v->lock);
	v->value = value;
	pthread_mutex_unlock(v->lock);
}

void metrics_collector_add(struct metrics *m, const char *name, metrics_collect_fn fn,
			   void *ctx)
{
	pthread_mutex_lock(&m->lock);
	m->collectors = xrealloc(m->collectors, (m->ncollectors + 1) * sizeof *m->collectors);
	m->collectors[m->ncollectors++] = (struct metrics_collector){ name, fn, ctx };
	pthread_mutex_unlock(&m->lock);
}

/* ---- the text format ----------------------------------------------------- */

/* A sample value as Go's ParseFloat reads it: integers without a fraction. */
static void metrics_number(struct buf *out, double value)
{
	if (isnan(value))
		buf_append_str(out, "NaN");
	else if (isinf(value))
		buf_append_str(out, value > 0 ? "+Inf" : "-Inf");
	else if (value == floor(value) && fabs(value) < 9007199254740992.0)
		buf_printf(out, "%.0f", value);
	else
		buf_printf(out, "%.15g", value);
}

/*
 * Escapes a label value as the format wants (\\, \", \n); other control
 * bytes become '?'.  Values are the code's own words (action names are
 * letters and digits, states the catalog's), so bytes past ASCII pass as
 * they are.
 */
static void metrics_label_value(struct buf *out, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '\\' || *p == '"') {
			buf_append_char(out, '\\');
			buf_append_char(out, (char)*p);
		} else if (*p == '\n') {
			buf_append_str(out, "\\n");
		} else if (*p < ' ' || *p == 0x7f) {
			buf_append_char(out, '?');
		} else {
			buf_append_char(out, (char)*p);
		}
	}
}

void metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s ", name);
	/* HELP text escapes only \\ and newlines. */
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			buf_append_str(out, "\\\\");
		else if (*p == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append_char(out, *p);
	}
	buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

static void metrics_vsample(struct buf *out, const char *name, double value, va_list ap)
{
	buf_append_str(out, name);
	const char *label;
	int first = 1;
	while ((label = va_arg(ap, const char *)) != NULL) {
		const char *label_value = va_arg(ap, const char *);
		buf_append_str(out, first ? "{" : ",");
		buf_printf(out, "%s=\"", label);
		metrics_label_value(out, label_value ? label_value : "");
		buf_append_char(out, '"');
		first = 0;
	}
	if (!first)
		buf_append_char(out, '}');
	buf_append_char(out, ' ');
	metrics_number(out, value);
	buf_append_char(out, '\n');
}

void metrics_sample(struct buf *out, const char *name, double value, ...)
{
	va_list ap;
	va_start(ap, value);
	metrics_vsample(out, name, value, ap);
	va_end(ap);
}

static int metrics_series_cmp(const void *a, const void *b)
{
	const struct metrics_series *x = a, *y = b;
	int c = strcmp(x->action, y->action);
	return c ? c : x->status - y->status;
}

/* What a scrape copies under the lock, to write without it. */
struct metrics_snapshot {
	struct metrics_series *series;
	size_t nseries;
	unsigned long long buckets[METRICS_NBUCKETS + 1];
	double duration_sum;
	struct metrics_value *values; /* copies; next links them */
	struct metrics_collector *collectors;
	size_t ncollectors;
};

static void metrics_take(struct metrics *m, struct metrics_snapshot *snap)
{
	memset(snap, 0, sizeof *snap);
	pthread_mutex_lock(&m->lock);
	snap->series = xmalloc(METRICS_SLOTS * sizeof *snap->series);
	for (size_t i = 0; i < METRICS_SLOTS; i++)
		if (m->series[i].used)
			snap->series[snap->nseries++] = m->series[i];
	memcpy(snap->buckets, m->buckets, sizeof snap->buckets);
	snap->duration_sum = m->duration_sum;
	struct metrics_value **tail = &snap->values;
	for (struct metrics_value *v = m->values; v; v = v->next) {
		*tail = xmalloc(sizeof **tail);
		**tail = *v;
		(*tail)->next = NULL;
		tail = &(*tail)->next;
	}
	snap->ncollectors = m->ncollectors;
	snap->collectors = xmalloc((m->ncollectors + 1) * sizeof *snap->collectors);
	if (m->ncollectors)
		memcpy(snap->collectors, m->collectors, m->ncollectors * sizeof *m->collectors);
	pthread_mutex_unlock(&m->lock);
}

static void metrics_snapshot_release(struct metrics_snapshot *snap)
{
	free(snap->series);
	while (snap->values) {
		struct metrics_value *next = snap->values->next;
		free(snap->values);
		snap->values = next;
	}
	free(snap->collectors);
}

static void metrics_write_requests(const struct metrics_snapshot *snap, struct buf *out)
{
	char status[8];
	metrics_family(out, "amibox_requests_total", "counter",
		       "API requests answered, by action (or service, when the request "
		       "did not get as far as an action) and HTTP status.");
	for (size_t i = 0; i < snap->nseries; i++) {
		snprintf(status, sizeof status, "%d", snap->series[i].status);
		metrics_sample(out, "amibox_requests_total", (double)snap->series[i].count,
			       "action", snap->series[i].action, "status", status, NULL);
	}
	metrics_family(out, "amibox_request_duration_seconds", "histogram",
		       "Time from a request's first byte to its answer being queued, in seconds.");
	unsigned long long cumulative = 0;
	char le[32];
	for (size_t i = 0; i <= METRICS_NBUCKETS; i++) {
		cumulative += snap->buckets[i];
		if (i < METRICS_NBUCKETS)
			snprintf(le, sizeof le, "%g", metrics_buckets[i]);
		else
			snprintf(le, sizeof le, "+Inf");
		metrics_sample(out, "amibox_request_duration_seconds_bucket", (double)cumulative,
			       "le", le, NULL);
	}
	metrics_sample(out, "amibox_request_duration_seconds_sum", snap->duration_sum, NULL);
	metrics_sample(out, "amibox_request_duration_seconds_count", (double)cumulative, NULL);
}

void metrics_render(struct metrics *m, struct buf *out)
{
	struct metrics_snapshot snap;
	metrics_take(m, &snap);
	qsort(snap.series, snap.nseries, sizeof *snap.series, metrics_series_cmp);
	metrics_write_requests(&snap, out);
	for (const struct metrics_value *v = snap.values; v; v = v->next) {
		metrics_family(out, v->name, v->type, v->help);
		metrics_sample(out, v->name, v->value, NULL);
	}
	int *ok = xcalloc(snap.ncollectors + 1, sizeof *ok);
	for (size_t i = 0; i < snap.ncollectors; i++) {
		struct buf part = BUF_INIT;
		struct err e = ERR_INIT;
		ok[i] = snap.collectors[i].fn(snap.collectors[i].ctx, &part, &e) == 0;
		if (ok[i])
			buf_append(out, part.data, part.len);
		else
			log_warn("metrics: collector '%s' failed: %s", snap.collectors[i].name,
				 e.message);
		buf_release(&part);
	}
	if (snap.ncollectors) {
		metrics_family(out, "amibox_collector_success", "gauge",
			       "1 if the collector's figures in this scrape are whole, 0 if it "
			       "failed (its families are missing).");
		for (size_t i = 0; i < snap.ncollectors; i++)
			metrics_sample(out, "amibox_collector_success", ok[i], "collector",
				       snap.collectors[i].name, NULL);
	}
	free(ok);
	metrics_snapshot_release(&snap);
}
