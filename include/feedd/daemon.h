/*
 * daemon: feedd at run time, the stages wired on one libev loop:
 * configuration -> scheduler -> fetcher -> feed parser -> news IDs -> store.
 *
 * `feedd run` polls every enabled feed on its schedule until SIGTERM;
 * `feedd once` polls each (or each named) feed once, waits until the store
 * has committed everything, and exits.
 */
#ifndef FEEDD_DAEMON_H
#define FEEDD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

struct cfg;

enum daemon_mode { DAEMON_RUN, DAEMON_ONCE };

/* Runs until done (once) or stopped (run); takes cfg. only, if not NULL,
 * names the feeds `once` polls (n_only of them). Returns the exit status:
 * 0, or 1 when a feed failed (once) or the database never became usable. */
int daemon_main(enum daemon_mode mode, struct cfg *cfg, const char *config_path, char **only,
		size_t n_only);
/* Applies how (SIG_BLOCK or SIG_UNBLOCK) to the signals daemon_main
 * watches: SIGHUP, SIGTERM and SIGINT.  main blocks them before the
 * configuration is read, daemon_main unblocks them once its watchers are
 * armed; one list, so that the two cannot differ. */
void daemon_mask_signals(int how);

#endif
