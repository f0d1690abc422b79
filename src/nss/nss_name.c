/*
 * nss/nss_name.c: a public DNS name of amibox's back into its address
 * (see nss_name.h).  Strict: four decimal octets without leading zeros,
 * joined by dashes after "ec2-", then EC2's suffix for us-east-1 or for a
 * named region; anything else is not ours.
 */
#include <string.h>

#include "nss/nss_name.h"

#define NSS_NAME_US_EAST_1 ".compute-1.amazonaws.com"
#define NSS_NAME_REGIONAL ".compute.amazonaws.com"
#define NSS_NAME_REGION_MAX 32

/*
 * ASCII only, whatever the locale of the process that resolves (the module
 * runs inside any program): <ctype.h> would follow its LC_CTYPE.
 */
static int nss_name_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int nss_name_lower(char ch)
{
	return ch >= 'a' && ch <= 'z';
}

/* One octet at *p, ended by stop; advances *p past it.  -1 if malformed. */
static int nss_name_octet(const char **p, char stop)
{
	const char *s = *p;
	int value = 0, digits = 0;
	while (nss_name_digit(s[digits]) && digits < 3)
		value = value * 10 + (s[digits++] - '0');
	if (digits == 0 || s[digits] != stop || value > 255 || (digits > 1 && s[0] == '0'))
		return -1;
	*p = s + digits + 1;
	return value;
}

/* Whether rest is EC2's suffix: us-east-1's, or ".<region>" then the regional one. */
static int nss_name_suffix_ok(const char *rest)
{
	if (!strcmp(rest, NSS_NAME_US_EAST_1))
		return 1;
	size_t len = strlen(rest), tail = strlen(NSS_NAME_REGIONAL);
	if (len <= tail + 1 || strcmp(rest + len - tail, NSS_NAME_REGIONAL) != 0)
		return 0;
	size_t region = len - tail - 1;
	int letters = 0;
	if (rest[0] != '.' || region > NSS_NAME_REGION_MAX || rest[1] == '-' ||
	    rest[region] == '-')
		return 0;
	for (size_t i = 1; i <= region; i++) {
		char ch = rest[i];
		if (nss_name_lower(ch))
			letters = 1;
		else if (!nss_name_digit(ch) && ch != '-')
			return 0;
	}
	return letters;
}

int nss_name_parse(const char *name, uint32_t *addr, char *canon, size_t canon_size)
{
	size_t len = name ? strnlen(name, NSS_NAME_MAX + 2) : 0;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > NSS_NAME_MAX || canon_size < NSS_NAME_MAX + 1)
		return -1;
	for (size_t i = 0; i < len; i++)
		canon[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	canon[len] = '\0';
	if (strncmp(canon, "ec2-", 4) != 0)
		return -1;
	const char *p = canon + 4;
	int octets[4];
	for (int i = 0; i < 4; i++)
		if ((octets[i] = nss_name_octet(&p, i < 3 ? '-' : '.')) < 0)
			return -1;
	if (octets[0] != 127 || !nss_name_suffix_ok(p - 1))
		return -1;
	unsigned char bytes[4] = { (unsigned char)octets[0], (unsigned char)octets[1],
				   (unsigned char)octets[2], (unsigned char)octets[3] };
	memcpy(addr, bytes, sizeof bytes);
	return 0;
}
