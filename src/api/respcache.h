/*
 * respcache: answers to read-only calls kept while the catalog has not
 * changed.
 *
 * Tools poll the same Describe call again and again (Terraform's and
 * Packer's waiters, a console's refresh, a fleet's agents); between two
 * changes of the catalog its answer can only differ by its request ID.  An
 * entry is the response with the request ID cut out, the catalog generation
 * it was read under (catalog_generation) and an expiry for what time alone
 * changes (a deprecation time passing); a lookup serves it only under the
 * same generation and before the expiry, so that no answer outlives a
 * change.  The key is the caller's account and the request's parameters as
 * signed; entries sit in a fixed number of slots (a new one replaces what
 * its slot held), each with its own lock.
 *
 *   struct respcache *rc = respcache_new(256, 1 << 20, 32 << 20);
 *   if (respcache_get(rc, key, n, gen, now, request_id, &out)) -> answered
 *   ... else compute body; respcache_put(rc, key, n, gen, expires, body, len, request_id);
 */
#ifndef AMIBOX_API_RESPCACHE_H
#define AMIBOX_API_RESPCACHE_H

#include <stddef.h>

#include "util/buf.h"

struct respcache;

/*
 * slots entries at most, each body at most max_body bytes, all of them
 * about budget bytes together (threads that keep answers at once may pass
 * it by one answer each).
 */
struct respcache *respcache_new(size_t slots, size_t max_body, size_t budget);
void respcache_free(struct respcache *rc);

/*
 * 1 and the kept response with request_id in its place appended to out
 * when key has an entry of generation gen that has not expired at now_ms;
 * else 0.
 */
int respcache_get(struct respcache *rc, const char *key, size_t key_len,
		  unsigned long long gen, long long now_ms, const char *request_id,
		  struct buf *out);
/*
 * Keeps body (which holds request_id once, where later answers get theirs)
 * for key until expires_ms, read under generation gen.  A body too large,
 * one that would take the cache past its budget, or one without the request
 * ID is not kept.
 */
void respcache_put(struct respcache *rc, const char *key, size_t key_len,
		   unsigned long long gen, long long expires_ms, const char *body,
		   size_t len, const char *request_id);

/* Hits and misses so far (for GET /metrics). */
void respcache_counts(struct respcache *rc, unsigned long long *hits,
		      unsigned long long *misses);

#endif
