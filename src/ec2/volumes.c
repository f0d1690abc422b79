/*
 * ec2/volumes.c: CreateVolume, DescribeVolumes, DeleteVolume, ModifyVolume,
 * DescribeVolumesModifications and CreateSnapshot (of a volume).
 *
 * A volume from a snapshot is created in O(1): two files and a row; its
 * blocks are read from the snapshot until the volume writes them
 * (src/blockstore/volume.c).  Volumes are private to their owner.
 * CreateSnapshot is point in time and costs what changed since the volume's
 * last snapshot (src/blockstore/volsnap.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "blockstore/volsnap.h"
#include "blockstore/volume.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "util/codec.h"
#include "util/ids.h"

int ec2_volume_owned(struct ec2_ctx *ctx, const char *id, struct volume_row *v,
		     struct err *e)
{
	if (!ids_valid_resource("vol", id))
		return err_set(e, 400, "InvalidVolumeID.Malformed",
			       "Invalid id: \"%.64s\" (expecting \"vol-...\")", id);
	int found = catalog_volume_get(ctx->srv->cat, id, v, e);
	if (found < 0)
		return -1;
	if (!found || strcmp(v->owner_id, ctx->account) != 0)
		return err_set(e, 400, "InvalidVolume.NotFound",
			       "The volume '%s' does not exist.", id);
	return 0;
}

static void write_volume_fields(struct xmlw *w, struct catalog *cat,
				const struct volume_row *v, const struct tag_list *tags)
{
	struct instance_device d;
	char instance_id[ID_MAX];
	struct err e = ERR_INIT;
	int attached = catalog_volume_attachment(cat, v->id, instance_id, &d, &e) > 0;
	xmlw_text(w, "volumeId", v->id);
	xmlw_int(w, "size", v->size_gib);
	xmlw_text(w, "snapshotId", v->snapshot_id);
	xmlw_text(w, "availabilityZone", v->zone);
	xmlw_text(w, "status", v->state);
	xmlw_time(w, "createTime", v->create_ms);
	xmlw_start(w, "attachmentSet");
	if (attached) {
		xmlw_start(w, "item");
		xmlw_text(w, "volumeId", v->id);
		xmlw_text(w, "instanceId", instance_id);
		xmlw_text(w, "device", d.device_name);
		xmlw_text(w, "status", d.status);
		xmlw_time(w, "attachTime", d.attach_ms);
		xmlw_bool(w, "deleteOnTermination", d.delete_on_termination);
		xmlw_end(w);
	}
	xmlw_end(w);
	xmlw_text(w, "volumeType", v->volume_type);
	if (v->iops)
		xmlw_int(w, "iops", v->iops);
	if (v->throughput)
		xmlw_int(w, "throughput", v->throughput);
	xmlw_bool(w, "encrypted", 0);
	xmlw_bool(w, "multiAttachEnabled", 0);
	xmlw_bool(w, "fastRestored", 0);
	ec2_write_tags(w, tags);
}

/* ---- CreateVolume ------------------------------------------------------- */

int ec2_create_volume(struct ec2_ctx *ctx, struct err *e)
{
	struct volume_row v;
	struct snapshot snap;
	struct tag_list tags = { NULL, 0 };
	long long size = 0;
	int encrypted = 0, multi = 0, ret = -1, files = 0;
	memset(&v, 0, sizeof v);
	const char *zone = query_get(&ctx->q, "AvailabilityZone");
	const char *zone_id = query_get(&ctx->q, "AvailabilityZoneId");
	const char *snapshot_id = query_get(&ctx->q, "SnapshotId");
	const char *type = query_get(&ctx->q, "VolumeType");
	const char *token = query_get(&ctx->q, "ClientToken");
	if (!zone && !zone_id) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter AvailabilityZone");
		goto out;
	}
	if ((zone && strcmp(zone, ctx->srv->zone) != 0) ||
	    (zone_id && strcmp(zone_id, "use1-az1") != 0 &&
	     strcmp(zone_id, ctx->srv->zone) != 0)) {
		err_set(e, 400, "InvalidParameterValue",
			"Invalid availability zone: [%.64s]; this amibox has %s.",
			zone ? zone : zone_id, ctx->srv->zone);
		goto out;
	}
	if (query_get_int(&ctx->q, "Size", 1, VOLUME_MAX_GIB * 4LL, &size, e) < 0 ||
	    query_get_int(&ctx->q, "Iops", 1, 256000, &v.iops, e) < 0 ||
	    query_get_int(&ctx->q, "Throughput", 1, 4000, &v.throughput, e) < 0 ||
	    query_get_bool(&ctx->q, "Encrypted", &encrypted, e) < 0 ||
	    query_get_bool(&ctx->q, "MultiAttachEnabled", &multi, e) < 0)
		goto out;
	if (!encrypted && query_get(&ctx->q, "KmsKeyId")) {
		ec2_kms_needs_encrypted(e);
		goto out;
	}
	if (encrypted) {
		err_set(e, 400, "InvalidParameterValue",
			"Encrypted volumes are not supported by amibox yet.");
		goto out;
	}
	if (multi || query_get(&ctx->q, "OutpostArn")) {
		err_set(e, 400, "InvalidParameterValue",
			"Multi-attach volumes and Outposts are not supported by amibox.");
		goto out;
	}
	if (!size && !snapshot_id) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter size or snapshotId");
		goto out;
	}
	if (token && strlen(token) > 64) {
		err_set(e, 400, "InvalidParameterValue",
			"ClientToken must be at most 64 characters long.");
		goto out;
	}
	snprintf(v.volume_type, sizeof v.volume_type, "%s", type ? type : "gp2");
	if (ec2_volume_type_check(v.volume_type, &v.iops, &v.throughput, e) < 0)
		goto out;
	if (snapshot_id) {
		if (ec2_snapshot_lookup(ctx, snapshot_id, &snap, e) < 0)
			goto out;
		if (strcmp(snap.status, "completed") != 0) {
			err_set(e, 400, "IncorrectState",
				"Snapshot '%s' is %s; volumes are created from completed snapshots.",
				snap.id, snap.status);
			goto out;
		}
		if (!size)
			size = snap.volume_size;
		if (size < snap.volume_size) {
			err_set(e, 400, "InvalidParameterValue",
				"Volume of %lldGiB is smaller than snapshot '%s', expect size >= %lldGiB",
				size, snap.id, snap.volume_size);
			goto out;
		}
	}
	if (ec2_volume_size_check(v.volume_type, size, e) < 0 ||
	    ec2_tag_specifications(ctx, "volume", &tags, e) < 0)
		goto out;
	/* What a retry with the same ClientToken must ask for again. */
	struct buf digest_in = BUF_INIT;
	unsigned char digest[32];
	buf_printf(&digest_in, "%lld|%s|%s|%lld|%lld", size, snapshot_id ? snapshot_id : "",
		   v.volume_type, v.iops, v.throughput);
	codec_sha256(digest_in.data, digest_in.len, digest);
	buf_release(&digest_in);
	codec_hex(digest, 16, v.request_digest);
	if (token && *token) {
		struct volume_row prior;
		int found = catalog_volume_by_token(ctx->srv->cat, ctx->account, token, &prior, e);
		if (found < 0)
			goto out;
		if (found) {
			if (strcmp(prior.request_digest, v.request_digest) != 0) {
				err_set(e, 400, "IdempotentParameterMismatch",
					"The client token %.64s was used with different parameters.",
					token);
				goto out;
			}
			struct tag_list prior_tags = { NULL, 0 };
			if (catalog_tags_get(ctx->srv->cat, prior.id, &prior_tags, e) < 0)
				goto out;
			write_volume_fields(ctx->w, ctx->srv->cat, &prior, &prior_tags);
			tag_list_release(&prior_tags);
			ret = 0;
			goto out;
		}
	}
	ids_resource("vol", v.id);
	snprintf(v.owner_id, sizeof v.owner_id, "%s", ctx->account);
	v.size_gib = size;
	snprintf(v.snapshot_id, sizeof v.snapshot_id, "%s", snapshot_id ? snapshot_id : "");
	snprintf(v.base_snapshot_id, sizeof v.base_snapshot_id, "%s", v.snapshot_id);
	snprintf(v.map_snapshot_id, sizeof v.map_snapshot_id, "%s", v.snapshot_id);
	snprintf(v.zone, sizeof v.zone, "%s", ctx->srv->zone);
	snprintf(v.state, sizeof v.state, "available");
	snprintf(v.client_token, sizeof v.client_token, "%s", token ? token : "");
	v.create_ms = ids_now_ms();
	/* Lazy: the files are empty, whatever the size. */
	if (volume_create(ctx->srv->data_dir, v.id, size, v.base_snapshot_id, e) < 0)
		goto out;
	files = 1;
	if (catalog_begin(ctx->srv->cat, e) < 0)
		goto out;
	if (catalog_volume_insert(ctx->srv->cat, &v, e) < 0)
		goto rollback;
	for (size_t i = 0; i < tags.count; i++)
		if (catalog_tag_set(ctx->srv->cat, v.id, "volume", ctx->account,
				    tags.items[i].key, tags.items[i].value, e) < 0)
			goto rollback;
	if (catalog_commit(ctx->srv->cat, e) < 0)
		goto out;
	files = 0;
	write_volume_fields(ctx->w, ctx->srv->cat, &v, &tags);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(ctx->srv->cat);
out:
	if (files) {
		struct err ignored = ERR_INIT;
		volume_remove(ctx->srv->data_dir, v.id, &ignored);
	}
	tag_list_release(&tags);
	return ret;
}

/* ---- DescribeVolumes ---------------------------------------------------- */

struct describe_volumes {
	struct ec2_ctx *ctx;
	struct err *e;
	struct query_filter *filters;
	size_t nfilters;
	long long limit, written;
	char last[ID_MAX];
	int more, failed;
};

static const char *const volume_filter_names[] = {
	"attachment.attach-time", "attachment.delete-on-termination",
	"attachment.device", "attachment.instance-id", "attachment.status",
	"availability-zone", "create-time", "encrypted", "fast-restored",
	"multi-attach-enabled", "size", "snapshot-id", "status", "volume-id",
	"volume-type", "iops", "throughput", NULL,
};

static int filters_known(const struct query_filter *f, size_t n,
			 const char *const *names, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		int known = ec2_is_tag_filter(f[i].name);
		for (const char *const *p = names; !known && *p; p++)
			known = !strcmp(f[i].name, *p);
		if (!known)
			return err_set(e, 400, "InvalidParameterValue",
				       "The filter '%.64s' is invalid", f[i].name);
	}
	return 0;
}

static const char *volume_field(const struct volume_row *v, const char *name,
				char *scratch, size_t cap)
{
	if (!strcmp(name, "availability-zone"))
		return v->zone;
	if (!strcmp(name, "create-time")) {
		ids_iso_time(v->create_ms, scratch);
		return scratch;
	}
	if (!strcmp(name, "encrypted") || !strcmp(name, "fast-restored") ||
	    !strcmp(name, "multi-attach-enabled"))
		return "false";
	if (!strcmp(name, "size")) {
		snprintf(scratch, cap, "%lld", v->size_gib);
		return scratch;
	}
	if (!strcmp(name, "snapshot-id"))
		return v->snapshot_id;
	if (!strcmp(name, "status"))
		return v->state;
	if (!strcmp(name, "volume-id"))
		return v->id;
	if (!strcmp(name, "volume-type"))
		return v->volume_type;
	if (!strcmp(name, "iops") && v->iops) {
		snprintf(scratch, cap, "%lld", v->iops);
		return scratch;
	}
	if (!strcmp(name, "throughput") && v->throughput) {
		snprintf(scratch, cap, "%lld", v->throughput);
		return scratch;
	}
	return NULL;
}

static int describe_volume_one(struct describe_volumes *d, const struct volume_row *v)
{
	struct tag_list tags = { NULL, 0 };
	char scratch[ISO_TIME_MAX];
	int stop = 0, match = 1;
	if (catalog_tags_get(d->ctx->srv->cat, v->id, &tags, d->e) < 0) {
		d->failed = 1;
		return 1;
	}
	for (size_t i = 0; i < d->nfilters && match; i++) {
		const struct query_filter *f = &d->filters[i];
		if (ec2_is_tag_filter(f->name)) {
			match = ec2_tags_match(f, &tags);
		} else if (!strncmp(f->name, "attachment.", 11)) {
			struct instance_device dev;
			char instance_id[ID_MAX];
			const char *value = NULL;
			if (catalog_volume_attachment(d->ctx->srv->cat, v->id, instance_id, &dev,
						      d->e) > 0) {
				const char *field = f->name + 11;
				if (!strcmp(field, "instance-id"))
					value = instance_id;
				else if (!strcmp(field, "device"))
					value = dev.device_name;
				else if (!strcmp(field, "status"))
					value = dev.status;
				else if (!strcmp(field, "delete-on-termination"))
					value = dev.delete_on_termination ? "true" : "false";
				else {
					ids_iso_time(dev.attach_ms, scratch);
					value = scratch;
				}
			}
			match = value && filter_match_any(f->values, f->nvalues, value);
		} else {
			const char *value = volume_field(v, f->name, scratch, sizeof scratch);
			match = value && filter_match_any(f->values, f->nvalues, value);
		}
	}
	if (match) {
		if (d->limit && d->written == d->limit) {
			d->more = 1;
			stop = 1;
		} else {
			xmlw_start(d->ctx->w, "item");
			write_volume_fields(d->ctx->w, d->ctx->srv->cat, v, &tags);
			xmlw_end(d->ctx->w);
			d->written++;
			snprintf(d->last, sizeof d->last, "%s", v->id);
		}
	}
	tag_list_release(&tags);
	return stop;
}

static int describe_volume_visit(void *ctx, const struct volume_row *v)
{
	return describe_volume_one(ctx, v);
}

int ec2_describe_volumes(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_volumes d = { .ctx = ctx, .e = e };
	struct ec2_page page;
	const char **ids = NULL;
	struct volume_row *named = NULL;
	int ret = -1;
	size_t nids = query_list(&ctx->q, "VolumeId", &ids);
	if (query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    filters_known(d.filters, d.nfilters, volume_filter_names, e) < 0 ||
	    ec2_page_read(ctx, 5, 1000, &page, e) < 0)
		goto out;
	if (nids && page.max_results) {
		err_set(e, 400, "InvalidParameterCombination",
			"The parameter volumeIdSet cannot be used with the parameter maxResults");
		goto out;
	}
	d.limit = page.max_results;
	named = nids ? xcalloc(nids, sizeof *named) : NULL;
	for (size_t i = 0; i < nids; i++)
		if (ec2_volume_owned(ctx, ids[i], &named[i], e) < 0)
			goto out;
	xmlw_start(ctx->w, "volumeSet");
	if (nids) {
		for (size_t i = 0; i < nids && !d.failed; i++) {
			int dup = 0;
			for (size_t j = 0; j < i; j++)
				dup |= !strcmp(ids[j], ids[i]);
			if (!dup)
				describe_volume_one(&d, &named[i]);
		}
	} else if (catalog_volume_each(ctx->srv->cat, ctx->account, page.after,
				       describe_volume_visit, &d, e) < 0) {
		d.failed = 1;
	}
	xmlw_end(ctx->w);
	if (d.failed)
		goto out;
	if (d.more)
		ec2_page_write_token(ctx, d.last);
	ret = 0;
out:
	free(named);
	free(ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}

/* ---- DeleteVolume ------------------------------------------------------- */

int ec2_delete_volume(struct ec2_ctx *ctx, struct err *e)
{
	struct volume_row v;
	const char *id = ec2_require(ctx, "VolumeId", e);
	if (!id || ec2_volume_owned(ctx, id, &v, e) < 0)
		return -1;
	if (strcmp(v.state, "available") != 0)
		return err_set(e, 400, "VolumeInUse", "Volume %s is currently attached.", id);
	/* Available means no machine reaches it: verified, not assumed. */
	int served = volume_served(ctx->srv->data_dir, id, e);
	if (served < 0)
		return -1;
	if (served)
		return err_set(e, 400, "VolumeInUse",
			       "Volume %s is still reachable from a machine: its server has not ended yet.",
			       id);
	/* Snapshots being built from it finish first. */
	volsnap_wait_volume(ctx->srv->volsnap, id);
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	/* An AttachVolume may have taken it since it was read. */
	struct volume_row now;
	int found = catalog_volume_get(ctx->srv->cat, id, &now, e);
	if (found > 0 && strcmp(now.state, "available") != 0)
		err_set(e, 400, "VolumeInUse", "Volume %s is currently attached.", id);
	if (found <= 0 || err_is_set(e) || catalog_volume_delete(ctx->srv->cat, id, e) < 0) {
		if (found == 0)
			err_set(e, 400, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id);
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	struct err ignored = ERR_INIT;
	volume_remove(ctx->srv->data_dir, id, &ignored);
	volsnap_release(ctx->srv->volsnap, v.base_snapshot_id);
	volsnap_release(ctx->srv->volsnap, v.map_snapshot_id);
	ec2_return_true(ctx);
	return 0;
}

/* ---- ModifyVolume ------------------------------------------------------- */

static void write_modification(struct xmlw *w, const struct volume_row *v)
{
	xmlw_text(w, "volumeId", v->id);
	xmlw_text(w, "modificationState", v->mod_state);
	xmlw_int(w, "targetSize", v->size_gib);
	if (v->iops)
		xmlw_int(w, "targetIops", v->iops);
	xmlw_text(w, "targetVolumeType", v->volume_type);
	if (v->throughput)
		xmlw_int(w, "targetThroughput", v->throughput);
	xmlw_bool(w, "targetMultiAttachEnabled", 0);
	xmlw_int(w, "originalSize", v->mod_original_size);
	if (v->mod_original_iops)
		xmlw_int(w, "originalIops", v->mod_original_iops);
	xmlw_text(w, "originalVolumeType", v->mod_original_type);
	if (v->mod_original_throughput)
		xmlw_int(w, "originalThroughput", v->mod_original_throughput);
	xmlw_bool(w, "originalMultiAttachEnabled", 0);
	xmlw_int(w, "progress", 100);
	xmlw_time(w, "startTime", v->mod_start_ms);
	if (v->mod_end_ms)
		xmlw_time(w, "endTime", v->mod_end_ms);
}

int ec2_modify_volume(struct ec2_ctx *ctx, struct err *e)
{
	struct volume_row v, was;
	struct volume *vol = NULL;
	long long size = 0, iops = 0, throughput = 0;
	int multi = 0;
	const char *id = ec2_require(ctx, "VolumeId", e);
	const char *type = query_get(&ctx->q, "VolumeType");
	if (!id || query_get_int(&ctx->q, "Size", 1, VOLUME_MAX_GIB * 4LL, &size, e) < 0 ||
	    query_get_int(&ctx->q, "Iops", 1, 256000, &iops, e) < 0 ||
	    query_get_int(&ctx->q, "Throughput", 1, 4000, &throughput, e) < 0 ||
	    query_get_bool(&ctx->q, "MultiAttachEnabled", &multi, e) < 0)
		return -1;
	if (multi)
		return err_set(e, 400, "InvalidParameterValue",
			       "Multi-attach volumes are not supported by amibox.");
	if (!size && !type && !iops && !throughput)
		return err_set(e, 400, "MissingParameter",
			       "The request must change the size, type, IOPS or throughput.");
	if (ec2_volume_owned(ctx, id, &v, e) < 0)
		return -1;
	was = v;
	if (size && size < v.size_gib)
		return err_set(e, 400, "InvalidParameterValue",
			       "New size (%lld) cannot be smaller than existing size (%lld).",
			       size, v.size_gib);
	if (type) {
		snprintf(v.volume_type, sizeof v.volume_type, "%s", type);
		if (strcmp(type, was.volume_type) != 0 && !iops)
			v.iops = 0;
		if (strcmp(type, "gp3") != 0)
			v.throughput = 0;
	}
	if (iops)
		v.iops = iops;
	if (throughput)
		v.throughput = throughput;
	if (size)
		v.size_gib = size;
	if (ec2_volume_type_check(v.volume_type, &v.iops, &v.throughput, e) < 0 ||
	    ec2_volume_size_check(v.volume_type, v.size_gib, e) < 0)
		return -1;
	if (v.size_gib == was.size_gib && !strcmp(v.volume_type, was.volume_type) &&
	    v.iops == was.iops && v.throughput == was.throughput)
		return err_set(e, 400, "InvalidParameterValue",
			       "The modification asks for what volume %s already is.", id);
	if (v.size_gib != was.size_gib) {
		if (volume_open(ctx->srv->data_dir, id, &vol, e) < 0)
			return -1;
		int rc = volume_grow(vol, v.size_gib, e);
		volume_close(vol);
		if (rc < 0)
			return -1;
	}
	snprintf(v.mod_state, sizeof v.mod_state, "completed");
	v.mod_original_size = was.size_gib;
	snprintf(v.mod_original_type, sizeof v.mod_original_type, "%s", was.volume_type);
	v.mod_original_iops = was.iops;
	v.mod_original_throughput = was.throughput;
	v.mod_start_ms = v.mod_end_ms = ids_now_ms();
	if (catalog_begin(ctx->srv->cat, e) < 0)
		return -1;
	if (catalog_volume_update(ctx->srv->cat, &v, e) < 0) {
		catalog_rollback(ctx->srv->cat);
		return -1;
	}
	if (catalog_commit(ctx->srv->cat, e) < 0)
		return -1;
	xmlw_start(ctx->w, "volumeModification");
	write_modification(ctx->w, &v);
	xmlw_end(ctx->w);
	return 0;
}

struct describe_mods {
	struct ec2_ctx *ctx;
	struct query_filter *filters;
	size_t nfilters;
};

static int describe_mod_visit(void *ctx, const struct volume_row *v)
{
	struct describe_mods *d = ctx;
	char num[32];
	if (!v->mod_state[0])
		return 0;
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct query_filter *f = &d->filters[i];
		const char *value = NULL;
		if (!strcmp(f->name, "volume-id"))
			value = v->id;
		else if (!strcmp(f->name, "modification-state"))
			value = v->mod_state;
		else if (!strcmp(f->name, "target-volume-type"))
			value = v->volume_type;
		else if (!strcmp(f->name, "original-volume-type"))
			value = v->mod_original_type;
		else if (!strcmp(f->name, "target-size") || !strcmp(f->name, "original-size")) {
			snprintf(num, sizeof num, "%lld", !strcmp(f->name, "target-size") ?
				 v->size_gib : v->mod_original_size);
			value = num;
		}
		if (!value || !filter_match_any(f->values, f->nvalues, value))
			return 0;
	}
	xmlw_start(d->ctx->w, "item");
	write_modification(d->ctx->w, v);
	xmlw_end(d->ctx->w);
	return 0;
}

int ec2_describe_volumes_modifications(struct ec2_ctx *ctx, struct err *e)
{
	static const char *const names[] = {
		"volume-id", "modification-state", "target-size", "target-iops",
		"target-volume-type", "original-size", "original-iops",
		"original-volume-type", "start-time", "target-throughput",
		"original-throughput", NULL,
	};
	struct describe_mods d = { .ctx = ctx };
	const char **ids = NULL;
	int ret = -1;
	size_t nids = query_list(&ctx->q, "VolumeId", &ids);
	if (query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0 ||
	    filters_known(d.filters, d.nfilters, names, e) < 0)
		goto out;
	xmlw_start(ctx->w, "volumeModificationSet");
	if (nids) {
		for (size_t i = 0; i < nids; i++) {
			struct volume_row v;
			if (ec2_volume_owned(ctx, ids[i], &v, e) < 0)
				goto out;
			describe_mod_visit(&d, &v);
		}
	} else if (catalog_volume_each(ctx->srv->cat, ctx->account, "",
				       describe_mod_visit, &d, e) < 0) {
		goto out;
	}
	xmlw_end(ctx->w);
	ret = 0;
out:
	free(ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}

/* ---- CreateSnapshot ----------------------------------------------------- */

int ec2_create_snapshot(struct ec2_ctx *ctx, struct err *e)
{
	struct volume_row v;
	struct snapshot s;
	struct tag_list tags = { NULL, 0 };
	int ret = -1;
	const char *id = ec2_require(ctx, "VolumeId", e);
	const char *description = query_get(&ctx->q, "Description");
	if (!id)
		goto out;
	if (description && (ec2_utf8_chars(description) > 255 ||
			    strlen(description) >= SNAPSHOT_DESCRIPTION_MAX)) {
		err_set(e, 400, "InvalidParameterValue",
			"The description must be at most 255 characters long.");
		goto out;
	}
	if (query_get(&ctx->q, "OutpostArn") ||
	    (query_get(&ctx->q, "Location") && strcmp(query_get(&ctx->q, "Location"), "regional") != 0)) {
		err_set(e, 400, "InvalidParameterValue",
			"amibox keeps snapshots in the region; it has no Outposts or Local Zones.");
		goto out;
	}
	if (ec2_tag_specifications(ctx, "snapshot", &tags, e) < 0 ||
	    ec2_volume_owned(ctx, id, &v, e) < 0)
		goto out;
	if (strcmp(v.state, "available") != 0 && strcmp(v.state, "in-use") != 0) {
		err_set(e, 400, "IncorrectState", "Volume %s is %s.", id, v.state);
		goto out;
	}
	memset(&s, 0, sizeof s);
	ids_resource("snap", s.id);
	snprintf(s.owner_id, sizeof s.owner_id, "%s", ctx->account);
	snprintf(s.description, sizeof s.description, "%s", description ? description : "");
	if (volsnap_capture(ctx->srv->volsnap, &v, &s, &tags, e) < 0)
		goto out;
	xmlw_text(ctx->w, "snapshotId", s.id);
	xmlw_text(ctx->w, "volumeId", s.volume_id);
	xmlw_text(ctx->w, "status", s.status);
	xmlw_time(ctx->w, "startTime", s.start_ms);
	xmlw_text(ctx->w, "progress", "");
	xmlw_text(ctx->w, "ownerId", s.owner_id);
	xmlw_int(ctx->w, "volumeSize", s.volume_size);
	xmlw_text(ctx->w, "description", s.description);
	xmlw_bool(ctx->w, "encrypted", 0);
	ec2_write_tags(ctx->w, &tags);
	ret = 0;
out:
	tag_list_release(&tags);
	return ret;
}
