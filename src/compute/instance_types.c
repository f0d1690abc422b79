/* instance_types: the built-in instance type table (see instance_types.h). */
#include "compute/instance_types.h"

#include <string.h>

/* name, vCPUs, MiB, current, hvm, pv, disks, GB each, disk type, arm64 */
static const struct instance_type types[] = {
	{ "c1.medium", 2, 1740, 0, 1, 1, 1, 350, "hdd", 0 },
	{ "c1.xlarge", 8, 7168, 0, 1, 1, 4, 420, "hdd", 0 },
	{ "c3.large", 2, 3840, 0, 1, 1, 2, 16, "ssd", 0 },
	{ "c3.xlarge", 4, 7680, 0, 1, 1, 2, 40, "ssd", 0 },
	{ "c5.large", 2, 4096, 1, 1, 0, 0, 0, NULL, 0 },
	{ "c5.xlarge", 4, 8192, 1, 1, 0, 0, 0, NULL, 0 },
	{ "c5d.large", 2, 4096, 1, 1, 0, 1, 50, "ssd", 0 },
	{ "hs1.8xlarge", 16, 119808, 0, 1, 1, 24, 2000, "hdd", 0 },
	{ "m1.large", 2, 7680, 0, 1, 1, 2, 420, "hdd", 0 },
	{ "m1.medium", 1, 3840, 0, 1, 1, 1, 410, "hdd", 0 },
	{ "m1.small", 1, 1740, 0, 1, 1, 1, 160, "hdd", 0 },
	{ "m1.xlarge", 4, 15360, 0, 1, 1, 4, 420, "hdd", 0 },
	{ "m2.xlarge", 2, 17510, 0, 1, 1, 1, 420, "hdd", 0 },
	{ "m3.large", 2, 7680, 0, 1, 1, 1, 32, "ssd", 0 },
	{ "m3.medium", 1, 3840, 0, 1, 1, 1, 4, "ssd", 0 },
	{ "m3.xlarge", 4, 15360, 0, 1, 1, 2, 40, "ssd", 0 },
	{ "m5.large", 2, 8192, 1, 1, 0, 0, 0, NULL, 0 },
	{ "m5.xlarge", 4, 16384, 1, 1, 0, 0, 0, NULL, 0 },
	{ "m5d.large", 2, 8192, 1, 1, 0, 1, 75, "ssd", 0 },
	{ "m6g.medium", 1, 4096, 1, 1, 0, 0, 0, NULL, 1 },
	{ "t1.micro", 1, 627, 0, 0, 1, 0, 0, NULL, 0 },
	{ "t2.micro", 1, 1024, 1, 1, 0, 0, 0, NULL, 0 },
	{ "t2.nano", 1, 512, 1, 1, 0, 0, 0, NULL, 0 },
	{ "t2.small", 1, 2048, 1, 1, 0, 0, 0, NULL, 0 },
	{ "t3.micro", 2, 1024, 1, 1, 0, 0, 0, NULL, 0 },
	{ "t3.nano", 2, 512, 1, 1, 0, 0, 0, NULL, 0 },
	{ "t3.small", 2, 2048, 1, 1, 0, 0, 0, NULL, 0 },
};

const struct instance_type *instance_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(types[i].name, name))
			return &types[i];
	return NULL;
}

const struct instance_type *instance_types(size_t *count)
{
	*count = sizeof types / sizeof types[0];
	return types;
}

long long instance_type_guest_mib(const struct instance_type *t, double scale)
{
	long long mib = (long long)((double)t->memory_mib * scale);
	if (mib < 128)
		mib = 128;
	return mib > 4096 ? 4096 : mib;
}
