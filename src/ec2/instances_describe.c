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

/*
 * Filters with one value for every amibox instance, as DescribeInstances
 * shows it (or as EC2 has it for an instance that shows nothing there).
 */
static const struct {
	const char *name, *value;
} instance_constant_filters[] = {
	{ "capacity-reservation-specification.capacity-reservation-preference", "open" },
	{ "current-instance-boot-mode", "legacy-bios" },
	{ "enclave-options.enabled", "false" },
	{ "hibernation-options.configured", "false" },
	{ "hypervisor", "xen" },
	{ "maintenance-options.auto-recovery", "default" },
	{ "metadata-options.http-endpoint", "enabled" },
	{ "metadata-options.http-protocol-ipv4", "enabled" },
	{ "metadata-options.http-protocol-ipv6", "disabled" },
	{ "metadata-options.http-put-response-hop-limit", "1" },
	{ "metadata-options.instance-metadata-tags", "disabled" },
	{ "metadata-options.state", "applied" },
	{ "monitoring-state", "disabled" },
	{ "operator.managed", "false" },
	{ "platform-details", "Linux/UNIX" },
	{ "private-dns-name-options.enable-resource-name-dns-a-record", "false" },
	{ "private-dns-name-options.enable-resource-name-dns-aaaa-record", "false" },
	{ "private-dns-name-options.hostname-type", "ip-name" },
	{ "source-dest-check", "true" },
	{ "tenancy", "default" },
	{ "usage-operation", "RunInstances" },
};

/*
 * Filters EC2 documents for what an amibox instance never has (IAM
 * profile, Spot request, Dedicated Host, product code, IPv6, ...): they
 * match no instance, as on EC2 an instance without the attribute.  The
 * network's filters are instances_network.c's.
 */
static const char *const instance_unset_filters[] = {
	"affinity", "boot-mode", "capacity-reservation-id",
	"capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id",
	"capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn",
	"host-id", "iam-instance-profile.arn", "iam-instance-profile.id", "instance-lifecycle",
	"ipv6-address",
	"network-performance-options.bandwidth-weighting", "operator.principal", "outpost-arn",
	"placement-group-name", "placement-partition-number", "platform", "product-code",
	"product-code.type", "requester-id", "spot-instance-request-id",
	"tpm-support", NULL,
};

/* Filters answered from the instance itself (instance_field). */
static const char *const instance_filters[] = {
	"architecture", "availability-zone", "availability-zone-id", "client-token",
	"ebs-optimized", "ena-support", "image-id", "instance-id",
	"instance-state-code", "instance-state-name", "instance-type", "kernel-id",
	"key-name", "launch-index", "launch-time", "metadata-options.http-tokens", "owner-id",
	"private-dns-name", "private-ip-address", "ramdisk-id", "reason", "reservation-id",
	"root-device-name", "root-device-type", "state-reason-code", "state-reason-message",
	"usage-operation-update-time", "virtualization-type", NULL,
};

static int instance_filter_known(const char *name)
{
	static const char *const devices[] = {
		"attach-time", "delete-on-termination", "device-name", "status", "volume-id", NULL,
	};
	if (ec2_is_tag_filter(name) || !strcmp(name, "tag-value"))
		return 1;
	if (ec2_instance_net_filter_known(name))
		return 1;
	if (!strncmp(name, "block-device-mapping.", 21))
		for (const char *const *p = devices; *p; p++)
			if (!strcmp(name + 21, *p))
				return 1;
	for (size_t i = 0; i < sizeof instance_constant_filters / sizeof instance_constant_filters[0]; i++)
		if (!strcmp(instance_constant_filters[i].name, name))
			return 1;
	for (const char *const *p = instance_unset_filters; *p; p++)
		if (!strcmp(*p, name))
			return 1;
	for (const char *const *p = instance_filters; *p; p++)
		if (!strcmp(*p, name))
			return 1;
	return 0;
}

/* The instance's value for a filter, or NULL when it has none. */
static const char *instance_field(const struct instance *m, const char *name,
				  char *scratch, size_t cap)
{
	for (size_t i = 0; i < sizeof instance_constant_filters / sizeof instance_constant_filters[0]; i++)
		if (!strcmp(instance_constant_filters[i].name, name))
			return instance_constant_filters[i].value;
	if (!strcmp(name, "architecture")) return m->architecture;
	if (!strcmp(name, "availability-zone") || !strcmp(name, "availability-zone-id"))
		return m->zone;
	if (!strcmp(name, "client-token")) return m->client_token[0] ? m->client_token : NULL;
	if (!strcmp(name, "ebs-optimized")) return m->ebs_optimized ? "true" : "false";
	if (!strcmp(name, "ena-support"))
		return !strcmp(m->virtualization_type, "hvm") ? "true" : "false";
	if (!strcmp(name, "image-id")) return m->image_id;
	if (!strcmp(name, "instance-id")) return m->id;
	if (!strcmp(name, "instance-state-name")) return m->state;
	if (!strcmp(name, "instance-type")) return m->instance_type;
	if (!strcmp(name, "kernel-id")) return m->kernel_id[0] ? m->kernel_id : NULL;
	if (!strcmp(name, "ramdisk-id")) return m->ramdisk_id[0] ? m->ramdisk_id : NULL;
	if (!strcmp(name, "key-name")) return m->key_name[0] ? m->key_name : NULL;
	if (!strcmp(name, "metadata-options.http-tokens"))
		return m->http_tokens[0] ? m->http_tokens : "optional";
	if (!strcmp(name, "owner-id")) return m->owner_id;
	if (!strcmp(name, "private-ip-address"))
		return strcmp(m->state, "terminated") ? m->private_ip : NULL;
	if (!strcmp(name, "private-dns-name"))
		return ec2_instance_private_dns(m, scratch, cap) ? scratch : "";
	if (!strcmp(name, "reason")) return m->transition_reason;
	if (!strcmp(name, "reservation-id")) return m->reservation_id;
	if (!strcmp(name, "root-device-name")) return m->root_device_name;
	if (!strcmp(name, "root-device-type")) return m->root_device_type;
	if (!strcmp(name, "state-reason-code")) return m->state_reason_code;
	if (!strcmp(name, "state-reason-message")) return m->state_reason_message;
	if (!strcmp(name, "virtualization-type")) return m->virtualization_type;
	if (!strcmp(name, "instance-state-code")) {
		snprintf(scratch, cap, "%d", instance_state_code(m->state));
		return scratch;
	}
	if (!strcmp(name, "launch-index")) {
		snprintf(scratch, cap, "%d", m->launch_index);
		return scratch;
	}
	if (!strcmp(name, "launch-time") || !strcmp(name, "usage-operation-update-time")) {
		ids_iso_time(m->launch_ms, scratch);
		return scratch;
	}
	return NULL;
}

/* tag-value: any of the instance's tags has a matching value. */
static int tag_value_filter(const struct query_filter *f, const struct tag_list *tags)
{
	for (size_t i = 0; i < tags->count; i++)
		if (filter_match_any(f->values, f->nvalues, tags->items[i].value))
			return 1;
	return 0;
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

/* ---- listing instances (shared with instance_status.c) ------------------ */

int ec2_instance_listing_full(struct ec2_instance_listing *l, const struct instance *m)
{
	if (l->limit && l->written == l->limit) {
		l->more = 1;
		return 1;
	}
	l->written++;
	snprintf(l->last, sizeof l->last, "%s", m->id);
	return 0;
}

int ec2_instance_listing_forgotten(const struct ec2_instance_listing *l, const struct instance *m)
{
	return !l->by_id && !strcmp(m->state, "terminated") &&
	       l->now - m->state_ms > EC2_TERMINATED_VISIBLE_MS;
}

static int listing_visit(void *arg, const struct instance *m)
{
	struct ec2_instance_listing *l = arg;
	int r = l->item(l, m);
	l->failed |= r < 0;
	return r != 0;
}

int ec2_instance_listing_run(struct ec2_instance_listing *l, struct err *e)
{
	struct ec2_ctx *ctx = l->ctx;
	struct ec2_page page;
	struct instance *named = NULL;
	const char **ids = NULL;
	size_t nids = query_list(&ctx->q, "InstanceId", &ids), nnamed = 0;
	int ret = -1;
	l->now = ids_now_ms();
	if (query_filters(&ctx->q, &l->filters, &l->nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	for (size_t i = 0; i < l->nfilters; i++)
		if (!l->filter_known(l->filters[i].name)) {
			err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				l->filters[i].name);
			goto out;
		}
	if (l->max_ids && (long long)nids > l->max_ids) {
		err_set(e, 400, "InvalidParameterValue", "At most %lld instance IDs may be given.",
			l->max_ids);
		goto out;
	}
	if (nids && page.max_results) {
		err_set(e, 400, "InvalidParameterCombination",
			"The parameter instancesSet cannot be used with the parameter maxResults");
		goto out;
	}
	l->by_id = nids > 0;
	l->limit = page.max_results;
	named = nids ? xcalloc(nids, sizeof *named) : NULL;
	if (nids && ec2_instances_owned(ctx, ids, nids, named, e) < 0)
		goto out;
	nnamed = nids;
	for (size_t i = 0; l->check && i < nnamed; i++)
		if (l->check(&named[i], e) < 0)
			goto out;
	for (size_t i = 0; i < nnamed; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(named[j].id, named[i].id);
		if (!dup && listing_visit(l, &named[i]))
			break;
	}
	if (!nids && catalog_instance_each(ctx->srv->cat, ctx->account, page.after,
					   listing_visit, l, e) < 0)
		goto out;
	ret = l->failed ? -1 : 0;
out:
	for (size_t i = 0; i < nnamed; i++)
		instance_release(&named[i]);
	free(named);
	free(ids);
	query_filters_free(l->filters, l->nfilters);
	l->filters = NULL;
	l->nfilters = 0;
	return ret;
}

/* ---- DescribeInstances -------------------------------------------------- */

/* An instance the page shows, with its tags and network. */
struct described {
	struct instance m;
	struct tag_list tags;
	struct ec2_instance_net net;
};

/* The page, in the order found. */
struct described_page {
	struct described *found;
	size_t nfound;
};

static int describe_match(const struct ec2_instance_listing *l, const struct instance *m,
			  const struct tag_list *tags, const struct ec2_instance_net *net)
{
	char scratch[128];
	for (size_t i = 0; i < l->nfilters; i++) {
		const struct query_filter *f = &l->filters[i];
		int ok;
		if (ec2_is_tag_filter(f->name)) {
			ok = ec2_tags_match(f, tags);
		} else if (!strcmp(f->name, "tag-value")) {
			ok = tag_value_filter(f, tags);
		} else if (!strncmp(f->name, "block-device-mapping.", 21)) {
			ok = device_filter(f, m);
		} else if (ec2_instance_net_filter_known(f->name)) {
			ok = ec2_instance_net_match(f, m, net);
		} else {
			const char *v = instance_field(m, f->name, scratch, sizeof scratch);
			ok = v && filter_match_any(f->values, f->nvalues, v);
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/* Takes m onto the page if it matches. */
static int describe_item(struct ec2_instance_listing *l, const struct instance *m)
{
	struct described_page *page = l->arg;
	struct tag_list tags = { NULL, 0 };
	struct ec2_instance_net net;
	if (ec2_instance_listing_forgotten(l, m))
		return 0;
	if (catalog_tags_get(l->ctx->srv->cat, m->id, &tags, l->e) < 0)
		return -1;
	if (ec2_instance_net_load(l->ctx, m, &net, l->e) < 0) {
		tag_list_release(&tags);
		return -1;
	}
	int r = !describe_match(l, m, &tags, &net) ? 0 : ec2_instance_listing_full(l, m) ? 1 : 2;
	if (r < 2) {
		tag_list_release(&tags);
		ec2_instance_net_release(&net);
		return r;
	}
	page->found = xrealloc(page->found, (page->nfound + 1) * sizeof *page->found);
	instance_copy(&page->found[page->nfound].m, m);
	page->found[page->nfound].tags = tags;
	page->found[page->nfound++].net = net;
	return 0;
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
static void describe_write(struct xmlw *w, struct described_page *page)
{
	if (page->nfound)
		qsort(page->found, page->nfound, sizeof *page->found, described_cmp);
	xmlw_start(w, "reservationSet");
	for (size_t i = 0; i < page->nfound; i++) {
		const struct instance *m = &page->found[i].m;
		if (i == 0 || strcmp(page->found[i - 1].m.reservation_id, m->reservation_id) != 0) {
			if (i > 0) {
				xmlw_end(w); /* instancesSet */
				xmlw_end(w); /* item */
			}
			xmlw_start(w, "item");
			ec2_write_reservation_head(w, m->reservation_id, m->owner_id);
			xmlw_start(w, "instancesSet");
		}
		ec2_write_instance(w, m, &page->found[i].tags, &page->found[i].net);
	}
	if (page->nfound) {
		xmlw_end(w);
		xmlw_end(w);
	}
	xmlw_end(w);
}

int ec2_describe_instances(struct ec2_ctx *ctx, struct err *e)
{
	struct described_page page = { NULL, 0 };
	struct ec2_instance_listing l = { .ctx = ctx, .e = e, .filter_known = instance_filter_known,
				 .item = describe_item, .arg = &page };
	int ret = ec2_instance_listing_run(&l, e);
	if (ret == 0) {
		describe_write(ctx->w, &page);
		/* The next page resumes after the last instance, in ID order, of this one. */
		if (l.more)
			ec2_page_write_token(ctx, l.last);
	}
	for (size_t i = 0; i < page.nfound; i++) {
		instance_release(&page.found[i].m);
		tag_list_release(&page.found[i].tags);
		ec2_instance_net_release(&page.found[i].net);
	}
	free(page.found);
	return ret;
}
