/*
 * libFuzzer target for console: a client controls the Accept-Encoding and
 * If-None-Match headers the console's file server reads.  The input is
 * both, split at its first NUL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *second = text + strlen(text);
	second += second < text + size;
	(void)console_accepts_gzip(text);
	(void)console_etag_matches(second, "\"0123456789abcdef0123\"");
	free(text);
	return 0;
}
