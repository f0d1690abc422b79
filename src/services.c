/* services: the table of services (see services.h). */
#include "services.h"

#include "ce/ce.h"
#include "console/console.h"
#include "ebs/ebs.h"
#include "ec2/ec2.h"
#include "iam/iam.h"
#include "s3/s3.h"
#include "sts/sts.h"

const struct api_service *const amibox_services[] = {
	&ec2_service, /* first: the Query errors of unclaimed requests are EC2's */
	&ebs_service, /* before S3: anonymous requests below /snapshots are EBS's */
	&iam_service,
	&sts_service,
	&ce_service,
	&s3_service,
	&console_service, /* claims only unsigned GETs of /console, over S3's path claim */
	NULL,
};
