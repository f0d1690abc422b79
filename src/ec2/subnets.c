/*
 * ec2/subnets.c: CreateSubnet, CreateDefaultSubnet, DescribeSubnets,
 * DeleteSubnet, ModifySubnetAttribute.
 *
 * A subnet is an IPv4 CIDR inside its VPC's, in one of the region's zones;
 * interfaces take its addresses (catalog_eni_create), so the count of
 * free addresses follows them.  IPv6, Outposts and customer-owned
 * addresses are refused rather than pretended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_network.h"

static void subnet_write(struct ec2_ctx *ctx, const struct subnet_row *s,
			 const struct tag_list *tags)
{
	struct xmlw *w = ctx->w;
	char zone_id[32] = "", arn[160];
	int zone = ec2_zone_index(ctx->srv, s->zone);
	if (zone >= 0)
		ec2_zone_id(ctx->srv, (size_t)zone, zone_id);
	snprintf(arn, sizeof arn, "arn:aws:ec2:%s:%s:subnet/%s", ctx->srv->region, s->owner_id,
		 s->id);
	xmlw_text(w, "subnetId", s->id);
	xmlw_text(w, "subnetArn", arn);
	xmlw_text(w, "state", "available");
	xmlw_text(w, "ownerId", s->owner_id);
	xmlw_text(w, "vpcId", s->vpc_id);
	xmlw_text(w, "cidrBlock", s->cidr_block);
	xmlw_start(w, "ipv6CidrBlockAssociationSet");
	xmlw_end(w);
	xmlw_int(w, "availableIpAddressCount", s->free_addresses);
	xmlw_text(w, "availabilityZone", s->zone);
	xmlw_text(w, "availabilityZoneId", zone_id);
	xmlw_bool(w, "defaultForAz", s->default_for_az);
	xmlw_bool(w, "mapPublicIpOnLaunch", s->map_public_ip);
	xmlw_bool(w, "mapCustomerOwnedIpOnLaunch", 0);
	xmlw_bool(w, "assignIpv6AddressOnCreation", 0);
	xmlw_bool(w, "enableDns64", 0);
	xmlw_bool(w, "ipv6Native", 0);
	xmlw_start(w, "privateDnsNameOptionsOnLaunch");
	xmlw_text(w, "hostnameType", s->hostname_type);
	xmlw_bool(w, "enableResourceNameDnsARecord", s->dns_a_record);
	xmlw_bool(w, "enableResourceNameDnsAAAARecord", s->dns_aaaa_record);
	xmlw_end(w);
	ec2_write_tags(w, tags);
	xmlw_start(w, "blockPublicAccessStates");
	xmlw_text(w, "internetGatewayBlockMode", "off");
	xmlw_end(w);
}

/* Commits s (checked by the catalog) with its tags, and writes <subnet>. */
static int subnet_commit(struct ec2_ctx *ctx, struct subnet_row *s, const struct tag_list *tags,
			 struct err *e)
{
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_subnet_create(ctx->srv->cat, s, e) < 0 ||
	    ec2_tags_put(ctx, s->id, "subnet", tags, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	xmlw_start(ctx->w, "subnet");
	subnet_write(ctx, s, tags);
	xmlw_end(ctx->w);
	return 0;
}

struct zone_counts {
	const struct server *srv;
	size_t counts[API_ZONES_MAX];
};

static int zone_count_visit(void *arg, const struct subnet_row *s)
{
	struct zone_counts *z = arg;
	int i = ec2_zone_index(z->srv, s->zone);
	if (i >= 0)
		z->counts[i]++;
	return 0;
}

/* The zone of a new subnet: the one asked for, or the VPC's least used. */
static int subnet_zone(struct ec2_ctx *ctx, const char *vpc_id, char zone[NETWORK_ZONE_MAX],
		       struct err *e)
{
	const char *name = query_get(&ctx->q, "AvailabilityZone");
	const char *id = query_get(&ctx->q, "AvailabilityZoneId");
	int index;
	if (name && id)
		return err_set(e, 400, "InvalidParameterCombination",
			       "Only one of AvailabilityZone or AvailabilityZoneId may be given.");
	if (name || id) {
		index = name ? ec2_zone_index(ctx->srv, name) : ec2_zone_id_index(ctx->srv, id);
		if (index < 0) {
			struct buf known = BUF_INIT;
			for (size_t i = 0; i < ctx->srv->nzones; i++)
				buf_printf(&known, "%s%s", i ? ", " : "", ctx->srv->zones[i]);
			err_set(e, 400, "InvalidParameterValue",
				"Value (%.64s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.",
				name ? name : id, buf_str(&known));
			buf_release(&known);
			return -1;
		}
	} else {
		struct zone_counts z = { .srv = ctx->srv };
		if (catalog_subnet_each(ctx->srv->cat, ctx->account, vpc_id, NULL, zone_count_visit,
					&z, e) < 0)
			return -1;
		index = 0;
		for (size_t i = 1; i < ctx->srv->nzones; i++)
			if (z.counts[i] < z.counts[index])
				index = (int)i;
	}
	snprintf(zone, NETWORK_ZONE_MAX, "%s", ctx->srv->zones[index]);
	return 0;
}

/* ---- CreateSubnet ---------------------------------------------------------- */

int ec2_create_subnet(struct ec2_ctx *ctx, struct err *e)
{
	struct subnet_row s;
	struct vpc_row v;
	struct tag_list tags = { NULL, 0 };
	int ipv6_native = 0, ret = -1;
	const char *vpc_id = ec2_require(ctx, "VpcId", e);
	const char *cidr = query_get(&ctx->q, "CidrBlock");
	memset(&s, 0, sizeof s);
	if (!vpc_id || query_get_bool(&ctx->q, "Ipv6Native", &ipv6_native, e) < 0)
		goto out;
	if (ipv6_native || query_get(&ctx->q, "Ipv6CidrBlock") ||
	    query_get(&ctx->q, "Ipv4IpamPoolId") || query_get(&ctx->q, "Ipv6IpamPoolId") ||
	    query_get(&ctx->q, "OutpostArn")) {
		err_set(e, 400, "InvalidParameterValue",
			"amibox's subnets are IPv4 only, without IPAM pools or Outposts; give CidrBlock.");
		goto out;
	}
	if (!cidr || !*cidr) {
		err_set(e, 400, "MissingParameter",
			"Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.");
		goto out;
	}
	if (ec2_tag_specifications(ctx, "subnet", &tags, e) < 0 ||
	    ec2_vpc_owned(ctx, vpc_id, &v, e) < 0 || subnet_zone(ctx, v.id, s.zone, e) < 0)
		goto out;
	ids_resource("subnet", s.id);
	snprintf(s.owner_id, sizeof s.owner_id, "%s", ctx->account);
	snprintf(s.vpc_id, sizeof s.vpc_id, "%s", v.id);
	snprintf(s.cidr_block, sizeof s.cidr_block, "%.19s", cidr);
	if (strlen(cidr) >= sizeof s.cidr_block) {
		err_set(e, 400, "InvalidParameterValue",
			"Value (%.40s) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
			cidr);
		goto out;
	}
	ret = subnet_commit(ctx, &s, &tags, e);
out:
	tag_list_release(&tags);
	return ret;
}

/* ---- CreateDefaultSubnet ----------------------------------------------------- */

int ec2_create_default_subnet(struct ec2_ctx *ctx, struct err *e)
{
	struct subnet_row s, existing;
	struct tag_list tags = { NULL, 0 };
	char vpc_id[ID_MAX];
	const char *zone = ec2_require(ctx, "AvailabilityZone", e);
	if (!zone || ec2_default_vpc(ctx, vpc_id, e) < 0)
		return -1;
	if (ec2_zone_index(ctx->srv, zone) < 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter availabilityZone is invalid.", zone);
	if (!vpc_id[0])
		return err_set(e, 400, "DefaultVpcDoesNotExist", "No default VPC for this user.");
	int found = catalog_subnet_default_for_zone(ctx->srv->cat, ctx->account, zone, &existing, e);
	if (found != 0)
		return found < 0 ? -1 : err_set(e, 400, "DefaultSubnetAlreadyExistsInAvailabilityZone",
						"%s already has a default subnet %s.", zone,
						existing.id);
	/* The first /20 of 172.31.0.0/16 that no subnet of the VPC overlaps. */
	for (unsigned block = 0; block < 16; block++) {
		memset(&s, 0, sizeof s);
		ids_resource("subnet", s.id);
		snprintf(s.owner_id, sizeof s.owner_id, "%s", ctx->account);
		snprintf(s.vpc_id, sizeof s.vpc_id, "%s", vpc_id);
		snprintf(s.cidr_block, sizeof s.cidr_block, "172.31.%u.0/20", block * 16);
		snprintf(s.zone, sizeof s.zone, "%s", zone);
		s.default_for_az = s.map_public_ip = 1;
		if (subnet_commit(ctx, &s, &tags, e) == 0)
			return 0;
		if (strcmp(e->code, "InvalidSubnet.Conflict") != 0)
			return -1;
		err_clear(e);
	}
	return err_set(e, 400, "InsufficientFreeAddressesInSubnet",
		       "The default VPC %s has no free /20 left for a default subnet.", vpc_id);
}

/* ---- DescribeSubnets ---------------------------------------------------------- */

static const char *const subnet_filter_names[] = {
	"availability-zone", "availabilityZone", "availability-zone-id", "availabilityZoneId",
	"available-ip-address-count", "availableIpAddressCount", "cidr", "cidr-block",
	"cidrBlock", "cidr-block-association.cidr-block", "default-for-az", "defaultForAz",
	"ipv6-cidr-block-association.ipv6-cidr-block", "ipv6-cidr-block-association.association-id",
	"ipv6-cidr-block-association.state", "ipv6-native", "map-public-ip-on-launch",
	"map-customer-owned-ip-on-launch", "owner-id", "state", "subnet-arn", "subnet-id",
	"vpc-id", "outpost-arn", "enable-dns64", "enable-lni-at-device-index",
	"private-dns-name-options-on-launch.hostname-type",
	"private-dns-name-options-on-launch.enable-resource-name-dns-a-record",
	"private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record", NULL,
};

static int subnet_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct subnet_row *s = row;
	struct ec2_ctx *ctx = l->ctx;
	const char *n = f->name;
	char text[160];
	if (!strcmp(n, "availability-zone") || !strcmp(n, "availabilityZone"))
		return ec2_filter_hit(f, s->zone);
	if (!strcmp(n, "availability-zone-id") || !strcmp(n, "availabilityZoneId")) {
		int zone = ec2_zone_index(ctx->srv, s->zone);
		if (zone < 0)
			return 0;
		ec2_zone_id(ctx->srv, (size_t)zone, text);
		return ec2_filter_hit(f, text);
	}
	if (!strcmp(n, "available-ip-address-count") || !strcmp(n, "availableIpAddressCount"))
		return ec2_filter_int(f, s->free_addresses);
	if (!strcmp(n, "cidr") || !strcmp(n, "cidr-block") || !strcmp(n, "cidrBlock") ||
	    !strcmp(n, "cidr-block-association.cidr-block"))
		return ec2_filter_hit(f, s->cidr_block);
	if (!strcmp(n, "default-for-az") || !strcmp(n, "defaultForAz"))
		return ec2_filter_bool(f, s->default_for_az);
	if (!strcmp(n, "map-public-ip-on-launch"))
		return ec2_filter_bool(f, s->map_public_ip);
	if (!strcmp(n, "ipv6-native") || !strcmp(n, "map-customer-owned-ip-on-launch") ||
	    !strcmp(n, "enable-dns64"))
		return ec2_filter_bool(f, 0);
	if (!strcmp(n, "owner-id"))
		return ec2_filter_hit(f, s->owner_id);
	if (!strcmp(n, "state"))
		return ec2_filter_hit(f, "available");
	if (!strcmp(n, "subnet-arn")) {
		snprintf(text, sizeof text, "arn:aws:ec2:%s:%s:subnet/%s", ctx->srv->region,
			 s->owner_id, s->id);
		return ec2_filter_hit(f, text);
	}
	if (!strcmp(n, "subnet-id"))
		return ec2_filter_hit(f, s->id);
	if (!strcmp(n, "vpc-id"))
		return ec2_filter_hit(f, s->vpc_id);
	if (!strcmp(n, "private-dns-name-options-on-launch.hostname-type"))
		return ec2_filter_hit(f, s->hostname_type);
	if (!strcmp(n, "private-dns-name-options-on-launch.enable-resource-name-dns-a-record"))
		return ec2_filter_bool(f, s->dns_a_record);
	if (!strcmp(n, "private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record"))
		return ec2_filter_bool(f, s->dns_aaaa_record);
	/* IPv6 associations, Outposts, LNI: a subnet here has none. */
	return 0;
}

static int describe_subnet_visit(void *arg, const struct subnet_row *s)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (ec2_listing_wants(l, s->id) && ec2_listing_match(l, s->id, &tags, subnet_filter, s)) {
		xmlw_start(l->ctx->w, "item");
		subnet_write(l->ctx, s, &tags);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_subnets_walk(struct ec2_listing *l)
{
	return catalog_subnet_each(l->ctx->srv->cat, l->ctx->account, NULL, l->page.after,
				   describe_subnet_visit, l, l->e);
}

int ec2_describe_subnets(struct ec2_ctx *ctx, struct err *e)
{
	return ec2_listing_run(ctx, &ec2_kind_subnet, "SubnetId", subnet_filter_names,
			       "subnetSet", describe_subnets_walk, NULL, e);
}

/* ---- DeleteSubnet ---------------------------------------------------------------- */

int ec2_delete_subnet(struct ec2_ctx *ctx, struct err *e)
{
	struct subnet_row s;
	const char *id = ec2_require(ctx, "SubnetId", e);
	if (!id || ec2_subnet_owned(ctx, id, &s, e) < 0 || catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_subnet_delete(ctx->srv->cat, id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

/* ---- ModifySubnetAttribute ---------------------------------------------------------- */

/*
 * Each attribute: where it lives in the row (NULL: IPv6, Outposts and LNI
 * ones, which may only be set to false here).
 */
static int *subnet_attribute(struct subnet_row *s, const char *name)
{
	if (!strcmp(name, "MapPublicIpOnLaunch"))
		return &s->map_public_ip;
	if (!strcmp(name, "EnableResourceNameDnsARecordOnLaunch"))
		return &s->dns_a_record;
	return NULL;
}

int ec2_modify_subnet_attribute(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const flags[] = {
		"MapPublicIpOnLaunch", "EnableResourceNameDnsARecordOnLaunch",
		"AssignIpv6AddressOnCreation", "MapCustomerOwnedIpOnLaunch", "EnableDns64",
		"EnableResourceNameDnsAAAARecordOnLaunch", "DisableLniAtDeviceIndex",
	};
	struct subnet_row s;
	int given = 0;
	const char *id = ec2_require(ctx, "SubnetId", e);
	const char *hostname = query_get(&ctx->q, "PrivateDnsHostnameTypeOnLaunch");
	if (!id || ec2_subnet_owned(ctx, id, &s, e) < 0)
		return -1;
	if (query_get(&ctx->q, "EnableLniAtDeviceIndex") || query_get(&ctx->q, "CustomerOwnedIpv4Pool"))
		return err_set(e, 400, "InvalidParameterValue",
			       "amibox's subnets have no Outpost or local network interfaces.");
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		int value = ec2_read_attribute_bool(ctx, flags[i], e);
		if (value == -2)
			return -1;
		if (value < 0)
			continue;
		given++;
		int *slot = subnet_attribute(&s, flags[i]);
		if (slot)
			*slot = value;
		else if (value && strcmp(flags[i], "DisableLniAtDeviceIndex") != 0)
			return err_set(e, 400, "InvalidParameterValue",
				       "%s needs IPv6 or an Outpost, which amibox's subnets do not have.",
				       flags[i]);
	}
	if (hostname) {
		given++;
		if (strcmp(hostname, "ip-name") != 0 && strcmp(hostname, "resource-name") != 0)
			return err_set(e, 400, "InvalidParameterValue",
				       "Value (%.32s) for parameter privateDnsHostnameTypeOnLaunch is invalid.",
				       hostname);
		snprintf(s.hostname_type, sizeof s.hostname_type, "%s", hostname);
	}
	if (!given)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain an attribute to modify.");
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_subnet_update(ctx->srv->cat, &s, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}
