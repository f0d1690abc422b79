/*
 * ec2/security_group_rules.c: Authorize/RevokeSecurityGroupIngress and
 * Egress, DescribeSecurityGroupRules, ModifySecurityGroupRules,
 * UpdateSecurityGroupRuleDescriptionsIngress/Egress, and the
 * IpPermissions they read and DescribeSecurityGroups writes.
 *
 * A request's IpPermissions.N become one rule per peer (a CIDR, an IPv6
 * CIDR, a prefix list or a group), each with its own sgr- ID, as EC2 keeps
 * them; DescribeSecurityGroups folds them back by protocol and ports.
 * Protocols are stored by name where EC2 names them (6 -> tcp, 17 -> udp,
 * 1 -> icmp, 58 -> icmpv6, all -> -1), other protocols by number.
 * Everything is checked before the transaction; a change reaches the data
 * plane through ec2_network_changed once it has committed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ec2/internal.h"
#include "catalog/catalog_network.h"

#define SG_RULES_MAX 60   /* per group and direction, EC2's default quota */

int ec2_sg_rule_has_ports(const char *protocol)
{
	return !strcmp(protocol, "tcp") || !strcmp(protocol, "udp") ||
	       !strcmp(protocol, "icmp") || !strcmp(protocol, "icmpv6");
}

int ec2_sg_check_text(const char *what, const char *text, struct err *e)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789 ._-:/()#,@[]+=&;{}!$*";
	if (strlen(text) > 255 || strspn(text, allowed) != strlen(text))
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid %s. Valid values are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*",
			       what);
	return 0;
}

/* ---- reading rules ---------------------------------------------------------- */

/* EC2's name of a protocol as given (name or number, any case); -1 if unknown. */
static int sg_protocol(const char *given, char out[8])
{
	static const struct {
		const char *name;
		int number;
	} named[] = { { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 } };
	char *end = NULL;
	if (!strcmp(given, "-1") || !strcasecmp(given, "all")) {
		snprintf(out, 8, "-1");
		return 0;
	}
	for (size_t i = 0; i < 4; i++)
		if (!strcasecmp(given, named[i].name)) {
			snprintf(out, 8, "%s", named[i].name);
			return 0;
		}
	long number = strtol(given, &end, 10);
	if (!*given || *end || number < 0 || number > 255)
		return -1;
	for (size_t i = 0; i < 4; i++)
		if (number == named[i].number) {
			snprintf(out, 8, "%s", named[i].name);
			return 0;
		}
	snprintf(out, 8, "%ld", number);
	return 0;
}

/* Protocol and ports of a rule, as IpPermissions or SecurityGroupRuleRequest give them. */
static int sg_read_protocol_ports(struct ec2_ctx *ctx, const char *prefix, const char *protocol,
				  struct sg_rule_row *r, struct err *e)
{
	char name[160];
	long long from = -2, to = -2;
	if (!protocol || !*protocol)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter ipProtocol");
	if (sg_protocol(protocol, r->protocol) < 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Invalid value '%.32s' for IP protocol. Unknown protocol.", protocol);
	snprintf(name, sizeof name, "%sFromPort", prefix);
	if (query_get_int(&ctx->q, name, -1, 65535, &from, e) < 0)
		return -1;
	snprintf(name, sizeof name, "%sToPort", prefix);
	if (query_get_int(&ctx->q, name, -1, 65535, &to, e) < 0)
		return -1;
	r->from_port = r->to_port = -1;
	if (!strcmp(r->protocol, "tcp") || !strcmp(r->protocol, "udp")) {
		if (from == -2 || to == -2)
			return err_set(e, 400, "InvalidParameterValue",
				       "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.");
		if (from < 0 || to < 0 || from > to)
			return err_set(e, 400, "InvalidParameterValue",
				       "Invalid TCP/UDP port range %lld-%lld.", from, to);
		r->from_port = (int)from;
		r->to_port = (int)to;
	} else if (!strcmp(r->protocol, "icmp") || !strcmp(r->protocol, "icmpv6")) {
		/* ICMP: FromPort is the type, ToPort the code; -1 is any. */
		if (from > 255 || to > 255)
			return err_set(e, 400, "InvalidParameterValue",
				       "Invalid ICMP type %lld or code %lld.", from, to);
		r->from_port = from == -2 ? -1 : (int)from;
		r->to_port = to == -2 ? -1 : (int)to;
	}
	return 0;
}

static int sg_check_cidr4(const char *cidr, struct err *e)
{
	uint32_t net;
	int prefix;
	if (network_parse_cidr(cidr, &net, &prefix) < 0 ||
	    (prefix < 32 && (net & (0xffffffffu >> prefix)) != 0))
		return err_set(e, 400, "InvalidParameterValue", "CIDR block %.40s is malformed",
			       cidr);
	return 0;
}

static int sg_check_cidr6(const char *cidr, struct err *e)
{
	char addr[NETWORK_IPV6_CIDR_MAX];
	unsigned char raw[16];
	const char *slash = strchr(cidr, '/');
	char *end = NULL;
	long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
	if (!slash || (size_t)(slash - cidr) >= sizeof addr || !slash[1] || *end ||
	    prefix < 0 || prefix > 128)
		return err_set(e, 400, "InvalidParameterValue", "CIDR block %.60s is malformed",
			       cidr);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	if (inet_pton(AF_INET6, addr, raw) != 1)
		return err_set(e, 400, "InvalidParameterValue", "CIDR block %.60s is malformed",
			       cidr);
	return 0;
}

/* The group a rule names (by ID, or by name in the default VPC); same VPC as g. */
static int sg_read_peer_group(struct ec2_ctx *ctx, const struct security_group_row *g,
			      const char *id, const char *name, struct sg_rule_row *r,
			      struct err *e)
{
	struct security_group_row peer;
	if (id) {
		int found = ids_valid_resource("sg", id) ?
				    catalog_sg_get(ctx->srv->cat, id, &peer, e) : 0;
		if (found < 0)
			return -1;
		if (!found || strcmp(peer.owner_id, ctx->account) != 0)
			return ec2_id_refuse(&ec2_kind_sg, id, e);
	} else if (ec2_sg_by_name(ctx, name, &peer, e) < 0) {
		return -1;
	}
	if (strcmp(peer.vpc_id, g->vpc_id) != 0)
		return err_set(e, 400, "InvalidGroup.NotFound",
			       "You have specified two resources that belong to different networks.");
	snprintf(r->ref_group_id, sizeof r->ref_group_id, "%s", peer.id);
	snprintf(r->ref_owner_id, sizeof r->ref_owner_id, "%s", peer.owner_id);
	return 0;
}

struct sg_rule_vec {
	struct sg_rule_row *items;
	size_t n;
};

static struct sg_rule_row *sg_rule_vec_add(struct sg_rule_vec *v, const struct sg_rule_row *base)
{
	v->items = xrealloc(v->items, (v->n + 1) * sizeof *v->items);
	v->items[v->n] = *base;
	return &v->items[v->n++];
}

static int sg_read_description(struct ec2_ctx *ctx, const char *param, struct sg_rule_row *r,
			       struct err *e)
{
	const char *d = query_get(&ctx->q, param);
	if (!d)
		return 0;
	if (ec2_sg_check_text("rule description", d, e) < 0)
		return -1;
	snprintf(r->description, sizeof r->description, "%s", d);
	return 0;
}

/* One list of peers of IpPermissions.N (e.g. "IpRanges" with "CidrIp"). */
static int sg_read_peers(struct ec2_ctx *ctx, const char *perm, const char *list,
			 const char *field, const struct sg_rule_row *base, struct sg_rule_vec *out,
			 struct err *e)
{
	char name[192];
	unsigned *idx = NULL;
	int ret = 0;
	snprintf(name, sizeof name, "%s%s", perm, list);
	size_t n = query_indices(&ctx->q, name, &idx);
	for (size_t i = 0; i < n && ret == 0; i++) {
		snprintf(name, sizeof name, "%s%s.%u.%s", perm, list, idx[i], field);
		const char *value = query_get(&ctx->q, name);
		if (!value || !*value) {
			ret = err_set(e, 400, "MissingParameter",
				      "The request must contain the parameter %s", name);
			break;
		}
		struct sg_rule_row *r = sg_rule_vec_add(out, base);
		if (!strcmp(field, "CidrIp")) {
			ret = sg_check_cidr4(value, e);
			snprintf(r->cidr_ipv4, sizeof r->cidr_ipv4, "%.19s", value);
		} else if (!strcmp(field, "CidrIpv6")) {
			ret = sg_check_cidr6(value, e);
			snprintf(r->cidr_ipv6, sizeof r->cidr_ipv6, "%.47s", value);
		} else if (!ids_valid_resource("pl", value)) {
			ret = err_set(e, 400, "InvalidPrefixListId.Malformed",
				      "Invalid id: \"%.64s\"", value);
		} else {
			snprintf(r->prefix_list_id, sizeof r->prefix_list_id, "%s", value);
		}
		snprintf(name, sizeof name, "%s%s.%u.Description", perm, list, idx[i]);
		if (ret == 0)
			ret = sg_read_description(ctx, name, r, e);
	}
	free(idx);
	return ret;
}

/* IpPermissions.N.Groups.M: groups by ID or (default VPC) name. */
static int sg_read_group_peers(struct ec2_ctx *ctx, const struct security_group_row *g,
			       const char *perm, const struct sg_rule_row *base,
			       struct sg_rule_vec *out, struct err *e)
{
	char name[192];
	unsigned *idx = NULL;
	int ret = 0;
	snprintf(name, sizeof name, "%sGroups", perm);
	size_t n = query_indices(&ctx->q, name, &idx);
	for (size_t i = 0; i < n && ret == 0; i++) {
		snprintf(name, sizeof name, "%sGroups.%u.GroupId", perm, idx[i]);
		const char *id = query_get(&ctx->q, name);
		snprintf(name, sizeof name, "%sGroups.%u.GroupName", perm, idx[i]);
		const char *group_name = query_get(&ctx->q, name);
		if (!id && !group_name) {
			ret = err_set(e, 400, "MissingParameter",
				      "A group pair needs a groupId or a groupName.");
			break;
		}
		struct sg_rule_row *r = sg_rule_vec_add(out, base);
		snprintf(name, sizeof name, "%sGroups.%u.Description", perm, idx[i]);
		ret = sg_read_peer_group(ctx, g, id, group_name, r, e);
		if (ret == 0)
			ret = sg_read_description(ctx, name, r, e);
	}
	free(idx);
	return ret;
}

/*
 * The rules a request names for group g: IpPermissions.N, or the flat
 * IpProtocol/FromPort/ToPort/CidrIp/SourceSecurityGroupName form.
 */
static int sg_read_rules(struct ec2_ctx *ctx, const struct security_group_row *g, int egress,
			 struct sg_rule_vec *out, struct err *e)
{
	struct sg_rule_row base;
	unsigned *idx = NULL;
	char perm[64], name[96];
	int ret = 0;
	memset(&base, 0, sizeof base);
	snprintf(base.group_id, sizeof base.group_id, "%s", g->id);
	snprintf(base.owner_id, sizeof base.owner_id, "%s", g->owner_id);
	base.egress = egress;
	size_t n = query_indices(&ctx->q, "IpPermissions", &idx);
	for (size_t i = 0; i < n && ret == 0; i++) {
		size_t before = out->n;
		snprintf(perm, sizeof perm, "IpPermissions.%u.", idx[i]);
		snprintf(name, sizeof name, "%sIpProtocol", perm);
		if (sg_read_protocol_ports(ctx, perm, query_get(&ctx->q, name), &base, e) < 0 ||
		    sg_read_peers(ctx, perm, "IpRanges", "CidrIp", &base, out, e) < 0 ||
		    sg_read_peers(ctx, perm, "Ipv6Ranges", "CidrIpv6", &base, out, e) < 0 ||
		    sg_read_peers(ctx, perm, "PrefixListIds", "PrefixListId", &base, out, e) < 0 ||
		    sg_read_group_peers(ctx, g, perm, &base, out, e) < 0)
			ret = -1;
		else if (out->n == before)
			ret = err_set(e, 400, "MissingParameter",
				      "IpPermissions.%u names no source or destination (IpRanges, Ipv6Ranges, PrefixListIds or Groups).",
				      idx[i]);
	}
	free(idx);
	if (ret < 0 || n)
		return ret;
	/* The flat form of the first API versions. */
	const char *protocol = query_get(&ctx->q, "IpProtocol");
	const char *cidr = query_get(&ctx->q, "CidrIp");
	const char *source = query_get(&ctx->q, "SourceSecurityGroupName");
	if (!protocol && !cidr && !source)
		return 0;
	if (sg_read_protocol_ports(ctx, "", protocol ? protocol : "-1", &base, e) < 0)
		return -1;
	if (cidr) {
		struct sg_rule_row *r = sg_rule_vec_add(out, &base);
		if (sg_check_cidr4(cidr, e) < 0)
			return -1;
		snprintf(r->cidr_ipv4, sizeof r->cidr_ipv4, "%.19s", cidr);
	}
	if (source)
		return sg_read_peer_group(ctx, g, NULL, source, sg_rule_vec_add(out, &base), e);
	if (!cidr)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter CidrIp or SourceSecurityGroupName");
	return 0;
}

/* The target group: GroupId, or GroupName in the default VPC (ingress only). */
static int sg_target(struct ec2_ctx *ctx, int by_name_too, struct security_group_row *g,
		     struct err *e)
{
	const char *id = query_get(&ctx->q, "GroupId");
	const char *name = by_name_too ? query_get(&ctx->q, "GroupName") : NULL;
	if (id && *id)
		return ec2_sg_owned(ctx, id, g, e);
	if (name && *name)
		return ec2_sg_by_name(ctx, name, g, e);
	return err_set(e, 400, "MissingParameter",
		       by_name_too ? "The request must contain the parameter groupName or groupId" :
				     "The request must contain the parameter groupId");
}

/* EC2's description of a rule in its Duplicate / NotFound messages. */
static void sg_rule_text(const struct sg_rule_row *r, char *out, size_t cap)
{
	const char *peer = r->cidr_ipv4[0] ? r->cidr_ipv4 : r->cidr_ipv6[0] ? r->cidr_ipv6 :
			   r->prefix_list_id[0] ? r->prefix_list_id : r->ref_group_id;
	char upper[8];
	size_t i = 0;
	for (; r->protocol[i] && i < sizeof upper - 1; i++)
		upper[i] = (char)toupper((unsigned char)r->protocol[i]);
	upper[i] = '\0';
	if (ec2_sg_rule_has_ports(r->protocol))
		snprintf(out, cap, "peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, upper,
			 r->from_port, r->to_port);
	else
		snprintf(out, cap, "peer: %s, %s, ALLOW", peer,
			 !strcmp(r->protocol, "-1") ? "ALL" : upper);
}

/* ---- writing rules -------------------------------------------------------------- */

void ec2_write_sg_rule(struct ec2_ctx *ctx, const struct sg_rule_row *r,
		       const struct tag_list *tags)
{
	struct xmlw *w = ctx->w;
	char arn[160];
	snprintf(arn, sizeof arn, "arn:aws:ec2:%s:%s:security-group-rule/%s", ctx->srv->region,
		 r->owner_id, r->id);
	xmlw_text(w, "securityGroupRuleId", r->id);
	xmlw_text(w, "groupId", r->group_id);
	xmlw_text(w, "groupOwnerId", r->owner_id);
	xmlw_bool(w, "isEgress", r->egress);
	xmlw_text(w, "ipProtocol", r->protocol);
	xmlw_int(w, "fromPort", r->from_port);
	xmlw_int(w, "toPort", r->to_port);
	if (r->cidr_ipv4[0])
		xmlw_text(w, "cidrIpv4", r->cidr_ipv4);
	if (r->cidr_ipv6[0])
		xmlw_text(w, "cidrIpv6", r->cidr_ipv6);
	if (r->prefix_list_id[0])
		xmlw_text(w, "prefixListId", r->prefix_list_id);
	if (r->ref_group_id[0]) {
		xmlw_start(w, "referencedGroupInfo");
		xmlw_text(w, "groupId", r->ref_group_id);
		xmlw_text(w, "userId", r->ref_owner_id);
		xmlw_end(w);
	}
	if (r->description[0])
		xmlw_text(w, "description", r->description);
	if (tags)
		ec2_write_tags(w, tags);
	xmlw_text(w, "securityGroupRuleArn", arn);
}

static int sg_same_permission(const struct sg_rule_row *a, const struct sg_rule_row *b)
{
	return !strcmp(a->protocol, b->protocol) && a->from_port == b->from_port &&
	       a->to_port == b->to_port;
}

/* The same rule: direction, protocol, ports and peer (not ID or description). */
static int sg_same_rule(const struct sg_rule_row *a, const struct sg_rule_row *b)
{
	return a->egress == b->egress && sg_same_permission(a, b) &&
	       !strcmp(a->cidr_ipv4, b->cidr_ipv4) && !strcmp(a->cidr_ipv6, b->cidr_ipv6) &&
	       !strcmp(a->prefix_list_id, b->prefix_list_id) &&
	       !strcmp(a->ref_group_id, b->ref_group_id);
}

/* Writes one direction's rules, folded by protocol and ports, as EC2 does. */
void ec2_write_ip_permissions(struct xmlw *w, const char *name, const struct sg_rule_row *rules,
			      size_t n, int egress)
{
	static const char *const lists[] = { "groups", "ipRanges", "ipv6Ranges", "prefixListIds" };
	unsigned char *done = xcalloc(n + 1, 1);
	xmlw_start(w, name);
	for (size_t i = 0; i < n; i++) {
		if (done[i] || rules[i].egress != egress)
			continue;
		xmlw_start(w, "item");
		xmlw_text(w, "ipProtocol", rules[i].protocol);
		if (ec2_sg_rule_has_ports(rules[i].protocol)) {
			xmlw_int(w, "fromPort", rules[i].from_port);
			xmlw_int(w, "toPort", rules[i].to_port);
		}
		for (size_t list = 0; list < 4; list++) {
			xmlw_start(w, lists[list]);
			for (size_t j = i; j < n; j++) {
				const struct sg_rule_row *r = &rules[j];
				if (r->egress != egress || !sg_same_permission(&rules[i], r))
					continue;
				const char *peer = list == 0 ? r->ref_group_id : list == 1 ? r->cidr_ipv4 :
						   list == 2 ? r->cidr_ipv6 : r->prefix_list_id;
				if (!peer[0])
					continue;
				done[j] = 1;
				xmlw_start(w, "item");
				if (list == 0) {
					xmlw_text(w, "userId", r->ref_owner_id);
					xmlw_text(w, "groupId", r->ref_group_id);
				} else {
					xmlw_text(w, list == 1 ? "cidrIp" : list == 2 ? "cidrIpv6" :
								 "prefixListId", peer);
				}
				if (r->description[0])
					xmlw_text(w, "description", r->description);
				xmlw_end(w);
			}
			xmlw_end(w);
		}
		xmlw_end(w);
	}
	xmlw_end(w);
	free(done);
}

/* ---- Authorize ------------------------------------------------------------------- */

/* In the transaction: refuses duplicates (stored or in the request) and the quota. */
static int sg_authorize_check(struct ec2_ctx *ctx, const struct security_group_row *g,
			      int egress, const struct sg_rule_vec *add, struct err *e)
{
	struct sg_rule_row *existing = NULL, found;
	size_t nexisting = 0, count = 0;
	char text[200];
	if (catalog_sg_rules(ctx->srv->cat, g->id, &existing, &nexisting, e) < 0)
		return -1;
	for (size_t i = 0; i < nexisting; i++)
		count += existing[i].egress == egress;
	free(existing);
	if (count + add->n > SG_RULES_MAX)
		return err_set(e, 400, "RulesPerSecurityGroupLimitExceeded",
			       "The maximum number of rules per security group has been reached.");
	for (size_t i = 0; i < add->n; i++) {
		int dup = catalog_sg_rule_find(ctx->srv->cat, &add->items[i], &found, e);
		if (dup < 0)
			return -1;
		for (size_t j = 0; j < i && !dup; j++)
			dup = sg_same_rule(&add->items[i], &add->items[j]);
		if (dup) {
			sg_rule_text(&add->items[i], text, sizeof text);
			return err_set(e, 400, "InvalidPermission.Duplicate",
				       "the specified rule \"%s\" already exists", text);
		}
	}
	return 0;
}

static int sg_authorize(struct ec2_ctx *ctx, int egress, struct err *e)
{
	struct security_group_row g;
	struct sg_rule_vec add = { NULL, 0 };
	struct tag_list tags = { NULL, 0 };
	int ret = -1;
	if (sg_target(ctx, !egress, &g, e) < 0 || sg_read_rules(ctx, &g, egress, &add, e) < 0 ||
	    ec2_tag_specifications(ctx, "security-group-rule", &tags, e) < 0)
		goto out;
	if (!add.n) {
		err_set(e, 400, "MissingParameter", "The request must contain the parameter ipPermissions");
		goto out;
	}
	for (size_t i = 0; i < add.n; i++)
		ids_resource("sgr", add.items[i].id);
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (sg_authorize_check(ctx, &g, egress, &add, e) < 0)
		goto rollback;
	for (size_t i = 0; i < add.n; i++)
		if (catalog_sg_rule_insert(ctx->srv->cat, &add.items[i], e) < 0 ||
		    ec2_tags_put(ctx, add.items[i].id, "security-group-rule", &tags, e) < 0)
			goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_network_changed(ctx, g.vpc_id);
	ec2_return_true(ctx);
	xmlw_start(ctx->w, "securityGroupRuleSet");
	for (size_t i = 0; i < add.n; i++) {
		xmlw_start(ctx->w, "item");
		ec2_write_sg_rule(ctx, &add.items[i], &tags);
		xmlw_end(ctx->w);
	}
	xmlw_end(ctx->w);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	free(add.items);
	tag_list_release(&tags);
	return ret;
}

int ec2_authorize_security_group_ingress(struct ec2_ctx *ctx, struct err *e)
{
	return sg_authorize(ctx, 0, e);
}

int ec2_authorize_security_group_egress(struct ec2_ctx *ctx, struct err *e)
{
	return sg_authorize(ctx, 1, e);
}

/* ---- Revoke ------------------------------------------------------------------------ */

/*
 * The rule id of group g (and direction egress, unless -1); its
 * Malformed / NotFound error otherwise.
 */
static int sg_rule_of(struct ec2_ctx *ctx, const struct security_group_row *g, const char *id,
		      int egress, struct sg_rule_row *r, struct err *e)
{
	int found = id && ids_valid_resource("sgr", id) ?
			    catalog_sg_rule_get(ctx->srv->cat, id, r, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(r->group_id, g->id) != 0 || (egress >= 0 && r->egress != egress))
		return ec2_id_refuse(&ec2_kind_sg_rule, id ? id : "", e);
	return 0;
}

/* The stored rules a revoke names: by SecurityGroupRuleId.N or by permission. */
static int sg_revoke_targets(struct ec2_ctx *ctx, const struct security_group_row *g, int egress,
			     struct sg_rule_vec *out, struct err *e)
{
	const char **ids = NULL;
	struct sg_rule_vec named = { NULL, 0 };
	struct sg_rule_row found;
	char text[200];
	int ret = 0;
	size_t nids = query_list(&ctx->q, "SecurityGroupRuleId", &ids);
	for (size_t i = 0; i < nids && ret == 0; i++) {
		ret = sg_rule_of(ctx, g, ids[i], egress, &found, e);
		if (ret == 0)
			sg_rule_vec_add(out, &found);
	}
	free(ids);
	if (ret == 0 && sg_read_rules(ctx, g, egress, &named, e) < 0)
		ret = -1;
	for (size_t i = 0; i < named.n && ret == 0; i++) {
		int hit = catalog_sg_rule_find(ctx->srv->cat, &named.items[i], &found, e);
		if (hit < 0) {
			ret = -1;
		} else if (!hit) {
			sg_rule_text(&named.items[i], text, sizeof text);
			ret = err_set(e, 400, "InvalidPermission.NotFound",
				      "The specified rule \"%s\" does not exist in this security group.",
				      text);
		} else {
			sg_rule_vec_add(out, &found);
		}
	}
	free(named.items);
	if (ret == 0 && !out->n)
		ret = err_set(e, 400, "MissingParameter",
			      "The request must contain the parameter ipPermissions or securityGroupRuleIds");
	return ret;
}

static int sg_revoke(struct ec2_ctx *ctx, int egress, struct err *e)
{
	struct security_group_row g;
	struct sg_rule_vec gone = { NULL, 0 };
	char default_vpc[ID_MAX];
	int ret = -1;
	/* Made before the transaction: a rule may name a group of it by name. */
	if (ec2_default_vpc(ctx, default_vpc, e) < 0 || sg_target(ctx, !egress, &g, e) < 0 ||
	    catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	/* Looked up in the transaction, so a concurrent revoke cannot race us. */
	if (sg_revoke_targets(ctx, &g, egress, &gone, e) < 0)
		goto rollback;
	for (size_t i = 0; i < gone.n; i++)
		if (catalog_sg_rule_delete(ctx->srv->cat, gone.items[i].id, e) < 0)
			goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_network_changed(ctx, g.vpc_id);
	ec2_return_true(ctx);
	xmlw_start(ctx->w, "revokedSecurityGroupRuleSet");
	for (size_t i = 0; i < gone.n; i++) {
		const struct sg_rule_row *r = &gone.items[i];
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, "securityGroupRuleId", r->id);
		xmlw_text(ctx->w, "groupId", r->group_id);
		xmlw_bool(ctx->w, "isEgress", r->egress);
		xmlw_text(ctx->w, "ipProtocol", r->protocol);
		xmlw_int(ctx->w, "fromPort", r->from_port);
		xmlw_int(ctx->w, "toPort", r->to_port);
		xmlw_text_opt(ctx->w, "cidrIpv4", r->cidr_ipv4[0] ? r->cidr_ipv4 : NULL);
		xmlw_text_opt(ctx->w, "cidrIpv6", r->cidr_ipv6[0] ? r->cidr_ipv6 : NULL);
		xmlw_text_opt(ctx->w, "prefixListId", r->prefix_list_id[0] ? r->prefix_list_id : NULL);
		xmlw_text_opt(ctx->w, "referencedGroupId", r->ref_group_id[0] ? r->ref_group_id : NULL);
		xmlw_text_opt(ctx->w, "description", r->description[0] ? r->description : NULL);
		xmlw_end(ctx->w);
	}
	xmlw_end(ctx->w);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	free(gone.items);
	return ret;
}

int ec2_revoke_security_group_ingress(struct ec2_ctx *ctx, struct err *e)
{
	return sg_revoke(ctx, 0, e);
}

int ec2_revoke_security_group_egress(struct ec2_ctx *ctx, struct err *e)
{
	return sg_revoke(ctx, 1, e);
}

/* ---- DescribeSecurityGroupRules ----------------------------------------------------- */

static int sg_rule_filter_of(struct ec2_listing *l, const struct query_filter *f,
			     const void *row)
{
	const struct sg_rule_row *r = row;
	(void)l;
	return ec2_filter_hit(f, !strcmp(f->name, "group-id") ? r->group_id : r->id);
}

static int describe_rule_visit(void *arg, const struct sg_rule_row *r)
{
	struct ec2_listing *l = arg;
	struct tag_list tags = { NULL, 0 };
	if (ec2_listing_wants(l, r->id) && ec2_listing_match(l, r->id, &tags, sg_rule_filter_of, r)) {
		xmlw_start(l->ctx->w, "item");
		ec2_write_sg_rule(l->ctx, r, &tags);
		xmlw_end(l->ctx->w);
	}
	tag_list_release(&tags);
	return ec2_listing_done(l);
}

static int describe_rules_walk(struct ec2_listing *l)
{
	return catalog_sg_rule_each(l->ctx->srv->cat, l->ctx->account, l->page.after,
				    describe_rule_visit, l, l->e);
}

int ec2_describe_security_group_rules(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const names[] = { "group-id", "security-group-rule-id", NULL };
	return ec2_listing_run(ctx, &ec2_kind_sg_rule, "SecurityGroupRuleId", names,
			       "securityGroupRuleSet", describe_rules_walk, NULL, e);
}

/* ---- ModifySecurityGroupRules --------------------------------------------------------- */

/* SecurityGroupRule.N.SecurityGroupRule.*: the rule's new content over r. */
static int sg_read_rule_request(struct ec2_ctx *ctx, const struct security_group_row *g,
				const char *prefix, struct sg_rule_row *r, struct err *e)
{
	static const char *const fields[] = { "CidrIpv4", "CidrIpv6", "PrefixListId",
					      "ReferencedGroupId" };
	char name[160];
	const char *peers[4];
	int npeers = 0;
	snprintf(name, sizeof name, "%sIpProtocol", prefix);
	if (sg_read_protocol_ports(ctx, prefix, query_get(&ctx->q, name), r, e) < 0)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "%s%s", prefix, fields[i]);
		peers[i] = query_get(&ctx->q, name);
		npeers += peers[i] != NULL;
	}
	if (npeers != 1)
		return err_set(e, 400, "InvalidParameterCombination",
			       "A rule needs exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId.");
	r->cidr_ipv4[0] = r->cidr_ipv6[0] = r->prefix_list_id[0] = '\0';
	r->ref_group_id[0] = r->ref_owner_id[0] = r->description[0] = '\0';
	if (peers[0]) {
		if (sg_check_cidr4(peers[0], e) < 0)
			return -1;
		snprintf(r->cidr_ipv4, sizeof r->cidr_ipv4, "%.19s", peers[0]);
	} else if (peers[1]) {
		if (sg_check_cidr6(peers[1], e) < 0)
			return -1;
		snprintf(r->cidr_ipv6, sizeof r->cidr_ipv6, "%.47s", peers[1]);
	} else if (peers[2]) {
		if (!ids_valid_resource("pl", peers[2]))
			return err_set(e, 400, "InvalidPrefixListId.Malformed", "Invalid id: \"%.64s\"",
				       peers[2]);
		snprintf(r->prefix_list_id, sizeof r->prefix_list_id, "%s", peers[2]);
	} else if (sg_read_peer_group(ctx, g, peers[3], NULL, r, e) < 0) {
		return -1;
	}
	snprintf(name, sizeof name, "%sDescription", prefix);
	return sg_read_description(ctx, name, r, e);
}

int ec2_modify_security_group_rules(struct ec2_ctx *ctx, struct err *e)
{
	struct security_group_row g;
	struct sg_rule_vec changed = { NULL, 0 };
	unsigned *idx = NULL;
	char name[128];
	int ret = -1;
	const char *group_id = ec2_require(ctx, "GroupId", e);
	size_t n = query_indices(&ctx->q, "SecurityGroupRule", &idx);
	if (!group_id || ec2_sg_owned(ctx, group_id, &g, e) < 0)
		goto out;
	if (!n) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter SecurityGroupRule");
		goto out;
	}
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct sg_rule_row r, other;
		snprintf(name, sizeof name, "SecurityGroupRule.%u.SecurityGroupRuleId", idx[i]);
		if (sg_rule_of(ctx, &g, query_get(&ctx->q, name), -1, &r, e) < 0)
			goto rollback;
		snprintf(name, sizeof name, "SecurityGroupRule.%u.SecurityGroupRule.", idx[i]);
		if (sg_read_rule_request(ctx, &g, name, &r, e) < 0)
			goto rollback;
		int dup = catalog_sg_rule_find(ctx->srv->cat, &r, &other, e);
		if (dup < 0)
			goto rollback;
		if (dup && strcmp(other.id, r.id) != 0) {
			char text[200];
			sg_rule_text(&r, text, sizeof text);
			err_set(e, 400, "InvalidPermission.Duplicate",
				"the specified rule \"%s\" already exists", text);
			goto rollback;
		}
		if (catalog_sg_rule_update(ctx->srv->cat, &r, e) < 0)
			goto rollback;
		sg_rule_vec_add(&changed, &r);
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_network_changed(ctx, g.vpc_id);
	ec2_return_true(ctx);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	free(idx);
	free(changed.items);
	return ret;
}

/* ---- UpdateSecurityGroupRuleDescriptionsIngress/Egress -------------------------------- */

static int sg_update_descriptions(struct ec2_ctx *ctx, int egress, struct err *e)
{
	struct security_group_row g;
	struct sg_rule_vec named = { NULL, 0 };
	unsigned *idx = NULL;
	char name[128], text[200];
	int ret = -1;
	size_t n = query_indices(&ctx->q, "SecurityGroupRuleDescription", &idx);
	if (sg_target(ctx, 1, &g, e) < 0 || sg_read_rules(ctx, &g, egress, &named, e) < 0)
		goto out;
	/* SecurityGroupRuleDescription.N: by rule ID. */
	for (size_t i = 0; i < n; i++) {
		struct sg_rule_row r;
		snprintf(name, sizeof name, "SecurityGroupRuleDescription.%u.SecurityGroupRuleId",
			 idx[i]);
		if (sg_rule_of(ctx, &g, query_get(&ctx->q, name), egress, &r, e) < 0)
			goto out;
		r.description[0] = '\0';
		snprintf(name, sizeof name, "SecurityGroupRuleDescription.%u.Description", idx[i]);
		if (sg_read_description(ctx, name, &r, e) < 0)
			goto out;
		sg_rule_vec_add(&named, &r);
	}
	if (!named.n) {
		err_set(e, 400, "MissingParameter", "The request must contain the parameter ipPermissions");
		goto out;
	}
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	for (size_t i = 0; i < named.n; i++) {
		struct sg_rule_row stored;
		int found = named.items[i].id[0] ? 1 :
			    catalog_sg_rule_find(ctx->srv->cat, &named.items[i], &stored, e);
		if (found < 0)
			goto rollback;
		if (!found) {
			sg_rule_text(&named.items[i], text, sizeof text);
			err_set(e, 400, "InvalidPermission.NotFound",
				"The specified rule \"%s\" does not exist in this security group.", text);
			goto rollback;
		}
		if (!named.items[i].id[0]) {
			snprintf(stored.description, sizeof stored.description, "%s",
				 named.items[i].description);
			named.items[i] = stored;
		}
		if (catalog_sg_rule_update(ctx->srv->cat, &named.items[i], e) < 0)
			goto rollback;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_return_true(ctx);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	free(idx);
	free(named.items);
	return ret;
}

int ec2_update_security_group_rule_descriptions_ingress(struct ec2_ctx *ctx, struct err *e)
{
	return sg_update_descriptions(ctx, 0, e);
}

int ec2_update_security_group_rule_descriptions_egress(struct ec2_ctx *ctx, struct err *e)
{
	return sg_update_descriptions(ctx, 1, e);
}
