/*
 * ec2/snapshots.c: the EC2 snapshot actions: DescribeSnapshots, DeleteSnapshot,
 * CopySnapshot and the createVolumePermission attribute.
 *
 * Visibility: an account sees its own snapshots, those it was granted
 * createVolumePermission on, and public ones.  Everything else answers
 * exactly as a snapshot that does not exist would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "util/ids.h"

int ec2_snapshot_lookup(struct ec2_ctx *ctx, const char *id, struct snapshot *s,
			struct err *e)
{
	if (!ids_valid_resource("snap", id))
		return err_set(e, 400, "InvalidSnapshotID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"snap-...\")", id);
	int found = catalog_snapshot_get(ctx->srv->cat, id, s, e);
	if (found > 0)
		found = catalog_snapshot_visible(ctx->srv->cat, s, ctx->account, e);
	if (found < 0)
		return -1;
	if (!found)
		return err_set(e, 400, "InvalidSnapshot.NotFound",
			       "The snapshot '%s' does not exist.", id);
	return 0;
}

int ec2_snapshot_owned(struct ec2_ctx *ctx, const char *id, struct snapshot *s,
		       struct err *e)
{
	if (ec2_snapshot_lookup(ctx, id, s, e) < 0)
		return -1;
	if (strcmp(s->owner_id, ctx->account) != 0)
		return err_set(e, 403, "UnauthorizedOperation",
			       "You are not authorized to perform this operation on snapshot '%s': it belongs to another account.",
			       id);
	return 0;
}

/* ---- DescribeSnapshots -------------------------------------------------- */

struct describe_snapshots {
	struct ec2_ctx *ctx;
	struct err *e;
	struct query_filter *filters;
	size_t nfilters;
	const char **owners;        /* Owner.N, NULL-ended */
	size_t nowners;
	const char **restorable;    /* RestorableBy.N */
	size_t nrestorable;
	long long limit;            /* 0: no limit */
	long long written;
	char last[ID_MAX];
	int more;                   /* a further match exists */
	int failed;
};

static int describe_owner_ok(struct describe_snapshots *d, const struct snapshot *s)
{
	if (!d->nowners)
		return 1;
	for (size_t i = 0; i < d->nowners; i++) {
		const char *o = d->owners[i];
		if (!strcmp(o, "self") ? !strcmp(s->owner_id, d->ctx->account) :
					 !strcmp(o, s->owner_id))
			return 1;
	}
	return 0;
}

static int describe_restorable_ok(struct describe_snapshots *d,
				  const struct snapshot *s, char **grantees,
				  size_t ngrantees)
{
	if (!d->nrestorable)
		return 1;
	for (size_t i = 0; i < d->nrestorable; i++) {
		const char *who = d->restorable[i];
		if (!strcmp(who, "self"))
			who = d->ctx->account;
		if (strcmp(who, "all") != 0 && !strcmp(s->owner_id, who))
			return 1;
		for (size_t g = 0; g < ngrantees; g++)
			if (!strcmp(grantees[g], who) || !strcmp(grantees[g], "all"))
				return 1;
	}
	return 0;
}

/* The text a filter compares for s; NULL for filters that do not apply. */
static const char *describe_field(const struct snapshot *s, const char *name,
				  char *scratch, size_t cap)
{
	if (!strcmp(name, "description"))
		return s->description;
	if (!strcmp(name, "encrypted"))
		return "false";
	if (!strcmp(name, "owner-id"))
		return s->owner_id;
	if (!strcmp(name, "owner-alias"))
		return "";
	if (!strcmp(name, "progress")) {
		snprintf(scratch, cap, "%d%%", s->progress);
		return scratch;
	}
	if (!strcmp(name, "snapshot-id"))
		return s->id;
	if (!strcmp(name, "start-time")) {
		ids_iso_time(s->start_ms, scratch);
		return scratch;
	}
	if (!strcmp(name, "status"))
		return s->status;
	if (!strcmp(name, "storage-tier"))
		return "standard";
	if (!strcmp(name, "transfer-type"))
		return "standard";
	if (!strcmp(name, "volume-id"))
		return s->volume_id;
	if (!strcmp(name, "volume-size")) {
		snprintf(scratch, cap, "%lld", s->volume_size);
		return scratch;
	}
	return NULL;
}

static int describe_filters_valid(const struct query_filter *filters, size_t n,
				  struct err *e)
{
	char scratch[ISO_TIME_MAX];
	struct snapshot probe = { 0 };
	for (size_t i = 0; i < n; i++) {
		const char *name = filters[i].name;
		if (ec2_is_tag_filter(name))
			continue;
		if (!describe_field(&probe, name, scratch, sizeof scratch))
			return err_set(e, 400, "InvalidParameterValue",
				       "The filter '%.64s' is invalid", name);
	}
	return 0;
}

static int describe_filters_match(struct describe_snapshots *d,
				  const struct snapshot *s,
				  const struct tag_list *tags)
{
	char scratch[ISO_TIME_MAX];
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct query_filter *f = &d->filters[i];
		if (ec2_is_tag_filter(f->name)) {
			if (!ec2_tags_match(f, tags))
				return 0;
			continue;
		}
		const char *field = describe_field(s, f->name, scratch, sizeof scratch);
		if (!field || !filter_match_any(f->values, f->nvalues, field))
			return 0;
	}
	return 1;
}

static void describe_write_snapshot(struct xmlw *w, const struct snapshot *s,
				    const struct tag_list *tags)
{
	char progress[16];
	snprintf(progress, sizeof progress, "%d%%", s->progress);
	xmlw_start(w, "item");
	xmlw_text(w, "snapshotId", s->id);
	xmlw_text(w, "volumeId", s->volume_id);
	xmlw_text(w, "status", s->status);
	if (s->status_message[0])
		xmlw_text(w, "statusMessage", s->status_message);
	xmlw_time(w, "startTime", s->start_ms);
	if (s->complete_ms)
		xmlw_time(w, "completionTime", s->complete_ms);
	xmlw_text(w, "progress", progress);
	xmlw_text(w, "ownerId", s->owner_id);
	xmlw_text(w, "description", s->description);
	xmlw_int(w, "volumeSize", s->volume_size);
	xmlw_bool(w, "encrypted", 0);
	xmlw_text(w, "storageTier", "standard");
	xmlw_int(w, "fullSnapshotSizeInBytes",
		 s->block_count * 512LL * 1024LL);
	ec2_write_tags(w, tags);
	xmlw_end(w);
}

/*
 * Writes s if it passes every criterion; returns 1 to stop the scan.  tags
 * NULL: read them here.
 */
static int describe_one(struct describe_snapshots *d, const struct snapshot *s,
			const struct tag_list *given)
{
	struct tag_list read = { NULL, 0 };
	const struct tag_list *tags = given ? given : &read;
	char **grantees = NULL;
	size_t ngrantees = 0;
	int stop = 0;
	if (!describe_owner_ok(d, s))
		return 0;
	if (d->nrestorable &&
	    catalog_snapshot_grantees(d->ctx->srv->cat, s->id, &grantees,
				      &ngrantees, d->e) < 0)
		goto fail;
	if (!describe_restorable_ok(d, s, grantees, ngrantees))
		goto out;
	if (!given && catalog_tags_get(d->ctx->srv->cat, s->id, &read, d->e) < 0)
		goto fail;
	if (!describe_filters_match(d, s, tags))
		goto out;
	if (d->limit && d->written == d->limit) {
		d->more = 1;
		stop = 1;
		goto out;
	}
	describe_write_snapshot(d->ctx->w, s, tags);
	d->written++;
	snprintf(d->last, sizeof d->last, "%s", s->id);
	goto out;
fail:
	d->failed = 1;
	stop = 1;
out:
	for (size_t i = 0; i < ngrantees; i++)
		free(grantees[i]);
	free(grantees);
	tag_list_release(&read);
	return stop;
}

static int describe_visit(void *ctx, const struct snapshot *s,
			  const struct tag_list *tags)
{
	return describe_one(ctx, s, tags);
}

static int describe_check_principals(const char **list, size_t n,
				     const char *param, int allow_all,
				     struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = list[i];
		if (!strcmp(v, "self") || (allow_all && !strcmp(v, "all")) ||
		    (!allow_all && !strcmp(v, "amazon")) || ids_valid_account(v))
			continue;
		return err_set(e, 400, "InvalidUserID.Malformed",
			       "Invalid user id: \"%.64s\" in %s", v, param);
	}
	return 0;
}

/*
 * Reads the named snapshots into named; a malformed ID is refused first,
 * then every one that does not exist or is not visible is named in one
 * InvalidSnapshot.NotFound, as EC2 does.
 */
static int describe_named(struct ec2_ctx *ctx, const char **ids, size_t nids,
			  struct snapshot *named, struct err *e)
{
	const char **unknown = nids ? xcalloc(nids, sizeof *unknown) : NULL;
	size_t nunknown = 0;
	int ret = 0;
	for (size_t i = 0; i < nids && ret == 0; i++) {
		struct err one = ERR_INIT;
		if (ec2_snapshot_lookup(ctx, ids[i], &named[i], &one) == 0)
			continue;
		if (!strcmp(one.code, "InvalidSnapshot.NotFound"))
			unknown[nunknown++] = ids[i];
		else
			ret = err_set(e, one.status, one.code, "%s", one.message);
	}
	if (ret == 0 && nunknown) {
		char list[400];
		ec2_join_ids(unknown, nunknown, list, sizeof list);
		ret = err_set(e, 400, "InvalidSnapshot.NotFound", nunknown == 1 ?
			      "The snapshot '%s' does not exist." :
			      "The snapshots '%s' do not exist.", list);
	}
	free(unknown);
	return ret;
}

int ec2_describe_snapshots(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_snapshots d = { .ctx = ctx, .e = e };
	struct ec2_page page;
	const char **ids = NULL;
	int ret = -1;
	size_t nids = query_list(&ctx->q, "SnapshotId", &ids);
	d.nowners = query_list(&ctx->q, "Owner", &d.owners);
	d.nrestorable = query_list(&ctx->q, "RestorableBy", &d.restorable);
	if (describe_check_principals(d.owners, d.nowners, "Owner", 0, e) < 0 ||
	    describe_check_principals(d.restorable, d.nrestorable,
				      "RestorableBy", 1, e) < 0 ||
	    query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    describe_filters_valid(d.filters, d.nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	if (nids && page.max_results) {
		err_set(e, 400, "InvalidParameterCombination",
			"The parameter SnapshotIds cannot be used with the parameter maxResults");
		goto out;
	}
	d.limit = page.max_results;
	/* Named snapshots: every one must exist and be visible. */
	struct snapshot *named = nids ? xcalloc(nids, sizeof *named) : NULL;
	if (describe_named(ctx, ids, nids, named, e) < 0) {
		free(named);
		goto out;
	}
	xmlw_start(ctx->w, "snapshotSet");
	if (nids) {
		for (size_t i = 0; i < nids && !d.failed; i++) {
			int dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= !strcmp(ids[j], ids[i]);
			if (!dup)
				describe_one(&d, &named[i], NULL);
		}
	} else {
		if (catalog_snapshot_each_visible(ctx->srv->cat, ctx->account,
						  page.after, describe_visit, &d,
						  e) < 0)
			d.failed = 1;
	}
	free(named);
	xmlw_end(ctx->w);
	if (d.failed)
		goto out;
	if (d.more)
		ec2_page_write_token(ctx, d.last);
	ret = 0;
out:
	free(ids);
	free(d.owners);
	free(d.restorable);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}

/* ---- DeleteSnapshot ----------------------------------------------------- */

int ec2_delete_snapshot(struct ec2_ctx *ctx, struct err *e)
{
	struct snapshot s;
	const char *id = ec2_require(ctx, "SnapshotId", e);
	if (!id || ec2_snapshot_owned(ctx, id, &s, e) < 0)
		return -1;
	if (blockstore_delete_snapshot(ctx->srv->bs, id, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}

/* ---- CopySnapshot ------------------------------------------------------- */

int ec2_copy_snapshot(struct ec2_ctx *ctx, struct err *e)
{
	struct snapshot src, copy;
	struct tag_list tags = { NULL, 0 };
	int encrypted = 0, ret = -1;
	const char *source_id = ec2_require(ctx, "SourceSnapshotId", e);
	const char *source_region = ec2_require(ctx, "SourceRegion", e);
	const char *description = query_get(&ctx->q, "Description");
	if (!source_id || !source_region)
		goto out;
	if (strcmp(source_region, ctx->srv->region) != 0) {
		err_set(e, 400, "InvalidParameterValue",
			"SourceRegion '%.64s' is not served here; this amibox serves region '%s'.",
			source_region, ctx->srv->region);
		goto out;
	}
	if (query_get_bool(&ctx->q, "Encrypted", &encrypted, e) < 0)
		goto out;
	if (query_get(&ctx->q, "KmsKeyId") && !encrypted) {
		ec2_kms_needs_encrypted(e);
		goto out;
	}
	if (encrypted) {
		err_set(e, 400, "InvalidParameterValue",
			"Encrypted snapshots are not supported by amibox yet.");
		goto out;
	}
	if (description && strlen(description) > 255) {
		err_set(e, 400, "InvalidParameterValue",
			"The description must be at most 255 characters long.");
		goto out;
	}
	if (ec2_tag_specifications(ctx, "snapshot", &tags, e) < 0 ||
	    ec2_snapshot_lookup(ctx, source_id, &src, e) < 0)
		goto out;
	if (strcmp(src.status, "completed") != 0) {
		err_set(e, 400, "IncorrectState",
			"Snapshot '%s' is %s; only completed snapshots can be copied.",
			source_id, src.status);
		goto out;
	}
	memset(&copy, 0, sizeof copy);
	ids_resource("snap", copy.id);
	snprintf(copy.owner_id, sizeof copy.owner_id, "%s", ctx->account);
	snprintf(copy.volume_id, sizeof copy.volume_id, "vol-ffffffff");
	snprintf(copy.status, sizeof copy.status, "completed");
	copy.start_ms = copy.complete_ms = ids_now_ms();
	copy.volume_size = src.volume_size;
	copy.progress = 100;
	copy.block_count = src.block_count;
	snprintf(copy.source_id, sizeof copy.source_id, "%s", src.id);
	if (description)
		snprintf(copy.description, sizeof copy.description, "%s", description);
	else
		snprintf(copy.description, sizeof copy.description,
			 "[Copied %s from %s]", src.id, ctx->srv->region);
	/* No data moves: the copy maps the same chunks. */
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_snapshot_insert(ctx->srv->cat, &copy, e) < 0 ||
	    catalog_blocks_copy(ctx->srv->cat, src.id, copy.id, e) < 0)
		goto rollback;
	for (size_t i = 0; i < tags.count; i++)
		if (catalog_tag_set(ctx->srv->cat, copy.id, "snapshot", ctx->account,
				    tags.items[i].key, tags.items[i].value, e) < 0)
			goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	xmlw_text(ctx->w, "snapshotId", copy.id);
	ec2_write_tags(ctx->w, &tags);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	tag_list_release(&tags);
	return ret;
}

/* ---- createVolumePermission --------------------------------------------- */

static int snapshot_attribute_name(struct ec2_ctx *ctx, int required,
				   const char **attribute, struct err *e)
{
	const char *a = required ? ec2_require(ctx, "Attribute", e) :
				   query_get(&ctx->q, "Attribute");
	if (required && !a)
		return -1;
	if (a && strcmp(a, "createVolumePermission") != 0 &&
	    strcmp(a, "productCodes") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter attribute is invalid. Expected: 'createVolumePermission' or 'productCodes'.",
			       a);
	*attribute = a;
	return 0;
}

int ec2_describe_snapshot_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct snapshot s;
	const char *attribute = NULL;
	char **grantees = NULL;
	size_t n = 0;
	const char *id = ec2_require(ctx, "SnapshotId", e);
	if (!id || snapshot_attribute_name(ctx, 1, &attribute, e) < 0 ||
	    ec2_snapshot_owned(ctx, id, &s, e) < 0)
		return -1;
	xmlw_text(ctx->w, "snapshotId", s.id);
	if (!strcmp(attribute, "productCodes")) {
		xmlw_start(ctx->w, "productCodes");
		xmlw_end(ctx->w);
		return 0;
	}
	if (catalog_snapshot_grantees(ctx->srv->cat, s.id, &grantees, &n, e) < 0)
		return -1;
	xmlw_start(ctx->w, "createVolumePermission");
	for (size_t i = 0; i < n; i++) {
		xmlw_start(ctx->w, "item");
		xmlw_text(ctx->w, !strcmp(grantees[i], "all") ? "group" : "userId",
			  grantees[i]);
		xmlw_end(ctx->w);
		free(grantees[i]);
	}
	xmlw_end(ctx->w);
	free(grantees);
	return 0;
}

static int volume_permission_check(const char *grantee, int is_group, struct err *e)
{
	if (is_group ? strcmp(grantee, "all") != 0 : !ids_valid_account(grantee))
		return err_set(e, 400, is_group ? "InvalidParameterValue" : "InvalidUserID.Malformed",
			       is_group ? "The group '%.64s' is not valid: the only group is 'all'." :
					  "User ID '%.64s' must be a 12-digit account ID.",
			       grantee);
	return 0;
}

static const struct ec2_permission_form volume_permission_form = {
	.structured = "CreateVolumePermission",
	.max = 500,
	.check = volume_permission_check,
};

int ec2_modify_snapshot_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct snapshot s;
	struct ec2_permission_change pc = { 0 };
	const char *attribute = NULL;
	int ret = -1;
	const char *id = ec2_require(ctx, "SnapshotId", e);
	if (!id || snapshot_attribute_name(ctx, 0, &attribute, e) < 0)
		goto out;
	if (attribute && !strcmp(attribute, "productCodes")) {
		err_set(e, 400, "InvalidParameterValue",
			"Product codes cannot be changed on a snapshot.");
		goto out;
	}
	if (ec2_permission_change_read(ctx, &volume_permission_form, &pc, e) < 0)
		goto out;
	if (!pc.nadd && !pc.nremove) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter createVolumePermission (Add or Remove).");
		goto out;
	}
	if (pc.nadd && pc.nremove) {
		err_set(e, 400, "InvalidParameterCombination",
			"A request can add or remove permissions, not both.");
		goto out;
	}
	if (ec2_snapshot_owned(ctx, id, &s, e) < 0)
		goto out;
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	for (size_t i = 0; i < pc.nadd; i++)
		if (catalog_snapshot_grant(ctx->srv->cat, id, pc.add[i], e) < 0)
			goto rollback;
	for (size_t i = 0; i < pc.nremove; i++)
		if (catalog_snapshot_revoke(ctx->srv->cat, id, pc.remove[i], e) < 0)
			goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	ec2_return_true(ctx);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	ec2_permission_change_release(&pc);
	return ret;
}

int ec2_reset_snapshot_attribute(struct ec2_ctx *ctx, struct err *e)
{
	struct snapshot s;
	const char *attribute = NULL;
	const char *id = ec2_require(ctx, "SnapshotId", e);
	if (!id || snapshot_attribute_name(ctx, 1, &attribute, e) < 0)
		return -1;
	if (strcmp(attribute, "createVolumePermission") != 0)
		return err_set(e, 400, "InvalidParameterValue",
			       "Only createVolumePermission can be reset.");
	if (ec2_snapshot_owned(ctx, id, &s, e) < 0 ||
	    catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_snapshot_revoke_all(ctx->srv->cat, id, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	return 0;
}
