/*
 * ec2/keypairs.c: CreateKeyPair, ImportKeyPair, DescribeKeyPairs and
 * DeleteKeyPair.
 *
 * A key pair is a name, an ID, a type, a fingerprint and the public key
 * (catalog_keypairs.h); the keys and their encodings are src/ec2/sshkey.c.
 * CreateKeyPair answers with the private key once and keeps nothing of it:
 * the document that carries it is the response body, which the request log
 * never shows.  Key pairs are private to their account; another account's
 * key pair answers as a missing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/internal.h"
#include "api/filter.h"
#include "catalog/catalog_keypairs.h"
#include "ec2/sshkey.h"
#include "util/codec.h"
#include "util/ids.h"

_Static_assert(sizeof(((struct key_pair *)0)->public_key) == SSHKEY_OPENSSH_MAX,
	       "a key pair row holds sshkey's public key line");
_Static_assert(sizeof(((struct key_pair *)0)->fingerprint) == SSHKEY_FINGERPRINT_MAX,
	       "a key pair row holds sshkey's fingerprint");

int ec2_keypair_owned(struct ec2_ctx *ctx, const char *id, struct key_pair *k, struct err *e)
{
	int found = ids_valid_resource("key", id) ?
			    catalog_keypair_by_id(ctx->srv->cat, ctx->account, id, k, e) : 0;
	if (found < 0)
		return -1;
	if (!found)
		return err_set(e, 400, "InvalidKeyPair.NotFound",
			       "The key pair ID '%.64s' does not exist", id);
	return 0;
}

/* Up to 255 ASCII characters, printable, without leading or trailing spaces. */
static int keypair_check_name(const char *name, struct err *e)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] > 0x7e)
			return err_set(e, 400, "InvalidParameterValue",
				       "Character sets beyond ASCII are not supported.");
	if (len > KEY_PAIR_NAME_MAX - 1)
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s...) for parameter keyName is invalid. Length exceeds maximum of 255.",
			       name);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20)
			return err_set(e, 400, "InvalidParameterValue",
				       "Value for parameter keyName is invalid. Control characters are not allowed.");
	if (name[0] == ' ' || name[len - 1] == ' ')
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%s) for parameter keyName is invalid. Leading or trailing spaces are not allowed.",
			       name);
	return 0;
}

static int keypair_duplicate(struct ec2_ctx *ctx, const char *name, struct err *e)
{
	struct key_pair existing;
	int found = catalog_keypair_by_name(ctx->srv->cat, ctx->account, name, &existing, e);
	if (found > 0)
		return err_set(e, 400, "InvalidKeyPair.Duplicate",
			       "The keypair '%s' already exists.", name);
	return found;
}

/*
 * What Create and Import share: the name, the tags, and the refusal of a
 * name already taken (checked before a key is made, and again by the
 * insert, in case another request took it meanwhile).
 */
static int keypair_begin(struct ec2_ctx *ctx, struct key_pair *k, struct tag_list *tags,
			 struct err *e)
{
	memset(k, 0, sizeof *k);
	const char *name = ec2_require(ctx, "KeyName", e);
	if (!name || keypair_check_name(name, e) < 0 ||
	    ec2_tag_specifications(ctx, "key-pair", tags, e) < 0 ||
	    keypair_duplicate(ctx, name, e) < 0)
		return -1;
	snprintf(k->name, sizeof k->name, "%s", name);
	snprintf(k->owner_id, sizeof k->owner_id, "%s", ctx->account);
	ids_resource("key", k->id);
	k->create_ms = ids_now_ms();
	return 0;
}

/* Inserts the row and its tags in one transaction. */
static int keypair_store(struct ec2_ctx *ctx, const struct key_pair *k,
			 const struct tag_list *tags, struct err *e)
{
	struct catalog *cat = ctx->srv->cat;
	if (catalog_begin(cat, e) < 0)
		return -1;
	if (catalog_keypair_insert(cat, k, e) < 0)
		goto rollback;
	for (size_t i = 0; i < tags->count; i++)
		if (catalog_tag_set(cat, k->id, "key-pair", ctx->account, tags->items[i].key,
				    tags->items[i].value, e) < 0)
			goto rollback;
	return catalog_commit(cat, e);
rollback:
	catalog_rollback(cat);
	return -1;
}

/*
 * Stores the key pair with its public key and tags, and writes what both
 * actions answer; key_material (the private key) only for CreateKeyPair.
 */
static int keypair_commit(struct ec2_ctx *ctx, struct key_pair *k,
			  const struct sshkey_public *pub, const struct tag_list *tags,
			  const char *key_material, struct err *e)
{
	snprintf(k->key_type, sizeof k->key_type, "%s", pub->key_type);
	memcpy(k->fingerprint, pub->fingerprint, sizeof k->fingerprint);
	memcpy(k->public_key, pub->openssh, sizeof k->public_key);
	if (keypair_store(ctx, k, tags, e) < 0)
		return -1;
	xmlw_text(ctx->w, "keyName", k->name);
	xmlw_text(ctx->w, "keyFingerprint", k->fingerprint);
	if (key_material)
		xmlw_text(ctx->w, "keyMaterial", key_material);
	xmlw_text(ctx->w, "keyPairId", k->id);
	ec2_write_tags(ctx->w, tags);
	return 0;
}

static int keypair_choice(struct ec2_ctx *ctx, const char *param, const char *element,
			  const char *first, const char *second, const char **out,
			  struct err *e)
{
	const char *v = query_get(&ctx->q, param);
	*out = first;
	if (!v)
		return 0;
	if (strcmp(v, first) && strcmp(v, second))
		return err_set(e, 400, "InvalidParameterValue",
			       "Value (%.64s) for parameter %s is invalid. Valid values are: %s, %s",
			       v, element, first, second);
	*out = !strcmp(v, first) ? first : second;
	return 0;
}

int ec2_create_key_pair(struct ec2_ctx *ctx, struct err *e)
{
	struct key_pair k;
	struct tag_list tags = { NULL, 0 };
	struct sshkey_public pub;
	struct buf private_key = BUF_INIT;
	const char *key_type, *format;
	int ret = -1;
	if (keypair_begin(ctx, &k, &tags, e) < 0 ||
	    keypair_choice(ctx, "KeyType", "keyType", "rsa", "ed25519", &key_type, e) < 0 ||
	    keypair_choice(ctx, "KeyFormat", "keyFormat", "pem", "ppk", &format, e) < 0 ||
	    sshkey_create(key_type, format, k.name, &pub, &private_key, e) < 0 ||
	    keypair_commit(ctx, &k, &pub, &tags, private_key.data, e) < 0)
		goto out;
	ret = 0;
out:
	sshkey_private_release(&private_key);
	tag_list_release(&tags);
	return ret;
}

int ec2_import_key_pair(struct ec2_ctx *ctx, struct err *e)
{
	struct key_pair k;
	struct tag_list tags = { NULL, 0 };
	struct sshkey_public pub;
	struct buf material = BUF_INIT;
	int ret = -1;
	if (keypair_begin(ctx, &k, &tags, e) < 0)
		goto out;
	/* A blob parameter: base64 on the wire, whatever the key's own format. */
	const char *encoded = ec2_require(ctx, "PublicKeyMaterial", e);
	if (!encoded)
		goto out;
	if (strlen(encoded) > (SSHKEY_MATERIAL_MAX / 3 + 1) * 4 ||
	    codec_unbase64(encoded, strlen(encoded), &material) < 0) {
		err_set(e, 400, "InvalidKey.Format", "Key is not in valid OpenSSH public key format");
		goto out;
	}
	if (sshkey_import((const unsigned char *)buf_str(&material), material.len, k.name, &pub,
			  e) < 0 ||
	    keypair_commit(ctx, &k, &pub, &tags, NULL, e) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&material);
	tag_list_release(&tags);
	return ret;
}

/* ---- DescribeKeyPairs ----------------------------------------------------- */

struct describe_keypairs {
	struct ec2_ctx *ctx;
	struct err *e;
	const char **names, **ids;
	size_t nnames, nids;
	struct query_filter *filters;
	size_t nfilters;
	int include_public_key;
	int failed;
};

static const char *const keypair_filter_names[] = {
	"fingerprint", "key-name", "key-pair-id", "key-type", NULL,
};

static int keypair_named(const struct describe_keypairs *d, const struct key_pair *k)
{
	if (!d->nnames && !d->nids)
		return 1;
	for (size_t i = 0; i < d->nnames; i++)
		if (!strcmp(d->names[i], k->name))
			return 1;
	for (size_t i = 0; i < d->nids; i++)
		if (!strcmp(d->ids[i], k->id))
			return 1;
	return 0;
}

static int keypair_matches(const struct describe_keypairs *d, const struct key_pair *k,
			   const struct tag_list *tags)
{
	for (size_t i = 0; i < d->nfilters; i++) {
		const struct query_filter *f = &d->filters[i];
		const char *value = !strcmp(f->name, "fingerprint") ? k->fingerprint :
				    !strcmp(f->name, "key-name")    ? k->name :
				    !strcmp(f->name, "key-pair-id") ? k->id :
				    !strcmp(f->name, "key-type")    ? k->key_type :
								      NULL;
		int match = value ? filter_match_any(f->values, f->nvalues, value) :
				    ec2_tags_match(f, tags);
		if (!match)
			return 0;
	}
	return 1;
}

static int describe_keypair_visit(void *arg, const struct key_pair *k)
{
	struct describe_keypairs *d = arg;
	struct tag_list tags = { NULL, 0 };
	if (!keypair_named(d, k))
		return 0;
	if (catalog_tags_get(d->ctx->srv->cat, k->id, &tags, d->e) < 0) {
		d->failed = 1;
		return 1;
	}
	if (keypair_matches(d, k, &tags)) {
		struct xmlw *w = d->ctx->w;
		xmlw_start(w, "item");
		xmlw_text(w, "keyPairId", k->id);
		xmlw_text(w, "keyName", k->name);
		xmlw_text(w, "keyFingerprint", k->fingerprint);
		xmlw_text(w, "keyType", k->key_type);
		if (d->include_public_key)
			xmlw_text(w, "publicKey", k->public_key);
		xmlw_time(w, "createTime", k->create_ms);
		ec2_write_tags(w, &tags);
		xmlw_end(w);
	}
	tag_list_release(&tags);
	return 0;
}

/* Every key pair named by name or ID must exist: EC2 names the first missing. */
static int describe_keypairs_named(struct describe_keypairs *d, struct err *e)
{
	struct key_pair k;
	for (size_t i = 0; i < d->nnames; i++) {
		int found = catalog_keypair_by_name(d->ctx->srv->cat, d->ctx->account, d->names[i],
						    &k, e);
		if (found < 0)
			return -1;
		if (!found)
			return err_set(e, 400, "InvalidKeyPair.NotFound",
				       "The key pair '%.255s' does not exist", d->names[i]);
	}
	for (size_t i = 0; i < d->nids; i++)
		if (ec2_keypair_owned(d->ctx, d->ids[i], &k, e) < 0)
			return -1;
	return 0;
}

int ec2_describe_key_pairs(struct ec2_ctx *ctx, struct err *e)
{
	struct describe_keypairs d = { .ctx = ctx, .e = e };
	int ret = -1;
	d.nnames = query_list(&ctx->q, "KeyName", &d.names);
	d.nids = query_list(&ctx->q, "KeyPairId", &d.ids);
	if (query_get_bool(&ctx->q, "IncludePublicKey", &d.include_public_key, e) < 0 ||
	    query_filters(&ctx->q, &d.filters, &d.nfilters, e) < 0)
		goto out;
	for (size_t i = 0; i < d.nfilters; i++) {
		int known = ec2_is_tag_filter(d.filters[i].name);
		for (const char *const *p = keypair_filter_names; !known && *p; p++)
			known = !strcmp(d.filters[i].name, *p);
		if (!known) {
			err_set(e, 400, "InvalidParameterValue", "The filter '%.64s' is invalid",
				d.filters[i].name);
			goto out;
		}
	}
	if (describe_keypairs_named(&d, e) < 0)
		goto out;
	xmlw_start(ctx->w, "keySet");
	if (catalog_keypair_each(ctx->srv->cat, ctx->account, describe_keypair_visit, &d, e) < 0)
		d.failed = 1;
	xmlw_end(ctx->w);
	ret = d.failed ? -1 : 0;
out:
	free(d.names);
	free(d.ids);
	query_filters_free(d.filters, d.nfilters);
	return ret;
}

/* ---- DeleteKeyPair -------------------------------------------------------- */

/*
 * By KeyPairId when given, else by KeyName.  A key pair that does not exist
 * is no error: EC2 answers true (without a keyPairId) for it.
 */
int ec2_delete_key_pair(struct ec2_ctx *ctx, struct err *e)
{
	const char *id = query_get(&ctx->q, "KeyPairId");
	const char *name = query_get(&ctx->q, "KeyName");
	struct catalog *cat = ctx->srv->cat;
	struct key_pair k;
	if ((!id || !*id) && (!name || !*name))
		return err_set(e, 400, "MissingParameter",
			       "The request must contain the parameter KeyName or KeyPairId");
	if (catalog_begin(cat, e) < 0)
		return -1;
	int found = id && *id ? catalog_keypair_by_id(cat, ctx->account, id, &k, e) :
				catalog_keypair_by_name(cat, ctx->account, name, &k, e);
	if (found < 0 || (found && catalog_keypair_delete(cat, k.id, e) < 0)) {
		catalog_rollback(cat);
		return -1;
	}
	if (catalog_commit(cat, e) < 0)
		return -1;
	ec2_return_true(ctx);
	if (found)
		xmlw_text(ctx->w, "keyPairId", k.id);
	return 0;
}
