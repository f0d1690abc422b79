/*
 * libFuzzer target for compute/dhcp: a guest controls every byte of the
 * DHCP packets the VPC router parses.  Whatever parses is also answered,
 * with a fixed lease, so the reply writer runs on every request shape.
 */
#include <stddef.h>
#include <stdint.h>

#include "compute/dhcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_request req;
	unsigned char reply[DHCP_MAX_PACKET];
	static const struct dhcp_lease lease = {
		.ip = 0xac1f0514, .netmask = 0xfffff000, .router = 0xac1f0001,
		.hostname = "ip-172-31-5-20", .domain = "ec2.internal", .mtu = 1500,
	};
	if (dhcp_parse(data, size, &req) == 0)
		dhcp_reply(&req, &lease, reply);
	return 0;
}
