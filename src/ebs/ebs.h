/*
 * ebs: the EBS direct API (block-level snapshot reads and writes, REST with
 * JSON), served below /snapshots.
 */
#ifndef AMIBOX_EBS_EBS_H
#define AMIBOX_EBS_EBS_H

#include "api/api.h"

extern const struct api_service ebs_service;

#endif
