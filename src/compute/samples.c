/*
 * samples: the public sample images the built-in "amazon" account publishes
 * on a data directory's first start, so that a newcomer can run an instance
 * right after `make run`:
 *
 *   amibox-sample-hvm  an HVM image whose boot sector counts its boots on
 *                      its disk and prints the count on the console
 *   amibox-sample-pv   a paravirtual image: an ext2 file system with
 *                      /boot/grub/menu.lst and a tiny kernel that prints
 *                      the command line PV-GRUB gave it
 *
 * Both guests are assembled at build time from the sources in guests/ and
 * embedded.
 * The PV file system is made with mke2fs -d (e2fsprogs); without it, only
 * the HVM sample is published.
 */
#include "compute/samples.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog_images.h"
#include "catalog/catalog_snapshots.h"
#include "sample_guests.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/log.h"

/* A completed snapshot of the disk image data (len bytes), owned by amazon. */
static int sample_snapshot(struct catalog *cat, struct blockstore *bs,
			   const unsigned char *data, size_t len, char id[ID_MAX],
			   struct err *e)
{
	struct snapshot s;
	unsigned char *block = xmalloc(BLOCK_SIZE), hash[32];
	int ret = -1;
	memset(&s, 0, sizeof s);
	ids_resource("snap", s.id);
	snprintf(s.owner_id, sizeof s.owner_id, "%s", AMAZON_ACCOUNT_ID);
	snprintf(s.volume_id, sizeof s.volume_id, "vol-ffffffff");
	snprintf(s.status, sizeof s.status, "pending");
	snprintf(s.description, sizeof s.description, "amibox sample image");
	s.start_ms = ids_now_ms();
	s.deadline_ms = s.start_ms + 3600 * 1000LL;
	s.volume_size = 1;
	if (catalog_begin(cat, e) < 0)
		goto out;
	if (catalog_snapshot_insert(cat, &s, e) < 0) {
		catalog_rollback(cat);
		goto out;
	}
	if (catalog_commit(cat, e) < 0)
		goto out;
	for (size_t off = 0; off < len; off += BLOCK_SIZE) {
		size_t n = len - off < BLOCK_SIZE ? len - off : BLOCK_SIZE;
		memset(block, 0, BLOCK_SIZE);
		memcpy(block, data + off, n);
		codec_sha256(block, BLOCK_SIZE, hash);
		if (blockstore_put_block(bs, s.id, (long long)(off / BLOCK_SIZE), block, hash, e) < 0)
			goto out;
	}
	if (catalog_begin(cat, e) < 0)
		goto out;
	if (catalog_snapshot_set_state(cat, s.id, "completed", NULL, 100, ids_now_ms(), e) < 0) {
		catalog_rollback(cat);
		goto out;
	}
	if (catalog_commit(cat, e) < 0)
		goto out;
	snprintf(id, ID_MAX, "%s", s.id);
	ret = 0;
out:
	free(block);
	return ret;
}

static int sample_register(struct catalog *cat, const char *name, const char *description,
			   const char *virt, const char *root, const char *kernel,
			   const char *snapshot, struct err *e)
{
	struct image m;
	struct image_bdm bdm;
	memset(&m, 0, sizeof m);
	memset(&bdm, 0, sizeof bdm);
	ids_resource("ami", m.id);
	snprintf(m.owner_id, sizeof m.owner_id, "%s", AMAZON_ACCOUNT_ID);
	snprintf(m.name, sizeof m.name, "%s", name);
	m.has_description = 1;
	snprintf(m.description, sizeof m.description, "%s", description);
	snprintf(m.image_type, sizeof m.image_type, "machine");
	snprintf(m.state, sizeof m.state, "available");
	snprintf(m.architecture, sizeof m.architecture, "x86_64");
	snprintf(m.virtualization_type, sizeof m.virtualization_type, "%s", virt);
	snprintf(m.root_device_type, sizeof m.root_device_type, "ebs");
	snprintf(m.root_device_name, sizeof m.root_device_name, "%s", root);
	snprintf(m.image_location, sizeof m.image_location, "amazon/%s", name);
	snprintf(m.kernel_id, sizeof m.kernel_id, "%s", kernel);
	snprintf(m.hypervisor, sizeof m.hypervisor, "xen");
	m.ena_support = !strcmp(virt, "hvm") ? 1 : -1;
	m.creation_ms = ids_now_ms();
	snprintf(bdm.device_name, sizeof bdm.device_name, "%s", root);
	bdm.ebs = 1;
	snprintf(bdm.snapshot_id, sizeof bdm.snapshot_id, "%s", snapshot);
	bdm.volume_size = 1;
	bdm.delete_on_termination = 1;
	snprintf(bdm.volume_type, sizeof bdm.volume_type, "gp2");
	m.bdm = &bdm;
	m.nbdm = 1;
	if (catalog_begin(cat, e) < 0)
		return -1;
	if (catalog_image_insert(cat, &m, e) < 0 ||
	    catalog_image_grant(cat, m.id, "all", e) < 0) {
		catalog_rollback(cat);
		return -1;
	}
	if (catalog_commit(cat, e) < 0)
		return -1;
	log_info("published sample image %s (%s)", m.id, name);
	return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int ok = write(fd, data, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

/* The PV sample's disk: an ext2 file system made by mke2fs -d; NULL without it. */
static unsigned char *sample_pv_disk(const char *dir, size_t *len)
{
	static const char menu[] =
		"# amibox sample: PV-GRUB boots this entry\n"
		"default 0\ntimeout 1\n"
		"title amibox sample (pv)\n"
		"root (hd0)\n"
		"kernel /boot/amibox-sample root=/dev/xvda1 ro console=ttyS0\n";
	struct buf root = BUF_INIT, path = BUF_INIT, image = BUF_INIT;
	unsigned char *data = NULL;
	buf_printf(&root, "%s/samples.tmp", dir);
	buf_printf(&path, "%s/boot", root.data);
	mkdir(root.data, 0700);
	mkdir(path.data, 0700);
	buf_append_str(&path, "/grub");
	mkdir(path.data, 0700);
	buf_append_str(&path, "/menu.lst");
	buf_printf(&image, "%s/pv.img", dir);
	struct buf kernel = BUF_INIT;
	buf_printf(&kernel, "%s/boot/amibox-sample", root.data);
	if (write_file(path.data, menu, sizeof menu - 1) == 0 &&
	    write_file(kernel.data, sample_pv_kernel, sample_pv_kernel_len) == 0) {
		char *argv[] = { "mke2fs", "-q", "-F", "-t", "ext2", "-d", root.data,
				 image.data, "2M", NULL };
		pid_t pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 1);
			dup2(null, 2);
			execvp("mke2fs", argv);
			execv("/sbin/mke2fs", argv);
			_exit(127);
		}
		int status = 0;
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0) {
			FILE *f = fopen(image.data, "rb");
			if (f) {
				data = xmalloc(2 << 20);
				*len = fread(data, 1, 2 << 20, f);
				fclose(f);
			}
		}
	}
	unlink(kernel.data);
	unlink(path.data);
	unlink(image.data);
	char *dirs[] = { "/boot/grub", "/boot", "" };
	for (int i = 0; i < 3; i++) {
		struct buf d = BUF_INIT;
		buf_printf(&d, "%s%s", root.data, dirs[i]);
		rmdir(d.data);
		buf_release(&d);
	}
	buf_release(&root);
	buf_release(&path);
	buf_release(&image);
	buf_release(&kernel);
	return data;
}

int samples_install(const char *dir, struct catalog *cat, struct blockstore *bs,
		    struct err *e)
{
	struct image existing;
	char snap[ID_MAX];
	int found = catalog_image_by_name(cat, AMAZON_ACCOUNT_ID, "amibox-sample-hvm",
					  &existing, e);
	if (found < 0)
		return -1;
	if (found) {
		image_release(&existing);
		return 0; /* published on an earlier start */
	}
	/* HVM: the boot sector, then the sector it counts boots in. */
	unsigned char disk[1024] = { 0 };
	memcpy(disk, sample_hvm_boot, sample_hvm_boot_len < 512 ? sample_hvm_boot_len : 512);
	if (sample_snapshot(cat, bs, disk, sizeof disk, snap, e) < 0 ||
	    sample_register(cat, "amibox-sample-hvm",
			    "amibox sample: an HVM boot sector that counts its boots and prints the count",
			    "hvm", "/dev/xvda", "", snap, e) < 0)
		return -1;
	size_t len = 0;
	unsigned char *pv = sample_pv_disk(dir, &len);
	if (!pv) {
		log_warn("no mke2fs: the paravirtual sample image is not published");
		return 0;
	}
	int rc = sample_snapshot(cat, bs, pv, len, snap, e);
	free(pv);
	if (rc < 0 ||
	    sample_register(cat, "amibox-sample-pv",
			    "amibox sample: a paravirtual image; PV-GRUB boots a tiny kernel from its menu.lst",
			    "paravirtual", "/dev/sda1", "aki-8016ac08fca646364", snap, e) < 0)
		return -1;
	return 0;
}
