/*
 * notify: the sd_notify messages of notify.h, sent through libsystemd when
 * feedd is built with it and otherwise by hand.  The protocol is small and
 * stable (one datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET, '@' meaning the abstract namespace), so the fallback keeps
 * libsystemd an optional dependency without making feedd a worse service.
 */
#include "feedd/notify.h"
#include "feedd/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#endif

/* Bytes of STATUS text kept; systemd reads at most 4096 per message. */
#define STATUS_MAX 1023

/* Set after the first failed send, so that a broken socket is reported once
 * rather than at every watchdog ping. */
static bool send_failed;

#ifndef HAVE_LIBSYSTEMD
/* Sends msg as one datagram to the socket named by NOTIFY_SOCKET (set and not
 * empty); 0, or -1 with errno set. */
static int send_datagram(const char *socket_name, const char *msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(socket_name);
	bool abstract = socket_name[0] == '@';

	/* As sd_notify: an absolute path or an abstract name, nothing else
	 * (not even a bare "/" or "@"). */
	if ((!abstract && socket_name[0] != '/') || n < 2) {
		errno = EINVAL;
		return -1;
	}
	/* A path needs room for its NUL; an abstract name has none and may
	 * fill sun_path. */
	if (n > sizeof sa.sun_path || (!abstract && n == sizeof sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, socket_name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (abstract)
		sa.sun_path[0] = '\0'; /* the length, not a NUL, ends the name */
	else
		len++;

	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Blocking, like sd_notify: the manager drains its socket promptly, and
	 * a READY=1 dropped on a full queue would fail the start job. */
	ssize_t sent = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	int saved = errno;
	close(fd);
	errno = saved;
	return sent < 0 ? -1 : 0;
}

/* Reads a decimal number with nothing around it into *out; 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* sd_watchdog_enabled(0, usec) by hand: 0 with *usec set when the watchdog is
 * meant for this process, -1 when it is off, invalid or another process's. */
static int watchdog_from_env(uint64_t *usec)
{
	const char *s = getenv("WATCHDOG_USEC");
	uint64_t u, pid;
	/* 0 and UINT64_MAX (systemd's "infinity") are not deadlines. */
	if (!s || parse_u64(s, &u) < 0 || u == 0 || u == UINT64_MAX)
		return -1;
	/* The manager sets WATCHDOG_PID so that a child that inherited the
	 * environment does not take the pings for its own. */
	const char *p = getenv("WATCHDOG_PID");
	if (p && (parse_u64(p, &pid) < 0 || pid == 0 || pid != (uint64_t)getpid()))
		return -1;
	*usec = u;
	return 0;
}
#endif

/* Sends msg to the manager, which listens (notify_available()); 0, or -1
 * with errno set. */
static int send_message(const char *msg)
{
#ifdef HAVE_LIBSYSTEMD
	int r = sd_notify(0, msg);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
#else
	return send_datagram(getenv("NOTIFY_SOCKET"), msg);
#endif
}

/* Sends msg when a manager listens; a failure is logged the first time. */
static void notify(const char *msg)
{
	if (!notify_available())
		return;
	if (send_message(msg) == 0 || send_failed)
		return;
	send_failed = true;
	LOG_WARN("cannot notify the service manager at %s: %s (further failures not logged)",
		 getenv("NOTIFY_SOCKET"), strerror(errno));
}

bool notify_available(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	return s && *s;
}

void notify_ready(void)
{
	notify("READY=1");
}

void notify_reloading(void)
{
	/* Type=notify-reload matches RELOADING=1 to the reload request by this
	 * timestamp (CLOCK_MONOTONIC, as systemd's own); older managers ignore
	 * the field. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	char msg[64];
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now);
	notify(msg);
}

void notify_stopping(void)
{
	notify("STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	if (!notify_available())
		return;
	/* One byte more than kept, to see whether the cut falls inside a
	 * character: systemd ignores a STATUS that is not valid UTF-8. */
	static const char key[] = "STATUS=";
	char msg[sizeof key - 1 + STATUS_MAX + 2];
	char *text = msg + sizeof key - 1;
	memcpy(msg, key, sizeof key - 1);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, STATUS_MAX + 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > STATUS_MAX) {
		size_t len = STATUS_MAX;
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
		text[len] = '\0';
	}
	/* A line break would start another KEY=VALUE assignment. */
	for (char *c = text; *c; c++) {
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	}
	notify(msg);
}

void notify_watchdog(void)
{
	notify("WATCHDOG=1");
}

bool notify_watchdog_enabled(uint64_t *interval_us)
{
	uint64_t usec = 0;
#ifdef HAVE_LIBSYSTEMD
	bool on = sd_watchdog_enabled(0, &usec) > 0;
#else
	bool on = watchdog_from_env(&usec) == 0;
#endif
	if (interval_us)
		*interval_us = on ? usec : 0;
	return on;
}
