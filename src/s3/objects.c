/* s3/objects.c: PutObject, CopyObject, GetObject/HeadObject, deletes, listings. */
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/sigv4.h"
#include "s3/internal.h"
#include "util/codec.h"
#include "util/ids.h"
#include "util/log.h"

static int no_such_key(struct err *e)
{
	return err_set(e, 404, "NoSuchKey", "The specified key does not exist.");
}

/* ---- PutObject ---------------------------------------------------------- */

int s3_put_object_begin(struct s3_call *c, struct err *e)
{
	char acl[32], meta[S3_META_MAX];
	if (!c->key[0])
		return err_set(e, 400, "InvalidArgument", "An object key must not be empty.");
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_WRITE, e) < 0 ||
	    s3_canned_acl(c, acl, e) < 0 || s3_collect_metadata(c, meta, e) < 0)
		return -1;
	const char *length = c->req->header(c->req, "content-length");
	if (length && !c->req->header(c->req, "x-amz-decoded-content-length") &&
	    strtoull(length, NULL, 10) > S3_MAX_OBJECT)
		return s3_entity_too_large(c, strtoull(length, NULL, 10), e);
	return s3_spool_body(c, e);
}

/* Fills an object row from the request's headers (content type, metadata, ACL). */
static int object_from_request(struct s3_call *c, struct object_row *o, struct err *e)
{
	memset(o, 0, sizeof *o);
	snprintf(o->bucket, sizeof o->bucket, "%s", c->bucket);
	snprintf(o->key, sizeof o->key, "%s", c->key);
	snprintf(o->owner_id, sizeof o->owner_id, "%s",
		 c->auth.anonymous ? c->bucket_row.owner_id : c->req->account.id);
	const char *type = c->req->header(c->req, "content-type");
	snprintf(o->content_type, sizeof o->content_type, "%s", type ? type : "");
	o->modified_ms = ids_now_ms();
	if (s3_canned_acl(c, o->acl, e) < 0 || s3_collect_metadata(c, o->metadata, e) < 0)
		return -1;
	return 0;
}

int s3_put_object(struct s3_call *c, struct err *e)
{
	struct object_row *o = xmalloc(sizeof *o);
	char old[S3_FILE_MAX];
	int ret = -1;
	if (object_from_request(c, o, e) < 0)
		goto out;
	o->size = (long long)objstore_spool_size(c->spool);
	if (s3_spool_finish(c, o->file, o->etag, e) < 0)
		goto out;
	if (c->declared) {
		/* The declared checksum is the object's, kept for GetObject's checksum mode. */
		snprintf(o->checksum_algorithm, sizeof o->checksum_algorithm, "%s", c->declared->name);
		snprintf(o->checksum_type, sizeof o->checksum_type, "FULL_OBJECT");
		snprintf(o->checksum, sizeof o->checksum, "%s", c->checksum);
	}
	if (catalog_object_put(c->req->srv->cat, o, old, e) < 0) {
		objstore_unlink(c->store, o->file);
		goto out;
	}
	objstore_unlink(c->store, old);
	s3_etag_header(c->req, o->etag);
	s3_checksum_headers(c->req, o->checksum_algorithm, o->checksum_type, o->checksum);
	ret = 0;
out:
	free(o);
	return ret;
}

/* ---- CopyObject --------------------------------------------------------- */

/* Whether an If-Match / If-None-Match list names the ETag. */
static int etag_listed(const char *list, const char *etag)
{
	if (!strcmp(list, "*"))
		return 1;
	size_t n = strlen(etag);
	for (const char *p = list; (p = strstr(p, etag)); p += n)
		if ((p == list || p[-1] == '"' || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == '"' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

/*
 * x-amz-copy-source-if-match, -if-none-match, -if-modified-since and
 * -if-unmodified-since against the source: PreconditionFailed naming the
 * one that did not hold.  As on S3, an If-Match that holds overrides a
 * failed If-Unmodified-Since, and an If-None-Match that holds a failed
 * If-Modified-Since.
 */
static int copy_conditions(struct s3_call *c, const struct object_row *src, struct err *e)
{
	static const char *const names[] = {
		"x-amz-copy-source-if-match", "x-amz-copy-source-if-none-match",
		"x-amz-copy-source-if-modified-since", "x-amz-copy-source-if-unmodified-since",
	};
	static const char *const conditions[] = {
		"x-amz-copy-source-If-Match", "x-amz-copy-source-If-None-Match",
		"x-amz-copy-source-If-Modified-Since", "x-amz-copy-source-If-Unmodified-Since",
	};
	const char *value[4];
	int holds[4];
	long long modified = src->modified_ms / 1000;
	for (int i = 0; i < 4; i++) {
		value[i] = c->req->header(c->req, names[i]);
		int64_t when = 0;
		if (!value[i])
			holds[i] = 1;
		else if (i < 2)
			holds[i] = etag_listed(value[i], src->etag) == (i == 0);
		else  /* a date S3 cannot read is no condition */
			holds[i] = sigv4_parse_http_date(value[i], &when) < 0 ||
				   (i == 2 ? modified > when : modified <= when);
	}
	if (value[0] && holds[0])
		holds[3] = 1;
	if (value[1] && holds[1])
		holds[2] = 1;
	for (int i = 0; i < 4; i++)
		if (!holds[i])
			return S3_FAIL(c, e, 412, "PreconditionFailed",
				       S3_DETAILS("Condition", conditions[i]),
				       "At least one of the pre-conditions you specified did not hold");
	return 0;
}

int s3_copy_source(struct s3_call *c, struct object_row *src, struct err *e)
{
	const char *source = c->req->header(c->req, "x-amz-copy-source");
	struct buf decoded = BUF_INIT;
	struct bucket_row src_bucket, call_bucket = c->bucket_row;
	int ret = -1;
	const char *q = strchr(source, '?');
	if (codec_uri_decode(source, q ? (size_t)(q - source) : strlen(source), 0, &decoded) < 0 ||
	    !decoded.data || memchr(decoded.data, '\0', decoded.len)) {
		s3_invalid_argument(c, e, "x-amz-copy-source", source, "Invalid copy source encoding.");
		goto out;
	}
	const char *s = decoded.data[0] == '/' ? decoded.data + 1 : decoded.data;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || (size_t)(slash - s) >= sizeof src_bucket.name ||
	    strlen(slash + 1) > S3_KEY_MAX) {
		s3_invalid_argument(c, e, "x-amz-copy-source", source,
				    "Copy Source must mention the source bucket and key: "
				    "sourcebucket/sourcekey.");
		goto out;
	}
	char bucket_name[S3_BUCKET_MAX];
	snprintf(bucket_name, sizeof bucket_name, "%.*s", (int)(slash - s), s);
	int found = catalog_bucket_get(c->req->srv->cat, bucket_name, &src_bucket, e);
	if (found == 0)
		S3_FAIL(c, e, 404, "NoSuchBucket", S3_DETAILS("BucketName", bucket_name),
			"The specified bucket does not exist");
	if (found <= 0)
		goto out;
	found = catalog_object_get(c->req->srv->cat, bucket_name, slash + 1, src, e);
	if (found == 0)
		S3_FAIL(c, e, 404, "NoSuchKey", S3_DETAILS("Key", slash + 1),
			"The specified key does not exist.");
	if (found <= 0)
		goto out;
	/* Readable as the source's ACL and its bucket's owner say. */
	c->bucket_row = src_bucket;
	int readable = s3_object_readable(c, src);
	c->bucket_row = call_bucket;
	if (!readable) {
		err_set(e, 403, "AccessDenied", "Access Denied");
		goto out;
	}
	ret = copy_conditions(c, src, e);
out:
	buf_release(&decoded);
	return ret;
}

int s3_copy_object(struct s3_call *c, struct err *e)
{
	struct object_row *src = xmalloc(sizeof *src), *o = xmalloc(sizeof *o);
	int ret = -1;
	if (s3_copy_source(c, src, e) < 0 || s3_load_bucket(c, e) < 0 ||
	    s3_bucket_access(c, &c->bucket_row, S3_WRITE, e) < 0 ||
	    object_from_request(c, o, e) < 0)
		goto out;
	const char *directive = c->req->header(c->req, "x-amz-metadata-directive");
	if (!directive || !strcmp(directive, "COPY")) {
		if (!strcmp(src->bucket, o->bucket) && !strcmp(src->key, o->key)) {
			err_set(e, 400, "InvalidRequest",
				"This copy request is illegal because it is trying to copy an object "
				"to itself without changing the object's metadata.");
			goto out;
		}
		snprintf(o->content_type, sizeof o->content_type, "%s", src->content_type);
		snprintf(o->metadata, sizeof o->metadata, "%s", src->metadata);
	} else if (strcmp(directive, "REPLACE") != 0) {
		s3_invalid_argument(c, e, "x-amz-metadata-directive", directive,
				    "Unknown metadata directive.");
		goto out;
	}
	unsigned char md5[16];
	char *files[1] = { src->file };
	if (objstore_concat(c->store, files, 1, o->file, md5, e) < 0)
		goto out;
	o->size = src->size;
	codec_hex(md5, 16, o->etag);
	if (!strcmp(src->checksum_type, "FULL_OBJECT")) {
		/* The same bytes: the same checksum of the whole. */
		memcpy(o->checksum_algorithm, src->checksum_algorithm, sizeof o->checksum_algorithm);
		memcpy(o->checksum_type, src->checksum_type, sizeof o->checksum_type);
		memcpy(o->checksum, src->checksum, sizeof o->checksum);
	}
	char old[S3_FILE_MAX];
	if (catalog_object_put(c->req->srv->cat, o, old, e) < 0) {
		objstore_unlink(c->store, o->file);
		goto out;
	}
	objstore_unlink(c->store, old);
	struct xmlw *w = s3_doc("CopyObjectResult");
	xmlw_time(w, "LastModified", o->modified_ms);
	s3_etag_element(w, o->etag);
	s3_send_doc(c, w);
	ret = 0;
out:
	free(src);
	free(o);
	return ret;
}

/* ---- GetObject / HeadObject --------------------------------------------- */

/*
 * Parses "bytes=a-b", "bytes=a-", "bytes=-n" against size.  0 with the
 * range, 1 when the header is to be ignored (several ranges, not bytes),
 * -1 when unsatisfiable.
 */
static int parse_range(const char *h, long long size, long long *first, long long *last)
{
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 1;
	h += 6;
	char *end;
	if (*h == '-') {
		long long n = strtoll(h + 1, &end, 10);
		if (*end || end == h + 1 || n < 0)
			return 1;
		if (n == 0 || size == 0)
			return -1;
		*first = n >= size ? 0 : size - n;
		*last = size - 1;
		return 0;
	}
	long long a = strtoll(h, &end, 10);
	if (end == h || *end != '-' || a < 0)
		return 1;
	const char *b = end + 1;
	long long z = size - 1;
	if (*b) {
		z = strtoll(b, &end, 10);
		if (*end || z < a)
			return 1;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = z >= size ? size - 1 : z;
	return 0;
}


/* Content-Range for bytes first..last of the object, and 206 Partial Content. */
static void partial(struct request *req, long long first, long long last, long long size)
{
	char content_range[96];
	snprintf(content_range, sizeof content_range, "bytes %lld-%lld/%lld", first, last, size);
	api_add_header(req, "Content-Range", content_range);
	req->status = 206;
}

/* The Range header's bytes, if it names one range (S3 ignores others). */
static int serve_range(struct s3_call *c, const struct object_row *o, long long *first,
		       long long *last, struct err *e)
{
	const char *range = c->req->header(c->req, "range");
	int r = range ? parse_range(range, o->size, first, last) : 1;
	if (r < 0) {
		char size[24];
		snprintf(size, sizeof size, "%lld", o->size);
		return S3_FAIL(c, e, 416, "InvalidRange",
			       S3_DETAILS("RangeRequested", range, "ActualObjectSize", size),
			       "The requested range is not satisfiable");
	}
	if (r == 0)
		partial(c->req, *first, *last, o->size);
	return 0;
}

/* The partNumber parameter of GetObject and HeadObject, checked; 0 when absent. */
static int part_number_parameter(struct s3_call *c, int *number, struct err *e)
{
	*number = 0;
	if (!query_get(&c->q, "partNumber"))
		return 0;
	if (s3_part_number(c, number, e) < 0)
		return -1;
	if (c->req->header(c->req, "range"))
		return err_set(e, 400, "InvalidRequest",
			       "Cannot specify both Range header and partNumber query parameter");
	return 0;
}

/*
 * The bytes of part number of the object: for one a multipart upload made,
 * where that part lies (with x-amz-mp-parts-count); any other object is its
 * own part 1.  InvalidPartNumber (416) past the last part.  p gets the part.
 */
static int serve_part(struct s3_call *c, const struct object_row *o, int number,
		      struct object_part *p, long long *first, long long *last, struct err *e)
{
	int count = o->parts_count ? o->parts_count : 1;
	*p = (struct object_part){ .number = 1, .first_byte = 0, .size = o->size };
	snprintf(p->checksum, sizeof p->checksum, "%s", o->checksum);
	int found = number <= count;
	if (found && o->parts_count)
		found = catalog_object_part(c->req->srv->cat, o->bucket, o->key, o->file, number, p,
					    e);
	if (found < 0)
		return -1;
	if (!found) {
		char requested[16], actual[16];
		snprintf(requested, sizeof requested, "%d", number);
		snprintf(actual, sizeof actual, "%d", count);
		return S3_FAIL(c, e, 416, "InvalidPartNumber",
			       S3_DETAILS("PartNumberRequested", requested, "ActualPartCount", actual),
			       "The requested partnumber is not satisfiable");
	}
	if (o->parts_count) {
		char parts[16];
		snprintf(parts, sizeof parts, "%d", o->parts_count);
		api_add_header(c->req, "x-amz-mp-parts-count", parts);
	}
	*first = p->first_byte;
	*last = p->first_byte + p->size - 1;
	if (p->size > 0)
		partial(c->req, *first, *last, o->size);
	return 0;
}

/*
 * With x-amz-checksum-mode: ENABLED, the checksum of what is sent: the
 * object's (a composite one ends in "-N"), or the part's; none for a range.
 */
static void checksum_mode(struct s3_call *c, const struct object_row *o, int part,
			  const struct object_part *p)
{
	const char *mode = c->req->header(c->req, "x-amz-checksum-mode");
	if (!mode || strcasecmp(mode, "ENABLED") != 0 || (!part && c->req->status == 206))
		return;
	s3_checksum_headers(c->req, o->checksum_algorithm, o->checksum_type,
			    part ? p->checksum : o->checksum);
}

/* Content-Type and the user's metadata, as headers. */
static void object_headers(struct request *req, struct object_row *o)
{
	req->content_type = NULL;
	api_add_header(req, "Content-Type",
		       o->content_type[0] ? o->content_type : "binary/octet-stream");
	for (char *line = o->metadata; *line;) {
		char *nl = strchr(line, '\n'), *colon = strchr(line, ':');
		if (!nl || !colon || colon > nl)
			break;
		*nl = '\0';
		*colon = '\0';
		char name[128];
		snprintf(name, sizeof name, "x-amz-meta-%.*s", S3_META_NAME_MAX, line);
		api_add_header(req, name, colon + 1);
		line = nl + 1;
	}
}

int s3_get_object(struct s3_call *c, struct err *e)
{
	struct object_row *o = xmalloc(sizeof *o);
	struct buf path = BUF_INIT;
	int ret = -1, part;
	if (part_number_parameter(c, &part, e) < 0 || s3_load_bucket(c, e) < 0)
		goto out;
	int found = catalog_object_get(c->req->srv->cat, c->bucket, c->key, o, e);
	if (found < 0)
		goto out;
	if (!found) {
		/* Who may not list the bucket learns nothing about its keys. */
		if (s3_bucket_access(c, &c->bucket_row, S3_READ, e) == 0)
			no_such_key(e);
		goto out;
	}
	if (!s3_object_readable(c, o)) {
		err_set(e, 403, "AccessDenied", "Access Denied");
		goto out;
	}
	struct request *req = c->req;
	char date[40];
	s3_http_date(o->modified_ms, date);
	const char *if_match = req->header(req, "if-match");
	const char *if_none = req->header(req, "if-none-match");
	if (if_match && !etag_listed(if_match, o->etag)) {
		S3_FAIL(c, e, 412, "PreconditionFailed", S3_DETAILS("Condition", "If-Match"),
			"At least one of the pre-conditions you specified did not hold");
		goto out;
	}
	s3_etag_header(req, o->etag);
	api_add_header(req, "Last-Modified", date);
	if (if_none && etag_listed(if_none, o->etag)) {
		req->status = 304;
		ret = 0;
		goto out;
	}
	api_add_header(req, "Accept-Ranges", "bytes");
	object_headers(req, o);
	long long first = 0, last = o->size - 1;
	struct object_part p;
	if ((part ? serve_part(c, o, part, &p, &first, &last, e) :
		    serve_range(c, o, &first, &last, e)) < 0)
		goto out;
	checksum_mode(c, o, part, &p);
	if (last >= first) {
		objstore_path(c->store, o->file, &path);
		int fd = open(path.data, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err_internal(e, "reading %s: %s", path.data, strerror(errno));
			goto out;
		}
		req->has_fd = 1;
		req->fd = fd;
		req->fd_offset = (unsigned long long)first;
		req->fd_len = (unsigned long long)(last - first + 1);
	}
	ret = 0;
out:
	buf_release(&path);
	free(o);
	return ret;
}

/* ---- deletes ------------------------------------------------------------ */

int s3_delete_object(struct s3_call *c, struct err *e)
{
	char old[S3_FILE_MAX];
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_WRITE, e) < 0 ||
	    catalog_object_delete(c->req->srv->cat, c->bucket, c->key, old, e) < 0)
		return -1;
	objstore_unlink(c->store, old);
	c->req->status = 204;
	return 0;
}

static int malformed_xml(struct err *e)
{
	return err_set(e, 400, "MalformedXML",
		       "The XML you provided was not well-formed or did not validate against "
		       "our published schema");
}

/* The text of the first child element of n called name, or NULL (xmlFree it). */
static xmlChar *child_text(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr k = n->children; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && !strcmp((const char *)k->name, name))
			return xmlNodeGetContent(k);
	return NULL;
}

int s3_delete_objects(struct s3_call *c, struct err *e)
{
	unsigned char md5[16];
	EVP_Digest(c->xml.data ? c->xml.data : "", c->xml.len, md5, NULL, EVP_md5(), NULL);
	if (s3_check_content_md5(c, md5, e) < 0)
		return -1;
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_WRITE, e) < 0)
		return -1;
	xmlDocPtr doc = xmlReadMemory(c->xml.data ? c->xml.data : "", (int)c->xml.len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "Delete") != 0) {
		xmlFreeDoc(doc);
		return malformed_xml(e);
	}
	size_t count = 0;
	for (xmlNodePtr n = root->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, "Object"))
			count++;
	if (count == 0 || count > 1000) {
		xmlFreeDoc(doc);
		return malformed_xml(e);
	}
	xmlChar *quiet_text = child_text(root, "Quiet");
	int quiet = quiet_text && !strcasecmp((const char *)quiet_text, "true");
	xmlFree(quiet_text);
	struct xmlw *w = s3_doc("DeleteResult");
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Object") != 0)
			continue;
		xmlChar *key = child_text(n, "Key");
		struct err one = ERR_INIT;
		char old[S3_FILE_MAX] = "";
		if (!key || !key[0] || strlen((const char *)key) > S3_KEY_MAX)
			err_set(&one, 400, "InvalidArgument", "The key is not valid.");
		else if (catalog_object_delete(c->req->srv->cat, c->bucket, (const char *)key,
					       old, &one) == 0)
			objstore_unlink(c->store, old);
		if (err_is_set(&one)) {
			xmlw_start(w, "Error");
			xmlw_text(w, "Key", key ? (const char *)key : "");
			xmlw_text(w, "Code", one.code);
			xmlw_text(w, "Message", one.message);
			xmlw_end(w);
		} else if (!quiet) {
			xmlw_start(w, "Deleted");
			xmlw_text(w, "Key", (const char *)key);
			xmlw_end(w);
		}
		xmlFree(key);
	}
	xmlFreeDoc(doc);
	s3_send_doc(c, w);
	return 0;
}

/* ---- ListObjects (v1) and ListObjectsV2 --------------------------------- */

/*
 * The smallest string greater than every string that starts with s, or
 * NULL when there is none (s empty or all 0xff).  Caller frees.
 */
static char *successor(const char *s)
{
	size_t n = strlen(s);
	while (n && (unsigned char)s[n - 1] == 0xff)
		n--;
	if (!n)
		return NULL;
	char *out = xstrndup(s, n);
	out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
	return out;
}

struct entry {
	char *text;     /* a key, or a common prefix */
	int is_prefix;
	struct object_row *row;
};

struct lister {
	const char *prefix, *delimiter;
	size_t prefix_len;
	int max;
	struct entry *entries;
	int count;
	int truncated;
	char *jump;     /* restart inclusive here (past a common prefix) */
	char *last_key; /* restart exclusive after here */
};

static int list_one(void *ctx, const struct object_row *o)
{
	struct lister *l = ctx;
	if (l->count == l->max) {
		l->truncated = 1;
		return 1;
	}
	free(l->last_key);
	l->last_key = xstrdup(o->key);
	if (l->delimiter && *l->delimiter) {
		const char *d = strstr(o->key + l->prefix_len, l->delimiter);
		if (d) {
			size_t len = (size_t)(d - o->key) + strlen(l->delimiter);
			struct entry *en = &l->entries[l->count++];
			en->text = xstrndup(o->key, len);
			en->is_prefix = 1;
			l->jump = successor(en->text);
			if (!l->jump) /* nothing can follow this prefix */
				l->jump = xstrdup("\xff\xff\xff\xff");
			return 1;
		}
	}
	struct entry *en = &l->entries[l->count++];
	en->text = xstrdup(o->key);
	en->row = xmalloc(sizeof *en->row);
	*en->row = *o;
	return 0;
}

/* Continuation tokens: "0" + key (resume after it) or "1" + key (resume at it), base64. */
static void make_token(const char *kind, const char *key, struct buf *out)
{
	struct buf raw = BUF_INIT;
	buf_printf(&raw, "%s%s", kind, key);
	codec_base64((const unsigned char *)raw.data, raw.len, out);
	buf_release(&raw);
}

static void list_text(struct xmlw *w, const char *name, const char *value, int url)
{
	if (!url) {
		xmlw_text(w, name, value);
		return;
	}
	struct buf b = BUF_INIT;
	codec_uri_encode(value, strlen(value), 1, &b);
	xmlw_text(w, name, b.data ? b.data : "");
	buf_release(&b);
}

int s3_list_objects(struct s3_call *c, struct err *e)
{
	struct query *q = &c->q;
	int v2 = query_get(q, "list-type") && !strcmp(query_get(q, "list-type"), "2");
	const char *prefix = query_get(q, "prefix") ? query_get(q, "prefix") : "";
	const char *delimiter = query_get(q, "delimiter");
	const char *encoding = query_get(q, "encoding-type");
	const char *token = v2 ? query_get(q, "continuation-token") : NULL;
	const char *start_after = v2 ? query_get(q, "start-after") : query_get(q, "marker");
	int fetch_owner = !v2 || (query_get(q, "fetch-owner") &&
				  !strcmp(query_get(q, "fetch-owner"), "true"));
	if (encoding && strcmp(encoding, "url") != 0)
		return s3_invalid_argument(c, e, "encoding-type", encoding,
					   "Invalid Encoding Method specified in Request");
	int url = encoding != NULL;
	long max;
	if (s3_query_count(c, "max-keys", "maxKeys", 1000, &max, e) < 0)
		return -1;
	if (max > 1000)
		max = 1000;
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_READ, e) < 0)
		return -1;

	/* Where to start: after the token's key, StartAfter/Marker, or at the prefix. */
	char *from = xstrdup(prefix);
	int inclusive = 1;
	if (token) {
		struct buf raw = BUF_INIT;
		if (codec_unbase64(token, strlen(token), &raw) < 0 || raw.len < 1 ||
		    (raw.data[0] != '0' && raw.data[0] != '1') || memchr(raw.data, '\0', raw.len)) {
			buf_release(&raw);
			free(from);
			return S3_FAIL(c, e, 400, "InvalidArgument",
				       S3_DETAILS("ArgumentName", "continuation-token"),
				       "The continuation token provided is incorrect");
		}
		free(from);
		from = xstrdup(raw.data + 1);
		inclusive = raw.data[0] == '1';
		buf_release(&raw);
	} else if (start_after && strcmp(start_after, prefix) >= 0) {
		free(from);
		from = xstrdup(start_after);
		inclusive = 0;
	}
	char *below = successor(prefix);
	struct lister l = { .prefix = prefix, .delimiter = delimiter,
			    .prefix_len = strlen(prefix), .max = (int)max };
	l.entries = xcalloc((size_t)max + 1, sizeof *l.entries);
	int ret = -1;
	while (!l.truncated) {
		if (l.max == 0)
			break;
		int batch = 100;
		int n = catalog_object_scan(c->req->srv->cat, c->bucket, from, inclusive, below,
					    batch, list_one, &l, e);
		if (n < 0)
			goto out;
		if (l.jump) {
			free(from);
			from = l.jump;
			l.jump = NULL;
			inclusive = 1;
			continue;
		}
		if (l.truncated || n < batch)
			break;
		free(from);
		from = xstrdup(l.last_key);
		inclusive = 0;
	}

	struct xmlw *w = s3_doc("ListBucketResult");
	xmlw_text(w, "Name", c->bucket);
	list_text(w, "Prefix", prefix, url);
	if (v2) {
		if (start_after)
			list_text(w, "StartAfter", start_after, url);
		if (token)
			xmlw_text(w, "ContinuationToken", token);
	} else {
		list_text(w, "Marker", start_after ? start_after : "", url);
	}
	if (delimiter)
		list_text(w, "Delimiter", delimiter, url);
	if (encoding)
		xmlw_text(w, "EncodingType", encoding);
	xmlw_int(w, "MaxKeys", max);
	if (v2)
		xmlw_int(w, "KeyCount", l.count);
	xmlw_bool(w, "IsTruncated", l.truncated);
	if (l.truncated && l.count > 0) {
		struct entry *last = &l.entries[l.count - 1];
		if (v2) {
			struct buf next = BUF_INIT;
			if (last->is_prefix) {
				char *s = successor(last->text);
				make_token("1", s ? s : "\xff\xff\xff\xff", &next);
				free(s);
			} else {
				make_token("0", last->text, &next);
			}
			xmlw_text(w, "NextContinuationToken", next.data);
			buf_release(&next);
		} else if (delimiter) {
			list_text(w, "NextMarker", last->text, url);
		}
	}
	for (int i = 0; i < l.count; i++) {
		struct entry *en = &l.entries[i];
		if (en->is_prefix)
			continue;
		xmlw_start(w, "Contents");
		list_text(w, "Key", en->text, url);
		xmlw_time(w, "LastModified", en->row->modified_ms);
		s3_etag_element(w, en->row->etag);
		xmlw_int(w, "Size", en->row->size);
		if (fetch_owner)
			s3_owner(c, w, "Owner", en->row->owner_id);
		xmlw_text(w, "StorageClass", "STANDARD");
		xmlw_end(w);
	}
	for (int i = 0; i < l.count; i++) {
		if (!l.entries[i].is_prefix)
			continue;
		xmlw_start(w, "CommonPrefixes");
		list_text(w, "Prefix", l.entries[i].text, url);
		xmlw_end(w);
	}
	s3_send_doc(c, w);
	ret = 0;
out:
	for (int i = 0; i < l.count; i++) {
		free(l.entries[i].text);
		free(l.entries[i].row);
	}
	free(l.entries);
	free(l.jump);
	free(l.last_key);
	free(from);
	free(below);
	return ret;
}
