/*
 * catalog_network_internal: what the files of the network model share
 * (catalog_network.c, catalog_security_groups.c, catalog_enis.c).
 */
#ifndef AMIBOX_CATALOG_NETWORK_INTERNAL_H
#define AMIBOX_CATALOG_NETWORK_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "catalog/catalog_network.h"

/*
 * Steps stmt (bound by the caller) and reads its one row with read into
 * row: 1 found, 0 none, -1 error (what names the query in the message).
 */
int catalog_net_one(struct catalog *cat, sqlite3_stmt *stmt,
		    void (*read)(sqlite3_stmt *stmt, void *row), void *row, const char *what,
		    struct err *e);
/* As catalog_net_one for sql with ?1 = id. */
int catalog_net_get(struct catalog *cat, const char *sql, const char *id,
		    void (*read)(sqlite3_stmt *stmt, void *row), void *row, const char *what,
		    struct err *e);
/* Steps stmt and calls visit for each row until it returns non-zero. */
int catalog_net_scan(struct catalog *cat, sqlite3_stmt *stmt,
		     int (*visit)(void *arg, sqlite3_stmt *stmt), void *arg, const char *what,
		     struct err *e);
/*
 * Prepares sql, binds ?1 = owner_id, ?2 = after ("" when NULL) and, when
 * extra is non-NULL, ?3 = extra, and scans it with visit.
 */
int catalog_net_each(struct catalog *cat, const char *sql, const char *owner_id,
		     const char *after, const char *extra,
		     int (*visit)(void *arg, sqlite3_stmt *stmt), void *arg, const char *what,
		     struct err *e);

/*
 * Defines struct NAME_visit (a typed callback and its context) and
 * NAME_visit_row, which reads a row with READ and hands it to the
 * callback: what a catalog_*_each of the network model scans with.
 */
#define CATALOG_NET_VISITOR(name, type, read)                                  \
	struct name##_visit {                                                  \
		int (*fn)(void *ctx, const type *row);                         \
		void *ctx;                                                     \
	};                                                                     \
	static int name##_visit_row(void *arg, sqlite3_stmt *stmt)             \
	{                                                                      \
		struct name##_visit *visit = arg;                              \
		type row;                                                      \
		read(stmt, &row);                                              \
		return visit->fn(visit->ctx, &row);                            \
	}

/* 1 if sql (?1 = id, optional ?2 = arg) yields a row, 0 if not, -1 on error. */
int catalog_net_exists(struct catalog *cat, const char *sql, const char *id, const char *arg,
		       struct err *e);

/* The mask of a prefix length (host byte order). */
static inline uint32_t catalog_net_mask(int prefix_len)
{
	return prefix_len <= 0 ? 0 : 0xffffffffu << (32 - prefix_len);
}

/* The VPC's default security group (made with the VPC): ingress from itself, egress to all. */
int catalog_sg_create_default(struct catalog *cat, const struct vpc_row *v, struct err *e);

#endif
