/*
 * buf: the one growable byte buffer of amibox.
 *
 * A struct buf always holds a NUL after its last byte, so its data can be used
 * as a C string when it holds text.  Allocation failure aborts: amibox treats
 * running out of memory as fatal, like git's xmalloc.
 *
 * Calling sequence: struct buf b = BUF_INIT; buf_append(&b, ...); ...;
 * buf_release(&b).  buf_detach() hands the data to the caller (caller frees).
 */
#ifndef AMIBOX_UTIL_BUF_H
#define AMIBOX_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data; /* NULL until the first append; then NUL-terminated */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_reserve(struct buf *b, size_t extra);

/*
 * Appending is on every response's path, a few hundred times per Describe:
 * the common case (room left) is inline, growing is buf_reserve's.
 */
static inline void buf_append(struct buf *b, const void *data, size_t len)
{
	if (len >= b->cap - b->len)
		buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static inline void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

static inline void buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Returns the data (never NULL; "" for an empty buffer); caller frees. */
char *buf_detach(struct buf *b);
/* Returns the text, "" for an empty buffer; owned by b. */
const char *buf_str(const struct buf *b);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
