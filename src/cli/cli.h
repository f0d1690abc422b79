/*
 * cli: the amibox subcommands.  Each takes argc/argv starting at its own name
 * and returns the process exit status (0 success, 1 failure, 2 usage).
 * Only this module and main() print or exit.
 */
#ifndef AMIBOX_CLI_CLI_H
#define AMIBOX_CLI_CLI_H

/* The release; a build may set its own (-DAMIBOX_VERSION=...). */
#ifndef AMIBOX_VERSION
#define AMIBOX_VERSION "0.11.0"
#endif

int cli_serve(int argc, char **argv);
int cli_account(int argc, char **argv);
int cli_import(int argc, char **argv);
int cli_fsck(int argc, char **argv);
int cli_imds(int argc, char **argv);
int cli_router(int argc, char **argv);
/* samples build debian: the Debian sample images, built and published. */
int cli_samples(int argc, char **argv);
int cli_usage(int argc, char **argv);
/* bundle-image, unbundle, upload-bundle, download-bundle, ec2-cert. */
int cli_bundle(int argc, char **argv);

#endif
