/*
 * ec2/volume_status.c: DescribeVolumeStatus, from the catalog.
 *
 * amibox's volumes are files on the host served by nbdkit: none is ever
 * impaired by a host event, so every volume's status is ok, with I/O
 * enabled (io-enabled passed) and no events or actions.  io-performance
 * applies to provisioned-IOPS volumes (io1, io2), as on EC2.  Volumes are
 * listed in ID order, a page resuming after the last ID of the one before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "util/ids.h"

static const char *const volume_status_filters[] = {
	"action.code", "action.description", "action.event-id", "availability-zone",
	"event.description", "event.event-id", "event.event-type", "event.not-after",
	"event.not-before", "volume-status.details-name", "volume-status.details-status",
	"volume-status.status", NULL,
};

/* A volume's status details: name and status, two of them. */
static void volume_details(const struct volume_row *v, const char *names[2],
			   const char *statuses[2])
{
	int provisioned = !strcmp(v->volume_type, "io1") || !strcmp(v->volume_type, "io2");
	names[0] = "io-enabled";
	statuses[0] = "passed";
	names[1] = "io-performance";
	statuses[1] = provisioned ? "normal" : "not-applicable";
}

/* 1 if the volume matches the filter (events and actions: there are none). */
static int volume_status_match(const struct query_filter *f, const struct volume_row *v)
{
	const char *names[2], *statuses[2];
	volume_details(v, names, statuses);
	if (!strcmp(f->name, "availability-zone"))
		return filter_match_any(f->values, f->nvalues, v->zone);
	if (!strcmp(f->name, "volume-status.status"))
		return filter_match_any(f->values, f->nvalues, "ok");
	for (int i = 0; i < 2; i++)
		if ((!strcmp(f->name, "volume-status.details-name") &&
		     filter_match_any(f->values, f->nvalues, names[i])) ||
		    (!strcmp(f->name, "volume-status.details-status") &&
		     filter_match_any(f->values, f->nvalues, statuses[i])))
			return 1;
	return 0;
}

struct describe_volume_status {
	struct ec2_ctx *ctx;
	struct err *e;
	struct query_filter *filters;
	size_t nfilters;
	long long limit, written;
	char last[ID_MAX];
	int more, failed;
};

static int volume_status_one(void *arg, const struct volume_row *v)
{
	struct describe_volume_status *d = arg;
	struct xmlw *w = d->ctx->w;
	const char *names[2], *statuses[2];
	struct instance_device device;
	char instance_id[ID_MAX];
	for (size_t i = 0; i < d->nfilters; i++)
		if (!volume_status_match(&d->filters[i], v))
			return 0;
	if (d->limit && d->written == d->limit) {
		d->more = 1;
		return 1;
	}
	int attached = catalog_volume_attachment(d->ctx->srv->cat, v->id, instance_id, &device,
						 d->e);
	if (attached < 0) {
		d->failed = 1;
		return 1;
	}
	volume_details(v, names, statuses);
	xmlw_start(w, "item");
	xmlw_text(w, "volumeId", v->id);
	xmlw_text(w, "availabilityZone", v->zone);
	xmlw_text(w, "availabilityZoneId", v->zone);
	xmlw_start(w, "volumeStatus");
	xmlw_text(w, "status", "ok");
	xmlw_start(w, "details");
	for (int i = 0; i < 2; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "name", names[i]);
		xmlw_text(w, "status", statuses[i]);
		xmlw_end(w);
	}
	xmlw_end(w);
	xmlw_end(w);
	xmlw_start(w, "eventsSet");
	xmlw_end(w);
	xmlw_start(w, "actionsSet");
	xmlw_end(w);
	xmlw_start(w, "attachmentStatuses");
	if (attached) {
		xmlw_start(w, "item");
		xmlw_text(w, "instanceId", instance_id);
		xmlw_end(w);
	}
	xmlw_end(w);
	xmlw_end(w);
	d->written++;
	snprintf(d->last, sizeof d->last, "%s", v->id);
	return 0;
}

/*
 * The caller's volumes named by ids into out (n entries): Malformed for a
 * malformed ID, then one InvalidVolume.NotFound naming every missing one.
 */
static int volumes_owned(struct ec2_ctx *ctx, const char **ids, size_t n,
			 struct volume_row *out, struct err *e)
{
	struct ec2_missing missing = { BUF_INIT, 0 };
	for (size_t i = 0; i < n; i++)
		if (!ids_valid_resource("vol", ids[i]))
			return err_set(e, 400, "InvalidVolumeID.Malformed",
				       "Invalid id: \"%.64s\" (expecting \"vol-...\")", ids[i]);
	for (size_t i = 0; i < n; i++) {
		int found = catalog_volume_get(ctx->srv->cat, ids[i], &out[i], e);
		if (found < 0) {
			buf_release(&missing.names);
			return -1;
		}
		if (!found || strcmp(out[i].owner_id, ctx->account) != 0)
			ec2_missing_add(&missing, ids, i);
	}
	return ec2_missing_report(&missing, e, "InvalidVolume.NotFound", "volume", "volumes", ".");
}

int ec2_describe_volume_status(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_volume_status d = { .ctx = ctx, .e = e };
	struct ec2_page page;
	struct volume_row *named = NULL;
	const char **ids = NULL;
	int ret = -1;
	size_t nids = query_list(&ctx->q, "VolumeId", &ids);
	if (query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	for (size_t i = 0; i < d.nfilters; i++) {
		int known = 0;
		for (const char *const *p = volume_status_filters; *p && !known; p++)
			known = !strcmp(*p, d.filters[i].name);
		if (!known) {
			err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				d.filters[i].name);
			goto out;
		}
	}
	if (nids && page.max_results) {
		err_set(e, 400, "InvalidParameterCombination",
			"The parameter volumeIdSet cannot be used with the parameter maxResults");
		goto out;
	}
	d.limit = page.max_results;
	named = nids ? xcalloc(nids, sizeof *named) : NULL;
	if (nids && volumes_owned(ctx, ids, nids, named, e) < 0)
		goto out;
	xmlw_start(ctx->w, "volumeStatusSet");
	for (size_t i = 0; i < nids && !d.failed; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(ids[j], ids[i]);
		if (!dup)
			volume_status_one(&d, &named[i]);
	}
	if (!nids && catalog_volume_each(ctx->srv->cat, ctx->account, page.after,
					 volume_status_one, &d, e) < 0)
		goto out;
	xmlw_end(ctx->w);
	if (d.failed)
		goto out;
	if (d.more)
		ec2_page_write_token(ctx, d.last);
	ret = 0;
out:
	free(named);
	free(ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}
