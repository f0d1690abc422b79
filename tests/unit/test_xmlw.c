/*
 * Unit tests for api/xmlw: the EC2 response writer.  Every document is
 * parsed back with libxml2, so the tests check what a client would read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "api/xmlw.h"

static xmlDocPtr finish_and_parse(struct xmlw *w, struct buf *out)
{
	xmlw_finish(w, out);
	xmlDocPtr doc = xmlReadMemory(buf_str(out), (int)out->len, "r.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR);
	assert_non_null(doc);
	return doc;
}

/* The first element child of node named name, or NULL. */
static xmlNodePtr child(xmlNodePtr node, const char *name)
{
	for (xmlNodePtr c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
			return c;
	return NULL;
}

static void assert_text(xmlNodePtr node, const char *want)
{
	assert_non_null(node);
	xmlChar *got = xmlNodeGetContent(node);
	assert_string_equal((const char *)got, want);
	xmlFree(got);
}

static void test_envelope(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct xmlw *w = xmlw_new("DescribeImagesResponse", "req-1");
	xmlw_start(w, "imagesSet");
	xmlw_start(w, "item");
	xmlw_text(w, "imageId", "ami-0123456789abcdef0");
	xmlw_end(w);
	xmlw_end(w);
	xmlDocPtr doc = finish_and_parse(w, &out);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "DescribeImagesResponse");
	assert_non_null(root->ns);
	assert_string_equal((const char *)root->ns->href, XMLW_EC2_NAMESPACE);
	/* requestId comes first. */
	xmlNodePtr first = root->children;
	while (first && first->type != XML_ELEMENT_NODE)
		first = first->next;
	assert_string_equal((const char *)first->name, "requestId");
	assert_text(first, "req-1");
	assert_text(child(child(child(root, "imagesSet"), "item"), "imageId"),
		    "ami-0123456789abcdef0");
	assert_non_null(strstr(buf_str(&out), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
	xmlFreeDoc(doc);
	buf_release(&out);
}

static void test_escaping(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct xmlw *w = xmlw_new_plain("Response");
	const char *nasty = "<a href=\"x\">&amp; 'q' ]]> caf\xc3\xa9";
	xmlw_text(w, "Message", nasty);
	xmlw_text(w, "Empty", "");
	xmlDocPtr doc = finish_and_parse(w, &out);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	assert_null(root->ns);
	assert_text(child(root, "Message"), nasty);
	assert_text(child(root, "Empty"), "");
	/* No raw '<' from the value reaches the document. */
	assert_null(strstr(buf_str(&out), "<a href"));
	xmlFreeDoc(doc);
	buf_release(&out);
}

/* Bytes XML 1.0 cannot carry become U+FFFD; the document stays readable. */
static void test_unwritable_characters(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct xmlw *w = xmlw_new_plain("Response");
	xmlw_text(w, "Control", "a\x01" "b\x1f");
	xmlw_text(w, "Broken", "x\xc3(y\xff");
	xmlw_text(w, "Surrogate", "\xed\xa0\x80!");
	xmlw_text(w, "Fine", "tab\there \xf0\x9f\x99\x82 \xe2\x82\xac");
	xmlDocPtr doc = finish_and_parse(w, &out);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	assert_text(child(root, "Control"), "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	assert_text(child(root, "Broken"), "x\xef\xbf\xbd(y\xef\xbf\xbd");
	assert_text(child(root, "Surrogate"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	assert_text(child(root, "Fine"), "tab\there \xf0\x9f\x99\x82 \xe2\x82\xac");
	xmlFreeDoc(doc);
	buf_release(&out);
}

/* Attributes and the characters a parser would normalise away. */
static void test_attributes_and_whitespace(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct xmlw *w = xmlw_new_ns("R", "urn:x");
	xmlw_start(w, "e");
	xmlw_attribute(w, "a", "tab\tcr\rquote\"lt<");
	xmlw_end(w);
	xmlw_text(w, "t", "line1\r\nline2\ttabbed");
	xmlDocPtr doc = finish_and_parse(w, &out);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->ns->href, "urn:x");
	xmlChar *a = xmlGetProp(child(root, "e"), BAD_CAST "a");
	assert_string_equal((const char *)a, "tab\tcr\rquote\"lt<");
	xmlFree(a);
	assert_text(child(root, "t"), "line1\r\nline2\ttabbed");
	xmlFreeDoc(doc);
	buf_release(&out);
}

static void test_scalars(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct xmlw *w = xmlw_new("X", "r");
	xmlw_int(w, "volumeSize", 16384);
	xmlw_int(w, "negative", -5);
	xmlw_int(w, "zero", 0);
	xmlw_int(w, "least", -9223372036854775807LL - 1);
	xmlw_bool(w, "yes", 1);
	xmlw_bool(w, "no", 0);
	xmlw_time(w, "startTime", 1704164645123LL);
	xmlw_time(w, "epoch", 0);
	xmlw_time(w, "before", -1);
	xmlw_text_opt(w, "absent", NULL);
	xmlw_text_opt(w, "present", "p");
	xmlDocPtr doc = finish_and_parse(w, &out);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	assert_text(child(root, "volumeSize"), "16384");
	assert_text(child(root, "negative"), "-5");
	assert_text(child(root, "zero"), "0");
	assert_text(child(root, "least"), "-9223372036854775808");
	assert_text(child(root, "yes"), "true");
	assert_text(child(root, "no"), "false");
	assert_text(child(root, "startTime"), "2024-01-02T03:04:05.123Z");
	assert_text(child(root, "epoch"), "1970-01-01T00:00:00.000Z");
	assert_text(child(root, "before"), "1969-12-31T23:59:59.999Z");
	assert_null(child(root, "absent"));
	assert_text(child(root, "present"), "p");
	xmlFreeDoc(doc);
	buf_release(&out);
}

static void test_finish_closes_open_elements(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	buf_append_str(&out, "");
	struct xmlw *w = xmlw_new("R", "r");
	xmlw_start(w, "a");
	xmlw_start(w, "b");
	xmlw_text(w, "c", "deep");
	xmlDocPtr doc = finish_and_parse(w, &out);
	assert_text(child(child(child(xmlDocGetRootElement(doc), "a"), "b"), "c"), "deep");
	xmlFreeDoc(doc);
	buf_release(&out);

	/* xmlw_free discards without output or leaks. */
	w = xmlw_new("R", "r");
	xmlw_start(w, "a");
	xmlw_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_unwritable_characters),
		cmocka_unit_test(test_attributes_and_whitespace),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_finish_closes_open_elements),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	xmlCleanupParser();
	return rc;
}
