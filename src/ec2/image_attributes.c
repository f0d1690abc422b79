/*
 * ec2/image_attributes.c: Describe/Modify/ResetImageAttribute.
 *
 * Reading: launchPermission is the owner's alone; the other attributes can
 * be read by anyone who may launch the image.  Changing: only the owner,
 * and only what EC2 lets change: launchPermission (both request forms),
 * description, and imdsSupport (to v2.0, for good).  Reset: launchPermission.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ec2/internal.h"
#include "catalog/catalog_images.h"
#include "util/ids.h"

static const char *const image_attributes[] = {
	"description", "kernel", "ramdisk", "launchPermission", "productCodes",
	"blockDeviceMapping", "sriovNetSupport", "bootMode", "tpmSupport",
	"uefiData", "lastLaunchedTime", "imdsSupport", "deregistrationProtection",
	NULL,
};

/*
 * The attribute's own spelling, or NULL when unknown.  EC2 reads the name
 * without regard to case or surrounding blanks: Ansible's ec2_ami sends
 * "LaunchPermission" and "Description ".
 */
static const char *attribute_canonical(const char *a)
{
	while (*a == ' ' || *a == '\t')
		a++;
	size_t len = strlen(a);
	while (len && (a[len - 1] == ' ' || a[len - 1] == '\t'))
		len--;
	for (const char *const *p = image_attributes; *p; p++)
		if (strlen(*p) == len && !strncasecmp(*p, a, len))
			return *p;
	return NULL;
}

static int attribute_invalid(const char *a, struct err *e)
{
	return err_set(e, 400, "InvalidParameterValue",
		       "Value (%.64s) for parameter attribute is invalid. Unknown attribute.",
		       a);
}

/* <name><value>v</value></name>, or an empty <name/> when v is "". */
static void write_value(struct xmlw *w, const char *name, const char *v)
{
	xmlw_start(w, name);
	if (v && *v)
		xmlw_text(w, "value", v);
	xmlw_end(w);
}

static int write_launch_permissions(struct ec2_ctx *ctx, const char *id,
				    struct err *e)
{
	char **grantees = NULL;
	size_t n = 0;
	if (catalog_image_grantees(ctx->srv->cat, id, &grantees, &n, e) < 0)
		return -1;
	xmlw_start(ctx->w, "launchPermission");
	for (size_t i = 0; i < n; i++) {
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, !strcmp(grantees[i], "all") ? "group" : "userId",
			  grantees[i]);
		xmlw_end(ctx->w);
		free(grantees[i]);
	}
	xmlw_end(ctx->w);
	free(grantees);
	return 0;
}

int ec2_describe_image_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct image m;
	char when[ISO_TIME_MAX] = "";
	const char *id = ec2_require(ctx, "ImageId", e);
	const char *given = ec2_require(ctx, "Attribute", e);
	if (!id || !given)
		return -1;
	const char *a = attribute_canonical(given);
	if (!a)
		return attribute_invalid(given, e);
	if (!strcmp(a, "launchPermission") ? ec2_image_owned(ctx, id, &m, e) < 0 :
					     ec2_image_lookup(ctx, id, &m, e) < 0)
		return -1;
	int ret = 0;
	xmlw_text(ctx->w, "imageId", m.id);
	if (!strcmp(a, "launchPermission")) {
		ret = write_launch_permissions(ctx, m.id, e);
	} else if (!strcmp(a, "description")) {
		xmlw_start(ctx->w, "description");
		if (m.has_description)
			xmlw_text(ctx->w, "value", m.description);
		xmlw_end(ctx->w);
	} else if (!strcmp(a, "kernel")) {
		write_value(ctx->w, "kernel", m.kernel_id);
	} else if (!strcmp(a, "ramdisk")) {
		write_value(ctx->w, "ramdisk", m.ramdisk_id);
	} else if (!strcmp(a, "productCodes")) {
		xmlw_start(ctx->w, "productCodes");
		xmlw_end(ctx->w);
	} else if (!strcmp(a, "blockDeviceMapping")) {
		ec2_write_bdm(ctx->w, m.bdm, m.nbdm);
	} else if (!strcmp(a, "sriovNetSupport")) {
		write_value(ctx->w, "sriovNetSupport", m.sriov_net_support);
	} else if (!strcmp(a, "bootMode")) {
		write_value(ctx->w, "bootMode", m.boot_mode);
	} else if (!strcmp(a, "tpmSupport")) {
		write_value(ctx->w, "tpmSupport", m.tpm_support);
	} else if (!strcmp(a, "uefiData")) {
		write_value(ctx->w, "uefiData", m.uefi_data);
	} else if (!strcmp(a, "lastLaunchedTime")) {
		if (m.last_launched_ms)
			ids_iso_time(m.last_launched_ms, when);
		write_value(ctx->w, "lastLaunchedTime", when);
	} else if (!strcmp(a, "imdsSupport")) {
		write_value(ctx->w, "imdsSupport", m.imds_support);
	} else {
		write_value(ctx->w, "deregistrationProtection", "disabled");
	}
	image_release(&m);
	return ret;
}

/* ---- ModifyImageAttribute ----------------------------------------------- */

static int launch_check(const char *grantee, int is_group, struct err *e)
{
	if (is_group ? strcmp(grantee, "all") != 0 : !ids_valid_account(grantee))
		return err_set(e, 400, "InvalidAMIAttributeItemValue",
			       is_group ? "Invalid attribute item value \"%.64s\" for group: the only group is 'all'." :
					  "Invalid attribute item value \"%.64s\" for userId: expected a 12-digit account ID.",
			       grantee);
	return 0;
}

static const struct ec2_permission_form launch_form = {
	.structured = "LaunchPermission",
	.max = 1000,
	.check = launch_check,
};

/* Organizations and OUs, in either request form: amibox has none. */
static int launch_organizations(struct ec2_ctx *ctx, struct err *e)
{
	for (size_t i = 0; i < ctx->q.count; i++) {
		const char *name = ctx->q.params[i].name;
		if (strstr(name, "OrganizationArn") || strstr(name, "OrganizationalUnitArn"))
			return err_set(e, 400, "InvalidParameterValue",
				       "amibox has no organizations: share with account IDs or the group 'all'.");
	}
	return 0;
}

int ec2_modify_image_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct image m;
	struct ec2_permission_change lc = { 0 };
	const char **codes = NULL;
	int ret = -1, have_image = 0;
	const char *id = ec2_require(ctx, "ImageId", e);
	const char *given = query_get(&ctx->q, "Attribute");
	const char *attribute = given ? attribute_canonical(given) : NULL;
	const char *value = query_get(&ctx->q, "Value");
	const char *description = query_get(&ctx->q, "Description.Value");
	const char *imds = query_get(&ctx->q, "ImdsSupport.Value");
	size_t ncodes = query_list(&ctx->q, "ProductCode", &codes);
	if (!id)
		goto out;
	if (given && !attribute) {
		attribute_invalid(given, e);
		goto out;
	}
	if (ec2_permission_change_read(ctx, &launch_form, &lc, e) < 0 ||
	    launch_organizations(ctx, e) < 0)
		goto out;
	/* Which one attribute this request changes. */
	if (attribute && !strcmp(attribute, "description") && !description)
		description = value ? value : "";
	if (attribute && !strcmp(attribute, "imdsSupport") && !imds) {
		if (!value) {
			err_set(e, 400, "MissingParameter",
				"The request must contain the parameter Value");
			goto out;
		}
		imds = value;
	}
	int changes = (lc.nadd || lc.nremove) + (description != NULL) +
		      (imds != NULL) + (ncodes > 0);
	if (attribute && !strcmp(attribute, "launchPermission") && !(lc.nadd || lc.nremove)) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter LaunchPermission (Add or Remove), or OperationType with UserId or UserGroup");
		goto out;
	}
	if (attribute && changes == 0) {
		err_set(e, 400, "InvalidParameterValue",
			"The attribute %.64s cannot be modified; modifiable: description, imdsSupport, launchPermission.",
			attribute);
		goto out;
	}
	if (changes == 0) {
		err_set(e, 400, "MissingParameter",
			"The request must name an attribute to modify (LaunchPermission, Description, ImdsSupport).");
		goto out;
	}
	if (changes > 1) {
		err_set(e, 400, "InvalidParameterCombination",
			"Only one attribute can be modified in one request.");
		goto out;
	}
	if (ncodes) {
		err_set(e, 400, "InvalidParameterValue",
			"Product codes are not supported by amibox.");
		goto out;
	}
	if (description && (strlen(description) >= IMAGE_DESCRIPTION_MAX ||
			    ec2_utf8_chars(description) > 255)) {
		err_set(e, 400, "InvalidParameterValue",
			"The description must be at most 255 characters long.");
		goto out;
	}
	if (imds && strcmp(imds, "v2.0") != 0) {
		err_set(e, 400, "InvalidParameterValue",
			"Value (%.32s) for parameter imdsSupport is invalid. The only value is 'v2.0'; it cannot be turned off.",
			imds);
		goto out;
	}
	if (ec2_image_owned(ctx, id, &m, e) < 0)
		goto out;
	have_image = 1;
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	for (size_t i = 0; i < lc.nadd; i++)
		if (strcmp(lc.add[i], m.owner_id) != 0 &&
		    catalog_image_grant(ctx->srv->cat, id, lc.add[i], e) < 0)
			goto rollback;
	for (size_t i = 0; i < lc.nremove; i++)
		if (catalog_image_revoke(ctx->srv->cat, id, lc.remove[i], e) < 0)
			goto rollback;
	if (description &&
	    catalog_image_set_text(ctx->srv->cat, id, "description", description, e) < 0)
		goto rollback;
	if (imds && catalog_image_set_text(ctx->srv->cat, id, "imds_support", imds, e) < 0)
		goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_return_true(ctx);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	if (have_image)
		image_release(&m);
	free(codes);
	ec2_permission_change_release(&lc);
	return ret;
}

int ec2_reset_image_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct image m;
	const char *id = ec2_require(ctx, "ImageId", e);
	const char *given = ec2_require(ctx, "Attribute", e);
	if (!id || !given)
		return -1;
	const char *a = attribute_canonical(given);
	if (!a || strcmp(a, "launchPermission") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter attribute is invalid. Only launchPermission can be reset.",
			       given);
	if (ec2_image_owned(ctx, id, &m, e) < 0)
		return -1;
	image_release(&m);
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_image_revoke_all(ctx->srv->cat, id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}
