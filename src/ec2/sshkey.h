/*
 * sshkey: the SSH keys of EC2 key pairs, on OpenSSL's libcrypto: making a
 * key pair (RSA 2048 or Ed25519) with its private key in the formats EC2
 * hands out, reading the public keys EC2 accepts for import, and the
 * fingerprints EC2 shows for each.
 *
 * What EC2 does, and so what this does:
 *  - CreateKeyPair's private key: RSA as PKCS#1 PEM ("BEGIN RSA PRIVATE
 *    KEY"), Ed25519 as OpenSSH's own format ("BEGIN OPENSSH PRIVATE KEY"),
 *    either as a PuTTY key file (format version 2, unencrypted, its MAC as
 *    PuTTY computes it).  The private key is returned, never kept.
 *  - ImportKeyPair's material: an OpenSSH public key line ("ssh-rsa AAAA...
 *    comment", "ssh-ed25519 ..."), and for RSA also an RFC 4716 SSH2 public
 *    key file or base64 of a DER public key (SubjectPublicKeyInfo or PKCS#1
 *    RSAPublicKey).  RSA moduli from 1024 to 16384 bits.  Other key types
 *    (ECDSA, DSA, security keys) are refused, as EC2 refuses them:
 *    400 InvalidKey.Format.
 *  - Fingerprints: an RSA key EC2 made, SHA-1 of the private key's DER
 *    PKCS#8 encoding; an imported RSA key, MD5 of the public key's DER
 *    SubjectPublicKeyInfo (both colon-separated lowercase hex, as `openssl
 *    pkcs8 ... | openssl sha1 -c` and `openssl pkey -pubout -outform DER |
 *    openssl md5 -c` print them); Ed25519, made or imported, base64 of the
 *    SHA-256 of the SSH public key blob, with its '=' padding (ssh-keygen
 *    shows the same digest as "SHA256:" and the text without padding).
 *
 * The public key is kept in OpenSSH's one-line form, "type base64 comment",
 * the comment being the key pair's name unless the imported key had one.
 */
#ifndef AMIBOX_EC2_SSHKEY_H
#define AMIBOX_EC2_SSHKEY_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define SSHKEY_OPENSSH_MAX 4096   /* the one-line public key, NUL included */
#define SSHKEY_FINGERPRINT_MAX 64
#define SSHKEY_MATERIAL_MAX 16384 /* imported material, decoded */

struct sshkey_public {
	char key_type[16];                      /* EC2's KeyType: "rsa", "ed25519" */
	char openssh[SSHKEY_OPENSSH_MAX];       /* "ssh-rsa AAAA... comment" */
	char fingerprint[SSHKEY_FINGERPRINT_MAX];
};

/*
 * Makes a key pair of key_type ("rsa": 2048 bits, "ed25519") and appends
 * its private key in format ("pem" or "ppk") to private_key; comment (the
 * key pair's name) goes into the public key line and the key files.  The
 * caller wipes and frees private_key with sshkey_private_release.
 * 500 InternalError if libcrypto fails.
 */
int sshkey_create(const char *key_type, const char *format, const char *comment,
		  struct sshkey_public *pub, struct buf *private_key, struct err *e);
/* Overwrites the private key's bytes, then frees them. */
void sshkey_private_release(struct buf *private_key);

/*
 * Reads imported public key material (len bytes, at most
 * SSHKEY_MATERIAL_MAX; any bytes) into pub; comment is used when the
 * material names none.  400 InvalidKey.Format when it is not a key EC2
 * takes.
 */
int sshkey_import(const unsigned char *material, size_t len, const char *comment,
		  struct sshkey_public *pub, struct err *e);

#endif
