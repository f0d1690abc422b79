/* ids: AWS-shaped identifiers and timestamps (see ids.h). */
#include "util/ids.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "util/codec.h"

void ids_resource(const char *prefix, char out[ID_MAX])
{
	unsigned char raw[9];
	char hex[19];
	codec_random(raw, sizeof raw);
	codec_hex(raw, sizeof raw, hex);
	snprintf(out, ID_MAX, "%s-%.17s", prefix, hex);
}

int ids_valid_resource(const char *prefix, const char *id)
{
	size_t plen = strlen(prefix);
	if (strncmp(id, prefix, plen) != 0 || id[plen] != '-')
		return 0;
	const char *hex = id + plen + 1;
	size_t n = strlen(hex);
	if (n != 8 && n != 17)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		      (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return 1;
}

/* Draws digits without modulo bias by rejecting the top of the byte range. */
static void ids_random_chars(const char *alphabet, size_t alen, char *out,
			     size_t n)
{
	size_t limit = 256 - 256 % alen;
	size_t i = 0;
	while (i < n) {
		unsigned char r[32];
		codec_random(r, sizeof r);
		for (size_t j = 0; j < sizeof r && i < n; j++)
			if (r[j] < limit)
				out[i++] = alphabet[r[j] % alen];
	}
	out[n] = '\0';
}

void ids_account(char out[13])
{
	ids_random_chars("0123456789", 10, out, 12);
	if (out[0] == '0')
		out[0] = '1' + (char)(out[1] % 9);
}

void ids_access_key(char out[21])
{
	memcpy(out, "AKIA", 4);
	ids_random_chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 32, out + 4, 16);
}

void ids_secret(char out[41])
{
	ids_random_chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789+/",
			 64, out, 40);
}

int ids_valid_account(const char *s)
{
	size_t n = strlen(s);
	if (n != 12)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * Request IDs are unique, not secret: a per-thread 64-bit state seeded once
 * from the system's random source and stepped with SplitMix64 costs a few
 * instructions where RAND_bytes cost thousands on every request.
 */
static _Thread_local uint64_t ids_uuid_state;

static uint64_t ids_splitmix64(void)
{
	if (!ids_uuid_state)
		codec_random(&ids_uuid_state, sizeof ids_uuid_state);
	uint64_t z = (ids_uuid_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ids_uuid(char out[37])
{
	unsigned char r[16];
	char hex[33];
	uint64_t a = ids_splitmix64(), b = ids_splitmix64();
	memcpy(r, &a, 8);
	memcpy(r + 8, &b, 8);
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	codec_hex(r, sizeof r, hex);
	/* 8-4-4-4-12 */
	static const int group[] = { 8, 4, 4, 4, 12 };
	char *p = out;
	const char *h = hex;
	for (int g = 0; g < 5; g++) {
		if (g)
			*p++ = '-';
		memcpy(p, h, (size_t)group[g]);
		p += group[g];
		h += group[g];
	}
	*p = '\0';
}

/* Writes value as width decimal digits at p. */
static char *ids_digits(char *p, unsigned value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

void ids_iso_time(long long epoch_ms, char out[ISO_TIME_MAX])
{
	/* Floor division: -1 ms is 23:59:59.999 of 1969-12-31, not 00:00:00.-1. */
	long long ms = epoch_ms % 1000;
	time_t secs = (time_t)(epoch_ms / 1000 - (ms < 0));
	if (ms < 0)
		ms += 1000;
	/*
	 * The civil date from the day count (proleptic Gregorian, eras of 400
	 * years), without gmtime_r: glibc's takes its time zone lock.
	 */
	long long days = (long long)secs / 86400, sod = (long long)secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	days += 719468; /* from 0000-03-01 */
	long long era = (days >= 0 ? days : days - 146096) / 146097;
	long long doe = days - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long long mp = (5 * doy + 2) / 153;
	struct tm tm = { 0 };
	tm.tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm.tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm.tm_year = (int)(yoe + era * 400 + (tm.tm_mon <= 1)) - 1900;
	tm.tm_hour = (int)(sod / 3600);
	tm.tm_min = (int)(sod / 60 % 60);
	tm.tm_sec = (int)(sod % 60);
	char *p = out;
	p = ids_digits(p, (unsigned)(tm.tm_year + 1900) % 10000u, 4);
	*p++ = '-';
	p = ids_digits(p, (unsigned)(tm.tm_mon + 1), 2);
	*p++ = '-';
	p = ids_digits(p, (unsigned)tm.tm_mday, 2);
	*p++ = 'T';
	p = ids_digits(p, (unsigned)tm.tm_hour, 2);
	*p++ = ':';
	p = ids_digits(p, (unsigned)tm.tm_min, 2);
	*p++ = ':';
	p = ids_digits(p, (unsigned)tm.tm_sec, 2);
	*p++ = '.';
	p = ids_digits(p, (unsigned)ms, 3);
	*p++ = 'Z';
	*p = '\0';
}

long long ids_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int ids_parse_iso_time(const char *s, long long *epoch_ms)
{
	struct tm tm = { 0 };
	int year, mon, day, hour = 0, min = 0, sec = 0, consumed = 0;
	long long ms = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &year, &mon, &day, &consumed) != 3)
		return -1;
	const char *p = s + consumed;
	if (*p == 'T') {
		if (sscanf(p, "T%2d:%2d:%2d%n", &hour, &min, &sec, &consumed) != 3)
			return -1;
		p += consumed;
		if (*p == '.') {
			long long scale = 100;
			for (p++; *p >= '0' && *p <= '9'; p++) {
				ms += (*p - '0') * scale;
				scale /= 10;
			}
		}
		if (*p == 'Z')
			p++;
		else if (!strcmp(p, "+00:00"))
			p += 6;
	}
	if (*p != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 ||
	    hour > 23 || min > 59 || sec > 60)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*epoch_ms = (long long)timegm(&tm) * 1000 + ms;
	return 0;
}
