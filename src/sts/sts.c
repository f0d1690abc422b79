/*
 * sts: GetCallerIdentity (see sts.h).
 *
 * Which actions: the ordinary flows of the tools amibox serves call only
 * GetCallerIdentity on STS.  Terraform's AWS provider 5.x (aws-sdk-go-base
 * v2) calls it to validate credentials and to learn the account ID, and
 * calls AssumeRole only when an assume_role block is configured.  Packer
 * 1.6.6 calls no STS action unless assume_role or
 * decode_authorization_messages is set (and then at AWS's own endpoint: it
 * has no setting for another).  Ansible's amazon.aws calls it to learn the
 * account (ec2_security_group, aws_caller_info).  So amibox has no session
 * credentials to hand out, and GetSessionToken / AssumeRole stay unserved
 * (InvalidAction) rather than answered with credentials that mean nothing.
 */
#include "sts/sts.h"

#include <stdio.h>
#include <string.h>

#include "api/awsquery.h"
#include "util/codec.h"

#define STS_NAMESPACE "https://sts.amazonaws.com/doc/2011-06-15/"

void sts_identity(const struct account *a, char arn[STS_ARN_MAX],
		  char user_id[STS_USER_ID_MAX])
{
	/* IAM's unique IDs are a type prefix and base-32 characters; a hash
	 * of the account ID keeps this one the same wherever it is asked. */
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	char seed[64];
	unsigned char digest[SHA256_LEN];
	int n = snprintf(seed, sizeof seed, "amibox-user:%s", a->id);
	codec_sha256(seed, (size_t)n, digest);
	memcpy(user_id, "AIDA", 4);
	for (int i = 0; i < 17; i++)
		user_id[4 + i] = alphabet[digest[i] & 31];
	user_id[21] = '\0';
	snprintf(arn, STS_ARN_MAX, "arn:aws:iam::%s:user/%s", a->id, a->name);
}

static int sts_get_caller_identity(struct awsquery_call *call, struct err *e)
{
	(void)e;
	char arn[STS_ARN_MAX], user_id[STS_USER_ID_MAX];
	sts_identity(&call->req->account, arn, user_id);
	xmlw_text(call->w, "Arn", arn);
	xmlw_text(call->w, "UserId", user_id);
	xmlw_text(call->w, "Account", call->req->account.id);
	return 0;
}

static const struct awsquery_action sts_actions[] = {
	{ "GetCallerIdentity", sts_get_caller_identity, 1 },
};

static const struct awsquery_service sts_query = {
	.name_space = STS_NAMESPACE,
	.version = "2011-06-15",
	.actions = sts_actions,
	.nactions = sizeof sts_actions / sizeof sts_actions[0],
};

/*
 * STS names an unknown access key InvalidClientTokenId (403), where the
 * front, answering for every service, says AuthFailure.
 */
static void sts_error_response(struct request *req, const struct err *e)
{
	struct err sts_e = *e;
	if (!strcmp(e->code, "AuthFailure")) {
		err_clear(&sts_e);
		err_set(&sts_e, 403, "InvalidClientTokenId",
			"The security token included in the request is invalid.");
	}
	awsquery_error(req, &sts_e, STS_NAMESPACE);
}

static void sts_handle(struct request *req)
{
	awsquery_handle(req, &sts_query);
}

static enum api_claim sts_claim(const struct api_route *route)
{
	return !strcmp(route->path, "/") && !strcmp(route->scope_service, "sts") ?
		       API_CLAIM_FULL : API_CLAIM_NONE;
}

/* Global, as IAM: clients sign for us-east-1 as well as for the region. */
const struct api_service sts_service = {
	.name = "sts",
	.global = 1,
	.claim = sts_claim,
	.error_response = sts_error_response,
	.handle = sts_handle,
};
