/* accel: choosing KVM or TCG for QEMU (see accel.h). */
#include "compute/accel.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sample_guests.h"
#include "util/buf.h"
#include "util/log.h"

extern char **environ;

struct accel {
	char *dir;
	char chosen[8];
	char why[200];
	pthread_t thread;
	int started;            /* the probe thread exists */
	int joined;
	pthread_mutex_t lock;
};

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The host's boot ID, so that a kept answer dies with a reboot. */
static int boot_id(char out[64])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f)
		return -1;
	int ok = fgets(out, 64, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return out[0] ? 0 : -1;
}

/* The answer kept by an earlier start in this boot of the host, if any. */
static int read_kept(struct accel *a, const char *id)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/accel", a->dir);
	FILE *f = fopen(path.data, "r");
	buf_release(&path);
	if (!f)
		return 0;
	char line[512], kept_id[64], chosen[8];
	int n = 0, found = 0;
	if (fgets(line, sizeof line, f) &&
	    sscanf(line, "%63s %7s %n", kept_id, chosen, &n) == 2 && n > 0 &&
	    !strcmp(kept_id, id) && (!strcmp(chosen, "kvm") || !strcmp(chosen, "tcg"))) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(a->chosen, sizeof a->chosen, "%s", chosen);
		snprintf(a->why, sizeof a->why, "%s (found in %s/accel)", line + n, a->dir);
		found = 1;
	}
	fclose(f);
	return found;
}

static void keep(struct accel *a, const char *id)
{
	struct buf path = BUF_INIT, tmp = BUF_INIT;
	buf_printf(&path, "%s/accel", a->dir);
	buf_printf(&tmp, "%s/accel.tmp", a->dir);
	FILE *f = fopen(tmp.data, "w");
	if (f) {
		fprintf(f, "%s %s %s\n", id, a->chosen, a->why);
		if (fclose(f) == 0 && rename(tmp.data, path.data) == 0) {
			buf_release(&path);
			buf_release(&tmp);
			return;
		}
	}
	log_warn("compute: cannot keep the accelerator choice in %s: %s", path.data,
		 strerror(errno));
	unlink(tmp.data);
	buf_release(&path);
	buf_release(&tmp);
}

/* Boots the sample boot sector under KVM; 0 when it printed and powered off in time. */
static int probe(struct accel *a, long long *took_ms, char *failure, size_t cap)
{
	struct buf disk = BUF_INIT, out = BUF_INIT, drive = BUF_INIT, serial = BUF_INIT;
	int ret = -1;
	buf_printf(&disk, "%s/accel-probe.raw", a->dir);
	buf_printf(&out, "%s/accel-probe.out", a->dir);
	buf_printf(&drive, "file=%s,format=raw,if=ide", disk.data);
	buf_printf(&serial, "file:%s", out.data);
	unlink(out.data);
	unsigned char image[1024] = { 0 };
	memcpy(image, sample_hvm_boot, sample_hvm_boot_len < 512 ? sample_hvm_boot_len : 512);
	image[509] = 1; /* the guest powers the machine off after printing */
	FILE *f = fopen(disk.data, "w");
	if (!f || fwrite(image, 1, sizeof image, f) != sizeof image || fclose(f) != 0) {
		snprintf(failure, cap, "cannot write %s", disk.data);
		goto out;
	}
	char *argv[] = { "qemu-system-x86_64", "-name", "amibox-accel-probe",
			 "-machine", "pc,accel=kvm", "-m", "16", "-nodefaults",
			 "-no-user-config", "-display", "none", "-serial", serial.data,
			 "-drive", drive.data, "-no-reboot", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	pid_t pid;
	long long start = now_ms();
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(failure, cap, "cannot run qemu-system-x86_64: %s", strerror(rc));
		goto out;
	}
	int status = 0;
	pid_t done = 0;
	while ((done = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() - start < ACCEL_PROBE_MS)
		usleep(10 * 1000);
	*took_ms = now_ms() - start;
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		snprintf(failure, cap, "a BIOS test boot under KVM took more than %d ms "
			 "(nested or emulated KVM?)", ACCEL_PROBE_MS);
		goto out;
	}
	if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(failure, cap, "QEMU failed a BIOS test boot under KVM (status %d)",
			 done < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		goto out;
	}
	char printed[256] = "";
	f = fopen(out.data, "r");
	if (f) {
		size_t n = fread(printed, 1, sizeof printed - 1, f);
		printed[n] = '\0';
		fclose(f);
	}
	if (!strstr(printed, "amibox hvm guest: boot")) {
		snprintf(failure, cap, "a BIOS test boot under KVM printed nothing");
		goto out;
	}
	ret = 0;
out:
	unlink(disk.data);
	unlink(out.data);
	buf_release(&disk);
	buf_release(&out);
	buf_release(&drive);
	buf_release(&serial);
	return ret;
}

static void *choose(void *arg)
{
	struct accel *a = arg;
	char id[64];
	int have_id = boot_id(id) == 0;
	if (have_id && read_kept(a, id))
		goto chosen;
	long long took = 0;
	char failure[160] = "";
	if (probe(a, &took, failure, sizeof failure) == 0) {
		snprintf(a->chosen, sizeof a->chosen, "kvm");
		snprintf(a->why, sizeof a->why, "KVM (a BIOS test boot took %lld ms)", took);
	} else {
		snprintf(a->chosen, sizeof a->chosen, "tcg");
		snprintf(a->why, sizeof a->why, "TCG: %s; --accel kvm forces KVM", failure);
	}
	if (have_id)
		keep(a, id);
chosen:
	log_info("compute: %s", a->why);
	return NULL;
}

struct accel *accel_start(const char *dir, const char *requested)
{
	struct accel *a = xcalloc(1, sizeof *a);
	a->dir = xstrdup(dir);
	pthread_mutex_init(&a->lock, NULL);
	if (!strcmp(requested, "kvm") || !strcmp(requested, "tcg")) {
		snprintf(a->chosen, sizeof a->chosen, "%s", requested);
		log_info("compute: %s (--accel %s)", !strcmp(requested, "kvm") ? "KVM" : "TCG",
			 requested);
		return a;
	}
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(a->chosen, sizeof a->chosen, "tcg");
		log_info("compute: TCG (no usable /dev/kvm: %s)", strerror(errno));
		return a;
	}
	close(fd);
	snprintf(a->chosen, sizeof a->chosen, "tcg"); /* if the probe cannot start */
	if (pthread_create(&a->thread, NULL, choose, a) == 0)
		a->started = 1;
	else
		log_warn("compute: cannot start the KVM probe; TCG it is");
	return a;
}

const char *accel_get(struct accel *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->started && !a->joined) {
		pthread_join(a->thread, NULL);
		a->joined = 1;
	}
	pthread_mutex_unlock(&a->lock);
	return a->chosen;
}

void accel_free(struct accel *a)
{
	if (!a)
		return;
	accel_get(a);
	pthread_mutex_destroy(&a->lock);
	free(a->dir);
	free(a);
}
