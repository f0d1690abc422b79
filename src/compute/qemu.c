/* compute/qemu.c: the QEMU process of an instance (see internal.h). */
#include "compute/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blockstore/volume.h"
#include "catalog/catalog_instances.h"
#include "compute/accel.h"
#include "compute/instance_store.h"
#include "compute/instance_types.h"
#include "compute/pvgrub.h"
#include "util/codec.h"
#include "util/log.h"

#define CONSOLE_MAX (64 * 1024)

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
int qemu_qmp_query(struct compute *c, const char *instance_id, const char *command,
		     char *out, size_t cap)
{
	struct buf path = BUF_INIT;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int ret = -1;
	compute_instance_dir(c, instance_id, &path);
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

/*
 * Waits until QEMU (pid) listens on its QMP socket, at most timeout_ms: the
 * machine counts as running only then, so that a stop, an attachment or a
 * screenshot asked for at once finds it.  -1 when QEMU exited or never
 * listened (its watcher then tells why).
 */
static int qemu_wait_qmp(struct compute *c, const char *instance_id, pid_t pid, int timeout_ms)
{
	struct buf path = BUF_INIT;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	compute_instance_dir(c, instance_id, &path);
	buf_append_str(&path, "/qmp.sock");
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.data);
	buf_release(&path);
	int pidfd = process_pidfd(pid), ret = -1;
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
		close(fd);
		if (rc == 0) {
			ret = 0;
			break;
		}
		/* The pidfd turns readable when QEMU exits. */
		struct pollfd p = { pidfd, POLLIN, 0 };
		if (pidfd >= 0 ? poll(&p, 1, 10) != 0 : usleep(10000) != 0)
			break;
	}
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

/* Sends one QMP command (JSON text); 0 when QEMU answered "return". */
int qemu_qmp(struct compute *c, const char *instance_id, const char *command)
{
	char answer[4096];
	return qemu_qmp_query(c, instance_id, command, answer, sizeof answer);
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

/* "ec2" and hex digits of the instance ID's hash, in the 8-4-4-4-12 form. */
static void qemu_ec2_uuid(const char *instance_id, char out[37])
{
	unsigned char h[32];
	char hex[65];
	codec_sha256(instance_id, strlen(instance_id), h);
	codec_hex(h, sizeof h, hex);
	memcpy(hex, "ec2", 3);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int qemu_boot(struct compute *c, const struct instance *m, struct err *e)
{
	struct buf idir = BUF_INIT, path = BUF_INIT;
	struct args a = { 0 };
	int ret = -1, tap_fd = -1;
	const struct instance_type *type = instance_type_find(m->instance_type);
	if (!type) {
		err_internal(e, "unknown instance type %s", m->instance_type);
		goto out;
	}
	compute_instance_dir(c, m->id, &idir);
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
	/* A screen, as EC2's instances have one (GetConsoleScreenshot). */
	args_add(&a, "-device");
	args_add(&a, "VGA,vgamem_mb=4");
	/*
	 * EC2's machine identity, so that cloud-init knows it is on EC2 and asks
	 * the metadata service for an IMDSv2 token: a product UUID that starts
	 * with "ec2" and a serial number equal to it.
	 */
	char uuid[37];
	qemu_ec2_uuid(m->id, uuid);
	args_add(&a, "-smbios");
	args_add(&a, "type=1,manufacturer=Amazon EC2,product=%s,uuid=%s,serial=%s",
		 m->instance_type, uuid, uuid);
	/* The instance's interface in its VPC: a tap in the VPC's namespace. */
	int in_vpc = vpc_nic(c, m, &a, &tap_fd, e);
	if (in_vpc < 0)
		goto out;
	if (!in_vpc) {
		/*
		 * Without VPC networking: user-mode networking, closed to the
		 * outside, on the link-local network where the metadata service
		 * lives; the guest's connections to 169.254.169.254:80 start
		 * `amibox imds` for this instance alone.
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
	}
	/* The root device first, so that the BIOS boots it. */
	int disk = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->ndevices; i++) {
			const struct instance_device *d = &m->devices[i];
			int root = !strcmp(d->device_name, m->root_device_name);
			if ((pass == 0) != root)
				continue;
			if (d->volume_id[0]) {
				if (nbd_serve(c, idir.data, d->volume_id, e) < 0)
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
	pid_t pid = process_spawn(a.v, path.data, NULL, tap_fd);
	/* QEMU holds the tap now: it goes away when QEMU does. */
	if (tap_fd >= 0)
		close(tap_fd);
	tap_fd = -1;
	if (pid < 0) {
		err_internal(e, "cannot start qemu-system-x86_64: %s", strerror(errno));
		goto out;
	}
	qemu_wait_qmp(c, m->id, pid, 10000);
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
	compute_watch(c, m->id, pid);
	log_info("instance %s is running (qemu pid %d)", m->id, (int)pid);
	ret = 0;
	goto out;
kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
out:
	if (ret < 0)
		nbd_stop_all(c, m->id);
	if (tap_fd >= 0)
		close(tap_fd);
	args_free(&a);
	buf_release(&idir);
	buf_release(&path);
	return ret;
}

/* ---- operations on a running machine ------------------------------------ */

int compute_pause(struct compute *c, const char *instance_id, struct err *e)
{
	if (qemu_qmp(c, instance_id, "{\"execute\":\"stop\"}") < 0)
		return err_internal(e, "instance %s could not be paused", instance_id);
	return 0;
}

int compute_resume(struct compute *c, const char *instance_id, struct err *e)
{
	if (qemu_qmp(c, instance_id, "{\"execute\":\"cont\"}") < 0)
		return err_internal(e, "instance %s could not be resumed", instance_id);
	return 0;
}

int compute_reboot(struct compute *c, const char *instance_id, struct err *e)
{
	if (qemu_qmp(c, instance_id, "{\"execute\":\"system_reset\"}") < 0)
		return err_internal(e, "instance %s did not take the reset", instance_id);
	return 0;
}

int compute_console(struct compute *c, const char *instance_id,
		    struct buf *out, long long *mtime_ms, struct err *e)
{
	struct buf path = BUF_INIT;
	struct stat st;
	(void)e;
	compute_instance_dir(c, instance_id, &path);
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
