/*
 * ec2/attach.c: AttachVolume and DetachVolume.
 *
 * States as on EC2: attaching -> attached -> detaching -> detached.  A
 * stopped instance takes or gives up a volume at once; a running one gets
 * it hot-plugged (QMP) or is asked to let it go (src/compute/compute.c).
 * A volume attached after launch has DeleteOnTermination false.
 */
#include <stdio.h>
#include <string.h>

#include "ec2/internal.h"
#include "blockstore/volume.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "compute/compute.h"
#include "util/ids.h"

static void write_attachment(struct xmlw *w, const char *volume, const char *instance,
			     const struct instance_device *d, const char *status)
{
	xmlw_text(w, "volumeId", volume);
	xmlw_text(w, "instanceId", instance);
	xmlw_text(w, "device", d->device_name);
	xmlw_text(w, "status", status);
	xmlw_time(w, "attachTime", d->attach_ms);
	xmlw_bool(w, "deleteOnTermination", d->delete_on_termination);
}

/* A partition number as EC2 allows it: 1-15, no leading zero. */
static int device_partition_ok(const char *p)
{
	return !*p || (p[0] >= '1' && p[0] <= '9' &&
		       (!p[1] || (p[0] == '1' && p[1] >= '0' && p[1] <= '5' && !p[2])));
}

static int device_letter(char c)
{
	return c >= 'a' && c <= 'z';
}

/*
 * EC2's device names for a volume ("Device names on Linux instances"), with
 * or without /dev/: for HVM sd[a-z], sd[a-z][1-15], xvd[a-z] and
 * xvd[a-z][a-z]; for paravirtual sd, hd and xvd followed by [a-z] and an
 * optional [1-15].  The instance's own root device name is always valid.
 */
static int device_valid(const char *name, const struct instance *m)
{
	if (!strcmp(name, m->root_device_name))
		return 1;
	const char *p = !strncmp(name, "/dev/", 5) ? name + 5 : name;
	int hvm = strcmp(m->virtualization_type, "paravirtual") != 0;
	if (!strncmp(p, "sd", 2) && device_letter(p[2]))
		return device_partition_ok(p + 3);
	if (!hvm && !strncmp(p, "hd", 2) && device_letter(p[2]))
		return device_partition_ok(p + 3);
	if (!strncmp(p, "xvd", 3) && device_letter(p[3])) {
		if (hvm)
			return !p[4] || (device_letter(p[4]) && !p[5]);
		return device_partition_ok(p + 4);
	}
	return 0;
}

/*
 * Whether the volume may be attached: available, and (verified, not
 * assumed) served to no machine, since a forced detach ends only when the
 * old machine's server has.  EC2's answers: IncorrectState for a volume
 * still detaching, VolumeInUse for one attached.
 */
static int volume_attachable(struct ec2_ctx *ctx, const struct volume_row *v, struct err *e)
{
	struct instance_device d;
	char instance[ID_MAX];
	if (strcmp(v->state, "available") != 0) {
		int found = catalog_volume_attachment(ctx->srv->cat, v->id, instance, &d, e);
		if (found < 0)
			return -1;
		if (found && !strcmp(d.status, "detaching"))
			return err_set(e, 400, "IncorrectState",
				       "Volume '%s' is still detaching from '%s'; it can be attached once it is 'available'.",
				       v->id, instance);
		return err_set(e, 400, "VolumeInUse", "%s is already attached to an instance", v->id);
	}
	int served = volume_served(ctx->srv->data_dir, v->id, e);
	if (served < 0)
		return -1;
	if (served)
		return err_set(e, 400, "VolumeInUse",
			       "Volume %s is still reachable from a machine: its server has not ended yet.",
			       v->id);
	return 0;
}

/* In the attaching transaction: the volume is still available. */
static int volume_still_available(struct ec2_ctx *ctx, const char *volume, struct err *e)
{
	struct volume_row now;
	int found = catalog_volume_get(ctx->srv->cat, volume, &now, e);
	if (found < 0)
		return -1;
	if (!found || strcmp(now.state, "available") != 0)
		return err_set(e, 400, "VolumeInUse", "%s is already attached to an instance", volume);
	return 0;
}

int ec2_attach_volume(struct ec2_ctx *ctx, struct err *e)
{
	struct volume_row v;
	struct instance m;
	struct instance_device d;
	int ret = -1;
	const char *volume = ec2_require(ctx, "VolumeId", e);
	const char *instance = ec2_require(ctx, "InstanceId", e);
	const char *device = ec2_require(ctx, "Device", e);
	if (!volume || !instance || !device)
		return -1;
	if (ec2_volume_owned(ctx, volume, &v, e) < 0 || ec2_instance_owned(ctx, instance, &m, e) < 0)
		return -1;
	if (!device_valid(device, &m)) {
		err_set(e, 400, "InvalidParameterValue",
			"Value (%.64s) for parameter device is invalid. %.64s is not a valid EBS device name.",
			device, device);
		goto out;
	}
	if (volume_attachable(ctx, &v, e) < 0)
		goto out;
	if (strcmp(v.zone, m.zone) != 0) {
		err_set(e, 400, "InvalidVolume.ZoneMismatch",
			"The volume '%s' is not in the same availability zone as instance '%s'",
			volume, instance);
		goto out;
	}
	int running = !strcmp(m.state, "running");
	if (!running && strcmp(m.state, "stopped") != 0) {
		err_set(e, 400, "IncorrectInstanceState",
			"Instance '%s' is not 'running' or 'stopped'.", instance);
		goto out;
	}
	for (size_t i = 0; i < m.ndevices; i++)
		if (!strcmp(m.devices[i].device_name, device)) {
			err_set(e, 400, "InvalidParameterValue",
				"Attachment point %.64s is already in use", device);
			goto out;
		}
	memset(&d, 0, sizeof d);
	snprintf(d.device_name, sizeof d.device_name, "%s", device);
	snprintf(d.volume_id, sizeof d.volume_id, "%s", volume);
	d.attach_ms = ids_now_ms();
	snprintf(d.status, sizeof d.status, "%s", running ? "attaching" : "attached");
	snprintf(v.state, sizeof v.state, "in-use");
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	/* Another request may have taken the volume since it was read. */
	if (volume_still_available(ctx, volume, e) < 0 ||
	    catalog_instance_device_set(ctx->srv->cat, m.id, &d, (int)m.ndevices, e) < 0 ||
	    catalog_volume_update(ctx->srv->cat, &v, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	if (running)
		compute_attach(ctx->srv->compute, m.id, volume);
	write_attachment(ctx->w, volume, m.id, &d, "attaching");
	ret = 0;
out:
	instance_release(&m);
	return ret;
}

int ec2_detach_volume(struct ec2_ctx *ctx, struct err *e)
{
	struct volume_row v;
	struct instance m;
	struct instance_device d;
	char instance[ID_MAX];
	int force = 0, ret = -1;
	const char *volume = ec2_require(ctx, "VolumeId", e);
	const char *want_instance = query_get(&ctx->q, "InstanceId");
	const char *want_device = query_get(&ctx->q, "Device");
	if (!volume || query_get_bool(&ctx->q, "Force", &force, e) < 0 ||
	    ec2_volume_owned(ctx, volume, &v, e) < 0)
		return -1;
	int found = catalog_volume_attachment(ctx->srv->cat, volume, instance, &d, e);
	if (found < 0)
		return -1;
	if (!found)
		return err_set(e, 400, "IncorrectState", "Volume '%s' is in the 'available' state.", volume);
	if ((want_instance && strcmp(want_instance, instance) != 0) ||
	    (want_device && strcmp(want_device, d.device_name) != 0))
		return err_set(e, 400, "InvalidAttachment.NotFound",
			       "Volume '%s' is not attached to '%.64s' at '%.64s'.", volume,
			       want_instance ? want_instance : instance,
			       want_device ? want_device : d.device_name);
	if (ec2_instance_owned(ctx, instance, &m, e) < 0)
		return -1;
	if (!strcmp(d.device_name, m.root_device_name) && strcmp(m.state, "stopped") != 0) {
		err_set(e, 400, "OperationNotPermitted",
			"Unable to detach root volume '%s' from instance '%s' while it is %s.",
			volume, instance, m.state);
		goto out;
	}
	if (!strcmp(d.status, "detaching") && !force) {
		err_set(e, 400, "IncorrectState", "Volume '%s' is already detaching.", volume);
		goto out;
	}
	int running = !strcmp(m.state, "running");
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	int rc;
	if (running) {
		snprintf(d.status, sizeof d.status, "detaching");
		size_t pos = 0;
		for (size_t i = 0; i < m.ndevices; i++)
			if (!strcmp(m.devices[i].device_name, d.device_name))
				pos = i;
		rc = catalog_instance_device_set(ctx->srv->cat, m.id, &d, (int)pos, e);
	} else {
		snprintf(v.state, sizeof v.state, "available");
		rc = catalog_instance_device_delete(ctx->srv->cat, m.id, d.device_name, e) < 0 ||
				     catalog_volume_update(ctx->srv->cat, &v, e) < 0 ? -1 : 0;
	}
	if (rc < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	if (running)
		compute_detach(ctx->srv->compute, m.id, volume, force);
	write_attachment(ctx->w, volume, m.id, &d, "detaching");
	ret = 0;
out:
	instance_release(&m);
	return ret;
}
