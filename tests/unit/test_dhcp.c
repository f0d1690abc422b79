/*
 * Unit tests for compute/dhcp: a client's DISCOVER and REQUEST as busybox's
 * udhcpc and systemd-networkd send them, the replies read back field by
 * field, and the packets that must get no answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "compute/dhcp.h"

static const unsigned char mac[6] = { 0x0a, 0x12, 0x34, 0x56, 0x78, 0x9a };
static const struct dhcp_lease lease = {
	.ip = 0xac1f0514,      /* 172.31.5.20 */
	.netmask = 0xfffff000, /* /20 */
	.router = 0xac1f0001,  /* 172.31.0.1 */
	.hostname = "ip-172-31-5-20",
	.domain = "ec2.internal",
	.mtu = 1500,
};

/* A client packet: type, then options (code, len, bytes...) as given. */
static size_t client_packet(unsigned char *p, unsigned char type, const unsigned char *opts,
			    size_t opts_len)
{
	memset(p, 0, 600);
	p[0] = 1;
	p[1] = 1;
	p[2] = 6;
	p[4] = 0xde, p[5] = 0xad, p[6] = 0xbe, p[7] = 0xef;
	p[10] = 0x80; /* broadcast flag */
	memcpy(p + 28, mac, 6);
	p[236] = 99, p[237] = 130, p[238] = 83, p[239] = 99;
	size_t at = 240;
	p[at++] = 53;
	p[at++] = 1;
	p[at++] = type;
	if (opts_len)
		memcpy(p + at, opts, opts_len);
	at += opts_len;
	p[at++] = 255;
	return at < 300 ? 300 : at;
}

/* The value of option code in a reply, or NULL. */
static const unsigned char *option(const unsigned char *r, size_t len, unsigned char code,
				   size_t *olen)
{
	for (size_t i = 240; i < len && r[i] != 255;) {
		if (r[i] == 0) {
			i++;
			continue;
		}
		if (r[i] == code) {
			*olen = r[i + 1];
			return r + i + 2;
		}
		i += 2 + r[i + 1];
	}
	return NULL;
}

static void test_discover_offer(void **state)
{
	(void)state;
	unsigned char p[600], r[DHCP_MAX_PACKET];
	struct dhcp_request req;
	static const unsigned char opts[] = { 55, 4, 1, 3, 6, 12, 12, 4, 'g', 'u', 'e', 's' };
	size_t len = client_packet(p, DHCP_DISCOVER, opts, sizeof opts);
	assert_int_equal(dhcp_parse(p, len, &req), 0);
	assert_int_equal(req.type, DHCP_DISCOVER);
	assert_memory_equal(req.chaddr, mac, 6);
	size_t n = dhcp_reply(&req, &lease, r);
	assert_true(n >= DHCP_MIN_REPLY);
	assert_int_equal(r[0], 2);
	assert_memory_equal(r + 4, p + 4, 4); /* xid */
	assert_memory_equal(r + 16, "\xac\x1f\x05\x14", 4); /* yiaddr */
	assert_memory_equal(r + 28, mac, 6);
	size_t olen = 0;
	const unsigned char *v = option(r, n, 53, &olen);
	assert_non_null(v);
	assert_int_equal(v[0], DHCP_OFFER);
	assert_memory_equal(option(r, n, 1, &olen), "\xff\xff\xf0\x00", 4);
	assert_memory_equal(option(r, n, 3, &olen), "\xac\x1f\x00\x01", 4);
	assert_memory_equal(option(r, n, 54, &olen), "\xac\x1f\x00\x01", 4);
	v = option(r, n, 12, &olen);
	assert_int_equal(olen, strlen("ip-172-31-5-20"));
	assert_memory_equal(v, "ip-172-31-5-20", olen);
	assert_non_null(option(r, n, 51, &olen));
}

static void test_request_ack_and_nak(void **state)
{
	(void)state;
	unsigned char p[600], r[DHCP_MAX_PACKET];
	struct dhcp_request req;
	size_t olen;
	static const unsigned char mine[] = { 50, 4, 0xac, 0x1f, 0x05, 0x14, 54, 4, 0xac, 0x1f, 0, 1 };
	size_t len = client_packet(p, DHCP_REQUEST, mine, sizeof mine);
	assert_int_equal(dhcp_parse(p, len, &req), 0);
	size_t n = dhcp_reply(&req, &lease, r);
	assert_int_equal(option(r, n, 53, &olen)[0], DHCP_ACK);
	assert_memory_equal(r + 16, "\xac\x1f\x05\x14", 4);
	/* Another address: NAK, with no address in it. */
	static const unsigned char other[] = { 50, 4, 10, 0, 0, 7 };
	len = client_packet(p, DHCP_REQUEST, other, sizeof other);
	assert_int_equal(dhcp_parse(p, len, &req), 0);
	n = dhcp_reply(&req, &lease, r);
	assert_int_equal(option(r, n, 53, &olen)[0], DHCP_NAK);
	assert_memory_equal(r + 16, "\0\0\0\0", 4);
	/* Another server's offer taken: silence. */
	static const unsigned char elsewhere[] = { 50, 4, 0xac, 0x1f, 0x05, 0x14, 54, 4, 10, 0, 0, 1 };
	len = client_packet(p, DHCP_REQUEST, elsewhere, sizeof elsewhere);
	assert_int_equal(dhcp_parse(p, len, &req), 0);
	assert_int_equal(dhcp_reply(&req, &lease, r), 0);
	/* A renewal: no option 50, the address in ciaddr. */
	len = client_packet(p, DHCP_REQUEST, NULL, 0);
	memcpy(p + 12, "\xac\x1f\x05\x14", 4);
	assert_int_equal(dhcp_parse(p, len, &req), 0);
	n = dhcp_reply(&req, &lease, r);
	assert_int_equal(option(r, n, 53, &olen)[0], DHCP_ACK);
}

static void test_refused_packets(void **state)
{
	(void)state;
	unsigned char p[600], r[DHCP_MAX_PACKET];
	struct dhcp_request req;
	size_t len = client_packet(p, DHCP_RELEASE, NULL, 0);
	assert_int_equal(dhcp_parse(p, len, &req), 0);
	assert_int_equal(dhcp_reply(&req, &lease, r), 0);
	len = client_packet(p, DHCP_DISCOVER, NULL, 0);
	p[0] = 2; /* a reply, not a request */
	assert_int_equal(dhcp_parse(p, len, &req), -1);
	p[0] = 1;
	p[236] = 0; /* no magic cookie */
	assert_int_equal(dhcp_parse(p, len, &req), -1);
	p[236] = 99;
	assert_int_equal(dhcp_parse(p, 200, &req), -1); /* short */
	/* An option that runs past the end. */
	static const unsigned char bad[] = { 12, 200, 'x' };
	len = client_packet(p, DHCP_DISCOVER, bad, sizeof bad);
	assert_int_equal(dhcp_parse(p, 245, &req), -1);
	/* No message type. */
	len = client_packet(p, DHCP_DISCOVER, NULL, 0);
	p[240] = 0, p[241] = 0, p[242] = 0;
	assert_int_equal(dhcp_parse(p, len, &req), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discover_offer),
		cmocka_unit_test(test_request_ack_and_nak),
		cmocka_unit_test(test_refused_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
