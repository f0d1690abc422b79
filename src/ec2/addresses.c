/*
 * ec2/addresses.c: Elastic IP addresses: AllocateAddress, DescribeAddresses,
 * AssociateAddress, DisassociateAddress, ReleaseAddress and
 * DescribeAddressesAttribute, for VPCs (EC2-Classic is long gone).
 *
 * An address comes from the daemon's public pool (--public-ips, loopback)
 * and is the account's until released.  Associated with an instance's
 * interface it is that instance's public address, in place of an
 * auto-assigned one, through stops and starts; the VPC's router forwards it
 * to the guest as it forwards any public address (compute/router.c), so a
 * change reaches the data plane with ec2_network_changed.  The association
 * ends with its interface (at termination, unless the interface outlives
 * the instance); the address stays allocated.  Each handler reads what it
 * decides on inside its write transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_network.h"
#include "compute/compute.h"
#include "util/ids.h"

/* EC2's default quota of Elastic IP addresses per account and region. */
#define ADDRESSES_MAX 5

/* ---- lookups ------------------------------------------------------------------ */

/* The caller's address of that allocation ID (Malformed / NotFound as EC2). */
static int address_owned(struct ec2_ctx *ctx, const char *id, struct address_row *a,
			 struct err *e)
{
	int found = ids_valid_resource("eipalloc", id) ?
			    catalog_address_get(ctx->srv->cat, id, a, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(a->owner_id, ctx->account) != 0)
		return ec2_id_refuse(&ec2_kind_address, id, e);
	return 0;
}

/* The caller's address at that public address: InvalidAddress.NotFound otherwise. */
static int address_at(struct ec2_ctx *ctx, const char *ip, struct address_row *a,
		      struct err *e)
{
	int found = catalog_address_by_ip(ctx->srv->cat, ip, a, e);
	if (found < 0)
		return -1;
	if (!found || strcmp(a->owner_id, ctx->account) != 0)
		return err_set(e, 400, "InvalidAddress.NotFound", "Address '%.64s' not found.", ip);
	return 0;
}

/* The address a request names by AllocationId or PublicIp (one of them). */
static int address_named(struct ec2_ctx *ctx, struct address_row *a, struct err *e)
{
	const char *id = query_get(&ctx->q, "AllocationId");
	const char *ip = query_get(&ctx->q, "PublicIp");
	if (id && *id)
		return address_owned(ctx, id, a, e);
	if (ip && *ip)
		return address_at(ctx, ip, a, e);
	return err_set(e, 400, "MissingParameter",
		       "Either AllocationId or PublicIp must be specified.");
}

static void address_write(struct xmlw *w, const struct address_row *a,
			  const struct tag_list *tags, const char *region)
{
	xmlw_text(w, "publicIp", a->public_ip);
	xmlw_text(w, "allocationId", a->allocation_id);
	xmlw_text(w, "domain", "vpc");
	if (a->association_id[0]) {
		if (a->instance_id[0])
			xmlw_text(w, "instanceId", a->instance_id);
		xmlw_text(w, "associationId", a->association_id);
		xmlw_text(w, "networkInterfaceId", a->eni_id);
		xmlw_text(w, "networkInterfaceOwnerId", a->eni_owner_id);
		xmlw_text(w, "privateIpAddress", a->private_ip);
	}
	if (tags)
		ec2_write_tags(w, tags);
	xmlw_text(w, "publicIpv4Pool", "amazon");
	xmlw_text(w, "networkBorderGroup", region);
}

/*
 * What Associate, Disassociate and Release share: change decides and writes
 * in one write transaction (reading what it decides on inside it, so that
 * no other request's change slips in between), and names in vpcs the VPCs
 * ("" for none) whose routers must then re-read their ports.
 */
typedef int (*address_change_fn)(struct ec2_ctx *ctx, void *arg, char vpcs[2][ID_MAX],
				 struct err *e);

static int address_change(struct ec2_ctx *ctx, address_change_fn change, void *arg,
			  struct err *e)
{
	char vpcs[2][ID_MAX] = { "", "" };
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (change(ctx, arg, vpcs, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (vpcs[i][0])
			ec2_network_changed(ctx, vpcs[i]);
	return 0;
}

/* ---- AllocateAddress ------------------------------------------------------------ */

static int allocate_check(struct ec2_ctx *ctx, struct err *e)
{
	/* Domain: every address is a VPC's now, whatever is asked (as EC2 answers). */
	const char *pool = query_get(&ctx->q, "PublicIpv4Pool");
	const char *border = query_get(&ctx->q, "NetworkBorderGroup");
	if (pool && *pool && strcmp(pool, "amazon") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "The public IPv4 pool '%.64s' does not exist; amibox allocates from its own pool ('amazon').",
			       pool);
	if (border && *border && strcmp(border, ctx->srv->region) != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "The network border group '%.64s' is not valid; this amibox serves '%s'.",
			       border, ctx->srv->region);
	static const char *const unsupported[] = { "Address", "CustomerOwnedIpv4Pool", "IpamPoolId" };
	int asked = 0;
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
		const char *v = query_get(&ctx->q, unsupported[i]);
		asked |= v && *v;
	}
	if (asked)
		return err_set(e, 400, "InvalidParameterValue",
			       "amibox allocates addresses from its own pool only: Address, CustomerOwnedIpv4Pool and IpamPoolId are not supported.");
	return 0;
}

int ec2_allocate_address(struct ec2_ctx *ctx, struct err *e)
{
	struct address_row a;
	struct tag_list tags = { NULL, 0 };
	long long held = 0;
	int ret = -1;
	if (allocate_check(ctx, e) < 0 || ec2_tag_specifications(ctx, "elastic-ip", &tags, e) < 0)
		goto out;
	memset(&a, 0, sizeof a);
	ids_resource("eipalloc", a.allocation_id);
	snprintf(a.owner_id, sizeof a.owner_id, "%s", ctx->account);
	a.create_ms = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_address_count(ctx->srv->cat, ctx->account, &held, e) < 0)
		goto rollback;
	if (held >= ADDRESSES_MAX) {
		err_set(e, 400, "AddressLimitExceeded",
			"The maximum number of addresses has been reached (%d per account).",
			ADDRESSES_MAX);
		goto rollback;
	}
	if (catalog_public_ip_free(ctx->srv->cat, compute_public_pool(ctx->srv->compute),
				   a.public_ip, e) < 0 ||
	    catalog_address_insert(ctx->srv->cat, &a, e) < 0 ||
	    ec2_tags_put(ctx, a.allocation_id, "elastic-ip", &tags, e) < 0)
		goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_text(ctx->w, "publicIp", a.public_ip);
	xmlw_text(ctx->w, "domain", "vpc");
	xmlw_text(ctx->w, "allocationId", a.allocation_id);
	xmlw_text(ctx->w, "publicIpv4Pool", "amazon");
	xmlw_text(ctx->w, "networkBorderGroup", ctx->srv->region);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	tag_list_release(&tags);
	return ret;
}

/* ---- DescribeAddresses ---------------------------------------------------------- */

static const char *const address_filter_names[] = {
	"allocation-id", "association-id", "domain", "instance-id", "network-border-group",
	"network-interface-id", "network-interface-owner-id", "private-ip-address",
	"public-ip", "public-ipv4-pool", NULL
};

/* The public addresses PublicIp.N asks for, and which were seen. */
struct address_ips {
	const char **ips;
	unsigned char *seen;
	size_t n;
	const char *region;
};

static int address_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	const struct address_row *a = row;
	const struct address_ips *asked = l->arg;
	const char *n = f->name;
	int linked = a->association_id[0] != '\0';
	if (!strcmp(n, "allocation-id")) return ec2_filter_hit(f, a->allocation_id);
	if (!strcmp(n, "association-id")) return linked && ec2_filter_hit(f, a->association_id);
	if (!strcmp(n, "domain")) return ec2_filter_hit(f, "vpc");
	if (!strcmp(n, "instance-id")) return a->instance_id[0] && ec2_filter_hit(f, a->instance_id);
	if (!strcmp(n, "network-border-group")) return ec2_filter_hit(f, asked->region);
	if (!strcmp(n, "network-interface-id")) return linked && ec2_filter_hit(f, a->eni_id);
	if (!strcmp(n, "network-interface-owner-id"))
		return linked && ec2_filter_hit(f, a->eni_owner_id);
	if (!strcmp(n, "private-ip-address")) return linked && ec2_filter_hit(f, a->private_ip);
	if (!strcmp(n, "public-ipv4-pool")) return ec2_filter_hit(f, "amazon");
	return ec2_filter_hit(f, a->public_ip); /* public-ip */
}

/* Whether PublicIp.N asks for the address (all are when none is named); marks it seen. */
static int address_ip_wanted(struct address_ips *asked, const char *ip)
{
	int wanted = asked->n == 0;
	for (size_t i = 0; i < asked->n; i++)
		if (!strcmp(asked->ips[i], ip)) {
			asked->seen[i] = 1;
			wanted = 1;
		}
	return wanted;
}

static int describe_address_visit(void *arg, const struct address_row *a)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	/* Both lists are checked, so that each marks what it names as seen. */
	int by_id = ec2_listing_wants(l, a->allocation_id);
	int by_ip = address_ip_wanted(l->arg, a->public_ip);
	if (by_id && by_ip &&
	    ec2_listing_match(l, a->allocation_id, &tags, address_filter, a)) {
		xmlw_start(l->ctx->w, "item");
		address_write(l->ctx->w, a, &tags, ((struct address_ips *)l->arg)->region);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_addresses_walk(struct ec2_listing *l)
{
	return catalog_address_each(l->ctx->srv->cat, l->ctx->account, describe_address_visit, l,
				    l->e);
}

int ec2_describe_addresses(struct ec2_ctx *ctx, struct err *e)
{
	struct address_ips asked = { NULL, NULL, 0, ctx->srv->region };
	asked.n = query_list(&ctx->q, "PublicIp", &asked.ips);
	asked.seen = xcalloc(asked.n + 1, 1);
	int ret = ec2_listing_run(ctx, &ec2_kind_address, "AllocationId", address_filter_names,
				  "addressesSet", describe_addresses_walk, &asked, e);
	for (size_t i = 0; ret == 0 && i < asked.n; i++)
		if (!asked.seen[i])
			ret = err_set(e, 400, "InvalidAddress.NotFound", "Address '%.64s' not found.",
				      asked.ips[i]);
	free(asked.ips);
	free(asked.seen);
	return ret;
}

/* ---- AssociateAddress ----------------------------------------------------------- */

/* The interface AssociateAddress names, by InstanceId (its primary) or NetworkInterfaceId. */
static int associate_target(struct ec2_ctx *ctx, struct eni *eni, struct err *e)
{
	const char *instance_id = query_get(&ctx->q, "InstanceId");
	const char *eni_id = query_get(&ctx->q, "NetworkInterfaceId");
	if (instance_id && *instance_id) {
		struct instance m;
		struct eni *enis = NULL;
		size_t n = 0;
		if (ec2_instance_owned(ctx, instance_id, &m, e) < 0)
			return -1;
		char state[16];
		snprintf(state, sizeof state, "%s", m.state);
		instance_release(&m);
		/* Running or stopped (or on the way between them), as EC2 takes it. */
		if (!strcmp(state, "pending") || !strcmp(state, "shutting-down") ||
		    !strcmp(state, "terminated"))
			return err_set(e, 400, "InvalidInstanceID",
				       "The %s instance '%s' is not in a valid state for this operation.",
				       state, instance_id);
		if (catalog_eni_by_instance(ctx->srv->cat, instance_id, &enis, &n, e) < 0)
			return -1;
		if (n == 0) {
			free(enis);
			return err_set(e, 400, "InvalidInstanceID",
				       "The instance '%s' has no network interface to associate an address with.",
				       instance_id);
		}
		*eni = enis[0];
		free(enis);
		return 0;
	}
	if (!eni_id || !*eni_id)
		return err_set(e, 400, "MissingParameter",
			       "Either InstanceId or NetworkInterfaceId must be specified.");
	int found = ids_valid_resource("eni", eni_id) ?
			    catalog_eni_get(ctx->srv->cat, eni_id, eni, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(eni->owner_id, ctx->account) != 0)
		return ec2_id_refuse(&ec2_kind_eni, eni_id, e);
	return 0;
}

/* Refuses an interface whose VPC has no internet gateway, as EC2 does. */
static int associate_gateway(struct ec2_ctx *ctx, const struct eni *eni, struct err *e)
{
	int attached = catalog_vpc_has_gateway(ctx->srv->cat, eni->vpc_id, e);
	if (attached < 0)
		return -1;
	if (!attached)
		return err_set(e, 400, "Gateway.NotAttached",
			       "Network %s is not attached to any internet gateway", eni->vpc_id);
	return 0;
}

/*
 * In a transaction: gives the interface an auto-assigned public address
 * again, if its instance runs (or is starting) in a VPC here and asked for
 * one: what EC2 does when an Elastic IP address leaves it.
 */
static int address_auto_public(struct ec2_ctx *ctx, const char *eni_id, struct err *e)
{
	struct eni n;
	struct instance m;
	char ip[16];
	if (!compute_vpc_networking(ctx->srv->compute))
		return 0;
	int found = catalog_eni_get(ctx->srv->cat, eni_id, &n, e);
	if (found <= 0 || !n.want_public_ip || n.public_ip[0] || !n.instance_id[0])
		return found < 0 ? -1 : 0;
	found = catalog_instance_get(ctx->srv->cat, n.instance_id, &m, e);
	if (found <= 0)
		return found;
	int live = !strcmp(m.state, "running") || !strcmp(m.state, "pending");
	instance_release(&m);
	if (!live)
		return 0;
	if (catalog_public_ip_free(ctx->srv->cat, compute_public_pool(ctx->srv->compute), ip,
				   e) < 0)
		return -1;
	return catalog_eni_set_public_ip(ctx->srv->cat, eni_id, ip, e);
}

/* What AssociateAddress asks for, besides the request's names. */
struct associate_ask {
	int reassociate;
	char association_id[ID_MAX];
};

static int associate_in(struct ec2_ctx *ctx, void *arg, char vpcs[2][ID_MAX], struct err *e)
{
	const struct associate_ask *ask = arg;
	struct address_row a;
	struct eni eni, was;
	if (address_named(ctx, &a, e) < 0 || associate_target(ctx, &eni, e) < 0 ||
	    associate_gateway(ctx, &eni, e) < 0)
		return -1;
	const char *private_ip = query_get(&ctx->q, "PrivateIpAddress");
	if (private_ip && *private_ip && strcmp(private_ip, eni.private_ip) != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "The private address %.64s is not an address of %s (%s).", private_ip,
			       eni.id, eni.private_ip);
	int moves = a.association_id[0] && strcmp(a.eni_id, eni.id) != 0;
	if (moves && !ask->reassociate)
		return err_set(e, 400, "Resource.AlreadyAssociated",
			       "resource %s is already associated with associate-id %s",
			       a.allocation_id, a.association_id);
	snprintf(vpcs[0], ID_MAX, "%s", eni.vpc_id);
	if (moves) {
		int found = catalog_eni_get(ctx->srv->cat, a.eni_id, &was, e);
		if (found < 0)
			return -1;
		if (found && strcmp(was.vpc_id, eni.vpc_id) != 0)
			snprintf(vpcs[1], ID_MAX, "%s", was.vpc_id);
	}
	/* The address leaves where it was; the interface's other address goes. */
	if ((a.association_id[0] &&
	     catalog_address_disassociate(ctx->srv->cat, a.allocation_id, e) < 0) ||
	    (moves && address_auto_public(ctx, a.eni_id, e) < 0) ||
	    (eni.allocation_id[0] && strcmp(eni.allocation_id, a.allocation_id) != 0 &&
	     catalog_address_disassociate(ctx->srv->cat, eni.allocation_id, e) < 0) ||
	    catalog_eni_set_public_ip(ctx->srv->cat, eni.id, "", e) < 0)
		return -1;
	return catalog_address_associate(ctx->srv->cat, a.allocation_id, ask->association_id,
					 eni.id, eni.private_ip, e);
}

int ec2_associate_address(struct ec2_ctx *ctx, struct err *e)
{
	/* Automatic in a VPC; false asks for a refusal instead. */
	struct associate_ask ask = { .reassociate = 1 };
	if (query_get_bool(&ctx->q, "AllowReassociation", &ask.reassociate, e) < 0)
		return -1;
	ids_resource("eipassoc", ask.association_id);
	if (address_change(ctx, associate_in, &ask, e) < 0)
		return -1;
	xmlw_text(ctx->w, "associationId", ask.association_id);
	return 0;
}

/* ---- DisassociateAddress -------------------------------------------------------- */

struct association_find {
	const char *association_id;
	struct address_row found;
	int hit;
};

static int association_visit(void *arg, const struct address_row *a)
{
	struct association_find *f = arg;
	if (strcmp(a->association_id, f->association_id) != 0)
		return 0;
	f->found = *a;
	f->hit = 1;
	return 1;
}

/*
 * Ends the association of the address (found by the caller in this
 * transaction); its interface, if its instance runs, gets an auto-assigned
 * address again.  vpc_id gets the VPC whose router must re-read its ports.
 */
static int address_let_go(struct ec2_ctx *ctx, const struct address_row *a,
			  char vpc_id[ID_MAX], struct err *e)
{
	struct eni eni;
	int found = catalog_eni_get(ctx->srv->cat, a->eni_id, &eni, e);
	if (found < 0)
		return -1;
	if (found)
		snprintf(vpc_id, ID_MAX, "%s", eni.vpc_id);
	if (catalog_address_disassociate(ctx->srv->cat, a->allocation_id, e) < 0)
		return -1;
	return address_auto_public(ctx, a->eni_id, e);
}

static int disassociate_in(struct ec2_ctx *ctx, void *arg, char vpcs[2][ID_MAX], struct err *e)
{
	(void)arg;
	const char *association_id = query_get(&ctx->q, "AssociationId");
	const char *ip = query_get(&ctx->q, "PublicIp");
	struct association_find f;
	memset(&f, 0, sizeof f);
	f.association_id = association_id;
	if (association_id && *association_id) {
		if (!ids_valid_resource("eipassoc", association_id))
			return err_set(e, 400, "InvalidAssociationID.Malformed",
				       "Invalid id: \"%.64s\" (expecting \"eipassoc-...\")",
				       association_id);
		if (catalog_address_each(ctx->srv->cat, ctx->account, association_visit, &f, e) < 0)
			return -1;
		if (!f.hit)
			return err_set(e, 400, "InvalidAssociationID.NotFound",
				       "The association ID '%.64s' does not exist", association_id);
	} else if (ip && *ip) {
		if (address_at(ctx, ip, &f.found, e) < 0)
			return -1;
	} else {
		return err_set(e, 400, "MissingParameter",
			       "Either AssociationId or PublicIp must be specified.");
	}
	return f.found.association_id[0] ? address_let_go(ctx, &f.found, vpcs[0], e) : 0;
}

int ec2_disassociate_address(struct ec2_ctx *ctx, struct err *e)
{
	if (address_change(ctx, disassociate_in, NULL, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

/* ---- ReleaseAddress ------------------------------------------------------------- */

static int release_in(struct ec2_ctx *ctx, void *arg, char vpcs[2][ID_MAX], struct err *e)
{
	(void)arg;
	struct address_row a;
	struct eni eni;
	struct vpc_row v;
	const char *border = query_get(&ctx->q, "NetworkBorderGroup");
	if (address_named(ctx, &a, e) < 0)
		return -1;
	if (border && *border && strcmp(border, ctx->srv->region) != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "The network border group '%.64s' is not the address's (%s).", border,
			       ctx->srv->region);
	/* In the default VPC a release takes the address off its instance first. */
	if (a.association_id[0]) {
		int found = catalog_eni_get(ctx->srv->cat, a.eni_id, &eni, e);
		if (found > 0)
			found = catalog_vpc_get(ctx->srv->cat, eni.vpc_id, &v, e);
		if (found < 0)
			return -1;
		if (!found || !v.is_default)
			return err_set(e, 400, "InvalidIPAddress.InUse", "Address %s is in use.",
				       a.public_ip);
		if (address_let_go(ctx, &a, vpcs[0], e) < 0)
			return -1;
	}
	return catalog_address_delete(ctx->srv->cat, a.allocation_id, e);
}

int ec2_release_address(struct ec2_ctx *ctx, struct err *e)
{
	if (address_change(ctx, release_in, NULL, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

/* ---- DescribeAddressesAttribute ------------------------------------------------- */

static int attribute_filter(struct ec2_listing *l, const struct query_filter *f, const void *row)
{
	(void)l;
	(void)f;
	(void)row;
	return 1; /* no filters but tags: the listing refuses any other name */
}

static int describe_attribute_visit(void *arg, const struct address_row *a)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (ec2_listing_wants(l, a->allocation_id) &&
	    ec2_listing_match(l, a->allocation_id, &tags, attribute_filter, a)) {
		/* No reverse DNS record: amibox's addresses have none to show. */
		xmlw_start(l->ctx->w, "item");
		xmlw_text(l->ctx->w, "publicIp", a->public_ip);
		xmlw_text(l->ctx->w, "allocationId", a->allocation_id);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_attribute_walk(struct ec2_listing *l)
{
	return catalog_address_each(l->ctx->srv->cat, l->ctx->account, describe_attribute_visit,
				    l, l->e);
}

int ec2_describe_addresses_attribute(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const none[] = { NULL };
	const char *attribute = query_get(&ctx->q, "Attribute");
	if (attribute && strcmp(attribute, "domain-name") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter attribute is invalid. Expected: 'domain-name'.",
			       attribute);
	return ec2_listing_run(ctx, &ec2_kind_address, "AllocationId", none, "addressSet",
			       describe_attribute_walk, NULL, e);
}
