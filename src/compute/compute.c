/* compute: the instance state transitions behind QEMU machines (see compute.h). */
#include "compute/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockstore/volume.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "compute/accel.h"
#include "compute/instance_store.h"
#include "compute/instance_types.h"
#include "compute/pvgrub.h"
#include "util/log.h"


/* ---- after the machine is gone ------------------------------------------ */

int compute_delete_volume(struct compute *c, const char *volume_id, struct err *e)
{
	struct volume_row v;
	int found = catalog_volume_get(c->cat, volume_id, &v, e);
	if (found <= 0)
		return found;
	volsnap_wait_volume(c->vs, volume_id);
	if (catalog_begin(c->cat, e) < 0)
		return -1;
	if (catalog_volume_delete(c->cat, volume_id, e) < 0) {
		catalog_rollback(c->cat);
		return -1;
	}
	if (catalog_commit(c->cat, e) < 0)
		return -1;
	struct err ignored = ERR_INIT;
	volume_remove(c->dir, volume_id, &ignored);
	volsnap_release(c->vs, v.base_snapshot_id);
	volsnap_release(c->vs, v.map_snapshot_id);
	return 0;
}

static void remove_ephemeral(struct compute *c, const char *id)
{
	struct buf path = BUF_INIT;
	for (int i = 0; i < 24; i++) {
		buf_reset(&path);
		compute_instance_dir(c, id, &path);
		buf_printf(&path, "/ephemeral%d.img", i);
		unlink(path.data);
	}
	/* An instance-store root goes with the machine too. */
	buf_reset(&path);
	compute_instance_dir(c, id, &path);
	buf_printf(&path, "/%s", INSTANCE_STORE_ROOT);
	unlink(path.data);
	buf_append_str(&path, ".part");
	unlink(path.data);
	buf_release(&path);
}

/*
 * The machine is gone: the instance becomes stopped or terminated, as its
 * state (or, for a guest that powered off, its shutdown behaviour) says;
 * force_terminate for a launch that never ran.  Called with c->lock held.
 */
void compute_finalize_as(struct compute *c, const char *id, const char *code,
			const char *message, int force_terminate)
{
	struct instance m;
	struct err e = ERR_INIT;
	char vpc_id[ID_MAX] = "";
	if (catalog_instance_get(c->cat, id, &m, &e) <= 0)
		return;
	nbd_stop_all(c, id);
	/* A volume is free for another machine only once nothing serves it. */
	for (size_t i = 0; i < m.ndevices; i++)
		if (m.devices[i].volume_id[0] && nbd_stop(c, id, m.devices[i].volume_id, 1) < 0)
			log_error("instance %s: %s is still served", id, m.devices[i].volume_id);
	remove_ephemeral(c, id); /* instance store data lives as long as the machine */
	int terminate = force_terminate || !strcmp(m.state, "shutting-down") ||
			(strcmp(m.state, "stopping") != 0 &&
			 !strcmp(m.shutdown_behavior, "terminate")) ||
			!strcmp(m.root_device_type, "instance-store");
	const char *final = terminate ? "terminated" : "stopped";
	if (!code) {
		int user = !strcmp(m.state, "stopping") || !strcmp(m.state, "shutting-down");
		code = user ? "Client.UserInitiatedShutdown" : "Client.InstanceInitiatedShutdown";
		message = user ? "Client.UserInitiatedShutdown: User initiated shutdown" :
				 "Client.InstanceInitiatedShutdown: Instance initiated shutdown";
	}
	if (catalog_begin(c->cat, &e) < 0)
		goto out;
	if (catalog_instance_set_state(c->cat, id, final, code, message, &e) < 0 ||
	    catalog_instance_set_pid(c->cat, id, 0, &e) < 0 ||
	    vpc_finalize(c, id, terminate, vpc_id, &e) < 0)
		goto rollback;
	/* A detach the guest never finished completes with the machine. */
	for (size_t i = 0; !terminate && i < m.ndevices; i++) {
		const struct instance_device *d = &m.devices[i];
		struct volume_row v;
		if (strcmp(d->status, "detaching") != 0)
			continue;
		if (catalog_volume_get(c->cat, d->volume_id, &v, &e) > 0) {
			snprintf(v.state, sizeof v.state, "available");
			if (catalog_volume_update(c->cat, &v, &e) < 0)
				goto rollback;
		}
		if (catalog_instance_device_delete(c->cat, id, d->device_name, &e) < 0)
			goto rollback;
	}
	if (terminate) {
		/* Volumes that outlive the instance become available again. */
		for (size_t i = 0; i < m.ndevices; i++) {
			const struct instance_device *d = &m.devices[i];
			struct volume_row v;
			if (d->volume_id[0] && !d->delete_on_termination &&
			    catalog_volume_get(c->cat, d->volume_id, &v, &e) > 0) {
				snprintf(v.state, sizeof v.state, "available");
				if (catalog_volume_update(c->cat, &v, &e) < 0)
					goto rollback;
			}
			if (catalog_instance_device_delete(c->cat, id, d->device_name, &e) < 0)
				goto rollback;
		}
	}
	if (catalog_commit(c->cat, &e) < 0)
		goto out;
	if (terminate)
		for (size_t i = 0; i < m.ndevices; i++)
			if (m.devices[i].volume_id[0] && m.devices[i].delete_on_termination &&
			    compute_delete_volume(c, m.devices[i].volume_id, &e) < 0)
				log_warn("deleting %s of %s: %s", m.devices[i].volume_id, id, e.message);
	log_info("instance %s is %s", id, final);
	/* Its VPC's router lets go of the interface (and ends when it was the last). */
	compute_network_changed(c, vpc_id);
	goto out;
rollback:
	catalog_rollback(c->cat);
out:
	if (err_is_set(&e))
		log_warn("instance %s: %s", id, e.message);
	instance_release(&m);
}

void compute_finalize(struct compute *c, const char *id, const char *code,
		     const char *message)
{
	compute_finalize_as(c, id, code, message, 0);
}

/* Waits for the machine's process to end, then finalizes the instance. */
static void *watcher(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	struct pollfd p[2] = { { job->pidfd, POLLIN, 0 }, { c->quit_fd, POLLIN, 0 } };
	for (;;) {
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (!(p[0].revents & POLLIN)) {
		close(job->pidfd);
		free(job);
		compute_thread_end(c);
		return NULL; /* the daemon stops; the machine runs on */
	}
	int status = 0;
	int reaped = waitpid(job->pid, &status, WNOHANG) == job->pid;
	close(job->pidfd);
	pthread_mutex_lock(&c->lock);
	struct instance m;
	struct err e = ERR_INIT;
	if (catalog_instance_get(c->cat, job->id, &m, &e) > 0) {
		if (m.pid == job->pid) {
			int failed = reaped && WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
				     (!strcmp(m.state, "running") || !strcmp(m.state, "pending"));
			if (failed)
				compute_finalize(c, job->id, "Server.InternalError",
					 "Server.InternalError: the virtual machine failed (see the daemon's instance log)");
			else
				compute_finalize(c, job->id, NULL, NULL);
		}
		instance_release(&m);
	}
	pthread_mutex_unlock(&c->lock);
	free(job);
	compute_thread_end(c);
	return NULL;
}

void compute_watch(struct compute *c, const char *id, pid_t pid)
{
	int fd = process_pidfd(pid);
	if (fd < 0) {
		log_warn("instance %s: cannot watch process %d: %s", id, (int)pid, strerror(errno));
		return;
	}
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	snprintf(job->id, sizeof job->id, "%s", id);
	job->pid = pid;
	job->pidfd = fd;
	compute_run_detached(c, watcher, job);
}

static void *boot_thread(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	struct instance m;
	struct err e = ERR_INIT;
	/*
	 * An instance-store root is unpacked first, outside the lock (it takes
	 * time in proportion to the image); the instance stays pending.
	 */
	int fetch_failed = 0;
	if (catalog_instance_get(c->cat, job->id, &m, &e) > 0) {
		if (!strcmp(m.state, "pending") && !strcmp(m.root_device_type, "instance-store")) {
			struct buf idir = BUF_INIT, root = BUF_INIT;
			compute_instance_dir(c, m.id, &idir);
			buf_printf(&root, "%s/%s", idir.data, INSTANCE_STORE_ROOT);
			if (access(root.data, R_OK) < 0 &&
			    instance_store_fetch(c->cat, c->objstore, c->dir, &m, idir.data, &e) < 0)
				fetch_failed = 1;
			buf_release(&idir);
			buf_release(&root);
		}
		instance_release(&m);
	}
	pthread_mutex_lock(&c->lock);
	if (fetch_failed) {
		struct err ignored = ERR_INIT;
		log_warn("instance %s did not start: %s", job->id, e.message);
		if (catalog_instance_get(c->cat, job->id, &m, &ignored) > 0) {
			if (!strcmp(m.state, "pending"))
				compute_finalize_as(c, m.id, "Client.InternalError", e.message, 1);
			instance_release(&m);
		}
	} else if (catalog_instance_get(c->cat, job->id, &m, &e) > 0) {
		if (!strcmp(m.state, "pending") && qemu_boot(c, &m, &e) < 0) {
			log_warn("instance %s did not start: %s", m.id, e.message);
			/* A launch that fails terminates; a start that fails stops. */
			compute_finalize_as(c, m.id, "Server.InternalError", e.message,
				    m.launch_ms == m.state_ms);
		}
		instance_release(&m);
	}
	pthread_mutex_unlock(&c->lock);
	free(job);
	compute_thread_end(c);
	return NULL;
}

void compute_boot(struct compute *c, const char *instance_id)
{
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	snprintf(job->id, sizeof job->id, "%s", instance_id);
	compute_run_detached(c, boot_thread, job);
}

/* ---- shutdown ----------------------------------------------------------- */

static void *shutdown_thread(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	struct instance m;
	struct err e = ERR_INIT;
	pid_t pid = 0;
	pthread_mutex_lock(&c->lock);
	if (catalog_instance_get(c->cat, job->id, &m, &e) > 0) {
		pid = (pid_t)m.pid;
		if (pid <= 0 || !process_alive(pid) || !process_mentions(pid, m.id)) {
			compute_finalize(c, m.id, NULL, NULL);
			pid = 0;
		}
		instance_release(&m);
	}
	pthread_mutex_unlock(&c->lock);
	if (pid > 0) {
		int fd = process_pidfd(pid);
		int grace = job->force ? 0 : c->opt.stop_grace_seconds * 1000;
		if (!job->force && qemu_qmp(c, job->id, "{\"execute\":\"system_powerdown\"}") < 0)
			grace = 0;
		struct pollfd p = { fd, POLLIN, 0 };
		if (fd < 0 || grace == 0 || poll(&p, 1, grace) <= 0)
			kill(pid, SIGKILL); /* the watcher finalizes */
		if (fd >= 0)
			close(fd);
	}
	free(job);
	compute_thread_end(c);
	return NULL;
}

void compute_shutdown(struct compute *c, const char *instance_id, int force)
{
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	job->force = force;
	snprintf(job->id, sizeof job->id, "%s", instance_id);
	compute_run_detached(c, shutdown_thread, job);
}

/* ---- start and stop ----------------------------------------------------- */

static int recover_one(void *ctx, const struct instance *m)
{
	struct compute *c = ctx;
	if (!strcmp(m->state, "stopped") || !strcmp(m->state, "terminated"))
		return 0;
	pid_t pid = (pid_t)m->pid;
	if (pid > 0 && process_alive(pid) && process_mentions(pid, m->id)) {
		log_info("instance %s: found its machine again (pid %d)", m->id, (int)pid);
		compute_watch(c, m->id, pid);
		if (!strcmp(m->state, "stopping") || !strcmp(m->state, "shutting-down"))
			compute_shutdown(c, m->id, 0);
		return 0;
	}
	if (!strcmp(m->state, "pending")) {
		compute_boot(c, m->id);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	compute_finalize(c, m->id, "Server.InternalError",
		 "Server.InternalError: the instance's machine was gone when amibox restarted");
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int compute_start(const char *dir, struct catalog *cat, struct blockstore *bs,
		  struct volsnap *vs, struct objstore *store,
		  const struct compute_options *options, struct compute **out, struct err *e)
{
	struct compute *c = xcalloc(1, sizeof *c);
	c->objstore = store;
	char exe[4096];
	c->dir = realpath(dir, NULL);
	if (!c->dir)
		c->dir = xstrdup(dir);
	c->cat = cat;
	c->bs = bs;
	c->vs = vs;
	c->opt = *options;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->threads_lock, NULL);
	pthread_cond_init(&c->threads_idle, NULL);
	c->quit_fd = eventfd(0, EFD_CLOEXEC);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		struct buf p = BUF_INIT;
		/* Installed in PREFIX/lib/amibox (make install), else beside the binary. */
		buf_printf(&p, "%s/../lib/amibox/nbdkit-amibox-plugin.so", exe);
		if (access(p.data, R_OK) != 0) {
			buf_reset(&p);
			buf_printf(&p, "%s/nbdkit-amibox-plugin.so", exe);
		}
		c->plugin = buf_detach(&p);
		buf_printf(&p, "%s/amibox", exe);
		c->exe = buf_detach(&p);
	} else {
		c->plugin = xstrdup("nbdkit-amibox-plugin.so");
		c->exe = xstrdup("amibox");
	}
	log_info("compute: guests get %.3g of their type's memory", c->opt.memory_scale);
	c->accel = accel_start(c->dir, c->opt.accel);
	c->vpc_net = vpc_detect(c);
	if (catalog_instance_each(cat, NULL, "", recover_one, c, e) < 0) {
		compute_stop(c);
		return -1;
	}
	*out = c;
	return 0;
}

void compute_stop(struct compute *c)
{
	if (!c)
		return;
	uint64_t one = 1;
	if (write(c->quit_fd, &one, sizeof one) < 0)
		log_warn("compute: cannot wake the watchers");
	pthread_mutex_lock(&c->threads_lock);
	while (c->threads > 0)
		pthread_cond_wait(&c->threads_idle, &c->threads_lock);
	pthread_mutex_unlock(&c->threads_lock);
	close(c->quit_fd);
	accel_free(c->accel);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->threads_lock);
	pthread_cond_destroy(&c->threads_idle);
	free(c->plugin);
	free(c->exe);
	free(c->dir);
	free(c);
}

const char *compute_accel(struct compute *c)
{
	return accel_get(c->accel);
}

int compute_machine_alive(struct compute *c, const struct instance *m)
{
	(void)c;
	return m->pid > 0 && process_alive((pid_t)m->pid) && process_mentions((pid_t)m->pid, m->id);
}
