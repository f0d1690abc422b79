/*
 * ec2/vpcs.c: CreateVpc, DescribeVpcs, DeleteVpc, DescribeVpcAttribute,
 * ModifyVpcAttribute, CreateDefaultVpc.
 *
 * A VPC is an IPv4 CIDR (/16 to /28) with its main route table, default
 * network ACL and default security group, made with it in one transaction
 * (catalog_vpc_create); IPv6 and IPAM pools are refused rather than
 * pretended.  VPCs are private to their owner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_network.h"

static void vpc_write(struct ec2_ctx *ctx, const struct vpc_row *v, const struct tag_list *tags)
{
	struct xmlw *w = ctx->w;
	xmlw_text(w, "vpcId", v->id);
	xmlw_text(w, "ownerId", v->owner_id);
	xmlw_text(w, "state", "available");
	xmlw_text(w, "cidrBlock", v->cidr_block);
	xmlw_start(w, "cidrBlockAssociationSet");
	xmlw_start(w, "item");
	xmlw_text(w, "cidrBlock", v->cidr_block);
	xmlw_text(w, "associationId", v->cidr_assoc_id);
	xmlw_start(w, "cidrBlockState");
	xmlw_text(w, "state", "associated");
	xmlw_end(w);
	xmlw_end(w);
	xmlw_end(w);
	xmlw_start(w, "ipv6CidrBlockAssociationSet");
	xmlw_end(w);
	xmlw_text(w, "dhcpOptionsId", v->dhcp_options_id);
	ec2_write_tags(w, tags);
	xmlw_text(w, "instanceTenancy", v->tenancy);
	xmlw_bool(w, "isDefault", v->is_default);
	xmlw_start(w, "blockPublicAccessStates");
	xmlw_text(w, "internetGatewayBlockMode", "off");
	xmlw_end(w);
}

/* Refuses a CIDR EC2 would refuse for a VPC. */
static int vpc_check_cidr(const char *cidr, struct err *e)
{
	uint32_t net;
	int prefix;
	if (network_parse_cidr(cidr, &net, &prefix) < 0 ||
	    (prefix < 32 && (net & (0xffffffffu >> prefix)) != 0))
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.40s) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
			       cidr);
	if (prefix < 16 || prefix > 28)
		return err_set(e, 400, "InvalidVpc.Range", "The CIDR '%s' is invalid.", cidr);
	return 0;
}

/* ---- CreateVpc ------------------------------------------------------------ */

int ec2_create_vpc(struct ec2_ctx *ctx, struct err *e)
{
	struct vpc_row v;
	struct tag_list tags = { NULL, 0 };
	char default_vpc[ID_MAX];
	int ipv6 = 0, ret = -1;
	const char *cidr = query_get(&ctx->q, "CidrBlock");
	const char *tenancy = query_get(&ctx->q, "InstanceTenancy");
	memset(&v, 0, sizeof v);
	if (query_get_bool(&ctx->q, "AmazonProvidedIpv6CidrBlock", &ipv6, e) < 0)
		goto out;
	if (ipv6 || query_get(&ctx->q, "Ipv6CidrBlock") || query_get(&ctx->q, "Ipv6IpamPoolId") ||
	    query_get(&ctx->q, "Ipv4IpamPoolId")) {
		err_set(e, 400, "InvalidParameterValue",
			"amibox's VPCs are IPv4 only and have no IPAM pools; give CidrBlock.");
		goto out;
	}
	if (!cidr || !*cidr) {
		err_set(e, 400, "MissingParameter",
			"Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.");
		goto out;
	}
	if (tenancy && strcmp(tenancy, "default") != 0 && strcmp(tenancy, "dedicated") != 0) {
		err_set(e, 400, "InvalidParameterValue",
			"Value (%.32s) for parameter instanceTenancy is invalid.", tenancy);
		goto out;
	}
	if (vpc_check_cidr(cidr, e) < 0 || ec2_tag_specifications(ctx, "vpc", &tags, e) < 0 ||
	    ec2_default_vpc(ctx, default_vpc, e) < 0)
		goto out;
	ids_resource("vpc", v.id);
	snprintf(v.owner_id, sizeof v.owner_id, "%s", ctx->account);
	snprintf(v.cidr_block, sizeof v.cidr_block, "%s", cidr);
	snprintf(v.tenancy, sizeof v.tenancy, "%s", tenancy ? tenancy : "default");
	v.dns_support = 1;
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_vpc_create(ctx->srv->cat, ctx->srv->region, &v, e) < 0 ||
	    ec2_tags_put(ctx, v.id, "vpc", &tags, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		goto out;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_start(ctx->w, "vpc");
	vpc_write(ctx, &v, &tags);
	xmlw_end(ctx->w);
	ret = 0;
out:
	tag_list_release(&tags);
	return ret;
}

/* ---- CreateDefaultVpc -------------------------------------------------------- */

int ec2_create_default_vpc(struct ec2_ctx *ctx, struct err *e)
{
	struct vpc_row v;
	struct tag_list tags = { NULL, 0 };
	const char *zones[API_ZONES_MAX];
	for (size_t i = 0; i < ctx->srv->nzones; i++)
		zones[i] = ctx->srv->zones[i];
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_default_vpc_create(ctx->srv->cat, ctx->account, ctx->srv->region, zones,
				       ctx->srv->nzones, &v, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	xmlw_start(ctx->w, "vpc");
	vpc_write(ctx, &v, &tags);
	xmlw_end(ctx->w);
	return 0;
}

/* ---- DescribeVpcs ------------------------------------------------------------- */

static const char *const vpc_filter_names[] = {
	"cidr", "cidr-block", "cidrBlock", "cidr-block-association.cidr-block",
	"cidr-block-association.association-id", "cidr-block-association.state",
	"dhcp-options-id", "ipv6-cidr-block-association.ipv6-cidr-block",
	"ipv6-cidr-block-association.ipv6-pool", "ipv6-cidr-block-association.association-id",
	"ipv6-cidr-block-association.state", "is-default", "isDefault", "owner-id", "state",
	"vpc-id", "instance-tenancy", NULL,
};

static int vpc_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct vpc_row *v = row;
	const char *n = f->name;
	if (!strcmp(n, "cidr") || !strcmp(n, "cidr-block") || !strcmp(n, "cidrBlock") ||
	    !strcmp(n, "cidr-block-association.cidr-block"))
		return ec2_filter_hit(f, v->cidr_block);
	if (!strcmp(n, "cidr-block-association.association-id"))
		return ec2_filter_hit(f, v->cidr_assoc_id);
	if (!strcmp(n, "cidr-block-association.state"))
		return ec2_filter_hit(f, "associated");
	if (!strcmp(n, "dhcp-options-id"))
		return ec2_filter_hit(f, v->dhcp_options_id);
	if (!strcmp(n, "is-default") || !strcmp(n, "isDefault"))
		return ec2_filter_bool(f, v->is_default);
	if (!strcmp(n, "owner-id"))
		return ec2_filter_hit(f, v->owner_id);
	if (!strcmp(n, "state"))
		return ec2_filter_hit(f, "available");
	if (!strcmp(n, "vpc-id"))
		return ec2_filter_hit(f, v->id);
	if (!strcmp(n, "instance-tenancy"))
		return ec2_filter_hit(f, v->tenancy);
	(void)l;
	return 0; /* IPv6 associations: a VPC has none */
}

static int describe_vpc_visit(void *arg, const struct vpc_row *v)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (ec2_listing_wants(l, v->id) && ec2_listing_match(l, v->id, &tags, vpc_filter, v)) {
		xmlw_start(l->ctx->w, "item");
		vpc_write(l->ctx, v, &tags);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_vpcs_walk(struct ec2_listing *l)
{
	return catalog_vpc_each(l->ctx->srv->cat, l->ctx->account, l->page.after,
				describe_vpc_visit, l, l->e);
}

int ec2_describe_vpcs(struct ec2_ctx *ctx, struct err *e)
{
	return ec2_listing_run(ctx, &ec2_kind_vpc, "VpcId", vpc_filter_names, "vpcSet",
			       describe_vpcs_walk, NULL, e);
}

/* ---- DeleteVpc ------------------------------------------------------------------ */

int ec2_delete_vpc(struct ec2_ctx *ctx, struct err *e)
{
	struct vpc_row v;
	const char *id = ec2_require(ctx, "VpcId", e);
	if (!id || ec2_vpc_owned(ctx, id, &v, e) < 0 || catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_vpc_delete(ctx->srv->cat, id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

/* ---- Describe/ModifyVpcAttribute -------------------------------------------------- */

static const char *const vpc_attributes[] = {
	"enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics",
};

static int *vpc_attribute(struct vpc_row *v, size_t which)
{
	return which == 0 ? &v->dns_support : which == 1 ? &v->dns_hostnames : &v->nau_metrics;
}

int ec2_describe_vpc_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct vpc_row v;
	const char *id = ec2_require(ctx, "VpcId", e);
	const char *name = id ? ec2_require(ctx, "Attribute", e) : NULL;
	size_t which = 0;
	if (!name)
		return -1;
	while (which < 3 && strcmp(name, vpc_attributes[which]) != 0)
		which++;
	if (which == 3)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter attribute is invalid. Unknown attribute.",
			       name);
	if (ec2_vpc_owned(ctx, id, &v, e) < 0)
		return -1;
	xmlw_text(ctx->w, "vpcId", v.id);
	ec2_write_attribute_bool(ctx->w, vpc_attributes[which], *vpc_attribute(&v, which));
	return 0;
}

int ec2_modify_vpc_attribute(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const params[] = {
		"EnableDnsSupport", "EnableDnsHostnames", "EnableNetworkAddressUsageMetrics",
	};
	struct vpc_row v;
	int values[3], given = 0;
	const char *id = ec2_require(ctx, "VpcId", e);
	if (!id)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		values[i] = ec2_read_attribute_bool(ctx, params[i], e);
		if (values[i] == -2)
			return -1;
		given += values[i] >= 0;
	}
	if (given != 1)
		return err_set(e, 400, given ? "InvalidParameterCombination" : "MissingParameter",
			       "Exactly one attribute of the VPC can be modified at a time.");
	if (ec2_vpc_owned(ctx, id, &v, e) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if (values[i] >= 0)
			*vpc_attribute(&v, i) = values[i];
	if (v.dns_hostnames && !v.dns_support)
		return err_set(e, 400, "InvalidParameterValue",
			       "DNS hostnames need DNS support: enable enableDnsSupport first.");
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_vpc_update(ctx->srv->cat, &v, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}
