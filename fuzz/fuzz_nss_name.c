/*
 * libFuzzer target for nss/nss_name, the parser the host's resolver runs on
 * every name it looks up through libnss_amibox: the input is a name.  An
 * address it accepts is loopback, and its canonical name reads back the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nss/nss_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[512], canon[NSS_NAME_MAX + 1], again[NSS_NAME_MAX + 1];
	uint32_t addr, addr2;
	if (size >= sizeof name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	if (nss_name_parse(name, &addr, canon, sizeof canon) < 0)
		return 0;
	if (((const unsigned char *)&addr)[0] != 127)
		abort();
	if (nss_name_parse(canon, &addr2, again, sizeof again) < 0 || addr2 != addr ||
	    strcmp(canon, again) != 0)
		abort();
	return 0;
}
