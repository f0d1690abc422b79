/*
 * sshkey: SSH keys for EC2 key pairs (see sshkey.h).
 *
 * The SSH wire encodings (RFC 4251: uint32, string, mpint) are written and
 * read here; the keys themselves are libcrypto's EVP_PKEYs.  Buffers that
 * hold private key bytes are sized before they are filled, so that no
 * reallocation leaves a copy behind, and are wiped when released.
 */
#include "ec2/sshkey.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/codec.h"

#define SSHKEY_RSA_MIN_BITS 1024
#define SSHKEY_RSA_MAX_BITS 16384
#define SSHKEY_COMMENT_MAX 255
#define SSHKEY_SECRET_RESERVE 8192 /* more than any private encoding here */

static int sshkey_bad_format(struct err *e)
{
	return err_set(e, 400, "InvalidKey.Format",
		       "Key is not in valid OpenSSH public key format");
}

static int sshkey_crypto_error(struct err *e, const char *what)
{
	char reason[256] = "unknown error";
	unsigned long code = ERR_get_error();
	if (code)
		ERR_error_string_n(code, reason, sizeof reason);
	ERR_clear_error();
	return err_internal(e, "%s: %s", what, reason);
}

void sshkey_private_release(struct buf *private_key)
{
	if (private_key->data)
		OPENSSL_cleanse(private_key->data, private_key->cap);
	buf_release(private_key);
}

/* ---- the SSH wire encoding ----------------------------------------------- */

static void ssh_put_u32(struct buf *b, uint32_t v)
{
	unsigned char bytes[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
				   (unsigned char)(v >> 8), (unsigned char)v };
	buf_append(b, bytes, sizeof bytes);
}

static void ssh_put_string(struct buf *b, const void *data, size_t len)
{
	ssh_put_u32(b, (uint32_t)len);
	buf_append(b, data, len);
}

static void ssh_put_cstring(struct buf *b, const char *s)
{
	ssh_put_string(b, s, strlen(s));
}

/* An mpint: big-endian, minimal, a zero byte before a set high bit. */
static void ssh_put_mpint(struct buf *b, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	unsigned char *bytes = xmalloc((size_t)n + 1);
	bytes[0] = 0;
	BN_bn2bin(bn, bytes + 1);
	int lead = n > 0 && (bytes[1] & 0x80);
	ssh_put_string(b, lead ? bytes : bytes + 1, (size_t)n + (size_t)lead);
	OPENSSL_cleanse(bytes, (size_t)n + 1);
	free(bytes);
}

struct ssh_reader {
	const unsigned char *p;
	size_t len;
};

static int ssh_get_string(struct ssh_reader *r, const unsigned char **data, size_t *len)
{
	if (r->len < 4)
		return -1;
	size_t n = (size_t)r->p[0] << 24 | (size_t)r->p[1] << 16 | (size_t)r->p[2] << 8 | r->p[3];
	if (n > r->len - 4)
		return -1;
	*data = r->p + 4;
	*len = n;
	r->p += 4 + n;
	r->len -= 4 + n;
	return 0;
}

/* A positive mpint of at most max_bytes (a leading zero byte not counted). */
static BIGNUM *ssh_get_mpint(struct ssh_reader *r, size_t max_bytes)
{
	const unsigned char *data;
	size_t len;
	if (ssh_get_string(r, &data, &len) < 0 || len == 0 || (data[0] & 0x80))
		return NULL;
	if (len > max_bytes + (data[0] == 0))
		return NULL;
	return BN_bin2bn(data, (int)len, NULL);
}

/* ---- encodings of text ---------------------------------------------------- */

/* Appends base64 of data in lines of width characters, each ending in '\n'. */
static void sshkey_base64_lines(struct buf *out, const void *data, size_t len, size_t width,
				size_t *nlines)
{
	struct buf text = BUF_INIT;
	buf_reserve(&text, (len + 2) / 3 * 4 + 1);
	codec_base64(data, len, &text);
	*nlines = 0;
	for (size_t at = 0; at < text.len; at += width, ++*nlines) {
		size_t n = text.len - at < width ? text.len - at : width;
		buf_append(out, text.data + at, n);
		buf_append_char(out, '\n');
	}
	sshkey_private_release(&text);
}

static void sshkey_hex_colons(const unsigned char *digest, size_t len,
			      char out[SSHKEY_FINGERPRINT_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t at = 0;
	for (size_t i = 0; i < len && at + 3 < SSHKEY_FINGERPRINT_MAX; i++) {
		if (i)
			out[at++] = ':';
		out[at++] = hex[digest[i] >> 4];
		out[at++] = hex[digest[i] & 15];
	}
	out[at] = '\0';
}

/* digest_name's digest of data as colon-separated hex. */
static int sshkey_digest_hex(const char *digest_name, const unsigned char *data, size_t len,
			     char out[SSHKEY_FINGERPRINT_MAX], struct err *e)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	size_t digest_len = 0;
	if (!EVP_Q_digest(NULL, digest_name, NULL, data, len, digest, &digest_len))
		return sshkey_crypto_error(e, "cannot compute a key fingerprint");
	sshkey_hex_colons(digest, digest_len, out);
	return 0;
}

/* Ed25519's fingerprint: base64 of the SHA-256 of the public blob, padded. */
static void sshkey_sha256_base64(const struct buf *blob, char out[SSHKEY_FINGERPRINT_MAX])
{
	unsigned char digest[SHA256_LEN];
	struct buf text = BUF_INIT;
	codec_sha256(blob->data, blob->len, digest);
	codec_base64(digest, sizeof digest, &text);
	snprintf(out, SSHKEY_FINGERPRINT_MAX, "%s", text.data);
	buf_release(&text);
}

/* "type base64(blob) comment" into pub->openssh. */
static int sshkey_line(const char *ssh_type, const struct buf *blob, const char *comment,
		       struct sshkey_public *pub, struct err *e)
{
	struct buf line = BUF_INIT;
	buf_printf(&line, "%s ", ssh_type);
	codec_base64((const unsigned char *)blob->data, blob->len, &line);
	if (*comment)
		buf_printf(&line, " %s", comment);
	int too_long = line.len >= sizeof pub->openssh;
	if (!too_long)
		memcpy(pub->openssh, line.data, line.len + 1);
	buf_release(&line);
	return too_long ? sshkey_bad_format(e) : 0;
}

/* ---- RSA ------------------------------------------------------------------ */

struct sshkey_rsa {
	BIGNUM *n, *e, *d, *p, *q, *iqmp;
};

static void sshkey_rsa_release(struct sshkey_rsa *r)
{
	BN_free(r->n);
	BN_free(r->e);
	BN_clear_free(r->d);
	BN_clear_free(r->p);
	BN_clear_free(r->q);
	BN_clear_free(r->iqmp);
}

/* The public blob: "ssh-rsa", e, n. */
static void sshkey_rsa_blob(const BIGNUM *n, const BIGNUM *e_bn, struct buf *blob)
{
	ssh_put_cstring(blob, "ssh-rsa");
	ssh_put_mpint(blob, e_bn);
	ssh_put_mpint(blob, n);
}

static int sshkey_rsa_params(EVP_PKEY *pkey, struct sshkey_rsa *r, int with_private,
			     struct err *e)
{
	int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &r->n) &&
		 EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &r->e);
	if (ok && with_private)
		ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &r->d) &&
		     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &r->p) &&
		     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, &r->q) &&
		     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &r->iqmp);
	return ok ? 0 : sshkey_crypto_error(e, "cannot read an RSA key");
}

/* SHA-1 of the DER PKCS#8 private key, as EC2 fingerprints the keys it makes. */
static int sshkey_rsa_created_fingerprint(EVP_PKEY *pkey, char out[SSHKEY_FINGERPRINT_MAX],
					  struct err *e)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
	unsigned char *der = NULL;
	int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	int rc = len > 0 ? sshkey_digest_hex("SHA1", der, (size_t)len, out, e) :
			   sshkey_crypto_error(e, "cannot encode a private key");
	if (der)
		OPENSSL_clear_free(der, (size_t)len);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rc;
}

/* MD5 of the DER SubjectPublicKeyInfo, as EC2 fingerprints imported RSA keys. */
static int sshkey_rsa_imported_fingerprint(EVP_PKEY *pkey, char out[SSHKEY_FINGERPRINT_MAX],
					   struct err *e)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);
	int rc = len > 0 ? sshkey_digest_hex("MD5", der, (size_t)len, out, e) :
			   sshkey_crypto_error(e, "cannot encode a public key");
	OPENSSL_free(der);
	return rc;
}

/* A PuTTY key file, format 2, unencrypted; its MAC as PuTTY computes it. */
static int sshkey_ppk(const char *alg, const char *comment, const struct buf *pub,
		      const struct buf *priv, struct buf *out, struct err *e)
{
	static const char mac_key_text[] = "putty-private-key-file-mac-key";
	unsigned char mac_key[20], mac[20];
	size_t mac_len = 0, nlines;
	struct buf signed_data = BUF_INIT;
	buf_reserve(&signed_data, SSHKEY_SECRET_RESERVE);
	ssh_put_cstring(&signed_data, alg);
	ssh_put_cstring(&signed_data, "none");
	ssh_put_cstring(&signed_data, comment);
	ssh_put_string(&signed_data, pub->data, pub->len);
	ssh_put_string(&signed_data, priv->data, priv->len);
	size_t mac_key_len = 0;
	int ok = EVP_Q_digest(NULL, "SHA1", NULL, mac_key_text, sizeof mac_key_text - 1, mac_key,
			      &mac_key_len) &&
		 EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, mac_key, sizeof mac_key,
			   (const unsigned char *)signed_data.data, signed_data.len, mac,
			   sizeof mac, &mac_len);
	sshkey_private_release(&signed_data);
	if (!ok || mac_len != sizeof mac)
		return sshkey_crypto_error(e, "cannot compute a PuTTY key's MAC");
	char mac_hex[41];
	codec_hex(mac, sizeof mac, mac_hex);
	buf_printf(out, "PuTTY-User-Key-File-2: %s\nEncryption: none\nComment: %s\n", alg,
		   comment);
	struct buf lines = BUF_INIT;
	buf_reserve(&lines, SSHKEY_SECRET_RESERVE);
	sshkey_base64_lines(&lines, pub->data, pub->len, 64, &nlines);
	buf_printf(out, "Public-Lines: %zu\n%s", nlines, lines.data);
	buf_reset(&lines);
	sshkey_base64_lines(&lines, priv->data, priv->len, 64, &nlines);
	buf_printf(out, "Private-Lines: %zu\n", nlines);
	buf_append(out, lines.data, lines.len);
	buf_printf(out, "Private-MAC: %s\n", mac_hex);
	sshkey_private_release(&lines);
	return 0;
}

/* The private key as EC2 hands it out: PKCS#1 PEM, or PuTTY's d, p, q, iqmp. */
static int sshkey_rsa_private(EVP_PKEY *pkey, const struct sshkey_rsa *r, const char *format,
			      const char *comment, const struct buf *pub_blob,
			      struct buf *out, struct err *e)
{
	if (!strcmp(format, "ppk")) {
		struct buf priv = BUF_INIT;
		buf_reserve(&priv, SSHKEY_SECRET_RESERVE);
		ssh_put_mpint(&priv, r->d);
		ssh_put_mpint(&priv, r->p);
		ssh_put_mpint(&priv, r->q);
		ssh_put_mpint(&priv, r->iqmp);
		int rc = sshkey_ppk("ssh-rsa", comment, pub_blob, &priv, out, e);
		sshkey_private_release(&priv);
		return rc;
	}
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem = NULL;
	long len = 0;
	if (bio && PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL))
		len = BIO_get_mem_data(bio, &pem);
	if (len > 0)
		buf_append(out, pem, (size_t)len);
	BIO_free(bio);
	return len > 0 ? 0 : sshkey_crypto_error(e, "cannot write a private key");
}

static int sshkey_create_rsa(const char *format, const char *comment,
			     struct sshkey_public *pub, struct buf *private_key, struct err *e)
{
	struct sshkey_rsa r = { 0 };
	struct buf blob = BUF_INIT;
	int rc = -1;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!pkey) {
		sshkey_crypto_error(e, "cannot make an RSA key");
		goto out;
	}
	if (sshkey_rsa_params(pkey, &r, 1, e) < 0)
		goto out;
	sshkey_rsa_blob(r.n, r.e, &blob);
	snprintf(pub->key_type, sizeof pub->key_type, "rsa");
	if (sshkey_line("ssh-rsa", &blob, comment, pub, e) < 0 ||
	    sshkey_rsa_created_fingerprint(pkey, pub->fingerprint, e) < 0 ||
	    sshkey_rsa_private(pkey, &r, format, comment, &blob, private_key, e) < 0)
		goto out;
	rc = 0;
out:
	sshkey_rsa_release(&r);
	buf_release(&blob);
	EVP_PKEY_free(pkey);
	return rc;
}

/* ---- Ed25519 -------------------------------------------------------------- */

static void sshkey_ed25519_blob(const unsigned char pub[32], struct buf *blob)
{
	ssh_put_cstring(blob, "ssh-ed25519");
	ssh_put_string(blob, pub, 32);
}

/* Armors raw as PEM-style text of label, in lines of width. */
static void sshkey_armor(struct buf *out, const char *label, const struct buf *raw, size_t width)
{
	size_t nlines;
	buf_printf(out, "-----BEGIN %s-----\n", label);
	sshkey_base64_lines(out, raw->data, raw->len, width, &nlines);
	buf_printf(out, "-----END %s-----\n", label);
}

/*
 * OpenSSH's private key format ("openssh-key-v1", PROTOCOL.key): no cipher,
 * one key; the private section holds a random check word twice, the key
 * (public, then seed and public), the comment, and padding to 8 bytes.
 */
static void sshkey_openssh_private(const struct buf *pub_blob, const unsigned char pub[32],
				   const unsigned char seed[32], const char *comment,
				   struct buf *out)
{
	struct buf raw = BUF_INIT, section = BUF_INIT;
	unsigned char both[64];
	uint32_t check;
	buf_reserve(&raw, SSHKEY_SECRET_RESERVE);
	buf_reserve(&section, SSHKEY_SECRET_RESERVE);
	codec_random(&check, sizeof check);
	ssh_put_u32(&section, check);
	ssh_put_u32(&section, check);
	ssh_put_cstring(&section, "ssh-ed25519");
	ssh_put_string(&section, pub, 32);
	memcpy(both, seed, 32);
	memcpy(both + 32, pub, 32);
	ssh_put_string(&section, both, sizeof both);
	OPENSSL_cleanse(both, sizeof both);
	ssh_put_cstring(&section, comment);
	for (unsigned char pad = 1; section.len % 8; pad++)
		buf_append(&section, &pad, 1);
	buf_append(&raw, "openssh-key-v1", sizeof "openssh-key-v1"); /* with its NUL */
	ssh_put_cstring(&raw, "none");
	ssh_put_cstring(&raw, "none");
	ssh_put_string(&raw, "", 0);
	ssh_put_u32(&raw, 1);
	ssh_put_string(&raw, pub_blob->data, pub_blob->len);
	ssh_put_string(&raw, section.data, section.len);
	sshkey_armor(out, "OPENSSH PRIVATE KEY", &raw, 70);
	sshkey_private_release(&section);
	sshkey_private_release(&raw);
}

static int sshkey_create_ed25519(const char *format, const char *comment,
				 struct sshkey_public *pub, struct buf *private_key,
				 struct err *e)
{
	unsigned char seed[32], raw_pub[32];
	size_t seed_len = sizeof seed, pub_len = sizeof raw_pub;
	struct buf blob = BUF_INIT;
	int rc = -1;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey || !EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) ||
	    !EVP_PKEY_get_raw_public_key(pkey, raw_pub, &pub_len) || seed_len != 32 ||
	    pub_len != 32) {
		sshkey_crypto_error(e, "cannot make an Ed25519 key");
		goto out;
	}
	sshkey_ed25519_blob(raw_pub, &blob);
	snprintf(pub->key_type, sizeof pub->key_type, "ed25519");
	sshkey_sha256_base64(&blob, pub->fingerprint);
	if (sshkey_line("ssh-ed25519", &blob, comment, pub, e) < 0)
		goto out;
	if (!strcmp(format, "ppk")) {
		/* PuTTY keeps the seed as a little-endian integer: its
		 * encoding drops the most significant zero bytes. */
		struct buf priv = BUF_INIT;
		size_t len = sizeof seed;
		while (len > 0 && seed[len - 1] == 0)
			len--;
		buf_reserve(&priv, SSHKEY_SECRET_RESERVE);
		ssh_put_string(&priv, seed, len);
		rc = sshkey_ppk("ssh-ed25519", comment, &blob, &priv, private_key, e);
		sshkey_private_release(&priv);
		goto out;
	}
	sshkey_openssh_private(&blob, raw_pub, seed, comment, private_key);
	rc = 0;
out:
	OPENSSL_cleanse(seed, sizeof seed);
	buf_release(&blob);
	EVP_PKEY_free(pkey);
	return rc;
}

int sshkey_create(const char *key_type, const char *format, const char *comment,
		  struct sshkey_public *pub, struct buf *private_key, struct err *e)
{
	memset(pub, 0, sizeof *pub);
	buf_reserve(private_key, SSHKEY_SECRET_RESERVE);
	if (!strcmp(key_type, "ed25519"))
		return sshkey_create_ed25519(format, comment, pub, private_key, e);
	return sshkey_create_rsa(format, comment, pub, private_key, e);
}

/* ---- import --------------------------------------------------------------- */

/* The comment to keep: printable ASCII of at most 255 characters, or none. */
static void sshkey_comment(const char *text, size_t len, char *out, size_t cap)
{
	while (len && (*text == ' ' || *text == '\t'))
		text++, len--;
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	out[0] = '\0';
	if (len > SSHKEY_COMMENT_MAX || len >= cap)
		return;
	for (size_t i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			return;
	memcpy(out, text, len);
	out[len] = '\0';
}

static EVP_PKEY *sshkey_rsa_from_ne(const BIGNUM *n, const BIGNUM *e_bn)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int ready = bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e_bn) &&
		    (params = OSSL_PARAM_BLD_to_param(bld)) &&
		    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) &&
		    EVP_PKEY_fromdata_init(ctx) > 0;
	if (ready && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	ERR_clear_error();
	return pkey;
}

/*
 * An RSA public key EC2 takes: a modulus of 1024 to 16384 bits and an odd
 * exponent of at least 3 and at most 64 bits.  Fills pub from it.
 */
static int sshkey_import_rsa(const BIGNUM *n, const BIGNUM *e_bn, const char *comment,
			     struct sshkey_public *pub, struct err *e)
{
	int bits = BN_num_bits(n);
	if (bits < SSHKEY_RSA_MIN_BITS || bits > SSHKEY_RSA_MAX_BITS || !BN_is_odd(e_bn) ||
	    BN_is_one(e_bn) || BN_num_bits(e_bn) > 64)
		return sshkey_bad_format(e);
	EVP_PKEY *pkey = sshkey_rsa_from_ne(n, e_bn);
	if (!pkey)
		return sshkey_bad_format(e);
	struct buf blob = BUF_INIT;
	sshkey_rsa_blob(n, e_bn, &blob);
	snprintf(pub->key_type, sizeof pub->key_type, "rsa");
	int rc = sshkey_line("ssh-rsa", &blob, comment, pub, e) < 0 ||
			 sshkey_rsa_imported_fingerprint(pkey, pub->fingerprint, e) < 0 ?
		 -1 : 0;
	buf_release(&blob);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Reads an SSH public key blob of type expected_type ("ssh-rsa" or
 * "ssh-ed25519"; NULL: either). */
static int sshkey_import_blob(const unsigned char *blob, size_t len, const char *expected_type,
			      const char *comment, struct sshkey_public *pub, struct err *e)
{
	struct ssh_reader r = { blob, len };
	const unsigned char *type, *key;
	size_t type_len, key_len;
	if (ssh_get_string(&r, &type, &type_len) < 0)
		return sshkey_bad_format(e);
	int is_rsa = type_len == 7 && !memcmp(type, "ssh-rsa", 7);
	int is_ed25519 = type_len == 11 && !memcmp(type, "ssh-ed25519", 11);
	if ((!is_rsa && !is_ed25519) ||
	    (expected_type && strcmp(expected_type, is_rsa ? "ssh-rsa" : "ssh-ed25519")))
		return sshkey_bad_format(e);
	if (is_ed25519) {
		if (ssh_get_string(&r, &key, &key_len) < 0 || key_len != 32 || r.len)
			return sshkey_bad_format(e);
		struct buf canonical = BUF_INIT;
		sshkey_ed25519_blob(key, &canonical);
		snprintf(pub->key_type, sizeof pub->key_type, "ed25519");
		sshkey_sha256_base64(&canonical, pub->fingerprint);
		int rc = sshkey_line("ssh-ed25519", &canonical, comment, pub, e);
		buf_release(&canonical);
		return rc;
	}
	BIGNUM *e_bn = ssh_get_mpint(&r, 8);
	BIGNUM *n = ssh_get_mpint(&r, SSHKEY_RSA_MAX_BITS / 8);
	int rc = e_bn && n && !r.len ? sshkey_import_rsa(n, e_bn, comment, pub, e) :
				       sshkey_bad_format(e);
	BN_free(e_bn);
	BN_free(n);
	return rc;
}

/* Decodes base64 text, skipping white space; -1 if it is not base64. */
static int sshkey_unbase64(const char *text, size_t len, struct buf *out)
{
	struct buf compact = BUF_INIT;
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
			buf_append_char(&compact, text[i]);
	int rc = compact.len ? codec_unbase64(compact.data, compact.len, out) : -1;
	buf_release(&compact);
	return rc;
}

/* "ssh-rsa AAAA... comment": type, base64 blob, optional comment. */
static int sshkey_import_openssh(const char *text, const char *fallback_comment,
				 struct sshkey_public *pub, struct err *e)
{
	size_t type_len = strcspn(text, " \t");
	const char *b64 = text + type_len + strspn(text + type_len, " \t");
	size_t b64_len = strcspn(b64, " \t");
	const char *rest = b64 + b64_len;
	char type[16], comment[SSHKEY_COMMENT_MAX + 1];
	/* One key on one line: authorized_keys options or a second line are
	 * not a public key. */
	if (type_len == 0 || type_len >= sizeof type || b64_len == 0 || strpbrk(text, "\r\n"))
		return sshkey_bad_format(e);
	memcpy(type, text, type_len);
	type[type_len] = '\0';
	sshkey_comment(rest, strlen(rest), comment, sizeof comment);
	struct buf blob = BUF_INIT;
	int rc = codec_unbase64(b64, b64_len, &blob) < 0 ?
		 sshkey_bad_format(e) :
		 sshkey_import_blob((const unsigned char *)blob.data, blob.len, type,
				    *comment ? comment : fallback_comment, pub, e);
	buf_release(&blob);
	return rc;
}

/*
 * RFC 4716: the BEGIN line, headers ("Tag: value", a line ending in '\'
 * continued on the next), the base64 body, the END line.  Only the Comment
 * header is read.
 */
static int sshkey_import_rfc4716(char *text, const char *fallback_comment,
				 struct sshkey_public *pub, struct err *e)
{
	static const char begin[] = "---- BEGIN SSH2 PUBLIC KEY ----";
	static const char end[] = "---- END SSH2 PUBLIC KEY ----";
	char comment[SSHKEY_COMMENT_MAX + 1] = "";
	struct buf body = BUF_INIT, blob = BUF_INIT;
	int in_body = 0, continued = 0, ended = 0, rc = -1;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (ended) {
			if (len)
				goto bad;
		} else if (!strcmp(line, begin) && !in_body && !body.len && line == text) {
			continue;
		} else if (!strcmp(line, end)) {
			ended = 1;
		} else if (!in_body && (continued || strchr(line, ':'))) {
			int was_continued = continued;
			continued = len && line[len - 1] == '\\';
			char *colon = strchr(line, ':');
			if (!was_continued && colon && colon - line == 7 &&
			    !strncasecmp(line, "Comment", 7)) {
				char *value = colon + 1 + strspn(colon + 1, " ");
				size_t value_len = strlen(value) - (size_t)continued;
				if (value_len >= 2 && value[0] == '"' && value[value_len - 1] == '"')
					value++, value_len -= 2;
				sshkey_comment(value, value_len, comment, sizeof comment);
			}
		} else {
			in_body = 1;
			buf_append_str(&body, line);
		}
	}
	if (!ended || sshkey_unbase64(body.data ? body.data : "", body.len, &blob) < 0)
		goto bad;
	rc = sshkey_import_blob((const unsigned char *)blob.data, blob.len, "ssh-rsa",
				*comment ? comment : fallback_comment, pub, e);
	goto out;
bad:
	rc = sshkey_bad_format(e);
out:
	buf_release(&body);
	buf_release(&blob);
	return rc;
}

/* Base64 of a DER RSA public key: SubjectPublicKeyInfo or PKCS#1. */
static int sshkey_import_der(const char *text, const char *comment, struct sshkey_public *pub,
			     struct err *e)
{
	struct buf der = BUF_INIT;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e_bn = NULL;
	int rc;
	if (sshkey_unbase64(text, strlen(text), &der) == 0 && der.len) {
		const unsigned char *p = (const unsigned char *)der.data;
		pkey = d2i_PUBKEY(NULL, &p, (long)der.len);
		if (!pkey || p != (const unsigned char *)der.data + der.len) {
			EVP_PKEY_free(pkey);
			p = (const unsigned char *)der.data;
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)der.len);
			if (pkey && p != (const unsigned char *)der.data + der.len) {
				EVP_PKEY_free(pkey);
				pkey = NULL;
			}
		}
	}
	ERR_clear_error();
	if (pkey && EVP_PKEY_is_a(pkey, "RSA") &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e_bn))
		rc = sshkey_import_rsa(n, e_bn, comment, pub, e);
	else
		rc = sshkey_bad_format(e);
	ERR_clear_error();
	BN_free(n);
	BN_free(e_bn);
	EVP_PKEY_free(pkey);
	buf_release(&der);
	return rc;
}

int sshkey_import(const unsigned char *material, size_t len, const char *comment,
		  struct sshkey_public *pub, struct err *e)
{
	memset(pub, 0, sizeof *pub);
	if (len == 0 || len > SSHKEY_MATERIAL_MAX || memchr(material, '\0', len))
		return sshkey_bad_format(e);
	char *copy = xstrndup((const char *)material, len);
	char *text = copy + strspn(copy, " \t\r\n");
	size_t text_len = strlen(text);
	while (text_len && strchr(" \t\r\n", text[text_len - 1]))
		text[--text_len] = '\0';
	int rc;
	if (!strncmp(text, "---- BEGIN SSH2 PUBLIC KEY ----", 31))
		rc = sshkey_import_rfc4716(text, comment, pub, e);
	else if (text[strcspn(text, " \t")])
		rc = sshkey_import_openssh(text, comment, pub, e);
	else
		rc = sshkey_import_der(text, comment, pub, e);
	free(copy);
	return rc;
}
