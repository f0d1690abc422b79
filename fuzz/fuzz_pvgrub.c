/*
 * libFuzzer target for compute/pvgrub: the first byte chooses what the rest
 * is: menu.lst text for the parser, or a whole guest disk (unpartitioned or
 * partitioned) for the loader, which reads the MBR and the ext2 file system
 * through libext2fs and follows menu.lst to a kernel and an initrd.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compute/pvgrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem_disk {
	const uint8_t *data;
	size_t size;
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t offset)
{
	const struct mem_disk *d = ctx;
	if (offset > d->size || len > d->size - offset)
		return -1;
	memcpy(buf, d->data + offset, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[] = "/tmp/amibox-fuzz-pvgrub.XXXXXX";
	static int made;
	struct err e = ERR_INIT;
	if (!size)
		return 0;
	if (!made)
		made = mkdtemp(dir) != NULL;
	if (data[0] < 0x80) {
		struct pvgrub_menu *m = malloc(sizeof *m);
		if (m) {
			pvgrub_parse_menu((const char *)data + 1, size - 1, m, &e);
			free(m);
		}
		return 0;
	}
	struct mem_disk d = { data + 1, size - 1 };
	struct pvgrub_disk disk = { mem_read, &d, d.size };
	struct pvgrub_boot boot;
	if (made)
		pvgrub_load(&disk, data[0] & 1, dir, &boot, &e);
	return 0;
}
