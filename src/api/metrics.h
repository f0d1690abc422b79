/*
 * metrics: the daemon's counters and gauges, written in the Prometheus text
 * exposition format (version 0.0.4) for GET /metrics.
 *
 * A registry (struct metrics) holds three kinds of things:
 *
 *  - the request family, which the HTTP front feeds once per request, where
 *    it logs it (metrics_request): amibox_requests_total{action,status} and
 *    the latency histogram amibox_request_duration_seconds;
 *  - plain counters and gauges a module keeps up to date itself
 *    (metrics_counter / metrics_gauge, then metrics_value_add / _set);
 *  - collectors: functions called at each scrape that write whole families
 *    from what they read then (the catalog's counts, the QEMU processes).
 *    A module adds its own with metrics_collector_add; usage metering adds
 *    its totals this way.
 *
 * Threads: everything here may be called from any thread.  Recording a
 * request takes the registry's lock for a table lookup and a few
 * increments; a scrape copies the table under the lock and formats it
 * outside, and collectors run with no lock of the registry held, so a slow
 * collector delays its scrape, never a request.
 */
#ifndef AMIBOX_API_METRICS_H
#define AMIBOX_API_METRICS_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The Content-Type of the exposition text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/*
 * Distinct (action, status) pairs counted by name; past this (a client
 * inventing action names), requests are counted under action="other".
 */
#define METRICS_SERIES_MAX 1024

struct metrics;
struct metrics_value;

struct metrics *metrics_new(void);
/* Frees the registry, its values and its collector list. */
void metrics_free(struct metrics *m);

/* One request: its action (or service) name, HTTP status and duration. */
void metrics_request(struct metrics *m, const char *action, int status, double seconds);

/*
 * A counter or gauge without labels, written at each scrape; the registry
 * owns it.  name must be a valid metric name (amibox_..., [a-zA-Z_:][a-zA-Z0-9_:]*),
 * help one line; both are borrowed (string literals).
 */
struct metrics_value *metrics_counter(struct metrics *m, const char *name, const char *help);
struct metrics_value *metrics_gauge(struct metrics *m, const char *name, const char *help);
void metrics_value_add(struct metrics_value *v, double delta);
void metrics_value_set(struct metrics_value *v, double value);

/*
 * A collector writes whole families (metrics_family, then its samples) into
 * out at each scrape.  On failure it returns -1 with e set: what it wrote is
 * dropped and amibox_collector_success{collector=name} is 0 for that scrape.
 * name and ctx are borrowed for the registry's life.
 */
typedef int (*metrics_collect_fn)(void *ctx, struct buf *out, struct err *e);
void metrics_collector_add(struct metrics *m, const char *name, metrics_collect_fn fn,
			   void *ctx);

/* The exposition text of everything registered, appended to out. */
void metrics_render(struct metrics *m, struct buf *out);

/* ---- writing families (for collectors) ---------------------------------- */

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void metrics_family(struct buf *out, const char *name, const char *type, const char *help);
/*
 * One sample: name, labels as NULL-terminated name/value pairs (values
 * escaped here), then the value.  E.g.
 *   metrics_sample(out, "amibox_instances", 3, "state", "running", NULL);
 */
void metrics_sample(struct buf *out, const char *name, double value, ...)
	__attribute__((sentinel));

#endif
