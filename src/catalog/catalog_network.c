/*
 * catalog_network: VPCs, subnets, each account's default VPC, route tables,
 * network ACLs, internet gateways and DHCP options (see catalog_network.h).
 *
 * Design notes
 *
 * Invariants:
 *  1. A VPC is created together with its main route table (its local
 *     route), its default network ACL and its default security group, in
 *     the caller's transaction (catalog_vpc_create), and they go with it
 *     (catalog_vpc_delete), which refuses while anything else is in it.
 *  2. network_accounts has a row for an account once it has a VPC or DHCP
 *     options; default_vpc_made says it has had a default VPC, and
 *     default_vpc_id is NULL after that VPC was deleted, so a lazy
 *     catalog_default_vpc never brings back what the account deleted.
 *  3. Subnets of a VPC never overlap and lie inside the VPC's CIDR
 *     (checked in the inserting transaction).
 *  4. A main route table has a 0.0.0.0/0 route to an internet gateway
 *     exactly while that gateway is attached to its VPC.
 */
#include "catalog/catalog_network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "catalog/catalog_network_internal.h"
#include "catalog/catalog_snapshots.h"

/* ---- shared helpers ------------------------------------------------------ */

int catalog_net_one(struct catalog *cat, sqlite3_stmt *stmt,
		    void (*read)(sqlite3_stmt *stmt, void *row), void *row, const char *what,
		    struct err *e)
{
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		read(stmt, row);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(cat, what, e);
}

int catalog_net_get(struct catalog *cat, const char *sql, const char *id,
		    void (*read)(sqlite3_stmt *stmt, void *row), void *row, const char *what,
		    struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	return catalog_net_one(cat, stmt, read, row, what, e);
}

int catalog_net_scan(struct catalog *cat, sqlite3_stmt *stmt,
		     int (*visit)(void *arg, sqlite3_stmt *stmt), void *arg, const char *what,
		     struct err *e)
{
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (visit(arg, stmt))
			break;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, what, e);
	return 0;
}

int catalog_net_each(struct catalog *cat, const char *sql, const char *owner_id,
		     const char *after, const char *extra,
		     int (*visit)(void *arg, sqlite3_stmt *stmt), void *arg, const char *what,
		     struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, after ? after : "", -1, SQLITE_STATIC);
	if (extra)
		sqlite3_bind_text(stmt, 3, extra, -1, SQLITE_STATIC);
	return catalog_net_scan(cat, stmt, visit, arg, what, e);
}

int catalog_net_exists(struct catalog *cat, const char *sql, const char *id, const char *arg,
		       struct err *e)
{
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	if (arg)
		sqlite3_bind_text(stmt, 2, arg, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return catalog_sqlite_error(cat, "checking the network model", e);
}

/* An ID too long for ids_resource's buffer ("vpc-cidr-assoc-" + 17 digits). */
static void network_long_id(const char *prefix, char out[NETWORK_ASSOC_ID_MAX])
{
	char tail[ID_MAX];
	ids_resource("x", tail);
	snprintf(out, NETWORK_ASSOC_ID_MAX, "%.20s-%.17s", prefix, tail + 2);
}

int catalog_network_owner(struct catalog *cat, const char *id, char owner[13], struct err *e)
{
	/* IDs carry their kind's prefix, so at most one branch has a row. */
	static const char sql[] =
		"SELECT owner_id FROM vpcs WHERE vpc_id = ?1"
		" UNION ALL SELECT owner_id FROM subnets WHERE subnet_id = ?1"
		" UNION ALL SELECT owner_id FROM security_groups WHERE group_id = ?1"
		" UNION ALL SELECT owner_id FROM security_group_rules WHERE rule_id = ?1"
		" UNION ALL SELECT owner_id FROM route_tables WHERE route_table_id = ?1"
		" UNION ALL SELECT owner_id FROM network_acls WHERE network_acl_id = ?1"
		" UNION ALL SELECT owner_id FROM internet_gateways WHERE internet_gateway_id = ?1"
		" UNION ALL SELECT owner_id FROM network_interfaces WHERE eni_id = ?1"
		" UNION ALL SELECT owner_id FROM addresses WHERE allocation_id = ?1"
		" UNION ALL SELECT owner_id FROM dhcp_options WHERE dhcp_options_id = ?1 LIMIT 1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(owner, 13, stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "finding a network resource", e);
	return rc == SQLITE_ROW;
}

/* ---- DHCP options ------------------------------------------------------- */

static void dhcp_read(sqlite3_stmt *stmt, void *row)
{
	struct dhcp_options_row *d = row;
	memset(d, 0, sizeof *d);
	catalog_copy_text(d->id, sizeof d->id, stmt, 0);
	catalog_copy_text(d->owner_id, sizeof d->owner_id, stmt, 1);
	catalog_copy_text(d->domain_name, sizeof d->domain_name, stmt, 2);
}

int catalog_dhcp_options_get(struct catalog *cat, const char *id, struct dhcp_options_row *d,
			     struct err *e)
{
	static const char sql[] = "SELECT dhcp_options_id, owner_id, domain_name FROM dhcp_options"
				  " WHERE dhcp_options_id = ?1";
	return catalog_net_get(cat, sql, id, dhcp_read, d, "reading DHCP options", e);
}

CATALOG_NET_VISITOR(dhcp, struct dhcp_options_row, dhcp_read)

int catalog_dhcp_options_each(struct catalog *cat, const char *owner_id,
			      int (*fn)(void *ctx, const struct dhcp_options_row *d), void *ctx,
			      struct err *e)
{
	static const char sql[] = "SELECT dhcp_options_id, owner_id, domain_name FROM dhcp_options"
				  " WHERE owner_id = ?1 AND dhcp_options_id > ?2"
				  " ORDER BY dhcp_options_id";
	struct dhcp_visit visit = { fn, ctx };
	return catalog_net_each(cat, sql, owner_id, NULL, NULL, dhcp_visit_row, &visit,
				"listing DHCP options", e);
}

/*
 * In a transaction: the account's DHCP options set (every VPC of an
 * account starts with it, as on EC2), made on first use.
 */
static int network_account_dhcp(struct catalog *cat, const char *account_id, const char *region,
				char out[ID_MAX], struct err *e)
{
	static const char get[] =
		"SELECT dhcp_options_id FROM network_accounts WHERE account_id = ?1";
	static const char put_options[] =
		"INSERT INTO dhcp_options (dhcp_options_id, owner_id, domain_name) VALUES (?1, ?2, ?3)";
	static const char put_account[] =
		"INSERT INTO network_accounts (account_id, default_vpc_id, dhcp_options_id)"
		" VALUES (?1, NULL, ?2)";
	sqlite3_stmt *stmt = catalog_stmt(cat, get, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(out, ID_MAX, stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "reading the account's network", e);
	char domain[96];
	/* EC2's names: us-east-1 kept its historical domain. */
	if (!strcmp(region, "us-east-1"))
		snprintf(domain, sizeof domain, "ec2.internal");
	else
		snprintf(domain, sizeof domain, "%.60s.compute.internal", region);
	ids_resource("dopt", out);
	if (!(stmt = catalog_stmt(cat, put_options, e)))
		return -1;
	sqlite3_bind_text(stmt, 1, out, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, domain, -1, SQLITE_STATIC);
	if (catalog_step_done(cat, stmt, "inserting DHCP options", e) < 0)
		return -1;
	return catalog_run(cat, put_account, account_id, out, "recording the account's network", e);
}

/* ---- VPCs --------------------------------------------------------------- */

#define VPC_COLUMNS                                                            \
	"vpc_id, owner_id, cidr_block, cidr_assoc_id, dhcp_options_id, tenancy," \
	" is_default, dns_support, dns_hostnames, nau_metrics, create_ms"

static void vpc_read(sqlite3_stmt *stmt, void *row)
{
	struct vpc_row *v = row;
	memset(v, 0, sizeof *v);
	catalog_copy_text(v->id, sizeof v->id, stmt, 0);
	catalog_copy_text(v->owner_id, sizeof v->owner_id, stmt, 1);
	catalog_copy_text(v->cidr_block, sizeof v->cidr_block, stmt, 2);
	catalog_copy_text(v->cidr_assoc_id, sizeof v->cidr_assoc_id, stmt, 3);
	catalog_copy_text(v->dhcp_options_id, sizeof v->dhcp_options_id, stmt, 4);
	catalog_copy_text(v->tenancy, sizeof v->tenancy, stmt, 5);
	v->is_default = sqlite3_column_int(stmt, 6);
	v->dns_support = sqlite3_column_int(stmt, 7);
	v->dns_hostnames = sqlite3_column_int(stmt, 8);
	v->nau_metrics = sqlite3_column_int(stmt, 9);
	v->create_ms = sqlite3_column_int64(stmt, 10);
}

/* The main route table: the VPC's local route, and a main association. */
static int network_main_route_table(struct catalog *cat, const struct vpc_row *v, struct err *e)
{
	static const char table_sql[] =
		"INSERT INTO route_tables (route_table_id, owner_id, vpc_id, main_assoc_id)"
		" VALUES (?1, ?2, ?3, ?4)";
	static const char route_sql[] =
		"INSERT INTO routes (route_table_id, destination, gateway_id, origin)"
		" VALUES (?1, ?2, 'local', 'CreateRouteTable')";
	char rtb[ID_MAX], assoc[ID_MAX];
	ids_resource("rtb", rtb);
	ids_resource("rtbassoc", assoc);
	sqlite3_stmt *stmt = catalog_stmt(cat, table_sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, rtb, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, v->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, assoc, -1, SQLITE_STATIC);
	if (catalog_step_done(cat, stmt, "inserting a route table", e) < 0)
		return -1;
	return catalog_run(cat, route_sql, rtb, v->cidr_block, "inserting a route", e);
}

static int network_default_acl(struct catalog *cat, const struct vpc_row *v, struct err *e)
{
	static const char sql[] =
		"INSERT INTO network_acls (network_acl_id, owner_id, vpc_id, is_default)"
		" VALUES (?1, ?2, ?3, 1)";
	char acl[ID_MAX];
	ids_resource("acl", acl);
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, acl, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, v->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, v->id, -1, SQLITE_STATIC);
	return catalog_step_done(cat, stmt, "inserting a network ACL", e);
}

int catalog_vpc_create(struct catalog *cat, const char *region, struct vpc_row *v,
		       struct err *e)
{
	static const char sql[] = "INSERT INTO vpcs (" VPC_COLUMNS ")"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	network_long_id("vpc-cidr-assoc", v->cidr_assoc_id);
	if (!v->tenancy[0])
		snprintf(v->tenancy, sizeof v->tenancy, "default");
	v->create_ms = ids_now_ms();
	if (network_account_dhcp(cat, v->owner_id, region, v->dhcp_options_id, e) < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, v->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, v->cidr_block, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, v->cidr_assoc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, v->dhcp_options_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, v->tenancy, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 7, v->is_default);
	sqlite3_bind_int(stmt, 8, v->dns_support);
	sqlite3_bind_int(stmt, 9, v->dns_hostnames);
	sqlite3_bind_int(stmt, 10, v->nau_metrics);
	sqlite3_bind_int64(stmt, 11, v->create_ms);
	if (catalog_step_done(cat, stmt, "inserting a VPC", e) < 0 ||
	    network_main_route_table(cat, v, e) < 0 || network_default_acl(cat, v, e) < 0 ||
	    catalog_sg_create_default(cat, v, e) < 0)
		return -1;
	return 0;
}

int catalog_vpc_get(struct catalog *cat, const char *id, struct vpc_row *v, struct err *e)
{
	static const char sql[] = "SELECT " VPC_COLUMNS " FROM vpcs WHERE vpc_id = ?1";
	return catalog_net_get(cat, sql, id, vpc_read, v, "reading a VPC", e);
}

int catalog_vpc_update(struct catalog *cat, const struct vpc_row *v, struct err *e)
{
	static const char sql[] = "UPDATE vpcs SET tenancy = ?2, dns_support = ?3,"
				  " dns_hostnames = ?4, nau_metrics = ?5 WHERE vpc_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, v->tenancy, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, v->dns_support);
	sqlite3_bind_int(stmt, 4, v->dns_hostnames);
	sqlite3_bind_int(stmt, 5, v->nau_metrics);
	return catalog_step_done(cat, stmt, "updating a VPC", e);
}

int catalog_vpc_delete(struct catalog *cat, const char *id, struct err *e)
{
	/* What EC2 calls the VPC's dependencies: everything not made with it. */
	static const char deps[] =
		"SELECT 1 FROM subnets WHERE vpc_id = ?1"
		" UNION ALL SELECT 1 FROM security_groups WHERE vpc_id = ?1 AND group_name != 'default'"
		" UNION ALL SELECT 1 FROM route_tables WHERE vpc_id = ?1 AND main_assoc_id IS NULL"
		" UNION ALL SELECT 1 FROM network_acls WHERE vpc_id = ?1 AND is_default = 0"
		" UNION ALL SELECT 1 FROM internet_gateways WHERE vpc_id = ?1"
		" UNION ALL SELECT 1 FROM network_interfaces WHERE vpc_id = ?1 LIMIT 1";
	/* In order: tags before their rows; rules and routes go by cascade. */
	static const char *const sqls[] = {
		"DELETE FROM tags WHERE resource_id IN (SELECT rule_id FROM security_group_rules"
		" WHERE group_id IN (SELECT group_id FROM security_groups WHERE vpc_id = ?1))",
		"DELETE FROM tags WHERE resource_id IN (SELECT group_id FROM security_groups"
		" WHERE vpc_id = ?1)",
		"DELETE FROM security_groups WHERE vpc_id = ?1",
		"DELETE FROM tags WHERE resource_id IN (SELECT route_table_id FROM route_tables"
		" WHERE vpc_id = ?1)",
		"DELETE FROM route_tables WHERE vpc_id = ?1",
		"DELETE FROM tags WHERE resource_id IN (SELECT network_acl_id FROM network_acls"
		" WHERE vpc_id = ?1)",
		"DELETE FROM network_acls WHERE vpc_id = ?1",
		"DELETE FROM tags WHERE resource_id = ?1",
		"DELETE FROM vpcs WHERE vpc_id = ?1",
		"UPDATE network_accounts SET default_vpc_id = NULL WHERE default_vpc_id = ?1",
	};
	int busy = catalog_net_exists(cat, deps, id, NULL, e);
	if (busy < 0)
		return -1;
	if (busy)
		return err_set(e, 400, "DependencyViolation",
			       "The vpc '%s' has dependencies and cannot be deleted.", id);
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (catalog_run(cat, sqls[i], id, NULL, "deleting a VPC", e) < 0)
			return -1;
	return 0;
}

CATALOG_NET_VISITOR(vpc, struct vpc_row, vpc_read)

int catalog_vpc_each(struct catalog *cat, const char *owner_id, const char *after,
		     int (*fn)(void *ctx, const struct vpc_row *v), void *ctx, struct err *e)
{
	static const char sql[] = "SELECT " VPC_COLUMNS " FROM vpcs WHERE owner_id = ?1"
				  " AND vpc_id > ?2 ORDER BY vpc_id";
	struct vpc_visit visit = { fn, ctx };
	return catalog_net_each(cat, sql, owner_id, after, NULL, vpc_visit_row, &visit,
				"listing VPCs", e);
}

/* ---- the default VPC ----------------------------------------------------- */

/* In a transaction: the default VPC and its default subnets, gateway and route. */
static int network_default_vpc_make(struct catalog *cat, const char *account_id,
				    const char *region, const char *const *zones, size_t nzones,
				    struct vpc_row *v, struct err *e)
{
	static const char mark[] =
		"UPDATE network_accounts SET default_vpc_id = ?2, default_vpc_made = 1"
		" WHERE account_id = ?1";
	struct internet_gateway_row igw;
	if (nzones > 16)
		nzones = 16;
	memset(v, 0, sizeof *v);
	ids_resource("vpc", v->id);
	snprintf(v->owner_id, sizeof v->owner_id, "%s", account_id);
	snprintf(v->cidr_block, sizeof v->cidr_block, "172.31.0.0/16");
	v->is_default = v->dns_support = v->dns_hostnames = 1;
	if (catalog_vpc_create(cat, region, v, e) < 0 ||
	    catalog_run(cat, mark, account_id, v->id, "recording the default VPC", e) < 0)
		return -1;
	for (size_t i = 0; i < nzones; i++) {
		struct subnet_row s;
		memset(&s, 0, sizeof s);
		ids_resource("subnet", s.id);
		snprintf(s.owner_id, sizeof s.owner_id, "%s", account_id);
		snprintf(s.vpc_id, sizeof s.vpc_id, "%s", v->id);
		snprintf(s.cidr_block, sizeof s.cidr_block, "172.31.%zu.0/20", i * 16);
		snprintf(s.zone, sizeof s.zone, "%s", zones[i]);
		s.default_for_az = s.map_public_ip = 1;
		if (catalog_subnet_create(cat, &s, e) < 0)
			return -1;
	}
	memset(&igw, 0, sizeof igw);
	ids_resource("igw", igw.id);
	snprintf(igw.owner_id, sizeof igw.owner_id, "%s", account_id);
	if (catalog_internet_gateway_insert(cat, &igw, e) < 0)
		return -1;
	return catalog_internet_gateway_set_vpc(cat, igw.id, v->id, e);
}

/* 1 and the ID ("" when deleted) if the account has had a default VPC, 0 if never. */
static int network_default_vpc_known(struct catalog *cat, const char *account_id,
				     char vpc_id[ID_MAX], struct err *e)
{
	static const char sql[] = "SELECT default_vpc_id FROM network_accounts"
				  " WHERE account_id = ?1 AND default_vpc_made = 1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	vpc_id[0] = '\0';
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		catalog_copy_text(vpc_id, ID_MAX, stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "reading the default VPC", e);
	return rc == SQLITE_ROW;
}

int catalog_default_vpc(struct catalog *cat, const char *account_id, const char *region,
			const char *const *zones, size_t nzones, char vpc_id_out[ID_MAX],
			struct err *e)
{
	struct vpc_row v;
	int known = network_default_vpc_known(cat, account_id, vpc_id_out, e);
	if (known != 0)
		return known < 0 ? -1 : 0;
	if (catalog_begin(cat, e) < 0)
		return -1;
	/* Another request may have made it since the look without the lock. */
	known = network_default_vpc_known(cat, account_id, vpc_id_out, e);
	if (known < 0 ||
	    (!known && network_default_vpc_make(cat, account_id, region, zones, nzones, &v, e) < 0)) {
		catalog_rollback(cat);
		return -1;
	}
	if (catalog_commit(cat, e) < 0)
		return -1;
	if (!known)
		snprintf(vpc_id_out, ID_MAX, "%s", v.id);
	return 0;
}

int catalog_default_vpc_create(struct catalog *cat, const char *account_id, const char *region,
			       const char *const *zones, size_t nzones, struct vpc_row *out,
			       struct err *e)
{
	char existing[ID_MAX];
	int known = network_default_vpc_known(cat, account_id, existing, e);
	if (known < 0)
		return -1;
	if (existing[0])
		return err_set(e, 400, "DefaultVpcAlreadyExists",
			       "A Default VPC already exists for this account in this region.");
	return network_default_vpc_make(cat, account_id, region, zones, nzones, out, e);
}

/* ---- subnets ------------------------------------------------------------- */

#define SUBNET_COLUMNS                                                         \
	"s.subnet_id, s.owner_id, s.vpc_id, s.cidr_block, s.zone, s.default_for_az," \
	" s.map_public_ip, s.hostname_type, s.dns_a_record, s.dns_aaaa_record,"  \
	" s.acl_assoc_id, s.create_ms, (SELECT count(*) FROM network_interfaces n" \
	" WHERE n.subnet_id = s.subnet_id)"

static void subnet_read(sqlite3_stmt *stmt, void *row)
{
	struct subnet_row *s = row;
	uint32_t net;
	int prefix = 32;
	memset(s, 0, sizeof *s);
	catalog_copy_text(s->id, sizeof s->id, stmt, 0);
	catalog_copy_text(s->owner_id, sizeof s->owner_id, stmt, 1);
	catalog_copy_text(s->vpc_id, sizeof s->vpc_id, stmt, 2);
	catalog_copy_text(s->cidr_block, sizeof s->cidr_block, stmt, 3);
	catalog_copy_text(s->zone, sizeof s->zone, stmt, 4);
	s->default_for_az = sqlite3_column_int(stmt, 5);
	s->map_public_ip = sqlite3_column_int(stmt, 6);
	catalog_copy_text(s->hostname_type, sizeof s->hostname_type, stmt, 7);
	s->dns_a_record = sqlite3_column_int(stmt, 8);
	s->dns_aaaa_record = sqlite3_column_int(stmt, 9);
	catalog_copy_text(s->acl_assoc_id, sizeof s->acl_assoc_id, stmt, 10);
	s->create_ms = sqlite3_column_int64(stmt, 11);
	network_parse_cidr(s->cidr_block, &net, &prefix);
	/* EC2 keeps five addresses of every subnet. */
	s->free_addresses = (1LL << (32 - prefix)) - 5 - sqlite3_column_int64(stmt, 12);
	if (s->free_addresses < 0)
		s->free_addresses = 0;
}

struct subnet_overlap {
	uint32_t net, mask;
	int conflict;
};

static int subnet_overlap_visit(void *arg, const struct subnet_row *other)
{
	struct subnet_overlap *o = arg;
	uint32_t net;
	int prefix;
	if (network_parse_cidr(other->cidr_block, &net, &prefix) < 0)
		return 0;
	uint32_t mask = catalog_net_mask(prefix);
	/* Two CIDRs overlap when the shorter prefix contains the other's network. */
	uint32_t common = mask & o->mask;
	if ((net & common) == (o->net & common)) {
		o->conflict = 1;
		return 1;
	}
	return 0;
}

/* InvalidSubnet.Range / .Conflict / a malformed CIDR, as EC2 answers them. */
static int subnet_check_cidr(struct catalog *cat, const struct subnet_row *s, struct err *e)
{
	struct vpc_row v;
	uint32_t net, vnet;
	int prefix, vprefix;
	if (network_parse_cidr(s->cidr_block, &net, &prefix) < 0 ||
	    (net & ~catalog_net_mask(prefix)) != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.40s) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
			       s->cidr_block);
	int found = catalog_vpc_get(cat, s->vpc_id, &v, e);
	if (found <= 0)
		return found < 0 ? -1 : err_set(e, 400, "InvalidVpcID.NotFound",
						"The vpc ID '%s' does not exist", s->vpc_id);
	if (network_parse_cidr(v.cidr_block, &vnet, &vprefix) < 0)
		return err_internal(e, "VPC %s has a malformed CIDR", v.id);
	if (prefix < 16 || prefix > 28 || prefix < vprefix ||
	    (net & catalog_net_mask(vprefix)) != vnet)
		return err_set(e, 400, "InvalidSubnet.Range", "The CIDR '%s' is invalid.",
			       s->cidr_block);
	struct subnet_overlap o = { net, catalog_net_mask(prefix), 0 };
	if (catalog_subnet_each(cat, s->owner_id, s->vpc_id, NULL, subnet_overlap_visit, &o, e) < 0)
		return -1;
	if (o.conflict)
		return err_set(e, 400, "InvalidSubnet.Conflict",
			       "The CIDR '%s' conflicts with another subnet", s->cidr_block);
	return 0;
}

int catalog_subnet_create(struct catalog *cat, struct subnet_row *s, struct err *e)
{
	static const char sql[] =
		"INSERT INTO subnets (subnet_id, owner_id, vpc_id, cidr_block, zone, default_for_az,"
		" map_public_ip, hostname_type, dns_a_record, dns_aaaa_record, acl_assoc_id, create_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
	if (subnet_check_cidr(cat, s, e) < 0)
		return -1;
	if (!s->hostname_type[0])
		snprintf(s->hostname_type, sizeof s->hostname_type, "ip-name");
	ids_resource("aclassoc", s->acl_assoc_id);
	s->create_ms = ids_now_ms();
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, s->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, s->vpc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, s->cidr_block, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, s->zone, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, s->default_for_az);
	sqlite3_bind_int(stmt, 7, s->map_public_ip);
	sqlite3_bind_text(stmt, 8, s->hostname_type, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 9, s->dns_a_record);
	sqlite3_bind_int(stmt, 10, s->dns_aaaa_record);
	sqlite3_bind_text(stmt, 11, s->acl_assoc_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 12, s->create_ms);
	if (catalog_step_done(cat, stmt, "inserting a subnet", e) < 0)
		return -1;
	uint32_t net;
	int prefix;
	network_parse_cidr(s->cidr_block, &net, &prefix);
	s->free_addresses = (1LL << (32 - prefix)) - 5;
	return 0;
}

int catalog_subnet_get(struct catalog *cat, const char *id, struct subnet_row *s,
		       struct err *e)
{
	static const char sql[] = "SELECT " SUBNET_COLUMNS " FROM subnets s WHERE s.subnet_id = ?1";
	return catalog_net_get(cat, sql, id, subnet_read, s, "reading a subnet", e);
}

int catalog_subnet_default_for_zone(struct catalog *cat, const char *account_id,
				    const char *zone, struct subnet_row *s, struct err *e)
{
	static const char sql[] =
		"SELECT " SUBNET_COLUMNS " FROM subnets s JOIN network_accounts a"
		" ON a.default_vpc_id = s.vpc_id WHERE a.account_id = ?1 AND s.zone = ?2"
		" AND s.default_for_az = 1 LIMIT 1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, zone, -1, SQLITE_STATIC);
	return catalog_net_one(cat, stmt, subnet_read, s, "reading a default subnet", e);
}

int catalog_subnet_update(struct catalog *cat, const struct subnet_row *s, struct err *e)
{
	static const char sql[] =
		"UPDATE subnets SET map_public_ip = ?2, hostname_type = ?3, dns_a_record = ?4,"
		" dns_aaaa_record = ?5 WHERE subnet_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, s->map_public_ip);
	sqlite3_bind_text(stmt, 3, s->hostname_type, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, s->dns_a_record);
	sqlite3_bind_int(stmt, 5, s->dns_aaaa_record);
	return catalog_step_done(cat, stmt, "updating a subnet", e);
}

int catalog_subnet_delete(struct catalog *cat, const char *id, struct err *e)
{
	int busy = catalog_net_exists(cat, "SELECT 1 FROM network_interfaces WHERE subnet_id = ?1"
				      " LIMIT 1", id, NULL, e);
	if (busy < 0)
		return -1;
	if (busy)
		return err_set(e, 400, "DependencyViolation",
			       "The subnet '%s' has dependencies and cannot be deleted.", id);
	if (catalog_run(cat, "DELETE FROM tags WHERE resource_id = ?1", id, NULL,
			"deleting tags", e) < 0)
		return -1;
	return catalog_run(cat, "DELETE FROM subnets WHERE subnet_id = ?1", id, NULL,
			   "deleting a subnet", e);
}

CATALOG_NET_VISITOR(subnet, struct subnet_row, subnet_read)

int catalog_subnet_each(struct catalog *cat, const char *owner_id, const char *vpc_id,
			const char *after, int (*fn)(void *ctx, const struct subnet_row *s),
			void *ctx, struct err *e)
{
	static const char by_owner[] = "SELECT " SUBNET_COLUMNS " FROM subnets s"
				       " WHERE s.owner_id = ?1 AND s.subnet_id > ?2"
				       " ORDER BY s.subnet_id";
	static const char by_vpc[] = "SELECT " SUBNET_COLUMNS " FROM subnets s"
				     " WHERE s.vpc_id = ?3 AND s.owner_id = ?1"
				     " AND s.subnet_id > ?2 ORDER BY s.subnet_id";
	struct subnet_visit visit = { fn, ctx };
	return catalog_net_each(cat, vpc_id ? by_vpc : by_owner, owner_id, after, vpc_id,
				subnet_visit_row, &visit,
				"listing subnets", e);
}

/* ---- route tables -------------------------------------------------------- */

static void route_table_read(sqlite3_stmt *stmt, void *row)
{
	struct route_table_row *r = row;
	memset(r, 0, sizeof *r);
	catalog_copy_text(r->id, sizeof r->id, stmt, 0);
	catalog_copy_text(r->owner_id, sizeof r->owner_id, stmt, 1);
	catalog_copy_text(r->vpc_id, sizeof r->vpc_id, stmt, 2);
	catalog_copy_text(r->main_assoc_id, sizeof r->main_assoc_id, stmt, 3);
}

/* The table's routes, the local route first as EC2 lists it. */
static int route_table_routes(struct catalog *cat, struct route_table_row *r, struct err *e)
{
	static const char sql[] =
		"SELECT destination, gateway_id, origin FROM routes WHERE route_table_id = ?1"
		" ORDER BY gateway_id != 'local', destination";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, r->id, -1, SQLITE_STATIC);
	r->nroutes = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	       r->nroutes < sizeof r->routes / sizeof r->routes[0]) {
		struct route_row *route = &r->routes[r->nroutes++];
		catalog_copy_text(route->destination, sizeof route->destination, stmt, 0);
		catalog_copy_text(route->gateway_id, sizeof route->gateway_id, stmt, 1);
		catalog_copy_text(route->origin, sizeof route->origin, stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "reading routes", e);
	return 0;
}

int catalog_route_table_get(struct catalog *cat, const char *id, struct route_table_row *r,
			    struct err *e)
{
	static const char sql[] = "SELECT route_table_id, owner_id, vpc_id, main_assoc_id"
				  " FROM route_tables WHERE route_table_id = ?1";
	int found = catalog_net_get(cat, sql, id, route_table_read, r, "reading a route table", e);
	if (found > 0 && route_table_routes(cat, r, e) < 0)
		return -1;
	return found;
}

struct route_table_visit {
	struct catalog *cat;
	struct err *e;
	int failed;
	int (*fn)(void *ctx, const struct route_table_row *r);
	void *ctx;
};

static int route_table_visit_row(void *arg, sqlite3_stmt *stmt)
{
	struct route_table_visit *visit = arg;
	struct route_table_row r;
	route_table_read(stmt, &r);
	if (route_table_routes(visit->cat, &r, visit->e) < 0) {
		visit->failed = 1;
		return 1;
	}
	return visit->fn(visit->ctx, &r);
}

int catalog_route_table_each(struct catalog *cat, const char *owner_id, const char *after,
			     int (*fn)(void *ctx, const struct route_table_row *r), void *ctx,
			     struct err *e)
{
	static const char sql[] = "SELECT route_table_id, owner_id, vpc_id, main_assoc_id"
				  " FROM route_tables WHERE owner_id = ?1 AND route_table_id > ?2"
				  " ORDER BY route_table_id";
	struct route_table_visit visit = { cat, e, 0, fn, ctx };
	if (catalog_net_each(cat, sql, owner_id, after, NULL, route_table_visit_row, &visit,
			     "listing route tables", e) < 0)
		return -1;
	return visit.failed ? -1 : 0;
}

/* ---- network ACLs ---------------------------------------------------------- */

static void network_acl_read(sqlite3_stmt *stmt, void *row)
{
	struct network_acl_row *a = row;
	memset(a, 0, sizeof *a);
	catalog_copy_text(a->id, sizeof a->id, stmt, 0);
	catalog_copy_text(a->owner_id, sizeof a->owner_id, stmt, 1);
	catalog_copy_text(a->vpc_id, sizeof a->vpc_id, stmt, 2);
	a->is_default = sqlite3_column_int(stmt, 3);
}

int catalog_network_acl_get(struct catalog *cat, const char *id, struct network_acl_row *a,
			    struct err *e)
{
	static const char sql[] = "SELECT network_acl_id, owner_id, vpc_id, is_default"
				  " FROM network_acls WHERE network_acl_id = ?1";
	return catalog_net_get(cat, sql, id, network_acl_read, a, "reading a network ACL", e);
}

CATALOG_NET_VISITOR(network_acl, struct network_acl_row, network_acl_read)

int catalog_network_acl_each(struct catalog *cat, const char *owner_id, const char *after,
			     int (*fn)(void *ctx, const struct network_acl_row *a), void *ctx,
			     struct err *e)
{
	static const char sql[] = "SELECT network_acl_id, owner_id, vpc_id, is_default"
				  " FROM network_acls WHERE owner_id = ?1 AND network_acl_id > ?2"
				  " ORDER BY network_acl_id";
	struct network_acl_visit visit = { fn, ctx };
	return catalog_net_each(cat, sql, owner_id, after, NULL, network_acl_visit_row, &visit,
				"listing network ACLs", e);
}

/* ---- internet gateways ------------------------------------------------------ */

static void igw_read(sqlite3_stmt *stmt, void *row)
{
	struct internet_gateway_row *g = row;
	memset(g, 0, sizeof *g);
	catalog_copy_text(g->id, sizeof g->id, stmt, 0);
	catalog_copy_text(g->owner_id, sizeof g->owner_id, stmt, 1);
	catalog_copy_text(g->vpc_id, sizeof g->vpc_id, stmt, 2);
	g->create_ms = sqlite3_column_int64(stmt, 3);
}

int catalog_internet_gateway_insert(struct catalog *cat, const struct internet_gateway_row *g,
				    struct err *e)
{
	static const char sql[] =
		"INSERT INTO internet_gateways (internet_gateway_id, owner_id, vpc_id, create_ms)"
		" VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, g->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, g->owner_id, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 3, g->vpc_id);
	sqlite3_bind_int64(stmt, 4, g->create_ms ? g->create_ms : ids_now_ms());
	return catalog_step_done(cat, stmt, "inserting an internet gateway", e);
}

int catalog_internet_gateway_get(struct catalog *cat, const char *id,
				 struct internet_gateway_row *g, struct err *e)
{
	static const char sql[] = "SELECT internet_gateway_id, owner_id, vpc_id, create_ms"
				  " FROM internet_gateways WHERE internet_gateway_id = ?1";
	return catalog_net_get(cat, sql, id, igw_read, g, "reading an internet gateway", e);
}

int catalog_internet_gateway_set_vpc(struct catalog *cat, const char *id, const char *vpc_id,
				     struct err *e)
{
	static const char set_sql[] =
		"UPDATE internet_gateways SET vpc_id = ?2 WHERE internet_gateway_id = ?1";
	static const char unroute_sql[] = "DELETE FROM routes WHERE gateway_id = ?1";
	static const char route_sql[] =
		"INSERT INTO routes (route_table_id, destination, gateway_id, origin)"
		" SELECT route_table_id, '0.0.0.0/0', ?1, 'CreateRoute' FROM route_tables"
		" WHERE vpc_id = ?2 AND main_assoc_id IS NOT NULL";
	struct internet_gateway_row g;
	int found = catalog_internet_gateway_get(cat, id, &g, e);
	if (found <= 0)
		return found < 0 ? -1 : err_set(e, 400, "InvalidInternetGatewayID.NotFound",
						"The internetGateway ID '%s' does not exist", id);
	const char *busy_sql = vpc_id && *vpc_id ?
		"SELECT 1 FROM internet_gateways WHERE vpc_id = ?1" :
		"SELECT 1 FROM network_interfaces WHERE vpc_id = ?1 AND public_ip IS NOT NULL";
	const char *network = vpc_id && *vpc_id ? vpc_id : g.vpc_id;
	int busy = network[0] ? catalog_net_exists(cat, busy_sql, network, NULL, e) : 0;
	if (busy < 0)
		return -1;
	/* A VPC has one gateway; public addresses are reached through it. */
	if (busy && vpc_id && *vpc_id)
		return err_set(e, 400, "Resource.AlreadyAssociated",
			       "Network %s already has an internet gateway attached", vpc_id);
	if (busy)
		return err_set(e, 400, "DependencyViolation",
			       "Network %s has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.",
			       network);
	sqlite3_stmt *stmt = catalog_stmt(cat, set_sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 2, vpc_id);
	if (catalog_step_done(cat, stmt, "attaching an internet gateway", e) < 0 ||
	    catalog_run(cat, unroute_sql, id, NULL, "removing routes", e) < 0)
		return -1;
	if (!vpc_id || !*vpc_id)
		return 0;
	/* The main table may already route 0.0.0.0/0 elsewhere: keep that. */
	int routed = catalog_net_exists(cat, "SELECT 1 FROM routes r JOIN route_tables t"
					" USING (route_table_id) WHERE t.vpc_id = ?1"
					" AND t.main_assoc_id IS NOT NULL"
					" AND r.destination = '0.0.0.0/0'", vpc_id, NULL, e);
	if (routed != 0)
		return routed < 0 ? -1 : 0;
	return catalog_run(cat, route_sql, id, vpc_id, "adding a route", e);
}

int catalog_internet_gateway_delete(struct catalog *cat, const char *id, struct err *e)
{
	int attached = catalog_net_exists(cat, "SELECT 1 FROM internet_gateways"
					  " WHERE internet_gateway_id = ?1 AND vpc_id IS NOT NULL",
					  id, NULL, e);
	if (attached < 0)
		return -1;
	if (attached)
		return err_set(e, 400, "DependencyViolation",
			       "The internetGateway '%s' has dependencies and cannot be deleted.", id);
	if (catalog_run(cat, "DELETE FROM tags WHERE resource_id = ?1", id, NULL,
			"deleting tags", e) < 0)
		return -1;
	return catalog_run(cat, "DELETE FROM internet_gateways WHERE internet_gateway_id = ?1", id,
			   NULL, "deleting an internet gateway", e);
}

CATALOG_NET_VISITOR(igw, struct internet_gateway_row, igw_read)

int catalog_internet_gateway_each(struct catalog *cat, const char *owner_id, const char *after,
				  int (*fn)(void *ctx, const struct internet_gateway_row *g),
				  void *ctx, struct err *e)
{
	static const char sql[] = "SELECT internet_gateway_id, owner_id, vpc_id, create_ms"
				  " FROM internet_gateways WHERE owner_id = ?1"
				  " AND internet_gateway_id > ?2 ORDER BY internet_gateway_id";
	struct igw_visit visit = { fn, ctx };
	return catalog_net_each(cat, sql, owner_id, after, NULL, igw_visit_row, &visit,
				"listing internet gateways", e);
}
