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

/* ---- DescribeInstanceStatus (the item) ---------------------------------- */

static int status_item(struct ec2_instance_listing *l, const struct instance *m)
{
	struct health h;
	char scratch[32];
	struct xmlw *w = l->ctx->w;
	const int *include_all = l->arg;
	if ((strcmp(m->state, "running") != 0 && !*include_all) || ec2_instance_listing_forgotten(l, m))
		return 0;
	health_of(l->ctx, m, l->now, &h);
	for (size_t i = 0; i < l->nfilters; i++) {
		const char *v = status_field(m, &h, l->filters[i].name, scratch, sizeof scratch);
		if (!v || !filter_match_any(l->filters[i].values, l->filters[i].nvalues, v))
			return 0;
	}
	if (ec2_instance_listing_full(l, m))
		return 1;
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
	return 0;
}

static int status_filter_known(const char *name)
{
	for (const char *const *p = status_filters; *p; p++)
		if (!strcmp(*p, name))
			return 1;
	return 0;
}

/* Writes the listing's items inside <set>, then its nextToken. */
static int listing_write(struct ec2_instance_listing *l, const char *set, struct err *e)
{
	xmlw_start(l->ctx->w, set);
	if (ec2_instance_listing_run(l, e) < 0)
		return -1;
	xmlw_end(l->ctx->w);
	if (l->more)
		ec2_page_write_token(l->ctx, l->last);
	return 0;
}

int ec2_describe_instance_status(struct ec2_ctx *ctx, struct err *e)
{
	int include_all = 0;
	struct ec2_instance_listing l = { .ctx = ctx, .e = e, .filter_known = status_filter_known,
				 .item = status_item, .arg = &include_all,
				 .max_ids = STATUS_MAX_IDS };
	if (query_get_bool(&ctx->q, "IncludeAllInstances", &include_all, e) < 0)
		return -1;
	return listing_write(&l, "instanceStatusSet", e);
}

/* ---- DescribeInstanceCreditSpecifications ------------------------------- */

static int credits_item(struct ec2_instance_listing *l, const struct instance *m)
{
	/* Unnamed, EC2 lists the instances running unlimited (or that did). */
	if (!l->by_id && (strcmp(m->cpu_credits, "unlimited") != 0 || ec2_instance_listing_forgotten(l, m)))
		return 0;
	for (size_t i = 0; i < l->nfilters; i++)
		if (!filter_match_any(l->filters[i].values, l->filters[i].nvalues, m->id))
			return 0;
	if (ec2_instance_listing_full(l, m))
		return 1;
	xmlw_start(l->ctx->w, "item");
	xmlw_text(l->ctx->w, "instanceId", m->id);
	xmlw_text(l->ctx->w, "cpuCredits", m->cpu_credits);
	xmlw_end(l->ctx->w);
	return 0;
}

/* A named instance of a type without CPU credits is an error on EC2. */
static int credits_check(const struct instance *m, struct err *e)
{
	if (!m->cpu_credits[0])
		return err_set(e, 400, "InstanceCreditSpecification.NotSupported",
			       "The instance '%s' is of type %s, which has no CPU credit option.",
			       m->id, m->instance_type);
	return 0;
}

static int credits_filter_known(const char *name)
{
	return !strcmp(name, "instance-id");
}

int ec2_describe_instance_credit_specifications(struct ec2_ctx *ctx, struct err *e)
{
	struct ec2_instance_listing l = { .ctx = ctx, .e = e, .filter_known = credits_filter_known,
				 .check = credits_check, .item = credits_item, .max_ids = 1000 };
	return listing_write(&l, "instanceCreditSpecificationSet", e);
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
