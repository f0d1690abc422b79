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
 * embedded.  A third, amibox-sample-linux, is a real Linux (see below),
 * published on any start where this host has a kernel and busybox-static.
 * The PV file system is made with mke2fs -d (e2fsprogs); without it, only
 * the HVM sample is published.
 *
 * The Debian samples, amibox-sample-debian-hvm and -pv, take minutes to
 * build: `amibox samples build debian` runs the embedded
 * scripts/debian-image.sh into a cache directory and publishes what it
 * leaves there (samples_debian_build, samples_debian_publish).
 *
 * Every sample is a completed snapshot owned by amazon and a public image
 * of it, each made in its own transaction; the snapshot stores only the
 * disk's non-zero blocks.
 */
#include "compute/samples.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "catalog/catalog_images.h"
#include "catalog/catalog_snapshots.h"
#include "sample_guests.h"
#include "sample_scripts.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/log.h"

/*
 * A disk image to snapshot: len bytes at data, or (data NULL) the file open
 * at fd, whose holes are skipped.
 */
struct sample_disk {
	const unsigned char *data;
	int fd;
	long long len;
};

/* Block index's bytes into block; 0 when the block holds only zeros. */
static int sample_disk_block(const struct sample_disk *d, long long index,
			     unsigned char *block, struct err *e)
{
	long long off = index * BLOCK_SIZE;
	size_t n = d->len - off < BLOCK_SIZE ? (size_t)(d->len - off) : BLOCK_SIZE;
	memset(block, 0, BLOCK_SIZE);
	if (d->data) {
		memcpy(block, d->data + off, n);
	} else {
		off_t data = lseek(d->fd, (off_t)off, SEEK_DATA);
		if (data < 0 || data >= (off_t)(off + (long long)n))
			return 0; /* a hole (or the file's end) */
		for (size_t got = 0; got < n;) {
			ssize_t r = pread(d->fd, block + got, n - got, (off_t)(off + (long long)got));
			if (r <= 0)
				return err_internal(e, "reading the image: %s",
						    r < 0 ? strerror(errno) : "it is shorter");
			got += (size_t)r;
		}
	}
	return block[0] || memcmp(block, block + 1, BLOCK_SIZE - 1) ? 1 : 0;
}

/* A completed snapshot of the disk, owned by amazon; its size in *gib. */
static int sample_snapshot(struct catalog *cat, struct blockstore *bs,
			   const struct sample_disk *disk, char id[ID_MAX], long long *gib,
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
	s.volume_size = (disk->len + (1LL << 30) - 1) >> 30;
	if (s.volume_size < 1)
		s.volume_size = 1;
	*gib = s.volume_size;
	if (catalog_begin(cat, e) < 0)
		goto out;
	if (catalog_snapshot_insert(cat, &s, e) < 0) {
		catalog_rollback(cat);
		goto out;
	}
	if (catalog_commit(cat, e) < 0)
		goto out;
	for (long long index = 0; index * BLOCK_SIZE < disk->len; index++) {
		int nonzero = sample_disk_block(disk, index, block, e);
		if (nonzero < 0)
			goto out;
		if (!nonzero)
			continue; /* reads as zeros: nothing to store */
		codec_sha256(block, BLOCK_SIZE, hash);
		if (blockstore_put_block(bs, s.id, index, block, hash, e) < 0)
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

/* The PV-GRUB kernel image for x86_64 that reads a whole-disk file system (hd0). */
#define SAMPLE_PV_HD0 "aki-8016ac08fca646364"

/* What a sample image is; see sample_register. */
struct sample_image {
	const char *name;
	const char *description;
	const char *virt;        /* hvm, paravirtual */
	const char *root;        /* the root device's name */
	const char *kernel;      /* the PV-GRUB AKI, "" for HVM */
};

/*
 * Registers the image of snapshot (gib GiB), public, owned by amazon; in the
 * same transaction deletes the image replaces (an older build of it; NULL:
 * none).  The new image's ID in id (may be NULL).
 */
static int sample_register(struct catalog *cat, const struct sample_image *sample,
			   const char *snapshot, long long gib, const char *replaces,
			   char *id, struct err *e)
{
	struct image m;
	struct image_bdm bdm;
	memset(&m, 0, sizeof m);
	memset(&bdm, 0, sizeof bdm);
	ids_resource("ami", m.id);
	snprintf(m.owner_id, sizeof m.owner_id, "%s", AMAZON_ACCOUNT_ID);
	snprintf(m.name, sizeof m.name, "%s", sample->name);
	m.has_description = 1;
	snprintf(m.description, sizeof m.description, "%s", sample->description);
	snprintf(m.image_type, sizeof m.image_type, "machine");
	snprintf(m.state, sizeof m.state, "available");
	snprintf(m.architecture, sizeof m.architecture, "x86_64");
	snprintf(m.virtualization_type, sizeof m.virtualization_type, "%s", sample->virt);
	snprintf(m.root_device_type, sizeof m.root_device_type, "ebs");
	snprintf(m.root_device_name, sizeof m.root_device_name, "%s", sample->root);
	snprintf(m.image_location, sizeof m.image_location, "amazon/%s", sample->name);
	snprintf(m.kernel_id, sizeof m.kernel_id, "%s", sample->kernel);
	snprintf(m.hypervisor, sizeof m.hypervisor, "xen");
	m.ena_support = !strcmp(sample->virt, "hvm") ? 1 : -1;
	m.creation_ms = ids_now_ms();
	snprintf(bdm.device_name, sizeof bdm.device_name, "%s", sample->root);
	bdm.ebs = 1;
	snprintf(bdm.snapshot_id, sizeof bdm.snapshot_id, "%s", snapshot);
	bdm.volume_size = gib;
	bdm.delete_on_termination = 1;
	snprintf(bdm.volume_type, sizeof bdm.volume_type, "gp2");
	m.bdm = &bdm;
	m.nbdm = 1;
	if (catalog_begin(cat, e) < 0)
		return -1;
	if ((replaces && catalog_image_delete(cat, replaces, e) < 0) ||
	    catalog_image_insert(cat, &m, e) < 0 ||
	    catalog_image_grant(cat, m.id, "all", e) < 0) {
		catalog_rollback(cat);
		return -1;
	}
	if (catalog_commit(cat, e) < 0)
		return -1;
	log_info("published sample image %s (%s)", m.id, sample->name);
	if (id)
		snprintf(id, ID_MAX, "%s", m.id);
	return 0;
}

/* Snapshots disk and registers it as sample (see sample_register). */
static int sample_publish(struct catalog *cat, struct blockstore *bs,
			  const struct sample_image *sample, const struct sample_disk *disk,
			  const char *replaces, char *id, struct err *e)
{
	char snap[ID_MAX];
	long long gib = 0;
	if (sample_snapshot(cat, bs, disk, snap, &gib, e) < 0)
		return -1;
	return sample_register(cat, sample, snap, gib, replaces, id, e);
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

/*
 * An ext2 file system of size_mib MiB holding the tree at root, made by
 * mke2fs -d at image, read into memory (caller frees); NULL without mke2fs.
 */
static unsigned char *make_ext2(const char *root, const char *image, int size_mib, size_t *len)
{
	char size[16];
	snprintf(size, sizeof size, "%dM", size_mib);
	char *argv[] = { "mke2fs", "-q", "-F", "-t", "ext2", "-d", (char *)root,
			 (char *)image, size, NULL };
	unsigned char *data = NULL;
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
		FILE *f = fopen(image, "rb");
		if (f) {
			size_t cap = (size_t)size_mib << 20;
			data = xmalloc(cap);
			*len = fread(data, 1, cap, f);
			fclose(f);
		}
	}
	return data;
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
		data = make_ext2(root.data, image.data, 2, len);
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

static int samples_tiny(const char *dir, struct catalog *cat, struct blockstore *bs,
			struct err *e)
{
	static const struct sample_image hvm = {
		"amibox-sample-hvm",
		"amibox sample: an HVM boot sector that counts its boots and prints the count",
		"hvm", "/dev/xvda", ""
	}, pv = {
		"amibox-sample-pv",
		"amibox sample: a paravirtual image; PV-GRUB boots a tiny kernel from its menu.lst",
		"paravirtual", "/dev/sda1", SAMPLE_PV_HD0
	};
	struct image existing;
	int found = catalog_image_by_name(cat, AMAZON_ACCOUNT_ID, hvm.name,
					  &existing, e);
	if (found < 0)
		return -1;
	if (found) {
		image_release(&existing);
		return 0; /* published on an earlier start */
	}
	/* HVM: the boot sector, then the sector it counts boots in. */
	unsigned char boot[1024] = { 0 };
	memcpy(boot, sample_hvm_boot, sample_hvm_boot_len < 512 ? sample_hvm_boot_len : 512);
	struct sample_disk disk = { boot, -1, sizeof boot };
	if (sample_publish(cat, bs, &hvm, &disk, NULL, NULL, e) < 0)
		return -1;
	size_t len = 0;
	unsigned char *pv_disk = sample_pv_disk(dir, &len);
	if (!pv_disk) {
		log_warn("no mke2fs: the paravirtual sample image is not published");
		return 0;
	}
	disk = (struct sample_disk){ pv_disk, -1, (long long)len };
	int rc = sample_publish(cat, bs, &pv, &disk, NULL, NULL, e);
	free(pv_disk);
	return rc;
}

/* ---- the Linux sample ---------------------------------------------------- */

/*
 * amibox-sample-linux: a paravirtual image of a real Linux, made when this
 * host has a Debian kernel (/boot/vmlinuz-*, its modules in /lib/modules)
 * and a static busybox (busybox-static); AMIBOX_SAMPLE_KERNEL,
 * AMIBOX_SAMPLE_MODULES and AMIBOX_SAMPLE_BUSYBOX name others.  Its initrd
 * is busybox and the virtio network modules; /init takes an address by
 * DHCP, reads its instance ID, type and user data from the metadata
 * service, prints them, runs user data that starts with "#!", and stays up
 * until the power button (acpid) powers it off.
 */

#define LINUX_SAMPLE "amibox-sample-linux"

static const char linux_init[] =
	"#!/bin/busybox sh\n"
	"/bin/busybox --install -s /bin\n"
	"mount -t proc proc /proc\n"
	"mount -t sysfs sys /sys\n"
	"mount -t devtmpfs dev /dev\n"
	"for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \\\n"
	"    failover net_failover virtio_net virtio_blk evdev button; do\n"
	"  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null\n"
	"done\n"
	/* The power button (StopInstances): busybox's acpid powers off cleanly. */
	"mkdir -p /etc/acpi/PWRF\n"
	"printf '#!/bin/sh\\necho \"amibox linux sample: power button: powering off\" >/dev/console\\n'\\\n"
	"'sync\\npoweroff -f\\n' >/etc/acpi/PWRF/00000080\n"
	"chmod 755 /etc/acpi/PWRF/00000080\n"
	"acpid -c /etc/acpi -l /tmp/acpid.log\n"
	"ip link set lo up\n"
	"ip link set eth0 up\n"
	"udhcpc -q -n -t 10 -i eth0 -s /udhcpc.sh >/dev/null 2>&1\n"
	"imds() {\n"
	"  printf 'GET %s HTTP/1.0\\r\\nHost: 169.254.169.254\\r\\n\\r\\n' \"$1\" |\n"
	"    nc 169.254.169.254 80 >/tmp/imds 2>/dev/null\n"
	"  head -1 /tmp/imds | grep -q ' 200 ' && sed '1,/^\\r$/d' /tmp/imds\n"
	"}\n"
	"echo \"amibox linux sample: $(uname -sr) on $(imds /latest/meta-data/instance-id)\" \\\n"
	"  \"($(imds /latest/meta-data/instance-type)), address $(imds /latest/meta-data/local-ipv4)\"\n"
	/* SSH: the instance's keys for root and ec2-user, a host key of its own. */
	"if [ -x /usr/sbin/dropbear ]; then\n"
	"  mkdir -p /dev/pts /root/.ssh /home/ec2-user/.ssh\n"
	"  mount -t devpts devpts /dev/pts\n"
	"  for k in $(imds /latest/meta-data/public-keys/ | sed 's/=.*//'); do\n"
	"    imds /latest/meta-data/public-keys/$k/openssh-key; echo\n"
	"  done | grep '^[a-z]' >/root/.ssh/authorized_keys\n"
	"  cp /root/.ssh/authorized_keys /home/ec2-user/.ssh/authorized_keys\n"
	"  chmod 700 /root/.ssh /home/ec2-user/.ssh\n"
	"  chown -R 1000:1000 /home/ec2-user\n"
	"  dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1\n"
	"  dropbear -R -E -s -p 22\n"
	"  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do\n"
	"    netstat -ltn | grep -q ':22 ' && break; usleep 100000\n"
	"  done\n"
	"  if netstat -ltn | grep -q ':22 '; then\n"
	"    echo \"amibox linux sample: ssh: dropbear listening on port 22 for root and ec2-user\" \\\n"
	"      \"($(grep -c . /root/.ssh/authorized_keys) key(s) from the metadata)\"\n"
	"    echo '-----BEGIN SSH HOST KEY KEYS-----'\n"
	"    dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep '^ssh-'\n"
	"    echo '-----END SSH HOST KEY KEYS-----'\n"
	"  else\n"
	"    echo 'amibox linux sample: ssh: dropbear did not start'\n"
	"  fi\n"
	"else\n"
	"  echo 'amibox linux sample: ssh: no SSH server in this image (its host had no dropbear-bin)'\n"
	"fi\n"
	"if imds /latest/user-data >/tmp/user-data && [ -s /tmp/user-data ]; then\n"
	"  if head -c 2 /tmp/user-data | grep -q '#!'; then\n"
	"    echo 'amibox linux sample: running the user data'\n"
	"    chmod +x /tmp/user-data && /tmp/user-data\n"
	"  else\n"
	"    echo \"amibox linux sample: user data: $(cat /tmp/user-data)\"\n"
	"  fi\n"
	"fi\n"
	"echo 'amibox linux sample: up; stop or terminate the instance to end it'\n"
	"while true; do sleep 3600; done\n";

/* The lease: the address and, in a VPC, the default route to the subnet's gateway. */
static const char linux_udhcpc[] =
	"#!/bin/sh\n"
	"[ \"$1\" = bound ] || exit 0\n"
	"ifconfig \"$interface\" \"$ip\" netmask \"$subnet\"\n"
	"for r in $router; do route add default gw \"$r\" dev \"$interface\"; break; done\n"
	"exit 0\n";

static const char *const linux_modules[] = {
	"virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
	"virtio_pci", "failover", "net_failover", "virtio_net",
	/* Its disks (ec2-bundle-vol bundles the root disk). */
	"virtio_blk",
	/* The power button's input device, for acpid. */
	"evdev", "button",
};

/* Whether path is an ELF executable without a program interpreter (static). */
static int elf_static(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char h[64];
	int ok = 0;
	if (f && fread(h, 1, 64, f) == 64 && !memcmp(h, "\177ELF", 4) && h[4] == 2 && h[5] == 1) {
		uint64_t phoff = 0;
		for (int i = 7; i >= 0; i--)
			phoff = (phoff << 8) | h[32 + i];
		unsigned phentsize = h[54] | (unsigned)h[55] << 8, phnum = h[56] | (unsigned)h[57] << 8;
		ok = phentsize >= 4;
		for (unsigned i = 0; ok && i < phnum; i++) {
			unsigned char type[4];
			if (fseek(f, (long)(phoff + (uint64_t)i * phentsize), SEEK_SET) != 0 ||
			    fread(type, 1, 4, f) != 4)
				ok = 0;
			else if (type[0] == 3 && !type[1] && !type[2] && !type[3])
				ok = 0; /* PT_INTERP: dynamically linked */
		}
	}
	if (f)
		fclose(f);
	return ok;
}

static int read_all(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(out, chunk, n);
	int bad = ferror(f);
	fclose(f);
	return bad ? -1 : 0;
}

/* A module's bytes: NAME.ko as it is, or NAME.ko.xz / .zst through xz / zstd. */
static int module_bytes(const char *modules, const char *name, struct buf *out)
{
	static const char *const kinds[][2] = {
		{ ".ko", NULL }, { ".ko.xz", "xz" }, { ".ko.zst", "zstd" },
	};
	struct buf cmd = BUF_INIT;
	int ret = -1;
	for (size_t k = 0; k < 3 && ret < 0; k++) {
		buf_reset(&cmd);
		buf_printf(&cmd, "find '%s' -name '%s%s' 2>/dev/null | head -1", modules, name,
			   kinds[k][0]);
		FILE *p = popen(cmd.data, "r");
		char path[1024] = "";
		if (p) {
			if (!fgets(path, sizeof path, p))
				path[0] = '\0';
			pclose(p);
		}
		path[strcspn(path, "\n")] = '\0';
		if (!path[0] || strchr(path, '\''))
			continue;
		if (!kinds[k][1]) {
			ret = read_all(path, out);
			continue;
		}
		buf_reset(&cmd);
		buf_printf(&cmd, "%s -dc '%s' 2>/dev/null", kinds[k][1], path);
		p = popen(cmd.data, "r");
		if (!p)
			continue;
		char chunk[65536];
		size_t n;
		while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
			buf_append(out, chunk, n);
		ret = pclose(p) == 0 && out->len ? 0 : -1;
	}
	buf_release(&cmd);
	return ret;
}

/* One newc cpio entry. */
static void cpio_add(struct buf *out, const char *name, unsigned mode, const void *data,
		     size_t len)
{
	static unsigned ino = 1;
	size_t namesize = strlen(name) + 1;
	buf_printf(out, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", ino++,
		   mode, 0u, 0u, (mode & 040000) ? 2u : 1u, 0u, len, 0u, 0u, 0u, 0u, namesize, 0u);
	buf_append(out, name, namesize);
	while (out->len % 4)
		buf_append_char(out, '\0');
	if (len)
		buf_append(out, data, len);
	while (out->len % 4)
		buf_append_char(out, '\0');
}

static int gzip_buf(const struct buf *in, struct buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	buf_reserve(out, deflateBound(&z, in->len));
	z.next_in = (unsigned char *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (unsigned char *)out->data + out->len;
	z.avail_out = (uInt)deflateBound(&z, in->len);
	int rc = deflate(&z, Z_FINISH);
	out->len += z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

/*
 * SSH in the Linux sample: Debian's dropbear (dropbear-bin) as the server,
 * with scp and sftp-server from OpenSSH (openssh-client,
 * openssh-sftp-server) for clients that upload files, each with the shared
 * libraries and the dynamic loader ldd names.  They are taken from the
 * directory AMIBOX_SAMPLE_SSH (where those packages are unpacked: tests use
 * dpkg-deb -x) or from this host's own installation.
 */
struct ssh_file {
	const char *guest;   /* its path in the initrd */
	const char *host[2]; /* where the package puts it, below the root */
	int required;
};

static const struct ssh_file ssh_files[] = {
	{ "usr/sbin/dropbear", { "usr/sbin/dropbear", NULL }, 1 },
	{ "usr/bin/dropbearkey", { "usr/bin/dropbearkey", NULL }, 1 },
	{ "usr/bin/dbclient", { "usr/bin/dbclient", NULL }, 0 },
	{ "usr/bin/scp", { "usr/bin/scp", NULL }, 0 },
	/* Where Debian's dropbear looks for the sftp subsystem. */
	{ "usr/lib/sftp-server", { "usr/lib/openssh/sftp-server", "usr/lib/sftp-server" }, 0 },
};

static const char ssh_passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"ec2-user:x:1000:1000:EC2 Default User:/home/ec2-user:/bin/sh\n";
static const char ssh_group[] = "root:x:0:\nec2-user:x:1000:\n";
static const char ssh_shells[] = "/bin/sh\n";

/*
 * Adds to libs ("guest-path\thost-path\n" lines, each guest path once) the
 * shared libraries and the loader that ldd names for binary, looking in
 * root's library directories first.  -1 with the reason in why when one is
 * not found or ldd cannot tell.
 */
static int ssh_libraries(const char *root, const char *binary, struct buf *libs,
			 char *why, size_t cap)
{
	struct buf cmd = BUF_INIT;
	int ret = -1, seen = 0;
	if (strchr(root, '\'') || strchr(binary, '\'')) {
		snprintf(why, cap, "a quote in the path of %s", binary);
		return -1;
	}
	buf_printf(&cmd, "LD_LIBRARY_PATH='%s/lib/x86_64-linux-gnu:%s/usr/lib/x86_64-linux-gnu' "
		   "ldd '%s' 2>/dev/null", root, root, binary);
	FILE *p = popen(cmd.data, "r");
	char line[1024];
	snprintf(why, cap, "ldd cannot read %s", binary);
	while (p && fgets(line, sizeof line, p)) {
		char name[256] = "", path[768] = "", entry[1100];
		const char *arrow = strstr(line, "=> ");
		if (arrow && !strncmp(arrow + 3, "not found", 9)) {
			sscanf(line, " %255s", name);
			snprintf(why, cap, "%s needs %s, which is not installed", binary, name);
			seen = -1;
			continue;
		}
		if (arrow) {
			if (sscanf(line, " %255s => %767s", name, path) != 2 || path[0] != '/')
				continue; /* the vDSO */
			const char *base = strrchr(name, '/');
			snprintf(entry, sizeof entry, "lib/x86_64-linux-gnu/%s\t%s\n",
				 base ? base + 1 : name, path);
		} else if (sscanf(line, " %767s", path) == 1 && path[0] == '/') {
			snprintf(entry, sizeof entry, "%s\t%s\n", path + 1, path); /* the loader */
		} else {
			continue;
		}
		if (seen >= 0)
			seen = 1;
		size_t key = strcspn(entry, "\t") + 1;
		int dup = !strncmp(buf_str(libs), entry, key);
		for (const char *l = strchr(buf_str(libs), '\n'); l && !dup; l = strchr(l + 1, '\n'))
			dup = !strncmp(l + 1, entry, key);
		if (!dup)
			buf_append_str(libs, entry);
	}
	int status = p ? pclose(p) : -1;
	if (seen == 1 && status == 0)
		ret = 0;
	buf_release(&cmd);
	return ret;
}

/*
 * Adds the SSH server and its companions to the initrd: 1 when added, 0
 * when this host lacks them (why says what to install; the initrd is as it
 * was).
 */
static int ssh_add(struct buf *cpio, char *why, size_t cap)
{
	const char *root = getenv("AMIBOX_SAMPLE_SSH");
	char host[1024], problem[512];
	struct buf files = BUF_INIT, bytes = BUF_INIT, part = BUF_INIT;
	int ret = 0;
	if (!root || !*root)
		root = "";
	for (size_t i = 0; i < sizeof ssh_files / sizeof *ssh_files; i++) {
		const struct ssh_file *f = &ssh_files[i];
		host[0] = '\0';
		for (int k = 0; k < 2 && f->host[k] && !host[0]; k++) {
			snprintf(host, sizeof host, "%s/%s", root, f->host[k]);
			if (access(host, X_OK) < 0)
				host[0] = '\0';
		}
		size_t mark = files.len;
		if (host[0]) {
			buf_printf(&files, "%s\t%s\n", f->guest, host);
			if (ssh_libraries(root, host, &files, problem, sizeof problem) == 0)
				continue;
			files.len = mark; /* without this one */
			files.data[mark] = '\0';
		} else {
			snprintf(problem, sizeof problem, "no /%s", f->host[0]);
		}
		if (f->required) {
			snprintf(why, cap, "%s; 'apt-get install dropbear-bin' (and openssh-client "
				 "openssh-sftp-server for scp and sftp)", problem);
			goto out;
		}
		log_info("the Linux sample has no %s: %s", f->guest, problem);
	}
	static const char *const dirs[] = { "usr", "usr/bin", "usr/sbin", "usr/lib",
					    "usr/lib/openssh", "lib/x86_64-linux-gnu", "lib64",
					    "etc", "etc/dropbear", "home", "var", "var/run",
					    "var/log" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		cpio_add(&part, dirs[i], 040755, NULL, 0);
	cpio_add(&part, "root", 040700, NULL, 0);
	cpio_add(&part, "etc/passwd", 0100644, ssh_passwd, sizeof ssh_passwd - 1);
	cpio_add(&part, "etc/group", 0100644, ssh_group, sizeof ssh_group - 1);
	cpio_add(&part, "etc/shells", 0100644, ssh_shells, sizeof ssh_shells - 1);
	for (char *line = files.data; line && *line;) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		*tab = *nl = '\0';
		buf_reset(&bytes);
		if (read_all(tab + 1, &bytes) < 0) {
			snprintf(why, cap, "cannot read %s", tab + 1);
			goto out;
		}
		cpio_add(&part, line, 0100755, bytes.data, bytes.len);
		if (!strcmp(line, "usr/lib/sftp-server"))
			cpio_add(&part, "usr/lib/openssh/sftp-server", 0120777, "../sftp-server",
				 strlen("../sftp-server"));
		line = nl + 1;
	}
	buf_append(cpio, part.data, part.len);
	ret = 1;
out:
	buf_release(&files);
	buf_release(&bytes);
	buf_release(&part);
	return ret;
}

/*
 * amibox-ec2-tools (src/guest), the AMI tools that run in a guest: named by
 * $AMIBOX_EC2_TOOLS, else beside this program (the build) or in
 * ../lib/amibox (installed).  1 when found.
 */
static int ec2_tools_path(char *out, size_t cap)
{
	const char *given = getenv("AMIBOX_EC2_TOOLS");
	if (given && *given) {
		snprintf(out, cap, "%s", given);
		return access(out, R_OK) == 0;
	}
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	static const char *const places[] = { "amibox-ec2-tools", "../lib/amibox/amibox-ec2-tools" };
	for (size_t i = 0; i < 2; i++) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/%s", exe, places[i]);
		int found = path.len < cap && access(path.data, R_OK) == 0;
		if (found)
			memcpy(out, path.data, path.len + 1);
		buf_release(&path);
		if (found)
			return 1;
	}
	return 0;
}

/* The newest /boot/vmlinuz-*, and its version; 0 if none. */
static int host_kernel(char *path, size_t cap, char *version, size_t vcap)
{
	glob_t g;
	int found = 0;
	if (glob("/boot/vmlinuz-*", 0, NULL, &g) == 0) {
		for (size_t i = g.gl_pathc; i-- > 0 && !found;) {
			if (access(g.gl_pathv[i], R_OK) == 0) {
				snprintf(path, cap, "%s", g.gl_pathv[i]);
				snprintf(version, vcap, "%s", g.gl_pathv[i] + strlen("/boot/vmlinuz-"));
				found = 1;
			}
		}
	}
	globfree(&g);
	return found;
}

static int sample_linux(const char *dir, struct catalog *cat, struct blockstore *bs,
			struct err *e)
{
	struct image existing;
	int found = catalog_image_by_name(cat, AMAZON_ACCOUNT_ID, LINUX_SAMPLE, &existing, e);
	if (found < 0)
		return -1;
	if (found) {
		image_release(&existing);
		return 0;
	}
	char kernel[1024] = "", version[256] = "", modules[1024], busybox[1024] = "";
	const char *given = getenv("AMIBOX_SAMPLE_KERNEL");
	if (given)
		snprintf(kernel, sizeof kernel, "%s", given);
	else
		host_kernel(kernel, sizeof kernel, version, sizeof version);
	if (getenv("AMIBOX_SAMPLE_MODULES"))
		snprintf(modules, sizeof modules, "%s", getenv("AMIBOX_SAMPLE_MODULES"));
	else
		snprintf(modules, sizeof modules, "/lib/modules/%s", version);
	const char *candidates[] = { getenv("AMIBOX_SAMPLE_BUSYBOX"), "/bin/busybox",
				     "/usr/bin/busybox" };
	for (size_t i = 0; i < 3 && !busybox[0]; i++)
		if (candidates[i] && elf_static(candidates[i]))
			snprintf(busybox, sizeof busybox, "%s", candidates[i]);
	int no_kernel = !kernel[0] || access(kernel, R_OK) < 0;
	if (no_kernel || !busybox[0]) {
		log_info("the Linux sample image is not published: it needs %s%s%s here; "
			 "'apt-get install%s%s' and start amibox again",
			 no_kernel ? "a Debian kernel in /boot" : "",
			 no_kernel && !busybox[0] ? " and " : "",
			 busybox[0] ? "" : "a static busybox",
			 no_kernel ? " linux-image-cloud-amd64" : "",
			 busybox[0] ? "" : " busybox-static");
		return 0;
	}
	struct buf cpio = BUF_INIT, initrd = BUF_INIT, bytes = BUF_INIT, root = BUF_INIT,
		   path = BUF_INIT, image = BUF_INIT;
	unsigned char *disk = NULL;
	size_t len = 0;
	int ret = 0;
	static const char *const dirs[] = { "bin", "dev", "lib", "lib/modules", "proc", "sys", "tmp" };
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		cpio_add(&cpio, dirs[i], 040755, NULL, 0);
	const char *why = "cannot read busybox";
	if (read_all(busybox, &bytes) < 0)
		goto skip;
	cpio_add(&cpio, "bin/busybox", 0100755, bytes.data, bytes.len);
	cpio_add(&cpio, "init", 0100755, linux_init, sizeof linux_init - 1);
	cpio_add(&cpio, "udhcpc.sh", 0100755, linux_udhcpc, sizeof linux_udhcpc - 1);
	for (size_t i = 0; i < sizeof linux_modules / sizeof *linux_modules; i++) {
		buf_reset(&bytes);
		if (module_bytes(modules, linux_modules[i], &bytes) < 0)
			continue; /* built into this kernel */
		buf_reset(&path);
		buf_printf(&path, "lib/modules/%s.ko", linux_modules[i]);
		cpio_add(&cpio, path.data, 0100644, bytes.data, bytes.len);
	}
	char no_ssh[768] = "";
	int ssh = ssh_add(&cpio, no_ssh, sizeof no_ssh);
	if (!ssh)
		log_warn("the Linux sample is published without SSH: %s", no_ssh);
	char tools[1024];
	if (ec2_tools_path(tools, sizeof tools)) {
		buf_reset(&bytes);
		if (read_all(tools, &bytes) == 0) {
			cpio_add(&cpio, "usr", 040755, NULL, 0);
			cpio_add(&cpio, "usr/bin", 040755, NULL, 0);
			cpio_add(&cpio, "usr/bin/amibox-ec2-tools", 0100755, bytes.data, bytes.len);
			cpio_add(&cpio, "usr/bin/ec2-bundle-vol", 0120777, "amibox-ec2-tools", 16);
			cpio_add(&cpio, "usr/bin/ec2-upload-bundle", 0120777, "amibox-ec2-tools", 16);
		}
	} else {
		log_info("the Linux sample has no ec2-bundle-vol: no amibox-ec2-tools beside amibox");
	}
	cpio_add(&cpio, "TRAILER!!!", 0, NULL, 0);
	why = "cannot compress the initrd";
	if (gzip_buf(&cpio, &initrd) < 0)
		goto skip;
	/* The root file system: kernel, initrd and menu.lst for PV-GRUB. */
	buf_printf(&root, "%s/samples-linux.tmp", dir);
	mkdir(root.data, 0700);
	buf_reset(&path);
	buf_printf(&path, "%s/boot", root.data);
	mkdir(path.data, 0700);
	buf_append_str(&path, "/grub");
	mkdir(path.data, 0700);
	static const char menu[] =
		"# amibox sample: a Debian kernel and busybox\n"
		"default 0\ntimeout 1\n"
		"title amibox linux sample\n"
		"root (hd0)\n"
		"kernel /boot/vmlinuz console=ttyS0 quiet\n"
		"initrd /boot/initrd.img\n";
	struct buf k = BUF_INIT;
	int written = read_all(kernel, &k) == 0;
	buf_reset(&path);
	buf_printf(&path, "%s/boot/vmlinuz", root.data);
	written = written && write_file(path.data, k.data, k.len) == 0;
	size_t size_mib = (k.len + initrd.len) / (1 << 20) + 8;
	buf_release(&k);
	buf_reset(&path);
	buf_printf(&path, "%s/boot/initrd.img", root.data);
	written = written && write_file(path.data, initrd.data, initrd.len) == 0;
	buf_reset(&path);
	buf_printf(&path, "%s/boot/grub/menu.lst", root.data);
	written = written && write_file(path.data, menu, sizeof menu - 1) == 0;
	buf_printf(&image, "%s/linux.img", dir);
	why = written ? "mke2fs failed" : "cannot write the root file system's files";
	if (written)
		disk = make_ext2(root.data, image.data, (int)size_mib, &len);
	unlink(image.data);
	static const char *const files[] = { "/boot/vmlinuz", "/boot/initrd.img",
					     "/boot/grub/menu.lst", "/boot/grub", "/boot", "" };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s%s", root.data, files[i]);
		if (unlink(path.data) < 0)
			rmdir(path.data);
	}
	if (!disk)
		goto skip;
	char description[512];
	snprintf(description, sizeof description,
		 "amibox sample: Linux %.200s with busybox; prints its instance's metadata, "
		 "runs #! user data%s", version[0] ? version : "(given kernel)",
		 ssh ? ", SSH (dropbear) for root and ec2-user with the instance's key" : "");
	struct sample_image sample = { LINUX_SAMPLE, description, "paravirtual", "/dev/sda1",
				       SAMPLE_PV_HD0 };
	struct sample_disk source = { disk, -1, (long long)len };
	if (sample_publish(cat, bs, &sample, &source, NULL, NULL, e) < 0)
		ret = -1;
	goto out;
skip:
	log_warn("the Linux sample image could not be made from %s and %s (%s); it is not "
		 "published", kernel, busybox, why);
out:
	free(disk);
	buf_release(&cpio);
	buf_release(&initrd);
	buf_release(&bytes);
	buf_release(&root);
	buf_release(&path);
	buf_release(&image);
	return ret;
}

/* ---- the Debian samples ------------------------------------------------- */

/*
 * amibox-sample-debian-hvm and -pv: Debian 12 with systemd, OpenSSH (keys
 * only) and cloud-init against the metadata service, built from Debian's
 * packages by scripts/debian-image.sh, which says how.  This file only runs
 * that script and publishes what it leaves in the cache.
 */

int samples_debian_build(const char *cache, int progress_fd, struct err *e)
{
	struct buf dir = BUF_INIT, script = BUF_INIT;
	int ret = -1;
	buf_printf(&dir, "%s/%s", cache, SAMPLES_DEBIAN_DIR);
	/* Each missing folder of the path (~/.cache may not exist yet). */
	for (char *slash = strchr(dir.data + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir.data, 0755);
		*slash = '/';
	}
	if (mkdir(dir.data, 0755) < 0 && errno != EEXIST) {
		err_internal(e, "cannot create %s: %s", dir.data, strerror(errno));
		goto out;
	}
	/* The script's own bytes are its recipe: a new amibox may rebuild. */
	buf_printf(&script, "%s/debian-image.sh", dir.data);
	if (write_file(script.data, sample_debian_script, sample_debian_script_len) < 0) {
		err_internal(e, "cannot write %s: %s", script.data, strerror(errno));
		goto out;
	}
	char tools[1024];
	int has_tools = ec2_tools_path(tools, sizeof tools);
	pid_t pid = fork();
	if (pid == 0) {
		if (has_tools)
			setenv("AMIBOX_EC2_TOOLS", tools, 1);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(progress_fd, 1);
		dup2(progress_fd, 2);
		execlp("bash", "bash", script.data, dir.data, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		err_internal(e, "cannot run bash: %s", strerror(errno));
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		err_internal(e, "the Debian sample images were not built (%s/build.log has the "
			     "details)", dir.data);
		goto out;
	}
	ret = 0;
out:
	buf_release(&dir);
	buf_release(&script);
	return ret;
}

/* cache's build-id: "RECIPE TIME CLOUD-INIT-VERSION". */
static int debian_build_id(const char *cache, char *recipe, size_t rcap, char *when,
			   size_t wcap, char *cloud_init, size_t ccap, struct err *e)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	char r[64] = "", w[64] = "", c[128] = "";
	buf_printf(&path, "%s/%s/build-id", cache, SAMPLES_DEBIAN_DIR);
	int ok = read_all(path.data, &text) == 0 && text.len < 512 &&
		 sscanf(buf_str(&text), "%63s %63s %127s", r, w, c) == 3;
	if (!ok)
		err_internal(e, "%s does not say which build it is: build the images first",
			     path.data);
	snprintf(recipe, rcap, "%s", r);
	snprintf(when, wcap, "%s", w);
	snprintf(cloud_init, ccap, "%s", c);
	buf_release(&path);
	buf_release(&text);
	return ok ? 0 : -1;
}

int samples_debian_publish(const char *cache, struct catalog *cat, struct blockstore *bs,
			   struct samples_published out[2], struct err *e)
{
	static const struct {
		const char *name, *file, *what, *virt, *root, *kernel;
	} variants[2] = {
		{ "amibox-sample-debian-hvm", "hvm.img", "HVM: GRUB 2 on an MBR disk", "hvm",
		  "/dev/xvda", "" },
		{ "amibox-sample-debian-pv", "pv.img", "paravirtual: menu.lst for PV-GRUB",
		  "paravirtual", "/dev/sda1", SAMPLE_PV_HD0 },
	};
	char recipe[64], when[64], cloud_init[128];
	if (debian_build_id(cache, recipe, sizeof recipe, when, sizeof when, cloud_init,
			    sizeof cloud_init, e) < 0)
		return -1;
	memset(out, 0, 2 * sizeof *out);
	for (int i = 0; i < 2; i++) {
		char description[IMAGE_DESCRIPTION_MAX], build[160];
		snprintf(build, sizeof build, "build %s %s", recipe, when);
		snprintf(description, sizeof description,
			 "amibox sample: Debian 12 (bookworm), cloud-init %s with the EC2 metadata "
			 "service, OpenSSH (keys only) for admin; %s; %s", cloud_init,
			 variants[i].what, build);
		struct sample_image sample = { variants[i].name, description, variants[i].virt,
					       variants[i].root, variants[i].kernel };
		struct image existing;
		int found = catalog_image_by_name(cat, AMAZON_ACCOUNT_ID, sample.name, &existing, e);
		if (found < 0)
			return -1;
		snprintf(out[i].name, sizeof out[i].name, "%s", sample.name);
		char replaces[ID_MAX] = "";
		if (found) {
			int same = strstr(existing.description, build) != NULL;
			snprintf(same ? out[i].image_id : replaces, ID_MAX, "%s", existing.id);
			image_release(&existing);
			if (same)
				continue;
		}
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s/%s/%s", cache, SAMPLES_DEBIAN_DIR, variants[i].file);
		struct sample_disk disk = { NULL, open(path.data, O_RDONLY | O_CLOEXEC), 0 };
		struct stat st;
		int rc = -1;
		if (disk.fd < 0 || fstat(disk.fd, &st) < 0) {
			err_internal(e, "cannot read %s: %s", path.data, strerror(errno));
		} else {
			disk.len = (long long)st.st_size;
			rc = sample_publish(cat, bs, &sample, &disk, replaces[0] ? replaces : NULL,
					    out[i].image_id, e);
		}
		if (disk.fd >= 0)
			close(disk.fd);
		buf_release(&path);
		if (rc < 0)
			return -1;
		out[i].fresh = 1;
	}
	return 0;
}

int samples_install(const char *dir, struct catalog *cat, struct blockstore *bs,
		    struct err *e)
{
	if (samples_tiny(dir, cat, bs, e) < 0)
		return -1;
	return sample_linux(dir, cat, bs, e);
}
