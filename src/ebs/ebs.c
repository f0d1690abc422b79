/*
 * ebs: the EBS direct API (REST-JSON, service "ebs"): StartSnapshot,
 * PutSnapshotBlock, CompleteSnapshot, GetSnapshotBlock, ListSnapshotBlocks,
 * ListChangedBlocks.
 *
 * Writes need the snapshot's owner and a pending snapshot; reads need a
 * completed snapshot the caller may see (owner, grantee or public).  Block
 * tokens bind snapshot, index, content hash and expiry under an HMAC with
 * the server's token key, so a token is useless for any other block.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "ebs/ebs.h"
#include "blockstore/blockstore.h"
#include "catalog/catalog_snapshots.h"
#include "util/codec.h"
#include "util/ids.h"

#define EBS_TOKEN_TTL_SECONDS (24 * 3600)
#define EBS_MAX_VOLUME_GIB 65536

static void ebs_error_response(struct request *req, const struct err *e)
{
	api_note_error(req, e);
	json_t *body = json_object();
	const char *type = e->code[0] ? e->code : "InternalServerException";
	/* EBS reports an oversized body as a validation failure, with a reason. */
	if (e->status == 413)
		type = "ValidationException";
	json_object_set_new(body, "Message", json_string(e->message));
	if (e->reason[0])
		json_object_set_new(body, "Reason", json_string(e->reason));
	char *text = json_dumps(body, JSON_COMPACT);
	buf_reset(&req->response);
	buf_append_str(&req->response, text);
	free(text);
	json_decref(body);
	req->status = e->status ? e->status : 500;
	req->content_type = "application/json";
	req->raw_body = NULL;
	api_add_header(req, "x-amzn-ErrorType", type);
}

static void ebs_json_response(struct request *req, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	buf_append_str(&req->response, text);
	free(text);
	json_decref(body);
	req->status = status;
	req->content_type = "application/json";
}

static int ebs_not_found(const char *id, struct err *e)
{
	return err_set_reason(e, 404, "ResourceNotFoundException",
			      "SNAPSHOT_NOT_FOUND",
			      "The snapshot '%.64s' does not exist.", id);
}

/*
 * Loads a snapshot for the caller.  for_write: the caller must own it and it
 * must be pending; else it must be completed and visible.
 */
static int ebs_snapshot(struct request *req, const char *id, int for_write,
			struct snapshot *s, struct err *e)
{
	struct catalog *cat = req->srv->cat;
	if (!ids_valid_resource("snap", id))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_SNAPSHOT_ID",
				      "The snapshot ID '%.64s' is malformed.", id);
	int found = catalog_snapshot_get(cat, id, s, e);
	if (found > 0)
		found = catalog_snapshot_visible(cat, s, req->account.id, e);
	if (found < 0)
		return -1;
	if (!found)
		return ebs_not_found(id, e);
	if (for_write && strcmp(s->owner_id, req->account.id) != 0)
		return err_set_reason(e, 403, "AccessDeniedException",
				      "UNAUTHORIZED_ACCOUNT",
				      "Only the owner may write to snapshot '%s'.", id);
	/* Past its deadline a pending snapshot is done for; the daemon's
	 * sweeper records that, here it only refuses. */
	if (for_write && !strcmp(s->status, "pending") &&
	    s->deadline_ms < ids_now_ms())
		snprintf(s->status, sizeof s->status, "error");
	const char *want = for_write ? "pending" : "completed";
	if (strcmp(s->status, want) != 0)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_SNAPSHOT_ID",
				      "The snapshot '%s' is %s; this operation needs a %s snapshot.",
				      id, s->status, want);
	return 0;
}

/* ---- tokens ------------------------------------------------------------- */

struct ebs_block_token {
	unsigned char index[8];
	unsigned char expiry[8];
	unsigned char hash[32];
	unsigned char mac[16];
};

static void ebs_put_u64(unsigned char out[8], unsigned long long v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (unsigned char)(v & 0xff);
}

static unsigned long long ebs_get_u64(const unsigned char in[8])
{
	unsigned long long v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

static void ebs_token_mac(const struct server *srv, const char *snapshot_id,
			  const struct ebs_block_token *t, unsigned char mac[16])
{
	struct buf msg = BUF_INIT;
	unsigned char full[32];
	buf_append_str(&msg, snapshot_id);
	buf_append(&msg, t, offsetof(struct ebs_block_token, mac));
	codec_hmac_sha256(srv->token_key, sizeof srv->token_key, msg.data,
			  msg.len, full);
	memcpy(mac, full, 16);
	buf_release(&msg);
}

static char *ebs_block_token(const struct server *srv, const char *snapshot_id,
			     long long index, const unsigned char hash[32],
			     long long expiry_s)
{
	struct ebs_block_token t;
	struct buf out = BUF_INIT;
	ebs_put_u64(t.index, (unsigned long long)index);
	ebs_put_u64(t.expiry, (unsigned long long)expiry_s);
	memcpy(t.hash, hash, 32);
	ebs_token_mac(srv, snapshot_id, &t, t.mac);
	codec_base64((const unsigned char *)&t, sizeof t, &out);
	return buf_detach(&out);
}

static int ebs_check_block_token(const struct server *srv,
				 const char *snapshot_id, long long index,
				 const char *token, unsigned char hash[32],
				 struct err *e)
{
	struct buf raw = BUF_INIT;
	struct ebs_block_token t;
	unsigned char mac[16];
	int ok = token && strlen(token) <= 256 &&
		 codec_unbase64(token, strlen(token), &raw) == 0 &&
		 raw.len == sizeof t;
	if (ok) {
		memcpy(&t, raw.data, sizeof t);
		ebs_token_mac(srv, snapshot_id, &t, mac);
		ok = codec_equal_ct(mac, t.mac, 16) &&
		     ebs_get_u64(t.index) == (unsigned long long)index;
	}
	buf_release(&raw);
	if (!ok)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_BLOCK_TOKEN",
				      "The block token is not valid for block %lld of snapshot %s.",
				      index, snapshot_id);
	if ((long long)ebs_get_u64(t.expiry) < ids_now_ms() / 1000)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_BLOCK_TOKEN", "The block token has expired.");
	memcpy(hash, t.hash, 32);
	return 0;
}

/* ---- query strings ------------------------------------------------------ */

/* The decoded value of name in req's query string, or NULL; caller frees. */
static char *ebs_query_param(struct request *req, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = req->query;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			struct buf v = BUF_INIT;
			if (codec_uri_decode(p + nlen + 1, len - nlen - 1, 0, &v) < 0) {
				buf_release(&v);
				return NULL;
			}
			return buf_detach(&v);
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static int ebs_parse_long(const char *text, long long min, long long max,
			  long long *out)
{
	char *end = NULL;
	if (!text || !*text)
		return -1;
	long long v = strtoll(text, &end, 10);
	if (*end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* ---- StartSnapshot ------------------------------------------------------ */

static json_t *ebs_snapshot_json(const struct snapshot *s,
				 const struct tag_list *tags)
{
	json_t *o = json_object();
	json_t *jt = json_array();
	json_object_set_new(o, "SnapshotId", json_string(s->id));
	json_object_set_new(o, "OwnerId", json_string(s->owner_id));
	json_object_set_new(o, "Status", json_string(s->status));
	json_object_set_new(o, "StartTime", json_real((double)s->start_ms / 1000.0));
	json_object_set_new(o, "VolumeSize", json_integer(s->volume_size));
	json_object_set_new(o, "BlockSize", json_integer(BLOCK_SIZE));
	json_object_set_new(o, "SseType", json_string("none"));
	if (s->description[0])
		json_object_set_new(o, "Description", json_string(s->description));
	if (s->parent_id[0])
		json_object_set_new(o, "ParentSnapshotId", json_string(s->parent_id));
	for (size_t i = 0; tags && i < tags->count; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "Key", json_string(tags->items[i].key));
		json_object_set_new(t, "Value", json_string(tags->items[i].value));
		json_array_append_new(jt, t);
	}
	json_object_set_new(o, "Tags", jt);
	return o;
}

static int ebs_start_read(struct request *req, json_t *body, struct snapshot *s,
			  struct tag_list *tags, struct err *e)
{
	json_t *v;
	long long timeout = 60;
	if (!json_is_object(body))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "The request body must be a JSON object.");
	v = json_object_get(body, "VolumeSize");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > EBS_MAX_VOLUME_GIB)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_VOLUME_SIZE",
				      "VolumeSize must be an integer from 1 to %d GiB.",
				      EBS_MAX_VOLUME_GIB);
	s->volume_size = json_integer_value(v);
	v = json_object_get(body, "Timeout");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 10 ||
		  json_integer_value(v) > 4320))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "Timeout must be from 10 to 4320 minutes.");
	if (v)
		timeout = json_integer_value(v);
	v = json_object_get(body, "Encrypted");
	if (!json_is_true(v) && json_object_get(body, "KmsKeyArn"))
		return err_set_reason(e, 400, "ValidationException", "INVALID_PARAMETER_VALUE",
				      "KmsKeyArn requires Encrypted to be true.");
	if (json_is_true(v))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "Encrypted snapshots are not supported by amibox yet.");
	v = json_object_get(body, "Description");
	if (v && (!json_is_string(v) || json_string_length(v) > 255))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "Description must be a string of at most 255 characters.");
	if (v)
		snprintf(s->description, sizeof s->description, "%s", json_string_value(v));
	v = json_object_get(body, "ClientToken");
	if (v && (!json_is_string(v) || json_string_length(v) > 64))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "ClientToken must be a string of at most 64 characters.");
	if (v)
		snprintf(s->client_token, sizeof s->client_token, "%s", json_string_value(v));
	v = json_object_get(body, "ParentSnapshotId");
	if (v && !json_is_string(v))
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_SNAPSHOT_ID", "ParentSnapshotId must be a string.");
	if (v)
		snprintf(s->parent_id, sizeof s->parent_id, "%s", json_string_value(v));
	v = json_object_get(body, "Tags");
	if (v && !json_is_array(v))
		return err_set_reason(e, 400, "ValidationException", "INVALID_TAG",
				      "Tags must be a list.");
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		json_t *key = json_object_get(item, "Key");
		json_t *value = json_object_get(item, "Value");
		if (!json_is_string(key) || (value && !json_is_string(value)) ||
		    json_string_length(key) < 1 || json_string_length(key) > 127 ||
		    !strncasecmp(json_string_value(key), "aws:", 4) ||
		    (value && json_string_length(value) > 255))
			return err_set_reason(e, 400, "ValidationException", "INVALID_TAG",
					      "Each tag needs a Key of 1-127 characters (not starting with 'aws:') and a Value of at most 255.");
		tag_list_add(tags, json_string_value(key),
			     value ? json_string_value(value) : "");
	}
	if (tags->count > 50)
		return err_set_reason(e, 400, "ValidationException", "INVALID_TAG",
				      "At most 50 tags per snapshot.");
	s->start_ms = ids_now_ms();
	s->deadline_ms = s->start_ms + timeout * 60 * 1000;
	(void)req;
	return 0;
}

/* The request's identity for ClientToken idempotency. */
static void ebs_start_digest(const struct snapshot *s, const struct tag_list *tags,
			     char out[72])
{
	struct buf b = BUF_INIT;
	char hex[65];
	buf_printf(&b, "%lld\n%s\n%s\n", s->volume_size, s->parent_id, s->description);
	for (size_t i = 0; i < tags->count; i++)
		buf_printf(&b, "%s=%s\n", tags->items[i].key, tags->items[i].value);
	codec_sha256_hex(b.data, b.len, hex);
	snprintf(out, 72, "%s", hex);
	buf_release(&b);
}

static int ebs_start_snapshot(struct request *req, struct err *e)
{
	struct catalog *cat = req->srv->cat;
	struct snapshot s = { 0 }, existing, parent;
	struct tag_list tags = { NULL, 0 };
	json_error_t jerr;
	int ret = -1;
	json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
	if (!body) {
		err_set_reason(e, 400, "ValidationException", "INVALID_PARAMETER_VALUE",
			       "The request body is not valid JSON: %s", jerr.text);
		goto out;
	}
	if (ebs_start_read(req, body, &s, &tags, e) < 0)
		goto out;
	if (s.parent_id[0]) {
		if (ebs_snapshot(req, s.parent_id, 0, &parent, e) < 0)
			goto out;
		if (s.volume_size < parent.volume_size) {
			err_set_reason(e, 400, "ValidationException", "INVALID_VOLUME_SIZE",
				       "VolumeSize (%lld GiB) is smaller than the parent snapshot's (%lld GiB).",
				       s.volume_size, parent.volume_size);
			goto out;
		}
	}
	ids_resource("snap", s.id);
	snprintf(s.owner_id, sizeof s.owner_id, "%s", req->account.id);
	snprintf(s.volume_id, sizeof s.volume_id, "vol-ffffffff");
	snprintf(s.status, sizeof s.status, "pending");
	ebs_start_digest(&s, &tags, s.request_digest);
	if (catalog_begin(cat, e) < 0)
		goto out;
	if (s.client_token[0]) {
		int found = catalog_snapshot_by_token(cat, s.owner_id, s.client_token,
						      &existing, e);
		if (found < 0)
			goto rollback;
		if (found) {
			catalog_rollback(cat);
			if (strcmp(existing.request_digest, s.request_digest) != 0) {
				err_set(e, 409, "ConflictException",
					"The request uses the same client token as a previous, but non-identical request.");
				goto out;
			}
			tag_list_release(&tags);
			if (catalog_tags_get(cat, existing.id, &tags, e) < 0)
				goto out;
			ebs_json_response(req, 201, ebs_snapshot_json(&existing, &tags));
			ret = 0;
			goto out;
		}
	}
	if (catalog_snapshot_insert(cat, &s, e) < 0 ||
	    (s.parent_id[0] && catalog_blocks_copy(cat, s.parent_id, s.id, e) < 0))
		goto rollback;
	for (size_t i = 0; i < tags.count; i++)
		if (catalog_tag_set(cat, s.id, "snapshot", s.owner_id,
				    tags.items[i].key, tags.items[i].value, e) < 0)
			goto rollback;
	if (catalog_commit(cat, e) < 0)
		goto out;
	ebs_json_response(req, 201, ebs_snapshot_json(&s, &tags));
	ret = 0;
	goto out;
rollback:
	catalog_rollback(cat);
out:
	json_decref(body);
	tag_list_release(&tags);
	return ret;
}

/* ---- PutSnapshotBlock --------------------------------------------------- */

static int ebs_check_checksum_headers(struct request *req, struct err *e)
{
	const char *algorithm = req->header(req, "x-amz-Checksum-Algorithm");
	if (algorithm && strcmp(algorithm, "SHA256") != 0)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "x-amz-Checksum-Algorithm must be SHA256.");
	return 0;
}

static int ebs_put_block(struct request *req, const char *id, long long index,
			 struct err *e)
{
	struct snapshot s;
	unsigned char hash[32];
	struct buf b64 = BUF_INIT;
	long long length = -1;
	const char *checksum = req->header(req, "x-amz-Checksum");
	if (ebs_parse_long(req->header(req, "x-amz-Data-Length"), 0, 1LL << 40,
			   &length) < 0 || !checksum)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "x-amz-Data-Length and x-amz-Checksum are required.");
	if (ebs_check_checksum_headers(req, e) < 0 ||
	    ebs_snapshot(req, id, 1, &s, e) < 0)
		return -1;
	if (index >= s.volume_size * BLOCKS_PER_GIB)
		return err_set_reason(e, 400, "ValidationException", "INVALID_BLOCK",
				      "Block index %lld is past the end of the %lld GiB snapshot.",
				      index, s.volume_size);
	if (length != BLOCK_SIZE || req->body_len != (size_t)length)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "A block is %d bytes: x-amz-Data-Length was %lld and the body %zu.",
				      BLOCK_SIZE, length, req->body_len);
	if (req->body_hashed)
		memcpy(hash, req->body_hash, 32);
	else
		codec_sha256(req->body, req->body_len, hash);
	codec_base64(hash, 32, &b64);
	if (strcmp(b64.data, checksum) != 0) {
		buf_release(&b64);
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "The checksum does not match the block's data (SHA-256).");
	}
	if (blockstore_put_block(req->srv->bs, id, index, req->body, hash, e) < 0) {
		buf_release(&b64);
		return -1;
	}
	api_add_header(req, "x-amz-Checksum", b64.data);
	api_add_header(req, "x-amz-Checksum-Algorithm", "SHA256");
	buf_release(&b64);
	ebs_json_response(req, 201, json_object());
	return 0;
}

/* ---- CompleteSnapshot --------------------------------------------------- */

static int ebs_complete(struct request *req, const char *id, struct err *e)
{
	struct catalog *cat = req->srv->cat;
	struct snapshot s;
	long long expected = -1, changed = 0, nonzero = 0;
	unsigned char aggregate[32];
	const char *checksum = req->header(req, "x-amz-Checksum");
	const char *method = req->header(req, "x-amz-Checksum-Aggregation-Method");
	if (ebs_parse_long(req->header(req, "x-amz-ChangedBlocksCount"), 0,
			   1LL << 40, &expected) < 0)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "x-amz-ChangedBlocksCount is required: a number of blocks.");
	if (method && strcmp(method, "LINEAR") != 0)
		return err_set_reason(e, 400, "ValidationException",
				      "INVALID_PARAMETER_VALUE",
				      "x-amz-Checksum-Aggregation-Method must be LINEAR.");
	if (ebs_check_checksum_headers(req, e) < 0 || catalog_begin(cat, e) < 0)
		return -1;
	if (ebs_snapshot(req, id, 1, &s, e) < 0 ||
	    catalog_blocks_changed(cat, id, &changed, aggregate, &nonzero, e) < 0)
		goto rollback;
	if (changed != expected) {
		err_set_reason(e, 400, "ValidationException", "INVALID_PARAMETER_VALUE",
			       "x-amz-ChangedBlocksCount is %lld but %lld blocks were written; the snapshot stays pending.",
			       expected, changed);
		goto rollback;
	}
	if (checksum) {
		struct buf b64 = BUF_INIT;
		codec_base64(aggregate, 32, &b64);
		int match = !strcmp(b64.data, checksum);
		buf_release(&b64);
		if (!match) {
			err_set_reason(e, 400, "ValidationException",
				       "INVALID_PARAMETER_VALUE",
				       "The aggregate checksum does not match the blocks written; the snapshot stays pending.");
			goto rollback;
		}
	}
	if (catalog_snapshot_set_state(cat, id, "completed", NULL, 100,
				       ids_now_ms(), e) < 0)
		goto rollback;
	if (catalog_commit(cat, e) < 0)
		return -1;
	json_t *body = json_object();
	json_object_set_new(body, "Status", json_string("completed"));
	ebs_json_response(req, 202, body);
	return 0;
rollback:
	catalog_rollback(cat);
	return -1;
}

/* ---- reads -------------------------------------------------------------- */

static int ebs_get_block(struct request *req, const char *id, long long index,
			 struct err *e)
{
	struct snapshot s;
	unsigned char token_hash[32], hash[32];
	struct buf b64 = BUF_INIT;
	char length[16];
	char *token = ebs_query_param(req, "blockToken");
	int ret = -1;
	void *data = NULL;
	if (ebs_snapshot(req, id, 0, &s, e) < 0 ||
	    ebs_check_block_token(req->srv, id, index, token, token_hash, e) < 0)
		goto out;
	data = xmalloc(BLOCK_SIZE);
	if (blockstore_get_block(req->srv->bs, id, index, data, hash, e) < 0)
		goto out;
	if (memcmp(hash, token_hash, 32) != 0) {
		err_set_reason(e, 400, "ValidationException", "INVALID_BLOCK_TOKEN",
			       "The block token does not name the block's current content.");
		goto out;
	}
	codec_base64(hash, 32, &b64);
	snprintf(length, sizeof length, "%d", BLOCK_SIZE);
	api_add_header(req, "x-amz-Data-Length", length);
	api_add_header(req, "x-amz-Checksum", b64.data);
	api_add_header(req, "x-amz-Checksum-Algorithm", "SHA256");
	buf_append(&req->response, data, BLOCK_SIZE);
	req->content_type = "application/octet-stream";
	req->status = 200;
	ret = 0;
out:
	free(token);
	free(data);
	buf_release(&b64);
	return ret;
}

struct ebs_list_args {
	long long max_results;
	long long start;
};

static int ebs_list_args(struct request *req, const char *id,
			 struct ebs_list_args *a, struct err *e)
{
	char *max = ebs_query_param(req, "maxResults");
	char *page = ebs_query_param(req, "pageToken");
	char *start = ebs_query_param(req, "startingBlockIndex");
	int ret = 0;
	a->max_results = 10000;
	a->start = 0;
	if (max && ebs_parse_long(max, 100, 10000, &a->max_results) < 0)
		ret = err_set_reason(e, 400, "ValidationException",
				     "INVALID_PARAMETER_VALUE",
				     "maxResults must be from 100 to 10000.");
	else if (start && ebs_parse_long(start, 0, 1LL << 40, &a->start) < 0)
		ret = err_set_reason(e, 400, "ValidationException",
				     "INVALID_PARAMETER_VALUE",
				     "startingBlockIndex must be a block index.");
	else if (page && *page) {
		struct buf raw = BUF_INIT;
		char prefix[80];
		snprintf(prefix, sizeof prefix, "p1:%s:", id);
		size_t plen = strlen(prefix);
		long long next = -1;
		if (codec_unbase64(page, strlen(page), &raw) < 0 || raw.len <= plen ||
		    memcmp(raw.data, prefix, plen) != 0 ||
		    ebs_parse_long(raw.data + plen, 0, 1LL << 40, &next) < 0)
			ret = err_set_reason(e, 400, "ValidationException",
					     "INVALID_PAGE_TOKEN",
					     "The page token is not valid for snapshot %s.", id);
		else if (next > a->start)
			a->start = next;
		buf_release(&raw);
	}
	free(max);
	free(page);
	free(start);
	return ret;
}

static void ebs_page_token(json_t *o, const char *id, long long next)
{
	struct buf raw = BUF_INIT, token = BUF_INIT;
	buf_printf(&raw, "p1:%s:%lld", id, next);
	codec_base64((const unsigned char *)raw.data, raw.len, &token);
	json_object_set_new(o, "NextToken", json_string(token.data));
	buf_release(&raw);
	buf_release(&token);
}

static int ebs_list_blocks(struct request *req, const char *id, struct err *e)
{
	struct snapshot s;
	struct ebs_list_args a;
	struct block_ref *refs = NULL;
	if (ebs_snapshot(req, id, 0, &s, e) < 0 || ebs_list_args(req, id, &a, e) < 0)
		return -1;
	long long n = catalog_blocks_range(req->srv->cat, id, a.start,
					   a.max_results + 1, &refs, e);
	if (n < 0)
		return -1;
	long long expiry = ids_now_ms() / 1000 + EBS_TOKEN_TTL_SECONDS;
	json_t *o = json_object(), *blocks = json_array();
	for (long long i = 0; i < n && i < a.max_results; i++) {
		json_t *b = json_object();
		char *token = ebs_block_token(req->srv, id, refs[i].index,
					      refs[i].hash, expiry);
		json_object_set_new(b, "BlockIndex", json_integer(refs[i].index));
		json_object_set_new(b, "BlockToken", json_string(token));
		free(token);
		json_array_append_new(blocks, b);
	}
	json_object_set_new(o, "Blocks", blocks);
	json_object_set_new(o, "ExpiryTime", json_integer(expiry));
	json_object_set_new(o, "VolumeSize", json_integer(s.volume_size));
	json_object_set_new(o, "BlockSize", json_integer(BLOCK_SIZE));
	if (n > a.max_results)
		ebs_page_token(o, id, refs[a.max_results].index);
	free(refs);
	ebs_json_response(req, 200, o);
	return 0;
}

/* Merge-joins two ordered block lists, emitting indices whose content differs. */
static int ebs_list_changed(struct request *req, const char *second_id,
			    struct err *e)
{
	struct snapshot first, second;
	struct ebs_list_args a;
	struct block_ref *r1 = NULL, *r2 = NULL;
	long long n1 = 0, n2 = 0, emitted = 0, next = -1;
	char *first_id = ebs_query_param(req, "firstSnapshotId");
	int ret = -1;
	if (ebs_snapshot(req, second_id, 0, &second, e) < 0 ||
	    (first_id && ebs_snapshot(req, first_id, 0, &first, e) < 0) ||
	    ebs_list_args(req, second_id, &a, e) < 0)
		goto out;
	if (first_id && first.volume_size > second.volume_size) {
		err_set_reason(e, 400, "ValidationException", "UNRELATED_SNAPSHOTS",
			       "The first snapshot is larger than the second.");
		goto out;
	}
	/* Read a window of each: at most max_results+1 entries can matter. */
	n2 = catalog_blocks_range(req->srv->cat, second_id, a.start,
				  a.max_results + 1, &r2, e);
	if (n2 < 0)
		goto out;
	if (first_id) {
		n1 = catalog_blocks_range(req->srv->cat, first_id, a.start,
					  a.max_results + 1, &r1, e);
		if (n1 < 0)
			goto out;
	}
	/* Past the shorter window nothing is known: stop at its last index. */
	long long horizon = (long long)1 << 62;
	if (n1 > a.max_results)
		horizon = r1[n1 - 1].index;
	if (n2 > a.max_results && r2[n2 - 1].index < horizon)
		horizon = r2[n2 - 1].index;
	long long expiry = ids_now_ms() / 1000 + EBS_TOKEN_TTL_SECONDS;
	json_t *o = json_object(), *blocks = json_array();
	long long i = 0, j = 0;
	while (i < n1 || j < n2) {
		long long idx1 = i < n1 ? r1[i].index : (long long)1 << 62;
		long long idx2 = j < n2 ? r2[j].index : (long long)1 << 62;
		long long idx = idx1 < idx2 ? idx1 : idx2;
		if (idx >= horizon || emitted == a.max_results) {
			next = idx;
			break;
		}
		const struct block_ref *b1 = idx1 == idx ? &r1[i++] : NULL;
		const struct block_ref *b2 = idx2 == idx ? &r2[j++] : NULL;
		if (b1 && b2 && !memcmp(b1->hash, b2->hash, 32))
			continue;
		json_t *b = json_object();
		json_object_set_new(b, "BlockIndex", json_integer(idx));
		if (b1) {
			char *t = ebs_block_token(req->srv, first_id, idx, b1->hash, expiry);
			json_object_set_new(b, "FirstBlockToken", json_string(t));
			free(t);
		}
		if (b2) {
			char *t = ebs_block_token(req->srv, second_id, idx, b2->hash, expiry);
			json_object_set_new(b, "SecondBlockToken", json_string(t));
			free(t);
		}
		json_array_append_new(blocks, b);
		emitted++;
	}
	json_object_set_new(o, "ChangedBlocks", blocks);
	json_object_set_new(o, "ExpiryTime", json_integer(expiry));
	json_object_set_new(o, "VolumeSize", json_integer(second.volume_size));
	json_object_set_new(o, "BlockSize", json_integer(BLOCK_SIZE));
	if (next >= 0)
		ebs_page_token(o, second_id, next);
	ebs_json_response(req, 200, o);
	ret = 0;
out:
	free(first_id);
	free(r1);
	free(r2);
	return ret;
}

/* ---- routing ------------------------------------------------------------ */

/* Splits "/snapshots/a/b/c" into up to 4 segments after "snapshots". */
static size_t ebs_segments(const char *path, char seg[4][96])
{
	size_t n = 0;
	const char *p = path + strlen("/snapshots");
	while (*p == '/' && n < 4) {
		p++;
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len >= 96)
			return 99;
		memcpy(seg[n], p, len);
		seg[n][len] = '\0';
		n++;
		p += len;
	}
	return *p ? 99 : n;
}

static void ebs_handle(struct request *req)
{
	struct err e = ERR_INIT;
	char seg[4][96];
	long long index = -1;
	size_t n = ebs_segments(req->path, seg);
	const char *m = req->method;
	int rc = -1;
	const char *action = "ebs";
	if (n == 0 && !strcmp(m, "POST")) {
		action = "StartSnapshot";
		rc = ebs_start_snapshot(req, &e);
	} else if (n == 2 && !strcmp(seg[0], "completion") && !strcmp(m, "POST")) {
		action = "CompleteSnapshot";
		rc = ebs_complete(req, seg[1], &e);
	} else if (n == 2 && !strcmp(seg[1], "blocks") && !strcmp(m, "GET")) {
		action = "ListSnapshotBlocks";
		rc = ebs_list_blocks(req, seg[0], &e);
	} else if (n == 2 && !strcmp(seg[1], "changedblocks") && !strcmp(m, "GET")) {
		action = "ListChangedBlocks";
		rc = ebs_list_changed(req, seg[0], &e);
	} else if (n == 3 && !strcmp(seg[1], "blocks") &&
		   (!strcmp(m, "PUT") || !strcmp(m, "GET"))) {
		action = !strcmp(m, "PUT") ? "PutSnapshotBlock" : "GetSnapshotBlock";
		if (ebs_parse_long(seg[2], 0, 1LL << 40, &index) < 0)
			err_set_reason(&e, 400, "ValidationException", "INVALID_BLOCK",
				       "The block index '%.32s' is not a number.", seg[2]);
		else if (!strcmp(m, "PUT"))
			rc = ebs_put_block(req, seg[0], index, &e);
		else
			rc = ebs_get_block(req, seg[0], index, &e);
	} else {
		err_set(&e, 404, "UnknownOperationException",
			"No EBS operation is %s %.128s.", m, req->path);
	}
	snprintf(req->action, sizeof req->action, "%s", action);
	if (rc < 0) {
		if (!err_is_set(&e))
			err_internal(&e, "the operation failed without saying why");
		ebs_error_response(req, &e);
	}
}

/* "/snapshots" and below: EBS's, whoever signed it (other scopes are refused in EBS's format). */
static int ebs_is_path(const char *path)
{
	return !strncmp(path, "/snapshots", 10) && (path[10] == '\0' || path[10] == '/');
}

static enum api_claim ebs_claim(const struct api_route *route)
{
	if (!ebs_is_path(route->path))
		return API_CLAIM_NONE;
	return !strcmp(route->scope_service, "ebs") ? API_CLAIM_FULL : API_CLAIM_PATH;
}

/* PutSnapshotBlock (below /snapshots/ID/blocks/N) carries one block. */
static size_t ebs_body_limit(const struct api_route *route)
{
	return strlen(route->path) > 10 ? API_MAX_BLOCK_BODY : API_MAX_QUERY_BODY;
}

const struct api_service ebs_service = {
	.name = "ebs",
	.claim = ebs_claim,
	.error_response = ebs_error_response,
	.body_limit = ebs_body_limit,
	.handle = ebs_handle,
};
