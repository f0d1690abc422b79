/*
 * s3/multipart.c: multipart uploads (create, parts, parts copied from
 * objects, complete, abort, list parts and uploads).
 */
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "s3/internal.h"
#include "util/codec.h"
#include "util/ids.h"

static int no_such_upload(struct err *e)
{
	return err_set(e, 404, "NoSuchUpload",
		       "The specified upload does not exist. The upload ID may be invalid, or "
		       "the upload may have been aborted or completed.");
}

/*
 * The checksum algorithm a new upload asks for (x-amz-checksum-algorithm),
 * into algorithm ("" for none).  Its parts are checksummed with it and the
 * object gets their COMPOSITE checksum; FULL_OBJECT (a CRC of the whole,
 * combined from the parts' CRCs) is not served.
 */
static int upload_algorithm(struct s3_call *c, char algorithm[S3_ALGORITHM_MAX], struct err *e)
{
	const char *name = c->req->header(c->req, "x-amz-checksum-algorithm");
	const char *type = c->req->header(c->req, "x-amz-checksum-type");
	algorithm[0] = '\0';
	if (!name) {
		if (type)
			return err_set(e, 400, "InvalidRequest",
				       "The x-amz-checksum-type header can only be used with the "
				       "x-amz-checksum-algorithm header.");
		return 0;
	}
	const struct s3_checksum *a = s3_checksum_named(name);
	if (!a && !strcasecmp(name, "CRC64NVME"))
		return S3_FAIL(c, e, 400, "NotImplemented",
			       S3_DETAILS("Header", "x-amz-checksum-algorithm"),
			       "amibox does not compute CRC64NVME checksums yet.");
	if (!a)
		return err_set(e, 400, "InvalidRequest",
			       "Checksum algorithm provided is unsupported. Please try again with "
			       "any of the valid types: [CRC32, CRC32C, SHA1, SHA256]");
	if (type && !strcmp(type, "FULL_OBJECT"))
		return S3_FAIL(c, e, 400, "NotImplemented", S3_DETAILS("Header", "x-amz-checksum-type"),
			       "amibox keeps COMPOSITE checksums of multipart uploads only.");
	if (type && strcmp(type, "COMPOSITE") != 0)
		return err_set(e, 400, "InvalidRequest",
			       "Value for x-amz-checksum-type header is invalid.");
	snprintf(algorithm, S3_ALGORITHM_MAX, "%s", a->name);
	return 0;
}

int s3_create_upload(struct s3_call *c, struct err *e)
{
	struct upload_row *u = xcalloc(1, sizeof *u);
	int ret = -1;
	if (s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_WRITE, e) < 0 ||
	    s3_canned_acl(c, u->acl, e) < 0 || s3_collect_metadata(c, u->metadata, e) < 0 ||
	    upload_algorithm(c, u->checksum_algorithm, e) < 0)
		goto out;
	if (!c->key[0]) {
		err_set(e, 400, "InvalidArgument", "An object key must not be empty.");
		goto out;
	}
	unsigned char random[24];
	codec_random(random, sizeof random);
	codec_hex(random, sizeof random, u->id);
	snprintf(u->bucket, sizeof u->bucket, "%s", c->bucket);
	snprintf(u->key, sizeof u->key, "%s", c->key);
	snprintf(u->owner_id, sizeof u->owner_id, "%s",
		 c->auth.anonymous ? c->bucket_row.owner_id : c->req->account.id);
	const char *type = c->req->header(c->req, "content-type");
	snprintf(u->content_type, sizeof u->content_type, "%s", type ? type : "");
	u->create_ms = ids_now_ms();
	if (catalog_upload_create(c->req->srv->cat, u, e) < 0)
		goto out;
	if (u->checksum_algorithm[0]) {
		api_add_header(c->req, "x-amz-checksum-algorithm", u->checksum_algorithm);
		api_add_header(c->req, "x-amz-checksum-type", "COMPOSITE");
	}
	struct xmlw *w = s3_doc("InitiateMultipartUploadResult");
	xmlw_text(w, "Bucket", c->bucket);
	xmlw_text(w, "Key", c->key);
	xmlw_text(w, "UploadId", u->id);
	s3_send_doc(c, w);
	ret = 0;
out:
	free(u);
	return ret;
}

/* Loads the call's upload: it must exist, be for this bucket and key, and be the caller's. */
static int load_upload(struct s3_call *c, struct err *e)
{
	const char *id = query_get(&c->q, "uploadId");
	if (s3_load_bucket(c, e) < 0)
		return -1;
	c->upload = xcalloc(1, sizeof *c->upload);
	int found = id && strlen(id) < sizeof c->upload->id ?
			    catalog_upload_get(c->req->srv->cat, id, c->upload, e) : 0;
	if (found < 0)
		return -1;
	if (!found || strcmp(c->upload->bucket, c->bucket) != 0 ||
	    strcmp(c->upload->key, c->key) != 0)
		return no_such_upload(e);
	int mine = !c->auth.anonymous && (!strcmp(c->upload->owner_id, c->req->account.id) ||
					  !strcmp(c->bucket_row.owner_id, c->req->account.id));
	if (!mine)
		return err_set(e, 403, "AccessDenied", "Access Denied");
	return 0;
}

/* An algorithm's name as S3's messages spell it (crc32). */
static void lowercase(const char *name, char out[S3_ALGORITHM_MAX])
{
	size_t i = 0;
	for (; name[i] && i + 1 < S3_ALGORITHM_MAX; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
	out[i] = '\0';
}

int s3_part_number(struct s3_call *c, int *number, struct err *e)
{
	const char *text = query_get(&c->q, "partNumber");
	char *end;
	long n = text ? strtol(text, &end, 10) : 0;
	if (!text || *end || end == text || n < 1 || n > S3_MAX_PARTS)
		return s3_invalid_argument(c, e, "partNumber", text,
					   "Part number must be an integer between 1 and 10000, "
					   "inclusive");
	*number = (int)n;
	return 0;
}

int s3_upload_part_begin(struct s3_call *c, struct err *e)
{
	if (s3_part_number(c, &c->part_number, e) < 0 || load_upload(c, e) < 0 ||
	    s3_spool_body(c, e) < 0)
		return -1;
	/* An upload with an algorithm takes a checksum of it with every part. */
	const char *want = c->upload->checksum_algorithm;
	if (want[0] && (!c->declared || strcmp(c->declared->name, want) != 0)) {
		char expected[S3_ALGORITHM_MAX], actual[S3_ALGORITHM_MAX];
		lowercase(want, expected);
		lowercase(c->declared ? c->declared->name : "null", actual);
		return err_set(e, 400, "InvalidRequest",
			       "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
			       "checksum Type: %s", expected, actual);
	}
	return 0;
}

int s3_upload_part(struct s3_call *c, struct err *e)
{
	struct part_row p = { .number = c->part_number, .modified_ms = ids_now_ms() };
	char old[S3_FILE_MAX];
	p.size = (long long)objstore_spool_size(c->spool);
	if (s3_spool_finish(c, p.file, p.etag, e) < 0)
		return -1;
	if (c->upload->checksum_algorithm[0])
		snprintf(p.checksum, sizeof p.checksum, "%s", c->checksum);
	if (catalog_part_put(c->req->srv->cat, c->upload->id, &p, old, e) < 0) {
		objstore_unlink(c->store, p.file);
		return -1;
	}
	objstore_unlink(c->store, old);
	s3_etag_header(c->req, p.etag);
	if (c->declared)
		api_add_header(c->req, c->declared->header, c->checksum);
	return 0;
}

/* ---- UploadPartCopy ----------------------------------------------------- */

static int bad_copy_range(struct s3_call *c, const char *range, struct err *e)
{
	return s3_invalid_argument(c, e, "x-amz-copy-source-range", range,
				   "The x-amz-copy-source-range value must be of the form "
				   "bytes=first-last where first and last are the zero-based offsets "
				   "of the first and last bytes to copy");
}

/*
 * The bytes of the source to copy: x-amz-copy-source-range's "bytes=a-b"
 * (both given, a <= b, inside the source), or all of it.
 */
static int copy_range(struct s3_call *c, const struct object_row *src, long long *first,
		      long long *last, struct err *e)
{
	const char *range = c->req->header(c->req, "x-amz-copy-source-range");
	*first = 0;
	*last = src->size - 1;
	if (!range)
		return 0;
	const char *a = range + 6, *dash = strncmp(range, "bytes=", 6) ? NULL : strchr(a, '-');
	size_t alen = dash ? (size_t)(dash - a) : 0, blen = dash ? strlen(dash + 1) : 0;
	if (!dash || !alen || !blen || alen > 18 || blen > 18 || strspn(a, "0123456789") != alen ||
	    strspn(dash + 1, "0123456789") != blen)
		return bad_copy_range(c, range, e);
	*first = strtoll(a, NULL, 10);
	*last = strtoll(dash + 1, NULL, 10);
	if (*first > *last)
		return bad_copy_range(c, range, e);
	if (*last >= src->size)
		return s3_invalid_argument(c, e, "x-amz-copy-source-range", range,
					   "Range specified is not valid for source object of size: "
					   "%lld", src->size);
	return 0;
}

/* Copies bytes first..last of a stored file into a new spool (c->spool), hashing them. */
static int spool_range(struct s3_call *c, const char *file, long long first, long long last,
		       struct err *e)
{
	const struct s3_checksum *a = s3_checksum_named(c->upload->checksum_algorithm);
	struct buf path = BUF_INIT;
	char *chunk = NULL;
	int fd = -1, ret = -1;
	if (objstore_spool_begin(c->store, a ? a->which : 0, &c->spool, e) < 0)
		goto out;
	objstore_path(c->store, file, &path);
	fd = open(path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_internal(e, "reading %s: %s", path.data, strerror(errno));
		goto out;
	}
	size_t cap = 1 << 20;
	chunk = xmalloc(cap);
	for (long long at = first; at <= last;) {
		size_t want = last - at + 1 < (long long)cap ? (size_t)(last - at + 1) : cap;
		ssize_t n = pread(fd, chunk, want, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_internal(e, "reading %s: %s", path.data, n < 0 ? strerror(errno) : "short");
			goto out;
		}
		if (objstore_spool_write(c->spool, chunk, (size_t)n, e) < 0)
			goto out;
		at += n;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	buf_release(&path);
	return ret;
}

int s3_upload_part_copy(struct s3_call *c, struct err *e)
{
	struct object_row *src = xmalloc(sizeof *src);
	struct part_row p = { .modified_ms = ids_now_ms() };
	char old[S3_FILE_MAX];
	long long first, last;
	int ret = -1;
	if (s3_part_number(c, &p.number, e) < 0 || load_upload(c, e) < 0 ||
	    s3_copy_source(c, src, e) < 0 || copy_range(c, src, &first, &last, e) < 0)
		goto out;
	if (last - first + 1 > (long long)S3_MAX_OBJECT) {
		s3_entity_too_large(c, (unsigned long long)(last - first + 1), e);
		goto out;
	}
	if (spool_range(c, src->file, first, last, e) < 0)
		goto out;
	const struct s3_checksum *a = s3_checksum_named(c->upload->checksum_algorithm);
	unsigned char md5[16];
	p.size = last - first + 1;
	objstore_spool_md5(c->spool, md5);
	codec_hex(md5, 16, p.etag);
	if (a)
		objstore_spool_checksum(c->spool, a->which, p.checksum);
	struct objstore_spool *sp = c->spool;
	c->spool = NULL;
	if (objstore_spool_commit(sp, p.file, e) < 0)
		goto out;
	if (catalog_part_put(c->req->srv->cat, c->upload->id, &p, old, e) < 0) {
		objstore_unlink(c->store, p.file);
		goto out;
	}
	objstore_unlink(c->store, old);
	struct xmlw *w = s3_doc("CopyPartResult");
	xmlw_time(w, "LastModified", p.modified_ms);
	s3_etag_element(w, p.etag);
	if (a)
		xmlw_text(w, a->element, p.checksum);
	s3_send_doc(c, w);
	ret = 0;
out:
	free(src);
	return ret;
}

static void unlink_all(struct s3_call *c, char **files, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		objstore_unlink(c->store, files[i]);
		free(files[i]);
	}
	free(files);
}

static int malformed_xml(struct err *e)
{
	return err_set(e, 400, "MalformedXML",
		       "The XML you provided was not well-formed or did not validate against "
		       "our published schema");
}

/* InvalidPart, naming the part of the request that matched none. */
static int invalid_part(struct s3_call *c, int number, const char *etag, struct err *e)
{
	char part[16];
	snprintf(part, sizeof part, "%d", number);
	return S3_FAIL(c, e, 400, "InvalidPart",
		       S3_DETAILS("UploadId", c->upload->id, "PartNumber", part, "ETag", etag),
		       "One or more of the specified parts could not be found.  The part may "
		       "not have been uploaded, or the specified entity tag may not match the "
		       "part's entity tag.");
}

/* EntityTooSmall: a part but the last is below 5 MiB. */
static int entity_too_small(struct s3_call *c, const struct part_row *p, struct err *e)
{
	char size[24], min[24], number[16];
	snprintf(size, sizeof size, "%lld", p->size);
	snprintf(min, sizeof min, "%d", S3_MIN_PART);
	snprintf(number, sizeof number, "%d", p->number);
	return S3_FAIL(c, e, 400, "EntityTooSmall",
		       S3_DETAILS("ProposedSize", size, "MinSizeAllowed", min, "PartNumber", number,
				  "ETag", p->etag),
		       "Your proposed upload is smaller than the minimum allowed object size.");
}

struct wanted {
	int number;
	char etag[48];
	char checksum[S3_CHECKSUM_MAX]; /* of the upload's algorithm, when given */
};

/*
 * Reads <CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>..., and
 * each part's <ChecksumCRC32> (or the element of the upload's algorithm).
 */
static int wanted_parts(struct s3_call *c, struct wanted **out, size_t *count, struct err *e)
{
	const struct s3_checksum *a = s3_checksum_named(c->upload->checksum_algorithm);
	xmlDocPtr doc = xmlReadMemory(c->xml.data ? c->xml.data : "", (int)c->xml.len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	struct wanted *w = NULL;
	size_t n = 0;
	int ret = -1;
	if (!root || strcmp((const char *)root->name, "CompleteMultipartUpload") != 0) {
		malformed_xml(e);
		goto out;
	}
	for (xmlNodePtr p = root->children; p; p = p->next) {
		if (p->type != XML_ELEMENT_NODE || strcmp((const char *)p->name, "Part") != 0)
			continue;
		if (n == S3_MAX_PARTS) {
			malformed_xml(e);
			goto out;
		}
		w = xrealloc(w, (n + 1) * sizeof *w);
		struct wanted *one = &w[n++];
		memset(one, 0, sizeof *one);
		one->number = -1;
		for (xmlNodePtr k = p->children; k; k = k->next) {
			if (k->type != XML_ELEMENT_NODE)
				continue;
			xmlChar *text = xmlNodeGetContent(k);
			const char *t = text ? (const char *)text : "";
			if (!strcmp((const char *)k->name, "PartNumber")) {
				char *end;
				long v = strtol(t, &end, 10);
				one->number = (*end || end == t || v < 1 || v > S3_MAX_PARTS) ? -1 : (int)v;
			} else if (!strcmp((const char *)k->name, "ETag")) {
				/* Quoted or not, as clients send either. */
				size_t len = strlen(t);
				if (len >= 2 && t[0] == '"' && t[len - 1] == '"')
					snprintf(one->etag, sizeof one->etag, "%.*s", (int)(len - 2), t + 1);
				else
					snprintf(one->etag, sizeof one->etag, "%s", t);
			} else if (a && !strcmp((const char *)k->name, a->element)) {
				snprintf(one->checksum, sizeof one->checksum, "%s", t);
			}
			xmlFree(text);
		}
		if (one->number < 0 || !one->etag[0]) {
			malformed_xml(e);
			goto out;
		}
	}
	if (n == 0) {
		malformed_xml(e);
		goto out;
	}
	for (size_t i = 1; i < n; i++) {
		if (w[i].number <= w[i - 1].number) {
			err_set(e, 400, "InvalidPartOrder",
				"The list of parts was not in ascending order. The parts list must "
				"be specified in order by part number.");
			goto out;
		}
	}
	*out = w;
	*count = n;
	w = NULL;
	ret = 0;
out:
	free(w);
	xmlFreeDoc(doc);
	return ret;
}

/*
 * Matches the request's parts with the uploaded ones: each must have been
 * uploaded with its ETag (and its checksum, when the upload has an
 * algorithm), and all but the last be 5 MiB at least.  chosen gets where
 * each lies in the object and its checksum, files their files, md5s the MD5
 * of their MD5s (the object's ETag); *size the object's size.
 */
static int match_parts(struct s3_call *c, const struct wanted *w, size_t nwanted,
		       struct part_row *parts, size_t nparts, struct object_part *chosen,
		       char **files, unsigned char md5s[16], long long *size, struct err *e)
{
	EVP_MD_CTX *md5 = EVP_MD_CTX_new();
	if (!md5 || EVP_DigestInit_ex(md5, EVP_md5(), NULL) != 1)
		abort();
	const char *algorithm = c->upload->checksum_algorithm;
	int ret = -1;
	size_t j = 0;
	*size = 0;
	for (size_t i = 0; i < nwanted; i++) {
		while (j < nparts && parts[j].number < w[i].number)
			j++;
		unsigned char raw[16];
		if (algorithm[0] && !w[i].checksum[0]) {
			char name[S3_ALGORITHM_MAX];
			lowercase(algorithm, name);
			err_set(e, 400, "InvalidRequest",
				"The upload was created using a %s checksum. The complete request must "
				"include the checksum for each part. It was missing for part %d in the "
				"request.", name, w[i].number);
			goto out;
		}
		if (j == nparts || parts[j].number != w[i].number ||
		    strcasecmp(parts[j].etag, w[i].etag) != 0 || codec_unhex(parts[j].etag, raw, 16) < 0 ||
		    (algorithm[0] && strcmp(parts[j].checksum, w[i].checksum) != 0)) {
			invalid_part(c, w[i].number, w[i].etag, e);
			goto out;
		}
		if (i + 1 < nwanted && parts[j].size < S3_MIN_PART) {
			entity_too_small(c, &parts[j], e);
			goto out;
		}
		EVP_DigestUpdate(md5, raw, 16);
		files[i] = parts[j].file;
		chosen[i] = (struct object_part){ .number = parts[j].number, .first_byte = *size,
						  .size = parts[j].size };
		snprintf(chosen[i].checksum, sizeof chosen[i].checksum, "%s", parts[j].checksum);
		*size += parts[j].size;
	}
	EVP_DigestFinal_ex(md5, md5s, NULL);
	ret = 0;
out:
	EVP_MD_CTX_free(md5);
	return ret;
}

/* The CompleteMultipartUploadResult document. */
static void complete_result(struct s3_call *c, const struct object_row *o)
{
	struct xmlw *x = s3_doc("CompleteMultipartUploadResult");
	const char *host = c->req->header(c->req, "host");
	struct buf location = BUF_INIT;
	buf_printf(&location, "http://%s/%s/", host ? host : "localhost", c->bucket);
	codec_uri_encode(c->key, strlen(c->key), 1, &location);
	xmlw_text(x, "Location", location.data);
	buf_release(&location);
	xmlw_text(x, "Bucket", c->bucket);
	xmlw_text(x, "Key", c->key);
	s3_etag_element(x, o->etag);
	const struct s3_checksum *a = s3_checksum_named(o->checksum_algorithm);
	if (a) {
		xmlw_text(x, a->element, o->checksum);
		xmlw_text(x, "ChecksumType", o->checksum_type);
	}
	s3_send_doc(c, x);
}

/* The object's COMPOSITE checksum, from its parts', for an upload with an algorithm. */
static int composite_checksum(struct s3_call *c, const struct object_part *parts, size_t n,
			      struct object_row *o, struct err *e)
{
	const struct s3_checksum *a = s3_checksum_named(c->upload->checksum_algorithm);
	if (!a)
		return 0;
	const char **values = xcalloc(n, sizeof *values);
	for (size_t i = 0; i < n; i++)
		values[i] = parts[i].checksum;
	int bad = s3_checksum_composite(a, values, n, o->checksum) < 0;
	free(values);
	if (bad)
		return err_internal(e, "a part of upload %s has a malformed checksum", c->upload->id);
	snprintf(o->checksum_algorithm, sizeof o->checksum_algorithm, "%s", a->name);
	snprintf(o->checksum_type, sizeof o->checksum_type, "COMPOSITE");
	return 0;
}

int s3_complete_upload(struct s3_call *c, struct err *e)
{
	struct wanted *w = NULL;
	struct part_row *parts = NULL;
	struct object_part *chosen = NULL;
	size_t nwanted = 0, nparts = 0;
	char **files = NULL;
	struct object_row *o = xcalloc(1, sizeof *o);
	int ret = -1;
	if (load_upload(c, e) < 0 || wanted_parts(c, &w, &nwanted, e) < 0 ||
	    catalog_parts(c->req->srv->cat, c->upload->id, &parts, &nparts, e) < 0)
		goto out;
	files = xcalloc(nwanted, sizeof *files);
	chosen = xcalloc(nwanted, sizeof *chosen);
	unsigned char md5s[16], whole[16];
	if (match_parts(c, w, nwanted, parts, nparts, chosen, files, md5s, &o->size, e) < 0)
		goto out;
	snprintf(o->bucket, sizeof o->bucket, "%s", c->bucket);
	snprintf(o->key, sizeof o->key, "%s", c->key);
	snprintf(o->owner_id, sizeof o->owner_id, "%s", c->upload->owner_id);
	snprintf(o->content_type, sizeof o->content_type, "%s", c->upload->content_type);
	snprintf(o->metadata, sizeof o->metadata, "%s", c->upload->metadata);
	snprintf(o->acl, sizeof o->acl, "%s", c->upload->acl);
	o->modified_ms = ids_now_ms();
	o->parts_count = (int)nwanted;
	char hex[33];
	codec_hex(md5s, 16, hex);
	snprintf(o->etag, sizeof o->etag, "%.32s-%d", hex, (int)nwanted);
	if (composite_checksum(c, chosen, nwanted, o, e) < 0 ||
	    objstore_concat(c->store, files, nwanted, o->file, whole, e) < 0)
		goto out;
	char **gone = NULL;
	size_t ngone = 0;
	if (catalog_upload_finish(c->req->srv->cat, c->upload->id, o, chosen, nwanted, &gone,
				  &ngone, e) < 0) {
		objstore_unlink(c->store, o->file);
		goto out;
	}
	unlink_all(c, gone, ngone);
	complete_result(c, o);
	ret = 0;
out:
	free(w);
	free(parts);
	free(chosen);
	free(files);
	free(o);
	return ret;
}

int s3_abort_upload(struct s3_call *c, struct err *e)
{
	char **gone = NULL;
	size_t ngone = 0;
	if (load_upload(c, e) < 0 ||
	    catalog_upload_finish(c->req->srv->cat, c->upload->id, NULL, NULL, 0, &gone, &ngone,
				  e) < 0)
		return -1;
	unlink_all(c, gone, ngone);
	c->req->status = 204;
	return 0;
}

int s3_list_parts(struct s3_call *c, struct err *e)
{
	struct part_row *parts = NULL;
	size_t nparts = 0;
	long max, marker;
	if (s3_query_count(c, "max-parts", "max-parts", 1000, &max, e) < 0 ||
	    s3_query_count(c, "part-number-marker", "part-number-marker", 0, &marker, e) < 0 ||
	    load_upload(c, e) < 0 ||
	    catalog_parts(c->req->srv->cat, c->upload->id, &parts, &nparts, e) < 0)
		return -1;
	if (max > 1000)
		max = 1000;
	struct xmlw *w = s3_doc("ListPartsResult");
	xmlw_text(w, "Bucket", c->bucket);
	xmlw_text(w, "Key", c->key);
	xmlw_text(w, "UploadId", c->upload->id);
	s3_owner(c, w, "Initiator", c->upload->owner_id);
	s3_owner(c, w, "Owner", c->upload->owner_id);
	xmlw_text(w, "StorageClass", "STANDARD");
	const struct s3_checksum *a = s3_checksum_named(c->upload->checksum_algorithm);
	if (a) {
		xmlw_text(w, "ChecksumAlgorithm", a->name);
		xmlw_text(w, "ChecksumType", "COMPOSITE");
	}
	xmlw_int(w, "PartNumberMarker", marker);
	long shown = 0, last = marker;
	int truncated = 0;
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].number <= marker)
			continue;
		if (shown == max) {
			truncated = 1;
			break;
		}
		shown++;
		last = parts[i].number;
	}
	xmlw_int(w, "NextPartNumberMarker", last);
	xmlw_int(w, "MaxParts", max);
	xmlw_bool(w, "IsTruncated", truncated);
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].number <= marker || parts[i].number > last)
			continue;
		xmlw_start(w, "Part");
		xmlw_int(w, "PartNumber", parts[i].number);
		xmlw_time(w, "LastModified", parts[i].modified_ms);
		s3_etag_element(w, parts[i].etag);
		xmlw_int(w, "Size", parts[i].size);
		if (a && parts[i].checksum[0])
			xmlw_text(w, a->element, parts[i].checksum);
		xmlw_end(w);
	}
	free(parts);
	s3_send_doc(c, w);
	return 0;
}

int s3_list_uploads(struct s3_call *c, struct err *e)
{
	struct upload_row *u = NULL;
	size_t n = 0;
	long max;
	if (s3_query_count(c, "max-uploads", "max-uploads", 1000, &max, e) < 0 ||
	    s3_load_bucket(c, e) < 0 || s3_bucket_access(c, &c->bucket_row, S3_OWNER, e) < 0 ||
	    catalog_uploads(c->req->srv->cat, c->bucket, &u, &n, e) < 0)
		return -1;
	const char *prefix = query_get(&c->q, "prefix") ? query_get(&c->q, "prefix") : "";
	const char *key_marker = query_get(&c->q, "key-marker");
	const char *id_marker = query_get(&c->q, "upload-id-marker");
	if (max > 1000)
		max = 1000;
	struct xmlw *w = s3_doc("ListMultipartUploadsResult");
	xmlw_text(w, "Bucket", c->bucket);
	xmlw_text(w, "KeyMarker", key_marker ? key_marker : "");
	xmlw_text(w, "UploadIdMarker", id_marker ? id_marker : "");
	size_t plen = strlen(prefix);
	long shown = 0;
	int truncated = 0;
	const struct upload_row *last = NULL;
	size_t first = 0;
	/* Past the markers: later keys, or the marker key's uploads after the ID marker. */
	for (; key_marker && first < n; first++) {
		int cmp = strcmp(u[first].key, key_marker);
		if (cmp > 0)
			break;
		if (cmp == 0 && id_marker && *id_marker) {
			size_t k = first;
			while (k < n && !strcmp(u[k].key, key_marker) && strcmp(u[k].id, id_marker) != 0)
				k++;
			if (k < n && !strcmp(u[k].key, key_marker)) {
				first = k + 1;
				break;
			}
		}
	}
	for (size_t i = first; i < n; i++) {
		if (strncmp(u[i].key, prefix, plen) != 0)
			continue;
		if (shown == max) {
			truncated = 1;
			break;
		}
		shown++;
		last = &u[i];
	}
	xmlw_text(w, "NextKeyMarker", truncated && last ? last->key : "");
	xmlw_text(w, "NextUploadIdMarker", truncated && last ? last->id : "");
	xmlw_int(w, "MaxUploads", max);
	xmlw_bool(w, "IsTruncated", truncated);
	shown = 0;
	for (size_t i = first; i < n && shown < max; i++) {
		if (strncmp(u[i].key, prefix, plen) != 0)
			continue;
		shown++;
		xmlw_start(w, "Upload");
		xmlw_text(w, "Key", u[i].key);
		xmlw_text(w, "UploadId", u[i].id);
		s3_owner(c, w, "Initiator", u[i].owner_id);
		s3_owner(c, w, "Owner", u[i].owner_id);
		xmlw_text(w, "StorageClass", "STANDARD");
		xmlw_time(w, "Initiated", u[i].create_ms);
		if (u[i].checksum_algorithm[0]) {
			xmlw_text(w, "ChecksumAlgorithm", u[i].checksum_algorithm);
			xmlw_text(w, "ChecksumType", "COMPOSITE");
		}
		xmlw_end(w);
	}
	free(u);
	s3_send_doc(c, w);
	return 0;
}
