/*
 * api: the HTTP front of the daemon and the request object its handlers see.
 *
 * One port serves every service.  The front (http.c) asks the table of
 * services (struct api_service, filled in src/services.c) which one a
 * request belongs to, authenticates it (SigV4) or lets the service do so,
 * and hands it over.  Services fill struct request's response fields; the
 * front sends them with x-amzn-RequestId.  The front names no service.
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
#define API_ZONES_MAX 16

struct volsnap;
struct compute;
struct metrics;
struct objstore;
struct respcache;

struct server {
	struct catalog *cat;
	struct blockstore *bs;
	struct volsnap *volsnap;      /* snapshots of volumes */
	struct compute *compute;      /* virtual machines */
	struct objstore *objstore;    /* S3 object bytes */
	const char *data_dir;
	char region[64];
	char zone[72];                /* the first of zones */
	char zones[API_ZONES_MAX][72]; /* the region's availability zones, in order */
	size_t nzones;
	unsigned char token_key[32]; /* signs EBS block and page tokens */
	int quiet;                    /* no request log lines */
	struct metrics *metrics;      /* what GET /metrics shows (api/metrics.h); NULL: none */
	const char *version;          /* the release, for GET /health */
	long long started_ms;         /* when the daemon started, for GET /health */
	/* How long a deregistered image is described, then known (catalog_images.h). */
	long long deregistered_shown_ms;
	long long deregistered_kept_ms;
	/* Answers kept while the catalog stands still (api/respcache.h); NULL: none. */
	struct respcache *responses;
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
	char access_key[24]; /* the key it was signed with, for the log (api_note_access_key) */
	char error_code[64]; /* AWS's code when it failed, for the log */
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
	/* Response headers (api_add_header), at most API_MAX_HEADERS; the
	 * array grows on demand, so a request costs nothing for them until a
	 * service adds one.  The front frees it. */
	struct api_header *headers;
	size_t nheaders, headers_cap;
};

void api_add_header(struct request *req, const char *name, const char *value);
/*
 * Notes the access key a request was signed with, for the log line; a value
 * that does not look like an access key (it could be a secret pasted in the
 * wrong place) is noted as "malformed" instead.
 */
void api_note_access_key(struct request *req, const char *access_key);
/* Notes a failure's code for the log line; services call it when they
 * write an error document. */
void api_note_error(struct request *req, const struct err *e);

/* ---- the table of services ---------------------------------------------- */

/*
 * What the front knows of a request when it picks a service: its headers
 * are in, its body is not.  scope_service is the SigV4 credential scope's
 * service ("ec2", "s3", ...), read but not yet verified; "" when the
 * request is not signed with SigV4 in its Authorization header.
 */
struct api_route {
	const char *method;
	const char *path;          /* raw, %-encoded, without the query */
	const char *query;         /* raw query string, "" if none */
	const char *authorization; /* the Authorization header, NULL if none */
	const char *scope_service;
};

/* How a service answers api_service.claim. */
enum api_claim {
	API_CLAIM_NONE = 0, /* not this service's request */
	API_CLAIM_PATH = 1, /* this service's path: it answers the request's errors */
	API_CLAIM_FULL = 2, /* this service's path and signature: it serves it */
};

/*
 * One AWS service on the daemon's port.  The front asks every service of
 * the table to claim a request, takes the strongest claim (the first of
 * equals, in table order; the table's first service when none claims), and
 * then drives the service in one of two ways:
 *
 *  - buffered (handle set): the front reads the body, at most
 *    body_limit(route) bytes (API_MAX_QUERY_BODY when body_limit is
 *    NULL), verifies the signature against the
 *    account's secret, and calls handle with req->account set, only for a
 *    full claim (otherwise it answers InvalidAction in the service's
 *    format).  Errors before handle are written with error_response.
 *  - streaming (begin set): the service authenticates itself from the
 *    headers; begin is called when they are in, body as the body arrives,
 *    end to fill in the response, free always.  When refused(call) after
 *    begin, a client that waits for 100 Continue is answered at once.
 *
 * name is the credential scope's service and the log's name for calls
 * that do not get as far as an action.  A global service (IAM) also takes
 * credentials scoped to us-east-1, whatever the daemon's region.
 */
struct api_service {
	const char *name;
	int global;
	enum api_claim (*claim)(const struct api_route *route);
	void (*error_response)(struct request *req, const struct err *e);
	size_t (*body_limit)(const struct api_route *route);
	void (*handle)(struct request *req);
	void *(*begin)(struct request *req);
	int (*refused)(void *call);
	void (*body)(void *call, const char *data, size_t len);
	void (*end)(void *call);
	void (*free)(void *call);
};

/*
 * The HTTP server: starts listening on addr:port with a pool of worker
 * threads; api_stop() waits for requests in flight and closes the socket.
 */
struct api_server;
/* services: the table, NULL-terminated, borrowed for the server's life. */
int api_start(struct server *srv, const struct api_service *const *services,
	      const char *listen_addr, struct api_server **out, struct err *e);
void api_stop(struct api_server *api);

#endif
