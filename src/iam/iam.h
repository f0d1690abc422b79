/*
 * iam: the part of IAM that bundles need, signing certificates (Query
 * protocol), and the check of a certificate that `amibox account add-cert`
 * shares with UploadSigningCertificate.
 */
#ifndef AMIBOX_IAM_IAM_H
#define AMIBOX_IAM_IAM_H

#include "api/api.h"
#include "catalog/catalog.h"
#include "util/err.h"

extern const struct api_service iam_service;

struct signing_cert;
/*
 * Checks a PEM certificate and adds it to the account; out gets its ID.
 * MalformedCertificate, DuplicateCertificate, LimitExceeded.
 */
int iam_upload_certificate(struct catalog *cat, const char *account_id, const char *pem,
			   struct signing_cert *out, struct err *e);

#endif
