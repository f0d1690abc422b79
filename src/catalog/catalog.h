/*
 * catalog: amibox's metadata, in SQLite.
 *
 * One database file (DIR/catalog.db) in WAL mode holds accounts, snapshots,
 * their block maps, chunk reference counts, permissions and tags.  Every
 * state change is one transaction (catalog_begin .. catalog_commit), so a
 * crash leaves the catalog as it was before or after a change, never between.
 * The schema is versioned (PRAGMA user_version) and migrated forward by
 * catalog_open(); each migration runs in its own transaction.
 *
 * Threads: a struct catalog is shared; each thread gets its own SQLite
 * connection (and prepared-statement cache) on first use, so readers never
 * wait for each other and writers queue on SQLite's lock with a busy timeout.
 * Other processes (the `amibox account` command) may write at the same time;
 * the daemon sees their commits on its next query.
 */
#ifndef AMIBOX_CATALOG_CATALOG_H
#define AMIBOX_CATALOG_CATALOG_H

#include <sqlite3.h>
#include <stddef.h>

#include "util/err.h"

struct catalog;

int catalog_open(const char *dir, struct catalog **out, struct err *e);
void catalog_close(struct catalog *c);

/* The catalog's file (DIR/catalog.db); owned by c. */
const char *catalog_path(const struct catalog *c);
/* This thread's connection (opened on first use); NULL on failure. */
sqlite3 *catalog_db(struct catalog *c, struct err *e);
/*
 * A cached prepared statement for sql (which must be a string literal: the
 * cache is keyed by its address), reset and with bindings cleared.
 */
sqlite3_stmt *catalog_stmt(struct catalog *c, const char *sql, struct err *e);
/*
 * A number that differs from every earlier one whenever the catalog may
 * have changed since (a commit by any connection or process): what was
 * read from the catalog under one generation holds while it is current.
 */
int catalog_generation(struct catalog *c, unsigned long long *out, struct err *e);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on this thread's connection. */
int catalog_begin(struct catalog *c, struct err *e);
int catalog_commit(struct catalog *c, struct err *e);
void catalog_rollback(struct catalog *c);
/* Runs sql (no results) on this thread's connection. */
int catalog_exec(struct catalog *c, const char *sql, struct err *e);
/* Turns the connection's last error into a 500 InternalError. */
int catalog_sqlite_error(struct catalog *c, const char *what, struct err *e);

/* The schema version this build migrates to. */
int catalog_schema_version(void);

/* ---- accounts ---------------------------------------------------------- */

struct account {
	char id[13];
	char name[65];
	char access_key[21];
	char secret[41];
	long long created_ms;
};

/*
 * Creates an account with fresh ID and keys.  A name must be 1-64 of
 * [A-Za-z0-9._-]; a taken name is 409 AccountExists.
 */
int catalog_account_create(struct catalog *c, const char *name,
			   struct account *out, struct err *e);
/* 1 found, 0 not found, -1 error. */
int catalog_account_by_key(struct catalog *c, const char *access_key,
			   struct account *out, struct err *e);
int catalog_account_by_name(struct catalog *c, const char *name,
			    struct account *out, struct err *e);
int catalog_account_by_id(struct catalog *c, const char *account_id,
			  struct account *out, struct err *e);
/* 1 if an account with that 12-digit ID exists, 0 if not, -1 on error. */
int catalog_account_exists(struct catalog *c, const char *account_id,
			   struct err *e);
/* Calls fn for each account in name order; stops when fn returns non-zero. */
int catalog_account_each(struct catalog *c,
			 int (*fn)(void *ctx, const struct account *a),
			 void *ctx, struct err *e);
/*
 * Calls fn for each live resource the account owns, in the order they can
 * be ended in: instances not terminated, volumes, images, snapshots (also
 * pending ones), buckets.  kind is "instance", "volume", "image",
 * "snapshot" or "bucket"; state is the resource's state ("" for buckets).
 * fn returns nonzero to stop.
 */
int catalog_account_resources(struct catalog *c, const char *account_id,
			      int (*fn)(void *ctx, const char *kind, const char *id,
					const char *state),
			      void *ctx, struct err *e);
/*
 * Deletes the account by name, with its signing certificates, in one
 * transaction: 404 NoSuchAccount if absent, 409 AccountNotEmpty while it
 * owns a live resource (catalog_account_resources).  What its terminated
 * instances left (their rows, for the record) stays.
 */
int catalog_account_delete(struct catalog *c, const char *name, struct err *e);

#endif
