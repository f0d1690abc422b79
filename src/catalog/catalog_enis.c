/*
 * catalog_enis: network interfaces and the data plane's view of a VPC
 * (see catalog_network.h).
 *
 * Invariants:
 *  1. An interface's private address is its subnet's, outside the five
 *     EC2 keeps (network, router, DNS, reserved, broadcast), and no other
 *     interface of the subnet has it (network_interfaces_address).
 *  2. A public address is held by one interface at most
 *     (network_interfaces_public).
 *  3. Every group of an interface is of the interface's VPC.
 */
#include "catalog/catalog_network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "catalog/catalog_network_internal.h"
#include "util/buf.h"
#include "util/codec.h"

#define ENI_COLUMNS                                                            \
	"eni_id, owner_id, subnet_id, vpc_id, zone, private_ip, mac, public_ip," \
	" want_public_ip, description, source_dest_check, create_ms, instance_id," \
	" attachment_id, device_index, delete_on_termination, attach_ms,"          \
	" (SELECT a.allocation_id FROM addresses a"                               \
	"  WHERE a.eni_id = network_interfaces.eni_id),"                          \
	" (SELECT a.association_id FROM addresses a"                              \
	"  WHERE a.eni_id = network_interfaces.eni_id)"

static void eni_read(sqlite3_stmt *stmt, void *row)
{
	struct eni *n = row;
	memset(n, 0, sizeof *n);
	catalog_copy_text(n->id, sizeof n->id, stmt, 0);
	catalog_copy_text(n->owner_id, sizeof n->owner_id, stmt, 1);
	catalog_copy_text(n->subnet_id, sizeof n->subnet_id, stmt, 2);
	catalog_copy_text(n->vpc_id, sizeof n->vpc_id, stmt, 3);
	catalog_copy_text(n->zone, sizeof n->zone, stmt, 4);
	catalog_copy_text(n->private_ip, sizeof n->private_ip, stmt, 5);
	catalog_copy_text(n->mac, sizeof n->mac, stmt, 6);
	catalog_copy_text(n->public_ip, sizeof n->public_ip, stmt, 7);
	n->want_public_ip = sqlite3_column_int(stmt, 8);
	catalog_copy_text(n->description, sizeof n->description, stmt, 9);
	n->source_dest_check = sqlite3_column_int(stmt, 10);
	n->create_ms = sqlite3_column_int64(stmt, 11);
	catalog_copy_text(n->instance_id, sizeof n->instance_id, stmt, 12);
	catalog_copy_text(n->attachment_id, sizeof n->attachment_id, stmt, 13);
	n->device_index = sqlite3_column_int(stmt, 14);
	n->delete_on_termination = sqlite3_column_int(stmt, 15);
	n->attach_ms = sqlite3_column_int64(stmt, 16);
	catalog_copy_text(n->allocation_id, sizeof n->allocation_id, stmt, 17);
	catalog_copy_text(n->association_id, sizeof n->association_id, stmt, 18);
}

/* Fills the interface's groups, in the order they were given. */
static int eni_read_groups(struct catalog *cat, struct eni *n, struct err *e)
{
	static const char sql[] = "SELECT group_id FROM network_interface_groups"
				  " WHERE eni_id = ?1 ORDER BY position";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, n->id, -1, SQLITE_STATIC);
	n->ngroups = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && n->ngroups < ENI_GROUPS_MAX)
		catalog_copy_text(n->group_ids[n->ngroups++], ID_MAX, stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "reading an interface's groups", e);
	return 0;
}

int catalog_eni_get(struct catalog *cat, const char *id, struct eni *out, struct err *e)
{
	static const char sql[] = "SELECT " ENI_COLUMNS " FROM network_interfaces WHERE eni_id = ?1";
	int found = catalog_net_get(cat, sql, id, eni_read, out, "reading a network interface", e);
	if (found > 0 && eni_read_groups(cat, out, e) < 0)
		return -1;
	return found;
}

/* Checks groups (the VPC's, the account's) and writes them for the interface. */
static int eni_put_groups(struct catalog *cat, const struct eni *n, const char *const *group_ids,
			  size_t ngroups, struct err *e)
{
	static const char del[] = "DELETE FROM network_interface_groups WHERE eni_id = ?1";
	static const char put[] = "INSERT OR IGNORE INTO network_interface_groups"
				  " (eni_id, group_id, position) VALUES (?1, ?2, ?3)";
	struct security_group_row g;
	if (ngroups > ENI_GROUPS_MAX)
		return err_set(e, 400, "SecurityGroupsPerInterfaceLimitExceeded",
			       "You have exceeded the maximum number of security groups (%d) per network interface.",
			       ENI_GROUPS_MAX);
	for (size_t i = 0; i < ngroups; i++) {
		int found = catalog_sg_get(cat, group_ids[i], &g, e);
		if (found < 0)
			return -1;
		if (!found || strcmp(g.owner_id, n->owner_id) != 0)
			return err_set(e, 400, "InvalidGroup.NotFound",
				       "The security group '%.64s' does not exist", group_ids[i]);
		if (strcmp(g.vpc_id, n->vpc_id) != 0)
			return err_set(e, 400, "InvalidParameter",
				       "Security group %s and subnet %s belong to different networks.",
				       g.id, n->subnet_id);
	}
	if (catalog_run(cat, del, n->id, NULL, "replacing an interface's groups", e) < 0)
		return -1;
	for (size_t i = 0; i < ngroups; i++) {
		sqlite3_stmt *stmt = catalog_stmt(cat, put, e);
		if (!stmt)
			return -1;
		sqlite3_bind_text(stmt, 1, n->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, group_ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 3, (long long)i);
		if (catalog_step_done(cat, stmt, "adding an interface's group", e) < 0)
			return -1;
	}
	return 0;
}

/*
 * The lowest address of [first, last] that no interface of the subnet
 * holds; 0 when all are taken.  One index range scan, in address order.
 */
static int eni_lowest_free(struct catalog *cat, const char *subnet_id, uint32_t first,
			   uint32_t last, uint32_t *out, struct err *e)
{
	static const char sql[] = "SELECT private_ip_num FROM network_interfaces"
				  " WHERE subnet_id = ?1 AND private_ip_num >= ?2"
				  " ORDER BY private_ip_num";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	uint32_t candidate = first;
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, subnet_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, first);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t taken = (uint32_t)sqlite3_column_int64(stmt, 0);
		if (taken != candidate)
			break;
		candidate++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "looking for a free address", e);
	*out = candidate <= last ? candidate : 0;
	return 0;
}

/* The address the interface gets: private_ip checked, or the lowest free. */
static int eni_pick_address(struct catalog *cat, const struct subnet_row *s,
			    const char *private_ip, uint32_t *out, struct err *e)
{
	uint32_t net = 0, ip = 0;
	int prefix = 0;
	if (network_parse_cidr(s->cidr_block, &net, &prefix) < 0)
		return err_internal(e, "subnet %s has a malformed CIDR", s->id);
	uint32_t first = net + 4, last = (net | ~catalog_net_mask(prefix)) - 1;
	if (!private_ip || !*private_ip) {
		if (eni_lowest_free(cat, s->id, first, last, out, e) < 0)
			return -1;
		if (!*out)
			return err_set(e, 400, "InsufficientFreeAddressesInSubnet",
				       "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.",
				       s->id);
		return 0;
	}
	if (network_parse_ip(private_ip, &ip) < 0 || (ip & catalog_net_mask(prefix)) != net)
		return err_set(e, 400, "InvalidParameterValue",
			       "Address %.40s does not fall within the subnet's address range",
			       private_ip);
	if (ip < first || ip > last)
		return err_set(e, 400, "InvalidParameterValue",
			       "Address %s is in subnet's reserved address range", private_ip);
	char num[24];
	snprintf(num, sizeof num, "%u", ip);
	int taken = catalog_net_exists(cat, "SELECT 1 FROM network_interfaces WHERE subnet_id = ?1"
				       " AND private_ip_num = CAST(?2 AS INTEGER)", s->id, num, e);
	if (taken < 0)
		return -1;
	if (taken)
		return err_set(e, 400, "InvalidIPAddress.InUse", "Address %s is in use.",
			       private_ip);
	*out = ip;
	return 0;
}

int catalog_eni_create(struct catalog *cat, const char *account_id, const char *subnet_id,
		       const char *const *group_ids, size_t ngroups, const char *private_ip,
		       int public_ip, struct eni *out, struct err *e)
{
	static const char sql[] =
		"INSERT INTO network_interfaces (eni_id, owner_id, subnet_id, vpc_id, zone,"
		" private_ip, private_ip_num, mac, want_public_ip, description, source_dest_check,"
		" create_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '', 1, ?10)";
	struct subnet_row s;
	struct security_group_row def;
	unsigned char mac[5];
	uint32_t ip = 0;
	int found = catalog_subnet_get(cat, subnet_id, &s, e);
	if (found < 0)
		return -1;
	if (!found || strcmp(s.owner_id, account_id) != 0)
		return err_set(e, 400, "InvalidSubnetID.NotFound",
			       "The subnet ID '%.64s' does not exist", subnet_id);
	memset(out, 0, sizeof *out);
	ids_resource("eni", out->id);
	snprintf(out->owner_id, sizeof out->owner_id, "%s", account_id);
	snprintf(out->subnet_id, sizeof out->subnet_id, "%s", s.id);
	snprintf(out->vpc_id, sizeof out->vpc_id, "%s", s.vpc_id);
	snprintf(out->zone, sizeof out->zone, "%s", s.zone);
	if (eni_pick_address(cat, &s, private_ip, &ip, e) < 0)
		return -1;
	network_ip_text(ip, out->private_ip);
	/* 0a: locally administered, unicast, as EC2's own MACs are. */
	codec_random(mac, sizeof mac);
	snprintf(out->mac, sizeof out->mac, "0a:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4]);
	out->want_public_ip = public_ip != 0;
	out->source_dest_check = 1;
	out->create_ms = ids_now_ms();
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, out->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, out->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, out->subnet_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, out->vpc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, out->zone, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, out->private_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, ip);
	sqlite3_bind_text(stmt, 8, out->mac, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 9, out->want_public_ip);
	sqlite3_bind_int64(stmt, 10, out->create_ms);
	if (catalog_step_done(cat, stmt, "inserting a network interface", e) < 0)
		return -1;
	const char *default_group[1];
	if (!ngroups) {
		found = catalog_sg_by_name(cat, s.vpc_id, "default", &def, e);
		if (found <= 0)
			return found < 0 ? -1 : err_internal(e, "VPC %s has no default group",
							     s.vpc_id);
		default_group[0] = def.id;
		group_ids = default_group;
		ngroups = 1;
	}
	if (eni_put_groups(cat, out, group_ids, ngroups, e) < 0)
		return -1;
	for (size_t i = 0; i < ngroups; i++)
		snprintf(out->group_ids[i], ID_MAX, "%s", group_ids[i]);
	out->ngroups = ngroups;
	return 0;
}

int catalog_eni_attach(struct catalog *cat, const char *eni_id, const char *instance_id,
		       int device_index, int delete_on_termination, struct err *e)
{
	static const char sql[] =
		"UPDATE network_interfaces SET instance_id = ?2, attachment_id = ?3,"
		" device_index = ?4, delete_on_termination = ?5, attach_ms = ?6"
		" WHERE eni_id = ?1 AND instance_id IS NULL";
	char attachment[ID_MAX];
	ids_resource("eni-attach", attachment);
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, eni_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, instance_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, attachment, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, device_index);
	sqlite3_bind_int(stmt, 5, delete_on_termination != 0);
	sqlite3_bind_int64(stmt, 6, ids_now_ms());
	if (catalog_step_done(cat, stmt, "attaching a network interface", e) < 0)
		return -1;
	if (sqlite3_changes(catalog_db(cat, NULL)) != 1)
		return err_set(e, 400, "InvalidNetworkInterface.InUse",
			       "Interface: %s in use.", eni_id);
	return 0;
}

int catalog_eni_detach(struct catalog *cat, const char *eni_id, struct err *e)
{
	static const char sql[] =
		"UPDATE network_interfaces SET instance_id = NULL, attachment_id = NULL,"
		" device_index = NULL, delete_on_termination = NULL, attach_ms = NULL"
		" WHERE eni_id = ?1";
	return catalog_run(cat, sql, eni_id, NULL, "detaching a network interface", e);
}

int catalog_eni_delete(struct catalog *cat, const char *eni_id, struct err *e)
{
	/* An Elastic IP address of the interface stays the account's, unassociated. */
	if (catalog_run(cat, "DELETE FROM tags WHERE resource_id = ?1", eni_id, NULL,
			"deleting tags", e) < 0 ||
	    catalog_run(cat, "UPDATE addresses SET association_id = NULL, eni_id = NULL,"
			" private_ip = NULL WHERE eni_id = ?1", eni_id, NULL,
			"ending an address's association", e) < 0)
		return -1;
	return catalog_run(cat, "DELETE FROM network_interfaces WHERE eni_id = ?1", eni_id, NULL,
			   "deleting a network interface", e);
}

struct eni_list {
	struct eni *enis;
	size_t n;
};

static int eni_list_add(void *arg, sqlite3_stmt *stmt)
{
	struct eni_list *l = arg;
	l->enis = xrealloc(l->enis, (l->n + 1) * sizeof *l->enis);
	eni_read(stmt, &l->enis[l->n++]);
	return 0;
}

/* Runs stmt (bound) into a list and reads each one's groups. */
static int eni_collect(struct catalog *cat, sqlite3_stmt *stmt, struct eni **enis, size_t *n,
		       struct err *e)
{
	struct eni_list l = { NULL, 0 };
	if (catalog_net_scan(cat, stmt, eni_list_add, &l, "listing network interfaces", e) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++)
		if (eni_read_groups(cat, &l.enis[i], e) < 0)
			goto fail;
	*enis = l.enis;
	*n = l.n;
	return 0;
fail:
	free(l.enis);
	return -1;
}

int catalog_eni_by_instance(struct catalog *cat, const char *instance_id, struct eni **enis,
			    size_t *n, struct err *e)
{
	static const char sql[] = "SELECT " ENI_COLUMNS " FROM network_interfaces"
				  " WHERE instance_id = ?1 ORDER BY device_index";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, instance_id, -1, SQLITE_STATIC);
	return eni_collect(cat, stmt, enis, n, e);
}

int catalog_eni_set_groups(struct catalog *cat, const char *eni_id,
			   const char *const *group_ids, size_t ngroups, struct err *e)
{
	struct eni n;
	int found = catalog_eni_get(cat, eni_id, &n, e);
	if (found <= 0)
		return found < 0 ? -1 : err_set(e, 400, "InvalidNetworkInterfaceID.NotFound",
						"The networkInterface ID '%.64s' does not exist",
						eni_id);
	if (!ngroups)
		return err_set(e, 400, "InvalidParameterValue",
			       "An interface needs at least one security group.");
	return eni_put_groups(cat, &n, group_ids, ngroups, e);
}

int catalog_eni_set_public_ip(struct catalog *cat, const char *eni_id, const char *public_ip,
			      struct err *e)
{
	static const char sql[] = "UPDATE network_interfaces SET public_ip = ?2 WHERE eni_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, eni_id, -1, SQLITE_STATIC);
	catalog_bind_opt(stmt, 2, public_ip);
	return catalog_step_done(cat, stmt, "setting a public address", e);
}

int catalog_public_ip_free(struct catalog *cat, const char *pool, char out[16], struct err *e)
{
	/* Text order is not address order: read the pool's holders, then look. */
	static const char sql[] = "SELECT public_ip FROM network_interfaces"
				  " WHERE public_ip IS NOT NULL"
				  " UNION ALL SELECT public_ip FROM addresses";
	uint32_t net, ip;
	int prefix, rc;
	if (network_parse_cidr(pool, &net, &prefix) < 0 || prefix < 8 || prefix > 30)
		return err_invalid(e, "The address pool '%.40s' is not a CIDR block of /8 to /30.",
				   pool);
	uint32_t mask = catalog_net_mask(prefix);
	uint64_t span = (uint64_t)1 << (32 - prefix); /* at most 2^24: a 2 MiB map */
	unsigned char *taken = xcalloc((size_t)(span / 8 + 1), 1);
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt) {
		free(taken);
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(stmt, 0);
		if (text && network_parse_ip(text, &ip) == 0 && (ip & mask) == (net & mask)) {
			uint32_t off = ip - (net & mask);
			taken[off / 8] |= (unsigned char)(1u << (off % 8));
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		free(taken);
		return catalog_sqlite_error(cat, "reading public addresses", e);
	}
	for (uint64_t off = 1; off + 1 < span; off++) {
		if (!(taken[off / 8] & (1u << (off % 8)))) {
			network_ip_text((net & mask) + (uint32_t)off, out);
			free(taken);
			return 0;
		}
	}
	free(taken);
	return err_set(e, 400, "AddressLimitExceeded",
		       "The public address pool %s has no free address left.", pool);
}

struct eni_visit {
	struct catalog *cat;
	struct err *e;
	int failed;
	int (*fn)(void *ctx, const struct eni *n);
	void *ctx;
};

static int eni_visit_row(void *arg, sqlite3_stmt *stmt)
{
	struct eni_visit *visit = arg;
	struct eni n;
	eni_read(stmt, &n);
	if (eni_read_groups(visit->cat, &n, visit->e) < 0) {
		visit->failed = 1;
		return 1;
	}
	return visit->fn(visit->ctx, &n);
}

int catalog_eni_each(struct catalog *cat, const char *owner_id, const char *after,
		     int (*fn)(void *ctx, const struct eni *eni), void *ctx, struct err *e)
{
	static const char sql[] = "SELECT " ENI_COLUMNS " FROM network_interfaces"
				  " WHERE owner_id = ?1 AND eni_id > ?2 ORDER BY eni_id";
	struct eni_visit visit = { cat, e, 0, fn, ctx };
	if (catalog_net_each(cat, sql, owner_id, after, NULL, eni_visit_row, &visit,
			     "listing network interfaces", e) < 0)
		return -1;
	return visit.failed ? -1 : 0;
}

/* ---- the data plane's view ------------------------------------------------- */

#define PORTS_ACTIVE "('pending', 'running', 'stopping', 'shutting-down')"

/* The IP protocol number of a rule's protocol; -1 for all. */
static int ports_protocol(const char *protocol)
{
	if (!strcmp(protocol, "tcp"))
		return 6;
	if (!strcmp(protocol, "udp"))
		return 17;
	if (!strcmp(protocol, "icmp"))
		return 1;
	if (!strcmp(protocol, "icmpv6"))
		return 58;
	return atoi(protocol); /* "-1" or a number, as the API stored it */
}

struct ports_rules {
	struct network_rule *rules;
	size_t n, cap;
};

static void ports_rule_add(struct ports_rules *out, const struct sg_rule_row *r, uint32_t net,
			   int prefix)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->rules = xrealloc(out->rules, out->cap * sizeof *out->rules);
	}
	struct network_rule *nr = &out->rules[out->n++];
	nr->egress = r->egress;
	nr->protocol = ports_protocol(r->protocol);
	nr->from_port = r->from_port;
	nr->to_port = r->to_port;
	nr->mask = catalog_net_mask(prefix);
	nr->net = net & nr->mask;
}

/* Each private address of the interfaces in group_id, as a /32 rule. */
static int ports_group_peers(struct catalog *cat, const struct sg_rule_row *r,
			     struct ports_rules *out, struct err *e)
{
	static const char sql[] = "SELECT n.private_ip FROM network_interface_groups g"
				  " JOIN network_interfaces n USING (eni_id) WHERE g.group_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	int rc;
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, r->ref_group_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t ip;
		const char *text = (const char *)sqlite3_column_text(stmt, 0);
		if (text && network_parse_ip(text, &ip) == 0)
			ports_rule_add(out, r, ip, 32);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return catalog_sqlite_error(cat, "resolving a group's addresses", e);
	return 0;
}

/* The union of the groups' IPv4 rules, peers resolved. */
static int ports_rules(struct catalog *cat, const struct eni *n, struct network_port *port,
		       struct err *e)
{
	struct ports_rules out = { NULL, 0, 0 };
	for (size_t g = 0; g < n->ngroups; g++) {
		struct sg_rule_row *rules = NULL;
		size_t nrules = 0;
		if (catalog_sg_rules(cat, n->group_ids[g], &rules, &nrules, e) < 0)
			goto fail;
		for (size_t i = 0; i < nrules; i++) {
			uint32_t net;
			int prefix;
			if (rules[i].cidr_ipv4[0] &&
			    network_parse_cidr(rules[i].cidr_ipv4, &net, &prefix) == 0)
				ports_rule_add(&out, &rules[i], net, prefix);
			else if (rules[i].ref_group_id[0] &&
				 ports_group_peers(cat, &rules[i], &out, e) < 0) {
				free(rules);
				goto fail;
			}
		}
		free(rules);
	}
	port->rules = out.rules;
	port->nrules = out.n;
	return 0;
fail:
	free(out.rules);
	return -1;
}

/* Fills the port's addressing from the interface and its subnet. */
static int ports_fill(struct catalog *cat, const struct eni *n, struct network_port *port,
		      struct err *e)
{
	struct subnet_row s;
	uint32_t net;
	int prefix;
	unsigned int mac[6];
	memset(port, 0, sizeof *port);
	int found = catalog_subnet_get(cat, n->subnet_id, &s, e);
	if (found <= 0)
		return found < 0 ? -1 : err_internal(e, "interface %s has no subnet", n->id);
	if (network_parse_cidr(s.cidr_block, &net, &prefix) < 0 ||
	    network_parse_ip(n->private_ip, &port->ip) < 0 ||
	    sscanf(n->mac, "%2x:%2x:%2x:%2x:%2x:%2x", &mac[0], &mac[1], &mac[2], &mac[3],
		   &mac[4], &mac[5]) != 6)
		return err_internal(e, "interface %s has malformed addresses", n->id);
	snprintf(port->instance_id, sizeof port->instance_id, "%s", n->instance_id);
	snprintf(port->eni_id, sizeof port->eni_id, "%s", n->id);
	snprintf(port->vpc_id, sizeof port->vpc_id, "%s", n->vpc_id);
	for (int i = 0; i < 6; i++)
		port->mac[i] = (unsigned char)mac[i];
	port->gateway = net + 1;
	port->prefix_len = prefix;
	if (n->public_ip[0])
		network_parse_ip(n->public_ip, &port->public_ip);
	port->device_index = n->device_index;
	snprintf(port->hostname, sizeof port->hostname, "ip-%u-%u-%u-%u", port->ip >> 24,
		 (port->ip >> 16) & 0xff, (port->ip >> 8) & 0xff, port->ip & 0xff);
	return ports_rules(cat, n, port, e);
}

int catalog_vpc_ports(struct catalog *cat, const char *vpc_id, struct network_port **ports,
		      size_t *n, struct err *e)
{
	static const char sql[] =
		"SELECT " ENI_COLUMNS " FROM network_interfaces WHERE vpc_id = ?1"
		" AND instance_id IN (SELECT instance_id FROM instances WHERE state IN " PORTS_ACTIVE ")"
		" ORDER BY instance_id, device_index";
	struct eni *enis = NULL;
	size_t count = 0;
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, vpc_id, -1, SQLITE_STATIC);
	if (eni_collect(cat, stmt, &enis, &count, e) < 0)
		return -1;
	struct network_port *out = xcalloc(count ? count : 1, sizeof *out);
	for (size_t i = 0; i < count; i++) {
		if (ports_fill(cat, &enis[i], &out[i], e) < 0) {
			network_ports_free(out, i + 1);
			free(enis);
			return -1;
		}
	}
	free(enis);
	*ports = out;
	*n = count;
	return 0;
}

struct vpc_id_list {
	char (*ids)[ID_MAX];
	size_t n;
};

static int vpc_id_list_add(void *arg, sqlite3_stmt *stmt)
{
	struct vpc_id_list *l = arg;
	l->ids = xrealloc(l->ids, (l->n + 1) * sizeof *l->ids);
	catalog_copy_text(l->ids[l->n++], ID_MAX, stmt, 0);
	return 0;
}

int catalog_vpcs_active(struct catalog *cat, char (**vpc_ids)[ID_MAX], size_t *n,
			struct err *e)
{
	static const char sql[] =
		"SELECT DISTINCT vpc_id FROM network_interfaces WHERE instance_id IN"
		" (SELECT instance_id FROM instances WHERE state IN " PORTS_ACTIVE ") ORDER BY vpc_id";
	struct vpc_id_list l = { NULL, 0 };
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	if (catalog_net_scan(cat, stmt, vpc_id_list_add, &l, "listing active VPCs", e) < 0) {
		free(l.ids);
		return -1;
	}
	*vpc_ids = l.ids;
	*n = l.n;
	return 0;
}
