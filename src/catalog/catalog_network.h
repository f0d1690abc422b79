/*
 * catalog_network: the network model of VPCs, in the catalog.
 *
 * Rows: a VPC (a CIDR, its DHCP options set, its attributes); its subnets
 * (one CIDR inside the VPC's, one zone each); its main route table, default
 * network ACL and default security group, made with it and deleted with it;
 * internet gateways, attached to at most one VPC; security groups and their
 * rules; network interfaces (ENIs), each in one subnet, with up to
 * ENI_GROUPS_MAX security groups, attached to at most one instance.
 *
 * Each account gets a default VPC (172.31.0.0/16, a default subnet per zone,
 * an attached internet gateway) the first time something needs it
 * (catalog_default_vpc); one it deletes stays deleted until CreateDefaultVpc.
 *
 * Conventions as in catalog_snapshots.h: 0/-1 (or 1 found / 0 not found /
 * -1 error for lookups), "In a transaction" for writes the caller wraps in
 * catalog_begin .. catalog_commit.  Lookups do not check ownership: the API
 * compares owner_id with the caller.  Deleting a row deletes its tags.
 *
 * Security groups are IPv4 and IPv6 CIDRs, prefix lists or other groups of
 * the same VPC; only IPv4 reaches the data plane (catalog_vpc_ports).
 */
#ifndef AMIBOX_CATALOG_NETWORK_H
#define AMIBOX_CATALOG_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "compute/network.h"
#include "util/ids.h"

#define NETWORK_CIDR_MAX 20       /* "255.255.255.255/32" */
#define NETWORK_IPV6_CIDR_MAX 48
#define NETWORK_ASSOC_ID_MAX 40   /* "vpc-cidr-assoc-" + 17 hex digits */
#define NETWORK_ZONE_MAX 72
#define ENI_GROUPS_MAX 16         /* security groups per interface */
#define SG_NAME_MAX 256           /* names and descriptions: 255 characters */

/* ---- VPCs ---------------------------------------------------------------- */

struct vpc_row {
	char id[ID_MAX];
	char owner_id[13];
	char cidr_block[NETWORK_CIDR_MAX];
	char cidr_assoc_id[NETWORK_ASSOC_ID_MAX];
	char dhcp_options_id[ID_MAX];
	char tenancy[16];             /* default, dedicated */
	int is_default;
	int dns_support;              /* enableDnsSupport */
	int dns_hostnames;            /* enableDnsHostnames */
	int nau_metrics;              /* enableNetworkAddressUsageMetrics */
	long long create_ms;
};

/*
 * The account's default VPC, made with everything EC2 makes for one when
 * the account has never had one: 172.31.0.0/16 (DNS support and hostnames
 * on), a default subnet per zone in zone order (172.31.0.0/20,
 * 172.31.16.0/20, ...; MapPublicIpOnLaunch, DefaultForAz), the default
 * security group, the main route table (local route, 0.0.0.0/0 to the
 * attached internet gateway), the default network ACL and the account's
 * DHCP options (region's domain name, AmazonProvidedDNS).
 *
 * Not in a transaction: it takes its own when it has to create.  vpc_id_out
 * is "" when the account has deleted its default VPC.  region picks the
 * DHCP domain name (ec2.internal for us-east-1, REGION.compute.internal
 * elsewhere); zones are the region's zone names, at most 16.
 */
int catalog_default_vpc(struct catalog *cat, const char *account_id, const char *region,
			const char *const *zones, size_t nzones, char vpc_id_out[ID_MAX],
			struct err *e);
/*
 * In a transaction: CreateDefaultVpc.  400 DefaultVpcAlreadyExists when
 * the account has one; fills *out.
 */
int catalog_default_vpc_create(struct catalog *cat, const char *account_id, const char *region,
			       const char *const *zones, size_t nzones, struct vpc_row *out,
			       struct err *e);
/*
 * In a transaction: inserts v (id and cidr_block set by the caller; the
 * association ID, DHCP options and time are filled in) with its main route
 * table (the local route), default network ACL and default security group.
 */
int catalog_vpc_create(struct catalog *cat, const char *region, struct vpc_row *v,
		       struct err *e);
int catalog_vpc_get(struct catalog *cat, const char *id, struct vpc_row *v, struct err *e);
/* In a transaction: rewrites the attributes (tenancy, dns_*, nau_metrics). */
int catalog_vpc_update(struct catalog *cat, const struct vpc_row *v, struct err *e);
/*
 * In a transaction: deletes the VPC with its main route table, default
 * network ACL and default security group; 400 DependencyViolation while
 * it has subnets, other security groups or route tables, an attached
 * internet gateway or network interfaces.
 */
int catalog_vpc_delete(struct catalog *cat, const char *id, struct err *e);
/* Calls fn for the owner's VPCs with IDs after after, in ID order. */
int catalog_vpc_each(struct catalog *cat, const char *owner_id, const char *after,
		     int (*fn)(void *ctx, const struct vpc_row *v), void *ctx, struct err *e);

/* The owner of any network resource by its ID (1 found, 0 none, -1 error). */
int catalog_network_owner(struct catalog *cat, const char *id, char owner[13], struct err *e);

/* ---- subnets -------------------------------------------------------------- */

struct subnet_row {
	char id[ID_MAX];
	char owner_id[13];
	char vpc_id[ID_MAX];
	char cidr_block[NETWORK_CIDR_MAX];
	char zone[NETWORK_ZONE_MAX];
	int default_for_az;
	int map_public_ip;            /* MapPublicIpOnLaunch */
	char hostname_type[16];       /* ip-name, resource-name */
	int dns_a_record;             /* EnableResourceNameDnsARecordOnLaunch */
	int dns_aaaa_record;
	char acl_assoc_id[ID_MAX];    /* its association with the default ACL */
	long long create_ms;
	long long free_addresses;     /* read: the addresses ENIs may still take */
};

/*
 * In a transaction: inserts the subnet (id, owner, VPC, CIDR, zone and
 * flags set by the caller).  Checks the CIDR: 400 InvalidSubnet.Range when
 * it is outside the VPC's or not /16 to /28, 400 InvalidSubnet.Conflict
 * when it overlaps another subnet of the VPC.
 */
int catalog_subnet_create(struct catalog *cat, struct subnet_row *s, struct err *e);
int catalog_subnet_get(struct catalog *cat, const char *id, struct subnet_row *s,
		       struct err *e);
/* The account's default subnet of zone in its default VPC (1 / 0 / -1). */
int catalog_subnet_default_for_zone(struct catalog *cat, const char *account_id,
				    const char *zone, struct subnet_row *s, struct err *e);
/* In a transaction: rewrites the attributes (map_public_ip, hostname_type, dns_*). */
int catalog_subnet_update(struct catalog *cat, const struct subnet_row *s, struct err *e);
/* In a transaction: 400 DependencyViolation while network interfaces use it. */
int catalog_subnet_delete(struct catalog *cat, const char *id, struct err *e);
/* The owner's subnets after after, in ID order; vpc_id non-NULL: that VPC's. */
int catalog_subnet_each(struct catalog *cat, const char *owner_id, const char *vpc_id,
			const char *after, int (*fn)(void *ctx, const struct subnet_row *s),
			void *ctx, struct err *e);

/* ---- route tables, network ACLs, internet gateways, DHCP options --------- */

struct route_row {
	char destination[NETWORK_CIDR_MAX];
	char gateway_id[ID_MAX];      /* "local" or igw-... */
	char origin[32];              /* CreateRouteTable, CreateRoute */
};

struct route_table_row {
	char id[ID_MAX];
	char owner_id[13];
	char vpc_id[ID_MAX];
	char main_assoc_id[ID_MAX];   /* "" unless it is the VPC's main table */
	struct route_row routes[8];
	size_t nroutes;
};

struct network_acl_row {
	char id[ID_MAX];
	char owner_id[13];
	char vpc_id[ID_MAX];
	int is_default;
};

struct internet_gateway_row {
	char id[ID_MAX];
	char owner_id[13];
	char vpc_id[ID_MAX];          /* "" when detached */
	long long create_ms;
};

struct dhcp_options_row {
	char id[ID_MAX];
	char owner_id[13];
	char domain_name[96];
};

int catalog_route_table_get(struct catalog *cat, const char *id, struct route_table_row *r,
			    struct err *e);
int catalog_route_table_each(struct catalog *cat, const char *owner_id, const char *after,
			     int (*fn)(void *ctx, const struct route_table_row *r), void *ctx,
			     struct err *e);
int catalog_network_acl_get(struct catalog *cat, const char *id, struct network_acl_row *a,
			    struct err *e);
int catalog_network_acl_each(struct catalog *cat, const char *owner_id, const char *after,
			     int (*fn)(void *ctx, const struct network_acl_row *a), void *ctx,
			     struct err *e);
/* In a transaction. */
int catalog_internet_gateway_insert(struct catalog *cat, const struct internet_gateway_row *g,
				    struct err *e);
int catalog_internet_gateway_get(struct catalog *cat, const char *id,
				 struct internet_gateway_row *g, struct err *e);
/*
 * In a transaction: attaches (vpc_id) or detaches ("") the gateway; the
 * VPC's main route table gains or loses its 0.0.0.0/0 route to it.  400
 * Resource.AlreadyAssociated when the VPC has a gateway already, 400
 * DependencyViolation for a detach while interfaces of the VPC hold
 * public addresses.
 */
int catalog_internet_gateway_set_vpc(struct catalog *cat, const char *id, const char *vpc_id,
				     struct err *e);
/* In a transaction: the gateway must be detached. */
int catalog_internet_gateway_delete(struct catalog *cat, const char *id, struct err *e);
int catalog_internet_gateway_each(struct catalog *cat, const char *owner_id, const char *after,
				  int (*fn)(void *ctx, const struct internet_gateway_row *g),
				  void *ctx, struct err *e);
int catalog_dhcp_options_get(struct catalog *cat, const char *id, struct dhcp_options_row *d,
			     struct err *e);
int catalog_dhcp_options_each(struct catalog *cat, const char *owner_id,
			      int (*fn)(void *ctx, const struct dhcp_options_row *d), void *ctx,
			      struct err *e);

/* ---- security groups ----------------------------------------------------- */

struct security_group_row {
	char id[ID_MAX];
	char owner_id[13];
	char vpc_id[ID_MAX];
	char name[SG_NAME_MAX];
	char description[SG_NAME_MAX];
	long long create_ms;
};

/*
 * One rule.  Exactly one peer is set: cidr_ipv4, cidr_ipv6, prefix_list_id
 * or ref_group_id.  protocol is "-1" (all), "tcp", "udp", "icmp", "icmpv6"
 * or another IP protocol's number; from_port/to_port are a tcp/udp port
 * range or an ICMP type/code (-1: any), and -1 for the other protocols.
 */
struct sg_rule_row {
	char id[ID_MAX];              /* sgr-... */
	char group_id[ID_MAX];
	char owner_id[13];
	int egress;
	char protocol[8];
	int from_port, to_port;
	char cidr_ipv4[NETWORK_CIDR_MAX];
	char cidr_ipv6[NETWORK_IPV6_CIDR_MAX];
	char prefix_list_id[ID_MAX];
	char ref_group_id[ID_MAX];
	char ref_owner_id[13];
	char description[SG_NAME_MAX];
};

/* In a transaction: the group only (no rules). */
int catalog_sg_insert(struct catalog *cat, const struct security_group_row *g, struct err *e);
int catalog_sg_get(struct catalog *cat, const char *id, struct security_group_row *g,
		   struct err *e);
int catalog_sg_by_name(struct catalog *cat, const char *vpc_id, const char *name,
		       struct security_group_row *g, struct err *e);
/*
 * In a transaction: deletes the group, its rules and tags.  400
 * DependencyViolation while a network interface uses it or another group's
 * rule names it; 400 CannotDelete for a VPC's default group.
 */
int catalog_sg_delete(struct catalog *cat, const char *id, struct err *e);
/* The owner's groups after after, in ID order; vpc_id non-NULL: that VPC's. */
int catalog_sg_each(struct catalog *cat, const char *owner_id, const char *vpc_id,
		    const char *after, int (*fn)(void *ctx, const struct security_group_row *g),
		    void *ctx, struct err *e);

/* The group's rules in the order they were added (caller frees *rules). */
int catalog_sg_rules(struct catalog *cat, const char *group_id, struct sg_rule_row **rules,
		     size_t *n, struct err *e);
/* In a transaction. */
int catalog_sg_rule_insert(struct catalog *cat, const struct sg_rule_row *r, struct err *e);
/* In a transaction: rewrites protocol, ports, peer and description. */
int catalog_sg_rule_update(struct catalog *cat, const struct sg_rule_row *r, struct err *e);
/* In a transaction: the rule and its tags. */
int catalog_sg_rule_delete(struct catalog *cat, const char *id, struct err *e);
int catalog_sg_rule_get(struct catalog *cat, const char *id, struct sg_rule_row *r,
			struct err *e);
/*
 * The rule of r's group, direction, protocol, ports and peer (its ID and
 * description are not compared): 1 found (its row in *found), 0 none.
 */
int catalog_sg_rule_find(struct catalog *cat, const struct sg_rule_row *r,
			 struct sg_rule_row *found, struct err *e);
/* The owner's rules with IDs after after, in ID order. */
int catalog_sg_rule_each(struct catalog *cat, const char *owner_id, const char *after,
			 int (*fn)(void *ctx, const struct sg_rule_row *r), void *ctx,
			 struct err *e);

/* ---- network interfaces -------------------------------------------------- */

struct eni {
	char id[ID_MAX];
	char owner_id[13];
	char subnet_id[ID_MAX];
	char vpc_id[ID_MAX];
	char zone[NETWORK_ZONE_MAX];
	char private_ip[16];
	char mac[18];                 /* 0a:xx:xx:xx:xx:xx */
	char public_ip[16];           /* "" when none */
	int want_public_ip;           /* a public address was asked for at launch */
	char description[256];
	int source_dest_check;
	long long create_ms;
	/* The attachment, when instance_id is not "". */
	char instance_id[ID_MAX];
	char attachment_id[ID_MAX];   /* eni-attach-... */
	int device_index;
	int delete_on_termination;
	long long attach_ms;
	char group_ids[ENI_GROUPS_MAX][ID_MAX];
	size_t ngroups;
	/* The Elastic IP address it has as public_ip, when not "". */
	char allocation_id[ID_MAX];
	char association_id[ID_MAX];
};

/*
 * In a transaction: a new interface in the account's subnet with the given
 * security groups (none: the VPC's default group), at private_ip or, when
 * that is "", the subnet's lowest free address (EC2 keeps the first four
 * and the last), with a random locally administered MAC.  No public
 * address is allocated here: public_ip only records that one is wanted
 * (catalog_eni_set_public_ip gives it).
 *
 * Errors, as EC2's: InvalidSubnetID.NotFound, InvalidGroup.NotFound (or a
 * group of another VPC: InvalidParameter), InvalidParameterValue for an
 * address outside the subnet or reserved, InvalidIPAddress.InUse,
 * InsufficientFreeAddressesInSubnet.
 */
int catalog_eni_create(struct catalog *cat, const char *account_id, const char *subnet_id,
		       const char *const *group_ids, size_t ngroups, const char *private_ip,
		       int public_ip, struct eni *out, struct err *e);
int catalog_eni_get(struct catalog *cat, const char *id, struct eni *out, struct err *e);
/* In a transaction: attaches a detached interface to the instance. */
int catalog_eni_attach(struct catalog *cat, const char *eni_id, const char *instance_id,
		       int device_index, int delete_on_termination, struct err *e);
/* In a transaction: detaches it (a detached one stays so). */
int catalog_eni_detach(struct catalog *cat, const char *eni_id, struct err *e);
/* In a transaction: deletes the interface, its group links and tags. */
int catalog_eni_delete(struct catalog *cat, const char *eni_id, struct err *e);
/* The instance's interfaces by device index (caller frees *enis). */
int catalog_eni_by_instance(struct catalog *cat, const char *instance_id, struct eni **enis,
			    size_t *n, struct err *e);
/* In a transaction: replaces the interface's security groups (checked as in create). */
int catalog_eni_set_groups(struct catalog *cat, const char *eni_id,
			   const char *const *group_ids, size_t ngroups, struct err *e);
/* In a transaction: the public address ("" takes it away). */
int catalog_eni_set_public_ip(struct catalog *cat, const char *eni_id, const char *public_ip,
			      struct err *e);
/*
 * The lowest address of pool ("a.b.c.d/n", e.g. 127.100.0.0/16) that no
 * interface holds as its public address, skipping the pool's first and
 * last; 400 AddressLimitExceeded when none is left.  Run it in the
 * transaction that sets the address, so two launches cannot take the same.
 */
int catalog_public_ip_free(struct catalog *cat, const char *pool, char out[16], struct err *e);
/* The owner's interfaces after after, in ID order. */
int catalog_eni_each(struct catalog *cat, const char *owner_id, const char *after,
		     int (*fn)(void *ctx, const struct eni *eni), void *ctx, struct err *e);

/* ---- Elastic IP addresses (catalog_addresses.c) ------------------------- */

/*
 * An account's address from the public pool.  Associated, it is its
 * interface's public address (network_interfaces.public_ip) for as long as
 * the association lasts, through stops and starts.
 */
struct address_row {
	char allocation_id[ID_MAX];   /* eipalloc-... */
	char owner_id[13];
	char public_ip[16];
	long long create_ms;
	/* The association, when association_id is not "". */
	char association_id[ID_MAX];  /* eipassoc-... */
	char eni_id[ID_MAX];
	char private_ip[16];
	char instance_id[ID_MAX];     /* the interface's instance, "" if none */
	char eni_owner_id[13];
};
/* In a transaction: a new address (its public_ip taken from catalog_public_ip_free). */
int catalog_address_insert(struct catalog *cat, const struct address_row *a, struct err *e);
/* By allocation ID, or by public address: 1 found, 0 none, -1 error. */
int catalog_address_get(struct catalog *cat, const char *allocation_id, struct address_row *a,
			struct err *e);
int catalog_address_by_ip(struct catalog *cat, const char *public_ip, struct address_row *a,
			  struct err *e);
/* How many addresses the owner holds. */
int catalog_address_count(struct catalog *cat, const char *owner_id, long long *count,
			  struct err *e);
/* The owner's addresses, in allocation ID order. */
int catalog_address_each(struct catalog *cat, const char *owner_id,
			 int (*fn)(void *ctx, const struct address_row *a), void *ctx,
			 struct err *e);
/*
 * In a transaction: associates the (unassociated) address with the
 * interface, whose public address it becomes in place of any it had (an
 * auto-assigned one goes back to the pool; the caller has disassociated
 * any other Elastic IP address of the interface first).
 */
int catalog_address_associate(struct catalog *cat, const char *allocation_id,
			      const char *association_id, const char *eni_id,
			      const char *private_ip, struct err *e);
/*
 * In a transaction: ends the address's association (none: nothing to do);
 * its interface is left without a public address.
 */
int catalog_address_disassociate(struct catalog *cat, const char *allocation_id,
				 struct err *e);
/* 1 if an internet gateway is attached to the VPC (public addresses need one), 0 if not. */
int catalog_vpc_has_gateway(struct catalog *cat, const char *vpc_id, struct err *e);
/* In a transaction: deletes an unassociated address and its tags. */
int catalog_address_delete(struct catalog *cat, const char *allocation_id, struct err *e);

/*
 * The data plane's view of a VPC: its interfaces attached to instances that
 * are pending, running, stopping or shutting-down, each with the union of
 * its groups' IPv4 rules, a rule naming a group resolved to one /32 per
 * private address of that group's interfaces.  Caller frees with
 * network_ports_free.
 */
int catalog_vpc_ports(struct catalog *cat, const char *vpc_id, struct network_port **ports,
		      size_t *n, struct err *e);
/* The VPCs that have such interfaces (caller frees *vpc_ids). */
int catalog_vpcs_active(struct catalog *cat, char (**vpc_ids)[ID_MAX], size_t *n,
			struct err *e);

#endif
