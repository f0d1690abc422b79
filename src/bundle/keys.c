/* keys: RSA for AMI bundles (see keys.h). */
#include "bundle/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"

static EVP_PKEY *cert_from_bio(BIO *bio, const char *what, struct err *e)
{
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = x ? X509_get_pubkey(x) : NULL;
	X509_free(x);
	BIO_free(bio);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		err_set(e, 400, "MalformedCertificate", "%s is not a PEM X.509 certificate with an RSA key",
			what);
		return NULL;
	}
	return key;
}

EVP_PKEY *keys_cert_file(const char *path, struct err *e)
{
	return cert_from_bio(BIO_new_file(path, "r"), path, e);
}

EVP_PKEY *keys_cert_text(const char *pem, size_t len, struct err *e)
{
	return cert_from_bio(BIO_new_mem_buf(pem, (int)len), "the certificate", e);
}

EVP_PKEY *keys_private_file(const char *path, struct err *e)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		err_invalid(e, "%s is not a PEM RSA private key", path);
		return NULL;
	}
	return key;
}

int keys_cert_fingerprint(const char *pem, size_t len, char out[41], struct err *e)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	unsigned char md[20];
	unsigned int n = 0;
	int ok = x && X509_digest(x, EVP_sha1(), md, &n) == 1 && n == 20;
	X509_free(x);
	if (!ok)
		return err_set(e, 400, "MalformedCertificate", "The certificate is not valid PEM.");
	codec_hex(md, 20, out);
	return 0;
}

int keys_encrypt_hex16(EVP_PKEY *key, const unsigned char in[16], struct buf *out,
		       struct err *e)
{
	char hex[33];
	codec_hex(in, 16, hex);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t n = 0;
	unsigned char *cipher = NULL;
	int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		 EVP_PKEY_encrypt(ctx, NULL, &n, (unsigned char *)hex, 32) == 1;
	if (ok) {
		cipher = xmalloc(n);
		ok = EVP_PKEY_encrypt(ctx, cipher, &n, (unsigned char *)hex, 32) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	if (ok) {
		char *text = xmalloc(2 * n + 1);
		codec_hex(cipher, n, text);
		buf_append_str(out, text);
		free(text);
	}
	free(cipher);
	return ok ? 0 : err_internal(e, "RSA encryption failed");
}

int keys_decrypt_hex16(EVP_PKEY *key, const char *hex, unsigned char out[16], struct err *e)
{
	size_t len = strlen(hex);
	if (len == 0 || len % 2 || len > 8192)
		return err_invalid(e, "the encrypted key is not hex");
	unsigned char *cipher = xmalloc(len / 2);
	unsigned char *plain = NULL;
	int ok = codec_unhex(hex, cipher, len / 2) == 0;
	size_t n = 0;
	EVP_PKEY_CTX *ctx = ok ? EVP_PKEY_CTX_new(key, NULL) : NULL;
	ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_decrypt(ctx, NULL, &n, cipher, len / 2) == 1;
	if (ok) {
		plain = xmalloc(n);
		ok = EVP_PKEY_decrypt(ctx, plain, &n, cipher, len / 2) == 1;
	}
	EVP_PKEY_CTX_free(ctx);
	if (ok && n == 32) {
		char text[33];
		memcpy(text, plain, 32);
		text[32] = '\0';
		ok = codec_unhex(text, out, 16) == 0;
	} else if (ok && n == 16) {
		memcpy(out, plain, 16);
	} else {
		ok = 0;
	}
	free(cipher);
	free(plain);
	return ok ? 0 : err_invalid(e, "the key cannot decrypt the bundle's key");
}

int keys_sign_sha1(EVP_PKEY *key, const void *data, size_t len, struct buf *out,
		   struct err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = 0;
	unsigned char *sig = NULL;
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha1(), NULL, key) == 1 &&
		 EVP_DigestSign(ctx, NULL, &n, data, len) == 1;
	if (ok) {
		sig = xmalloc(n);
		ok = EVP_DigestSign(ctx, sig, &n, data, len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	if (ok) {
		char *text = xmalloc(2 * n + 1);
		codec_hex(sig, n, text);
		buf_append_str(out, text);
		free(text);
	}
	free(sig);
	return ok ? 0 : err_internal(e, "signing the manifest failed");
}

int keys_verify_sha1(EVP_PKEY *key, const void *data, size_t len, const char *hex)
{
	size_t hlen = strlen(hex);
	if (hlen == 0 || hlen % 2 || hlen > 8192)
		return 0;
	unsigned char *sig = xmalloc(hlen / 2);
	int ok = codec_unhex(hex, sig, hlen / 2) == 0;
	EVP_MD_CTX *ctx = ok ? EVP_MD_CTX_new() : NULL;
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha1(), NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, sig, hlen / 2, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok;
}

/* ---- the cloud's key pair ----------------------------------------------- */

static int write_pem(const char *path, int is_key, EVP_PKEY *key, X509 *cert)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, is_key ? 0600 : 0644);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	int ok = is_key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 :
			  PEM_write_X509(f, cert) == 1;
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int keys_cloud_ensure(const char *dir, struct err *e)
{
	char key_path[4096], cert_path[4096];
	snprintf(key_path, sizeof key_path, "%s/ec2-key.pem", dir);
	snprintf(cert_path, sizeof cert_path, "%s/ec2-cert.pem", dir);
	if (access(key_path, R_OK) == 0 && access(cert_path, R_OK) == 0)
		return 0;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	int ok = key && x;
	if (ok) {
		unsigned char serial[8];
		codec_random(serial, sizeof serial);
		serial[0] &= 0x7f;
		BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
		ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
		BN_free(bn);
		X509_NAME *name = X509_get_subject_name(x);
		ok = ok && X509_set_version(x, 2) == 1 &&
		     X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
		     X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 24 * 3600) != NULL &&
		     X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
						(const unsigned char *)"amibox", -1, -1, 0) == 1 &&
		     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						(const unsigned char *)"amibox ec2 bundle key", -1,
						-1, 0) == 1 &&
		     X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1 &&
		     X509_sign(x, key, EVP_sha256()) > 0;
	}
	/* The key first: a certificate without its key would be useless. */
	ok = ok && write_pem(key_path, 1, key, NULL) == 0 && write_pem(cert_path, 0, NULL, x) == 0;
	EVP_PKEY_free(key);
	X509_free(x);
	if (!ok)
		return err_internal(e, "cannot create the cloud's bundle key in %s: %s", dir,
				    strerror(errno));
	return 0;
}

EVP_PKEY *keys_cloud_private(const char *dir, struct err *e)
{
	char key_path[4096];
	if (keys_cloud_ensure(dir, e) < 0)
		return NULL;
	snprintf(key_path, sizeof key_path, "%s/ec2-key.pem", dir);
	return keys_private_file(key_path, e);
}
