/*
 * notify: tells the service manager how the daemon is doing, through the
 * sd_notify protocol: READY=1 once it serves, RELOADING=1 while it re-reads
 * its configuration, STOPPING=1 when it drains, STATUS= lines for
 * `systemctl status`, and WATCHDOG=1 keep-alive pings.
 *
 * With libsystemd (HAVE_LIBSYSTEMD) the messages go through sd_notify();
 * without it this module speaks the protocol itself (one AF_UNIX datagram to
 * $NOTIFY_SOCKET), so feedd behaves the same either way.  Outside a service
 * manager (no NOTIFY_SOCKET) every call does nothing.  A message that cannot
 * be sent is logged once and otherwise ignored: it never stops the daemon.
 */
#ifndef FEEDD_NOTIFY_H
#define FEEDD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Whether a service manager listens: NOTIFY_SOCKET is set and not empty. */
bool notify_available(void);
/* Start-up (or a reload) is complete: sends READY=1. */
void notify_ready(void);
/* A reload begins; notify_ready() ends it.  Sends RELOADING=1 with
 * MONOTONIC_USEC=<now>, which Type=notify-reload (systemd >= 253) needs. */
void notify_reloading(void);
/* Shutdown begins: sends STOPPING=1. */
void notify_stopping(void);
/* Sends STATUS=<text> for `systemctl status`; line breaks become spaces and
 * text past 1023 bytes is cut at a character boundary. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sends WATCHDOG=1, the keep-alive ping that WatchdogSec= expects. */
void notify_watchdog(void);
/* Whether the manager expects watchdog pings from this process (WATCHDOG_USEC
 * set and valid, WATCHDOG_PID absent or ours); *interval_us (may be NULL)
 * gets the deadline, 0 when disabled.  Ping at half the deadline. */
bool notify_watchdog_enabled(uint64_t *interval_us);

#endif
