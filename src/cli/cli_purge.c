/* cli_purge: ending an account's resources through the daemon (see cli_purge.h). */
#include "cli/cli_purge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog_instances.h"
#include "catalog/catalog_s3.h"
#include "util/buf.h"
#include "util/codec.h"

/* How long terminating instances may take (their guests get the daemon's grace). */
#define PURGE_TERMINATE_SECONDS 900
/* A volume its terminated instance has just let go of may be served a moment longer. */
#define PURGE_IN_USE_RETRIES 50

struct purge_ids {
	char **ids;
	size_t n;
};

struct purge {
	struct catalog *cat;
	const struct account *a;
	const struct cli_client *client;
	CURL *curl;
	struct buf response;
	struct purge_ids instances, volumes, images, snapshots, buckets, addresses, address_ips;
	char *error;
	size_t cap;
};

static void purge_ids_add(struct purge_ids *list, const char *id)
{
	list->ids = xrealloc(list->ids, (list->n + 1) * sizeof *list->ids);
	list->ids[list->n++] = xstrdup(id);
}

static void purge_ids_release(struct purge_ids *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->ids[i]);
	free(list->ids);
}

static int purge_collect(void *ctx, const char *kind, const char *id, const char *state)
{
	struct purge *p = ctx;
	if (!strcmp(kind, "address"))
		purge_ids_add(&p->address_ips, state); /* its public address */
	struct purge_ids *list = !strcmp(kind, "instance") ? &p->instances :
				 !strcmp(kind, "volume")   ? &p->volumes :
				 !strcmp(kind, "image")    ? &p->images :
				 !strcmp(kind, "snapshot") ? &p->snapshots :
				 !strcmp(kind, "address")  ? &p->addresses : &p->buckets;
	purge_ids_add(list, id);
	return 0;
}

/*
 * One EC2 Query call (params: "Action=...&..."): 0 done, 1 when the
 * resource is gone already (a .NotFound code), -1 with the error; code gets
 * the error code.
 */
static int purge_ec2(struct purge *p, const char *params, char code[64])
{
	long status = cli_client_ec2(p->client, p->curl, params, &p->response, code, p->error,
				     p->cap);
	size_t len = strlen(code);
	if (status == 200)
		return 0;
	if (len > 9 && !strcmp(code + len - 9, ".NotFound"))
		return 1;
	if (status > 0) {
		char detail[512];
		snprintf(detail, sizeof detail, "%s", p->error);
		snprintf(p->error, p->cap, "%s: %s", params, detail);
	}
	return -1;
}

/* Runs "Action=...&Name=id", retrying while code is busy (NULL: never). */
static int purge_ec2_id(struct purge *p, const char *action, const char *name, const char *id,
			const char *busy)
{
	struct buf params = BUF_INIT;
	char code[64];
	int rc;
	buf_printf(&params, "Action=%s&%s=%s", action, name, id);
	for (int attempt = 0;; attempt++) {
		rc = purge_ec2(p, params.data, code);
		if (rc >= 0 || !busy || strcmp(code, busy) != 0 || attempt == PURGE_IN_USE_RETRIES)
			break;
		usleep(200000);
	}
	buf_release(&params);
	if (rc == 0)
		fprintf(stderr, "amibox: %s %s\n", action, id);
	return rc < 0 ? -1 : 0;
}

/* One S3 call on path: 0 done or gone already (404), -1 with the error. */
static int purge_s3(struct purge *p, const char *path, const char *query)
{
	char hash[65];
	codec_sha256_hex("", 0, hash);
	long status = cli_client_send(p->client, p->curl, "s3", "DELETE", path, query, NULL, NULL,
				      hash, NULL, 0, &p->response, p->error, p->cap);
	if (status == 204 || status == 200 || status == 404)
		return 0;
	if (status > 0) {
		char code[64], message[512];
		cli_client_xml_text(&p->response, "Code", code, sizeof code);
		cli_client_xml_text(&p->response, "Message", message, sizeof message);
		snprintf(p->error, p->cap, "DELETE %s%s%s: %s: %s", path, *query ? "?" : "", query,
			 code[0] ? code : "error", message);
	}
	return -1;
}

static void purge_object_path(const char *bucket, const char *key, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "/%s/", bucket);
	codec_uri_encode(key, strlen(key), 1, out);
}

struct purge_keys {
	struct purge_ids keys;
	char last[S3_KEY_MAX + 1];
};

static int purge_key_visit(void *ctx, const struct object_row *o)
{
	struct purge_keys *k = ctx;
	purge_ids_add(&k->keys, o->key);
	snprintf(k->last, sizeof k->last, "%s", o->key);
	return 0;
}

/* Aborts the bucket's uploads, deletes its objects, then the bucket. */
static int purge_bucket(struct purge *p, const char *bucket)
{
	struct upload_row *uploads = NULL;
	struct buf path = BUF_INIT, query = BUF_INIT;
	struct err e = ERR_INIT;
	size_t nuploads = 0;
	int ret = -1;
	if (catalog_uploads(p->cat, bucket, &uploads, &nuploads, &e) < 0) {
		snprintf(p->error, p->cap, "%s", e.message);
		goto out;
	}
	for (size_t i = 0; i < nuploads; i++) {
		purge_object_path(bucket, uploads[i].key, &path);
		buf_reset(&query);
		buf_append_str(&query, "uploadId=");
		codec_uri_encode(uploads[i].id, strlen(uploads[i].id), 0, &query);
		if (purge_s3(p, path.data, query.data) < 0)
			goto out;
	}
	/* A page of keys at a time, deleted, then the page after its last key. */
	char after[S3_KEY_MAX + 1] = "";
	for (;;) {
		struct purge_keys page = { { NULL, 0 }, "" };
		int n = catalog_object_scan(p->cat, bucket, after, after[0] == '\0', NULL, 1000,
					    purge_key_visit, &page, &e);
		snprintf(after, sizeof after, "%s", page.last);
		int failed = n < 0;
		for (size_t i = 0; !failed && i < page.keys.n; i++) {
			purge_object_path(bucket, page.keys.ids[i], &path);
			failed = purge_s3(p, path.data, "") < 0;
		}
		purge_ids_release(&page.keys);
		if (n < 0)
			snprintf(p->error, p->cap, "%s", e.message);
		if (failed)
			goto out;
		if (n == 0)
			break;
	}
	buf_reset(&path);
	buf_printf(&path, "/%s", bucket);
	if (purge_s3(p, path.data, "") < 0)
		goto out;
	fprintf(stderr, "amibox: DeleteBucket %s\n", bucket);
	ret = 0;
out:
	free(uploads);
	buf_release(&path);
	buf_release(&query);
	return ret;
}

/* Terminates the instances and waits until each is. */
static int purge_instances(struct purge *p)
{
	struct buf params = BUF_INIT;
	char code[64];
	for (size_t i = 0; i < p->instances.n; i++) {
		buf_reset(&params);
		buf_printf(&params, "Action=ModifyInstanceAttribute&InstanceId=%s"
			   "&DisableApiTermination.Value=false", p->instances.ids[i]);
		purge_ec2(p, params.data, code); /* a stopped one or none at all: fine */
		if (purge_ec2_id(p, "TerminateInstances", "InstanceId.1", p->instances.ids[i],
				 NULL) < 0) {
			buf_release(&params);
			return -1;
		}
	}
	buf_release(&params);
	for (int waited = 0; waited < PURGE_TERMINATE_SECONDS * 5; waited++) {
		size_t left = 0;
		for (size_t i = 0; i < p->instances.n; i++) {
			struct instance m;
			struct err e = ERR_INIT;
			int found = catalog_instance_get(p->cat, p->instances.ids[i], &m, &e);
			if (found < 0) {
				snprintf(p->error, p->cap, "%s", e.message);
				return -1;
			}
			if (found) {
				left += strcmp(m.state, "terminated") != 0;
				instance_release(&m);
			}
		}
		if (!left)
			return 0;
		if (waited % 50 == 0)
			fprintf(stderr, "amibox: waiting for %zu instance%s to terminate\n", left,
				left == 1 ? "" : "s");
		usleep(200000);
	}
	snprintf(p->error, p->cap, "the instances did not terminate within %d s",
		 PURGE_TERMINATE_SECONDS);
	return -1;
}

int cli_purge_account(struct catalog *cat, const struct account *a,
		      const struct cli_client *client, char *error, size_t cap)
{
	struct purge p = { .cat = cat, .a = a, .client = client, .error = error, .cap = cap };
	struct err e = ERR_INIT;
	int ret = -1;
	p.curl = curl_easy_init();
	if (catalog_account_resources(cat, a->id, purge_collect, &p, &e) < 0) {
		snprintf(error, cap, "%s", e.message);
		goto out;
	}
	if (p.instances.n && purge_instances(&p) < 0)
		goto out;
	for (size_t i = 0; i < p.volumes.n; i++)
		if (purge_ec2_id(&p, "DeleteVolume", "VolumeId", p.volumes.ids[i], "VolumeInUse") < 0)
			goto out;
	for (size_t i = 0; i < p.images.n; i++)
		if (purge_ec2_id(&p, "DeregisterImage", "ImageId", p.images.ids[i], NULL) < 0)
			goto out;
	for (size_t i = 0; i < p.snapshots.n; i++)
		if (purge_ec2_id(&p, "DeleteSnapshot", "SnapshotId", p.snapshots.ids[i], NULL) < 0)
			goto out;
	for (size_t i = 0; i < p.buckets.n; i++)
		if (purge_bucket(&p, p.buckets.ids[i]) < 0)
			goto out;
	/* An address on an interface that outlived its instance is let go first. */
	for (size_t i = 0; i < p.addresses.n; i++)
		if (purge_ec2_id(&p, "DisassociateAddress", "PublicIp", p.address_ips.ids[i],
				 NULL) < 0 ||
		    purge_ec2_id(&p, "ReleaseAddress", "AllocationId", p.addresses.ids[i], NULL) < 0)
			goto out;
	ret = 0;
out:
	purge_ids_release(&p.instances);
	purge_ids_release(&p.volumes);
	purge_ids_release(&p.images);
	purge_ids_release(&p.snapshots);
	purge_ids_release(&p.buckets);
	purge_ids_release(&p.addresses);
	purge_ids_release(&p.address_ips);
	buf_release(&p.response);
	curl_easy_cleanup(p.curl);
	return ret;
}
