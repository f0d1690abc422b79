/*
 * compute/vpc.c: the daemon's side of VPC networking (see network.h and
 * router.h for the picture).
 *
 * When an instance with a network interface boots, compute makes sure its
 * VPC's router runs (starting `amibox router` in its own session, like QEMU
 * and nbdkit, so that it outlives a daemon restart), gives the interface a
 * public address from the pool when it wants one, and asks the router for
 * the interface's tap, whose descriptor QEMU gets.  When the machine is
 * gone, the public address goes back to the pool (EC2 gives a new one at
 * each start), the interface goes with a terminated instance, and the
 * router re-reads its VPC (and ends when nothing runs in it).
 *
 * Without network namespaces (neither root nor the capabilities, no
 * /dev/net/tun), instances keep QEMU's user-mode network; the start-up
 * line says so.
 */
#include "compute/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog_instances.h"
#include "catalog/catalog_network.h"
#include "compute/router.h"
#include "util/log.h"

/*
 * Whether this process may do what a VPC's router does: make a network
 * namespace (CAP_SYS_ADMIN), taps and rules in it (CAP_NET_ADMIN), and
 * answer DHCP and the metadata service on ports 67 and 80
 * (CAP_NET_BIND_SERVICE).  Root has them; so has a user the service
 * manager gives them (AmbientCapabilities in dist/amibox.service).
 */
static int vpc_capable(void)
{
	const unsigned long long need = 1ULL << CAP_SYS_ADMIN | 1ULL << CAP_NET_ADMIN |
					1ULL << CAP_NET_BIND_SERVICE;
	unsigned long long effective = 0;
	int found = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return geteuid() == 0;
	while (!found && fgets(line, sizeof line, f))
		found = sscanf(line, "CapEff: %llx", &effective) == 1;
	fclose(f);
	return found ? (effective & need) == need : geteuid() == 0;
}

/* Whether this host lets amibox make network namespaces and taps. */
int vpc_detect(struct compute *c)
{
	int capable = vpc_capable();
	if (!capable || access("/dev/net/tun", R_OK | W_OK) < 0) {
		log_warn("compute: no network namespaces (%s): instances get QEMU's user-mode "
			 "network; they cannot reach each other, and no public address reaches them",
			 capable ? "no /dev/net/tun" :
			 "neither root nor CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE");
		return 0;
	}
	/* A child tries: unshare must work here (a container may forbid it). */
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	int status = 1;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		log_warn("compute: this host refuses network namespaces: instances get QEMU's "
			 "user-mode network; they cannot reach each other, and no public address "
			 "reaches them");
		return 0;
	}
	(void)c;
	return 1;
}

/* Starts the VPC's router unless it answers already; 0 once it answers. */
static int vpc_router_up(struct compute *c, const char *vpc_id, struct err *e)
{
	struct err probe = ERR_INIT;
	if (router_request(c->dir, vpc_id, "reload", NULL, &probe) == 0)
		return 0;
	struct buf dir = BUF_INIT, log = BUF_INIT;
	struct args a = { 0 };
	int ret = -1;
	buf_printf(&dir, "%s/vpcs", c->dir);
	mkdir(dir.data, 0700);
	buf_printf(&dir, "/%s", vpc_id);
	if (mkdir(dir.data, 0700) < 0 && errno != EEXIST) {
		err_internal(e, "creating %s: %s", dir.data, strerror(errno));
		goto out;
	}
	buf_printf(&log, "%s/router.log", dir.data);
	args_add(&a, "%s", c->exe);
	args_add(&a, "router");
	args_add(&a, "--data");
	args_add(&a, "%s", c->dir);
	args_add(&a, "--vpc");
	args_add(&a, "%s", vpc_id);
	args_add(&a, "--api");
	args_add(&a, "%s", c->opt.listen);
	args_add(&a, "--region");
	args_add(&a, "%s", c->opt.region);
	if (process_spawn(a.v, log.data, NULL, -1) < 0) {
		err_internal(e, "cannot start the router of %s: %s", vpc_id, strerror(errno));
		goto out;
	}
	/* It answers once its namespace, sockets and rules are up. */
	for (int i = 0; i < 500; i++) {
		err_clear(&probe);
		if (router_request(c->dir, vpc_id, "reload", NULL, &probe) == 0) {
			ret = 0;
			goto out;
		}
		usleep(10000);
	}
	err_internal(e, "the router of %s did not start (see %s)", vpc_id, log.data);
out:
	args_free(&a);
	buf_release(&dir);
	buf_release(&log);
	return ret;
}

/*
 * Gives the interface a public address from the pool, if it wants one and
 * has none: read again in the transaction, so that an Elastic IP address
 * associated meanwhile is kept, not overwritten.
 */
static int vpc_public_ip(struct compute *c, struct eni *eni, struct err *e)
{
	struct eni now;
	if (!eni->want_public_ip || eni->public_ip[0])
		return 0;
	char ip[16];
	if (catalog_begin(c->cat, e) < 0)
		return -1;
	int found = catalog_eni_get(c->cat, eni->id, &now, e);
	if (found < 0)
		goto rollback;
	if (found && now.public_ip[0]) {
		catalog_rollback(c->cat);
		snprintf(eni->public_ip, sizeof eni->public_ip, "%s", now.public_ip);
		return 0;
	}
	if (catalog_public_ip_free(c->cat, c->opt.public_pool, ip, e) < 0 ||
	    catalog_eni_set_public_ip(c->cat, eni->id, ip, e) < 0)
		goto rollback;
	if (catalog_commit(c->cat, e) < 0)
		return -1;
	snprintf(eni->public_ip, sizeof eni->public_ip, "%s", ip);
	return 0;
rollback:
	catalog_rollback(c->cat);
	return -1;
}

int vpc_nic(struct compute *c, const struct instance *m, struct args *a, int *tap_fd,
	    struct err *e)
{
	struct eni *enis = NULL;
	size_t n = 0;
	int ret = -1;
	*tap_fd = -1;
	if (!c->vpc_net || catalog_eni_by_instance(c->cat, m->id, &enis, &n, e) < 0 || n == 0) {
		ret = err_is_set(e) ? -1 : 0;
		goto out;
	}
	struct eni *eni = &enis[0];
	char command[64];
	snprintf(command, sizeof command, "tap %s", eni->id);
	if (vpc_public_ip(c, eni, e) < 0 || vpc_router_up(c, eni->vpc_id, e) < 0 ||
	    router_request(c->dir, eni->vpc_id, command, tap_fd, e) < 0)
		goto out;
	args_add(a, "-netdev");
	args_add(a, "tap,id=net0,fd=3");
	args_add(a, "-device");
	args_add(a, "virtio-net-pci,netdev=net0,mac=%s,romfile=", eni->mac);
	ret = 1;
out:
	free(enis);
	return ret;
}

int vpc_finalize(struct compute *c, const char *instance_id, int terminate,
		 char vpc_id[ID_MAX], struct err *e)
{
	struct eni *enis = NULL;
	size_t n = 0;
	vpc_id[0] = '\0';
	if (catalog_eni_by_instance(c->cat, instance_id, &enis, &n, e) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		snprintf(vpc_id, ID_MAX, "%s", enis[i].vpc_id);
		/*
		 * An auto-assigned public address goes back to the pool when
		 * the machine stops; an Elastic IP address stays with its
		 * interface: through a stop, and at termination with an
		 * interface that outlives the instance (deleting the interface
		 * ends the association, catalog_eni_delete).
		 */
		if (enis[i].public_ip[0] && !enis[i].allocation_id[0])
			ret = catalog_eni_set_public_ip(c->cat, enis[i].id, "", e);
		if (ret == 0 && terminate)
			ret = enis[i].delete_on_termination ?
				      catalog_eni_delete(c->cat, enis[i].id, e) :
				      catalog_eni_detach(c->cat, enis[i].id, e);
	}
	free(enis);
	return ret;
}

void compute_network_changed(struct compute *c, const char *vpc_id)
{
	struct err e = ERR_INIT;
	if (!c || !c->vpc_net || !vpc_id || !vpc_id[0])
		return;
	/* No router: nothing of the VPC runs, and the next one reads it all. */
	if (router_request(c->dir, vpc_id, "reload", NULL, &e) < 0 &&
	    !strstr(e.message, "does not answer"))
		log_warn("vpc %s: %s", vpc_id, e.message);
}

const char *compute_public_pool(const struct compute *c)
{
	return c && c->opt.public_pool[0] ? c->opt.public_pool : "127.100.0.0/16";
}

int compute_vpc_networking(const struct compute *c)
{
	return c && c->vpc_net;
}
