/* volsnap: point-in-time, incremental snapshots of volumes (see volsnap.h). */
#include "blockstore/volsnap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockstore/volume.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/log.h"

struct volsnap_job {
	char snapshot_id[ID_MAX];
	char volume_id[ID_MAX];
	int doomed;             /* an earlier snapshot of the volume failed */
	struct volsnap_job *next;
};

struct volsnap {
	char *dir;
	struct catalog *cat;
	struct blockstore *bs;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* a job arrived, or stop */
	pthread_cond_t done;    /* a job finished */
	pthread_mutex_t capture_lock; /* one capture at a time */
	struct volsnap_job *head, *tail;
	char running[ID_MAX];   /* the volume of the job being built, or "" */
	int stop;
};

static void capture_path(struct volsnap *vs, const char *snapshot_id,
			 struct buf *out)
{
	buf_printf(out, "%s/captures/%s", vs->dir, snapshot_id);
}

static void volsnap_enqueue(struct volsnap *vs, const char *snapshot_id,
			    const char *volume_id)
{
	struct volsnap_job *job = xcalloc(1, sizeof *job);
	snprintf(job->snapshot_id, sizeof job->snapshot_id, "%s", snapshot_id);
	snprintf(job->volume_id, sizeof job->volume_id, "%s", volume_id);
	pthread_mutex_lock(&vs->lock);
	if (vs->tail)
		vs->tail->next = job;
	else
		vs->head = job;
	vs->tail = job;
	pthread_cond_signal(&vs->wake);
	pthread_mutex_unlock(&vs->lock);
}

void volsnap_release(struct volsnap *vs, const char *snapshot_id)
{
	struct snapshot s;
	struct err e = ERR_INIT;
	if (!snapshot_id[0] ||
	    catalog_snapshot_get(vs->cat, snapshot_id, &s, &e) <= 0 || s.owner_id[0] ||
	    catalog_snapshot_needed_by_volume(vs->cat, snapshot_id, &e) != 0)
		return;
	if (blockstore_delete_snapshot(vs->bs, snapshot_id, &e) < 0)
		log_warn("releasing snapshot %s: %s", snapshot_id, e.message);
}

/* Marks the snapshot failed and gives its blocks back to the volume. */
static void volsnap_fail(struct volsnap *vs, const struct volsnap_job *job,
			 const char *path, const char *why)
{
	struct err e = ERR_INIT;
	struct volume *v = NULL;
	log_warn("snapshot %s of %s failed: %s", job->snapshot_id, job->volume_id, why);
	/* Later captures of the volume build on this one: they fail too. */
	pthread_mutex_lock(&vs->lock);
	for (struct volsnap_job *j = vs->head; j; j = j->next)
		if (!strcmp(j->volume_id, job->volume_id))
			j->doomed = 1;
	pthread_mutex_unlock(&vs->lock);
	if (volume_open(vs->dir, job->volume_id, &v, &e) == 0) {
		volume_mark_changes(v, path, &e);
		volume_close(v);
	}
	err_clear(&e);
	if (catalog_begin(vs->cat, &e) == 0) {
		if (catalog_snapshot_set_state(vs->cat, job->snapshot_id, "error", why, 0,
					       0, &e) < 0)
			catalog_rollback(vs->cat);
		else
			catalog_commit(vs->cat, &e);
	}
	unlink(path);
}

/* Builds one snapshot from its capture. */
static void volsnap_build(struct volsnap *vs, const struct volsnap_job *job)
{
	struct buf path = BUF_INIT;
	struct volume_row vol;
	struct snapshot s;
	struct err e = ERR_INIT;
	unsigned char *block = xmalloc(BLOCK_SIZE);
	unsigned char index[8], hash[32];
	char old_map[ID_MAX] = "";
	int fd = -1;
	capture_path(vs, job->snapshot_id, &path);
	if (catalog_snapshot_get(vs->cat, job->snapshot_id, &s, &e) <= 0 ||
	    strcmp(s.status, "pending") != 0) {
		unlink(path.data); /* deleted meanwhile: nothing to build */
		goto out;
	}
	if (job->doomed) {
		volsnap_fail(vs, job, path.data, "an earlier snapshot of the volume failed");
		goto out;
	}
	if (catalog_volume_get(vs->cat, job->volume_id, &vol, &e) <= 0) {
		volsnap_fail(vs, job, path.data, "the volume was deleted before the snapshot was built");
		goto out;
	}
	fd = open(path.data, O_RDONLY);
	if (fd < 0) {
		volsnap_fail(vs, job, path.data, "the capture of the volume is missing");
		goto out;
	}
	/* The volume's content but for the captured blocks: its map snapshot. */
	if (vol.map_snapshot_id[0]) {
		if (catalog_begin(vs->cat, &e) < 0)
			goto fail;
		if (catalog_blocks_copy(vs->cat, vol.map_snapshot_id, s.id, &e) < 0) {
			catalog_rollback(vs->cat);
			goto fail;
		}
		if (catalog_commit(vs->cat, &e) < 0)
			goto fail;
	}
	for (off_t at = 0;; at += 8 + BLOCK_SIZE) {
		ssize_t n = pread(fd, index, 8, at);
		if (n == 0)
			break;
		if (n != 8 || pread(fd, block, BLOCK_SIZE, at + 8) != BLOCK_SIZE) {
			err_internal(&e, "the capture file is short");
			goto fail;
		}
		long long i = 0;
		for (int b = 7; b >= 0; b--)
			i = (i << 8) | index[b];
		codec_sha256(block, BLOCK_SIZE, hash);
		if (blockstore_put_block(vs->bs, s.id, i, block, hash, &e) < 0)
			goto fail;
	}
	/* Complete it, and let the volume build on it from now on. */
	if (catalog_begin(vs->cat, &e) < 0)
		goto fail;
	snprintf(old_map, sizeof old_map, "%s", vol.map_snapshot_id);
	if (catalog_volume_get(vs->cat, job->volume_id, &vol, &e) > 0) {
		snprintf(vol.map_snapshot_id, sizeof vol.map_snapshot_id, "%s", s.id);
		if (catalog_volume_update(vs->cat, &vol, &e) < 0) {
			catalog_rollback(vs->cat);
			goto fail;
		}
	}
	if (catalog_snapshot_set_state(vs->cat, s.id, "completed", NULL, 100,
				       ids_now_ms(), &e) < 0) {
		catalog_rollback(vs->cat);
		goto fail;
	}
	if (catalog_commit(vs->cat, &e) < 0)
		goto fail;
	unlink(path.data);
	if (strcmp(old_map, vol.base_snapshot_id) != 0)
		volsnap_release(vs, old_map);
	goto out;
fail:
	volsnap_fail(vs, job, path.data, e.message);
out:
	if (fd >= 0)
		close(fd);
	free(block);
	buf_release(&path);
}

static void *volsnap_main(void *arg)
{
	struct volsnap *vs = arg;
	pthread_mutex_lock(&vs->lock);
	for (;;) {
		while (!vs->head && !vs->stop)
			pthread_cond_wait(&vs->wake, &vs->lock);
		if (vs->stop)
			break;
		struct volsnap_job *job = vs->head;
		vs->head = job->next;
		if (!vs->head)
			vs->tail = NULL;
		snprintf(vs->running, sizeof vs->running, "%s", job->volume_id);
		pthread_mutex_unlock(&vs->lock);
		volsnap_build(vs, job);
		free(job);
		pthread_mutex_lock(&vs->lock);
		vs->running[0] = '\0';
		pthread_cond_broadcast(&vs->done);
	}
	pthread_mutex_unlock(&vs->lock);
	return NULL;
}

/* Requeues pending snapshots whose capture survived a restart. */
static int volsnap_recover(struct volsnap *vs, struct err *e)
{
	struct buf dirpath = BUF_INIT;
	buf_printf(&dirpath, "%s/captures", vs->dir);
	if (mkdir(dirpath.data, 0700) < 0 && errno != EEXIST) {
		err_internal(e, "creating %s: %s", dirpath.data, strerror(errno));
		buf_release(&dirpath);
		return -1;
	}
	DIR *d = opendir(dirpath.data);
	struct dirent *ent;
	while (d && (ent = readdir(d))) {
		struct snapshot s;
		struct buf path = BUF_INIT;
		if (ent->d_name[0] == '.')
			continue;
		buf_printf(&path, "%s/%s", dirpath.data, ent->d_name);
		err_clear(e);
		if (ids_valid_resource("snap", ent->d_name) &&
		    catalog_snapshot_get(vs->cat, ent->d_name, &s, e) > 0 &&
		    !strcmp(s.status, "pending")) {
			log_info("resuming snapshot %s of %s", s.id, s.volume_id);
			volsnap_enqueue(vs, s.id, s.volume_id);
		} else {
			unlink(path.data); /* a capture nobody recorded */
		}
		buf_release(&path);
	}
	if (d)
		closedir(d);
	buf_release(&dirpath);
	err_clear(e);
	return 0;
}

int volsnap_start(const char *dir, struct catalog *cat, struct blockstore *bs,
		  struct volsnap **out, struct err *e)
{
	struct volsnap *vs = xcalloc(1, sizeof *vs);
	vs->dir = xstrdup(dir);
	vs->cat = cat;
	vs->bs = bs;
	pthread_mutex_init(&vs->lock, NULL);
	pthread_mutex_init(&vs->capture_lock, NULL);
	pthread_cond_init(&vs->wake, NULL);
	pthread_cond_init(&vs->done, NULL);
	if (volsnap_recover(vs, e) < 0 ||
	    pthread_create(&vs->thread, NULL, volsnap_main, vs) != 0) {
		if (!err_is_set(e))
			err_internal(e, "cannot start the snapshot worker");
		free(vs->dir);
		free(vs);
		return -1;
	}
	*out = vs;
	return 0;
}

void volsnap_stop(struct volsnap *vs)
{
	if (!vs)
		return;
	pthread_mutex_lock(&vs->lock);
	vs->stop = 1;
	pthread_cond_broadcast(&vs->wake);
	pthread_mutex_unlock(&vs->lock);
	pthread_join(vs->thread, NULL);
	while (vs->head) {
		struct volsnap_job *next = vs->head->next;
		free(vs->head); /* its capture stays: the next start resumes it */
		vs->head = next;
	}
	pthread_mutex_destroy(&vs->lock);
	pthread_mutex_destroy(&vs->capture_lock);
	pthread_cond_destroy(&vs->wake);
	pthread_cond_destroy(&vs->done);
	free(vs->dir);
	free(vs);
}

static int volsnap_busy(struct volsnap *vs, const char *volume_id)
{
	if (!strcmp(vs->running, volume_id))
		return 1;
	for (struct volsnap_job *j = vs->head; j; j = j->next)
		if (!strcmp(j->volume_id, volume_id))
			return 1;
	return 0;
}

void volsnap_wait_volume(struct volsnap *vs, const char *volume_id)
{
	pthread_mutex_lock(&vs->lock);
	while (volsnap_busy(vs, volume_id) && !vs->stop)
		pthread_cond_wait(&vs->done, &vs->lock);
	pthread_mutex_unlock(&vs->lock);
}

int volsnap_capture(struct volsnap *vs, const struct volume_row *vol,
		    struct snapshot *s, const struct tag_list *tags,
		    struct err *e)
{
	struct volume *v = NULL;
	struct buf path = BUF_INIT;
	int ret = -1, frozen = 0;
	capture_path(vs, s->id, &path);
	snprintf(s->volume_id, sizeof s->volume_id, "%s", vol->id);
	snprintf(s->status, sizeof s->status, "pending");
	s->volume_size = vol->size_gib;
	s->start_ms = ids_now_ms();
	s->deadline_ms = s->start_ms + 10LL * 365 * 24 * 3600 * 1000; /* never expires */
	s->progress = 0;
	pthread_mutex_lock(&vs->capture_lock);
	if (volume_open(vs->dir, vol->id, &v, e) < 0 || volume_freeze(v, e) < 0)
		goto out;
	frozen = 1;
	/* The point in time: what the volume holds now. */
	if (volume_capture_changes(v, path.data, e) < 0)
		goto out;
	if (catalog_begin(vs->cat, e) < 0)
		goto unlink;
	if (catalog_snapshot_insert(vs->cat, s, e) < 0)
		goto rollback;
	for (size_t i = 0; i < tags->count; i++)
		if (catalog_tag_set(vs->cat, s->id, "snapshot", s->owner_id,
				    tags->items[i].key, tags->items[i].value, e) < 0)
			goto rollback;
	if (catalog_commit(vs->cat, e) < 0)
		goto unlink;
	/* Recorded: the next snapshot starts from this one. */
	if (volume_clear_changes(v, e) < 0)
		log_warn("volume %s: %s (its next snapshot repeats blocks)", vol->id, e->message);
	err_clear(e);
	volume_thaw(v);
	frozen = 0;
	volsnap_enqueue(vs, s->id, vol->id);
	ret = 0;
	goto out;
rollback:
	catalog_rollback(vs->cat);
unlink:
	unlink(path.data);
out:
	if (frozen)
		volume_thaw(v);
	volume_close(v);
	pthread_mutex_unlock(&vs->capture_lock);
	buf_release(&path);
	return ret;
}
