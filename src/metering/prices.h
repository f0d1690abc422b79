/*
 * prices: what a unit of each usage type costs, in USD.
 *
 * The defaults are AWS's published on-demand prices for us-east-1 (Linux
 * instances, EBS, S3 Standard); a JSON file replaces any of them:
 *
 *   {
 *     "Source": "what these prices are (free text, optional)",
 *     "Prices": {
 *       "BoxUsage:t2.micro": 0.0116,        USD per instance-hour
 *       "EBS:VolumeUsage.gp3": 0.08,        USD per GB-month
 *       "EBS:VolumeP-IOPS.gp3": 0.005,      USD per IOPS-month above 3,000
 *       "EBS:VolumeP-Throughput.gp3": 0.04, USD per MiB/s-month above 125
 *       "EBS:SnapshotUsage": 0.05,          USD per GB-month stored
 *       "TimedStorage-ByteHrs": 0.023       USD per GB-month (S3 Standard)
 *     }
 *   }
 *
 * Keys are usage types without a region prefix; a key amibox does not
 * meter, a negative or non-numeric price, or any other member is refused
 * (a typo must not silently bill at the default).  Usage types the file
 * does not name keep their default.  The daemon (`amibox serve --prices
 * FILE`) keeps the file's prices in the catalogue, so that `amibox usage`
 * and the Cost Explorer API price the same records alike; the price list
 * in force prices all usage, past and present.
 */
#ifndef AMIBOX_METERING_PRICES_H
#define AMIBOX_METERING_PRICES_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "util/err.h"

#define PRICES_FILE_MAX (256 * 1024)

struct metering_prices;

/* The defaults (caller frees with metering_prices_free). */
struct metering_prices *metering_prices_defaults(void);
/*
 * The defaults with a price file's text (JSON, as above) over them: 0 and
 * *out (caller frees), or -1 with a message naming what is wrong.
 */
int metering_prices_parse(const char *text, size_t len, struct metering_prices **out,
			  struct err *e);
/* The same from a file. */
int metering_prices_load_file(const char *path, struct metering_prices **out, struct err *e);
void metering_prices_free(struct metering_prices *p);

/*
 * USD per unit of usage_type (without region prefix), or -1 when the list
 * has no price for it (its cost is reported as 0).
 */
double metering_price(const struct metering_prices *p, const char *usage_type);
/* Calls fn for each price, in usage type order. */
void metering_prices_each(const struct metering_prices *p,
			  void (*fn)(void *ctx, const char *usage_type, double usd), void *ctx);

/*
 * The daemon's price list: with a file, checks it and keeps its text in
 * the catalogue; without (NULL), goes back to the defaults.
 */
int metering_prices_install(struct catalog *c, const char *path, struct err *e);
/* The price list the daemon was started with (the defaults if none). */
int metering_prices_current(struct catalog *c, struct metering_prices **out, struct err *e);

#endif
