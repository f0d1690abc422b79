/*
 * services: the table of AWS services the daemon serves on its port, in
 * the order the front breaks ties between equal claims (see api.h).  A new
 * service is a folder beside src/ec2 and one row here.
 */
#ifndef AMIBOX_SERVICES_H
#define AMIBOX_SERVICES_H

#include "api/api.h"

/* NULL-terminated; the first row answers requests that no service claims. */
extern const struct api_service *const amibox_services[];

#endif
