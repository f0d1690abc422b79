/*
 * api: the HTTP front of the daemon and the request object its handlers see.
 *
 * One port serves every service.  A request is read whole (bodies are
 * bounded), authenticated with SigV4, routed by its credential scope's
 * service to that service's handler (ec2.c, ebs.c), and answered with the
 * service's own success and error formats.  Handlers fill struct request's
 * response fields; the HTTP layer sends them with x-amzn-RequestId.
 */
#ifndef AMIBOX_API_API_H
#define AMIBOX_API_API_H

#include <stddef.h>

#include "blockstore/blockstore.h"
#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/err.h"

#define API_MAX_QUERY_BODY (1024 * 1024)
#define API_MAX_BLOCK_BODY (512 * 1024)
#define API_MAX_HEADERS 24

struct volsnap;
struct compute;
struct objstore;

struct server {
	struct catalog *cat;
	struct blockstore *bs;
	struct volsnap *volsnap;      /* snapshots of volumes */
	struct compute *compute;      /* virtual machines */
	struct objstore *objstore;    /* S3 object bytes */
	const char *data_dir;
	char region[64];
	char zone[72];
	unsigned char token_key[32]; /* signs EBS block and page tokens */
	int quiet;                    /* no request log lines */
};

struct api_header {
	char name[128];
	char value[2048]; /* S3's user metadata may fill 2 KB */
};

struct request {
	struct server *srv;
	/* What was received. */
	const char *method;
	const char *path;  /* raw, %-encoded */
	const char *query; /* raw query string, "" if none */
	const char *(*header)(struct request *req, const char *name);
	/* Calls fn for every header received, in order. */
	void (*headers_each)(struct request *req,
			     void (*fn)(void *ctx, const char *name, const char *value),
			     void *ctx);
	void *conn;        /* the HTTP library's connection */
	const char *body;
	size_t body_len;
	unsigned char body_hash[32]; /* SHA-256 of the body, when body_hashed */
	int body_hashed;
	/* Who sent it, once authenticated. */
	struct account account;
	char request_id[37];
	char action[64];   /* for the log line */
	/* The response. */
	int status;
	const char *content_type;
	struct buf response;
	const void *raw_body; /* when set, sent instead of response (borrowed) */
	size_t raw_len;
	/* When has_fd: the body is fd's bytes [fd_offset, fd_offset + fd_len); the
	 * HTTP layer closes fd. */
	int has_fd;
	int fd;
	unsigned long long fd_offset, fd_len;
	struct api_header headers[API_MAX_HEADERS];
	size_t nheaders;
};

void api_add_header(struct request *req, const char *name, const char *value);

/* Fills req's response with an EC2 <Response><Errors> document. */
void ec2_error_response(struct request *req, const struct err *e);
/* Runs an authenticated EC2 Query request (form body or query string). */
void ec2_handle(struct request *req);

/* Fills req's response with an EBS JSON error and x-amzn-ErrorType. */
void ebs_error_response(struct request *req, const struct err *e);
/* Runs an authenticated EBS direct API request. */
void ebs_handle(struct request *req);

/* IAM (iam.c): signing certificates, Query protocol. */
void iam_handle(struct request *req);
void iam_error_response(struct request *req, const struct err *e);
struct signing_cert;
/*
 * Checks a PEM certificate and adds it to the account (also `amibox
 * account add-cert`); out gets its ID.  MalformedCertificate,
 * DuplicateCertificate, LimitExceeded.
 */
int iam_upload_certificate(struct catalog *cat, const char *account_id, const char *pem,
			   struct signing_cert *out, struct err *e);

/*
 * S3 (s3.c): a call begins when the request's headers are in (it
 * authenticates and routes then), takes the body as it arrives, and ends
 * with the response filled in.
 */
struct s3_call;
struct s3_call *s3_begin(struct request *req);
/* 1 when the call is refused already (answer before reading the body). */
int s3_refused(const struct s3_call *c);
void s3_body(struct s3_call *c, const char *data, size_t len);
void s3_end(struct s3_call *c);
void s3_free(struct s3_call *c);
/* Fills req's response with S3's <Error> document. */
void s3_error_response(struct request *req, const struct err *e, const char *bucket,
		       const char *key);

/*
 * The HTTP server: starts listening on addr:port with a pool of worker
 * threads; api_stop() waits for requests in flight and closes the socket.
 */
struct api_server;
int api_start(struct server *srv, const char *listen_addr,
	      struct api_server **out, struct err *e);
void api_stop(struct api_server *api);

#endif
