/* awsquery: the IAM/STS style Query envelope (see awsquery.h). */
#include "api/awsquery.h"

#include <stdio.h>
#include <string.h>

void awsquery_error(struct request *req, const struct err *e, const char *name_space)
{
	api_note_error(req, e);
	struct xmlw *w = xmlw_new_ns("ErrorResponse", name_space);
	xmlw_start(w, "Error");
	xmlw_text(w, "Type", e->status >= 500 ? "Receiver" : "Sender");
	xmlw_text(w, "Code", e->code);
	xmlw_text(w, "Message", e->message);
	xmlw_end(w);
	xmlw_text(w, "RequestId", req->request_id);
	buf_reset(&req->response);
	xmlw_finish(w, &req->response);
	req->status = e->status ? e->status : 500;
	req->content_type = "text/xml";
}

static const struct awsquery_action *awsquery_find(const struct awsquery_service *svc,
						   const char *name)
{
	for (size_t i = 0; name && i < svc->nactions; i++)
		if (!strcmp(name, svc->actions[i].name))
			return &svc->actions[i];
	return NULL;
}

void awsquery_handle(struct request *req, const struct awsquery_service *svc)
{
	struct awsquery_call call = { .req = req };
	struct err e = ERR_INIT;
	const char *params = req->body_len ? req->body : req->query;
	size_t len = req->body_len ? req->body_len : strlen(req->query);
	if (query_parse(params, len, &call.q, &e) < 0)
		goto fail;
	const char *name = query_get(&call.q, "Action");
	const struct awsquery_action *action = awsquery_find(svc, name);
	if (!action) {
		err_set(&e, 400, "InvalidAction", "Could not find operation %.64s for version %s",
			name ? name : "(none)", svc->version);
		goto fail;
	}
	snprintf(req->action, sizeof req->action, "%s", action->name);
	char element[96];
	snprintf(element, sizeof element, "%sResponse", action->name);
	call.w = xmlw_new_ns(element, svc->name_space);
	if (action->has_result) {
		snprintf(element, sizeof element, "%sResult", action->name);
		xmlw_start(call.w, element);
	}
	if (action->fn(&call, &e) < 0)
		goto fail;
	if (action->has_result)
		xmlw_end(call.w);
	xmlw_start(call.w, "ResponseMetadata");
	xmlw_text(call.w, "RequestId", req->request_id);
	xmlw_end(call.w);
	xmlw_finish(call.w, &req->response);
	req->status = 200;
	req->content_type = "text/xml";
	query_release(&call.q);
	return;
fail:
	xmlw_free(call.w);
	query_release(&call.q);
	if (!err_is_set(&e))
		err_internal(&e, "the action failed without saying why");
	awsquery_error(req, &e, svc->name_space);
}
