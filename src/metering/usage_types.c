/*
 * usage_types: AWS's names for the usage amibox meters (see usage_types.h).
 *
 * The names are those of AWS's billing codes for EBS ("Understand codes for
 * Amazon EBS in billing and usage reports", docs.aws.amazon.com/ebs/latest/
 * userguide/ebs-billing-usage-reports.html), EC2's BoxUsage:TYPE for
 * on-demand Linux instances, S3's TimedStorage-ByteHrs for Standard
 * storage, and Cost Explorer's service names (EBS falls under "EC2 - Other").
 */
#include "metering/usage_types.h"

#include <stdio.h>
#include <string.h>

#define BOX_USAGE "BoxUsage:"

struct volume_usage {
	const char *volume_type;
	const char *storage;     /* EBS:VolumeUsage... */
	const char *operation;   /* CreateVolume... */
	const char *iops;        /* billed IOPS, or NULL */
	long long free_iops;     /* baseline included in the storage price */
};

static const struct volume_usage usage_volumes[] = {
	{ "gp2", "EBS:VolumeUsage.gp2", "CreateVolume-Gp2", NULL, 0 },
	{ "gp3", "EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "EBS:VolumeP-IOPS.gp3", 3000 },
	{ "io1", "EBS:VolumeUsage.piops", "CreateVolume-P-IOPS", "EBS:VolumeP-IOPS.piops", 0 },
	{ "io2", "EBS:VolumeUsage.io2", "CreateVolume-Io2", "EBS:VolumeP-IOPS.io2", 0 },
	{ "sc1", "EBS:VolumeUsage.sc1", "CreateVolume-Sc1", NULL, 0 },
	{ "st1", "EBS:VolumeUsage.st1", "CreateVolume-St1", NULL, 0 },
	{ "standard", "EBS:VolumeUsage", "CreateVolume", NULL, 0 },
};

#define GP3_FREE_THROUGHPUT 125
#define IO2_TIER 32000 /* io2 IOPS are priced in tiers of 32,000 */

/* The other usage types amibox writes, besides BoxUsage:TYPE. */
static const struct {
	const char *usage_type;
	struct usage_type_info info;
} usage_fixed[] = {
	{ "EBS:VolumeP-IOPS.gp3",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateVolume-Gp3", "IOPS-Mo", USAGE_MONTHS, "" } },
	{ "EBS:VolumeP-Throughput.gp3",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateVolume-Gp3", "GiBps-mo", USAGE_MONTHS, "" } },
	{ "EBS:VolumeP-IOPS.piops",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateVolume-P-IOPS", "IOPS-Mo", USAGE_MONTHS, "" } },
	{ "EBS:VolumeP-IOPS.io2",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateVolume-Io2", "IOPS-Mo", USAGE_MONTHS, "" } },
	{ "EBS:VolumeP-IOPS.io2.tier2",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateVolume-Io2", "IOPS-Mo", USAGE_MONTHS, "" } },
	{ "EBS:VolumeP-IOPS.io2.tier3",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateVolume-Io2", "IOPS-Mo", USAGE_MONTHS, "" } },
	{ "EBS:SnapshotUsage",
	  { USAGE_SERVICE_EBS, "AmazonEC2", "CreateSnapshot", "GB-Mo", USAGE_BYTE_MONTHS, "" } },
	{ "TimedStorage-ByteHrs",
	  { USAGE_SERVICE_S3, "AmazonS3", "StandardStorage", "GB-Mo", USAGE_BYTE_MONTHS, "" } },
};

/* An instance type's name: family "." size, letters, digits and dashes. */
static int usage_instance_type_valid(const char *name)
{
	size_t len = strlen(name);
	const char *dot = strchr(name, '.');
	if (len == 0 || len >= 32 || !dot || dot == name || !dot[1])
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-.") == len;
}

int usage_type_info(const char *usage_type, struct usage_type_info *out)
{
	memset(out, 0, sizeof *out);
	if (!strncmp(usage_type, BOX_USAGE, strlen(BOX_USAGE))) {
		const char *type = usage_type + strlen(BOX_USAGE);
		if (!usage_instance_type_valid(type))
			return -1;
		*out = (struct usage_type_info){ USAGE_SERVICE_EC2, "AmazonEC2", "RunInstances",
						 "Hrs", USAGE_HOURS, "" };
		snprintf(out->instance_type, sizeof out->instance_type, "%s", type);
		return 0;
	}
	for (size_t i = 0; i < sizeof usage_volumes / sizeof usage_volumes[0]; i++) {
		if (!strcmp(usage_volumes[i].storage, usage_type)) {
			*out = (struct usage_type_info){ USAGE_SERVICE_EBS, "AmazonEC2",
							 usage_volumes[i].operation, "GB-Mo",
							 USAGE_MONTHS, "" };
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof usage_fixed / sizeof usage_fixed[0]; i++) {
		if (!strcmp(usage_fixed[i].usage_type, usage_type)) {
			*out = usage_fixed[i].info;
			return 0;
		}
	}
	return -1;
}

static const struct volume_usage *usage_volume_find(const char *volume_type)
{
	for (size_t i = 0; i < sizeof usage_volumes / sizeof usage_volumes[0]; i++)
		if (!strcmp(usage_volumes[i].volume_type, volume_type))
			return &usage_volumes[i];
	return NULL;
}

const char *usage_type_volume_storage(const char *volume_type)
{
	const struct volume_usage *v = usage_volume_find(volume_type);
	return v ? v->storage : NULL;
}

size_t usage_type_volume_performance(const char *volume_type, long long iops,
				     long long throughput, struct usage_amount out[4])
{
	const struct volume_usage *v = usage_volume_find(volume_type);
	size_t n = 0;
	if (!v || !v->iops)
		return 0;
	if (!strcmp(v->volume_type, "io2")) {
		/* io2's IOPS are billed in tiers: up to 32,000, the next 32,000, the rest. */
		static const char *const tiers[] = { "EBS:VolumeP-IOPS.io2",
						     "EBS:VolumeP-IOPS.io2.tier2",
						     "EBS:VolumeP-IOPS.io2.tier3" };
		for (int t = 0; t < 3 && iops > (long long)t * IO2_TIER; t++) {
			long long in_tier = iops - (long long)t * IO2_TIER;
			if (t < 2 && in_tier > IO2_TIER)
				in_tier = IO2_TIER;
			out[n++] = (struct usage_amount){ tiers[t], (double)in_tier };
		}
		return n;
	}
	if (iops > v->free_iops)
		out[n++] = (struct usage_amount){ v->iops, (double)(iops - v->free_iops) };
	if (!strcmp(v->volume_type, "gp3") && throughput > GP3_FREE_THROUGHPUT)
		out[n++] = (struct usage_amount){ "EBS:VolumeP-Throughput.gp3",
						  (double)(throughput - GP3_FREE_THROUGHPUT) };
	return n;
}

const char *usage_type_region_prefix(const char *region)
{
	/* AWS's region billing codes; us-east-1's usage types carry none. */
	static const char *const codes[][2] = {
		{ "us-east-2", "USE2-" },      { "us-west-1", "USW1-" },
		{ "us-west-2", "USW2-" },      { "af-south-1", "AFS1-" },
		{ "ap-east-1", "APE1-" },      { "ap-south-1", "APS3-" },
		{ "ap-south-2", "APS5-" },     { "ap-southeast-1", "APS1-" },
		{ "ap-southeast-2", "APS2-" }, { "ap-southeast-3", "APS4-" },
		{ "ap-northeast-1", "APN1-" }, { "ap-northeast-2", "APN2-" },
		{ "ap-northeast-3", "APN3-" }, { "ca-central-1", "CAN1-" },
		{ "eu-central-1", "EUC1-" },   { "eu-central-2", "EUC2-" },
		{ "eu-west-1", "EU-" },        { "eu-west-2", "EUW2-" },
		{ "eu-west-3", "EUW3-" },      { "eu-north-1", "EUN1-" },
		{ "eu-south-1", "EUS1-" },     { "eu-south-2", "EUS2-" },
		{ "me-south-1", "MES1-" },     { "me-central-1", "MEC1-" },
		{ "sa-east-1", "SAE1-" },      { "il-central-1", "ILC1-" },
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strcmp(codes[i][0], region))
			return codes[i][1];
	return "";
}
