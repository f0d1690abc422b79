/*
 * cli_lock: one daemon per data directory.
 *
 * `amibox serve` holds an exclusive flock on DATA/lock for its whole life
 * and writes into it who holds it ("PID serve ADDR:PORT REGION"), which is
 * also how `amibox account delete --force` finds the daemon to ask.  A second daemon
 * refuses to start, and so do the commands that rewrite what the daemon
 * owns (`amibox fsck`, which sweeps and repairs the stores): they take the
 * same lock for their run.  Commands that only go through the catalog
 * (`amibox account`) or through the daemon's API (`amibox import`) do not.
 * The kernel drops the lock with its process however it ends, so a crashed
 * daemon never leaves the directory locked.
 */
#ifndef AMIBOX_CLI_CLI_LOCK_H
#define AMIBOX_CLI_CLI_LOCK_H

#include <stddef.h>

struct cli_lock_holder {
	long pid;
	char command[16];  /* "serve" or "fsck" */
	char listen[256];  /* the daemon's ADDR:PORT, "-" for others */
	char region[64];   /* the daemon's region, "-" for others */
};

/*
 * Takes the data directory's lock for this process, as command (a daemon
 * listening on listen for region; NULL for others).  Returns the descriptor that holds it (keep it open;
 * the lock goes with it), or -1 with a message in error: another process
 * holds it, or the directory cannot be locked.
 */
int cli_lock_take(const char *data, const char *command, const char *listen,
		  const char *region, char *error, size_t cap);
/* 1 if a process holds the lock (*out says who), 0 if none, -1 on error. */
int cli_lock_holder(const char *data, struct cli_lock_holder *out);

#endif
