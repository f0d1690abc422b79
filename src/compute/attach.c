/*
 * compute/attach.c: hot-plugging volumes into running machines (see compute.h).
 *
 * A volume in a machine is a QEMU block node (driver nbd, on a Unix socket
 * in the instance's directory) and a virtio-blk device "dev-<node>".  At boot
 * the node is named after the volume (qemu.c).  A guest that ignores a PCI
 * unplug keeps its device, and with it the node, for as long as the machine
 * runs; a forced detach then cuts it off by killing the volume's nbdkit (its
 * requests fail: the guest sees I/O errors).  So a later hot-plug of the
 * same volume into the same machine takes a fresh name, <volume>.<n> above
 * any node of the volume still there, and a fresh socket: the dead node can
 * never reconnect to the new server.  The device being unplugged is always
 * the one with the highest such name.
 */
#include "compute/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockstore/volume.h"
#include "catalog/catalog_instances.h"
#include "catalog/catalog_volumes.h"
#include "util/log.h"

/* QEMU's node names are at most 31 characters; ours are vol-<17>.<n>. */
#define NODE_MAX 32
/* query-named-block-nodes describes each node in about a kilobyte. */
#define NODES_ANSWER_MAX (256 * 1024)

/*
 * Sets a device's status, or (status NULL) removes it and frees the volume;
 * only while its status is still from, read in the same transaction (a
 * DetachVolume that came while the volume was attaching has its way).
 */
static void device_settle(struct compute *c, const char *id, const char *volume_id,
			  const char *from, const char *status)
{
	struct instance m;
	struct err e = ERR_INIT;
	if (catalog_begin(c->cat, &e) < 0) {
		log_warn("instance %s, volume %s: %s", id, volume_id, e.message);
		return;
	}
	int rc = catalog_instance_get(c->cat, id, &m, &e);
	if (rc <= 0) {
		catalog_rollback(c->cat);
		if (rc < 0)
			log_warn("instance %s, volume %s: %s", id, volume_id, e.message);
		return;
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && i < m.ndevices; i++) {
		struct instance_device *d = &m.devices[i];
		if (strcmp(d->volume_id, volume_id) != 0 || strcmp(d->status, from) != 0)
			continue;
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
	}
	if (rc < 0 || err_is_set(&e))
		catalog_rollback(c->cat);
	else
		catalog_commit(c->cat, &e);
	if (err_is_set(&e))
		log_warn("instance %s, volume %s: %s", id, volume_id, e.message);
	instance_release(&m);
}

/*
 * The instance's state and the status of its device for the volume ("" when
 * it has none); 0 if the instance is gone.
 */
static int device_status(struct compute *c, const char *id, const char *volume_id,
			 char state[16], char status[16])
{
	struct instance m;
	struct err e = ERR_INIT;
	if (catalog_instance_get(c->cat, id, &m, &e) <= 0)
		return 0;
	snprintf(state, 16, "%s", m.state);
	status[0] = '\0';
	for (size_t i = 0; i < m.ndevices; i++)
		if (!strcmp(m.devices[i].volume_id, volume_id))
			snprintf(status, 16, "%s", m.devices[i].status);
	instance_release(&m);
	return 1;
}

/*
 * The highest generation of the volume's names in a QMP answer: each
 * `"key": "<prefix><volume>"` is generation 0, `"key": "<prefix><volume>.<n>"`
 * generation n.  -1 when none is there.
 */
static long plug_highest(const char *answer, const char *key, const char *prefix,
			 const char *volume)
{
	char needle[128];
	long highest = -1;
	int len = snprintf(needle, sizeof needle, "\"%s\": \"%s%s", key, prefix, volume);
	for (const char *p = strstr(answer, needle); p; p = strstr(p + 1, needle)) {
		const char *rest = p + len;
		char *end = NULL;
		long n = -1;
		if (*rest == '"')
			n = 0;
		else if (*rest == '.' && rest[1] >= '1' && rest[1] <= '9')
			n = strtol(rest + 1, &end, 10);
		if (n >= 0 && (n == 0 || *end == '"') && n > highest)
			highest = n;
	}
	return highest;
}

static void plug_name(const char *volume, long generation, char node[NODE_MAX])
{
	if (generation <= 0)
		snprintf(node, NODE_MAX, "%s", volume);
	else
		snprintf(node, NODE_MAX, "%s.%ld", volume, generation);
}

/*
 * The volume's newest node in the machine (0 if it has none), and the name
 * a new hot-plug of it gets; -1 if QEMU did not answer.
 */
static int plug_nodes(struct compute *c, const char *id, const char *volume,
		      char newest[NODE_MAX], char next[NODE_MAX])
{
	char *answer = xmalloc(NODES_ANSWER_MAX);
	int rc = qemu_qmp_query(c, id, "{\"execute\":\"query-named-block-nodes\","
				"\"arguments\":{\"flat\":true}}", answer, NODES_ANSWER_MAX);
	long generation = rc == 0 ? plug_highest(answer, "node-name", "", volume) : -1;
	free(answer);
	if (rc < 0)
		return -1;
	plug_name(volume, generation, newest);
	plug_name(volume, generation + 1, next);
	return generation >= 0;
}

/*
 * The node of the volume's device in the machine now: 1 if there is one, 0
 * if there is none (the guest has let go of it), -1 if QEMU did not answer.
 */
static int plug_current_node(struct compute *c, const char *id, const char *volume,
			     char node[NODE_MAX])
{
	char answer[16384];
	if (qemu_qmp_query(c, id, "{\"execute\":\"qom-list\","
			   "\"arguments\":{\"path\":\"/machine/peripheral\"}}",
			   answer, sizeof answer) < 0)
		return -1;
	long generation = plug_highest(answer, "name", "dev-", volume);
	if (generation < 0)
		return 0;
	plug_name(volume, generation, node);
	return 1;
}

static void plug_socket_remove(struct compute *c, const char *id, const char *node)
{
	struct buf path = BUF_INIT;
	compute_instance_dir(c, id, &path);
	buf_printf(&path, "/%s.sock", node);
	unlink(path.data);
	buf_release(&path);
}

/* Takes the node out of QEMU (it can only once no device uses it). */
static void plug_node_delete(struct compute *c, const char *id, const char *node)
{
	char cmd[256], answer[4096];
	snprintf(cmd, sizeof cmd, "{\"execute\":\"blockdev-del\",\"arguments\":"
		 "{\"node-name\":\"%s\"}}", node);
	qemu_qmp_query(c, id, cmd, answer, sizeof answer);
}

/*
 * Serves the volume under a fresh node and plugs a device on it.  On failure
 * everything it started is undone.
 */
static int plug_in(struct compute *c, const char *id, const char *volume, struct err *e)
{
	struct buf idir = BUF_INIT, cmd = BUF_INIT;
	char newest[NODE_MAX], node[NODE_MAX], answer[4096] = "";
	int ret = -1, served = 0, added = 0;
	compute_instance_dir(c, id, &idir);
	if (plug_nodes(c, id, volume, newest, node) < 0) {
		err_internal(e, "the machine did not answer");
		goto out;
	}
	if (nbd_serve_node(c, idir.data, volume, node, e) < 0)
		goto out;
	served = 1;
	buf_printf(&cmd, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"nbd\","
		   "\"node-name\":\"%s\",\"server\":{\"type\":\"unix\",\"path\":\"%s/%s.sock\"}}}",
		   node, idir.data, node);
	if (qemu_qmp_query(c, id, cmd.data, answer, sizeof answer) < 0) {
		err_internal(e, "blockdev-add: %s", answer);
		goto out;
	}
	added = 1;
	buf_reset(&cmd);
	buf_printf(&cmd, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":"
		   "\"virtio-blk-pci\",\"drive\":\"%s\",\"id\":\"dev-%s\"}}", node, node);
	if (qemu_qmp_query(c, id, cmd.data, answer, sizeof answer) < 0) {
		err_internal(e, "device_add: %s", answer);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0 && added)
		plug_node_delete(c, id, node);
	if (ret < 0 && served && nbd_stop(c, id, volume, 1) == 0)
		plug_socket_remove(c, id, node);
	buf_release(&idir);
	buf_release(&cmd);
	return ret;
}

static void *attach_thread(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	struct err e = ERR_INIT;
	char state[16], status[16];
	pthread_mutex_lock(&c->lock);
	if (!device_status(c, job->id, job->volume, state, status) ||
	    strcmp(status, "attaching") != 0) {
		/* The attachment ended meanwhile (the instance stopped or went). */
	} else if (strcmp(state, "running") != 0) {
		/* The machine is gone: the volume is plugged when it boots again. */
		device_settle(c, job->id, job->volume, "attaching", "attached");
	} else if (plug_in(c, job->id, job->volume, &e) == 0) {
		/* Detaching meanwhile: the queued detach unplugs it. */
		device_settle(c, job->id, job->volume, "attaching", "attached");
	} else {
		log_warn("instance %s: hot-plugging %s failed: %s", job->id, job->volume,
			 e.message);
		struct err ignored = ERR_INIT;
		if (volume_served(c->dir, job->volume, &ignored) == 0)
			device_settle(c, job->id, job->volume, "attaching", NULL);
	}
	pthread_mutex_unlock(&c->lock);
	free(job);
	compute_thread_end(c);
	return NULL;
}

/* Asks the guest to let go of the device; with wait, waits for it. */
static int unplug_request(struct compute *c, const struct job *job, const char *node)
{
	char cmd[256], answer[8192];
	snprintf(cmd, sizeof cmd, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"dev-%s\"}}",
		 node);
	qemu_qmp_query(c, job->id, cmd, answer, sizeof answer);
	if (job->force)
		return 0;
	for (int i = 0; i < c->opt.stop_grace_seconds * 10; i++) {
		char now[NODE_MAX];
		int found = plug_current_node(c, job->id, job->volume, now);
		if (found == 0 || (found > 0 && strcmp(now, node) != 0))
			return 1;
		usleep(100000);
	}
	return 0;
}

static void *detach_thread(void *arg)
{
	struct job *job = arg;
	struct compute *c = job->c;
	char state[16], status[16], node[NODE_MAX], next[NODE_MAX];
	pthread_mutex_lock(&c->lock);
	int detaching = device_status(c, job->id, job->volume, state, status) &&
			!strcmp(status, "detaching");
	int device = detaching ? plug_current_node(c, job->id, job->volume, node) : 0;
	/* Without a device, its node (the newest) may still be there. */
	int has_node = device > 0 ||
		       (detaching && device == 0 &&
			plug_nodes(c, job->id, job->volume, node, next) > 0);
	pthread_mutex_unlock(&c->lock);
	if (!detaching)
		goto out; /* a stop of the instance has settled it already */
	/*
	 * A monitor that does not answer (QMP takes one client at a time)
	 * cannot tell whether the guest let go; it must not keep a forced
	 * detach from cutting the guest off.
	 */
	if (device < 0)
		log_warn("instance %s: its monitor does not answer; %s", job->id,
			 job->force ? "cutting the volume off" : "the volume stays detaching");
	int gone = device == 0 || (device > 0 && unplug_request(c, job, node));
	pthread_mutex_lock(&c->lock);
	/* A stop of the instance meanwhile has settled the attachment already. */
	if (device_status(c, job->id, job->volume, state, status) &&
	    !strcmp(status, "detaching") && (gone || job->force)) {
		if (!gone)
			log_warn("instance %s: the guest kept %s; cutting it off", job->id,
				 job->volume);
		if (has_node)
			plug_node_delete(c, job->id, node);
		if (nbd_stop(c, job->id, job->volume, !gone) == 0) {
			if (has_node)
				plug_socket_remove(c, job->id, node);
			device_settle(c, job->id, job->volume, "detaching", NULL);
		} else {
			log_error("instance %s: %s is still served; it stays detaching",
				  job->id, job->volume);
		}
	}
	pthread_mutex_unlock(&c->lock);
out:
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
