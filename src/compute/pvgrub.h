/*
 * pvgrub: amibox's PV-GRUB.  For a paravirtual instance it reads GRUB
 * legacy's menu.lst from the root volume's file system (ext2/3/4, through
 * libext2fs), picks the entry (default, else fallback), and extracts that
 * entry's kernel and initrd, so that QEMU boots the kernel directly with
 * the entry's command line: what PV-GRUB did on EC2.
 *
 * The disk is unpartitioned ("hd0": the file system starts at byte 0) or
 * partitioned ("hd00": the first MBR partition), as the instance's PV-GRUB
 * kernel image says; an entry's "root (hd0,N)" line selects partition N+1
 * for its kernel, "root (hd0)" the whole disk.
 */
#ifndef AMIBOX_COMPUTE_PVGRUB_H
#define AMIBOX_COMPUTE_PVGRUB_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define PVGRUB_MAX_ENTRIES 32

struct pvgrub_entry {
	char title[128];
	int partition;         /* -1: the whole disk, N: partition N (0-based), -2: unset */
	char kernel[256];      /* path within the file system */
	char args[1024];       /* the kernel's command line */
	char initrd[256];      /* "" when none */
};

struct pvgrub_menu {
	struct pvgrub_entry entries[PVGRUB_MAX_ENTRIES];
	int count;
	int default_entry;
	int fallback;          /* -1 when none */
	int timeout;           /* seconds, -1 when none */
};

/*
 * Parses menu.lst text: default, fallback, timeout, title, root, kernel
 * (path and command line), initrd; comments and unknown commands are
 * skipped.  400 InvalidParameterValue-style errors name the line.
 */
int pvgrub_parse_menu(const char *text, size_t len, struct pvgrub_menu *menu,
		      struct err *e);

/* Reads from the disk: 0 on success. */
struct pvgrub_disk {
	int (*read)(void *ctx, void *buf, size_t len, uint64_t offset);
	void *ctx;
	uint64_t size;
};

struct pvgrub_boot {
	char title[128];
	char cmdline[1024];
	int has_initrd;
};

/*
 * Finds menu.lst (/boot/grub/menu.lst, else /grub/menu.lst) on the disk,
 * then writes the chosen entry's kernel to dir/kernel and its initrd to
 * dir/initrd.  Errors say what PV-GRUB would have printed.
 */
int pvgrub_load(const struct pvgrub_disk *disk, int partitioned,
		const char *dir, struct pvgrub_boot *boot, struct err *e);

#endif
