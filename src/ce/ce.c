/*
 * ce: the Cost Explorer service (see ce.h): the JSON 1.1 envelope, what
 * its actions share (time periods, filters, amounts) and paging tokens.
 *
 * The wire contract is botocore's data/ce/2017-10-25/service-2.json: a
 * POST to / with X-Amz-Target AWSInsightsIndexService.<Action> and a JSON
 * body; answers are JSON with Content-Type application/x-amz-json-1.1;
 * errors carry their code in x-amzn-ErrorType and in the body's __type.
 */
#include "ce/ce.h"
#include "ce/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metering/prices.h"
#include "util/codec.h"
#include "util/ids.h"

#define CE_TARGET_PREFIX "AWSInsightsIndexService."
#define CE_CONTENT_TYPE "application/x-amz-json-1.1"
#define CE_FILTER_DEPTH 16
#define CE_FILTER_VALUES 1000

/* ---- the envelope ------------------------------------------------------------ */

static void ce_error_response(struct request *req, const struct err *e)
{
	/* The front answers for every service; JSON services name these so. */
	static const struct {
		const char *front, *code;
		int status;
	} renamed[] = {
		{ "AuthFailure", "UnrecognizedClientException", 403 },
		{ "SignatureDoesNotMatch", "InvalidSignatureException", 403 },
		{ "InvalidAction", "UnknownOperationException", 400 },
	};
	struct err ce_e = *e;
	for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++) {
		if (!strcmp(e->code, renamed[i].front)) {
			snprintf(ce_e.code, sizeof ce_e.code, "%s", renamed[i].code);
			ce_e.status = renamed[i].status;
		}
	}
	if (!strcmp(e->code, "AuthFailure"))
		snprintf(ce_e.message, sizeof ce_e.message,
			 "The security token included in the request is invalid.");
	if (e->status == 413)
		snprintf(ce_e.code, sizeof ce_e.code, "ValidationException");
	api_note_error(req, &ce_e);
	const char *type = ce_e.code[0] ? ce_e.code : "InternalServerException";
	json_t *body = json_pack("{s:s, s:s}", "__type", type, "Message", ce_e.message);
	char *text = json_dumps(body, JSON_COMPACT);
	buf_reset(&req->response);
	buf_append_str(&req->response, text);
	free(text);
	json_decref(body);
	req->status = ce_e.status ? ce_e.status : 500;
	req->content_type = CE_CONTENT_TYPE;
	req->raw_body = NULL;
	api_add_header(req, "x-amzn-ErrorType", type);
}

static const struct {
	const char *name;
	int (*fn)(struct ce_call *call, json_t **out, struct err *e);
} ce_actions[] = {
	{ "GetCostAndUsage", ce_get_cost_and_usage },
	{ "GetDimensionValues", ce_get_dimension_values },
};

static int ce_run(struct ce_call *call, json_t **out, struct err *e)
{
	struct request *req = call->req;
	const char *target = req->header(req, "X-Amz-Target");
	if (strcmp(req->method, "POST") != 0)
		return err_set(e, 400, "UnknownOperationException",
			       "Cost Explorer takes POST requests with an X-Amz-Target header.");
	if (!target || strncmp(target, CE_TARGET_PREFIX, strlen(CE_TARGET_PREFIX)) != 0)
		return err_set(e, 400, "UnknownOperationException",
			       "The X-Amz-Target header must name an AWSInsightsIndexService action.");
	const char *action = target + strlen(CE_TARGET_PREFIX);
	size_t i = 0;
	for (; i < sizeof ce_actions / sizeof ce_actions[0]; i++)
		if (!strcmp(ce_actions[i].name, action))
			break;
	if (i == sizeof ce_actions / sizeof ce_actions[0])
		return err_set(e, 400, "UnknownOperationException",
			       "The action %.64s is not valid for this web service.", action);
	call->action = ce_actions[i].name;
	snprintf(req->action, sizeof req->action, "%s", call->action);
	json_error_t jerr;
	call->body = req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : json_object();
	if (!json_is_object(call->body))
		return err_set(e, 400, "SerializationException",
			       "The request body must be a JSON object.");
	if (metering_prices_current(req->srv->cat, &call->prices, e) < 0)
		return -1;
	return ce_actions[i].fn(call, out, e);
}

static void ce_handle(struct request *req)
{
	struct err e = ERR_INIT;
	struct ce_call call = { req, NULL, NULL, NULL };
	json_t *result = NULL;
	if (ce_run(&call, &result, &e) < 0) {
		ce_error_response(req, &e);
	} else {
		char *text = json_dumps(result, JSON_COMPACT);
		buf_append_str(&req->response, text);
		free(text);
		req->status = 200;
		req->content_type = CE_CONTENT_TYPE;
	}
	json_decref(result);
	json_decref(call.body);
	metering_prices_free(call.prices);
}

static enum api_claim ce_claim(const struct api_route *route)
{
	return !strcmp(route->path, "/") && !strcmp(route->scope_service, "ce") ?
		       API_CLAIM_FULL : API_CLAIM_NONE;
}

/* Global, as IAM and STS: clients sign for us-east-1 as well as for the region. */
const struct api_service ce_service = {
	.name = "ce",
	.global = 1,
	.claim = ce_claim,
	.error_response = ce_error_response,
	.handle = ce_handle,
};

/* ---- what the actions share ------------------------------------------------- */

/* "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ" into ms; *with_time for the second. */
static int ce_date(json_t *v, const char *name, long long *ms, int *with_time, struct err *e)
{
	const char *s = json_string_value(v);
	static const char date[] = "dddd-dd-dd", hour[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t len = s ? strlen(s) : 0;
	const char *shape = len == 10 ? date : len == 20 ? hour : NULL;
	for (size_t i = 0; shape && i < len; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			shape = NULL;
	if (!shape || ids_parse_iso_time(s, ms) < 0)
		return err_set(e, 400, "ValidationException",
			       "%s must be a date, YYYY-MM-DD, or a time, YYYY-MM-DDThh:mm:ssZ.", name);
	*with_time = shape == hour;
	return 0;
}

int ce_time_period(json_t *body, struct metering_query *q, int *hourly_format, struct err *e)
{
	json_t *period = json_object_get(body, "TimePeriod");
	int start_time, end_time;
	if (!json_is_object(period))
		return err_set(e, 400, "ValidationException", "TimePeriod is required.");
	if (ce_date(json_object_get(period, "Start"), "TimePeriod.Start", &q->start_ms,
		    &start_time, e) < 0 ||
	    ce_date(json_object_get(period, "End"), "TimePeriod.End", &q->end_ms, &end_time, e) < 0)
		return -1;
	if (q->start_ms >= q->end_ms)
		return err_set(e, 400, "ValidationException",
			       "Start date (and hour) should be before end date (and hour)");
	/* Nothing has been used yet in a period that begins after today. */
	long long today_end = ids_now_ms() / 86400000LL * 86400000LL + 86400000LL;
	if (q->start_ms >= today_end)
		return err_set(e, 400, "DataUnavailableException",
			       "No usage data is available for a period that begins in the future.");
	*hourly_format = start_time || end_time;
	return 0;
}

static int ce_match_options(json_t *options, unsigned *match, struct err *e)
{
	size_t i;
	json_t *o;
	*match = METERING_MATCH_EQUALS;
	if (!options)
		return 0;
	if (!json_is_array(options))
		return err_set(e, 400, "ValidationException", "MatchOptions must be a list.");
	json_array_foreach(options, i, o) {
		const char *name = json_string_value(o);
		static const struct {
			const char *name;
			unsigned flag;
		} known[] = {
			{ "EQUALS", METERING_MATCH_EQUALS }, { "ABSENT", METERING_MATCH_ABSENT },
			{ "STARTS_WITH", METERING_MATCH_STARTS_WITH },
			{ "ENDS_WITH", METERING_MATCH_ENDS_WITH }, { "CONTAINS", METERING_MATCH_CONTAINS },
			{ "CASE_SENSITIVE", 0 }, { "CASE_INSENSITIVE", METERING_MATCH_CASE_INSENSITIVE },
		};
		size_t k = 0;
		for (; name && k < sizeof known / sizeof known[0]; k++)
			if (!strcmp(known[k].name, name))
				break;
		if (!name || k == sizeof known / sizeof known[0])
			return err_set(e, 400, "ValidationException",
				       "MatchOptions value %.32s is not supported here.",
				       name ? name : "(not a string)");
		*match |= known[k].flag;
	}
	return 0;
}

/* Every Dimension value of the model; those amibox records are metering_dimension_parse's. */
int ce_dimension_known(const char *name)
{
	static const char *const model[] = {
		"AZ", "INSTANCE_TYPE", "LINKED_ACCOUNT", "PAYER_ACCOUNT", "LINKED_ACCOUNT_NAME",
		"OPERATION", "PURCHASE_TYPE", "REGION", "SERVICE", "SERVICE_CODE", "USAGE_TYPE",
		"USAGE_TYPE_GROUP", "RECORD_TYPE", "OPERATING_SYSTEM", "TENANCY", "SCOPE",
		"PLATFORM", "SUBSCRIPTION_ID", "LEGAL_ENTITY_NAME", "DEPLOYMENT_OPTION",
		"DATABASE_ENGINE", "CACHE_ENGINE", "INSTANCE_TYPE_FAMILY", "BILLING_ENTITY",
		"RESERVATION_ID", "RESOURCE_ID", "RIGHTSIZING_TYPE", "SAVINGS_PLANS_TYPE",
		"SAVINGS_PLAN_ARN", "PAYMENT_OPTION", "AGREEMENT_END_DATE_TIME_AFTER",
		"AGREEMENT_END_DATE_TIME_BEFORE", "INVOICING_ENTITY", "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
		"ANOMALY_TOTAL_IMPACT_PERCENTAGE",
	};
	for (size_t i = 0; name && i < sizeof model / sizeof model[0]; i++)
		if (!strcmp(model[i], name))
			return 1;
	return 0;
}

/* Dimensions {Key, Values, MatchOptions} or Tags {Key, Values, MatchOptions}. */
static int ce_match(json_t *j, int tag, struct metering_expr *x, struct err *e)
{
	const char *kind = tag ? "Tags" : "Dimensions";
	const char *key = json_string_value(json_object_get(j, "Key"));
	json_t *values = json_object_get(j, "Values");
	size_t i;
	json_t *v;
	if (!json_is_object(j) || !key || !*key || strlen(key) >= METERING_TAG_KEY_MAX)
		return err_set(e, 400, "ValidationException", "%s needs a Key.", kind);
	if (ce_match_options(json_object_get(j, "MatchOptions"), &x->match, e) < 0)
		return -1;
	if (values && (!json_is_array(values) || json_array_size(values) > CE_FILTER_VALUES))
		return err_set(e, 400, "ValidationException",
			       "%s.Values must be a list of at most %d values.", kind, CE_FILTER_VALUES);
	if (!tag && !ce_dimension_known(key))
		return err_set(e, 400, "ValidationException", "Dimension %.64s is not a valid dimension.",
			       key);
	int dim = tag ? METERING_DIM_TAG : metering_dimension_parse(key);
	/* A dimension amibox never records has no value on any record: it matches nothing. */
	x->op = dim < 0 ? METERING_EXPR_NONE : METERING_EXPR_MATCH;
	x->key.dim = dim < 0 ? METERING_DIM_TAG : (enum metering_dimension)dim;
	snprintf(x->key.tag, sizeof x->key.tag, "%s", tag ? key : "");
	x->values = xcalloc(json_array_size(values) + 1, sizeof *x->values);
	json_array_foreach(values, i, v) {
		if (!json_is_string(v))
			return err_set(e, 400, "ValidationException", "%s.Values must be strings.", kind);
		x->values[x->nvalues++] = xstrdup(json_string_value(v));
	}
	if (!x->nvalues && !(x->match & METERING_MATCH_ABSENT))
		return err_set(e, 400, "ValidationException", "%s needs Values.", kind);
	return 0;
}

static int ce_expression(json_t *j, int depth, struct metering_expr **out, struct err *e)
{
	static const char *const roots[] = { "And", "Or", "Not", "Dimensions", "Tags", "CostCategories" };
	const char *root = NULL;
	*out = NULL;
	if (!json_is_object(j))
		return err_set(e, 400, "ValidationException", "An expression must be an object.");
	if (depth > CE_FILTER_DEPTH)
		return err_set(e, 400, "ValidationException",
			       "The filter is nested more than %d deep.", CE_FILTER_DEPTH);
	for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
		if (!json_object_get(j, roots[i]))
			continue;
		if (root)
			return err_set(e, 400, "ValidationException",
				       "Expression has more than one roots. Only one root operator is "
				       "allowed for each expression: And, Or, Not, Dimensions, Tags, "
				       "CostCategories");
		root = roots[i];
	}
	if (!root)
		return err_set(e, 400, "ValidationException",
			       "An expression needs one of And, Or, Not, Dimensions, Tags.");
	if (!strcmp(root, "CostCategories"))
		return err_set(e, 400, "ValidationException",
			       "amibox has no cost categories to filter by.");
	struct metering_expr *x = xcalloc(1, sizeof *x);
	*out = x;
	if (!strcmp(root, "Dimensions") || !strcmp(root, "Tags"))
		return ce_match(json_object_get(j, root), !strcmp(root, "Tags"), x, e);
	json_t *kids = json_object_get(j, root);
	if (!strcmp(root, "Not")) {
		x->op = METERING_EXPR_NOT;
		x->kids = xcalloc(1, sizeof *x->kids);
		x->nkids = 1;
		return ce_expression(kids, depth + 1, &x->kids[0], e);
	}
	x->op = !strcmp(root, "And") ? METERING_EXPR_AND : METERING_EXPR_OR;
	if (!json_is_array(kids) || json_array_size(kids) < 1)
		return err_set(e, 400, "ValidationException", "%s needs a list of expressions.", root);
	x->kids = xcalloc(json_array_size(kids), sizeof *x->kids);
	for (size_t i = 0; i < json_array_size(kids); i++)
		if (ce_expression(json_array_get(kids, i), depth + 1, &x->kids[x->nkids++], e) < 0)
			return -1;
	return 0;
}

int ce_filter(json_t *body, struct metering_expr **out, struct err *e)
{
	json_t *filter = json_object_get(body, "Filter");
	*out = NULL;
	if (!filter)
		return 0;
	if (ce_expression(filter, 0, out, e) < 0) {
		metering_expr_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void ce_format_time(long long ms, int hourly, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, hourly ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d", &tm);
}

/* ---- paging tokens ---------------------------------------------------------- */

/* What a token binds: the caller, the action and the request without its token. */
static void ce_request_digest(struct ce_call *call, char out[33])
{
	json_t *copy = json_deep_copy(call->body);
	json_object_del(copy, "NextPageToken");
	char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	struct buf in = BUF_INIT;
	unsigned char digest[SHA256_LEN];
	buf_printf(&in, "%s\n%s\n%s", call->req->account.id, call->action, text);
	codec_sha256(in.data, in.len, digest);
	codec_hex(digest, 16, out);
	buf_release(&in);
	free(text);
	json_decref(copy);
}

char *ce_token_make(struct ce_call *call, const struct ce_position *at)
{
	char digest[33];
	struct buf plain = BUF_INIT, token = BUF_INIT;
	ce_request_digest(call, digest);
	buf_printf(&plain, "1:%s:%zu:", digest, at->period);
	if (at->after) {
		size_t len = strlen(at->after);
		char *hex = xmalloc(2 * len + 1);
		codec_hex((const unsigned char *)at->after, len, hex);
		buf_append_str(&plain, hex);
		free(hex);
	} else {
		buf_append_char(&plain, '-');
	}
	codec_base64((const unsigned char *)plain.data, plain.len, &token);
	buf_release(&plain);
	return buf_detach(&token);
}

int ce_token_read(struct ce_call *call, struct ce_position *at, struct err *e)
{
	json_t *t = json_object_get(call->body, "NextPageToken");
	const char *token = json_string_value(t);
	struct buf plain = BUF_INIT;
	char digest[33], got[33];
	unsigned long long period;
	int used = 0, ret = -1;
	memset(at, 0, sizeof *at);
	if (!t || (token && !*token))
		return 0;
	if (!token || strlen(token) > 8192 || codec_unbase64(token, strlen(token), &plain) < 0 ||
	    sscanf(buf_str(&plain), "1:%32[0-9a-f]:%llu:%n", got, &period, &used) != 2 || !used) {
		err_set(e, 400, "InvalidNextTokenException", "The pagination token is invalid.");
		goto out;
	}
	ce_request_digest(call, digest);
	if (strcmp(got, digest) != 0) {
		err_set(e, 400, "RequestChangedException",
			"Your request parameters changed between pages. Try again with the old "
			"parameters or without a pagination token.");
		goto out;
	}
	const char *hex = buf_str(&plain) + used;
	size_t len = strlen(hex);
	at->period = (size_t)period;
	if (strcmp(hex, "-") != 0) {
		at->after = xcalloc(len / 2 + 1, 1);
		if (len % 2 || codec_unhex(hex, (unsigned char *)at->after, len / 2) < 0) {
			free(at->after);
			at->after = NULL;
			err_set(e, 400, "InvalidNextTokenException", "The pagination token is invalid.");
			goto out;
		}
	}
	ret = 0;
out:
	buf_release(&plain);
	return ret;
}
