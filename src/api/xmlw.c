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

/*
 * The length of the UTF-8 character at p if it is one XML 1.0 allows (tab,
 * newline, carriage return, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..
 * U+10FFFF), else 0.
 */
static size_t xml_char(const unsigned char *p)
{
	if (p[0] < 0x80)
		return p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' || p[0] == '\r';
	int extra = (p[0] & 0xe0) == 0xc0 ? 1 : (p[0] & 0xf0) == 0xe0 ? 2 :
		    (p[0] & 0xf8) == 0xf0 ? 3 : -1;
	if (extra < 0)
		return 0;
	unsigned cp = p[0] & (0x3f >> extra);
	for (int i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const unsigned least[] = { 0, 0x80, 0x800, 0x10000 };
	if (cp < least[extra] || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff || cp > 0x10ffff)
		return 0;
	return (size_t)extra + 1;
}

void xmlw_text(struct xmlw *w, const char *name, const char *value)
{
	const unsigned char *v = (const unsigned char *)(value ? value : "");
	size_t i = 0, n;
	while (v[i] && (n = xml_char(v + i)) > 0)
		i += n;
	if (!v[i]) {
		xmlTextWriterWriteElement(w->writer, BAD_CAST name, BAD_CAST v);
		return;
	}
	/*
	 * A byte that is not an XML character (a control character, broken
	 * UTF-8) would make the whole response unreadable: it becomes U+FFFD.
	 */
	struct buf clean = BUF_INIT;
	for (i = 0; v[i];) {
		n = xml_char(v + i);
		if (n) {
			buf_append(&clean, v + i, n);
			i += n;
		} else {
			buf_append_str(&clean, "\xef\xbf\xbd");
			i++;
		}
	}
	xmlTextWriterWriteElement(w->writer, BAD_CAST name, BAD_CAST clean.data);
	buf_release(&clean);
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
