/*
 * xmlw: writes EC2 Query responses, on libxml2's text writer.
 *
 * Calling sequence:
 *   struct xmlw *w = xmlw_new("DescribeSnapshotsResponse", request_id);
 *   xmlw_start(w, "snapshotSet"); xmlw_start(w, "item");
 *   xmlw_text(w, "snapshotId", id); ... xmlw_end(w); xmlw_end(w);
 *   xmlw_finish(w, &body);   -- closes open elements, frees w
 * The root element carries EC2's namespace and a <requestId> first.  Text is
 * escaped by libxml2.  Absent optional values are skipped by the *_opt calls:
 * botocore crashes on an empty integer or timestamp element, so numbers and
 * times are either written with a value or not at all.
 */
#ifndef AMIBOX_API_XMLW_H
#define AMIBOX_API_XMLW_H

#include "util/buf.h"

struct xmlw;

#define XMLW_EC2_NAMESPACE "http://ec2.amazonaws.com/doc/2016-11-15/"

/* A response document with the given root and request ID. */
struct xmlw *xmlw_new(const char *root, const char *request_id);
/* A bare document with root (no namespace, no requestId): errors, S3. */
struct xmlw *xmlw_new_plain(const char *root);
/* A document whose root carries the namespace ns (S3's, IAM's). */
struct xmlw *xmlw_new_ns(const char *root, const char *ns);
void xmlw_start(struct xmlw *w, const char *name);
void xmlw_end(struct xmlw *w);
/* An attribute of the element just started. */
void xmlw_attribute(struct xmlw *w, const char *name, const char *value);
void xmlw_text(struct xmlw *w, const char *name, const char *value);
/* Writes the element only when value is non-NULL. */
void xmlw_text_opt(struct xmlw *w, const char *name, const char *value);
void xmlw_int(struct xmlw *w, const char *name, long long value);
void xmlw_bool(struct xmlw *w, const char *name, int value);
/* 2024-01-02T03:04:05.000Z from milliseconds since the epoch. */
void xmlw_time(struct xmlw *w, const char *name, long long epoch_ms);
/* Appends the document to out and frees w. */
void xmlw_finish(struct xmlw *w, struct buf *out);
/* Frees w without output. */
void xmlw_free(struct xmlw *w);

#endif
