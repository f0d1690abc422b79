/*
 * catalog_security_groups: security groups and their rules (see
 * catalog_network.h).
 *
 * Invariants:
 *  1. A group's name is unique in its VPC (security_groups_name); every VPC
 *     has exactly one group named "default", made and deleted with it.
 *  2. A rule belongs to one group and goes with it (ON DELETE CASCADE); no
 *     two rules of a group have the same direction, protocol, ports and
 *     peer (the API checks with catalog_sg_rule_find in the transaction
 *     that inserts).
 *  3. A group that an interface uses or another group's rule names is not
 *     deleted (catalog_sg_delete refuses).
 */
#include "catalog/catalog_network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_internal.h"
#include "catalog/catalog_network_internal.h"
#include "util/buf.h"

#define SG_COLUMNS "group_id, owner_id, vpc_id, group_name, description, create_ms"

static void sg_read(sqlite3_stmt *stmt, void *row)
{
	struct security_group_row *g = row;
	memset(g, 0, sizeof *g);
	catalog_copy_text(g->id, sizeof g->id, stmt, 0);
	catalog_copy_text(g->owner_id, sizeof g->owner_id, stmt, 1);
	catalog_copy_text(g->vpc_id, sizeof g->vpc_id, stmt, 2);
	catalog_copy_text(g->name, sizeof g->name, stmt, 3);
	catalog_copy_text(g->description, sizeof g->description, stmt, 4);
	g->create_ms = sqlite3_column_int64(stmt, 5);
}

int catalog_sg_insert(struct catalog *cat, const struct security_group_row *g, struct err *e)
{
	static const char sql[] = "INSERT INTO security_groups (" SG_COLUMNS ")"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, g->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, g->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, g->vpc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, g->description, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, g->create_ms ? g->create_ms : ids_now_ms());
	return catalog_step_done(cat, stmt, "inserting a security group", e);
}

int catalog_sg_create_default(struct catalog *cat, const struct vpc_row *v, struct err *e)
{
	struct security_group_row g;
	struct sg_rule_row in, out;
	memset(&g, 0, sizeof g);
	ids_resource("sg", g.id);
	snprintf(g.owner_id, sizeof g.owner_id, "%s", v->owner_id);
	snprintf(g.vpc_id, sizeof g.vpc_id, "%s", v->id);
	snprintf(g.name, sizeof g.name, "default");
	snprintf(g.description, sizeof g.description, "default VPC security group");
	memset(&in, 0, sizeof in);
	ids_resource("sgr", in.id);
	snprintf(in.group_id, sizeof in.group_id, "%s", g.id);
	snprintf(in.owner_id, sizeof in.owner_id, "%s", v->owner_id);
	snprintf(in.protocol, sizeof in.protocol, "-1");
	in.from_port = in.to_port = -1;
	out = in;
	ids_resource("sgr", out.id);
	/* EC2's default group: all traffic from its own members, all out. */
	snprintf(in.ref_group_id, sizeof in.ref_group_id, "%s", g.id);
	snprintf(in.ref_owner_id, sizeof in.ref_owner_id, "%s", v->owner_id);
	out.egress = 1;
	snprintf(out.cidr_ipv4, sizeof out.cidr_ipv4, "0.0.0.0/0");
	if (catalog_sg_insert(cat, &g, e) < 0 || catalog_sg_rule_insert(cat, &in, e) < 0)
		return -1;
	return catalog_sg_rule_insert(cat, &out, e);
}

int catalog_sg_get(struct catalog *cat, const char *id, struct security_group_row *g,
		   struct err *e)
{
	static const char sql[] = "SELECT " SG_COLUMNS " FROM security_groups WHERE group_id = ?1";
	return catalog_net_get(cat, sql, id, sg_read, g, "reading a security group", e);
}

int catalog_sg_by_name(struct catalog *cat, const char *vpc_id, const char *name,
		       struct security_group_row *g, struct err *e)
{
	static const char sql[] = "SELECT " SG_COLUMNS " FROM security_groups"
				  " WHERE vpc_id = ?1 AND group_name = ?2";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, vpc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	return catalog_net_one(cat, stmt, sg_read, g, "reading a security group", e);
}

int catalog_sg_delete(struct catalog *cat, const char *id, struct err *e)
{
	static const char deps[] =
		"SELECT 1 FROM network_interface_groups WHERE group_id = ?1"
		" UNION ALL SELECT 1 FROM security_group_rules WHERE ref_group_id = ?1"
		" AND group_id != ?1 LIMIT 1";
	static const char delete_rule_tags[] =
		"DELETE FROM tags WHERE resource_id IN (SELECT rule_id FROM security_group_rules"
		" WHERE group_id = ?1)";
	static const char *const sqls[] = {
		delete_rule_tags,
		"DELETE FROM tags WHERE resource_id = ?1",
		"DELETE FROM security_groups WHERE group_id = ?1",
	};
	struct security_group_row g;
	int found = catalog_sg_get(cat, id, &g, e);
	if (found <= 0)
		return found < 0 ? -1 : err_set(e, 400, "InvalidGroup.NotFound",
						"The security group '%s' does not exist", id);
	if (!strcmp(g.name, "default"))
		return err_set(e, 400, "CannotDelete",
			       "the specified group: \"%s\" name: \"default\" cannot be deleted by a user",
			       id);
	int busy = catalog_net_exists(cat, deps, id, NULL, e);
	if (busy < 0)
		return -1;
	if (busy)
		return err_set(e, 400, "DependencyViolation", "resource %s has a dependent object",
			       id);
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
		if (catalog_run(cat, sqls[i], id, NULL, "deleting a security group", e) < 0)
			return -1;
	return 0;
}

CATALOG_NET_VISITOR(sg, struct security_group_row, sg_read)

int catalog_sg_each(struct catalog *cat, const char *owner_id, const char *vpc_id,
		    const char *after, int (*fn)(void *ctx, const struct security_group_row *g),
		    void *ctx, struct err *e)
{
	static const char by_owner[] = "SELECT " SG_COLUMNS " FROM security_groups"
				       " WHERE owner_id = ?1 AND group_id > ?2 ORDER BY group_id";
	static const char by_vpc[] = "SELECT " SG_COLUMNS " FROM security_groups"
				     " WHERE vpc_id = ?3 AND owner_id = ?1 AND group_id > ?2"
				     " ORDER BY group_id";
	struct sg_visit visit = { fn, ctx };
	return catalog_net_each(cat, vpc_id ? by_vpc : by_owner, owner_id, after, vpc_id,
				sg_visit_row, &visit,
				"listing security groups", e);
}

/* ---- rules ----------------------------------------------------------------- */

#define RULE_COLUMNS                                                           \
	"rule_id, group_id, owner_id, egress, protocol, from_port, to_port,"   \
	" cidr_ipv4, cidr_ipv6, prefix_list_id, ref_group_id, ref_owner_id, description"

static void rule_read(sqlite3_stmt *stmt, void *row)
{
	struct sg_rule_row *r = row;
	memset(r, 0, sizeof *r);
	catalog_copy_text(r->id, sizeof r->id, stmt, 0);
	catalog_copy_text(r->group_id, sizeof r->group_id, stmt, 1);
	catalog_copy_text(r->owner_id, sizeof r->owner_id, stmt, 2);
	r->egress = sqlite3_column_int(stmt, 3);
	catalog_copy_text(r->protocol, sizeof r->protocol, stmt, 4);
	r->from_port = sqlite3_column_int(stmt, 5);
	r->to_port = sqlite3_column_int(stmt, 6);
	catalog_copy_text(r->cidr_ipv4, sizeof r->cidr_ipv4, stmt, 7);
	catalog_copy_text(r->cidr_ipv6, sizeof r->cidr_ipv6, stmt, 8);
	catalog_copy_text(r->prefix_list_id, sizeof r->prefix_list_id, stmt, 9);
	catalog_copy_text(r->ref_group_id, sizeof r->ref_group_id, stmt, 10);
	catalog_copy_text(r->ref_owner_id, sizeof r->ref_owner_id, stmt, 11);
	catalog_copy_text(r->description, sizeof r->description, stmt, 12);
}

/* Binds ?2 .. ?13 (all but the rule ID) in RULE_COLUMNS order. */
static void rule_bind(sqlite3_stmt *stmt, const struct sg_rule_row *r)
{
	sqlite3_bind_text(stmt, 2, r->group_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, r->owner_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, r->egress);
	sqlite3_bind_text(stmt, 5, r->protocol, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, r->from_port);
	sqlite3_bind_int(stmt, 7, r->to_port);
	catalog_bind_opt(stmt, 8, r->cidr_ipv4);
	catalog_bind_opt(stmt, 9, r->cidr_ipv6);
	catalog_bind_opt(stmt, 10, r->prefix_list_id);
	catalog_bind_opt(stmt, 11, r->ref_group_id);
	catalog_bind_opt(stmt, 12, r->ref_owner_id);
	catalog_bind_opt(stmt, 13, r->description);
}

int catalog_sg_rule_insert(struct catalog *cat, const struct sg_rule_row *r, struct err *e)
{
	static const char sql[] = "INSERT INTO security_group_rules (" RULE_COLUMNS ") VALUES"
				  " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, r->id, -1, SQLITE_STATIC);
	rule_bind(stmt, r);
	return catalog_step_done(cat, stmt, "inserting a security group rule", e);
}

int catalog_sg_rule_update(struct catalog *cat, const struct sg_rule_row *r, struct err *e)
{
	static const char sql[] =
		"UPDATE security_group_rules SET group_id = ?2, owner_id = ?3, egress = ?4,"
		" protocol = ?5, from_port = ?6, to_port = ?7, cidr_ipv4 = ?8, cidr_ipv6 = ?9,"
		" prefix_list_id = ?10, ref_group_id = ?11, ref_owner_id = ?12, description = ?13"
		" WHERE rule_id = ?1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, r->id, -1, SQLITE_STATIC);
	rule_bind(stmt, r);
	return catalog_step_done(cat, stmt, "updating a security group rule", e);
}

int catalog_sg_rule_delete(struct catalog *cat, const char *id, struct err *e)
{
	if (catalog_run(cat, "DELETE FROM tags WHERE resource_id = ?1", id, NULL,
			"deleting tags", e) < 0)
		return -1;
	return catalog_run(cat, "DELETE FROM security_group_rules WHERE rule_id = ?1", id, NULL,
			   "deleting a security group rule", e);
}

int catalog_sg_rule_get(struct catalog *cat, const char *id, struct sg_rule_row *r,
			struct err *e)
{
	static const char sql[] = "SELECT " RULE_COLUMNS " FROM security_group_rules"
				  " WHERE rule_id = ?1";
	return catalog_net_get(cat, sql, id, rule_read, r, "reading a security group rule", e);
}

int catalog_sg_rule_find(struct catalog *cat, const struct sg_rule_row *r,
			 struct sg_rule_row *found, struct err *e)
{
	static const char sql[] =
		"SELECT " RULE_COLUMNS " FROM security_group_rules WHERE group_id = ?2"
		" AND egress = ?4 AND protocol = ?5 AND from_port = ?6 AND to_port = ?7"
		" AND cidr_ipv4 IS ?8 AND cidr_ipv6 IS ?9 AND prefix_list_id IS ?10"
		" AND ref_group_id IS ?11 LIMIT 1";
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	/* Owner and description are bound too, and not compared (SQLITE_RANGE). */
	rule_bind(stmt, r);
	return catalog_net_one(cat, stmt, rule_read, found, "finding a security group rule", e);
}

struct rule_list {
	struct sg_rule_row *rules;
	size_t n;
};

static int rule_list_add(void *arg, sqlite3_stmt *stmt)
{
	struct rule_list *l = arg;
	l->rules = xrealloc(l->rules, (l->n + 1) * sizeof *l->rules);
	rule_read(stmt, &l->rules[l->n++]);
	return 0;
}

int catalog_sg_rules(struct catalog *cat, const char *group_id, struct sg_rule_row **rules,
		     size_t *n, struct err *e)
{
	static const char sql[] = "SELECT " RULE_COLUMNS " FROM security_group_rules"
				  " WHERE group_id = ?1 ORDER BY rowid";
	struct rule_list l = { NULL, 0 };
	sqlite3_stmt *stmt = catalog_stmt(cat, sql, e);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, group_id, -1, SQLITE_STATIC);
	if (catalog_net_scan(cat, stmt, rule_list_add, &l, "listing security group rules", e) < 0) {
		free(l.rules);
		return -1;
	}
	*rules = l.rules;
	*n = l.n;
	return 0;
}

CATALOG_NET_VISITOR(rule, struct sg_rule_row, rule_read)

int catalog_sg_rule_each(struct catalog *cat, const char *owner_id, const char *after,
			 int (*fn)(void *ctx, const struct sg_rule_row *r), void *ctx,
			 struct err *e)
{
	static const char sql[] = "SELECT " RULE_COLUMNS " FROM security_group_rules"
				  " WHERE owner_id = ?1 AND rule_id > ?2 ORDER BY rule_id";
	struct rule_visit visit = { fn, ctx };
	return catalog_net_each(cat, sql, owner_id, after, NULL, rule_visit_row, &visit,
				"listing security group rules", e);
}
