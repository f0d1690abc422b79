/*
 * compute: real virtual machines for instances.
 *
 * One QEMU process per running instance (KVM when /dev/kvm works, TCG
 * otherwise), its EBS volumes served by one nbdkit (with amibox's plugin) each
 * on a Unix socket, its instance store as sparse files, its serial console in
 * a file, and a QMP socket to steer it.  Both kinds of process run in their
 * own session, so they outlive a daemon restart; compute_start adopts the
 * ones still running and marks the others honestly.
 *
 * Transitions (the API layer records the state that starts each one):
 *   pending       --compute_boot-->      running        (QEMU started)
 *   stopping      --compute_shutdown-->  stopped        (on QEMU's exit)
 *   shutting-down --compute_shutdown-->  terminated     (on QEMU's exit)
 *   running, guest powers off           -> stopped or terminated, as the
 *                                          instance's shutdown behaviour says
 * A watcher thread per QEMU process makes the transitions that follow its
 * exit, so the state always says what the process really did.
 */
#ifndef AMIBOX_COMPUTE_COMPUTE_H
#define AMIBOX_COMPUTE_COMPUTE_H

#include "blockstore/blockstore.h"
#include "blockstore/volsnap.h"
#include "catalog/catalog.h"
#include "objstore/objstore.h"
#include "util/buf.h"
#include "util/err.h"

struct compute_options {
	double memory_scale;   /* guest memory = type's memory * scale */
	int stop_grace_seconds; /* ACPI power button, then the plug */
	char region[64];        /* for the metadata service */
	char accel[8];          /* "auto" (see compute/accel.h), "kvm", "tcg" */
	char listen[64];        /* the daemon's address, which guests reach at 169.254.169.254:8773 */
	char public_pool[24];   /* public addresses, a loopback CIDR: 127.100.0.0/16 */
};

struct compute;

int compute_start(const char *dir, struct catalog *cat, struct blockstore *bs,
		  struct volsnap *vs, struct objstore *store,
		  const struct compute_options *options, struct compute **out, struct err *e);
/* Stops the threads; the virtual machines keep running. */
void compute_stop(struct compute *c);

/* Starts the instance's machine (state pending); asynchronous. */
void compute_boot(struct compute *c, const char *instance_id);
/*
 * Shuts the machine down (state stopping or shutting-down): the ACPI power
 * button, then after the grace period (at once with force) the plug.  An
 * instance without a machine makes its transition at once.  Asynchronous.
 */
void compute_shutdown(struct compute *c, const char *instance_id, int force);
/*
 * Hot-plugs an attached volume (device row status "attaching") into the
 * running machine, then marks it attached; asynchronous.
 */
void compute_attach(struct compute *c, const char *instance_id,
		    const char *volume_id);
/*
 * Unplugs a volume (device row status "detaching") from the running
 * machine: the guest is asked to let go (PCI unplug); when it has, the
 * volume is detached and available again.  With force the guest is cut off
 * at once: the volume's server is killed, so the guest's I/O to it fails.
 * Either way the volume becomes available only once no process serves it
 * any more; a guest that never lets go, without force, keeps it "detaching"
 * until the instance stops.
 */
void compute_detach(struct compute *c, const char *instance_id,
		    const char *volume_id, int force);
/* Pauses a running machine's CPUs (its disks quiet down), or resumes it. */
int compute_pause(struct compute *c, const char *instance_id, struct err *e);
int compute_resume(struct compute *c, const char *instance_id, struct err *e);
/* Presses reset (a running instance). */
int compute_reboot(struct compute *c, const char *instance_id, struct err *e);
/* The last 64 KiB of the instance's console since it last booted. */
/* A JPEG picture of the running machine's screen (its VGA display). */
int compute_screenshot(struct compute *c, const char *instance_id, struct buf *jpeg,
		       struct err *e);
int compute_console(struct compute *c, const char *instance_id,
		    struct buf *out, long long *mtime_ms, struct err *e);
/*
 * Deletes a volume that no instance uses: its row, its files, and the
 * snapshots only it still needed.  In no transaction.
 */
int compute_delete_volume(struct compute *c, const char *volume_id,
			  struct err *e);

/*
 * 1 if the instance's machine runs: the QEMU process recorded for it is
 * alive and is this instance's (what status checks report).
 */
struct instance;
int compute_machine_alive(struct compute *c, const struct instance *m);

/* "kvm" or "tcg"; the first call waits for the choice (accel.h). */
const char *compute_accel(struct compute *c);

/*
 * The instance's private address: what its user-mode network's DHCP gives
 * it, link-local like the metadata service it talks to.
 */
void compute_private_ip(const char *instance_id, char out[16]);

/*
 * A security group's rules or an interface's groups changed in vpc_id: its
 * router re-reads them (they apply to running instances within a second).
 */
void compute_network_changed(struct compute *c, const char *vpc_id);
/*
 * The pool public addresses (and Elastic IP addresses) come from; and 1 if
 * instances live in their VPCs here (network namespaces work), where
 * running instances that want one are given a public address from it.
 */
const char *compute_public_pool(const struct compute *c);
int compute_vpc_networking(const struct compute *c);

#endif
