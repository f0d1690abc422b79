/* network: what the VPC data plane shares (see network.h). */
#include "compute/network.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void network_ports_free(struct network_port *ports, size_t n)
{
	if (!ports)
		return;
	for (size_t i = 0; i < n; i++)
		free(ports[i].rules);
	free(ports);
}

static int network_rule_matches(const struct network_rule *r, uint32_t peer, int protocol,
				int dport)
{
	if ((peer & r->mask) != r->net)
		return 0;
	if (r->protocol == -1)
		return 1;
	if (r->protocol != protocol)
		return 0;
	if (protocol == 6 || protocol == 17)
		return r->from_port == -1 || (dport >= r->from_port && dport <= r->to_port);
	if (protocol == 1) {
		int type = dport >> 8, code = dport & 0xff;
		return (r->from_port == -1 || r->from_port == type) &&
		       (r->to_port == -1 || r->to_port == code);
	}
	return 1; /* other protocols have no ports */
}

int network_allows(const struct network_port *port, int egress, uint32_t peer,
		   int protocol, int dport)
{
	for (size_t i = 0; i < port->nrules; i++)
		if (port->rules[i].egress == egress &&
		    network_rule_matches(&port->rules[i], peer, protocol, dport))
			return 1;
	return 0;
}

void network_ip_text(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
}

int network_parse_ip(const char *text, uint32_t *ip)
{
	struct in_addr a;
	/* inet_pton takes only the dotted quad, no shorthand or octal. */
	if (inet_pton(AF_INET, text, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

int network_parse_cidr(const char *text, uint32_t *net, int *prefix_len)
{
	char addr[16];
	const char *slash = strchr(text, '/');
	if (!slash || (size_t)(slash - text) >= sizeof addr)
		return -1;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	char *end = NULL;
	long n = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || n < 0 || n > 32 || network_parse_ip(addr, net) < 0)
		return -1;
	*prefix_len = (int)n;
	return 0;
}
