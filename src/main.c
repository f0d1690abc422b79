/* amibox: the command line; each subcommand lives in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: amibox <command> [options]\n"
		"       amibox --version\n"
		"\n"
		"commands:\n"
		"  serve      run the daemon (every API, one port)\n"
		"  account    create, list, show or delete accounts\n"
		"  import     import a disk image as a completed snapshot\n"
		"  fsck       verify the stores against the catalog (and repair)\n"
		"  usage      usage and cost by period, service, resource or tag\n"
		"  bundle-image     make an instance-store bundle of an image file\n"
		"  upload-bundle    upload a bundle to a bucket\n"
		"  download-bundle  download a bundle from a bucket\n"
		"  unbundle         turn a bundle back into its image file\n"
		"  ec2-cert         print the cloud's certificate for bundlers\n"
		"  samples          build and publish the Debian sample images\n"
		"  imds             answer a guest's metadata request (run for each connection)\n"
		"  router           run one VPC's network (started by the daemon)\n"
		"\n"
		"Run 'amibox <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		main_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("amibox %s\n", AMIBOX_VERSION);
		return 0;
	}
	const char *command = argv[1];
	if (!strcmp(command, "serve"))
		return cli_serve(argc - 1, argv + 1);
	if (!strcmp(command, "account"))
		return cli_account(argc - 1, argv + 1);
	if (!strcmp(command, "import"))
		return cli_import(argc - 1, argv + 1);
	if (!strcmp(command, "fsck"))
		return cli_fsck(argc - 1, argv + 1);
	if (!strcmp(command, "bundle-image") || !strcmp(command, "unbundle") ||
	    !strcmp(command, "upload-bundle") || !strcmp(command, "download-bundle") ||
	    !strcmp(command, "ec2-cert"))
		return cli_bundle(argc - 1, argv + 1);
	if (!strcmp(command, "usage"))
		return cli_usage(argc - 1, argv + 1);
	if (!strcmp(command, "imds"))
		return cli_imds(argc - 1, argv + 1);
	if (!strcmp(command, "router"))
		return cli_router(argc - 1, argv + 1);
	if (!strcmp(command, "samples"))
		return cli_samples(argc - 1, argv + 1);
	fprintf(stderr, "amibox: unknown command '%s'\n", command);
	main_usage(stderr);
	return 2;
}
