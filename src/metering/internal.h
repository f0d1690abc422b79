/*
 * metering/internal: what the metering files share (records.c writes
 * records; snapshots.c computes what a snapshot is billed for).
 */
#ifndef AMIBOX_METERING_INTERNAL_H
#define AMIBOX_METERING_INTERNAL_H

#include "catalog/catalog.h"
#include "util/err.h"

/* One open record a subject should have. */
struct meter_want {
	const char *usage_type;
	double quantity;
	long long minimum_ms; /* billed at least this long per start; 0: no minimum */
};

/*
 * Makes the subject's open records the wanted ones (metering.h, rule 2):
 * keeps an open record of a wanted usage type and quantity, closes the
 * others now, opens the missing ones now for account with the tags of
 * tags_of (NULL: none).  A record that closes while none stays open ends
 * the subject's usage: its billed end is rounded up to the second and
 * held to its minimum.  The minimum runs from when the subject's usage
 * starts (no record open): records that continue it (a changed quantity
 * or type) carry the same minimum end.
 */
int meter_apply(struct catalog *c, const char *account, const char *subject,
		const char *resource_id, const char *tags_of, const struct meter_want *wants,
		size_t nwants, struct err *e);

/* start + (end - start) rounded up to whole seconds. */
long long meter_billed_end(long long start_ms, long long end_ms);

#endif
