/* ec2/bundles.c: RegisterImage's instance-store side (see internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "bundle/bundle_store.h"

/* "sda1" → "/dev/sda1"; "/dev/sdb" stays. */
static void device_path(const char *device, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s", strncmp(device, "/dev/", 5) ? "/dev/" : "", device);
}

int ec2_bundle_facts(struct ec2_ctx *ctx, const char *location, struct bundle_facts *facts,
		     struct err *e)
{
	struct bundle_ref ref;
	struct manifest m;
	unsigned char key[16], iv[16];
	memset(facts, 0, sizeof *facts);
	if (strlen(location) >= sizeof ((struct image *)0)->image_location)
		return err_set(e, 400, "InvalidParameterValue",
			       "ImageLocation is longer than %zu characters.",
			       sizeof ((struct image *)0)->image_location - 1);
	if (bundle_store_load(ctx->srv->cat, ctx->srv->objstore, ctx->srv->data_dir, location,
			      ctx->account, 1, &ref, &m, key, iv, e) < 0)
		return -1;
	snprintf(facts->type, sizeof facts->type, "%s", m.type);
	int arch_ok = !m.architecture[0] || !strcmp(m.architecture, "i386") ||
		      !strcmp(m.architecture, "x86_64");
	snprintf(facts->architecture, sizeof facts->architecture, "%.15s", m.architecture);
	snprintf(facts->kernel_id, sizeof facts->kernel_id, "%s", m.kernel_id);
	snprintf(facts->ramdisk_id, sizeof facts->ramdisk_id, "%s", m.ramdisk_id);
	const char *root = manifest_device(&m, "root");
	if (root[0])
		device_path(root, facts->root_device, sizeof facts->root_device);
	for (size_t i = 0; i < m.nmappings; i++) {
		const char *v = m.mappings[i].virtual_name;
		int ephemeral = !strncmp(v, "ephemeral", 9) && v[9] >= '0' && v[9] <= '9';
		if ((!ephemeral && strcmp(v, "swap") != 0) ||
		    facts->nephemerals == sizeof facts->ephemerals / sizeof *facts->ephemerals)
			continue;
		struct image_bdm *b = &facts->ephemerals[facts->nephemerals++];
		memset(b, 0, sizeof *b);
		device_path(m.mappings[i].device, b->device_name, sizeof b->device_name);
		snprintf(b->virtual_name, sizeof b->virtual_name, "%.15s", ephemeral ? v : "ephemeral0");
	}
	manifest_release(&m);
	if (!arch_ok)
		return err_set(e, 400, "InvalidManifest",
			       "The manifest's architecture %.15s is not i386 or x86_64.",
			       facts->architecture);
	return 0;
}

int ec2_bundle_add_ephemerals(struct image *m, const struct bundle_facts *facts, struct err *e)
{
	for (size_t i = 0; i < facts->nephemerals; i++) {
		int mapped = 0;
		for (size_t j = 0; j < m->nbdm; j++)
			mapped |= !strcmp(m->bdm[j].device_name, facts->ephemerals[i].device_name);
		if (mapped)
			continue;
		if (m->nbdm >= 128)
			return err_set(e, 400, "InvalidBlockDeviceMapping", "Too many mappings.");
		m->bdm = xrealloc(m->bdm, (m->nbdm + 1) * sizeof *m->bdm);
		m->bdm[m->nbdm++] = facts->ephemerals[i];
	}
	return 0;
}
