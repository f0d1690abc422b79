/*
 * ec2/security_groups.c: CreateSecurityGroup, DescribeSecurityGroups,
 * DeleteSecurityGroup.
 *
 * Every group is a VPC's (EC2-Classic is long gone): without VpcId, the
 * caller's default VPC.  A new group allows all egress to 0.0.0.0/0 and
 * nothing in; a VPC's "default" group is made and deleted with the VPC.
 * Rules are in security_group_rules.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_network.h"

/* ---- CreateSecurityGroup ------------------------------------------------ */

static int sg_check_create(struct ec2_ctx *ctx, const char *name, const char *description,
			   struct vpc_row *v, struct err *e)
{
	const char *vpc_id = query_get(&ctx->q, "VpcId");
	char default_vpc[ID_MAX];
	if (ec2_sg_check_text("group name", name, e) < 0 ||
	    ec2_sg_check_text("group description", description, e) < 0)
		return -1;
	if (!strncmp(name, "sg-", 3))
		return err_set(e, 400, "InvalidParameterValue",
			       "Group names may not be in the format sg-*.");
	if (!strcmp(name, "default"))
		return err_set(e, 400, "InvalidGroup.Reserved",
			       "The security group 'default' is reserved");
	if (vpc_id && *vpc_id)
		return ec2_vpc_owned(ctx, vpc_id, v, e);
	if (ec2_default_vpc(ctx, default_vpc, e) < 0)
		return -1;
	if (!default_vpc[0])
		return err_set(e, 400, "VPCIdNotSpecified", "No default VPC for this user");
	return ec2_vpc_owned(ctx, default_vpc, v, e);
}

int ec2_create_security_group(struct ec2_ctx *ctx, struct err *e)
{
	struct security_group_row g, existing;
	struct sg_rule_row out;
	struct vpc_row v;
	struct tag_list tags = { NULL, 0 };
	char arn[160];
	int ret = -1;
	const char *name = ec2_require(ctx, "GroupName", e);
	const char *description = name ? ec2_require(ctx, "GroupDescription", e) : NULL;
	if (!description || sg_check_create(ctx, name, description, &v, e) < 0 ||
	    ec2_tag_specifications(ctx, "security-group", &tags, e) < 0)
		goto out;
	memset(&g, 0, sizeof g);
	ids_resource("sg", g.id);
	snprintf(g.owner_id, sizeof g.owner_id, "%s", ctx->account);
	snprintf(g.vpc_id, sizeof g.vpc_id, "%s", v.id);
	snprintf(g.name, sizeof g.name, "%s", name);
	snprintf(g.description, sizeof g.description, "%s", description);
	memset(&out, 0, sizeof out);
	ids_resource("sgr", out.id);
	snprintf(out.group_id, sizeof out.group_id, "%s", g.id);
	snprintf(out.owner_id, sizeof out.owner_id, "%s", ctx->account);
	out.egress = 1;
	snprintf(out.protocol, sizeof out.protocol, "-1");
	out.from_port = out.to_port = -1;
	snprintf(out.cidr_ipv4, sizeof out.cidr_ipv4, "0.0.0.0/0");
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	int found = catalog_sg_by_name(ctx->srv->cat, v.id, name, &existing, e);
	if (found > 0)
		err_set(e, 400, "InvalidGroup.Duplicate",
			"The security group '%s' already exists for VPC '%s'", name, v.id);
	if (found != 0 || catalog_sg_insert(ctx->srv->cat, &g, e) < 0 ||
	    catalog_sg_rule_insert(ctx->srv->cat, &out, e) < 0 ||
	    ec2_tags_put(ctx, g.id, "security-group", &tags, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	snprintf(arn, sizeof arn, "arn:aws:ec2:%s:%s:security-group/%s", ctx->srv->region,
		 g.owner_id, g.id);
	ec2_return_true(ctx);
	xmlw_text(ctx->w, "groupId", g.id);
	ec2_write_tags(ctx->w, &tags);
	xmlw_text(ctx->w, "securityGroupArn", arn);
	ret = 0;
out:
	tag_list_release(&tags);
	return ret;
}

/* ---- DescribeSecurityGroups ---------------------------------------------------- */

static const char *const sg_filter_names[] = {
	"description", "group-id", "group-name", "owner-id", "vpc-id",
	"ip-permission.cidr", "ip-permission.from-port", "ip-permission.group-id",
	"ip-permission.group-name", "ip-permission.ipv6-cidr", "ip-permission.prefix-list-id",
	"ip-permission.protocol", "ip-permission.to-port", "ip-permission.user-id",
	"egress.ip-permission.cidr", "egress.ip-permission.from-port",
	"egress.ip-permission.group-id", "egress.ip-permission.group-name",
	"egress.ip-permission.ipv6-cidr", "egress.ip-permission.prefix-list-id",
	"egress.ip-permission.protocol", "egress.ip-permission.to-port",
	"egress.ip-permission.user-id", NULL,
};

/* GroupName.N of a DescribeSecurityGroups: groups of the default VPC. */
struct describe_groups {
	const char **names;
	size_t nnames;
	char default_vpc[ID_MAX];
};

/* A group with its rules, for the filters and the output. */
struct sg_view {
	const struct security_group_row *g;
	struct sg_rule_row *rules;
	size_t nrules;
};

/* Whether one rule matches an ip-permission.* filter (field after the prefix). */
static int sg_rule_filter(struct ec2_listing *l, const struct query_filter *f,
			  const char *field, const struct sg_rule_row *r)
{
	if (!strcmp(field, "cidr"))
		return ec2_filter_hit(f, r->cidr_ipv4[0] ? r->cidr_ipv4 : NULL);
	if (!strcmp(field, "ipv6-cidr"))
		return ec2_filter_hit(f, r->cidr_ipv6[0] ? r->cidr_ipv6 : NULL);
	if (!strcmp(field, "prefix-list-id"))
		return ec2_filter_hit(f, r->prefix_list_id[0] ? r->prefix_list_id : NULL);
	if (!strcmp(field, "group-id"))
		return ec2_filter_hit(f, r->ref_group_id[0] ? r->ref_group_id : NULL);
	if (!strcmp(field, "user-id"))
		return ec2_filter_hit(f, r->ref_owner_id[0] ? r->ref_owner_id : NULL);
	if (!strcmp(field, "protocol"))
		return ec2_filter_hit(f, r->protocol);
	if (!strcmp(field, "from-port"))
		return ec2_filter_int(f, r->from_port);
	if (!strcmp(field, "to-port"))
		return ec2_filter_int(f, r->to_port);
	if (!strcmp(field, "group-name") && r->ref_group_id[0]) {
		struct security_group_row peer;
		int found = catalog_sg_get(l->ctx->srv->cat, r->ref_group_id, &peer, l->e);
		if (found < 0)
			l->failed = 1;
		return found > 0 && ec2_filter_hit(f, peer.name);
	}
	return 0;
}

static int sg_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct sg_view *v = row;
	const char *n = f->name;
	if (!strcmp(n, "description"))
		return ec2_filter_hit(f, v->g->description);
	if (!strcmp(n, "group-id"))
		return ec2_filter_hit(f, v->g->id);
	if (!strcmp(n, "group-name"))
		return ec2_filter_hit(f, v->g->name);
	if (!strcmp(n, "owner-id"))
		return ec2_filter_hit(f, v->g->owner_id);
	if (!strcmp(n, "vpc-id"))
		return ec2_filter_hit(f, v->g->vpc_id);
	/* ip-permission.FIELD and egress.ip-permission.FIELD: any rule of that way. */
	int egress = !strncmp(n, "egress.", 7);
	const char *field = n + (egress ? 7 : 0) + strlen("ip-permission.");
	for (size_t i = 0; i < v->nrules; i++)
		if (v->rules[i].egress == egress && sg_rule_filter(l, f, field, &v->rules[i]))
			return 1;
	return 0;
}

static void sg_write(struct ec2_ctx *ctx, const struct sg_view *v, const struct tag_list *tags)
{
	const struct security_group_row *g = v->g;
	char arn[160];
	snprintf(arn, sizeof arn, "arn:aws:ec2:%s:%s:security-group/%s", ctx->srv->region,
		 g->owner_id, g->id);
	xmlw_text(ctx->w, "ownerId", g->owner_id);
	xmlw_text(ctx->w, "groupId", g->id);
	xmlw_text(ctx->w, "groupName", g->name);
	xmlw_text(ctx->w, "groupDescription", g->description);
	xmlw_text(ctx->w, "vpcId", g->vpc_id);
	xmlw_text(ctx->w, "securityGroupArn", arn);
	ec2_write_ip_permissions(ctx->w, "ipPermissions", v->rules, v->nrules, 0);
	ec2_write_ip_permissions(ctx->w, "ipPermissionsEgress", v->rules, v->nrules, 1);
	ec2_write_tags(ctx->w, tags);
}

/* Asked for by GroupId.N, or by GroupName.N (in the default VPC); all when neither. */
static int describe_group_wanted(struct ec2_listing *l, const struct security_group_row *g)
{
	const struct describe_groups *d = l->arg;
	if (!d->nnames)
		return ec2_listing_wants(l, g->id);
	int wanted = l->nids && ec2_listing_wants(l, g->id);
	for (size_t i = 0; i < d->nnames && !strcmp(g->vpc_id, d->default_vpc); i++)
		wanted |= !strcmp(d->names[i], g->name);
	return wanted;
}

static int describe_group_visit(void *arg, const struct security_group_row *g)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	struct sg_view v = { g, NULL, 0 };
	if (!describe_group_wanted(l, g))
		return 0;
	if (catalog_sg_rules(l->ctx->srv->cat, g->id, &v.rules, &v.nrules, l->e) < 0)
		l->failed = 1;
	else if (ec2_listing_match(l, g->id, &tags, sg_filter, &v)) {
		xmlw_start(l->ctx->w, "item");
		sg_write(l->ctx, &v, &tags);
		xmlw_end(l->ctx->w);
	}
	free(v.rules);
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_groups_walk(struct ec2_listing *l)
{
	return catalog_sg_each(l->ctx->srv->cat, l->ctx->account, NULL, l->page.after,
			       describe_group_visit, l, l->e);
}

int ec2_describe_security_groups(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_groups d;
	struct security_group_row g;
	int ret = -1;
	memset(&d, 0, sizeof d);
	d.nnames = query_list(&ctx->q, "GroupName", &d.names);
	/* Names are looked up in the default VPC; a missing one is an error. */
	for (size_t i = 0; i < d.nnames; i++)
		if (ec2_sg_by_name(ctx, d.names[i], &g, e) < 0)
			goto out;
	if (d.nnames && ec2_default_vpc(ctx, d.default_vpc, e) < 0)
		goto out;
	ret = ec2_listing_run(ctx, &ec2_kind_sg, "GroupId", sg_filter_names, "securityGroupInfo",
			      describe_groups_walk, &d, e);
out:
	free(d.names);
	return ret;
}

/* ---- DeleteSecurityGroup ----------------------------------------------------------- */

int ec2_delete_security_group(struct ec2_ctx *ctx, struct err *e)
{
	struct security_group_row g;
	const char *id = query_get(&ctx->q, "GroupId");
	const char *name = query_get(&ctx->q, "GroupName");
	if (id && *id) {
		if (ec2_sg_owned(ctx, id, &g, e) < 0)
			return -1;
	} else if (name && *name) {
		if (ec2_sg_by_name(ctx, name, &g, e) < 0)
			return -1;
	} else {
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter groupName or groupId");
	}
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_sg_delete(ctx->srv->cat, g.id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	xmlw_text(ctx->w, "groupId", g.id);
	return 0;
}
