/*
 * ec2/instance_attributes.c: Describe/ModifyInstanceAttribute.
 *
 * The seed's rule: an EBS-backed instance's type, kernel, RAM disk and user
 * data change only while it is stopped (IncorrectInstanceState otherwise),
 * and so does EBS optimization, as on EC2; an instance-store-backed instance
 * keeps them for life.  Termination and stop protection, the shutdown
 * behaviour and DeleteOnTermination of attached volumes change at any time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_network.h"
#include "compute/instance_types.h"
#include "util/codec.h"

static void write_value(struct xmlw *w, const char *name, const char *value)
{
	xmlw_start(w, name);
	if (value && *value)
		xmlw_text(w, "value", value);
	xmlw_end(w);
}

int ec2_describe_instance_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct instance m;
	const char *id = ec2_require(ctx, "InstanceId", e);
	const char *a = ec2_require(ctx, "Attribute", e);
	if (!id || !a || ec2_instance_owned(ctx, id, &m, e) < 0)
		return -1;
	int ret = 0;
	struct xmlw *w = ctx->w;
	xmlw_text(w, "instanceId", m.id);
	if (!strcmp(a, "instanceType")) {
		write_value(w, "instanceType", m.instance_type);
	} else if (!strcmp(a, "kernel")) {
		write_value(w, "kernel", m.kernel_id);
	} else if (!strcmp(a, "ramdisk")) {
		write_value(w, "ramdisk", m.ramdisk_id);
	} else if (!strcmp(a, "userData")) {
		write_value(w, "userData", m.user_data);
	} else if (!strcmp(a, "disableApiTermination") || !strcmp(a, "disableApiStop") ||
		   !strcmp(a, "ebsOptimized")) {
		xmlw_start(w, a);
		xmlw_bool(w, "value", !strcmp(a, "disableApiStop") ? m.disable_api_stop :
				      !strcmp(a, "ebsOptimized")   ? m.ebs_optimized :
								     m.disable_api_termination);
		xmlw_end(w);
	} else if (!strcmp(a, "instanceInitiatedShutdownBehavior")) {
		write_value(w, "instanceInitiatedShutdownBehavior", m.shutdown_behavior);
	} else if (!strcmp(a, "rootDeviceName")) {
		write_value(w, "rootDeviceName", m.root_device_name);
	} else if (!strcmp(a, "blockDeviceMapping")) {
		xmlw_start(w, "blockDeviceMapping");
		for (size_t i = 0; i < m.ndevices; i++) {
			const struct instance_device *d = &m.devices[i];
			if (!d->volume_id[0])
				continue;
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
	} else if (!strcmp(a, "groupSet")) {
		/* The primary interface's groups. */
		struct ec2_instance_net net;
		if (ec2_instance_net_load(ctx, &m, &net, e) < 0) {
			instance_release(&m);
			return -1;
		}
		xmlw_start(w, a);
		for (size_t i = 0; net.n && i < net.enis[0].ngroups; i++) {
			xmlw_start(w, "item");
			xmlw_text(w, "groupId", net.enis[0].group_ids[i]);
			xmlw_end(w);
		}
		xmlw_end(w);
		ec2_instance_net_release(&net);
	} else if (!strcmp(a, "productCodes")) {
		xmlw_start(w, a);
		xmlw_end(w);
	} else if (!strcmp(a, "sourceDestCheck") || !strcmp(a, "enaSupport")) {
		xmlw_start(w, a);
		xmlw_bool(w, "value", !strcmp(a, "sourceDestCheck") ||
					      (!strcmp(a, "enaSupport") &&
					       !strcmp(m.virtualization_type, "hvm")));
		xmlw_end(w);
	} else if (!strcmp(a, "sriovNetSupport")) {
		write_value(w, "sriovNetSupport", "");
	} else {
		ret = err_set(e, 400, "InvalidParameterValue",
			      "Value (%.64s) for parameter attribute is invalid. Unknown attribute.", a);
	}
	instance_release(&m);
	return ret;
}

/* The one attribute a request changes, and its new value. */
struct change {
	const char *attribute;  /* instanceType, kernel, ... */
	const char *value;
	int count;
};

static void change_note(struct change *c, const char *attribute, const char *value)
{
	if (!value)
		return;
	c->attribute = attribute;
	c->value = value;
	c->count++;
}

/*
 * groupSet: the primary interface's security groups become GroupId.N (of its
 * VPC), and its running instance's traffic follows at once.
 */
static int modify_groups(struct ec2_ctx *ctx, const struct instance *m, struct err *e)
{
	const char **ids = NULL;
	size_t n = query_list(&ctx->q, "GroupId", &ids);
	struct ec2_instance_net net;
	int ret = -1, loaded = 0;
	if (n > 16) {
		err_set(e, 400, "SecurityGroupLimitExceeded",
			"You have exceeded the maximum number of security groups (16) for an interface.");
		goto out;
	}
	if (ec2_instance_net_load(ctx, m, &net, e) < 0)
		goto out;
	loaded = 1;
	if (!net.n) {
		err_set(e, 400, "InvalidInstanceID",
			"Instance %s has no network interface to put security groups on.", m->id);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct security_group_row g;
		if (ec2_sg_owned(ctx, ids[i], &g, e) < 0)
			goto out;
		if (strcmp(g.vpc_id, net.enis[0].vpc_id) != 0) {
			err_set(e, 400, "InvalidGroup.NotFound",
				"The security group '%s' does not exist in VPC '%s'", ids[i],
				net.enis[0].vpc_id);
			goto out;
		}
	}
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_eni_set_groups(ctx->srv->cat, net.enis[0].id, ids, n, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_network_changed(ctx, net.enis[0].vpc_id);
	ec2_return_true(ctx);
	ret = 0;
out:
	if (loaded)
		ec2_instance_net_release(&net);
	free(ids);
	return ret;
}

int ec2_modify_instance_attribute(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const values[][2] = {
		{ "instanceType", "InstanceType.Value" },
		{ "kernel", "Kernel.Value" },
		{ "ramdisk", "Ramdisk.Value" },
		{ "userData", "UserData.Value" },
		{ "disableApiTermination", "DisableApiTermination.Value" },
		{ "disableApiStop", "DisableApiStop.Value" },
		{ "instanceInitiatedShutdownBehavior", "InstanceInitiatedShutdownBehavior.Value" },
		{ "sourceDestCheck", "SourceDestCheck.Value" },
		{ "ebsOptimized", "EbsOptimized.Value" },
		{ "enaSupport", "EnaSupport.Value" },
		{ "sriovNetSupport", "SriovNetSupport.Value" },
	};
	struct instance m;
	struct change c = { 0 };
	unsigned *idx = NULL;
	int ret = -1, have = 0;
	const char *id = ec2_require(ctx, "InstanceId", e);
	const char *attribute = query_get(&ctx->q, "Attribute");
	if (!id)
		goto out;
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		change_note(&c, values[i][0], query_get(&ctx->q, values[i][1]));
	if (attribute)
		change_note(&c, attribute, query_get(&ctx->q, "Value"));
	size_t nbdm = query_indices(&ctx->q, "BlockDeviceMapping", &idx);
	if (nbdm) {
		c.attribute = "blockDeviceMapping";
		c.count++;
	}
	if (query_get(&ctx->q, "GroupId.1"))
		change_note(&c, "groupSet", "");
	if (c.count == 0) {
		err_set(e, 400, "MissingParameter",
			"The request must name an attribute to modify, with its value.");
		goto out;
	}
	if (c.count > 1) {
		err_set(e, 400, "InvalidParameterCombination",
			"Only one attribute can be modified in one request.");
		goto out;
	}
	if (ec2_instance_owned(ctx, id, &m, e) < 0)
		goto out;
	have = 1;
	const char *a = c.attribute;
	int fixed = !strcmp(a, "instanceType") || !strcmp(a, "kernel") ||
		    !strcmp(a, "ramdisk") || !strcmp(a, "userData") || !strcmp(a, "ebsOptimized");
	if (!strcmp(m.state, "terminated") || !strcmp(m.state, "shutting-down")) {
		err_set(e, 400, "IncorrectInstanceState",
			"The instance '%s' is %s.", id, m.state);
		goto out;
	}
	if (fixed && !strcmp(m.root_device_type, "instance-store")) {
		err_set(e, 400, "UnsupportedOperation",
			"The instance '%s' is instance-store-backed: its %s is fixed for its life.",
			id, a);
		goto out;
	}
	if (fixed && strcmp(m.state, "stopped") != 0) {
		err_set(e, 400, "IncorrectInstanceState",
			"The instance '%s' is not in the 'stopped' state.", id);
		goto out;
	}
	const char *column = NULL;
	const char *value = c.value;
	if (!strcmp(a, "instanceType")) {
		const struct instance_type *t = instance_type_find(value);
		if (!t) {
			err_set(e, 400, "InvalidInstanceAttributeValue",
				"The instanceType '%.64s' is not valid.", value);
			goto out;
		}
		int pv = !strcmp(m.virtualization_type, "paravirtual");
		if ((pv && !t->paravirtual) || (!pv && !t->hvm) || t->arm64) {
			err_set(e, 400, "InvalidInstanceAttributeValue",
				"The instance type '%s' does not run %s %s instances.",
				t->name, m.architecture, m.virtualization_type);
			goto out;
		}
		column = "instance_type";
	} else if (!strcmp(a, "kernel") || !strcmp(a, "ramdisk")) {
		int kernel = !strcmp(a, "kernel");
		struct image k;
		if (strcmp(m.virtualization_type, "paravirtual") != 0) {
			err_set(e, 400, "InvalidParameterCombination",
				"Kernels and RAM disks apply to paravirtual instances only.");
			goto out;
		}
		if (!ids_valid_resource(kernel ? "aki" : "ari", value)) {
			err_set(e, 400, kernel ? "InvalidKernelId.Malformed" : "InvalidRamDiskId.Malformed",
				"Invalid id: \"%.64s\"", value);
			goto out;
		}
		if (ec2_image_lookup(ctx, value, &k, e) < 0)
			goto out;
		int ok = !strcmp(k.image_type, kernel ? "kernel" : "ramdisk");
		image_release(&k);
		if (!ok) {
			err_set(e, 400, "InvalidInstanceAttributeValue", "%s is not a %s image.", value, a);
			goto out;
		}
		column = kernel ? "kernel_id" : "ramdisk_id";
	} else if (!strcmp(a, "userData")) {
		struct buf raw = BUF_INIT;
		/* The CLIs send userData base64-encoded already. */
		if (strlen(value) > INSTANCE_USER_DATA_MAX ||
		    codec_unbase64(value, strlen(value), &raw) < 0 || raw.len > 16384) {
			buf_release(&raw);
			err_set(e, 400, "InvalidParameterValue",
				"User data must be base64, at most 16 KiB decoded.");
			goto out;
		}
		buf_release(&raw);
		column = "user_data";
	} else if (!strcmp(a, "disableApiTermination") || !strcmp(a, "disableApiStop") ||
		   !strcmp(a, "ebsOptimized")) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			err_set(e, 400, "InvalidParameterValue", "%s is true or false.", a);
			goto out;
		}
		if (!strcmp(a, "disableApiStop") && !strcmp(value, "true") &&
		    !strcmp(m.root_device_type, "instance-store")) {
			err_set(e, 400, "UnsupportedOperation",
				"Stop protection is not supported for instance store-backed instances: '%s' is one.",
				id);
			goto out;
		}
		column = !strcmp(a, "disableApiStop") ? "disable_api_stop" :
			 !strcmp(a, "ebsOptimized")   ? "ebs_optimized" :
						        "disable_api_termination";
		value = !strcmp(value, "true") ? "1" : "0";
	} else if (!strcmp(a, "instanceInitiatedShutdownBehavior")) {
		if (strcmp(value, "stop") != 0 && strcmp(value, "terminate") != 0) {
			err_set(e, 400, "InvalidParameterValue",
				"instanceInitiatedShutdownBehavior is 'stop' or 'terminate'.");
			goto out;
		}
		column = "shutdown_behavior";
	} else if (!strcmp(a, "blockDeviceMapping")) {
		/* Only DeleteOnTermination of attached EBS volumes. */
		if (catalog_begin(ctx->srv->cat, e) < 0)
			goto out;
		for (size_t k = 0; k < nbdm; k++) {
			char name[96];
			snprintf(name, sizeof name, "BlockDeviceMapping.%u.DeviceName", idx[k]);
			const char *dev = query_get(&ctx->q, name);
			snprintf(name, sizeof name, "BlockDeviceMapping.%u.Ebs.DeleteOnTermination", idx[k]);
			int dot = 1;
			struct instance_device *d = NULL;
			for (size_t i = 0; dev && i < m.ndevices; i++)
				if (!strcmp(m.devices[i].device_name, dev) && m.devices[i].volume_id[0])
					d = &m.devices[i];
			if (!d) {
				catalog_rollback(ctx->srv->cat);
				err_set(e, 400, "InvalidInstanceAttributeValue",
					"No EBS volume is attached at '%.64s'.", dev ? dev : "");
				goto out;
			}
			if (query_get_bool(&ctx->q, name, &dot, e) < 0) {
				catalog_rollback(ctx->srv->cat);
				goto out;
			}
			d->delete_on_termination = dot;
			if (catalog_instance_device_set(ctx->srv->cat, m.id, d, (int)(d - m.devices), e) < 0) {
				catalog_rollback(ctx->srv->cat);
				goto out;
			}
		}
		if (catalog_commit(ctx->srv->cat, e) < 0)
			goto out;
		ec2_return_true(ctx);
		ret = 0;
		goto out;
	} else if (!strcmp(a, "groupSet")) {
		ret = modify_groups(ctx, &m, e);
		goto out;
	} else if (!strcmp(a, "sourceDestCheck") ||
		   !strcmp(a, "enaSupport") || !strcmp(a, "sriovNetSupport")) {
		err_set(e, 400, "InvalidParameterValue",
			"The attribute %s cannot be changed on an amibox instance.", a);
		goto out;
	} else {
		err_set(e, 400, "InvalidParameterValue",
			"Value (%.64s) for parameter attribute is invalid.", a);
		goto out;
	}
	/* A type with CPU credits starts with its family's option, kept after. */
	const char *credits = !strcmp(column, "instance_type") && !m.cpu_credits[0] ?
				      ec2_credit_default(value) : NULL;
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_instance_set_text(ctx->srv->cat, m.id, column, value, e) < 0 ||
	    (credits && catalog_instance_set_text(ctx->srv->cat, m.id, "cpu_credits", credits, e) < 0)) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_return_true(ctx);
	ret = 0;
out:
	if (have)
		instance_release(&m);
	free(idx);
	return ret;
}
