/*
 * compute/nbd.c: the nbdkit servers that export volumes (see internal.h).
 *
 * One nbdkit per volume a machine uses, on a Unix socket in the instance's
 * directory; its pid in DIR/instances/ID/<volume>.pid (and in nbd.pids, for
 * stopping them all).  The plugin holds the volume's serving lock while it
 * runs (src/blockstore/volume.h), so "no machine can reach this volume" is
 * checked, not assumed: nbd_stop returns 0 only once nobody holds it.
 */
#include "compute/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockstore/volume.h"
#include "util/log.h"

/*
 * Stops the instance's nbdkit processes (their pids are in nbd.pids; their
 * command lines name the instance's directory).  A process that has ended
 * but is not reaped yet (nbdkit runs as init's child) has no command line
 * any more, so it counts as gone.
 */
void nbd_stop_all(struct compute *c, const char *id)
{
	struct buf path = BUF_INIT;
	compute_instance_dir(c, id, &path);
	buf_append_str(&path, "/nbd.pids");
	FILE *f = fopen(path.data, "r");
	long pid;
	while (f && fscanf(f, "%ld", &pid) == 1) {
		if (pid <= 0 || !process_mentions((pid_t)pid, id))
			continue;
		kill((pid_t)pid, SIGTERM);
		for (int i = 0; i < 200 && process_mentions((pid_t)pid, id); i++)
			usleep(10000);
		if (process_mentions((pid_t)pid, id))
			kill((pid_t)pid, SIGKILL);
	}
	if (f)
		fclose(f);
	unlink(path.data);
	buf_release(&path);
}

/*
 * Waits for nbdkit's pidfile, which it writes once its socket is listening;
 * returns the pid in it, or -1.
 */
static pid_t wait_ready(const char *pidfile)
{
	/* Up to 30 s: nbdkit with a sanitizer build of the plugin is slow. */
	for (int i = 0; i < 6000; i++) {
		FILE *f = fopen(pidfile, "r");
		long pid = 0;
		if (f) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0)
			return (pid_t)pid;
		usleep(5000);
	}
	return -1;
}

int nbd_serve_node(struct compute *c, const char *idir, const char *volume_id,
		   const char *node, struct err *e)
{
	struct args a = { 0 };
	struct buf sock = BUF_INIT, log = BUF_INIT, pids = BUF_INIT, pidfile = BUF_INIT;
	int ret = -1, status = 0;
	buf_printf(&sock, "%s/%s.sock", idir, node);
	buf_printf(&pidfile, "%s/%s.pid", idir, volume_id);
	unlink(pidfile.data);
	buf_printf(&log, "%s/nbdkit.log", idir);
	buf_printf(&pids, "%s/nbd.pids", idir);
	unlink(sock.data);
	/*
	 * nbdkit in the foreground ties itself to its parent (a parent-death
	 * signal); in the background it forks, leaves its session and is
	 * reparented to init, so it outlives the thread that started it and a
	 * daemon restart.  Its pidfile, written once it listens, tells its pid.
	 */
	args_add(&a, "nbdkit");
	args_add(&a, "-U");
	args_add(&a, "%s", sock.data);
	args_add(&a, "-P");
	args_add(&a, "%s", pidfile.data);
	args_add(&a, "%s", c->plugin);
	args_add(&a, "data=%s", c->dir);
	args_add(&a, "volume=%s", volume_id);
	pid_t starter = process_spawn(a.v, log.data, getenv("AMIBOX_NBDKIT_PRELOAD"), -1);
	if (starter < 0) {
		err_internal(e, "cannot start nbdkit for %s: %s", volume_id, strerror(errno));
		goto out;
	}
	/* The starter exits once the server listens, or at once if it cannot serve. */
	if (waitpid(starter, &status, 0) == starter &&
	    (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		err_internal(e, "nbdkit refused to serve %s (see %s)", volume_id, log.data);
		goto out;
	}
	pid_t pid = wait_ready(pidfile.data);
	if (pid < 0) {
		err_internal(e, "nbdkit did not start serving %s (see %s)", volume_id, log.data);
		goto out;
	}
	FILE *f = fopen(pids.data, "a");
	if (f) {
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
	ret = 0;
out:
	args_free(&a);
	buf_release(&sock);
	buf_release(&log);
	buf_release(&pids);
	buf_release(&pidfile);
	return ret;
}

int nbd_serve(struct compute *c, const char *idir, const char *volume_id, struct err *e)
{
	return nbd_serve_node(c, idir, volume_id, volume_id, e);
}

/* 1 while some process serves the volume (an error counts as served). */
static int nbd_served(struct compute *c, const char *volume_id)
{
	struct err e = ERR_INIT;
	return volume_served(c->dir, volume_id, &e) != 0;
}

/* Waits up to ms for the volume's servers to end; 1 if one still runs. */
static int nbd_wait_unserved(struct compute *c, const char *volume_id, int ms)
{
	for (int waited = 0; waited < ms && nbd_served(c, volume_id); waited += 10)
		usleep(10000);
	return nbd_served(c, volume_id);
}

/*
 * Whether the NUL-separated argv of a process is an nbdkit serving the
 * volume from this data directory.
 */
static int nbd_argv_serves(const char *argv, size_t len, const char *data_arg,
			   const char *volume_arg)
{
	int nbdkit = 0, data = 0, volume = 0;
	for (size_t at = 0; at < len; at += strlen(argv + at) + 1) {
		const char *arg = argv + at;
		const char *slash = strrchr(arg, '/');
		if (at == 0)
			nbdkit = !strcmp(slash ? slash + 1 : arg, "nbdkit");
		data |= !strcmp(arg, data_arg);
		volume |= !strcmp(arg, volume_arg);
	}
	return nbdkit && data && volume;
}

/*
 * Kills every nbdkit that serves the volume from this data directory,
 * whoever started it: a pidfile can be lost (a crash between the start
 * and its record), the lock cannot.
 */
static void nbd_kill_servers(struct compute *c, const char *volume_id)
{
	struct buf data_arg = BUF_INIT, volume_arg = BUF_INIT, path = BUF_INIT;
	char argv[8192];
	buf_printf(&data_arg, "data=%s", c->dir);
	buf_printf(&volume_arg, "volume=%s", volume_id);
	DIR *proc = opendir("/proc");
	struct dirent *d;
	while (proc && (d = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		buf_reset(&path);
		buf_printf(&path, "/proc/%ld/cmdline", pid);
		int fd = open(path.data, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, argv, sizeof argv - 1);
		close(fd);
		if (n <= 0)
			continue;
		argv[n] = '\0';
		if (nbd_argv_serves(argv, (size_t)n, data_arg.data, volume_arg.data)) {
			log_warn("volume %s: killing its server (pid %ld)", volume_id, pid);
			kill((pid_t)pid, SIGKILL);
		}
	}
	if (proc)
		closedir(proc);
	buf_release(&data_arg);
	buf_release(&volume_arg);
	buf_release(&path);
}

int nbd_stop(struct compute *c, const char *id, const char *volume_id, int hard)
{
	struct buf path = BUF_INIT;
	long pid = 0;
	compute_instance_dir(c, id, &path);
	buf_printf(&path, "/%s.pid", volume_id);
	FILE *f = fopen(path.data, "r");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	/*
	 * nbdkit ends on SIGTERM only once its client has gone: a QEMU whose
	 * guest still holds the disk keeps it up.  Cutting the guest off is
	 * SIGKILL; QEMU's NBD client then fails every request (the guest sees
	 * I/O errors), as a forced detach does on EC2.
	 */
	if (pid > 0 && process_mentions((pid_t)pid, volume_id))
		kill((pid_t)pid, hard ? SIGKILL : SIGTERM);
	int served = nbd_wait_unserved(c, volume_id, hard ? 2000 : 1000);
	if (served) {
		nbd_kill_servers(c, volume_id);
		served = nbd_wait_unserved(c, volume_id, 5000);
	}
	if (served)
		log_error("volume %s: a process still serves it after SIGKILL", volume_id);
	else
		unlink(path.data);
	buf_release(&path);
	return served ? -1 : 0;
}
