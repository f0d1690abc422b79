/*
 * dhcp: the DHCP server side of the VPC router, as pure functions over
 * packets (no sockets), so that it can be fuzzed.
 *
 * A guest's DHCPDISCOVER gets an OFFER of the address its network interface
 * was given at launch, a DHCPREQUEST for that address an ACK (for another
 * address a NAK), DHCPINFORM an ACK without an address; everything else is
 * ignored.  The lease carries the subnet mask, the router (the subnet's
 * gateway), the host name and domain, the MTU and the lease time.  Which
 * interface asked is decided by the caller from the packet's MAC and the
 * tap it came in on, never from anything else the guest says.
 */
#ifndef AMIBOX_COMPUTE_DHCP_H
#define AMIBOX_COMPUTE_DHCP_H

#include <stddef.h>
#include <stdint.h>

#define DHCP_MAX_PACKET 1500
#define DHCP_MIN_REPLY 300 /* BOOTP's minimum, padded */
#define DHCP_LEASE_SECONDS 3600

enum dhcp_type {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

/* What a client sent, as far as the server needs it. */
struct dhcp_request {
	uint32_t xid;
	uint16_t flags;
	unsigned char chaddr[6];
	uint32_t ciaddr;        /* host byte order */
	uint32_t requested_ip;  /* option 50, 0 if absent */
	uint32_t server_id;     /* option 54, 0 if absent */
	enum dhcp_type type;
};

/* The lease the server gives a client. */
struct dhcp_lease {
	uint32_t ip, netmask, router; /* host byte order */
	char hostname[64];
	char domain[64];
	int mtu;
};

/*
 * Parses a BOOTREQUEST with DHCP options; -1 for anything that is not one
 * (short, wrong op or hardware type, no magic cookie, no message type,
 * malformed options).
 */
int dhcp_parse(const unsigned char *packet, size_t len, struct dhcp_request *out);

/*
 * Writes the reply to req for lease into out (at least DHCP_MAX_PACKET
 * bytes); returns its length, or 0 when the request gets no reply.
 */
size_t dhcp_reply(const struct dhcp_request *req, const struct dhcp_lease *lease,
		  unsigned char *out);

#endif
