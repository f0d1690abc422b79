/*
 * cli_purge: what `amibox account delete NAME --force` does before the
 * account goes: it ends everything the account owns through the running
 * daemon's own API, signed with the account's own keys (as `amibox import`
 * signs its uploads), because only the daemon may stop machines and change
 * the stores it serves.  Without a daemon the command refuses (cli_account.c).
 *
 * Order: instances are terminated (termination protection lifted first) and
 * awaited, so that their volumes come free; then volumes are deleted,
 * images deregistered, snapshots deleted, and each bucket emptied (uploads
 * aborted, objects deleted) and deleted.  Something already gone is fine.
 */
#ifndef AMIBOX_CLI_CLI_PURGE_H
#define AMIBOX_CLI_CLI_PURGE_H

#include <stddef.h>

#include "catalog/catalog.h"
#include "cli/cli_client.h"

/*
 * Ends the account's live resources (catalog_account_resources) through the
 * daemon at client (whose keys are the account's), printing a line per step
 * on stderr.  -1 with a message in error at the first step that fails.
 */
int cli_purge_account(struct catalog *cat, const struct account *a,
		      const struct cli_client *client, char *error, size_t cap);

#endif
