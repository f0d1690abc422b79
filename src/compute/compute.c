/* compute: QEMU machines for instances (see compute.h). */
#include "compute/compute.h"

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

extern char **environ;

#define CONSOLE_MAX (64 * 1024)

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
};

/* ---- small helpers ------------------------------------------------------ */

static void instance_dir(struct compute *c, const char *id, struct buf *out)
{
	buf_printf(out, "%s/instances/%s", c->dir, id);
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int process_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* 1 if /proc/pid/cmdline mentions needle (the process is really ours). */
static int process_mentions(pid_t pid, const char *needle)
{
	char path[64], buf[8192];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/*
 * Starts argv in its own session, stdin from /dev/null, stdout and stderr
 * appended to log, no descriptor of ours inherited, default signals.
 */
static pid_t spawn(char *const argv[], const char *log_path, const char *preload)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	pid_t pid = -1;
	char **env = environ;
	char *preload_var = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					       POSIX_SPAWN_SETSIGDEF);
	if (preload && *preload) {
		size_t n = 0;
		while (environ[n])
			n++;
		env = xcalloc(n + 2, sizeof *env);
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
				env[k++] = environ[i];
		struct buf b = BUF_INIT;
		buf_printf(&b, "LD_PRELOAD=%s", preload);
		preload_var = buf_detach(&b);
		env[k] = preload_var;
	}
	if (posix_spawnp(&pid, argv[0], &fa, &attr, argv, env) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (env != environ)
		free(env);
	free(preload_var);
	return pid;
}

/* A growable argv. */
struct args {
	char **v;
	size_t n;
};

static void args_add(struct args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void args_add(struct args *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	char tmp[4096];
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_append_str(&b, tmp);
	a->v = xrealloc(a->v, (a->n + 2) * sizeof *a->v);
	a->v[a->n++] = buf_detach(&b);
	a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* ---- QMP ---------------------------------------------------------------- */

/* Reads one line (up to cap-1 bytes) within timeout_ms; -1 on failure. */
static int read_line(int fd, char *line, size_t cap, int timeout_ms)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		ssize_t r = read(fd, line + n, 1);
		if (r <= 0)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return 0;
}

/*
 * Sends a QMP command and returns its answer's line in out (for queries);
 * 0 when it answered "return".
 */
static int qmp_query(struct compute *c, const char *instance_id, const char *command,
		     char *out, size_t cap)
{
	struct buf path = BUF_INIT;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int ret = -1;
	instance_dir(c, instance_id, &path);
	buf_append_str(&path, "/qmp.sock");
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.data);
	buf_release(&path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    read_line(fd, out, cap, 5000) < 0 ||
	    write(fd, caps, sizeof caps - 1) != (ssize_t)(sizeof caps - 1) ||
	    read_line(fd, out, cap, 5000) < 0 ||
	    write(fd, command, strlen(command)) != (ssize_t)strlen(command) ||
	    write(fd, "\n", 1) != 1)
		goto out;
	for (int i = 0; i < 50; i++) {
		if (read_line(fd, out, cap, 5000) < 0)
			goto out;
		if (strstr(out, "\"return\"")) {
			ret = 0;
			break;
		}
		if (strstr(out, "\"error\""))
			break;
	}
out:
	close(fd);
	return ret;
}

/* Sends one QMP command (JSON text); 0 when QEMU answered "return". */
static int qmp(struct compute *c, const char *instance_id, const char *command)
{
	char answer[4096];
	return qmp_query(c, instance_id, command, answer, sizeof answer);
}

/* ---- helper threads ----------------------------------------------------- */

struct job {
	struct compute *c;
	char id[ID_MAX];
	pid_t pid;
	int pidfd;
	int force;
};

static void thread_begin(struct compute *c)
{
	pthread_mutex_lock(&c->threads_lock);
	c->threads++;
	pthread_mutex_unlock(&c->threads_lock);
}

static void thread_end(struct compute *c)
{
	pthread_mutex_lock(&c->threads_lock);
	if (--c->threads == 0)
		pthread_cond_broadcast(&c->threads_idle);
	pthread_mutex_unlock(&c->threads_lock);
}

static void run_detached(struct compute *c, void *(*fn)(void *), struct job *job)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	thread_begin(c);
	if (pthread_create(&t, &attr, fn, job) != 0) {
		log_error("cannot start a thread for %s", job->id);
		free(job);
		thread_end(c);
	}
	pthread_attr_destroy(&attr);
}

/* ---- the NBD servers ---------------------------------------------------- */

/*
 * Stops the instance's nbdkit processes (their pids are in nbd.pids; their
 * command lines name the instance's directory).
 */
static void stop_nbd(struct compute *c, const char *id)
{
	struct buf path = BUF_INIT;
	instance_dir(c, id, &path);
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
static int start_nbd(struct compute *c, const char *idir,
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
	pid_t starter = spawn(a.v, log.data, getenv("AMIBOX_NBDKIT_PRELOAD"));
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
static void stop_one_nbd(struct compute *c, const char *id, const char *volume_id)
{
	struct buf path = BUF_INIT;
	long pid = 0;
	instance_dir(c, id, &path);
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
		instance_dir(c, id, &path);
		buf_printf(&path, "/ephemeral%d.img", i);
		unlink(path.data);
	}
	/* An instance-store root goes with the machine too. */
	buf_reset(&path);
	instance_dir(c, id, &path);
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
static void finalize_as(struct compute *c, const char *id, const char *code,
			const char *message, int force_terminate)
{
	struct instance m;
	struct err e = ERR_INIT;
	if (catalog_instance_get(c->cat, id, &m, &e) <= 0)
		return;
	stop_nbd(c, id);
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
	    catalog_instance_set_pid(c->cat, id, 0, &e) < 0)
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
	goto out;
rollback:
	catalog_rollback(c->cat);
out:
	if (err_is_set(&e))
		log_warn("instance %s: %s", id, e.message);
	instance_release(&m);
}

static void finalize(struct compute *c, const char *id, const char *code,
		     const char *message)
{
	finalize_as(c, id, code, message, 0);
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
		thread_end(c);
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
				finalize(c, job->id, "Server.InternalError",
					 "Server.InternalError: the virtual machine failed (see the daemon's instance log)");
			else
				finalize(c, job->id, NULL, NULL);
		}
		instance_release(&m);
	}
	pthread_mutex_unlock(&c->lock);
	free(job);
	thread_end(c);
	return NULL;
}

static void watch(struct compute *c, const char *id, pid_t pid)
{
	int fd = pidfd_open_(pid);
	if (fd < 0) {
		log_warn("instance %s: cannot watch process %d: %s", id, (int)pid, strerror(errno));
		return;
	}
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	snprintf(job->id, sizeof job->id, "%s", id);
	job->pid = pid;
	job->pidfd = fd;
	run_detached(c, watcher, job);
}

/* ---- boot --------------------------------------------------------------- */

void compute_private_ip(const char *instance_id, char out[16])
{
	unsigned h = 2166136261u;
	for (const char *p = instance_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	/* 169.254.1.10 .. 169.254.168.249: clear of the metadata service's .169. */
	snprintf(out, 16, "169.254.%u.%u", 1 + h % 168, 10 + (h >> 8) % 240);
}

/* Reads the root volume for PV-GRUB. */
struct pv_reader {
	struct volume *v;
	struct blockstore *bs;
};

static int pv_read_volume(void *ctx, void *buf, size_t len, uint64_t offset)
{
	struct pv_reader *r = ctx;
	struct err e = ERR_INIT;
	unsigned char *out = buf;
	while (len) {
		uint32_t n = len > (1u << 20) ? (1u << 20) : (uint32_t)len;
		if (volume_read(r->v, r->bs, out, n, offset, &e) < 0)
			return -1;
		out += n;
		offset += n;
		len -= n;
	}
	return 0;
}

/* An instance-store root, read for PV-GRUB. */
static int pv_read_file(void *ctx, void *buf, size_t len, uint64_t offset)
{
	int fd = *(int *)ctx;
	unsigned char *out = buf;
	while (len) {
		ssize_t n = pread(fd, out, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		out += n;
		offset += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* The PV-GRUB AKIs for a partitioned first disk ("hd00"). */
static int pv_partitioned(const char *kernel_id)
{
	return !strcmp(kernel_id, "aki-b4beffed1035276ac") ||
	       !strcmp(kernel_id, "aki-5e6ff4f11bddc619d");
}

/*
 * PV-GRUB: the root volume's menu.lst picks the kernel, written to idir.
 * A failure is printed on the instance's console, as PV-GRUB would.
 */
static int pv_grub(struct compute *c, const struct instance *m, const char *idir,
		   struct pvgrub_boot *boot, struct err *e)
{
	const char *root = NULL;
	int store_root = 0;
	for (size_t i = 0; i < m->ndevices; i++) {
		if (strcmp(m->devices[i].device_name, m->root_device_name) != 0)
			continue;
		if (m->devices[i].volume_id[0])
			root = m->devices[i].volume_id;
		store_root |= !strcmp(m->devices[i].virtual_name, "root");
	}
	struct pv_reader r = { NULL, c->bs };
	int ret = -1;
	if (store_root) {
		struct buf file = BUF_INIT;
		buf_printf(&file, "%s/%s", idir, INSTANCE_STORE_ROOT);
		int fd = open(file.data, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0) {
			err_internal(e, "opening the instance store: %s", strerror(errno));
		} else {
			struct pvgrub_disk disk = { pv_read_file, &fd, (uint64_t)st.st_size };
			ret = pvgrub_load(&disk, pv_partitioned(m->kernel_id), idir, boot, e);
		}
		if (fd >= 0)
			close(fd);
		buf_release(&file);
	} else if (!root) {
		err_set(e, 400, "InvalidParameterValue", "the root device is not an EBS volume");
	} else if (volume_open(c->dir, root, &r.v, e) == 0) {
		struct pvgrub_disk disk = { pv_read_volume, &r, volume_size(r.v) };
		ret = pvgrub_load(&disk, pv_partitioned(m->kernel_id), idir, boot, e);
		volume_close(r.v);
	}
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/console.log", idir);
	FILE *f = fopen(path.data, "w");
	if (f) {
		fprintf(f, "amibox PV-GRUB (%s, %s)\r\n", m->kernel_id,
			pv_partitioned(m->kernel_id) ? "hd00" : "hd0");
		if (ret == 0)
			fprintf(f, "Booting '%s'\r\n  kernel %s\r\n", boot->title, boot->cmdline);
		else
			fprintf(f, "Error: %s\r\nPV-GRUB could not boot this instance.\r\n", e->message);
		fclose(f);
	}
	buf_release(&path);
	return ret;
}

static int boot_machine(struct compute *c, const struct instance *m, struct err *e)
{
	struct buf idir = BUF_INIT, path = BUF_INIT;
	struct args a = { 0 };
	int ret = -1;
	const struct instance_type *type = instance_type_find(m->instance_type);
	if (!type) {
		err_internal(e, "unknown instance type %s", m->instance_type);
		goto out;
	}
	instance_dir(c, m->id, &idir);
	buf_printf(&path, "%s/instances", c->dir);
	mkdir(path.data, 0700);
	if (mkdir(idir.data, 0700) < 0 && errno != EEXIST) {
		err_internal(e, "creating %s: %s", idir.data, strerror(errno));
		goto out;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int vcpus = type->vcpus < cores ? type->vcpus : (int)cores;
	char ip[16];
	compute_private_ip(m->id, ip);
	args_add(&a, "qemu-system-x86_64");
	args_add(&a, "-name");
	args_add(&a, "amibox-%s", m->id);
	args_add(&a, "-machine");
	args_add(&a, "pc,accel=%s", accel_get(c->accel));
	args_add(&a, "-m");
	args_add(&a, "%lld", instance_type_guest_mib(type, c->opt.memory_scale));
	args_add(&a, "-smp");
	args_add(&a, "%d", vcpus < 1 ? 1 : vcpus);
	args_add(&a, "-nodefaults");
	args_add(&a, "-no-user-config");
	args_add(&a, "-display");
	args_add(&a, "none");
	args_add(&a, "-chardev");
	args_add(&a, "file,id=console,path=%s/console.log", idir.data);
	args_add(&a, "-serial");
	args_add(&a, "chardev:console");
	args_add(&a, "-qmp");
	args_add(&a, "unix:%s/qmp.sock,server=on,wait=off", idir.data);
	/*
	 * User-mode networking, closed to the outside, on the link-local
	 * network where the metadata service lives: the guest's connections to
	 * 169.254.169.254:80 start `amibox imds` for this instance alone.
	 */
	args_add(&a, "-netdev");
	args_add(&a, "user,id=net0,restrict=on,net=169.254.0.0/16,dhcpstart=%s,"
		 "guestfwd=tcp:169.254.169.254:80-cmd:%s imds --data %s --instance %s --region %s",
		 ip, c->exe, c->dir, m->id, c->opt.region);
	/*
	 * virtio-net, one queue: the user-mode backend has no multiqueue, so
	 * enhanced networking (multiqueue, HVM only) needs a tap backend.
	 */
	args_add(&a, "-device");
	args_add(&a, "virtio-net-pci,netdev=net0,romfile=");
	/* The root device first, so that the BIOS boots it. */
	int disk = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->ndevices; i++) {
			const struct instance_device *d = &m->devices[i];
			int root = !strcmp(d->device_name, m->root_device_name);
			if ((pass == 0) != root)
				continue;
			if (d->volume_id[0]) {
				if (start_nbd(c, idir.data, d->volume_id, e) < 0)
					goto out;
				args_add(&a, "-blockdev");
				args_add(&a, "driver=nbd,node-name=%s,server.type=unix,server.path=%s/%s.sock",
					 d->volume_id, idir.data, d->volume_id);
				args_add(&a, "-device");
				if (root && !strcmp(m->virtualization_type, "hvm"))
					args_add(&a, "virtio-blk-pci,drive=%s,id=dev-%s,bootindex=0",
						 d->volume_id, d->volume_id);
				else
					args_add(&a, "virtio-blk-pci,drive=%s,id=dev-%s",
						 d->volume_id, d->volume_id);
				continue;
			} else if (!strcmp(d->virtual_name, "root")) {
				/* The unpacked bundle (instance_store.h). */
				buf_reset(&path);
				buf_printf(&path, "%s/%s", idir.data, INSTANCE_STORE_ROOT);
				if (access(path.data, R_OK) < 0) {
					err_internal(e, "the instance store has no root: %s", strerror(errno));
					goto out;
				}
				args_add(&a, "-blockdev");
				args_add(&a, "driver=file,node-name=disk%d,filename=%s", disk, path.data);
			} else {
				int n = atoi(d->virtual_name + strlen("ephemeral"));
				buf_reset(&path);
				buf_printf(&path, "%s/ephemeral%d.img", idir.data, n);
				int fd = open(path.data, O_WRONLY | O_CREAT, 0600);
				if (fd < 0 || ftruncate(fd, (off_t)type->disk_gb * 1000000000LL) < 0) {
					if (fd >= 0)
						close(fd);
					err_internal(e, "creating the instance store: %s", strerror(errno));
					goto out;
				}
				close(fd);
				args_add(&a, "-blockdev");
				args_add(&a, "driver=file,node-name=disk%d,filename=%s", disk, path.data);
			}
			args_add(&a, "-device");
			if (root && !strcmp(m->virtualization_type, "hvm"))
				args_add(&a, "virtio-blk-pci,drive=disk%d,bootindex=0", disk);
			else
				args_add(&a, "virtio-blk-pci,drive=disk%d", disk);
			disk++;
		}
	}
	/* A fresh console for each boot, as GetConsoleOutput shows. */
	buf_reset(&path);
	buf_printf(&path, "%s/console.log", idir.data);
	unlink(path.data);
	if (!strcmp(m->virtualization_type, "paravirtual")) {
		struct pvgrub_boot boot;
		if (pv_grub(c, m, idir.data, &boot, e) < 0)
			goto out;
		args_add(&a, "-kernel");
		args_add(&a, "%s/kernel", idir.data);
		args_add(&a, "-append");
		args_add(&a, "%s", boot.cmdline);
		if (boot.has_initrd) {
			args_add(&a, "-initrd");
			args_add(&a, "%s/initrd", idir.data);
		}
		/* The console keeps PV-GRUB's lines: QEMU appends after them. */
		buf_reset(&path);
		buf_printf(&path, "file,id=console,path=%s/console.log,append=on", idir.data);
		for (size_t i = 0; i < a.n; i++)
			if (!strncmp(a.v[i], "file,id=console,", 16)) {
				free(a.v[i]);
				a.v[i] = xstrdup(path.data);
			}
	}
	buf_reset(&path);
	buf_printf(&path, "%s/qemu.log", idir.data);
	pid_t pid = spawn(a.v, path.data, NULL);
	if (pid < 0) {
		err_internal(e, "cannot start qemu-system-x86_64: %s", strerror(errno));
		goto out;
	}
	if (catalog_begin(c->cat, e) < 0)
		goto kill;
	/*
	 * Running, unless a stop or terminate arrived meanwhile: then that
	 * state stays, and its shutdown (queued behind this) finds the pid.
	 */
	struct instance now;
	int got = catalog_instance_get(c->cat, m->id, &now, e);
	int still_pending = got > 0 && !strcmp(now.state, "pending");
	if (got > 0)
		instance_release(&now);
	if (got <= 0 || catalog_instance_set_pid(c->cat, m->id, pid, e) < 0 ||
	    (still_pending &&
	     catalog_instance_set_state(c->cat, m->id, "running", NULL, NULL, e) < 0)) {
		catalog_rollback(c->cat);
		goto kill;
	}
	if (catalog_commit(c->cat, e) < 0)
		goto kill;
	watch(c, m->id, pid);
	log_info("instance %s is running (qemu pid %d)", m->id, (int)pid);
	ret = 0;
	goto out;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	if (ret < 0)
		stop_nbd(c, m->id);
	args_free(&a);
	buf_release(&idir);
	buf_release(&path);
	return ret;
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
			instance_dir(c, m.id, &idir);
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
				finalize_as(c, m.id, "Client.InternalError", e.message, 1);
			instance_release(&m);
		}
	} else if (catalog_instance_get(c->cat, job->id, &m, &e) > 0) {
		if (!strcmp(m.state, "pending") && boot_machine(c, &m, &e) < 0) {
			log_warn("instance %s did not start: %s", m.id, e.message);
			/* A launch that fails terminates; a start that fails stops. */
			finalize_as(c, m.id, "Server.InternalError", e.message,
				    m.launch_ms == m.state_ms);
		}
		instance_release(&m);
	}
	pthread_mutex_unlock(&c->lock);
	free(job);
	thread_end(c);
	return NULL;
}

void compute_boot(struct compute *c, const char *instance_id)
{
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	snprintf(job->id, sizeof job->id, "%s", instance_id);
	run_detached(c, boot_thread, job);
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
			finalize(c, m.id, NULL, NULL);
			pid = 0;
		}
		instance_release(&m);
	}
	pthread_mutex_unlock(&c->lock);
	if (pid > 0) {
		int fd = pidfd_open_(pid);
		int grace = job->force ? 0 : c->opt.stop_grace_seconds * 1000;
		if (!job->force && qmp(c, job->id, "{\"execute\":\"system_powerdown\"}") < 0)
			grace = 0;
		struct pollfd p = { fd, POLLIN, 0 };
		if (fd < 0 || grace == 0 || poll(&p, 1, grace) <= 0)
			kill(pid, SIGKILL); /* the watcher finalizes */
		if (fd >= 0)
			close(fd);
	}
	free(job);
	thread_end(c);
	return NULL;
}

void compute_shutdown(struct compute *c, const char *instance_id, int force)
{
	struct job *job = xcalloc(1, sizeof *job);
	job->c = c;
	job->force = force;
	snprintf(job->id, sizeof job->id, "%s", instance_id);
	run_detached(c, shutdown_thread, job);
}

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

struct plug_job {
	struct compute *c;
	char id[ID_MAX];
	char volume[ID_MAX];
	int force;
};

static void *attach_thread(void *arg)
{
	struct plug_job *job = arg;
	struct compute *c = job->c;
	struct buf idir = BUF_INIT, cmd = BUF_INIT;
	struct err e = ERR_INIT;
	char answer[4096];
	pthread_mutex_lock(&c->lock);
	instance_dir(c, job->id, &idir);
	buf_printf(&cmd, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"nbd\","
		   "\"node-name\":\"%s\",\"server\":{\"type\":\"unix\",\"path\":\"%s/%s.sock\"}}}",
		   job->volume, idir.data, job->volume);
	int ok = start_nbd(c, idir.data, job->volume, &e) == 0 &&
		 qmp_query(c, job->id, cmd.data, answer, sizeof answer) == 0;
	if (ok) {
		buf_reset(&cmd);
		buf_printf(&cmd, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":"
			   "\"virtio-blk-pci\",\"drive\":\"%s\",\"id\":\"dev-%s\"}}",
			   job->volume, job->volume);
		ok = qmp_query(c, job->id, cmd.data, answer, sizeof answer) == 0;
	}
	if (ok) {
		device_settle(c, job->id, job->volume, "attached");
	} else {
		log_warn("instance %s: hot-plugging %s failed: %s", job->id, job->volume,
			 err_is_set(&e) ? e.message : answer);
		stop_one_nbd(c, job->id, job->volume);
		device_settle(c, job->id, job->volume, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	buf_release(&idir);
	buf_release(&cmd);
	free(job);
	thread_end(c);
	return NULL;
}

static void *detach_thread(void *arg)
{
	struct plug_job *job = arg;
	struct compute *c = job->c;
	struct buf cmd = BUF_INIT;
	char answer[8192];
	buf_printf(&cmd, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"dev-%s\"}}",
		   job->volume);
	qmp_query(c, job->id, cmd.data, answer, sizeof answer);
	/* Wait for the guest to let go of the device. */
	int gone = 0;
	for (int i = 0; i < c->opt.stop_grace_seconds * 10 && !gone && !job->force; i++) {
		buf_reset(&cmd);
		buf_printf(&cmd, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}");
		if (qmp_query(c, job->id, cmd.data, answer, sizeof answer) == 0) {
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
		qmp_query(c, job->id, cmd.data, answer, sizeof answer);
		stop_one_nbd(c, job->id, job->volume);
		device_settle(c, job->id, job->volume, NULL);
	}
	pthread_mutex_unlock(&c->lock);
	buf_release(&cmd);
	free(job);
	thread_end(c);
	return NULL;
}

static void plug(struct compute *c, const char *id, const char *volume, int force,
		 void *(*fn)(void *))
{
	struct plug_job *job = xcalloc(1, sizeof *job);
	job->c = c;
	job->force = force;
	snprintf(job->id, sizeof job->id, "%s", id);
	snprintf(job->volume, sizeof job->volume, "%s", volume);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	thread_begin(c);
	if (pthread_create(&t, &attr, fn, job) != 0) {
		free(job);
		thread_end(c);
	}
	pthread_attr_destroy(&attr);
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

int compute_pause(struct compute *c, const char *instance_id, struct err *e)
{
	if (qmp(c, instance_id, "{\"execute\":\"stop\"}") < 0)
		return err_internal(e, "instance %s could not be paused", instance_id);
	return 0;
}

int compute_resume(struct compute *c, const char *instance_id, struct err *e)
{
	if (qmp(c, instance_id, "{\"execute\":\"cont\"}") < 0)
		return err_internal(e, "instance %s could not be resumed", instance_id);
	return 0;
}

int compute_reboot(struct compute *c, const char *instance_id, struct err *e)
{
	if (qmp(c, instance_id, "{\"execute\":\"system_reset\"}") < 0)
		return err_internal(e, "instance %s did not take the reset", instance_id);
	return 0;
}

int compute_console(struct compute *c, const char *instance_id,
		    struct buf *out, long long *mtime_ms, struct err *e)
{
	struct buf path = BUF_INIT;
	struct stat st;
	(void)e;
	instance_dir(c, instance_id, &path);
	buf_append_str(&path, "/console.log");
	*mtime_ms = 0;
	int fd = open(path.data, O_RDONLY | O_CLOEXEC);
	buf_release(&path);
	if (fd < 0)
		return 0; /* never booted: no output yet */
	if (fstat(fd, &st) == 0) {
		*mtime_ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		off_t start = st.st_size > CONSOLE_MAX ? st.st_size - CONSOLE_MAX : 0;
		size_t len = (size_t)(st.st_size - start);
		buf_reserve(out, len);
		ssize_t n = pread(fd, out->data + out->len, len, start);
		if (n > 0)
			out->len += (size_t)n;
	}
	close(fd);
	return 0;
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
		watch(c, m->id, pid);
		if (!strcmp(m->state, "stopping") || !strcmp(m->state, "shutting-down"))
			compute_shutdown(c, m->id, 0);
		return 0;
	}
	if (!strcmp(m->state, "pending")) {
		compute_boot(c, m->id);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	finalize(c, m->id, "Server.InternalError",
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
		buf_printf(&p, "%s/nbdkit-amibox-plugin.so", exe);
		c->plugin = buf_detach(&p);
		buf_printf(&p, "%s/amibox", exe);
		c->exe = buf_detach(&p);
	} else {
		c->plugin = xstrdup("nbdkit-amibox-plugin.so");
		c->exe = xstrdup("amibox");
	}
	log_info("compute: guests get %.3g of their type's memory", c->opt.memory_scale);
	c->accel = accel_start(c->dir, c->opt.accel);
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
