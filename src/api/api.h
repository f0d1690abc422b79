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
#define API_MAX_HEADERS 8

struct volsnap;
struct compute;

struct server {
	struct catalog *cat;
	struct blockstore *bs;
	struct volsnap *volsnap;      /* snapshots of volumes */
	struct compute *compute;      /* virtual machines */
	const char *data_dir;
	char region[64];
	char zone[72];
	unsigned char token_key[32]; /* signs EBS block and page tokens */
	int quiet;                    /* no request log lines */
};

struct api_header {
	char name[64];
	char value[192];
};

struct request {
	struct server *srv;
	/* What was received. */
	const char *method;
	const char *path;  /* raw, %-encoded */
	const char *query; /* raw query string, "" if none */
	const char *(*header)(struct request *req, const char *name);
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

/*
 * The HTTP server: starts listening on addr:port with a pool of worker
 * threads; api_stop() waits for requests in flight and closes the socket.
 */
struct api_server;
int api_start(struct server *srv, const char *listen_addr,
	      struct api_server **out, struct err *e);
void api_stop(struct api_server *api);

#endif
