/*
 * ec2: the EC2 Query protocol: parameters in, action dispatch, the XML
 * success and error envelopes, and helpers the handlers share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ec2/ec2.h"
#include "ec2/internal.h"
#include "api/filter.h"
#include "api/respcache.h"
#include "catalog/catalog.h"
#include "util/ids.h"
#include "util/codec.h"

static const struct {
	const char *name;
	ec2_handler_fn fn;
} ec2_actions[] = {
	{ "AllocateAddress", ec2_allocate_address },
	{ "AssociateAddress", ec2_associate_address },
	{ "AttachInternetGateway", ec2_attach_internet_gateway },
	{ "AttachVolume", ec2_attach_volume },
	{ "AuthorizeSecurityGroupEgress", ec2_authorize_security_group_egress },
	{ "AuthorizeSecurityGroupIngress", ec2_authorize_security_group_ingress },
	{ "CopyImage", ec2_copy_image },
	{ "CopySnapshot", ec2_copy_snapshot },
	{ "CreateDefaultSubnet", ec2_create_default_subnet },
	{ "CreateDefaultVpc", ec2_create_default_vpc },
	{ "CreateImage", ec2_create_image },
	{ "CreateInternetGateway", ec2_create_internet_gateway },
	{ "CreateKeyPair", ec2_create_key_pair },
	{ "CreateSecurityGroup", ec2_create_security_group },
	{ "CreateSnapshot", ec2_create_snapshot },
	{ "CreateSnapshots", ec2_create_snapshots },
	{ "CreateSubnet", ec2_create_subnet },
	{ "CreateTags", ec2_create_tags },
	{ "CreateVolume", ec2_create_volume },
	{ "CreateVpc", ec2_create_vpc },
	{ "DeleteInternetGateway", ec2_delete_internet_gateway },
	{ "DeleteKeyPair", ec2_delete_key_pair },
	{ "DeleteSecurityGroup", ec2_delete_security_group },
	{ "DeleteSnapshot", ec2_delete_snapshot },
	{ "DeleteSubnet", ec2_delete_subnet },
	{ "DeleteTags", ec2_delete_tags },
	{ "DeleteVolume", ec2_delete_volume },
	{ "DeleteVpc", ec2_delete_vpc },
	{ "DeregisterImage", ec2_deregister_image },
	{ "DescribeAccountAttributes", ec2_describe_account_attributes },
	{ "DescribeAddresses", ec2_describe_addresses },
	{ "DescribeAddressesAttribute", ec2_describe_addresses_attribute },
	{ "DescribeAvailabilityZones", ec2_describe_availability_zones },
	{ "DescribeDhcpOptions", ec2_describe_dhcp_options },
	{ "DescribeImageAttribute", ec2_describe_image_attribute },
	{ "DescribeImages", ec2_describe_images },
	{ "DescribeInstanceAttribute", ec2_describe_instance_attribute },
	{ "DescribeInstanceCreditSpecifications", ec2_describe_instance_credit_specifications },
	{ "DescribeInstanceStatus", ec2_describe_instance_status },
	{ "DescribeInstanceTypeOfferings", ec2_describe_instance_type_offerings },
	{ "DescribeInstanceTypes", ec2_describe_instance_types },
	{ "DescribeInstances", ec2_describe_instances },
	{ "DescribeInternetGateways", ec2_describe_internet_gateways },
	{ "DescribeKeyPairs", ec2_describe_key_pairs },
	{ "DescribeNetworkAcls", ec2_describe_network_acls },
	{ "DescribeNetworkInterfaces", ec2_describe_network_interfaces },
	{ "DescribeRegions", ec2_describe_regions },
	{ "DescribeRouteTables", ec2_describe_route_tables },
	{ "DescribeSecurityGroupRules", ec2_describe_security_group_rules },
	{ "DescribeSecurityGroups", ec2_describe_security_groups },
	{ "DescribeSnapshotAttribute", ec2_describe_snapshot_attribute },
	{ "DescribeSnapshots", ec2_describe_snapshots },
	{ "DescribeSubnets", ec2_describe_subnets },
	{ "DescribeTags", ec2_describe_tags },
	{ "DescribeVolumeStatus", ec2_describe_volume_status },
	{ "DescribeVolumes", ec2_describe_volumes },
	{ "DescribeVolumesModifications", ec2_describe_volumes_modifications },
	{ "DescribeVpcAttribute", ec2_describe_vpc_attribute },
	{ "DescribeVpcs", ec2_describe_vpcs },
	{ "DetachInternetGateway", ec2_detach_internet_gateway },
	{ "DetachVolume", ec2_detach_volume },
	{ "DisableImageDeprecation", ec2_disable_image_deprecation },
	{ "DisassociateAddress", ec2_disassociate_address },
	{ "EnableImageDeprecation", ec2_enable_image_deprecation },
	{ "GetConsoleOutput", ec2_get_console_output },
	{ "GetConsoleScreenshot", ec2_get_console_screenshot },
	{ "GetInstanceUefiData", ec2_get_instance_uefi_data },
	{ "ImportKeyPair", ec2_import_key_pair },
	{ "ModifyImageAttribute", ec2_modify_image_attribute },
	{ "ModifyInstanceAttribute", ec2_modify_instance_attribute },
	{ "ModifySecurityGroupRules", ec2_modify_security_group_rules },
	{ "ModifySnapshotAttribute", ec2_modify_snapshot_attribute },
	{ "ModifySubnetAttribute", ec2_modify_subnet_attribute },
	{ "ModifyVolume", ec2_modify_volume },
	{ "ModifyVpcAttribute", ec2_modify_vpc_attribute },
	{ "RebootInstances", ec2_reboot_instances },
	{ "RegisterImage", ec2_register_image },
	{ "ReleaseAddress", ec2_release_address },
	{ "ResetImageAttribute", ec2_reset_image_attribute },
	{ "ResetSnapshotAttribute", ec2_reset_snapshot_attribute },
	{ "RevokeSecurityGroupEgress", ec2_revoke_security_group_egress },
	{ "RevokeSecurityGroupIngress", ec2_revoke_security_group_ingress },
	{ "RunInstances", ec2_run_instances },
	{ "StartInstances", ec2_start_instances },
	{ "StopInstances", ec2_stop_instances },
	{ "TerminateInstances", ec2_terminate_instances },
	{ "UpdateSecurityGroupRuleDescriptionsEgress", ec2_update_security_group_rule_descriptions_egress },
	{ "UpdateSecurityGroupRuleDescriptionsIngress", ec2_update_security_group_rule_descriptions_ingress },
};

static void ec2_error_response(struct request *req, const struct err *e)
{
	api_note_error(req, e);
	struct xmlw *w = xmlw_new_plain("Response");
	xmlw_start(w, "Errors");
	xmlw_start(w, "Error");
	xmlw_text(w, "Code", e->code);
	xmlw_text(w, "Message", e->message);
	xmlw_end(w);
	xmlw_end(w);
	xmlw_text(w, "RequestID", req->request_id);
	buf_reset(&req->response);
	xmlw_finish(w, &req->response);
	req->status = e->status ? e->status : 500;
	req->content_type = "text/xml;charset=UTF-8";
}

void ec2_return_true(struct ec2_ctx *ctx)
{
	xmlw_text(ctx->w, "return", "true");
}

void ec2_write_tags(struct xmlw *w, const struct tag_list *tags)
{
	/*
	 * EC2 leaves out the tag set of a resource without tags, and clients
	 * tell "untagged" by its absence (boto3: "Tags" not in the item).
	 */
	if (!tags->count)
		return;
	xmlw_start(w, "tagSet");
	for (size_t i = 0; i < tags->count; i++) {
		xmlw_start(w, "item");
		xmlw_text(w, "key", tags->items[i].key);
		xmlw_text(w, "value", tags->items[i].value);
		xmlw_end(w);
	}
	xmlw_end(w);
}

int ec2_kms_needs_encrypted(struct err *e)
{
	return err_set(e, 400, "InvalidParameterDependency",
		       "The parameter KmsKeyId requires the parameter Encrypted to be set.");
}

const char *ec2_require(struct ec2_ctx *ctx, const char *name, struct err *e)
{
	const char *v = query_get(&ctx->q, name);
	if (!v || !*v) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter %s", name);
		return NULL;
	}
	return v;
}

void ec2_join_ids(const char *const *ids, size_t n, char *out, size_t cap)
{
	static const char more[] = ", ...";
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t need = strlen(ids[i]) + (i ? 2 : 0);
		/* Room for this ID, and for the ellipsis should the next not fit. */
		if (len + need + (i + 1 < n ? sizeof more - 1 : 0) >= cap) {
			if (len + sizeof more <= cap)
				memcpy(out + len, more, sizeof more);
			return;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "", ids[i]);
	}
}

size_t ec2_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int ec2_check_tag(const char *key, const char *value, struct err *e)
{
	size_t klen = ec2_utf8_chars(key);
	if (klen == 0 || klen > 127)
		return err_set(e, 400, "InvalidParameterValue",
			       "Tag key must be between 1 and 127 characters long.");
	if (!strncasecmp(key, "aws:", 4))
		return err_set(e, 400, "InvalidParameterValue",
			       "Tag keys starting with 'aws:' are reserved for internal use");
	if (value && ec2_utf8_chars(value) > 256)
		return err_set(e, 400, "InvalidParameterValue",
			       "Tag value for key '%.127s' must be at most 256 characters long.",
			       key);
	return 0;
}

int ec2_tag_specifications_for(struct ec2_ctx *ctx, const char *const *types,
			       struct tag_list *const *lists, size_t ntypes,
			       struct err *e)
{
	unsigned *specs = NULL;
	size_t nspecs = query_indices(&ctx->q, "TagSpecification", &specs);
	char name[96];
	int ret = 0;
	for (size_t i = 0; i < nspecs && ret == 0; i++) {
		snprintf(name, sizeof name, "TagSpecification.%u.ResourceType", specs[i]);
		const char *type = query_get(&ctx->q, name);
		struct tag_list *tags = NULL;
		for (size_t t = 0; type && t < ntypes; t++)
			if (!strcmp(type, types[t]))
				tags = lists[t];
		if (!tags) {
			ret = err_set(e, 400, "InvalidParameterValue",
				      "'%.64s' is not a valid taggable resource type for this operation.",
				      type ? type : "");
			break;
		}
		snprintf(name, sizeof name, "TagSpecification.%u.Tag", specs[i]);
		unsigned *idx = NULL;
		size_t n = query_indices(&ctx->q, name, &idx);
		/* EC2's answer to a specification without tags (Packer met it). */
		if (n == 0)
			ret = err_set(e, 400, "InvalidTagKey.Malformed",
				      "Tag specification must have at least one tag");
		for (size_t j = 0; j < n && ret == 0; j++) {
			char kname[128], vname[128];
			snprintf(kname, sizeof kname, "%s.%u.Key", name, idx[j]);
			snprintf(vname, sizeof vname, "%s.%u.Value", name, idx[j]);
			const char *key = query_get(&ctx->q, kname);
			const char *value = query_get(&ctx->q, vname);
			if (!key)
				ret = err_set(e, 400, "MissingParameter",
					      "The request must contain the parameter %s", kname);
			else if (ec2_check_tag(key, value, e) < 0)
				ret = -1;
			else
				tag_list_add(tags, key, value ? value : "");
		}
		free(idx);
		if (ret == 0 && tags->count > 50)
			ret = err_set(e, 400, "TagLimitExceeded",
				      "The maximum number of tags per resource is 50.");
	}
	free(specs);
	return ret;
}

int ec2_tag_specifications(struct ec2_ctx *ctx, const char *resource_type,
			   struct tag_list *tags, struct err *e)
{
	return ec2_tag_specifications_for(ctx, &resource_type, &tags, 1, e);
}

/* ---- permission attributes ---------------------------------------------- */

void ec2_permission_change_release(struct ec2_permission_change *pc)
{
	for (size_t i = 0; i < pc->nadd; i++)
		free(pc->add[i]);
	for (size_t i = 0; i < pc->nremove; i++)
		free(pc->remove[i]);
	free(pc->add);
	free(pc->remove);
	memset(pc, 0, sizeof *pc);
}

static int permission_push(const struct ec2_permission_form *form,
			   struct ec2_permission_change *pc, int add,
			   const char *grantee, int is_group, struct err *e)
{
	char ***list = add ? &pc->add : &pc->remove;
	size_t *n = add ? &pc->nadd : &pc->nremove;
	if (form->check(grantee, is_group, e) < 0)
		return -1;
	if (pc->nadd + pc->nremove >= form->max)
		return err_set(e, 400, "InvalidParameterValue",
			       "At most %zu permissions can change in one request.", form->max);
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = xstrdup(grantee);
	return 0;
}

/* <structured>.Add.N.{UserId,Group} and .Remove.N.{UserId,Group} */
static int permission_structured(struct ec2_ctx *ctx,
				 const struct ec2_permission_form *form,
				 struct ec2_permission_change *pc, struct err *e)
{
	static const char *const ops[] = { "Add", "Remove" };
	int ret = 0;
	for (int op = 0; op < 2 && ret == 0; op++) {
		char prefix[64], name[96];
		unsigned *idx = NULL;
		snprintf(prefix, sizeof prefix, "%s.%s", form->structured, ops[op]);
		size_t n = query_indices(&ctx->q, prefix, &idx);
		for (size_t i = 0; i < n && ret == 0; i++) {
			snprintf(name, sizeof name, "%s.%u.UserId", prefix, idx[i]);
			const char *user = query_get(&ctx->q, name);
			snprintf(name, sizeof name, "%s.%u.Group", prefix, idx[i]);
			const char *group = query_get(&ctx->q, name);
			if ((user && permission_push(form, pc, op == 0, user, 0, e) < 0) ||
			    (group && permission_push(form, pc, op == 0, group, 1, e) < 0))
				ret = -1;
		}
		free(idx);
	}
	return ret;
}

static int permission_named(const struct ec2_permission_change *pc,
			    const char *grantee)
{
	for (size_t i = 0; i < pc->nadd; i++)
		if (!strcmp(pc->add[i], grantee))
			return 1;
	for (size_t i = 0; i < pc->nremove; i++)
		if (!strcmp(pc->remove[i], grantee))
			return 1;
	return 0;
}

/* One flat grantee: pushed under OperationType, or checked as a restatement. */
static int permission_flat_one(const struct ec2_permission_form *form,
			       struct ec2_permission_change *pc, const char *op,
			       const char *grantee, int is_group, const char *param,
			       struct err *e)
{
	if (op)
		return permission_push(form, pc, !strcmp(op, "add"), grantee, is_group, e);
	if (form->check(grantee, is_group, e) < 0)
		return -1;
	if (!permission_named(pc, grantee))
		return err_set(e, 400, "InvalidParameterCombination",
			       "%s.N without OperationType can only repeat the %s change, which does not name '%.64s'.",
			       param, form->structured, grantee);
	return 0;
}

int ec2_permission_change_read(struct ec2_ctx *ctx,
			       const struct ec2_permission_form *form,
			       struct ec2_permission_change *pc, struct err *e)
{
	const char *op = query_get(&ctx->q, "OperationType");
	const char **users = NULL, **groups = NULL;
	size_t nusers = query_list(&ctx->q, "UserId", &users);
	size_t ngroups = query_list(&ctx->q, "UserGroup", &groups);
	int ret = permission_structured(ctx, form, pc, e);
	if (ret == 0 && op && strcmp(op, "add") != 0 && strcmp(op, "remove") != 0)
		ret = err_set(e, 400, "InvalidParameterValue",
			      "Value (%.32s) for parameter operationType is invalid. Expected: 'add' or 'remove'.",
			      op);
	if (ret == 0 && !op && (nusers || ngroups) && !pc->nadd && !pc->nremove)
		ret = err_set(e, 400, "MissingParameter",
			      "The request must contain the parameter OperationType");
	for (size_t i = 0; i < nusers && ret == 0; i++)
		ret = permission_flat_one(form, pc, op, users[i], 0, "UserId", e);
	for (size_t i = 0; i < ngroups && ret == 0; i++)
		ret = permission_flat_one(form, pc, op, groups[i], 1, "UserGroup", e);
	free(users);
	free(groups);
	return ret;
}

int ec2_page_read(struct ec2_ctx *ctx, long long min, long long max,
		  struct ec2_page *page, struct err *e)
{
	memset(page, 0, sizeof *page);
	if (query_get_int(&ctx->q, "MaxResults", min, max, &page->max_results, e) < 0) {
		e->status = 0;
		return err_set(e, 400, "InvalidParameterValue",
			       "Value ( %.32s ) for parameter maxResults is invalid. Expecting a value between %lld and %lld.",
			       query_get(&ctx->q, "MaxResults"), min, max);
	}
	const char *token = query_get(&ctx->q, "NextToken");
	if (token && *token) {
		struct buf raw = BUF_INIT;
		if (codec_unbase64(token, strlen(token), &raw) < 0 ||
		    raw.len < 4 || raw.len >= sizeof page->after + 3 ||
		    memcmp(raw.data, "v1:", 3) != 0 ||
		    memchr(raw.data, '\0', raw.len)) {
			buf_release(&raw);
			return err_set(e, 400, "InvalidNextToken",
				       "The token '%.64s' is not valid.", token);
		}
		snprintf(page->after, sizeof page->after, "%s", raw.data + 3);
		buf_release(&raw);
	}
	return 0;
}

void ec2_page_write_token(struct ec2_ctx *ctx, const char *key)
{
	struct buf raw = BUF_INIT, token = BUF_INIT;
	buf_printf(&raw, "v1:%s", key);
	codec_base64((const unsigned char *)raw.data, raw.len, &token);
	xmlw_text(ctx->w, "nextToken", token.data);
	buf_release(&raw);
	buf_release(&token);
}

int ec2_describe_regions(struct ec2_ctx *ctx, struct err *e)
{
	(void)e;
	struct buf endpoint = BUF_INIT;
	const char *host = ctx->req->header(ctx->req, "Host");
	buf_printf(&endpoint, "%s", host ? host : "127.0.0.1");
	xmlw_start(ctx->w, "regionInfo");
	xmlw_start(ctx->w, "item");
	xmlw_text(ctx->w, "regionName", ctx->srv->region);
	xmlw_text(ctx->w, "regionEndpoint", endpoint.data);
	xmlw_text(ctx->w, "optInStatus", "opt-in-not-required");
	xmlw_end(ctx->w);
	xmlw_end(ctx->w);
	buf_release(&endpoint);
	return 0;
}

/* A zone's field for a DescribeAvailabilityZones filter; NULL for an unknown name. */
static const char *ec2_zone_field(struct ec2_ctx *ctx, size_t index, const char *name,
				  char zone_id[32])
{
	if (!strcmp(name, "zone-name"))
		return ctx->srv->zones[index];
	if (!strcmp(name, "zone-id"))
		return zone_id;
	if (!strcmp(name, "region-name") || !strcmp(name, "group-name") ||
	    !strcmp(name, "network-border-group"))
		return ctx->srv->region;
	if (!strcmp(name, "state"))
		return "available";
	if (!strcmp(name, "zone-type"))
		return "availability-zone";
	if (!strcmp(name, "opt-in-status"))
		return "opt-in-not-required";
	return NULL;
}

int ec2_describe_availability_zones(struct ec2_ctx *ctx, struct err *e)
{
	struct query_filter *filters = NULL;
	const char **names = NULL, **ids = NULL;
	size_t nfilters = 0, nnames = query_list(&ctx->q, "ZoneName", &names);
	size_t nids = query_list(&ctx->q, "ZoneId", &ids);
	char zone_id[32];
	int ret = -1;
	if (query_filters(&ctx->q, &filters, &nfilters, e) < 0)
		goto out;
	for (size_t i = 0; i < nfilters; i++)
		if (!ec2_zone_field(ctx, 0, filters[i].name, zone_id) &&
		    strcmp(filters[i].name, "message")) {
			err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				filters[i].name);
			goto out;
		}
	for (size_t i = 0; i < nnames + nids; i++) {
		const char *z = i < nnames ? names[i] : ids[i - nnames];
		if ((i < nnames ? ec2_zone_index(ctx->srv, z) : ec2_zone_id_index(ctx->srv, z)) < 0) {
			err_set(e, 400, "InvalidParameterValue",
				"Invalid availability zone: [%.64s]", z);
			goto out;
		}
	}
	xmlw_start(ctx->w, "availabilityZoneInfo");
	for (size_t z = 0; z < ctx->srv->nzones; z++) {
		int match = 1;
		ec2_zone_id(ctx->srv, z, zone_id);
		for (size_t i = 0; i < nfilters && match; i++) {
			const char *v = ec2_zone_field(ctx, z, filters[i].name, zone_id);
			match = filter_match_any(filters[i].values, filters[i].nvalues, v ? v : "");
		}
		if (match && (nnames || nids)) {
			int listed = 0;
			for (size_t i = 0; i < nnames; i++)
				listed |= !strcmp(names[i], ctx->srv->zones[z]);
			for (size_t i = 0; i < nids; i++)
				listed |= !strcmp(ids[i], zone_id);
			match = listed;
		}
		if (!match)
			continue;
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, "zoneName", ctx->srv->zones[z]);
		xmlw_text(ctx->w, "zoneState", "available");
		xmlw_text(ctx->w, "regionName", ctx->srv->region);
		xmlw_text(ctx->w, "zoneId", zone_id);
		xmlw_text(ctx->w, "groupName", ctx->srv->region);
		xmlw_text(ctx->w, "networkBorderGroup", ctx->srv->region);
		xmlw_text(ctx->w, "zoneType", "availability-zone");
		xmlw_text(ctx->w, "optInStatus", "opt-in-not-required");
		xmlw_start(ctx->w, "messageSet");
		xmlw_end(ctx->w);
		xmlw_end(ctx->w);
	}
	xmlw_end(ctx->w);
	ret = 0;
out:
	free(names);
	free(ids);
	query_filters_free(filters, nfilters);
	return ret;
}

static ec2_handler_fn ec2_find(const char *action)
{
	size_t lo = 0, hi = sizeof ec2_actions / sizeof ec2_actions[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ec2_actions[mid].name, action);
		if (!c)
			return ec2_actions[mid].fn;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* How long a kept answer holds at most, for what time alone may change. */
#define EC2_CACHE_MS 1000

/*
 * Calls whose answer is a function of the catalog, the caller and the
 * parameters alone (and of the time, bounded by cache_until_ms), signed in
 * a header so that the parameters repeat from call to call.
 */
static int ec2_cacheable(struct request *req, const char *action)
{
	static const char *const actions[] = { "DescribeImages", "DescribeSnapshots" };
	if (!req->srv->responses || !req->header(req, "Authorization"))
		return 0;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (!strcmp(action, actions[i]))
			return 1;
	return 0;
}

static void ec2_handle(struct request *req)
{
	struct ec2_ctx ctx = { .req = req, .srv = req->srv, .account = req->account.id };
	struct err e = ERR_INIT;
	int dry_run = 0;
	const char *params = req->body_len ? req->body : req->query;
	size_t params_len = req->body_len ? req->body_len : strlen(req->query);
	snprintf(req->action, sizeof req->action, "ec2");
	if (query_parse(params, params_len, &ctx.q, &e) < 0)
		goto fail;
	const char *action = query_get(&ctx.q, "Action");
	if (!action || !*action) {
		err_set(&e, 400, "MissingAction", "The request must contain the parameter Action.");
		goto fail;
	}
	ec2_handler_fn fn = ec2_find(action);
	/* The log gets the action's name as far as it is letters and digits,
	 * bounded: a client's text never forms a log line of its own. */
	size_t name_len = strspn(action, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
	snprintf(req->action, sizeof req->action, "%.*s", (int)(name_len > 48 ? 48 : name_len),
		 action);
	if (!req->action[0])
		snprintf(req->action, sizeof req->action, "malformed");
	if (!fn) {
		err_set(&e, 400, "InvalidAction",
			"The action %.64s is not valid for this web service.", action);
		goto fail;
	}
	if (query_get_bool(&ctx.q, "DryRun", &dry_run, &e) < 0)
		goto fail;
	if (dry_run) {
		err_set(&e, 412, "DryRunOperation",
			"Request would have succeeded, but DryRun flag is set.");
		goto fail;
	}
	/* A kept answer, when the catalog has not changed since it was made. */
	struct respcache *cache = ec2_cacheable(req, action) ? req->srv->responses : NULL;
	struct buf key = BUF_INIT;
	unsigned long long generation = 0;
	long long now_ms = ids_now_ms();
	if (cache) {
		buf_append(&key, ctx.account, strlen(ctx.account) + 1);
		buf_append(&key, params, params_len);
		if (catalog_generation(req->srv->cat, &generation, &e) < 0) {
			buf_release(&key);
			goto fail;
		}
		if (respcache_get(cache, key.data, key.len, generation, now_ms,
				  req->request_id, &req->response)) {
			buf_release(&key);
			goto answered;
		}
	}
	char root[96];
	snprintf(root, sizeof root, "%sResponse", action);
	ctx.w = xmlw_new(root, req->request_id);
	ctx.cache_until_ms = now_ms + EC2_CACHE_MS;
	if (fn(&ctx, &e) < 0) {
		buf_release(&key);
		goto fail;
	}
	xmlw_finish(ctx.w, &req->response);
	ctx.w = NULL;
	if (cache && ctx.cache_until_ms > now_ms)
		respcache_put(cache, key.data, key.len, generation, ctx.cache_until_ms,
			      req->response.data, req->response.len, req->request_id);
	buf_release(&key);
answered:
	req->status = 200;
	req->content_type = "text/xml;charset=UTF-8";
	query_release(&ctx.q);
	return;
fail:
	xmlw_free(ctx.w);
	query_release(&ctx.q);
	if (!err_is_set(&e))
		err_internal(&e, "the action failed without saying why");
	ec2_error_response(req, &e);
}

int ec2_is_tag_filter(const char *name)
{
	return !strncmp(name, "tag:", 4) || !strcmp(name, "tag-key");
}

int ec2_tags_match(const struct query_filter *f, const struct tag_list *tags)
{
	int key_only = !strcmp(f->name, "tag-key");
	for (size_t i = 0; i < tags->count; i++) {
		if (key_only ? filter_match_any(f->values, f->nvalues, tags->items[i].key) :
			       !strcmp(tags->items[i].key, f->name + 4) &&
				       filter_match_any(f->values, f->nvalues,
							tags->items[i].value))
			return 1;
	}
	return 0;
}

/*
 * EC2 answers Query requests at "/": those signed for its scope, and those
 * without an Authorization header, whose parameters may carry a Signature
 * Version 2 signature (classic clients); the front verifies either.
 */
static enum api_claim ec2_claim(const struct api_route *route)
{
	if (strcmp(route->path, "/") != 0)
		return API_CLAIM_NONE;
	if (!route->authorization || !strcmp(route->scope_service, "ec2"))
		return API_CLAIM_FULL;
	return API_CLAIM_PATH;
}

const struct api_service ec2_service = {
	.name = "ec2",
	.claim = ec2_claim,
	.error_response = ec2_error_response,
	.handle = ec2_handle,
};
