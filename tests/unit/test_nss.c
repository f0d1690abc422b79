/*
 * Unit tests for nss/nss_name: the public DNS names the daemon gives
 * (ec2_public_dns_name, us-east-1 and another region) read back into their
 * address; the names that are not amibox's (other addresses, other shapes)
 * refused, so that the host's other resolvers answer them.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ec2/internal.h"
#include "nss/nss_name.h"

/* The dotted address name stands for, or "" if it is refused. */
static const char *parsed(const char *name)
{
	static char text[INET_ADDRSTRLEN];
	char canon[NSS_NAME_MAX + 1];
	uint32_t addr;
	if (nss_name_parse(name, &addr, canon, sizeof canon) < 0)
		return "";
	assert_non_null(inet_ntop(AF_INET, &addr, text, sizeof text));
	return text;
}

static void test_round_trip(void **state)
{
	(void)state;
	static const char *const regions[] = { "us-east-1", "eu-west-1", "ap-southeast-2" };
	static const char *const ips[] = { "127.100.0.5", "127.100.255.254", "127.0.0.1",
					   "127.255.10.0" };
	struct server srv;
	memset(&srv, 0, sizeof srv);
	for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++) {
		snprintf(srv.region, sizeof srv.region, "%s", regions[r]);
		for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
			char name[128];
			ec2_public_dns_name(&srv, ips[i], name);
			assert_string_equal(parsed(name), ips[i]);
		}
	}
}

static void test_forms(void **state)
{
	(void)state;
	char canon[NSS_NAME_MAX + 1];
	uint32_t addr;
	/* Any case, a trailing dot; the canonical name is lower case, dotless. */
	assert_int_equal(nss_name_parse("EC2-127-100-0-7.Compute-1.AmazonAWS.com.", &addr,
					canon, sizeof canon), 0);
	assert_string_equal(canon, "ec2-127-100-0-7.compute-1.amazonaws.com");
	assert_string_equal(parsed("ec2-127-1-2-3.cn-north-1.compute.amazonaws.com"), "127.1.2.3");
	/* Too small a buffer for the canonical name is refused, not overrun. */
	char small[16];
	assert_int_equal(nss_name_parse("ec2-127-0-0-1.compute-1.amazonaws.com", &addr, small,
					sizeof small), -1);
}

static void test_not_ours(void **state)
{
	(void)state;
	static const char *const names[] = {
		"ec2-8-8-8-8.compute-1.amazonaws.com",     /* not loopback: EC2's own */
		"ec2-172-31-0-5.compute-1.amazonaws.com",  /* a private address */
		"ec2-127-100-0-256.compute-1.amazonaws.com",
		"ec2-127-100-00-5.compute-1.amazonaws.com", /* leading zero */
		"ec2-127-100-0.compute-1.amazonaws.com",
		"ec2-127-100-0-5-6.compute-1.amazonaws.com",
		"ec2-127-100-0-5.compute.amazonaws.com",   /* no region */
		"ec2-127-100-0-5.123.compute.amazonaws.com",
		"ec2-127-100-0-5.-x.compute.amazonaws.com",
		"ec2-127-100-0-5.eu_west.compute.amazonaws.com",
		"ec2-127-100-0-5.compute-1.amazonaws.com.evil.example",
		"ec2-127-100-0-5.compute-1.amazonaws.co",
		"ip-127-100-0-5.ec2.internal",
		"ec2--127-100-0-5.compute-1.amazonaws.com",
		"ec2-127-100-0-+5.compute-1.amazonaws.com",
		"localhost", "", ".",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (parsed(names[i])[0])
			fail_msg("'%s' was read as %s", names[i], parsed(names[i]));
	}
	/* Longer than a DNS name may be. */
	char name[400];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	memcpy(name, "ec2-127-0-0-1.", 14);
	assert_string_equal(parsed(name), "");
	assert_string_equal(parsed(NULL), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_not_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
