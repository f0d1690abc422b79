/*
 * catalog_addresses: Elastic IP addresses (see catalog_network.h).
 *
 * Invariants:
 *  1. An address is in the public pool and held by one account; no
 *     interface holds it as an auto-assigned public address
 *     (catalog_public_ip_free skips the addresses of this table).
 *  2. An address is associated with one interface at most (eni_id UNIQUE),
 *     and then that interface's public_ip is the address; an interface has
 *     one Elastic IP address at most.
 *  3. An interface deleted ends its address's association
 *     (catalog_eni_delete); the address stays its account's.
 *
 * States of an address: allocated --catalog_address_associate--> associated
 * --catalog_address_disassociate--> allocated --catalog_address_delete--> gone.
 */
#include "catalog/catalog_network.h"

#include <stdio.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "catalog/catalog_network_internal.h"

#define ADDRESS_COLUMNS                                                              \
	"a.allocation_id, a.owner_id, a.public_ip, a.create_ms, a.association_id,"    \
	" a.eni_id, a.private_ip, n.instance_id, n.owner_id"                           \
	" FROM addresses a LEFT JOIN network_interfaces n ON n.eni_id = a.eni_id"

static void address_read(sqlite3_stmt *stmt, void *row)
{
	struct address_row *a = row;
	memset(a, 0, sizeof *a);
	catalog_copy_text(a->allocation_id, sizeof a->allocation_id, stmt, 0);
	catalog_copy_text(a->owner_id, sizeof a->owner_id, stmt, 1);
	catalog_copy_text(a->public_ip, sizeof a->public_ip, stmt, 2);
	a->create_ms = sqlite3_column_int64(stmt, 3);
	catalog_copy_text(a->association_id, sizeof a->association_id, stmt, 4);
	catalog_copy_text(a->eni_id, sizeof a->eni_id, stmt, 5);
	catalog_copy_text(a->private_ip, sizeof a->private_ip, stmt, 6);
	catalog_copy_text(a->instance_id, sizeof a->instance_id, stmt, 7);
	catalog_copy_text(a->eni_owner_id, sizeof a->eni_owner_id, stmt, 8);
}

CATALOG_NET_VISITOR(address, struct address_row, address_read)

int catalog_address_insert(struct catalog *cat, const struct address_row *a, struct err *e)
{
	static const char sql[] =
		"INSERT INTO addresses (allocation_id, owner_id, public_ip, create_ms)"
		" VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, a->allocation_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, a->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, a->public_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, a->create_ms);
	return catalog_step_done(cat, stmt, "inserting an address", e);
}

int catalog_address_get(struct catalog *cat, const char *allocation_id, struct address_row *a,
			struct err *e)
{
	static const char sql[] = "SELECT " ADDRESS_COLUMNS " WHERE a.allocation_id = ?1";
	return catalog_net_get(cat, sql, allocation_id, address_read, a, "reading an address", e);
}

int catalog_address_by_ip(struct catalog *cat, const char *public_ip, struct address_row *a,
			  struct err *e)
{
	static const char sql[] = "SELECT " ADDRESS_COLUMNS " WHERE a.public_ip = ?1";
	return catalog_net_get(cat, sql, public_ip, address_read, a, "reading an address", e);
}

int catalog_address_count(struct catalog *cat, const char *owner_id, long long *count,
			  struct err *e)
{
	static const char sql[] = "SELECT count(*) FROM addresses WHERE owner_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? 0 : catalog_sqlite_error(cat, "counting addresses", e);
}

int catalog_address_each(struct catalog *cat, const char *owner_id,
			 int (*fn)(void *ctx, const struct address_row *a), void *ctx,
			 struct err *e)
{
	static const char sql[] = "SELECT " ADDRESS_COLUMNS
				  " WHERE a.owner_id = ?1 AND a.allocation_id > ?2"
				  " ORDER BY a.allocation_id";
	struct address_visit visit = { fn, ctx };
	return catalog_net_each(cat, sql, owner_id, "", NULL, address_visit_row, &visit,
				"listing addresses", e);
}

int catalog_address_associate(struct catalog *cat, const char *allocation_id,
			      const char *association_id, const char *eni_id,
			      const char *private_ip, struct err *e)
{
	static const char assoc_sql[] =
		"UPDATE addresses SET association_id = ?2, eni_id = ?3, private_ip = ?4"
		" WHERE allocation_id = ?1";
	static const char public_sql[] =
		"UPDATE network_interfaces SET public_ip ="
		" (SELECT public_ip FROM addresses WHERE allocation_id = ?2) WHERE eni_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, assoc_sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, allocation_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, association_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, eni_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, private_ip, -1, SQLITE_STATIC);
	if (catalog_step_done(cat, stmt, "associating an address", e) < 0)
		return -1;
	return catalog_run(cat, public_sql, eni_id, allocation_id,
			   "giving an interface its address", e);
}

int catalog_address_disassociate(struct catalog *cat, const char *allocation_id,
				 struct err *e)
{
	static const char public_sql[] =
		"UPDATE network_interfaces SET public_ip = NULL WHERE eni_id ="
		" (SELECT eni_id FROM addresses WHERE allocation_id = ?1)";
	static const char assoc_sql[] =
		"UPDATE addresses SET association_id = NULL, eni_id = NULL, private_ip = NULL"
		" WHERE allocation_id = ?1";
	if (catalog_run(cat, public_sql, allocation_id, NULL,
			"taking an interface's address", e) < 0)
		return -1;
	return catalog_run(cat, assoc_sql, allocation_id, NULL, "disassociating an address", e);
}

int catalog_address_delete(struct catalog *cat, const char *allocation_id, struct err *e)
{
	if (catalog_run(cat, "DELETE FROM tags WHERE resource_id = ?1", allocation_id, NULL,
			"deleting tags", e) < 0)
		return -1;
	return catalog_run(cat, "DELETE FROM addresses WHERE allocation_id = ?1"
			   " AND eni_id IS NULL", allocation_id, NULL, "deleting an address", e);
}

int catalog_vpc_has_gateway(struct catalog *cat, const char *vpc_id, struct err *e)
{
	return catalog_net_exists(cat, "SELECT 1 FROM internet_gateways WHERE vpc_id = ?1", vpc_id,
				  NULL, e);
}
