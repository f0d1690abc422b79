/*
 * s3: the object store's S3 API (path-style buckets and objects, multipart
 * uploads, canned ACLs) on the daemon's port.  A streaming service: it
 * authenticates from the headers (SigV4, SigV2, anonymous) and takes bodies
 * as they arrive.
 */
#ifndef AMIBOX_S3_S3_H
#define AMIBOX_S3_S3_H

#include "api/api.h"

extern const struct api_service s3_service;

#endif
