/*
 * sigv4: AWS Signature Version 4 for the server side (see sigv4.h).
 *
 * Everything here treats its input as hostile: the Authorization header,
 * path, query and header values come straight off the socket.  Every length
 * is capped before any work is done, and every failure becomes an AWS error
 * code in struct err rather than a crash or a silent accept.
 *
 * Canonicalisation follows what the real clients (botocore, the JS SDK v3)
 * sign, which is also what AWS's documentation specifies:
 *   - Path: for services other than "s3", empty and "." segments are dropped
 *     and ".." removes the segment before it; each segment is %-decoded and
 *     re-encoded (RFC 3986 unreserved characters only), and then encoded a
 *     second time.  S3 paths are only decoded and re-encoded once, with no
 *     segment normalisation.
 *   - Query: pairs split on '&' and the first '=', %-decoded, re-encoded,
 *     sorted by encoded key then encoded value.  A raw '+' is decoded as a
 *     space: neither SDK ever sends one (both send %20 and %2B), the form
 *     encoders that do send one mean a space by it, AWS's front ends read it
 *     that way, and so will amibox's own query parser; signing the meaning
 *     the server acts on is what matters.  Empty pairs ("a=1&&b=2") are
 *     skipped, as is X-Amz-Signature (it cannot sign itself).
 *   - Headers: in the order SignedHeaders lists them, each value trimmed and
 *     inner whitespace runs collapsed to one space.
 *
 * The decode-and-re-encode of the path and query is fused into one pass
 * over the raw text (sigv4_append_canonical) rather than done through
 * codec_uri_decode()/codec_uri_encode() with scratch buffers: a signature is
 * checked on every request, and this keeps the path allocation-free.
 */
#include "api/sigv4.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"

/*
 * Limits on what a request may hand to the canonicaliser.  They are far
 * above anything the SDKs send (EC2 Query requests go in POST bodies), and
 * only keep a hostile request from making us hash megabytes.
 */
#define SIGV4_MAX_PATH 8192
#define SIGV4_MAX_QUERY 65536
#define SIGV4_MAX_QUERY_PARAMS 1000
#define SIGV4_MAX_HEADER_VALUE 16384
#define SIGV4_MAX_PAYLOAD_HASH 128

/* Query parameters sorted without a heap allocation up to this many. */
#define SIGV4_STACK_PARAMS 32

#define SIGV4_INCOMPLETE "IncompleteSignature"
#define SIGV4_MISMATCH "SignatureDoesNotMatch"
#define SIGV4_MISMATCH_MESSAGE                                               \
	"The request signature we calculated does not match the signature " \
	"you provided. Check your AWS Secret Access Key and signing method."

/* A broken-down UTC time, as parsed from X-Amz-Date or Date. */
struct sigv4_time {
	int year, month, day, hour, minute, second;
};

/* One query parameter, its encoded key and value as offsets into a buffer. */
struct sigv4_param {
	const char *base;
	size_t key_off, key_len;
	size_t value_off, value_len;
};

/* ---- Character classes (locale-independent, unlike <ctype.h>) ---- */

static int sigv4_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int sigv4_is_alnum(char c)
{
	return sigv4_is_digit(c) || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* Whitespace between Authorization header components. */
static int sigv4_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whitespace that header canonicalisation trims and collapses. */
static int sigv4_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static int sigv4_is_unreserved(unsigned char c)
{
	return sigv4_is_alnum((char)c) || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

/*
 * Characters of a lowercase HTTP header name (an RFC 9110 token without
 * upper-case letters: AWS requires SignedHeaders in lower case).
 */
static int sigv4_is_header_char(char c)
{
	return (c >= 'a' && c <= 'z') || sigv4_is_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Characters of access key ids, regions and service names. */
static int sigv4_is_scope_char(char c)
{
	return sigv4_is_alnum(c) || c == '-' || c == '_' || c == '.';
}

static int sigv4_span_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* ---- Dates ---- */

static int sigv4_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int sigv4_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };
	return days[month - 1] + (month == 2 && sigv4_is_leap(year));
}

/* Reads n decimal digits; -1 if any is not a digit. */
static int sigv4_digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!sigv4_is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int sigv4_time_valid(const struct sigv4_time *t)
{
	return t->year >= 1970 && t->year <= 9999 && t->month >= 1 &&
	       t->month <= 12 && t->day >= 1 &&
	       t->day <= sigv4_days_in_month(t->year, t->month) &&
	       t->hour >= 0 && t->hour <= 23 && t->minute >= 0 &&
	       t->minute <= 59 && t->second >= 0 && t->second <= 59;
}

/*
 * Seconds since the epoch for a valid UTC time.  Computed here rather than
 * with timegm() so it depends on neither the TZ variable nor locale state.
 */
static int64_t sigv4_time_epoch(const struct sigv4_time *t)
{
	static const int before_month[12] = { 0,   31,  59,  90,  120, 151,
					      181, 212, 243, 273, 304, 334 };
	int64_t y = t->year - 1;
	/* Leap years in [1, year), less the 477 that came before 1970. */
	int64_t leaps = y / 4 - y / 100 + y / 400 - 477;
	int64_t days = 365 * (int64_t)(t->year - 1970) + leaps +
		       before_month[t->month - 1] +
		       (t->month > 2 && sigv4_is_leap(t->year)) + t->day - 1;
	return days * 86400 + t->hour * 3600 + t->minute * 60 + t->second;
}

/* Parses "yyyymmdd" of a credential scope; 0 when it is a real date. */
static int sigv4_parse_scope_date(const char *s, size_t len)
{
	struct sigv4_time t = { 0 };
	if (len != 8)
		return -1;
	t.year = sigv4_digits(s, 4);
	t.month = sigv4_digits(s + 4, 2);
	t.day = sigv4_digits(s + 6, 2);
	return sigv4_time_valid(&t) ? 0 : -1;
}

/* Parses ISO 8601 basic "yyyymmddThhmmssZ", exactly 16 characters. */
static int sigv4_parse_iso_basic(const char *s, struct sigv4_time *t)
{
	if (strnlen(s, 17) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	t->year = sigv4_digits(s, 4);
	t->month = sigv4_digits(s + 4, 2);
	t->day = sigv4_digits(s + 6, 2);
	t->hour = sigv4_digits(s + 9, 2);
	t->minute = sigv4_digits(s + 11, 2);
	t->second = sigv4_digits(s + 13, 2);
	return sigv4_time_valid(t) ? 0 : -1;
}

/* Index 1..12 of a three-letter English month name, or -1. */
static int sigv4_month_index(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++)
		if (memcmp(s, names + 3 * i, 3) == 0)
			return i + 1;
	return -1;
}

/*
 * Parses an RFC 1123 date, "Tue, 02 Jan 2024 03:04:05 GMT", into seconds
 * since the epoch.  The zone may be GMT, UTC or a numeric +hhmm/-hhmm:
 * botocore writes "-0000" and so do euca2ools.  The weekday is checked for
 * form only; nothing depends on it.
 */
static int sigv4_parse_rfc1123(const char *s, int64_t *epoch)
{
	struct sigv4_time t = { 0 };
	static const char weekdays[] = "MonTueWedThuFriSatSun";
	size_t len = strnlen(s, 64);
	int found = 0;
	for (int i = 0; i < 7 && len >= 3; i++)
		found |= memcmp(s, weekdays + 3 * i, 3) == 0;
	if (!found || len < 5 || s[3] != ',' || s[4] != ' ')
		return -1;
	s += 5;
	/* Day of month: two digits by the RFC, one in some clients. */
	int day_digits = sigv4_is_digit(s[0]) && sigv4_is_digit(s[1]) ? 2 : 1;
	t.day = sigv4_digits(s, day_digits);
	s += day_digits;
	if (t.day < 0 || s[0] != ' ' || strnlen(s + 1, 3) < 3)
		return -1;
	t.month = sigv4_month_index(s + 1);
	s += 4;
	if (s[0] != ' ')
		return -1;
	t.year = sigv4_digits(s + 1, 4);
	if (t.year < 0)
		return -1;
	s += 5;
	if (s[0] != ' ' || strnlen(s, 10) < 10 || s[3] != ':' || s[6] != ':' ||
	    s[9] != ' ')
		return -1;
	t.hour = sigv4_digits(s + 1, 2);
	t.minute = sigv4_digits(s + 4, 2);
	t.second = sigv4_digits(s + 7, 2);
	s += 10;
	if (!sigv4_time_valid(&t))
		return -1;
	int offset = 0;
	if (strcmp(s, "GMT") == 0 || strcmp(s, "UTC") == 0) {
		offset = 0;
	} else if ((s[0] == '+' || s[0] == '-') && strnlen(s, 6) == 5) {
		int hh = sigv4_digits(s + 1, 2);
		int mm = sigv4_digits(s + 3, 2);
		if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
			return -1;
		offset = (hh * 60 + mm) * 60 * (s[0] == '-' ? -1 : 1);
	} else {
		return -1;
	}
	*epoch = sigv4_time_epoch(&t) - offset;
	return 0;
}

/* Writes "yyyymmddThhmmssZ" for a time in seconds since the epoch. */
static int sigv4_format_iso_basic(int64_t epoch, char out[17])
{
	time_t when = (time_t)epoch;
	struct tm tm;
	if (!gmtime_r(&when, &tm) ||
	    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -1;
	return 0;
}

/*
 * Finds the request time: X-Amz-Date if present, else Date.  Writes it in
 * ISO 8601 basic form (what the StringToSign carries either way) and as
 * seconds since the epoch.
 */
static int sigv4_request_time(const struct sigv4_request *req,
			      char amz_date[17], int64_t *epoch,
			      struct err *e)
{
	struct sigv4_time t;
	const char *value = req->header(req->header_ctx, "x-amz-date");
	if (value) {
		if (sigv4_parse_iso_basic(value, &t) < 0)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "X-Amz-Date must be in ISO 8601 basic "
				       "format, yyyymmddThhmmssZ.");
		memcpy(amz_date, value, 16);
		amz_date[16] = '\0';
		*epoch = sigv4_time_epoch(&t);
		return 0;
	}
	value = req->header(req->header_ctx, "date");
	if (!value)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Authorization header requires existence of "
			       "either a 'X-Amz-Date' or a 'Date' header.");
	if (sigv4_parse_iso_basic(value, &t) == 0) {
		*epoch = sigv4_time_epoch(&t);
	} else if (sigv4_parse_rfc1123(value, epoch) < 0) {
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The Date header must be an RFC 1123 date or "
			       "ISO 8601 basic format, yyyymmddThhmmssZ.");
	}
	if (sigv4_format_iso_basic(*epoch, amz_date) < 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The Date header is out of range.");
	return 0;
}

/* ---- Authorization header ---- */

/*
 * Checks a SignedHeaders list: 1..SIGV4_MAX_SIGNED_HEADERS lowercase names,
 * none empty or repeated, "host" among them (AWS requires Host signed, and
 * without it a request could be replayed against another endpoint).
 */
static int sigv4_check_signed_headers(const char *list, size_t len,
				      struct err *e)
{
	const char *names[SIGV4_MAX_SIGNED_HEADERS];
	size_t lens[SIGV4_MAX_SIGNED_HEADERS];
	size_t count = 0;
	int has_host = 0;
	const char *end = list + len;
	if (len == 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "SignedHeaders must not be empty.");
	for (const char *p = list; p <= end;) {
		const char *stop = memchr(p, ';', (size_t)(end - p));
		size_t n = (size_t)((stop ? stop : end) - p);
		if (n == 0)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "SignedHeaders has an empty header name.");
		for (size_t i = 0; i < n; i++)
			if (!sigv4_is_header_char(p[i]))
				return err_set(e, 400, SIGV4_INCOMPLETE,
					       "SignedHeaders must list "
					       "lowercase header names "
					       "separated by ';'.");
		if (count == SIGV4_MAX_SIGNED_HEADERS)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "SignedHeaders lists more than %d "
				       "headers.", SIGV4_MAX_SIGNED_HEADERS);
		for (size_t i = 0; i < count; i++)
			if (lens[i] == n && memcmp(names[i], p, n) == 0)
				return err_set(e, 400, SIGV4_INCOMPLETE,
					       "SignedHeaders lists '%.*s' "
					       "twice.", (int)n, p);
		names[count] = p;
		lens[count] = n;
		count++;
		has_host |= sigv4_span_is(p, n, "host");
		p += n + 1;
	}
	if (!has_host)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "SignedHeaders must include 'host'.");
	return 0;
}

/* Copies a checked span into a fixed field, which has room for it. */
static void sigv4_copy_field(char *field, const char *s, size_t len)
{
	memcpy(field, s, len);
	field[len] = '\0';
}

/* Checks one part of the credential scope and copies it into field. */
static int sigv4_scope_part(const char *s, size_t len, char *field,
			    size_t field_size, const char *what,
			    struct err *e)
{
	if (len == 0 || len >= field_size)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Credential %s must be 1 to %zu characters.",
			       what, field_size - 1);
	for (size_t i = 0; i < len; i++)
		if (!sigv4_is_scope_char(s[i]))
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "Credential %s may only contain "
				       "letters, digits, '-', '_' and '.'.",
				       what);
	sigv4_copy_field(field, s, len);
	return 0;
}

/* Parses "AKID/yyyymmdd/region/service/aws4_request". */
static int sigv4_parse_credential(const char *s, size_t len,
				  struct sigv4_auth *auth, struct err *e)
{
	const char *part[5];
	size_t part_len[5];
	size_t slashes = 0;
	const char *end = s + len;
	for (size_t i = 0; i < len; i++)
		slashes += s[i] == '/';
	if (slashes != 4)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Credential must have five slash-separated parts: "
			       "access key/yyyymmdd/region/service/"
			       "aws4_request.");
	const char *p = s;
	for (int i = 0; i < 5; i++) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		part[i] = p;
		part_len[i] = (size_t)((slash ? slash : end) - p);
		p += part_len[i] + 1;
	}
	if (!sigv4_span_is(part[4], part_len[4], SIGV4_TERMINATOR))
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Credential should be scoped with a valid "
			       "terminator: 'aws4_request'.");
	if (sigv4_parse_scope_date(part[1], part_len[1]) < 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Credential date must be a valid yyyymmdd date.");
	sigv4_copy_field(auth->date, part[1], part_len[1]);
	if (sigv4_scope_part(part[0], part_len[0], auth->access_key,
			     sizeof auth->access_key, "access key id", e) < 0 ||
	    sigv4_scope_part(part[2], part_len[2], auth->region,
			     sizeof auth->region, "region", e) < 0 ||
	    sigv4_scope_part(part[3], part_len[3], auth->service,
			     sizeof auth->service, "service", e) < 0)
		return -1;
	return 0;
}

static int sigv4_parse_signature(const char *s, size_t len,
				 struct sigv4_auth *auth, struct err *e)
{
	int ok = len == 64;
	for (size_t i = 0; ok && i < len; i++)
		ok = sigv4_is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f');
	if (!ok)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Signature must be 64 lowercase hexadecimal "
			       "digits.");
	sigv4_copy_field(auth->signature, s, len);
	return 0;
}

/* Hands one "Name=value" component to its parser; seen tracks repeats. */
static int sigv4_parse_component(const char *name, size_t name_len,
				 const char *value, size_t value_len,
				 unsigned *seen, struct sigv4_auth *auth,
				 struct err *e)
{
	static const char *const names[3] = { "Credential", "SignedHeaders",
					      "Signature" };
	int which = -1;
	for (int i = 0; i < 3; i++)
		if (sigv4_span_is(name, name_len, names[i]))
			which = i;
	if (which < 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Authorization header has an unknown component; "
			       "expected Credential, SignedHeaders and "
			       "Signature.");
	if (*seen & (1u << which))
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Authorization header has '%s' twice.",
			       names[which]);
	*seen |= 1u << which;
	switch (which) {
	case 0:
		return sigv4_parse_credential(value, value_len, auth, e);
	case 1:
		if (value_len >= sizeof auth->signed_headers)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "SignedHeaders is longer than %zu "
				       "characters.",
				       sizeof auth->signed_headers - 1);
		if (sigv4_check_signed_headers(value, value_len, e) < 0)
			return -1;
		sigv4_copy_field(auth->signed_headers, value, value_len);
		return 0;
	default:
		return sigv4_parse_signature(value, value_len, auth, e);
	}
}

/* The body of sigv4_parse_authorization, which clears auth on failure. */
static int sigv4_parse_fields(const char *header, struct sigv4_auth *auth,
			      struct err *e)
{
	static const char *const missing[3] = { "Credential", "SignedHeaders",
						"Signature" };
	size_t alg_len = strlen(SIGV4_ALGORITHM);
	unsigned seen = 0;
	if (!header)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The Authorization header is missing.");
	size_t len = strnlen(header, SIGV4_MAX_AUTH_HEADER + 1);
	if (len > SIGV4_MAX_AUTH_HEADER)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The Authorization header is longer than %d "
			       "bytes.", SIGV4_MAX_AUTH_HEADER);
	const char *p = header;
	const char *end = header + len;
	while (p < end && sigv4_is_blank(*p))
		p++;
	if ((size_t)(end - p) <= alg_len ||
	    memcmp(p, SIGV4_ALGORITHM, alg_len) != 0 ||
	    !sigv4_is_blank(p[alg_len]))
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "Unsupported authorization algorithm; "
			       "expected '" SIGV4_ALGORITHM "'.");
	p += alg_len;
	for (;;) {
		while (p < end && sigv4_is_blank(*p))
			p++;
		const char *name = p;
		while (p < end && *p != '=' && *p != ',' && !sigv4_is_blank(*p))
			p++;
		if (p == end || *p != '=' || p == name)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "Authorization header components must "
				       "be Name=value pairs separated by "
				       "commas.");
		size_t name_len = (size_t)(p - name);
		const char *value = ++p;
		while (p < end && *p != ',' && !sigv4_is_blank(*p))
			p++;
		if (sigv4_parse_component(name, name_len, value,
					  (size_t)(p - value), &seen, auth,
					  e) < 0)
			return -1;
		while (p < end && sigv4_is_blank(*p))
			p++;
		if (p == end)
			break;
		if (*p != ',')
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "Authorization header components must "
				       "be separated by commas.");
		p++;
	}
	for (int i = 0; i < 3; i++)
		if (!(seen & (1u << i)))
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "Authorization header requires '%s' "
				       "parameter.", missing[i]);
	return 0;
}

int sigv4_parse_authorization(const char *header, struct sigv4_auth *auth,
			      struct err *e)
{
	memset(auth, 0, sizeof *auth);
	if (sigv4_parse_fields(header, auth, e) < 0) {
		/* No half-parsed credential for a careless caller to use. */
		memset(auth, 0, sizeof *auth);
		return -1;
	}
	return 0;
}

/* ---- Canonical request ---- */

/*
 * Appends the canonical encoding of the raw, %-encoded text s[0..len):
 * each %XX (and '+' when plus_is_space) is decoded, and the resulting byte
 * encoded again with only unreserved characters left bare.  With twice set
 * the result is encoded a second time, which only turns each '%' into
 * "%25".  Returns -1 on a malformed escape.
 */
static int sigv4_append_canonical(const char *s, size_t len, int plus_is_space,
				  int twice, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	buf_reserve(out, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3 || codec_unhex(s + i + 1, &c, 1) < 0)
				return -1;
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (sigv4_is_unreserved(c)) {
			buf_append_char(out, (char)c);
			continue;
		}
		char digits[2] = { hex[c >> 4], hex[c & 15] };
		buf_append(out, twice ? "%25" : "%", twice ? 3 : 1);
		buf_append(out, digits, 2);
	}
	return 0;
}

/*
 * Normalised path for services other than S3, as botocore and the JS SDK
 * build it: empty and "." segments dropped, ".." drops the segment before
 * it, a trailing '/' kept when any segment is left; each segment encoded
 * twice.  The raw segments are compared, not the decoded ones ("%2E" is not
 * a dot segment), as the clients do.
 */
static int sigv4_append_normalized_path(const char *path, size_t len,
					struct buf *out)
{
	const char *end = path + len;
	size_t root = out->len + 1;
	size_t segments = 0;
	buf_append_char(out, '/');
	for (const char *p = path; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = (size_t)((slash ? slash : end) - p);
		const char *segment = p;
		p += n + 1;
		if (n == 0 || sigv4_span_is(segment, n, "."))
			continue;
		if (sigv4_span_is(segment, n, "..")) {
			if (segments == 0)
				continue;
			/*
			 * Cut the last segment and the '/' before it; buf
			 * keeps its NUL, so the text stays terminated.
			 */
			size_t cut = root;
			if (--segments > 0) {
				cut = out->len;
				while (out->data[cut - 1] != '/')
					cut--;
				cut--;
			}
			out->len = cut;
			out->data[cut] = '\0';
			continue;
		}
		if (segments > 0)
			buf_append_char(out, '/');
		if (sigv4_append_canonical(segment, n, 0, 1, out) < 0)
			return -1;
		segments++;
	}
	if (segments > 0 && len > 0 && path[len - 1] == '/')
		buf_append_char(out, '/');
	return 0;
}

static int sigv4_append_path(const char *path, const char *service,
			     struct buf *out, struct err *e)
{
	size_t len = strnlen(path, SIGV4_MAX_PATH + 1);
	if (len > SIGV4_MAX_PATH)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The request path is longer than %d bytes.",
			       SIGV4_MAX_PATH);
	if (len == 0) {
		buf_append_char(out, '/');
		return 0;
	}
	if (path[0] != '/')
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The request path must start with '/'.");
	int rc;
	if (strcmp(service, "s3") == 0) {
		/*
		 * S3 keeps every segment, "." and ".." and empty ones
		 * included (they can be parts of a key), encoded once.
		 */
		rc = 0;
		const char *end = path + len;
		for (const char *p = path; p < end && rc == 0;) {
			const char *slash = memchr(p, '/', (size_t)(end - p));
			size_t n = (size_t)((slash ? slash : end) - p);
			rc = sigv4_append_canonical(p, n, 0, 0, out);
			if (slash)
				buf_append_char(out, '/');
			p += n + 1;
		}
	} else {
		rc = sigv4_append_normalized_path(path, len, out);
	}
	if (rc < 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The request path has a malformed %%-escape.");
	return 0;
}

/* Byte-wise order of two spans, a prefix before the longer span. */
static int sigv4_span_compare(const char *a, size_t a_len, const char *b,
			      size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (c != 0 || a_len == b_len)
		return c;
	return a_len < b_len ? -1 : 1;
}

/* Key first, then value: "a=2" before "a-b=1", as the SDKs sort. */
static int sigv4_param_compare(const void *pa, const void *pb)
{
	const struct sigv4_param *a = pa;
	const struct sigv4_param *b = pb;
	int c = sigv4_span_compare(a->base + a->key_off, a->key_len,
				   b->base + b->key_off, b->key_len);
	if (c != 0)
		return c;
	return sigv4_span_compare(a->base + a->value_off, a->value_len,
				  b->base + b->value_off, b->value_len);
}

/*
 * Encodes every parameter of the raw query into scratch, recording where
 * each key and value landed; *count receives how many were kept.
 */
static int sigv4_encode_params(const char *query, size_t len,
			       struct sigv4_param *params, size_t *count,
			       struct buf *scratch)
{
	const char *end = query + len;
	size_t n = 0;
	for (const char *p = query; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *pair = p;
		p = pair_end + 1;
		if (pair == pair_end)
			continue;
		const char *eq = memchr(pair, '=', (size_t)(pair_end - pair));
		const char *key_end = eq ? eq : pair_end;
		struct sigv4_param *param = &params[n];
		param->key_off = scratch->len;
		if (sigv4_append_canonical(pair, (size_t)(key_end - pair), 1, 0,
					   scratch) < 0)
			return -1;
		param->key_len = scratch->len - param->key_off;
		if (sigv4_span_is(scratch->data + param->key_off,
				  param->key_len, "X-Amz-Signature")) {
			scratch->len = param->key_off;
			scratch->data[scratch->len] = '\0';
			continue;
		}
		param->value_off = scratch->len;
		if (eq && sigv4_append_canonical(eq + 1,
						 (size_t)(pair_end - eq - 1), 1,
						 0, scratch) < 0)
			return -1;
		param->value_len = scratch->len - param->value_off;
		n++;
	}
	*count = n;
	return 0;
}

static int sigv4_append_query(const char *query, struct buf *out,
			      struct err *e)
{
	struct sigv4_param stack_params[SIGV4_STACK_PARAMS];
	struct sigv4_param *params = stack_params;
	struct buf scratch = BUF_INIT;
	size_t count = 0;
	int rc = -1;
	size_t len = strnlen(query, SIGV4_MAX_QUERY + 1);
	if (len > SIGV4_MAX_QUERY)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The query string is longer than %d bytes.",
			       SIGV4_MAX_QUERY);
	if (len == 0)
		return 0;
	size_t max_params = 1;
	for (size_t i = 0; i < len; i++)
		max_params += query[i] == '&';
	if (max_params > SIGV4_MAX_QUERY_PARAMS)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The query string has more than %d parameters.",
			       SIGV4_MAX_QUERY_PARAMS);
	if (max_params > SIGV4_STACK_PARAMS)
		params = xmalloc(max_params * sizeof *params);
	if (sigv4_encode_params(query, len, params, &count, &scratch) < 0) {
		err_set(e, 400, SIGV4_INCOMPLETE,
			"The query string has a malformed %%-escape.");
		goto out;
	}
	/* Only now is scratch done moving; point the params at it. */
	for (size_t i = 0; i < count; i++)
		params[i].base = scratch.data;
	qsort(params, count, sizeof *params, sigv4_param_compare);
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_append_char(out, '&');
		buf_append(out, params[i].base + params[i].key_off,
			   params[i].key_len);
		buf_append_char(out, '=');
		buf_append(out, params[i].base + params[i].value_off,
			   params[i].value_len);
	}
	rc = 0;
out:
	if (params != stack_params)
		free(params);
	buf_release(&scratch);
	return rc;
}

/* Appends a header value trimmed, with inner whitespace runs as one space. */
static void sigv4_append_header_value(const char *value, size_t len,
				      struct buf *out)
{
	int pending_space = 0;
	int started = 0;
	buf_reserve(out, len);
	for (size_t i = 0; i < len; i++) {
		if (sigv4_is_space(value[i])) {
			pending_space = started;
			continue;
		}
		if (pending_space)
			buf_append_char(out, ' ');
		pending_space = 0;
		started = 1;
		buf_append_char(out, value[i]);
	}
}

/*
 * Appends "name:value\n" for each signed header, in SignedHeaders order.
 * A signed header the request lacks is IncompleteSignature (400), as
 * sigv4.h promises: the client claims to have signed something it did not
 * send, which is a malformed request rather than a wrong key.
 */
static int sigv4_append_headers(const struct sigv4_request *req,
				const char *signed_headers, struct buf *out,
				struct err *e)
{
	char name[sizeof ((struct sigv4_auth *)0)->signed_headers];
	const char *p = signed_headers;
	for (;;) {
		size_t n = strcspn(p, ";");
		memcpy(name, p, n);
		name[n] = '\0';
		const char *value = req->header(req->header_ctx, name);
		if (!value)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "Header '%s' is listed in SignedHeaders "
				       "but missing from the request.", name);
		size_t len = strnlen(value, SIGV4_MAX_HEADER_VALUE + 1);
		if (len > SIGV4_MAX_HEADER_VALUE)
			return err_set(e, 400, SIGV4_INCOMPLETE,
				       "Signed header '%s' is longer than %d "
				       "bytes.", name, SIGV4_MAX_HEADER_VALUE);
		buf_append(out, name, n);
		buf_append_char(out, ':');
		sigv4_append_header_value(value, len, out);
		buf_append_char(out, '\n');
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/*
 * Checks that auth's fields are terminated within their arrays and that its
 * SignedHeaders are well-formed: auth may have been filled by a caller (a
 * client signing) rather than by sigv4_parse_authorization().
 */
static int sigv4_check_auth(const struct sigv4_auth *auth, struct err *e)
{
	if (strnlen(auth->date, sizeof auth->date) != 8 ||
	    strnlen(auth->region, sizeof auth->region) == sizeof auth->region ||
	    strnlen(auth->service, sizeof auth->service) ==
		    sizeof auth->service ||
	    strnlen(auth->signed_headers, sizeof auth->signed_headers) ==
		    sizeof auth->signed_headers)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The credential scope is malformed.");
	return sigv4_check_signed_headers(auth->signed_headers,
					  strlen(auth->signed_headers), e);
}

int sigv4_canonical_request(const struct sigv4_request *req,
			    const struct sigv4_auth *auth, struct buf *out,
			    struct err *e)
{
	if (!req->method || !req->path || !req->header || !req->payload_hash)
		return err_internal(e, "sigv4: request lacks its method, path, "
				       "header lookup or payload hash");
	if (sigv4_check_auth(auth, e) < 0)
		return -1;
	size_t hash_len = strnlen(req->payload_hash, SIGV4_MAX_PAYLOAD_HASH + 1);
	if (hash_len > SIGV4_MAX_PAYLOAD_HASH)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "X-Amz-Content-SHA256 is longer than %d bytes.",
			       SIGV4_MAX_PAYLOAD_HASH);
	buf_append_str(out, req->method);
	buf_append_char(out, '\n');
	if (sigv4_append_path(req->path, auth->service, out, e) < 0)
		return -1;
	buf_append_char(out, '\n');
	if (sigv4_append_query(req->query ? req->query : "", out, e) < 0)
		return -1;
	buf_append_char(out, '\n');
	if (sigv4_append_headers(req, auth->signed_headers, out, e) < 0)
		return -1;
	buf_append_char(out, '\n');
	buf_append_str(out, auth->signed_headers);
	buf_append_char(out, '\n');
	buf_append(out, req->payload_hash, hash_len);
	return 0;
}

/* ---- Signing ---- */

void sigv4_signing_key(const char *secret, const char *date,
		       const char *region, const char *service,
		       unsigned char key[32])
{
	unsigned char stack_secret[128];
	unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN];
	unsigned char k_service[SHA256_LEN];
	size_t secret_len = strlen(secret);
	size_t prefixed_len = 4 + secret_len;
	/* Real secrets are 40 characters; only odd ones need the heap. */
	unsigned char *prefixed = prefixed_len <= sizeof stack_secret
					  ? stack_secret
					  : xmalloc(prefixed_len);
	memcpy(prefixed, "AWS4", 4);
	memcpy(prefixed + 4, secret, secret_len);
	codec_hmac_sha256(prefixed, prefixed_len, date, strlen(date), k_date);
	codec_hmac_sha256(k_date, sizeof k_date, region, strlen(region),
			  k_region);
	codec_hmac_sha256(k_region, sizeof k_region, service, strlen(service),
			  k_service);
	codec_hmac_sha256(k_service, sizeof k_service, SIGV4_TERMINATOR,
			  strlen(SIGV4_TERMINATOR), key);
	/* The secret and the keys derived from it must not linger. */
	explicit_bzero(prefixed, prefixed_len);
	explicit_bzero(k_date, sizeof k_date);
	explicit_bzero(k_region, sizeof k_region);
	explicit_bzero(k_service, sizeof k_service);
	if (prefixed != stack_secret)
		free(prefixed);
}

/*
 * Signing keys, cached per thread: deriving one costs four HMACs, and a
 * client signs every request of a day with the same one.  An entry is found
 * by a SHA-256 fingerprint of the secret and the scope, so the cache holds
 * no secret; the derived keys are wiped when the thread ends.
 */
#define SIGV4_KEY_CACHE 8

struct sigv4_key_cache {
	struct {
		unsigned char fingerprint[SHA256_LEN];
		unsigned char key[SHA256_LEN];
		int used;
	} entry[SIGV4_KEY_CACHE];
	unsigned next; /* the entry replaced next */
};

static pthread_key_t sigv4_cache_key;
static pthread_once_t sigv4_cache_once = PTHREAD_ONCE_INIT;

static void sigv4_cache_free(void *cache)
{
	explicit_bzero(cache, sizeof(struct sigv4_key_cache));
	free(cache);
}

static void sigv4_cache_init(void)
{
	if (pthread_key_create(&sigv4_cache_key, sigv4_cache_free) != 0)
		abort();
}

static void sigv4_cached_key(const char *secret, const struct sigv4_auth *auth,
			     unsigned char key[SHA256_LEN])
{
	pthread_once(&sigv4_cache_once, sigv4_cache_init);
	struct sigv4_key_cache *cache = pthread_getspecific(sigv4_cache_key);
	if (!cache) {
		cache = xcalloc(1, sizeof *cache);
		if (pthread_setspecific(sigv4_cache_key, cache) != 0) {
			free(cache);
			sigv4_signing_key(secret, auth->date, auth->region, auth->service, key);
			return;
		}
	}
	struct buf id = BUF_INIT;
	unsigned char fingerprint[SHA256_LEN];
	buf_printf(&id, "%s%c%s%c%s%c%s", secret, 0, auth->date, 0, auth->region, 0,
		   auth->service);
	codec_sha256(id.data, id.len, fingerprint);
	explicit_bzero(id.data, id.len);
	buf_release(&id);
	for (unsigned i = 0; i < SIGV4_KEY_CACHE; i++)
		if (cache->entry[i].used &&
		    !memcmp(cache->entry[i].fingerprint, fingerprint, SHA256_LEN)) {
			memcpy(key, cache->entry[i].key, SHA256_LEN);
			return;
		}
	sigv4_signing_key(secret, auth->date, auth->region, auth->service, key);
	unsigned slot = cache->next++ % SIGV4_KEY_CACHE;
	memcpy(cache->entry[slot].fingerprint, fingerprint, SHA256_LEN);
	memcpy(cache->entry[slot].key, key, SHA256_LEN);
	cache->entry[slot].used = 1;
}

/*
 * The signature of req for the given time stamp: canonical request,
 * StringToSign, signing key, HMAC.  Shared by sigv4_sign and sigv4_verify.
 */
static int sigv4_compute(const struct sigv4_request *req,
			 const struct sigv4_auth *auth, const char *secret,
			 const char *amz_date, char signature[65],
			 struct err *e)
{
	struct buf canonical = BUF_INIT;
	char canonical_hash[2 * SHA256_LEN + 1];
	char string_to_sign[256];
	unsigned char key[SHA256_LEN];
	unsigned char mac[SHA256_LEN];
	int rc = -1;
	buf_reserve(&canonical, 512);
	if (sigv4_canonical_request(req, auth, &canonical, e) < 0)
		goto out;
	codec_sha256_hex(canonical.data, canonical.len, canonical_hash);
	int n = snprintf(string_to_sign, sizeof string_to_sign,
			 SIGV4_ALGORITHM "\n%s\n%s/%s/%s/" SIGV4_TERMINATOR
					 "\n%s",
			 amz_date, auth->date, auth->region, auth->service,
			 canonical_hash);
	if (n < 0 || (size_t)n >= sizeof string_to_sign) {
		err_internal(e, "sigv4: string to sign does not fit");
		goto out;
	}
	sigv4_cached_key(secret, auth, key);
	codec_hmac_sha256(key, sizeof key, string_to_sign, (size_t)n, mac);
	explicit_bzero(key, sizeof key);
	codec_hex(mac, sizeof mac, signature);
	rc = 0;
out:
	buf_release(&canonical);
	return rc;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_auth *auth,
	       const char *secret, const char *amz_date, char signature[65],
	       struct err *e)
{
	struct sigv4_time t;
	if (sigv4_parse_iso_basic(amz_date, &t) < 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The time stamp must be in ISO 8601 basic "
			       "format, yyyymmddThhmmssZ.");
	if (strncmp(amz_date, auth->date, 8) != 0)
		return err_set(e, 400, SIGV4_INCOMPLETE,
			       "The credential scope date must be the date of "
			       "the time stamp.");
	return sigv4_compute(req, auth, secret, amz_date, signature, e);
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_auth *auth,
		 const char *secret, time_t now, struct err *e)
{
	char amz_date[17];
	char now_text[17] = "(unknown)";
	char expected[65];
	int64_t stamp = 0;
	if (!req->header)
		return err_internal(e, "sigv4: request lacks a header lookup");
	if (sigv4_request_time(req, amz_date, &stamp, e) < 0)
		return -1;
	/* AWS answers a scope date that is not the request's with 403. */
	if (strncmp(amz_date, auth->date, 8) != 0)
		return err_set(e, 403, SIGV4_MISMATCH,
			       "Date in Credential scope does not match "
			       "YYYYMMDD from ISO-8601 version of date from "
			       "HTTP: '%.8s' != '%.8s', from '%s'.",
			       auth->date, amz_date, amz_date);
	int64_t skew = (int64_t)now - stamp;
	if (skew > SIGV4_SKEW_SECONDS || skew < -SIGV4_SKEW_SECONDS) {
		sigv4_format_iso_basic((int64_t)now, now_text);
		return err_set(e, 400, "RequestExpired",
			       "Request has expired. Its time stamp %s is more "
			       "than 15 minutes from the server's time %s.",
			       amz_date, now_text);
	}
	if (sigv4_compute(req, auth, secret, amz_date, expected, e) < 0)
		return -1;
	if (strnlen(auth->signature, sizeof auth->signature) != 64 ||
	    !codec_equal_ct(expected, auth->signature, 64))
		return err_set(e, 403, SIGV4_MISMATCH, SIGV4_MISMATCH_MESSAGE);
	return 0;
}

int sigv4_parse_http_date(const char *s, int64_t *epoch)
{
	return sigv4_parse_rfc1123(s, epoch);
}
