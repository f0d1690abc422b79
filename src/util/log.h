/*
 * log: one line per event on standard error, for people and for log
 * collectors alike.
 *
 * Every line has the same shape.  In the default key=value format (logfmt):
 *
 *   ts=2025-01-31T12:00:00.123Z level=info msg="request" action=DescribeImages status=200
 *
 * ts (UTC, milliseconds), level (debug, info, warn, error) and msg (always
 * quoted) come first, then the event's own fields in the order given.  A
 * value is quoted when it is empty or holds a space, a quote, '=', a
 * backslash or a byte that is not printable; inside quotes '"' and '\' are
 * escaped and control characters are written \n, \r, \t or \xHH, so that one
 * event is always one line, whatever a client sent.  With the JSON format
 * (log_set_format) every line is one JSON object with the same keys, in the
 * same order; fields marked as numbers are JSON numbers.  Bytes that are not
 * UTF-8 are written as U+FFFD there.
 *
 * Secrets (secret keys, signatures, session tokens, private keys) are never
 * passed here.  As a second line of defence, a field whose key names one
 * (secret, signature, password, token, authorization, private_key) is
 * written as "[redacted]".
 */
#ifndef AMIBOX_UTIL_LOG_H
#define AMIBOX_UTIL_LOG_H

#include <stdarg.h>
#include <stddef.h>

struct buf;

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_KEYVALUE, LOG_FORMAT_JSON };

/* One field of an event: a key (letters, digits, '_') and its value. */
struct log_field {
	const char *key;
	const char *value;
	int number;  /* a JSON number when the value is one, else a string */
};

void log_set_level(enum log_level level);
/*
 * Chooses the format of this process's lines, and of the amibox processes
 * it starts (a VPC's router, the metadata service): they inherit it through
 * the environment (AMIBOX_LOG_FORMAT=json).  Call before starting threads.
 */
void log_set_format(enum log_format format);
/* "keyvalue" or "json" -> *out: 0, or -1 for another name. */
int log_format_parse(const char *name, enum log_format *out);

/* An event with fields (the request line, for one). */
void log_event(enum log_level level, const char *msg, const struct log_field *fields,
	       size_t nfields);
/* An event whose message is formatted text, without fields. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* As log_msg, with the arguments as a va_list (a library's logger). */
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Appends the line log_event would write (without the newline) to out, with
 * ts the time in milliseconds since the epoch: the formatter itself, for
 * tests and for callers that keep lines elsewhere.
 */
void log_render(struct buf *out, enum log_format format, long long ts_ms,
		enum log_level level, const char *msg, const struct log_field *fields,
		size_t nfields);

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
