/*
 * compute/internal.h: what the files of compute share.
 *
 *   compute.c   the instance state transitions: boot and shutdown jobs, the
 *               watcher that finalizes an instance when its machine ends,
 *               recovery at start
 *   qemu.c      the QEMU process: its command line, PV-GRUB, QMP, console
 *   nbd.c       the nbdkit servers that export volumes to QEMU
 *   attach.c    hot-plugging volumes into running machines
 *   process.c   spawning processes, argv building, helper threads
 *
 * Every transition runs with c->lock held, so one instance changes state
 * one step at a time; helper threads are counted so that compute_stop can
 * wait for them.
 */
#ifndef AMIBOX_COMPUTE_INTERNAL_H
#define AMIBOX_COMPUTE_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "compute/compute.h"
#include "util/ids.h"

struct accel;
struct instance;

struct compute {
	char *dir;
	struct catalog *cat;
	struct blockstore *bs;
	struct volsnap *vs;
	struct compute_options opt;
	char *plugin;            /* nbdkit-amibox-plugin.so beside the binary */
	char *exe;               /* this amibox binary, for the metadata service */
	struct accel *accel;     /* KVM or TCG */
	struct objstore *objstore; /* bundles of instance-store images */
	pthread_mutex_t lock;    /* one transition at a time */
	pthread_mutex_t threads_lock;
	pthread_cond_t threads_idle;
	int threads;             /* detached helpers still running */
	int quit_fd;             /* eventfd: watchers return, machines stay */
	int vpc_net;             /* network namespaces work: instances live in VPCs */
};

/* A helper thread's work: one instance (and one of its volumes). */
struct job {
	struct compute *c;
	char id[ID_MAX];
	char volume[ID_MAX];
	pid_t pid;
	int pidfd;
	int force;
};

/* ---- process.c ---- */

/* out gets DATA/instances/ID. */
void compute_instance_dir(struct compute *c, const char *id, struct buf *out);
int process_pidfd(pid_t pid);
int process_alive(pid_t pid);
/* 1 if /proc/pid/cmdline mentions needle (the process is really ours). */
int process_mentions(pid_t pid, const char *needle);
/*
 * Starts argv in its own session, stdin from /dev/null, stdout and stderr
 * appended to log, no descriptor of ours inherited but pass_fd (as
 * descriptor 3, when not -1), default signals; LD_PRELOAD=preload when
 * preload is set.  Returns the pid, or -1.
 */
pid_t process_spawn(char *const argv[], const char *log_path, const char *preload, int pass_fd);

/* A growable, NULL-terminated argv; args_free frees its strings. */
struct args {
	char **v;
	size_t n;
};
void args_add(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void args_free(struct args *a);

/* Runs fn(job) on a detached, counted thread; fn frees job and calls
 * compute_thread_end. */
void compute_run_detached(struct compute *c, void *(*fn)(void *), struct job *job);
void compute_thread_begin(struct compute *c);
void compute_thread_end(struct compute *c);

/* ---- qemu.c ---- */

/*
 * Starts the instance's machine (pending): its volumes' NBD servers, its
 * instance store, PV-GRUB for a paravirtual image, then QEMU; records the
 * pid and the running state and starts the watcher.  Called with c->lock.
 */
int qemu_boot(struct compute *c, const struct instance *m, struct err *e);
/* Sends a QMP command; 0 when QEMU answered "return"; its answer in out. */
int qemu_qmp_query(struct compute *c, const char *instance_id, const char *command,
		   char *out, size_t cap);
int qemu_qmp(struct compute *c, const char *instance_id, const char *command);

/* ---- nbd.c ---- */

/* Serves one volume for the instance: nbdkit on idir/VOLUME.sock. */
int nbd_serve(struct compute *c, const char *idir, const char *volume_id, struct err *e);
/*
 * As nbd_serve, on idir/NODE.sock: a hot-plug names its QEMU node (and so
 * its socket) afresh when an earlier, force-detached node of the volume
 * still sits in the machine.  -1 when nbdkit cannot serve it (e.g. another
 * process serves the volume already).
 */
int nbd_serve_node(struct compute *c, const char *idir, const char *volume_id,
		   const char *node, struct err *e);
/*
 * Stops the nbdkit serving one volume of the instance: SIGTERM (it ends once
 * QEMU has let go), or with hard SIGKILL at once (the guest is cut off and
 * sees I/O errors); any server of the volume left after that is killed.
 * 0 once no process serves the volume (its serving lock is free), -1 if one
 * still does.
 */
int nbd_stop(struct compute *c, const char *id, const char *volume_id, int hard);
/* Stops all of the instance's nbdkit processes. */
void nbd_stop_all(struct compute *c, const char *id);

/* ---- vpc.c ---- */

/* Whether VPC networking works on this host (logs why not). */
int vpc_detect(struct compute *c);
/*
 * The instance's network for QEMU: 1 with its tap (*tap_fd, for QEMU's
 * descriptor 3) and the -netdev/-device arguments added, 0 when it has no
 * interface (or the host no VPC networking: the caller uses user-mode
 * networking), -1 with e set.  Starts the VPC's router when needed and
 * gives the interface its public address.
 */
int vpc_nic(struct compute *c, const struct instance *m, struct args *a, int *tap_fd,
	    struct err *e);
/*
 * In the transaction that ends a machine: the interfaces' public addresses
 * go back to the pool; at terminate each interface goes (or is detached,
 * when it outlives the instance).  vpc_id gets the VPC to refresh after
 * the commit ("" when none).
 */
int vpc_finalize(struct compute *c, const char *instance_id, int terminate,
		 char vpc_id[ID_MAX], struct err *e);

/* ---- compute.c ---- */

/*
 * The machine is gone: the instance becomes stopped or terminated, as its
 * state (or its shutdown behaviour) says; force_terminate for a launch that
 * never ran.  code and message are the state reason (NULL: the user's or
 * the guest's shutdown).  Called with c->lock held.
 */
void compute_finalize_as(struct compute *c, const char *id, const char *code,
			 const char *message, int force_terminate);
void compute_finalize(struct compute *c, const char *id, const char *code,
		      const char *message);
/* Starts the watcher of the instance's machine (pid). */
void compute_watch(struct compute *c, const char *id, pid_t pid);

#endif
