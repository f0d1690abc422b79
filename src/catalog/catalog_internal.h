/*
 * catalog_internal: small helpers the catalog_*.c files share.
 */
#ifndef AMIBOX_CATALOG_INTERNAL_H
#define AMIBOX_CATALOG_INTERNAL_H

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"

/*
 * The account signing with access_key as read under generation (1, into
 * out), else 0; and remembering one (catalog_account_by_key's).
 */
int catalog_account_recall(struct catalog *c, const char *access_key,
			   unsigned long long generation, struct account *out);
void catalog_account_remember(struct catalog *c, unsigned long long generation,
			      const struct account *a);

/*
 * Copies a text column into dst (capacity cap, cut to fit); NULL reads as
 * "".  A row copies dozens of columns, so no printf here.
 */
static inline void catalog_copy_text(char *dst, size_t cap, sqlite3_stmt *stmt,
				     int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);
	size_t len = t ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
	if (len >= cap)
		len = cap - 1;
	if (len)
		memcpy(dst, t, len);
	dst[len] = '\0';
}

/* Binds text, with "" stored as NULL so that optional columns stay NULL. */
static inline void catalog_bind_opt(sqlite3_stmt *stmt, int col,
				    const char *text)
{
	if (text && *text)
		sqlite3_bind_text(stmt, col, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

/* Steps a statement expected to finish without rows; resets it. */
static inline int catalog_step_done(struct catalog *c, sqlite3_stmt *stmt,
				    const char *what, struct err *e)
{
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(c, what, e);
	return 0;
}

/*
 * Runs sql with ?1 = id and collects its first column's text into a
 * caller-freed array (each string and the array).
 */
int catalog_strings(struct catalog *c, const char *sql, const char *id,
		    char ***strings, size_t *count, const char *what,
		    struct err *e);
/* Runs sql (no rows) with ?1 = id and, when arg is non-NULL, ?2 = arg. */
int catalog_run(struct catalog *c, const char *sql, const char *id,
		const char *arg, const char *what, struct err *e);
/*
 * Runs sql with ?1 = id and, when arg is non-NULL, ?2 = arg: 1 if it gives
 * a row, 0 if none, -1 on error.
 */
int catalog_exists(struct catalog *c, const char *sql, const char *id,
		   const char *arg, const char *what, struct err *e);

#endif
