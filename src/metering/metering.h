/*
 * metering: usage records, written by the catalogue's own state transitions.
 *
 * A usage record says: from start_ms until end_ms (open while NULL), this
 * account used QUANTITY of USAGE_TYPE on behalf of a resource, which had
 * these tags.  The catalogue functions that make a billable transition
 * (an instance entering or leaving running, a volume created, modified or
 * deleted, a snapshot completed or deleted, an object stored or removed,
 * a tag changed) call one of the hooks below inside their own transaction:
 * usage is recorded exactly when the state changes, durably with it, and
 * never sampled.  The report engine (report.h) and the price list
 * (prices.h) turn records into usage quantities and costs; `amibox usage`
 * and the Cost Explorer API (src/ce) read the same records.
 *
 * Design notes
 *
 * Invariants (usage_records, catalogue migration 13):
 *  1. A subject (the thing whose state a record follows: an instance, a
 *     volume, a snapshot, "s3:BUCKET/KEY", "s3-part:UPLOAD/N") has at most
 *     one open record per usage type (a unique partial index).
 *  2. Every hook is a reconciliation: it reads the subject's row and makes
 *     its open records match it, closing what no longer holds and opening
 *     what does.  Calling a hook twice changes nothing, so a transition
 *     seen again (a restart, a repeated state) never counts twice.
 *  3. Records are written in the transaction that changes the state; a
 *     rollback takes them with it.  A record open across a daemon restart
 *     stays open: a machine that outlives the daemon goes on being billed,
 *     and one found gone is closed by the transition that records it.
 *  4. until_ms is the billed end of a closed record: its end rounded up to
 *     a whole second after its start (per-second billing), and, for the
 *     record that ends a subject's usage, at least min_end_ms (EC2's and
 *     EBS's one-minute minimum per start).  It is INT64_MAX while open.
 *  5. A tag change applies from the start of the hour it is made in (as
 *     the hourly line items of AWS's cost and usage reports carry the tags
 *     of their hour): an open record that began in that hour takes the new
 *     tags; an older one is closed at the hour and continued with them.
 *
 * The life of an instance's record (BoxUsage:TYPE):
 *   pending --(running: metering_instance_sync opens)--> open
 *   open --(stopping, shutting-down, stopped, terminated: closes)--> closed
 *
 * Snapshots are billed as EBS bills them, incrementally; see snapshots.c
 * for the rule.
 */
#ifndef AMIBOX_METERING_METERING_H
#define AMIBOX_METERING_METERING_H

#include "catalog/catalog.h"
#include "util/err.h"

/* until_ms of an open record. */
#define METERING_OPEN_UNTIL 9223372036854775807LL
/* The minimum billed time per start (EC2 Linux, EBS volumes). */
#define METERING_MINIMUM_MS 60000LL

/*
 * The region records are written for (the daemon's --region); us-east-1
 * until set.  Called once, before any thread writes the catalogue.
 */
void metering_set_region(const char *region);
const char *metering_region(void);

/*
 * The hooks.  Each runs in the caller's transaction, after the caller's
 * change, and reconciles one subject's open records with its row at the
 * current time.  0, or -1 with e set (the caller rolls back).
 */
int metering_instance_sync(struct catalog *c, const char *instance_id, struct err *e);
int metering_volume_sync(struct catalog *c, const char *volume_id, struct err *e);
int metering_snapshot_sync(struct catalog *c, const char *snapshot_id, struct err *e);
int metering_object_sync(struct catalog *c, const char *bucket, const char *key,
			 struct err *e);
int metering_part_sync(struct catalog *c, const char *upload_id, int part_number,
		       struct err *e);
/* A multipart upload ended (completed or aborted): its parts' usage ends. */
int metering_upload_ended(struct catalog *c, const char *upload_id, struct err *e);
/* The resource's tags changed (rule 5). */
int metering_tags_changed(struct catalog *c, const char *resource_id, struct err *e);

/*
 * Run by the daemon at start, before anything else writes: the first time
 * a catalogue is metered (migration 13 just applied to a catalogue with
 * resources), what exists is billed from now on.  Later starts find it
 * done and change nothing.
 */
int metering_start(struct catalog *c, struct err *e);

/*
 * A build with -DAMIBOX_METERING_HOOKS=0 (the benchmark's comparison build,
 * bench/run.sh) writes no usage records; every other build does.
 */
#ifndef AMIBOX_METERING_HOOKS
#define AMIBOX_METERING_HOOKS 1
#endif

struct metrics;
/* Adds this month's cost and usage per service to GET /metrics. */
void metering_metrics_register(struct metrics *m, struct catalog *cat);

#endif
