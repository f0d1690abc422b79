/* dhcp: DHCP requests in, replies out (see dhcp.h; RFC 2131, RFC 2132). */
#include "compute/dhcp.h"

#include <string.h>

#define DHCP_FIXED 236 /* the BOOTP header before the options */
static const unsigned char dhcp_cookie[4] = { 99, 130, 83, 99 };

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int dhcp_parse(const unsigned char *packet, size_t len, struct dhcp_request *out)
{
	memset(out, 0, sizeof *out);
	if (len < DHCP_FIXED + 4 || len > DHCP_MAX_PACKET)
		return -1;
	/* op 1 (BOOTREQUEST), htype 1 (Ethernet), hlen 6. */
	if (packet[0] != 1 || packet[1] != 1 || packet[2] != 6)
		return -1;
	if (memcmp(packet + DHCP_FIXED, dhcp_cookie, 4) != 0)
		return -1;
	out->xid = get32(packet + 4);
	out->flags = (uint16_t)(packet[10] << 8 | packet[11]);
	out->ciaddr = get32(packet + 12);
	memcpy(out->chaddr, packet + 28, 6);
	size_t i = DHCP_FIXED + 4;
	while (i < len) {
		unsigned char code = packet[i++];
		if (code == 0)
			continue; /* pad */
		if (code == 255)
			break;    /* end */
		if (i >= len || i + 1 + packet[i] > len)
			return -1;
		size_t olen = packet[i++];
		const unsigned char *v = packet + i;
		if (code == 53 && olen == 1)
			out->type = (enum dhcp_type)v[0];
		else if (code == 50 && olen == 4)
			out->requested_ip = get32(v);
		else if (code == 54 && olen == 4)
			out->server_id = get32(v);
		i += olen;
	}
	return out->type >= DHCP_DISCOVER && out->type <= DHCP_INFORM ? 0 : -1;
}

/* Appends option code with len bytes of value at *at; keeps room for the end. */
static void put_option(unsigned char *out, size_t *at, unsigned char code, const void *value,
		       size_t len)
{
	if (len > 255 || *at + 2 + len + 1 > DHCP_MAX_PACKET)
		return;
	out[(*at)++] = code;
	out[(*at)++] = (unsigned char)len;
	memcpy(out + *at, value, len);
	*at += len;
}

static void put_option32(unsigned char *out, size_t *at, unsigned char code, uint32_t v)
{
	unsigned char b[4];
	put32(b, v);
	put_option(out, at, code, b, 4);
}

size_t dhcp_reply(const struct dhcp_request *req, const struct dhcp_lease *lease,
		  unsigned char *out)
{
	enum dhcp_type type;
	uint32_t yiaddr = lease->ip;
	switch (req->type) {
	case DHCP_DISCOVER:
		type = DHCP_OFFER;
		break;
	case DHCP_REQUEST: {
		/* Another server's offer taken, or not this interface's address. */
		if (req->server_id && req->server_id != lease->router)
			return 0;
		uint32_t asked = req->requested_ip ? req->requested_ip : req->ciaddr;
		type = asked == lease->ip ? DHCP_ACK : DHCP_NAK;
		break;
	}
	case DHCP_INFORM:
		type = DHCP_ACK;
		yiaddr = 0;
		break;
	default:
		return 0; /* DECLINE, RELEASE: nothing to answer */
	}
	memset(out, 0, DHCP_MAX_PACKET);
	out[0] = 2; /* BOOTREPLY */
	out[1] = 1;
	out[2] = 6;
	put32(out + 4, req->xid);
	out[10] = (unsigned char)(req->flags >> 8);
	out[11] = (unsigned char)req->flags;
	put32(out + 12, req->ciaddr);
	if (type != DHCP_NAK)
		put32(out + 16, yiaddr);
	put32(out + 20, lease->router); /* siaddr */
	memcpy(out + 28, req->chaddr, 6);
	memcpy(out + DHCP_FIXED, dhcp_cookie, 4);
	size_t at = DHCP_FIXED + 4;
	unsigned char t = (unsigned char)type;
	put_option(out, &at, 53, &t, 1);
	put_option32(out, &at, 54, lease->router);
	if (type != DHCP_NAK) {
		put_option32(out, &at, 1, lease->netmask);
		put_option32(out, &at, 3, lease->router);
		put_option32(out, &at, 28, (lease->ip & lease->netmask) | ~lease->netmask);
		if (type != DHCP_ACK || yiaddr) {
			put_option32(out, &at, 51, DHCP_LEASE_SECONDS);
			put_option32(out, &at, 58, DHCP_LEASE_SECONDS / 2);
			put_option32(out, &at, 59, DHCP_LEASE_SECONDS * 7 / 8);
		}
		if (lease->hostname[0])
			put_option(out, &at, 12, lease->hostname, strlen(lease->hostname));
		if (lease->domain[0])
			put_option(out, &at, 15, lease->domain, strlen(lease->domain));
		if (lease->mtu > 0) {
			unsigned char mtu[2] = { (unsigned char)(lease->mtu >> 8),
						 (unsigned char)lease->mtu };
			put_option(out, &at, 26, mtu, 2);
		}
	}
	out[at++] = 255;
	return at < DHCP_MIN_REPLY ? DHCP_MIN_REPLY : at;
}
