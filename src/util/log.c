/* log: timestamped, levelled log lines on stderr, key=value or JSON (see log.h). */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "util/buf.h"

/* A message or a value longer than this is cut: one event stays one line. */
#define LOG_MSG_MAX 4096
#define LOG_VALUE_MAX 1024

static enum log_level log_threshold = LOG_INFO;
static enum log_format log_current = LOG_FORMAT_KEYVALUE;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

/* A process started by the daemon takes its format from the environment. */
static void log_init(void)
{
	const char *name = getenv("AMIBOX_LOG_FORMAT");
	enum log_format format;
	if (name && log_format_parse(name, &format) == 0)
		log_current = format;
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void log_set_format(enum log_format format)
{
	pthread_once(&log_once, log_init);
	log_current = format;
	setenv("AMIBOX_LOG_FORMAT", format == LOG_FORMAT_JSON ? "json" : "keyvalue", 1);
}

int log_format_parse(const char *name, enum log_format *out)
{
	if (!strcmp(name, "keyvalue")) {
		*out = LOG_FORMAT_KEYVALUE;
		return 0;
	}
	if (!strcmp(name, "json")) {
		*out = LOG_FORMAT_JSON;
		return 0;
	}
	return -1;
}

/* The length of the valid UTF-8 sequence at p (at most left bytes), 0 if none. */
static size_t log_utf8_len(const unsigned char *p, size_t left)
{
	size_t len;
	unsigned min;
	unsigned cp;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2, min = 0x80, cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3, min = 0x800, cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4, min = 0x10000, cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > left)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Whether a key=value value must be quoted. */
static int log_kv_needs_quotes(const unsigned char *v, size_t len)
{
	if (len == 0)
		return 1;
	for (size_t i = 0; i < len;) {
		size_t n = log_utf8_len(v + i, len - i);
		if (n == 0 || v[i] <= ' ' || v[i] == '"' || v[i] == '=' || v[i] == '\\' ||
		    v[i] == 0x7f)
			return 1;
		i += n;
	}
	return 0;
}

/* Writes the escapes key=value and JSON share; 0 when ch needs another. */
static int log_escape_common(struct buf *out, unsigned char ch)
{
	static const char from[] = "\"\\\n\r\t", to[] = "\"\\nrt";
	const char *at = ch ? strchr(from, ch) : NULL;
	if (!at)
		return 0;
	buf_append_char(out, '\\');
	buf_append_char(out, to[at - from]);
	return 1;
}

static void log_kv_value(struct buf *out, const char *text, size_t cap, int always_quote)
{
	const unsigned char *v = (const unsigned char *)text;
	size_t len = strnlen(text, cap);
	if (!always_quote && !log_kv_needs_quotes(v, len)) {
		buf_append(out, text, len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < len;) {
		size_t n = log_utf8_len(v + i, len - i);
		unsigned char ch = v[i];
		if (n > 1) {
			buf_append(out, v + i, n);
			i += n;
			continue;
		}
		int escaped = n == 1 && log_escape_common(out, ch);
		if (!escaped && (n == 0 || ch < ' ' || ch == 0x7f))
			buf_printf(out, "\\x%02x", ch);
		else if (!escaped)
			buf_append_char(out, (char)ch);
		i += n ? n : 1;
	}
	buf_append_char(out, '"');
}

static void log_json_string(struct buf *out, const char *text, size_t cap)
{
	const unsigned char *v = (const unsigned char *)text;
	size_t len = strnlen(text, cap);
	buf_append_char(out, '"');
	for (size_t i = 0; i < len;) {
		size_t n = log_utf8_len(v + i, len - i);
		unsigned char ch = v[i];
		if (n == 0) {
			buf_append_str(out, "\\ufffd");
			i++;
			continue;
		}
		int escaped = n == 1 && log_escape_common(out, ch);
		if (n > 1)
			buf_append(out, v + i, n);
		else if (!escaped && (ch < ' ' || ch == 0x7f))
			buf_printf(out, "\\u%04x", ch);
		else if (!escaped)
			buf_append_char(out, (char)ch);
		i += n;
	}
	buf_append_char(out, '"');
}

/* Whether text is a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int log_is_json_number(const char *text)
{
	const char *p = text;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p += strspn(p, "0123456789");
	else
		return 0;
	if (*p == '.') {
		size_t digits = strspn(p + 1, "0123456789");
		if (!digits)
			return 0;
		p += 1 + digits;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		size_t digits = strspn(p, "0123456789");
		if (!digits)
			return 0;
		p += digits;
	}
	return *p == '\0' && p - text < 32;
}

/* Keys are the code's own words; anything else becomes '_'. */
static void log_key(struct buf *out, const char *key)
{
	for (size_t i = 0; key[i] && i < 64; i++) {
		char ch = key[i];
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
		buf_append_char(out, plain ? ch : '_');
	}
}

static int log_key_is_secret(const char *key)
{
	static const char *const words[] = { "secret", "signature", "password", "token",
					     "authorization", "private_key" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(key, words[i]))
			return 1;
	return 0;
}

void log_render(struct buf *out, enum log_format format, long long ts_ms,
		enum log_level level, const char *msg, const struct log_field *fields,
		size_t nfields)
{
	char ts[64];
	struct tm tm;
	time_t seconds = (time_t)(ts_ms / 1000);
	gmtime_r(&seconds, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ts_ms % 1000));
	const char *level_name = log_level_names[level];
	int json = format == LOG_FORMAT_JSON;
	if (json) {
		buf_printf(out, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_name);
		log_json_string(out, msg, LOG_MSG_MAX);
	} else {
		buf_printf(out, "ts=%s level=%s msg=", ts, level_name);
		log_kv_value(out, msg, LOG_MSG_MAX, 1);
	}
	for (size_t i = 0; i < nfields; i++) {
		const char *value = fields[i].value ? fields[i].value : "";
		if (log_key_is_secret(fields[i].key))
			value = "[redacted]";
		buf_append_str(out, json ? ",\"" : " ");
		log_key(out, fields[i].key);
		buf_append_str(out, json ? "\":" : "=");
		if (!json)
			log_kv_value(out, value, LOG_VALUE_MAX, 0);
		else if (fields[i].number && log_is_json_number(value))
			buf_append_str(out, value);
		else
			log_json_string(out, value, LOG_VALUE_MAX);
	}
	if (json)
		buf_append_char(out, '}');
}

void log_event(enum log_level level, const char *msg, const struct log_field *fields,
	       size_t nfields)
{
	pthread_once(&log_once, log_init);
	if (level < log_threshold)
		return;
	struct timeval now;
	gettimeofday(&now, NULL);
	struct buf line = BUF_INIT;
	log_render(&line, log_current, (long long)now.tv_sec * 1000 + now.tv_usec / 1000,
		   level, msg, fields, nfields);
	buf_append_char(&line, '\n');
	/* One fwrite per line keeps lines from different threads whole. */
	fwrite(line.data, 1, line.len, stderr);
	buf_release(&line);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	if (level < log_threshold)
		return;
	char text[LOG_MSG_MAX];
	vsnprintf(text, sizeof text, fmt, ap);
	/* A library's message may end its line itself. */
	text[strcspn(text, "\n")] = '\0';
	log_event(level, text, NULL, 0);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
