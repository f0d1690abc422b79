/*
 * s3/internal.h: what the S3 files share (s3.c: the call's life cycle,
 * routing, errors, buckets and ACLs; objects.c: objects and listings;
 * multipart.c: multipart uploads; errors.c: the error document; auth.c:
 * who is calling).
 */
#ifndef AMIBOX_S3_INTERNAL_H
#define AMIBOX_S3_INTERNAL_H

#include "api/api.h"
#include "api/query.h"
#include "s3/auth.h"
#include "api/xmlw.h"
#include "catalog/catalog_s3.h"
#include "objstore/objstore.h"

#define S3_NAMESPACE "http://s3.amazonaws.com/doc/2006-03-01/"
#define S3_MAX_XML_BODY (2 * 1024 * 1024)
#define S3_MAX_OBJECT (5ULL << 30)      /* one PUT, as AWS */
#define S3_MIN_PART (5 * 1024 * 1024)   /* every part but the last */
#define S3_MAX_PARTS 10000
#define S3_META_LIMIT 2048              /* user metadata, as AWS */
#define S3_META_NAME_MAX 100            /* one x-amz-meta-NAME's NAME */
/* The canonical user EC2 reads bundles as (aws-exec-read, ec2-bundle-read). */
#define S3_EC2_READER_ID "6aa5a366c34c1cbe25dc49211496e913e0351eb0e8c37aa3477e40942ec6b97c"

enum s3_body_mode { S3_BODY_NONE, S3_BODY_XML, S3_BODY_SPOOL };

/* One of S3's additional checksum algorithms (checksums.c). */
struct s3_checksum {
	const char *name;     /* as x-amz-checksum-algorithm names it: "CRC32" */
	const char *header;   /* "x-amz-checksum-crc32" */
	const char *element;  /* "ChecksumCRC32" */
	enum objstore_checksum which;
	size_t raw_len;       /* bytes before base64 */
};

struct s3_call {
	struct request *req;
	struct objstore *store;
	struct s3_auth auth;
	struct query q;
	char bucket[S3_BUCKET_MAX];
	char *key;                /* decoded; NULL at the bucket or service level */
	int (*run)(struct s3_call *c, struct err *e); /* the operation, at the body's end */
	int (*start)(struct s3_call *c, struct err *e); /* its checks before the body */
	struct err err;           /* a refusal found before or during the body */
	struct s3_error_details details; /* S3's elements that explain it */
	/* The body. */
	enum s3_body_mode body_mode;
	struct buf xml;
	struct objstore_spool *spool;
	struct s3_chunked *chunked;
	const struct s3_checksum *declared; /* the body's x-amz-checksum-*, if any */
	char checksum[S3_CHECKSUM_MAX];     /* its value, once verified */
	/* Found at the start, for the operation. */
	struct bucket_row bucket_row;
	struct upload_row *upload;
	int part_number;
};

/* ---- helpers (s3.c) ----------------------------------------------------- */

/* s3_fail() for the call: its error and the details that explain it. */
#define S3_FAIL(call, error, status, code, list, ...) \
	s3_fail(&(call)->details, (error), (status), (code), (list), __VA_ARGS__)
/* InvalidArgument (400) about one header or parameter: ArgumentName and ArgumentValue. */
int s3_invalid_argument(struct s3_call *c, struct err *e, const char *name, const char *value,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * A count from the query (max-keys, max-parts, ...): *out gets it, or dflt
 * when absent.  InvalidArgument as S3 words it for what is no integer (or
 * beyond 2^31-1) and for a negative one; negative_name is the argument S3
 * names then (maxKeys for max-keys).
 */
int s3_query_count(struct s3_call *c, const char *name, const char *negative_name, long dflt,
		   long *out, struct err *e);

/* Whether the caller may do what is asked with the bucket (see s3.c). */
enum s3_access { S3_READ, S3_WRITE, S3_OWNER };
int s3_bucket_access(struct s3_call *c, const struct bucket_row *b, enum s3_access want,
		     struct err *e);
/* Reads the bucket of the call into c->bucket_row; NoSuchBucket if absent. */
int s3_load_bucket(struct s3_call *c, struct err *e);
/* Whether the caller may read the object (its ACL, the bucket's owner). */
int s3_object_readable(struct s3_call *c, const struct object_row *o);
/* A canned ACL name from x-amz-acl (default private); InvalidArgument if unknown. */
int s3_canned_acl(struct s3_call *c, char acl[32], struct err *e);
/* "name:value\n" lines of the x-amz-meta-* headers; MetadataTooLarge. */
int s3_collect_metadata(struct s3_call *c, char out[S3_META_MAX], struct err *e);
/* EntityTooLarge for an upload of proposed bytes, with S3's limit. */
int s3_entity_too_large(struct s3_call *c, unsigned long long proposed, struct err *e);
/* BadDigest unless the Content-MD5 header, if any, is the body's md5. */
int s3_check_content_md5(struct s3_call *c, const unsigned char md5[16], struct err *e);
/* Starts spooling the body (object or part). */
int s3_spool_body(struct s3_call *c, struct err *e);
/*
 * Checks the spooled body against what the client declared (payload hash,
 * Content-MD5, decoded length, x-amz-checksum-*: c->checksum gets it);
 * then commits it.
 */
int s3_spool_finish(struct s3_call *c, char file[S3_FILE_MAX], char etag[48],
		    struct err *e);
/* "Wed, 12 Oct 2009 17:50:00 GMT" */
void s3_http_date(long long epoch_ms, char out[40]);
/* A response document in S3's namespace. */
struct xmlw *s3_doc(const char *root);
void s3_send_doc(struct s3_call *c, struct xmlw *w);
/* The ETag, quoted as S3 sends it: as a response header, and as <ETag>. */
void s3_etag_header(struct request *req, const char *etag);
void s3_etag_element(struct xmlw *w, const char *etag);
/* Appends <Owner><ID/><DisplayName/></Owner> for an account. */
void s3_owner(struct s3_call *c, struct xmlw *w, const char *element, const char *account_id);

/* ---- checksums (checksums.c) --------------------------------------------- */

#define S3_CHECKSUM_COUNT 4
extern const struct s3_checksum s3_checksums[S3_CHECKSUM_COUNT];
/* The algorithm of that name (any case), or NULL. */
const struct s3_checksum *s3_checksum_named(const char *name);
/*
 * Before the body: the checksum it declares (one x-amz-checksum-* header,
 * or the trailer x-amz-trailer names) into c->declared.  InvalidRequest
 * for two, or for a value that is no checksum of its algorithm.
 */
int s3_checksum_declared(struct s3_call *c, struct err *e);
/* After the body: the declared checksum against the spool's; c->checksum gets it.  BadDigest. */
int s3_checksum_verify(struct s3_call *c, struct err *e);
/* base64(checksum(the parts' raw checksums, in order)) "-N"; -1 if a value is malformed. */
int s3_checksum_composite(const struct s3_checksum *a, const char *const values[], size_t n,
			  char out[S3_CHECKSUM_MAX]);
/* x-amz-checksum-<algorithm> and x-amz-checksum-type, when there is a value. */
void s3_checksum_headers(struct request *req, const char *algorithm, const char *type,
			 const char *value);

/* ---- operations --------------------------------------------------------- */

/*
 * The object x-amz-copy-source names ("bucket/key", %-encoded), into src,
 * if the caller may read it and the x-amz-copy-source-if-* conditions
 * hold: InvalidArgument, NoSuchBucket, NoSuchKey (naming the source),
 * AccessDenied, PreconditionFailed.
 */
int s3_copy_source(struct s3_call *c, struct object_row *src, struct err *e);

int s3_list_objects(struct s3_call *c, struct err *e);
int s3_put_object(struct s3_call *c, struct err *e);
int s3_copy_object(struct s3_call *c, struct err *e);
int s3_get_object(struct s3_call *c, struct err *e);
int s3_delete_object(struct s3_call *c, struct err *e);
int s3_delete_objects(struct s3_call *c, struct err *e);
/* The start of PutObject: may the caller write here? Spool the body. */
int s3_put_object_begin(struct s3_call *c, struct err *e);

int s3_create_upload(struct s3_call *c, struct err *e);
/* The partNumber parameter (1 to 10000); InvalidArgument otherwise. */
int s3_part_number(struct s3_call *c, int *number, struct err *e);
int s3_upload_part_begin(struct s3_call *c, struct err *e);
int s3_upload_part(struct s3_call *c, struct err *e);
int s3_upload_part_copy(struct s3_call *c, struct err *e);
int s3_complete_upload(struct s3_call *c, struct err *e);
int s3_abort_upload(struct s3_call *c, struct err *e);
int s3_list_parts(struct s3_call *c, struct err *e);
int s3_list_uploads(struct s3_call *c, struct err *e);

#endif
