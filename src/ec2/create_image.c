/*
 * ec2/create_image.c: CreateImage from an EBS-backed instance, in one call.
 *
 * Every EBS volume of the instance is snapshotted at one point in time
 * (src/blockstore/volsnap.c); the image maps those snapshots with the
 * instance's devices, its instance store devices, and the request's
 * overrides, and stays pending until the snapshots complete.
 * NoReboot=false (the default) pauses the machine while the volumes are
 * captured, then resets it: a consistent image, and a reboot, as on EC2.
 * NoReboot=true captures the volumes of the running guest as they are.
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

int ec2_create_image(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	struct image img;
	struct tag_list image_tags = { NULL, 0 }, snap_tags = { NULL, 0 };
	int no_reboot = 0, paused = 0, ret = -1, have_instance = 0;
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
	/* One point in time for every volume: pause a running guest first. */
	int running = !strcmp(m.state, "running");
	if (running && !no_reboot) {
		if (compute_pause(ctx->srv->compute, id, e) < 0)
			goto out;
		paused = 1;
	}
	for (size_t i = 0; i < img.nbdm; i++) {
		struct image_bdm *b = &img.bdm[i];
		struct volume_row v;
		struct snapshot s;
		if (!b->ebs)
			continue;
		if (catalog_volume_get(ctx->srv->cat, b->snapshot_id, &v, e) <= 0)
			goto out;
		memset(&s, 0, sizeof s);
		ids_resource("snap", s.id);
		snprintf(s.owner_id, sizeof s.owner_id, "%s", ctx->account);
		snprintf(s.description, sizeof s.description,
			 "Created by CreateImage(%s) for %s from %s", id, img.id, v.id);
		if (volsnap_capture(ctx->srv->volsnap, &v, &s, &snap_tags, e) < 0)
			goto out;
		snprintf(b->snapshot_id, sizeof b->snapshot_id, "%s", s.id);
	}
	if (paused) {
		/* The reboot of NoReboot=false: reset, and run again. */
		struct err ignored = ERR_INIT;
		compute_reboot(ctx->srv->compute, id, &ignored);
		compute_resume(ctx->srv->compute, id, &ignored);
		paused = 0;
	}
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
	if (paused) {
		struct err ignored = ERR_INIT;
		compute_resume(ctx->srv->compute, id, &ignored);
	}
	if (have_instance)
		instance_release(&m);
	image_release(&img);
	tag_list_release(&image_tags);
	tag_list_release(&snap_tags);
	return ret;
}
