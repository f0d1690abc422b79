/* xmlw: EC2 response documents over libxml2's xmlTextWriter (see xmlw.h). */
#include "api/xmlw.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/ids.h"

struct xmlw {
	xmlBufferPtr buffer;
	xmlTextWriterPtr writer;
};

static struct xmlw *xmlw_open(const char *root)
{
	struct xmlw *w = xcalloc(1, sizeof *w);
	w->buffer = xmlBufferCreate();
	if (!w->buffer)
		abort();
	w->writer = xmlNewTextWriterMemory(w->buffer, 0);
	if (!w->writer)
		abort();
	xmlTextWriterStartDocument(w->writer, "1.0", "UTF-8", NULL);
	xmlTextWriterStartElement(w->writer, BAD_CAST root);
	return w;
}

struct xmlw *xmlw_new(const char *root, const char *request_id)
{
	struct xmlw *w = xmlw_open(root);
	xmlTextWriterWriteAttribute(w->writer, BAD_CAST "xmlns",
				    BAD_CAST XMLW_EC2_NAMESPACE);
	xmlw_text(w, "requestId", request_id);
	return w;
}

struct xmlw *xmlw_new_plain(const char *root)
{
	return xmlw_open(root);
}

struct xmlw *xmlw_new_ns(const char *root, const char *ns)
{
	struct xmlw *w = xmlw_open(root);
	xmlTextWriterWriteAttribute(w->writer, BAD_CAST "xmlns", BAD_CAST ns);
	return w;
}

void xmlw_start(struct xmlw *w, const char *name)
{
	xmlTextWriterStartElement(w->writer, BAD_CAST name);
}

void xmlw_attribute(struct xmlw *w, const char *name, const char *value)
{
	xmlTextWriterWriteAttribute(w->writer, BAD_CAST name, BAD_CAST value);
}

void xmlw_end(struct xmlw *w)
{
	/* Full end tags: <tagSet></tagSet> reads as an empty list everywhere. */
	xmlTextWriterFullEndElement(w->writer);
}

void xmlw_text(struct xmlw *w, const char *name, const char *value)
{
	xmlTextWriterWriteElement(w->writer, BAD_CAST name,
				  BAD_CAST(value ? value : ""));
}

void xmlw_text_opt(struct xmlw *w, const char *name, const char *value)
{
	if (value)
		xmlw_text(w, name, value);
}

void xmlw_int(struct xmlw *w, const char *name, long long value)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", value);
	xmlw_text(w, name, text);
}

void xmlw_bool(struct xmlw *w, const char *name, int value)
{
	xmlw_text(w, name, value ? "true" : "false");
}

void xmlw_time(struct xmlw *w, const char *name, long long epoch_ms)
{
	char text[ISO_TIME_MAX];
	ids_iso_time(epoch_ms, text);
	xmlw_text(w, name, text);
}

void xmlw_finish(struct xmlw *w, struct buf *out)
{
	xmlTextWriterEndDocument(w->writer);
	xmlFreeTextWriter(w->writer);
	w->writer = NULL;
	buf_append(out, xmlBufferContent(w->buffer),
		   (size_t)xmlBufferLength(w->buffer));
	xmlBufferFree(w->buffer);
	free(w);
}

void xmlw_free(struct xmlw *w)
{
	if (!w)
		return;
	if (w->writer)
		xmlFreeTextWriter(w->writer);
	xmlBufferFree(w->buffer);
	free(w);
}
