/* codec: encodings and hashes over OpenSSL libcrypto (see codec.h). */
#include "util/codec.h"

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char codec_hexdigits[] = "0123456789abcdef";

void codec_hex(const unsigned char *data, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = codec_hexdigits[data[i] >> 4];
		out[2 * i + 1] = codec_hexdigits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

static int codec_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int codec_unhex(const char *text, unsigned char *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = codec_hexval(text[2 * i]);
		int lo = hi < 0 ? -1 : codec_hexval(text[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void codec_base64(const unsigned char *data, size_t len, struct buf *out)
{
	size_t need = 4 * ((len + 2) / 3);
	buf_reserve(out, need);
	int n = EVP_EncodeBlock((unsigned char *)out->data + out->len, data,
				(int)len);
	out->len += (size_t)n;
	out->data[out->len] = '\0';
}

static int codec_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int codec_unbase64(const char *text, size_t text_len, struct buf *out)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t pad = 0;
	if (text_len % 4 != 0)
		return -1;
	for (size_t i = 0; i < text_len; i++) {
		if (text[i] == '=') {
			pad++;
			if (pad > 2 || i < text_len - 2)
				return -1;
			continue;
		}
		if (pad)
			return -1;
		int v = codec_b64val(text[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_append_char(out, (char)((acc >> bits) & 0xff));
		}
	}
	return 0;
}

void codec_uri_encode(const char *s, size_t len, int keep_slash,
		      struct buf *out)
{
	buf_reserve(out, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~' || (keep_slash && c == '/')) {
			buf_append_char(out, (char)c);
		} else {
			char esc[3] = { '%', "0123456789ABCDEF"[c >> 4],
					"0123456789ABCDEF"[c & 15] };
			buf_append(out, esc, 3);
		}
	}
}

int codec_uri_decode(const char *s, size_t len, int plus_is_space,
		     struct buf *out)
{
	buf_reserve(out, len);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (len - i < 3)
				return -1;
			int hi = codec_hexval(s[i + 1]);
			int lo = hi < 0 ? -1 : codec_hexval(s[i + 2]);
			if (lo < 0)
				return -1;
			buf_append_char(out, (char)(hi << 4 | lo));
			i += 2;
		} else if (c == '+' && plus_is_space) {
			buf_append_char(out, ' ');
		} else {
			buf_append_char(out, c);
		}
	}
	return 0;
}

/*
 * SHA-256 and HMAC-SHA-256 are on every request's path (SigV4 hashes the
 * canonical request and signs with HMAC).  OpenSSL 3's one-shot calls look
 * the algorithm up and allocate a context each time, which cost more than
 * the hashing itself; here the algorithm is fetched once per process and
 * each thread keeps one digest context.
 */
static EVP_MD *codec_md;
static pthread_once_t codec_md_once = PTHREAD_ONCE_INIT;
static pthread_key_t codec_ctx_key;

static void codec_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void codec_md_init(void)
{
	codec_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!codec_md || pthread_key_create(&codec_ctx_key, codec_ctx_free) != 0) {
		fprintf(stderr, "amibox: OpenSSL has no SHA-256\n");
		abort();
	}
}

/* This thread's digest context, initialised for SHA-256. */
static EVP_MD_CTX *codec_sha256_begin(void)
{
	pthread_once(&codec_md_once, codec_md_init);
	EVP_MD_CTX *ctx = pthread_getspecific(codec_ctx_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (!ctx || pthread_setspecific(codec_ctx_key, ctx) != 0)
			abort();
	}
	if (!EVP_DigestInit_ex2(ctx, codec_md, NULL))
		abort();
	return ctx;
}

static void codec_sha256_end(EVP_MD_CTX *ctx, unsigned char out[SHA256_LEN])
{
	unsigned int n = 0;
	if (!EVP_DigestFinal_ex(ctx, out, &n))
		abort();
}

void codec_sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	EVP_MD_CTX *ctx = codec_sha256_begin();
	if (!EVP_DigestUpdate(ctx, data, len))
		abort();
	codec_sha256_end(ctx, out);
}

void codec_sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1])
{
	unsigned char md[SHA256_LEN];
	codec_sha256(data, len, md);
	codec_hex(md, SHA256_LEN, out);
}

/* HMAC (RFC 2104) over SHA-256, whose block is 64 bytes. */
void codec_hmac_sha256(const void *key, size_t key_len, const void *data,
		       size_t data_len, unsigned char out[SHA256_LEN])
{
	unsigned char block[64] = { 0 }, pad[64], inner[SHA256_LEN];
	if (key_len > sizeof block)
		codec_sha256(key, key_len, block);
	else
		memcpy(block, key, key_len);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = block[i] ^ 0x36;
	EVP_MD_CTX *ctx = codec_sha256_begin();
	if (!EVP_DigestUpdate(ctx, pad, sizeof pad) || !EVP_DigestUpdate(ctx, data, data_len))
		abort();
	codec_sha256_end(ctx, inner);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = block[i] ^ 0x5c;
	ctx = codec_sha256_begin();
	if (!EVP_DigestUpdate(ctx, pad, sizeof pad) || !EVP_DigestUpdate(ctx, inner, sizeof inner))
		abort();
	codec_sha256_end(ctx, out);
	/* The key, padded or hashed, must not linger on the stack. */
	explicit_bzero(block, sizeof block);
	explicit_bzero(pad, sizeof pad);
	explicit_bzero(inner, sizeof inner);
}

void codec_random(void *out, size_t len)
{
	if (RAND_bytes(out, (int)len) != 1) {
		fprintf(stderr, "amibox: no random bytes available\n");
		abort();
	}
}

int codec_equal_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
