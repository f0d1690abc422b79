/*
 * console: the web console's files, served by the daemon at /console.
 *
 * The console is a browser application (console/ in the source tree) that
 * is a client of amibox's public API like any other: the browser signs
 * every request with the user's own keys.  The daemon only hands out its
 * files, built and embedded at build time, to anyone: they hold no secret.
 * A GET or HEAD of /console or below without an Authorization header is the
 * console's; a signed one still goes to S3 (a bucket may be named console).
 *
 * /console/config.json tells the page the daemon's region (its requests
 * must be signed for it) and the address the request came from (what the
 * EC2 console calls "My IP", for a security group rule).
 */
#ifndef AMIBOX_CONSOLE_CONSOLE_H
#define AMIBOX_CONSOLE_CONSOLE_H

#include "api/api.h"

extern const struct api_service console_service;

/*
 * Whether an Accept-Encoding header value (NULL: none) takes gzip: a gzip
 * element, or else a "*" one, whose q is not zero (RFC 9110, 12.5.3).
 */
int console_accepts_gzip(const char *accept);

/*
 * Whether an If-None-Match header value (NULL: none) names etag (quoted, as
 * sent), weakly compared, or is "*".
 */
int console_etag_matches(const char *if_none_match, const char *etag);

#endif
