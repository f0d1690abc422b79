/* catalog_certs: signing certificates (see catalog_certs.h). */
#include "catalog/catalog_certs.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "util/buf.h"

int catalog_certs(struct catalog *c, const char *account_id, struct signing_cert **certs,
		  size_t *count, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(
		c, "SELECT certificate_id, account_id, body, fingerprint, status, upload_ms"
		   " FROM signing_certificates WHERE account_id = ?1 ORDER BY upload_ms, certificate_id",
		e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	struct signing_cert *out = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out = xrealloc(out, (n + 1) * sizeof *out);
		struct signing_cert *s = &out[n++];
		memset(s, 0, sizeof *s);
		catalog_copy_text(s->id, sizeof s->id, stmt, 0);
		catalog_copy_text(s->account_id, sizeof s->account_id, stmt, 1);
		const unsigned char *body = sqlite3_column_text(stmt, 2);
		s->body = xstrdup(body ? (const char *)body : "");
		catalog_copy_text(s->fingerprint, sizeof s->fingerprint, stmt, 3);
		catalog_copy_text(s->status, sizeof s->status, stmt, 4);
		s->upload_ms = sqlite3_column_int64(stmt, 5);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		catalog_certs_free(out, n);
		return catalog_sqlite_error(c, "listing signing certificates", e);
	}
	*certs = out;
	*count = n;
	return 0;
}

void catalog_certs_free(struct signing_cert *certs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(certs[i].body);
	free(certs);
}

int catalog_cert_add(struct catalog *c, const struct signing_cert *cert, struct err *e)
{
	struct signing_cert *have = NULL;
	size_t n = 0;
	if (catalog_begin(c, e) < 0)
		return -1;
	if (catalog_certs(c, cert->account_id, &have, &n, e) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(have[i].fingerprint, cert->fingerprint)) {
			err_set(e, 409, "DuplicateCertificate",
				"The request was rejected because the same certificate is associated "
				"with an IAM user in the account.");
			goto fail;
		}
	}
	if (n >= CERTS_PER_ACCOUNT) {
		err_set(e, 409, "LimitExceeded",
			"Cannot exceed quota for CertificatesPerUser: %d", CERTS_PER_ACCOUNT);
		goto fail;
	}
	sqlite3_stmt *stmt = catalog_stmt(
		c, "INSERT INTO signing_certificates (certificate_id, account_id, body, fingerprint,"
		   " status, upload_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", e);
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, cert->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, cert->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, cert->body, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, cert->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, cert->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, cert->upload_ms);
	if (catalog_step_done(c, stmt, "adding a signing certificate", e) < 0 ||
	    catalog_commit(c, e) < 0)
		goto fail;
	catalog_certs_free(have, n);
	return 0;
fail:
	catalog_rollback(c);
	catalog_certs_free(have, n);
	return -1;
}

static int cert_change(struct catalog *c, const char *sql, const char *account_id,
		       const char *id, const char *status, struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(c, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
	if (status)
		sqlite3_bind_text(stmt, 3, status, -1, SQLITE_STATIC);
	if (catalog_step_done(c, stmt, "changing a signing certificate", e) < 0)
		return -1;
	if (sqlite3_changes(catalog_db(c, e)) == 0)
		return err_set(e, 404, "NoSuchEntity",
			       "The Certificate with id %.40s cannot be found.", id);
	return 0;
}

int catalog_cert_delete(struct catalog *c, const char *account_id, const char *id,
			struct err *e)
{
	return cert_change(c, "DELETE FROM signing_certificates WHERE account_id = ?1"
			      " AND certificate_id = ?2", account_id, id, NULL, e);
}

int catalog_cert_set_status(struct catalog *c, const char *account_id, const char *id,
			    const char *status, struct err *e)
{
	return cert_change(c, "UPDATE signing_certificates SET status = ?3 WHERE account_id = ?1"
			      " AND certificate_id = ?2", account_id, id, status, e);
}
