/*
 * ops: the operator's endpoints on the API port, answered before any
 * authentication: GET /metrics (Prometheus text, api/metrics.h) and
 * GET /health (or /healthz: a small JSON document, 200 or 503).
 *
 * They are the unsigned requests for exactly those paths without a query
 * string, so an S3 bucket of that name stays reachable with any signed
 * request (only an anonymous listing of a public bucket named "metrics",
 * "health" or "healthz" is shadowed).  Other methods on them get 405.
 * They tell nothing about any account; the daemon listens on loopback
 * unless told otherwise, so whoever can reach them can also reach the API.
 */
#ifndef AMIBOX_API_OPS_H
#define AMIBOX_API_OPS_H

#include "api/api.h"

/* 1 if the request whose headers are in is one of the operator's. */
int ops_claim(const struct api_route *route);
/* Answers it: status, content type and body in req; req->action names it. */
void ops_answer(struct request *req);
/*
 * Registers the server's own collectors with srv->metrics: the catalog's
 * counts (instances, volumes, images by state; snapshots; the chunk and
 * object stores' bytes and the dedup ratio), the QEMU processes running,
 * and the build.  srv is borrowed for the registry's life.
 */
void ops_register(struct server *srv);

#endif
