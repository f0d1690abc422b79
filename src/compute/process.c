/* compute/process.c: processes, argv and helper threads (see internal.h). */
#include "compute/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"

extern char **environ;

void compute_instance_dir(struct compute *c, const char *id, struct buf *out)
{
	buf_printf(out, "%s/instances/%s", c->dir, id);
}

int process_pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int process_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* 1 if /proc/pid/cmdline mentions needle (the process is really ours). */
int process_mentions(pid_t pid, const char *needle)
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

pid_t process_spawn(char *const argv[], const char *log_path, const char *preload, int pass_fd)
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
	if (pass_fd >= 0) {
		/* (glibc clears close-on-exec when pass_fd is 3 already) */
		posix_spawn_file_actions_adddup2(&fa, pass_fd, 3);
		posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	} else {
		posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	}
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

void args_add(struct args *a, const char *fmt, ...)
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

void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* ---- helper threads ----------------------------------------------------- */

void compute_thread_begin(struct compute *c)
{
	pthread_mutex_lock(&c->threads_lock);
	c->threads++;
	pthread_mutex_unlock(&c->threads_lock);
}

void compute_thread_end(struct compute *c)
{
	pthread_mutex_lock(&c->threads_lock);
	if (--c->threads == 0)
		pthread_cond_broadcast(&c->threads_idle);
	pthread_mutex_unlock(&c->threads_lock);
}

void compute_run_detached(struct compute *c, void *(*fn)(void *), struct job *job)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	compute_thread_begin(c);
	if (pthread_create(&t, &attr, fn, job) != 0) {
		log_error("cannot start a thread for %s", job->id);
		free(job);
		compute_thread_end(c);
	}
	pthread_attr_destroy(&attr);
}
