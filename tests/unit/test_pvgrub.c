/*
 * Unit tests for compute/pvgrub's menu.lst parser: GRUB legacy syntax as
 * PV-GRUB read it (default, fallback, timeout, title, root, kernel with its
 * command line, initrd; comments, "=" separators, odd spacing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "compute/pvgrub.h"

static int parse(const char *text, struct pvgrub_menu *m, struct err *e)
{
	return pvgrub_parse_menu(text, strlen(text), m, e);
}

static void test_typical(void **state)
{
	(void)state;
	struct pvgrub_menu m;
	struct err e = ERR_INIT;
	assert_int_equal(parse("# generated\n"
			       "default 1\nfallback 0\ntimeout 5\nhiddenmenu\n\n"
			       "title Debian, kernel 2.6.32\n"
			       "  root (hd0,0)\n"
			       "  kernel /boot/vmlinuz-2.6.32 root=/dev/xvda1 ro console=hvc0\n"
			       "  initrd /boot/initrd.img-2.6.32\n"
			       "title Rescue\n"
			       "\troot\t(hd0)\n"
			       "\tkernel\t/vmlinuz single\n", &m, &e), 0);
	assert_int_equal(m.count, 2);
	assert_int_equal(m.default_entry, 1);
	assert_int_equal(m.fallback, 0);
	assert_int_equal(m.timeout, 5);
	assert_string_equal(m.entries[0].title, "Debian, kernel 2.6.32");
	assert_int_equal(m.entries[0].partition, 0);
	assert_string_equal(m.entries[0].kernel, "/boot/vmlinuz-2.6.32");
	assert_string_equal(m.entries[0].args, "root=/dev/xvda1 ro console=hvc0");
	assert_string_equal(m.entries[0].initrd, "/boot/initrd.img-2.6.32");
	assert_int_equal(m.entries[1].partition, -1);
	assert_string_equal(m.entries[1].kernel, "/vmlinuz");
	assert_string_equal(m.entries[1].args, "single");
	assert_string_equal(m.entries[1].initrd, "");
}

static void test_defaults_and_separators(void **state)
{
	(void)state;
	struct pvgrub_menu m;
	struct err e = ERR_INIT;
	assert_int_equal(parse("default=0\r\ntimeout=0\r\ntitle A\r\nkernel=/k\r\n", &m, &e), 0);
	assert_int_equal(m.count, 1);
	assert_int_equal(m.fallback, -1);
	assert_int_equal(m.entries[0].partition, -2); /* no root line */
	assert_string_equal(m.entries[0].kernel, "/k");
	assert_string_equal(m.entries[0].args, "");
}

static void test_errors(void **state)
{
	(void)state;
	struct pvgrub_menu m;
	struct err e = ERR_INIT;
	assert_int_equal(parse("", &m, &e), -1);
	err_clear(&e);
	assert_int_equal(parse("# only comments\ndefault 0\n", &m, &e), -1);
	err_clear(&e);
	assert_int_equal(parse("title x\nroot (fd0)\nkernel /k\n", &m, &e), -1);
	assert_non_null(strstr(e.message, "line 2"));
	err_clear(&e);
	const char nul[] = "title x\nkernel /k\0rest\n";
	assert_int_equal(pvgrub_parse_menu(nul, sizeof nul - 1, &m, &e), -1);
	/* Too many entries. */
	char big[PVGRUB_MAX_ENTRIES * 16 + 32] = "";
	for (int i = 0; i <= PVGRUB_MAX_ENTRIES; i++)
		strcat(big, "title t\n");
	err_clear(&e);
	assert_int_equal(parse(big, &m, &e), -1);
}

static void test_long_lines_are_cut_not_overflowed(void **state)
{
	(void)state;
	static char text[8192];
	struct pvgrub_menu m;
	struct err e = ERR_INIT;
	strcpy(text, "title ");
	memset(text + 6, 'T', 3000);
	strcat(text, "\nkernel /k ");
	size_t at = strlen(text);
	memset(text + at, 'a', 3000);
	text[at + 3000] = '\0';
	assert_int_equal(parse(text, &m, &e), 0);
	assert_int_equal(strlen(m.entries[0].title), sizeof m.entries[0].title - 1);
	assert_true(strlen(m.entries[0].args) < sizeof m.entries[0].args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typical),
		cmocka_unit_test(test_defaults_and_separators),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lines_are_cut_not_overflowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
