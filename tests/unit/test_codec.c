/*
 * Unit tests for util/codec's hashes: SHA-256 and HMAC-SHA-256 against the
 * published vectors (FIPS 180-2, RFC 4231), from several threads at once
 * since each thread keeps its own digest context.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/codec.h"

static void hex_of_hmac(const char *key, size_t key_len, const char *data, char out[65])
{
	unsigned char mac[SHA256_LEN];
	codec_hmac_sha256(key, key_len, data, strlen(data), mac);
	codec_hex(mac, sizeof mac, out);
}

static void test_sha256(void **state)
{
	(void)state;
	char hex[65];
	codec_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	codec_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hmac_rfc4231(void **state)
{
	(void)state;
	char hex[65], key[131];
	/* Test case 1: a 20-byte key of 0x0b. */
	memset(key, 0x0b, 20);
	hex_of_hmac(key, 20, "Hi There", hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* Test case 2: a short key. */
	hex_of_hmac("Jefe", 4, "what do ya want for nothing?", hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 6: a key longer than the block is hashed first. */
	memset(key, 0xaa, 131);
	hex_of_hmac(key, 131, "Test Using Larger Than Block-Size Key - Hash Key First", hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void *hash_many(void *arg)
{
	(void)arg;
	char hex[65];
	for (int i = 0; i < 2000; i++) {
		hex_of_hmac("Jefe", 4, "what do ya want for nothing?", hex);
		if (strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hash_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *failed = NULL;
		pthread_join(t[i], &failed);
		assert_null(failed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
