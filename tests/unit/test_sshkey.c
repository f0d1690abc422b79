/*
 * Unit tests for ec2/sshkey: one RSA and one Ed25519 public key (made by
 * ssh-keygen, fingerprints from `openssl rsa -pubout -outform DER | openssl
 * md5 -c` and `ssh-keygen -l`) read in every form ImportKeyPair takes, the
 * forms it refuses, and keys made here read back through the import path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ec2/sshkey.h"

#define RSA_B64                                                                        \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDhMR1irnZxZqG+FJRi5z6azTbRpYcbHMAhN5SdCfYB2xjausnuPi" \
	"wjXbuROm0FioCmw+nKMJ/TK8RqFAESzH0SdOopDnRZxhu8ktauxA2+v3pRkGgBzJ9Cp0yYlN4aZ8NSMQip" \
	"eUnEtfbfcKmk2/ercIbAh22ZGSCEKUc9VbvsUQ=="
#define RSA_MD5 "81:6b:6d:2f:09:b2:8e:dd:f2:d1:36:40:7d:0a:64:1d"
#define ED_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIAJel7cc0iUboLjx9liHAxs6Kkm3tJCPY0NeGUnmuQEw"
#define ED_SHA256 "/VKjvzD22Nt7rETRLf7w/gBWTL/PAL2z7thbcJZGEEI="

static int import(const char *text, struct sshkey_public *pub)
{
	struct err e = ERR_INIT;
	int rc = sshkey_import((const unsigned char *)text, strlen(text), "name", pub, &e);
	if (rc < 0)
		assert_string_equal(e.code, "InvalidKey.Format");
	return rc;
}

static void test_openssh_lines(void **state)
{
	(void)state;
	struct sshkey_public pub;
	assert_int_equal(import("ssh-rsa " RSA_B64 " unit@test", &pub), 0);
	assert_string_equal(pub.key_type, "rsa");
	assert_string_equal(pub.fingerprint, RSA_MD5);
	assert_string_equal(pub.openssh, "ssh-rsa " RSA_B64 " unit@test");
	assert_int_equal(import("  ssh-ed25519\t" ED_B64 "\r\n", &pub), 0);
	assert_string_equal(pub.key_type, "ed25519");
	assert_string_equal(pub.fingerprint, ED_SHA256);
	/* No comment of its own: the key pair's name. */
	assert_string_equal(pub.openssh, "ssh-ed25519 " ED_B64 " name");
}

static void test_rfc4716_and_der(void **state)
{
	(void)state;
	struct sshkey_public pub;
	const char *rfc4716 =
		"---- BEGIN SSH2 PUBLIC KEY ----\r\n"
		"Comment: \"1024-bit RSA, converted by root@vm from OpenSSH\"\r\n"
		"x-Note: a header that goes on \\\r\n"
		"on a second line: with a colon\r\n"
		"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDhMR1irnZxZqG+FJRi5z6azTbRpYcbHMAhN5SdCf\r\n"
		"YB2xjausnuPiwjXbuROm0FioCmw+nKMJ/TK8RqFAESzH0SdOopDnRZxhu8ktauxA2+v3pR\r\n"
		"kGgBzJ9Cp0yYlN4aZ8NSMQipeUnEtfbfcKmk2/ercIbAh22ZGSCEKUc9VbvsUQ==\r\n"
		"---- END SSH2 PUBLIC KEY ----\r\n";
	assert_int_equal(import(rfc4716, &pub), 0);
	assert_string_equal(pub.fingerprint, RSA_MD5);
	assert_string_equal(pub.openssh,
			    "ssh-rsa " RSA_B64 " 1024-bit RSA, converted by root@vm from OpenSSH");
	/* PKCS#1 RSAPublicKey, base64 DER over two lines. */
	assert_int_equal(import("MIGJAoGBAOExHWKudnFmob4UlGLnPprNNtGlhxscwCE3lJ0J9gHbGNq6ye4+LCNd\n"
				"u5E6bQWKgKbD6cown9MrxGoUARLMfRJ06ikOdFnGG7yS1q7EDb6/elGQaAHMn0Kn"
				"TJiU3hpnw1IxCKl5ScS19t9wqaTb96twhsCHbZkZIIQpRz1Vu+xRAgMBAAE=",
				&pub),
			 0);
	assert_string_equal(pub.fingerprint, RSA_MD5);
	assert_string_equal(pub.openssh, "ssh-rsa " RSA_B64 " name");
}

static void test_refused(void **state)
{
	(void)state;
	struct sshkey_public pub;
	static const char *const refused[] = {
		"",
		"ssh-rsa",
		"ssh-rsa " ED_B64,                       /* the blob is another type */
		"ssh-ed25519 " RSA_B64,
		"ssh-dss " RSA_B64,
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA==",
		"no-pty ssh-ed25519 " ED_B64,           /* authorized_keys options */
		"ssh-ed25519 " ED_B64 "\nssh-ed25519 " ED_B64,
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAJel7cc0iUboLjx9liHAxs6Kkm3tJCPY0NeGUnmuQ==",
		"---- BEGIN SSH2 PUBLIC KEY ----\n" ED_B64 "\n---- END SSH2 PUBLIC KEY ----",
		"---- BEGIN SSH2 PUBLIC KEY ----\n" RSA_B64 "\n",
		"---- BEGIN SSH2 PUBLIC KEY ----\n" RSA_B64 "\n---- END SSH2 PUBLIC KEY ----\nmore",
		"bm90IGEga2V5",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		assert_int_equal(import(refused[i], &pub), -1);
	struct err e = ERR_INIT;
	assert_int_equal(sshkey_import((const unsigned char *)"ssh-ed25519\0x", 13, "n", &pub, &e),
			 -1);
	assert_string_equal(e.code, "InvalidKey.Format");
}

static void check_created(const char *key_type, const char *format, const char *begins)
{
	struct sshkey_public made, read;
	struct buf private_key = BUF_INIT;
	struct err e = ERR_INIT;
	assert_int_equal(sshkey_create(key_type, format, "my key", &made, &private_key, &e), 0);
	assert_string_equal(made.key_type, key_type);
	assert_int_equal(strncmp(private_key.data, begins, strlen(begins)), 0);
	/* The public line reads back as the same key; an imported RSA key is
	 * fingerprinted otherwise than one EC2 made (MD5, not SHA-1). */
	assert_int_equal(import(made.openssh, &read), 0);
	assert_string_equal(read.openssh, made.openssh);
	if (!strcmp(key_type, "rsa"))
		assert_int_equal(strlen(made.fingerprint), 59);
	else
		assert_string_equal(read.fingerprint, made.fingerprint);
	sshkey_private_release(&private_key);
}

static void test_create(void **state)
{
	(void)state;
	check_created("rsa", "pem", "-----BEGIN RSA PRIVATE KEY-----\n");
	check_created("rsa", "ppk", "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\n"
				    "Comment: my key\n");
	check_created("ed25519", "pem", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	check_created("ed25519", "ppk", "PuTTY-User-Key-File-2: ssh-ed25519\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssh_lines),
		cmocka_unit_test(test_rfc4716_and_der),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_create),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
