/*
 * ec2/instances.c: RunInstances, Start/Stop/Reboot/TerminateInstances and
 * GetConsoleOutput, and the Instance item they and DescribeInstances
 * (instances_describe.c) write.
 *
 * Each handler checks everything, records the state that starts the
 * transition in one transaction, and hands the machine work to compute
 * (src/compute/compute.c), which records where it ends.  So a request
 * answers at once with previous and current states, and DescribeInstances
 * then follows the real machine.
 *
 * The block device mapping of an instance is the image's, overridden by the
 * launch's (by device name); a launch mapping for a device the image maps
 * takes from the image whatever it leaves out (snapshot, size, type,
 * DeleteOnTermination), and the merged mapping is checked as a whole.  EBS
 * volumes are created lazily from the snapshots, root and launch-time
 * volumes with DeleteOnTermination true unless a mapping says otherwise;
 * ephemeralN devices get the instance type's instance store disks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "blockstore/volume.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_keypairs.h"
#include "catalog/catalog_network.h"
#include "catalog/catalog_volumes.h"
#include "compute/compute.h"
#include "compute/instance_types.h"
#include "util/codec.h"
#include "util/ids.h"

#define RUN_MAX_COUNT 20

int ec2_instance_owned(struct ec2_ctx *ctx, const char *id, struct instance *m,
		       struct err *e)
{
	memset(m, 0, sizeof *m);
	if (!ids_valid_resource("i", id))
		return err_set(e, 400, "InvalidInstanceID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"i-...\")", id);
	int found = catalog_instance_get(ctx->srv->cat, id, m, e);
	if (found < 0)
		return -1;
	if (!found || strcmp(m->owner_id, ctx->account) != 0) {
		if (found)
			instance_release(m);
		return err_set(e, 400, "InvalidInstanceID.NotFound",
			       "The instance ID '%s' does not exist", id);
	}
	return 0;
}

void ec2_missing_add(struct ec2_missing *m, const char *const *ids, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(ids[j], ids[i]))
			return;
	buf_printf(&m->names, "%s%s", m->count++ ? ", " : "", ids[i]);
}

int ec2_missing_report(struct ec2_missing *m, struct err *e, const char *code,
		       const char *one, const char *many, const char *tail)
{
	int ret = 0;
	if (m->count)
		ret = err_set(e, 400, code, "The %s '%.900s' %s%s", m->count == 1 ? one : many,
			      m->names.data, m->count == 1 ? "does not exist" : "do not exist", tail);
	buf_release(&m->names);
	m->count = 0;
	return ret;
}

int ec2_instances_owned(struct ec2_ctx *ctx, const char *const *ids, size_t n,
			struct instance *out, struct err *e)
{
	struct ec2_missing missing = { BUF_INIT, 0 };
	size_t got = 0;
	int ret = -1;
	memset(out, 0, n * sizeof *out);
	for (size_t i = 0; i < n; i++)
		if (!ids_valid_resource("i", ids[i]))
			return err_set(e, 400, "InvalidInstanceID.Malformed",
				       "Invalid id: \"%.64s\" (expecting \"i-...\")", ids[i]);
	for (; got < n; got++) {
		int found = catalog_instance_get(ctx->srv->cat, ids[got], &out[got], e);
		if (found < 0)
			goto out;
		if (found && !strcmp(out[got].owner_id, ctx->account))
			continue;
		if (found)
			instance_release(&out[got]);
		memset(&out[got], 0, sizeof out[got]);
		ec2_missing_add(&missing, ids, got);
	}
	ret = ec2_missing_report(&missing, e, "InvalidInstanceID.NotFound", "instance ID",
				 "instance IDs", "");
out:
	if (ret < 0)
		for (size_t i = 0; i < got; i++)
			instance_release(&out[i]);
	buf_release(&missing.names);
	return ret;
}

/* ---- the Instance item -------------------------------------------------- */

static void write_state(struct xmlw *w, const char *name, const char *state)
{
	xmlw_start(w, name);
	xmlw_int(w, "code", instance_state_code(state));
	xmlw_text(w, "name", state);
	xmlw_end(w);
}

int ec2_instance_private_dns(const struct instance *m, char *out, size_t cap)
{
	char ip[16];
	if (!strcmp(m->state, "terminated") || !m->private_ip[0])
		return 0;
	snprintf(ip, sizeof ip, "%s", m->private_ip);
	for (char *p = ip; *p; p++)
		if (*p == '.')
			*p = '-';
	snprintf(out, cap, "ip-%s.ec2.internal", ip);
	return 1;
}

/* The options EC2 shows for every instance, with amibox's (fixed) values. */
static void write_fixed_options(struct xmlw *w, const struct instance *m)
{
	const struct instance_type *type = instance_type_find(m->instance_type);
	if (type) {
		xmlw_start(w, "cpuOptions");
		xmlw_int(w, "coreCount", type->vcpus);
		xmlw_int(w, "threadsPerCore", 1);
		xmlw_end(w);
	}
	xmlw_start(w, "capacityReservationSpecification");
	xmlw_text(w, "capacityReservationPreference", "open");
	xmlw_end(w);
	xmlw_start(w, "hibernationOptions");
	xmlw_bool(w, "configured", 0);
	xmlw_end(w);
	xmlw_start(w, "enclaveOptions");
	xmlw_bool(w, "enabled", 0);
	xmlw_end(w);
	xmlw_start(w, "maintenanceOptions");
	xmlw_text(w, "autoRecovery", "default");
	xmlw_end(w);
	xmlw_start(w, "privateDnsNameOptions");
	xmlw_text(w, "hostnameType", "ip-name");
	xmlw_bool(w, "enableResourceNameDnsARecord", 0);
	xmlw_bool(w, "enableResourceNameDnsAAAARecord", 0);
	xmlw_end(w);
	xmlw_start(w, "operator");
	xmlw_bool(w, "managed", 0);
	xmlw_end(w);
}

void ec2_write_instance(struct xmlw *w, const struct instance *m, const struct tag_list *tags,
			const struct ec2_instance_net *net)
{
	char dns[64];
	int ended = !strcmp(m->state, "terminated");
	int in_vpc = net && net->n && !ended;
	xmlw_start(w, "item");
	xmlw_text(w, "instanceId", m->id);
	xmlw_text(w, "imageId", m->image_id);
	write_state(w, "instanceState", m->state);
	if (in_vpc) {
		xmlw_text(w, "privateDnsName", net->private_dns);
		xmlw_text(w, "dnsName", net->enis[0].public_ip[0] ? net->public_dns : "");
	} else {
		xmlw_text(w, "privateDnsName",
			  ec2_instance_private_dns(m, dns, sizeof dns) ? dns : "");
		xmlw_text(w, "dnsName", "");
	}
	xmlw_text(w, "reason", m->transition_reason);
	if (m->key_name[0])
		xmlw_text(w, "keyName", m->key_name);
	xmlw_int(w, "amiLaunchIndex", m->launch_index);
	xmlw_start(w, "productCodes");
	xmlw_end(w);
	xmlw_text(w, "instanceType", m->instance_type);
	xmlw_time(w, "launchTime", m->launch_ms);
	xmlw_start(w, "placement");
	xmlw_text(w, "availabilityZone", m->zone);
	xmlw_text(w, "groupName", "");
	xmlw_text(w, "tenancy", "default");
	xmlw_end(w);
	if (m->kernel_id[0])
		xmlw_text(w, "kernelId", m->kernel_id);
	if (m->ramdisk_id[0])
		xmlw_text(w, "ramdiskId", m->ramdisk_id);
	xmlw_start(w, "monitoring");
	xmlw_text(w, "state", "disabled");
	xmlw_end(w);
	if (!ended)
		xmlw_text(w, "privateIpAddress", m->private_ip);
	xmlw_bool(w, "sourceDestCheck", 1);
	ec2_write_instance_net(w, m, net);
	if (m->state_reason_code[0]) {
		xmlw_start(w, "stateReason");
		xmlw_text(w, "code", m->state_reason_code);
		xmlw_text(w, "message", m->state_reason_message);
		xmlw_end(w);
	}
	xmlw_text(w, "architecture", m->architecture);
	xmlw_text(w, "rootDeviceType", m->root_device_type);
	xmlw_text(w, "rootDeviceName", m->root_device_name);
	xmlw_start(w, "blockDeviceMapping");
	for (size_t i = 0; i < m->ndevices; i++) {
		const struct instance_device *d = &m->devices[i];
		if (!d->volume_id[0])
			continue; /* instance store devices are not listed */
		xmlw_start(w, "item");
		xmlw_text(w, "deviceName", d->device_name);
		xmlw_start(w, "ebs");
		xmlw_text(w, "volumeId", d->volume_id);
		xmlw_text(w, "status", d->status);
		xmlw_time(w, "attachTime", d->attach_ms);
		xmlw_bool(w, "deleteOnTermination", d->delete_on_termination);
		xmlw_end(w);
		xmlw_end(w);
	}
	xmlw_end(w);
	xmlw_text(w, "virtualizationType", m->virtualization_type);
	if (m->client_token[0])
		xmlw_text(w, "clientToken", m->client_token);
	ec2_write_tags(w, tags);
	xmlw_text(w, "hypervisor", "xen");
	xmlw_bool(w, "ebsOptimized", m->ebs_optimized);
	xmlw_bool(w, "enaSupport", !strcmp(m->virtualization_type, "hvm"));
	xmlw_text(w, "platformDetails", "Linux/UNIX");
	xmlw_text(w, "usageOperation", "RunInstances");
	xmlw_time(w, "usageOperationUpdateTime", m->launch_ms);
	xmlw_start(w, "metadataOptions");
	xmlw_text(w, "state", "applied");
	xmlw_text(w, "httpTokens", m->http_tokens[0] ? m->http_tokens : "optional");
	xmlw_int(w, "httpPutResponseHopLimit", 1);
	xmlw_text(w, "httpEndpoint", "enabled");
	xmlw_text(w, "httpProtocolIpv6", "disabled");
	xmlw_text(w, "instanceMetadataTags", "disabled");
	xmlw_end(w);
	write_fixed_options(w, m);
	xmlw_text(w, "currentInstanceBootMode", "legacy-bios");
	xmlw_end(w);
}

void ec2_write_reservation_head(struct xmlw *w, const char *reservation, const char *owner)
{
	xmlw_text(w, "reservationId", reservation);
	xmlw_text(w, "ownerId", owner);
	xmlw_start(w, "groupSet");
	xmlw_end(w);
}

/* ---- RunInstances ------------------------------------------------------- */

/*
 * A RunInstances parameter, NULL when absent or empty.  Terraform and Packer
 * send what they leave unset as empty strings (Placement.AvailabilityZone,
 * SubnetId, UserData, IamInstanceProfile.Name, ...), and EC2 takes an empty
 * value as no value.
 */
static const char *run_param(struct ec2_ctx *ctx, const char *name)
{
	const char *v = query_get(&ctx->q, name);
	return v && *v ? v : NULL;
}

/* "/dev/sda1" and "sda1" name the same device. */
static const char *run_device_base(const char *name)
{
	return !strncmp(name, "/dev/", 5) ? name + 5 : name;
}

/* The image's mapping for the device, or NULL. */
static const struct image_bdm *run_image_device(const struct image *img, const char *device)
{
	for (size_t i = 0; i < img->nbdm; i++)
		if (!strcmp(run_device_base(img->bdm[i].device_name), run_device_base(device)))
			return &img->bdm[i];
	return NULL;
}

/*
 * A copy of the request's parameters with some set: q borrows the client's
 * strings and owns the array; owned are the strings set here.
 */
struct run_query {
	struct query q;
	char **owned;
	size_t nowned;
};

/* Sets name to value: in place of the client's (empty) value, or added. */
static void run_query_set(struct run_query *rq, const char *name, const char *value)
{
	struct query_param *p = NULL;
	rq->owned = xrealloc(rq->owned, (rq->nowned + 2) * sizeof *rq->owned);
	for (size_t i = 0; i < rq->q.count && !p; i++)
		if (!strcmp(rq->q.params[i].name, name))
			p = &rq->q.params[i];
	if (!p) {
		rq->q.params = xrealloc(rq->q.params, (rq->q.count + 1) * sizeof *rq->q.params);
		p = &rq->q.params[rq->q.count++];
		p->name = rq->owned[rq->nowned++] = xstrdup(name);
		p->order = (size_t)-1 - rq->q.count; /* after everything the client sent */
	}
	p->value = rq->owned[rq->nowned++] = xstrdup(value);
}

static int run_param_cmp(const void *a, const void *b)
{
	const struct query_param *pa = a, *pb = b;
	int c = strcmp(pa->name, pb->name);
	return c ? c : (pa->order > pb->order) - (pa->order < pb->order);
}

static void run_query_release(struct run_query *rq)
{
	for (size_t i = 0; i < rq->nowned; i++)
		free(rq->owned[i]);
	free(rq->owned);
	free(rq->q.params);
}

/* 1 if the launch gave "<ebs><field>" (not empty); name gets that name. */
static int run_ebs_given(struct ec2_ctx *ctx, const char *ebs, const char *field,
			 char *name, size_t cap)
{
	snprintf(name, cap, "%s%s", ebs, field);
	return run_param(ctx, name) != NULL;
}

/*
 * The request's parameters with each launch mapping of a device the image
 * maps as EBS completed from the image's mapping: what the launch leaves
 * out (the snapshot, and with it the size; the type, and with it IOPS and
 * throughput; DeleteOnTermination) is the image's.  Terraform's
 * root_block_device and Packer's launch_block_device_mappings send only
 * what they change; reading the completed request checks every merged
 * mapping as a whole.
 */
static void run_complete_launch(struct ec2_ctx *ctx, const struct image *img,
				struct run_query *rq)
{
	unsigned *idx = NULL;
	size_t n = query_indices(&ctx->q, "BlockDeviceMapping", &idx);
	rq->q.params = xcalloc(ctx->q.count + 1, sizeof *rq->q.params);
	memcpy(rq->q.params, ctx->q.params, ctx->q.count * sizeof *ctx->q.params);
	rq->q.count = ctx->q.count;
	for (size_t k = 0; k < n; k++) {
		char name[128], value[32], ebs[64];
		snprintf(name, sizeof name, "BlockDeviceMapping.%u.DeviceName", idx[k]);
		const char *dev = query_get(&ctx->q, name);
		const struct image_bdm *m = dev ? run_image_device(img, dev) : NULL;
		snprintf(ebs, sizeof ebs, "BlockDeviceMapping.%u.Ebs.", idx[k]);
		int has_ebs = 0;
		for (size_t i = 0; i < ctx->q.count && !has_ebs; i++)
			has_ebs = !strncmp(ctx->q.params[i].name, ebs, strlen(ebs));
		if (!m || !m->ebs || !has_ebs)
			continue;
		if (!run_ebs_given(ctx, ebs, "SnapshotId", name, sizeof name)) {
			if (m->snapshot_id[0])
				run_query_set(rq, name, m->snapshot_id);
			if (!run_ebs_given(ctx, ebs, "VolumeSize", name, sizeof name) &&
			    m->volume_size) {
				snprintf(value, sizeof value, "%lld", m->volume_size);
				run_query_set(rq, name, value);
			}
		}
		if (!run_ebs_given(ctx, ebs, "DeleteOnTermination", name, sizeof name))
			run_query_set(rq, name, m->delete_on_termination ? "true" : "false");
		if (!run_ebs_given(ctx, ebs, "VolumeType", name, sizeof name) && m->volume_type[0]) {
			run_query_set(rq, name, m->volume_type);
			if (!run_ebs_given(ctx, ebs, "Iops", name, sizeof name) && m->iops) {
				snprintf(value, sizeof value, "%lld", m->iops);
				run_query_set(rq, name, value);
			}
			if (!run_ebs_given(ctx, ebs, "Throughput", name, sizeof name) &&
			    m->throughput) {
				snprintf(value, sizeof value, "%lld", m->throughput);
				run_query_set(rq, name, value);
			}
		}
	}
	free(idx);
	qsort(rq->q.params, rq->q.count, sizeof *rq->q.params, run_param_cmp);
}

/*
 * The image's mapping, with the launch's mappings (completed from the
 * image's for the devices it maps) in place of the image's for the same
 * device; NoDevice removes a device.
 */
static int run_mapping(struct ec2_ctx *ctx, const struct image *img,
		       struct image_bdm **out, size_t *count, struct err *e)
{
	struct run_query rq = { { NULL, 0 }, NULL, 0 };
	struct ec2_ctx completed = *ctx;
	struct image_bdm *launch = NULL, *merged = NULL;
	size_t nlaunch = 0, n = 0;
	run_complete_launch(ctx, img, &rq);
	completed.q = rq.q;
	int read = ec2_read_bdm(&completed, "BlockDeviceMapping", &launch, &nlaunch, e);
	run_query_release(&rq);
	if (read < 0)
		return -1;
	merged = xcalloc(img->nbdm + nlaunch + 1, sizeof *merged);
	for (size_t i = 0; i < img->nbdm; i++) {
		merged[n] = img->bdm[i];
		merged[n++].inherited = 1;
	}
	for (size_t k = 0; k < nlaunch; k++) {
		struct image_bdm *l = &launch[k];
		size_t at = n;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(run_device_base(merged[i].device_name),
				    run_device_base(l->device_name)))
				at = i;
		if (at == n) {
			merged[n++] = *l;
			continue;
		}
		/* The image's name for the device, and its snapshot's rights. */
		l->inherited = merged[at].ebs && l->ebs &&
			       !strcmp(merged[at].snapshot_id, l->snapshot_id);
		snprintf(l->device_name, sizeof l->device_name, "%s", merged[at].device_name);
		merged[at] = *l;
	}
	free(launch);
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (!merged[i].no_device)
			merged[w++] = merged[i];
	*out = merged;
	*count = w;
	return 0;
}

struct run_plan {
	struct image img;
	const struct instance_type *type;
	struct image_bdm *bdm;
	size_t nbdm;
	struct tag_list instance_tags, volume_tags;
	char *user_data;
	const char *shutdown;
	int disable_termination;
	int disable_stop;
	int ebs_optimized;
	char digest[72];          /* of the request, for ClientToken retries */
	char cpu_credits[16];     /* standard, unlimited, "" */
	const char *token;
	const char *key_name;
	const char *http_tokens;
	long long count;
	char kernel_id[ID_MAX];
	char ramdisk_id[ID_MAX];
	struct ec2_run_network net;
	struct key_pair key;      /* KeyName's, when given */
};

static void run_plan_release(struct run_plan *p)
{
	image_release(&p->img);
	free(p->bdm);
	tag_list_release(&p->instance_tags);
	tag_list_release(&p->volume_tags);
	free(p->user_data);
}

/*
 * What a retry with the same ClientToken must ask for again: a digest of
 * every parameter but the token itself, the action's envelope and the
 * Availability Zone (EC2 compares all but the Region and the zone), with
 * empty values left out as absent (a NoDevice="" is a value).
 */
static void run_digest(struct ec2_ctx *ctx, char out[72])
{
	static const char *const ignored[] = {
		"Action", "Version", "ClientToken", "DryRun", "Placement.AvailabilityZone",
	};
	struct buf canonical = BUF_INIT;
	unsigned char digest[32];
	for (size_t i = 0; i < ctx->q.count; i++) {
		const struct query_param *qp = &ctx->q.params[i];
		size_t len = strlen(qp->name);
		int skip = !*qp->value && (len < 9 || strcmp(qp->name + len - 9, ".NoDevice") != 0);
		for (size_t k = 0; k < sizeof ignored / sizeof ignored[0] && !skip; k++)
			skip = !strcmp(qp->name, ignored[k]);
		if (!skip)
			buf_printf(&canonical, "%zu:%s=%zu:%s;", len, qp->name,
				   strlen(qp->value), qp->value);
	}
	codec_sha256(canonical.data ? canonical.data : "", canonical.len, digest);
	codec_hex(digest, 16, out);
	buf_release(&canonical);
}

/* Whether the request asks for IPv6 addresses, for the instance or an interface. */
static int run_wants_ipv6(const struct query *q)
{
	for (size_t i = 0; i < q->count; i++) {
		const char *name = q->params[i].name, *value = q->params[i].value;
		const char *dot = strrchr(name, '.');
		const char *last = dot ? dot + 1 : name;
		if (!value[0])
			continue;
		int nic = !strncmp(name, "NetworkInterface.", 17);
		if (!strncmp(name, "Ipv6Address.", 12) ||
		    (nic && (strstr(name, ".Ipv6Addresses.") || strstr(name, ".Ipv6Prefix."))))
			return 1;
		if ((!strcmp(name, "Ipv6AddressCount") ||
		     (nic && (!strcmp(last, "Ipv6AddressCount") || !strcmp(last, "Ipv6PrefixCount")))) &&
		    strcmp(value, "0") != 0)
			return 1;
		if ((!strcmp(name, "EnablePrimaryIpv6") || (nic && !strcmp(last, "PrimaryIpv6"))) &&
		    !strcmp(value, "true"))
			return 1;
	}
	return 0;
}

/*
 * What a launch can name that amibox does not have yet (launch templates,
 * instance profiles, IPv6): refused as EC2 refuses a name it does not know,
 * rather than launched without it.
 */
static int run_check_absent(struct ec2_ctx *ctx, struct err *e)
{
	const char *v;
	if ((v = run_param(ctx, "LaunchTemplate.LaunchTemplateId")))
		return err_set(e, 400, "InvalidLaunchTemplateId.NotFound",
			       "The specified launch template, with template ID %.64s, does not exist (amibox has no launch templates yet).",
			       v);
	if ((v = run_param(ctx, "LaunchTemplate.LaunchTemplateName")))
		return err_set(e, 400, "InvalidLaunchTemplateName.NotFoundException",
			       "The specified launch template, with template name %.128s, does not exist (amibox has no launch templates yet).",
			       v);
	if ((v = run_param(ctx, "IamInstanceProfile.Arn")))
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.256s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN (amibox has no instance profiles yet).",
			       v);
	if ((v = run_param(ctx, "IamInstanceProfile.Name")))
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.128s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name (amibox has no instance profiles yet).",
			       v);
	if (run_wants_ipv6(&ctx->q))
		return err_set(e, 400, "InvalidParameterValue",
			       "IPv6 addresses cannot be assigned: amibox's subnets have no IPv6 CIDR block (no IPv6 yet).");
	return 0;
}

static int run_check(struct ec2_ctx *ctx, struct run_plan *p, struct err *e)
{
	long long min = 0, max = 0;
	if (run_check_absent(ctx, e) < 0)
		return -1;
	const char *image_id = ec2_require(ctx, "ImageId", e);
	const char *type_name = run_param(ctx, "InstanceType");
	const char *kernel = run_param(ctx, "KernelId");
	const char *ramdisk = run_param(ctx, "RamdiskId");
	const char *user_data = run_param(ctx, "UserData");
	const char *zone = run_param(ctx, "Placement.AvailabilityZone");
	p->shutdown = run_param(ctx, "InstanceInitiatedShutdownBehavior");
	p->token = run_param(ctx, "ClientToken");
	p->key_name = run_param(ctx, "KeyName");
	p->http_tokens = run_param(ctx, "MetadataOptions.HttpTokens");
	const char *credits = run_param(ctx, "CreditSpecification.CpuCredits");
	if (!image_id)
		return -1;
	if (!query_get(&ctx->q, "MinCount") || !query_get(&ctx->q, "MaxCount"))
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameters MinCount and MaxCount");
	if (query_get_int(&ctx->q, "MinCount", 1, 100000, &min, e) < 0 ||
	    query_get_int(&ctx->q, "MaxCount", 1, 100000, &max, e) < 0 ||
	    query_get_bool(&ctx->q, "DisableApiTermination", &p->disable_termination, e) < 0 ||
	    query_get_bool(&ctx->q, "DisableApiStop", &p->disable_stop, e) < 0 ||
	    query_get_bool(&ctx->q, "EbsOptimized", &p->ebs_optimized, e) < 0)
		return -1;
	run_digest(ctx, p->digest);
	if (min > max)
		return err_set(e, 400, "InvalidParameterValue",
			       "MinCount (%lld) must not be larger than MaxCount (%lld).", min, max);
	if (min > RUN_MAX_COUNT)
		return err_set(e, 400, "InstanceLimitExceeded",
			       "You have requested more instances (%lld) than this amibox allows at once (%d).",
			       min, RUN_MAX_COUNT);
	p->count = max < RUN_MAX_COUNT ? max : RUN_MAX_COUNT;
	if (p->shutdown && strcmp(p->shutdown, "stop") != 0 && strcmp(p->shutdown, "terminate") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.32s) for parameter instanceInitiatedShutdownBehavior is invalid. Expected: 'stop' or 'terminate'.",
			       p->shutdown);
	if (p->http_tokens && strcmp(p->http_tokens, "optional") != 0 &&
	    strcmp(p->http_tokens, "required") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.32s) for parameter HttpTokens is invalid.", p->http_tokens);
	if (p->token && strlen(p->token) > 64)
		return err_set(e, 400, "InvalidParameterValue",
			       "ClientToken must be at most 64 characters long.");
	if (zone && ec2_zone_index(ctx->srv, zone) < 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid availability zone: [%.64s]", zone);
	if (user_data) {
		struct buf raw = BUF_INIT;
		if (strlen(user_data) > INSTANCE_USER_DATA_MAX ||
		    codec_unbase64(user_data, strlen(user_data), &raw) < 0 || raw.len > 16384) {
			buf_release(&raw);
			return err_set(e, 400, "InvalidParameterValue",
				       "User data must be base64, at most 16 KiB decoded.");
		}
		buf_release(&raw);
		p->user_data = xstrdup(user_data);
	}
	p->type = instance_type_find(type_name ? type_name : "m1.small");
	if (!p->type)
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid value '%.64s' for InstanceType.", type_name);
	/* A burstable type's CPU credit option: the request's, or the family's. */
	const char *family_credits = ec2_credit_default(p->type->name);
	if (credits && strcmp(credits, "standard") != 0 && strcmp(credits, "unlimited") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.32s) for parameter cpuCredits is invalid. Expected: 'standard' or 'unlimited'.",
			       credits);
	if (credits && !family_credits)
		return err_set(e, 400, "InstanceCreditSpecification.NotSupported",
			       "The %s instance type does not support T2 Unlimited.", p->type->name);
	snprintf(p->cpu_credits, sizeof p->cpu_credits, "%s",
		 credits ? credits : family_credits ? family_credits : "");
	if (ec2_image_lookup(ctx, image_id, &p->img, e) < 0)
		return -1;
	if (strcmp(p->img.image_type, "machine") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "%s is a %s image; instances launch from machine images.",
			       image_id, p->img.image_type);
	if (strcmp(p->img.state, "available") != 0)
		return err_set(e, 400, "InvalidAMIID.Unavailable",
			       "Image %s is %s, not available.", image_id, p->img.state);
	int pv = !strcmp(p->img.virtualization_type, "paravirtual");
	if (pv && !p->type->paravirtual)
		return err_set(e, 400, "InvalidParameterCombination",
			       "Virtualization type 'paravirtual' is not supported for instance type '%s'; launch paravirtual images on a previous-generation type (t1, m1, m2, m3, c1, c3, hs1).",
			       p->type->name);
	if (!pv && !p->type->hvm)
		return err_set(e, 400, "InvalidParameterCombination",
			       "Non-Windows instances with a virtualization type of 'hvm' are currently not supported for this instance type.");
	int arm = !strncmp(p->img.architecture, "arm64", 5);
	if (arm != p->type->arm64 ||
	    (!strcmp(p->img.architecture, "i386") && p->type->current_generation))
		return err_set(e, 400, "InvalidParameterValue",
			       "The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI.",
			       p->type->arm64 ? "arm64" : "x86_64", p->img.architecture);
	if (arm)
		return err_set(e, 400, "Unsupported",
			       "This amibox host runs x86 guests only.");
	if (!pv && (kernel || ramdisk))
		return err_set(e, 400, "InvalidParameterCombination",
			       "KernelId and RamdiskId apply to paravirtual images only.");
	/* A PV instance boots the image's kernel (PV-GRUB), or the one named. */
	const char *boot_images[2] = { kernel, ramdisk };
	for (int k = 0; k < 2; k++) {
		struct image bi;
		const char *want = k == 0 ? "kernel" : "ramdisk";
		if (!boot_images[k])
			continue;
		if (!ids_valid_resource(k == 0 ? "aki" : "ari", boot_images[k]))
			return err_set(e, 400, k == 0 ? "InvalidKernelId.Malformed" : "InvalidRamDiskId.Malformed",
				       "Invalid id: \"%.64s\"", boot_images[k]);
		if (ec2_image_lookup(ctx, boot_images[k], &bi, e) < 0)
			return -1;
		int ok = !strcmp(bi.image_type, want);
		image_release(&bi);
		if (!ok)
			return err_set(e, 400, "InvalidParameterValue", "%s is not a %s image.",
				       boot_images[k], want);
	}
	snprintf(p->kernel_id, sizeof p->kernel_id, "%s", kernel ? kernel : p->img.kernel_id);
	snprintf(p->ramdisk_id, sizeof p->ramdisk_id, "%s", ramdisk ? ramdisk : p->img.ramdisk_id);
	int instance_store = !strcmp(p->img.root_device_type, "instance-store");
	if (instance_store && p->disable_stop)
		return err_set(e, 400, "UnsupportedOperation",
			       "Stop protection is not supported for instance store-backed instances: %s is instance-store-backed.",
			       image_id);
	if (instance_store && p->type->disks == 0)
		return err_set(e, 400, "InvalidParameterCombination",
			       "The instance type '%s' has no instance storage; instance-store-backed image %s launches on a type that has some (m1, m2, m3, c1, c3, hs1, ...).",
			       p->type->name, image_id);
	/* The mapping: snapshots visible, sizes right, a root device. */
	if (run_mapping(ctx, &p->img, &p->bdm, &p->nbdm, e) < 0 ||
	    ec2_check_bdm_snapshots(ctx, p->bdm, p->nbdm, NULL, e) < 0)
		return -1;
	int root = 0;
	for (size_t i = 0; i < p->nbdm; i++) {
		const struct image_bdm *b = &p->bdm[i];
		if (b->ebs && b->snapshot_id[0]) {
			struct snapshot s;
			if (catalog_snapshot_get(ctx->srv->cat, b->snapshot_id, &s, e) <= 0 ||
			    strcmp(s.status, "completed") != 0)
				return err_set(e, 400, "IncorrectState",
					       "Snapshot %s of the mapping is not completed.", b->snapshot_id);
		}
		if (!strcmp(b->device_name, p->img.root_device_name)) {
			if (instance_store)
				return err_set(e, 400, "InvalidBlockDeviceMapping",
					       "The root device %s of an instance-store-backed image comes from its bundle.",
					       b->device_name);
			if (!b->ebs)
				return err_set(e, 400, "InvalidBlockDeviceMapping",
					       "The root device %s must stay an EBS volume.", b->device_name);
			root = 1;
		}
	}
	if (!root && !instance_store)
		return err_set(e, 400, "InvalidBlockDeviceMapping",
			       "The launch would have no root device (%s).", p->img.root_device_name);
	static const char *const types[] = { "instance", "volume" };
	struct tag_list *lists[] = { &p->instance_tags, &p->volume_tags };
	if (ec2_tag_specifications_for(ctx, types, lists, 2, e) < 0)
		return -1;
	if (p->key_name) {
		int found = catalog_keypair_by_name(ctx->srv->cat, ctx->account, p->key_name,
						    &p->key, e);
		if (found < 0)
			return -1;
		if (!found)
			return err_set(e, 400, "InvalidKeyPair.NotFound",
				       "The key pair '%.255s' does not exist", p->key_name);
	}
	/* Last: it may make the account's default VPC, which takes a transaction. */
	return ec2_run_network_check(ctx, zone, p->count, &p->net, e);
}

/* In the run's transaction: one instance with its volumes. */
static int run_one(struct ec2_ctx *ctx, struct run_plan *p, const char *reservation,
		   int index, long long now, struct instance *m, struct err *e)
{
	struct catalog *cat = ctx->srv->cat;
	memset(m, 0, sizeof *m);
	ids_resource("i", m->id);
	snprintf(m->reservation_id, sizeof m->reservation_id, "%s", reservation);
	snprintf(m->owner_id, sizeof m->owner_id, "%s", ctx->account);
	snprintf(m->image_id, sizeof m->image_id, "%s", p->img.id);
	snprintf(m->instance_type, sizeof m->instance_type, "%s", p->type->name);
	snprintf(m->state, sizeof m->state, "pending");
	m->launch_ms = m->state_ms = now;
	snprintf(m->root_device_type, sizeof m->root_device_type, "%s", p->img.root_device_type);
	snprintf(m->root_device_name, sizeof m->root_device_name, "%s", p->img.root_device_name);
	snprintf(m->virtualization_type, sizeof m->virtualization_type, "%s", p->img.virtualization_type);
	snprintf(m->architecture, sizeof m->architecture, "%s", p->img.architecture);
	snprintf(m->kernel_id, sizeof m->kernel_id, "%s", p->kernel_id);
	snprintf(m->ramdisk_id, sizeof m->ramdisk_id, "%s", p->ramdisk_id);
	snprintf(m->shutdown_behavior, sizeof m->shutdown_behavior, "%s",
		 p->shutdown ? p->shutdown : "stop");
	m->disable_api_termination = p->disable_termination;
	m->disable_api_stop = p->disable_stop;
	m->ebs_optimized = p->ebs_optimized;
	snprintf(m->request_digest, sizeof m->request_digest, "%s", p->digest);
	snprintf(m->cpu_credits, sizeof m->cpu_credits, "%s", p->cpu_credits);
	snprintf(m->client_token, sizeof m->client_token, "%s", p->token ? p->token : "");
	m->launch_index = index;
	snprintf(m->zone, sizeof m->zone, "%s", p->net.zone);
	snprintf(m->key_name, sizeof m->key_name, "%s", p->key_name ? p->key_name : "");
	snprintf(m->http_tokens, sizeof m->http_tokens, "%s", p->http_tokens ? p->http_tokens : "optional");
	m->user_data = p->user_data ? xstrdup(p->user_data) : NULL;
	m->devices = xcalloc(p->nbdm + 1, sizeof *m->devices);
	if (!strcmp(p->img.root_device_type, "instance-store")) {
		/* The root: the bundle, unpacked into the instance store before boot. */
		struct instance_device *d = &m->devices[m->ndevices++];
		snprintf(d->device_name, sizeof d->device_name, "%s", p->img.root_device_name);
		snprintf(d->virtual_name, sizeof d->virtual_name, "root");
		d->attach_ms = now;
		snprintf(d->status, sizeof d->status, "attached");
	}
	for (size_t i = 0; i < p->nbdm; i++) {
		const struct image_bdm *b = &p->bdm[i];
		struct instance_device *d = &m->devices[m->ndevices];
		if (b->virtual_name[0]) {
			int n = atoi(b->virtual_name + strlen("ephemeral"));
			if (n >= p->type->disks)
				continue; /* more ephemeral names than the type has disks */
			snprintf(d->virtual_name, sizeof d->virtual_name, "%s", b->virtual_name);
		} else {
			struct volume_row v;
			memset(&v, 0, sizeof v);
			ids_resource("vol", v.id);
			snprintf(v.owner_id, sizeof v.owner_id, "%s", ctx->account);
			v.size_gib = b->volume_size;
			snprintf(v.snapshot_id, sizeof v.snapshot_id, "%s", b->snapshot_id);
			snprintf(v.base_snapshot_id, sizeof v.base_snapshot_id, "%s", b->snapshot_id);
			snprintf(v.map_snapshot_id, sizeof v.map_snapshot_id, "%s", b->snapshot_id);
			snprintf(v.zone, sizeof v.zone, "%s", p->net.zone);
			snprintf(v.state, sizeof v.state, "in-use");
			snprintf(v.volume_type, sizeof v.volume_type, "%s", b->volume_type);
			v.iops = b->iops;
			v.throughput = b->throughput;
			v.create_ms = now;
			if (volume_create(ctx->srv->data_dir, v.id, v.size_gib, v.base_snapshot_id, e) < 0 ||
			    catalog_volume_insert(cat, &v, e) < 0)
				return -1;
			for (size_t t = 0; t < p->volume_tags.count; t++)
				if (catalog_tag_set(cat, v.id, "volume", ctx->account,
						    p->volume_tags.items[t].key,
						    p->volume_tags.items[t].value, e) < 0)
					return -1;
			snprintf(d->volume_id, sizeof d->volume_id, "%s", v.id);
			d->delete_on_termination = b->delete_on_termination;
		}
		snprintf(d->device_name, sizeof d->device_name, "%s", b->device_name);
		d->attach_ms = now;
		snprintf(d->status, sizeof d->status, "attached");
		m->ndevices++;
	}
	if (ec2_run_network_apply(ctx, &p->net, m, e) < 0 ||
	    catalog_instance_insert(cat, m, e) < 0 ||
	    (p->key_name && catalog_instance_key_set(cat, m->id, p->key.name, p->key.public_key,
						     e) < 0))
		return -1;
	for (size_t t = 0; t < p->instance_tags.count; t++)
		if (catalog_tag_set(cat, m->id, "instance", ctx->account,
				    p->instance_tags.items[t].key,
				    p->instance_tags.items[t].value, e) < 0)
			return -1;
	return 0;
}

/*
 * The earlier launch with the request's ClientToken, in the launch's
 * transaction (two retries at once launch once): 1 with its reservation,
 * 0 when the token is new, -1 when the retry asks for something else.
 */
static int run_prior(struct ec2_ctx *ctx, const struct run_plan *p,
		     char reservation[ID_MAX], struct err *e)
{
	struct instance prior;
	int found = catalog_instance_by_token(ctx->srv->cat, ctx->account, p->token, &prior, e);
	if (found <= 0)
		return found;
	/* Rows from before digests were kept have none to compare. */
	int same = !prior.request_digest[0] || !strcmp(prior.request_digest, p->digest);
	snprintf(reservation, ID_MAX, "%s", prior.reservation_id);
	instance_release(&prior);
	if (!same)
		return err_set(e, 400, "IdempotentParameterMismatch",
			       "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).");
	return 1;
}

struct reservation_write {
	struct ec2_ctx *ctx;
	struct err *e;
	int failed;
};

static int reservation_visit(void *ctx, const struct instance *m)
{
	struct reservation_write *r = ctx;
	struct tag_list tags = { NULL, 0 };
	struct ec2_instance_net net;
	if (catalog_tags_get(r->ctx->srv->cat, m->id, &tags, r->e) < 0 ||
	    ec2_instance_net_load(r->ctx, m, &net, r->e) < 0) {
		tag_list_release(&tags);
		r->failed = 1;
		return 1;
	}
	ec2_write_instance(r->ctx->w, m, &tags, &net);
	ec2_instance_net_release(&net);
	tag_list_release(&tags);
	return 0;
}

/* The answer to a retry: the earlier launch's reservation as it is now. */
static int run_write_prior(struct ec2_ctx *ctx, const char *reservation, struct err *e)
{
	struct reservation_write r = { ctx, e, 0 };
	ec2_write_reservation_head(ctx->w, reservation, ctx->account);
	xmlw_start(ctx->w, "instancesSet");
	if (catalog_instance_each_in_reservation(ctx->srv->cat, reservation, reservation_visit,
						 &r, e) < 0 || r.failed)
		return -1;
	xmlw_end(ctx->w);
	return 0;
}

int ec2_run_instances(struct ec2_ctx *ctx, struct err *e)
{
	struct run_plan p;
	struct instance *made = NULL;
	char reservation[ID_MAX];
	int ret = -1, made_count = 0;
	memset(&p, 0, sizeof p);
	if (run_check(ctx, &p, e) < 0)
		goto out;
	ids_resource("r", reservation);
	made = xcalloc((size_t)p.count, sizeof *made);
	long long now = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (p.token) {
		char prior[ID_MAX];
		int found = run_prior(ctx, &p, prior, e);
		if (found) {
			catalog_rollback(ctx->srv->cat);
			if (found > 0 && run_write_prior(ctx, prior, e) == 0)
				ret = 0;
			goto out;
		}
	}
	for (; made_count < p.count; made_count++)
		if (run_one(ctx, &p, reservation, made_count, now, &made[made_count], e) < 0) {
			made_count++;
			catalog_rollback(ctx->srv->cat);
			for (int i = 0; i < made_count; i++)
				for (size_t d = 0; d < made[i].ndevices; d++)
					if (made[i].devices[d].volume_id[0]) {
						struct err ignored = ERR_INIT;
						volume_remove(ctx->srv->data_dir, made[i].devices[d].volume_id,
							      &ignored);
					}
			goto out;
		}
	if (catalog_image_set_time(ctx->srv->cat, p.img.id, "last_launched_ms", now, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_write_reservation_head(ctx->w, reservation, ctx->account);
	xmlw_start(ctx->w, "instancesSet");
	for (int i = 0; i < made_count; i++) {
		struct ec2_instance_net net;
		struct err ignored = ERR_INIT;
		int have_net = ec2_instance_net_load(ctx, &made[i], &net, &ignored) == 0;
		ec2_write_instance(ctx->w, &made[i], &p.instance_tags, have_net ? &net : NULL);
		if (have_net)
			ec2_instance_net_release(&net);
		compute_boot(ctx->srv->compute, made[i].id);
	}
	xmlw_end(ctx->w);
	ret = 0;
out:
	for (int i = 0; i < made_count; i++)
		instance_release(&made[i]);
	free(made);
	run_plan_release(&p);
	return ret;
}

/* ---- state changes ------------------------------------------------------ */

enum change { CHANGE_START, CHANGE_STOP, CHANGE_TERMINATE, CHANGE_REBOOT };

/*
 * Reads InstanceId.N, checks each (all or nothing), records the new states
 * in one transaction, writes instancesSet with previous/current states, and
 * then starts the machine work.
 */
static int change_states(struct ec2_ctx *ctx, enum change what, struct err *e)
{
	const char **ids = NULL;
	struct instance *list = NULL;
	char (*previous)[16] = NULL;
	size_t n = query_list(&ctx->q, "InstanceId", &ids), got = 0;
	int force = 0, ret = -1;
	if (!n) {
		err_set(e, 400, "MissingParameter", "The request must contain the parameter InstanceId");
		goto out;
	}
	if (n > 1000) {
		err_set(e, 400, "InvalidParameterValue", "At most 1000 instances per request.");
		goto out;
	}
	if (query_get_bool(&ctx->q, "Force", &force, e) < 0)
		goto out;
	int hibernate = 0;
	if (query_get_bool(&ctx->q, "Hibernate", &hibernate, e) < 0)
		goto out;
	if (hibernate) {
		err_set(e, 400, "UnsupportedHibernationConfiguration",
			"amibox instances cannot hibernate.");
		goto out;
	}
	list = xcalloc(n, sizeof *list);
	previous = xcalloc(n, sizeof *previous);
	if (ec2_instances_owned(ctx, ids, n, list, e) < 0)
		goto out;
	got = n;
	/* Every instance must allow the change before any changes. */
	for (size_t i = 0; i < n; i++) {
		const struct instance *m = &list[i];
		const char *s = m->state;
		int ended = !strcmp(s, "terminated");
		/* Stop protection guards against termination too, and comes first. */
		if ((what == CHANGE_STOP || what == CHANGE_TERMINATE) && m->disable_api_stop && !ended) {
			err_set(e, 400, "OperationNotPermitted",
				"The instance '%s' may not be %s. Modify its 'disableApiStop' instance attribute and try again.",
				m->id, what == CHANGE_STOP ? "stopped" : "terminated");
			goto out;
		}
		if (what == CHANGE_TERMINATE && m->disable_api_termination && !ended) {
			err_set(e, 400, "OperationNotPermitted",
				"The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.",
				m->id);
			goto out;
		}
		if ((what == CHANGE_STOP || what == CHANGE_START) &&
		    !strcmp(m->root_device_type, "instance-store")) {
			err_set(e, 400, "UnsupportedOperation",
				"The instance '%s' does not have an 'ebs' root device type and cannot be %s.",
				m->id, what == CHANGE_STOP ? "stopped" : "started");
			goto out;
		}
		if (what == CHANGE_STOP && (!strcmp(s, "terminated") || !strcmp(s, "shutting-down"))) {
			err_set(e, 400, "IncorrectInstanceState",
				"This instance '%s' is not in a state from which it can be stopped.", m->id);
			goto out;
		}
		if (what == CHANGE_START && strcmp(s, "stopped") != 0 && strcmp(s, "running") != 0 &&
		    strcmp(s, "pending") != 0) {
			err_set(e, 400, "IncorrectInstanceState",
				"The instance '%s' is not in a state from which it can be started.", m->id);
			goto out;
		}
		if (what == CHANGE_REBOOT && (!strcmp(s, "stopped") || !strcmp(s, "stopping"))) {
			err_set(e, 400, "IncorrectInstanceState",
				"The instance '%s' is not in a state from which it can be rebooted.", m->id);
			goto out;
		}
	}
	if (what == CHANGE_REBOOT) {
		for (size_t i = 0; i < n; i++)
			if (!strcmp(list[i].state, "running"))
				compute_reboot(ctx->srv->compute, list[i].id, e);
		err_clear(e);
		ec2_return_true(ctx);
		ret = 0;
		goto out;
	}
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct instance *m = &list[i];
		const char *next = NULL;
		snprintf(previous[i], sizeof previous[i], "%s", m->state);
		if (what == CHANGE_START && !strcmp(m->state, "stopped"))
			next = "pending";
		else if (what == CHANGE_STOP && (!strcmp(m->state, "running") ||
						 !strcmp(m->state, "pending") ||
						 (force && !strcmp(m->state, "stopping"))))
			next = "stopping";
		else if (what == CHANGE_TERMINATE && strcmp(m->state, "terminated") != 0 &&
			 strcmp(m->state, "shutting-down") != 0)
			next = "shutting-down";
		if (!next)
			continue;
		char reason[128], when[ISO_TIME_MAX];
		ids_iso_time(ids_now_ms(), when);
		snprintf(reason, sizeof reason, "User initiated (%.10s %.8s GMT)", when, when + 11);
		if (catalog_instance_set_state(ctx->srv->cat, m->id, next, NULL, NULL, e) < 0 ||
		    (what != CHANGE_START &&
		     catalog_instance_set_text(ctx->srv->cat, m->id, "transition_reason", reason, e) < 0)) {
			catalog_rollback(ctx->srv->cat);
			goto out;
		}
		snprintf(m->state, sizeof m->state, "%s", next);
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_start(ctx->w, "instancesSet");
	for (size_t i = 0; i < n; i++) {
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(ids[j], ids[i]);
		if (dup)
			continue;
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, "instanceId", list[i].id);
		write_state(ctx->w, "currentState", list[i].state);
		write_state(ctx->w, "previousState", previous[i]);
		xmlw_end(ctx->w);
		if (!strcmp(previous[i], list[i].state) && !(force && what == CHANGE_STOP))
			continue;
		if (what == CHANGE_START)
			compute_boot(ctx->srv->compute, list[i].id);
		else
			compute_shutdown(ctx->srv->compute, list[i].id,
					 force || what == CHANGE_TERMINATE);
	}
	xmlw_end(ctx->w);
	ret = 0;
out:
	for (size_t i = 0; i < got; i++)
		instance_release(&list[i]);
	free(list);
	free(previous);
	free(ids);
	return ret;
}

int ec2_start_instances(struct ec2_ctx *ctx, struct err *e)
{
	return change_states(ctx, CHANGE_START, e);
}

int ec2_stop_instances(struct ec2_ctx *ctx, struct err *e)
{
	return change_states(ctx, CHANGE_STOP, e);
}

int ec2_terminate_instances(struct ec2_ctx *ctx, struct err *e)
{
	return change_states(ctx, CHANGE_TERMINATE, e);
}

int ec2_reboot_instances(struct ec2_ctx *ctx, struct err *e)
{
	return change_states(ctx, CHANGE_REBOOT, e);
}

/* ---- GetConsoleOutput --------------------------------------------------- */

int ec2_get_console_output(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	struct buf raw = BUF_INIT, b64 = BUF_INIT;
	long long mtime = 0;
	const char *id = ec2_require(ctx, "InstanceId", e);
	if (!id || ec2_instance_owned(ctx, id, &m, e) < 0)
		return -1;
	instance_release(&m);
	if (compute_console(ctx->srv->compute, id, &raw, &mtime, e) < 0) {
		buf_release(&raw);
		return -1;
	}
	xmlw_text(ctx->w, "instanceId", id);
	xmlw_time(ctx->w, "timestamp", mtime ? mtime : ids_now_ms());
	if (raw.len) {
		codec_base64((const unsigned char *)raw.data, raw.len, &b64);
		xmlw_text(ctx->w, "output", b64.data);
	}
	buf_release(&raw);
	buf_release(&b64);
	return 0;
}

/* GetConsoleScreenshot: a JPEG of a running instance's screen, base64. */
int ec2_get_console_screenshot(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	struct buf jpeg = BUF_INIT, b64 = BUF_INIT;
	int wake = 0, ret = -1;
	const char *id = ec2_require(ctx, "InstanceId", e);
	if (!id || query_get_bool(&ctx->q, "WakeUp", &wake, e) < 0 ||
	    ec2_instance_owned(ctx, id, &m, e) < 0)
		return -1;
	int running = !strcmp(m.state, "running");
	instance_release(&m);
	if (!running)
		return err_set(e, 400, "IncorrectInstanceState",
			       "The instance '%s' is not in a state from which a screenshot can be taken.",
			       id);
	if (compute_screenshot(ctx->srv->compute, id, &jpeg, e) < 0)
		goto out;
	codec_base64((const unsigned char *)jpeg.data, jpeg.len, &b64);
	xmlw_text(ctx->w, "instanceId", id);
	xmlw_text(ctx->w, "imageData", b64.data);
	ret = 0;
out:
	buf_release(&jpeg);
	buf_release(&b64);
	return ret;
}
