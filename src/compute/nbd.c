/* compute/nbd.c: the nbdkit servers that export volumes (see internal.h). */
#include "compute/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Stops the instance's nbdkit processes (their pids are in nbd.pids; their
 * command lines name the instance's directory).
 */
void nbd_stop_all(struct compute *c, const char *id)
{
	struct buf path = BUF_INIT;
	compute_instance_dir(c, id, &path);
	buf_append_str(&path, "/nbd.pids");
	FILE *f = fopen(path.data, "r");
	long pid;
	while (f && fscanf(f, "%ld", &pid) == 1) {
		if (pid > 0 && process_mentions((pid_t)pid, id)) {
			kill((pid_t)pid, SIGTERM);
			for (int i = 0; i < 100 && process_alive((pid_t)pid); i++) {
				waitpid((pid_t)pid, NULL, WNOHANG);
				usleep(10000);
			}
			waitpid((pid_t)pid, NULL, WNOHANG);
		}
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

/* Serves one volume for the instance: nbdkit on dir/<vol>.sock. */
int nbd_serve(struct compute *c, const char *idir,
		     const char *volume_id, struct err *e)
{
	struct args a = { 0 };
	struct buf sock = BUF_INIT, log = BUF_INIT, pids = BUF_INIT, pidfile = BUF_INIT;
	int ret = -1;
	buf_printf(&sock, "%s/%s.sock", idir, volume_id);
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
	pid_t starter = process_spawn(a.v, log.data, getenv("AMIBOX_NBDKIT_PRELOAD"));
	if (starter < 0) {
		err_internal(e, "cannot start nbdkit for %s: %s", volume_id, strerror(errno));
		goto out;
	}
	waitpid(starter, NULL, 0);
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

/* Stops the nbdkit serving one volume of the instance. */
void nbd_stop(struct compute *c, const char *id, const char *volume_id)
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
	if (pid > 0 && process_mentions((pid_t)pid, volume_id)) {
		kill((pid_t)pid, SIGTERM);
		for (int i = 0; i < 100 && process_alive((pid_t)pid); i++)
			usleep(10000);
	}
	unlink(path.data);
	buf_release(&path);
}
