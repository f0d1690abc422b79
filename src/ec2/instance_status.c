/*
 * ec2/instance_status.c: what tools ask of an instance besides its
 * description: DescribeInstanceStatus (the status checks that `aws ec2
 * wait instance-status-ok` and Packer poll), DescribeInstanceCreditSpecifications
 * (Terraform reads it for burstable types) and GetInstanceUefiData.
 *
 * The status checks look at the real machine.  The system check passes
 * while the instance's QEMU process runs (compute_machine_alive) and fails
 * when a running instance's machine is gone; the instance check is
 * "initializing" until the guest has written to its serial console, or
 * STATUS_GRACE_MS after it began to run (a guest may print nowhere), then
 * passes.  Instances that are not running have no checks (not-applicable)
 * and are listed only with IncludeAllInstances, as on EC2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_instances.h"
#include "compute/compute.h"
#include "util/ids.h"

#define STATUS_GRACE_MS (20LL * 1000)
#define TERMINATED_VISIBLE_MS (60LL * 60 * 1000)
#define STATUS_MAX_IDS 100

/* ---- DescribeInstanceStatus --------------------------------------------- */

/* One check's summary ("ok", ...) and its reachability detail (or NULL). */
struct check {
	const char *status;
	const char *reachability;
};

struct health {
	struct check system, instance, ebs;
};

static void health_of(struct ec2_ctx *ctx, const struct instance *m, long long now,
		      struct health *h)
{
	static const struct check none = { "not-applicable", NULL };
	static const struct check passed = { "ok", "passed" };
	static const struct check failed = { "impaired", "failed" };
	static const struct check starting = { "initializing", "initializing" };
	h->system = h->instance = h->ebs = none;
	if (strcmp(m->state, "running") != 0)
		return;
	if (!compute_machine_alive(ctx->srv->compute, m)) {
		h->system = h->instance = failed;
		return;
	}
	h->system = passed;
	h->instance = starting;
	for (size_t i = 0; i < m->ndevices; i++)
		if (m->devices[i].volume_id[0])
			h->ebs = passed;
	if (now - m->state_ms >= STATUS_GRACE_MS) {
		h->instance = passed;
	} else {
		struct buf console = BUF_INIT;
		struct err ignored = ERR_INIT;
		long long mtime = 0;
		if (compute_console(ctx->srv->compute, m->id, &console, &mtime, &ignored) == 0 &&
		    console.len > 0)
			h->instance = passed;
		buf_release(&console);
	}
}

static const char *const status_filters[] = {
	"availability-zone", "availability-zone-id", "event.code", "event.description",
	"event.instance-event-id", "event.not-after", "event.not-before",
	"event.not-before-deadline", "instance-state-code", "instance-state-name",
	"instance-status.reachability", "instance-status.status", "operator.managed",
	"operator.principal", "system-status.reachability", "system-status.status",
	"attached-ebs-status.status", NULL,
};

/* The instance's value for a filter (NULL: none; amibox schedules no events). */
static const char *status_field(const struct instance *m, const struct health *h,
				const char *name, char *scratch, size_t cap)
{
	if (!strcmp(name, "availability-zone") || !strcmp(name, "availability-zone-id"))
		return m->zone;
	if (!strcmp(name, "instance-state-name"))
		return m->state;
	if (!strcmp(name, "instance-state-code")) {
		snprintf(scratch, cap, "%d", instance_state_code(m->state));
		return scratch;
	}
	if (!strcmp(name, "instance-status.status"))
		return h->instance.status;
	if (!strcmp(name, "instance-status.reachability"))
		return h->instance.reachability;
	if (!strcmp(name, "system-status.status"))
		return h->system.status;
	if (!strcmp(name, "system-status.reachability"))
		return h->system.reachability;
	if (!strcmp(name, "attached-ebs-status.status"))
		return h->ebs.status;
	if (!strcmp(name, "operator.managed"))
		return "false";
	return NULL;
}

static void write_check(struct xmlw *w, const char *name, const struct check *c)
{
	xmlw_start(w, name);
	xmlw_text(w, "status", c->status);
	if (c->reachability) {
		xmlw_start(w, "details");
		xmlw_start(w, "item");
		xmlw_text(w, "name", "reachability");
		xmlw_text(w, "status", c->reachability);
		xmlw_end(w);
		xmlw_end(w);
	}
	xmlw_end(w);
}

struct describe_status {
	struct ec2_ctx *ctx;
	struct err *e;
	struct query_filter *filters;
	size_t nfilters;
	long long now, limit, written;
	char last[ID_MAX];
	int include_all, by_id, more;
};

/* Writes m's item if it is listed and matches; 1 when the page is full. */
static int status_one(struct describe_status *d, const struct instance *m)
{
	struct health h;
	char scratch[32];
	struct xmlw *w = d->ctx->w;
	if (strcmp(m->state, "running") != 0 && !d->include_all)
		return 0;
	if (!d->by_id && !strcmp(m->state, "terminated") &&
	    d->now - m->state_ms > TERMINATED_VISIBLE_MS)
		return 0;
	health_of(d->ctx, m, d->now, &h);
	for (size_t i = 0; i < d->nfilters; i++) {
		const char *v = status_field(m, &h, d->filters[i].name, scratch, sizeof scratch);
		if (!v || !filter_match_any(d->filters[i].values, d->filters[i].nvalues, v))
			return 0;
	}
	if (d->limit && d->written == d->limit) {
		d->more = 1;
		return 1;
	}
	xmlw_start(w, "item");
	xmlw_text(w, "instanceId", m->id);
	xmlw_text(w, "availabilityZone", m->zone);
	xmlw_text(w, "availabilityZoneId", m->zone);
	xmlw_start(w, "operator");
	xmlw_bool(w, "managed", 0);
	xmlw_end(w);
	xmlw_start(w, "eventsSet");
	xmlw_end(w);
	xmlw_start(w, "instanceState");
	xmlw_int(w, "code", instance_state_code(m->state));
	xmlw_text(w, "name", m->state);
	xmlw_end(w);
	write_check(w, "systemStatus", &h.system);
	write_check(w, "instanceStatus", &h.instance);
	write_check(w, "attachedEbsStatus", &h.ebs);
	xmlw_end(w);
	d->written++;
	snprintf(d->last, sizeof d->last, "%s", m->id);
	return 0;
}

static int status_visit(void *ctx, const struct instance *m)
{
	return status_one(ctx, m);
}

/*
 * Reads Filter.N (checked against names, NULL-ended), MaxResults/NextToken
 * and InstanceId.N, refusing IDs together with MaxResults as EC2 does.
 */
static int read_listing(struct ec2_ctx *ctx, const char *const *names, long long max_ids,
			struct query_filter **filters, size_t *nfilters,
			struct ec2_page *page, const char ***ids, size_t *nids,
			struct err *e)
{
	*nids = query_list(&ctx->q, "InstanceId", ids);
	if (query_filters(&ctx->q, filters, nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, page, e) < 0)
		return -1;
	for (size_t i = 0; i < *nfilters; i++) {
		int known = 0;
		for (const char *const *p = names; *p && !known; p++)
			known = !strcmp(*p, (*filters)[i].name);
		if (!known)
			return err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				       (*filters)[i].name);
	}
	if ((long long)*nids > max_ids)
		return err_set(e, 400, "InvalidParameterValue",
			       "At most %lld instance IDs may be given.", max_ids);
	if (*nids && page->max_results)
		return err_set(e, 400, "InvalidParameterCombination",
			       "The parameter instancesSet cannot be used with the parameter maxResults");
	return 0;
}

/* Calls fn for each distinct instance of named (n), in the order given. */
static void each_named(const struct instance *named, size_t n,
		       int (*fn)(void *ctx, const struct instance *m), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(named[j].id, named[i].id);
		if (!dup && fn(ctx, &named[i]))
			break;
	}
}

int ec2_describe_instance_status(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_status d = { .ctx = ctx, .e = e, .now = ids_now_ms() };
	struct ec2_page page;
	struct instance *named = NULL;
	const char **ids = NULL;
	size_t nids = 0, nnamed = 0;
	int ret = -1;
	if (read_listing(ctx, status_filters, STATUS_MAX_IDS, &d.filters, &d.nfilters, &page,
			 &ids, &nids, e) < 0 ||
	    query_get_bool(&ctx->q, "IncludeAllInstances", &d.include_all, e) < 0)
		goto out;
	d.by_id = nids > 0;
	d.limit = page.max_results;
	named = nids ? xcalloc(nids, sizeof *named) : NULL;
	if (nids && ec2_instances_owned(ctx, ids, nids, named, e) < 0)
		goto out;
	nnamed = nids;
	xmlw_start(ctx->w, "instanceStatusSet");
	if (nids)
		each_named(named, nnamed, status_visit, &d);
	else if (catalog_instance_each(ctx->srv->cat, ctx->account, page.after, status_visit,
				       &d, e) < 0)
		goto out;
	xmlw_end(ctx->w);
	if (d.more)
		ec2_page_write_token(ctx, d.last);
	ret = 0;
out:
	for (size_t i = 0; i < nnamed; i++)
		instance_release(&named[i]);
	free(named);
	free(ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}

/* ---- DescribeInstanceCreditSpecifications ------------------------------- */

struct describe_credits {
	struct ec2_ctx *ctx;
	struct query_filter *filters;
	size_t nfilters;
	long long now, limit, written;
	char last[ID_MAX];
	int by_id, more;
};

static int credits_visit(void *ctx, const struct instance *m)
{
	struct describe_credits *d = ctx;
	/* Unnamed, EC2 lists the instances running unlimited (or that did). */
	if (!d->by_id && (strcmp(m->cpu_credits, "unlimited") != 0 ||
			  (!strcmp(m->state, "terminated") &&
			   d->now - m->state_ms > TERMINATED_VISIBLE_MS)))
		return 0;
	for (size_t i = 0; i < d->nfilters; i++)
		if (!filter_match_any(d->filters[i].values, d->filters[i].nvalues, m->id))
			return 0;
	if (d->limit && d->written == d->limit) {
		d->more = 1;
		return 1;
	}
	xmlw_start(d->ctx->w, "item");
	xmlw_text(d->ctx->w, "instanceId", m->id);
	xmlw_text(d->ctx->w, "cpuCredits", m->cpu_credits);
	xmlw_end(d->ctx->w);
	d->written++;
	snprintf(d->last, sizeof d->last, "%s", m->id);
	return 0;
}

int ec2_describe_instance_credit_specifications(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const names[] = { "instance-id", NULL };
	struct describe_credits d = { .ctx = ctx, .now = ids_now_ms() };
	struct ec2_page page;
	struct instance *named = NULL;
	const char **ids = NULL;
	size_t nids = 0, nnamed = 0;
	int ret = -1;
	if (read_listing(ctx, names, 1000, &d.filters, &d.nfilters, &page, &ids, &nids, e) < 0)
		goto out;
	d.by_id = nids > 0;
	d.limit = page.max_results;
	named = nids ? xcalloc(nids, sizeof *named) : NULL;
	if (nids && ec2_instances_owned(ctx, ids, nids, named, e) < 0)
		goto out;
	nnamed = nids;
	/* A named instance of a type without CPU credits is an error on EC2. */
	for (size_t i = 0; i < nnamed; i++)
		if (!named[i].cpu_credits[0]) {
			err_set(e, 400, "InstanceCreditSpecification.NotSupported",
				"The instance '%s' is of type %s, which has no CPU credit option.",
				named[i].id, named[i].instance_type);
			goto out;
		}
	xmlw_start(ctx->w, "instanceCreditSpecificationSet");
	if (nids)
		each_named(named, nnamed, credits_visit, &d);
	else if (catalog_instance_each(ctx->srv->cat, ctx->account, page.after, credits_visit,
				       &d, e) < 0)
		goto out;
	xmlw_end(ctx->w);
	if (d.more)
		ec2_page_write_token(ctx, d.last);
	ret = 0;
out:
	for (size_t i = 0; i < nnamed; i++)
		instance_release(&named[i]);
	free(named);
	free(ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}

/* ---- GetInstanceUefiData ------------------------------------------------ */

/*
 * amibox's machines boot with a legacy BIOS (SeaBIOS; currentInstanceBootMode
 * legacy-bios), so none has a UEFI variable store to give.
 */
int ec2_get_instance_uefi_data(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	const char *id = ec2_require(ctx, "InstanceId", e);
	if (!id || ec2_instance_owned(ctx, id, &m, e) < 0)
		return -1;
	instance_release(&m);
	return err_set(e, 400, "UnsupportedOperation",
		       "The instance '%s' boots in legacy-bios mode and has no UEFI variable store.",
		       id);
}
