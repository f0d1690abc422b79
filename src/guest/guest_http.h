/*
 * guest_http: the plain-HTTP client of the guest tools (ec2_tools.c).
 *
 * Inside an instance, amibox's API and the metadata service are plain HTTP
 * at 169.254.169.254 (the VPC router relays port 8773 to the daemon).  The
 * tools are linked statically, to run in any guest (the busybox sample has
 * no C library of its own), and libcurl cannot be: its static archive
 * needs a dozen others (nghttp2, libssh2, librtmp, GSSAPI, LDAP, libidn2,
 * libpsl, brotli, zstd).  So this is a small HTTP/1.1 client of its own:
 * one request per connection, a body in memory, an answer read to the end
 * (Content-Length, chunked, or until the server closes).
 */
#ifndef AMIBOX_GUEST_GUEST_HTTP_H
#define AMIBOX_GUEST_GUEST_HTTP_H

#include <stddef.h>

#include "util/buf.h"

struct guest_url {
	char host[256];     /* a name or an IPv4/IPv6 address, without brackets */
	char authority[300]; /* host[:port], as the Host header */
	char port[8];
	char path[1024];    /* "" or "/..." as given */
};

/* Parses "http://host[:port][/path]"; -1 when it is not one. */
int guest_url_parse(const char *text, struct guest_url *u);

struct guest_answer {
	int status;          /* the HTTP status */
	struct buf headers;  /* the header lines as received */
	struct buf body;
};

/*
 * Sends method target (path and query, encoded) to u's host with the
 * header lines in headers ("Name: value", NULL-terminated; Host,
 * Content-Length and Connection are added) and the body; reads the whole
 * answer into a.  Waits at most timeout_s seconds for each step.  Returns
 * 0, or -1 with the reason in error when no answer came.
 */
int guest_http(const struct guest_url *u, const char *method, const char *target,
	       const char *const *headers, const void *body, size_t len, int timeout_s,
	       struct guest_answer *a, char *error, size_t cap);

/* A header's value from the answer into out ("" when absent). */
void guest_answer_header(const struct guest_answer *a, const char *name, char *out, size_t cap);

void guest_answer_release(struct guest_answer *a);

#endif
