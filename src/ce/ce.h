/*
 * ce: the AWS Cost Explorer API, as far as `aws ce get-cost-and-usage` and
 * `aws ce get-dimension-values` use it: GetCostAndUsage and
 * GetDimensionValues over amibox's usage records (src/metering).  JSON 1.1
 * protocol (X-Amz-Target: AWSInsightsIndexService.<Action>) on the daemon's
 * port, signed for the scope "ce" in the daemon's region or in us-east-1
 * (Cost Explorer is global).  Each account sees its own usage only.
 */
#ifndef AMIBOX_CE_CE_H
#define AMIBOX_CE_CE_H

#include "api/api.h"

extern const struct api_service ce_service;

#endif
