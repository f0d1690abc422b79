/*
 * http: the daemon's HTTP server (libmicrohttpd), authentication and routing.
 *
 * When a request's headers are in, every service of the table is asked to
 * claim it (api.h).  A streaming service (S3) takes the call from there; for
 * the others the body is gathered whole, within the chosen service's limit,
 * authenticated with SigV4 and handed to it.  Failures before a service
 * takes over are answered in the chosen service's format.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/ops.h"
#include "api/query.h"
#include "api/sigv2.h"
#include "api/sigv4.h"
#include "util/codec.h"
#include "util/ids.h"
#include "util/log.h"

struct api_server {
	struct MHD_Daemon *daemon;
	struct server *srv;
	const struct api_service *const *services;
};

/* Per-connection request state, created by the URI callback. */
struct http_request {
	char *uri;       /* raw request target */
	struct buf body;
	size_t limit;
	int too_large;
	int started;
	long long start_us;
	const struct api_service *service; /* chosen when the headers are in */
	int full_claim;
	/* A streaming service's call runs from the end of the headers to the
	 * end of the body. */
	struct request *sreq;
	void *call;
	char *spath;
	int answered;
	int operator; /* GET /metrics or /health (ops.h) */
};

void api_add_header(struct request *req, const char *name, const char *value)
{
	if (req->nheaders == API_MAX_HEADERS)
		return;
	if (req->nheaders == req->headers_cap) {
		req->headers_cap = req->headers_cap ? 2 * req->headers_cap : 4;
		req->headers = xrealloc(req->headers, req->headers_cap * sizeof *req->headers);
	}
	struct api_header *h = &req->headers[req->nheaders++];
	snprintf(h->name, sizeof h->name, "%s", name);
	snprintf(h->value, sizeof h->value, "%s", value);
}

void api_note_access_key(struct request *req, const char *access_key)
{
	size_t len = strlen(access_key);
	int plausible = len >= 16 && len <= 20 &&
			strspn(access_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == len;
	snprintf(req->access_key, sizeof req->access_key, "%s",
		 plausible ? access_key : "malformed");
}

void api_note_error(struct request *req, const struct err *e)
{
	/* Codes are AWS's own words; anything else is not logged as sent. */
	size_t len = strspn(e->code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.");
	snprintf(req->error_code, sizeof req->error_code, "%.*s", (int)len, e->code);
}

static long long http_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *http_uri_callback(void *cls, const char *uri,
			       struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	struct http_request *hr = xcalloc(1, sizeof *hr);
	hr->uri = xstrdup(uri);
	hr->start_us = http_now_us();
	return hr;
}

static void http_completed(void *cls, struct MHD_Connection *conn,
			   void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct http_request *hr = *con_cls;
	if (!hr)
		return;
	free(hr->uri);
	buf_release(&hr->body);
	if (hr->call)
		hr->service->free(hr->call);
	if (hr->sreq) {
		if (hr->sreq->has_fd)
			close(hr->sreq->fd);
		buf_release(&hr->sreq->response);
		free(hr->sreq->headers);
		free(hr->sreq);
	}
	free(hr->spath);
	free(hr);
	*con_cls = NULL;
}

static const char *http_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct http_each {
	void (*fn)(void *ctx, const char *name, const char *value);
	void *ctx;
};

static enum MHD_Result http_each_header(void *cls, enum MHD_ValueKind kind,
					const char *key, const char *value)
{
	(void)kind;
	struct http_each *each = cls;
	each->fn(each->ctx, key, value ? value : "");
	return MHD_YES;
}

static void http_headers_each(struct request *req,
			      void (*fn)(void *ctx, const char *name, const char *value),
			      void *ctx)
{
	struct http_each each = { fn, ctx };
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_each_header, &each);
}

static const char *http_sigv4_header(void *ctx, const char *name)
{
	return http_header(ctx, name);
}

/*
 * A request without an Authorization header may sign its Query parameters
 * with Signature Version 2 (classic EC2 clients); else it is unsigned.
 */
static int http_authenticate_query(struct request *req, struct err *e)
{
	struct query params;
	const char *content_type = http_header(req, "Content-Type");
	int form = req->body_len && content_type &&
		   !strncasecmp(content_type, "application/x-www-form-urlencoded", 33);
	const char *text = form ? req->body : req->query;
	size_t len = form ? req->body_len : strlen(req->query);
	if (query_parse(text, len, &params, e) < 0)
		return -1;
	int ret = -1;
	if (!sigv2_is_signed(&params)) {
		err_set(e, 403, "MissingAuthenticationToken",
			"Request is missing Authentication Token.");
		goto out;
	}
	const char *key = sigv2_access_key(&params);
	if (!key || !*key) {
		err_set(e, 400, "MissingParameter",
			"The request must contain the parameter AWSAccessKeyId.");
		goto out;
	}
	api_note_access_key(req, key);
	int found = catalog_account_by_key(req->srv->cat, key, &req->account, e);
	if (found <= 0) {
		if (found == 0)
			err_set(e, 401, "AuthFailure",
				"AWS was not able to validate the provided access credentials");
		goto out;
	}
	struct sigv2_request sreq = {
		.method = req->method,
		.host = http_header(req, "Host"),
		.path = req->path,
		.params = &params,
	};
	if (sigv2_verify(&sreq, req->account.secret, time(NULL), e) < 0) {
		req->account.id[0] = '\0';
		goto out;
	}
	ret = 0;
out:
	query_release(&params);
	return ret;
}

/*
 * Authenticates req.  On failure fills e (AWS's code and status) and
 * returns -1; on success req->account is the caller and *service the
 * credential scope's service.
 */
static int http_authenticate(struct request *req, const struct api_service *service,
			     struct err *e)
{
	struct sigv4_auth auth;
	char body_hash[2 * SHA256_LEN + 1];
	const char *authorization = http_header(req, "Authorization");
	if (!authorization)
		return http_authenticate_query(req, e);
	if (sigv4_parse_authorization(authorization, &auth, e) < 0)
		return -1;
	api_note_access_key(req, auth.access_key);
	/*
	 * The payload hash is the x-amz-content-sha256 header's when sent
	 * (UNSIGNED-PAYLOAD included); a hex hash there must match the body.
	 */
	const char *content_sha = http_header(req, "x-amz-content-sha256");
	const char *payload_hash = content_sha;
	/* Only a SHA-256 or UNSIGNED-PAYLOAD: anything else would unsign the body. */
	if (content_sha && strcmp(content_sha, "UNSIGNED-PAYLOAD") != 0 &&
	    (strlen(content_sha) != 64 || strspn(content_sha, "0123456789abcdefABCDEF") != 64))
		return err_set(e, 400, "InvalidArgument",
			       "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid SHA-256 value.");
	if (!content_sha || strlen(content_sha) == 64) {
		codec_sha256(req->body ? req->body : "", req->body_len, req->body_hash);
		req->body_hashed = 1;
		codec_hex(req->body_hash, SHA256_LEN, body_hash);
		if (!content_sha)
			payload_hash = body_hash;
		else if (strcasecmp(content_sha, body_hash) != 0)
			return err_set(e, 400, "XAmzContentSHA256Mismatch",
				       "The provided 'x-amz-content-sha256' header does not match what was computed.");
	}
	int found = catalog_account_by_key(req->srv->cat, auth.access_key,
					   &req->account, e);
	if (found < 0)
		return -1;
	if (!found)
		return err_set(e, 401, "AuthFailure",
			       "AWS was not able to validate the provided access credentials");
	/* Credentials scoped to another region are refused, as AWS does
	 * (a global service's clients sign for us-east-1). */
	if (strcmp(auth.region, req->srv->region) != 0 &&
	    !(service->global && strcmp(auth.region, "us-east-1") == 0))
		return err_set(e, 403, "SignatureDoesNotMatch",
			       "Credential should be scoped to a valid region, not '%.32s'.",
			       auth.region);
	struct sigv4_request sreq = {
		.method = req->method,
		.path = req->path,
		.query = req->query,
		.header = http_sigv4_header,
		.header_ctx = req,
		.payload_hash = payload_hash,
	};
	if (sigv4_verify(&sreq, &auth, req->account.secret, time(NULL), e) < 0) {
		req->account.id[0] = '\0';
		return -1;
	}
	return 0;
}

/* Authenticates a buffered request and runs it, or answers its error. */
static void http_dispatch(struct http_request *hr, struct request *req)
{
	struct err e = ERR_INIT;
	const struct api_service *service = hr->service;
	snprintf(req->action, sizeof req->action, "%s", service->name);
	if (http_authenticate(req, service, &e) < 0) {
		service->error_response(req, &e);
		return;
	}
	if (!hr->full_claim) {
		char scope[32] = "";
		struct sigv4_auth auth;
		struct err ignored = ERR_INIT;
		if (sigv4_parse_authorization(http_header(req, "Authorization"), &auth,
					      &ignored) == 0)
			snprintf(scope, sizeof scope, "%s", auth.service);
		err_set(&e, 400, "InvalidAction",
			"The service '%.31s' is not served at %.64s.", scope, req->path);
		service->error_response(req, &e);
		return;
	}
	service->handle(req);
}

static enum MHD_Result http_send(struct MHD_Connection *conn,
				 struct request *req)
{
	struct MHD_Response *resp;
	if (req->has_fd) {
		/* MHD owns the descriptor from here on, also on failure. */
		int fd = req->fd;
		req->has_fd = 0;
		resp = MHD_create_response_from_fd_at_offset64(req->fd_len, fd, req->fd_offset);
		if (!resp)
			close(fd);
	} else if (req->raw_body)
		resp = MHD_create_response_from_buffer(req->raw_len,
						       (void *)req->raw_body,
						       MHD_RESPMEM_MUST_COPY);
	else
		resp = MHD_create_response_from_buffer(req->response.len,
						       req->response.data ? req->response.data : (char *)"",
						       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "x-amzn-RequestId", req->request_id);
	if (req->content_type)
		MHD_add_response_header(resp, "Content-Type", req->content_type);
	for (size_t i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name,
					req->headers[i].value);
	MHD_add_response_header(resp, "Server", "amibox");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Picks the service for a request whose headers are in: the strongest
 * claim, the first of equals; the table's first service when none claims.
 */
static void http_route(struct api_server *api, struct http_request *hr,
		       struct MHD_Connection *conn, const char *method)
{
	struct sigv4_auth auth;
	struct err ignored = ERR_INIT;
	const char *q = strchr(hr->uri, '?');
	char *path = q ? xstrndup(hr->uri, (size_t)(q - hr->uri)) : xstrdup(hr->uri);
	const char *authorization =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	struct api_route route = {
		.method = method,
		.path = path,
		.query = q ? q + 1 : "",
		.authorization = authorization,
		.scope_service = "",
	};
	if (authorization && !strncmp(authorization, "AWS4-", 5) &&
	    sigv4_parse_authorization(authorization, &auth, &ignored) == 0)
		route.scope_service = auth.service;
	enum api_claim best = API_CLAIM_NONE;
	hr->service = api->services[0];
	for (size_t i = 0; api->services[i]; i++) {
		enum api_claim claim = api->services[i]->claim(&route);
		if (claim > best) {
			best = claim;
			hr->service = api->services[i];
		}
	}
	hr->full_claim = best == API_CLAIM_FULL;
	hr->limit = hr->service->body_limit ? hr->service->body_limit(&route) :
					       API_MAX_QUERY_BODY;
	free(path);
}

/* Counts the answered request for /metrics and writes its log line. */
static void http_log(struct api_server *api, struct http_request *hr, struct request *req)
{
	double seconds = (double)(http_now_us() - hr->start_us) / 1e6;
	const char *action = req->action[0] ? req->action : "-";
	metrics_request(api->srv->metrics, action, req->status, seconds);
	if (api->srv->quiet)
		return;
	char status[16], duration[32];
	snprintf(status, sizeof status, "%d", req->status);
	snprintf(duration, sizeof duration, "%.3f", seconds * 1000.0);
	struct log_field fields[7] = {
		{ "action", action, 0 },
		{ "account", req->account.id[0] ? req->account.id : "-", 0 },
		{ "status", status, 1 },
		{ "duration_ms", duration, 1 },
	};
	size_t n = 4;
	/* A refused request also names its error code and access key ID. */
	if (req->status >= 400) {
		fields[n++] = (struct log_field){ "error",
						  req->error_code[0] ? req->error_code : "-", 0 };
		fields[n++] = (struct log_field){ "access_key",
						  req->access_key[0] ? req->access_key : "-", 0 };
	}
	fields[n++] = (struct log_field){ "request_id", req->request_id, 0 };
	log_event(LOG_INFO, "request", fields, n);
}

/* A streaming service's request: its headers are in; the call begins. */
static void http_stream_begin(struct api_server *api, struct http_request *hr,
			      struct MHD_Connection *conn, const char *method)
{
	struct request *req = xcalloc(1, sizeof *req);
	req->srv = api->srv;
	req->method = method;
	req->conn = conn;
	req->header = http_header;
	req->headers_each = http_headers_each;
	req->status = 200;
	ids_uuid(req->request_id);
	const char *q = strchr(hr->uri, '?');
	hr->spath = q ? xstrndup(hr->uri, (size_t)(q - hr->uri)) : xstrdup(hr->uri);
	req->path = hr->spath;
	req->query = q ? q + 1 : "";
	snprintf(req->action, sizeof req->action, "%s", hr->service->name);
	hr->sreq = req;
	hr->call = hr->service->begin(req);
}

/* Ends a streaming call and queues its response. */
static enum MHD_Result http_stream_end(struct api_server *api, struct http_request *hr,
				       struct MHD_Connection *conn)
{
	hr->answered = 1;
	hr->service->end(hr->call);
	enum MHD_Result ret = http_send(conn, hr->sreq);
	http_log(api, hr, hr->sreq);
	return ret;
}

/*
 * GET /metrics and /health (ops.h): claimed when the headers are in, before
 * any service or signature is looked at, answered once the request is read
 * (so the connection stays open for the next one); counted and logged as
 * every request.  1 when it is one (*ret set), 0 when not.
 */
static int http_operator(struct api_server *api, struct http_request *hr,
			 struct MHD_Connection *conn, const char *method,
			 size_t *upload_data_size, enum MHD_Result *ret)
{
	*ret = MHD_YES;
	if (!hr->started) {
		struct api_route route = {
			.method = method,
			.path = hr->uri,
			.query = "",
			.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								     "Authorization"),
			.scope_service = "",
		};
		hr->operator = ops_claim(&route);
		hr->started = hr->operator;
		return hr->operator;
	}
	if (!hr->operator)
		return 0;
	if (*upload_data_size) {
		/* A body sent along is read and dropped. */
		*upload_data_size = 0;
		return 1;
	}
	struct request req = { .srv = api->srv, .method = method, .conn = conn,
			       .header = http_header, .headers_each = http_headers_each,
			       .path = hr->uri, .query = "" };
	ids_uuid(req.request_id);
	ops_answer(&req);
	*ret = http_send(conn, &req);
	http_log(api, hr, &req);
	buf_release(&req.response);
	free(req.headers);
	return 1;
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn,
				    const char *url, const char *method,
				    const char *version, const char *upload_data,
				    size_t *upload_data_size, void **con_cls)
{
	struct api_server *api = cls;
	struct http_request *hr = *con_cls;
	(void)url;
	(void)version;
	if (!hr)
		return MHD_NO;
	if (hr->call) {
		if (*upload_data_size) {
			if (!hr->answered)
				hr->service->body(hr->call, upload_data, *upload_data_size);
			*upload_data_size = 0;
			return MHD_YES;
		}
		return hr->answered ? MHD_YES : http_stream_end(api, hr, conn);
	}
	enum MHD_Result operator_ret;
	if (!hr->call && http_operator(api, hr, conn, method, upload_data_size, &operator_ret))
		return operator_ret;
	if (!hr->started)
		http_route(api, hr, conn, method);
	if (!hr->started && hr->service->begin) {
		hr->started = 1;
		http_stream_begin(api, hr, conn, method);
		/* A refused upload that waits for 100 Continue is answered now. */
		const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
		if (hr->service->refused(hr->call) && expect && !strcasecmp(expect, "100-continue"))
			return http_stream_end(api, hr, conn);
		return MHD_YES;
	}
	if (!hr->started) {
		hr->started = 1;
		/* Reserve a declared body once, rather than growing it by copies. */
		const char *length = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		unsigned long long declared = length ? strtoull(length, NULL, 10) : 0;
		if (declared > 0 && declared <= hr->limit)
			buf_reserve(&hr->body, (size_t)declared);
		/* Refuse an oversized body before reading it. */
		if (declared <= hr->limit)
			return MHD_YES;
		hr->too_large = 1;
	} else if (*upload_data_size) {
		size_t got = *upload_data_size;
		*upload_data_size = 0;
		/*
		 * A chunked body that grows too big is dropped as it comes
		 * and answered at its end: MHD cannot answer mid-chunk.
		 */
		if (!hr->too_large && hr->body.len + got <= hr->limit)
			buf_append(&hr->body, upload_data, got);
		else
			hr->too_large = 1;
		return MHD_YES;
	}

	struct request req = { 0 };
	char *path = NULL;
	req.srv = api->srv;
	req.method = method;
	req.conn = conn;
	req.header = http_header;
	req.headers_each = http_headers_each;
	req.status = 200;
	ids_uuid(req.request_id);
	const char *q = strchr(hr->uri, '?');
	path = q ? xstrndup(hr->uri, (size_t)(q - hr->uri)) : xstrdup(hr->uri);
	req.path = path;
	req.query = q ? q + 1 : "";
	req.body = hr->body.data;
	req.body_len = hr->body.len;
	if (hr->too_large) {
		struct err e = ERR_INIT;
		snprintf(req.action, sizeof req.action, "%s", hr->service->name);
		err_set_reason(&e, 413, "RequestEntityTooLarge", "INVALID_DATA_LENGTH",
			       "The request body is larger than %zu bytes.", hr->limit);
		hr->service->error_response(&req, &e);
	} else {
		http_dispatch(hr, &req);
	}
	enum MHD_Result ret = http_send(conn, &req);
	http_log(api, hr, &req);
	buf_release(&req.response);
	free(req.headers);
	free(path);
	return ret;
}

static int http_parse_listen(const char *listen_addr, struct sockaddr_in *sa,
			     struct err *e)
{
	char host[64];
	const char *colon = strrchr(listen_addr, ':');
	if (!colon || (size_t)(colon - listen_addr) >= sizeof host)
		return err_invalid(e, "listen address '%s' is not ADDR:PORT", listen_addr);
	memcpy(host, listen_addr, (size_t)(colon - listen_addr));
	host[colon - listen_addr] = '\0';
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	if (*end || port < 0 || port > 65535 ||
	    inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return err_invalid(e, "listen address '%s' is not ADDR:PORT", listen_addr);
	return 0;
}

/* libmicrohttpd's own complaints (a client's broken request) as log lines. */
static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	log_vmsg(LOG_WARN, fmt, ap);
}

int api_start(struct server *srv, const struct api_service *const *services,
	      const char *listen_addr, struct api_server **out, struct err *e)
{
	struct sockaddr_in sa;
	if (http_parse_listen(listen_addr, &sa, e) < 0)
		return -1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = (unsigned)(ncpu > 0 ? ncpu * 4 : 8);
	if (threads < 4)
		threads = 4;
	if (threads > 16)
		threads = 16;
	struct api_server *api = xcalloc(1, sizeof *api);
	api->srv = srv;
	api->services = services;
	api->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
		0, NULL, NULL, http_handler, api,
		/* First, so that libmicrohttpd logs nothing by itself. */
		MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_URI_LOG_CALLBACK, http_uri_callback, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, http_completed, NULL,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)512,
		MHD_OPTION_END);
	if (!api->daemon) {
		free(api);
		return err_internal(e, "cannot listen on %s (is the port in use?)",
				    listen_addr);
	}
	*out = api;
	return 0;
}

void api_stop(struct api_server *api)
{
	if (!api)
		return;
	MHD_stop_daemon(api->daemon);
	free(api);
}
