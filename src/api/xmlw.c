/*
 * xmlw: response documents written straight into a growing buffer (see
 * xmlw.h).
 *
 * Writing XML is escaping five characters and closing what was opened; on
 * every Describe's path, libxml2's text writer (an output buffer, an
 * encoder and a node stack per element) cost more than the catalog query it
 * answered, so this writer appends to a struct buf instead.  libxml2 still
 * parses every XML body amibox reads, and the unit tests parse back every
 * document written here with it.
 */
#include "api/xmlw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"

#define XMLW_MAX_DEPTH 64

struct xmlw {
	struct buf out;
	struct buf names;            /* the open elements' names, NUL-separated */
	size_t open[XMLW_MAX_DEPTH]; /* where each open name starts in names */
	size_t depth;
	int in_start_tag;            /* '>' of the last start tag not yet written */
};

static struct xmlw *xmlw_open(const char *root)
{
	struct xmlw *w = xcalloc(1, sizeof *w);
	buf_reserve(&w->out, 1024);
	buf_append_str(&w->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	xmlw_start(w, root);
	return w;
}

struct xmlw *xmlw_new(const char *root, const char *request_id)
{
	struct xmlw *w = xmlw_open(root);
	xmlw_attribute(w, "xmlns", XMLW_EC2_NAMESPACE);
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
	xmlw_attribute(w, "xmlns", ns);
	return w;
}

static void xmlw_close_start_tag(struct xmlw *w)
{
	if (w->in_start_tag) {
		buf_append_char(&w->out, '>');
		w->in_start_tag = 0;
	}
}

void xmlw_start(struct xmlw *w, const char *name)
{
	if (w->depth == XMLW_MAX_DEPTH)
		abort(); /* the documents amibox writes are a handful deep */
	xmlw_close_start_tag(w);
	buf_append_char(&w->out, '<');
	buf_append_str(&w->out, name);
	w->open[w->depth++] = w->names.len;
	buf_append(&w->names, name, strlen(name) + 1);
	w->in_start_tag = 1;
}

void xmlw_end(struct xmlw *w)
{
	if (!w->depth)
		return;
	/* Full end tags: <tagSet></tagSet> reads as an empty list everywhere. */
	xmlw_close_start_tag(w);
	const char *name = w->names.data + w->open[--w->depth];
	buf_append_str(&w->out, "</");
	buf_append_str(&w->out, name);
	buf_append_char(&w->out, '>');
	w->names.len = w->open[w->depth];
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

/*
 * Appends value escaped for text or an attribute.  A byte that is not an XML
 * character (a control character, broken UTF-8) would make the whole
 * response unreadable: it becomes U+FFFD.  Carriage returns and tabs are
 * written as references so that a parser's normalisation keeps them.
 */
static void xmlw_escape(struct buf *out, const char *value)
{
	/* plain[c]: the byte is copied as it is (printable ASCII but <>&"). */
	static const unsigned char plain[256] = {
		[' '] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['\''] = 1,
		['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1,
		['.'] = 1, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
		['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
		[':'] = 1, [';'] = 1, ['='] = 1, ['?'] = 1, ['@'] = 1, ['A'] = 1,
		['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
		['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,
		['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1,
		['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
		['Z'] = 1, ['['] = 1, ['\\'] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1,
		['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
		['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,
		['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
		['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,
		['x'] = 1, ['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1,
		['~'] = 1, ['\n'] = 1,
	};
	const unsigned char *v = (const unsigned char *)value;
	for (;;) {
		size_t run = 0; /* plain bytes from v on, copied in one go */
		while (plain[v[run]])
			run++;
		buf_append(out, v, run);
		v += run;
		if (!*v)
			return;
		const char *ref = NULL;
		size_t n = 1;
		switch (*v) {
		case '<': ref = "&lt;"; break;
		case '>': ref = "&gt;"; break;
		case '&': ref = "&amp;"; break;
		case '"': ref = "&quot;"; break;
		case '\r': ref = "&#13;"; break;
		case '\t': ref = "&#9;"; break;
		default:
			n = xml_char(v);
		}
		if (ref)
			buf_append_str(out, ref);
		else if (n)
			buf_append(out, v, n);
		else
			buf_append_str(out, "\xef\xbf\xbd");
		v += n ? n : 1;
	}
}

void xmlw_attribute(struct xmlw *w, const char *name, const char *value)
{
	if (!w->in_start_tag)
		return;
	buf_append_char(&w->out, ' ');
	buf_append_str(&w->out, name);
	buf_append_str(&w->out, "=\"");
	xmlw_escape(&w->out, value ? value : "");
	buf_append_char(&w->out, '"');
}

void xmlw_text(struct xmlw *w, const char *name, const char *value)
{
	/* <name>value</name> in one go: nothing is left open. */
	size_t n = strlen(name);
	struct buf *out = &w->out;
	xmlw_close_start_tag(w);
	buf_reserve(out, 2 * n + 5);
	out->data[out->len++] = '<';
	memcpy(out->data + out->len, name, n);
	out->len += n;
	out->data[out->len++] = '>';
	out->data[out->len] = '\0';
	xmlw_escape(out, value ? value : "");
	buf_reserve(out, n + 3);
	memcpy(out->data + out->len, "</", 2);
	memcpy(out->data + out->len + 2, name, n);
	out->len += n + 2;
	out->data[out->len++] = '>';
	out->data[out->len] = '\0';
}

void xmlw_text_opt(struct xmlw *w, const char *name, const char *value)
{
	if (value)
		xmlw_text(w, name, value);
}

void xmlw_int(struct xmlw *w, const char *name, long long value)
{
	char text[24], *p = text + sizeof text;
	unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value :
						   (unsigned long long)value;
	*--p = '\0';
	do {
		*--p = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude);
	if (value < 0)
		*--p = '-';
	xmlw_text(w, name, p);
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
	while (w->depth)
		xmlw_end(w);
	buf_append_char(&w->out, '\n');
	buf_append(out, w->out.data, w->out.len);
	xmlw_free(w);
}

void xmlw_free(struct xmlw *w)
{
	if (!w)
		return;
	buf_release(&w->out);
	buf_release(&w->names);
	free(w);
}
