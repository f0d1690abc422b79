/*
 * iam: the part of IAM amibox serves, X.509 signing certificates
 * (UploadSigningCertificate, ListSigningCertificates,
 * UpdateSigningCertificate, DeleteSigningCertificate), because
 * RegisterImage verifies a bundle's manifest against them.  Query protocol,
 * IAM's response and error documents.  amibox has no IAM users: an account
 * is its own (root) user, and a UserName, when given, must be its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "iam/iam.h"
#include "api/awsquery.h"
#include "bundle/keys.h"
#include "catalog/catalog_certs.h"
#include "util/codec.h"
#include "util/ids.h"

#define IAM_NAMESPACE "https://iam.amazonaws.com/doc/2010-05-08/"
#define IAM_MAX_CERT_BODY 16384

int iam_upload_certificate(struct catalog *cat, const char *account_id, const char *pem,
			   struct signing_cert *out, struct err *e)
{
	size_t len = strlen(pem);
	if (len == 0 || len > IAM_MAX_CERT_BODY)
		return err_set(e, 400, "MalformedCertificate",
			       "The certificate body must be a PEM certificate of at most 16384 "
			       "characters.");
	EVP_PKEY *key = keys_cert_text(pem, len, e);
	if (!key)
		return -1;
	EVP_PKEY_free(key);
	memset(out, 0, sizeof *out);
	if (keys_cert_fingerprint(pem, len, out->fingerprint, e) < 0)
		return -1;
	/* 32 characters of [A-Z0-9], as IAM's certificate IDs. */
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char random[32];
	codec_random(random, sizeof random);
	for (int i = 0; i < 32; i++)
		out->id[i] = alphabet[random[i] % 36];
	snprintf(out->account_id, sizeof out->account_id, "%s", account_id);
	snprintf(out->status, sizeof out->status, "Active");
	out->upload_ms = ids_now_ms();
	out->body = (char *)pem;
	int rc = catalog_cert_add(cat, out, e);
	out->body = NULL;
	return rc;
}

/* The caller's own name, or NoSuchEntity for any other UserName. */
static int user_check(struct awsquery_call *x, struct err *e)
{
	const char *user = query_get(&x->q, "UserName");
	if (user && strcmp(user, x->req->account.name) != 0)
		return err_set(e, 404, "NoSuchEntity", "The user with name %.64s cannot be found.",
			       user);
	return 0;
}

static void write_cert(struct awsquery_call *x, const char *element, const struct signing_cert *c,
		       const char *body)
{
	xmlw_start(x->w, element);
	xmlw_text(x->w, "UserName", x->req->account.name);
	xmlw_text(x->w, "CertificateId", c->id);
	xmlw_text(x->w, "CertificateBody", body);
	xmlw_text(x->w, "Status", c->status);
	xmlw_time(x->w, "UploadDate", c->upload_ms);
	xmlw_end(x->w);
}

static int upload(struct awsquery_call *x, struct err *e)
{
	const char *body = query_get(&x->q, "CertificateBody");
	if (!body)
		return err_set(e, 400, "ValidationError",
			       "1 validation error detected: Value null at 'certificateBody' failed "
			       "to satisfy constraint: Member must not be null");
	struct signing_cert cert;
	if (user_check(x, e) < 0 ||
	    iam_upload_certificate(x->req->srv->cat, x->req->account.id, body, &cert, e) < 0)
		return -1;
	write_cert(x, "Certificate", &cert, body);
	return 0;
}

static int list(struct awsquery_call *x, struct err *e)
{
	struct signing_cert *certs = NULL;
	size_t n = 0;
	if (user_check(x, e) < 0 ||
	    catalog_certs(x->req->srv->cat, x->req->account.id, &certs, &n, e) < 0)
		return -1;
	xmlw_start(x->w, "Certificates");
	for (size_t i = 0; i < n; i++)
		write_cert(x, "member", &certs[i], certs[i].body);
	xmlw_end(x->w);
	xmlw_bool(x->w, "IsTruncated", 0);
	catalog_certs_free(certs, n);
	return 0;
}

static const char *certificate_id(struct awsquery_call *x, struct err *e)
{
	const char *id = query_get(&x->q, "CertificateId");
	if (!id || strlen(id) < 24 || strlen(id) > 128) {
		err_set(e, 400, "ValidationError",
			"1 validation error detected: Value at 'certificateId' failed to satisfy "
			"constraint: Member must have length between 24 and 128");
		return NULL;
	}
	return id;
}

static int delete(struct awsquery_call *x, struct err *e)
{
	const char *id = certificate_id(x, e);
	if (!id || user_check(x, e) < 0)
		return -1;
	return catalog_cert_delete(x->req->srv->cat, x->req->account.id, id, e);
}

static int update(struct awsquery_call *x, struct err *e)
{
	const char *id = certificate_id(x, e);
	const char *status = query_get(&x->q, "Status");
	if (!id || user_check(x, e) < 0)
		return -1;
	if (!status || (strcmp(status, "Active") && strcmp(status, "Inactive")))
		return err_set(e, 400, "ValidationError",
			       "1 validation error detected: Value at 'status' failed to satisfy "
			       "constraint: Member must satisfy enum value set: [Active, Inactive]");
	return catalog_cert_set_status(x->req->srv->cat, x->req->account.id, id, status, e);
}

static const struct awsquery_action iam_actions[] = {
	{ "DeleteSigningCertificate", delete, 0 },
	{ "ListSigningCertificates", list, 1 },
	{ "UpdateSigningCertificate", update, 0 },
	{ "UploadSigningCertificate", upload, 1 },
};

static const struct awsquery_service iam_query = {
	.name_space = IAM_NAMESPACE,
	.version = "2010-05-08",
	.actions = iam_actions,
	.nactions = sizeof iam_actions / sizeof iam_actions[0],
};

static void iam_error_response(struct request *req, const struct err *e)
{
	awsquery_error(req, e, IAM_NAMESPACE);
}

static void iam_handle(struct request *req)
{
	awsquery_handle(req, &iam_query);
}

static enum api_claim iam_claim(const struct api_route *route)
{
	return !strcmp(route->path, "/") && !strcmp(route->scope_service, "iam") ?
		       API_CLAIM_FULL : API_CLAIM_NONE;
}

/* IAM is global: its clients sign for us-east-1 whatever the region. */
const struct api_service iam_service = {
	.name = "iam",
	.global = 1,
	.claim = iam_claim,
	.error_response = iam_error_response,
	.handle = iam_handle,
};
