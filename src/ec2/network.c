/*
 * ec2/network.c: what the VPC handlers share (IDs, the default VPC, zones,
 * Describe listings, attribute values), DescribeAccountAttributes and
 * DescribeInstanceTypeOfferings.
 *
 * Every account has a default VPC from the first request that needs one
 * (catalog_default_vpc): each Describe of network resources asks for it
 * first, so that an account's first DescribeVpcs already shows it, as on
 * EC2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "compute/compute.h"
#include "api/filter.h"
#include "catalog/catalog_network.h"
#include "compute/instance_types.h"

const struct ec2_id_kind ec2_kind_vpc = { "vpc", "InvalidVpcID.Malformed",
					  "InvalidVpcID.NotFound", "vpc ID" };
const struct ec2_id_kind ec2_kind_subnet = { "subnet", "InvalidSubnetID.Malformed",
					     "InvalidSubnetID.NotFound", "subnet ID" };
const struct ec2_id_kind ec2_kind_sg = { "sg", "InvalidGroupId.Malformed",
					 "InvalidGroup.NotFound", "security group" };
const struct ec2_id_kind ec2_kind_sg_rule = { "sgr", "InvalidSecurityGroupRuleId.Malformed",
					      "InvalidSecurityGroupRuleId.NotFound",
					      "security group rule ID" };
const struct ec2_id_kind ec2_kind_route_table = { "rtb", "InvalidRouteTableID.Malformed",
						  "InvalidRouteTableID.NotFound",
						  "routeTable ID" };
const struct ec2_id_kind ec2_kind_network_acl = { "acl", "InvalidNetworkAclID.Malformed",
						  "InvalidNetworkAclID.NotFound",
						  "networkAcl ID" };
const struct ec2_id_kind ec2_kind_internet_gateway = {
	"igw", "InvalidInternetGatewayID.Malformed", "InvalidInternetGatewayID.NotFound",
	"internetGateway ID"
};
const struct ec2_id_kind ec2_kind_eni = { "eni", "InvalidNetworkInterfaceID.Malformed",
					  "InvalidNetworkInterfaceID.NotFound",
					  "networkInterface ID" };
const struct ec2_id_kind ec2_kind_address = { "eipalloc", "InvalidAllocationID.Malformed",
					      "InvalidAllocationID.NotFound", "allocation ID" };
const struct ec2_id_kind ec2_kind_dhcp_options = { "dopt", "InvalidDhcpOptionsId.Malformed",
						   "InvalidDhcpOptionID.NotFound",
						   "dhcpOption ID" };

int ec2_id_refuse(const struct ec2_id_kind *kind, const char *id, struct err *e)
{
	if (!ids_valid_resource(kind->prefix, id))
		return err_set(e, 400, kind->malformed, "Invalid id: \"%.64s\" (expecting \"%s-...\")",
			       id, kind->prefix);
	return err_set(e, 400, kind->not_found, "The %s '%s' does not exist", kind->noun, id);
}

/* ---- lookups -------------------------------------------------------------- */

int ec2_default_vpc(struct ec2_ctx *ctx, char vpc_id[ID_MAX], struct err *e)
{
	const char *zones[API_ZONES_MAX];
	for (size_t i = 0; i < ctx->srv->nzones; i++)
		zones[i] = ctx->srv->zones[i];
	return catalog_default_vpc(ctx->srv->cat, ctx->account, ctx->srv->region, zones,
				   ctx->srv->nzones, vpc_id, e);
}

int ec2_vpc_owned(struct ec2_ctx *ctx, const char *id, struct vpc_row *v, struct err *e)
{
	int found = ids_valid_resource("vpc", id) ? catalog_vpc_get(ctx->srv->cat, id, v, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(v->owner_id, ctx->account) != 0)
		return ec2_id_refuse(&ec2_kind_vpc, id, e);
	return 0;
}

int ec2_subnet_owned(struct ec2_ctx *ctx, const char *id, struct subnet_row *s,
		     struct err *e)
{
	int found = ids_valid_resource("subnet", id) ?
			    catalog_subnet_get(ctx->srv->cat, id, s, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(s->owner_id, ctx->account) != 0)
		return ec2_id_refuse(&ec2_kind_subnet, id, e);
	return 0;
}

int ec2_sg_owned(struct ec2_ctx *ctx, const char *id, struct security_group_row *g,
		 struct err *e)
{
	int found = ids_valid_resource("sg", id) ? catalog_sg_get(ctx->srv->cat, id, g, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(g->owner_id, ctx->account) != 0)
		return ec2_id_refuse(&ec2_kind_sg, id, e);
	return 0;
}

int ec2_sg_by_name(struct ec2_ctx *ctx, const char *name, struct security_group_row *g,
		   struct err *e)
{
	char vpc_id[ID_MAX];
	if (ec2_default_vpc(ctx, vpc_id, e) < 0)
		return -1;
	int found = vpc_id[0] ? catalog_sg_by_name(ctx->srv->cat, vpc_id, name, g, e) : 0;
	if (found < 0)
		return -1;
	if (!found)
		return err_set(e, 400, "InvalidGroup.NotFound",
			       "The security group '%.255s' does not exist in default VPC '%s'",
			       name, vpc_id[0] ? vpc_id : "none");
	return 0;
}

int ec2_network_tag_target(struct ec2_ctx *ctx, const char *id, const char **type,
			   struct err *e)
{
	static const struct {
		const struct ec2_id_kind *kind;
		const char *type;
	} kinds[] = {
		{ &ec2_kind_vpc, "vpc" }, { &ec2_kind_subnet, "subnet" },
		{ &ec2_kind_sg, "security-group" }, { &ec2_kind_sg_rule, "security-group-rule" },
		{ &ec2_kind_route_table, "route-table" }, { &ec2_kind_network_acl, "network-acl" },
		{ &ec2_kind_internet_gateway, "internet-gateway" },
		{ &ec2_kind_eni, "network-interface" }, { &ec2_kind_dhcp_options, "dhcp-options" },
		{ &ec2_kind_address, "elastic-ip" },
	};
	char owner[13];
	size_t k = 0, plen = 0;
	for (; k < sizeof kinds / sizeof kinds[0]; k++) {
		plen = strlen(kinds[k].kind->prefix);
		if (!strncmp(id, kinds[k].kind->prefix, plen) && id[plen] == '-')
			break;
	}
	if (k == sizeof kinds / sizeof kinds[0])
		return 0;
	*type = kinds[k].type;
	if (!ids_valid_resource(kinds[k].kind->prefix, id))
		return ec2_id_refuse(kinds[k].kind, id, e);
	int found = catalog_network_owner(ctx->srv->cat, id, owner, e);
	if (found < 0)
		return -1;
	if (!found || strcmp(owner, ctx->account) != 0)
		return ec2_id_refuse(kinds[k].kind, id, e);
	return 1;
}

void ec2_network_changed(struct ec2_ctx *ctx, const char *vpc_id)
{
	/* The VPC's router re-reads its interfaces and rules (compute/vpc.c). */
	compute_network_changed(ctx->srv->compute, vpc_id);
}

/* ---- zones ------------------------------------------------------------------ */

int ec2_zone_index(const struct server *srv, const char *zone)
{
	for (size_t i = 0; zone && i < srv->nzones; i++)
		if (!strcmp(srv->zones[i], zone))
			return (int)i;
	return -1;
}

void ec2_zone_id(const struct server *srv, size_t index, char out[32])
{
	/* EC2's short region names: us-east-1 -> use1, ap-northeast-1 -> apne1. */
	static const char *const words[] = { "north", "south", "east", "west", "central" };
	const char *region = srv->region, *first = strchr(region, '-');
	const char *last = strrchr(region, '-');
	char abbrev[16];
	size_t n = 0;
	if (!first || first == last) {
		snprintf(out, 32, "%.16s-az%zu", region, index + 1);
		return;
	}
	for (const char *p = region; p < first && n < 4; p++)
		abbrev[n++] = *p;
	for (const char *p = first + 1; p < last && n < 10;) {
		size_t w = 0;
		while (w < 5 && strncmp(p, words[w], strlen(words[w])) != 0)
			w++;
		if (w < 5) {
			abbrev[n++] = words[w][0];
			p += strlen(words[w]);
		} else {
			p++;
		}
	}
	abbrev[n] = '\0';
	snprintf(out, 32, "%s%.4s-az%zu", abbrev, last + 1, index + 1);
}

int ec2_zone_id_index(const struct server *srv, const char *zone_id)
{
	char id[32];
	for (size_t i = 0; zone_id && i < srv->nzones; i++) {
		ec2_zone_id(srv, i, id);
		if (!strcmp(id, zone_id))
			return (int)i;
	}
	return -1;
}

/* ---- listings ------------------------------------------------------------------ */

static int listing_begin(struct ec2_ctx *ctx, const struct ec2_id_kind *kind,
		      const char *id_param, const char *const *filter_names,
		      struct ec2_listing *l, struct err *e)
{
	memset(l, 0, sizeof *l);
	l->ctx = ctx;
	l->kind = kind;
	l->nids = id_param ? query_list(&ctx->q, id_param, &l->ids) : 0;
	l->seen = xcalloc(l->nids + 1, 1);
	if (query_filters(&ctx->q, &l->filters, &l->nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &l->page, e) < 0)
		return -1;
	for (size_t i = 0; i < l->nfilters; i++) {
		int known = ec2_is_tag_filter(l->filters[i].name);
		for (const char *const *p = filter_names; !known && *p; p++)
			known = !strcmp(l->filters[i].name, *p);
		if (!known)
			return err_set(e, 400, "InvalidParameterValue",
				       "The filter '%.64s' is invalid", l->filters[i].name);
	}
	for (size_t i = 0; i < l->nids; i++)
		if (!ids_valid_resource(kind->prefix, l->ids[i]))
			return ec2_id_refuse(kind, l->ids[i], e);
	return 0;
}

static int listing_take(struct ec2_listing *l, const char *id)
{
	if (l->page.max_results && l->written == l->page.max_results) {
		l->more = 1;
		return 0;
	}
	l->written++;
	snprintf(l->last, sizeof l->last, "%s", id);
	return 1;
}

static int listing_end(struct ec2_listing *l, struct err *e)
{
	/* A page cut short has not seen every asked-for ID yet. */
	for (size_t i = 0; i < l->nids && !l->more; i++)
		if (!l->seen[i])
			return err_set(e, 400, l->kind->not_found, "The %s '%s' does not exist",
				       l->kind->noun, l->ids[i]);
	if (l->more)
		ec2_page_write_token(l->ctx, l->last);
	return 0;
}

static void listing_release(struct ec2_listing *l)
{
	query_filters_free(l->filters, l->nfilters);
	free(l->ids);
	free(l->seen);
	memset(l, 0, sizeof *l);
}

int ec2_listing_wants(struct ec2_listing *l, const char *id)
{
	int wanted = l->nids == 0;
	for (size_t i = 0; i < l->nids; i++)
		if (!strcmp(l->ids[i], id)) {
			l->seen[i] = 1;
			wanted = 1;
		}
	return wanted;
}

int ec2_listing_run(struct ec2_ctx *ctx, const struct ec2_id_kind *kind, const char *id_param,
		    const char *const *filter_names, const char *set_name,
		    int (*walk)(struct ec2_listing *l), void *arg, struct err *e)
{
	struct ec2_listing l;
	char default_vpc[ID_MAX];
	int ret = -1;
	if (listing_begin(ctx, kind, id_param, filter_names, &l, e) < 0 ||
	    ec2_default_vpc(ctx, default_vpc, e) < 0)
		goto out;
	l.e = e;
	l.arg = arg;
	xmlw_start(ctx->w, set_name);
	if (walk(&l) < 0 || l.failed)
		goto out;
	xmlw_end(ctx->w);
	ret = listing_end(&l, e);
out:
	listing_release(&l);
	return ret;
}

int ec2_listing_match(struct ec2_listing *l, const char *id, struct tag_list *tags,
		      int (*filter)(struct ec2_listing *l, const struct query_filter *f,
				    const void *row),
		      const void *row)
{
	int match = 1;
	if (catalog_tags_get(l->ctx->srv->cat, id, tags, l->e) < 0) {
		l->failed = 1;
		return 0;
	}
	for (size_t i = 0; i < l->nfilters && match; i++)
		match = ec2_is_tag_filter(l->filters[i].name) ?
				ec2_tags_match(&l->filters[i], tags) :
				filter(l, &l->filters[i], row);
	return match && !l->failed && listing_take(l, id);
}

int ec2_listing_done(const struct ec2_listing *l)
{
	return l->more || l->failed;
}

int ec2_filter_hit(const struct query_filter *f, const char *value)
{
	return value && filter_match_any(f->values, f->nvalues, value);
}

int ec2_filter_bool(const struct query_filter *f, int value)
{
	return ec2_filter_hit(f, value ? "true" : "false");
}

int ec2_filter_int(const struct query_filter *f, long long value)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", value);
	return ec2_filter_hit(f, text);
}

void ec2_write_attribute_bool(struct xmlw *w, const char *name, int value)
{
	xmlw_start(w, name);
	xmlw_bool(w, "value", value);
	xmlw_end(w);
}

int ec2_read_attribute_bool(struct ec2_ctx *ctx, const char *name, struct err *e)
{
	char param[96];
	int value = 0;
	snprintf(param, sizeof param, "%s.Value", name);
	int rc = query_get_bool(&ctx->q, param, &value, e);
	if (rc < 0)
		return -2;
	return rc ? value : -1;
}

int ec2_tags_put(struct ec2_ctx *ctx, const char *id, const char *type,
		 const struct tag_list *tags, struct err *e)
{
	for (size_t i = 0; i < tags->count; i++)
		if (catalog_tag_set(ctx->srv->cat, id, type, ctx->account, tags->items[i].key,
				    tags->items[i].value, e) < 0)
			return -1;
	return 0;
}

/* ---- DescribeAccountAttributes -------------------------------------------------- */

int ec2_describe_account_attributes(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const names[] = {
		"supported-platforms", "vpc-max-security-groups-per-interface",
		"max-elastic-ips", "max-instances", "vpc-max-elastic-ips", "default-vpc",
	};
	const size_t count = sizeof names / sizeof names[0];
	const char **asked = NULL;
	char vpc_id[ID_MAX], groups[16];
	size_t nasked = query_list(&ctx->q, "AttributeName", &asked);
	int ret = -1;
	for (size_t i = 0; i < nasked; i++) {
		size_t k = 0;
		while (k < count && strcmp(asked[i], names[k]) != 0)
			k++;
		if (k == count) {
			err_set(e, 400, "InvalidParameterValue",
				"Value (%.64s) for parameter attributeName is invalid.", asked[i]);
			goto out;
		}
	}
	if (ec2_default_vpc(ctx, vpc_id, e) < 0)
		goto out;
	snprintf(groups, sizeof groups, "%d", ENI_GROUPS_MAX);
	/* supported-platforms: VPC only, as for every account since 2013. */
	const char *values[] = { "VPC", groups, "5", "20", "5", vpc_id[0] ? vpc_id : "none" };
	xmlw_start(ctx->w, "accountAttributeSet");
	for (size_t k = 0; k < count; k++) {
		int wanted = nasked == 0;
		for (size_t i = 0; i < nasked; i++)
			wanted |= !strcmp(asked[i], names[k]);
		if (!wanted)
			continue;
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, "attributeName", names[k]);
		xmlw_start(ctx->w, "attributeValueSet");
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, "attributeValue", values[k]);
		xmlw_end(ctx->w);
		xmlw_end(ctx->w);
		xmlw_end(ctx->w);
	}
	xmlw_end(ctx->w);
	ret = 0;
out:
	free(asked);
	return ret;
}

/* ---- DescribeInstanceTypeOfferings ------------------------------------------------ */

int ec2_describe_instance_type_offerings(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const filter_names[] = { "location", "instance-type", NULL };
	const char *type = query_get(&ctx->q, "LocationType");
	struct ec2_listing l;
	size_t ntypes = 0;
	char zone_id[32], key[ID_MAX];
	const struct instance_type *types = instance_types(&ntypes);
	int ret = -1, by_zone = 0, by_zone_id = 0;
	if (listing_begin(ctx, &ec2_kind_vpc, NULL, filter_names, &l, e) < 0)
		goto out;
	if (type && strcmp(type, "region") != 0) {
		by_zone = !strcmp(type, "availability-zone");
		by_zone_id = !strcmp(type, "availability-zone-id");
		if (!by_zone && !by_zone_id) {
			err_set(e, 400, "InvalidParameterValue",
				"Value (%.64s) for parameter locationType is invalid.", type);
			goto out;
		}
	}
	/* Offerings are numbered location-major; the token holds the next one's number. */
	size_t nlocations = by_zone || by_zone_id ? ctx->srv->nzones : 1;
	size_t start = l.page.after[0] ? strtoul(l.page.after, NULL, 10) : 0;
	xmlw_start(ctx->w, "instanceTypeOfferingSet");
	for (size_t k = start; k < nlocations * ntypes; k++) {
		size_t where = k / ntypes;
		const char *location = ctx->srv->region;
		if (by_zone)
			location = ctx->srv->zones[where];
		if (by_zone_id) {
			ec2_zone_id(ctx->srv, where, zone_id);
			location = zone_id;
		}
		const char *name = types[k % ntypes].name;
		int match = 1;
		for (size_t i = 0; i < l.nfilters && match; i++)
			match = ec2_filter_hit(&l.filters[i], !strcmp(l.filters[i].name, "location") ?
							      location : name);
		snprintf(key, sizeof key, "%zu", k);
		if (!match)
			continue;
		if (!listing_take(&l, key)) {
			snprintf(l.last, sizeof l.last, "%zu", k);
			break;
		}
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, "instanceType", name);
		xmlw_text(ctx->w, "locationType", by_zone ? "availability-zone" :
						   by_zone_id ? "availability-zone-id" : "region");
		xmlw_text(ctx->w, "location", location);
		xmlw_end(ctx->w);
	}
	xmlw_end(ctx->w);
	ret = listing_end(&l, e);
out:
	listing_release(&l);
	return ret;
}
