/* pvgrub: menu.lst and the kernel it names, from a guest's disk (see pvgrub.h). */
#include "compute/pvgrub.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "util/buf.h"

#define PVGRUB_MENU_MAX (64 * 1024)
#define PVGRUB_KERNEL_MAX (256LL << 20)
#define PVGRUB_INITRD_MAX (1024LL << 20)

/* ---- menu.lst ----------------------------------------------------------- */

static void copy_word(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* "(hd0)" -> -1, "(hd0,N)" -> N; -3 when malformed. */
static int parse_root(const char *arg)
{
	int n = -1;
	char close = 0;
	if (!strncmp(arg, "(hd0)", 5))
		return -1;
	if (sscanf(arg, "(hd0,%d%c", &n, &close) == 2 && close == ')' && n >= 0 && n < 4)
		return n;
	return -3;
}

int pvgrub_parse_menu(const char *text, size_t len, struct pvgrub_menu *menu,
		      struct err *e)
{
	memset(menu, 0, sizeof *menu);
	menu->fallback = -1;
	menu->timeout = -1;
	int line_no = 0;
	size_t pos = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		line_no++;
		/* Trim, skip comments and blank lines. */
		while (n && isspace((unsigned char)*line)) {
			line++;
			n--;
		}
		while (n && isspace((unsigned char)line[n - 1]))
			n--;
		if (!n || *line == '#')
			continue;
		if (memchr(line, '\0', n))
			return err_set(e, 400, "InvalidParameterValue",
				       "menu.lst line %d holds a NUL byte", line_no);
		size_t klen = 0;
		while (klen < n && !isspace((unsigned char)line[klen]) && line[klen] != '=')
			klen++;
		const char *arg = line + klen;
		size_t alen = n - klen;
		while (alen && (isspace((unsigned char)*arg) || *arg == '=')) {
			arg++;
			alen--;
		}
		char key[16], value[1400];
		copy_word(key, sizeof key, line, klen);
		copy_word(value, sizeof value, arg, alen);
		struct pvgrub_entry *cur = menu->count ? &menu->entries[menu->count - 1] : NULL;
		if (!strcmp(key, "default")) {
			menu->default_entry = atoi(value);
		} else if (!strcmp(key, "fallback")) {
			menu->fallback = atoi(value);
		} else if (!strcmp(key, "timeout")) {
			menu->timeout = atoi(value);
		} else if (!strcmp(key, "title")) {
			if (menu->count == PVGRUB_MAX_ENTRIES)
				return err_set(e, 400, "InvalidParameterValue",
					       "menu.lst has more than %d entries", PVGRUB_MAX_ENTRIES);
			cur = &menu->entries[menu->count++];
			copy_word(cur->title, sizeof cur->title, value, strlen(value));
			cur->partition = -2;
		} else if (!cur) {
			continue; /* global commands we do not need (color, hiddenmenu...) */
		} else if (!strcmp(key, "root")) {
			cur->partition = parse_root(value);
			if (cur->partition == -3)
				return err_set(e, 400, "InvalidParameterValue",
					       "menu.lst line %d: root %.64s is not (hd0) or (hd0,N)",
					       line_no, value);
		} else if (!strcmp(key, "kernel")) {
			size_t plen = strcspn(value, " \t");
			const char *rest = value + plen;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			copy_word(cur->kernel, sizeof cur->kernel, value, plen);
			copy_word(cur->args, sizeof cur->args, rest, strlen(rest));
		} else if (!strcmp(key, "initrd")) {
			size_t plen = strcspn(value, " \t");
			copy_word(cur->initrd, sizeof cur->initrd, value, plen);
		}
	}
	if (!menu->count)
		return err_set(e, 400, "InvalidParameterValue", "menu.lst has no entries");
	return 0;
}

/* ---- the disk through libext2fs ----------------------------------------- */

/*
 * libext2fs opens channels by name through an io_manager; this one reads
 * the disk registered under the lock for the duration of one load.
 */
static pthread_mutex_t pvgrub_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct pvgrub_disk *pvgrub_current;
static uint64_t pvgrub_offset;

struct pvgrub_channel {
	const struct pvgrub_disk *disk;
	uint64_t offset;
};

static errcode_t pv_read64(io_channel ch, unsigned long long block, int count,
			   void *data)
{
	struct pvgrub_channel *pc = ch->private_data;
	size_t len = count < 0 ? (size_t)-count : (size_t)count * (size_t)ch->block_size;
	uint64_t at = pc->offset + block * (uint64_t)ch->block_size;
	if (at > pc->disk->size || len > pc->disk->size - at)
		return EXT2_ET_SHORT_READ;
	return pc->disk->read(pc->disk->ctx, data, len, at) < 0 ? EXT2_ET_SHORT_READ : 0;
}

static errcode_t pv_read(io_channel ch, unsigned long block, int count, void *data)
{
	return pv_read64(ch, block, count, data);
}

static errcode_t pv_write(io_channel ch, unsigned long block, int count,
			  const void *data)
{
	(void)ch;
	(void)block;
	(void)count;
	(void)data;
	return EXT2_ET_RO_UNSUPP_FEATURE; /* PV-GRUB only reads */
}

static errcode_t pv_write64(io_channel ch, unsigned long long block, int count,
			    const void *data)
{
	return pv_write(ch, (unsigned long)block, count, data);
}

static errcode_t pv_set_blksize(io_channel ch, int blksize)
{
	ch->block_size = blksize;
	return 0;
}

static errcode_t pv_flush(io_channel ch)
{
	(void)ch;
	return 0;
}

static errcode_t pv_close(io_channel ch)
{
	if (--ch->refcount > 0)
		return 0;
	free(ch->private_data);
	free(ch->name);
	free(ch);
	return 0;
}

static errcode_t pv_open(const char *name, int flags, io_channel *out);

static struct struct_io_manager pvgrub_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "amibox PV-GRUB",
	.open = pv_open,
	.close = pv_close,
	.set_blksize = pv_set_blksize,
	.read_blk = pv_read,
	.write_blk = pv_write,
	.flush = pv_flush,
	.read_blk64 = pv_read64,
	.write_blk64 = pv_write64,
};

static errcode_t pv_open(const char *name, int flags, io_channel *out)
{
	if ((flags & IO_FLAG_RW) || !pvgrub_current)
		return EXT2_ET_BAD_DEVICE_NAME;
	io_channel ch = calloc(1, sizeof *ch);
	struct pvgrub_channel *pc = calloc(1, sizeof *pc);
	char *copy = strdup(name);
	if (!ch || !pc || !copy) {
		free(ch);
		free(pc);
		free(copy);
		return EXT2_ET_NO_MEMORY;
	}
	pc->disk = pvgrub_current;
	pc->offset = pvgrub_offset;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = &pvgrub_manager;
	ch->name = copy;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = pc;
	*out = ch;
	return 0;
}

/* Byte offset of the file system: 0, or MBR partition n (0-based). */
static int partition_offset(const struct pvgrub_disk *disk, int n, uint64_t *offset,
			    struct err *e)
{
	unsigned char mbr[512];
	*offset = 0;
	if (n < 0)
		return 0;
	if (disk->read(disk->ctx, mbr, sizeof mbr, 0) < 0)
		return err_set(e, 400, "InvalidParameterValue", "cannot read the partition table");
	if (mbr[510] != 0x55 || mbr[511] != 0xaa)
		return err_set(e, 400, "InvalidParameterValue",
			       "the root device has no partition table (hd00 needs one; use the hd0 kernel for an unpartitioned disk)");
	const unsigned char *p = mbr + 446 + 16 * n;
	uint32_t lba = (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
		       (uint32_t)p[11] << 24;
	if (p[4] == 0 || lba == 0)
		return err_set(e, 400, "InvalidParameterValue", "partition %d does not exist", n + 1);
	*offset = (uint64_t)lba * 512;
	return 0;
}

struct pvgrub_fs {
	ext2_filsys fs;
};

static int fs_open(const struct pvgrub_disk *disk, int partition, struct pvgrub_fs *out,
		   struct err *e)
{
	uint64_t offset;
	if (partition_offset(disk, partition, &offset, e) < 0)
		return -1;
	pthread_mutex_lock(&pvgrub_lock);
	pvgrub_current = disk;
	pvgrub_offset = offset;
	errcode_t rc = ext2fs_open2("amibox-root", NULL, EXT2_FLAG_64BITS, 0, 0,
				    &pvgrub_manager, &out->fs);
	pvgrub_current = NULL;
	pthread_mutex_unlock(&pvgrub_lock);
	if (rc)
		return err_set(e, 400, "InvalidParameterValue",
			       "no ext2/3/4 file system on %s (%s)",
			       partition < 0 ? "the root device" : "its partition",
			       error_message(rc));
	return 0;
}

/* Reads path (following symbolic links) into out, at most max bytes. */
static int fs_read(struct pvgrub_fs *f, const char *path, long long max,
		   struct buf *out, struct err *e)
{
	ext2_ino_t ino;
	ext2_file_t file;
	errcode_t rc = ext2fs_namei_follow(f->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
	if (rc)
		return err_set(e, 404, "NotFound", "%s: %s", path, error_message(rc));
	if ((rc = ext2fs_file_open(f->fs, ino, 0, &file)) != 0)
		return err_set(e, 400, "InvalidParameterValue", "%s: %s", path, error_message(rc));
	__u64 size = 0;
	if ((rc = ext2fs_file_get_lsize(file, &size)) != 0) {
		ext2fs_file_close(file);
		return err_set(e, 400, "InvalidParameterValue", "%s: %s", path, error_message(rc));
	}
	if ((long long)size > max) {
		ext2fs_file_close(file);
		return err_set(e, 400, "InvalidParameterValue",
			       "%s is larger than PV-GRUB loads (%lld bytes)", path, max);
	}
	buf_reserve(out, (size_t)size + 1);
	while (out->len < size) {
		unsigned int got = 0;
		rc = ext2fs_file_read(file, out->data + out->len, (unsigned int)(size - out->len), &got);
		if (rc || got == 0)
			break;
		out->len += got;
	}
	ext2fs_file_close(file);
	if (rc || out->len != size)
		return err_set(e, 400, "InvalidParameterValue", "%s: short read", path);
	out->data[out->len] = '\0';
	return 0;
}

static int write_file(const char *dir, const char *name, const struct buf *b,
		      struct err *e)
{
	struct buf path = BUF_INIT;
	buf_printf(&path, "%s/%s", dir, name);
	int fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok = fd >= 0 && write(fd, b->data, b->len) == (ssize_t)b->len;
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return ok ? 0 : err_internal(e, "writing the %s for the guest: %s", name, strerror(errno));
}

/* Loads one entry's kernel and initrd; -1 with e set when it cannot. */
static int load_entry(const struct pvgrub_disk *disk, const struct pvgrub_entry *en,
		      int menu_partition, const char *dir, struct pvgrub_boot *boot,
		      struct err *e)
{
	struct pvgrub_fs f = { 0 };
	struct buf kernel = BUF_INIT, initrd = BUF_INIT;
	int ret = -1;
	int partition = en->partition == -2 ? menu_partition : en->partition;
	if (!en->kernel[0]) {
		err_set(e, 400, "InvalidParameterValue", "entry '%s' has no kernel line", en->title);
		return -1;
	}
	if (fs_open(disk, partition, &f, e) < 0)
		return -1;
	if (fs_read(&f, en->kernel, PVGRUB_KERNEL_MAX, &kernel, e) < 0 ||
	    (en->initrd[0] && fs_read(&f, en->initrd, PVGRUB_INITRD_MAX, &initrd, e) < 0) ||
	    write_file(dir, "kernel", &kernel, e) < 0 ||
	    (en->initrd[0] && write_file(dir, "initrd", &initrd, e) < 0))
		goto out;
	snprintf(boot->title, sizeof boot->title, "%s", en->title);
	snprintf(boot->cmdline, sizeof boot->cmdline, "%s", en->args);
	boot->has_initrd = en->initrd[0] != '\0';
	ret = 0;
out:
	ext2fs_close_free(&f.fs);
	buf_release(&kernel);
	buf_release(&initrd);
	return ret;
}

int pvgrub_load(const struct pvgrub_disk *disk, int partitioned, const char *dir,
		struct pvgrub_boot *boot, struct err *e)
{
	static const char *const menus[] = { "/boot/grub/menu.lst", "/grub/menu.lst" };
	struct pvgrub_fs f = { 0 };
	struct pvgrub_menu menu;
	struct buf text = BUF_INIT;
	int found = 0, ret = -1;
	int partition = partitioned ? 0 : -1;
	memset(boot, 0, sizeof *boot);
	if (fs_open(disk, partition, &f, e) < 0)
		return -1;
	for (size_t i = 0; i < 2 && !found; i++) {
		struct err miss = ERR_INIT;
		buf_reset(&text);
		found = fs_read(&f, menus[i], PVGRUB_MENU_MAX, &text, &miss) == 0;
		if (!found && miss.status != 404) {
			*e = miss;
			goto out;
		}
	}
	ext2fs_close_free(&f.fs);
	if (!found) {
		err_set(e, 400, "InvalidParameterValue",
			"no /boot/grub/menu.lst or /grub/menu.lst on the root file system");
		goto out;
	}
	if (pvgrub_parse_menu(text.data, text.len, &menu, e) < 0)
		goto out;
	/* The default entry, then the fallback, as GRUB legacy tries them. */
	int tries[2] = { menu.default_entry, menu.fallback };
	struct err first = ERR_INIT;
	for (int t = 0; t < 2; t++) {
		int n = tries[t];
		if (n < 0 || n >= menu.count)
			continue;
		struct err attempt = ERR_INIT;
		if (load_entry(disk, &menu.entries[n], partition, dir, boot, &attempt) == 0) {
			ret = 0;
			goto out;
		}
		if (!err_is_set(&first))
			first = attempt;
	}
	if (err_is_set(&first))
		*e = first;
	else
		err_set(e, 400, "InvalidParameterValue",
			"menu.lst names default entry %d, but has %d entries",
			menu.default_entry, menu.count);
out:
	if (f.fs)
		ext2fs_close_free(&f.fs);
	buf_release(&text);
	return ret;
}
