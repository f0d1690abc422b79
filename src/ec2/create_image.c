/*
 * ec2/create_image.c: CreateImage from an EBS-backed instance, in one call,
 * and CreateSnapshots of an instance's EBS volumes.
 *
 * Both snapshot the instance's EBS volumes at one point in time
 * (capture_volumes, over src/blockstore/volsnap.c).  CreateImage maps those
 * snapshots with the instance's devices, its instance store devices, and
 * the request's overrides, and the image stays pending until the snapshots
 * complete.  NoReboot=false (the default) pauses the machine while the
 * volumes are captured, then resets it: a consistent image, and a reboot,
 * as on EC2.  NoReboot=true captures the volumes of the running guest as
 * they are.  CreateSnapshots pauses a running machine's CPUs for the
 * capture and lets it run on: crash-consistent across the volumes, with no
 * reboot, as EC2 has it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "blockstore/volsnap.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "compute/compute.h"
#include "util/ids.h"

/* Applies BlockDeviceMapping.N of the request: DeleteOnTermination, NoDevice. */
static int apply_overrides(struct ec2_ctx *ctx, struct image_bdm *bdm, size_t *n,
			   struct err *e)
{
	struct image_bdm *req = NULL;
	size_t nreq = 0;
	if (ec2_read_bdm(ctx, "BlockDeviceMapping", &req, &nreq, e) < 0)
		return -1;
	int ret = 0;
	for (size_t k = 0; k < nreq && ret == 0; k++) {
		size_t at = *n;
		for (size_t i = 0; i < *n; i++)
			if (!strcmp(bdm[i].device_name, req[k].device_name))
				at = i;
		if (req[k].no_device) {
			if (at < *n) {
				memmove(&bdm[at], &bdm[at + 1], (*n - at - 1) * sizeof *bdm);
				(*n)--;
			}
		} else if (at < *n && req[k].ebs && bdm[at].ebs) {
			bdm[at].delete_on_termination = req[k].delete_on_termination;
			if (req[k].volume_size > bdm[at].volume_size)
				bdm[at].volume_size = req[k].volume_size;
		} else if (req[k].virtual_name[0] && at == *n && *n < IMAGE_BDM_MAX) {
			bdm[(*n)++] = req[k];
		} else {
			ret = err_set(e, 400, "InvalidBlockDeviceMapping",
				      "The mapping for %s can only change DeleteOnTermination of an existing EBS volume, suppress a device, or add an ephemeral one.",
				      req[k].device_name);
		}
	}
	free(req);
	return ret;
}

/*
 * Snapshots vols[0..n) of instance m at one point in time into snaps (whose
 * ID, owner and description the caller has filled), each with tags[i]:
 * with pause, a running machine's CPUs stop while the volumes are captured
 * (its disks quiet down and agree with each other), then it runs on, reset
 * first with reboot.
 */
static int capture_volumes(struct ec2_ctx *ctx, const struct instance *m, int pause,
			   int reboot, const struct volume_row *vols, struct snapshot *snaps,
			   const struct tag_list *tags, size_t n, struct err *e)
{
	int paused = 0, ret = 0;
	if (pause && !strcmp(m->state, "running")) {
		if (compute_pause(ctx->srv->compute, m->id, e) < 0)
			return -1;
		paused = 1;
	}
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = volsnap_capture(ctx->srv->volsnap, &vols[i], &snaps[i], &tags[i], e);
	if (paused) {
		struct err ignored = ERR_INIT;
		if (reboot && ret == 0)
			compute_reboot(ctx->srv->compute, m->id, &ignored);
		compute_resume(ctx->srv->compute, m->id, &ignored);
	}
	return ret;
}

int ec2_create_image(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	struct image img;
	struct tag_list image_tags = { NULL, 0 }, snap_tags = { NULL, 0 };
	struct volume_row *vols = NULL;
	struct snapshot *snaps = NULL;
	struct tag_list *tags = NULL;
	size_t nvols = 0;
	int no_reboot = 0, ret = -1, have_instance = 0;
	memset(&img, 0, sizeof img);
	img.ena_support = -1;
	const char *id = ec2_require(ctx, "InstanceId", e);
	const char *name = ec2_require(ctx, "Name", e);
	const char *description = query_get(&ctx->q, "Description");
	static const char *const types[] = { "image", "snapshot" };
	struct tag_list *lists[] = { &image_tags, &snap_tags };
	if (!id || !name || ec2_image_check_name(name, e) < 0 ||
	    ec2_image_check_description(description, e) < 0 ||
	    query_get_bool(&ctx->q, "NoReboot", &no_reboot, e) < 0 ||
	    ec2_tag_specifications_for(ctx, types, lists, 2, e) < 0 ||
	    ec2_instance_owned(ctx, id, &m, e) < 0)
		goto out;
	have_instance = 1;
	if (strcmp(m.root_device_type, "ebs") != 0) {
		err_set(e, 400, "InvalidParameterValue",
			"The instance '%s' is not EBS-backed: create an image of an instance-store-backed instance with the bundling tools.",
			id);
		goto out;
	}
	if (strcmp(m.state, "running") != 0 && strcmp(m.state, "stopped") != 0) {
		err_set(e, 400, "IncorrectInstanceState",
			"The instance '%s' is %s; images are created from running or stopped instances.",
			id, m.state);
		goto out;
	}
	if (ec2_image_check_unique(ctx, name, e) < 0)
		goto out;
	/* The mapping: the instance's devices as they are now. */
	img.bdm = xcalloc(IMAGE_BDM_MAX + 1, sizeof *img.bdm);
	for (size_t i = 0; i < m.ndevices && img.nbdm < IMAGE_BDM_MAX; i++) {
		const struct instance_device *d = &m.devices[i];
		struct image_bdm *b = &img.bdm[img.nbdm++];
		snprintf(b->device_name, sizeof b->device_name, "%s", d->device_name);
		if (d->virtual_name[0]) {
			snprintf(b->virtual_name, sizeof b->virtual_name, "%s", d->virtual_name);
			continue;
		}
		struct volume_row v;
		if (catalog_volume_get(ctx->srv->cat, d->volume_id, &v, e) <= 0) {
			if (!err_is_set(e))
				err_internal(e, "volume %s of %s is missing", d->volume_id, id);
			goto out;
		}
		b->ebs = 1;
		b->volume_size = v.size_gib;
		b->delete_on_termination = d->delete_on_termination;
		snprintf(b->volume_type, sizeof b->volume_type, "%s", v.volume_type);
		b->iops = v.iops;
		b->throughput = v.throughput;
		snprintf(b->snapshot_id, sizeof b->snapshot_id, "%s", v.id); /* for now: the volume */
	}
	if (apply_overrides(ctx, img.bdm, &img.nbdm, e) < 0)
		goto out;
	ids_resource("ami", img.id);
	/* One point in time for every volume (b->snapshot_id names it for now). */
	vols = xcalloc(img.nbdm + 1, sizeof *vols);
	snaps = xcalloc(img.nbdm + 1, sizeof *snaps);
	tags = xcalloc(img.nbdm + 1, sizeof *tags);
	for (size_t i = 0; i < img.nbdm; i++) {
		const struct image_bdm *b = &img.bdm[i];
		struct snapshot *s = &snaps[nvols];
		if (!b->ebs)
			continue;
		if (catalog_volume_get(ctx->srv->cat, b->snapshot_id, &vols[nvols], e) <= 0) {
			if (!err_is_set(e))
				err_internal(e, "volume %s of %s is missing", b->snapshot_id, id);
			goto out;
		}
		ids_resource("snap", s->id);
		snprintf(s->owner_id, sizeof s->owner_id, "%s", ctx->account);
		snprintf(s->description, sizeof s->description,
			 "Created by CreateImage(%s) for %s from %s", id, img.id, b->snapshot_id);
		tags[nvols++] = snap_tags; /* borrowed: every snapshot gets the same */
	}
	if (capture_volumes(ctx, &m, !no_reboot, !no_reboot, vols, snaps, tags, nvols, e) < 0)
		goto out;
	for (size_t i = 0, k = 0; i < img.nbdm; i++)
		if (img.bdm[i].ebs)
			snprintf(img.bdm[i].snapshot_id, sizeof img.bdm[i].snapshot_id, "%s",
				 snaps[k++].id);
	snprintf(img.owner_id, sizeof img.owner_id, "%s", ctx->account);
	snprintf(img.name, sizeof img.name, "%s", name);
	img.has_description = description != NULL;
	snprintf(img.description, sizeof img.description, "%s", description ? description : "");
	snprintf(img.image_type, sizeof img.image_type, "machine");
	snprintf(img.state, sizeof img.state, "pending");
	snprintf(img.architecture, sizeof img.architecture, "%s", m.architecture);
	snprintf(img.virtualization_type, sizeof img.virtualization_type, "%s", m.virtualization_type);
	snprintf(img.root_device_type, sizeof img.root_device_type, "ebs");
	snprintf(img.root_device_name, sizeof img.root_device_name, "%s", m.root_device_name);
	snprintf(img.kernel_id, sizeof img.kernel_id, "%s", m.kernel_id);
	snprintf(img.ramdisk_id, sizeof img.ramdisk_id, "%s", m.ramdisk_id);
	snprintf(img.hypervisor, sizeof img.hypervisor, "xen");
	snprintf(img.image_location, sizeof img.image_location, "%s/%s", ctx->account, name);
	snprintf(img.source_instance_id, sizeof img.source_instance_id, "%s", id);
	if (!strcmp(m.virtualization_type, "hvm"))
		img.ena_support = 1;
	img.creation_ms = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (ec2_image_check_unique(ctx, name, e) < 0 ||
	    catalog_image_insert(ctx->srv->cat, &img, e) < 0)
		goto rollback;
	for (size_t t = 0; t < image_tags.count; t++)
		if (catalog_tag_set(ctx->srv->cat, img.id, "image", ctx->account,
				    image_tags.items[t].key, image_tags.items[t].value, e) < 0)
			goto rollback;
	/* The snapshots may have completed already. */
	if (catalog_images_settle(ctx->srv->cat, e) < 0)
		goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_text(ctx->w, "imageId", img.id);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	if (have_instance)
		instance_release(&m);
	free(vols);
	free(snaps);
	free(tags);
	image_release(&img);
	tag_list_release(&image_tags);
	tag_list_release(&snap_tags);
	return ret;
}

/* ---- CreateSnapshots ---------------------------------------------------- */

/*
 * The request's excluded data volumes, each one attached to m and not its
 * root: InvalidVolumeID.Malformed / InvalidParameterValue otherwise.
 */
static int snapshots_excluded(const struct instance *m,
			      const char **excluded, size_t n, struct err *e)
{
	for (size_t k = 0; k < n; k++) {
		const struct instance_device *d = NULL;
		if (!ids_valid_resource("vol", excluded[k]))
			return err_set(e, 400, "InvalidVolumeID.Malformed",
				       "Invalid id: \"%.64s\" (expecting \"vol-...\")", excluded[k]);
		for (size_t i = 0; i < m->ndevices; i++)
			if (!strcmp(m->devices[i].volume_id, excluded[k]))
				d = &m->devices[i];
		if (!d)
			return err_set(e, 400, "InvalidParameterValue",
				       "The volume '%s' is not attached to instance '%s'.",
				       excluded[k], m->id);
		if (!strcmp(d->device_name, m->root_device_name))
			return err_set(e, 400, "InvalidParameterValue",
				       "The volume '%s' is the root volume of instance '%s': exclude it with ExcludeBootVolume.",
				       excluded[k], m->id);
	}
	return 0;
}

/* The snapshot's tags: the request's, then (CopyTagsFromSource) the volume's others. */
static int snapshots_tags(struct ec2_ctx *ctx, const struct tag_list *requested, int copy,
			  const char *volume_id, struct tag_list *out, struct err *e)
{
	struct tag_list source = { NULL, 0 };
	for (size_t t = 0; t < requested->count; t++)
		tag_list_add(out, requested->items[t].key, requested->items[t].value);
	if (!copy)
		return 0;
	if (catalog_tags_get(ctx->srv->cat, volume_id, &source, e) < 0)
		return -1;
	for (size_t t = 0; t < source.count; t++) {
		int given = 0;
		for (size_t r = 0; r < requested->count; r++)
			given |= !strcmp(requested->items[r].key, source.items[t].key);
		if (!given)
			tag_list_add(out, source.items[t].key, source.items[t].value);
	}
	tag_list_release(&source);
	if (out->count > 50)
		return err_set(e, 400, "TagLimitExceeded",
			       "The maximum number of tags per resource is 50.");
	return 0;
}

static void write_snapshot_info(struct xmlw *w, const struct snapshot *s,
				const struct tag_list *tags)
{
	xmlw_start(w, "item");
	xmlw_text(w, "snapshotId", s->id);
	xmlw_text(w, "volumeId", s->volume_id);
	xmlw_text(w, "state", s->status);
	xmlw_int(w, "volumeSize", s->volume_size);
	xmlw_time(w, "startTime", s->start_ms);
	xmlw_text(w, "progress", "");
	xmlw_text(w, "ownerId", s->owner_id);
	xmlw_text(w, "description", s->description);
	xmlw_bool(w, "encrypted", 0);
	ec2_write_tags(w, tags);
	xmlw_end(w);
}

int ec2_create_snapshots(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	struct tag_list requested = { NULL, 0 };
	struct volume_row *vols = NULL;
	struct snapshot *snaps = NULL;
	struct tag_list *tags = NULL;
	const char **excluded = NULL;
	size_t nexcluded = 0, n = 0;
	int exclude_boot = 0, have_instance = 0, ret = -1;
	const char *id = ec2_require(ctx, "InstanceSpecification.InstanceId", e);
	const char *description = query_get(&ctx->q, "Description");
	const char *copy = query_get(&ctx->q, "CopyTagsFromSource");
	const char *location = query_get(&ctx->q, "Location");
	if (!id)
		goto out;
	nexcluded = query_list(&ctx->q, "InstanceSpecification.ExcludeDataVolumeId", &excluded);
	if (description && (ec2_utf8_chars(description) > 255 ||
			    strlen(description) >= SNAPSHOT_DESCRIPTION_MAX)) {
		err_set(e, 400, "InvalidParameterValue",
			"The description must be at most 255 characters long.");
		goto out;
	}
	if (copy && strcmp(copy, "volume") != 0) {
		err_set(e, 400, "InvalidParameterValue",
			"Value (%.32s) for parameter CopyTagsFromSource is invalid. Expected: 'volume'.",
			copy);
		goto out;
	}
	if (query_get(&ctx->q, "OutpostArn") || (location && strcmp(location, "regional") != 0)) {
		err_set(e, 400, "InvalidParameterValue",
			"amibox keeps snapshots in the region; it has no Outposts or Local Zones.");
		goto out;
	}
	if (query_get_bool(&ctx->q, "InstanceSpecification.ExcludeBootVolume", &exclude_boot, e) < 0 ||
	    ec2_tag_specifications(ctx, "snapshot", &requested, e) < 0 ||
	    ec2_instance_owned(ctx, id, &m, e) < 0)
		goto out;
	have_instance = 1;
	if (strcmp(m.state, "running") != 0 && strcmp(m.state, "stopped") != 0) {
		err_set(e, 400, "IncorrectInstanceState",
			"The instance '%s' is %s; snapshots are taken of running or stopped instances.",
			id, m.state);
		goto out;
	}
	if (snapshots_excluded(&m, excluded, nexcluded, e) < 0)
		goto out;
	/* Every attached EBS volume the request does not exclude. */
	vols = xcalloc(m.ndevices + 1, sizeof *vols);
	snaps = xcalloc(m.ndevices + 1, sizeof *snaps);
	tags = xcalloc(m.ndevices + 1, sizeof *tags);
	for (size_t i = 0; i < m.ndevices; i++) {
		const struct instance_device *d = &m.devices[i];
		int skip = !d->volume_id[0] || strcmp(d->status, "attached") != 0 ||
			   (exclude_boot && !strcmp(d->device_name, m.root_device_name));
		for (size_t k = 0; k < nexcluded && !skip; k++)
			skip = !strcmp(excluded[k], d->volume_id);
		if (skip)
			continue;
		if (catalog_volume_get(ctx->srv->cat, d->volume_id, &vols[n], e) <= 0) {
			if (!err_is_set(e))
				err_internal(e, "volume %s of %s is missing", d->volume_id, id);
			goto out;
		}
		ids_resource("snap", snaps[n].id);
		snprintf(snaps[n].owner_id, sizeof snaps[n].owner_id, "%s", ctx->account);
		snprintf(snaps[n].description, sizeof snaps[n].description, "%s",
			 description ? description : "");
		if (snapshots_tags(ctx, &requested, copy != NULL, d->volume_id, &tags[n], e) < 0) {
			n++;
			goto out;
		}
		n++;
	}
	if (!n) {
		err_set(e, 400, "InvalidParameterValue",
			"The instance '%s' has no EBS volume left to snapshot.", id);
		goto out;
	}
	if (capture_volumes(ctx, &m, 1, 0, vols, snaps, tags, n, e) < 0)
		goto out;
	xmlw_start(ctx->w, "snapshotSet");
	for (size_t i = 0; i < n; i++)
		write_snapshot_info(ctx->w, &snaps[i], &tags[i]);
	xmlw_end(ctx->w);
	ret = 0;
out:
	if (have_instance)
		instance_release(&m);
	for (size_t i = 0; i < n; i++)
		tag_list_release(&tags[i]);
	free(tags);
	free(snaps);
	free(vols);
	free(excluded);
	tag_list_release(&requested);
	return ret;
}
