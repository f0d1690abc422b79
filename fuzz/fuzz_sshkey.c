/*
 * libFuzzer target for ec2/sshkey's import: ImportKeyPair's public key
 * material in every form it reads (OpenSSH lines, RFC 4716 files, base64
 * DER), from the raw bytes a client sends after the parameter's base64.
 * Whatever it accepts must come out as one OpenSSH line of a known type with
 * a fingerprint, and read back to the same line and fingerprint.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec2/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey_public pub, again;
	struct err e = ERR_INIT;
	if (sshkey_import(data, size, "fuzz", &pub, &e) < 0) {
		if (strcmp(e.code, "InvalidKey.Format") != 0)
			abort(); /* bad input is the client's error, never ours */
		return 0;
	}
	if (strcmp(pub.key_type, "rsa") && strcmp(pub.key_type, "ed25519"))
		abort();
	if (!pub.fingerprint[0] || strchr(pub.openssh, '\n'))
		abort();
	/* The stored line is itself importable material: the same key. */
	if (sshkey_import((const unsigned char *)pub.openssh, strlen(pub.openssh), "fuzz", &again,
			  &e) < 0 ||
	    strcmp(again.openssh, pub.openssh) || strcmp(again.fingerprint, pub.fingerprint))
		abort();
	return 0;
}
