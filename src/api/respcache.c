/* respcache: answers kept while the catalog has not changed (respcache.h). */
#include "api/respcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct respcache_slot {
	pthread_mutex_t lock;
	char *key;               /* NULL: empty */
	size_t key_len;
	unsigned long long gen;
	long long expires_ms;
	char *body;              /* the response without its request ID */
	size_t len;
	size_t hole;             /* where the request ID goes */
};

struct respcache {
	struct respcache_slot *slots;
	size_t nslots;
	size_t max_body;
	size_t budget;
	_Atomic size_t bytes; /* the kept bodies' sizes, together */
	_Atomic unsigned long long hits, misses;
};

/* FNV-1a, 64 bits: the slot of a key. */
static size_t respcache_slot_of(const struct respcache *rc, const char *key, size_t n)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)(h % rc->nslots);
}

struct respcache *respcache_new(size_t slots, size_t max_body, size_t budget)
{
	struct respcache *rc = xcalloc(1, sizeof *rc);
	rc->nslots = slots ? slots : 1;
	rc->max_body = max_body;
	rc->budget = budget;
	rc->slots = xcalloc(rc->nslots, sizeof *rc->slots);
	for (size_t i = 0; i < rc->nslots; i++)
		pthread_mutex_init(&rc->slots[i].lock, NULL);
	return rc;
}

static void respcache_slot_clear(struct respcache *rc, struct respcache_slot *s)
{
	rc->bytes -= s->len;
	free(s->key);
	free(s->body);
	s->key = s->body = NULL;
	s->key_len = s->len = s->hole = 0;
}

void respcache_free(struct respcache *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; i < rc->nslots; i++) {
		respcache_slot_clear(rc, &rc->slots[i]);
		pthread_mutex_destroy(&rc->slots[i].lock);
	}
	free(rc->slots);
	free(rc);
}

int respcache_get(struct respcache *rc, const char *key, size_t key_len,
		  unsigned long long gen, long long now_ms, const char *request_id,
		  struct buf *out)
{
	struct respcache_slot *s = &rc->slots[respcache_slot_of(rc, key, key_len)];
	int hit = 0;
	pthread_mutex_lock(&s->lock);
	if (s->key && s->key_len == key_len && !memcmp(s->key, key, key_len)) {
		if (s->gen == gen && now_ms < s->expires_ms) {
			size_t id_len = strlen(request_id);
			buf_reserve(out, s->len + id_len);
			buf_append(out, s->body, s->hole);
			buf_append(out, request_id, id_len);
			buf_append(out, s->body + s->hole, s->len - s->hole);
			hit = 1;
		} else {
			respcache_slot_clear(rc, s); /* never good again */
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (hit)
		rc->hits++;
	else
		rc->misses++;
	return hit;
}

void respcache_put(struct respcache *rc, const char *key, size_t key_len,
		   unsigned long long gen, long long expires_ms, const char *body,
		   size_t len, const char *request_id)
{
	size_t id_len = strlen(request_id);
	const char *at = id_len ? memmem(body, len, request_id, id_len) : NULL;
	if (!at || len - id_len > rc->max_body)
		return;
	size_t hole = (size_t)(at - body);
	char *copy = xmalloc(len - id_len + 1);
	memcpy(copy, body, hole);
	memcpy(copy + hole, at + id_len, len - hole - id_len);
	copy[len - id_len] = '\0';
	char *key_copy = xmalloc(key_len + 1);
	memcpy(key_copy, key, key_len);
	key_copy[key_len] = '\0';
	struct respcache_slot *s = &rc->slots[respcache_slot_of(rc, key, key_len)];
	pthread_mutex_lock(&s->lock);
	respcache_slot_clear(rc, s);
	if (rc->bytes + (len - id_len) > rc->budget) {
		pthread_mutex_unlock(&s->lock);
		free(copy);
		free(key_copy);
		return;
	}
	rc->bytes += len - id_len;
	s->key = key_copy;
	s->key_len = key_len;
	s->gen = gen;
	s->expires_ms = expires_ms;
	s->body = copy;
	s->len = len - id_len;
	s->hole = hole;
	pthread_mutex_unlock(&s->lock);
}

void respcache_counts(struct respcache *rc, unsigned long long *hits,
		      unsigned long long *misses)
{
	*hits = rc->hits;
	*misses = rc->misses;
}
