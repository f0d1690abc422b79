/* compute/attach.c: hot-plugging volumes into running machines (see compute.h). */
#include "compute/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "util/log.h"

/* Sets a device's status, or (status NULL) removes it and frees the volume. */
static void device_settle(struct compute *c, const char *id, const char *volume_id,
			  const char *status)
{
	struct instance m;
	struct err e = ERR_INIT;
	if (catalog_instance_get(c->cat, id, &m, &e) <= 0)
		return;
	for (size_t i = 0; i < m.ndevices; i++) {
		struct instance_device *d = &m.devices[i];
		if (strcmp(d->volume_id, volume_id) != 0 || catalog_begin(c->cat, &e) < 0)
			continue;
		int rc;
		if (status) {
			snprintf(d->status, sizeof d->status, "%s", status);
			rc = catalog_instance_device_set(c->cat, id, d, (int)i, &e);
		} else {
			struct volume_row v;
			rc = catalog_instance_device_delete(c->cat, id, d->device_name, &e);
			if (rc == 0 && catalog_volume_get(c->cat, volume_id, &v, &e) > 0) {
				snprintf(v.state, sizeof v.state, "available");
				rc = catalog_volume_update(c->cat, &v, &e);
			}
		}
		if (rc < 0)
			catalog_rollback(c->cat);
		else
			catalog_commit(c->cat, &e);
	}
	if (err_is_set(&e))
		log_warn("instance %s, volume %s: %s", id, volume_id, e.message);
	instance_release(&m);
}

static void *attach_thread(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	struct buf idir = BUF_INIT, cmd = BUF_INIT;
	struct err e = ERR_INIT;
	char answer[4096];
	pthread_mutex_lock(&c->lock);
	compute_instance_dir(c, job->id, &idir);
	buf_printf(&cmd, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"nbd\","
		   "\"node-name\":\"%s\",\"server\":{\"type\":\"unix\",\"path\":\"%s/%s.sock\"}}}",
		   job->volume, idir.data, job->volume);
	int ok = nbd_serve(c, idir.data, job->volume, &e) == 0 &&
		 qemu_qmp_query(c, job->id, cmd.data, answer, sizeof answer) == 0;
	if (ok) {
		buf_reset(&cmd);
		buf_printf(&cmd, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":"
			   "\"virtio-blk-pci\",\"drive\":\"%s\",\"id\":\"dev-%s\"}}",
			   job->volume, job->volume);
		ok = qemu_qmp_query(c, job->id, cmd.data, answer, sizeof answer) == 0;
	}
	if (ok) {
		device_settle(c, job->id, job->volume, "attached");
	} else {
		log_warn("instance %s: hot-plugging %s failed: %s", job->id, job->volume,
			 err_is_set(&e) ? e.message : answer);
		nbd_stop(c, job->id, job->volume);
		device_settle(c, job->id, job->volume, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	buf_release(&idir);
	buf_release(&cmd);
	free(job);
	compute_thread_end(c);
	return NULL;
}

static void *detach_thread(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	struct buf cmd = BUF_INIT;
	char answer[8192];
	buf_printf(&cmd, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"dev-%s\"}}",
		   job->volume);
	qemu_qmp_query(c, job->id, cmd.data, answer, sizeof answer);
	/* Wait for the guest to let go of the device. */
	int gone = 0;
	for (int i = 0; i < c->opt.stop_grace_seconds * 10 && !gone && !job->force; i++) {
		buf_reset(&cmd);
		buf_printf(&cmd, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}");
		if (qemu_qmp_query(c, job->id, cmd.data, answer, sizeof answer) == 0) {
			char needle[64];
			snprintf(needle, sizeof needle, "\"dev-%s\"", job->volume);
			gone = strstr(answer, needle) == NULL;
		}
		if (!gone)
			usleep(100000);
	}
	pthread_mutex_lock(&c->lock);
	if (gone || job->force) {
		buf_reset(&cmd);
		buf_printf(&cmd, "{\"execute\":\"blockdev-del\",\"arguments\":{\"node-name\":\"%s\"}}",
			   job->volume);
		qemu_qmp_query(c, job->id, cmd.data, answer, sizeof answer);
		nbd_stop(c, job->id, job->volume);
		device_settle(c, job->id, job->volume, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	buf_release(&cmd);
	free(job);
	compute_thread_end(c);
	return NULL;
}

static void plug(struct compute *c, const char *id, const char *volume, int force,
		 void *(*fn)(void *))
{
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	job->force = force;
	snprintf(job->id, sizeof job->id, "%s", id);
	snprintf(job->volume, sizeof job->volume, "%s", volume);
	compute_run_detached(c, fn, job);
}

void compute_attach(struct compute *c, const char *instance_id, const char *volume_id)
{
	plug(c, instance_id, volume_id, 0, attach_thread);
}

void compute_detach(struct compute *c, const char *instance_id, const char *volume_id,
		    int force)
{
	plug(c, instance_id, volume_id, force, detach_thread);
}
