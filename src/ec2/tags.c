/*
 * ec2/tags.c: CreateTags, DeleteTags, DescribeTags.
 *
 * A resource is found by its ID's prefix; the caller must own it.  Another
 * account's private resource answers as a missing one.  Images (AMIs, AKIs,
 * ARIs), snapshots, volumes, instances, key pairs, and the VPC resources
 * (network.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_keypairs.h"
#include "catalog/catalog_volumes.h"
#include "util/ids.h"

#define TAGS_MAX_RESOURCES 1000
#define TAGS_MAX_PER_RESOURCE 50

/* The taggable resources by ID prefix. */
static const struct {
	const char *prefix;
	const char *type;
} tags_kinds[] = {
	{ "ami", "image" }, { "aki", "image" }, { "ari", "image" },
	{ "i", "instance" }, { "snap", "snapshot" }, { "vol", "volume" },
	{ "key", "key-pair" },
};

/*
 * Checks that the caller owns resource id; sets *type ("snapshot", ...).
 * An ID that is no well-formed ID of a taggable resource is 400 InvalidID,
 * as EC2 answers CreateTags and DeleteTags.
 */
static int tags_resource(struct ec2_ctx *ctx, const char *id, const char **type,
			 struct err *e)
{
	*type = NULL;
	int network = ec2_network_tag_target(ctx, id, type, e);
	if (network != 0)
		return network < 0 ? -1 : 0;
	for (size_t i = 0; i < sizeof tags_kinds / sizeof tags_kinds[0] && !*type; i++)
		if (ids_valid_resource(tags_kinds[i].prefix, id))
			*type = tags_kinds[i].type;
	if (!*type)
		return err_set(e, 400, "InvalidID", "The ID '%.64s' is not valid", id);
	if (!strcmp(*type, "snapshot")) {
		struct snapshot s;
		return ec2_snapshot_owned(ctx, id, &s, e);
	}
	if (!strcmp(*type, "instance")) {
		struct instance m;
		if (ec2_instance_owned(ctx, id, &m, e) < 0)
			return -1;
		instance_release(&m);
		return 0;
	}
	if (!strcmp(*type, "volume")) {
		struct volume_row v;
		return ec2_volume_owned(ctx, id, &v, e);
	}
	if (!strcmp(*type, "key-pair")) {
		struct key_pair k;
		return ec2_keypair_owned(ctx, id, &k, e);
	}
	struct image m;
	if (ec2_image_owned(ctx, id, &m, e) < 0)
		return -1;
	image_release(&m);
	return 0;
}

struct tags_request {
	const char **resources;
	size_t nresources;
	const char **types;
	struct tag_list tags;     /* Tag.N.Key / Tag.N.Value */
	unsigned char *has_value; /* per tag: was Tag.N.Value sent? */
};

static void tags_request_release(struct tags_request *t)
{
	free(t->resources);
	free(t->types);
	free(t->has_value);
	tag_list_release(&t->tags);
}

static int tags_read(struct ec2_ctx *ctx, struct tags_request *t, int need_tags,
		     struct err *e)
{
	unsigned *idx = NULL;
	t->nresources = query_list(&ctx->q, "ResourceId", &t->resources);
	if (!t->nresources)
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter resourceIdSet");
	if (t->nresources > TAGS_MAX_RESOURCES)
		return err_set(e, 400, "InvalidParameterValue",
			       "At most %d resources can be tagged in one request.",
			       TAGS_MAX_RESOURCES);
	size_t n = query_indices(&ctx->q, "Tag", &idx);
	t->has_value = xcalloc(n + 1, 1);
	for (size_t i = 0; i < n; i++) {
		char kname[48], vname[48];
		snprintf(kname, sizeof kname, "Tag.%u.Key", idx[i]);
		snprintf(vname, sizeof vname, "Tag.%u.Value", idx[i]);
		const char *key = query_get(&ctx->q, kname);
		const char *value = query_get(&ctx->q, vname);
		if (!key) {
			free(idx);
			return err_set(e, 400, "MissingParameter",
				       "The request must contain the parameter %s", kname);
		}
		if (need_tags && ec2_check_tag(key, value, e) < 0) {
			free(idx);
			return -1;
		}
		t->has_value[t->tags.count] = value != NULL;
		tag_list_add(&t->tags, key, value);
	}
	free(idx);
	if (need_tags && !t->tags.count)
		return err_set(e, 400, "InvalidParameterValue",
			       "You must specify one or more tags to create");
	t->types = xcalloc(t->nresources, sizeof *t->types);
	for (size_t i = 0; i < t->nresources; i++)
		if (tags_resource(ctx, t->resources[i], &t->types[i], e) < 0)
			return -1;
	return 0;
}

int ec2_create_tags(struct ec2_ctx *ctx, struct err *e)
{
	struct tags_request t = { 0 };
	struct catalog *cat = ctx->srv->cat;
	int ret = -1;
	if (tags_read(ctx, &t, 1, e) < 0 || catalog_begin(cat, e) < 0)
		goto out;
	for (size_t r = 0; r < t.nresources; r++) {
		for (size_t i = 0; i < t.tags.count; i++)
			if (catalog_tag_set(cat, t.resources[r], t.types[r],
					    ctx->account, t.tags.items[i].key,
					    t.tags.items[i].value, e) < 0)
				goto rollback;
		long long n = catalog_tag_count(cat, t.resources[r], e);
		if (n < 0)
			goto rollback;
		if (n > TAGS_MAX_PER_RESOURCE) {
			err_set(e, 400, "TagLimitExceeded",
				"The maximum number of tags per resource (%d) would be exceeded for '%s'.",
				TAGS_MAX_PER_RESOURCE, t.resources[r]);
			goto rollback;
		}
	}
	if (catalog_commit(cat, e) < 0)
		goto out;
	ec2_return_true(ctx);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(cat);
out:
	tags_request_release(&t);
	return ret;
}

int ec2_delete_tags(struct ec2_ctx *ctx, struct err *e)
{
	struct tags_request t = { 0 };
	struct catalog *cat = ctx->srv->cat;
	int ret = -1;
	if (tags_read(ctx, &t, 0, e) < 0 || catalog_begin(cat, e) < 0)
		goto out;
	for (size_t r = 0; r < t.nresources; r++) {
		if (!t.tags.count) {
			if (catalog_tag_delete(cat, t.resources[r], NULL, NULL, e) < 0)
				goto rollback;
			continue;
		}
		for (size_t i = 0; i < t.tags.count; i++)
			if (catalog_tag_delete(cat, t.resources[r], t.tags.items[i].key,
					       t.has_value[i] ? t.tags.items[i].value : NULL,
					       e) < 0)
				goto rollback;
	}
	if (catalog_commit(cat, e) < 0)
		goto out;
	ec2_return_true(ctx);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(cat);
out:
	tags_request_release(&t);
	return ret;
}

struct describe_tags {
	struct ec2_ctx *ctx;
	struct query_filter *filters;
	size_t nfilters;
	long long limit, written;
	char last_resource[64];
	char last_key[512];
	int more;
};

static int describe_tags_match(const struct describe_tags *d,
			       const struct tag_row *row)
{
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct query_filter *f = &d->filters[i];
		const char *field = NULL;
		if (!strcmp(f->name, "key"))
			field = row->key;
		else if (!strcmp(f->name, "value"))
			field = row->value;
		else if (!strcmp(f->name, "resource-id"))
			field = row->resource_id;
		else if (!strcmp(f->name, "resource-type"))
			field = row->resource_type;
		else if (!strncmp(f->name, "tag:", 4)) {
			if (strcmp(row->key, f->name + 4) != 0)
				return 0;
			field = row->value;
		}
		if (!field || !filter_match_any(f->values, f->nvalues, field))
			return 0;
	}
	return 1;
}

static int describe_tags_visit(void *arg, const struct tag_row *row)
{
	struct describe_tags *d = arg;
	if (!describe_tags_match(d, row))
		return 0;
	if (d->written == d->limit) {
		d->more = 1;
		return 1;
	}
	xmlw_start(d->ctx->w, "item");
	xmlw_text(d->ctx->w, "resourceId", row->resource_id);
	xmlw_text(d->ctx->w, "resourceType", row->resource_type);
	xmlw_text(d->ctx->w, "key", row->key);
	xmlw_text(d->ctx->w, "value", row->value);
	xmlw_end(d->ctx->w);
	d->written++;
	snprintf(d->last_resource, sizeof d->last_resource, "%s", row->resource_id);
	snprintf(d->last_key, sizeof d->last_key, "%s", row->key);
	return 0;
}

int ec2_describe_tags(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const known[] = { "key", "value", "resource-id",
					     "resource-type" };
	struct describe_tags d = { .ctx = ctx };
	struct ec2_page page;
	int ret = -1;
	if (query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	for (size_t i = 0; i < d.nfilters; i++) {
		int ok = !strncmp(d.filters[i].name, "tag:", 4);
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
			ok |= !strcmp(d.filters[i].name, known[k]);
		if (!ok) {
			err_set(e, 400, "InvalidParameterValue",
				"The filter '%.64s' is invalid", d.filters[i].name);
			goto out;
		}
	}
	d.limit = page.max_results ? page.max_results : 1000;
	/* The token holds "resource-id key": resume after that pair. */
	char *space = strchr(page.after, ' ');
	if (space)
		*space = '\0';
	xmlw_start(ctx->w, "tagSet");
	int rc = catalog_tags_each(ctx->srv->cat, ctx->account,
				   space ? page.after : NULL, space ? space + 1 : NULL,
				   describe_tags_visit, &d, e);
	xmlw_end(ctx->w);
	if (rc < 0)
		goto out;
	if (d.more) {
		char key[600];
		snprintf(key, sizeof key, "%s %s", d.last_resource, d.last_key);
		ec2_page_write_token(ctx, key);
	}
	ret = 0;
out:
	query_filters_free(d.filters, d.nfilters);
	return ret;
}
