/*
 * ids: resource identifiers and times as AWS writes them.
 *
 * Resource IDs are a prefix and 17 lowercase hex digits ("snap-0123..."),
 * account IDs 12 decimal digits, access key IDs "AKIA" and 16 upper-case
 * base-32 characters, secrets 40 characters of base64's alphabet.
 */
#ifndef AMIBOX_UTIL_IDS_H
#define AMIBOX_UTIL_IDS_H

#include <stddef.h>
#include <time.h>

#define ID_MAX 32
#define ISO_TIME_MAX 32

/* Writes prefix + "-" + 17 random hex digits into out (ID_MAX bytes). */
void ids_resource(const char *prefix, char out[ID_MAX]);
/*
 * 1 if id is prefix "-" and then 8 or 17 lowercase hex digits (the two ID
 * lengths AWS has used), else 0.
 */
int ids_valid_resource(const char *prefix, const char *id);
void ids_account(char out[13]);
void ids_access_key(char out[21]);
void ids_secret(char out[41]);
/* 1 if s is exactly 12 decimal digits. */
int ids_valid_account(const char *s);
/* A random UUID (version 4), for request IDs: 36 characters + NUL. */
void ids_uuid(char out[37]);

/* "2024-01-02T03:04:05.000Z" from milliseconds since the epoch. */
void ids_iso_time(long long epoch_ms, char out[ISO_TIME_MAX]);
/* Milliseconds since the epoch, now. */
long long ids_now_ms(void);
/*
 * Parses an ISO 8601 UTC time ("2024-01-02T03:04:05Z", optional fraction,
 * or a bare date) into milliseconds; -1 if malformed.
 */
int ids_parse_iso_time(const char *s, long long *epoch_ms);

#endif
