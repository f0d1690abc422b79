/*
 * keys: the RSA side of AMI bundles, on OpenSSL.
 *
 * A bundle's AES key and IV travel as 32 lowercase hex characters,
 * RSA-encrypted (PKCS#1 v1.5) once for the user's certificate and once for
 * the cloud's; the manifest is signed with the user's private key (RSA,
 * PKCS#1 v1.5, SHA-1).  The cloud's own key pair (DIR/ec2-key.pem and
 * DIR/ec2-cert.pem) is made the first time a data directory needs it.
 */
#ifndef AMIBOX_BUNDLE_KEYS_H
#define AMIBOX_BUNDLE_KEYS_H

#include <openssl/evp.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The public key of a PEM certificate (file or text). */
EVP_PKEY *keys_cert_file(const char *path, struct err *e);
EVP_PKEY *keys_cert_text(const char *pem, size_t len, struct err *e);
/* A PEM private key (PKCS#1 or PKCS#8). */
EVP_PKEY *keys_private_file(const char *path, struct err *e);
/* The SHA-1 fingerprint of a PEM certificate's DER, as hex (41 bytes). */
int keys_cert_fingerprint(const char *pem, size_t len, char out[41], struct err *e);

/* Encrypts the 16 bytes as 32 hex characters for key; out gets hex ciphertext. */
int keys_encrypt_hex16(EVP_PKEY *key, const unsigned char in[16], struct buf *out,
		       struct err *e);
/*
 * Decrypts hex ciphertext with key into 16 bytes; the plaintext may be 32
 * hex characters (the format) or 16 raw bytes.  -1 with e otherwise.
 */
int keys_decrypt_hex16(EVP_PKEY *key, const char *hex, unsigned char out[16], struct err *e);
/* RSA-SHA1 signature of data, as hex. */
int keys_sign_sha1(EVP_PKEY *key, const void *data, size_t len, struct buf *out,
		   struct err *e);
/* 1 when hex is a good RSA-SHA1 signature of data by key, 0 when not. */
int keys_verify_sha1(EVP_PKEY *key, const void *data, size_t len, const char *hex);

/*
 * The cloud's key pair in dir, made on first use (key 0600).  The paths
 * are DIR/ec2-key.pem and DIR/ec2-cert.pem.
 */
int keys_cloud_ensure(const char *dir, struct err *e);
EVP_PKEY *keys_cloud_private(const char *dir, struct err *e);

#endif
