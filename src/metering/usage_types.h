/*
 * usage_types: what AWS calls each kind of usage amibox meters, in its
 * billing and Cost Explorer: the usage type, the service it belongs to,
 * the operation, the unit, and how a record's quantity becomes that unit.
 *
 * Records keep the usage type without its region prefix ("BoxUsage:t2.micro",
 * "EBS:VolumeUsage.gp3"); reports add the prefix of the record's region
 * ("USE2-BoxUsage:t2.micro"; none in us-east-1), as AWS does.
 */
#ifndef AMIBOX_METERING_USAGE_TYPES_H
#define AMIBOX_METERING_USAGE_TYPES_H

#include <stddef.h>

#define USAGE_TYPE_MAX 64
#define USAGE_SERVICE_EC2 "Amazon Elastic Compute Cloud - Compute"
#define USAGE_SERVICE_EBS "EC2 - Other"
#define USAGE_SERVICE_S3 "Amazon Simple Storage Service"

enum usage_measure {
	USAGE_HOURS,  /* quantity is a count (instances); usage in hours */
	USAGE_MONTHS, /* quantity is a rate (GiB, IOPS, MiB/s); usage in rate-months */
	USAGE_BYTE_MONTHS, /* quantity in bytes; usage in GB-months (GB = 2^30 bytes) */
};

struct usage_type_info {
	const char *service;      /* Cost Explorer's SERVICE */
	const char *service_code; /* AmazonEC2, AmazonS3 */
	const char *operation;    /* RunInstances, CreateVolume-Gp3, ... */
	const char *unit;         /* Hrs, GB-Mo, IOPS-Mo, GiBps-mo */
	enum usage_measure measure;
	char instance_type[32];   /* "" unless BoxUsage */
};

/*
 * Describes a usage type (without region prefix): 0, or -1 when amibox
 * never writes it (a price list naming it is refused).
 */
int usage_type_info(const char *usage_type, struct usage_type_info *out);

/* The volume usage types: storage, and IOPS or throughput above the free baseline. */
const char *usage_type_volume_storage(const char *volume_type);
/*
 * Splits a volume's provisioned IOPS and throughput into the billed usage
 * types and quantities (gp3: above 3,000 IOPS and 125 MiB/s; io1: every
 * IOPS; io2: every IOPS, in AWS's three tiers).  Fills at most 4 entries;
 * returns how many.
 */
struct usage_amount {
	const char *usage_type;
	double quantity;
};
size_t usage_type_volume_performance(const char *volume_type, long long iops,
				     long long throughput, struct usage_amount out[4]);

/* "USE2-" for us-east-2, "" for us-east-1 and regions without a code. */
const char *usage_type_region_prefix(const char *region);

#endif
