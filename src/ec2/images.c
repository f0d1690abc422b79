/*
 * ec2/images.c: the life of an AMI: RegisterImage, DeregisterImage, CopyImage,
 * Enable/DisableImageDeprecation and the image attributes (launch
 * permissions among them).  DescribeImages is in images_describe.c.
 *
 * Launch permissions are the seed's three kinds: implicit (the owner),
 * explicit (account IDs) and public (the group "all").  An image the caller
 * may not launch answers exactly as one that does not exist; one it may
 * launch but does not own can be read, never changed (AuthFailure).
 *
 * Every handler checks all of its input before its one transaction, so a
 * refused request changes nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_images.h"
#include "util/ids.h"

#define IMAGE_ROOT_MAX_GIB 16384
#define DEPRECATE_MAX_MS (10LL * 366 * 24 * 3600 * 1000)

/* ---- lookups ------------------------------------------------------------ */

static int image_id_valid(const char *id)
{
	return ids_valid_resource("ami", id) || ids_valid_resource("aki", id) ||
	       ids_valid_resource("ari", id);
}

/*
 * Where a deregistered image is in its fading (catalog_images.h): still
 * described, described by nothing, or unknown (its row may linger until
 * catalog_images_purge takes it).
 */
static int image_deregistered_seen(struct ec2_ctx *ctx, const struct image *m,
				   struct err *e)
{
	long long age = ids_now_ms() - m->deregistered_ms;
	if (age < ctx->srv->deregistered_shown_ms)
		return EC2_IMAGE_FOUND;
	if (age < ctx->srv->deregistered_kept_ms)
		return EC2_IMAGE_HIDDEN;
	int used = catalog_image_has_instances(ctx->srv->cat, m->id, e);
	if (used < 0)
		return -1;
	return used ? EC2_IMAGE_HIDDEN : EC2_IMAGE_UNKNOWN;
}

int ec2_image_find(struct ec2_ctx *ctx, const char *id, struct image *m,
		   struct err *e)
{
	memset(m, 0, sizeof *m);
	if (!image_id_valid(id))
		return err_set(e, 400, "InvalidAMIID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"ami-...\")", id);
	int found = catalog_image_get(ctx->srv->cat, id, m, e);
	if (found > 0)
		found = catalog_image_launchable(ctx->srv->cat, m, ctx->account, e);
	int seen = found > 0 ? EC2_IMAGE_FOUND : found == 0 ? EC2_IMAGE_UNKNOWN : -1;
	if (found > 0 && !strcmp(m->state, "deregistered"))
		seen = image_deregistered_seen(ctx, m, e);
	if (seen != EC2_IMAGE_FOUND) {
		image_release(m);
		memset(m, 0, sizeof *m);
	}
	return seen;
}

int ec2_image_lookup(struct ec2_ctx *ctx, const char *id, struct image *m,
		     struct err *e)
{
	int seen = ec2_image_find(ctx, id, m, e);
	if (seen == EC2_IMAGE_FOUND && strcmp(m->state, "deregistered") != 0)
		return 0;
	if (seen == EC2_IMAGE_FOUND)
		image_release(m);
	if (seen < 0)
		return -1;
	if (seen == EC2_IMAGE_UNKNOWN)
		return err_set(e, 400, "InvalidAMIID.NotFound",
			       "The image id '[%s]' does not exist", id);
	return err_set(e, 400, "InvalidAMIID.Unavailable",
		       "The image id '[%s]' is no longer available: it was deregistered", id);
}

int ec2_image_owned(struct ec2_ctx *ctx, const char *id, struct image *m,
		    struct err *e)
{
	if (ec2_image_lookup(ctx, id, m, e) < 0)
		return -1;
	if (strcmp(m->owner_id, ctx->account) != 0) {
		image_release(m);
		return err_set(e, 403, "AuthFailure", "Not authorized for image:%s", id);
	}
	return 0;
}

/* ---- checks shared by RegisterImage and CopyImage ----------------------- */

/* 3-128 characters: letters, digits, ( ) [ ] space . / - ' @ _ */
int ec2_image_check_name(const char *name, struct err *e)
{
	size_t len = strlen(name);
	int ok = len >= 3 && len <= 128;
	for (const char *p = name; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("()[] ./-'@_", *p);
	if (!ok)
		return err_set(e, 400, "InvalidAMIName.Malformed",
			       "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/', '_', '[', ']', ' ', ''' and '@'.");
	return 0;
}

int ec2_image_check_description(const char *d, struct err *e)
{
	if (d && (ec2_utf8_chars(d) > 255 || strlen(d) >= IMAGE_DESCRIPTION_MAX))
		return err_set(e, 400, "InvalidParameterValue",
			       "The description must be at most 255 characters long.");
	return 0;
}

/* 1 if value is one of the NULL-ended choices. */
static int one_of(const char *value, const char *const *choices)
{
	for (; *choices; choices++)
		if (!strcmp(value, *choices))
			return 1;
	return 0;
}

static int check_enum(const char *param, const char *value,
		      const char *const *choices, struct err *e)
{
	if (value && !one_of(value, choices))
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter %s is invalid.", value, param);
	return 0;
}

/* The image whose name the owner already uses: InvalidAMIName.Duplicate. */
int ec2_image_check_unique(struct ec2_ctx *ctx, const char *name,
			      struct err *e)
{
	struct image other;
	int found = catalog_image_by_name(ctx->srv->cat, ctx->account, name, &other, e);
	if (found < 0)
		return -1;
	if (found) {
		image_release(&other);
		return err_set(e, 400, "InvalidAMIName.Duplicate",
			       "AMI name %.128s is already in use by AMI %s", name, other.id);
	}
	return 0;
}

/* "/dev/sda1" and "sda1" name the same device. */
static const char *device_base(const char *name)
{
	return !strncmp(name, "/dev/", 5) ? name + 5 : name;
}

static int device_name_valid(const char *name)
{
	const char *p = device_base(name);
	size_t letters = 0;
	if (strlen(name) >= IMAGE_DEVICE_MAX || !*p)
		return 0;
	while (*p >= 'a' && *p <= 'z') {
		p++;
		letters++;
	}
	if (letters < 2)
		return 0;
	for (; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return 0;
	return 1;
}

/* Valid volume sizes and IOPS by volume type, as EBS has them. */
static const struct volume_type_limits {
	const char *name;
	long long min_gib, max_gib;
	long long min_iops, max_iops; /* 0: IOPS not settable */
	int iops_required;
} volume_types[] = {
	{ "standard", 1, 1024, 0, 0, 0 },
	{ "gp2", 1, 16384, 0, 0, 0 },
	{ "gp3", 1, 16384, 3000, 16000, 0 },
	{ "io1", 4, 16384, 100, 64000, 1 },
	{ "io2", 4, 65536, 100, 256000, 1 },
	{ "st1", 125, 16384, 0, 0, 0 },
	{ "sc1", 125, 16384, 0, 0, 0 },
};

static const struct volume_type_limits *volume_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof volume_types / sizeof volume_types[0]; i++)
		if (!strcmp(volume_types[i].name, name))
			return &volume_types[i];
	return NULL;
}

int ec2_volume_type_check(const char *type, long long *iops,
			  long long *throughput, struct err *e)
{
	const struct volume_type_limits *lim = volume_type_find(type);
	if (!lim)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.32s) for parameter volumeType is invalid. Expected: 'standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3'.",
			       type);
	if (*iops && !lim->max_iops)
		return err_set(e, 400, "InvalidParameterCombination",
			       "The parameter iops is not supported for %s volumes.",
			       lim->name);
	if (lim->iops_required && !*iops)
		return err_set(e, 400, "InvalidParameterCombination",
			       "The parameter iops must be specified for %s volumes.",
			       lim->name);
	if (*iops && (*iops < lim->min_iops || *iops > lim->max_iops))
		return err_set(e, 400, "InvalidParameterValue",
			       "IOPS of %lld is out of range for %s volumes (%lld-%lld).",
			       *iops, lim->name, lim->min_iops, lim->max_iops);
	if (*throughput && strcmp(lim->name, "gp3") != 0)
		return err_set(e, 400, "InvalidParameterCombination",
			       "The parameter throughput is only supported for gp3 volumes.");
	if (*throughput && (*throughput < 125 || *throughput > 1000))
		return err_set(e, 400, "InvalidParameterValue",
			       "Throughput of %lld MiB/s is out of range for gp3 volumes (125-1000).",
			       *throughput);
	if (!strcmp(lim->name, "gp3")) {
		if (!*iops)
			*iops = 3000;
		if (!*throughput)
			*throughput = 125;
	}
	return 0;
}

int ec2_volume_size_check(const char *type, long long size_gib, struct err *e)
{
	const struct volume_type_limits *lim = volume_type_find(type);
	if (lim && (size_gib < lim->min_gib || size_gib > lim->max_gib))
		return err_set(e, 400, "InvalidParameterValue",
			       "Volume size %lld GiB is out of range for %s volumes (%lld-%lld).",
			       size_gib, lim->name, lim->min_gib, lim->max_gib);
	return 0;
}

/* Reads "<prefix>.<field>" of mapping index i. */
static const char *bdm_param(struct ec2_ctx *ctx, const char *prefix, unsigned i,
			     const char *field)
{
	char name[128];
	snprintf(name, sizeof name, "%s.%u.%s", prefix, i, field);
	return query_get(&ctx->q, name);
}

static int bdm_int(struct ec2_ctx *ctx, const char *prefix, unsigned i,
		   const char *field, long long min, long long max,
		   long long *out, struct err *e)
{
	char name[128];
	snprintf(name, sizeof name, "%s.%u.%s", prefix, i, field);
	return query_get_int(&ctx->q, name, min, max, out, e);
}

/* One mapping's Ebs.* fields. */
static int bdm_read_ebs(struct ec2_ctx *ctx, const char *prefix, unsigned i,
			struct image_bdm *b, struct err *e)
{
	const char *snap = bdm_param(ctx, prefix, i, "Ebs.SnapshotId");
	const char *type = bdm_param(ctx, prefix, i, "Ebs.VolumeType");
	const char *kms = bdm_param(ctx, prefix, i, "Ebs.KmsKeyId");
	int encrypted = 0, dot = 1;
	char name[128];
	b->ebs = 1;
	snprintf(b->snapshot_id, sizeof b->snapshot_id, "%s", snap ? snap : "");
	if (snap && *snap && !ids_valid_resource("snap", snap))
		return err_set(e, 400, "InvalidSnapshotID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"snap-...\")", snap);
	snprintf(name, sizeof name, "%s.%u.Ebs.Encrypted", prefix, i);
	if (query_get_bool(&ctx->q, name, &encrypted, e) < 0)
		return -1;
	if (kms && !encrypted)
		return ec2_kms_needs_encrypted(e);
	if (encrypted)
		return err_set(e, 400, "InvalidParameterValue",
			       "Encrypted volumes are not supported by amibox yet (%s).",
			       b->device_name);
	snprintf(name, sizeof name, "%s.%u.Ebs.DeleteOnTermination", prefix, i);
	if (query_get_bool(&ctx->q, name, &dot, e) < 0)
		return -1;
	b->delete_on_termination = dot;
	snprintf(b->volume_type, sizeof b->volume_type, "%s", type ? type : "gp2");
	if (bdm_int(ctx, prefix, i, "Ebs.VolumeSize", 1, 65536, &b->volume_size, e) < 0 ||
	    bdm_int(ctx, prefix, i, "Ebs.Iops", 1, 256000, &b->iops, e) < 0 ||
	    bdm_int(ctx, prefix, i, "Ebs.Throughput", 1, 4000, &b->throughput, e) < 0 ||
	    ec2_volume_type_check(b->volume_type, &b->iops, &b->throughput, e) < 0)
		return -1;
	if (!b->snapshot_id[0] && !b->volume_size)
		return err_set(e, 400, "InvalidBlockDeviceMapping",
			       "The mapping for %s needs a snapshot or a volume size.",
			       b->device_name);
	return 0;
}

int ec2_read_bdm(struct ec2_ctx *ctx, const char *prefix,
		 struct image_bdm **out, size_t *count, struct err *e)
{
	unsigned *idx = NULL;
	size_t n = query_indices(&ctx->q, prefix, &idx);
	struct image_bdm *list = n ? xcalloc(n, sizeof *list) : NULL;
	int ret = -1;
	if (n > IMAGE_BDM_MAX) {
		err_set(e, 400, "InvalidBlockDeviceMapping",
			"At most %d block device mappings are allowed.", IMAGE_BDM_MAX);
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned i = idx[k];
		struct image_bdm *b = &list[k];
		const char *dev = bdm_param(ctx, prefix, i, "DeviceName");
		const char *virt = bdm_param(ctx, prefix, i, "VirtualName");
		const char *nodev = bdm_param(ctx, prefix, i, "NoDevice");
		char ebs_prefix[64];
		snprintf(ebs_prefix, sizeof ebs_prefix, "%s.%u.Ebs", prefix, i);
		int has_ebs = 0;
		for (size_t p = 0; p < ctx->q.count && !has_ebs; p++)
			has_ebs = !strncmp(ctx->q.params[p].name, ebs_prefix,
					   strlen(ebs_prefix)) &&
				  ctx->q.params[p].name[strlen(ebs_prefix)] == '.';
		if (!dev || !*dev) {
			err_set(e, 400, "MissingParameter",
				"The request must contain the parameter %s.%u.DeviceName",
				prefix, i);
			goto out;
		}
		if (!device_name_valid(dev)) {
			err_set(e, 400, "InvalidBlockDeviceMapping",
				"Invalid device name %.64s", dev);
			goto out;
		}
		snprintf(b->device_name, sizeof b->device_name, "%s", dev);
		for (size_t j = 0; j < k; j++)
			if (!strcmp(device_base(list[j].device_name), device_base(dev))) {
				err_set(e, 400, "InvalidBlockDeviceMapping",
					"The device '%s' is used in more than one block-device mapping",
					dev);
				goto out;
			}
		if ((virt != NULL) + (nodev != NULL) + has_ebs != 1) {
			err_set(e, 400, "InvalidBlockDeviceMapping",
				"The mapping for %s must have exactly one of Ebs, VirtualName and NoDevice.",
				dev);
			goto out;
		}
		if (virt) {
			char *end;
			long eph = strncmp(virt, "ephemeral", 9) ? -1 :
				   strtol(virt + 9, &end, 10);
			if (eph < 0 || eph > 23 || !isdigit((unsigned char)virt[9]) || *end) {
				err_set(e, 400, "InvalidBlockDeviceMapping",
					"Invalid virtual name %.32s: expected ephemeral0 to ephemeral23.",
					virt);
				goto out;
			}
			snprintf(b->virtual_name, sizeof b->virtual_name, "%s", virt);
		} else if (nodev) {
			b->no_device = 1;
		} else if (bdm_read_ebs(ctx, prefix, i, b, e) < 0) {
			goto out;
		}
	}
	*out = list;
	*count = n;
	list = NULL;
	ret = 0;
out:
	free(list);
	free(idx);
	return ret;
}

/*
 * Checks every EBS mapping's snapshot (visible to the caller, not failed,
 * volume at least as large) and fills in default sizes.  Sets *pending when
 * a snapshot is still pending.
 */
int ec2_check_bdm_snapshots(struct ec2_ctx *ctx, struct image_bdm *bdm,
			    size_t n, int *pending, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		struct image_bdm *b = &bdm[i];
		struct snapshot s;
		if (!b->ebs || !b->snapshot_id[0])
			continue;
		/*
		 * An image's own snapshots serve whoever may launch it; a
		 * snapshot named in the request must be visible to the caller.
		 */
		int found = b->inherited ? catalog_snapshot_get(ctx->srv->cat, b->snapshot_id, &s, e) :
					   (ec2_snapshot_lookup(ctx, b->snapshot_id, &s, e) < 0 ? -1 : 1);
		if (found < 0)
			return -1;
		if (!found)
			return err_set(e, 400, "InvalidSnapshot.NotFound",
				       "The snapshot '%s' of the image no longer exists.", b->snapshot_id);
		if (!strcmp(s.status, "error"))
			return err_set(e, 400, "InvalidSnapshot.NotFound",
				       "Snapshot %s is in state error and cannot back an image.",
				       s.id);
		if (!strcmp(s.status, "pending") && pending)
			*pending = 1;
		if (!b->volume_size)
			b->volume_size = s.volume_size;
		if (b->volume_size < s.volume_size)
			return err_set(e, 400, "InvalidBlockDeviceMapping",
				       "Volume of size %lldGB is smaller than snapshot '%s', expect size >= %lldGB",
				       b->volume_size, s.id, s.volume_size);
	}
	for (size_t i = 0; i < n; i++)
		if (bdm[i].ebs && ec2_volume_size_check(bdm[i].volume_type,
							 bdm[i].volume_size, e) < 0)
			return -1;
	return 0;
}

/* ---- RegisterImage ------------------------------------------------------ */

/* The PV-GRUB AKI for a paravirtual image: hd0 or hd00 by the root device. */
static const char *pv_grub_kernel(const char *arch, const char *root_device)
{
	size_t len = strlen(root_device);
	int partition = len && isdigit((unsigned char)root_device[len - 1]);
	int x86_64 = !strcmp(arch, "x86_64");
	if (partition)
		return x86_64 ? "aki-8016ac08fca646364" : "aki-c52987f4cb25897c7";
	return x86_64 ? "aki-b4beffed1035276ac" : "aki-5e6ff4f11bddc619d";
}

/* KernelId / RamdiskId: a launchable image of the right type and arch. */
static int image_check_boot_image(struct ec2_ctx *ctx, const char *id,
				  const char *type, const char *arch,
				  struct err *e)
{
	struct image k;
	const char *prefix = !strcmp(type, "kernel") ? "aki" : "ari";
	if (!ids_valid_resource(prefix, id))
		return err_set(e, 400, !strcmp(type, "kernel") ? "InvalidKernelId.Malformed" :
								 "InvalidRamDiskId.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"%s-...\")", id, prefix);
	if (ec2_image_lookup(ctx, id, &k, e) < 0)
		return -1;
	int ok = !strcmp(k.image_type, type) && !strcmp(k.architecture, arch);
	image_release(&k);
	if (!ok)
		return err_set(e, 400, "InvalidParameterValue",
			       "%s is not a %s image for %s.", id, type, arch);
	return 0;
}

int ec2_register_image(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const arches[] = { "i386", "x86_64", "arm64",
					      "x86_64_mac", "arm64_mac", NULL };
	static const char *const virt_types[] = { "hvm", "paravirtual", NULL };
	static const char *const boot_modes[] = { "legacy-bios", "uefi",
						  "uefi-preferred", NULL };
	static const char *const simple[] = { "simple", NULL };
	static const char *const v20[] = { "v2.0", NULL };
	struct image m;
	struct tag_list tags = { NULL, 0 };
	const char **billing = NULL;
	int pending = 0, ret = -1;
	memset(&m, 0, sizeof m);
	m.ena_support = -1;
	const char *name = ec2_require(ctx, "Name", e);
	const char *location = query_get(&ctx->q, "ImageLocation");
	const char *description = query_get(&ctx->q, "Description");
	const char *arch = query_get(&ctx->q, "Architecture");
	const char *virt = query_get(&ctx->q, "VirtualizationType");
	const char *kernel = query_get(&ctx->q, "KernelId");
	const char *ramdisk = query_get(&ctx->q, "RamdiskId");
	const char *root = query_get(&ctx->q, "RootDeviceName");
	const char *boot = query_get(&ctx->q, "BootMode");
	const char *sriov = query_get(&ctx->q, "SriovNetSupport");
	const char *imds = query_get(&ctx->q, "ImdsSupport");
	const char *tpm = query_get(&ctx->q, "TpmSupport");
	const char *uefi = query_get(&ctx->q, "UefiData");
	size_t nbilling = query_list(&ctx->q, "BillingProduct", &billing);
	if (!name || ec2_image_check_name(name, e) < 0 ||
	    ec2_image_check_description(description, e) < 0 ||
	    check_enum("architecture", arch, arches, e) < 0 ||
	    check_enum("virtualizationType", virt, virt_types, e) < 0 ||
	    check_enum("bootMode", boot, boot_modes, e) < 0 ||
	    check_enum("sriovNetSupport", sriov, simple, e) < 0 ||
	    check_enum("imdsSupport", imds, v20, e) < 0 ||
	    check_enum("tpmSupport", tpm, v20, e) < 0 ||
	    query_get_bool(&ctx->q, "EnaSupport", &m.ena_support, e) < 0)
		goto out;
	if (nbilling) {
		err_set(e, 400, "InvalidParameterValue",
			"Billing products are not supported by amibox.");
		goto out;
	}
	if (uefi && strlen(uefi) >= sizeof m.uefi_data) {
		err_set(e, 400, "InvalidParameterValue",
			"UefiData is longer than amibox keeps (%zu bytes).",
			sizeof m.uefi_data - 1);
		goto out;
	}
	/* Instance-store-backed: the bundle is read and checked first. */
	struct bundle_facts facts = { 0 };
	if (location && ec2_bundle_facts(ctx, location, &facts, e) < 0)
		goto out;
	if (ec2_read_bdm(ctx, "BlockDeviceMapping", &m.bdm, &m.nbdm, e) < 0)
		goto out;
	if (!m.nbdm && !location) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter ImageLocation or a BlockDeviceMapping for the root device");
		goto out;
	}
	snprintf(m.architecture, sizeof m.architecture, "%s",
		 arch ? arch : facts.architecture[0] ? facts.architecture : "i386");
	snprintf(m.virtualization_type, sizeof m.virtualization_type, "%s",
		 virt ? virt : "paravirtual");
	snprintf(m.root_device_name, sizeof m.root_device_name, "%s",
		 root && *root ? root : facts.root_device[0] ? facts.root_device : "/dev/sda1");
	if (!kernel && facts.kernel_id[0])
		kernel = facts.kernel_id;
	if (!ramdisk && facts.ramdisk_id[0])
		ramdisk = facts.ramdisk_id;
	int pv = !strcmp(m.virtualization_type, "paravirtual");
	/* The root device: an EBS volume from a snapshot, at most 16 TiB. */
	const struct image_bdm *rootdev = NULL;
	for (size_t i = 0; i < m.nbdm; i++)
		if (!strcmp(device_base(m.bdm[i].device_name),
			    device_base(m.root_device_name)))
			rootdev = &m.bdm[i];
	if (location) {
		/* The bundle is the root; the mapping may add ephemeral and EBS disks. */
		if (rootdev && (rootdev->ebs || rootdev->virtual_name[0])) {
			err_set(e, 400, "InvalidBlockDeviceMapping",
				"The root device %s of an instance-store image comes from its bundle.",
				rootdev->device_name);
			goto out;
		}
		if (ec2_bundle_add_ephemerals(&m, &facts, e) < 0 ||
		    ec2_check_bdm_snapshots(ctx, m.bdm, m.nbdm, &pending, e) < 0)
			goto out;
	} else if (!rootdev) {
		err_set(e, 400, "InvalidBlockDeviceMapping",
			"The root device name %.64s is not among the block device mappings.",
			m.root_device_name);
		goto out;
	}
	if (!location && (!rootdev->ebs || !rootdev->snapshot_id[0])) {
		err_set(e, 400, "InvalidBlockDeviceMapping",
			"The root device %s must be an EBS volume from a snapshot.",
			rootdev->device_name);
		goto out;
	}
	if (!location && ec2_check_bdm_snapshots(ctx, m.bdm, m.nbdm, &pending, e) < 0)
		goto out;
	if (!location && rootdev->volume_size > IMAGE_ROOT_MAX_GIB) {
		err_set(e, 400, "InvalidBlockDeviceMapping",
			"The root device of an EBS-backed image is at most %d GiB.",
			IMAGE_ROOT_MAX_GIB);
		goto out;
	}
	/* Boot: PV takes a kernel (PV-GRUB by default), HVM its firmware. */
	if (pv && strcmp(m.architecture, "i386") != 0 &&
	    strcmp(m.architecture, "x86_64") != 0) {
		err_set(e, 400, "InvalidParameterCombination",
			"Paravirtual images must be i386 or x86_64, not %s.", m.architecture);
		goto out;
	}
	if (!pv && (kernel || ramdisk)) {
		err_set(e, 400, "InvalidParameterCombination",
			"KernelId and RamdiskId apply to paravirtual images only.");
		goto out;
	}
	if (pv && boot && strcmp(boot, "legacy-bios") != 0) {
		err_set(e, 400, "InvalidParameterCombination",
			"Paravirtual images cannot use boot mode %s.", boot);
		goto out;
	}
	if (tpm && (!boot || strcmp(boot, "uefi") != 0)) {
		err_set(e, 400, "InvalidParameterCombination",
			"NitroTPM support needs the boot mode uefi.");
		goto out;
	}
	if (boot && !strcmp(boot, "legacy-bios") && !strncmp(m.architecture, "arm64", 5)) {
		err_set(e, 400, "InvalidParameterCombination",
			"arm64 images boot with UEFI, not legacy-bios.");
		goto out;
	}
	if (kernel && image_check_boot_image(ctx, kernel, "kernel", m.architecture, e) < 0)
		goto out;
	if (ramdisk && image_check_boot_image(ctx, ramdisk, "ramdisk", m.architecture, e) < 0)
		goto out;
	if (ec2_tag_specifications(ctx, "image", &tags, e) < 0)
		goto out;
	const char *type = location ? facts.type : "machine";
	int boot_image = strcmp(type, "machine") != 0;
	ids_resource(!strcmp(type, "kernel") ? "aki" : !strcmp(type, "ramdisk") ? "ari" : "ami",
		     m.id);
	snprintf(m.owner_id, sizeof m.owner_id, "%s", ctx->account);
	snprintf(m.name, sizeof m.name, "%s", name);
	m.has_description = description != NULL;
	snprintf(m.description, sizeof m.description, "%s", description ? description : "");
	snprintf(m.image_type, sizeof m.image_type, "%s", type);
	snprintf(m.state, sizeof m.state, "%s", pending ? "pending" : "available");
	snprintf(m.root_device_type, sizeof m.root_device_type, "%s",
		 location ? "instance-store" : "ebs");
	snprintf(m.kernel_id, sizeof m.kernel_id, "%s",
		 kernel ? kernel : pv && !boot_image ? pv_grub_kernel(m.architecture, m.root_device_name) : "");
	snprintf(m.ramdisk_id, sizeof m.ramdisk_id, "%s", ramdisk ? ramdisk : "");
	snprintf(m.boot_mode, sizeof m.boot_mode, "%s", boot ? boot : "");
	snprintf(m.sriov_net_support, sizeof m.sriov_net_support, "%s", sriov ? sriov : "");
	snprintf(m.imds_support, sizeof m.imds_support, "%s", imds ? imds : "");
	snprintf(m.tpm_support, sizeof m.tpm_support, "%s", tpm ? tpm : "");
	snprintf(m.uefi_data, sizeof m.uefi_data, "%s", uefi ? uefi : "");
	snprintf(m.hypervisor, sizeof m.hypervisor, "xen");
	/* EC2 shows an EBS-backed image's location as owner/name. */
	if (location)
		snprintf(m.image_location, sizeof m.image_location, "%s", location);
	else
		snprintf(m.image_location, sizeof m.image_location, "%s/%s", m.owner_id, m.name);
	m.creation_ms = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (ec2_image_check_unique(ctx, name, e) < 0 ||
	    catalog_image_insert(ctx->srv->cat, &m, e) < 0)
		goto rollback;
	for (size_t i = 0; i < tags.count; i++)
		if (catalog_tag_set(ctx->srv->cat, m.id, "image", ctx->account,
				    tags.items[i].key, tags.items[i].value, e) < 0)
			goto rollback;
	/* A snapshot may have settled since it was read. */
	if (pending && catalog_images_settle(ctx->srv->cat, e) < 0)
		goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_text(ctx->w, "imageId", m.id);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	free(billing);
	image_release(&m);
	tag_list_release(&tags);
	return ret;
}

/* ---- DeregisterImage ---------------------------------------------------- */

int ec2_deregister_image(struct ec2_ctx *ctx, struct err *e)
{
	struct image m;
	int delete_snapshots = 0;
	const char *id = ec2_require(ctx, "ImageId", e);
	if (!id || query_get_bool(&ctx->q, "DeleteAssociatedSnapshots",
				  &delete_snapshots, e) < 0 ||
	    ec2_image_owned(ctx, id, &m, e) < 0)
		return -1;
	/* Images deregistered long ago, and no longer used, go now. */
	long long now = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto fail;
	if (catalog_image_deregister(ctx->srv->cat, id, now, e) < 0 ||
	    catalog_images_purge(ctx->srv->cat, now - ctx->srv->deregistered_kept_ms, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto fail;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto fail;
	ec2_return_true(ctx);
	if (delete_snapshots) {
		/*
		 * Each snapshot goes in its own transaction after the image:
		 * one still used by another image, or not the caller's, stays.
		 */
		xmlw_start(ctx->w, "deleteSnapshotResultSet");
		for (size_t i = 0; i < m.nbdm; i++) {
			const char *snap = m.bdm[i].snapshot_id;
			struct snapshot s;
			struct err se = ERR_INIT;
			char user[ID_MAX];
			if (!snap[0])
				continue;
			const char *code = "success";
			int got = catalog_snapshot_get(ctx->srv->cat, snap, &s, &se);
			if (got <= 0 || strcmp(s.owner_id, ctx->account) != 0)
				code = "skipped";
			else if (catalog_snapshot_in_use(ctx->srv->cat, snap, user, &se) != 0)
				code = "skipped";
			else if (blockstore_delete_snapshot(ctx->srv->bs, snap, &se) < 0)
				code = se.status >= 500 ? "internal-error" : "skipped";
			xmlw_start(ctx->w, "item");
			xmlw_text(ctx->w, "snapshotId", snap);
			xmlw_text(ctx->w, "returnCode", code);
			xmlw_end(ctx->w);
		}
		xmlw_end(ctx->w);
	}
	image_release(&m);
	return 0;
fail:
	image_release(&m);
	return -1;
}

/* ---- CopyImage ---------------------------------------------------------- */

int ec2_copy_image(struct ec2_ctx *ctx, struct err *e)
{
	struct image src, m;
	struct tag_list image_tags = { NULL, 0 }, snap_tags = { NULL, 0 };
	struct tag_list src_tags = { NULL, 0 };
	int encrypted = 0, copy_tags = 0, ret = -1;
	memset(&src, 0, sizeof src);
	memset(&m, 0, sizeof m);
	const char *source_id = ec2_require(ctx, "SourceImageId", e);
	const char *source_region = ec2_require(ctx, "SourceRegion", e);
	const char *name = ec2_require(ctx, "Name", e);
	const char *description = query_get(&ctx->q, "Description");
	const char *token = query_get(&ctx->q, "ClientToken");
	if (!source_id || !source_region || !name ||
	    ec2_image_check_name(name, e) < 0 ||
	    ec2_image_check_description(description, e) < 0 ||
	    query_get_bool(&ctx->q, "Encrypted", &encrypted, e) < 0 ||
	    query_get_bool(&ctx->q, "CopyImageTags", &copy_tags, e) < 0)
		goto out;
	if (token && strlen(token) > 64) {
		err_set(e, 400, "InvalidParameterValue",
			"ClientToken must be at most 64 characters long.");
		goto out;
	}
	if (strcmp(source_region, ctx->srv->region) != 0) {
		err_set(e, 400, "InvalidParameterValue",
			"SourceRegion '%.64s' is not served here; this amibox serves region '%s'.",
			source_region, ctx->srv->region);
		goto out;
	}
	if (query_get(&ctx->q, "KmsKeyId") && !encrypted) {
		ec2_kms_needs_encrypted(e);
		goto out;
	}
	if (encrypted) {
		err_set(e, 400, "InvalidParameterValue",
			"Encrypted copies are not supported by amibox yet.");
		goto out;
	}
	if (query_get(&ctx->q, "DestinationOutpostArn")) {
		err_set(e, 400, "InvalidParameterValue", "amibox has no Outposts.");
		goto out;
	}
	/* Tag specifications: the new image, and the new snapshots. */
	static const char *const tag_types[] = { "image", "snapshot" };
	struct tag_list *tag_lists[] = { &image_tags, &snap_tags };
	if (ec2_tag_specifications_for(ctx, tag_types, tag_lists, 2, e) < 0)
		goto out;
	if (token && *token) {
		int found = catalog_image_by_token(ctx->srv->cat, ctx->account, token, &m, e);
		if (found < 0)
			goto out;
		if (found) {
			xmlw_text(ctx->w, "imageId", m.id);
			ret = 0;
			goto out;
		}
	}
	if (ec2_image_lookup(ctx, source_id, &src, e) < 0)
		goto out;
	if (strcmp(src.root_device_type, "ebs") != 0) {
		err_set(e, 400, "UnsupportedOperation",
			"amibox does not copy instance-store-backed images (%s) yet: bundle the image again under the new name.",
			source_id);
		goto out;
	}
	if (strcmp(src.state, "available") != 0) {
		err_set(e, 400, "IncorrectState",
			"Image %s is %s; only available images can be copied.",
			source_id, src.state);
		goto out;
	}
	if (copy_tags && !strcmp(src.owner_id, ctx->account) &&
	    catalog_tags_get(ctx->srv->cat, src.id, &src_tags, e) < 0)
		goto out;
	/* The copy: the source's fields, the caller's ownership. */
	m = src;
	m.bdm = xcalloc(src.nbdm ? src.nbdm : 1, sizeof *m.bdm);
	memcpy(m.bdm, src.bdm, src.nbdm * sizeof *m.bdm);
	ids_resource("ami", m.id);
	snprintf(m.owner_id, sizeof m.owner_id, "%s", ctx->account);
	snprintf(m.name, sizeof m.name, "%s", name);
	if (description) {
		m.has_description = 1;
		snprintf(m.description, sizeof m.description, "%s", description);
	}
	snprintf(m.state, sizeof m.state, "available");
	snprintf(m.image_location, sizeof m.image_location, "%s/%s", m.owner_id, m.name);
	m.creation_ms = ids_now_ms();
	m.deprecation_ms = 0;
	m.last_launched_ms = 0;
	m.is_public = 0;
	snprintf(m.source_image_id, sizeof m.source_image_id, "%s", src.id);
	snprintf(m.source_image_region, sizeof m.source_image_region, "%s",
		 ctx->srv->region);
	snprintf(m.client_token, sizeof m.client_token, "%s", token ? token : "");
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (ec2_image_check_unique(ctx, name, e) < 0)
		goto rollback;
	/* New snapshots owned by the caller map the same chunks: no data moves. */
	for (size_t i = 0; i < m.nbdm; i++) {
		struct image_bdm *b = &m.bdm[i];
		struct snapshot s, copy;
		if (!b->ebs || !b->snapshot_id[0])
			continue;
		int found = catalog_snapshot_get(ctx->srv->cat, b->snapshot_id, &s, e);
		if (found <= 0) {
			if (found == 0)
				err_set(e, 400, "InvalidSnapshot.NotFound",
					"The snapshot '%s' of image %s no longer exists.",
					b->snapshot_id, src.id);
			goto rollback;
		}
		memset(&copy, 0, sizeof copy);
		ids_resource("snap", copy.id);
		snprintf(copy.owner_id, sizeof copy.owner_id, "%s", ctx->account);
		snprintf(copy.volume_id, sizeof copy.volume_id, "vol-ffffffff");
		snprintf(copy.status, sizeof copy.status, "completed");
		copy.start_ms = copy.complete_ms = m.creation_ms;
		copy.volume_size = s.volume_size;
		copy.progress = 100;
		copy.block_count = s.block_count;
		snprintf(copy.source_id, sizeof copy.source_id, "%s", s.id);
		snprintf(copy.description, sizeof copy.description,
			 "Copied for DestinationAmi %s from SourceAmi %s for SourceSnapshot %s.",
			 m.id, src.id, s.id);
		if (catalog_snapshot_insert(ctx->srv->cat, &copy, e) < 0 ||
		    catalog_blocks_copy(ctx->srv->cat, s.id, copy.id, e) < 0)
			goto rollback;
		for (size_t t = 0; t < snap_tags.count; t++)
			if (catalog_tag_set(ctx->srv->cat, copy.id, "snapshot", ctx->account,
					    snap_tags.items[t].key,
					    snap_tags.items[t].value, e) < 0)
				goto rollback;
		snprintf(b->snapshot_id, sizeof b->snapshot_id, "%s", copy.id);
	}
	if (catalog_image_insert(ctx->srv->cat, &m, e) < 0)
		goto rollback;
	for (size_t t = 0; t < src_tags.count; t++)
		if (catalog_tag_set(ctx->srv->cat, m.id, "image", ctx->account,
				    src_tags.items[t].key, src_tags.items[t].value, e) < 0)
			goto rollback;
	for (size_t t = 0; t < image_tags.count; t++)
		if (catalog_tag_set(ctx->srv->cat, m.id, "image", ctx->account,
				    image_tags.items[t].key, image_tags.items[t].value, e) < 0)
			goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_text(ctx->w, "imageId", m.id);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	if (m.bdm != src.bdm)
		image_release(&m);
	image_release(&src);
	tag_list_release(&image_tags);
	tag_list_release(&snap_tags);
	tag_list_release(&src_tags);
	return ret;
}

/* ---- deprecation -------------------------------------------------------- */

int ec2_enable_image_deprecation(struct ec2_ctx *ctx, struct err *e)
{
	struct image m;
	long long at;
	const char *id = ec2_require(ctx, "ImageId", e);
	const char *when = ec2_require(ctx, "DeprecateAt", e);
	if (!id || !when)
		return -1;
	if (ids_parse_iso_time(when, &at) < 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "DeprecateAt '%.64s' is not a UTC time such as 2030-01-02T03:04:00Z.",
			       when);
	/* Seconds round to the nearest minute, as EC2 does. */
	at = (at + 30000) / 60000 * 60000;
	long long now = ids_now_ms();
	if (at <= now)
		return err_set(e, 400, "InvalidParameterValue",
			       "DeprecateAt must be in the future.");
	if (ec2_image_owned(ctx, id, &m, e) < 0)
		return -1;
	long long max = m.is_public ? DEPRECATE_MAX_MS / 5 : DEPRECATE_MAX_MS;
	image_release(&m);
	if (at - now > max)
		return err_set(e, 400, "InvalidParameterValue",
			       "DeprecateAt can be at most %d years ahead for this image.",
			       max == DEPRECATE_MAX_MS ? 10 : 2);
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_image_set_time(ctx->srv->cat, id, "deprecation_ms", at, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

int ec2_disable_image_deprecation(struct ec2_ctx *ctx, struct err *e)
{
	struct image m;
	const char *id = ec2_require(ctx, "ImageId", e);
	if (!id || ec2_image_owned(ctx, id, &m, e) < 0)
		return -1;
	image_release(&m);
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_image_set_time(ctx->srv->cat, id, "deprecation_ms", 0, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}
