/*
 * ec2/images_describe.c: DescribeImages.
 *
 * Which images a request sees:
 *  - ImageId.N: exactly those, each of which the caller must be allowed to
 *    launch (owner, explicit grantee, public); any other is NotFound.  A
 *    deregistered image is described (state "deregistered") for a short
 *    while, then left out, and only later unknown (catalog_images.h).
 *    Listings never show deregistered images: Packer's force_deregister
 *    deregisters whatever a name filter lists, and a second deregistration
 *    is refused.
 *  - otherwise every image the caller may launch, narrowed by Owner.N
 *    (self, amazon, account IDs), ExecutableBy.N (self: own and shared with
 *    the caller; all: public; an account ID: shared with that account), and
 *    Filter.N (values OR'ed, filters AND'ed, '*' and '?' wildcards).
 *  - other accounts' deprecated images only with IncludeDeprecated=true or
 *    when named by ID; an owner always sees its own.
 *  - tags are the owner's: another account sees a shared image without them.
 *
 * A name filter with one literal prefix ("myapp-*") and a single Owner each
 * narrow the scan to an index range, so a lookup stays fast however large
 * the catalogue grows; results come in image ID order, and NextToken resumes
 * after the last image ID written.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_images.h"
#include "util/ids.h"

struct describe_images {
	struct ec2_ctx *ctx;
	struct err *e;
	struct query_filter *filters;
	size_t nfilters;
	char (*owners)[13];      /* resolved Owner.N; "" for an alias with no images */
	size_t nowners;
	const char **exec;       /* ExecutableBy.N */
	size_t nexec;
	int include_deprecated;
	int by_id;               /* ImageId.N given */
	long long now_ms;
	long long limit;
	long long written;
	char last[ID_MAX];
	int more;
	int failed;
};

/* ---- the Image item ----------------------------------------------------- */

void ec2_write_bdm(struct xmlw *w, const struct image_bdm *b, size_t n)
{
	xmlw_start(w, "blockDeviceMapping");
	for (size_t i = 0; i < n; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "deviceName", b[i].device_name);
		if (b[i].virtual_name[0])
			xmlw_text(w, "virtualName", b[i].virtual_name);
		if (b[i].no_device)
			xmlw_text(w, "noDevice", "");
		if (b[i].ebs) {
			xmlw_start(w, "ebs");
			if (b[i].snapshot_id[0])
				xmlw_text(w, "snapshotId", b[i].snapshot_id);
			xmlw_int(w, "volumeSize", b[i].volume_size);
			xmlw_bool(w, "deleteOnTermination", b[i].delete_on_termination);
			xmlw_text(w, "volumeType", b[i].volume_type);
			if (b[i].iops)
				xmlw_int(w, "iops", b[i].iops);
			if (b[i].throughput)
				xmlw_int(w, "throughput", b[i].throughput);
			xmlw_bool(w, "encrypted", 0);
			xmlw_end(w);
		}
		xmlw_end(w);
	}
	xmlw_end(w);
}

static void describe_write_image(struct xmlw *w, const struct image *m,
				 const struct tag_list *tags)
{
	char when[ISO_TIME_MAX];
	const char *alias = image_owner_alias(m->owner_id);
	xmlw_start(w, "item");
	xmlw_text(w, "imageId", m->id);
	xmlw_text(w, "imageLocation", m->image_location);
	xmlw_text(w, "imageState", m->state);
	xmlw_text(w, "imageOwnerId", m->owner_id);
	ids_iso_time(m->creation_ms, when);
	xmlw_text(w, "creationDate", when);
	xmlw_bool(w, "isPublic", m->is_public);
	xmlw_text(w, "architecture", m->architecture);
	xmlw_text(w, "imageType", m->image_type);
	if (m->kernel_id[0])
		xmlw_text(w, "kernelId", m->kernel_id);
	if (m->ramdisk_id[0])
		xmlw_text(w, "ramdiskId", m->ramdisk_id);
	xmlw_text(w, "platformDetails", "Linux/UNIX");
	xmlw_text(w, "usageOperation", "RunInstances");
	if (m->state_reason_code[0]) {
		xmlw_start(w, "stateReason");
		xmlw_text(w, "code", m->state_reason_code);
		xmlw_text(w, "message", m->state_reason_message);
		xmlw_end(w);
	}
	if (alias)
		xmlw_text(w, "imageOwnerAlias", alias);
	xmlw_text(w, "name", m->name);
	if (m->has_description)
		xmlw_text(w, "description", m->description);
	xmlw_text(w, "rootDeviceType", m->root_device_type);
	if (m->root_device_name[0])
		xmlw_text(w, "rootDeviceName", m->root_device_name);
	ec2_write_bdm(w, m->bdm, m->nbdm);
	xmlw_text(w, "virtualizationType", m->virtualization_type);
	if (tags)
		ec2_write_tags(w, tags);
	xmlw_text(w, "hypervisor", m->hypervisor);
	if (m->ena_support >= 0)
		xmlw_bool(w, "enaSupport", m->ena_support);
	if (m->sriov_net_support[0])
		xmlw_text(w, "sriovNetSupport", m->sriov_net_support);
	if (m->boot_mode[0])
		xmlw_text(w, "bootMode", m->boot_mode);
	if (m->tpm_support[0])
		xmlw_text(w, "tpmSupport", m->tpm_support);
	if (m->deprecation_ms) {
		ids_iso_time(m->deprecation_ms, when);
		xmlw_text(w, "deprecationTime", when);
	}
	if (m->imds_support[0])
		xmlw_text(w, "imdsSupport", m->imds_support);
	if (m->source_image_id[0]) {
		xmlw_text(w, "sourceImageId", m->source_image_id);
		xmlw_text(w, "sourceImageRegion", m->source_image_region);
	}
	if (m->source_instance_id[0])
		xmlw_text(w, "sourceInstanceId", m->source_instance_id);
	if (m->last_launched_ms) {
		ids_iso_time(m->last_launched_ms, when);
		xmlw_text(w, "lastLaunchedTime", when);
	}
	xmlw_text(w, "deregistrationProtection", "disabled");
	xmlw_bool(w, "freeTierEligible", 0);
	xmlw_end(w);
}

/* ---- filters ------------------------------------------------------------ */

static const char *const describe_filter_names[] = {
	"architecture", "block-device-mapping.delete-on-termination",
	"block-device-mapping.device-name", "block-device-mapping.encrypted",
	"block-device-mapping.snapshot-id", "block-device-mapping.volume-size",
	"block-device-mapping.volume-type", "creation-date", "description",
	"ena-support", "free-tier-eligible", "hypervisor", "image-allowed",
	"image-id", "image-type", "is-public", "kernel-id", "manifest-location",
	"name", "owner-alias", "owner-id", "platform", "product-code",
	"product-code.type", "ramdisk-id", "root-device-name",
	"root-device-type", "source-image-id", "source-image-region",
	"source-instance-id", "sriov-net-support", "state",
	"state-reason-code", "state-reason-message", "virtualization-type",
};

static int describe_filters_valid(const struct query_filter *f, size_t n,
				  struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		int known = ec2_is_tag_filter(f[i].name);
		for (size_t k = 0; !known && k < sizeof describe_filter_names /
						     sizeof describe_filter_names[0]; k++)
			known = !strcmp(f[i].name, describe_filter_names[k]);
		if (!known)
			return err_set(e, 400, "InvalidParameterValue",
				       "The filter '%.64s' is invalid", f[i].name);
	}
	return 0;
}

/* A block device mapping filter: does any mapping match? */
static int describe_bdm_match(const struct query_filter *f, const struct image *m)
{
	const char *field = f->name + strlen("block-device-mapping.");
	for (size_t i = 0; i < m->nbdm; i++) {
		const struct image_bdm *b = &m->bdm[i];
		char num[32];
		const char *v = NULL;
		if (!strcmp(field, "device-name")) {
			v = b->device_name;
		} else if (!b->ebs) {
			continue;
		} else if (!strcmp(field, "delete-on-termination")) {
			v = b->delete_on_termination ? "true" : "false";
		} else if (!strcmp(field, "encrypted")) {
			v = "false";
		} else if (!strcmp(field, "snapshot-id")) {
			v = b->snapshot_id;
		} else if (!strcmp(field, "volume-size")) {
			snprintf(num, sizeof num, "%lld", b->volume_size);
			v = num;
		} else if (!strcmp(field, "volume-type")) {
			v = b->volume_type;
		}
		if (v && filter_match_any(f->values, f->nvalues, v))
			return 1;
	}
	return 0;
}

/* The text a scalar filter compares; NULL when the image has no value. */
static const char *describe_field(const struct image *m, const char *name,
				  char *scratch)
{
	static const struct {
		const char *name;
		size_t offset;
	} text_fields[] = {
		{ "architecture", offsetof(struct image, architecture) },
		{ "hypervisor", offsetof(struct image, hypervisor) },
		{ "image-id", offsetof(struct image, id) },
		{ "image-type", offsetof(struct image, image_type) },
		{ "kernel-id", offsetof(struct image, kernel_id) },
		{ "manifest-location", offsetof(struct image, image_location) },
		{ "name", offsetof(struct image, name) },
		{ "owner-id", offsetof(struct image, owner_id) },
		{ "ramdisk-id", offsetof(struct image, ramdisk_id) },
		{ "root-device-name", offsetof(struct image, root_device_name) },
		{ "root-device-type", offsetof(struct image, root_device_type) },
		{ "source-image-id", offsetof(struct image, source_image_id) },
		{ "source-image-region", offsetof(struct image, source_image_region) },
		{ "source-instance-id", offsetof(struct image, source_instance_id) },
		{ "sriov-net-support", offsetof(struct image, sriov_net_support) },
		{ "state", offsetof(struct image, state) },
		{ "state-reason-code", offsetof(struct image, state_reason_code) },
		{ "state-reason-message", offsetof(struct image, state_reason_message) },
		{ "virtualization-type", offsetof(struct image, virtualization_type) },
	};
	for (size_t i = 0; i < sizeof text_fields / sizeof text_fields[0]; i++) {
		if (strcmp(name, text_fields[i].name) != 0)
			continue;
		const char *v = (const char *)m + text_fields[i].offset;
		return *v ? v : NULL;
	}
	if (!strcmp(name, "creation-date")) {
		ids_iso_time(m->creation_ms, scratch);
		return scratch;
	}
	if (!strcmp(name, "description"))
		return m->has_description ? m->description : NULL;
	if (!strcmp(name, "ena-support"))
		return m->ena_support < 0 ? NULL : m->ena_support ? "true" : "false";
	if (!strcmp(name, "free-tier-eligible"))
		return "false";
	if (!strcmp(name, "image-allowed"))
		return "true";
	if (!strcmp(name, "is-public"))
		return m->is_public ? "true" : "false";
	if (!strcmp(name, "owner-alias"))
		return image_owner_alias(m->owner_id);
	/* platform, product-code, product-code.type: Linux images have none. */
	return NULL;
}

static int describe_filters_match(struct describe_images *d, const struct image *m,
				  const struct tag_list *tags)
{
	char scratch[ISO_TIME_MAX];
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct query_filter *f = &d->filters[i];
		int ok;
		if (ec2_is_tag_filter(f->name)) {
			ok = ec2_tags_match(f, tags);
		} else if (!strncmp(f->name, "block-device-mapping.", 21)) {
			ok = describe_bdm_match(f, m);
		} else {
			const char *v = describe_field(m, f->name, scratch);
			ok = v && filter_match_any(f->values, f->nvalues, v);
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/* ---- who may see what --------------------------------------------------- */

static int describe_owner_ok(struct describe_images *d, const struct image *m)
{
	if (!d->nowners)
		return 1;
	for (size_t i = 0; i < d->nowners; i++)
		if (!strcmp(d->owners[i], m->owner_id))
			return 1;
	return 0;
}

static int describe_exec_ok(struct describe_images *d, const struct image *m,
			    char **grantees, size_t ngrantees)
{
	for (size_t i = 0; i < d->nexec; i++) {
		const char *who = d->exec[i];
		if (!strcmp(who, "all")) {
			if (m->is_public)
				return 1;
			continue;
		}
		if (!strcmp(who, "self"))
			who = d->ctx->account;
		if (!strcmp(who, d->ctx->account) && !strcmp(m->owner_id, who))
			return 1;
		for (size_t g = 0; g < ngrantees; g++)
			if (!strcmp(grantees[g], who))
				return 1;
	}
	return 0;
}

/* Writes m if it passes every criterion; returns 1 to stop the scan. */
static int describe_one(struct describe_images *d, const struct image *m)
{
	struct catalog *cat = d->ctx->srv->cat;
	struct tag_list tags = { NULL, 0 };
	char **grantees = NULL;
	size_t ngrantees = 0;
	int stop = 0;
	int own = !strcmp(m->owner_id, d->ctx->account);
	if (!describe_owner_ok(d, m))
		return 0;
	if (!own && !d->by_id && !d->include_deprecated && m->deprecation_ms &&
	    m->deprecation_ms <= d->now_ms)
		return 0;
	/* A kept answer must not outlive a deprecation time passing. */
	if (m->deprecation_ms > d->now_ms && m->deprecation_ms < d->ctx->cache_until_ms)
		d->ctx->cache_until_ms = m->deprecation_ms;
	int launchable = catalog_image_launchable(cat, m, d->ctx->account, d->e);
	if (launchable < 0)
		goto fail;
	if (!launchable)
		goto out;
	if (d->nexec) {
		if (catalog_image_grantees(cat, m->id, &grantees, &ngrantees, d->e) < 0)
			goto fail;
		if (!describe_exec_ok(d, m, grantees, ngrantees))
			goto out;
	}
	if (own && catalog_tags_get(cat, m->id, &tags, d->e) < 0)
		goto fail;
	if (!describe_filters_match(d, m, &tags))
		goto out;
	if (d->limit && d->written == d->limit) {
		d->more = 1;
		stop = 1;
		goto out;
	}
	describe_write_image(d->ctx->w, m, own ? &tags : NULL);
	d->written++;
	snprintf(d->last, sizeof d->last, "%s", m->id);
	goto out;
fail:
	d->failed = 1;
	stop = 1;
out:
	for (size_t i = 0; i < ngrantees; i++)
		free(grantees[i]);
	free(grantees);
	tag_list_release(&tags);
	return stop;
}

static int describe_visit(void *ctx, const struct image *m)
{
	return describe_one(ctx, m);
}

/* Owner.N into account IDs. */
static int describe_owners(struct describe_images *d, const char **raw, size_t n,
			   struct err *e)
{
	d->owners = n ? xcalloc(n, sizeof *d->owners) : NULL;
	d->nowners = n;
	for (size_t i = 0; i < n; i++) {
		const char *o = raw[i];
		if (!strcmp(o, "self"))
			snprintf(d->owners[i], 13, "%s", d->ctx->account);
		else if (!strcmp(o, "amazon"))
			snprintf(d->owners[i], 13, "%s", AMAZON_ACCOUNT_ID);
		else if (!strcmp(o, "aws-marketplace") || !strcmp(o, "aws-backup-vault"))
			d->owners[i][0] = '\0'; /* nobody here publishes as them */
		else if (ids_valid_account(o))
			snprintf(d->owners[i], 13, "%s", o);
		else
			return err_set(e, 400, "InvalidUserID.Malformed",
				       "Invalid user id: \"%.64s\"", o);
	}
	return 0;
}

static int describe_exec_valid(const char **exec, size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(exec[i], "self") != 0 && strcmp(exec[i], "all") != 0 &&
		    !ids_valid_account(exec[i]))
			return err_set(e, 400, "InvalidUserID.Malformed",
				       "Invalid user id: \"%.64s\"", exec[i]);
	return 0;
}

/*
 * The index range for a name filter with one value that starts with a
 * literal prefix: [prefix, prefix with its last byte incremented).
 */
static int describe_name_range(const struct query_filter *f, size_t n,
			       char lo[IMAGE_NAME_MAX], char hi[IMAGE_NAME_MAX])
{
	const struct query_filter *name = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].name, "name") != 0)
			continue;
		if (name)
			return 0;
		name = &f[i];
	}
	if (!name || name->nvalues != 1)
		return 0;
	size_t len = strcspn(name->values[0], "*?\\");
	if (len == 0 || len >= IMAGE_NAME_MAX)
		return 0;
	memcpy(lo, name->values[0], len);
	lo[len] = '\0';
	memcpy(hi, lo, len + 1);
	while (len > 0 && (unsigned char)hi[len - 1] == 0xff)
		hi[--len] = '\0';
	if (len == 0)
		return 0;
	hi[len - 1] = (char)((unsigned char)hi[len - 1] + 1);
	return 1;
}

int ec2_describe_images(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_images d = { .ctx = ctx, .e = e, .now_ms = ids_now_ms() };
	struct ec2_page page;
	const char **ids = NULL, **owners = NULL;
	struct image *named = NULL;
	size_t nnamed = 0;
	int ret = -1;
	size_t nids = query_list(&ctx->q, "ImageId", &ids);
	size_t nowners = query_list(&ctx->q, "Owner", &owners);
	d.nexec = query_list(&ctx->q, "ExecutableBy", &d.exec);
	d.by_id = nids > 0;
	if (describe_owners(&d, owners, nowners, e) < 0 ||
	    describe_exec_valid(d.exec, d.nexec, e) < 0 ||
	    query_get_bool(&ctx->q, "IncludeDeprecated", &d.include_deprecated, e) < 0 ||
	    query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    describe_filters_valid(d.filters, d.nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	int disabled = 0;
	if (query_get_bool(&ctx->q, "IncludeDisabled", &disabled, e) < 0)
		goto out;
	if (nids && page.max_results) {
		err_set(e, 400, "InvalidParameterCombination",
			"The parameter ImageIds cannot be used with the parameter maxResults");
		goto out;
	}
	d.limit = page.max_results;
	/*
	 * Named images: every one must exist and be launchable by the caller;
	 * a recently deregistered one is described, then for a while nothing
	 * is (named[i].id stays "").
	 */
	if (nids) {
		const char **unknown = xcalloc(nids, sizeof *unknown);
		size_t nunknown = 0;
		named = xcalloc(nids, sizeof *named);
		for (; nnamed < nids; nnamed++) {
			int seen = ec2_image_find(ctx, ids[nnamed], &named[nnamed], e);
			if (seen < 0) {
				free(unknown);
				goto out;
			}
			if (seen == EC2_IMAGE_UNKNOWN)
				unknown[nunknown++] = ids[nnamed];
			/* A deregistered image's answer changes with time alone. */
			if (seen != EC2_IMAGE_FOUND ||
			    !strcmp(named[nnamed].state, "deregistered"))
				ctx->cache_until_ms = 0;
		}
		/* EC2 names every unknown ID, in the order given. */
		if (nunknown) {
			char list[400];
			ec2_join_ids(unknown, nunknown, list, sizeof list);
			err_set(e, 400, "InvalidAMIID.NotFound", nunknown == 1 ?
				"The image id '[%s]' does not exist" :
				"The image ids '[%s]' do not exist", list);
		}
		free(unknown);
		if (nunknown)
			goto out;
	}
	xmlw_start(ctx->w, "imagesSet");
	if (nids) {
		for (size_t i = 0; i < nids && !d.failed; i++) {
			int dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= !strcmp(ids[j], ids[i]);
			if (!dup && named[i].id[0])
				describe_one(&d, &named[i]);
		}
	} else {
		char lo[IMAGE_NAME_MAX], hi[IMAGE_NAME_MAX];
		struct image_scan scan = { .account_id = ctx->account,
					   .after = page.after };
		if (describe_name_range(d.filters, d.nfilters, lo, hi)) {
			scan.name_lo = lo;
			scan.name_hi = hi;
		} else if (d.nowners == 1) {
			scan.owner_id = d.owners[0];
		}
		if (catalog_image_each(ctx->srv->cat, &scan, describe_visit, &d, e) < 0)
			d.failed = 1;
	}
	xmlw_end(ctx->w);
	if (d.failed)
		goto out;
	if (d.more)
		ec2_page_write_token(ctx, d.last);
	ret = 0;
out:
	for (size_t i = 0; i < nnamed; i++)
		image_release(&named[i]);
	free(named);
	free(ids);
	free(owners);
	free(d.owners);
	free(d.exec);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}
