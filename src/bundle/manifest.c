/* manifest: reading AMI bundle manifests (see manifest.h). */
#include "bundle/manifest.h"

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int invalid(struct err *e, const char *what)
{
	return err_set(e, 400, "InvalidManifest", "The manifest is not valid: %s.", what);
}

/* The first raw occurrence of <tag>…</tag> in text, appended to out; 0 or -1 if absent. */
static int slice(const char *text, size_t len, const char *tag, struct buf *out)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *start = memmem(text, len, open, strlen(open));
	if (!start)
		return -1;
	const char *end = memmem(start, len - (size_t)(start - text), close, strlen(close));
	if (!end)
		return -1;
	end += strlen(close);
	buf_append(out, start, (size_t)(end - start));
	return 0;
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr k = n ? n->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE && !strcmp((const char *)k->name, name))
			return k;
	return NULL;
}

/* The trimmed text of n into out (cap bytes); -1 when it does not fit. */
static int text_of(xmlNodePtr n, char *out, size_t cap)
{
	out[0] = '\0';
	if (!n)
		return 0;
	xmlChar *t = xmlNodeGetContent(n);
	const char *s = t ? (const char *)t : "";
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	size_t len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t' ||
		       s[len - 1] == '\r'))
		len--;
	int fits = len < cap;
	if (fits) {
		memcpy(out, s, len);
		out[len] = '\0';
	}
	xmlFree(t);
	return fits ? 0 : -1;
}

/* Heap copy of the trimmed text of the named child; NULL when missing or empty. */
static char *text_dup(xmlNodePtr parent, const char *name)
{
	char buf[8192];
	xmlNodePtr n = child(parent, name);
	if (!n || text_of(n, buf, sizeof buf) < 0 || !buf[0])
		return NULL;
	return xstrdup(buf);
}

static int is_hex(const char *s, size_t want)
{
	size_t len = strlen(s);
	return len > 0 && (want == 0 || len == want) && len % 2 == 0 &&
	       strspn(s, "0123456789abcdefABCDEF") == len;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

static int number(xmlNodePtr n, unsigned long long *out)
{
	char buf[32], *end;
	if (!n || text_of(n, buf, sizeof buf) < 0 || !buf[0] || buf[0] == '-')
		return -1;
	*out = strtoull(buf, &end, 10);
	return *end ? -1 : 0;
}

static int read_mapping(struct manifest *m, xmlNodePtr n, struct err *e)
{
	if (m->nmappings == MANIFEST_MAX_MAPPINGS)
		return invalid(e, "too many block device mappings");
	struct manifest_mapping *map = &m->mappings[m->nmappings];
	if (text_of(child(n, "virtual"), map->virtual_name, sizeof map->virtual_name) < 0 ||
	    text_of(child(n, "device"), map->device, sizeof map->device) < 0 ||
	    !map->virtual_name[0] || !map->device[0])
		return invalid(e, "a block device mapping needs <virtual> and <device>");
	m->nmappings++;
	return 0;
}

static int read_machine(struct manifest *m, xmlNodePtr mc, struct err *e)
{
	m->has_machine_configuration = 1;
	if (text_of(child(mc, "architecture"), m->architecture, sizeof m->architecture) < 0 ||
	    text_of(child(mc, "kernel_id"), m->kernel_id, sizeof m->kernel_id) < 0 ||
	    text_of(child(mc, "ramdisk_id"), m->ramdisk_id, sizeof m->ramdisk_id) < 0)
		return invalid(e, "an element of <machine_configuration> is too long");
	/* Both spellings: <block_device_mapping><mapping> and
	 * <block_device_mappings><block_device_mapping>. */
	xmlNodePtr list = child(mc, "block_device_mapping");
	if (list && child(list, "mapping")) {
		for (xmlNodePtr k = list->children; k; k = k->next)
			if (k->type == XML_ELEMENT_NODE && !strcmp((const char *)k->name, "mapping") &&
			    read_mapping(m, k, e) < 0)
				return -1;
	}
	list = child(mc, "block_device_mappings");
	for (xmlNodePtr k = list ? list->children : NULL; k; k = k->next)
		if (k->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)k->name, "block_device_mapping") && read_mapping(m, k, e) < 0)
			return -1;
	return 0;
}

static int read_parts(struct manifest *m, xmlNodePtr parts, struct err *e)
{
	xmlChar *count_text = xmlGetProp(parts, BAD_CAST "count");
	char *end = NULL;
	long count = count_text ? strtol((const char *)count_text, &end, 10) : -1;
	int bad_count = !count_text || *end || count < 1 || count > MANIFEST_MAX_PARTS;
	xmlFree(count_text);
	if (bad_count)
		return invalid(e, "<parts> needs a count between 1 and 100000");
	m->parts = xcalloc((size_t)count, sizeof *m->parts);
	m->nparts = (size_t)count;
	unsigned char *seen = xcalloc((size_t)count, 1);
	long found = 0;
	int ret = -1;
	for (xmlNodePtr p = parts->children; p; p = p->next) {
		if (p->type != XML_ELEMENT_NODE || strcmp((const char *)p->name, "part") != 0)
			continue;
		xmlChar *index_text = xmlGetProp(p, BAD_CAST "index");
		long index = index_text ? strtol((const char *)index_text, &end, 10) : -1;
		int bad = !index_text || *end || index < 0 || index >= count || seen[index];
		xmlFree(index_text);
		if (bad) {
			invalid(e, "a <part> has a missing, repeated or out-of-range index");
			goto out;
		}
		seen[index] = 1;
		found++;
		struct manifest_part *part = &m->parts[index];
		if (text_of(child(p, "filename"), part->filename, sizeof part->filename) < 0 ||
		    !part->filename[0] || strchr(part->filename, '/') ||
		    !strcmp(part->filename, ".") || !strcmp(part->filename, "..")) {
			invalid(e, "a part's <filename> is missing or not a plain file name");
			goto out;
		}
		if (text_of(child(p, "digest"), part->digest, sizeof part->digest) < 0 ||
		    !is_hex(part->digest, 40)) {
			invalid(e, "a part's <digest> is not a SHA-1");
			goto out;
		}
		lower(part->digest);
	}
	if (found != count) {
		invalid(e, "<parts> lists fewer parts than its count");
		goto out;
	}
	ret = 0;
out:
	free(seen);
	return ret;
}

int manifest_parse(const char *xml, size_t len, struct manifest *m, struct err *e)
{
	memset(m, 0, sizeof *m);
	if (len == 0 || len > MANIFEST_MAX_BYTES)
		return invalid(e, "it is empty or larger than 4 MiB");
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int ret = -1;
	if (!root || strcmp((const char *)root->name, "manifest") != 0) {
		invalid(e, "it is not a <manifest> XML document");
		goto out;
	}
	if (text_of(child(root, "version"), m->version, sizeof m->version) < 0) {
		invalid(e, "<version> is too long");
		goto out;
	}
	xmlNodePtr mc = child(root, "machine_configuration");
	if (mc && read_machine(m, mc, e) < 0)
		goto out;
	xmlNodePtr image = child(root, "image");
	if (!image) {
		invalid(e, "there is no <image>");
		goto out;
	}
	if (text_of(child(image, "name"), m->name, sizeof m->name) < 0 ||
	    text_of(child(image, "user"), m->user, sizeof m->user) < 0 ||
	    text_of(child(image, "type"), m->type, sizeof m->type) < 0) {
		invalid(e, "<name>, <user> or <type> of <image> is too long");
		goto out;
	}
	if (!m->type[0])
		snprintf(m->type, sizeof m->type, "machine");
	if (strcmp(m->type, "machine") && strcmp(m->type, "kernel") && strcmp(m->type, "ramdisk")) {
		invalid(e, "<type> must be machine, kernel or ramdisk");
		goto out;
	}
	if (text_of(child(image, "digest"), m->digest, sizeof m->digest) < 0 ||
	    !is_hex(m->digest, 40)) {
		invalid(e, "the image <digest> is not a SHA-1");
		goto out;
	}
	lower(m->digest);
	if (number(child(image, "size"), &m->size) < 0) {
		invalid(e, "<size> is not a number");
		goto out;
	}
	if (child(image, "bundled_size") && number(child(image, "bundled_size"), &m->bundled_size) < 0) {
		invalid(e, "<bundled_size> is not a number");
		goto out;
	}
	m->ec2_encrypted_key = text_dup(image, "ec2_encrypted_key");
	m->ec2_encrypted_iv = text_dup(image, "ec2_encrypted_iv");
	m->user_encrypted_key = text_dup(image, "user_encrypted_key");
	m->user_encrypted_iv = text_dup(image, "user_encrypted_iv");
	if (!m->ec2_encrypted_key || !m->ec2_encrypted_iv || !is_hex(m->ec2_encrypted_key, 0) ||
	    !is_hex(m->ec2_encrypted_iv, 0)) {
		invalid(e, "<ec2_encrypted_key> and <ec2_encrypted_iv> must be hex");
		goto out;
	}
	xmlNodePtr parts = child(image, "parts");
	if (!parts) {
		invalid(e, "there is no <parts>");
		goto out;
	}
	if (read_parts(m, parts, e) < 0)
		goto out;
	m->signature = text_dup(root, "signature");
	if (!m->signature || !is_hex(m->signature, 0)) {
		invalid(e, "<signature> is missing or not hex");
		goto out;
	}
	/* The signed text, from the raw bytes. */
	if (mc && slice(xml, len, "machine_configuration", &m->signed_text) < 0) {
		invalid(e, "<machine_configuration> cannot be found as written");
		goto out;
	}
	if (slice(xml, len, "image", &m->signed_text) < 0) {
		invalid(e, "<image> cannot be found as written");
		goto out;
	}
	ret = 0;
out:
	xmlFreeDoc(doc);
	if (ret < 0)
		manifest_release(m);
	return ret;
}

void manifest_release(struct manifest *m)
{
	free(m->ec2_encrypted_key);
	free(m->ec2_encrypted_iv);
	free(m->user_encrypted_key);
	free(m->user_encrypted_iv);
	free(m->parts);
	free(m->signature);
	buf_release(&m->signed_text);
	memset(m, 0, sizeof *m);
}

const char *manifest_device(const struct manifest *m, const char *virtual_name)
{
	for (size_t i = 0; i < m->nmappings; i++)
		if (!strcmp(m->mappings[i].virtual_name, virtual_name))
			return m->mappings[i].device;
	return "";
}
