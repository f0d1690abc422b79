/*
 * nss/nss_amibox.c: libnss_amibox.so.2, a glibc name service module that
 * resolves the public DNS names amibox gives instances
 * (ec2-127-100-0-5.compute-1.amazonaws.com) to the loopback address they
 * spell, on the host, with no DNS server and no daemon to ask: the name
 * carries the address (nss_name.c).  Enabled by naming it on the hosts line
 * of /etc/nsswitch.conf ("hosts: files amibox dns"); any other name is left
 * to the modules after it.
 *
 * Built without the sanitizers (it is loaded by every program that resolves
 * a name), exporting only the _nss_amibox_* entry points.  IPv4 only: the
 * public addresses are loopback IPv4 addresses.
 */
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <stdalign.h>
#include <string.h>
#include <sys/socket.h>

#include "nss/nss_name.h"

#define NSS_EXPORT __attribute__((visibility("default")))

enum nss_status _nss_amibox_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat,
					     char *buffer, size_t buflen, int *errnop,
					     int *h_errnop, int32_t *ttlp) NSS_EXPORT;
enum nss_status _nss_amibox_gethostbyname3_r(const char *name, int af, struct hostent *host,
					     char *buffer, size_t buflen, int *errnop,
					     int *h_errnop, int32_t *ttlp, char **canonp) NSS_EXPORT;
enum nss_status _nss_amibox_gethostbyname2_r(const char *name, int af, struct hostent *host,
					     char *buffer, size_t buflen, int *errnop,
					     int *h_errnop) NSS_EXPORT;
enum nss_status _nss_amibox_gethostbyname_r(const char *name, struct hostent *host,
					    char *buffer, size_t buflen, int *errnop,
					    int *h_errnop) NSS_EXPORT;

/* Not ours: the next module in nsswitch.conf decides. */
static enum nss_status nss_amibox_not_found(int *errnop, int *h_errnop)
{
	*errnop = ENOENT;
	*h_errnop = HOST_NOT_FOUND;
	return NSS_STATUS_NOTFOUND;
}

/* The caller's buffer is too small: glibc calls again with a larger one. */
static enum nss_status nss_amibox_too_small(int *errnop, int *h_errnop)
{
	*errnop = ERANGE;
	*h_errnop = NETDB_INTERNAL;
	return NSS_STATUS_TRYAGAIN;
}

/* Carves size bytes aligned to align from the caller's buffer; NULL if full. */
static void *nss_amibox_carve(char **at, size_t *left, size_t size, size_t align)
{
	size_t pad = (align - (uintptr_t)*at % align) % align;
	if (*left < pad || *left - pad < size)
		return NULL;
	void *p = *at + pad;
	*at += pad + size;
	*left -= pad + size;
	return p;
}

enum nss_status _nss_amibox_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat,
					     char *buffer, size_t buflen, int *errnop,
					     int *h_errnop, int32_t *ttlp)
{
	char canon[NSS_NAME_MAX + 1];
	uint32_t addr;
	if (nss_name_parse(name, &addr, canon, sizeof canon) < 0)
		return nss_amibox_not_found(errnop, h_errnop);
	char *at = buffer;
	size_t left = buflen, len = strlen(canon) + 1;
	struct gaih_addrtuple *tuple = nss_amibox_carve(&at, &left, sizeof *tuple,
							alignof(struct gaih_addrtuple));
	char *copy = nss_amibox_carve(&at, &left, len, 1);
	if (!tuple || !copy)
		return nss_amibox_too_small(errnop, h_errnop);
	memcpy(copy, canon, len);
	memset(tuple, 0, sizeof *tuple);
	tuple->name = copy;
	tuple->family = AF_INET;
	memcpy(tuple->addr, &addr, sizeof addr);
	/* glibc may hand in a tuple of its own to fill first. */
	if (*pat) {
		**pat = *tuple;
	} else {
		*pat = tuple;
	}
	if (ttlp)
		*ttlp = 0;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_amibox_gethostbyname3_r(const char *name, int af, struct hostent *host,
					     char *buffer, size_t buflen, int *errnop,
					     int *h_errnop, int32_t *ttlp, char **canonp)
{
	char canon[NSS_NAME_MAX + 1];
	uint32_t addr;
	if (af != AF_INET || nss_name_parse(name, &addr, canon, sizeof canon) < 0)
		return nss_amibox_not_found(errnop, h_errnop);
	char *at = buffer;
	size_t left = buflen, len = strlen(canon) + 1;
	char **aliases = nss_amibox_carve(&at, &left, sizeof(char *), alignof(char *));
	char **list = nss_amibox_carve(&at, &left, 2 * sizeof(char *), alignof(char *));
	char *bytes = nss_amibox_carve(&at, &left, sizeof addr, alignof(uint32_t));
	char *copy = nss_amibox_carve(&at, &left, len, 1);
	if (!aliases || !list || !bytes || !copy)
		return nss_amibox_too_small(errnop, h_errnop);
	memcpy(copy, canon, len);
	memcpy(bytes, &addr, sizeof addr);
	aliases[0] = NULL;
	list[0] = bytes;
	list[1] = NULL;
	host->h_name = copy;
	host->h_aliases = aliases;
	host->h_addrtype = AF_INET;
	host->h_length = sizeof addr;
	host->h_addr_list = list;
	if (ttlp)
		*ttlp = 0;
	if (canonp)
		*canonp = copy;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_amibox_gethostbyname2_r(const char *name, int af, struct hostent *host,
					     char *buffer, size_t buflen, int *errnop,
					     int *h_errnop)
{
	return _nss_amibox_gethostbyname3_r(name, af, host, buffer, buflen, errnop, h_errnop,
					    NULL, NULL);
}

enum nss_status _nss_amibox_gethostbyname_r(const char *name, struct hostent *host,
					    char *buffer, size_t buflen, int *errnop,
					    int *h_errnop)
{
	return _nss_amibox_gethostbyname3_r(name, AF_INET, host, buffer, buflen, errnop,
					    h_errnop, NULL, NULL);
}
