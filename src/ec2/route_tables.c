/*
 * ec2/route_tables.c: DescribeRouteTables, DescribeNetworkAcls,
 * DescribeDhcpOptions, and internet gateways (Create, Attach, Detach,
 * Delete, Describe).
 *
 * Each VPC has the main route table and the default network ACL it was
 * made with.  The main table holds the local route and, while a gateway is
 * attached, 0.0.0.0/0 to it; subnets are associated with it implicitly,
 * so, as on EC2, it lists only its main association.  The default ACL
 * allows everything (rule 100, then EC2's * deny) and is associated with
 * every subnet of the VPC.  amibox's data plane enforces security groups;
 * these describe the model as EC2 does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_network.h"

/* ---- DescribeRouteTables -------------------------------------------------- */

static const char *const route_table_filter_names[] = {
	"association.gateway-id", "association.route-table-association-id",
	"association.route-table-id", "association.subnet-id", "association.main", "owner-id",
	"route-table-id", "route.destination-cidr-block", "route.destination-ipv6-cidr-block",
	"route.destination-prefix-list-id", "route.egress-only-internet-gateway-id",
	"route.gateway-id", "route.instance-id", "route.nat-gateway-id",
	"route.transit-gateway-id", "route.origin", "route.state",
	"route.vpc-peering-connection-id", "vpc-id", NULL,
};

static int route_table_filter(struct ec2_listing *l, const struct query_filter *f,
			      const void *row)
{
	const struct route_table_row *r = row;
	(void)l;
	const char *n = f->name;
	int main_table = r->main_assoc_id[0] != '\0';
	if (!strcmp(n, "owner-id"))
		return ec2_filter_hit(f, r->owner_id);
	if (!strcmp(n, "route-table-id") || !strcmp(n, "association.route-table-id"))
		return (main_table || !strcmp(n, "route-table-id")) && ec2_filter_hit(f, r->id);
	if (!strcmp(n, "vpc-id"))
		return ec2_filter_hit(f, r->vpc_id);
	if (!strcmp(n, "association.main"))
		return main_table && ec2_filter_bool(f, 1);
	if (!strcmp(n, "association.route-table-association-id"))
		return main_table && ec2_filter_hit(f, r->main_assoc_id);
	for (size_t i = 0; i < r->nroutes; i++) {
		const struct route_row *route = &r->routes[i];
		if ((!strcmp(n, "route.destination-cidr-block") &&
		     ec2_filter_hit(f, route->destination)) ||
		    (!strcmp(n, "route.gateway-id") && ec2_filter_hit(f, route->gateway_id)) ||
		    (!strcmp(n, "route.origin") && ec2_filter_hit(f, route->origin)) ||
		    (!strcmp(n, "route.state") && ec2_filter_hit(f, "active")))
			return 1;
	}
	/* Subnet and gateway associations, other route targets: none here. */
	return 0;
}

static void route_table_write(struct xmlw *w, const struct route_table_row *r,
			      const struct tag_list *tags)
{
	xmlw_text(w, "routeTableId", r->id);
	xmlw_text(w, "vpcId", r->vpc_id);
	xmlw_text(w, "ownerId", r->owner_id);
	xmlw_start(w, "routeSet");
	for (size_t i = 0; i < r->nroutes; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "destinationCidrBlock", r->routes[i].destination);
		xmlw_text(w, "gatewayId", r->routes[i].gateway_id);
		xmlw_text(w, "state", "active");
		xmlw_text(w, "origin", r->routes[i].origin);
		xmlw_end(w);
	}
	xmlw_end(w);
	xmlw_start(w, "associationSet");
	if (r->main_assoc_id[0]) {
		xmlw_start(w, "item");
		xmlw_text(w, "routeTableAssociationId", r->main_assoc_id);
		xmlw_text(w, "routeTableId", r->id);
		xmlw_bool(w, "main", 1);
		xmlw_start(w, "associationState");
		xmlw_text(w, "state", "associated");
		xmlw_end(w);
		xmlw_end(w);
	}
	xmlw_end(w);
	xmlw_start(w, "propagatingVgwSet");
	xmlw_end(w);
	ec2_write_tags(w, tags);
}

static int describe_route_table_visit(void *arg, const struct route_table_row *r)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (ec2_listing_wants(l, r->id) && ec2_listing_match(l, r->id, &tags, route_table_filter, r)) {
		xmlw_start(l->ctx->w, "item");
		route_table_write(l->ctx->w, r, &tags);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_route_tables_walk(struct ec2_listing *l)
{
	return catalog_route_table_each(l->ctx->srv->cat, l->ctx->account, l->page.after,
					describe_route_table_visit, l, l->e);
}

int ec2_describe_route_tables(struct ec2_ctx *ctx, struct err *e)
{
	return ec2_listing_run(ctx, &ec2_kind_route_table, "RouteTableId",
			       route_table_filter_names, "routeTableSet",
			       describe_route_tables_walk, NULL, e);
}

/* ---- DescribeNetworkAcls -------------------------------------------------------- */

static const char *const acl_filter_names[] = {
	"association.association-id", "association.network-acl-id", "association.subnet-id",
	"default", "entry.cidr", "entry.icmp.code", "entry.icmp.type", "entry.ipv6-cidr",
	"entry.port-range.from", "entry.port-range.to", "entry.protocol", "entry.rule-action",
	"entry.rule-number", "entry.egress", "network-acl-id", "owner-id", "vpc-id", NULL,
};

/* A network ACL with its subnets' associations, for filters and output. */
struct acl_view {
	const struct network_acl_row *acl;
	struct subnet_row *subnets;
	size_t nsubnets;
};

static int acl_add_subnet(void *arg, const struct subnet_row *s)
{
	struct acl_view *v = arg;
	v->subnets = xrealloc(v->subnets, (v->nsubnets + 1) * sizeof *v->subnets);
	v->subnets[v->nsubnets++] = *s;
	return 0;
}

static int acl_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct acl_view *v = row;
	(void)l;
	const char *n = f->name;
	if (!strcmp(n, "default"))
		return ec2_filter_bool(f, v->acl->is_default);
	if (!strcmp(n, "network-acl-id") || !strcmp(n, "association.network-acl-id"))
		return ec2_filter_hit(f, v->acl->id);
	if (!strcmp(n, "owner-id"))
		return ec2_filter_hit(f, v->acl->owner_id);
	if (!strcmp(n, "vpc-id"))
		return ec2_filter_hit(f, v->acl->vpc_id);
	if (!strcmp(n, "association.subnet-id") || !strcmp(n, "association.association-id")) {
		for (size_t i = 0; i < v->nsubnets; i++)
			if (ec2_filter_hit(f, n[12] == 's' ? v->subnets[i].id :
							    v->subnets[i].acl_assoc_id))
				return 1;
		return 0;
	}
	/* The default entries: allow all (100) and deny all (*), both ways. */
	if (!strcmp(n, "entry.cidr"))
		return ec2_filter_hit(f, "0.0.0.0/0");
	if (!strcmp(n, "entry.protocol"))
		return ec2_filter_hit(f, "-1");
	if (!strcmp(n, "entry.rule-action"))
		return ec2_filter_hit(f, "allow") || ec2_filter_hit(f, "deny");
	if (!strcmp(n, "entry.rule-number"))
		return ec2_filter_hit(f, "100") || ec2_filter_hit(f, "32767");
	if (!strcmp(n, "entry.egress"))
		return ec2_filter_hit(f, "true") || ec2_filter_hit(f, "false");
	return 0;
}

static void acl_write_entry(struct xmlw *w, int number, const char *action, int egress)
{
	xmlw_start(w, "item");
	xmlw_int(w, "ruleNumber", number);
	xmlw_text(w, "protocol", "-1");
	xmlw_text(w, "ruleAction", action);
	xmlw_bool(w, "egress", egress);
	xmlw_text(w, "cidrBlock", "0.0.0.0/0");
	xmlw_end(w);
}

static void acl_write(struct xmlw *w, const struct acl_view *v, const struct tag_list *tags)
{
	xmlw_text(w, "networkAclId", v->acl->id);
	xmlw_text(w, "vpcId", v->acl->vpc_id);
	xmlw_bool(w, "default", v->acl->is_default);
	xmlw_start(w, "entrySet");
	for (int egress = 1; egress >= 0; egress--) {
		acl_write_entry(w, 100, "allow", egress);
		acl_write_entry(w, 32767, "deny", egress);
	}
	xmlw_end(w);
	xmlw_start(w, "associationSet");
	for (size_t i = 0; i < v->nsubnets; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "networkAclAssociationId", v->subnets[i].acl_assoc_id);
		xmlw_text(w, "networkAclId", v->acl->id);
		xmlw_text(w, "subnetId", v->subnets[i].id);
		xmlw_end(w);
	}
	xmlw_end(w);
	ec2_write_tags(w, tags);
	xmlw_text(w, "ownerId", v->acl->owner_id);
}

static int describe_acl_visit(void *arg, const struct network_acl_row *a)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	struct acl_view v = { a, NULL, 0 };
	if (!ec2_listing_wants(l, a->id))
		return 0;
	/* Every subnet of the VPC is associated with its default ACL. */
	if (a->is_default && catalog_subnet_each(l->ctx->srv->cat, a->owner_id, a->vpc_id, NULL,
						 acl_add_subnet, &v, l->e) < 0)
		l->failed = 1;
	else if (ec2_listing_match(l, a->id, &tags, acl_filter, &v)) {
		xmlw_start(l->ctx->w, "item");
		acl_write(l->ctx->w, &v, &tags);
		xmlw_end(l->ctx->w);
	}
	free(v.subnets);
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_acls_walk(struct ec2_listing *l)
{
	return catalog_network_acl_each(l->ctx->srv->cat, l->ctx->account, l->page.after,
					describe_acl_visit, l, l->e);
}

int ec2_describe_network_acls(struct ec2_ctx *ctx, struct err *e)
{
	return ec2_listing_run(ctx, &ec2_kind_network_acl, "NetworkAclId", acl_filter_names,
			       "networkAclSet", describe_acls_walk, NULL, e);
}

/* ---- DescribeDhcpOptions ----------------------------------------------------------- */

static int dhcp_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct dhcp_options_row *o = row;
	(void)l;
	if (!strcmp(f->name, "dhcp-options-id"))
		return ec2_filter_hit(f, o->id);
	if (!strcmp(f->name, "owner-id"))
		return ec2_filter_hit(f, o->owner_id);
	if (!strcmp(f->name, "key"))
		return ec2_filter_hit(f, "domain-name") || ec2_filter_hit(f, "domain-name-servers");
	if (!strcmp(f->name, "value"))
		return ec2_filter_hit(f, o->domain_name) || ec2_filter_hit(f, "AmazonProvidedDNS");
	return 0;
}

static void dhcp_write_option(struct xmlw *w, const char *key, const char *value)
{
	xmlw_start(w, "item");
	xmlw_text(w, "key", key);
	xmlw_start(w, "valueSet");
	xmlw_start(w, "item");
	xmlw_text(w, "value", value);
	xmlw_end(w);
	xmlw_end(w);
	xmlw_end(w);
}

static int describe_dhcp_visit(void *arg, const struct dhcp_options_row *o)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (strcmp(o->id, l->page.after) > 0 && ec2_listing_wants(l, o->id) &&
	    ec2_listing_match(l, o->id, &tags, dhcp_filter, o)) {
		struct xmlw *w = l->ctx->w;
		xmlw_start(w, "item");
		xmlw_text(w, "dhcpOptionsId", o->id);
		xmlw_text(w, "ownerId", o->owner_id);
		xmlw_start(w, "dhcpConfigurationSet");
		dhcp_write_option(w, "domain-name", o->domain_name);
		dhcp_write_option(w, "domain-name-servers", "AmazonProvidedDNS");
		xmlw_end(w);
		ec2_write_tags(w, &tags);
		xmlw_end(w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_dhcp_walk(struct ec2_listing *l)
{
	return catalog_dhcp_options_each(l->ctx->srv->cat, l->ctx->account, describe_dhcp_visit, l,
					 l->e);
}

int ec2_describe_dhcp_options(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const names[] = { "dhcp-options-id", "key", "value", "owner-id", NULL };
	return ec2_listing_run(ctx, &ec2_kind_dhcp_options, "DhcpOptionsId", names,
			       "dhcpOptionsSet", describe_dhcp_walk, NULL, e);
}

/* ---- internet gateways ----------------------------------------------------------------- */

static int igw_owned(struct ec2_ctx *ctx, const char *id, struct internet_gateway_row *g,
		     struct err *e)
{
	int found = ids_valid_resource("igw", id) ?
			    catalog_internet_gateway_get(ctx->srv->cat, id, g, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(g->owner_id, ctx->account) != 0)
		return ec2_id_refuse(&ec2_kind_internet_gateway, id, e);
	return 0;
}

static void igw_write(struct xmlw *w, const struct internet_gateway_row *g,
		      const struct tag_list *tags)
{
	xmlw_text(w, "internetGatewayId", g->id);
	xmlw_text(w, "ownerId", g->owner_id);
	xmlw_start(w, "attachmentSet");
	if (g->vpc_id[0]) {
		xmlw_start(w, "item");
		xmlw_text(w, "vpcId", g->vpc_id);
		xmlw_text(w, "state", "available");
		xmlw_end(w);
	}
	xmlw_end(w);
	ec2_write_tags(w, tags);
}

static int igw_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct internet_gateway_row *g = row;
	(void)l;
	if (!strcmp(f->name, "attachment.state"))
		return g->vpc_id[0] && ec2_filter_hit(f, "available");
	if (!strcmp(f->name, "attachment.vpc-id"))
		return g->vpc_id[0] && ec2_filter_hit(f, g->vpc_id);
	if (!strcmp(f->name, "internet-gateway-id"))
		return ec2_filter_hit(f, g->id);
	return ec2_filter_hit(f, g->owner_id); /* owner-id */
}

static int describe_igw_visit(void *arg, const struct internet_gateway_row *g)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (ec2_listing_wants(l, g->id) && ec2_listing_match(l, g->id, &tags, igw_filter, g)) {
		xmlw_start(l->ctx->w, "item");
		igw_write(l->ctx->w, g, &tags);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_igws_walk(struct ec2_listing *l)
{
	return catalog_internet_gateway_each(l->ctx->srv->cat, l->ctx->account, l->page.after,
					     describe_igw_visit, l, l->e);
}

int ec2_describe_internet_gateways(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const names[] = { "attachment.state", "attachment.vpc-id",
					     "internet-gateway-id", "owner-id", NULL };
	return ec2_listing_run(ctx, &ec2_kind_internet_gateway, "InternetGatewayId", names,
			       "internetGatewaySet", describe_igws_walk, NULL, e);
}

int ec2_create_internet_gateway(struct ec2_ctx *ctx, struct err *e)
{
	struct internet_gateway_row g;
	struct tag_list tags = { NULL, 0 };
	int ret = -1;
	if (ec2_tag_specifications(ctx, "internet-gateway", &tags, e) < 0)
		goto out;
	memset(&g, 0, sizeof g);
	ids_resource("igw", g.id);
	snprintf(g.owner_id, sizeof g.owner_id, "%s", ctx->account);
	g.create_ms = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_internet_gateway_insert(ctx->srv->cat, &g, e) < 0 ||
	    ec2_tags_put(ctx, g.id, "internet-gateway", &tags, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_start(ctx->w, "internetGateway");
	igw_write(ctx->w, &g, &tags);
	xmlw_end(ctx->w);
	ret = 0;
out:
	tag_list_release(&tags);
	return ret;
}

/* Reads InternetGatewayId and VpcId: the caller's gateway and VPC. */
static int igw_and_vpc(struct ec2_ctx *ctx, struct internet_gateway_row *g, struct vpc_row *v,
		       struct err *e)
{
	const char *igw_id = ec2_require(ctx, "InternetGatewayId", e);
	const char *vpc_id = igw_id ? ec2_require(ctx, "VpcId", e) : NULL;
	if (!vpc_id || igw_owned(ctx, igw_id, g, e) < 0 || ec2_vpc_owned(ctx, vpc_id, v, e) < 0)
		return -1;
	return 0;
}

/* Attaches the gateway to vpc_id, or detaches it (""), in a transaction. */
static int igw_set_vpc(struct ec2_ctx *ctx, const char *igw_id, const char *vpc_id,
		       struct err *e)
{
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_internet_gateway_set_vpc(ctx->srv->cat, igw_id, vpc_id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

int ec2_attach_internet_gateway(struct ec2_ctx *ctx, struct err *e)
{
	struct internet_gateway_row g;
	struct vpc_row v;
	if (igw_and_vpc(ctx, &g, &v, e) < 0)
		return -1;
	if (g.vpc_id[0])
		return err_set(e, 400, "Resource.AlreadyAssociated",
			       "resource %s is already attached to network %s", g.id, g.vpc_id);
	return igw_set_vpc(ctx, g.id, v.id, e);
}

int ec2_detach_internet_gateway(struct ec2_ctx *ctx, struct err *e)
{
	struct internet_gateway_row g;
	struct vpc_row v;
	if (igw_and_vpc(ctx, &g, &v, e) < 0)
		return -1;
	if (strcmp(g.vpc_id, v.id) != 0)
		return err_set(e, 400, "Gateway.NotAttached",
			       "resource %s is not attached to network %s", g.id, v.id);
	return igw_set_vpc(ctx, g.id, "", e);
}

int ec2_delete_internet_gateway(struct ec2_ctx *ctx, struct err *e)
{
	struct internet_gateway_row g;
	const char *id = ec2_require(ctx, "InternetGatewayId", e);
	if (!id || igw_owned(ctx, id, &g, e) < 0 || catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_internet_gateway_delete(ctx->srv->cat, id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}
