/* cli_lock: one daemon per data directory (see cli_lock.h). */
#include "cli/cli_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/buf.h"

/* Reads "PID COMMAND LISTEN REGION" from the lock file; 0 if it says nothing. */
static int cli_lock_read(int fd, struct cli_lock_holder *out)
{
	char text[512];
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	memset(out, 0, sizeof *out);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (sscanf(text, "%ld %15s %255s %63s", &out->pid, out->command, out->listen,
		   out->region) != 4)
		return 0;
	return 1;
}

static void cli_lock_describe(const struct cli_lock_holder *h, const char *data,
			      char *error, size_t cap)
{
	if (!strcmp(h->command, "serve"))
		snprintf(error, cap, "'%s' is in use by amibox serve (pid %ld, listening on %s); "
			 "one data directory takes one daemon", data, h->pid, h->listen);
	else if (h->pid > 0)
		snprintf(error, cap, "'%s' is in use by amibox %s (pid %ld)", data, h->command,
			 h->pid);
	else
		snprintf(error, cap, "'%s' is in use by another amibox", data);
}

int cli_lock_take(const char *data, const char *command, const char *listen,
		  const char *region, char *error, size_t cap)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	buf_printf(&path, "%s/lock", data);
	int fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(error, cap, "cannot open %s: %s", path.data, strerror(errno));
		goto fail;
	}
	/* A cli_lock_holder() look holds it shared for an instant: retry. */
	int rc = -1;
	for (int attempt = 0; attempt < 50 && rc < 0; attempt++) {
		rc = flock(fd, LOCK_EX | LOCK_NB);
		if (rc < 0 && errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (rc < 0)
			usleep(2000);
	}
	if (rc < 0) {
		struct cli_lock_holder h;
		if (errno == EWOULDBLOCK) {
			cli_lock_read(fd, &h);
			cli_lock_describe(&h, data, error, cap);
		} else {
			snprintf(error, cap, "cannot lock %s: %s", path.data, strerror(errno));
		}
		goto fail;
	}
	buf_printf(&text, "%ld %s %s %s\n", (long)getpid(), command, listen ? listen : "-",
		   region ? region : "-");
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text.data, text.len, 0) != (ssize_t)text.len) {
		snprintf(error, cap, "cannot write %s: %s", path.data, strerror(errno));
		goto fail;
	}
	buf_release(&path);
	buf_release(&text);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	buf_release(&text);
	return -1;
}

int cli_lock_holder(const char *data, struct cli_lock_holder *out)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/lock", data);
	int fd = open(path.data, O_RDONLY | O_CLOEXEC);
	buf_release(&path);
	memset(out, 0, sizeof *out);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	/* Shared: two lookers never mistake each other for the daemon. */
	int held = flock(fd, LOCK_SH | LOCK_NB) < 0;
	int ret = held && errno != EWOULDBLOCK ? -1 : held;
	if (ret == 1)
		cli_lock_read(fd, out);
	close(fd);
	return ret;
}
