/*
 * ec2: the EC2 Query API (images, snapshots, volumes, instances, tags,
 * bundles), one file per resource; internal.h is what those files share.
 * The rest of amibox sees only the service's row in the table of services.
 */
#ifndef AMIBOX_EC2_EC2_H
#define AMIBOX_EC2_EC2_H

#include "api/api.h"

extern const struct api_service ec2_service;

#endif
