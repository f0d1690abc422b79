/*
 * ec2/network_interfaces.c: DescribeNetworkInterfaces, and the DNS names
 * EC2 gives addresses.
 *
 * Interfaces are made by RunInstances (catalog_eni_create), one per
 * instance and device index, and go with their instance when it is
 * terminated and the attachment says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_network.h"

void ec2_private_dns_name(const struct server *srv, const char *ip, char out[128])
{
	char dashed[16];
	snprintf(dashed, sizeof dashed, "%s", ip);
	for (char *p = dashed; *p; p++)
		if (*p == '.')
			*p = '-';
	/* us-east-1 kept EC2's first domain; other regions name themselves. */
	if (!strcmp(srv->region, "us-east-1"))
		snprintf(out, 128, "ip-%s.ec2.internal", dashed);
	else
		snprintf(out, 128, "ip-%s.%.60s.compute.internal", dashed, srv->region);
}

void ec2_public_dns_name(const struct server *srv, const char *ip, char out[128])
{
	char dashed[16];
	snprintf(dashed, sizeof dashed, "%s", ip);
	for (char *p = dashed; *p; p++)
		if (*p == '.')
			*p = '-';
	if (!strcmp(srv->region, "us-east-1"))
		snprintf(out, 128, "ec2-%s.compute-1.amazonaws.com", dashed);
	else
		snprintf(out, 128, "ec2-%s.%.60s.compute.amazonaws.com", dashed, srv->region);
}

static const char *const eni_filter_names[] = {
	"addresses.private-ip-address", "addresses.primary", "addresses.association.public-ip",
	"addresses.association.owner-id", "association.association-id",
	"association.allocation-id", "association.ip-owner-id", "association.public-ip",
	"association.public-dns-name", "attachment.attachment-id", "attachment.attach-time",
	"attachment.delete-on-termination", "attachment.device-index", "attachment.instance-id",
	"attachment.instance-owner-id", "attachment.status", "availability-zone", "description",
	"group-id", "group-name", "interface-type", "ipv6-addresses.ipv6-address", "mac-address",
	"network-interface-id", "owner-id", "private-dns-name", "private-ip-address",
	"requester-id", "requester-managed", "source-dest-check", "status", "subnet-id",
	"vpc-id", NULL,
};

/* An interface with its groups' names and its DNS names. */
struct eni_view {
	const struct eni *eni;
	char group_names[ENI_GROUPS_MAX][SG_NAME_MAX];
	char private_dns[128];
	char public_dns[128];
	char attach_time[ISO_TIME_MAX];
};

/* A filter on the attachment or the public address (NULL: the interface has none). */
static const char *eni_attachment_field(const struct eni_view *v, const char *n, char num[32])
{
	const struct eni *eni = v->eni;
	int attached = eni->instance_id[0] != '\0', public = eni->public_ip[0] != '\0';
	if (!strcmp(n, "attachment.attachment-id"))
		return attached ? eni->attachment_id : NULL;
	if (!strcmp(n, "attachment.attach-time"))
		return attached ? v->attach_time : NULL;
	if (!strcmp(n, "attachment.delete-on-termination"))
		return attached ? (eni->delete_on_termination ? "true" : "false") : NULL;
	if (!strcmp(n, "attachment.device-index")) {
		snprintf(num, 32, "%d", eni->device_index);
		return attached ? num : NULL;
	}
	if (!strcmp(n, "attachment.instance-id"))
		return attached ? eni->instance_id : NULL;
	if (!strcmp(n, "attachment.instance-owner-id"))
		return attached ? eni->owner_id : NULL;
	if (!strcmp(n, "attachment.status"))
		return attached ? "attached" : NULL;
	if (!strcmp(n, "association.public-ip") || !strcmp(n, "addresses.association.public-ip"))
		return public ? eni->public_ip : NULL;
	if (!strcmp(n, "association.public-dns-name"))
		return public ? v->public_dns : NULL;
	if (!strcmp(n, "association.ip-owner-id") || !strcmp(n, "addresses.association.owner-id"))
		return !public ? NULL : eni->allocation_id[0] ? eni->owner_id : "amazon";
	if (!strcmp(n, "association.allocation-id"))
		return eni->allocation_id[0] ? eni->allocation_id : NULL;
	if (!strcmp(n, "association.association-id"))
		return eni->association_id[0] ? eni->association_id : NULL;
	return NULL;
}

static int eni_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct eni_view *v = row;
	const struct eni *eni = v->eni;
	const char *n = f->name;
	char num[32];
	if (!strcmp(n, "group-id") || !strcmp(n, "group-name")) {
		for (size_t i = 0; i < eni->ngroups; i++)
			if (ec2_filter_hit(f, n[6] == 'i' ? eni->group_ids[i] : v->group_names[i]))
				return 1;
		return 0;
	}
	const char *value = NULL;
	if (!strcmp(n, "addresses.private-ip-address") || !strcmp(n, "private-ip-address"))
		value = eni->private_ip;
	else if (!strcmp(n, "addresses.primary") || !strcmp(n, "requester-managed"))
		value = n[0] == 'a' ? "true" : "false";
	else if (!strcmp(n, "availability-zone"))
		value = eni->zone;
	else if (!strcmp(n, "description"))
		value = eni->description;
	else if (!strcmp(n, "interface-type"))
		value = "interface";
	else if (!strcmp(n, "mac-address"))
		value = eni->mac;
	else if (!strcmp(n, "network-interface-id"))
		value = eni->id;
	else if (!strcmp(n, "owner-id"))
		value = eni->owner_id;
	else if (!strcmp(n, "private-dns-name"))
		value = v->private_dns;
	else if (!strcmp(n, "source-dest-check"))
		value = eni->source_dest_check ? "true" : "false";
	else if (!strcmp(n, "status"))
		value = eni->instance_id[0] ? "in-use" : "available";
	else if (!strcmp(n, "subnet-id"))
		value = eni->subnet_id;
	else if (!strcmp(n, "vpc-id"))
		value = eni->vpc_id;
	else
		value = eni_attachment_field(v, n, num);
	(void)l;
	return ec2_filter_hit(f, value);
}

static void eni_write_association(struct xmlw *w, const struct eni_view *v)
{
	if (!v->eni->public_ip[0])
		return;
	xmlw_start(w, "association");
	if (v->eni->allocation_id[0]) {
		xmlw_text(w, "allocationId", v->eni->allocation_id);
		xmlw_text(w, "associationId", v->eni->association_id);
	}
	xmlw_text(w, "publicIp", v->eni->public_ip);
	xmlw_text(w, "publicDnsName", v->public_dns);
	xmlw_text(w, "ipOwnerId", v->eni->allocation_id[0] ? v->eni->owner_id : "amazon");
	xmlw_end(w);
}

static void eni_write(struct ec2_ctx *ctx, const struct eni_view *v, const struct tag_list *tags)
{
	struct xmlw *w = ctx->w;
	const struct eni *eni = v->eni;
	char zone_id[32] = "";
	int zone = ec2_zone_index(ctx->srv, eni->zone);
	if (zone >= 0)
		ec2_zone_id(ctx->srv, (size_t)zone, zone_id);
	xmlw_text(w, "networkInterfaceId", eni->id);
	xmlw_text(w, "subnetId", eni->subnet_id);
	xmlw_text(w, "vpcId", eni->vpc_id);
	xmlw_text(w, "availabilityZone", eni->zone);
	xmlw_text(w, "availabilityZoneId", zone_id);
	xmlw_text(w, "description", eni->description);
	xmlw_text(w, "ownerId", eni->owner_id);
	xmlw_bool(w, "requesterManaged", 0);
	xmlw_text(w, "status", eni->instance_id[0] ? "in-use" : "available");
	xmlw_text(w, "macAddress", eni->mac);
	xmlw_text(w, "privateIpAddress", eni->private_ip);
	xmlw_text(w, "privateDnsName", v->private_dns);
	if (eni->public_ip[0])
		xmlw_text(w, "publicDnsName", v->public_dns);
	xmlw_bool(w, "sourceDestCheck", eni->source_dest_check);
	xmlw_start(w, "groupSet");
	for (size_t i = 0; i < eni->ngroups; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "groupId", eni->group_ids[i]);
		xmlw_text(w, "groupName", v->group_names[i]);
		xmlw_end(w);
	}
	xmlw_end(w);
	if (eni->instance_id[0]) {
		xmlw_start(w, "attachment");
		xmlw_text(w, "attachmentId", eni->attachment_id);
		xmlw_text(w, "instanceId", eni->instance_id);
		xmlw_text(w, "instanceOwnerId", eni->owner_id);
		xmlw_int(w, "deviceIndex", eni->device_index);
		xmlw_int(w, "networkCardIndex", 0);
		xmlw_text(w, "status", "attached");
		xmlw_time(w, "attachTime", eni->attach_ms);
		xmlw_bool(w, "deleteOnTermination", eni->delete_on_termination);
		xmlw_end(w);
	}
	eni_write_association(w, v);
	ec2_write_tags(w, tags);
	xmlw_start(w, "privateIpAddressesSet");
	xmlw_start(w, "item");
	xmlw_text(w, "privateIpAddress", eni->private_ip);
	xmlw_text(w, "privateDnsName", v->private_dns);
	xmlw_bool(w, "primary", 1);
	eni_write_association(w, v);
	xmlw_end(w);
	xmlw_end(w);
	xmlw_start(w, "ipv6AddressesSet");
	xmlw_end(w);
	xmlw_text(w, "interfaceType", "interface");
}

/* Fills the view: the groups' names (a group gone meanwhile reads as ""). */
static int eni_view_fill(struct ec2_listing *l, const struct eni *eni, struct eni_view *v)
{
	memset(v, 0, sizeof *v);
	v->eni = eni;
	for (size_t i = 0; i < eni->ngroups; i++) {
		struct security_group_row g;
		int found = catalog_sg_get(l->ctx->srv->cat, eni->group_ids[i], &g, l->e);
		if (found < 0)
			return -1;
		if (found)
			snprintf(v->group_names[i], SG_NAME_MAX, "%s", g.name);
	}
	ec2_private_dns_name(l->ctx->srv, eni->private_ip, v->private_dns);
	if (eni->public_ip[0])
		ec2_public_dns_name(l->ctx->srv, eni->public_ip, v->public_dns);
	ids_iso_time(eni->attach_ms, v->attach_time);
	return 0;
}

static int describe_eni_visit(void *arg, const struct eni *eni)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	struct eni_view *v = NULL;
	if (!ec2_listing_wants(l, eni->id))
		return 0;
	v = xmalloc(sizeof *v);
	if (eni_view_fill(l, eni, v) < 0)
		l->failed = 1;
	else if (ec2_listing_match(l, eni->id, &tags, eni_filter, v)) {
		xmlw_start(l->ctx->w, "item");
		eni_write(l->ctx, v, &tags);
		xmlw_end(l->ctx->w);
	}
	free(v);
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_enis_walk(struct ec2_listing *l)
{
	return catalog_eni_each(l->ctx->srv->cat, l->ctx->account, l->page.after,
				describe_eni_visit, l, l->e);
}

int ec2_describe_network_interfaces(struct ec2_ctx *ctx, struct err *e)
{
	return ec2_listing_run(ctx, &ec2_kind_eni, "NetworkInterfaceId", eni_filter_names,
			       "networkInterfaceSet", describe_enis_walk, NULL, e);
}
