/*
 * console: serves the web console's embedded files (see console.h).
 *
 * The files are built by scripts/console-build.sh and embedded gzipped
 * (console_assets.h), so the daemon stays one binary with no files to
 * install.  Browsers take them as they are, with Content-Encoding: gzip;
 * a client that does not accept gzip gets them inflated.  Every response
 * carries an ETag (the content's hash) and Cache-Control: no-cache, so a
 * reload costs a 304 and a new build is never served stale, and a
 * Content-Security-Policy that lets the page talk to its own origin only:
 * the user's secret key lives in that page.
 */
#include "console/console.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

struct console_asset {
	const char *name;         /* below /console/ */
	const char *content_type;
	const unsigned char *gz;  /* the file, gzipped */
	unsigned long gz_len;
	unsigned long len;        /* the file's own length */
	const char *etag;         /* quoted, as sent */
};

#include "console_assets.h"

#define CONSOLE_PREFIX "/console"

struct console_call {
	struct request *req;
};

static enum api_claim console_claim(const struct api_route *route)
{
	const char *rest;
	if (route->authorization ||
	    (strcmp(route->method, "GET") != 0 && strcmp(route->method, "HEAD") != 0))
		return API_CLAIM_NONE;
	if (strncmp(route->path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) != 0)
		return API_CLAIM_NONE;
	rest = route->path + strlen(CONSOLE_PREFIX);
	return *rest == '\0' || *rest == '/' ? API_CLAIM_FULL : API_CLAIM_NONE;
}

static void console_text(struct request *req, int status, const char *text)
{
	req->status = status;
	req->content_type = "text/plain; charset=utf-8";
	buf_reset(&req->response);
	buf_append_str(&req->response, text);
}

static void console_error_response(struct request *req, const struct err *e)
{
	api_note_error(req, e);
	console_text(req, e->status ? e->status : 500, e->message);
}

static const struct console_asset *console_find(const char *name)
{
	for (size_t i = 0; i < CONSOLE_ASSETS_COUNT; i++)
		if (!strcmp(console_assets[i].name, name))
			return &console_assets[i];
	return NULL;
}

/* The q of one Accept-Encoding element [p, end): 1 unless it says otherwise. */
static double console_quality(const char *p, const char *end)
{
	double q = 1;
	const char *param = memchr(p, ';', (size_t)(end - p));
	while (param) {
		param++;
		param += strspn(param, " \t");
		if (param + 2 <= end && (*param == 'q' || *param == 'Q') && param[1] == '=')
			q = strtod(param + 2, NULL);
		param = param < end ? memchr(param, ';', (size_t)(end - param)) : NULL;
	}
	return q;
}

int console_accepts_gzip(const char *accept)
{
	int gzip = -1, star = 0;
	const char *p = accept;
	while (p && *p) {
		const char *end = p + strcspn(p, ",");
		p += strspn(p, " \t");
		size_t len = strcspn(p, ",; \t");
		int takes = console_quality(p, end) > 0;
		if (len == 4 && !strncasecmp(p, "gzip", 4))
			gzip = takes;
		else if (len == 1 && *p == '*')
			star = takes;
		p = *end ? end + 1 : end;
	}
	/* A coding named outright wins over "*". */
	return gzip >= 0 ? gzip : star;
}

int console_etag_matches(const char *if_none_match, const char *etag)
{
	size_t etag_len = strlen(etag);
	const char *p = if_none_match;
	while (p && *p) {
		const char *end = p + strcspn(p, ",");
		p += strspn(p, " \t");
		if (!strncmp(p, "W/", 2))
			p += 2;
		size_t len = (size_t)(end - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((len == 1 && *p == '*') || (len == etag_len && !memcmp(p, etag, len)))
			return 1;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* Fills the response with the asset inflated; -1 if it does not inflate. */
static int console_inflate(struct request *req, const struct console_asset *a)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -1;
	buf_reset(&req->response);
	buf_reserve(&req->response, a->len + 1);
	zs.next_in = (unsigned char *)a->gz;
	zs.avail_in = (uInt)a->gz_len;
	zs.next_out = (unsigned char *)req->response.data;
	zs.avail_out = (uInt)(a->len + 1);
	int rc = inflate(&zs, Z_FINISH);
	int ok = rc == Z_STREAM_END && zs.total_out == a->len;
	inflateEnd(&zs);
	if (!ok)
		return -1;
	req->response.len = a->len;
	req->response.data[a->len] = '\0';
	return 0;
}

/* What every console response says about itself. */
static void console_common_headers(struct request *req)
{
	api_add_header(req, "Cache-Control", "no-cache");
	api_add_header(req, "X-Content-Type-Options", "nosniff");
	api_add_header(req, "Referrer-Policy", "no-referrer");
	api_add_header(req, "Content-Security-Policy",
		       "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
		       "style-src 'self'; script-src 'self'; object-src 'none'; "
		       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
}

/* The address the request came from, as text ("" if unknown). */
static void console_caller_address(struct request *req, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(
		req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (!info || !info->client_addr)
		return;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)size);
}

/* /console/config.json: what the page must know before it signs anything. */
static void console_config(struct request *req)
{
	char caller[INET6_ADDRSTRLEN];
	console_caller_address(req, caller, sizeof caller);
	json_t *doc = json_pack("{s:s, s:s}", "region", req->srv->region, "caller_ip", caller);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		console_text(req, 500, "cannot write the console's configuration\n");
		return;
	}
	api_add_header(req, "Cache-Control", "no-store");
	api_add_header(req, "X-Content-Type-Options", "nosniff");
	req->status = 200;
	req->content_type = "application/json";
	buf_reset(&req->response);
	buf_append_str(&req->response, text);
	free(text);
}

static void console_serve(struct request *req)
{
	const char *rest = req->path + strlen(CONSOLE_PREFIX);
	/* The page's relative addresses need the slash. */
	if (*rest == '\0') {
		api_add_header(req, "Location", CONSOLE_PREFIX "/");
		console_text(req, 301, "The console is at " CONSOLE_PREFIX "/\n");
		return;
	}
	const char *name = rest[1] ? rest + 1 : "index.html";
	if (!strcmp(name, "config.json")) {
		console_config(req);
		return;
	}
	if (CONSOLE_ASSETS_COUNT == 0) {
		console_text(req, 404, "This amibox was built without its web console "
			     "(cmake -DAMIBOX_CONSOLE=OFF, or without Node.js).\n");
		return;
	}
	const struct console_asset *a = console_find(name);
	if (!a) {
		console_text(req, 404, "No such file in the console.\n");
		return;
	}
	console_common_headers(req);
	api_add_header(req, "ETag", a->etag);
	api_add_header(req, "Vary", "Accept-Encoding");
	if (console_etag_matches(req->header(req, "If-None-Match"), a->etag)) {
		req->status = 304;
		return;
	}
	req->status = 200;
	req->content_type = a->content_type;
	if (console_accepts_gzip(req->header(req, "Accept-Encoding"))) {
		api_add_header(req, "Content-Encoding", "gzip");
		req->raw_body = a->gz;
		req->raw_len = a->gz_len;
		return;
	}
	if (console_inflate(req, a) < 0)
		console_text(req, 500, "The console's embedded file is damaged.\n");
}

static void *console_begin(struct request *req)
{
	struct console_call *call = xcalloc(1, sizeof *call);
	call->req = req;
	snprintf(req->action, sizeof req->action, "Console");
	return call;
}

static int console_refused(void *call)
{
	(void)call;
	return 0;
}

/* A GET has no body worth reading; whatever comes is dropped. */
static void console_body(void *call, const char *data, size_t len)
{
	(void)call;
	(void)data;
	(void)len;
}

static void console_end(void *call)
{
	struct console_call *c = call;
	console_serve(c->req);
}

static void console_free(void *call)
{
	free(call);
}

/* Streaming, so that the front does not ask for a signature: the files are public. */
const struct api_service console_service = {
	.name = "console",
	.claim = console_claim,
	.error_response = console_error_response,
	.begin = console_begin,
	.refused = console_refused,
	.body = console_body,
	.end = console_end,
	.free = console_free,
};
