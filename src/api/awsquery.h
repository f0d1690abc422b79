/*
 * awsquery: the envelope of the AWS Query services that answer in the
 * "ErrorResponse" style (IAM, STS), shared so that each service is its
 * table of actions and nothing else.  EC2 speaks the same Query protocol
 * with an envelope of its own (src/ec2/ec2.c).
 *
 * A success is <ActionResponse xmlns=NS> with, for an action that has a
 * result, <ActionResult>...</ActionResult>, then <ResponseMetadata> with the
 * request ID.  An error is <ErrorResponse xmlns=NS><Error><Type>Sender or
 * Receiver</Type><Code/><Message/></Error><RequestId/></ErrorResponse> with
 * the error's HTTP status.
 */
#ifndef AMIBOX_API_AWSQUERY_H
#define AMIBOX_API_AWSQUERY_H

#include <stddef.h>

#include "api/api.h"
#include "api/query.h"
#include "api/xmlw.h"

/* What an action sees: the request, its parameters, the document. */
struct awsquery_call {
	struct request *req;
	struct query q;
	struct xmlw *w; /* positioned inside <ActionResult> when the action has one */
};

struct awsquery_action {
	const char *name;
	/* Writes the result's elements into call->w; -1 with e set on failure. */
	int (*fn)(struct awsquery_call *call, struct err *e);
	int has_result;
};

struct awsquery_service {
	const char *name_space; /* e.g. "https://sts.amazonaws.com/doc/2011-06-15/" */
	const char *version;    /* the API version, for InvalidAction's message */
	const struct awsquery_action *actions;
	size_t nactions;
};

/*
 * Parses the request's parameters (form body, else query string), runs the
 * action Action names and fills req's response, or the error document.
 */
void awsquery_handle(struct request *req, const struct awsquery_service *svc);
/* Writes e as the service's ErrorResponse document into req. */
void awsquery_error(struct request *req, const struct err *e, const char *name_space);

#endif
