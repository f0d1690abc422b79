/*
 * sts: the AWS Security Token Service, as far as the tools that drive
 * amibox call it: GetCallerIdentity (Terraform's AWS provider validates its
 * credentials and learns the account with it; Ansible's ec2_security_group
 * learns the account with it).  Query protocol on the daemon's port, signed
 * for the scope "sts" in the daemon's region or us-east-1 (STS is global).
 */
#ifndef AMIBOX_STS_STS_H
#define AMIBOX_STS_STS_H

#include "api/api.h"
#include "catalog/catalog.h"

extern const struct api_service sts_service;

#define STS_ARN_MAX 128
#define STS_USER_ID_MAX 22

/*
 * The identity an account's keys stand for: an IAM user named as the
 * account ("arn:aws:iam::ACCOUNT:user/NAME"), and its unique ID, "AIDA" and
 * 17 characters derived from the account ID (stable across restarts and
 * data directories).
 */
void sts_identity(const struct account *a, char arn[STS_ARN_MAX],
		  char user_id[STS_USER_ID_MAX]);

#endif
