/*
 * s3: the object store's API (path-style S3 over REST-XML).
 *
 * A call lives from the end of the request's headers to the end of its
 * body.  s3_begin() authenticates from the headers, routes by method, path
 * and sub-resource, and checks what can be checked before the body (the
 * bucket, the caller's rights, the upload, the ACL header), so that a
 * refusal never waits for, or stores, a body.  Bodies of objects and parts
 * go to a spool file as they arrive (through the aws-chunked decoder when
 * the client streams); small XML bodies are gathered in memory.  s3_end()
 * verifies what the client declared about the body and runs the operation.
 *
 * Rights (the classic ACL model): a bucket's owner does everything with it
 * and its objects; canned ACLs grant the rest: public-read(-write) to
 * everyone, authenticated-read to every account, bucket-owner-read and
 * bucket-owner-full-control to the bucket's owner; aws-exec-read and
 * ec2-bundle-read let the EC2 service read a bundle (for registration and
 * launch).  Only an object's owner reads or changes its ACL.
 */
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/internal.h"
#include "s3/s3.h"
#include "util/codec.h"
#include "util/ids.h"
#include "util/log.h"

/* ---- responses ---------------------------------------------------------- */

struct xmlw *s3_doc(const char *root)
{
	return xmlw_new_ns(root, S3_NAMESPACE);
}

void s3_send_doc(struct s3_call *c, struct xmlw *w)
{
	buf_reset(&c->req->response);
	xmlw_finish(w, &c->req->response);
	c->req->content_type = "application/xml";
}

void s3_etag_header(struct request *req, const char *etag)
{
	char quoted[56];
	snprintf(quoted, sizeof quoted, "\"%s\"", etag);
	api_add_header(req, "ETag", quoted);
}

void s3_etag_element(struct xmlw *w, const char *etag)
{
	char quoted[56];
	snprintf(quoted, sizeof quoted, "\"%s\"", etag);
	xmlw_text(w, "ETag", quoted);
}

void s3_owner(struct s3_call *c, struct xmlw *w, const char *element, const char *account_id)
{
	struct account a;
	struct err ignored = ERR_INIT;
	int found = catalog_account_by_id(c->req->srv->cat, account_id, &a, &ignored);
	xmlw_start(w, element);
	xmlw_text(w, "ID", account_id);
	xmlw_text(w, "DisplayName", found > 0 ? a.name : account_id);
	xmlw_end(w);
}

void s3_http_date(long long epoch_ms, char out[40])
{
	time_t t = (time_t)(epoch_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- errors ------------------------------------------------------------- */

int s3_invalid_argument(struct s3_call *c, struct err *e, const char *name, const char *value,
			const char *fmt, ...)
{
	char message[sizeof e->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	return S3_FAIL(c, e, 400, "InvalidArgument",
		       S3_DETAILS("ArgumentName", name, "ArgumentValue", value), "%s", message);
}

int s3_query_count(struct s3_call *c, const char *name, const char *negative_name, long dflt,
		   long *out, struct err *e)
{
	const char *text = query_get(&c->q, name);
	*out = dflt;
	if (!text)
		return 0;
	const char *digits = text[0] == '-' ? text + 1 : text;
	size_t n = strlen(digits), zeros = strspn(digits, "0");
	long long value = n > 0 && strspn(digits, "0123456789") == n && n - zeros <= 18 ?
				  strtoll(text, NULL, 10) : INT64_MIN;
	if (value < INT32_MIN || value > INT32_MAX)
		return s3_invalid_argument(c, e, name, text,
					   "Provided %s not an integer or within integer range", name);
	if (value < 0)
		return s3_invalid_argument(c, e, negative_name, text,
					   "Argument %s must be an integer between 0 and 2147483647",
					   negative_name);
	*out = (long)value;
	return 0;
}

/* The call's error document. */
static void s3_error_response(struct s3_call *c)
{
	const struct s3_error_context ctx = {
		.bucket = c->bucket,
		.key = c->key,
		.upload_id = query_get(&c->q, "uploadId"),
		.method = c->req->method,
	};
	s3_error_document(c->req, &c->err, &c->details, &ctx);
}

/* ---- rights ------------------------------------------------------------- */

static int access_denied(struct err *e)
{
	return err_set(e, 403, "AccessDenied", "Access Denied");
}

/* Whether a canned ACL lets a caller who is not the owner read. */
static int acl_grants_read(const char *acl, int anonymous)
{
	if (!strcmp(acl, "public-read") || !strcmp(acl, "public-read-write"))
		return 1;
	return !anonymous && !strcmp(acl, "authenticated-read");
}

int s3_bucket_access(struct s3_call *c, const struct bucket_row *b, enum s3_access want,
		     struct err *e)
{
	int anonymous = c->auth.anonymous;
	if (!anonymous && !strcmp(b->owner_id, c->req->account.id))
		return 0;
	if (want == S3_READ && acl_grants_read(b->acl, anonymous))
		return 0;
	if (want == S3_WRITE && !strcmp(b->acl, "public-read-write"))
		return 0;
	return access_denied(e);
}

int s3_load_bucket(struct s3_call *c, struct err *e)
{
	int found = catalog_bucket_get(c->req->srv->cat, c->bucket, &c->bucket_row, e);
	if (found < 0)
		return -1;
	if (!found)
		return err_set(e, 404, "NoSuchBucket", "The specified bucket does not exist");
	return 0;
}

int s3_object_readable(struct s3_call *c, const struct object_row *o)
{
	int anonymous = c->auth.anonymous;
	const char *me = c->req->account.id;
	if (!anonymous && (!strcmp(o->owner_id, me) || !strcmp(c->bucket_row.owner_id, me)))
		return 1;
	return acl_grants_read(o->acl, anonymous);
}

static const char *const canned_acls[] = {
	"private", "public-read", "public-read-write", "authenticated-read",
	"aws-exec-read", "bucket-owner-read", "bucket-owner-full-control",
	"log-delivery-write", "ec2-bundle-read",
};

int s3_canned_acl(struct s3_call *c, char acl[32], struct err *e)
{
	const char *given = c->req->header(c->req, "x-amz-acl");
	if (!given) {
		snprintf(acl, 32, "private");
		return 0;
	}
	for (size_t i = 0; i < sizeof canned_acls / sizeof *canned_acls; i++) {
		if (!strcmp(given, canned_acls[i])) {
			snprintf(acl, 32, "%s", given);
			return 0;
		}
	}
	return s3_invalid_argument(c, e, "x-amz-acl", given, "The canned ACL '%.64s' is not valid.",
				   given);
}

struct meta_ctx {
	char *out;
	size_t len, total;
	int too_large;
};

static void collect_meta(void *ctx, const char *name, const char *value)
{
	struct meta_ctx *m = ctx;
	if (strncasecmp(name, "x-amz-meta-", 11) != 0)
		return;
	size_t nlen = strlen(name + 11), vlen = strlen(value);
	m->total += nlen + vlen;
	if (m->total > S3_META_LIMIT || m->len + nlen + vlen + 3 >= S3_META_MAX ||
	    nlen > S3_META_NAME_MAX || strchr(value, '\n')) {
		m->too_large = 1;
		return;
	}
	for (size_t i = 0; i < nlen; i++) {
		char ch = name[11 + i];
		m->out[m->len++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	m->out[m->len++] = ':';
	memcpy(m->out + m->len, value, vlen);
	m->len += vlen;
	m->out[m->len++] = '\n';
	m->out[m->len] = '\0';
}

int s3_collect_metadata(struct s3_call *c, char out[S3_META_MAX], struct err *e)
{
	struct meta_ctx m = { .out = out };
	out[0] = '\0';
	c->req->headers_each(c->req, collect_meta, &m);
	if (m.too_large) {
		char size[24], max[24];
		snprintf(size, sizeof size, "%zu", m.total);
		snprintf(max, sizeof max, "%d", S3_META_LIMIT);
		return S3_FAIL(c, e, 400, "MetadataTooLarge",
			       m.total > S3_META_LIMIT ? S3_DETAILS("Size", size, "MaxSizeAllowed", max) :
							 NULL,
			       "Your metadata headers exceed the maximum allowed metadata size.");
	}
	return 0;
}

/* ---- request bodies ----------------------------------------------------- */

int s3_entity_too_large(struct s3_call *c, unsigned long long proposed, struct err *e)
{
	char size[24], max[24];
	snprintf(size, sizeof size, "%llu", proposed);
	snprintf(max, sizeof max, "%llu", S3_MAX_OBJECT);
	return S3_FAIL(c, e, 400, "EntityTooLarge",
		       S3_DETAILS("ProposedSize", size, "MaxSizeAllowed", max),
		       "Your proposed upload exceeds the maximum allowed size");
}

static int spool_sink(void *ctx, const void *data, size_t len, struct err *e)
{
	struct s3_call *c = ctx;
	if (objstore_spool_size(c->spool) + len > S3_MAX_OBJECT)
		return s3_entity_too_large(c, objstore_spool_size(c->spool) + len, e);
	return objstore_spool_write(c->spool, data, len, e);
}

int s3_spool_body(struct s3_call *c, struct err *e)
{
	const char *length = c->req->header(c->req, "content-length");
	const char *te = c->req->header(c->req, "transfer-encoding");
	if (!length && !te)
		return err_set(e, 411, "MissingContentLength",
			       "You must provide the Content-Length HTTP header.");
	const char *md5 = c->req->header(c->req, "content-md5");
	if (md5) {
		struct buf raw = BUF_INIT;
		int bad = codec_unbase64(md5, strlen(md5), &raw) < 0 || raw.len != 16;
		buf_release(&raw);
		if (bad)
			return S3_FAIL(c, e, 400, "InvalidDigest", S3_DETAILS("Content-MD5", md5),
				       "The Content-MD5 you specified was invalid.");
	}
	if (s3_checksum_declared(c, e) < 0)
		return -1;
	if (c->auth.payload == S3_PAYLOAD_STREAMING_SIGNED ||
	    c->auth.payload == S3_PAYLOAD_STREAMING_UNSIGNED_TRAILER) {
		if (!c->req->header(c->req, "x-amz-decoded-content-length"))
			return err_set(e, 411, "MissingContentLength",
				       "You must provide the x-amz-decoded-content-length header.");
		c->chunked = s3_chunked_new(&c->auth, spool_sink, c);
	}
	if (objstore_spool_begin(c->store, c->declared ? c->declared->which : 0, &c->spool, e) < 0)
		return -1;
	c->body_mode = S3_BODY_SPOOL;
	return 0;
}

/* XAmzContentSHA256Mismatch, with both hashes in hex. */
static int payload_hash_mismatch(struct s3_call *c, const unsigned char computed[32],
				 struct err *e)
{
	char client[65], server[65];
	codec_hex(c->auth.payload_sha256, 32, client);
	codec_hex(computed, 32, server);
	return S3_FAIL(c, e, 400, "XAmzContentSHA256Mismatch",
		       S3_DETAILS("ClientComputedContentSHA256", client,
				  "S3ComputedContentSHA256", server),
		       "The provided 'x-amz-content-sha256' header does not match what was "
		       "computed.");
}

int s3_check_content_md5(struct s3_call *c, const unsigned char md5[16], struct err *e)
{
	const char *declared = c->req->header(c->req, "content-md5");
	if (!declared)
		return 0;
	struct buf raw = BUF_INIT, calculated = BUF_INIT;
	codec_unbase64(declared, strlen(declared), &raw);
	int good = raw.len == 16 && memcmp(raw.data, md5, 16) == 0;
	buf_release(&raw);
	if (good)
		return 0;
	codec_base64(md5, 16, &calculated);
	S3_FAIL(c, e, 400, "BadDigest",
		S3_DETAILS("ExpectedDigest", declared, "CalculatedDigest", calculated.data),
		"The Content-MD5 you specified did not match what we received.");
	buf_release(&calculated);
	return -1;
}

int s3_spool_finish(struct s3_call *c, char file[S3_FILE_MAX], char etag[48],
		    struct err *e)
{
	unsigned char md5[16], sha[32];
	if (c->chunked && s3_chunked_finish(c->chunked, e) < 0)
		return -1;
	objstore_spool_md5(c->spool, md5);
	objstore_spool_sha256(c->spool, sha);
	if (c->auth.payload == S3_PAYLOAD_SHA256 && memcmp(sha, c->auth.payload_sha256, 32) != 0)
		return payload_hash_mismatch(c, sha, e);
	const char *decoded = c->req->header(c->req, "x-amz-decoded-content-length");
	if (c->chunked && strtoull(decoded, NULL, 10) != objstore_spool_size(c->spool)) {
		char provided[24];
		snprintf(provided, sizeof provided, "%llu",
			 (unsigned long long)objstore_spool_size(c->spool));
		return S3_FAIL(c, e, 400, "IncompleteBody",
			       S3_DETAILS("NumberBytesExpected", decoded,
					  "NumberBytesProvided", provided),
			       "You did not provide the number of bytes specified by the "
			       "x-amz-decoded-content-length header.");
	}
	if (s3_check_content_md5(c, md5, e) < 0)
		return -1;
	if (s3_checksum_verify(c, e) < 0)
		return -1;
	codec_hex(md5, 16, etag);
	struct objstore_spool *sp = c->spool;
	c->spool = NULL;
	return objstore_spool_commit(sp, file, e);
}

/* ---- buckets ------------------------------------------------------------ */

/* S3's rules for new bucket names. */
static int bucket_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len < 3 || len > 63)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
			 ch == '-';
		if (!ok)
			return 0;
	}
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')) ||
	    !((name[len - 1] >= 'a' && name[len - 1] <= 'z') ||
	      (name[len - 1] >= '0' && name[len - 1] <= '9')))
		return 0;
	if (strstr(name, "..") || strstr(name, ".-") || strstr(name, "-.") ||
	    !strncmp(name, "xn--", 4) || (len > 8 && !strcmp(name + len - 8, "-s3alias")))
		return 0;
	int a, b, d, f;
	char tail;
	if (sscanf(name, "%d.%d.%d.%d%c", &a, &b, &d, &f, &tail) == 4)
		return 0; /* formatted as an IP address */
	return 1;
}

/* The LocationConstraint of a CreateBucketConfiguration body, if any. */
static int location_constraint(struct s3_call *c, char out[64], struct err *e)
{
	out[0] = '\0';
	if (c->xml.len == 0)
		return 0;
	xmlDocPtr doc = xmlReadMemory(c->xml.data, (int)c->xml.len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
					      XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "CreateBucketConfiguration") != 0) {
		xmlFreeDoc(doc);
		return err_set(e, 400, "MalformedXML",
			       "The XML you provided was not well-formed or did not validate "
			       "against our published schema");
	}
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (n->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)n->name, "LocationConstraint")) {
			xmlChar *text = xmlNodeGetContent(n);
			snprintf(out, 64, "%s", text ? (const char *)text : "");
			xmlFree(text);
		}
	}
	xmlFreeDoc(doc);
	return 0;
}

static int create_bucket(struct s3_call *c, struct err *e)
{
	char location[64];
	struct bucket_row b = { 0 }, existing;
	if (location_constraint(c, location, e) < 0)
		return -1;
	if (location[0] && strcmp(location, c->req->srv->region) != 0)
		return err_set(e, 400, "IllegalLocationConstraintException",
			       "The %s location constraint is incompatible for the region "
			       "specific endpoint this request was sent to.", location);
	snprintf(b.name, sizeof b.name, "%s", c->bucket);
	snprintf(b.owner_id, sizeof b.owner_id, "%s", c->req->account.id);
	if (s3_canned_acl(c, b.acl, e) < 0)
		return -1;
	b.create_ms = ids_now_ms();
	int taken = catalog_bucket_create(c->req->srv->cat, &b, &existing, e);
	if (taken < 0)
		return -1;
	if (taken) {
		if (!strcmp(existing.owner_id, c->req->account.id))
			return err_set(e, 409, "BucketAlreadyOwnedByYou",
				       "Your previous request to create the named bucket succeeded "
				       "and you already own it.");
		return err_set(e, 409, "BucketAlreadyExists",
			       "The requested bucket name is not available. The bucket namespace "
			       "is shared by all users of the system. Please select a different "
			       "name and try again.");
	}
	struct buf location_header = BUF_INIT;
	buf_printf(&location_header, "/%s", c->bucket);
	api_add_header(c->req, "Location", location_header.data);
	buf_release(&location_header);
	return 0;
}

static int head_bucket(struct s3_call *c, struct err *e)
{
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_READ, e) < 0)
		return -1;
	api_add_header(c->req, "x-amz-bucket-region", c->req->srv->region);
	return 0;
}

static int delete_bucket(struct s3_call *c, struct err *e)
{
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_OWNER, e) < 0 ||
	    catalog_bucket_delete(c->req->srv->cat, c->bucket, e) < 0)
		return -1;
	c->req->status = 204;
	return 0;
}

static int bucket_location(struct s3_call *c, struct err *e)
{
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_OWNER, e) < 0)
		return -1;
	const char *region = c->req->srv->region;
	/* The region is the root's text ("" for us-east-1, as AWS answers). */
	buf_reset(&c->req->response);
	buf_printf(&c->req->response,
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<LocationConstraint xmlns=\"%s\">%s</LocationConstraint>\n", S3_NAMESPACE,
		   strcmp(region, "us-east-1") ? region : "");
	c->req->content_type = "application/xml";
	return 0;
}

struct list_buckets {
	struct xmlw *w;
};

static int list_one_bucket(void *ctx, const struct bucket_row *b)
{
	struct list_buckets *l = ctx;
	xmlw_start(l->w, "Bucket");
	xmlw_text(l->w, "Name", b->name);
	xmlw_time(l->w, "CreationDate", b->create_ms);
	xmlw_end(l->w);
	return 0;
}

static int list_buckets(struct s3_call *c, struct err *e)
{
	if (c->auth.anonymous)
		return access_denied(e);
	struct list_buckets l = { s3_doc("ListAllMyBucketsResult") };
	s3_owner(c, l.w, "Owner", c->req->account.id);
	xmlw_start(l.w, "Buckets");
	if (catalog_bucket_each(c->req->srv->cat, c->req->account.id, list_one_bucket, &l, e) < 0) {
		xmlw_free(l.w);
		return -1;
	}
	xmlw_end(l.w);
	s3_send_doc(c, l.w);
	return 0;
}

/* ---- ACLs --------------------------------------------------------------- */

static void grant(struct xmlw *w, const char *type, const char *id_or_uri,
		  const char *display, const char *permission)
{
	xmlw_start(w, "Grant");
	xmlw_start(w, "Grantee");
	xmlw_attribute(w, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
	xmlw_attribute(w, "xsi:type", type);
	if (!strcmp(type, "Group")) {
		xmlw_text(w, "URI", id_or_uri);
	} else {
		xmlw_text(w, "ID", id_or_uri);
		if (display)
			xmlw_text(w, "DisplayName", display);
	}
	xmlw_end(w);
	xmlw_text(w, "Permission", permission);
	xmlw_end(w);
}

/* An AccessControlPolicy for a canned ACL. */
static void acl_document(struct s3_call *c, const char *owner_id, const char *bucket_owner,
			 const char *acl)
{
	struct xmlw *w = s3_doc("AccessControlPolicy");
	s3_owner(c, w, "Owner", owner_id);
	xmlw_start(w, "AccessControlList");
	grant(w, "CanonicalUser", owner_id, NULL, "FULL_CONTROL");
	static const char all_users[] = "http://acs.amazonaws.com/groups/global/AllUsers";
	if (!strcmp(acl, "public-read") || !strcmp(acl, "public-read-write"))
		grant(w, "Group", all_users, NULL, "READ");
	if (!strcmp(acl, "public-read-write"))
		grant(w, "Group", all_users, NULL, "WRITE");
	if (!strcmp(acl, "authenticated-read"))
		grant(w, "Group", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
		      NULL, "READ");
	if (!strcmp(acl, "aws-exec-read") || !strcmp(acl, "ec2-bundle-read"))
		grant(w, "CanonicalUser", S3_EC2_READER_ID, "za-team", "READ");
	if (bucket_owner && strcmp(bucket_owner, owner_id) != 0 &&
	    (!strcmp(acl, "bucket-owner-read") || !strcmp(acl, "bucket-owner-full-control")))
		grant(w, "CanonicalUser", bucket_owner, NULL,
		      !strcmp(acl, "bucket-owner-read") ? "READ" : "FULL_CONTROL");
	xmlw_end(w);
	s3_send_doc(c, w);
}

/* PutBucketAcl / PutObjectAcl: canned ACLs (x-amz-acl) only. */
static int new_acl(struct s3_call *c, char acl[32], struct err *e)
{
	if (!c->req->header(c->req, "x-amz-acl")) {
		static const char *const grants[] = {
			"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
			"x-amz-grant-write-acp", "x-amz-grant-full-control",
		};
		const char *header = NULL;
		for (size_t i = 0; !header && i < sizeof grants / sizeof *grants; i++)
			if (c->req->header(c->req, grants[i]))
				header = grants[i];
		if (c->xml.len || header)  /* 400, not 501: see not_implemented */
			return S3_FAIL(c, e, 400, "NotImplemented", S3_DETAILS("Header", header),
				       "amibox takes canned ACLs (x-amz-acl) only.");
		return S3_FAIL(c, e, 400, "MissingSecurityHeader",
			       S3_DETAILS("MissingHeaderName", "x-amz-acl"),
			       "Your request was missing a required header: x-amz-acl");
	}
	return s3_canned_acl(c, acl, e);
}

static int bucket_acl(struct s3_call *c, struct err *e)
{
	char acl[32];
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_OWNER, e) < 0)
		return -1;
	if (!strcmp(c->req->method, "GET")) {
		acl_document(c, c->bucket_row.owner_id, NULL, c->bucket_row.acl);
		return 0;
	}
	if (new_acl(c, acl, e) < 0)
		return -1;
	return catalog_bucket_set_acl(c->req->srv->cat, c->bucket, acl, e);
}

static int object_acl(struct s3_call *c, struct err *e)
{
	struct object_row *o = xmalloc(sizeof *o);
	char acl[32];
	int ret = -1;
	int found = s3_load_bucket(c, e) < 0 ? -1 :
		    catalog_object_get(c->req->srv->cat, c->bucket, c->key, o, e);
	if (found == 0)
		err_set(e, 404, "NoSuchKey", "The specified key does not exist.");
	if (found <= 0)
		goto out;
	if (c->auth.anonymous || strcmp(o->owner_id, c->req->account.id) != 0) {
		access_denied(e);
		goto out;
	}
	if (!strcmp(c->req->method, "GET")) {
		acl_document(c, o->owner_id, c->bucket_row.owner_id, o->acl);
		ret = 0;
	} else if (new_acl(c, acl, e) == 0) {
		ret = catalog_object_set_acl(c->req->srv->cat, c->bucket, c->key, acl, e);
	}
out:
	free(o);
	return ret;
}

/* ---- routing ------------------------------------------------------------ */

/*
 * S3 answers these with 501; amibox with 400, because a classic bundle
 * uploader retries any 5xx with a body it cannot rewind, and hangs.
 */
static int not_implemented(struct s3_call *c, struct err *e)
{
	(void)c;
	return err_set(e, 400, "NotImplemented",
		       "A header or query you provided implies functionality that is not "
		       "implemented.");
}

/* Sub-resources amibox does not serve: refused rather than mistaken for another call. */
static const char *const unserved[] = {
	"cors", "encryption", "lifecycle", "logging", "notification", "policy",
	"replication", "requestPayment", "tagging", "torrent", "versioning", "versions",
	"website", "object-lock", "retention", "legal-hold", "ownershipControls",
	"publicAccessBlock", "accelerate", "analytics", "inventory", "metrics",
	"intelligent-tiering", "restore", "select", "attributes",
};

/*
 * Sets the operation: its name (S3's, for the log line), what runs it at
 * the body's end, what the body must be, and what is checked before the
 * body (start: the bucket, the rights, the upload).
 */
static void pick(struct s3_call *c, const char *name, int (*run)(struct s3_call *, struct err *),
		 enum s3_body_mode body, int (*start)(struct s3_call *, struct err *))
{
	snprintf(c->req->action, sizeof c->req->action, "%s", name);
	c->run = run;
	c->body_mode = body;
	c->start = start;
}

static int method_not_allowed(struct err *e)
{
	return err_set(e, 405, "MethodNotAllowed",
		       "The specified method is not allowed against this resource.");
}

/* The bucket-level operations (no key in the path). */
static int route_bucket(struct s3_call *c, struct err *e)
{
	const char *m = c->req->method;
	struct query *q = &c->q;
	int get = !strcmp(m, "GET"), put = !strcmp(m, "PUT");
	if (query_get(q, "acl") && (get || put))
		pick(c, get ? "GetBucketAcl" : "PutBucketAcl", bucket_acl,
		     put ? S3_BODY_XML : S3_BODY_NONE, NULL);
	else if (get && query_get(q, "location"))
		pick(c, "GetBucketLocation", bucket_location, S3_BODY_NONE, NULL);
	else if (get && query_get(q, "uploads"))
		pick(c, "ListMultipartUploads", s3_list_uploads, S3_BODY_NONE, NULL);
	else if (get && query_get(q, "list-type") && !strcmp(query_get(q, "list-type"), "2"))
		pick(c, "ListObjectsV2", s3_list_objects, S3_BODY_NONE, NULL);
	else if (get)
		pick(c, "ListObjects", s3_list_objects, S3_BODY_NONE, NULL);
	else if (!strcmp(m, "HEAD"))
		pick(c, "HeadBucket", head_bucket, S3_BODY_NONE, NULL);
	else if (put)
		pick(c, "CreateBucket", create_bucket, S3_BODY_XML, NULL);
	else if (!strcmp(m, "DELETE"))
		pick(c, "DeleteBucket", delete_bucket, S3_BODY_NONE, NULL);
	else if (!strcmp(m, "POST") && query_get(q, "delete"))
		pick(c, "DeleteObjects", s3_delete_objects, S3_BODY_XML, NULL);
	else
		return method_not_allowed(e);
	return 0;
}

/* The object-level operations. */
static int route_object(struct s3_call *c, struct err *e)
{
	const char *m = c->req->method;
	struct query *q = &c->q;
	int get = !strcmp(m, "GET"), head = !strcmp(m, "HEAD"), put = !strcmp(m, "PUT"),
	    post = !strcmp(m, "POST"), del = !strcmp(m, "DELETE");
	const char *upload = query_get(q, "uploadId");
	int copy = c->req->header(c->req, "x-amz-copy-source") != NULL;
	if (query_get(q, "acl") && (get || put))
		pick(c, get ? "GetObjectAcl" : "PutObjectAcl", object_acl,
		     put ? S3_BODY_XML : S3_BODY_NONE, NULL);
	else if (put && upload && query_get(q, "partNumber") && copy)
		pick(c, "UploadPartCopy", s3_upload_part_copy, S3_BODY_NONE, NULL);
	else if (put && upload && query_get(q, "partNumber"))
		pick(c, "UploadPart", s3_upload_part, S3_BODY_NONE, s3_upload_part_begin);
	else if (put && copy)
		pick(c, "CopyObject", s3_copy_object, S3_BODY_NONE, NULL);
	else if (put)
		pick(c, "PutObject", s3_put_object, S3_BODY_NONE, s3_put_object_begin);
	else if ((get || head) && !upload)
		pick(c, get ? "GetObject" : "HeadObject", s3_get_object, S3_BODY_NONE, NULL);
	else if (get && upload)
		pick(c, "ListParts", s3_list_parts, S3_BODY_NONE, NULL);
	else if (del && upload)
		pick(c, "AbortMultipartUpload", s3_abort_upload, S3_BODY_NONE, NULL);
	else if (del)
		pick(c, "DeleteObject", s3_delete_object, S3_BODY_NONE, NULL);
	else if (post && query_get(q, "uploads"))
		pick(c, "CreateMultipartUpload", s3_create_upload, S3_BODY_NONE, NULL);
	else if (post && upload)
		pick(c, "CompleteMultipartUpload", s3_complete_upload, S3_BODY_XML, NULL);
	else
		return method_not_allowed(e);
	return 0;
}

/* Picks the operation from the method, the path and the sub-resources. */
static int route(struct s3_call *c, struct err *e)
{
	for (size_t i = 0; i < sizeof unserved / sizeof *unserved; i++)
		if (query_get(&c->q, unserved[i])) {
			c->run = not_implemented;
			return 0;
		}
	if (!c->bucket[0]) {
		if (strcmp(c->req->method, "GET") != 0)
			return method_not_allowed(e);
		pick(c, "ListBuckets", list_buckets, S3_BODY_NONE, NULL);
		return 0;
	}
	return c->key ? route_object(c, e) : route_bucket(c, e);
}

/* Whether s is well-formed UTF-8 (S3 keys must be). */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int extra = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			    (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (extra < 0 || (extra == 1 && *p < 0xc2) || (extra == 3 && *p > 0xf4))
			return 0;
		unsigned cp = *p & (0x3f >> extra);
		p++;
		for (int i = 0; i < extra; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
	}
	return 1;
}

/*
 * Splits the raw path into the decoded bucket and key.  0 when good; -1
 * when it cannot be split; 1 when it can but is refused (a name too long,
 * a key not UTF-8): c->bucket (cut short) and c->key are set then, so that
 * the call can still be named.
 */
static int parse_path(struct s3_call *c, struct err *e)
{
	const char *p = c->req->path;
	if (*p != '/')
		return err_set(e, 400, "InvalidURI", "Couldn't parse the specified URI.");
	p++;
	const char *slash = strchr(p, '/');
	size_t blen = slash ? (size_t)(slash - p) : strlen(p);
	struct buf b = BUF_INIT;
	if (codec_uri_decode(p, blen, 0, &b) < 0 || (b.data && memchr(b.data, '\0', b.len))) {
		buf_release(&b);
		return err_set(e, 400, "InvalidURI", "Couldn't parse the specified URI.");
	}
	int refused = 0;
	if (b.len >= sizeof c->bucket)
		refused = S3_FAIL(c, e, 400, "InvalidBucketName", S3_DETAILS("BucketName", b.data),
				  "The specified bucket is not valid.");
	snprintf(c->bucket, sizeof c->bucket, "%s", b.data ? b.data : "");
	buf_release(&b);
	if (!slash || !slash[1])
		return refused ? 1 : 0;
	const char *k = slash + 1;
	if (codec_uri_decode(k, strlen(k), 0, &b) < 0 || (b.data && memchr(b.data, '\0', b.len))) {
		buf_release(&b);
		return err_set(e, 400, "InvalidURI", "Couldn't parse the specified URI.");
	}
	if (b.len > S3_KEY_MAX) {
		char size[24], max[24];
		snprintf(size, sizeof size, "%zu", b.len);
		snprintf(max, sizeof max, "%d", S3_KEY_MAX);
		refused = S3_FAIL(c, e, 400, "KeyTooLongError",
				  S3_DETAILS("Size", size, "MaxSizeAllowed", max), "Your key is too long");
	}
	c->key = buf_detach(&b);
	if (!utf8_valid(c->key))
		refused = err_set(e, 400, "InvalidURI", "The key is not valid UTF-8.");
	return refused ? 1 : 0;
}

static void *s3_begin(struct request *req)
{
	struct s3_call *c = xcalloc(1, sizeof *c);
	c->req = req;
	c->store = req->srv->objstore;
	snprintf(req->action, sizeof req->action, "s3");
	struct err *e = &c->err;
	if (query_parse(req->query, strlen(req->query), &c->q, e) < 0)
		return c;
	/*
	 * The operation is picked before the caller is known, so that the log
	 * names refused calls too; its own refusals come after authentication's.
	 */
	struct err routing = ERR_INIT;
	if (parse_path(c, &routing) >= 0)
		route(c, &routing);
	if (s3_authenticate(req, &c->auth, &c->details, e) < 0)
		return c;
	if (err_is_set(&routing)) {
		*e = routing;
		return c;
	}
	if (c->bucket[0] && !c->key && !strcmp(req->method, "PUT") && !query_get(&c->q, "acl") &&
	    !bucket_name_valid(c->bucket)) {
		err_set(e, 400, "InvalidBucketName", "The specified bucket is not valid.");
		return c;
	}
	if (c->start)
		c->start(c, e);
	return c;
}

static int s3_refused(void *call)
{
	const struct s3_call *c = call;
	return err_is_set(&c->err);
}

static void s3_body(void *call, const char *data, size_t len)
{
	struct s3_call *c = call;
	if (err_is_set(&c->err))
		return; /* a refused call's body is read and dropped */
	switch (c->body_mode) {
	case S3_BODY_NONE:
		if (len)
			err_set(&c->err, 400, "UnexpectedContent",
				"This request does not support content");
		break;
	case S3_BODY_XML:
		if (c->xml.len + len > S3_MAX_XML_BODY) {
			char max[24];
			snprintf(max, sizeof max, "%d", S3_MAX_XML_BODY);
			S3_FAIL(c, &c->err, 400, "MaxMessageLengthExceeded",
				S3_DETAILS("MaxMessageLengthBytes", max), "Your request was too big.");
		} else {
			buf_append(&c->xml, data, len);
		}
		break;
	case S3_BODY_SPOOL:
		if (c->chunked)
			s3_chunked_feed(c->chunked, data, len, &c->err);
		else
			spool_sink(c, data, len, &c->err);
		break;
	}
}

static void s3_end(void *call)
{
	struct s3_call *c = call;
	struct request *req = c->req;
	struct err *e = &c->err;
	if (!err_is_set(e) && c->body_mode == S3_BODY_XML && c->auth.payload == S3_PAYLOAD_SHA256) {
		unsigned char sha[32];
		codec_sha256(c->xml.data ? c->xml.data : "", c->xml.len, sha);
		if (memcmp(sha, c->auth.payload_sha256, 32) != 0)
			payload_hash_mismatch(c, sha, e);
	}
	if (!err_is_set(e) && c->run && c->run(c, e) == 0) {
		api_add_header(req, "x-amz-request-id", req->request_id);
		return;
	}
	if (!err_is_set(e))
		err_internal(e, "the request failed");
	s3_error_response(c);
}

static void s3_free(void *call)
{
	struct s3_call *c = call;
	if (!c)
		return;
	query_release(&c->q);
	free(c->key);
	buf_release(&c->xml);
	s3_error_details_release(&c->details);
	objstore_spool_abort(c->spool);
	s3_chunked_free(c->chunked);
	free(c->upload);
	free(c);
}

/*
 * S3 takes what is signed for its scope or with its older signature, and
 * anonymous requests on any path but "/" (public objects and buckets).
 */
static enum api_claim s3_claim(const struct api_route *route)
{
	const char *auth = route->authorization;
	if (auth)
		return !strncmp(auth, "AWS ", 4) || !strcmp(route->scope_service, "s3") ?
			       API_CLAIM_FULL : API_CLAIM_NONE;
	return strcmp(route->path, "/") != 0 ? API_CLAIM_PATH : API_CLAIM_NONE;
}

/* Errors before a call begins (an oversized header, say). */
static void s3_service_error(struct request *req, const struct err *e)
{
	const struct s3_error_context ctx = { .bucket = "", .method = req->method };
	s3_error_document(req, e, NULL, &ctx);
}

const struct api_service s3_service = {
	.name = "s3",
	.claim = s3_claim,
	.error_response = s3_service_error,
	.begin = s3_begin,
	.refused = s3_refused,
	.body = s3_body,
	.end = s3_end,
	.free = s3_free,
};
