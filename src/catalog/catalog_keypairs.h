/*
 * catalog_keypairs: EC2 key pairs, the public half only (EC2 never keeps a
 * private key).  A key pair belongs to one account; its name is unique in
 * that account, its ID ("key-" and 17 hex digits) everywhere.  Tags are
 * rows of the shared tags table with resource type "key-pair", deleted
 * with the key pair.
 *
 * Lookups return 1 when found, 0 when not, -1 on error (500 InternalError).
 * Writes run inside the caller's catalog_begin .. catalog_commit.
 */
#ifndef AMIBOX_CATALOG_KEYPAIRS_H
#define AMIBOX_CATALOG_KEYPAIRS_H

#include "catalog/catalog.h"
#include "util/ids.h"

#define KEY_PAIR_NAME_MAX 256   /* 255 ASCII characters and the NUL */
#define KEY_PAIR_PUBLIC_MAX 4096
#define KEY_PAIR_FINGERPRINT_MAX 64

struct key_pair {
	char id[ID_MAX];               /* key-0123456789abcdef0 */
	char owner_id[13];
	char name[KEY_PAIR_NAME_MAX];
	char key_type[16];             /* rsa, ed25519 */
	char fingerprint[KEY_PAIR_FINGERPRINT_MAX];
	/* OpenSSH's one-line form, "ssh-rsa AAAA... comment": what goes into
	 * an instance's authorized_keys (public-keys/0/openssh-key). */
	char public_key[KEY_PAIR_PUBLIC_MAX];
	long long create_ms;           /* created or imported */
};

/*
 * In a transaction.  A name the owner already uses is 400
 * InvalidKeyPair.Duplicate.
 */
int catalog_keypair_insert(struct catalog *c, const struct key_pair *k, struct err *e);
/* The owner's key pair of that name. */
int catalog_keypair_by_name(struct catalog *c, const char *owner_id, const char *name,
			    struct key_pair *out, struct err *e);
/* The owner's key pair of that ID (another account's answers 0). */
int catalog_keypair_by_id(struct catalog *c, const char *owner_id, const char *id,
			  struct key_pair *out, struct err *e);
/* In a transaction: deletes the key pair and its tags. */
int catalog_keypair_delete(struct catalog *c, const char *id, struct err *e);
/* Calls fn for each of the owner's key pairs in name order; stops when fn
 * returns non-zero. */
int catalog_keypair_each(struct catalog *c, const char *owner_id,
			 int (*fn)(void *ctx, const struct key_pair *k), void *ctx,
			 struct err *e);

#endif
