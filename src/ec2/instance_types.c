/*
 * ec2/instance_types.c: DescribeInstanceTypes from the built-in table
 * (src/compute/instance_types.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "compute/instance_types.h"

const char *ec2_credit_default(const char *instance_type)
{
	if (!strncmp(instance_type, "t2.", 3))
		return "standard";
	if (!strncmp(instance_type, "t3.", 3) || !strncmp(instance_type, "t3a.", 4) ||
	    !strncmp(instance_type, "t4g.", 4))
		return "unlimited";
	return NULL;
}

/* The values a filter compares for t; returns how many (up to 4). */
static size_t type_values(const struct instance_type *t, const char *name,
			  const char *out[4], char *num, size_t cap)
{
	size_t n = 0;
	if (!strcmp(name, "instance-type")) {
		out[n++] = t->name;
	} else if (!strcmp(name, "current-generation")) {
		out[n++] = t->current_generation ? "true" : "false";
	} else if (!strcmp(name, "supported-virtualization-type")) {
		if (t->hvm)
			out[n++] = "hvm";
		if (t->paravirtual)
			out[n++] = "paravirtual";
	} else if (!strcmp(name, "supported-root-device-type")) {
		out[n++] = "ebs";
		if (t->disks)
			out[n++] = "instance-store";
	} else if (!strcmp(name, "vcpu-info.default-vcpus")) {
		snprintf(num, cap, "%d", t->vcpus);
		out[n++] = num;
	} else if (!strcmp(name, "memory-info.size-in-mib")) {
		snprintf(num, cap, "%lld", t->memory_mib);
		out[n++] = num;
	} else if (!strcmp(name, "instance-storage-supported")) {
		out[n++] = t->disks ? "true" : "false";
	} else if (!strcmp(name, "processor-info.supported-architecture")) {
		if (t->arm64) {
			out[n++] = "arm64";
		} else {
			out[n++] = "x86_64";
			if (!t->current_generation)
				out[n++] = "i386";
		}
	} else if (!strcmp(name, "burstable-performance-supported")) {
		out[n++] = ec2_credit_default(t->name) ? "true" : "false";
	} else if (!strcmp(name, "hypervisor")) {
		out[n++] = t->current_generation ? "nitro" : "xen";
	} else if (!strcmp(name, "bare-metal") || !strcmp(name, "free-tier-eligible")) {
		out[n++] = !strcmp(name, "free-tier-eligible") &&
				   (!strcmp(t->name, "t2.micro") || !strcmp(t->name, "t3.micro")) ?
				   "true" : "false";
	}
	return n;
}

static const char *const type_filters[] = {
	"instance-type", "current-generation", "supported-virtualization-type",
	"supported-root-device-type", "vcpu-info.default-vcpus",
	"memory-info.size-in-mib", "instance-storage-supported",
	"processor-info.supported-architecture", "hypervisor", "bare-metal",
	"free-tier-eligible", "burstable-performance-supported", NULL,
};

static void write_type(struct xmlw *w, const struct instance_type *t)
{
	xmlw_start(w, "item");
	xmlw_text(w, "instanceType", t->name);
	xmlw_bool(w, "currentGeneration", t->current_generation);
	xmlw_bool(w, "freeTierEligible",
		  !strcmp(t->name, "t2.micro") || !strcmp(t->name, "t3.micro"));
	xmlw_start(w, "supportedUsageClasses");
	xmlw_text(w, "item", "on-demand");
	xmlw_end(w);
	xmlw_start(w, "supportedRootDeviceTypes");
	xmlw_text(w, "item", "ebs");
	if (t->disks)
		xmlw_text(w, "item", "instance-store");
	xmlw_end(w);
	xmlw_start(w, "supportedVirtualizationTypes");
	if (t->hvm)
		xmlw_text(w, "item", "hvm");
	if (t->paravirtual)
		xmlw_text(w, "item", "paravirtual");
	xmlw_end(w);
	xmlw_bool(w, "bareMetal", 0);
	xmlw_text(w, "hypervisor", t->current_generation ? "nitro" : "xen");
	xmlw_start(w, "processorInfo");
	xmlw_start(w, "supportedArchitectures");
	if (t->arm64) {
		xmlw_text(w, "item", "arm64");
	} else {
		if (!t->current_generation)
			xmlw_text(w, "item", "i386");
		xmlw_text(w, "item", "x86_64");
	}
	xmlw_end(w);
	xmlw_end(w);
	xmlw_start(w, "vCpuInfo");
	xmlw_int(w, "defaultVCpus", t->vcpus);
	xmlw_end(w);
	xmlw_start(w, "memoryInfo");
	xmlw_int(w, "sizeInMiB", t->memory_mib);
	xmlw_end(w);
	xmlw_bool(w, "instanceStorageSupported", t->disks > 0);
	/* Terraform reads an instance's credit option only for these. */
	xmlw_bool(w, "burstablePerformanceSupported", ec2_credit_default(t->name) != NULL);
	if (t->disks) {
		xmlw_start(w, "instanceStorageInfo");
		xmlw_int(w, "totalSizeInGB", (long long)t->disks * t->disk_gb);
		xmlw_start(w, "disks");
		xmlw_start(w, "item");
		xmlw_int(w, "sizeInGB", t->disk_gb);
		xmlw_int(w, "count", t->disks);
		xmlw_text(w, "type", t->disk_type);
		xmlw_end(w);
		xmlw_end(w);
		xmlw_end(w);
	}
	xmlw_start(w, "supportedBootModes");
	xmlw_text(w, "item", "legacy-bios");
	if (t->current_generation)
		xmlw_text(w, "item", "uefi");
	xmlw_end(w);
	xmlw_end(w);
}

int ec2_describe_instance_types(struct ec2_ctx *ctx, struct err *e)
{
	struct query_filter *filters = NULL;
	size_t nfilters = 0, count;
	const char **names = NULL;
	struct ec2_page page;
	int ret = -1;
	size_t nnames = query_list(&ctx->q, "InstanceType", &names);
	const struct instance_type *table = instance_types(&count);
	if (query_filters(&ctx->q, &filters, &nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 100, &page, e) < 0)
		goto out;
	for (size_t i = 0; i < nfilters; i++) {
		int known = 0;
		for (const char *const *p = type_filters; *p && !known; p++)
			known = !strcmp(*p, filters[i].name);
		if (!known) {
			err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				filters[i].name);
			goto out;
		}
	}
	for (size_t i = 0; i < nnames; i++)
		if (!instance_type_find(names[i])) {
			err_set(e, 400, "InvalidInstanceType",
				"The following supplied instance types do not exist: [%.64s]",
				names[i]);
			goto out;
		}
	xmlw_start(ctx->w, "instanceTypeSet");
	long long written = 0;
	const char *last = NULL;
	int more = 0;
	for (size_t i = 0; i < count; i++) {
		const struct instance_type *t = &table[i];
		if (page.after[0] && strcmp(t->name, page.after) <= 0)
			continue;
		int match = !nnames;
		for (size_t k = 0; k < nnames; k++)
			match |= !strcmp(names[k], t->name);
		for (size_t f = 0; f < nfilters && match; f++) {
			const char *values[4];
			char num[32];
			size_t n = type_values(t, filters[f].name, values, num, sizeof num);
			int any = 0;
			for (size_t v = 0; v < n; v++)
				any |= filter_match_any(filters[f].values, filters[f].nvalues, values[v]);
			match = any;
		}
		if (!match)
			continue;
		if (page.max_results && written == page.max_results) {
			more = 1;
			break;
		}
		write_type(ctx->w, t);
		written++;
		last = t->name;
	}
	xmlw_end(ctx->w);
	if (more && last)
		ec2_page_write_token(ctx, last);
	ret = 0;
out:
	free(names);
	query_filters_free(filters, nfilters);
	return ret;
}
