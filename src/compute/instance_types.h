/*
 * instance_types: the instance types amibox knows, as EC2 describes them,
 * and how each maps onto a QEMU machine on this host.
 *
 * Previous-generation types (t1, m1, m2, m3, c1, c3, hs1) run paravirtual
 * images; current-generation ones only HVM, as on EC2.  Types with instance
 * storage get that many ephemeral disks (sparse files).  Memory is scaled by
 * a factor (amibox serve --memory-scale) so that a small host can run
 * m1.xlarge; vCPUs are capped at the host's cores.
 */
#ifndef AMIBOX_COMPUTE_INSTANCE_TYPES_H
#define AMIBOX_COMPUTE_INSTANCE_TYPES_H

#include <stddef.h>

struct instance_type {
	const char *name;
	int vcpus;
	long long memory_mib;
	int current_generation;
	int hvm;                 /* supports HVM images */
	int paravirtual;         /* supports PV images */
	int disks;               /* instance store disks */
	int disk_gb;             /* size of each */
	const char *disk_type;   /* "hdd" or "ssd" */
	int arm64;               /* arm64 rather than i386/x86_64 */
};

const struct instance_type *instance_type_find(const char *name);
/* The table, in name order; *count receives its length. */
const struct instance_type *instance_types(size_t *count);

/* The memory a guest of this type gets here, in MiB. */
long long instance_type_guest_mib(const struct instance_type *t, double scale);

#endif
