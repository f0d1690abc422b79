/*
 * ec2/instances_describe.c: DescribeInstances.
 *
 * Instances are read in ID order (a page of MaxResults instances resumes
 * after the last ID of the one before), and a page groups its instances by
 * reservation: one item per reservation, with those of its instances the
 * page shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_instances.h"
#include "util/ids.h"

#define TERMINATED_VISIBLE_MS (60LL * 60 * 1000)

static const char *const instance_filters[] = {
	"architecture", "availability-zone", "block-device-mapping.attach-time",
	"block-device-mapping.delete-on-termination", "block-device-mapping.device-name",
	"block-device-mapping.status", "block-device-mapping.volume-id", "client-token",
	"image-id", "instance-id", "instance-lifecycle", "instance-state-code",
	"instance-state-name", "instance-type", "kernel-id", "key-name", "launch-index",
	"launch-time", "owner-id", "placement-group-name", "private-ip-address",
	"ramdisk-id", "reason", "reservation-id", "root-device-name",
	"root-device-type", "state-reason-code", "state-reason-message",
	"tenancy", "virtualization-type", "hypervisor", NULL,
};

static const char *instance_field(const struct instance *m, const char *name,
				  char *scratch, size_t cap)
{
	if (!strcmp(name, "architecture")) return m->architecture;
	if (!strcmp(name, "availability-zone")) return m->zone;
	if (!strcmp(name, "client-token")) return m->client_token;
	if (!strcmp(name, "image-id")) return m->image_id;
	if (!strcmp(name, "instance-id")) return m->id;
	if (!strcmp(name, "instance-state-name")) return m->state;
	if (!strcmp(name, "instance-type")) return m->instance_type;
	if (!strcmp(name, "kernel-id")) return m->kernel_id[0] ? m->kernel_id : NULL;
	if (!strcmp(name, "ramdisk-id")) return m->ramdisk_id[0] ? m->ramdisk_id : NULL;
	if (!strcmp(name, "key-name")) return m->key_name[0] ? m->key_name : NULL;
	if (!strcmp(name, "owner-id")) return m->owner_id;
	if (!strcmp(name, "private-ip-address")) return m->private_ip;
	if (!strcmp(name, "reason")) return m->transition_reason;
	if (!strcmp(name, "reservation-id")) return m->reservation_id;
	if (!strcmp(name, "root-device-name")) return m->root_device_name;
	if (!strcmp(name, "root-device-type")) return m->root_device_type;
	if (!strcmp(name, "state-reason-code")) return m->state_reason_code;
	if (!strcmp(name, "state-reason-message")) return m->state_reason_message;
	if (!strcmp(name, "tenancy")) return "default";
	if (!strcmp(name, "hypervisor")) return "xen";
	if (!strcmp(name, "virtualization-type")) return m->virtualization_type;
	if (!strcmp(name, "instance-state-code")) {
		snprintf(scratch, cap, "%d", instance_state_code(m->state));
		return scratch;
	}
	if (!strcmp(name, "launch-index")) {
		snprintf(scratch, cap, "%d", m->launch_index);
		return scratch;
	}
	if (!strcmp(name, "launch-time")) {
		ids_iso_time(m->launch_ms, scratch);
		return scratch;
	}
	return NULL;
}

static int device_filter(const struct query_filter *f, const struct instance *m)
{
	const char *field = f->name + strlen("block-device-mapping.");
	for (size_t i = 0; i < m->ndevices; i++) {
		const struct instance_device *d = &m->devices[i];
		char scratch[ISO_TIME_MAX];
		const char *v = NULL;
		if (!d->volume_id[0])
			continue;
		if (!strcmp(field, "device-name"))
			v = d->device_name;
		else if (!strcmp(field, "volume-id"))
			v = d->volume_id;
		else if (!strcmp(field, "status"))
			v = d->status;
		else if (!strcmp(field, "delete-on-termination"))
			v = d->delete_on_termination ? "true" : "false";
		else if (!strcmp(field, "attach-time")) {
			ids_iso_time(d->attach_ms, scratch);
			v = scratch;
		}
		if (v && filter_match_any(f->values, f->nvalues, v))
			return 1;
	}
	return 0;
}

/* An instance the page shows, with its tags. */
struct described {
	struct instance m;
	struct tag_list tags;
};

struct describe_instances {
	struct ec2_ctx *ctx;
	struct err *e;
	struct query_filter *filters;
	size_t nfilters;
	long long now, limit;
	struct described *found; /* the page, in the order found */
	size_t nfound;
	int more, failed, by_id;
};

static int describe_match(struct describe_instances *d, const struct instance *m,
			  const struct tag_list *tags)
{
	char scratch[ISO_TIME_MAX];
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct query_filter *f = &d->filters[i];
		int ok;
		if (ec2_is_tag_filter(f->name)) {
			ok = ec2_tags_match(f, tags);
		} else if (!strncmp(f->name, "block-device-mapping.", 21)) {
			ok = device_filter(f, m);
		} else {
			const char *v = instance_field(m, f->name, scratch, sizeof scratch);
			ok = v && filter_match_any(f->values, f->nvalues, v);
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/* Takes m onto the page if it matches; 1 when the page is full. */
static int describe_instance_one(struct describe_instances *d, const struct instance *m)
{
	struct tag_list tags = { NULL, 0 };
	/* Terminated instances stay visible for an hour. */
	if (!d->by_id && !strcmp(m->state, "terminated") &&
	    d->now - m->state_ms > TERMINATED_VISIBLE_MS)
		return 0;
	if (catalog_tags_get(d->ctx->srv->cat, m->id, &tags, d->e) < 0) {
		d->failed = 1;
		return 1;
	}
	if (!describe_match(d, m, &tags)) {
		tag_list_release(&tags);
		return 0;
	}
	if (d->limit && (long long)d->nfound == d->limit) {
		tag_list_release(&tags);
		d->more = 1;
		return 1;
	}
	d->found = xrealloc(d->found, (d->nfound + 1) * sizeof *d->found);
	instance_copy(&d->found[d->nfound].m, m);
	d->found[d->nfound++].tags = tags;
	return 0;
}

static int describe_instance_visit(void *ctx, const struct instance *m)
{
	return describe_instance_one(ctx, m);
}

/* By reservation, then launch index: a reservation's instances together. */
static int described_cmp(const void *a, const void *b)
{
	const struct instance *ma = &((const struct described *)a)->m;
	const struct instance *mb = &((const struct described *)b)->m;
	int c = strcmp(ma->reservation_id, mb->reservation_id);
	if (!c)
		c = (ma->launch_index > mb->launch_index) - (ma->launch_index < mb->launch_index);
	return c ? c : strcmp(ma->id, mb->id);
}

/* One item per reservation, with the instances of it the page shows. */
static void describe_write(struct describe_instances *d)
{
	struct xmlw *w = d->ctx->w;
	qsort(d->found, d->nfound, sizeof *d->found, described_cmp);
	xmlw_start(w, "reservationSet");
	for (size_t i = 0; i < d->nfound; i++) {
		const struct instance *m = &d->found[i].m;
		if (i == 0 || strcmp(d->found[i - 1].m.reservation_id, m->reservation_id) != 0) {
			if (i > 0) {
				xmlw_end(w); /* instancesSet */
				xmlw_end(w); /* item */
			}
			xmlw_start(w, "item");
			ec2_write_reservation_head(w, m->reservation_id, m->owner_id);
			xmlw_start(w, "instancesSet");
		}
		ec2_write_instance(w, m, &d->found[i].tags);
	}
	if (d->nfound) {
		xmlw_end(w);
		xmlw_end(w);
	}
	xmlw_end(w);
}

int ec2_describe_instances(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_instances d = { .ctx = ctx, .e = e, .now = ids_now_ms() };
	struct ec2_page page;
	const char **ids = NULL;
	struct instance *named = NULL;
	size_t nnamed = 0;
	char last[ID_MAX];
	int ret = -1;
	size_t nids = query_list(&ctx->q, "InstanceId", &ids);
	d.by_id = nids > 0;
	if (query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	for (size_t i = 0; i < d.nfilters; i++) {
		int known = ec2_is_tag_filter(d.filters[i].name);
		for (const char *const *p = instance_filters; *p && !known; p++)
			known = !strcmp(*p, d.filters[i].name);
		if (!known) {
			err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				d.filters[i].name);
			goto out;
		}
	}
	if (nids && page.max_results) {
		err_set(e, 400, "InvalidParameterCombination",
			"The parameter instancesSet cannot be used with the parameter maxResults");
		goto out;
	}
	d.limit = page.max_results;
	named = nids ? xcalloc(nids, sizeof *named) : NULL;
	for (; nnamed < nids; nnamed++)
		if (ec2_instance_owned(ctx, ids[nnamed], &named[nnamed], e) < 0)
			goto out;
	if (nids) {
		for (size_t i = 0; i < nids && !d.failed; i++) {
			int dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= !strcmp(ids[j], ids[i]);
			if (!dup)
				describe_instance_one(&d, &named[i]);
		}
	} else if (catalog_instance_each(ctx->srv->cat, ctx->account, page.after,
					 describe_instance_visit, &d, e) < 0) {
		d.failed = 1;
	}
	if (d.failed)
		goto out;
	/* The next page resumes after the last instance, in ID order, of this one. */
	if (d.more)
		snprintf(last, sizeof last, "%s", d.found[d.nfound - 1].m.id);
	describe_write(&d);
	if (d.more)
		ec2_page_write_token(ctx, last);
	ret = 0;
out:
	for (size_t i = 0; i < nnamed; i++)
		instance_release(&named[i]);
	for (size_t i = 0; i < d.nfound; i++) {
		instance_release(&d.found[i].m);
		tag_list_release(&d.found[i].tags);
	}
	free(d.found);
	free(named);
	free(ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}
