/*
 * codec: hex, base64, URI encoding, SHA-256 and random bytes.
 *
 * Thin wrappers around OpenSSL libcrypto where it has the primitive, so that
 * the rest of amibox never touches EVP contexts directly.  Functions that
 * decode untrusted text return -1 on malformed input and never read past the
 * given length.
 */
#ifndef AMIBOX_UTIL_CODEC_H
#define AMIBOX_UTIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define SHA256_LEN 32

/* Writes 2*len lowercase hex digits and a NUL to out. */
void codec_hex(const unsigned char *data, size_t len, char *out);
/* Decodes exactly 2*len hex digits from text; -1 if any is not hex. */
int codec_unhex(const char *text, unsigned char *out, size_t len);

/* Appends standard base64 (with padding) of data to out. */
void codec_base64(const unsigned char *data, size_t len, struct buf *out);
/* Decodes standard base64 into out (binary); -1 on malformed input. */
int codec_unbase64(const char *text, size_t text_len, struct buf *out);

/*
 * Appends the RFC 3986 encoding of s: unreserved characters (A-Z a-z 0-9
 * - _ . ~) stay, every other byte becomes %XX with upper-case hex; when
 * keep_slash is set, '/' stays too.
 */
void codec_uri_encode(const char *s, size_t len, int keep_slash,
		      struct buf *out);
/*
 * Decodes %XX escapes (and '+' as space when plus_is_space) into out.
 * Returns -1 on a malformed escape.
 */
int codec_uri_decode(const char *s, size_t len, int plus_is_space,
		     struct buf *out);

void codec_sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
void codec_sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1]);
void codec_hmac_sha256(const void *key, size_t key_len, const void *data,
		       size_t data_len, unsigned char out[SHA256_LEN]);

/* Fills out with cryptographically random bytes; aborts if none can be had. */
void codec_random(void *out, size_t len);

/* Constant-time comparison of two equal-length byte strings; 1 if equal. */
int codec_equal_ct(const void *a, const void *b, size_t len);

#endif
