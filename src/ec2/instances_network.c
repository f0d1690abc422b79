/*
 * ec2/instances_network.c: an instance's place in a VPC.
 *
 * RunInstances puts every instance in a subnet: the one it names (SubnetId
 * or NetworkInterface.0.SubnetId), else the default subnet of the zone asked
 * for (or the region's first) in the account's default VPC, which is made
 * the first time it is needed.  The instance's primary network interface
 * (device index 0) is made in the launch's transaction with the security
 * groups asked for (by ID, or by name in the default VPC) or the VPC's
 * default group, and an address from the subnet; whether it gets a public
 * address follows AssociatePublicIpAddress or the subnet's
 * MapPublicIpOnLaunch (compute gives the address when the machine starts).
 *
 * DescribeInstances shows that interface: VPC, subnet, addresses and DNS
 * names, groups, the networkInterfaceSet, and the filters on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_network.h"
#include "util/ids.h"

/* ---- what a launch asks for ---------------------------------------------- */

/* A NetworkInterface.0.* parameter, or the instance-level one, empty as absent. */
static const char *net_param(struct ec2_ctx *ctx, const char *name)
{
	const char *v = query_get(&ctx->q, name);
	return v && *v ? v : NULL;
}

/* The groups asked for, by ID (names resolved in the default VPC). */
static int net_groups(struct ec2_ctx *ctx, struct ec2_run_network *n, int with_interface,
		      struct err *e)
{
	const char **ids = NULL, **names = NULL;
	size_t nids = query_list(&ctx->q, with_interface ? "NetworkInterface.1.SecurityGroupId" :
							   "SecurityGroupId", &ids);
	size_t nnames = with_interface ? 0 : query_list(&ctx->q, "SecurityGroup", &names);
	int ret = -1;
	if (with_interface && (query_get(&ctx->q, "SecurityGroupId.1") ||
			       query_get(&ctx->q, "SecurityGroup.1"))) {
		err_set(e, 400, "InvalidParameterCombination",
			"Network interfaces and an instance-level security groups may not be specified on the same request");
		goto out;
	}
	if (nids + nnames > ENI_GROUPS_MAX) {
		err_set(e, 400, "SecurityGroupLimitExceeded",
			"You have exceeded the maximum number of security groups (%d) for an interface.",
			ENI_GROUPS_MAX);
		goto out;
	}
	for (size_t i = 0; i < nids + nnames; i++) {
		struct security_group_row g;
		if (i < nids ? ec2_sg_owned(ctx, ids[i], &g, e) < 0 :
			       ec2_sg_by_name(ctx, names[i - nids], &g, e) < 0)
			goto out;
		int dup = 0;
		for (size_t k = 0; k < n->ngroups; k++)
			dup |= !strcmp(n->group_ids[k], g.id);
		if (!dup)
			snprintf(n->group_ids[n->ngroups++], ID_MAX, "%s", g.id);
		if (i == 0)
			snprintf(n->group_vpc, sizeof n->group_vpc, "%s", g.vpc_id);
		else if (strcmp(n->group_vpc, g.vpc_id) != 0) {
			err_set(e, 400, "InvalidParameter",
				"Security groups %s and %s are in different VPCs.", n->group_ids[0],
				g.id);
			goto out;
		}
	}
	ret = 0;
out:
	free(ids);
	free(names);
	return ret;
}

int ec2_run_network_check(struct ec2_ctx *ctx, const char *zone, long long count,
			  struct ec2_run_network *n, struct err *e)
{
	memset(n, 0, sizeof *n);
	int with_interface = query_get(&ctx->q, "NetworkInterface.1.DeviceIndex") != NULL ||
			     query_get(&ctx->q, "NetworkInterface.1.SubnetId") != NULL ||
			     query_get(&ctx->q, "NetworkInterface.1.NetworkInterfaceId") != NULL;
	if (query_get(&ctx->q, "NetworkInterface.2.DeviceIndex"))
		return err_set(e, 400, "Unsupported",
			       "amibox instances have one network interface (device index 0).");
	if (with_interface) {
		const char *index = net_param(ctx, "NetworkInterface.1.DeviceIndex");
		if (index && strcmp(index, "0") != 0)
			return err_set(e, 400, "InvalidParameterValue",
				       "The primary network interface must have device index 0.");
		if (net_param(ctx, "NetworkInterface.1.NetworkInterfaceId"))
			return err_set(e, 400, "Unsupported",
				       "amibox launches make their own network interface; NetworkInterfaceId is not supported.");
		if (net_param(ctx, "SubnetId") || net_param(ctx, "PrivateIpAddress"))
			return err_set(e, 400, "InvalidParameterCombination",
				       "Network interfaces and an instance-level subnet ID or private IP address may not be specified on the same request");
	}
	const char *subnet_id = net_param(ctx, with_interface ? "NetworkInterface.1.SubnetId" :
								  "SubnetId");
	const char *ip = net_param(ctx, with_interface ? "NetworkInterface.1.PrivateIpAddress" :
							   "PrivateIpAddress");
	int public_ip = -1, delete = 1;
	if (with_interface) {
		const char *pub = net_param(ctx, "NetworkInterface.1.AssociatePublicIpAddress");
		if (pub && query_get_bool(&ctx->q, "NetworkInterface.1.AssociatePublicIpAddress",
					  &public_ip, e) < 0)
			return -1;
		if (query_get_bool(&ctx->q, "NetworkInterface.1.DeleteOnTermination", &delete, e) < 0)
			return -1;
	}
	if (ip && count > 1)
		return err_set(e, 400, "InvalidParameterCombination",
			       "A private IP address can be given only when launching one instance.");
	if (net_groups(ctx, n, with_interface, e) < 0)
		return -1;
	struct subnet_row s;
	if (subnet_id) {
		if (ec2_subnet_owned(ctx, subnet_id, &s, e) < 0)
			return -1;
		if (zone && strcmp(zone, s.zone) != 0)
			return err_set(e, 400, "InvalidParameterValue",
				       "The availability zone %.64s is not the zone of subnet %s (%s).",
				       zone, s.id, s.zone);
	} else {
		char vpc[ID_MAX];
		if (ec2_default_vpc(ctx, vpc, e) < 0)
			return -1;
		if (!vpc[0])
			return err_set(e, 400, "VPCIdNotSpecified",
				       "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.");
		const char *want = zone ? zone : ctx->srv->zones[0];
		int found = catalog_subnet_default_for_zone(ctx->srv->cat, ctx->account, want, &s, e);
		if (found < 0)
			return -1;
		if (!found)
			return err_set(e, 400, "MissingInput",
				       "No subnets found for the default VPC '%s'. Please specify a subnet.",
				       vpc);
	}
	if (n->ngroups && strcmp(n->group_vpc, s.vpc_id) != 0)
		return err_set(e, 400, "InvalidParameter",
			       "Security group %s and subnet %s belong to different networks.",
			       n->group_ids[0], s.id);
	snprintf(n->subnet_id, sizeof n->subnet_id, "%s", s.id);
	snprintf(n->vpc_id, sizeof n->vpc_id, "%s", s.vpc_id);
	snprintf(n->zone, sizeof n->zone, "%s", s.zone);
	snprintf(n->private_ip, sizeof n->private_ip, "%s", ip ? ip : "");
	n->public_ip = public_ip >= 0 ? public_ip : s.map_public_ip;
	n->delete_on_termination = delete;
	return 0;
}

int ec2_run_network_apply(struct ec2_ctx *ctx, const struct ec2_run_network *n,
			  struct instance *m, struct err *e)
{
	const char *groups[ENI_GROUPS_MAX];
	struct eni eni;
	for (size_t i = 0; i < n->ngroups; i++)
		groups[i] = n->group_ids[i];
	if (catalog_eni_create(ctx->srv->cat, ctx->account, n->subnet_id, groups, n->ngroups,
			       n->private_ip, n->public_ip, &eni, e) < 0 ||
	    catalog_eni_attach(ctx->srv->cat, eni.id, m->id, 0, n->delete_on_termination, e) < 0)
		return -1;
	snprintf(m->private_ip, sizeof m->private_ip, "%s", eni.private_ip);
	return 0;
}

/* ---- what DescribeInstances shows ---------------------------------------- */

int ec2_instance_net_load(struct ec2_ctx *ctx, const struct instance *m,
			  struct ec2_instance_net *net, struct err *e)
{
	memset(net, 0, sizeof *net);
	if (catalog_eni_by_instance(ctx->srv->cat, m->id, &net->enis, &net->n, e) < 0)
		return -1;
	if (!net->n)
		return 0;
	const struct eni *primary = &net->enis[0];
	net->group_names = xcalloc(primary->ngroups ? primary->ngroups : 1, sizeof *net->group_names);
	for (size_t i = 0; i < primary->ngroups; i++) {
		struct security_group_row g;
		int found = catalog_sg_get(ctx->srv->cat, primary->group_ids[i], &g, e);
		if (found < 0)
			return -1;
		if (found)
			snprintf(net->group_names[i], sizeof net->group_names[i], "%s", g.name);
	}
	ec2_private_dns_name(ctx->srv, primary->private_ip, net->private_dns);
	if (primary->public_ip[0])
		ec2_public_dns_name(ctx->srv, primary->public_ip, net->public_dns);
	return 0;
}

void ec2_instance_net_release(struct ec2_instance_net *net)
{
	free(net->enis);
	free(net->group_names);
	memset(net, 0, sizeof *net);
}

static void net_write_groups(struct xmlw *w, const struct eni *eni,
			     const struct ec2_instance_net *net)
{
	xmlw_start(w, "groupSet");
	for (size_t i = 0; i < eni->ngroups; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "groupId", eni->group_ids[i]);
		xmlw_text(w, "groupName", net->group_names[i]);
		xmlw_end(w);
	}
	xmlw_end(w);
}

static void net_write_association(struct xmlw *w, const struct eni *eni,
				  const struct ec2_instance_net *net)
{
	if (!eni->public_ip[0])
		return;
	xmlw_start(w, "association");
	xmlw_text(w, "publicIp", eni->public_ip);
	xmlw_text(w, "publicDnsName", net->public_dns);
	/* An Elastic IP address is its account's; an auto-assigned one Amazon's. */
	xmlw_text(w, "ipOwnerId", eni->allocation_id[0] ? eni->owner_id : "amazon");
	xmlw_end(w);
}

void ec2_write_instance_net(struct xmlw *w, const struct instance *m,
			    const struct ec2_instance_net *net)
{
	int ended = !strcmp(m->state, "terminated");
	if (!net || !net->n || ended) {
		/* An instance from before VPCs, or one that is gone. */
		xmlw_start(w, "groupSet");
		xmlw_end(w);
		xmlw_start(w, "networkInterfaceSet");
		xmlw_end(w);
		return;
	}
	const struct eni *eni = &net->enis[0];
	xmlw_text(w, "subnetId", eni->subnet_id);
	xmlw_text(w, "vpcId", eni->vpc_id);
	if (eni->public_ip[0])
		xmlw_text(w, "ipAddress", eni->public_ip);
	net_write_groups(w, eni, net);
	xmlw_start(w, "networkInterfaceSet");
	xmlw_start(w, "item");
	xmlw_text(w, "networkInterfaceId", eni->id);
	xmlw_text(w, "subnetId", eni->subnet_id);
	xmlw_text(w, "vpcId", eni->vpc_id);
	xmlw_text(w, "description", eni->description);
	xmlw_text(w, "ownerId", eni->owner_id);
	xmlw_text(w, "status", "in-use");
	xmlw_text(w, "macAddress", eni->mac);
	xmlw_text(w, "privateIpAddress", eni->private_ip);
	xmlw_text(w, "privateDnsName", net->private_dns);
	xmlw_bool(w, "sourceDestCheck", eni->source_dest_check);
	net_write_groups(w, eni, net);
	xmlw_start(w, "attachment");
	xmlw_text(w, "attachmentId", eni->attachment_id);
	xmlw_int(w, "deviceIndex", eni->device_index);
	xmlw_int(w, "networkCardIndex", 0);
	xmlw_text(w, "status", "attached");
	xmlw_time(w, "attachTime", eni->attach_ms);
	xmlw_bool(w, "deleteOnTermination", eni->delete_on_termination);
	xmlw_end(w);
	net_write_association(w, eni, net);
	xmlw_start(w, "privateIpAddressesSet");
	xmlw_start(w, "item");
	xmlw_text(w, "privateIpAddress", eni->private_ip);
	xmlw_text(w, "privateDnsName", net->private_dns);
	xmlw_bool(w, "primary", 1);
	net_write_association(w, eni, net);
	xmlw_end(w);
	xmlw_end(w);
	xmlw_start(w, "ipv6AddressesSet");
	xmlw_end(w);
	xmlw_text(w, "interfaceType", "interface");
	xmlw_end(w);
	xmlw_end(w);
}

/* ---- filters ---------------------------------------------------------------- */

/* The network filters DescribeInstances answers from the primary interface. */
static const char *const net_filters[] = {
	"vpc-id", "subnet-id", "ip-address", "dns-name", "group-id", "group-name",
	"instance.group-id", "instance.group-name", "association.public-ip",
	"network-interface.network-interface-id", "network-interface.subnet-id",
	"network-interface.vpc-id", "network-interface.mac-address",
	"network-interface.private-dns-name", "network-interface.addresses.private-ip-address",
	"network-interface.addresses.primary", "network-interface.addresses.association.public-ip",
	"network-interface.association.public-ip", "network-interface.association.ip-owner-id",
	"network-interface.association.allocation-id",
	"network-interface.association.association-id",
	"network-interface.attachment.attachment-id", "network-interface.attachment.instance-id",
	"network-interface.attachment.instance-owner-id",
	"network-interface.attachment.device-index", "network-interface.attachment.status",
	"network-interface.attachment.delete-on-termination",
	"network-interface.attachment.network-card-index", "network-interface.availability-zone",
	"network-interface.description", "network-interface.group-id",
	"network-interface.group-name", "network-interface.owner-id",
	"network-interface.requester-managed", "network-interface.source-dest-check",
	"network-interface.status", "network-interface.interface-type",
	"network-interface.private-ip-address", NULL,
};

int ec2_instance_net_filter_known(const char *name)
{
	for (const char *const *p = net_filters; *p; p++)
		if (!strcmp(*p, name))
			return 1;
	return 0;
}

/* The value of a single-valued network filter of the primary interface. */
static const char *net_field(const char *name, const struct instance *m,
			     const struct eni *eni, const struct ec2_instance_net *net,
			     char *scratch, size_t cap)
{
	const char *field = !strncmp(name, "network-interface.", 18) ? name + 18 : name;
	if (!strcmp(name, "vpc-id") || !strcmp(field, "vpc-id")) return eni->vpc_id;
	if (!strcmp(name, "subnet-id") || !strcmp(field, "subnet-id")) return eni->subnet_id;
	if (!strcmp(name, "ip-address") || !strcmp(name, "association.public-ip") ||
	    !strcmp(field, "association.public-ip") ||
	    !strcmp(field, "addresses.association.public-ip"))
		return eni->public_ip[0] ? eni->public_ip : NULL;
	if (!strcmp(name, "dns-name")) return eni->public_ip[0] ? net->public_dns : "";
	if (!strcmp(field, "network-interface-id")) return eni->id;
	if (!strcmp(field, "mac-address")) return eni->mac;
	if (!strcmp(field, "private-dns-name")) return net->private_dns;
	if (!strcmp(field, "addresses.private-ip-address") || !strcmp(field, "private-ip-address"))
		return eni->private_ip;
	if (!strcmp(field, "addresses.primary")) return "true";
	if (!strcmp(field, "association.ip-owner-id"))
		return !eni->public_ip[0] ? NULL : eni->allocation_id[0] ? eni->owner_id : "amazon";
	if (!strcmp(field, "association.allocation-id"))
		return eni->allocation_id[0] ? eni->allocation_id : NULL;
	if (!strcmp(field, "association.association-id"))
		return eni->association_id[0] ? eni->association_id : NULL;
	if (!strcmp(field, "attachment.attachment-id")) return eni->attachment_id;
	if (!strcmp(field, "attachment.instance-id")) return m->id;
	if (!strcmp(field, "attachment.instance-owner-id") || !strcmp(field, "owner-id"))
		return eni->owner_id;
	if (!strcmp(field, "attachment.status")) return "attached";
	if (!strcmp(field, "attachment.network-card-index")) return "0";
	if (!strcmp(field, "attachment.delete-on-termination"))
		return eni->delete_on_termination ? "true" : "false";
	if (!strcmp(field, "attachment.device-index")) {
		snprintf(scratch, cap, "%d", eni->device_index);
		return scratch;
	}
	if (!strcmp(field, "availability-zone")) return eni->zone;
	if (!strcmp(field, "description")) return eni->description;
	if (!strcmp(field, "requester-managed")) return "false";
	if (!strcmp(field, "source-dest-check")) return eni->source_dest_check ? "true" : "false";
	if (!strcmp(field, "status")) return "in-use";
	if (!strcmp(field, "interface-type")) return "interface";
	return NULL;
}

int ec2_instance_net_match(const struct query_filter *f, const struct instance *m,
			   const struct ec2_instance_net *net)
{
	if (!net || !net->n || !strcmp(m->state, "terminated"))
		return !strcmp(f->name, "dns-name") && filter_match_any(f->values, f->nvalues, "");
	const struct eni *eni = &net->enis[0];
	const char *field = !strncmp(f->name, "network-interface.", 18) ? f->name + 18 :
		!strncmp(f->name, "instance.", 9) ? f->name + 9 : f->name;
	if (!strcmp(field, "group-id") || !strcmp(field, "group-name")) {
		for (size_t i = 0; i < eni->ngroups; i++)
			if (filter_match_any(f->values, f->nvalues,
					     field[6] == 'i' ? eni->group_ids[i] : net->group_names[i]))
				return 1;
		return 0;
	}
	char scratch[32];
	const char *v = net_field(f->name, m, eni, net, scratch, sizeof scratch);
	return v && filter_match_any(f->values, f->nvalues, v);
}
