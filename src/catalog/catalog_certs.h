/*
 * catalog_certs: accounts' X.509 signing certificates (IAM's
 * UploadSigningCertificate), against which bundle manifests are verified.
 */
#ifndef AMIBOX_CATALOG_CATALOG_CERTS_H
#define AMIBOX_CATALOG_CATALOG_CERTS_H

#include "catalog/catalog.h"

#define CERTS_PER_ACCOUNT 2 /* as IAM allows per user */

struct signing_cert {
	char id[40];
	char account_id[13];
	char *body;          /* PEM */
	char fingerprint[41];
	char status[16];     /* Active or Inactive */
	long long upload_ms;
};

/*
 * Adds a certificate: DuplicateCertificate (409) if the account has it,
 * LimitExceeded (409) past CERTS_PER_ACCOUNT.
 */
int catalog_cert_add(struct catalog *c, const struct signing_cert *cert, struct err *e);
/* The account's certificates, oldest first (caller frees with catalog_certs_free). */
int catalog_certs(struct catalog *c, const char *account_id, struct signing_cert **certs,
		  size_t *count, struct err *e);
void catalog_certs_free(struct signing_cert *certs, size_t count);
/* NoSuchEntity (404) if the account has no such certificate. */
int catalog_cert_delete(struct catalog *c, const char *account_id, const char *id,
			struct err *e);
int catalog_cert_set_status(struct catalog *c, const char *account_id, const char *id,
			    const char *status, struct err *e);

#endif
