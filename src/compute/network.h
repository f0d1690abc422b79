/*
 * network: the data plane of VPCs on this host (the interface the catalog
 * fills and compute and the VPC router read).
 *
 * Each VPC with running instances lives in a network namespace of its own
 * that amibox makes, anchored by that VPC's router process (`amibox
 * router`).  An instance's NIC is a tap device in its VPC's namespace whose
 * file descriptor QEMU gets; the namespace routes between taps (a /32 route
 * per instance, proxy ARP, the subnet's gateway address on each tap), the
 * router answers DHCP, serves the metadata service at 169.254.169.254, and
 * forwards public addresses (a loopback pool on the host, 127.100.0.0/16 by
 * default) to instances as their security groups allow.  nftables in the
 * namespace enforces security groups between instances, statefully.  The
 * namespace has no link to the host's networks: nothing a guest sends
 * leaves it except through the router's own sockets.
 *
 * The router reads what it needs from the catalog as the struct below
 * (catalog_vpc_ports, catalog/catalog_network.h), on start and whenever the
 * daemon signals it (SIGHUP) after a change.
 */
#ifndef AMIBOX_COMPUTE_NETWORK_H
#define AMIBOX_COMPUTE_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "util/ids.h"

/* One security-group rule of a port, with its peers resolved to CIDRs. */
struct network_rule {
	int egress;           /* 0: ingress (peer = source), 1: egress (peer = destination) */
	int protocol;         /* -1 all, else the IP protocol number (1 icmp, 6 tcp, 17 udp, ...) */
	int from_port;        /* tcp/udp: first port; icmp: type (-1 any) */
	int to_port;          /* tcp/udp: last port; icmp: code (-1 any) */
	uint32_t net;         /* host byte order; peer address & mask == net */
	uint32_t mask;
};

/* One instance's network interface in a VPC, as the data plane needs it. */
struct network_port {
	char instance_id[ID_MAX];
	char eni_id[ID_MAX];
	char vpc_id[ID_MAX];
	unsigned char mac[6];
	uint32_t ip;          /* host byte order */
	uint32_t gateway;     /* the subnet's first host address (x.x.x.1 of a /20) */
	int prefix_len;       /* the subnet's */
	uint32_t public_ip;   /* 0: none */
	int device_index;
	char hostname[64];    /* the private DNS name's first label: ip-172-31-5-20 */
	struct network_rule *rules; /* the union of its security groups' rules */
	size_t nrules;
};

void network_ports_free(struct network_port *ports, size_t n);

/*
 * Whether a packet from or to peer (host byte order) of protocol and port
 * is allowed by port's rules in the given direction; the router uses it for
 * connections to public addresses, nftables enforces the same rules inside
 * the namespace.  For ICMP, dport is type << 8 | code.
 */
int network_allows(const struct network_port *port, int egress, uint32_t peer,
		   int protocol, int dport);

/* "a.b.c.d" from a host-order address into out (16 bytes). */
void network_ip_text(uint32_t ip, char out[16]);
/* Parses "a.b.c.d/n" into host-order net and prefix length; -1 if malformed. */
int network_parse_cidr(const char *text, uint32_t *net, int *prefix_len);
/* Parses "a.b.c.d"; -1 if malformed. */
int network_parse_ip(const char *text, uint32_t *ip);

#endif
