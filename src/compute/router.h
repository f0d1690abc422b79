/*
 * router: the process that is one VPC's network on this host (`amibox
 * router`, started by compute; see network.h for the picture).
 *
 * It makes a network namespace of its own and lives in it; the namespace
 * lives as long as the router does, so a VPC's network never outlasts it
 * and nothing is left behind.  In the namespace it
 *   - creates a tap device for each instance's interface when compute asks
 *     (over the control socket) and hands its file descriptor back for QEMU,
 *   - routes between the taps (the subnet's gateway address on each, a /32
 *     route per instance, proxy ARP) and answers DHCP with each interface's
 *     own address,
 *   - serves the metadata service at 169.254.169.254:80 (`amibox imds` per
 *     connection, for the instance the connection comes from) and amibox's
 *     own API at 169.254.169.254:8773 (relayed to the daemon),
 *   - enforces security groups between instances with nftables (stateful),
 *   - listens on each instance's public address (a loopback address of the
 *     host) on the ports its security groups open, and relays connections
 *     whose caller the rules allow to the instance's private address.
 *
 * Control protocol (a Unix socket, one line in, one line out):
 *   "tap ENI-ID"  -> "ok" with the tap's descriptor (SCM_RIGHTS), or "error ..."
 *   "reload"      -> "ok" once ports, routes, rules and listeners match the catalog
 * The router exits when a reload finds no interface left in its VPC.
 */
#ifndef AMIBOX_COMPUTE_ROUTER_H
#define AMIBOX_COMPUTE_ROUTER_H

#include <stddef.h>

#include "compute/network.h"
#include "util/buf.h"
#include "util/err.h"

/* Where the router reads its VPC's interfaces from (the catalog, or a test). */
struct router_source {
	int (*ports)(void *ctx, const char *vpc_id, struct network_port **ports, size_t *n,
		     struct err *e);
	void *ctx;
};

struct router_options {
	const char *data_dir;     /* DATA: the control socket is DATA/vpcs/VPC/router.sock */
	const char *vpc_id;
	const char *api_addr;     /* the daemon's listen address, for the guests' API relay */
	const char *exe;          /* this amibox binary, for `amibox imds` */
	const char *region;
	int max_public_ports;     /* listening ports per public address, at most */
	struct router_source source;
};

/* The control socket's and the pid file's paths for a VPC. */
void router_paths(const char *data_dir, const char *vpc_id, struct buf *sock, struct buf *pid);

/* The tap device's name for a network interface (at most 15 characters). */
void router_tap_name(const char *eni_id, char out[16]);

/* Runs the router until its VPC has no interface left or SIGTERM; 0 or -1. */
int router_run(const struct router_options *opt, struct err *e);

/*
 * The client side: sends one command to the VPC's router; for "tap", *fd
 * receives the descriptor (else pass NULL).  -1 with e set when the router
 * does not answer or refuses.
 */
int router_request(const char *data_dir, const char *vpc_id, const char *command, int *fd,
		   struct err *e);

#endif
