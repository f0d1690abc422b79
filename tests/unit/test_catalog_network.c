/*
 * Unit tests for the network model's interface to RunInstances and the data
 * plane (src/catalog/catalog_network.h): the lazy default VPC, interfaces
 * (lowest free address, reserved and taken addresses, groups of another
 * VPC), the public address pool, and catalog_vpc_ports with its rules
 * resolved to CIDRs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog_instances.h"
#include "catalog/catalog_network.h"

#define ACCOUNT "111122223333"

static const char *const zones[] = { "us-east-1a", "us-east-1b", "us-east-1c" };

struct fixture {
	char dir[64];
	struct catalog *cat;
	char vpc[ID_MAX];
	struct subnet_row subnet;      /* the default subnet of us-east-1a */
	struct security_group_row def; /* the default VPC's default group */
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct err e = ERR_INIT;
	snprintf(f->dir, sizeof f->dir, "/tmp/amibox-net-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(catalog_open(f->dir, &f->cat, &e), 0);
	assert_int_equal(catalog_default_vpc(f->cat, ACCOUNT, "us-east-1", zones, 3, f->vpc, &e), 0);
	assert_int_equal(catalog_subnet_default_for_zone(f->cat, ACCOUNT, "us-east-1a", &f->subnet, &e),
			 1);
	assert_int_equal(catalog_sg_by_name(f->cat, f->vpc, "default", &f->def, &e), 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	catalog_close(f->cat);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* An interface in the fixture's subnet, in its own transaction. */
static int make_eni(struct fixture *f, const char *const *groups, size_t ngroups, const char *ip,
		    struct eni *out, struct err *e)
{
	err_clear(e);
	if (catalog_begin(f->cat, e) < 0)
		return -1;
	if (catalog_eni_create(f->cat, ACCOUNT, f->subnet.id, groups, ngroups, ip, 1, out, e) < 0) {
		catalog_rollback(f->cat);
		return -1;
	}
	return catalog_commit(f->cat, e);
}

static void test_default_vpc_once(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	char again[ID_MAX];
	struct vpc_row v;
	assert_int_equal(catalog_default_vpc(f->cat, ACCOUNT, "us-east-1", zones, 3, again, &e), 0);
	assert_string_equal(again, f->vpc);
	assert_int_equal(catalog_vpc_get(f->cat, f->vpc, &v, &e), 1);
	assert_string_equal(v.cidr_block, "172.31.0.0/16");
	assert_true(v.is_default && v.dns_support && v.dns_hostnames);
	assert_string_equal(f->subnet.cidr_block, "172.31.0.0/20");
	assert_true(f->subnet.map_public_ip && f->subnet.default_for_az);
	assert_int_equal(f->subnet.free_addresses, 4091);
}

static void test_eni_addresses(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct eni a, b, c, d;
	assert_int_equal(make_eni(f, NULL, 0, "", &a, &e), 0);
	/* The first four addresses are EC2's. */
	assert_string_equal(a.private_ip, "172.31.0.4");
	assert_int_equal(a.ngroups, 1);
	assert_string_equal(a.group_ids[0], f->def.id);
	assert_true(a.want_public_ip);
	assert_string_equal(a.public_ip, "");
	assert_int_equal(strncmp(a.mac, "0a:", 3), 0);
	assert_int_equal(make_eni(f, NULL, 0, "", &b, &e), 0);
	assert_string_equal(b.private_ip, "172.31.0.5");
	assert_int_equal(make_eni(f, NULL, 0, "172.31.0.9", &c, &e), 0);
	assert_int_equal(make_eni(f, NULL, 0, "172.31.0.9", &d, &e), -1);
	assert_string_equal(e.code, "InvalidIPAddress.InUse");
	assert_int_equal(make_eni(f, NULL, 0, "172.31.0.2", &d, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	assert_int_equal(make_eni(f, NULL, 0, "172.31.15.255", &d, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	assert_int_equal(make_eni(f, NULL, 0, "172.31.16.4", &d, &e), -1);
	assert_string_equal(e.code, "InvalidParameterValue");
	/* A freed address is the lowest again. */
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_eni_delete(f->cat, a.id, &e), 0);
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	assert_int_equal(make_eni(f, NULL, 0, "", &d, &e), 0);
	assert_string_equal(d.private_ip, "172.31.0.4");
	assert_int_equal(make_eni(f, NULL, 0, "", &a, &e), 0);
	assert_string_equal(a.private_ip, "172.31.0.6");
	struct subnet_row s;
	assert_int_equal(catalog_subnet_get(f->cat, f->subnet.id, &s, &e), 1);
	assert_int_equal(s.free_addresses, 4091 - 4);
}

static void test_eni_groups_and_subnet(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct eni n;
	struct vpc_row other;
	struct security_group_row foreign;
	memset(&other, 0, sizeof other);
	ids_resource("vpc", other.id);
	snprintf(other.owner_id, sizeof other.owner_id, ACCOUNT);
	snprintf(other.cidr_block, sizeof other.cidr_block, "10.9.0.0/16");
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_vpc_create(f->cat, "us-east-1", &other, &e), 0);
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	assert_int_equal(catalog_sg_by_name(f->cat, other.id, "default", &foreign, &e), 1);
	const char *groups[] = { foreign.id };
	assert_int_equal(make_eni(f, groups, 1, "", &n, &e), -1);
	assert_string_equal(e.code, "InvalidParameter");
	err_clear(&e);
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_eni_create(f->cat, "999988887777", f->subnet.id, NULL, 0, "", 0, &n,
					    &e), -1);
	catalog_rollback(f->cat);
	assert_string_equal(e.code, "InvalidSubnetID.NotFound");
	assert_int_equal(make_eni(f, NULL, 0, "", &n, &e), 0);
	err_clear(&e);
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_subnet_delete(f->cat, f->subnet.id, &e), -1);
	catalog_rollback(f->cat);
	assert_string_equal(e.code, "DependencyViolation");
}

static void test_public_pool(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct eni a, b;
	char ip[16];
	assert_int_equal(make_eni(f, NULL, 0, "", &a, &e), 0);
	assert_int_equal(make_eni(f, NULL, 0, "", &b, &e), 0);
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_public_ip_free(f->cat, "127.100.0.0/16", ip, &e), 0);
	assert_string_equal(ip, "127.100.0.1");
	assert_int_equal(catalog_eni_set_public_ip(f->cat, a.id, ip, &e), 0);
	assert_int_equal(catalog_public_ip_free(f->cat, "127.100.0.0/16", ip, &e), 0);
	assert_string_equal(ip, "127.100.0.2");
	assert_int_equal(catalog_eni_set_public_ip(f->cat, b.id, ip, &e), 0);
	/* A /30 has two usable addresses, both taken now. */
	assert_int_equal(catalog_public_ip_free(f->cat, "127.100.0.0/30", ip, &e), -1);
	assert_string_equal(e.code, "AddressLimitExceeded");
	err_clear(&e);
	assert_int_equal(catalog_eni_set_public_ip(f->cat, a.id, "", &e), 0);
	assert_int_equal(catalog_public_ip_free(f->cat, "127.100.0.0/16", ip, &e), 0);
	assert_string_equal(ip, "127.100.0.1");
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	struct eni got;
	assert_int_equal(catalog_eni_get(f->cat, b.id, &got, &e), 1);
	assert_string_equal(got.public_ip, "127.100.0.2");
}

/* An instance row in state, with the interface attached as device 0. */
static void run_instance(struct fixture *f, const char *id, const char *state,
			 const struct eni *n)
{
	struct err e = ERR_INIT;
	struct instance m;
	memset(&m, 0, sizeof m);
	snprintf(m.id, sizeof m.id, "%s", id);
	snprintf(m.reservation_id, sizeof m.reservation_id, "r-0123456789abcdef0");
	snprintf(m.owner_id, sizeof m.owner_id, ACCOUNT);
	snprintf(m.image_id, sizeof m.image_id, "ami-0123456789abcdef0");
	snprintf(m.instance_type, sizeof m.instance_type, "t2.micro");
	snprintf(m.state, sizeof m.state, "%s", state);
	snprintf(m.root_device_type, sizeof m.root_device_type, "ebs");
	snprintf(m.virtualization_type, sizeof m.virtualization_type, "hvm");
	snprintf(m.architecture, sizeof m.architecture, "x86_64");
	snprintf(m.shutdown_behavior, sizeof m.shutdown_behavior, "stop");
	snprintf(m.private_ip, sizeof m.private_ip, "%s", n->private_ip);
	snprintf(m.zone, sizeof m.zone, "us-east-1a");
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_instance_insert(f->cat, &m, &e), 0);
	assert_int_equal(catalog_eni_attach(f->cat, n->id, id, 0, 1, &e), 0);
	assert_int_equal(catalog_eni_attach(f->cat, n->id, id, 1, 1, &e), -1);
	assert_string_equal(e.code, "InvalidNetworkInterface.InUse");
	assert_int_equal(catalog_commit(f->cat, &e), 0);
}

static const struct network_port *port_of(const struct network_port *ports, size_t n,
					  const char *instance)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ports[i].instance_id, instance))
			return &ports[i];
	return NULL;
}

static void test_vpc_ports(void **state)
{
	struct fixture *f = *state;
	struct err e = ERR_INIT;
	struct security_group_row web;
	struct eni a, b, c;
	uint32_t ip;
	memset(&web, 0, sizeof web);
	ids_resource("sg", web.id);
	snprintf(web.owner_id, sizeof web.owner_id, ACCOUNT);
	snprintf(web.vpc_id, sizeof web.vpc_id, "%s", f->vpc);
	snprintf(web.name, sizeof web.name, "web");
	struct sg_rule_row ssh = { .egress = 0, .from_port = 22, .to_port = 22 };
	ids_resource("sgr", ssh.id);
	snprintf(ssh.group_id, sizeof ssh.group_id, "%s", web.id);
	snprintf(ssh.owner_id, sizeof ssh.owner_id, ACCOUNT);
	snprintf(ssh.protocol, sizeof ssh.protocol, "tcp");
	snprintf(ssh.cidr_ipv4, sizeof ssh.cidr_ipv4, "198.51.100.0/24");
	struct sg_rule_row v6 = ssh;
	ids_resource("sgr", v6.id);
	v6.cidr_ipv4[0] = '\0';
	snprintf(v6.cidr_ipv6, sizeof v6.cidr_ipv6, "::/0");
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_sg_insert(f->cat, &web, &e), 0);
	assert_int_equal(catalog_sg_rule_insert(f->cat, &ssh, &e), 0);
	assert_int_equal(catalog_sg_rule_insert(f->cat, &v6, &e), 0);
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	const char *both[] = { web.id, f->def.id };
	assert_int_equal(make_eni(f, both, 2, "", &a, &e), 0);  /* web + default, running */
	assert_int_equal(make_eni(f, NULL, 0, "", &b, &e), 0);  /* default, running */
	assert_int_equal(make_eni(f, NULL, 0, "", &c, &e), 0);  /* default, stopped */
	run_instance(f, "i-00000000000000001", "running", &a);
	run_instance(f, "i-00000000000000002", "pending", &b);
	run_instance(f, "i-00000000000000003", "stopped", &c);

	struct network_port *ports = NULL;
	size_t n = 0;
	assert_int_equal(catalog_vpc_ports(f->cat, f->vpc, &ports, &n, &e), 0);
	assert_int_equal(n, 2);
	const struct network_port *pa = port_of(ports, n, "i-00000000000000001");
	assert_non_null(pa);
	assert_string_equal(pa->eni_id, a.id);
	assert_int_equal(network_parse_ip("172.31.0.4", &ip), 0);
	assert_int_equal(pa->ip, ip);
	assert_int_equal(pa->gateway, ip - 3);
	assert_int_equal(pa->prefix_len, 20);
	assert_string_equal(pa->hostname, "ip-172-31-0-4");
	assert_int_equal(pa->mac[0], 0x0a);
	/* web: ssh from 198.51.100.0/24 (the IPv6 rule stays out); default:
	 * everything from the group's three members, everything out. */
	assert_int_equal(pa->nrules, 1 + 3 + 1);
	assert_true(network_allows(pa, 0, (198u << 24) | (51 << 16) | (100 << 8) | 7, 6, 22));
	assert_false(network_allows(pa, 0, (198u << 24) | (51 << 16) | (100 << 8) | 7, 6, 23));
	assert_false(network_allows(pa, 0, (203u << 24) | 7, 6, 22));
	uint32_t peer_b, peer_c;
	assert_int_equal(network_parse_ip(b.private_ip, &peer_b), 0);
	assert_int_equal(network_parse_ip(c.private_ip, &peer_c), 0);
	assert_true(network_allows(pa, 0, peer_b, 17, 53));
	assert_true(network_allows(pa, 0, peer_c, 1, 8 << 8));
	assert_false(network_allows(pa, 0, peer_b + 100, 6, 80));
	assert_true(network_allows(pa, 1, (8u << 24) | 8, 6, 443));
	const struct network_port *pb = port_of(ports, n, "i-00000000000000002");
	assert_non_null(pb);
	assert_false(network_allows(pb, 0, (198u << 24) | (51 << 16) | (100 << 8) | 7, 6, 22));
	network_ports_free(ports, n);

	char (*active)[ID_MAX] = NULL;
	assert_int_equal(catalog_vpcs_active(f->cat, &active, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(active[0], f->vpc);
	free(active);

	/* Regrouping a running interface shows in its rules at once. */
	const char *web_only[] = { web.id };
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_eni_set_groups(f->cat, b.id, web_only, 1, &e), 0);
	assert_int_equal(catalog_commit(f->cat, &e), 0);
	assert_int_equal(catalog_vpc_ports(f->cat, f->vpc, &ports, &n, &e), 0);
	pb = port_of(ports, n, "i-00000000000000002");
	assert_true(network_allows(pb, 0, (198u << 24) | (51 << 16) | (100 << 8) | 7, 6, 22));
	assert_false(network_allows(pb, 1, (8u << 24) | 8, 6, 443));
	network_ports_free(ports, n);

	struct eni *enis = NULL;
	assert_int_equal(catalog_eni_by_instance(f->cat, "i-00000000000000001", &enis, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(enis[0].ngroups, 2);
	assert_int_equal(enis[0].delete_on_termination, 1);
	free(enis);
	/* A group an interface uses stays. */
	assert_int_equal(catalog_begin(f->cat, &e), 0);
	assert_int_equal(catalog_sg_delete(f->cat, web.id, &e), -1);
	catalog_rollback(f->cat);
	assert_string_equal(e.code, "DependencyViolation");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_vpc_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eni_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eni_groups_and_subnet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpc_ports, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
