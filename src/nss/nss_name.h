/*
 * nss/nss_name.h: the public DNS names amibox gives instances with a public
 * address (ec2-127-100-0-5.compute-1.amazonaws.com in us-east-1,
 * ec2-127-100-0-5.eu-west-1.compute.amazonaws.com elsewhere, as EC2 names
 * them), read back into the address they spell.  The host's resolver does
 * this through libnss_amibox (nss_amibox.c), so that such a name reaches the
 * instance from the host without a DNS server.
 *
 * Only loopback addresses (127.0.0.0/8, where amibox's public pool lives)
 * are answered: a name that spells any other address is not amibox's, and
 * is left to the host's other resolvers.
 */
#ifndef AMIBOX_NSS_NAME_H
#define AMIBOX_NSS_NAME_H

#include <stddef.h>
#include <stdint.h>

/* The longest name read (a DNS name's limit), without a trailing dot. */
#define NSS_NAME_MAX 253

/*
 * Reads name (any case, a trailing dot allowed): 0 with *addr the address
 * in network byte order and canon the name in lower case without the dot
 * (canon_size bytes, at least NSS_NAME_MAX + 1), or -1 if name is not a
 * public DNS name of a loopback address.  Pure: no allocation, no I/O.
 */
int nss_name_parse(const char *name, uint32_t *addr, char *canon, size_t canon_size);

#endif
